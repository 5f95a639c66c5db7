//! Socket set-up: asyncore's `create_socket`, `set_socket`, the
//! `dispatcher(sock)` and `file_dispatcher(fd)` constructors, `bind`,
//! `listen`, `connect`, `accept`.

use super::Cx;
use crate::channel::Io;
use crate::file::FileWrapper;
use crate::net::{AddrText, ToSockAddr};
use crate::sys::fd;
use crate::token::Token;
use socket2::{Domain, SockAddr, Socket, Type};
use std::io;
use std::os::fd::AsRawFd;

impl<S: 'static> Cx<'_, S> {
    /// asyncore's `create_socket(family, type)`: a new non-blocking,
    /// close-on-exec socket, attached and put in the map.
    pub fn create_socket(&mut self, family: Domain, ty: Type) -> io::Result<()> {
        // AC-SOCK-1
        #[cfg(feature = "sim")]
        if let Some(net) = self.core.poller.sim() {
            let sock = crate::sim::new_channel_socket(net, ty)?;
            self.attach(Io::Sim(sock));
            return Ok(());
        }
        let sock = Socket::new(family, ty, None)?;
        sock.set_nonblocking(true)?;
        self.attach_socket(sock);
        Ok(())
    }

    /// asyncore's `set_socket(sock)`: attaches an existing socket and puts
    /// the channel in the map. The socket is made non-blocking, since a
    /// blocking one would stall the whole loop.
    pub fn set_socket(&mut self, sock: Socket) -> io::Result<()> {
        // AC-SOCK-2 (deliberate difference: asyncore leaves blocking mode alone)
        #[cfg(feature = "sim")]
        let sock = match self.core.poller.sim() {
            Some(net) => match net.claim(sock) {
                Ok(sim) => {
                    self.attach(Io::Sim(sim));
                    return Ok(());
                }
                Err(sock) => sock,
            },
            None => sock,
        };
        sock.set_nonblocking(true)?;
        self.attach_socket(sock);
        Ok(())
    }

    /// Attaches `io` in place of what the channel held
    /// ([`LoopCore::attach`](crate::core::LoopCore::attach)); declared
    /// deadlines start afresh for it.
    fn attach(&mut self, io: Io) {
        self.core.attach(self.ch, self.token.index, io);
        self.restart_deadlines();
    }

    pub(crate) fn attach_socket(&mut self, sock: Socket) {
        let datagram = sock.r#type().is_ok_and(|t| t == Type::DGRAM);
        self.attach(Io::Socket(sock));
        self.ch.datagram = datagram;
    }

