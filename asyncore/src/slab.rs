//! Generational slots: the storage under the channel map and the timers.
//!
//! A slot is vacant, occupied, or *lent*: its value is out (a channel whose
//! handler is running, or that a `Cx` is setting up) and comes back with
//! [`Slab::restore`]. A lent slot is still alive for [`Slab::is_live`], so an
//! id that names it stays valid while its value is out. Freeing a slot bumps
//! its generation, so an old id never reaches the slot's next value.
//!
//! Each slot also carries a small `M` that stays in place whatever the
//! state (the channel map keeps its per-slot bookkeeping there), reset when
//! the slot is reused.

enum State<T> {
    Vacant,
    Occupied(T),
    Lent,
}

struct Slot<T, M> {
    generation: u32,
    meta: M,
    state: State<T>,
}

pub(crate) struct Slab<T, M = ()> {
    slots: Vec<Slot<T, M>>,
    free: Vec<u32>,
    live: usize,
}

impl<T, M> Default for Slab<T, M> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }
}

impl<T, M: Default> Slab<T, M> {
    /// Stores `value`; returns (index, generation).
    pub(crate) fn insert(&mut self, value: T) -> (u32, u32) {
        self.place(State::Occupied(value))
    }

    /// Reserves a slot whose value is out from the start (see [`restore`](Slab::restore)).
    pub(crate) fn insert_lent(&mut self) -> (u32, u32) {
        self.place(State::Lent)
    }

    fn place(&mut self, state: State<T>) -> (u32, u32) {
        self.live += 1;
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            slot.generation = slot.generation.wrapping_add(1);
            slot.meta = M::default();
            slot.state = state;
            return (index, slot.generation);
        }
        let index = self.slots.len() as u32;
        self.slots.push(Slot {
            generation: 0,
            meta: M::default(),
            state,
        });
        (index, 0)
    }

    /// Frees an occupied slot and returns its value.
    pub(crate) fn remove(&mut self, index: u32) -> Option<T> {
        let slot = self.slots.get_mut(index as usize)?;
        match std::mem::replace(&mut slot.state, State::Vacant) {
            State::Occupied(value) => {
                self.free.push(index);
                self.live -= 1;
                Some(value)
            }
            other => {
                slot.state = other;
                None
            }
        }
    }

    pub(crate) fn get(&self, index: u32) -> Option<&T> {
        match &self.slots.get(index as usize)?.state {
            State::Occupied(value) => Some(value),
            _ => None,
        }
    }

    pub(crate) fn get_mut(&mut self, index: u32) -> Option<&mut T> {
        match &mut self.slots.get_mut(index as usize)?.state {
            State::Occupied(value) => Some(value),
            _ => None,
        }
    }

    /// The bookkeeping of a slot (whatever its state).
    #[inline]
    pub(crate) fn meta(&self, index: u32) -> Option<&M> {
        self.slots.get(index as usize).map(|s| &s.meta)
    }

    #[inline]
    pub(crate) fn meta_mut(&mut self, index: u32) -> Option<&mut M> {
        self.slots.get_mut(index as usize).map(|s| &mut s.meta)
    }

    /// A slot's bookkeeping and, if occupied, its value: one lookup.
    #[inline]
    pub(crate) fn parts(&self, index: u32) -> Option<(&M, Option<&T>)> {
        let slot = self.slots.get(index as usize)?;
        let value = match &slot.state {
            State::Occupied(value) => Some(value),
            _ => None,
        };
        Some((&slot.meta, value))
    }

    /// Takes an occupied slot's value out; the slot stays alive, lent.
    #[inline]
    /// Gives the value with the slot's generation.
    pub(crate) fn lend(&mut self, index: u32) -> Option<(T, u32)> {
        let slot = self.slots.get_mut(index as usize)?;
        match std::mem::replace(&mut slot.state, State::Lent) {
            State::Occupied(value) => Some((value, slot.generation)),
            other => {
                slot.state = other;
                None
            }
        }
    }

    /// [`lend`](Slab::lend), if the slot's bookkeeping passes `check`.
    #[inline(always)]
    pub(crate) fn lend_if(&mut self, index: u32, check: impl FnOnce(&M) -> bool) -> Option<(T, u32)> {
        let slot = self.slots.get_mut(index as usize)?;
        if !check(&slot.meta) || !matches!(slot.state, State::Occupied(_)) {
            return None;
        }
        match std::mem::replace(&mut slot.state, State::Lent) {
            State::Occupied(value) => Some((value, slot.generation)),
            // Checked above: never taken.
            other => {
                slot.state = other;
                None
            }
        }
    }

    /// Puts a lent value back; gives the slot's bookkeeping.
    #[inline(always)]
    pub(crate) fn restore(&mut self, index: u32, value: T) -> Option<&mut M> {
        let slot = self.slots.get_mut(index as usize)?;
        if matches!(slot.state, State::Lent) {
            // The old state is `Lent`, which owns nothing: skip its drop glue.
            std::mem::forget(std::mem::replace(&mut slot.state, State::Occupied(value)));
        }
        Some(&mut slot.meta)
    }

    /// Whether a slot's value is out.
    pub(crate) fn is_lent(&self, index: u32) -> bool {
        self.slots
            .get(index as usize)
            .is_some_and(|s| matches!(s.state, State::Lent))
    }

    /// The generation of a slot (vacant or not).
    pub(crate) fn generation(&self, index: u32) -> u32 {
        self.slots.get(index as usize).map_or(0, |s| s.generation)
    }

    /// Whether `(index, generation)` names a slot that is occupied or lent.
    pub(crate) fn is_live(&self, index: u32, generation: u32) -> bool {
        self.slots
            .get(index as usize)
            .is_some_and(|s| s.generation == generation && !matches!(s.state, State::Vacant))
    }

    /// How many slots are occupied or lent.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// The number of slots ever made (an upper bound for indices).
    pub(crate) fn capacity(&self) -> u32 {
        self.slots.len() as u32
    }

    /// Every occupied slot's index.
    pub(crate) fn occupied(&self) -> Vec<u32> {
        (0..self.capacity())
            .filter(|&i| matches!(self.slots[i as usize].state, State::Occupied(_)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_retire_old_ids() {
        let mut s: Slab<_> = Slab::default();
        let (a, ga) = s.insert("a");
        assert!(s.is_live(a, ga));
        assert_eq!(s.remove(a), Some("a"));
        assert!(!s.is_live(a, ga));
        let (b, gb) = s.insert("b");
        assert_eq!(a, b, "the slot is reused");
        assert_ne!(ga, gb);
        assert_eq!(s.get(b), Some(&"b"));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn a_lent_slot_stays_alive_until_restored() {
        let mut s: Slab<_> = Slab::default();
        let (i, g) = s.insert(7);
        assert_eq!(s.lend(i), Some((7, g)));
        assert!(s.is_live(i, g));
        assert_eq!(s.get(i), None);
        assert_eq!(s.lend(i), None, "lent once");
        assert_eq!(s.remove(i), None, "a lent slot is not freed");
        s.restore(i, 8);
        assert_eq!(s.get(i), Some(&8));
        assert_eq!(s.occupied(), vec![i]);
    }
}
