//! The operating-system side of the loop: descriptor helpers and the three
//! readiness backends.
//!
//! # The selector contract
//!
//! The loop talks to the backends (`select.rs`, `poll.rs`, `epoll.rs`, and
//! with the `sim` feature the simulated network's `SimSelector`, which keeps
//! the contract in the style of any of the three) only through `Selector`,
//! which has four operations; each backend implements the ones that apply to
//! it, and the others are no-ops for it:
//!
//! * `begin_pass()`: forget the previous pass's watch set (select and poll,
//!   which are told the whole set again each pass, as asyncore does; a no-op
//!   on epoll).
//! * `watch(fd, key, interest)`: add the descriptor `fd`, identified by the
//!   opaque `key`, to this pass's watch set with `interest` (a set of
//!   [`Interest`] bits). Select and poll only: the loop calls it only on the
//!   backends that rebuild each pass.
//! * `update(fd, key, old, new)`: the interest of a persistent registration
//!   changed (epoll only, which keeps its registrations in the kernel; `old`
//!   or `new` may be empty, meaning add or delete). A no-op on select and
//!   poll.
//! * `wait(timeout, events)`: block until something is ready or the timeout
//!   passes, and append one [`Event`] per readiness report. A timeout of
//!   `None` waits forever. Timeouts are rounded **up** to the backend's
//!   resolution, so a wait never ends early and a tiny positive timeout never
//!   becomes a busy poll. `EINTR` restarts the wait with the remaining time and
//!   reports nothing for the interrupted attempt.
//!
//! Event order: select reports all read-ready descriptors, then all
//! write-ready, then all exceptional ones, each group in watch order, one
//! readiness bit per event (asyncore's select pass). Poll reports one event
//! per descriptor in watch order with every bit set at once. Epoll reports in
//! the kernel's order.
//!
//! Readiness bits are the `poll(2)` values ([`POLLIN`] ...), whatever the
//! backend, so the loop has one vocabulary.

pub(crate) mod affinity;
pub(crate) mod epoll;
pub(crate) mod fd;
pub(crate) mod fork;
pub(crate) mod poll;
pub(crate) mod select;
pub(crate) mod waker;

use std::fmt;
use std::io;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// Data to read (`POLLIN`), the `poll(2)` value.
pub const POLLIN: i16 = libc::POLLIN;
/// Urgent (out-of-band) data to read (`POLLPRI`).
pub const POLLPRI: i16 = libc::POLLPRI;
/// Writing will not block (`POLLOUT`).
pub const POLLOUT: i16 = libc::POLLOUT;
/// An error condition (`POLLERR`).
pub const POLLERR: i16 = libc::POLLERR;
/// Hang-up (`POLLHUP`).
pub const POLLHUP: i16 = libc::POLLHUP;
/// The descriptor is not open (`POLLNVAL`).
pub const POLLNVAL: i16 = libc::POLLNVAL;

/// Which OS readiness mechanism a loop waits with.
///
/// `Select` and `Poll` are asyncore's two passes, faithful to the reference:
/// every pass asks every channel `readable()`/`writable()`. `Epoll` keeps
/// registrations in the kernel and re-asks only channels that ran a handler,
/// were added, or were touched, so a pass costs O(active channels).
///
/// # Examples
///
/// ```
/// use asyncore_loop::Backend;
/// assert_eq!(Backend::from_use_poll(false), Backend::Select);
/// assert_eq!(Backend::from_use_poll(true), Backend::Poll);
/// assert_eq!("epoll".parse::<Backend>().unwrap(), Backend::Epoll);
/// assert_eq!(Backend::Poll.name(), "poll");
/// assert_eq!(Backend::default(), Backend::Epoll);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Backend {
    /// `select(2)`: asyncore's default pass; descriptors must be below `FD_SETSIZE`.
    Select,
    /// `poll(2)`: asyncore's `use_poll=True` pass.
    Poll,
    /// `epoll(7)`: O(active) work per pass; the default.
    #[default]
    Epoll,
}

impl Backend {
    /// Every backend, for tests and benchmarks that cover them all. A slice,
    /// not an array: a later version may add a backend.
    ///
    /// ```
    /// use asyncore_loop::Backend;
    /// let names: Vec<&str> = Backend::ALL.iter().map(|b| b.name()).collect();
    /// assert_eq!(names, ["select", "poll", "epoll"]);
    /// ```
    pub const ALL: &'static [Backend] = &[Backend::Select, Backend::Poll, Backend::Epoll];

    /// asyncore's `use_poll` flag: `true` is [`Backend::Poll`], `false` [`Backend::Select`].
    pub fn from_use_poll(use_poll: bool) -> Backend {
        if use_poll {
            Backend::Poll
        } else {
            Backend::Select
        }
    }

