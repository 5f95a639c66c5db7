//! The channel map: asyncore's `map`, as generational slots plus the loop's
//! bookkeeping for each slot and the registration order.
//!
//! The map does not know what a channel is: it stores a `T` per slot (the
//! loop stores its boxed entries). Beside each slot it keeps what the loop
//! must reach whether or not the entry is lent out to a running handler:
//! the registration id, the "ask interest again" mark, the accept back-off
//! pause and the count of open accepted children.
//!
//! A channel is *in the map* (asyncore's sense) while it has a registration
//! id; socketless channels live in a slot without one. The order
//! list remembers registrations in order and is compacted lazily.

// Spec: AC-MAP-6 (socketless channels), AC-MAP-1 (registration order).

use crate::slab::Slab;
use crate::token::Token;
use std::cell::Cell;

/// The loop's bookkeeping for one slot.
#[derive(Clone, Debug, Default)]
pub(crate) struct Meta {
    /// Registration id while in the map; 0 when not registered.
    pub(crate) reg: u32,
    /// Interest must be asked again before the next wait (a `Cell`, so the
    /// interest phase clears it while it reads the entry).
    pub(crate) dirty: Cell<bool>,
    /// A listener backing off after running out of descriptors.
    pub(crate) accept_paused: bool,
    /// Open channels this listener accepted.
    pub(crate) children: u32,
}

pub(crate) struct ChannelMap<T> {
    slab: Slab<T, Meta>,
    /// (slot index, registration id), in registration order.
    order: Vec<(u32, u32)>,
    registered: usize,
    next_reg: u32,
}

impl<T> Default for ChannelMap<T> {
    fn default() -> Self {
        ChannelMap {
            slab: Slab::default(),
            order: Vec::new(),
            registered: 0,
            next_reg: 1,
        }
    }
}

impl<T> ChannelMap<T> {
    pub(crate) fn insert(&mut self, value: T) -> Token {
        let (index, generation) = self.slab.insert(value);
        Token { index, generation }
    }

    /// A new slot whose value is out from the start (a channel being set up).
    pub(crate) fn insert_lent(&mut self) -> Token {
        let (index, generation) = self.slab.insert_lent();
        Token { index, generation }
    }

    /// Frees a slot; the caller has deregistered it already.
    pub(crate) fn remove(&mut self, index: u32) -> Option<T> {
        self.slab.remove(index)
    }

    #[inline]
    pub(crate) fn get(&self, index: u32) -> Option<&T> {
        self.slab.get(index)
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, index: u32) -> Option<&mut T> {
        self.slab.get_mut(index)
    }

    /// Whether a slot's value is out (see [`lend`](ChannelMap::lend)).
    pub(crate) fn is_lent(&self, index: u32) -> bool {
        self.slab.is_lent(index)
    }

    /// Takes a slot's value out while its handler runs (see [`Slab::lend`]).
    #[inline]
    pub(crate) fn lend(&mut self, index: u32) -> Option<(T, Token)> {
        let (value, generation) = self.slab.lend(index)?;
        Some((value, Token { index, generation }))
    }

    /// Takes out the value of the slot a readiness key names, if that
    /// registration is still current (see [`resolve_key`](ChannelMap::resolve_key)): one lookup.
    #[inline]
    pub(crate) fn lend_key(&mut self, key: u64) -> Option<(u32, T, Token)> {
        let index = (key >> 32) as u32;
        let reg = key as u32;
        if reg == 0 {
            return None;
        }
        let (value, generation) = self.slab.lend_if(index, |m| m.reg == reg)?;
        Some((index, value, Token { index, generation }))
    }

    /// Puts a lent value back; true if the slot was not marked dirty yet
    /// (it is now: a channel whose entry was out must be asked again).
    #[inline(always)]
    pub(crate) fn restore_dirty(&mut self, index: u32, value: T) -> bool {
        match self.slab.restore(index, value) {
            Some(m) => !m.dirty.replace(true),
            None => false,
        }
    }

    /// Puts back a lent value without marking it: for the channels of a
    /// readiness run, which the interest phase finds in the reports.
    #[inline(always)]
    pub(crate) fn restore_unmarked(&mut self, index: u32, value: T) {
        let _ = self.slab.restore(index, value);
    }

