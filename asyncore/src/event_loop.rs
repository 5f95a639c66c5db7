//! `EventLoop`: the channel map and the loop that services it. What one
//! pass does is written in `pass.rs`.

use crate::core::{entry, LoopCore};
use crate::cx::nursery::Nursery;
use crate::cx::{services::with_dispatcher, Cx};
use crate::deliver::{readwrite, wrapper, Routing, Which};
use crate::dispatcher::Dispatcher;
use crate::log::LogSink;
use crate::remote::Remote;
use crate::signals::Signals;
use crate::sys::Backend;
use crate::timer::TimerId;
use crate::token::Token;
use std::any::Any;
use std::io;
use std::time::Duration;

/// asyncore's default `loop()` timeout: 30 seconds per pass.
// Spec: AC-LOOP-1.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A channel map and the loop over it (asyncore's `map` plus `loop()`).
///
/// Channels are added with [`add`](EventLoop::add); the loop runs while the
/// map holds channels (a channel is in the map while it has an open socket or
/// descriptor). `S` is state shared by every handler, reached with
/// [`Cx::state`]. The backend (epoll by default) can be chosen at run time.
///
/// # Examples
///
/// An echo server and a client in one loop:
///
/// ```
/// use asyncore_loop::{Cx, Dispatcher, EventLoop, SendBuffer, View, AF_INET, SOCK_STREAM};
/// use socket2::{SockAddr, Socket};
/// use std::io;
///
/// #[derive(Default)]
/// struct EchoHandler { out: SendBuffer }
/// impl Dispatcher for EchoHandler {
///     fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
///         let data = cx.recv(8192)?;
///         if !data.is_empty() { self.out.send(cx, &data)?; }
///         Ok(())
///     }
///     fn writable(&self, ch: &View<'_>) -> bool { self.out.writable(ch) }
///     fn handle_write(&mut self, cx: &mut Cx<'_>) -> io::Result<()> { self.out.initiate_send(cx) }
///     fn handle_close(&mut self, cx: &mut Cx<'_>) -> io::Result<()> { cx.close() }
/// }
///
/// struct EchoServer;
/// impl Dispatcher for EchoServer {
///     fn handle_accepted(&mut self, cx: &mut Cx<'_>, sock: Socket, _: SockAddr) -> io::Result<()> {
///         cx.add(EchoHandler::default()).adopt(sock)?;
///         Ok(())
///     }
/// }
///
/// struct Client { out: Vec<u8>, got: Vec<u8> }
/// impl Dispatcher for Client {
///     fn handle_connect(&mut self, _: &mut Cx<'_>) -> io::Result<()> { Ok(()) }
///     fn writable(&self, _: &View<'_>) -> bool { !self.out.is_empty() }
///     fn handle_write(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
///         let n = cx.send(&self.out)?;
///         self.out.drain(..n);
///         Ok(())
///     }
///     fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
///         self.got.extend(cx.recv(8192)?);
///         if self.got == b"hello" { cx.stop(); }
///         Ok(())
///     }
/// }
///
/// let mut ev = EventLoop::new();
/// let mut server = ev.add(EchoServer);
/// server.create_socket(AF_INET, SOCK_STREAM)?;
/// server.set_reuse_addr();
/// server.bind("127.0.0.1:0")?;
/// server.listen(5)?;
/// let addr = server.socket()?.local_addr()?;
///
/// let mut client = ev.add(Client { out: b"hello".to_vec(), got: vec![] });
/// client.create_socket(AF_INET, SOCK_STREAM)?;
/// client.connect(addr)?;
/// ev.run_loop(Some(std::time::Duration::from_secs(5)), Some(100))?;
/// # Ok::<(), io::Error>(())
/// ```
pub struct EventLoop<S: 'static = ()> {
    pub(crate) core: LoopCore<S>,
    /// Readiness reports of the last wait.
    pub(crate) events: Vec<crate::sys::Event>,
    /// Channels a set-up `Cx` holds out of their slots until the loop is next used.
    pub(crate) nursery: Nursery<S>,
}

