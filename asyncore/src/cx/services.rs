//! What a handler reaches beyond its socket: other channels, the shared
//! state, timers, deadlines, connection caps, shutdown, remotes, logging.

use super::nursery::{run, Nursery};
use super::Cx;
use crate::core::{entry, Callback, LoopCore, PassTime, TimerAction, TimerPayload};
use crate::deadline::{Deadline, Deadlines};
use crate::dispatcher::Dispatcher;
use crate::remote::Remote;
use crate::timer::TimerId;
use crate::token::Token;
use std::any::Any;
use std::io;
use std::time::{Duration, Instant};

impl<S: 'static> Cx<'_, S> {
    /// Adds a new channel to this loop and returns its `Cx`, to attach a
    /// socket (asyncore's constructor). A channel added during a pass gets
    /// events from the next pass. A channel added by a listener counts
    /// against its [connection cap](Cx::set_max_connections) while open.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::{Cx, Dispatcher, EventLoop};
    /// use socket2::{SockAddr, Socket};
    /// use std::io;
    ///
    /// struct Echo;
    /// impl Dispatcher for Echo {}
    /// struct Server;
    /// impl Dispatcher for Server {
    ///     fn handle_accepted(&mut self, cx: &mut Cx<'_>, sock: Socket, _: SockAddr) -> io::Result<()> {
    ///         cx.add(Echo).adopt(sock)?;
    ///         Ok(())
    ///     }
    /// }
    /// ```
    pub fn add<D: Dispatcher<S>>(&mut self, dispatcher: D) -> Cx<'_, S> {
        // AC-LOOP-10, AC-Q-8: the new channel joins this loop.
        let mut new = entry(dispatcher);
        if self.accepting() {
            new.ch.parent = Some(self.token);
            if let Some(meta) = self.core.map.meta_mut(self.token.index) {
                meta.children += 1;
            }
        }
        let token = self.core.map.insert_lent();
        self.nursery.hold(self.core, token, new)
    }

    /// Runs `f` on another channel's dispatcher (of type `D`) and its `Cx`;
    /// `None` if the token is stale, the type differs, or it is the channel
    /// whose handler is running. The channel's interest is asked again
    /// before the next wait.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::{Dispatcher, EventLoop};
    /// #[derive(Default)]
    /// struct Counter(u32);
    /// impl Dispatcher for Counter {}
    ///
    /// let mut ev = EventLoop::new();
    /// let a = ev.add(Counter::default()).token();
    /// let mut cx = ev.add(Counter::default());
    /// assert_eq!(cx.with(a, |c: &mut Counter, _| { c.0 += 1; c.0 }), Some(1));
    /// ```
    pub fn with<D: Dispatcher<S>, R>(
        &mut self,
        token: Token,
        f: impl FnOnce(&mut D, &mut Cx<'_, S>) -> R,
    ) -> Option<R> {
        with_dispatcher(self.core, self.nursery, token, f)
    }

    /// Asks the loop to ask `token`'s `readable()`/`writable()` again before
    /// the next wait. Needed on epoll when a channel's interest depends on
    /// state another channel changed (select and poll ask every pass).
    pub fn touch(&mut self, token: Token) {
        if let Some(index) = self.core.map.resolve(token) {
            self.core.mark_dirty(index);
        }
    }

    /// The time of the current pass: read from the clock at the first call
    /// after the pass's wait returned, then the same for every handler of
    /// that pass (libuv's `uv_now`). It saves a clock read per event for
    /// handlers that time requests or idle connections; use
    /// [`Instant::now`](std::time::Instant::now) where the exact time
    /// matters. Outside a pass it is the clock's time.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::{Dispatcher, EventLoop};
    ///
    /// struct Idle;
    /// impl Dispatcher for Idle {}
    ///
    /// let mut ev = EventLoop::new();
    /// let before = std::time::Instant::now();
    /// assert!(ev.add(Idle).now() >= before);
    /// ```
    pub fn now(&self) -> Instant {
        let time = &self.core.pass.time;
        match time.get() {
            PassTime::Outside => crate::clock::now(),
            PassTime::At(t) => t,
            PassTime::Unread => {
                let t = crate::clock::now();
                time.set(PassTime::At(t));
                t
            }
        }
    }

    /// The loop's shared state.
    pub fn state(&mut self) -> &mut S {
        &mut self.core.state
    }

    /// Stops the loop at the end of the current pass, with `Ok(())`; the map
    /// is left as it is. (`Err(ExitNow.into())` stops at once instead.)
    pub fn stop(&mut self) {
        self.core.pass.stop = true;
    }

    /// Arms a timer owned by this channel (cancelled when it closes).
    pub(crate) fn arm_timer(
        &mut self,
        delay: Duration,
        interval: Option<Duration>,
        action: TimerAction<S>,
    ) -> TimerId {
        let payload = TimerPayload {
            owner: self.token,
            action,
        };
        let id = self
            .core
            .services
            .timers
            .insert(crate::clock::after(crate::clock::now(), delay), interval, payload);
        self.ch.timers.insert(id);
        log::trace!("{} timer {id:?} set for {delay:?}", self.token);
        id
    }

    /// Runs `f` once after `delay`, with this channel's `Cx` (never earlier;
    /// the wait rounds up). The timer belongs to this channel: it is
    /// cancelled when the channel closes. An error from `f` goes to the
    /// channel's `handle_error`. [`call_every`](Cx::call_every) repeats;
    /// [`start_timer`](Cx::start_timer) calls
    /// [`handle_timer`](Dispatcher::handle_timer) instead of a closure.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher<u32> for Idle {}
    /// use std::time::Duration;
    /// let mut ev = EventLoop::with_state(0u32);
    /// let mut cx = ev.add(Idle);
    /// cx.create_socket(asyncore_loop::AF_INET, asyncore_loop::SOCK_DGRAM)?;
    /// let never = cx.call_later(Duration::from_secs(60), |cx| cx.close());
    /// assert!(cx.cancel_timer(never));
    /// cx.call_every(Duration::from_millis(1), |cx| {
    ///     *cx.state() += 1;
    ///     if *cx.state() == 3 { cx.close()?; }
    ///     Ok(())
    /// });
    /// ev.run()?; // the repeating timer closes the only channel
    /// assert_eq!(*ev.state(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn call_later(
        &mut self,
        delay: Duration,
        f: impl FnOnce(&mut Cx<'_, S>) -> io::Result<()> + 'static,
    ) -> TimerId {
        let mut f = Some(f);
        let once = move |cx: &mut Cx<'_, S>| f.take().map_or(Ok(()), |f| f(cx));
        let callback: Callback<S> = Box::new(once);
        self.arm_timer(delay, None, TimerAction::Callback(Some(callback)))
    }

    /// Runs `f` every `interval` (first after one interval) until cancelled
    /// or the channel closes. A timer that falls behind skips ahead rather
    /// than firing in a burst.
    pub fn call_every(
        &mut self,
        interval: Duration,
        f: impl FnMut(&mut Cx<'_, S>) -> io::Result<()> + 'static,
    ) -> TimerId {
        let callback: Callback<S> = Box::new(f);
        self.arm_timer(
            interval,
            Some(interval),
            TimerAction::Callback(Some(callback)),
        )
    }

    /// Arms a timer that calls this channel's
    /// [`handle_timer`](Dispatcher::handle_timer) once after `delay`, or
    /// every `delay` if `repeat`; cancelled when the channel closes.
    pub fn start_timer(&mut self, delay: Duration, repeat: bool) -> TimerId {
        self.arm_timer(delay, repeat.then_some(delay), TimerAction::Handler)
    }

    /// Cancels a timer (of any channel, or of the loop); false if it already
    /// fired (one-shot) or was cancelled. O(log n).
    pub fn cancel_timer(&mut self, id: TimerId) -> bool {
        self.core
            .cancel_timer(id, Some((&mut *self.ch, self.token)))
    }

    /// Moves a timer's next expiry to `delay` from now; false if it is gone.
    pub fn reset_timer(&mut self, id: TimerId, delay: Duration) -> bool {
        self.core
            .services
            .timers
            .reset(id, crate::clock::after(crate::clock::now(), delay))
    }

    /// Declares (or with `None` removes) one of this channel's deadlines, as
    /// libevent's bufferevent timeouts: [`Deadline::Idle`] (nothing read or
    /// written), [`Deadline::Read`] (readable but nothing arrived),
    /// [`Deadline::Write`] (output waiting but nothing sent). When one passes
    /// the loop calls [`handle_timeout`](Dispatcher::handle_timeout) (default:
    /// a log line and `close`). Each send and receive stamps the pass's time
    /// ([`now`](Cx::now)), and each channel has one timer.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Dispatcher, EventLoop, Deadline}; struct Idle; impl Dispatcher for Idle {}
    /// use std::time::Duration;
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.create_socket(asyncore_loop::AF_INET, asyncore_loop::SOCK_DGRAM)?;
    /// cx.set_timeout(Deadline::Idle, Some(Duration::from_millis(5)));
    /// ev.run()?; // closed by the idle timeout
    /// assert!(ev.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_timeout(&mut self, kind: Deadline, after: Option<Duration>) {
        let now = crate::clock::now();
        let deadlines = self
            .ch
            .deadlines
            .get_or_insert_with(|| Box::new(Deadlines::new(now)));
        deadlines.set(kind, after, now);
        self.arm_first_deadline_check(now);
    }

    /// Caps how many accepted connections of this listener may be open at
    /// once (`None`: no cap). Past it, the default `handle_accept` hands
    /// newcomers to [`handle_refused`](Dispatcher::handle_refused).
    pub fn set_max_connections(&mut self, max: Option<u32>) {
        self.ch.max_children = max;
    }

    /// Whether accepting one more connection would pass this listener's cap
    /// or the loop's (see [`EventLoop::set_max_channels`](crate::EventLoop::set_max_channels)).
    pub fn at_capacity(&self) -> bool {
        let children = self.core.map.meta(self.token.index).children;
        self.ch.max_children.is_some_and(|max| children >= max)
            || self
                .core
                .accept
                .max_channels
                .is_some_and(|max| self.core.map.registered() >= max)
    }

    /// Asks the loop for a graceful shutdown within `grace`: listeners close
    /// at once, every other channel gets
    /// [`handle_shutdown`](Dispatcher::handle_shutdown) (default: close; an
    /// [`AsyncChat`](crate::chat::AsyncChat) closes when its output is sent),
    /// and whatever is still open at the deadline is closed. The loop then
    /// ends even if timers remain.
    pub fn shutdown(&mut self, grace: Duration) {
        self.core.services.request_shutdown(grace);
    }

    /// A [`Remote`] for this loop, to reach it from other threads.
    pub fn remote(&mut self) -> io::Result<Remote<S>> {
        self.core.services.remote().map(Remote::new)
    }

    /// asyncore's `log(message)`: `log: message`, never filtered.
    pub fn log(&self, message: &str) {
        // AC-LOG-1
        self.core.diag.log.log(message);
    }

    /// asyncore's `log_info(message, type)`: `type: message`, unless `type`
    /// is one of the channel's ignored types (default `{"warning"}`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{CaptureLog, Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let lines = CaptureLog::default();
    /// let mut ev = EventLoop::new();
    /// ev.set_log_sink(lines.clone());
    /// let mut cx = ev.add(Idle);
    /// cx.log("Lovely spam!");
    /// cx.log_info("shown", "info");
    /// cx.log_info("hidden", "warning");
    /// cx.set_ignore_log_types(&[]);
    /// cx.log_info("now shown", "warning");
    /// assert_eq!(lines.lines(), ["log: Lovely spam!", "info: shown", "warning: now shown"]);
    /// ```
    pub fn log_info(&self, message: &str, kind: &str) {
        // AC-LOG-2
        if !self.ch.ignores(kind) {
            self.core.diag.log.log_info(message, kind);
        }
    }

    /// The default `handle_error`'s line: channel,
    /// error and the handler that failed.
    // Spec: AC-ERR-1, AC-Q-18.
    pub(crate) fn log_uncaptured(&self, name: &str, err: &io::Error) {
        let line = format!(
            "uncaptured error, closing channel {} ({:?}:{} [{}])",
            self.describe(name),
            err.kind(),
            err,
            self.ch.handler_name.as_str()
        );
        self.log_info(&line, "error");
    }

    /// Replaces the channel's `ignore_log_types`.
    pub fn set_ignore_log_types(&mut self, kinds: &[&str]) {
        // AC-LOG-3
        self.ch.ignore_log_types = Some(kinds.iter().map(|k| k.to_string()).collect());
    }
}

/// Runs `f` with channel `token`'s dispatcher downcast to `D`.
pub(crate) fn with_dispatcher<S: 'static, D: Dispatcher<S>, R>(
    core: &mut LoopCore<S>,
    nursery: &mut Nursery<S>,
    token: Token,
    f: impl FnOnce(&mut D, &mut Cx<'_, S>) -> R,
) -> Option<R> {
    // A channel this Cx added joins the map first, so it can be reached.
    nursery.settle(core);
    let index = core.map.resolve(token)?;
    run(core, nursery, index, |disp, cx| {
        let any: &mut dyn Any = disp;
        any.downcast_mut::<D>().map(|d| f(d, cx))
    })
    .flatten()
}
