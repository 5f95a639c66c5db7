//! The simulated network: sockets, connections between them, listeners, and
//! the faults the world's key injects into each operation.
//!
//! A connection has two sides, 0 (the connecting end) and 1 (the accepted
//! end); each side has an inbox of bytes the other side wrote. A socket of the
//! loop carries a placeholder descriptor (a real, unused socket) so that the
//! loop's descriptor numbers are real ones, freed and reused as the OS does.

use super::{clock, Faults, Rng, Stats};
use crate::sys::{POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT};
use socket2::{Domain, SockAddr, Socket, Type};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

/// A socket of the simulated world (the loop's or a peer's).
pub(crate) type SockId = usize;

pub(crate) fn errno(e: i32) -> io::Error {
    io::Error::from_raw_os_error(e)
}

struct Conn {
    /// Bytes side `i` has yet to read.
    inbox: [VecDeque<u8>; 2],
    /// Side `i` reads end of stream once its inbox is empty.
    eof: [bool; 2],
    /// Side `i` can no longer write.
    wr_shut: [bool; 2],
    /// Side `i` closed its socket.
    closed: [bool; 2],
    /// Side `i` sees ECONNRESET.
    reset: [bool; 2],
    /// Reset or broken at some point: data may have been lost on purpose.
    broken: bool,
    /// The most bytes an inbox holds (the send buffer plus the receive buffer).
    cap: usize,
    addrs: [SocketAddr; 2],
}

enum State {
    Fresh,
    Bound(SocketAddr),
    Listening {
        addr: SocketAddr,
        queue: VecDeque<SockId>,
    },
    Connecting {
        from: SocketAddr,
        to: SocketAddr,
        at: Instant,
        refused: bool,
    },
    Refused,
    Stream {
        conn: usize,
        side: usize,
    },
    Closed,
}

struct Sock {
    state: State,
    /// SO_ERROR.
    error: Option<i32>,
    /// The placeholder descriptor's number (the loop's sockets only).
    fd: Option<RawFd>,
}

pub(crate) struct World {
    pub(crate) id: u64,
    pub(crate) seed: u64,
    pub(crate) rng: Rng,
    pub(crate) faults: Faults,
    pub(crate) stats: Stats,
    socks: Vec<Sock>,
    conns: Vec<Conn>,
    pub(crate) by_fd: HashMap<RawFd, SockId>,
    /// Accepted sockets not adopted by a channel yet (descriptor, socket).
    unclaimed: Vec<(RawFd, SockId)>,
    /// Connects in progress, completed by `tick` once their time comes.
    connecting: Vec<SockId>,
    next_port: u16,
    /// Readiness reported by the selector since the last `take_reports`: (key, socket).
    pub(crate) reports: Vec<(u64, SockId)>,
}

impl World {
    pub(crate) fn new(id: u64, seed: u64, faults: Faults) -> World {
        World {
            id,
            seed,
            rng: Rng::new(seed),
            faults,
            stats: Stats::default(),
            socks: Vec::new(),
            conns: Vec::new(),
            by_fd: HashMap::new(),
            unclaimed: Vec::new(),
            connecting: Vec::new(),
            next_port: 40_000,
            reports: Vec::new(),
        }
    }

    fn new_sock(&mut self, state: State) -> SockId {
        self.socks.push(Sock {
            state,
            error: None,
            fd: None,
        });
        self.socks.len() - 1
    }

    fn ephemeral(&mut self, ip: IpAddr) -> SocketAddr {
        self.next_port = self.next_port.wrapping_add(1).max(40_000);
        SocketAddr::new(ip, self.next_port)
    }

    /// A new socket of the loop, with its placeholder descriptor.
    pub(crate) fn loop_socket(&mut self) -> io::Result<(SockId, Socket)> {
        let placeholder = Socket::new(Domain::UNIX, Type::DGRAM, None)?;
        let id = self.new_sock(State::Fresh);
        self.give_fd(id, &placeholder);
        Ok((id, placeholder))
    }

