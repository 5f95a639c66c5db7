//! Which side of a `fork()` this process is on: a number that a
//! `pthread_atfork` child handler raises, so that a loop notices that its
//! kernel objects (an epoll instance, an eventfd, a pipe) were inherited
//! and are shared with the parent.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

static FORKS: AtomicU64 = AtomicU64::new(0);
static INSTALL: Once = Once::new();

extern "C" fn in_child() {
    // Only an atomic store: the child runs this right after `fork()`,
    // where only async-signal-safe work is allowed.
    FORKS.fetch_add(1, Ordering::Relaxed);
}

/// How many forks lie between the program's start and this process,
/// counted from the first call (which installs the handler).
pub(crate) fn generation() -> u64 {
    INSTALL.call_once(|| {
        // SAFETY: registers a handler that only touches an atomic. A
        // failure (ENOMEM) leaves forks unnoticed, as before this module.
        unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
    });
    current()
}

/// [`generation`] without the installation check: for the per-pass test
/// of a loop that called `generation` when it was made.
#[inline(always)]
pub(crate) fn current() -> u64 {
    FORKS.load(Ordering::Relaxed)
}
