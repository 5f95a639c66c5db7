//! The socket calls of a channel's set-up (`bind`, `listen`, `connect`,
//! `accept`, ...) on what the channel holds: an OS socket, or with the `sim`
//! feature a simulated one. `send`/`recv` (the hot path) match on `Io`
//! themselves, in `cx/io.rs`.

use crate::channel::Io;
use socket2::{Domain, SockAddr, Socket};
use std::io;

impl Io {
    /// The socket's address family, when known.
    pub(crate) fn domain(&self) -> io::Result<Option<Domain>> {
        match self {
            #[cfg(feature = "sim")]
            Io::Sim(_) => Ok(None),
            _ => Ok(self.os_socket()?.domain().ok()),
        }
    }

    pub(crate) fn bind(&self, addr: &SockAddr) -> io::Result<()> {
        match self {
            #[cfg(feature = "sim")]
            Io::Sim(s) => s.bind(addr),
            _ => self.os_socket()?.bind(addr),
        }
    }

    pub(crate) fn listen(&self, backlog: i32) -> io::Result<()> {
        match self {
            #[cfg(feature = "sim")]
            Io::Sim(s) => s.listen(),
            _ => self.os_socket()?.listen(backlog),
        }
    }

    pub(crate) fn connect(&self, addr: &SockAddr) -> io::Result<()> {
        match self {
            #[cfg(feature = "sim")]
            Io::Sim(s) => s.connect(addr),
            _ => self.os_socket()?.connect(addr),
        }
    }

    pub(crate) fn accept(&self) -> io::Result<(Socket, SockAddr)> {
        match self {
            #[cfg(feature = "sim")]
            Io::Sim(s) => s.accept(),
            _ => self.os_socket()?.accept(),
        }
    }

    /// Whether this is a connection: a file, or a socket with a peer.
    pub(crate) fn is_connection(&self) -> bool {
        match self {
            Io::File(_) => true,
            Io::None | Io::Closed => false,
            _ => self.peer_addr().is_ok(),
        }
    }

    pub(crate) fn peer_addr(&self) -> io::Result<SockAddr> {
        match self {
            #[cfg(feature = "sim")]
            Io::Sim(s) => s.peer_addr(),
            _ => self.os_socket()?.peer_addr(),
        }
    }

    /// SO_ERROR, which reading clears.
    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        match self {
            #[cfg(feature = "sim")]
            Io::Sim(s) => s.take_error(),
            _ => self.os_socket()?.take_error(),
        }
    }
}
