//! `Cx`: what a handler can do. It is the channel's socket (asyncore's
//! `self.send`, `self.recv`, `self.connect` ...), its flags, and the loop
//! around it (add channels, reach other channels, stop, log).

use crate::channel::{closed_error, Channel, Io};
use crate::deadline::{Deadlines, Timeout};
use crate::dispatcher::Dispatcher;
use crate::file::FileWrapper;
use crate::loop_core::{LoopCore, TimerAction, MAX_ACCEPT_BACKOFF, MIN_ACCEPT_BACKOFF};
use crate::net::{describe_addr, is_disconnected, ToSockAddr};
use crate::remote::Remote;
use crate::sys::{fd, Backend};
use crate::timer::TimerId;
use crate::token::Token;
use crate::view::View;
use socket2::{Domain, SockAddr, Socket, Type};
use std::any::Any;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

/// At most this many waiting connections are shed per EMFILE event.
const SHED_PER_EVENT: usize = 64;

/// Consecutive write events without a byte sent before the busy-loop warning.
pub(crate) const BUSY_WRITE_EVENTS: u32 = 1000;

/// A handler's view of its channel and of the loop.
///
/// Every handler of a [`Dispatcher`] gets one. Socket methods keep asyncore's
/// names and semantics (`send` returns 0 on would-block, `recv` returns an
/// empty buffer at end of stream, ...), with one rule added: **no user handler
/// is ever called from inside a `Cx` method**. Where asyncore's `send` or
/// `recv` would call `handle_close` on the spot, the loop calls it right after
/// the current handler returns; a connect that completes at once is reported by
/// the loop on the next readiness, like any other.
///
/// Outside the loop, [`EventLoop::add`](crate::EventLoop::add) and
/// [`EventLoop::channel`](crate::EventLoop::channel) give a `Cx` too, so a
/// channel can be set up before the loop runs, as asyncore's constructors do.
///
/// # Examples
///
/// ```
/// use asyncore::{Cx, Dispatcher, EventLoop, AF_INET, SOCK_STREAM};
///
/// struct Server;
/// impl Dispatcher for Server {}
///
/// let mut ev = EventLoop::new();
/// let mut cx = ev.add(Server);
/// cx.create_socket(AF_INET, SOCK_STREAM)?;
/// cx.set_reuse_addr();
/// cx.bind("127.0.0.1:0")?;
/// cx.listen(5)?;
/// assert!(cx.accepting());
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Cx<'a, S: 'static = ()> {
    pub(crate) core: &'a mut LoopCore<S>,
    pub(crate) index: u32,
}

impl<S: 'static> std::fmt::Debug for Cx<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe("Cx"))
    }
}

