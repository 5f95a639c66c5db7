//! The `poll(2)` backend: asyncore's `use_poll=True` pass.
//!
//! The watch set is rebuilt every pass; results come back in watch order with
//! all of a descriptor's bits in one event.

// AC-POLL: asyncore's poll pass.

use super::{retry_eintr, timeout_ms, Event, Interest, WANT_READ, WANT_WRITE};
use std::io;
use std::time::Duration;

#[derive(Debug, Default)]
pub(crate) struct Poll {
    fds: Vec<libc::pollfd>,
    keys: Vec<u64>,
}

impl Poll {
    pub(crate) fn clear(&mut self) {
        self.fds.clear();
        self.keys.clear();
    }

    pub(crate) fn watch(&mut self, fd: i32, key: u64, interest: Interest) {
        let mut events = 0;
        if interest & WANT_READ != 0 {
            events |= libc::POLLIN | libc::POLLPRI;
        }
        if interest & WANT_WRITE != 0 {
            events |= libc::POLLOUT;
        }
        self.fds.push(libc::pollfd {
            fd,
            events,
            revents: 0,
        });
        self.keys.push(key);
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
        let fds = &mut self.fds;
        let ready = retry_eintr(
            timeout,
            restart,
            |left| {
                // SAFETY: `fds` is a valid, exclusively borrowed array of
                // `fds.len()` pollfd structures.
                let n = unsafe {
                    libc::poll(
                        fds.as_mut_ptr(),
                        fds.len() as libc::nfds_t,
                        timeout_ms(left),
                    )
                };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n)
                }
            },
            || 0,
        )?;
        if ready == 0 {
            return Ok(());
        }
        for (pfd, &key) in self.fds.iter().zip(&self.keys) {
            if pfd.revents != 0 {
                out.push(Event::new(key, pfd.revents));
            }
        }
        Ok(())
    }
}
