//! The OS wait: GIL released, Python signal handlers run after `EINTR`
//! (so Ctrl-C raises KeyboardInterrupt at once), then the wait resumes with
//! the time left, as CPython's own `select`/`poll` do (PEP 475).

use asyncore_loop::raw_selector::{RawSelector, Readiness};
use pyo3::prelude::*;
use std::io;
use std::time::{Duration, Instant};

/// Wait on `sel` for at most `timeout` (`None`: forever), appending reports to `out`.
pub(crate) fn wait(
    py: Python<'_>,
    sel: &mut RawSelector,
    timeout: Option<Duration>,
    out: &mut Vec<Readiness>,
) -> PyResult<()> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut left = timeout;
    loop {
        match py.allow_threads(|| sel.wait(left, out)) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                py.check_signals()?;
                if let Some(d) = deadline {
                    let now = Instant::now();
                    if now >= d {
                        return Ok(());
                    }
                    left = Some(d - now);
                }
            }
            Err(e) => return Err(os_error(e)),
        }
    }
}

/// An `io::Error` as the Python exception CPython's select module raises.
pub(crate) fn os_error(e: io::Error) -> PyErr {
    if e.kind() == io::ErrorKind::InvalidInput && e.raw_os_error().is_none() {
        // select's descriptor range check.
        return pyo3::exceptions::PyValueError::new_err("filedescriptor out of range in select()");
    }
    PyErr::from(e)
}

/// Sleep `t` with the GIL released (select pass with nothing to watch).
pub(crate) fn sleep(py: Python<'_>, t: Duration) -> PyResult<()> {
    let mut sel = RawSelector::new(asyncore_loop::Backend::Poll).map_err(os_error)?;
    let mut out = Vec::new();
    wait(py, &mut sel, Some(t), &mut out)
}
