//! `SimSocket`: what a channel of a simulated loop holds instead of an OS
//! socket (`Io::Sim`). Every call goes to the simulated world.

use super::world::SockId;
use super::SimNet;
use socket2::{SockAddr, Socket};
use std::io;
use std::os::fd::{AsRawFd, RawFd};

/// A simulated socket owned by a channel, with its placeholder descriptor.
pub(crate) struct SimSocket {
    pub(crate) net: SimNet,
    pub(crate) id: SockId,
    /// A real, unused socket: its number is the channel's descriptor.
    placeholder: Socket,
    closed: bool,
}

impl std::fmt::Debug for SimSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SimSocket({}, fd {})", self.id, self.fd())
    }
}

impl SimSocket {
    pub(crate) fn new(net: SimNet, id: SockId, placeholder: Socket) -> SimSocket {
        SimSocket {
            net,
            id,
            placeholder,
            closed: false,
        }
    }

    pub(crate) fn fd(&self) -> RawFd {
        self.placeholder.as_raw_fd()
    }

    pub(crate) fn send(&self, data: &[u8]) -> io::Result<usize> {
        self.net.world().send(self.id, data)
    }

    pub(crate) fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.net.world().recv(self.id, buf)
    }

    pub(crate) fn bind(&self, addr: &SockAddr) -> io::Result<()> {
        self.net.world().bind(self.id, addr)
    }

    pub(crate) fn listen(&self) -> io::Result<()> {
        self.net.world().listen(self.id)
    }

    pub(crate) fn connect(&self, addr: &SockAddr) -> io::Result<()> {
        self.net.world().connect(self.id, addr)
    }

    pub(crate) fn accept(&self) -> io::Result<(Socket, SockAddr)> {
        self.net.world().accept(self.id)
    }

    pub(crate) fn peer_addr(&self) -> io::Result<SockAddr> {
        self.net.world().peer_addr(self.id)
    }

    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        Ok(self
            .net
            .world()
            .take_error(self.id)
            .map(io::Error::from_raw_os_error))
    }

    /// Closes the simulated socket (the placeholder goes with the value).
    pub(crate) fn close(mut self) {
        self.net.world().close(self.id);
        self.closed = true;
    }
}

impl Drop for SimSocket {
    fn drop(&mut self) {
        if !self.closed {
            if let Ok(mut w) = self.net.0.try_borrow_mut() {
                w.close(self.id);
            }
        }
    }
}
