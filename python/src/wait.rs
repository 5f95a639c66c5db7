//! The OS wait: GIL released, Python signal handlers run after `EINTR`
//! (so Ctrl-C raises KeyboardInterrupt at once), then the wait resumes with
//! the time left, as CPython's own `select`/`poll` do (PEP 475).
//!
//! A signal that arrives while the loop runs Rust code between two waits
//! interrupts no wait, and in epoll mode an idle loop may run no Python code
//! that would notice it. So pending signals are also checked before every
//! wait, and no single wait is longer than [`SLICE`].

use crate::errors::os_error;
use crate::shutdown;
use asyncore_loop::raw_selector::{RawSelector, Readiness};
use pyo3::prelude::*;
use std::io;
use std::time::{Duration, Instant};

/// The longest single wait: the worst delay for a signal that slipped in
/// just before a wait began.
const SLICE: Duration = Duration::from_secs(1);

/// Wait on `sel` for at most `timeout` (`None`: forever), appending reports to `out`.
pub(crate) fn wait(
    py: Python<'_>,
    sel: &mut RawSelector,
    timeout: Option<Duration>,
    out: &mut Vec<Readiness>,
) -> PyResult<()> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let before = out.len();
    loop {
        py.check_signals()?;
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let slice = left.map_or(SLICE, |l| l.min(SLICE));
        // Without the GIL; a daemon thread parks here at interpreter exit
        // rather than take the GIL back (see shutdown.rs).
        match py.allow_threads(|| shutdown::outside_python(|| sel.wait(Some(slice), out))) {
            Ok(()) if out.len() > before => return Ok(()),
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(os_error(e)),
        }
        if matches!(deadline, Some(d) if Instant::now() >= d) {
            return Ok(());
        }
    }
}

/// Sleep `t` with the GIL released (select pass with nothing to watch).
pub(crate) fn sleep(py: Python<'_>, t: Duration) -> PyResult<()> {
    let mut sel = RawSelector::new(asyncore_loop::Backend::Poll).map_err(os_error)?;
    let mut out = Vec::new();
    wait(py, &mut sel, Some(t), &mut out)
}