    fn give_fd(&mut self, id: SockId, placeholder: &Socket) {
        let fd = placeholder.as_raw_fd();
        self.socks[id].fd = Some(fd);
        self.by_fd.insert(fd, id);
    }

    /// The socket a descriptor `accept` returned, now adopted by a channel.
    pub(crate) fn claim(&mut self, fd: RawFd) -> Option<SockId> {
        let i = self.unclaimed.iter().rposition(|&(f, _)| f == fd)?;
        Some(self.unclaimed.remove(i).1)
    }

    /// A new socket for a peer (the test's side of the world).
    pub(crate) fn peer_socket(&mut self) -> SockId {
        self.new_sock(State::Fresh)
    }

    fn stream(&self, id: SockId) -> Option<(usize, usize)> {
        match self.socks.get(id)?.state {
            State::Stream { conn, side } => Some((conn, side)),
            _ => None,
        }
    }

    /// Bytes the socket has not read yet.
    pub(crate) fn unread(&self, id: SockId) -> usize {
        self.stream(id)
            .map_or(0, |(c, side)| self.conns[c].inbox[side].len())
    }

    /// Whether the socket's connection was reset or broken.
    pub(crate) fn broken(&self, id: SockId) -> bool {
        self.stream(id).is_some_and(|(c, _)| self.conns[c].broken)
    }

    /// Whether the socket is closed.
    pub(crate) fn is_closed(&self, id: SockId) -> bool {
        matches!(self.socks[id].state, State::Closed)
    }

    /// Whether the socket is connected (a stream, even if its peer left).
    pub(crate) fn is_stream(&self, id: SockId) -> bool {
        self.stream(id).is_some()
    }

    fn break_conn(&mut self, conn: usize) {
        let c = &mut self.conns[conn];
        c.reset = [true, true];
        c.broken = true;
        c.inbox[0].clear();
        c.inbox[1].clear();
    }

    /// What a send and a recv check first, in this order (a run's random draws
    /// depend on it): an injected EINTR, then the socket's connection and
    /// side, then a reset already seen on that side.
    fn stream_io(&mut self, id: SockId) -> io::Result<(usize, usize)> {
        if self.rng.chance(self.faults.eintr) {
            self.stats.eintr += 1;
            return Err(errno(libc::EINTR));
        }
        let (conn, side) = match self.socks[id].state {
            State::Stream { conn, side } => (conn, side),
            State::Connecting { .. } => return Err(errno(libc::EAGAIN)),
            State::Refused => return Err(errno(libc::ECONNREFUSED)),
            State::Closed => return Err(errno(libc::EBADF)),
            _ => return Err(errno(libc::ENOTCONN)),
        };
        if self.conns[conn].reset[side] {
            return Err(errno(libc::ECONNRESET));
        }
        Ok((conn, side))
    }

    /// One write of at most `data.len()` bytes.
    pub(crate) fn send(&mut self, id: SockId, data: &[u8]) -> io::Result<usize> {
        let f = self.faults;
        let (conn, side) = self.stream_io(id)?;
        let other = 1 - side;
        if self.conns[conn].wr_shut[side] {
            return Err(errno(libc::EPIPE));
        }
        if self.conns[conn].closed[other] {
            // Writing to a socket its peer closed: a reset comes back.
            self.break_conn(conn);
            return Err(errno(libc::EPIPE));
        }
        if self.rng.chance(f.reset) {
            self.stats.reset += 1;
            self.break_conn(conn);
            return Err(errno(libc::ECONNRESET));
        }
        if self.rng.chance(f.epipe) {
            self.stats.epipe += 1;
            self.break_conn(conn);
            return Err(errno(libc::EPIPE));
        }
        if data.is_empty() {
            return Ok(0);
        }
        if self.rng.chance(f.would_block) {
            self.stats.would_block += 1;
            return Err(errno(libc::EAGAIN));
        }
        let c = &self.conns[conn];
        let space = c.cap.saturating_sub(c.inbox[other].len());
        if space == 0 {
            return Err(errno(libc::EAGAIN));
        }
        let mut n = data.len().min(space);
        if n > 1 && self.rng.chance(f.partial) {
            self.stats.partial += 1;
            n = self.rng.range(1, n as u64 - 1) as usize;
        }
        self.conns[conn].inbox[other].extend(&data[..n]);
        Ok(n)
    }

