//! The loop's clock: every time the loop reads (timers, deadlines, the wait's
//! timeout, the shutdown grace) comes from `now()`.
//!
//! Without the `sim` feature it is `Instant::now()` and nothing else. With it,
//! a simulation (`crate::sim`) may install a virtual clock on the thread, which
//! only moves when the simulation says so.

use std::time::{Duration, Instant};

/// Far enough ahead to mean "never" (a century), and still an `Instant`.
const NEVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `from + d`, saturating: a duration too large for the clock
/// (`Duration::MAX` says "never") is a century ahead instead of a panic.
#[inline(always)]
pub(crate) fn after(from: Instant, d: Duration) -> Instant {
    match from.checked_add(d) {
        Some(t) if d <= NEVER => t,
        _ => from.checked_add(NEVER).unwrap_or(from),
    }
}

/// The current time as the loop sees it.
#[cfg(not(feature = "sim"))]
#[inline(always)]
pub(crate) fn now() -> Instant {
    Instant::now()
}

/// The current time as the loop sees it: the thread's virtual clock while a
/// simulation runs on it, the real one otherwise.
#[cfg(feature = "sim")]
#[inline]
pub(crate) fn now() -> Instant {
    crate::sim::clock::now()
}
