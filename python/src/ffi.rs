//! The one call PyO3 has no safe wrapper for: making an exception the
//! "current" one (what `sys.exc_info()` returns) while `handle_error` runs,
//! as a bare `except:` block in CPython's asyncore would.

use pyo3::prelude::*;

// Part of the stable ABI since 3.11 (declared in pyerrors.h for
// Py_LIMITED_API >= 3.11); pyo3-ffi 0.22 does not declare them.
extern "C" {
    fn PyErr_GetHandledException() -> *mut pyo3::ffi::PyObject;
    fn PyErr_SetHandledException(exc: *mut pyo3::ffi::PyObject);
}

/// Run `f` with `exc` as the handled exception, then restore the previous one.
pub(crate) fn with_handled_exception<T>(
    py: Python<'_>,
    exc: &Bound<'_, PyAny>,
    f: impl FnOnce() -> T,
) -> T {
    // SAFETY: called with the GIL held (we have `py`); GetHandledException
    // returns a new reference (or NULL), which SetHandledException below
    // consumes by borrowing while we still own it, then we release it.
    let previous = unsafe { PyErr_GetHandledException() };
    // SAFETY: `exc` is a live object; SetHandledException does not steal it.
    unsafe { PyErr_SetHandledException(exc.as_ptr()) };
    let result = f();
    // SAFETY: `previous` is NULL or the reference we own; restoring NULL
    // clears the handled exception. We then drop our reference.
    unsafe {
        PyErr_SetHandledException(previous);
        if !previous.is_null() {
            pyo3::ffi::Py_DECREF(previous);
        }
    }
    let _ = py;
    result
}
