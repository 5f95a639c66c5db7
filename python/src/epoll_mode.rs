//! The opt-in epoll mode (`loop(..., use_epoll=True)`): registrations persist
//! in the kernel, and a pass asks `readable()`/`writable()` only of the
//! channels that need it:
//!
//! * channels whose handlers ran (were dispatched) in the previous pass;
//! * channels *touched*: their descriptor was added to or removed from the
//!   map through `add_channel`/`del_channel` (so `create_socket`,
//!   `set_socket`, construction with a socket, `close`), or passed to
//!   `asyncore.touch()` / `dispatcher.touch()`; `async_chat.push`,
//!   `push_with_producer`, `close_when_done` and `dispatcher_with_send.send`
//!   touch their channel themselves;
//! * every channel, when the map's size differs from what the last pass
//!   left (entries put in or taken out of the dict directly).
//!
//! Dispatch follows the poll pass (`readwrite`, one call per report).

use crate::errors::os_error;
use crate::map;
use crate::passes::ask;
use crate::shutdown;
use crate::wait::wait;
use crate::wrappers::readwrite;
use asyncore_loop::raw_selector::{RawInterest, RawSelector, Readiness, WANT_READ, WANT_WRITE};
use asyncore_loop::{Backend, POLLNVAL};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PySet;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::Duration;

struct Registration {
    /// The channel the interest was asked of (a new object under the same
    /// descriptor is registered afresh).
    obj: Py<PyAny>,
    interest: RawInterest,
}

/// The epoll state of one map: its selector, what is registered, and which
/// descriptors must be asked again.
// Not `unsendable`: a map may be looped from any thread (one at a time; a
// second pass on the same map while one waits is refused). Every borrow of
// the RefCells starts and ends with the GIL held.
#[pyclass(module = "asyncore_loop._engine")]
pub(crate) struct EpollMap {
    map: Py<PyAny>,
    touched: Py<PySet>,
    sel: RefCell<RawSelector>,
    regs: RefCell<HashMap<i32, Registration>>,
    ran: RefCell<Vec<i32>>,
    synced: Cell<bool>,
}

#[pymethods]
impl EpollMap {
    #[new]
    fn new(py: Python<'_>, map: Py<PyAny>) -> PyResult<EpollMap> {
        Ok(EpollMap {
            map,
            touched: PySet::empty_bound(py)?.unbind(),
            sel: RefCell::new(RawSelector::new(Backend::Epoll).map_err(os_error)?),
            regs: RefCell::new(HashMap::new()),
            ran: RefCell::new(Vec::new()),
            synced: Cell::new(false),
        })
    }

    /// The map this state follows.
    #[getter]
    fn map(&self, py: Python<'_>) -> Py<PyAny> {
        self.map.clone_ref(py)
    }

    /// Descriptors touched since the last pass (a set; `touch` adds to it).
    #[getter]
    fn touched(&self, py: Python<'_>) -> Py<PySet> {
        self.touched.clone_ref(py)
    }

    /// Ask the channel under `fd` for its interest at the next pass
    /// (anything but an int is ignored: it is no descriptor).
    fn touch(&self, py: Python<'_>, fd: &Bound<'_, PyAny>) -> PyResult<()> {
        if fd.is_instance_of::<pyo3::types::PyInt>() {
            self.touched.bind(py).add(fd)?;
        }
        Ok(())
    }

    /// How many descriptors are registered with the kernel now.
    fn registered(&self) -> usize {
        self.regs
            .borrow()
            .values()
            .filter(|r| r.interest != 0)
            .count()
    }

    /// Run one pass with `timeout` seconds (`None`: wait forever).
    #[pyo3(name = "poll")]
    fn py_pass(&self, py: Python<'_>, timeout: &Bound<'_, PyAny>) -> PyResult<()> {
        self.pass(py, timeout)
    }
}

