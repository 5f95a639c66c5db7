//! The channel map: generational slots plus asyncore's insertion order.
//!
//! A slot holds the user's dispatcher and the loop's [`Channel`] state. A
//! channel is *in the map* (asyncore's sense) while it has a registration id;
//! socketless channels live in a slot without one (AC-MAP-6). The order list
//! remembers registrations in order (AC-MAP-1) and is compacted lazily.

use crate::channel::Channel;
use crate::dispatcher::Dispatcher;
use crate::token::Token;

pub(crate) struct Entry<S: 'static> {
    /// `None` while a handler of this channel runs (it is taken out).
    pub(crate) disp: Option<Box<dyn Dispatcher<S>>>,
    pub(crate) ch: Channel,
}

struct Slot<S: 'static> {
    generation: u32,
    entry: Option<Entry<S>>,
}

pub(crate) struct ChannelMap<S: 'static> {
    slots: Vec<Slot<S>>,
    free: Vec<u32>,
    /// (slot index, registration id), in registration order.
    order: Vec<(u32, u32)>,
    registered: usize,
    next_reg: u32,
}

impl<S: 'static> Default for ChannelMap<S> {
    fn default() -> Self {
        ChannelMap {
            slots: Vec::new(),
            free: Vec::new(),
            order: Vec::new(),
            registered: 0,
            next_reg: 1,
        }
    }
}

impl<S: 'static> ChannelMap<S> {
    pub(crate) fn insert(&mut self, disp: Box<dyn Dispatcher<S>>) -> Token {
        let entry = Entry {
            disp: Some(disp),
            ch: Channel::default(),
        };
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            slot.generation = slot.generation.wrapping_add(1);
            slot.entry = Some(entry);
            Token {
                index,
                generation: slot.generation,
            }
        } else {
            let index = self.slots.len() as u32;
            self.slots.push(Slot {
                generation: 0,
                entry: Some(entry),
            });
            Token {
                index,
                generation: 0,
            }
        }
    }

    /// Frees a slot; the caller has deregistered it already.
    pub(crate) fn remove(&mut self, index: u32) -> Option<Entry<S>> {
        let slot = self.slots.get_mut(index as usize)?;
        let entry = slot.entry.take()?;
        self.free.push(index);
        Some(entry)
    }

    pub(crate) fn get(&self, index: u32) -> Option<&Entry<S>> {
        self.slots.get(index as usize)?.entry.as_ref()
    }

    pub(crate) fn get_mut(&mut self, index: u32) -> Option<&mut Entry<S>> {
        self.slots.get_mut(index as usize)?.entry.as_mut()
    }

    /// The slot index of a live token.
    pub(crate) fn resolve(&self, token: Token) -> Option<u32> {
        let slot = self.slots.get(token.index as usize)?;
        (slot.generation == token.generation && slot.entry.is_some()).then_some(token.index)
    }

    pub(crate) fn token(&self, index: u32) -> Token {
        Token {
            index,
            generation: self.slots[index as usize].generation,
        }
    }

    /// The live entry of a readiness key `(index << 32) | registration`.
    pub(crate) fn resolve_key(&self, key: u64) -> Option<u32> {
        let index = (key >> 32) as u32;
        let reg = key as u32;
        let entry = self.get(index)?;
        (reg != 0 && entry.ch.reg == reg).then_some(index)
    }

    /// Puts a channel in the map; returns its readiness key.
    pub(crate) fn register(&mut self, index: u32) -> u64 {
        let reg = self.next_reg;
        self.next_reg = self.next_reg.wrapping_add(1).max(1);
        let Some(e) = self
            .slots
            .get_mut(index as usize)
            .and_then(|s| s.entry.as_mut())
        else {
            return 0;
        };
        if e.ch.reg == 0 {
            self.registered += 1;
        }
        e.ch.reg = reg;
        self.order.push((index, reg));
        key(index, reg)
    }

    /// Takes a channel out of the map (its order entry dies lazily).
    pub(crate) fn deregister(&mut self, index: u32) {
        if let Some(e) = self
            .slots
            .get_mut(index as usize)
            .and_then(|s| s.entry.as_mut())
        {
            if e.ch.reg != 0 {
                e.ch.reg = 0;
                self.registered -= 1;
            }
        }
        if self.order.len() > 64 && self.order.len() > 2 * self.registered {
            self.compact();
        }
    }

    fn compact(&mut self) {
        let slots = &self.slots;
        self.order.retain(|&(index, reg)| {
            slots[index as usize]
                .entry
                .as_ref()
                .is_some_and(|e| e.ch.reg == reg)
        });
    }

    /// How many channels are in the map (registered).
    pub(crate) fn registered(&self) -> usize {
        self.registered
    }

    /// Registered channels in map order: (index, readiness key).
    pub(crate) fn in_order(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.order.iter().filter_map(|&(index, reg)| {
            let e = self.slots[index as usize].entry.as_ref()?;
            (e.ch.reg == reg).then_some((index, key(index, reg)))
        })
    }

    /// A snapshot of `in_order` (for phases that call user code).
    pub(crate) fn order_snapshot(&self, out: &mut Vec<(u32, u64)>) {
        out.clear();
        out.extend(self.in_order());
    }

    /// Every occupied slot index.
    pub(crate) fn occupied(&self) -> Vec<u32> {
        (0..self.slots.len() as u32)
            .filter(|&i| self.slots[i as usize].entry.is_some())
            .collect()
    }
}

pub(crate) fn key(index: u32, reg: u32) -> u64 {
    ((index as u64) << 32) | reg as u64
}
