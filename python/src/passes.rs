//! asyncore's two faithful passes (`poll`, the select pass, and `poll2`, the
//! poll pass) and `loop`, on the engine's selectors.

use crate::epoll_mode::EpollMap;
use crate::errors::{errno_error, os_error};
use crate::map;
use crate::shutdown;
use crate::wait::{sleep, wait};
use crate::wrappers::{call_event, readwrite};
use asyncore_loop::raw_selector::{RawSelector, WANT_EXCEPT, WANT_READ, WANT_WRITE};
use asyncore_loop::{Backend, POLLIN, POLLNVAL, POLLOUT, POLLPRI};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyInt;
use std::time::Duration;

/// A channel's interest, asked as asyncore asks it: `readable()` then
/// `writable()` (always both), write interest dropped while `accepting`.
/// Returns (read, write-and-not-accepting, raw write).
// Spec: AC-SEL-2, AC-POLL-3
pub(crate) fn ask(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<(bool, bool, bool)> {
    let r = obj.call_method0(intern!(py, "readable"))?.is_truthy()?;
    let w = obj.call_method0(intern!(py, "writable"))?.is_truthy()?;
    let w_ok = w && !obj.getattr(intern!(py, "accepting"))?.is_truthy()?;
    Ok((r, w_ok, w))
}

fn seconds(timeout: &Bound<'_, PyAny>) -> PyResult<Option<f64>> {
    if timeout.is_none() {
        Ok(None)
    } else {
        Ok(Some(timeout.extract::<f64>()?))
    }
}

/// The select pass: `asyncore.poll(timeout, map)`.
// Spec: AC-SEL-1..9
#[pyfunction]
pub(crate) fn select_pass(
    py: Python<'_>,
    timeout: &Bound<'_, PyAny>,
    map: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let _engaged = shutdown::Engaged::enter(py);
    let secs = seconds(timeout)?;
    if map::len(map)? == 0 {
        return Ok(());
    }
    let items = map::snapshot(map)?;
    let mut sel = RawSelector::new(Backend::Select).map_err(os_error)?;
    let mut watched = 0;
    for (i, (key, obj)) in items.iter().enumerate() {
        let (r, w_ok, w) = ask(py, obj)?;
        let mut interest = 0;
        if r {
            interest |= WANT_READ;
        }
        if w_ok {
            interest |= WANT_WRITE;
        }
        if r || w {
            interest |= WANT_EXCEPT;
        }
        if interest != 0 {
            sel.watch(map::fd_of(key)?, i as u64, interest)
                .map_err(os_error)?;
            watched += 1;
        }
    }
    if watched == 0 {
        // Spec: AC-SEL-3: nothing to watch sleeps the timeout (time.sleep's errors).
        return match secs {
            None => Err(PyTypeError::new_err(
                "'NoneType' object cannot be interpreted as an integer",
            )),
            Some(s) if s < 0.0 => Err(PyValueError::new_err("sleep length must be non-negative")),
            Some(s) => sleep(py, Duration::from_secs_f64(s)),
        };
    }
    let limit = match secs {
        None => None,
        Some(s) if s < 0.0 => return Err(PyValueError::new_err("timeout must be non-negative")),
        Some(s) => Some(Duration::from_secs_f64(s)),
    };
    let mut events = Vec::new();
    wait(py, &mut sel, limit, &mut events)?;
    // A watched descriptor closed behind the loop's back (the engine reports
    // select's EBADF as POLLNVAL): CPython's select() raises, out of loop().
    if events.iter().any(|ev| ev.ready & POLLNVAL != 0) {
        return Err(errno_error(libc::EBADF));
    }
    // Reports come all reads, then all writes, then all exceptional ones,
    // each in map order; every one looks the channel up again.
    for ev in events {
        let key = &items[ev.key as usize].0;
        let Some(obj) = map::get(map, key)? else {
            continue;
        };
        let method = if ev.ready & POLLIN != 0 {
            intern!(py, "handle_read_event")
        } else if ev.ready & POLLOUT != 0 {
            intern!(py, "handle_write_event")
        } else if ev.ready & POLLPRI != 0 {
            intern!(py, "handle_expt_event")
        } else {
            continue;
        };
        call_event(py, &obj, method)?;
    }
    Ok(())
}

/// The poll pass: `asyncore.poll2(timeout, map)`.
// Spec: AC-POLL-1..9
#[pyfunction]
pub(crate) fn poll_pass(
    py: Python<'_>,
    timeout: &Bound<'_, PyAny>,
    map: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let _engaged = shutdown::Engaged::enter(py);
    // Spec: AC-POLL-1: milliseconds truncated; negative waits forever.
    let limit = match seconds(timeout)? {
        None => None,
        Some(s) => {
            let ms = (s * 1000.0).trunc();
            if ms < 0.0 {
                None
            } else {
                Some(Duration::from_millis(ms as u64))
            }
        }
    };
    if map::len(map)? == 0 {
        return Ok(());
    }
    let items = map::snapshot(map)?;
    let mut sel = RawSelector::new(Backend::Poll).map_err(os_error)?;
    for (i, (key, obj)) in items.iter().enumerate() {
        let (r, w_ok, _) = ask(py, obj)?;
        let interest = if r { WANT_READ } else { 0 } | if w_ok { WANT_WRITE } else { 0 };
        if interest != 0 {
            sel.watch(map::fd_of(key)?, i as u64, interest)
                .map_err(os_error)?;
        }
    }
    let mut events = Vec::new();
    wait(py, &mut sel, limit, &mut events)?;
    for ev in events {
        let key = &items[ev.key as usize].0;
        let Some(obj) = map::get(map, key)? else {
            continue;
        };
        readwrite(py, &obj, i64::from(ev.ready))?;
    }
    Ok(())
}

/// `loop(timeout, use_poll, map, count)`, or the epoll mode when `epoll` is
/// given. `count` is any number (CPython runs passes while `count > 0`,
/// subtracting 1 after each: 2.5 gives 3 passes).
// Spec: AC-LOOP-1..8
#[pyfunction]
#[pyo3(signature = (timeout, use_poll, map, count, epoll=None))]
pub(crate) fn run_loop(
    py: Python<'_>,
    timeout: &Bound<'_, PyAny>,
    use_poll: bool,
    map: &Bound<'_, PyAny>,
    count: Option<&Bound<'_, PyAny>>,
    epoll: Option<&Bound<'_, EpollMap>>,
) -> PyResult<()> {
    let _engaged = shutdown::Engaged::enter(py);
    let pass = |py: Python<'_>| -> PyResult<()> {
        match epoll {
            Some(e) => e.borrow().pass(py, timeout),
            None if use_poll => poll_pass(py, timeout, map),
            None => select_pass(py, timeout, map),
        }
    };
    match count {
        None => {
            while map.is_truthy()? {
                pass(py)?;
            }
        }
        // An int that fits counts in Rust.
        Some(n) if n.is_exact_instance_of::<PyInt>() && n.extract::<i64>().is_ok() => {
            let mut n: i64 = n.extract()?;
            while map.is_truthy()? && n > 0 {
                pass(py)?;
                n -= 1;
            }
        }
        Some(n) => {
            let mut n = n.clone();
            while map.is_truthy()? && n.gt(0)? {
                pass(py)?;
                n = n.sub(1)?;
            }
        }
    }
    Ok(())
}
