//! `LoopCore`: everything a loop owns, in named parts. A `Cx` borrows it
//! whole, beside the one channel it serves (which is out of its slot
//! meanwhile), so the parts below are reached by plain disjoint borrows.

mod accept_guard;
mod poller;
mod services;

pub(crate) use accept_guard::AcceptGuard;
pub(crate) use poller::{Poller, SIGNAL_KEY, WAKER_KEY};
pub(crate) use services::{Callback, Services, TimerAction, TimerPayload};

use crate::channel::{Channel, Io};
use crate::close_reason::CloseReason;
use crate::cx::Cx;
use crate::dispatcher::Dispatcher;
use crate::log::{FacadeLog, LogSink};
use crate::map::ChannelMap;
use crate::stored::StoredDispatcher;
use crate::sys::fd;
use crate::token::Token;
use std::io;
use std::os::fd::IntoRawFd;

/// One channel as the map stores it: the loop's state for it and the
/// user's dispatcher, in one allocation.
pub(crate) struct Entry<D: ?Sized> {
    pub(crate) ch: Channel,
    pub(crate) disp: D,
}

pub(crate) type BoxedEntry<S> = Box<Entry<dyn StoredDispatcher<S>>>;

pub(crate) fn entry<S: 'static>(disp: impl Dispatcher<S>) -> BoxedEntry<S> {
    Box::new(Entry {
        ch: Channel::default(),
        disp,
    })
}

/// What one pass collects for the next phases, and the buffers it reuses.
#[derive(Default)]
pub(crate) struct PassState {
    /// Channels whose interest must be asked again (epoll's O(active) rule).
    pub(crate) dirty: Vec<u32>,
    /// Channels owed a `handle_close` by a `send`/`recv` made outside a handler.
    pub(crate) owed_closes: Vec<Token>,
    /// Channels closed since the last sweep; their slots are freed between passes.
    pub(crate) closed: Vec<u32>,
    /// The map order, snapshotted for phases that call user code.
    pub(crate) order: Vec<(u32, u64)>,
    /// Receive buffer shared by `Cx::recv`, grown on demand and reused.
    pub(crate) scratch: crate::scratch::Scratch,
    /// TLS channels with plaintext waiting inside the session (readiness
    /// keys): `handle_read` without socket readiness, and no blocking wait.
    #[cfg(feature = "tls")]
    pub(crate) tls_ready: Vec<u64>,
    /// `stop()` was called: the current pass is the last.
    pub(crate) stop: bool,
    /// What `Cx::now` answers (see [`PassTime`]).
    pub(crate) time: std::cell::Cell<PassTime>,
}

/// The pass's time, as `Cx::now` sees it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) enum PassTime {
    /// No pass is dispatching: the clock itself.
    #[default]
    Outside,
    /// Dispatching, the clock not read yet: the first `Cx::now` reads it.
    Unread,
    /// Dispatching, at this time.
    At(std::time::Instant),
}

/// Where the loop reports, and how it treats misbehaving handlers.
pub(crate) struct Diagnostics {
    pub(crate) log: Box<dyn LogSink>,
    /// Catch handler panics and route them to `handle_error` (default on).
    pub(crate) catch_panics: bool,
}

pub(crate) struct LoopCore<S: 'static> {
    pub(crate) map: ChannelMap<BoxedEntry<S>>,
    pub(crate) state: S,
    pub(crate) poller: Poller,
    pub(crate) pass: PassState,
    pub(crate) services: Services<S>,
    pub(crate) accept: AcceptGuard,
    pub(crate) diag: Diagnostics,
}

/// The loop's own channel: socketless, it runs loop-level timers, remote
/// jobs and signal callbacks; their errors are logged, nothing is closed.
struct LoopChannel;

impl<S: 'static> Dispatcher<S> for LoopChannel {
    fn name(&self) -> &'static str {
        "loop"
    }

    fn handle_error(&mut self, cx: &mut Cx<'_, S>, err: io::Error) -> io::Result<()> {
        let line = format!("loop callback failed ({}): {err}", cx.handler_name());
        cx.log_info(&line, "error");
        Ok(())
    }
}

