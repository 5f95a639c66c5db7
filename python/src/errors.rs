//! asyncore's error routing: which exceptions propagate, and handing the rest
//! to a channel's `handle_error` with the exception current.

use crate::ffi::with_handled_exception;
use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PySystemExit, PyValueError};
use pyo3::prelude::*;
use std::io;

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

/// The arguments CPython's `PyErr_SetFromErrno` gives OSError:
/// `(errno, strerror)`, made when the exception is.
struct Errno(i32);

impl IntoPy<PyObject> for Errno {
    fn into_py(self, py: Python<'_>) -> PyObject {
        let text = py
            .import_bound(pyo3::intern!(py, "os"))
            .and_then(|os| os.call_method1(pyo3::intern!(py, "strerror"), (self.0,)))
            .and_then(|s| s.extract::<String>())
            .unwrap_or_else(|_| format!("Unknown error {}", self.0));
        (self.0, text).into_py(py)
    }
}

/// `OSError(errno, strerror)`, as CPython raises it: `e.errno` is set, and
/// OSError picks its subclass (`BlockingIOError`, `ConnectionResetError` ...).
pub(crate) fn errno_error(errno: i32) -> PyErr {
    PyOSError::new_err(Errno(errno))
}

/// An engine `io::Error` as the Python exception CPython's `select` module
/// raises: an OS error becomes `OSError(errno, strerror)`.
pub(crate) fn os_error(e: io::Error) -> PyErr {
    if let Some(errno) = e.raw_os_error() {
        return errno_error(errno);
    }
    if e.kind() == io::ErrorKind::InvalidInput {
        // select's descriptor range check.
        return PyValueError::new_err("filedescriptor out of range in select()");
    }
    PyErr::from(e)
}
