//! `EventLoop`: the channel map and the loop that services it. What one
//! pass does is written in `pass.rs`; this module holds the type and its
//! settings, `channels.rs` the map, `running.rs` the ways to run it and
//! `services.rs` timers, remote handles, signals and shutdown.

mod channels;
mod running;
mod services;

use crate::core::LoopCore;
use crate::cx::nursery::Nursery;
use crate::cx::Cx;
use crate::log::LogSink;
use crate::sys::Backend;
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
/// A loop may go on in both processes after `fork()` (a prefork server
/// whose children serve the listener the parent opened). At its next pass
/// the child's loop makes its own epoll instance, remote waker and signal
/// pipe, which would otherwise stay shared with the parent: each process
/// would be woken by the other's readiness and could take the other's
/// wake-ups and signals. Everything else is the child's copy: its channels
/// (their sockets shared with the parent, as after any fork), timers and
/// posted jobs. Use the child's remotes once its loop has made a pass.
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

    /// Puts the channels set-up `Cx`s hold back into their slots.
    pub(crate) fn settle(&mut self) {
        self.nursery.settle(&mut self.core);
    }

    /// The `Cx` of the loop's own channel (loop-level timers).
    pub(super) fn loop_cx(&mut self) -> Cx<'_, S> {
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
