//! The simulation's implementation of the selector contract (`sys/mod.rs`),
//! in the style of the backend the loop was set to: select (rebuilt each
//! pass, one readiness bit per event, read/write/except groups), poll
//! (rebuilt each pass, every bit at once) or epoll (registrations that
//! persist, with epoll's errors for a wrong add or modify).
//!
//! The loop's own descriptors (the remote waker, the signal pipe) are real:
//! they are checked with a real `poll` of zero timeout.

use super::world::{errno, SockId};
use super::{clock, SimNet};
use crate::core::{SIGNAL_KEY, WAKER_KEY};
use crate::sys::poll::Poll;
use crate::sys::{
    Backend, Event, Interest, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI, WANT_EXCEPT,
    WANT_READ, WANT_WRITE,
};
use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

#[derive(Debug)]
pub(crate) struct SimSelector {
    net: SimNet,
    style: Backend,
    /// This pass's watch set (select, poll), or the registrations (epoll).
    watched: Vec<(RawFd, u64, Interest)>,
    /// The loop's own (real) descriptors.
    real: Vec<(RawFd, u64)>,
}

impl SimSelector {
    pub(crate) fn new(net: SimNet, style: Backend) -> SimSelector {
        SimSelector {
            net,
            style,
            watched: Vec::new(),
            real: Vec::new(),
        }
    }

    pub(crate) fn begin_pass(&mut self) {
        if self.style.rebuilds_each_pass() {
            self.watched.clear();
            self.real.clear();
        }
    }

    pub(crate) fn watch(&mut self, fd: RawFd, key: u64, interest: Interest) -> io::Result<()> {
        if key == WAKER_KEY || key == SIGNAL_KEY {
            self.real.push((fd, key));
        } else {
            self.watched.push((fd, key, interest));
        }
        Ok(())
    }

    /// Epoll's `epoll_ctl`: add, modify or delete, with its errors.
    pub(crate) fn update(
        &mut self,
        fd: RawFd,
        key: u64,
        old: Interest,
        new: Interest,
    ) -> io::Result<()> {
        if self.style.rebuilds_each_pass() {
            return Ok(());
        }
        if key == WAKER_KEY || key == SIGNAL_KEY {
            self.real.retain(|&(f, _)| f != fd);
            if new != 0 {
                self.real.push((fd, key));
            }
            return Ok(());
        }
        let at = self.watched.iter().position(|&(f, _, _)| f == fd);
        match (old == 0, new == 0, at) {
            (true, true, _) => Ok(()),
            (true, false, Some(_)) => Err(errno(libc::EEXIST)),
            (true, false, None) => {
                self.watched.push((fd, key, new));
                Ok(())
            }
            // Deleting what is gone is tolerated by the loop; say ENOENT as epoll does.
            (false, true, None) => Err(errno(libc::ENOENT)),
            (false, true, Some(i)) => {
                self.watched.remove(i);
                Ok(())
            }
            (false, false, None) => Err(errno(libc::ENOENT)),
            (false, false, Some(i)) => {
                self.watched[i] = (fd, key, new);
                Ok(())
            }
        }
    }

    pub(crate) fn wait(
        &mut self,
        timeout: Option<Duration>,
        out: &mut Vec<Event>,
    ) -> io::Result<()> {
        let mut w = self.net.world();
        w.tick();
        let f = w.faults;
        let mut left = timeout;
        // An interrupted wait restarts with the time left (nothing reported).
        if w.rng.chance(f.eintr) {
            w.stats.eintr += 1;
            if let Some(t) = left {
                let part = Duration::from_nanos(w.rng.below(t.as_nanos() as u64 + 1));
                clock::advance(part);
                left = Some(t - part);
            }
        }
        if self.style == Backend::Epoll {
            // The kernel forgets a closed descriptor's registration.
            let by_fd = &w.by_fd;
            self.watched.retain(|&(fd, _, _)| by_fd.contains_key(&fd));
        }
        let mut ready: Vec<(u64, SockId, i16, Interest)> = Vec::new();
        for &(fd, key, interest) in &self.watched {
            let Some(&sock) = w.by_fd.get(&fd) else {
                match self.style {
                    Backend::Select => return Err(errno(libc::EBADF)),
                    _ => {
                        out.push(Event::new(key, POLLNVAL));
                        continue;
                    }
                }
            };
            let mut bits = w.readiness(sock);
            if w.rng.chance(f.spurious) {
                w.stats.spurious += 1;
                bits |= if interest & WANT_WRITE != 0 && w.rng.chance(500) {
                    POLLOUT
                } else {
                    POLLIN
                };
            }
            let mut mask = POLLERR | POLLHUP | POLLNVAL;
            if interest & WANT_READ != 0 {
                mask |= POLLIN | POLLPRI;
            }
            if interest & WANT_WRITE != 0 {
                mask |= POLLOUT;
            }
            if interest & WANT_EXCEPT != 0 {
                mask |= POLLPRI;
            }
            if bits & mask != 0 {
                ready.push((key, sock, bits & mask, interest));
            }
        }
        let start = out.len();
        match self.style {
            Backend::Select => select_order(&ready, out),
            Backend::Poll | Backend::Epoll => {
                out.extend(
                    ready
                        .iter()
                        .map(|&(key, _, bits, _)| Event::new(key, bits)),
                );
            }
        }
        if !self.real.is_empty() {
            let mut p = Poll::default();
            for &(fd, key) in &self.real {
                p.watch(fd, key, WANT_READ);
            }
            p.wait(Some(Duration::ZERO), true, out)?;
        }
        if out.len() > start + 1 && w.rng.chance(f.shuffle) {
            w.stats.shuffles += 1;
            let mut events = out.split_off(start);
            w.rng.shuffle(&mut events);
            out.extend(events);
        }
        // Time passes: the whole timeout when nothing is ready, a little otherwise.
        let passed = if out.len() == start {
            left.unwrap_or(Duration::ZERO)
        } else {
            let little = Duration::from_micros(w.rng.below(1_000));
            left.map_or(little, |t| t.min(little))
        };
        clock::advance(passed);
        if w.rng.chance(f.clock_jump) {
            w.stats.clock_jumps += 1;
            clock::advance(Duration::from_millis(w.rng.range(1, f.max_jump_ms.max(1))));
        }
        for &(key, sock, _, _) in &ready {
            w.reports.push((key, sock));
        }
        Ok(())
    }
}

/// Select's report: every read-ready socket, then every write-ready, then
/// every exceptional one, one bit per event.
fn select_order(ready: &[(u64, SockId, i16, Interest)], out: &mut Vec<Event>) {
    let groups = [
        (WANT_READ, POLLIN | POLLHUP | POLLERR, POLLIN),
        (WANT_WRITE, POLLOUT | POLLHUP | POLLERR, POLLOUT),
        (WANT_EXCEPT, POLLPRI, POLLPRI),
    ];
    for (want, when, bit) in groups {
        for &(key, _, bits, interest) in ready {
            if interest & want != 0 && bits & when != 0 {
                out.push(Event::new(key, bit));
            }
        }
    }
}
