//! The `select(2)` backend: asyncore's default pass.
//!
//! The watch set is rebuilt every pass. Descriptors at or above `FD_SETSIZE`
//! are refused with a clear error before they could reach `FD_SET`, which
//! would otherwise write outside the set.

// AC-SEL: asyncore's select pass.

use super::{retry_eintr, Event, Interest, WANT_EXCEPT, WANT_READ, WANT_WRITE};
use std::io;
use std::time::Duration;

/// Refuses a descriptor `FD_SET` cannot hold: a pass that would watch one
/// fails, and the loop sheds an accepted connection that got one.
// AC-Q-22.
pub(crate) fn check_range(fd: i32) -> io::Result<()> {
    if fd < 0 || fd as usize >= libc::FD_SETSIZE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "descriptor {fd} is outside select()'s range 0..{}: use the poll or epoll backend",
                libc::FD_SETSIZE
            ),
        ));
    }
    Ok(())
}

#[derive(Debug, Default)]
pub(crate) struct Select {
    watched: Vec<(i32, u64, Interest)>,
}

impl Select {
    pub(crate) fn clear(&mut self) {
        self.watched.clear();
    }

    pub(crate) fn watch(&mut self, fd: i32, key: u64, interest: Interest) -> io::Result<()> {
        check_range(fd)?;
        self.watched.push((fd, key, interest));
        Ok(())
    }

    /// Wait and report; `restart` says whether `EINTR` restarts the wait.
    // Out of line: `Selector::wait` stays the epoll wait's size.
    #[inline(never)]
    pub(crate) fn wait(
        &mut self,
        timeout: Option<Duration>,
        restart: bool,
        out: &mut Vec<Event>,
    ) -> io::Result<()> {
        let mut sets = [empty_set(), empty_set(), empty_set()];
        let masks = [WANT_READ, WANT_WRITE, WANT_EXCEPT];
        let mut nfds = 0;
        for &(fd, _, interest) in &self.watched {
            for (set, mask) in sets.iter_mut().zip(masks) {
                if interest & mask != 0 {
                    // SAFETY: `watch` checked 0 <= fd < FD_SETSIZE, and `set`
                    // is an initialised fd_set.
                    unsafe { libc::FD_SET(fd, set) };
                }
            }
            nfds = nfds.max(fd + 1);
        }
        let template = sets;
        let waited = retry_eintr(
            timeout,
            restart,
            |left| {
                sets = template;
                let mut tv = left.map(timeval_ceil);
                let tvp = tv
                    .as_mut()
                    .map_or(std::ptr::null_mut(), |t| t as *mut libc::timeval);
                let [r, w, x] = &mut sets;
                // SAFETY: the three sets are valid, initialised fd_sets that
                // outlive the call; `tvp` is null or points to a live timeval.
                let n = unsafe { libc::select(nfds, r, w, x, tvp) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n)
                }
            },
            || 0,
        );
        let ready = match waited {
            // A watched descriptor was closed behind the loop's back: report
            // it as poll does (POLLNVAL) instead of failing every pass.
            Err(e) if e.raw_os_error() == Some(libc::EBADF) => {
                return self.report_closed(out, e);
            }
            other => other?,
        };
        if ready == 0 {
            return Ok(());
        }
        // All reads, then all writes, then all exceptional conditions, each
        // group in watch order (AC-SEL-5).
        for (set, bit) in sets
            .iter()
            .zip([libc::POLLIN, libc::POLLOUT, libc::POLLPRI])
        {
            for &(fd, key, _) in &self.watched {
                // SAFETY: fd is in range (checked in `watch`); `set` is initialised.
                if unsafe { libc::FD_ISSET(fd, set) } {
                    out.push(Event::new(key, bit));
                }
            }
        }
        Ok(())
    }
}

impl Select {
    /// After `EBADF`: the watched descriptors that are not open, as
    /// `POLLNVAL` reports; `err` if none is (the error is not ours).
    fn report_closed(&self, out: &mut Vec<Event>, err: io::Error) -> io::Result<()> {
        let before = out.len();
        for &(fd, key, _) in &self.watched {
            if !super::fd::is_open(fd) {
                out.push(Event::new(key, libc::POLLNVAL));
            }
        }
        if out.len() == before {
            return Err(err);
        }
        Ok(())
    }
}

fn empty_set() -> libc::fd_set {
    let mut set = std::mem::MaybeUninit::<libc::fd_set>::uninit();
    // SAFETY: FD_ZERO initialises every byte of the set it is given.
    unsafe {
        libc::FD_ZERO(set.as_mut_ptr());
        set.assume_init()
    }
}

/// A timeval rounded up to the next microsecond, so the wait is never shorter.
fn timeval_ceil(t: Duration) -> libc::timeval {
    let micros = t.as_nanos().div_ceil(1_000);
    let secs = (micros / 1_000_000).min(libc::time_t::MAX as u128);
    libc::timeval {
        tv_sec: secs as libc::time_t,
        tv_usec: (micros % 1_000_000) as libc::suseconds_t,
    }
}
