//! Everything a loop owns except the dispatcher currently running: the map,
//! the backend, the per-pass buffers, the log sink and the shared state.
//! [`Cx`](crate::Cx) borrows it mutably while a handler runs.

use crate::channel::{Channel, Io};
use crate::dispatcher::Dispatcher;
use crate::log::{FacadeLog, LogSink};
use crate::map::{key, ChannelMap};
use crate::remote::RemoteShared;
use crate::signals::Signals;
use crate::sys::{fd, Backend, Event, Interest, Selector, WANT_EXCEPT, WANT_READ, WANT_WRITE};
use crate::timer::{TimerId, Timers};
use crate::token::Token;
use crate::Cx;
use std::io;
use std::os::fd::IntoRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a timer does when it fires, and which channel owns it.
pub(crate) struct TimerPayload<S: 'static> {
    pub(crate) owner: Token,
    pub(crate) action: TimerAction<S>,
}

pub(crate) type TimerCallback<S> = Box<dyn FnMut(&mut Cx<'_, S>) -> io::Result<()>>;

pub(crate) enum TimerAction<S: 'static> {
    /// `Dispatcher::handle_timer` of the owner.
    Handler,
    /// A closure run with the owner's `Cx` (taken out while it runs).
    Callback(Option<TimerCallback<S>>),
    /// Check the owner's idle/read/write deadlines.
    Deadline,
    /// End a listener's accept back-off.
    ResumeAccept,
}

/// Graceful shutdown in progress.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shutdown {
    pub(crate) deadline: Instant,
    pub(crate) begun: bool,
}

/// The loop's own channel: socketless, it runs loop-level timers, remote
/// jobs and signal callbacks; their errors are logged, nothing is closed.
struct LoopChannel;

impl<S: 'static> Dispatcher<S> for LoopChannel {
    fn name(&self) -> &'static str {
        "loop"
    }

    fn handle_error(&mut self, cx: &mut Cx<'_, S>, err: io::Error) -> io::Result<()> {
        cx.log_info(
            &format!("loop callback failed ({}): {err}", cx.handler()),
            "error",
        );
        Ok(())
    }
}

/// First back-off after EMFILE on accept; doubles up to `MAX_ACCEPT_BACKOFF`.
pub(crate) const MIN_ACCEPT_BACKOFF: Duration = Duration::from_millis(10);
pub(crate) const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

pub(crate) struct LoopCore<S: 'static> {
    pub(crate) map: ChannelMap<S>,
    pub(crate) backend: Backend,
    /// Created on the first pass, so constructing a loop costs no syscall.
    pub(crate) selector: Option<Selector>,
    /// Channels whose interest must be re-asked (epoll's O(active) rule).
    pub(crate) dirty: Vec<u32>,
    /// Channels owed a `handle_close` by a `send`/`recv` made outside a handler.
    pub(crate) pending_close: Vec<Token>,
    /// Channels closed since the last sweep; their slots are freed between passes.
    pub(crate) closed: Vec<u32>,
    pub(crate) events: Vec<Event>,
    pub(crate) order_buf: Vec<(u32, u64)>,
    /// Receive buffer shared by `Cx::recv`, grown on demand and reused.
    pub(crate) scratch: Vec<u8>,
    pub(crate) log: Box<dyn LogSink>,
    pub(crate) state: S,
    pub(crate) stop: bool,
    /// The handler running now, for `handle_error`'s log line.
    pub(crate) handler: &'static str,
    /// Bytes sent so far (the busy-loop guard compares it around handle_write).
    pub(crate) sent_total: u64,
    /// A spare descriptor released to shed one connection on EMFILE (AC-Q-11).
    pub(crate) reserve_fd: Option<std::fs::File>,
    pub(crate) fds_exhausted: bool,
    pub(crate) accept_backoff: Duration,
    /// Catch handler panics and route them to `handle_error` (default on).
    pub(crate) catch_panics: bool,
    pub(crate) timers: Timers<TimerPayload<S>>,
    /// The loop's own channel, created on first use.
    pub(crate) loop_channel: Option<Token>,
    pub(crate) remote: Option<Arc<RemoteShared<S>>>,
    pub(crate) signals: Option<Signals<S>>,
    /// Epoll: whether the waker and signal descriptors are registered.
    pub(crate) specials_watched: (bool, bool),
    pub(crate) shutdown: Option<Shutdown>,
    pub(crate) max_channels: Option<usize>,
    /// Listeners backing off after EMFILE; a channel closing resumes them.
    pub(crate) paused_listeners: Vec<Token>,
}

