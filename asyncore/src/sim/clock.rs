//! The virtual clock: while a simulation lives on a thread, the loop's
//! `clock::now()` reads this instead of the real clock, and only the
//! simulation moves it.

use std::cell::Cell;
use std::time::{Duration, Instant};

thread_local! {
    /// The thread's virtual time, and which simulation set it.
    static VIRTUAL: Cell<Option<(Instant, u64)>> = const { Cell::new(None) };
}

/// The loop's time: virtual while a simulation runs on this thread.
#[inline]
pub(crate) fn now() -> Instant {
    match VIRTUAL.with(Cell::get) {
        Some((t, _)) => t,
        None => Instant::now(),
    }
}

/// Starts virtual time for simulation `owner` (the latest one wins).
pub(super) fn install(owner: u64) {
    VIRTUAL.with(|c| c.set(Some((Instant::now(), owner))));
}

/// Moves virtual time forward.
pub(super) fn advance(by: Duration) {
    VIRTUAL.with(|c| {
        if let Some((t, owner)) = c.get() {
            c.set(Some((t + by, owner)));
        }
    });
}

/// Back to real time, if `owner` is the simulation that set the clock.
pub(super) fn uninstall(owner: u64) {
    VIRTUAL.with(|c| {
        if c.get().is_some_and(|(_, o)| o == owner) {
            c.set(None);
        }
    });
}
