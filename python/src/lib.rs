//! `asyncore_loop._engine`: the native half of the `asyncore`/`asynchat` Python
//! modules. The dispatcher classes stay Python classes; this module runs what
//! CPython ran in pure Python on every pass: the interest scan, the wait (on
//! the asyncore-loop engine's selectors, with the GIL released), the event
//! decoding and the dispatch with asyncore's error routing, and asynchat's
//! input scanning.

// PyO3 0.22's #[pyfunction]/#[pymethods] expansion trips this lint (fixed in 0.23).
#![allow(clippy::useless_conversion)]

mod chat_scan;
mod epoll_mode;
mod errors;
mod ffi;
mod map;
mod passes;
mod shutdown;
mod wait;
mod wrappers;

use pyo3::prelude::*;

#[pymodule]
fn _engine(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ExitNow", py.get_type_bound::<errors::ExitNow>())?;
    m.add_function(wrap_pyfunction!(wrappers::read, m)?)?;
    m.add_function(wrap_pyfunction!(wrappers::write, m)?)?;
    m.add_function(wrap_pyfunction!(wrappers::exception, m)?)?;
    m.add_function(wrap_pyfunction!(wrappers::readwrite, m)?)?;
    m.add_function(wrap_pyfunction!(passes::select_pass, m)?)?;
    m.add_function(wrap_pyfunction!(passes::poll_pass, m)?)?;
    m.add_function(wrap_pyfunction!(passes::run_loop, m)?)?;
    m.add_class::<epoll_mode::EpollMap>()?;
    m.add_function(wrap_pyfunction!(chat_scan::chat_handle_read, m)?)?;
    m.add_class::<chat_scan::InBuffer>()?;
    m.add_function(wrap_pyfunction!(chat_scan::find_prefix_at_end_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(shutdown::quiesce, m)?)?;
    shutdown::install(m)?;
    Ok(())
}
