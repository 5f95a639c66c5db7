//! The timer heap, sans I/O: deadlines in a binary heap, entries in
//! generational slots.
//!
//! Cancel and reset are O(log n) (reset pushes a fresh heap entry); stale
//! heap entries are skipped when they surface and the heap is rebuilt once
//! they outnumber the live timers, so a workload that cancels and re-arms
//! timers forever keeps memory flat.

use crate::slab::Slab;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// Names one timer of one loop; stale after the timer is cancelled or a
/// one-shot timer fired.
///
/// # Examples
///
/// ```
/// use asyncore_loop::EventLoop;
/// use std::time::Duration;
/// let mut ev = EventLoop::new();
/// let id = ev.call_later(Duration::from_secs(60), |_cx| Ok(()));
/// assert!(ev.cancel_timer(id));
/// assert!(!ev.cancel_timer(id)); // already gone
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerId {
    index: u32,
    generation: u32,
}

struct Entry<T> {
    deadline: Instant,
    interval: Option<Duration>,
    /// Matches the one live heap entry of this timer; older ones are stale.
    seq: u64,
    payload: T,
}

pub(crate) struct Timers<T> {
    slots: Slab<Entry<T>>,
    heap: BinaryHeap<Reverse<(Instant, u64, u32)>>,
    next_seq: u64,
}

impl<T> Default for Timers<T> {
    fn default() -> Self {
        Timers {
            slots: Slab::default(),
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }
}

impl<T> Timers<T> {
    /// Arms a timer for `deadline` (then every `interval`, if any).
    pub(crate) fn insert(
        &mut self,
        deadline: Instant,
        interval: Option<Duration>,
        payload: T,
    ) -> TimerId {
        let seq = self.bump();
        let (index, generation) = self.slots.insert(Entry {
            deadline,
            interval,
            seq,
            payload,
        });
        self.heap.push(Reverse((deadline, seq, index)));
        TimerId { index, generation }
    }

    fn bump(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    fn entry_mut(&mut self, id: TimerId) -> Option<&mut Entry<T>> {
        if !self.slots.is_live(id.index, id.generation) {
            return None;
        }
        self.slots.get_mut(id.index)
    }

    /// Disarms a timer; its payload, or `None` if it already fired or was cancelled.
    pub(crate) fn cancel(&mut self, id: TimerId) -> Option<T> {
        self.entry_mut(id)?;
        let entry = self.slots.remove(id.index)?;
        self.maybe_compact();
        Some(entry.payload)
    }

    /// Moves a timer's next expiry; false if it is gone.
    pub(crate) fn reset(&mut self, id: TimerId, deadline: Instant) -> bool {
        let seq = self.bump();
        let Some(entry) = self.entry_mut(id) else {
            return false;
        };
        entry.deadline = deadline;
        entry.seq = seq;
        self.heap.push(Reverse((deadline, seq, id.index)));
        self.maybe_compact();
        true
    }

    #[cfg(test)]
    fn contains(&self, id: TimerId) -> bool {
        self.slots.is_live(id.index, id.generation)
    }

    pub(crate) fn payload_mut(&mut self, id: TimerId) -> Option<&mut T> {
        self.entry_mut(id).map(|e| &mut e.payload)
    }

    /// Armed timers.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The earliest live deadline (stale heap entries on top are dropped).
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(&Reverse((deadline, seq, index))) = self.heap.peek() {
            if self.is_current(seq, index) {
                return Some(deadline);
            }
            self.heap.pop();
        }
        None
    }

    /// A marker: timers armed or reset after it are not due in this round.
    pub(crate) fn epoch(&self) -> u64 {
        self.next_seq
    }

    /// The next timer due at `now` and armed before `epoch`. A one-shot timer
    /// is removed and its payload returned; a repeating one is re-armed (a
    /// late timer skips ahead rather than firing in a burst).
    pub(crate) fn pop_due(&mut self, now: Instant, epoch: u64) -> Option<Due<T>> {
        loop {
            let &Reverse((deadline, seq, index)) = self.heap.peek()?;
            if !self.is_current(seq, index) {
                self.heap.pop();
                continue;
            }
            if deadline > now || seq > epoch {
                return None;
            }
            self.heap.pop();
            let id = TimerId {
                index,
                generation: self.slots.generation(index),
            };
            let interval = self.slots.get(index)?.interval;
            return match interval {
                None => self.cancel(id).map(|payload| Due::Once(id, payload)),
                Some(every) => {
                    let mut next = crate::clock::after(deadline, every);
                    if next <= now {
                        next = crate::clock::after(now, every);
                    }
                    let seq = self.bump();
                    let entry = self.slots.get_mut(index)?;
                    entry.deadline = next;
                    entry.seq = seq;
                    self.heap.push(Reverse((next, seq, index)));
                    Some(Due::Repeating(id))
                }
            };
        }
    }

    fn is_current(&self, seq: u64, index: u32) -> bool {
        self.slots.get(index).is_some_and(|e| e.seq == seq)
    }

    /// Rebuilds the heap once stale entries outnumber the live timers.
    fn maybe_compact(&mut self) {
        if self.heap.len() > 64 && self.heap.len() > 2 * self.slots.len() {
            let slots = &self.slots;
            self.heap
                .retain(|&Reverse((_, seq, index))| slots.get(index).is_some_and(|e| e.seq == seq));
        }
    }