impl EpollMap {
    pub(crate) fn pass(&self, py: Python<'_>, timeout: &Bound<'_, PyAny>) -> PyResult<()> {
        let _engaged = shutdown::Engaged::enter(py);
        let limit = if timeout.is_none() {
            None
        } else {
            let s: f64 = timeout.extract()?;
            if s < 0.0 {
                None
            } else {
                Some(Duration::from_secs_f64(s))
            }
        };
        let map = self.map.bind(py);
        if map::len(map)? == 0 {
            return Ok(());
        }
        let mut stale = Vec::new();
        for fd in self.dirty(py)? {
            if self.refresh(py, map, fd)? {
                stale.push(Readiness {
                    key: fd as u64,
                    ready: POLLNVAL,
                });
            }
        }
        // Entries put into or taken out of the dict directly: ask them all.
        if !self.synced.get() || self.regs.borrow().len() != map::len(map)? {
            let mut all: Vec<i32> = self.regs.borrow().keys().copied().collect();
            for (key, _) in map::snapshot(map)? {
                all.push(map::fd_of(&key)?);
            }
            all.sort_unstable();
            all.dedup();
            for fd in all {
                if self.refresh(py, map, fd)? {
                    stale.push(Readiness {
                        key: fd as u64,
                        ready: POLLNVAL,
                    });
                }
            }
            self.synced.set(true);
        }
        let mut events = stale;
        {
            let mut sel = self
                .sel
                .try_borrow_mut()
                .map_err(|_| PyRuntimeError::new_err("loop() is already waiting on this map"))?;
            if events.is_empty() {
                wait(py, &mut sel, limit, &mut events)?;
            }
        }
        for ev in events {
            let fd = ev.key as i32;
            let key = fd.into_py(py).into_bound(py);
            let Some(obj) = map::get(map, key.as_any())? else {
                continue;
            };
            self.ran.borrow_mut().push(fd);
            readwrite(py, &obj, i64::from(ev.ready))?;
        }
        Ok(())
    }

    /// The descriptors that ran or were touched since the last ask, each once.
    fn dirty(&self, py: Python<'_>) -> PyResult<Vec<i32>> {
        let mut fds: Vec<i32> = std::mem::take(&mut *self.ran.borrow_mut());
        let touched = self.touched.bind(py);
        for fd in touched.iter() {
            fds.push(fd.extract()?);
        }
        touched.clear();
        fds.sort_unstable();
        fds.dedup();
        Ok(fds)
    }

    /// Ask `fd`'s channel again and tell the kernel what changed. Returns
    /// true when the descriptor is stale (closed behind the map's back).
    fn refresh(&self, py: Python<'_>, map: &Bound<'_, PyAny>, fd: i32) -> PyResult<bool> {
        let key = fd.into_py(py).into_bound(py);
        let now = map::get(map, key.as_any())?;
        let old = self.regs.borrow_mut().remove(&fd);
        let Some(obj) = now else {
            if let Some(old) = old {
                self.set(fd, old.interest, 0)?;
            }
            return Ok(false);
        };
        let mut before = 0;
        if let Some(old) = old {
            if old.obj.is(&obj) {
                before = old.interest;
            } else {
                self.set(fd, old.interest, 0)?;
            }
        }
        let (r, w_ok, _) = ask(py, &obj)?;
        let interest = if r { WANT_READ } else { 0 } | if w_ok { WANT_WRITE } else { 0 };
        self.regs.borrow_mut().insert(
            fd,
            Registration {
                obj: obj.unbind(),
                interest,
            },
        );
        match self.set(fd, before, interest) {
            Ok(()) => Ok(false),
            Err(e) if e.raw_os_error() == Some(libc::EBADF) => {
                self.regs.borrow_mut().remove(&fd);
                Ok(true)
            }
            Err(e) => Err(os_error(e)),
        }
    }

    /// One kernel registration change; a descriptor the kernel forgot (its
    /// file was closed and the number reused) is added afresh.
    fn set(&self, fd: i32, old: RawInterest, new: RawInterest) -> std::io::Result<()> {
        let mut sel = self.sel.borrow_mut();
        match sel.register(fd, fd as u64, old, new) {
            Err(e) if old != 0 && new != 0 && e.raw_os_error() == Some(libc::ENOENT) => {
                sel.register(fd, fd as u64, 0, new)
            }
            Err(e) if old == 0 && new != 0 && e.raw_os_error() == Some(libc::EEXIST) => {
                sel.register(fd, fd as u64, WANT_READ | WANT_WRITE, new)
            }
            Err(e) if new == 0 => {
                let _ = e; // the descriptor is gone already: nothing to remove
                Ok(())
            }
            other => other,
        }
    }
}
