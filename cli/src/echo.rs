//! `asyncore echo --listen ADDR [--loops N]`: the echo server (asyncore's
//! documentation example grown into a tool), also the benchmarks' target.
//! With `--loops N` (N > 1) it runs N loops, one thread each, each with its
//! own `SO_REUSEPORT` listener on the address ([`run_loops`]). With
//! `--tls-cert FILE --tls-key FILE` every connection is implicit TLS
//! ([`EchoOptions::tls`]); the echo handler is the same.

use crate::{listen, shutdown_on_signals, AppError};
use asyncore_loop::View;
use asyncore_loop::{
    Backend, Cx, Dispatcher, EventLoop, LoopGroup, Remote, ReusePortAddr, SendBuffer, SockAddr,
    Socket,
};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// One echoed connection: whatever arrives goes back, buffered while the
/// peer is slow to read. Above [`HIGH_WATER`](EchoHandler::HIGH_WATER)
/// queued bytes it stops reading (a peer that sends without reading is held
/// back by TCP, not by our memory); when the peer is done sending (end of
/// stream, e.g. a half-close) it sends everything queued, then closes.
#[derive(Debug)]
pub struct EchoHandler {
    out: SendBuffer,
    high_water: usize,
    /// Shutting down: input is read and dropped (no longer echoed) while
    /// the queued echo goes out; then writing is shut down and the channel
    /// closes at the peer's end.
    draining: bool,
}

impl EchoHandler {
    /// The default high-water mark: queued output above which the
    /// connection stops reading.
    pub const HIGH_WATER: usize = 256 << 10;

    /// A handler that stops reading above `high_water` queued bytes.
    pub fn with_high_water(high_water: usize) -> Self {
        EchoHandler {
            out: SendBuffer::new(),
            high_water,
            draining: false,
        }
    }
}

impl Default for EchoHandler {
    fn default() -> Self {
        EchoHandler::with_high_water(Self::HIGH_WATER)
    }
}

/// Settings of the echo server.
#[derive(Clone, Debug)]
pub struct EchoOptions {
    /// Queued output per connection above which it stops reading (default
    /// [`EchoHandler::HIGH_WATER`]). A client that sends everything before
    /// reading anything needs what it sends to fit in this plus the kernel's
    /// socket buffers.
    pub high_water: usize,
    /// Implicit TLS on every connection (`--tls-cert`, `--tls-key`).
    pub tls: Option<Arc<asyncore_loop::tls::ServerConfig>>,
}

impl Default for EchoOptions {
    fn default() -> Self {
        EchoOptions {
            tls: None,
            high_water: EchoHandler::HIGH_WATER,
        }
    }
}

impl Dispatcher for EchoHandler {
    fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        // The bytes are lent from the loop's receive buffer (64 KiB, shared
        // by every connection, as the hand-written C server's static buffer).
        let draining = self.draining;
        cx.recv_with(65536, |cx, data| {
            if data.is_empty() || draining {
                return Ok(());
            }
            if self.out.is_empty() && !cx.debug() {
                // Nothing queued: send straight from the read buffer (one
                // send, as dispatcher_with_send's), and queue only the rest.
                let sent = cx.send(data)?;
                if sent < data.len() {
                    self.out.send(cx, &data[sent..])?;
                }
                return Ok(());
            }
            self.out.send(cx, data)
        })?
    }

    fn readable(&self, _ch: &View<'_>) -> bool {
        self.draining || self.out.len() < self.high_water
    }

    /// A graceful shutdown: the echo already queued is sent, then the write
    /// side shut down; input is read and dropped meanwhile, because closing
    /// with unread input would be a reset, which loses what is still in
    /// flight. The channel closes at the peer's end (or the grace's).
    fn handle_shutdown(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        self.draining = true;
        self.out.close_when_done(cx)
    }

    fn writable(&self, ch: &View<'_>) -> bool {
        self.out.writable(ch)
    }

    fn handle_write(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        self.out.initiate_send(cx)
    }

    /// The peer is done sending: what it sent still goes back, then close.
    fn handle_read_eof(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        self.out.close_when_done(cx)
    }

    fn handle_close(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        cx.close()
    }
}

struct Listener {
    high_water: usize,
    tls: Option<Arc<asyncore_loop::tls::ServerConfig>>,
}

impl Dispatcher for Listener {
    fn handle_accepted(
        &mut self,
        cx: &mut Cx<'_>,
        sock: Socket,
        _addr: SockAddr,
    ) -> io::Result<()> {
        let mut child = cx.add(EchoHandler::with_high_water(self.high_water));
        child.adopt(sock)?;
        if let Some(config) = &self.tls {
            child.start_tls_server(config.clone())?;
        }
        Ok(())
    }
}

/// A bound echo server, not yet running. The loop is not `Send`: run it on
/// the thread that bound it; other threads reach it through [`remote`](EchoServer::remote).
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// let mut server = asyncore_cli::echo::EchoServer::bind("127.0.0.1:0".parse().unwrap(), asyncore_loop::Backend::Epoll)?;
/// let (addr, remote) = (server.addr(), server.remote()?);
/// let client = std::thread::spawn(move || {
///     let mut c = std::net::TcpStream::connect(addr).unwrap();
///     c.write_all(b"ping").unwrap();
///     let mut buf = [0u8; 4];
///     c.read_exact(&mut buf).unwrap();
///     remote.stop().expect("the server is running");
///     buf
/// });
/// server.run()?;
/// assert_eq!(&client.join().unwrap(), b"ping");
/// # Ok::<(), asyncore_cli::AppError>(())
/// ```
#[derive(Debug)]
pub struct EchoServer {
    ev: EventLoop,
    addr: SocketAddr,
}