    /// asyncore's `dispatcher(sock)` constructor: adopts a socket such as
    /// one from [`accept`](Cx::accept). The channel is registered and
    /// `connected`, with the peer as `addr`; an unconnected socket stays
    /// registered but not connected. Any other failure closes the channel
    /// and is returned.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let (a, _b) = socket2::Socket::pair(asyncore_loop::AF_UNIX, asyncore_loop::SOCK_STREAM, None)?;
    /// let mut ev = EventLoop::new();
    /// let mut cx = ev.add(Idle);
    /// cx.adopt(a)?;
    /// assert!(cx.connected());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn adopt(&mut self, sock: Socket) -> io::Result<Token> {
        // AC-DISP-3
        self.set_socket(sock)?;
        self.ch.connected = true;
        let peer = self.ch.io.peer_addr();
        match peer {
            Ok(addr) => self.ch.addr = Some(Box::new(addr)),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTCONN | libc::EINVAL)) => {
                self.ch.connected = false;
            }
            Err(e) => {
                let _ = self.close();
                return Err(e);
            }
        }
        Ok(self.token)
    }

    /// asyncore's `file_dispatcher(fd)`: wraps a duplicate of `fd` (a pipe, a
    /// terminal, a file), marks the channel connected and puts it in the
    /// map. The **original** descriptor is made non-blocking too: a duplicate
    /// shares its open file description.
    pub fn set_file(&mut self, file: &impl AsRawFd) -> io::Result<Token> {
        // AC-FILE-6, AC-Q-16
        let original = file.as_raw_fd();
        let wrapper = FileWrapper::new(original)?;
        fd::set_nonblocking(original)?;
        self.attach(Io::File(wrapper));
        self.ch.connected = true;
        Ok(self.token)
    }

    /// asyncore's `set_reuse_addr()`: SO_REUSEADDR on; errors are ignored,
    /// as in asyncore.
    pub fn set_reuse_addr(&mut self) {
        // AC-SOCK-3
        if let Ok(sock) = self.socket() {
            let _ = sock.set_reuse_address(true);
        }
    }

    /// asyncore's `bind(address)`: records `addr`, then binds.
    pub fn bind(&mut self, address: impl ToSockAddr) -> io::Result<()> {
        // AC-Q-12: addr is recorded before the OS call.
        let domain = self.ch.io.domain()?;
        let addr = address.to_sock_addr(domain)?;
        self.ch.addr = Some(Box::new(addr.clone()));
        self.ch.io.bind(&addr)
    }

    /// asyncore's `listen(backlog)`: sets `accepting`, then listens.
    pub fn listen(&mut self, backlog: i32) -> io::Result<()> {
        // AC-Q-12: accepting is set before the OS call.
        self.ch.accepting = true;
        self.ch.io.listen(backlog)?;
        if log::log_enabled!(log::Level::Debug) {
            let local = self.socket().ok().and_then(|s| s.local_addr().ok());
            log::debug!("{} listening on {}", self.token, AddrText(local.as_ref()));
        }
        self.core.accept.ensure_spare();
        self.core.mark_dirty(self.token.index);
        Ok(())
    }

    /// asyncore's `connect(address)`: starts a non-blocking connect and sets
    /// `connecting`. Completion (or failure) is reported by the loop:
    /// `handle_connect` on the first read or write readiness, also when the
    /// OS completed the connect at once. An immediate failure is returned.
    pub fn connect(&mut self, address: impl ToSockAddr) -> io::Result<()> {
        // AC-CONN-1..5, AC-Q-9
        let domain = self.ch.io.domain()?;
        let addr = address.to_sock_addr(domain)?;
        self.ch.connected = false;
        self.ch.connecting = true;
        // A new connection: its end is handle_close again.
        self.ch.close_delivered = false;
        let result = self.ch.io.connect(&addr);
        match result {
            Ok(()) => {}
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || matches!(
                        e.raw_os_error(),
                        Some(libc::EINPROGRESS | libc::EALREADY | libc::EISCONN)
                    ) => {}
            Err(e) => {
                self.ch.connecting = false;
                return Err(e);
            }
        }
        log::debug!("{} connecting to {}", self.token, AddrText(Some(&addr)));
        self.ch.addr = Some(Box::new(addr));
        self.core.mark_dirty(self.token.index);
        Ok(())
    }

    /// asyncore's `accept()`: `Some((socket, address))`, or `None` when no
    /// connection is waiting (or it was aborted, or descriptors ran out: the
    /// loop then sheds waiting connections and backs off; on the select
    /// backend, a connection whose descriptor is 1024 or more is shed the
    /// same way, since select cannot watch it). The socket is
    /// blocking and close-on-exec; adopt it with
    /// `cx.add(handler).adopt(sock)`.
    pub fn accept(&mut self) -> io::Result<Option<(Socket, SockAddr)>> {
        // AC-ACC-1..2, AC-Q-11
        let result = self.ch.io.accept();
        match result {
            Ok(pair) => {
                // Select cannot watch it: shed it as a connection without a
                // descriptor, so that the loop goes on.
                if let Err(e) = self.core.poller.check_range(pair.0.as_raw_fd()) {
                    drop(pair);
                    self.shed_connections(&e);
                    return Ok(None);
                }
                log::debug!(
                    "{} accepted fd {} from {}",
                    self.token,
                    pair.0.as_raw_fd(),
                    AddrText(Some(&pair.1))
                );
                self.core.accept.accepted();
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
                self.shed_connections(&e);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}
