//! `SO_REUSEPORT` listeners: one socket per loop on a shared address.

use crate::dispatcher::Dispatcher;
use crate::event_loop::EventLoop;
use crate::token::Token;
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;

/// The listen backlog [`ReusePortAddr`] uses unless told otherwise.
const DEFAULT_BACKLOG: i32 = 128;

/// Opens a listening TCP socket on `addr` with `SO_REUSEADDR` and
/// `SO_REUSEPORT` set: non-blocking, close-on-exec, bound, listening with
/// `backlog`.
///
/// Every socket of a group must be opened this way (the kernel lets a socket
/// join a port only if all its sockets have `SO_REUSEPORT`, and only for the
/// same user). Port 0 picks a fresh port for this socket alone: to open more
/// sockets on that port, bind them to the address the first one got (its
/// `local_addr()`), or let [`ReusePortAddr`] do it.
///
/// To hand the socket to a loop, add a listening dispatcher and call
/// [`Cx::set_socket`](crate::Cx::set_socket) then
/// [`Cx::listen`](crate::Cx::listen) (which marks the channel accepting;
/// listening again only sets the backlog) — or use
/// [`ReusePortAddr::add_listener`], which does that.
///
/// # Examples
///
/// ```
/// let first = asyncore_loop::reuse_port_listener("127.0.0.1:0".parse().unwrap(), 128)?;
/// let addr = first.local_addr()?.as_socket().unwrap();
/// // A second listener on the very same address and port:
/// let second = asyncore_loop::reuse_port_listener(addr, 128)?;
/// assert_eq!(second.local_addr()?.as_socket(), Some(addr));
/// assert!(second.reuse_port()?);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn reuse_port_listener(addr: SocketAddr, backlog: i32) -> io::Result<Socket> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_reuse_address(true)?;
    sock.set_reuse_port(true)?;
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    sock.listen(backlog)?;
    Ok(sock)
}

/// An address that several loops listen on together, one `SO_REUSEPORT`
/// listener each. `Send + Sync`: share it (in an `Arc`) with the setup
/// closure of a [`LoopGroup`](super::LoopGroup).
///
/// The first listener opened binds the requested address; if its port is 0,
/// the port it got is recorded and every later listener binds that port, so
/// all of them share one address. Opening is serialized (a mutex held across
/// the bind), so loops may open their listeners concurrently.
///
/// # Examples
///
/// ```
/// let addr = asyncore_loop::ReusePortAddr::new(([127, 0, 0, 1], 0));
/// assert_eq!(addr.local_addr(), None); // nothing bound yet
/// let a = addr.open()?;
/// let b = addr.open()?;
/// let port = addr.local_addr().unwrap().port();
/// assert_ne!(port, 0);
/// assert_eq!(a.local_addr()?.as_socket().unwrap().port(), port);
/// assert_eq!(b.local_addr()?.as_socket().unwrap().port(), port);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct ReusePortAddr {
    requested: SocketAddr,
    backlog: i32,
    bound: Mutex<Option<SocketAddr>>,
}

impl ReusePortAddr {
    /// An address to listen on (`([127, 0, 0, 1], 0)`, a parsed
    /// `SocketAddr` ...); the listen backlog is 128. Nothing is bound until
    /// the first [`open`](ReusePortAddr::open).
    ///
    /// # Examples
    ///
    /// ```
    /// let addr = asyncore_loop::ReusePortAddr::new("127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap());
    /// assert_eq!(addr.requested().port(), 0);
    /// ```
    pub fn new(addr: impl Into<SocketAddr>) -> Self {
        ReusePortAddr {
            requested: addr.into(),
            backlog: DEFAULT_BACKLOG,
            bound: Mutex::new(None),
        }
    }

    /// The same address with another listen backlog for every listener.
    ///
    /// # Examples
    ///
    /// ```
    /// let addr = asyncore_loop::ReusePortAddr::new(([127, 0, 0, 1], 0)).with_backlog(1024);
    /// addr.open()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_backlog(mut self, backlog: i32) -> Self {
        self.backlog = backlog;
        self
    }

    /// The address asked for (port 0 stays 0 here).
    ///
    /// # Examples
    ///
    /// ```
    /// let addr = asyncore_loop::ReusePortAddr::new(([127, 0, 0, 1], 7007));
    /// assert_eq!(addr.requested().to_string(), "127.0.0.1:7007");
    /// ```
    pub fn requested(&self) -> SocketAddr {
        self.requested
    }

    /// The address the listeners are bound to (port 0 resolved), once the
    /// first one is open; `None` before.
    ///
    /// # Examples
    ///
    /// ```
    /// let addr = asyncore_loop::ReusePortAddr::new(([127, 0, 0, 1], 0));
    /// let _listener = addr.open()?;
    /// assert_ne!(addr.local_addr().unwrap().port(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self.bound.lock() {
            Ok(bound) => *bound,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    /// Opens one more listener on the address (see [`reuse_port_listener`]):
    /// the first one on the requested address, later ones on the address the
    /// first one got.
    ///
    /// # Examples
    ///
    /// ```
    /// let addr = asyncore_loop::ReusePortAddr::new(([127, 0, 0, 1], 0));
    /// let listener = addr.open()?;
    /// assert_eq!(listener.local_addr()?.as_socket(), addr.local_addr());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn open(&self) -> io::Result<Socket> {
        let mut bound = match self.bound.lock() {
            Ok(bound) => bound,
            Err(poisoned) => poisoned.into_inner(),
        };
        let target = bound.unwrap_or(self.requested);
        let sock = reuse_port_listener(target, self.backlog)?;
        if bound.is_none() {
            let got = sock.local_addr()?.as_socket().ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, "listener has no IP address")
            })?;
            *bound = Some(got);
        }
        Ok(sock)
    }

    /// Opens one more listener and adds it to `ev` as a listening channel
    /// for `listener` (its `handle_accepted` gets the connections this
    /// socket is given). Returns the channel's token. On error nothing is
    /// left in `ev`.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::{Dispatcher, EventLoop, ReusePortAddr};
    /// struct Listener;
    /// impl Dispatcher for Listener {}
    /// let addr = ReusePortAddr::new(([127, 0, 0, 1], 0));
    /// let (mut a, mut b) = (EventLoop::new(), EventLoop::new());
    /// let ta = addr.add_listener(&mut a, Listener)?;
    /// let tb = addr.add_listener(&mut b, Listener)?;
    /// assert!(a.channel(ta).unwrap().accepting() && b.channel(tb).unwrap().accepting());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn add_listener<S: 'static, D: Dispatcher<S>>(
        &self,
        ev: &mut EventLoop<S>,
        listener: D,
    ) -> io::Result<Token> {
        let sock = self.open()?;
        let mut cx = ev.add(listener);
        // `listen` again on a listening socket only sets the backlog; here it
        // marks the channel accepting (and readies the EMFILE spare).
        match cx.set_socket(sock).and_then(|()| cx.listen(self.backlog)) {
            Ok(()) => Ok(cx.token()),
            Err(e) => {
                let _ = cx.close();
                Err(e)
            }
        }
    }
}