impl EchoServer {
    /// Listens on `listen` with `backend`.
    pub fn bind(listen_on: SocketAddr, backend: Backend) -> Result<Self, AppError> {
        Self::bind_with(listen_on, backend, &EchoOptions::default())
    }

    /// Listens on `listen` with `backend` and `options`.
    pub fn bind_with(
        listen_on: SocketAddr,
        backend: Backend,
        options: &EchoOptions,
    ) -> Result<Self, AppError> {
        let mut ev = EventLoop::new().with_backend(backend);
        let listener = Listener {
            high_water: options.high_water,
            tls: options.tls.clone(),
        };
        let addr = listen(&mut ev, listener, listen_on)?;
        Ok(EchoServer { ev, addr })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle to stop it from another thread.
    pub fn remote(&mut self) -> Result<Remote, AppError> {
        self.ev.remote().map_err(|e| AppError::io("echo", e))
    }

    /// Serves until stopped (or SIGINT/SIGTERM, which shut it down gracefully).
    pub fn run(mut self) -> Result<(), AppError> {
        shutdown_on_signals(&mut self.ev)?;
        self.ev
            .run_loop(None, None)
            .map_err(|e| AppError::io("echo", e))
    }
}

/// `asyncore echo`: bind, say where, serve.
pub fn run(listen_on: SocketAddr, backend: Backend) -> Result<(), AppError> {
    run_with(listen_on, backend, &EchoOptions::default())
}

/// [`run`] with `options`.
pub fn run_with(
    listen_on: SocketAddr,
    backend: Backend,
    options: &EchoOptions,
) -> Result<(), AppError> {
    let server = EchoServer::bind_with(listen_on, backend, options)?;
    crate::say(format_args!("echo: listening on {}", server.addr()));
    server.run()
}

/// `SO_REUSEPORT` lets a second server join a port whose listeners all set
/// it, and the kernel would then split the clients between the two servers.
/// A plain bind (`SO_REUSEADDR`, no `SO_REUSEPORT`) fails while anything
/// listens on the port, as a single-loop server's bind would: that is the
/// test. The probe never listens, so no client can land on it. (Two such
/// servers started at the same instant may still both pass.)
fn refuse_a_port_in_use(listen_on: SocketAddr) -> Result<(), AppError> {
    if listen_on.port() == 0 {
        return Ok(());
    }
    let probe = || -> io::Result<()> {
        let sock = Socket::new(
            asyncore_loop::Domain::for_address(listen_on),
            asyncore_loop::Type::STREAM,
            None,
        )?;
        sock.set_reuse_address(true)?;
        sock.bind(&listen_on.into())
    };
    probe().map_err(|e| AppError::io(format!("cannot listen on {listen_on}"), e))
}

/// `asyncore echo --loops N`: the same server on `loops` event loops, one
/// thread each ([`LoopGroup`]), each with its own `SO_REUSEPORT` listener on
/// `listen_on` ([`ReusePortAddr`]), so the kernel spreads connections over
/// them. A port another server already listens on is refused, as with one
/// loop. Says where it listens once every loop is listening; SIGINT and
/// SIGTERM shut every loop down gracefully (5 s grace). An error in any
/// loop (at setup or later) is the command's error.
///
/// # Examples
///
/// ```no_run
/// asyncore_cli::echo::run_loops("127.0.0.1:7007".parse().unwrap(), asyncore_loop::Backend::Epoll, 2)?;
/// # Ok::<(), asyncore_cli::AppError>(())
/// ```
pub fn run_loops(listen_on: SocketAddr, backend: Backend, loops: usize) -> Result<(), AppError> {
    run_loops_with(listen_on, backend, loops, &EchoOptions::default())
}

/// [`run_loops`] with `options`.
pub fn run_loops_with(
    listen_on: SocketAddr,
    backend: Backend,
    loops: usize,
    options: &EchoOptions,
) -> Result<(), AppError> {
    let (high_water, tls) = (options.high_water, options.tls.clone());
    refuse_a_port_in_use(listen_on)?;
    let addr = Arc::new(ReusePortAddr::new(listen_on));
    let shared = Arc::clone(&addr);
    let group = LoopGroup::builder(loops)
        .backend(backend)
        .thread_name("asyncore-echo")
        .start(move |_, ev| {
            let tls = tls.clone();
            shared.add_listener(ev, Listener { high_water, tls })?;
            shutdown_on_signals(ev).map_err(|e| io::Error::other(e.message))
        })
        .map_err(|e| AppError::io("echo: cannot start the loops", e))?;
    let bound = addr.local_addr();
    if (0..loops).any(|i| group.remote(i).is_none()) || bound.is_none() {
        group.shutdown(Duration::ZERO);
        let err = group
            .join()
            .into_iter()
            .find_map(Result::err)
            .unwrap_or_else(|| io::Error::other("a loop did not start"));
        return Err(AppError::io(format!("cannot listen on {listen_on}"), err));
    }
    if let Some(bound) = bound {
        crate::say(format_args!("echo: listening on {bound}"));
    }
    log::info!("echo: {loops} {backend} loops, one SO_REUSEPORT listener each");
    let failed = group
        .join()
        .into_iter()
        .enumerate()
        .find_map(|(i, r)| r.err().map(|e| (i, e)));
    match failed {
        None => Ok(()),
        Some((i, e)) => Err(AppError::io(format!("echo loop {i}"), e)),
    }
}