impl<S: 'static> LoopCore<S> {
    pub(crate) fn new(state: S) -> Self {
        LoopCore {
            map: ChannelMap::default(),
            backend: Backend::default(),
            selector: None,
            dirty: Vec::new(),
            pending_close: Vec::new(),
            closed: Vec::new(),
            events: Vec::new(),
            order_buf: Vec::new(),
            scratch: Vec::new(),
            log: Box::new(FacadeLog),
            state,
            stop: false,
            handler: "",
            sent_total: 0,
            reserve_fd: None,
            fds_exhausted: false,
            accept_backoff: MIN_ACCEPT_BACKOFF,
            catch_panics: true,
            timers: Timers::default(),
            loop_channel: None,
            remote: None,
            signals: None,
            specials_watched: (false, false),
            shutdown: None,
            max_channels: None,
            paused_listeners: Vec::new(),
        }
    }

    /// The channel of a slot that a live `Cx` or a resolved key points at.
    pub(crate) fn ch(&self, index: u32) -> &Channel {
        &self
            .map
            .get(index)
            .expect("a Cx always refers to a live channel")
            .ch
    }

    pub(crate) fn ch_mut(&mut self, index: u32) -> &mut Channel {
        &mut self
            .map
            .get_mut(index)
            .expect("a Cx always refers to a live channel")
            .ch
    }

    /// The backend's interest bits for a channel's `readable()`/`writable()`
    /// answers (AC-SEL-2, AC-POLL-3): a listener never asks for write
    /// readiness (nor for read readiness while it backs off after EMFILE),
    /// and select puts every interested channel in its exceptional set.
    pub(crate) fn interest_bits(&self, index: u32, readable: bool, writable: bool) -> Interest {
        let ch = self.ch(index);
        let mut interest = 0;
        if readable && !ch.accept_paused {
            interest |= WANT_READ;
        }
        if writable && !ch.accepting {
            interest |= WANT_WRITE;
        }
        if self.backend == Backend::Select && (readable || writable) {
            interest |= WANT_EXCEPT;
        }
        interest
    }

    /// Epoll: makes the OS watch channel `index` for `interest`, with an
    /// `epoll_ctl` only when it changed. On failure the channel is left dirty,
    /// so the next pass tries again and reports the error.
    pub(crate) fn apply_interest(&mut self, index: u32, interest: Interest) -> io::Result<()> {
        let ch = self.ch(index);
        let (old, fd, key) = (ch.os_interest, ch.io.fd(), key(index, ch.reg));
        if interest == old {
            return Ok(());
        }
        if let (Some(fd), Some(sel)) = (fd, self.selector.as_mut()) {
            if let Err(e) = sel.update(fd, key, old, interest) {
                self.mark_dirty(index);
                return Err(e);
            }
        }
        self.ch_mut(index).os_interest = interest;
        Ok(())
    }

    /// After a channel's handlers ran, with its dispatcher `d` still out of
    /// its slot: on epoll, ask `readable()`/`writable()` now rather than in
    /// the next pass's interest phase (which would take the dispatcher out
    /// again); other backends ask every channel before each wait anyway. A
    /// channel already marked dirty (touched during the call) is asked there.
    pub(crate) fn ask_interest_now(cx: &mut Cx<'_, S>, d: &mut dyn Dispatcher<S>) {
        let index = cx.index;
        let fused = cx.core.backend == Backend::Epoll
            && cx
                .core
                .map
                .get(index)
                .is_some_and(|e| e.ch.reg != 0 && !e.ch.dirty);
        if !fused {
            cx.core.mark_dirty(index);
            return;
        }
        let view = cx.view();
        let (r, w) = (d.readable(&view), d.writable(&view));
        let interest = cx.core.interest_bits(index, r, w);
        // An error leaves the channel dirty: the interest phase reports it.
        let _ = cx.core.apply_interest(index, interest);
    }

    pub(crate) fn mark_dirty(&mut self, index: u32) {
        if let Some(e) = self.map.get_mut(index) {
            if !e.ch.dirty {
                e.ch.dirty = true;
                self.dirty.push(index);
            }
        }
    }

    pub(crate) fn insert(&mut self, disp: Box<dyn Dispatcher<S>>) -> Token {
        self.map.insert(disp)
    }

    /// Attaches `io` to a channel and puts it in the map. A descriptor
    /// attached before is closed first.
    pub(crate) fn attach(&mut self, index: u32, io: Io) {
        let old = std::mem::take(&mut self.ch_mut(index).io);
        if old.fd().is_some() {
            self.deregister(index);
            drop(old);
        }
        self.ch_mut(index).io = io;
        self.map.register(index);
        self.mark_dirty(index);
    }

    /// Takes a channel out of the map and out of the OS watch set.
    pub(crate) fn deregister(&mut self, index: u32) {
        let ch = self.ch_mut(index);
        if ch.reg == 0 {
            return;
        }
        let (fd, reg, old) = (ch.io.fd(), ch.reg, ch.os_interest);
        ch.os_interest = 0;
        if let (Some(fd), Some(sel)) = (fd, self.selector.as_mut()) {
            // Deleting cannot meaningfully fail; a stale fd is already gone.
            let _ = sel.update(fd, key(index, reg), old, 0);
        }
        self.map.deregister(index);
    }

    /// asyncore's `close()` (AC-CLOSE-1): flags off, out of the map, descriptor
    /// closed. Idempotent (AC-CLOSE-2).
    pub(crate) fn close(&mut self, index: u32) -> io::Result<()> {
        let ch = self.ch_mut(index);
        ch.connected = false;
        ch.accepting = false;
        ch.connecting = false;
        let timers = std::mem::take(&mut ch.timers);
        let parent = ch.parent.take();
        for id in timers {
            self.timers.cancel(id);
        }
        if let Some(e) = parent
            .and_then(|p| self.map.resolve(p))
            .and_then(|i| self.map.get_mut(i))
        {
            e.ch.children = e.ch.children.saturating_sub(1);
        }
        self.deregister(index);
        self.resume_accepting();
        let io = std::mem::replace(&mut self.ch_mut(index).io, Io::Closed);
        self.closed.push(index);
        let result = match io {
            Io::Socket(s) => fd::close(s.into_raw_fd()),
            Io::File(mut f) => f.close(),
            Io::None | Io::Closed => Ok(()),
        };
        match result {
            Err(e) if matches!(e.raw_os_error(), Some(libc::EBADF | libc::ENOTCONN)) => Ok(()),
            other => other,
        }
    }

    /// Frees the slots of channels that are closed and not running.
    pub(crate) fn sweep_closed(&mut self) {
        let mut i = 0;
        while i < self.closed.len() {
            let index = self.closed[i];
            let free = self
                .map
                .get(index)
                .is_some_and(|e| e.disp.is_some() && e.ch.is_closed() && e.ch.reg == 0);
            let gone = self.map.get(index).is_none_or(|e| !e.ch.is_closed());
            if free {
                self.map.remove(index);
            }
            if free || gone {
                self.closed.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }

    /// Runs `f` on a channel's dispatcher, taken out of its slot for the call.
    /// `None` if the channel is gone or its handler is already running.
    pub(crate) fn run<R>(
        &mut self,
        index: u32,
        f: impl FnOnce(&mut dyn Dispatcher<S>, &mut Cx<'_, S>) -> R,
    ) -> Option<R> {
        let mut disp = self.map.get_mut(index)?.disp.take()?;
        let r = f(&mut *disp, &mut Cx::new(self, index));
        if let Some(e) = self.map.get_mut(index) {
            e.disp = Some(disp);
        }
        Some(r)
    }

    pub(crate) fn selector(&mut self) -> io::Result<&mut Selector> {
        if self.selector.as_ref().map(Selector::backend) != Some(self.backend) {
            self.selector = None;
        }
        match &mut self.selector {
            Some(selector) => Ok(selector),
            empty => Ok(empty.insert(Selector::new(self.backend)?)),
        }
    }

    pub(crate) fn set_backend(&mut self, backend: Backend) {
        if backend == self.backend {
            return;
        }
        self.backend = backend;
        // Dropping an epoll selector drops its registrations with it.
        self.selector = None;
        self.specials_watched = (false, false);
        for index in self.map.occupied() {
            self.ch_mut(index).os_interest = 0;
            self.mark_dirty(index);
        }
    }

    pub(crate) fn log_info(&self, index: u32, message: &str, kind: &str) {
        if !self.ch(index).ignores(kind) {
            self.log.log_info(kind, message);
        }
    }

    /// A descriptor is about to be freed: listeners paused by EMFILE may try again.
    pub(crate) fn resume_accepting(&mut self) {
        for token in std::mem::take(&mut self.paused_listeners) {
            if let Some(index) = self.map.resolve(token) {
                self.ch_mut(index).accept_paused = false;
                self.mark_dirty(index);
            }
        }
    }

    /// The slot of the loop's own channel, created on first use.
    pub(crate) fn loop_channel(&mut self) -> u32 {
        if let Some(index) = self.loop_channel.and_then(|t| self.map.resolve(t)) {
            return index;
        }
        let token = self.insert(Box::new(LoopChannel));
        self.loop_channel = Some(token);
        token.index
    }

    /// Arms a timer owned by channel `index`.
    pub(crate) fn add_timer(
        &mut self,
        index: u32,
        delay: Duration,
        interval: Option<Duration>,
        action: TimerAction<S>,
    ) -> TimerId {
        let owner = self.map.token(index);
        let deadline = Instant::now() + delay;
        let id = self
            .timers
            .insert(deadline, interval, TimerPayload { owner, action });
        self.ch_mut(index).timers.insert(id);
        id
    }

    pub(crate) fn cancel_timer(&mut self, id: TimerId) -> bool {
        let Some(payload) = self.timers.cancel(id) else {
            return false;
        };
        if let Some(e) = self
            .map
            .resolve(payload.owner)
            .and_then(|i| self.map.get_mut(i))
        {
            e.ch.timers.remove(&id);
        }
        true
    }

    pub(crate) fn reset_timer(&mut self, id: TimerId, delay: Duration) -> bool {
        self.timers.reset(id, Instant::now() + delay)
    }

    pub(crate) fn remote(&mut self) -> io::Result<Arc<RemoteShared<S>>> {
        if let Some(r) = &self.remote {
            return Ok(Arc::clone(r));
        }
        let shared = Arc::new(RemoteShared::new()?);
        self.remote = Some(Arc::clone(&shared));
        Ok(shared)
    }

    /// Starts (or tightens) a graceful shutdown.
    pub(crate) fn request_shutdown(&mut self, grace: Duration) {
        let deadline = Instant::now() + grace;
        match &mut self.shutdown {
            Some(s) => s.deadline = s.deadline.min(deadline),
            None => {
                self.shutdown = Some(Shutdown {
                    deadline,
                    begun: false,
                })
            }
        }
    }

    /// Whether a listener (or the loop) is at its connection cap.
    pub(crate) fn at_capacity(&self, index: u32) -> bool {
        let ch = self.ch(index);
        ch.max_children.is_some_and(|max| ch.children >= max)
            || self
                .max_channels
                .is_some_and(|max| self.map.registered() >= max)
    }
}
