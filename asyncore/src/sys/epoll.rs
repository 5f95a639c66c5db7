//! The `epoll(7)` backend: registrations live in the kernel and change only
//! when a channel's interest changes, so a pass costs O(ready channels).
//!
//! Level-triggered, like the other two: asyncore handlers do one `recv` or
//! `send` per event and rely on being called again.
//!
//! Regular files cannot be added to an epoll set (`EPERM`); like `select` and
//! `poll`, which report them always ready, this backend keeps them in a side
//! list and reports them ready on every pass without blocking.

use super::fd::OwnedRawFd;
use super::{retry_eintr, timeout_ms, Event, Interest, WANT_READ, WANT_WRITE};
use std::io;
use std::time::Duration;

/// How many readiness reports one `epoll_wait` can return.
const BATCH: usize = 1024;

#[derive(Debug)]
pub(crate) struct Epoll {
    epfd: OwnedRawFd,
    /// Descriptors epoll refused with EPERM (regular files): always ready.
    always_ready: Vec<(i32, u64, Interest)>,
    /// Keys whose descriptor was closed behind the loop's back (found when
    /// their interest changed): reported once as `POLLNVAL`.
    vanished: Vec<u64>,
}

impl Epoll {
    pub(crate) fn new() -> io::Result<Epoll> {
        // SAFETY: plain syscall; the result is checked before use.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Epoll {
            epfd: OwnedRawFd(fd),
            always_ready: Vec::new(),
            vanished: Vec::new(),
        })
    }

    pub(crate) fn update(
        &mut self,
        fd: i32,
        key: u64,
        old: Interest,
        new: Interest,
    ) -> io::Result<()> {
        if let Some(i) = self.always_ready.iter().position(|e| e.0 == fd) {
            if new == 0 {
                self.always_ready.swap_remove(i);
            } else {
                self.always_ready[i] = (fd, key, new);
            }
            return Ok(());
        }
        let op = match (old == 0, new == 0) {
            (true, true) => return Ok(()),
            (true, false) => libc::EPOLL_CTL_ADD,
            (false, true) => libc::EPOLL_CTL_DEL,
            (false, false) => libc::EPOLL_CTL_MOD,
        };
        let mut events = 0u32;
        if new & WANT_READ != 0 {
            events |= (libc::EPOLLIN | libc::EPOLLPRI) as u32;
        }
        if new & WANT_WRITE != 0 {
            events |= libc::EPOLLOUT as u32;
        }
        let mut ev = libc::epoll_event { events, u64: key };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call;
        // the kernel ignores it for EPOLL_CTL_DEL.
        let rc = unsafe { libc::epoll_ctl(self.epfd.0, op, fd, &mut ev) };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EPERM) if op == libc::EPOLL_CTL_ADD => {
                self.always_ready.push((fd, key, new));
                Ok(())
            }
            // Deleting a descriptor that was closed (or replaced by a file
            // epoll cannot watch) behind our back.
            Some(libc::EBADF | libc::ENOENT | libc::EPERM) if op == libc::EPOLL_CTL_DEL => Ok(()),
            // Closed or replaced (e.g. by dup2) behind our back: the kernel
            // dropped its registration (ENOENT, EBADF), or the number now
            // names a file epoll cannot watch (EPERM on a descriptor it
            // accepted before). Report it as select and poll do.
            Some(libc::EBADF | libc::ENOENT | libc::EPERM) => {
                self.vanished.push(key);
                Ok(())
            }
            _ => Err(err),
        }
    }

    /// Wait and report; `restart` says whether `EINTR` restarts the wait.
    pub(crate) fn wait(
        &mut self,
        timeout: Option<Duration>,
        restart: bool,
        out: &mut Vec<Event>,
    ) -> io::Result<()> {
        let timeout = if self.always_ready.is_empty() && self.vanished.is_empty() {
            timeout
        } else {
            Some(Duration::ZERO)
        };
        let epfd = self.epfd.0;
        // The kernel writes its reports straight past the ones `out` holds
        // (an `Event` is an `epoll_event`): nothing to convert.
        out.reserve(BATCH);
        let base = out.len();
        let once = |left| {
            // SAFETY: `out` has room for BATCH events past `base`
            // (reserved above), `Event` is a transparent `epoll_event`,
            // and the kernel writes at most BATCH.
            let n = unsafe {
                libc::epoll_wait(
                    epfd,
                    out.as_mut_ptr().add(base).cast::<libc::epoll_event>(),
                    BATCH as libc::c_int,
                    timeout_ms(left),
                )
            };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        };
        let n = retry_eintr(timeout, restart, once, || 0)?;
        // SAFETY: epoll_wait initialised the `n` entries past `base`
        // (n <= BATCH, within the reserved room).
        unsafe { out.set_len(base + n) };
        if !self.vanished.is_empty() || !self.always_ready.is_empty() {
            self.add_unwatchable(out);
        }
        Ok(())
    }

    /// The reports epoll cannot give: descriptors closed behind the loop's
    /// back, and regular files (always ready).
    #[cold]
    #[inline(never)]
    fn add_unwatchable(&mut self, out: &mut Vec<Event>) {
        for key in self.vanished.drain(..) {
            out.push(Event::new(key, libc::POLLNVAL));
        }
        for &(_, key, interest) in &self.always_ready {
            let mut ready = 0;
            if interest & WANT_READ != 0 {
                ready |= libc::POLLIN;
            }
            if interest & WANT_WRITE != 0 {
                ready |= libc::POLLOUT;
            }
            out.push(Event::new(key, ready));
        }
    }
}