    /// The backend's lower-case name, as accepted by `parse`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Select => "select",
            Backend::Poll => "poll",
            Backend::Epoll => "epoll",
        }
    }

    /// Whether every pass asks every channel for its interest (select, poll).
    pub(crate) fn rebuilds_each_pass(self) -> bool {
        !matches!(self, Backend::Epoll)
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = io::Error;

    fn from_str(s: &str) -> io::Result<Backend> {
        match s {
            "select" => Ok(Backend::Select),
            "poll" => Ok(Backend::Poll),
            "epoll" => Ok(Backend::Epoll),
            other => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unknown backend {other:?}: expected select, poll or epoll"),
            )),
        }
    }
}

/// Interest bits the loop asks a backend for.
pub(crate) type Interest = u8;
/// Wants to read (select READ set; poll/epoll IN|PRI).
pub(crate) const WANT_READ: Interest = 1;
/// Wants to write (select WRITE set; poll/epoll OUT).
pub(crate) const WANT_WRITE: Interest = 2;
/// select's EXCEPT set (poll and epoll fold it into `WANT_READ`).
pub(crate) const WANT_EXCEPT: Interest = 4;

/// Interest bits as words, for the loop's trace lines.
pub(crate) fn interest_name(interest: Interest) -> &'static str {
    match interest & (WANT_READ | WANT_WRITE) {
        0 => "nothing",
        WANT_READ => "read",
        WANT_WRITE => "write",
        _ => "read+write",
    }
}

/// One readiness report: the key given to `watch`, and `poll(2)` bits.
/// Laid out as the kernel's `epoll_event`, so that epoll writes its reports
/// straight into the pass's buffer: on Linux epoll's readiness bits are
/// poll's (checked below).
#[derive(Clone, Copy)]
#[repr(transparent)]
pub(crate) struct Event(libc::epoll_event);

/// The `poll(2)` bits a report carries.
const READY_BITS: u32 = (libc::POLLIN
    | libc::POLLPRI
    | libc::POLLOUT
    | libc::POLLERR
    | libc::POLLHUP
    | libc::POLLNVAL) as u32;

const _: () = assert!(
    libc::EPOLLIN == libc::POLLIN as i32
        && libc::EPOLLPRI == libc::POLLPRI as i32
        && libc::EPOLLOUT == libc::POLLOUT as i32
        && libc::EPOLLERR == libc::POLLERR as i32
        && libc::EPOLLHUP == libc::POLLHUP as i32
        && (READY_BITS & !0x3f) == 0
);

impl Event {
    pub(crate) fn new(key: u64, ready: i16) -> Self {
        Event(libc::epoll_event {
            events: ready as u16 as u32,
            u64: key,
        })
    }

    /// The key given to `watch`.
    #[inline(always)]
    pub(crate) fn key(&self) -> u64 {
        self.0.u64
    }

    /// The `poll(2)` bits (`POLLIN`, `POLLOUT`, ...).
    #[inline(always)]
    pub(crate) fn ready(&self) -> i16 {
        (self.0.events & READY_BITS) as i16
    }
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("key", &self.key())
            .field("ready", &self.ready())
            .finish()
    }
}

/// One of the three backends, chosen at run time.
// An explicit one-byte tag: finding the backend each pass is one compare,
// not the decoding of a niche in the select backend's fields.
#[derive(Debug)]
#[repr(u8)]
pub(crate) enum Selector {
    Select(select::Select),
    Poll(poll::Poll),
    Epoll(epoll::Epoll),
    /// The simulated network (feature `sim`), in the style of a backend.
    #[cfg(feature = "sim")]
    Sim(crate::sim::SimSelector),
}

impl Selector {
    pub(crate) fn new(backend: Backend) -> io::Result<Selector> {
        Ok(match backend {
            Backend::Select => Selector::Select(select::Select::default()),
            Backend::Poll => Selector::Poll(poll::Poll::default()),
            Backend::Epoll => Selector::Epoll(epoll::Epoll::new()?),
        })
    }

    /// Forget last pass's watch set (select and poll only).
    pub(crate) fn begin_pass(&mut self) {
        match self {
            Selector::Select(s) => s.clear(),
            Selector::Poll(p) => p.clear(),
            Selector::Epoll(_) => {}
            #[cfg(feature = "sim")]
            Selector::Sim(s) => s.begin_pass(),
        }
    }

    /// Add `fd` to this pass's watch set (select and poll only).
    ///
    /// The epoll arm is never reached: the loop calls `watch` only on the
    /// backends that rebuild their watch set each pass
    /// ([`Backend::rebuilds_each_pass`]) and tells epoll about changes with
    /// [`update`](Selector::update). The arm registers `fd` as a fresh add,
    /// which would be correct for a descriptor epoll does not watch yet.
    pub(crate) fn watch(&mut self, fd: i32, key: u64, interest: Interest) -> io::Result<()> {
        match self {
            Selector::Select(s) => s.watch(fd, key, interest),
            Selector::Poll(p) => {
                p.watch(fd, key, interest);
                Ok(())
            }
            Selector::Epoll(e) => e.update(fd, key, 0, interest),
            #[cfg(feature = "sim")]
            Selector::Sim(s) => s.watch(fd, key, interest),
        }
    }

