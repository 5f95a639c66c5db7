//! [`RawSelector`]: the loop's three readiness backends over raw descriptors,
//! for programs that run their own loop (the Python package does).

use crate::sys::{self, Event};
use crate::Backend;
use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

/// Interest bits for [`RawSelector::watch`] and [`RawSelector::register`].
pub type RawInterest = u8;
/// Wants to read: select's read set; `POLLIN | POLLPRI` on poll and epoll.
pub const WANT_READ: RawInterest = sys::WANT_READ;
/// Wants to write: select's write set; `POLLOUT` on poll and epoll.
pub const WANT_WRITE: RawInterest = sys::WANT_WRITE;
/// select's exceptional set (poll and epoll report errors and urgent data always).
pub const WANT_EXCEPT: RawInterest = sys::WANT_EXCEPT;

/// One readiness report: the key given with the descriptor, and `poll(2)`
/// bits ([`POLLIN`](crate::POLLIN), [`POLLOUT`](crate::POLLOUT) ...).
///
/// Select reports one bit per report (all reads, then all writes, then all
/// exceptional conditions, each in watch order: `POLLIN`, `POLLOUT`,
/// `POLLPRI`); poll one report per descriptor in watch order; epoll in the
/// kernel's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Readiness {
    /// The key the descriptor was watched or registered with.
    pub key: u64,
    /// `poll(2)` readiness bits.
    pub ready: i16,
}

/// A readiness selector without a loop: select, poll or epoll over raw
/// descriptors identified by your own keys.
///
/// Select and poll are told the whole watch set each pass
/// ([`begin_pass`](RawSelector::begin_pass), then
/// [`watch`](RawSelector::watch) per descriptor); epoll keeps registrations
/// in the kernel and is told only changes ([`register`](RawSelector::register)).
/// Unlike [`EventLoop`](crate::EventLoop), [`wait`](RawSelector::wait) does
/// not restart after a signal: it returns `ErrorKind::Interrupted`, so the
/// caller can run its own signal handling and wait again.
///
/// # Examples
///
/// ```
/// use asyncore_loop::raw_selector::{RawSelector, WANT_READ};
/// use asyncore_loop::{Backend, POLLIN};
/// use std::io::Write;
/// use std::os::fd::AsRawFd;
/// use std::time::Duration;
///
/// let (a, mut b) = std::os::unix::net::UnixStream::pair()?;
/// b.write_all(b"x")?;
/// let mut sel = RawSelector::new(Backend::Poll)?;
/// sel.begin_pass();
/// sel.watch(a.as_raw_fd(), 7, WANT_READ)?;
/// let mut out = Vec::new();
/// sel.wait(Some(Duration::from_secs(1)), &mut out)?;
/// assert_eq!(out[0].key, 7);
/// assert!(out[0].ready & POLLIN != 0);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct RawSelector {
    backend: Backend,
    inner: sys::Selector,
    events: Vec<Event>,
}

impl RawSelector {
    /// A selector on `backend` (epoll opens an epoll descriptor).
    pub fn new(backend: Backend) -> io::Result<RawSelector> {
        Ok(RawSelector {
            backend,
            inner: sys::Selector::new(backend)?,
            events: Vec::new(),
        })
    }

    /// The backend this selector waits with.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Forget the previous pass's watch set (select and poll; a no-op on epoll).
    pub fn begin_pass(&mut self) {
        self.inner.begin_pass();
    }

    /// Add `fd` to this pass's watch set (select and poll). On epoll this is
    /// an error: use [`register`](RawSelector::register). Select refuses
    /// descriptors at or above `FD_SETSIZE` (1024) with `InvalidInput`.
    pub fn watch(&mut self, fd: RawFd, key: u64, interest: RawInterest) -> io::Result<()> {
        if !self.backend.rebuilds_each_pass() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an epoll selector keeps registrations: use register",
            ));
        }
        self.inner.watch(fd, key, interest)
    }

    /// Change the persistent registration of `fd` from `old` to `new`
    /// interest (epoll; a no-op on select and poll). An empty `old` adds the
    /// descriptor, an empty `new` removes it; `key` is what its reports carry.
    pub fn register(
        &mut self,
        fd: RawFd,
        key: u64,
        old: RawInterest,
        new: RawInterest,
    ) -> io::Result<()> {
        self.inner.update(fd, key, old, new)
    }

    /// Wait until something is ready or `timeout` passes (`None`: forever),
    /// and append one [`Readiness`] per report to `out`. Timeouts are rounded
    /// up, never down to a busy poll. A signal ends the wait with
    /// `ErrorKind::Interrupted` and nothing appended.
    pub fn wait(&mut self, timeout: Option<Duration>, out: &mut Vec<Readiness>) -> io::Result<()> {
        self.events.clear();
        self.inner.wait_once(timeout, &mut self.events)?;
        out.extend(self.events.iter().map(|e| Readiness {
            key: e.key(),
            ready: e.ready(),
        }));
        Ok(())
    }
}