    #[cfg(test)]
    fn heap_len(&self) -> usize {
        self.heap.len()
    }
}

pub(crate) enum Due<T> {
    /// A one-shot timer, now removed, with its payload.
    Once(TimerId, T),
    /// A repeating timer, re-armed; its payload stays in place.
    Repeating(TimerId),
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    fn drain(t: &mut Timers<u32>, now: Instant) -> Vec<u32> {
        let epoch = t.epoch();
        let mut out = Vec::new();
        while let Some(due) = t.pop_due(now, epoch) {
            match due {
                Due::Once(_, p) => out.push(p),
                Due::Repeating(id) => out.push(*t.payload_mut(id).unwrap()),
            }
        }
        out
    }

    #[test]
    fn fires_in_deadline_order_and_never_early() {
        let base = Instant::now();
        let mut t = Timers::default();
        t.insert(at(base, 30), None, 3);
        t.insert(at(base, 10), None, 1);
        t.insert(at(base, 20), None, 2);
        assert_eq!(drain(&mut t, at(base, 9)), Vec::<u32>::new());
        assert_eq!(t.next_deadline(), Some(at(base, 10)));
        assert_eq!(drain(&mut t, at(base, 20)), [1, 2]);
        assert_eq!(drain(&mut t, at(base, 100)), [3]);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn cancel_and_reset() {
        let base = Instant::now();
        let mut t = Timers::default();
        let a = t.insert(at(base, 10), None, 1);
        let b = t.insert(at(base, 20), None, 2);
        assert_eq!(t.cancel(a), Some(1));
        assert_eq!(t.cancel(a), None);
        assert!(t.reset(b, at(base, 5)));
        assert_eq!(t.next_deadline(), Some(at(base, 5)));
        assert_eq!(drain(&mut t, at(base, 5)), [2]);
        assert!(!t.reset(b, at(base, 50)), "a fired one-shot timer is gone");
        // A reused slot does not answer to the old id.
        let c = t.insert(at(base, 1), None, 3);
        assert!(!t.contains(a) && !t.contains(b) && t.contains(c));
    }

    #[test]
    fn repeating_timer_rearms_and_catches_up() {
        let base = Instant::now();
        let mut t = Timers::default();
        let id = t.insert(at(base, 10), Some(Duration::from_millis(10)), 7);
        assert_eq!(drain(&mut t, at(base, 10)), [7]);
        assert_eq!(t.next_deadline(), Some(at(base, 20)));
        // Far behind: the next deadline is one interval after now, not a burst.
        assert_eq!(drain(&mut t, at(base, 95)), [7]);
        assert_eq!(t.next_deadline(), Some(at(base, 105)));
        assert!(t.cancel(id).is_some());
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn timers_armed_during_a_firing_phase_wait_for_the_next_one() {
        let base = Instant::now();
        let mut t = Timers::default();
        t.insert(at(base, 0), None, 1);
        let epoch = t.epoch();
        assert!(matches!(
            t.pop_due(at(base, 0), epoch),
            Some(Due::Once(_, 1))
        ));
        t.insert(at(base, 0), None, 2); // armed by a callback
        assert!(t.pop_due(at(base, 0), epoch).is_none());
        assert_eq!(drain(&mut t, at(base, 0)), [2]);
    }

    #[test]
    fn a_million_rearms_keep_memory_flat() {
        let base = Instant::now();
        let mut t = Timers::default();
        let ids: Vec<_> = (0..100)
            .map(|i| t.insert(at(base, 1000 + i), None, i as u32))
            .collect();
        for round in 0..20_000u64 {
            for (i, &id) in ids.iter().enumerate() {
                if i % 2 == 0 {
                    assert!(t.reset(id, at(base, 2000 + round)));
                }
            }
            let extra = t.insert(at(base, 5), None, 999);
            t.cancel(extra);
        }
        assert_eq!(t.len(), 100);
        assert!(
            t.heap_len() <= 2 * 100 + 64 + 1,
            "heap grew to {}",
            t.heap_len()
        );
        assert!(t.slots.len() <= 101);
    }

    proptest! {
        /// Whatever the mix of inserts, cancels and resets, the due timers come
        /// out in deadline order, each exactly once, and only the live ones.
        #[test]
        fn model(ops in proptest::collection::vec((0u8..3, 0u64..50, 0usize..20), 1..200)) {
            let base = Instant::now();
            let mut t = Timers::default();
            let mut model: Vec<(TimerId, u64, u32)> = Vec::new();
            let mut n = 0u32;
            for (op, ms, pick) in ops {
                match op {
                    0 => { n += 1; let id = t.insert(at(base, ms), None, n); model.push((id, ms, n)); }
                    1 if !model.is_empty() => { let (id, _, p) = model.remove(pick % model.len()); prop_assert_eq!(t.cancel(id), Some(p)); }
                    2 if !model.is_empty() => { let k = pick % model.len(); prop_assert!(t.reset(model[k].0, at(base, ms))); model[k].1 = ms; }
                    _ => {}
                }
            }
            let fired = drain(&mut t, at(base, 1000));
            let mut expected: Vec<_> = model.iter().map(|&(_, ms, p)| (ms, p)).collect();
            expected.sort();
            let got_sorted: Vec<u64> = fired.iter().map(|p| model.iter().find(|m| m.2 == *p).unwrap().1).collect();
            prop_assert!(got_sorted.windows(2).all(|w| w[0] <= w[1]), "out of order");
            let mut fired_sorted = fired.clone();
            fired_sorted.sort();
            let mut exp_payloads: Vec<u32> = expected.iter().map(|e| e.1).collect();
            exp_payloads.sort();
            prop_assert_eq!(fired_sorted, exp_payloads);
        }
    }
}
