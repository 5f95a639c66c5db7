//! `asyncore echo --listen ADDR`: the echo server (asyncore's documentation
//! example grown into a tool), also the benchmarks' target.

use crate::{listen, shutdown_on_signals, AppError};
use asyncore::{Backend, Cx, Dispatcher, EventLoop, Remote, SendBuffer, SockAddr, Socket};
use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;

/// One echoed connection: whatever arrives goes back, buffered while the
/// peer is slow to read.
#[derive(Debug, Default)]
pub struct EchoHandler {
    out: SendBuffer,
}

thread_local! {
    /// One 64 KiB receive buffer per loop thread, shared by every connection
    /// (the hand-written C server's static buffer): no allocation per read,
    /// and nothing held by idle connections. Allocated on first use.
    static READ_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0; 65536].into_boxed_slice());
}

impl Dispatcher for EchoHandler {
    fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        // Handlers never run inside a `Cx` method, so the borrow cannot nest.
        READ_BUF.with(|buf| {
            let mut buf = buf.borrow_mut();
            let n = cx.recv_into(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            if self.out.is_empty() && !cx.debug() {
                // Nothing queued: send straight from the read buffer (one
                // send, as dispatcher_with_send's), and queue only the rest.
                let sent = cx.send(&buf[..n])?;
                if sent < n {
                    self.out.send(cx, &buf[sent..n])?;
                }
                return Ok(());
            }
            self.out.send(cx, &buf[..n])
        })
    }

    fn writable(&self, cx: &Cx<'_>) -> bool {
        self.out.writable(cx)
    }

    fn handle_write(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        self.out.initiate_send(cx)
    }

    fn handle_close(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        cx.close()
    }
}

struct Listener;

impl Dispatcher for Listener {
    fn handle_accepted(
        &mut self,
        cx: &mut Cx<'_>,
        sock: Socket,
        _addr: SockAddr,
    ) -> io::Result<()> {
        cx.add(EchoHandler::default()).adopt(sock)?;
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
/// let mut server = asyncore_cli::echo::EchoServer::bind("127.0.0.1:0".parse().unwrap(), asyncore::Backend::Epoll)?;
/// let (addr, remote) = (server.addr(), server.remote()?);
/// let client = std::thread::spawn(move || {
///     let mut c = std::net::TcpStream::connect(addr).unwrap();
///     c.write_all(b"ping").unwrap();
///     let mut buf = [0u8; 4];
///     c.read_exact(&mut buf).unwrap();
///     remote.stop();
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
        let mut ev = EventLoop::new().with_backend(backend);
        let addr = listen(&mut ev, Listener, listen_on)?;
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
    let server = EchoServer::bind(listen_on, backend)?;
    println!("echo: listening on {}", server.addr());
    server.run()
}