impl<S: 'static> LoopCore<S> {
    pub(crate) fn new(state: S) -> Self {
        LoopCore {
            map: ChannelMap::default(),
            state,
            poller: Poller::new(),
            pass: PassState::default(),
            services: Services::new(),
            accept: AcceptGuard::new(),
            diag: Diagnostics {
                log: Box::new(FacadeLog),
                catch_panics: true,
            },
        }
    }

    /// Puts a lent entry back; it is asked for its interest before the next wait.
    #[inline(always)]
    pub(crate) fn restore(&mut self, index: u32, entry: BoxedEntry<S>) {
        if self.map.restore_dirty(index, entry) {
            self.pass.dirty.push(index);
        }
    }

    /// Puts back the entry of a channel that a readiness report reached,
    /// unmarked: the interest phase asks the channels of the last pass's
    /// reports without a list of its own.
    #[inline(always)]
    pub(crate) fn restore_reported(&mut self, index: u32, entry: BoxedEntry<S>) {
        self.map.restore_unmarked(index, entry);
    }

    /// Interest must be asked again before the next wait.
    pub(crate) fn mark_dirty(&mut self, index: u32) {
        if self.map.mark_dirty(index) {
            self.pass.dirty.push(index);
        }
    }

    /// Attaches `io` to channel `index` and puts it in the map. A descriptor
    /// attached before is closed first.
    pub(crate) fn attach(&mut self, ch: &mut Channel, index: u32, io: Io) {
        if ch.io.fd().is_some() {
            // Out of the OS set while the old descriptor is there to name:
            // epoll forgets a descriptor at its close only if no copy of it
            // lives on (a handler may keep one).
            self.deregister(ch, index);
        }
        drop(std::mem::replace(&mut ch.io, io));
        ch.closed = false;
        // Nothing of the old descriptor's end carries over (its end of
        // stream, its break, a shutdown, a handle_close owed, why it closed,
        // the busy-loop guard's count).
        ch.read_eof = false;
        ch.eof_owed = false;
        ch.broken = false;
        ch.write_shut = false;
        ch.close_owed = false;
        ch.close_reason = None;
        ch.idle_writes = 0;
        ch.busy_warned = false;
        // A connection attached (a connected socket, a file) is a new one,
        // whose end is handle_close again; a socket not yet connected is not
        // (`Cx::connect` starts its connection), so that its hang-up, which
        // Linux reports at once, closes the channel instead of calling
        // handle_close pass after pass.
        if ch.close_delivered && ch.io.is_connection() {
            ch.close_delivered = false;
        }
        #[cfg(feature = "tls")]
        {
            ch.tls = None;
        }
        self.map.register(index);
        log::debug!("{} added: fd {}", self.map.token(index), FdText(ch.io.fd()));
        self.mark_dirty(index);
    }

    /// Takes a channel out of the map and out of the OS watch set.
    pub(crate) fn deregister(&mut self, ch: &mut Channel, index: u32) {
        if self.map.meta(index).reg == 0 {
            return;
        }
        if let Some(fd) = ch.io.fd() {
            self.poller.forget(fd, self.map.key(index), ch.os_interest);
        }
        ch.os_interest = 0;
        self.map.deregister(index);
    }

    /// asyncore's `close()`: flags off, out of the map, timers
    /// cancelled, descriptor closed. Idempotent.
    // Spec: AC-CLOSE-1, AC-CLOSE-2.
    pub(crate) fn close(&mut self, ch: &mut Channel, index: u32) -> io::Result<()> {
        let io = self.detach_for_close(ch, index);
        close_io(io)
    }

    /// [`close`](LoopCore::close) but for the descriptor itself, which is
    /// returned (`Io::Closed` if the channel was closed already).
    pub(crate) fn detach_for_close(&mut self, ch: &mut Channel, index: u32) -> Io {
        ch.connected = false;
        ch.accepting = false;
        ch.connecting = false;
        for id in std::mem::take(&mut ch.timers) {
            self.services.timers.cancel(id);
        }
        if let Some(parent) = ch.parent.take().and_then(|p| self.map.resolve(p)) {
            if let Some(meta) = self.map.meta_mut(parent) {
                meta.children = meta.children.saturating_sub(1);
            }
        }
        let reason = ch.close_reason.take();
        if log::log_enabled!(log::Level::Debug) && !ch.is_closed() {
            let (token, fd) = (self.map.token(index), FdText(ch.io.fd()));
            match reason {
                Some(reason) => log::debug!("{token} fd {fd} closed: {reason}"),
                None => log::debug!("{token} fd {fd} closed by its handler"),
            }
        }
        #[cfg(feature = "tls")]
        crate::tls::hooks::on_close(ch);
        self.deregister(ch, index);
        self.resume_accepting();
        let io = std::mem::replace(&mut ch.io, Io::Closed);
        ch.closed = true;
        self.pass.closed.push(index);
        io
    }

    /// Closes channel `index` from outside its handlers (shutdown, `close_all`).
    pub(crate) fn close_index(&mut self, index: u32) -> io::Result<()> {
        let Some((mut entry, _)) = self.map.lend(index) else {
            return Ok(());
        };
        entry.ch.note_close_reason(CloseReason::ClosedByLoop);
        let result = self.close(&mut entry.ch, index);
        self.restore(index, entry);
        result
    }

    /// Frees the slots of channels that are closed and not out of the map.
    #[inline]
    pub(crate) fn sweep_closed(&mut self) {
        if !self.pass.closed.is_empty() {
            self.sweep_closed_now();
        }
    }

    fn sweep_closed_now(&mut self) {
        let mut i = 0;
        while i < self.pass.closed.len() {
            let index = self.pass.closed[i];
            let registered = self.map.meta(index).reg != 0;
            let (free, gone) = match self.map.get(index) {
                Some(e) => (e.ch.is_closed() && !registered, !e.ch.is_closed()),
                // Lent out (its handler runs): try again later; vacant: gone.
                None => (false, !self.map.is_lent(index)),
            };
            if free {
                self.map.remove(index);
            }
            if free || gone {
                self.pass.closed.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }

    /// A descriptor is about to be freed: listeners paused by EMFILE may try again.
    pub(crate) fn resume_accepting(&mut self) {
        for token in std::mem::take(&mut self.accept.paused) {
            log::debug!("{token} accepting again");
            if let Some(index) = self.map.resolve(token) {
                if let Some(meta) = self.map.meta_mut(index) {
                    meta.accept_paused = false;
                }
                self.mark_dirty(index);
            }
        }
    }

    /// The slot of the loop's own channel, made on first use.
    pub(crate) fn loop_channel(&mut self) -> u32 {
        if let Some(index) = self.services.loop_channel.and_then(|t| self.map.resolve(t)) {
            return index;
        }
        let token = self.map.insert(entry(LoopChannel));
        self.services.loop_channel = Some(token);
        token.index
    }

    /// The loop's own channel, out of its slot, for a set-up `Cx`.
    pub(crate) fn lend_loop_channel(&mut self) -> (Token, BoxedEntry<S>) {
        let index = self.loop_channel();
        let token = self.map.token(index);
        // It is never out here (no handler runs, the nursery is settled); a
        // fresh one would serve all the same.
        let taken = match self.map.lend(index) {
            Some((taken, _)) => taken,
            None => entry(LoopChannel),
        };
        (token, taken)
    }

    /// Cancels a timer and forgets it in its owner's set. `own` is the
    /// channel whose `Cx` asks (out of its slot, so not reachable through the map).
    pub(crate) fn cancel_timer(
        &mut self,
        id: crate::TimerId,
        own: Option<(&mut Channel, Token)>,
    ) -> bool {
        let Some(owner) = self.services.cancel_timer(id) else {
            return false;
        };
        log::trace!("{owner} timer {id:?} cancelled");
        match own {
            Some((ch, token)) if token == owner => {
                ch.timers.remove(&id);
            }
            _ => {
                if let Some(e) = self.map.resolve(owner).and_then(|i| self.map.get_mut(i)) {
                    e.ch.timers.remove(&id);
                }
            }
        }
        true
    }

    /// Switches backend: every registration is gone, every channel is asked again.
    pub(crate) fn set_backend(&mut self, backend: crate::Backend) {
        if self.poller.set_backend(backend) {
            self.ask_everyone_again();
        }
    }

    /// The selector's registrations are gone: every channel is asked again
    /// (and, on epoll, registered anew).
    fn ask_everyone_again(&mut self) {
        for index in self.map.occupied() {
            if let Some(e) = self.map.get_mut(index) {
                e.ch.os_interest = 0;
            }
            self.mark_dirty(index);
        }
    }

    /// In a child process after `fork()`: the kernel objects the loop
    /// inherited are shared with the parent, which would take this loop's
    /// wake-ups and signals and wake it with its own readiness. The child
    /// gets its own: a new selector, waker and signal pipe. The channels'
    /// descriptors are the child's copies and stay as they are.
    #[cold]
    #[inline(never)]
    pub(crate) fn renew_after_fork(&mut self) -> io::Result<()> {
        log::debug!("forked: renewing the loop's selector, waker and signal pipe");
        // The parts that can fail (out of descriptors) first: the poller
        // records the fork last, so a failed renewal is tried again next pass.
        if let Some(remote) = self.services.existing_remote() {
            remote.renew_after_fork()?;
        }
        if let Some(signals) = self.services.signals.as_mut() {
            signals.renew_after_fork()?;
        }
        self.poller.renew_after_fork();
        self.ask_everyone_again();
        Ok(())
    }
}

/// A descriptor number for log lines (`-` when there is none).
struct FdText(Option<i32>);

impl std::fmt::Display for FdText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(fd) => write!(f, "{fd}"),
            None => f.write_str("-"),
        }
    }
}

/// Closes a channel's descriptor (see [`LoopCore::close`]); one already
/// gone is not an error.
pub(crate) fn close_io(io: Io) -> io::Result<()> {
    let result = match io {
        Io::Socket(s) => fd::close(s.into_raw_fd()),
        Io::File(mut f) => f.close(),
        #[cfg(feature = "sim")]
        Io::Sim(s) => {
            s.close();
            Ok(())
        }
        Io::None | Io::Closed => Ok(()),
    };
    match result {
        Err(e) if matches!(e.raw_os_error(), Some(libc::EBADF | libc::ENOTCONN)) => Ok(()),
        other => other,
    }
}