    /// One read of at most `buf.len()` bytes; `Ok(0)` is end of stream.
    pub(crate) fn recv(&mut self, id: SockId, buf: &mut [u8]) -> io::Result<usize> {
        let f = self.faults;
        let (conn, side) = self.stream_io(id)?;
        if self.rng.chance(f.reset) {
            self.stats.reset += 1;
            self.break_conn(conn);
            return Err(errno(libc::ECONNRESET));
        }
        if buf.is_empty() {
            return Ok(0);
        }
        if self.rng.chance(f.would_block) {
            self.stats.would_block += 1;
            return Err(errno(libc::EAGAIN));
        }
        let have = self.conns[conn].inbox[side].len();
        if have == 0 {
            return if self.conns[conn].eof[side] {
                Ok(0)
            } else {
                Err(errno(libc::EAGAIN))
            };
        }
        let mut n = buf.len().min(have);
        if n > 1 && self.rng.chance(f.partial) {
            self.stats.partial += 1;
            n = self.rng.range(1, n as u64 - 1) as usize;
        }
        for (dst, src) in buf.iter_mut().zip(self.conns[conn].inbox[side].drain(..n)) {
            *dst = src;
        }
        Ok(n)
    }

    /// Closes a socket: its peer reads end of stream, or is reset if this
    /// side left data unread (as TCP does).
    pub(crate) fn close(&mut self, id: SockId) {
        let state = std::mem::replace(&mut self.socks[id].state, State::Closed);
        if let Some(fd) = self.socks[id].fd.take() {
            if self.by_fd.get(&fd) == Some(&id) {
                self.by_fd.remove(&fd);
            }
        }
        match state {
            State::Stream { conn, side } => {
                let other = 1 - side;
                let c = &mut self.conns[conn];
                c.closed[side] = true;
                c.wr_shut[side] = true;
                if !c.inbox[side].is_empty() && !c.reset[side] {
                    c.reset[other] = true;
                    c.broken = true;
                    c.inbox[other].clear();
                } else {
                    c.eof[other] = true;
                }
            }
            State::Listening { queue, .. } => {
                for s in queue {
                    self.reset(s);
                }
            }
            State::Connecting { .. } => self.connecting.retain(|&s| s != id),
            _ => {}
        }
    }

    /// Closes with a reset (SO_LINGER 0): the peer sees ECONNRESET.
    pub(crate) fn reset(&mut self, id: SockId) {
        if let Some((conn, side)) = self.stream(id) {
            self.break_conn(conn);
            self.conns[conn].closed[side] = true;
            self.conns[conn].reset[side] = false;
        }
        self.close(id);
    }

    /// Shuts down the write half: the peer reads end of stream after the data.
    pub(crate) fn shutdown_write(&mut self, id: SockId) {
        if let Some((conn, side)) = self.stream(id) {
            self.conns[conn].wr_shut[side] = true;
            self.conns[conn].eof[1 - side] = true;
        }
    }

    pub(crate) fn bind(&mut self, id: SockId, addr: &SockAddr) -> io::Result<()> {
        let mut addr = addr.as_socket().ok_or_else(|| errno(libc::EAFNOSUPPORT))?;
        match self.socks[id].state {
            State::Fresh => {
                if addr.port() == 0 {
                    addr = self.ephemeral(addr.ip());
                }
                self.socks[id].state = State::Bound(addr);
                Ok(())
            }
            State::Closed => Err(errno(libc::EBADF)),
            _ => Err(errno(libc::EINVAL)),
        }
    }

    fn listener_at(&self, addr: SocketAddr) -> Option<SockId> {
        self.socks
            .iter()
            .position(|s| matches!(s.state, State::Listening { addr: a, .. } if a == addr))
    }

