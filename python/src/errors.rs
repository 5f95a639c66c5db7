//! asyncore's error routing: which exceptions propagate, and handing the rest
//! to a channel's `handle_error` with the exception current.

use crate::ffi::with_handled_exception;
use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PySystemExit};
use pyo3::prelude::*;

pyo3::create_exception!(
    asyncore,
    ExitNow,
    pyo3::exceptions::PyException,
    "Raised by a handler to leave loop() at once; never given to handle_error."
);

/// ExitNow, KeyboardInterrupt and SystemExit leave the pass and the loop.
// Spec: AC-MOD-3
pub(crate) fn propagates(py: Python<'_>, err: &PyErr) -> bool {
    err.is_instance_of::<ExitNow>(py)
        || err.is_instance_of::<PyKeyboardInterrupt>(py)
        || err.is_instance_of::<PySystemExit>(py)
}

/// Call `obj.handle_error()` with `err` current, as an `except:` block would.
pub(crate) fn handle_error(py: Python<'_>, obj: &Bound<'_, PyAny>, err: PyErr) -> PyResult<()> {
    let value = err.into_value(py).into_bound(py);
    with_handled_exception(py, value.as_any(), || {
        obj.call_method0(pyo3::intern!(py, "handle_error"))
            .map(drop)
    })
}

/// Call `obj.handle_close()` with `err` current.
pub(crate) fn handle_close_for(py: Python<'_>, obj: &Bound<'_, PyAny>, err: PyErr) -> PyResult<()> {
    let value = err.into_value(py).into_bound(py);
    with_handled_exception(py, value.as_any(), || close_once(py, obj))
}

/// The errnos that mean "the peer is gone".
// Spec: AC-MOD-1
pub(crate) const DISCONNECTED: [i32; 6] = [
    libc::ECONNRESET,
    libc::ENOTCONN,
    libc::ESHUTDOWN,
    libc::ECONNABORTED,
    libc::EPIPE,
    libc::EBADF,
];

/// The errno of an OSError, if `err` is one and has it.
pub(crate) fn os_errno(py: Python<'_>, err: &PyErr) -> Option<i32> {
    if !err.is_instance_of::<PyOSError>(py) {
        return None;
    }
    err.value_bound(py)
        .getattr(pyo3::intern!(py, "errno"))
        .ok()?
        .extract::<i32>()
        .ok()
}

/// `handle_close()`, unless this package's dispatcher already delivered it
/// (its `_close_delivered` is true): the loop calls it at most once.
pub(crate) fn close_once(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<()> {
    if let Ok(done) = obj.getattr(pyo3::intern!(py, "_close_delivered")) {
        if done.is_truthy()? {
            return Ok(());
        }
    }
    obj.call_method0(pyo3::intern!(py, "handle_close"))
        .map(drop)
}
