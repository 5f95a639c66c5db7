//! `asyncore echo --listen ADDR [--loops N]`: the echo server (asyncore's
//! documentation example grown into a tool), also the benchmarks' target.
//! With `--loops N` (N > 1) it runs N loops, one thread each, each with its
//! own `SO_REUSEPORT` listener on the address ([`run_loops`]). With
//! `--tls-cert FILE --tls-key FILE` every connection is implicit TLS
//! ([`TlsServer`]); the echo handler is the same.

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
/// peer is slow to read.
#[derive(Debug, Default)]
pub struct EchoHandler {
    out: SendBuffer,
}

impl Dispatcher for EchoHandler {
    fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        // The bytes are lent from the loop's receive buffer (64 KiB, shared
        // by every connection, as the hand-written C server's static buffer).
        cx.recv_with(65536, |cx, data| {
            if data.is_empty() {
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

    fn writable(&self, ch: &View<'_>) -> bool {
        self.out.writable(ch)
    }

    fn handle_write(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        self.out.initiate_send(cx)
    }

    fn handle_close(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        cx.close()
    }
}

/// The TLS configuration of an implicit-TLS echo (`--tls-cert`, `--tls-key`).
pub type TlsServer = Option<Arc<asyncore_loop::tls::ServerConfig>>;

#[derive(Clone, Default)]
struct Listener {
    tls: TlsServer,
}

impl Dispatcher for Listener {
    fn handle_accepted(
        &mut self,
        cx: &mut Cx<'_>,
        sock: Socket,
        _addr: SockAddr,
    ) -> io::Result<()> {
        let mut child = cx.add(EchoHandler::default());
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
        Self::bind_tls(listen_on, backend, None)
    }

    /// Listens on `listen` with `backend`; with `tls`, every connection is
    /// implicit TLS.
    pub fn bind_tls(
        listen_on: SocketAddr,
        backend: Backend,
        tls: TlsServer,
    ) -> Result<Self, AppError> {
        let mut ev = EventLoop::new().with_backend(backend);
        let addr = listen(&mut ev, Listener { tls }, listen_on)?;
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
    run_tls(listen_on, backend, None)
}

/// `asyncore echo [--tls-cert F --tls-key F]`: bind, say where, serve.
pub fn run_tls(listen_on: SocketAddr, backend: Backend, tls: TlsServer) -> Result<(), AppError> {
    let server = EchoServer::bind_tls(listen_on, backend, tls)?;
    println!("echo: listening on {}", server.addr());
    server.run()
}

/// `asyncore echo --loops N`: the same server on `loops` event loops, one
/// thread each ([`LoopGroup`]), each with its own `SO_REUSEPORT` listener on
/// `listen_on` ([`ReusePortAddr`]), so the kernel spreads connections over
/// them. Says where it listens once every loop is listening; SIGINT and
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
    run_loops_tls(listen_on, backend, loops, None)
}

/// [`run_loops`], implicit TLS with `tls`.
pub fn run_loops_tls(
    listen_on: SocketAddr,
    backend: Backend,
    loops: usize,
    tls: TlsServer,
) -> Result<(), AppError> {
    let addr = Arc::new(ReusePortAddr::new(listen_on));
    let shared = Arc::clone(&addr);
    let group = LoopGroup::builder(loops)
        .backend(backend)
        .thread_name("asyncore-echo")
        .start(move |_, ev| {
            shared.add_listener(ev, Listener { tls: tls.clone() })?;
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
        println!("echo: listening on {bound}");
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