    pub(crate) fn listen(&mut self, id: SockId) -> io::Result<()> {
        let addr = match self.socks[id].state {
            State::Bound(addr) => addr,
            State::Fresh => self.ephemeral(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            State::Listening { .. } => return Ok(()),
            State::Closed => return Err(errno(libc::EBADF)),
            _ => return Err(errno(libc::EINVAL)),
        };
        if self.listener_at(addr).is_some() {
            return Err(errno(libc::EADDRINUSE));
        }
        self.socks[id].state = State::Listening {
            addr,
            queue: VecDeque::new(),
        };
        Ok(())
    }

    /// Starts a connect; it completes (or is refused) in `tick`, once its
    /// (seeded) delay has passed.
    pub(crate) fn connect(&mut self, id: SockId, to: &SockAddr) -> io::Result<()> {
        let to = to.as_socket().ok_or_else(|| errno(libc::EAFNOSUPPORT))?;
        let from = match self.socks[id].state {
            State::Fresh => self.ephemeral(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))),
            State::Bound(a) => a,
            State::Connecting { .. } => return Err(errno(libc::EALREADY)),
            State::Stream { .. } => return Err(errno(libc::EISCONN)),
            State::Closed => return Err(errno(libc::EBADF)),
            _ => return Err(errno(libc::EINVAL)),
        };
        let f = self.faults;
        let delay = self.rng.below(f.connect_delay_ms + 1);
        let refused = self.rng.chance(f.refuse);
        if delay > 0 {
            self.stats.delayed_connects += 1;
        }
        if refused {
            self.stats.refused += 1;
        }
        self.socks[id].state = State::Connecting {
            from,
            to,
            at: clock::now() + Duration::from_millis(delay),
            refused,
        };
        self.connecting.push(id);
        Err(errno(libc::EINPROGRESS))
    }

    /// A connection from a peer to a listener, established at once.
    pub(crate) fn peer_connect(&mut self, to: &SockAddr) -> io::Result<SockId> {
        let to = to.as_socket().ok_or_else(|| errno(libc::EAFNOSUPPORT))?;
        let id = self.peer_socket();
        let from = self.ephemeral(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3)));
        if !self.establish(id, from, to) {
            self.socks[id].state = State::Closed;
            return Err(errno(libc::ECONNREFUSED));
        }
        Ok(id)
    }

    /// Makes `client` a stream to the listener at `to`, queueing the server
    /// end; false if nothing listens there.
    fn establish(&mut self, client: SockId, from: SocketAddr, to: SocketAddr) -> bool {
        let Some(listener) = self.listener_at(to) else {
            return false;
        };
        let cap = self.rng.range(1, 16 << 10) as usize;
        self.conns.push(Conn {
            inbox: [VecDeque::new(), VecDeque::new()],
            eof: [false; 2],
            wr_shut: [false; 2],
            closed: [false; 2],
            reset: [false; 2],
            broken: false,
            cap,
            addrs: [from, to],
        });
        let conn = self.conns.len() - 1;
        self.socks[client].state = State::Stream { conn, side: 0 };
        let server = self.new_sock(State::Stream { conn, side: 1 });
        if let State::Listening { queue, .. } = &mut self.socks[listener].state {
            queue.push_back(server);
        }
        true
    }

    /// Time passes: connects whose delay is over complete; accepted sockets
    /// no channel adopted are closed (their placeholder was dropped).
    pub(crate) fn tick(&mut self) {
        let now = clock::now();
        let mut i = 0;
        while i < self.connecting.len() {
            let id = self.connecting[i];
            let State::Connecting {
                from,
                to,
                at,
                refused,
            } = self.socks[id].state
            else {
                self.connecting.swap_remove(i);
                continue;
            };
            if at > now {
                i += 1;
                continue;
            }
            self.connecting.swap_remove(i);
            if refused || !self.establish(id, from, to) {
                self.socks[id].state = State::Refused;
                self.socks[id].error = Some(libc::ECONNREFUSED);
            }
        }
        self.close_unclaimed();
    }

    /// Accepted sockets no channel adopted: their descriptor was dropped
    /// (shed on EMFILE, refused at a cap), which closes them. Called
    /// between handlers (a wait, a peer's move), never inside one. Their
    /// peer may lose what it sent, on purpose.
    pub(crate) fn close_unclaimed(&mut self) {
        for (_, id) in std::mem::take(&mut self.unclaimed) {
            if let Some((conn, _)) = self.stream(id) {
                self.conns[conn].broken = true;
            }
            self.close(id);
        }
    }

    /// One accept: a queued connection with a fresh placeholder descriptor.
    pub(crate) fn accept(&mut self, id: SockId) -> io::Result<(Socket, SockAddr)> {
        let queued = match &self.socks[id].state {
            State::Listening { queue, .. } => !queue.is_empty(),
            State::Closed => return Err(errno(libc::EBADF)),
            _ => return Err(errno(libc::EINVAL)),
        };
        if !queued {
            return Err(errno(libc::EAGAIN));
        }
        if self.rng.chance(self.faults.emfile) {
            self.stats.emfile += 1;
            return Err(errno(libc::EMFILE));
        }
        let placeholder = Socket::new(Domain::UNIX, Type::DGRAM, None)?;
        let State::Listening { queue, .. } = &mut self.socks[id].state else {
            return Err(errno(libc::EINVAL));
        };
        let Some(server) = queue.pop_front() else {
            return Err(errno(libc::EAGAIN));
        };
        self.give_fd(server, &placeholder);
        self.unclaimed.push((placeholder.as_raw_fd(), server));
        let peer = self.peer_addr(server)?;
        Ok((placeholder, peer))
    }

    /// A peer listener's next connection, if one is queued.
    pub(crate) fn peer_accept(&mut self, id: SockId) -> Option<SockId> {
        match &mut self.socks[id].state {
            State::Listening { queue, .. } => queue.pop_front(),
            _ => None,
        }
    }

    pub(crate) fn peer_addr(&self, id: SockId) -> io::Result<SockAddr> {
        let (conn, side) = self.stream(id).ok_or_else(|| errno(libc::ENOTCONN))?;
        Ok(self.conns[conn].addrs[1 - side].into())
    }

    pub(crate) fn take_error(&mut self, id: SockId) -> Option<i32> {
        self.socks[id].error.take()
    }

    /// What `poll(2)` would report for the socket (all bits, before the
    /// interest mask and the injected faults).
    pub(crate) fn readiness(&mut self, id: SockId) -> i16 {
        let (conn, side) = match &self.socks[id].state {
            State::Stream { conn, side } => (*conn, *side),
            State::Listening { queue, .. } => return if queue.is_empty() { 0 } else { POLLIN },
            State::Connecting { .. } => return 0,
            State::Refused => return POLLIN | POLLOUT | POLLERR | POLLHUP,
            // An unconnected stream socket, as Linux reports it.
            State::Fresh | State::Bound(_) => return POLLOUT | POLLHUP,
            State::Closed => return POLLNVAL,
        };
        let c = &self.conns[conn];
        let other = 1 - side;
        if c.reset[side] {
            return POLLIN | POLLOUT | POLLERR | POLLHUP;
        }
        let mut r = 0;
        if !c.inbox[side].is_empty() || c.eof[side] {
            r |= POLLIN;
        }
        if c.cap > c.inbox[other].len() || c.wr_shut[side] || c.closed[other] {
            r |= POLLOUT;
        }
        if c.eof[side] && c.wr_shut[side] {
            r |= POLLHUP;
        }
        // The peer closed entirely: AF_UNIX says so with a hang-up at once,
        // while data is still unread (TCP does not, for a FIN alone).
        let hangup = self.faults.hangup;
        if c.closed[other] && r & POLLHUP == 0 && self.rng.chance(hangup) {
            self.stats.hangup += 1;
            r |= POLLHUP;
        }
        r
    }
}
