//! Channel identity: a slot index plus a generation.

use std::fmt;

/// Names one channel of one [`EventLoop`](crate::EventLoop) for its whole life.
///
/// A token is a slot index and a generation. When a channel is closed its slot
/// may be reused, but the newcomer gets a new generation, so a stale token (or
/// a readiness report meant for the old channel) never reaches the newcomer.
///
/// # Examples
///
/// ```
/// use asyncore_loop::{Dispatcher, EventLoop};
/// struct Idle;
/// impl Dispatcher for Idle {}
///
/// let mut ev = EventLoop::new();
/// let a = ev.add(Idle).token();
/// let b = ev.add(Idle).token();
/// assert_ne!(a, b);
/// assert_eq!((a.index(), b.index()), (0, 1)); // slot indexes are small and dense
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token {
    // AC-Q-6, AC-Q-7: the generation keeps stale tokens and stale readiness
    // reports away from a slot's next channel.
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl Token {
    /// The slot index (small, dense, reused after close).
    pub fn index(self) -> usize {
        self.index as usize
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}.{}", self.index, self.generation)
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