impl<S: 'static> std::fmt::Debug for EventLoop<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLoop")
            .field("backend", &self.core.poller.backend())
            .field("channels", &self.core.map.registered())
            .finish_non_exhaustive()
    }
}

impl Default for EventLoop<()> {
    fn default() -> Self {
        EventLoop::new()
    }
}

impl EventLoop<()> {
    /// An empty loop on the default backend (epoll), with no shared state.
    /// No system call is made until the first pass.
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = asyncore_loop::EventLoop::new();
    /// assert!(ev.is_empty());
    /// ```
    pub fn new() -> Self {
        EventLoop::with_state(())
    }
}

impl<S: 'static> EventLoop<S> {
    /// An empty loop whose handlers share `state` (through [`Cx::state`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = asyncore_loop::EventLoop::with_state(Vec::<String>::new());
    /// assert!(ev.state().is_empty());
    /// ```
    pub fn with_state(state: S) -> Self {
        EventLoop {
            core: LoopCore::new(state),
            events: Vec::new(),
            nursery: Nursery::default(),
        }
    }

    /// The same loop on another backend (builder form of [`set_backend`](EventLoop::set_backend)).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::{Backend, EventLoop};
    /// let ev = EventLoop::new().with_backend(Backend::Poll);
    /// assert_eq!(ev.backend(), Backend::Poll);
    /// ```
    pub fn with_backend(mut self, backend: Backend) -> Self {
        self.set_backend(backend);
        self
    }

    /// Switches backend; every channel's interest is asked again on the next pass.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::{Backend, EventLoop};
    /// let mut ev = EventLoop::new();
    /// ev.set_backend(Backend::Select);
    /// assert_eq!(ev.backend(), Backend::Select);
    /// ```
    pub fn set_backend(&mut self, backend: Backend) {
        self.settle();
        self.core.set_backend(backend);
    }

    /// The backend passes wait with.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(asyncore_loop::EventLoop::new().backend(), asyncore_loop::Backend::Epoll);
    /// ```
    pub fn backend(&self) -> Backend {
        self.core.poller.backend()
    }

    /// The shared state.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(*asyncore_loop::EventLoop::with_state(3).state(), 3);
    /// ```
    pub fn state(&self) -> &S {
        &self.core.state
    }

    /// The shared state, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ev = asyncore_loop::EventLoop::with_state(3);
    /// *ev.state_mut() += 1;
    /// assert_eq!(*ev.state(), 4);
    /// ```
    pub fn state_mut(&mut self) -> &mut S {
        &mut self.core.state
    }

    /// Where `log` and `log_info` lines go (default: the `log` facade).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ev = asyncore_loop::EventLoop::new();
    /// ev.set_log_sink(asyncore_loop::StdioLog);
    /// ```
    pub fn set_log_sink(&mut self, sink: impl LogSink + 'static) {
        self.core.diag.log = Box::new(sink);
    }

    /// Adds a channel and returns its [`Cx`], to attach a socket with
    /// `create_socket`/`set_socket`/`adopt` (asyncore's constructor). Until
    /// then the channel is not in the map.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::{Dispatcher, EventLoop, AF_INET, SOCK_DGRAM};
    /// struct Idle;
    /// impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.create_socket(AF_INET, SOCK_DGRAM)?;
    /// assert_eq!(ev.len(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    // Spec: AC-MAP-6.
    pub fn add<D: Dispatcher<S>>(&mut self, dispatcher: D) -> Cx<'_, S> {
        self.settle();
        let token = self.core.map.insert_lent();
        self.nursery.hold(&mut self.core, token, entry(dispatcher))
    }

    /// The [`Cx`] of a live channel, to call socket methods from outside the
    /// loop. The channel's interest is re-asked on the next pass.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let t = ev.add(Idle).token();
    /// assert!(!ev.channel(t).unwrap().connected());
    /// ```
    pub fn channel(&mut self, token: Token) -> Option<Cx<'_, S>> {
        self.settle();
        let index = self.core.map.resolve(token)?;
        let (taken, _) = self.core.map.lend(index)?;
        Some(self.nursery.hold(&mut self.core, token, taken))
    }

    /// Runs `f` on a channel's dispatcher (of type `D`) and its `Cx`; `None`
    /// if the token is stale or the type differs.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Dispatcher, EventLoop};
    /// struct Named(&'static str);
    /// impl Dispatcher for Named {}
    /// let mut ev = EventLoop::new();
    /// let t = ev.add(Named("a")).token();
    /// assert_eq!(ev.with(t, |n: &mut Named, _cx| n.0), Some("a"));
    /// ```
    pub fn with<D: Dispatcher<S>, R>(
        &mut self,
        token: Token,
        f: impl FnOnce(&mut D, &mut Cx<'_, S>) -> R,
    ) -> Option<R> {
        with_dispatcher(&mut self.core, &mut self.nursery, token, f)
    }

    /// A shared reference to a channel's dispatcher, if it is a `D`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Dispatcher, EventLoop};
    /// struct Named(&'static str);
    /// impl Dispatcher for Named {}
    /// let mut ev = EventLoop::new();
    /// let t = ev.add(Named("a")).token();
    /// assert_eq!(ev.dispatcher::<Named>(t).map(|n| n.0), Some("a"));
    /// ```
    pub fn dispatcher<D: Dispatcher<S>>(&self, token: Token) -> Option<&D> {
        let index = self.core.map.resolve(token)?;
        let entry = match self.nursery.get(index) {
            Some(held) => held,
            None => self.core.map.get(index)?,
        };
        let any: &dyn Any = &entry.disp;
        any.downcast_ref::<D>()
    }

    /// Whether `token` names a channel this loop still holds (open, or closed
    /// but not yet freed, or socketless).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let t = ev.add(Idle).token();
    /// assert!(ev.contains(t));
    /// ```
    pub fn contains(&self, token: Token) -> bool {
        self.core.map.resolve(token).is_some()
    }

    /// How many channels are in the map (have an open descriptor).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(asyncore_loop::EventLoop::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.core.map.registered()
    }

    /// Whether the map is empty (the loop would return at once).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(asyncore_loop::EventLoop::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `loop()` with asyncore's defaults on this loop's backend: passes of at
    /// most 30 s until the map is empty (and no timer is armed) or a handler
    /// stops the loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ev = asyncore_loop::EventLoop::new();
    /// ev.run()?; // an empty map returns at once
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn run(&mut self) -> io::Result<()> {
        self.run_loop(Some(DEFAULT_TIMEOUT), None)
    }

    /// asyncore's `loop(timeout, map=self, count)` on this loop's backend
    ///: passes while the map is non-empty **or a timer is
    /// armed** (the loop's rule), at most `count` of them; `timeout` bounds
    /// each pass's wait (`None`: no bound). Returns `Ok` when there is nothing
    /// left to wait for, the count is reached, a handler called [`Cx::stop`],
    /// a [`Remote`] stopped it, or a graceful shutdown completed; `Err` for
    /// [`ExitNow`](crate::ExitNow), an error from `handle_error`, or a failed
    /// wait.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {
    /// #   fn readable(&self, _: &asyncore_loop::View<'_>) -> bool { false }
    /// #   fn writable(&self, _: &asyncore_loop::View<'_>) -> bool { false } }
    /// use std::time::Duration;
    /// let mut ev = EventLoop::new();
    /// ev.add(Idle).create_socket(asyncore_loop::AF_INET, asyncore_loop::SOCK_DGRAM)?;
    /// ev.run_loop(Some(Duration::from_millis(1)), Some(3))?; // three idle passes
    /// # Ok::<(), std::io::Error>(())
    /// ```
    // Spec: AC-LOOP-3..5.
    pub fn run_loop(&mut self, timeout: Option<Duration>, count: Option<usize>) -> io::Result<()> {
        self.settle();
        self.core.pass.stop = false;
        let mut passes = 0usize;
        while count.is_none_or(|c| passes < c) && self.has_work() {
            self.poll(timeout)?;
            passes += 1;
            if std::mem::take(&mut self.core.pass.stop) {
                break;
            }
        }
        Ok(())
    }

    /// asyncore's `loop(timeout, use_poll, map=self, count)` with its own
    /// argument types: `timeout` in seconds (negative or NaN is an error,
    /// infinity waits forever), `use_poll` picks poll over select for this and
    /// later passes.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ev = asyncore_loop::EventLoop::new();
    /// ev.loop_(30.0, false, None)?;
    /// assert!(ev.loop_(-1.0, false, None).is_err()); // a negative timeout is refused
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn loop_(&mut self, timeout: f64, use_poll: bool, count: Option<usize>) -> io::Result<()> {
        let timeout = timeout_from_secs(timeout)?;
        self.set_backend(Backend::from_use_poll(use_poll));
        self.run_loop(timeout, count)
    }

    /// asyncore's `read(obj)` wrapper (select routing): `handle_read_event`,
    /// errors to `handle_error`, ExitNow returned.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::{Cx, Dispatcher, EventLoop};
    /// struct Fails;
    /// impl Dispatcher for Fails {
    ///     fn handle_read_event(&mut self, _: &mut Cx<'_>) -> std::io::Result<()> {
    ///         Err(std::io::Error::other("boom"))
    ///     }
    ///     fn handle_close(&mut self, _: &mut Cx<'_>) -> std::io::Result<()> { Ok(()) }
    /// }
    /// let mut ev = EventLoop::new();
    /// let t = ev.add(Fails).token();
    /// ev.read(t)?; // routed to the default handle_error, which logs and closes
    /// # Ok::<(), std::io::Error>(())
    /// ```
    // Spec: AC-SEL-7, AC-SEL-8.
    pub fn read(&mut self, token: Token) -> io::Result<()> {
        self.wrapper(token, Which::Read)
    }

    /// asyncore's `write(obj)` wrapper (select routing).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let t = ev.add(Idle).token();
    /// ev.write(t)?; // the default handle_write logs a (filtered) warning
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write(&mut self, token: Token) -> io::Result<()> {
        self.wrapper(token, Which::Write)
    }

    /// asyncore's `_exception(obj)` wrapper (select routing).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {
    /// #   fn handle_expt_event(&mut self, _: &mut asyncore_loop::Cx<'_>) -> std::io::Result<()> { Ok(()) } }
    /// let mut ev = EventLoop::new();
    /// let t = ev.add(Idle).token();
    /// ev.expt(t)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn expt(&mut self, token: Token) -> io::Result<()> {
        self.wrapper(token, Which::Expt)
    }

    fn wrapper(&mut self, token: Token, which: Which) -> io::Result<()> {
        self.settle();
        let Some(index) = self.core.map.resolve(token) else {
            return Ok(());
        };
        let r = wrapper(
            &mut self.core,
            &mut self.nursery,
            index,
            which,
            Routing::Select,
        );
        self.core.sweep_closed();
        r
    }

    /// asyncore's `readwrite(obj, flags)` (poll routing) with `poll(2)` bits
    /// such as [`POLLIN`](crate::POLLIN).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Cx, Dispatcher, EventLoop};
    /// struct Quiet;
    /// impl Dispatcher for Quiet {
    ///     fn handle_close(&mut self, cx: &mut Cx<'_>) -> std::io::Result<()> { cx.close() }
    /// }
    /// let mut ev = EventLoop::new();
    /// let t = ev.add(Quiet).token();
    /// ev.readwrite(t, asyncore_loop::POLLHUP)?; // hang-up: handle_close
    /// assert!(!ev.contains(t));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    // Spec: AC-POLL-6, AC-POLL-7.
    pub fn readwrite(&mut self, token: Token, flags: i16) -> io::Result<()> {
        self.settle();
        let Some(index) = self.core.map.resolve(token) else {
            return Ok(());
        };
        let r = readwrite(&mut self.core, &mut self.nursery, index, flags);
        self.core.sweep_closed();
        r
    }

    /// Runs `f` once after `delay`, on the loop thread, with the `Cx` of the
    /// loop's own (socketless) channel. Its error is logged. An armed timer
    /// keeps [`run`](EventLoop::run) going.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let mut ev = asyncore_loop::EventLoop::with_state(None);
    /// let start = Instant::now();
    /// ev.call_later(Duration::from_millis(20), |cx| { *cx.state() = Some(Instant::now()); Ok(()) });
    /// ev.run()?;
    /// assert!(ev.state().unwrap() - start >= Duration::from_millis(20)); // never early
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn call_later(
        &mut self,
        delay: Duration,
        f: impl FnOnce(&mut Cx<'_, S>) -> io::Result<()> + 'static,
    ) -> TimerId {
        self.loop_cx().call_later(delay, f)
    }

    /// Runs `f` every `interval` on the loop thread until cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut ev = asyncore_loop::EventLoop::with_state(0);
    /// let id = ev.call_every(Duration::from_millis(1), |cx| {
    ///     *cx.state() += 1;
    ///     if *cx.state() == 3 { cx.stop(); }
    ///     Ok(())
    /// });
    /// ev.run()?;
    /// assert!(ev.cancel_timer(id));
    /// assert_eq!(*ev.state(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn call_every(
        &mut self,
        interval: Duration,
        f: impl FnMut(&mut Cx<'_, S>) -> io::Result<()> + 'static,
    ) -> TimerId {
        self.loop_cx().call_every(interval, f)
    }

    /// Cancels a timer; false if it already fired (one-shot) or is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ev = asyncore_loop::EventLoop::new();
    /// let id = ev.call_later(std::time::Duration::from_secs(5), |_| Ok(()));
    /// assert!(ev.cancel_timer(id));
    /// ```
    pub fn cancel_timer(&mut self, id: TimerId) -> bool {
        self.settle();
        self.core.cancel_timer(id, None)
    }

    /// Moves a timer's next expiry to `delay` from now; false if it is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ev = asyncore_loop::EventLoop::new();
    /// let id = ev.call_later(std::time::Duration::from_secs(5), |_| Ok(()));
    /// assert!(ev.reset_timer(id, std::time::Duration::from_secs(1)));
    /// ```
    pub fn reset_timer(&mut self, id: TimerId, delay: Duration) -> bool {
        self.core
            .services
            .timers
            .reset(id, crate::clock::now() + delay)
    }

    /// A handle for other threads (`Send + Sync + Clone`): post work, wake,
    /// stop, shut down. See [`Remote`].
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ev = asyncore_loop::EventLoop::new();
    /// let remote = ev.remote()?;
    /// std::thread::spawn(move || remote.stop()).join().unwrap()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn remote(&mut self) -> io::Result<Remote<S>> {
        self.core.services.remote().map(Remote::new)
    }

    /// Runs `f` on the loop thread whenever `signal` (e.g. `libc::SIGTERM`)
    /// arrives, with the `Cx` of the loop's own channel. The signal's default
    /// action (such as terminating) no longer happens while the loop exists.
    /// Signals that cannot be caught (SIGKILL, SIGSTOP) or must not be
    /// (SIGSEGV, SIGILL, SIGFPE) give an error. When the loop is dropped its
    /// callbacks are removed, but the signal's default action is not
    /// restored: the signal is then ignored by this process.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut ev = asyncore_loop::EventLoop::new();
    /// ev.on_signal(libc::SIGTERM, |cx| { cx.shutdown(Duration::from_secs(5)); Ok(()) })?;
    /// assert!(ev.on_signal(libc::SIGKILL, |_| Ok(())).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on_signal(
        &mut self,
        signal: i32,
        f: impl FnMut(&mut Cx<'_, S>) -> io::Result<()> + 'static,
    ) -> io::Result<()> {
        let signals = &mut self.core.services.signals;
        if signals.is_none() {
            *signals = Some(Signals::new()?);
            self.core.poller.forget_signal_pipe();
        }
        match self.core.services.signals.as_mut() {
            Some(signals) => signals.add(signal, Box::new(f)),
            None => Ok(()),
        }
    }

    /// Whether a panic in a handler is caught (the default) and sent to
    /// that channel's `handle_error` — which closes it — while the loop and
    /// the other channels go on. With `false`, panics unwind out of the loop.
    /// Under `panic = "abort"` nothing can be caught: the process ends.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ev = asyncore_loop::EventLoop::new();
    /// ev.set_catch_panics(false);
    /// ```
    pub fn set_catch_panics(&mut self, catch: bool) {
        self.core.diag.catch_panics = catch;
    }

    /// Caps the number of channels in the map: past it, listeners hand new
    /// connections to [`handle_refused`](Dispatcher::handle_refused).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ev = asyncore_loop::EventLoop::new();
    /// ev.set_max_channels(Some(10_000));
    /// ```
    pub fn set_max_channels(&mut self, max: Option<usize>) {
        self.core.accept.max_channels = max;
    }

    /// Graceful shutdown, run to completion: listeners close, every other
    /// channel gets [`handle_shutdown`](Dispatcher::handle_shutdown), the loop
    /// runs until they have all closed, and whatever is left at `grace` is
    /// closed. [`close_all`](EventLoop::close_all) is the abrupt form.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// ev.add(Idle).create_socket(asyncore_loop::AF_INET, asyncore_loop::SOCK_DGRAM)?;
    /// ev.shutdown(std::time::Duration::from_secs(1))?;
    /// assert!(ev.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&mut self, grace: Duration) -> io::Result<()> {
        self.core.services.request_shutdown(grace);
        self.run_loop(Some(DEFAULT_TIMEOUT), None)
    }

    /// asyncore's `close_all(map, ignore_all)`: closes every
    /// channel in the map, in map order, with `close()` (not `handle_close`),
    /// and empties the map. A close error other than EBADF is returned unless
    /// `ignore_all`; the channels are closed and removed either way.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// ev.add(Idle).create_socket(asyncore_loop::AF_INET, asyncore_loop::SOCK_STREAM)?;
    /// ev.close_all(false)?;
    /// assert!(ev.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    // Spec: AC-CLOSE-4, AC-Q-14.
    pub fn close_all(&mut self, ignore_all: bool) -> io::Result<()> {
        self.settle();
        let mut order = Vec::new();
        self.core.map.order_snapshot(&mut order);
        let mut first_error = None;
        for (index, _) in order {
            match self.core.close_index(index) {
                Err(e) if e.raw_os_error() != Some(libc::EBADF) && !ignore_all => {
                    first_error.get_or_insert(e);
                }
                _ => {}
            }
        }
        self.core.sweep_closed();
        first_error.map_or(Ok(()), Err)
    }

    /// Puts the channels set-up `Cx`s hold back into their slots.
    pub(crate) fn settle(&mut self) {
        self.nursery.settle(&mut self.core);
    }

    /// The `Cx` of the loop's own channel (loop-level timers).
    fn loop_cx(&mut self) -> Cx<'_, S> {
        self.settle();
        let (token, entry) = self.core.lend_loop_channel();
        self.nursery.hold(&mut self.core, token, entry)
    }
}

/// Seconds as asyncore takes them, checked: negative or NaN is an error
///; infinity means "wait forever" (`None`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// assert_eq!(asyncore_loop::timeout_from_secs(0.5)?, Some(Duration::from_millis(500)));
/// assert_eq!(asyncore_loop::timeout_from_secs(f64::INFINITY)?, None);
/// assert!(asyncore_loop::timeout_from_secs(-0.1).is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
// Spec: AC-Q-3, AC-Q-5.
pub fn timeout_from_secs(secs: f64) -> io::Result<Option<Duration>> {
    if secs.is_nan() || secs < 0.0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("timeout must be non-negative, got {secs}"),
        ));
    }
    if secs.is_infinite() {
        return Ok(None);
    }
    Ok(Some(
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX),
    ))
}
