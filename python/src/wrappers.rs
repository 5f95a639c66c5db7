//! The per-event wrappers `read`, `write`, `_exception` and `readwrite`.

use crate::errors::{
    close_once, handle_close_for, handle_error, os_errno, propagates, DISCONNECTED,
};
use asyncore_loop::{POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI};
use pyo3::intern;
use pyo3::prelude::*;

/// Call one event method of `obj`; route a failure as the select pass does.
// Spec: AC-SEL-7, AC-SEL-8
pub(crate) fn call_event(
    py: Python<'_>,
    obj: &Bound<'_, PyAny>,
    method: &Bound<'_, pyo3::types::PyString>,
) -> PyResult<()> {
    match obj.call_method0(method) {
        Ok(_) => Ok(()),
        Err(e) if propagates(py, &e) => Err(e),
        Err(e) => handle_error(py, obj, e),
    }
}

/// `read(obj)`: `obj.handle_read_event()`, errors to `obj.handle_error()`.
#[pyfunction]
pub(crate) fn read(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<()> {
    call_event(py, obj, intern!(py, "handle_read_event"))
}

/// `write(obj)`: `obj.handle_write_event()`, errors to `obj.handle_error()`.
#[pyfunction]
pub(crate) fn write(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<()> {
    call_event(py, obj, intern!(py, "handle_write_event"))
}

/// `_exception(obj)`: `obj.handle_expt_event()`, errors to `obj.handle_error()`.
#[pyfunction]
pub(crate) fn exception(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<()> {
    call_event(py, obj, intern!(py, "handle_expt_event"))
}

/// `readwrite(obj, flags)`: the poll pass's dispatch of one report.
// Spec: AC-POLL-6, AC-POLL-7
#[pyfunction]
pub(crate) fn readwrite(py: Python<'_>, obj: &Bound<'_, PyAny>, flags: i64) -> PyResult<()> {
    let flags = flags as i16;
    match readwrite_steps(py, obj, flags) {
        Ok(()) => Ok(()),
        Err(e) if propagates(py, &e) => Err(e),
        Err(e) => match os_errno(py, &e) {
            Some(errno) if DISCONNECTED.contains(&errno) => handle_close_for(py, obj, e),
            _ => handle_error(py, obj, e),
        },
    }
}

fn readwrite_steps(py: Python<'_>, obj: &Bound<'_, PyAny>, flags: i16) -> PyResult<()> {
    if flags & POLLIN != 0 {
        obj.call_method0(intern!(py, "handle_read_event"))?;
    }
    if flags & POLLOUT != 0 {
        obj.call_method0(intern!(py, "handle_write_event"))?;
    }
    if flags & POLLPRI != 0 {
        obj.call_method0(intern!(py, "handle_expt_event"))?;
    }
    if flags & (POLLHUP | POLLERR | POLLNVAL) != 0 {
        close_once(py, obj)?;
    }
    Ok(())
}