    /// A persistent registration changed (epoll only; a no-op elsewhere).
    pub(crate) fn update(
        &mut self,
        fd: i32,
        key: u64,
        old: Interest,
        new: Interest,
    ) -> io::Result<()> {
        match self {
            Selector::Epoll(e) => e.update(fd, key, old, new),
            #[cfg(feature = "sim")]
            Selector::Sim(s) => s.update(fd, key, old, new),
            _ => Ok(()),
        }
    }

    /// Wait for readiness; `EINTR` restarts the wait with the time left.
    pub(crate) fn wait(
        &mut self,
        timeout: Option<Duration>,
        out: &mut Vec<Event>,
    ) -> io::Result<()> {
        match self {
            Selector::Select(s) => s.wait(timeout, true, out),
            Selector::Poll(p) => p.wait(timeout, true, out),
            Selector::Epoll(e) => e.wait(timeout, true, out),
            #[cfg(feature = "sim")]
            Selector::Sim(s) => s.wait(timeout, out),
        }
    }

    /// Wait for readiness once: `EINTR` is returned as
    /// `ErrorKind::Interrupted` instead of restarting, so the caller can run
    /// its own signal handling first (the Python package does).
    pub(crate) fn wait_once(
        &mut self,
        timeout: Option<Duration>,
        out: &mut Vec<Event>,
    ) -> io::Result<()> {
        match self {
            Selector::Select(s) => s.wait(timeout, false, out),
            Selector::Poll(p) => p.wait(timeout, false, out),
            Selector::Epoll(e) => e.wait(timeout, false, out),
            // The simulation restarts an interrupted wait itself.
            #[cfg(feature = "sim")]
            Selector::Sim(s) => s.wait(timeout, out),
        }
    }
}

/// Run `attempt` with the time left until the deadline, restarting it after
/// `EINTR` when `restart` is set (otherwise `EINTR` is returned). `attempt`
/// gets `None` for "forever".
// AC-LOOP-9: EINTR restarts the wait with the remaining time.
pub(crate) fn retry_eintr<T>(
    timeout: Option<Duration>,
    restart: bool,
    mut attempt: impl FnMut(Option<Duration>) -> io::Result<T>,
    on_timeout: impl Fn() -> T,
) -> io::Result<T> {
    let interrupted = |e: &io::Error| e.kind() == io::ErrorKind::Interrupted && restart;
    let Some(timeout) = timeout else {
        // No time to keep (the usual wait of a loop without timers): an
        // interrupted wait simply waits again, with no clock read.
        loop {
            match attempt(None) {
                Err(e) if interrupted(&e) => {}
                other => return other,
            }
        }
    };
    let deadline = crate::clock::after(Instant::now(), timeout);
    let mut left = timeout;
    loop {
        match attempt(Some(left)) {
            Err(e) if interrupted(&e) => {
                let now = Instant::now();
                if now >= deadline {
                    return Ok(on_timeout());
                }
                left = deadline - now;
            }
            other => return other,
        }
    }
}

/// Milliseconds for poll(2)/epoll_wait(2): `-1` is forever; rounded up so a
/// positive timeout never becomes a busy poll.
// AC-Q-5: round up, never to zero.
pub(crate) fn timeout_ms(timeout: Option<Duration>) -> libc::c_int {
    match timeout {
        None => -1,
        Some(t) => {
            // Whole seconds are whole milliseconds: only the nanoseconds
            // round, in 64 bits (a 128-bit division is a library call).
            let ms = t
                .as_secs()
                .saturating_mul(1000)
                .saturating_add(u64::from(t.subsec_nanos().div_ceil(1_000_000)));
            ms.min(libc::c_int::MAX as u64) as libc::c_int
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_rounds_up_never_to_zero_ac_q_5() {
        assert_eq!(timeout_ms(Some(Duration::from_micros(900))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_nanos(1))), 1);
        assert_eq!(timeout_ms(Some(Duration::ZERO)), 0);
        assert_eq!(timeout_ms(Some(Duration::from_micros(1500))), 2);
        assert_eq!(timeout_ms(Some(Duration::new(30, 1))), 30_001);
        assert_eq!(timeout_ms(Some(Duration::new(2, 999_000_001))), 3_000);
        assert_eq!(timeout_ms(None), -1);
        assert_eq!(
            timeout_ms(Some(Duration::from_secs(u64::MAX))),
            libc::c_int::MAX
        );
    }
}
