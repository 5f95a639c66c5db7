//! Loops in daemon threads when the interpreter exits.
//!
//! Python 3.12 and 3.13 end a daemon thread that takes the GIL back after
//! finalization has begun with `pthread_exit`. Its forced unwinding cannot
//! pass the engine's frames (PyO3's entry points stop it), so the process
//! aborted ("FATAL: exception not rethrown") where CPython 3.11's
//! pure-Python asyncore exited cleanly. A loop in a daemon thread is common:
//! a background server in a test suite, smtpd's documented use.
//!
//! So a thread in the engine never takes the GIL back once finalization is
//! near. An `atexit` hook (atexit runs before finalization ends daemon
//! threads) raises [`FINALIZING`]; a thread leaving its wait, or entering a
//! pass, then parks for good instead, without the GIL, and dies with the
//! process. The hook then lets the threads still running Python code in a
//! pass reach their next wait, for at most [`GRACE`]: [`ENGAGED`] counts
//! them. A thread that takes the GIL back counts itself before it reads the
//! flag, and the hook raises the flag before it reads the count, so one of
//! the two sees the other.
//!
//! The thread running the hook (the one that finalizes) never parks: an
//! `atexit` function registered earlier may still run a loop after it.

use pyo3::prelude::*;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

/// Finalization is near: threads in the engine stop before taking the GIL.
static FINALIZING: AtomicBool = AtomicBool::new(false);
/// Threads in a pass, holding the GIL or about to take it back.
static ENGAGED: AtomicUsize = AtomicUsize::new(0);
/// The longest the hook waits for passes to reach their wait.
const GRACE: Duration = Duration::from_secs(1);

thread_local! {
    /// Nesting of passes on this thread (a handler may run a loop).
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// This thread ran the `atexit` hook: it finalizes, and never parks.
    static FINALIZER: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread must park rather than touch Python again.
fn must_park() -> bool {
    FINALIZING.load(SeqCst) && !FINALIZER.with(Cell::get)
}

/// Parks this thread for good: it never runs Python code again and ends
/// with the process. Called without the GIL.
fn park_forever() -> ! {
    loop {
        std::thread::park();
    }
}

/// This thread is in a pass (from `enter` to drop).
pub(crate) struct Engaged(());

impl Engaged {
    /// Enters a pass; parks instead (the GIL released) once finalization
    /// is near.
    pub(crate) fn enter(py: Python<'_>) -> Engaged {
        if DEPTH.with(|d| d.get()) == 0 {
            ENGAGED.fetch_add(1, SeqCst);
            if must_park() {
                ENGAGED.fetch_sub(1, SeqCst);
                py.allow_threads(|| park_forever());
            }
        }
        DEPTH.with(|d| d.set(d.get() + 1));
        Engaged(())
    }
}

impl Drop for Engaged {
    fn drop(&mut self) {
        let depth = DEPTH.with(|d| {
            d.set(d.get() - 1);
            d.get()
        });
        if depth == 0 {
            ENGAGED.fetch_sub(1, SeqCst);
        }
    }
}

/// Runs `wait` with this thread counted out of its pass; parks instead of
/// returning once finalization is near. Called without the GIL.
pub(crate) fn outside_python<R>(wait: impl FnOnce() -> R) -> R {
    let engaged = DEPTH.with(|d| d.get()) > 0;
    if engaged {
        ENGAGED.fetch_sub(1, SeqCst);
    }
    if must_park() {
        park_forever();
    }
    let result = wait();
    if engaged {
        ENGAGED.fetch_add(1, SeqCst);
    }
    if must_park() {
        if engaged {
            ENGAGED.fetch_sub(1, SeqCst);
        }
        park_forever();
    }
    result
}

/// The `atexit` hook: raises the flag, then gives the passes running
/// Python code up to [`GRACE`] to reach their wait.
#[pyfunction]
#[pyo3(name = "_quiesce")]
pub(crate) fn quiesce(py: Python<'_>) {
    FINALIZER.with(|f| f.set(true));
    FINALIZING.store(true, SeqCst);
    let mine = usize::from(DEPTH.with(|d| d.get()) > 0);
    let until = Instant::now() + GRACE;
    while ENGAGED.load(SeqCst) > mine && Instant::now() < until {
        py.allow_threads(|| std::thread::sleep(Duration::from_millis(1)));
    }
}

/// Module start-up: a fresh interpreter runs loops again; registers the hook.
pub(crate) fn install(m: &Bound<'_, PyModule>) -> PyResult<()> {
    FINALIZING.store(false, SeqCst);
    let hook = m.getattr("_quiesce")?;
    m.py()
        .import_bound("atexit")?
        .call_method1("register", (hook,))?;
    Ok(())
}
