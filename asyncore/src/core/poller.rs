//! The loop's side of the readiness backend: which backend, its selector,
//! and the two descriptors of the loop's own (the remote waker and the
//! signal pipe).

use crate::sys::{Backend, Interest, Selector, WANT_EXCEPT, WANT_READ, WANT_WRITE};
use std::io;

/// Readiness key of the remote waker (never a channel's: no slot has index u32::MAX).
pub(crate) const WAKER_KEY: u64 = u64::MAX;
/// Readiness key of the signal pipe.
pub(crate) const SIGNAL_KEY: u64 = u64::MAX - 1;

pub(crate) struct Poller {
    backend: Backend,
    /// Made on the first pass, so constructing a loop costs no system call.
    selector: Option<Selector>,
    /// Epoll: whether the waker and the signal pipe are registered.
    specials_watched: [bool; 2],
    /// The fork generation the loop's kernel objects belong to (`sys::fork`).
    forks: u64,
    /// The simulated network this loop waits on instead of the OS (feature `sim`).
    #[cfg(feature = "sim")]
    sim: Option<crate::sim::SimNet>,
}

impl Poller {
    pub(crate) fn new() -> Self {
        Poller {
            backend: Backend::default(),
            selector: None,
            specials_watched: [false; 2],
            forks: crate::sys::fork::generation(),
            #[cfg(feature = "sim")]
            sim: None,
        }
    }

    /// This process is a fork of the one that made the loop's kernel
    /// objects (checked once a pass: an atomic load).
    #[inline(always)]
    pub(crate) fn forked(&self) -> bool {
        self.forks != crate::sys::fork::current()
    }

    /// In a forked child: the inherited selector goes (an epoll instance is
    /// shared with the parent, registrations and all); the next pass makes
    /// one of this process's own and registers everything again.
    pub(crate) fn renew_after_fork(&mut self) {
        self.forks = crate::sys::fork::current();
        self.forget_selector();
    }

    /// Drops the selector and what it watched for the loop.
    fn forget_selector(&mut self) {
        self.selector = None;
        self.specials_watched = [false; 2];
    }

    /// Whether the backend can watch `fd`: select only below `FD_SETSIZE`.
    pub(crate) fn check_range(&self, fd: i32) -> io::Result<()> {
        #[cfg(feature = "sim")]
        if self.sim.is_some() {
            return Ok(());
        }
        if self.backend == Backend::Select {
            crate::sys::select::check_range(fd)?;
        }
        Ok(())
    }

    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    /// Switches backend; true if it changed (every registration is then gone,
    /// and every channel must be asked again).
    pub(crate) fn set_backend(&mut self, backend: Backend) -> bool {
        if backend == self.backend {
            return false;
        }
        self.backend = backend;
        // Dropping an epoll selector drops its registrations with it.
        self.forget_selector();
        true
    }

    /// The selector, made now if this is the first pass.
    #[inline]
    pub(crate) fn selector(&mut self) -> io::Result<&mut Selector> {
        match &mut self.selector {
            Some(selector) => Ok(selector),
            empty => {
                #[cfg(feature = "sim")]
                if let Some(net) = &self.sim {
                    let sim = crate::sim::SimSelector::new(net.clone(), self.backend);
                    return Ok(empty.insert(Selector::Sim(sim)));
                }
                Ok(empty.insert(Selector::new(self.backend)?))
            }
        }
    }

    /// The simulated network, if this loop waits on one (feature `sim`).
    #[cfg(feature = "sim")]
    pub(crate) fn sim(&self) -> Option<&crate::sim::SimNet> {
        self.sim.as_ref()
    }

    /// Waits on the simulated network `net` from now on (feature `sim`).
    #[cfg(feature = "sim")]
    pub(crate) fn set_sim(&mut self, net: crate::sim::SimNet) {
        self.sim = Some(net);
        self.forget_selector();
    }

    /// A new signal pipe must be registered (epoll).
    pub(crate) fn forget_signal_pipe(&mut self) {
        self.specials_watched[1] = false;
    }

    /// The backend's interest bits for `readable()`/`writable()` answers:
    /// a listener never asks for write readiness (nor
    /// for read readiness while it backs off after EMFILE), and select puts
    /// every interested channel in its exceptional set (`rebuilt`: the pass
    /// rebuilds its sets, as select and poll do).
    // Spec: AC-SEL-2, AC-POLL-3, AC-Q-17.
    pub(crate) fn interest_bits(
        &self,
        readable: bool,
        writable: bool,
        accepting: bool,
        accept_paused: bool,
        rebuilt: bool,
    ) -> Interest {
        // Bit arithmetic, not branches: this runs once per channel asked.
        let mut interest = (u8::from(readable && !accept_paused) * WANT_READ)
            | (u8::from(writable && !accepting) * WANT_WRITE);
        // Select and poll rebuild their sets each pass; epoll never asks for
        // the exceptional set, so its path skips this test.
        if rebuilt && self.backend == Backend::Select && (readable || writable) {
            interest |= WANT_EXCEPT;
        }
        interest
    }

    /// Starts a select/poll pass: forget every watch, then watch the loop's
    /// own descriptors.
    pub(crate) fn begin_rebuild(&mut self, specials: [Option<i32>; 2]) -> io::Result<()> {
        let selector = self.selector()?;
        selector.begin_pass();
        for (fd, key) in specials.into_iter().zip([WAKER_KEY, SIGNAL_KEY]) {
            if let Some(fd) = fd {
                selector.watch(fd, key, WANT_READ)?;
            }
        }
        Ok(())
    }

    /// Epoll: whether the loop's own descriptors (`present`, as
    /// `Services::specials_present` says) differ from those registered.
    #[inline(always)]
    pub(crate) fn specials_changed(&self, present: [bool; 2]) -> bool {
        present != self.specials_watched
    }

    /// Epoll: registers the loop's own descriptors not registered yet.
    #[inline(never)]
    pub(crate) fn watch_new_specials(&mut self, specials: [Option<i32>; 2]) -> io::Result<()> {
        for (i, (fd, key)) in specials
            .into_iter()
            .zip([WAKER_KEY, SIGNAL_KEY])
            .enumerate()
        {
            if let (Some(fd), false) = (fd, self.specials_watched[i]) {
                self.selector()?.update(fd, key, 0, WANT_READ)?;
                self.specials_watched[i] = true;
            }
        }
        Ok(())
    }

    /// Select/poll: watch `fd` for this pass.
    pub(crate) fn watch(&mut self, fd: i32, key: u64, interest: Interest) -> io::Result<()> {
        self.selector()?.watch(fd, key, interest)
    }

    /// Epoll: make the kernel watch `fd` for `new` instead of `old`.
    pub(crate) fn update(
        &mut self,
        fd: i32,
        key: u64,
        old: Interest,
        new: Interest,
    ) -> io::Result<()> {
        self.selector()?.update(fd, key, old, new)
    }

    /// Stops watching `fd` (a channel left the map). Nothing to do before the
    /// first pass, or on the backends that rebuild each pass.
    pub(crate) fn forget(&mut self, fd: i32, key: u64, old: Interest) {
        if let Some(selector) = &mut self.selector {
            // Deleting cannot meaningfully fail; a stale fd is already gone.
            let _ = selector.update(fd, key, old, 0);
        }
    }
}