    /// The slot of a readiness key whose registration is current, with its
    /// bookkeeping and (if not lent out) its value: one lookup.
    #[inline]
    pub(crate) fn parts_by_key(&self, key: u64) -> Option<(u32, &Meta, Option<&T>)> {
        let index = (key >> 32) as u32;
        let reg = key as u32;
        let (meta, value) = self.slab.parts(index)?;
        (reg != 0 && meta.reg == reg).then_some((index, meta, value))
    }

    /// A slot's bookkeeping and, if not lent out, its value: one lookup.
    #[inline]
    pub(crate) fn parts(&self, index: u32) -> Option<(&Meta, Option<&T>)> {
        self.slab.parts(index)
    }

    /// The slot index of a live token (its value may be lent out).
    pub(crate) fn resolve(&self, token: Token) -> Option<u32> {
        self.slab
            .is_live(token.index, token.generation)
            .then_some(token.index)
    }

    #[inline]
    pub(crate) fn token(&self, index: u32) -> Token {
        Token {
            index,
            generation: self.slab.generation(index),
        }
    }

    #[inline]
    pub(crate) fn meta(&self, index: u32) -> Meta {
        self.slab.meta(index).cloned().unwrap_or_default()
    }

    pub(crate) fn meta_mut(&mut self, index: u32) -> Option<&mut Meta> {
        self.slab.meta_mut(index)
    }

    /// Marks a slot's interest to be asked again; true if it was not marked.
    #[inline]
    pub(crate) fn mark_dirty(&mut self, index: u32) -> bool {
        self.slab
            .meta(index)
            .is_some_and(|m| !m.dirty.replace(true))
    }

    /// The slot of a readiness key `(index << 32) | registration`, if that
    /// registration is still current.
    // Spec: AC-Q-6.
    #[inline]
    pub(crate) fn resolve_key(&self, key: u64) -> Option<u32> {
        let index = (key >> 32) as u32;
        let reg = key as u32;
        let meta = self.slab.meta(index)?;
        (reg != 0 && meta.reg == reg).then_some(index)
    }

    /// The readiness key of a registered slot.
    #[inline]
    pub(crate) fn key(&self, index: u32) -> u64 {
        key(index, self.meta(index).reg)
    }

    /// Puts a channel in the map; returns its readiness key.
    pub(crate) fn register(&mut self, index: u32) -> u64 {
        let reg = self.next_reg;
        self.next_reg = self.next_reg.wrapping_add(1).max(1);
        let Some(meta) = self.slab.meta_mut(index) else {
            return 0;
        };
        if meta.reg == 0 {
            self.registered += 1;
        }
        meta.reg = reg;
        self.order.push((index, reg));
        key(index, reg)
    }

    /// Takes a channel out of the map (its order entry dies lazily).
    pub(crate) fn deregister(&mut self, index: u32) {
        if let Some(meta) = self.slab.meta_mut(index) {
            if meta.reg != 0 {
                meta.reg = 0;
                self.registered -= 1;
            }
        }
        if self.order.len() > 64 && self.order.len() > 2 * self.registered {
            let slab = &self.slab;
            self.order
                .retain(|&(index, reg)| slab.meta(index).is_some_and(|m| m.reg == reg));
        }
    }

    /// How many channels are in the map (registered).
    pub(crate) fn registered(&self) -> usize {
        self.registered
    }

    /// A snapshot of the registered channels in map order: (index, readiness
    /// key). A snapshot, because the phases that walk it call user code.
    pub(crate) fn order_snapshot(&self, out: &mut Vec<(u32, u64)>) {
        out.clear();
        out.extend(self.order.iter().filter_map(|&(index, reg)| {
            let current = self.slab.meta(index).is_some_and(|m| m.reg == reg);
            current.then_some((index, key(index, reg)))
        }));
    }

    /// Every occupied slot index.
    pub(crate) fn occupied(&self) -> Vec<u32> {
        self.slab.occupied()
    }
}

pub(crate) fn key(index: u32, reg: u32) -> u64 {
    ((index as u64) << 32) | reg as u64
}