impl<'a, S: 'static> Cx<'a, S> {
    pub(crate) fn new(core: &'a mut LoopCore<S>, index: u32) -> Self {
        Cx { core, index }
    }

    fn ch(&self) -> &Channel {
        self.core.ch(self.index)
    }

    fn ch_mut(&mut self) -> &mut Channel {
        self.core.ch_mut(self.index)
    }

    // ---- identity and flags ------------------------------------------------

    /// This channel's token.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let t = ev.add(Idle).token();
    /// assert!(ev.contains(t));
    /// ```
    pub fn token(&self) -> Token {
        self.core.map.token(self.index)
    }

    /// asyncore's `connected`: the stream is established.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// assert!(!ev.add(Idle).connected());
    /// ```
    pub fn connected(&self) -> bool {
        self.ch().connected
    }

    /// asyncore's `accepting`: `listen()` was called.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// assert!(!ev.add(Idle).accepting());
    /// ```
    pub fn accepting(&self) -> bool {
        self.ch().accepting
    }

    /// asyncore's `connecting`: a non-blocking connect is outstanding.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// assert!(!ev.add(Idle).connecting());
    /// ```
    pub fn connecting(&self) -> bool {
        self.ch().connecting
    }

    /// asyncore's `closing`: a flag for the application; the library never reads it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.set_closing(true);
    /// assert!(cx.closing());
    /// ```
    pub fn closing(&self) -> bool {
        self.ch().closing
    }

    /// Sets the `closing` flag.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// # let mut ev = EventLoop::new();
    /// ev.add(Idle).set_closing(false);
    /// ```
    pub fn set_closing(&mut self, closing: bool) {
        self.ch_mut().closing = closing;
    }

    /// asyncore's `debug` flag (used by [`SendBuffer`](crate::SendBuffer)).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// # let mut ev = EventLoop::new();
    /// assert!(!ev.add(Idle).debug());
    /// ```
    pub fn debug(&self) -> bool {
        self.ch().debug
    }

    /// Sets the `debug` flag.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// # let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.set_debug(true);
    /// assert!(cx.debug());
    /// ```
    pub fn set_debug(&mut self, debug: bool) {
        self.ch_mut().debug = debug;
    }

    /// asyncore's `addr`: the address given to `bind`/`connect`, or the peer
    /// of an adopted socket. Kept after `close` (AC-Q-13).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// assert!(cx.addr().is_none());
    /// cx.create_socket(asyncore::AF_INET, asyncore::SOCK_STREAM)?;
    /// cx.bind("127.0.0.1:0")?;
    /// assert!(cx.addr().is_some());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn addr(&self) -> Option<&SockAddr> {
        self.ch().addr.as_deref()
    }

    /// Whether `close()` has run (and no socket was attached since).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.close()?;
    /// assert!(cx.is_closed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_closed(&self) -> bool {
        self.ch().is_closed()
    }

    /// Whether the channel is in the map (has a descriptor and is not closed).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// assert!(!cx.is_registered()); // no socket yet (AC-MAP-6)
    /// cx.create_socket(asyncore::AF_INET, asyncore::SOCK_DGRAM)?;
    /// assert!(cx.is_registered());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_registered(&self) -> bool {
        self.ch().reg != 0
    }

    /// The descriptor, while one is attached.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// assert_eq!(cx.fileno(), None);
    /// cx.create_socket(asyncore::AF_INET, asyncore::SOCK_DGRAM)?;
    /// assert!(cx.fileno().is_some());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn fileno(&self) -> Option<RawFd> {
        self.ch().io.fd()
    }

    /// The attached socket, for options and calls asyncore leaves to the
    /// socket object (`MSG_OOB`, `shutdown`, `local_addr` ...).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.create_socket(asyncore::AF_INET, asyncore::SOCK_STREAM)?;
    /// cx.bind("127.0.0.1:0")?;
    /// let port = cx.socket()?.local_addr()?.as_socket().unwrap().port();
    /// assert_ne!(port, 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn socket(&self) -> io::Result<&Socket> {
        self.ch().socket()
    }

    /// A read-only view of this channel and the loop: what
    /// [`readable`](Dispatcher::readable) and [`writable`](Dispatcher::writable) see.
    pub fn view(&self) -> View<'_, S> {
        View::new(self.ch(), self.token(), self.core.backend, &self.core.state)
    }

    /// The name of the handler now running (for log lines).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// assert_eq!(ev.add(Idle).handler(), "");
    /// ```
    pub fn handler(&self) -> &'static str {
        self.core.handler
    }

    /// The backend the loop waits with.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Backend, Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// assert_eq!(ev.add(Idle).backend(), Backend::Epoll);
    /// ```
    pub fn backend(&self) -> Backend {
        self.core.backend
    }

    /// A text form in the spirit of asyncore's `repr` (AC-DISP-7):
    /// `<name [listening|connected] [addr] #token>`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// assert_eq!(ev.add(Idle).describe("Idle"), "<Idle #0.0>");
    /// ```
    pub fn describe(&self, name: &str) -> String {
        let ch = self.ch();
        let mut s = format!("<{name}");
        if ch.accepting && ch.addr.is_some() {
            s.push_str(" listening");
        } else if ch.connected {
            s.push_str(" connected");
        }
        if let Some(a) = ch.addr.as_deref() {
            s.push(' ');
            s.push_str(&describe_addr(a));
        }
        s.push_str(&format!(" {}>", self.token()));
        s
    }

    // ---- socket set-up -----------------------------------------------------

    /// asyncore's `create_socket(family, type)` (AC-SOCK-1): a new
    /// non-blocking, close-on-exec socket, attached and put in the map.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// ev.add(Idle).create_socket(asyncore::AF_INET6, asyncore::SOCK_STREAM)?;
    /// assert_eq!(ev.len(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn create_socket(&mut self, family: Domain, ty: Type) -> io::Result<()> {
        let sock = Socket::new(family, ty, None)?;
        sock.set_nonblocking(true)?;
        self.attach_socket(sock);
        Ok(())
    }

    /// asyncore's `set_socket(sock)` (AC-SOCK-2): attaches an existing socket
    /// and puts the channel in the map. The socket is made non-blocking, since
    /// a blocking one would stall the whole loop.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let sock = socket2::Socket::new(asyncore::AF_INET, asyncore::SOCK_DGRAM, None)?;
    /// let mut ev = EventLoop::new();
    /// ev.add(Idle).set_socket(sock)?;
    /// assert_eq!(ev.len(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_socket(&mut self, sock: Socket) -> io::Result<()> {
        sock.set_nonblocking(true)?;
        self.attach_socket(sock);
        Ok(())
    }

    fn attach_socket(&mut self, sock: Socket) {
        let datagram = sock.r#type().is_ok_and(|t| t == Type::DGRAM);
        self.core.attach(self.index, Io::Socket(sock));
        self.ch_mut().datagram = datagram;
    }

    /// asyncore's `dispatcher(sock)` constructor (AC-DISP-3): adopts a socket
    /// such as one from [`accept`](Cx::accept). The channel is registered and
    /// `connected`, with the peer as `addr`; an unconnected socket (ENOTCONN,
    /// EINVAL) stays registered but not connected. Any other failure closes the
    /// channel and is returned.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let (a, _b) = socket2::Socket::pair(asyncore::AF_UNIX, asyncore::SOCK_STREAM, None)?;
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.adopt(a)?;
    /// assert!(cx.connected());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn adopt(&mut self, sock: Socket) -> io::Result<Token> {
        self.set_socket(sock)?;
        self.ch_mut().connected = true;
        let peer = self.socket().and_then(|s| s.peer_addr());
        match peer {
            Ok(addr) => self.ch_mut().addr = Some(Box::new(addr)),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTCONN | libc::EINVAL)) => {
                self.ch_mut().connected = false;
            }
            Err(e) => {
                let _ = self.close();
                return Err(e);
            }
        }
        Ok(self.token())
    }

    /// asyncore's `file_dispatcher(fd)` (AC-FILE-6): wraps a duplicate of `fd`
    /// (a pipe, a terminal, a file), marks the channel connected and puts it in
    /// the map. The **original** descriptor is made non-blocking too: a
    /// duplicate shares its open file description (AC-Q-16).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let (r, _w) = std::io::pipe()?;
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.set_file(&r)?;
    /// assert!(cx.connected());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_file(&mut self, file: &impl AsRawFd) -> io::Result<Token> {
        let original = file.as_raw_fd();
        let wrapper = FileWrapper::new(original)?;
        fd::set_nonblocking(original)?;
        self.core.attach(self.index, Io::File(wrapper));
        self.ch_mut().connected = true;
        Ok(self.token())
    }

    /// asyncore's `set_reuse_addr()` (AC-SOCK-3): SO_REUSEADDR on; errors are
    /// ignored, as in asyncore.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.create_socket(asyncore::AF_INET, asyncore::SOCK_STREAM)?;
    /// cx.set_reuse_addr();
    /// assert!(cx.socket()?.reuse_address()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_reuse_addr(&mut self) {
        if let Ok(sock) = self.socket() {
            let _ = sock.set_reuse_address(true);
        }
    }

    /// asyncore's `bind(address)` (AC-SOCK-4): records `addr`, then binds.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.create_socket(asyncore::AF_INET, asyncore::SOCK_STREAM)?;
    /// cx.bind(("127.0.0.1", 0))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind(&mut self, address: impl ToSockAddr) -> io::Result<()> {
        let domain = self.socket()?.domain().ok();
        let addr = address.to_sock_addr(domain)?;
        self.ch_mut().addr = Some(Box::new(addr.clone()));
        self.socket()?.bind(&addr)
    }

    /// asyncore's `listen(backlog)` (AC-SOCK-5): sets `accepting`, then listens.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.create_socket(asyncore::AF_INET, asyncore::SOCK_STREAM)?;
    /// cx.bind("127.0.0.1:0")?;
    /// cx.listen(128)?;
    /// assert!(cx.accepting());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn listen(&mut self, backlog: i32) -> io::Result<()> {
        self.ch_mut().accepting = true;
        self.socket()?.listen(backlog)?;
        if self.core.reserve_fd.is_none() {
            // The spare descriptor that lets accept shed a connection on EMFILE.
            self.core.reserve_fd = std::fs::File::open("/dev/null").ok();
        }
        self.core.mark_dirty(self.index);
        Ok(())
    }

    /// asyncore's `connect(address)` (AC-CONN-1, AC-CONN-2): starts a
    /// non-blocking connect. `connecting` is set; completion (or failure) is
    /// reported by the loop on the channel's first read or write readiness,
    /// through `handle_connect` (or `handle_error`). An immediate failure is
    /// returned, with `connecting` reset (AC-Q-9).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.create_socket(asyncore::AF_INET, asyncore::SOCK_STREAM)?;
    /// cx.connect(listener.local_addr()?)?;
    /// assert!(cx.connecting());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect(&mut self, address: impl ToSockAddr) -> io::Result<()> {
        let domain = self.socket()?.domain().ok();
        let addr = address.to_sock_addr(domain)?;
        let ch = self.ch_mut();
        ch.connected = false;
        ch.connecting = true;
        let result = self.socket()?.connect(&addr);
        match result {
            Ok(()) => {}
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || matches!(
                        e.raw_os_error(),
                        Some(libc::EINPROGRESS | libc::EALREADY | libc::EISCONN)
                    ) => {}
            Err(e) => {
                self.ch_mut().connecting = false;
                return Err(e);
            }
        }
        self.ch_mut().addr = Some(Box::new(addr));
        self.core.mark_dirty(self.index);
        Ok(())
    }

    /// asyncore's `accept()` (AC-ACC-1): one accepted connection, as a raw
    /// blocking socket and its peer address, or `None` when there is nothing
    /// to accept (would-block, ECONNABORTED).
    ///
    /// Running out of descriptors (EMFILE, ENFILE, ENOBUFS, ENOMEM) also gives
    /// `None` and never closes the listener (AC-Q-11): the loop frees a spare
    /// descriptor, accepts the waiting connection and closes it at once, so
    /// the peer is told instead of left hanging (up to 64 waiting connections
    /// per event), then stops watching the listener for a back-off (10 ms,
    /// doubling up to 1 s while the episode lasts, ended early when any
    /// channel closes), so the loop does not spin. One warning is logged per
    /// episode.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.create_socket(asyncore::AF_INET, asyncore::SOCK_STREAM)?;
    /// cx.bind("127.0.0.1:0")?;
    /// cx.listen(5)?;
    /// assert!(cx.accept()?.is_none()); // nobody is connecting
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accept(&mut self) -> io::Result<Option<(Socket, SockAddr)>> {
        let result = self.socket()?.accept();
        match result {
            Ok(pair) => {
                self.core.fds_exhausted = false;
                self.core.accept_backoff = MIN_ACCEPT_BACKOFF;
                Ok(Some(pair))
            }
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.raw_os_error() == Some(libc::ECONNABORTED) =>
            {
                Ok(None)
            }
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
                ) =>
            {
                self.shed_connection(&e);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn shed_connection(&mut self, err: &io::Error) {
        if !self.core.fds_exhausted {
            self.core.fds_exhausted = true;
            let msg = format!(
                "accept on {} failed: {err}; closing new connections until descriptors free up",
                self.describe("listener")
            );
            self.core.log.log_info("warning", &msg);
        }
        // Close the waiting connections through the spare descriptor, so
        // their peers are told at once instead of left hanging.
        for _ in 0..SHED_PER_EVENT {
            let Some(spare) = self.core.reserve_fd.take() else {
                break;
            };
            drop(spare);
            let accepted = self.socket().and_then(|s| s.accept());
            drop(accepted);
            self.core.reserve_fd = std::fs::File::open("/dev/null").ok();
            if self.core.reserve_fd.is_none() {
                break;
            }
        }
        // Then stop watching the listener for a while rather than spin on
        // it; any channel closing (freeing a descriptor) ends the pause early.
        let backoff = self.core.accept_backoff;
        self.core.accept_backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
        if !self.ch().accept_paused {
            self.ch_mut().accept_paused = true;
            let token = self.token();
            self.core.paused_listeners.push(token);
            self.core
                .add_timer(self.index, backoff, None, TimerAction::ResumeAccept);
            self.core.mark_dirty(self.index);
        }
    }

    // ---- data ------------------------------------------------------------------

    /// asyncore's `send(data)` (AC-IO-1): one OS send; returns the bytes the OS
    /// took. Would-block is `Ok(0)`. A DISCONNECTED error is `Ok(0)` too, and
    /// the loop calls `handle_close` once the current handler returns. Never
    /// raises SIGPIPE (`MSG_NOSIGNAL`, AC-IO-5).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let (a, b) = socket2::Socket::pair(asyncore::AF_UNIX, asyncore::SOCK_STREAM, None)?;
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.adopt(a)?;
    /// assert_eq!(cx.send(b"hi")?, 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send(&mut self, data: &[u8]) -> io::Result<usize> {
        let result = match &self.ch().io {
            Io::Socket(s) => fd::send(s.as_raw_fd(), data, libc::MSG_NOSIGNAL),
            Io::File(f) => fd::write(f.as_raw_fd(), data),
            Io::None => Err(no_socket()),
            Io::Closed => Err(closed_error()),
        };
        match result {
            Ok(n) => {
                self.core.sent_total += n as u64;
                if let (Some(d), true) = (self.ch_mut().deadlines.as_mut(), n > 0) {
                    d.last_write = Instant::now();
                }
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            Err(e) if is_disconnected(&e) => {
                self.owe_close();
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    /// asyncore's `recv(n)` (AC-IO-2): one OS receive of at most `n` bytes.
    /// An empty result means end of stream (or a DISCONNECTED error): the
    /// loop calls `handle_close` once the current handler returns. Would-block
    /// is `Err(WouldBlock)`, never confused with end of stream; a handler may
    /// pass it on with `?`, and the loop then simply waits for the next
    /// readiness (AC-Q-10). On a datagram socket an empty datagram is data.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// use std::io::Write;
    /// let (a, b) = std::os::unix::net::UnixStream::pair()?;
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.adopt(a.into())?;
    /// (&b).write_all(b"hello")?;
    /// assert_eq!(cx.recv(8192)?, b"hello");
    /// assert_eq!(cx.recv(8192).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv(&mut self, n: usize) -> io::Result<Vec<u8>> {
        self.recv_with(n, |data| data.to_vec())
    }

    /// `recv` into the loop's shared receive buffer, handing the bytes to `f`
    /// without allocating (empty at end of stream, handled as in
    /// [`recv`](Cx::recv)).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// use std::io::Write;
    /// let (a, b) = std::os::unix::net::UnixStream::pair()?;
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.adopt(a.into())?;
    /// (&b).write_all(b"hello")?;
    /// assert_eq!(cx.recv_with(8192, |data| data.len())?, 5);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv_with<R>(&mut self, n: usize, f: impl FnOnce(&[u8]) -> R) -> io::Result<R> {
        let mut buf = std::mem::take(&mut self.core.scratch);
        if buf.len() < n {
            buf.resize(n, 0);
        }
        let result = self.recv_into(&mut buf[..n]).map(|got| f(&buf[..got]));
        self.core.scratch = buf;
        result
    }

    /// `recv` into a caller's buffer, with no allocation: `Ok(0)` is end of
    /// stream (for a non-empty `buf`), handled as in [`recv`](Cx::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let (a, b) = std::os::unix::net::UnixStream::pair()?;
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.adopt(a.into())?;
    /// drop(b);
    /// let mut buf = [0u8; 64];
    /// assert_eq!(cx.recv_into(&mut buf)?, 0); // end of stream
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv_into(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = match &self.ch().io {
            Io::Socket(s) => fd::recv(s.as_raw_fd(), buf),
            Io::File(f) => fd::read(f.as_raw_fd(), buf),
            Io::None => Err(no_socket()),
            Io::Closed => Err(closed_error()),
        };
        match result {
            Ok(0) if !buf.is_empty() && !self.ch().datagram => {
                self.owe_close();
                Ok(0)
            }
            Ok(n) => {
                if let Some(d) = self.ch_mut().deadlines.as_mut() {
                    d.last_read = Instant::now();
                }
                Ok(n)
            }
            Err(e) if is_disconnected(&e) => {
                self.owe_close();
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    /// `sendto` for datagram channels: one datagram to `address`; would-block is `Ok(0)`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let peer = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.create_socket(asyncore::AF_INET, asyncore::SOCK_DGRAM)?;
    /// assert_eq!(cx.sendto(b"ping", peer.local_addr()?)?, 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn sendto(&mut self, data: &[u8], address: impl ToSockAddr) -> io::Result<usize> {
        let sock = self.socket()?;
        let addr = address.to_sock_addr(sock.domain().ok())?;
        match sock.send_to_with_flags(data, &addr, libc::MSG_NOSIGNAL) {
            Ok(n) => {
                self.core.sent_total += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// `recvfrom` for datagram channels: one datagram (possibly empty, which
    /// is data, not a close) of at most `n` bytes and its sender.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.create_socket(asyncore::AF_INET, asyncore::SOCK_DGRAM)?;
    /// cx.bind("127.0.0.1:0")?;
    /// let me = cx.socket()?.local_addr()?.as_socket().unwrap();
    /// std::net::UdpSocket::bind("127.0.0.1:0")?.send_to(b"", me)?;
    /// let (data, _from) = cx.recvfrom(100)?;
    /// assert!(data.is_empty() && !cx.is_closed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recvfrom(&mut self, n: usize) -> io::Result<(Vec<u8>, SockAddr)> {
        fd::recv_from(self.socket()?, n)
    }

    /// asyncore's `close()` (AC-CLOSE-1, AC-CLOSE-2): clears `connected`,
    /// `accepting` and `connecting`, leaves the map and closes the descriptor.
    /// Idempotent. The loop frees the channel between passes unless a new
    /// socket is attached first (a reconnecting client may do that).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.create_socket(asyncore::AF_INET, asyncore::SOCK_STREAM)?;
    /// cx.close()?;
    /// cx.close()?;
    /// assert_eq!(ev.len(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn close(&mut self) -> io::Result<()> {
        self.core.close(self.index)
    }

    /// The pending socket error (SO_ERROR, which reading clears), if any.
    /// File channels never have one (AC-FILE-3).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.create_socket(asyncore::AF_INET, asyncore::SOCK_STREAM)?;
    /// assert!(cx.socket_error()?.is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn socket_error(&self) -> io::Result<Option<io::Error>> {
        match &self.ch().io {
            Io::File(_) => Ok(None),
            _ => self.socket()?.take_error(),
        }
    }

    // ---- the loop ------------------------------------------------------------------

    /// Adds a new channel to this loop and returns its `Cx`, to attach a
    /// socket (asyncore's constructor). A channel added during a pass gets
    /// events from the next pass (AC-LOOP-10).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore::{Cx, Dispatcher, EventLoop};
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
        let parent = self.ch().accepting.then(|| self.token());
        let token = self.core.insert(Box::new(dispatcher));
        if parent.is_some() {
            self.ch_mut().children += 1;
            self.core.ch_mut(token.index).parent = parent;
        }
        Cx::new(self.core, token.index)
    }

    /// Runs `f` on another channel's dispatcher (of type `D`) and its `Cx`;
    /// `None` if the token is stale, the type differs, or it is the channel
    /// whose handler is running. The channel's interest is re-asked afterwards.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore::{Dispatcher, EventLoop};
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
        with_dispatcher(self.core, token, f)
    }

    /// Asks the loop to re-ask `token`'s `readable()`/`writable()` before the
    /// next wait. Needed on epoll when a channel's interest depends on state
    /// another channel changed (the select and poll backends ask every pass).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let other = ev.add(Idle).token();
    /// ev.add(Idle).touch(other);
    /// ```
    pub fn touch(&mut self, token: Token) {
        if let Some(index) = self.core.map.resolve(token) {
            self.core.mark_dirty(index);
        }
    }

    /// The loop's shared state.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher<u32> for Idle {}
    /// let mut ev = EventLoop::with_state(7u32);
    /// assert_eq!(*ev.add(Idle).state(), 7);
    /// ```
    pub fn state(&mut self) -> &mut S {
        &mut self.core.state
    }

    /// Stops the loop at the end of the current pass, with `Ok(())`; the map
    /// is left as it is. (`Err(ExitNow.into())` stops at once instead.)
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore::{Cx, Dispatcher, EventLoop};
    /// struct Once;
    /// impl Dispatcher for Once {
    ///     fn handle_write(&mut self, cx: &mut Cx<'_>) -> std::io::Result<()> {
    ///         cx.stop();
    ///         Ok(())
    ///     }
    /// }
    /// let mut ev = EventLoop::new();
    /// ev.add(Once).create_socket(asyncore::AF_INET, asyncore::SOCK_DGRAM)?;
    /// ev.run()?;
    /// assert_eq!(ev.len(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stop(&mut self) {
        self.core.stop = true;
    }

    // ---- timers and loop services ------------------------------------------------

    /// Runs `f` once after `delay`, with this channel's `Cx` (never earlier;
    /// the wait rounds up). The timer belongs to this channel: it is
    /// cancelled when the channel closes. An error from `f` goes to the
    /// channel's `handle_error`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// use std::time::Duration;
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.create_socket(asyncore::AF_INET, asyncore::SOCK_DGRAM)?;
    /// cx.call_later(Duration::from_millis(1), |cx| cx.close());
    /// ev.run()?; // the timer closes the only channel
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn call_later(
        &mut self,
        delay: Duration,
        f: impl FnOnce(&mut Cx<'_, S>) -> io::Result<()> + 'static,
    ) -> TimerId {
        let mut f = Some(f);
        let once = move |cx: &mut Cx<'_, S>| f.take().map_or(Ok(()), |f| f(cx));
        self.core.add_timer(
            self.index,
            delay,
            None,
            TimerAction::Callback(Some(Box::new(once))),
        )
    }

    /// Runs `f` every `interval` (first after one interval) until cancelled
    /// or the channel closes. A timer that falls behind skips ahead rather
    /// than firing in a burst.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher<u32> for Idle {}
    /// use std::time::Duration;
    /// let mut ev = EventLoop::with_state(0u32);
    /// let mut cx = ev.add(Idle);
    /// cx.create_socket(asyncore::AF_INET, asyncore::SOCK_DGRAM)?;
    /// cx.call_every(Duration::from_millis(1), |cx| {
    ///     *cx.state() += 1;
    ///     if *cx.state() == 3 { cx.close()?; }
    ///     Ok(())
    /// });
    /// ev.run()?;
    /// assert_eq!(*ev.state(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn call_every(
        &mut self,
        interval: Duration,
        f: impl FnMut(&mut Cx<'_, S>) -> io::Result<()> + 'static,
    ) -> TimerId {
        self.core.add_timer(
            self.index,
            interval,
            Some(interval),
            TimerAction::Callback(Some(Box::new(f))),
        )
    }

    /// Arms a timer that calls this channel's
    /// [`handle_timer`](Dispatcher::handle_timer) once after `delay`, or
    /// every `delay` if `repeat`; cancelled when the channel closes.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore::{Cx, Dispatcher, EventLoop, TimerId, View};
    /// use std::time::Duration;
    /// struct Ticker { ticks: u32 }
    /// impl Dispatcher for Ticker {
    ///     fn readable(&self, _: &View<'_>) -> bool { false }
    ///     fn writable(&self, _: &View<'_>) -> bool { false }
    ///     fn handle_timer(&mut self, cx: &mut Cx<'_>, _id: TimerId) -> std::io::Result<()> {
    ///         self.ticks += 1;
    ///         if self.ticks == 2 { cx.close()?; }
    ///         Ok(())
    ///     }
    /// }
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Ticker { ticks: 0 });
    /// cx.create_socket(asyncore::AF_INET, asyncore::SOCK_DGRAM)?;
    /// cx.start_timer(Duration::from_millis(1), true);
    /// ev.run()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start_timer(&mut self, delay: Duration, repeat: bool) -> TimerId {
        let interval = repeat.then_some(delay);
        self.core
            .add_timer(self.index, delay, interval, TimerAction::Handler)
    }

    /// Cancels a timer (of any channel, or of the loop); false if it already
    /// fired (one-shot) or was cancelled. O(log n).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// use std::time::Duration;
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// let id = cx.call_later(Duration::from_secs(9), |_| Ok(()));
    /// assert!(cx.cancel_timer(id));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn cancel_timer(&mut self, id: TimerId) -> bool {
        self.core.cancel_timer(id)
    }

    /// Moves a timer's next expiry to `delay` from now; false if it is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// use std::time::Duration;
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// let id = cx.call_later(Duration::from_secs(9), |_| Ok(()));
    /// assert!(cx.reset_timer(id, Duration::from_secs(1)));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reset_timer(&mut self, id: TimerId, delay: Duration) -> bool {
        self.core.reset_timer(id, delay)
    }

    /// Declares (or with `None` removes) one of this channel's deadlines, as
    /// libevent's bufferevent timeouts: [`Timeout::Idle`] (nothing read or
    /// written), [`Timeout::Read`] (readable but nothing arrived),
    /// [`Timeout::Write`] (output waiting but nothing sent). When one passes
    /// the loop calls [`handle_timeout`](Dispatcher::handle_timeout) (default:
    /// a log line and `close`). Costs one clock read per send/receive, and one
    /// timer per channel.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop, Timeout}; struct Idle; impl Dispatcher for Idle {}
    /// use std::time::Duration;
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.create_socket(asyncore::AF_INET, asyncore::SOCK_DGRAM)?;
    /// cx.set_timeout(Timeout::Idle, Some(Duration::from_millis(5)));
    /// ev.run()?; // closed by the idle timeout
    /// assert!(ev.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_timeout(&mut self, kind: Timeout, after: Option<Duration>) {
        let now = Instant::now();
        let ch = self.ch_mut();
        let deadlines = ch
            .deadlines
            .get_or_insert_with(|| Box::new(Deadlines::new(now)));
        deadlines.set(kind, after);
        let (any, timer) = (deadlines.any(), deadlines.timer.take());
        if let Some(id) = timer {
            self.core.cancel_timer(id);
        }
        if !any {
            self.ch_mut().deadlines = None;
            return;
        }
        // Check soon; the check computes the real expiry and re-arms.
        let first = after.unwrap_or(Duration::ZERO);
        let id = self
            .core
            .add_timer(self.index, first, None, TimerAction::Deadline);
        if let Some(d) = self.ch_mut().deadlines.as_mut() {
            d.timer = Some(id);
        }
    }

    /// Caps how many accepted connections of this listener may be open at
    /// once (`None`: no cap). Past it, the default `handle_accept` hands
    /// newcomers to [`handle_refused`](Dispatcher::handle_refused).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.set_max_connections(Some(100));
    /// assert!(!cx.at_capacity());
    /// ```
    pub fn set_max_connections(&mut self, max: Option<u32>) {
        self.ch_mut().max_children = max;
    }

    /// Whether accepting one more connection would pass this listener's cap
    /// or the loop's (see [`EventLoop::set_max_channels`](crate::EventLoop::set_max_channels)).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.set_max_connections(Some(0));
    /// assert!(cx.at_capacity());
    /// ```
    pub fn at_capacity(&self) -> bool {
        self.core.at_capacity(self.index)
    }

    /// Asks the loop for a graceful shutdown within `grace`: listeners close
    /// at once, every other channel gets
    /// [`handle_shutdown`](Dispatcher::handle_shutdown) (default: close; an
    /// [`AsyncChat`](crate::chat::AsyncChat) closes when its output is sent),
    /// and whatever is still open at the deadline is closed. The loop then
    /// ends even if timers remain.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// use std::time::Duration;
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.create_socket(asyncore::AF_INET, asyncore::SOCK_DGRAM)?;
    /// cx.shutdown(Duration::from_secs(1));
    /// ev.run()?;
    /// assert!(ev.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&mut self, grace: Duration) {
        self.core.request_shutdown(grace);
    }

    /// A [`Remote`] for this loop, to reach it from other threads.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let remote = ev.add(Idle).remote()?;
    /// remote.wake()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn remote(&mut self) -> io::Result<Remote<S>> {
        self.core.remote().map(Remote::new)
    }

    // ---- logging -----------------------------------------------------------------

    /// asyncore's `log(message)` (AC-LOG-1): `log: message`, never filtered.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{CaptureLog, Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let lines = CaptureLog::default();
    /// let mut ev = EventLoop::new();
    /// ev.set_log_sink(lines.clone());
    /// ev.add(Idle).log("Lovely spam!");
    /// assert_eq!(lines.lines(), ["log: Lovely spam!"]);
    /// ```
    pub fn log(&self, message: &str) {
        self.core.log.log(message);
    }

    /// asyncore's `log_info(message, type)` (AC-LOG-2): `type: message`, unless
    /// `type` is one of the channel's ignored types (default `{"warning"}`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{CaptureLog, Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let lines = CaptureLog::default();
    /// let mut ev = EventLoop::new();
    /// ev.set_log_sink(lines.clone());
    /// let cx = ev.add(Idle);
    /// cx.log_info("shown", "info");
    /// cx.log_info("hidden", "warning");
    /// assert_eq!(lines.lines(), ["info: shown"]);
    /// ```
    pub fn log_info(&self, message: &str, kind: &str) {
        self.core.log_info(self.index, message, kind);
    }

    /// Replaces the channel's `ignore_log_types` (AC-LOG-3).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::{CaptureLog, Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let lines = CaptureLog::default();
    /// let mut ev = EventLoop::new();
    /// ev.set_log_sink(lines.clone());
    /// let mut cx = ev.add(Idle);
    /// cx.set_ignore_log_types(&[]);
    /// cx.log_info("now shown", "warning");
    /// assert_eq!(lines.lines(), ["warning: now shown"]);
    /// ```
    pub fn set_ignore_log_types(&mut self, kinds: &[&str]) {
        self.ch_mut().ignore_log_types = Some(kinds.iter().map(|k| k.to_string()).collect());
    }

    // ---- for the default handlers ------------------------------------------

    /// The loop owes this channel a `handle_close` (peer gone during send/recv).
    fn owe_close(&mut self) {
        let ch = self.ch_mut();
        if !ch.close_pending && !ch.is_closed() {
            ch.close_pending = true;
            let token = self.token();
            self.core.pending_close.push(token);
        }
    }

    pub(crate) fn take_close_pending(&mut self) -> bool {
        std::mem::take(&mut self.ch_mut().close_pending)
    }

    /// Marks `handle_close` as delivered; false if it already was.
    pub(crate) fn claim_close(&mut self) -> bool {
        !std::mem::replace(&mut self.ch_mut().close_delivered, true)
    }

    pub(crate) fn finish_connect(&mut self) {
        let ch = self.ch_mut();
        ch.connected = true;
        ch.connecting = false;
    }

    /// The deadline that passed, if any; its clock restarts so a channel
    /// that survives `handle_timeout` gets a full period again.
    pub(crate) fn expired_deadline(&mut self, reading: bool, writing: bool) -> Option<Timeout> {
        let now = Instant::now();
        let d = self.ch_mut().deadlines.as_mut()?;
        let kind = d.expired(now, reading, writing)?;
        match kind {
            Timeout::Idle => (d.last_read, d.last_write) = (now, now),
            Timeout::Read => d.last_read = now,
            Timeout::Write => d.last_write = now,
        }
        Some(kind)
    }

    /// Arms the deadline timer for the next possible expiry.
    pub(crate) fn rearm_deadline(&mut self, reading: bool, writing: bool) {
        if self.is_closed() {
            return;
        }
        let now = Instant::now();
        let Some(next) = self
            .ch()
            .deadlines
            .as_ref()
            .and_then(|d| d.next_check(now, reading, writing))
        else {
            return;
        };
        let id = self.core.add_timer(
            self.index,
            next.saturating_duration_since(now),
            None,
            TimerAction::Deadline,
        );
        if let Some(d) = self.ch_mut().deadlines.as_mut() {
            d.timer = Some(id);
        }
    }

    pub(crate) fn set_handler(&mut self, name: &'static str) {
        self.core.handler = name;
    }

    /// Busy-loop guard: count write events that sent nothing.
    pub(crate) fn note_write_event(&mut self, sent_anything: bool, name: &str) {
        let ch = self.ch_mut();
        if sent_anything {
            ch.idle_writes = 0;
            return;
        }
        ch.idle_writes = ch.idle_writes.saturating_add(1);
        if ch.idle_writes == BUSY_WRITE_EVENTS && !ch.busy_warned {
            ch.busy_warned = true;
            let msg = format!(
                "{} was writable for {BUSY_WRITE_EVENTS} events in a row and sent nothing: \
                 the loop is spinning; override writable() to return true only when there is data to send",
                self.describe(name)
            );
            self.core.log.log_info("warning", &msg);
        }
    }
}

fn no_socket() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "no socket attached: call create_socket or set_socket first",
    )
}

/// Runs `f` with channel `token`'s dispatcher downcast to `D`.
pub(crate) fn with_dispatcher<S: 'static, D: Dispatcher<S>, R>(
    core: &mut LoopCore<S>,
    token: Token,
    f: impl FnOnce(&mut D, &mut Cx<'_, S>) -> R,
) -> Option<R> {
    let index = core.map.resolve(token)?;
    let result = core.run(index, |disp, cx| {
        let any: &mut dyn Any = disp;
        any.downcast_mut::<D>().map(|d| f(d, cx))
    });
    core.mark_dirty(index);
    result.flatten()
}
