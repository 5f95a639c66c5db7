//! A deterministic simulation of the network, for tests (feature `sim`).
//!
//! A [`SimNet`] is an in-memory world of sockets with a virtual clock. A loop
//! attached to it with [`EventLoop::with_sim`] waits on the simulated world
//! instead of the OS: the sockets its channels create, bind, connect and
//! accept are simulated, and its timers, deadlines and waits read the
//! virtual clock. Everything else (the passes, the dispatch, your
//! handlers, [`AsyncChat`](crate::chat::AsyncChat)) is the code that runs on
//! real sockets. The test plays the other ends of the connections as
//! [`Peer`]s.
//!
//! One key (a `u64`) decides every choice the world makes: the order of ready events,
//! how many bytes each read and write moves, and which [`Faults`] strike
//! where (would-block, `EINTR`, resets, `EPIPE`, hang-ups with unread data,
//! spurious readiness, `EMFILE` on accept, refused and delayed connects,
//! clock jumps). The same key and the same test replay the same run.
//!
//! # Examples
//!
//! An echo server on a simulated network, a peer talking to it:
//!
//! ```
//! use asyncore_loop::sim::{Faults, SimNet};
//! use asyncore_loop::{Cx, Dispatcher, EventLoop, SendBuffer, SockAddr, Socket, View, AF_INET, SOCK_STREAM};
//! use std::io;
//! use std::time::Duration;
//!
//! #[derive(Default)]
//! struct Echo { out: SendBuffer }
//! impl Dispatcher for Echo {
//!     fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
//!         let data = cx.recv(512)?;
//!         self.out.send(cx, &data)
//!     }
//!     fn writable(&self, ch: &View<'_>) -> bool { self.out.writable(ch) }
//!     fn handle_write(&mut self, cx: &mut Cx<'_>) -> io::Result<()> { self.out.initiate_send(cx) }
//!     fn handle_close(&mut self, cx: &mut Cx<'_>) -> io::Result<()> { cx.close() }
//! }
//! struct Server;
//! impl Dispatcher for Server {
//!     fn handle_accepted(&mut self, cx: &mut Cx<'_>, sock: Socket, _: SockAddr) -> io::Result<()> {
//!         cx.add(Echo::default()).adopt(sock).map(drop)
//!     }
//! }
//!
//! // Short reads and writes, shuffled events, spurious readiness, clock jumps.
//! let net = SimNet::new(42, Faults { partial: 500, shuffle: 500, spurious: 100, clock_jump: 50, max_jump_ms: 1000, ..Faults::none() });
//! let mut ev = EventLoop::new().with_sim(&net);
//! let mut server = ev.add(Server);
//! server.create_socket(AF_INET, SOCK_STREAM)?;
//! server.bind("10.0.0.1:7")?;
//! server.listen(5)?;
//!
//! let peer = net.connect("10.0.0.1:7".parse::<std::net::SocketAddr>().unwrap().into())?;
//! let mut sent = 0;
//! let mut got = Vec::new();
//! for _ in 0..1000 {
//!     if got.len() == 5 {
//!         break;
//!     }
//!     if sent < 5 {
//!         sent += peer.write(&b"hello"[sent..]);
//!     }
//!     ev.poll(Some(Duration::from_millis(10)))?;
//!     if let asyncore_loop::sim::Read::Data(d) = peer.read(64) {
//!         got.extend(d);
//!     }
//! }
//! assert_eq!(got, b"hello");
//! # Ok::<(), io::Error>(())
//! ```

pub(crate) mod clock;
mod faults;
mod rng;
mod selector;
pub(crate) mod socket;
mod world;

pub use faults::Faults;
pub use rng::Rng;

pub(crate) use selector::SimSelector;
pub(crate) use socket::SimSocket;

use crate::channel::Io;
use crate::cx::Cx;
use crate::event_loop::EventLoop;
use socket2::{SockAddr, Socket};
use std::cell::{RefCell, RefMut};
use std::io;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use world::{SockId, World};

/// How many times each fault struck so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Reads, writes and waits interrupted.
    pub eintr: u64,
    /// Reads and writes that would-block although they could proceed.
    pub would_block: u64,
    /// Reads and writes cut short.
    pub partial: u64,
    /// Connections reset.
    pub reset: u64,
    /// Writes that found the peer gone.
    pub epipe: u64,
    /// Hang-ups reported with data unread.
    pub hangup: u64,
    /// Readiness reported for a socket that was not ready.
    pub spurious: u64,
    /// Accepts that ran out of descriptors.
    pub emfile: u64,
    /// Connects refused.
    pub refused: u64,
    /// Connects delayed.
    pub delayed_connects: u64,
    /// Waits that reported their events in a shuffled order.
    pub shuffles: u64,
    /// Forward jumps of the clock.
    pub clock_jumps: u64,
}

impl std::ops::AddAssign for Stats {
    fn add_assign(&mut self, o: Stats) {
        self.eintr += o.eintr;
        self.would_block += o.would_block;
        self.partial += o.partial;
        self.reset += o.reset;
        self.epipe += o.epipe;
        self.hangup += o.hangup;
        self.spurious += o.spurious;
        self.emfile += o.emfile;
        self.refused += o.refused;
        self.delayed_connects += o.delayed_connects;
        self.shuffles += o.shuffles;
        self.clock_jumps += o.clock_jumps;
    }
}

/// A simulated network with a virtual clock, decided by one key.
///
/// Creating one starts virtual time on this thread (until it and every loop
/// attached to it are dropped): the loops of this thread then read the
/// virtual clock. See the [module documentation](self).
#[derive(Clone)]
pub struct SimNet(pub(crate) Rc<RefCell<World>>);

impl std::fmt::Debug for SimNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SimNet(key {})", self.key())
    }
}

static NEXT_WORLD: AtomicU64 = AtomicU64::new(1);

impl SimNet {
    /// A new world whose every choice follows from `key`, injecting `faults`.
    pub fn new(key: u64, faults: Faults) -> SimNet {
        let id = NEXT_WORLD.fetch_add(1, Ordering::Relaxed);
        clock::install(id);
        SimNet(Rc::new(RefCell::new(World::new(id, key, faults))))
    }

    pub(crate) fn world(&self) -> RefMut<'_, World> {
        self.0.borrow_mut()
    }

    /// The world as a peer finds it: what the loop dropped since is closed.
    fn peer_world(&self) -> RefMut<'_, World> {
        let mut w = self.0.borrow_mut();
        w.close_unclaimed();
        w
    }

    /// The key this world was made with.
    pub fn key(&self) -> u64 {
        self.0.borrow().seed
    }

    /// The faults injected so far.
    pub fn stats(&self) -> Stats {
        self.0.borrow().stats
    }

    /// The virtual time.
    pub fn now(&self) -> Instant {
        clock::now()
    }

    /// Moves the virtual clock forward.
    pub fn advance(&self, by: Duration) {
        clock::advance(by);
    }

    /// A choice for the test, from the world's own generator (so the test's
    /// choices replay with the key too): a number in `0..n`.
    pub fn below(&self, n: u64) -> u64 {
        self.world().rng.below(n)
    }

    /// True with probability `per_mille` / 1000, from the world's generator.
    pub fn chance(&self, per_mille: u16) -> bool {
        self.world().rng.chance(per_mille)
    }

    /// A peer connects to the listener at `addr` (established at once;
    /// `ECONNREFUSED` if nothing listens there).
    pub fn connect(&self, addr: SockAddr) -> io::Result<Peer> {
        let id = self.peer_world().peer_connect(&addr)?;
        Ok(Peer {
            net: self.clone(),
            id,
        })
    }

    /// A peer listens at `addr`, for channels of the loop to connect to.
    pub fn listen(&self, addr: SockAddr) -> io::Result<PeerListener> {
        let mut w = self.world();
        let id = w.peer_socket();
        w.bind(id, &addr)?;
        w.listen(id)?;
        Ok(PeerListener {
            net: self.clone(),
            id,
        })
    }

    /// The readiness reports since the last call: (readiness key, socket id).
    pub fn take_reports(&self) -> Vec<(u64, u64)> {
        std::mem::take(&mut self.world().reports)
            .into_iter()
            .map(|(k, s)| (k, s as u64))
            .collect()
    }

    /// The simulated socket of a channel, if it has one: its id in this
    /// world (as [`take_reports`](SimNet::take_reports) names it).
    pub fn socket_id<S: 'static>(cx: &Cx<'_, S>) -> Option<u64> {
        match &cx.ch.io {
            Io::Sim(s) => Some(s.id as u64),
            _ => None,
        }
    }

    /// Bytes a channel's socket has received and not read yet.
    pub fn unread<S: 'static>(cx: &Cx<'_, S>) -> usize {
        match &cx.ch.io {
            Io::Sim(s) => s.net.unread_of(s.id as u64),
            _ => 0,
        }
    }

    /// Whether a channel's connection was reset or broken (by a fault or
    /// a peer), so that data may have been lost on purpose.
    pub fn broken<S: 'static>(cx: &Cx<'_, S>) -> bool {
        match &cx.ch.io {
            Io::Sim(s) => s.net.broken_of(s.id as u64),
            _ => false,
        }
    }

    /// Bytes socket `sock` has received and not read yet.
    pub fn unread_of(&self, sock: u64) -> usize {
        self.0.borrow().unread(sock as usize)
    }

    /// Whether socket `sock`'s connection was reset or broken.
    pub fn broken_of(&self, sock: u64) -> bool {
        self.0.borrow().broken(sock as usize)
    }

    /// A new simulated socket for a channel.
    pub(crate) fn socket(&self) -> io::Result<SimSocket> {
        let (id, placeholder) = self.world().loop_socket()?;
        Ok(SimSocket::new(self.clone(), id, placeholder))
    }

    /// The simulated socket behind a descriptor `accept` returned, or the
    /// socket back if it is not one.
    pub(crate) fn claim(&self, sock: Socket) -> Result<SimSocket, Socket> {
        let claimed = self.world().claim(sock.as_raw_fd());
        match claimed {
            Some(id) => Ok(SimSocket::new(self.clone(), id, sock)),
            None => Err(sock),
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        clock::uninstall(self.id);
    }
}

/// What a peer's read found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Read {
    /// Bytes.
    Data(Vec<u8>),
    /// Nothing to read yet.
    WouldBlock,
    /// End of stream: the channel closed or shut down its side.
    Eof,
    /// The connection was reset.
    Reset,
}

/// The test's end of a simulated connection. Its calls inject no faults
/// (the test decides what a peer does).
#[derive(Debug)]
pub struct Peer {
    net: SimNet,
    id: SockId,
}

impl Peer {
    /// Writes what fits in the connection's buffer; returns how much did.
    /// 0 when full, or when the connection is gone.
    pub fn write(&self, data: &[u8]) -> usize {
        let mut w = self.net.peer_world();
        let faults = std::mem::replace(&mut w.faults, Faults::none());
        let n = w.send(self.id, data).unwrap_or(0);
        w.faults = faults;
        n
    }

    /// Reads at most `max` bytes.
    pub fn read(&self, max: usize) -> Read {
        let mut w = self.net.peer_world();
        let faults = std::mem::replace(&mut w.faults, Faults::none());
        let mut buf = vec![0; max];
        let r = w.recv(self.id, &mut buf);
        w.faults = faults;
        match r {
            Ok(0) if max > 0 => Read::Eof,
            Ok(n) => {
                buf.truncate(n);
                Read::Data(buf)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Read::WouldBlock,
            Err(_) => Read::Reset,
        }
    }

    /// Shuts down the write half: the channel reads end of stream after the data.
    pub fn shutdown_write(&self) {
        self.net.peer_world().shutdown_write(self.id);
    }

    /// Closes; data the peer left unread resets the connection, as TCP does.
    pub fn close(&self) {
        self.net.peer_world().close(self.id);
    }

    /// Closes with a reset (`SO_LINGER` 0): the channel sees `ECONNRESET`.
    pub fn reset(&self) {
        self.net.peer_world().reset(self.id);
    }

    /// Whether the connection was reset or broken.
    pub fn broken(&self) -> bool {
        self.net.0.borrow().broken(self.id)
    }

    /// Whether this peer's socket is connected (not refused, not closed).
    pub fn connected(&self) -> bool {
        self.net.0.borrow().is_stream(self.id)
    }

    /// Whether the peer's socket is closed.
    pub fn is_closed(&self) -> bool {
        self.net.0.borrow().is_closed(self.id)
    }

    /// This peer's socket id (as [`SimNet::take_reports`] names sockets).
    pub fn id(&self) -> u64 {
        self.id as u64
    }
}

/// A peer listening for the loop's channels to connect.
#[derive(Debug)]
pub struct PeerListener {
    net: SimNet,
    id: SockId,
}

impl PeerListener {
    /// The next connection a channel made to this listener.
    pub fn accept(&self) -> Option<Peer> {
        let id = self.net.peer_world().peer_accept(self.id)?;
        Some(Peer {
            net: self.net.clone(),
            id,
        })
    }

    /// Stops listening; connections still queued are reset.
    pub fn close(&self) {
        self.net.world().close(self.id);
    }
}

impl<S: 'static> EventLoop<S> {
    /// The same loop on the simulated network `net`: its waits, its new
    /// sockets and its clock are simulated (the backend chosen with
    /// [`with_backend`](EventLoop::with_backend) gives the style of the
    /// passes). Attach before adding channels.
    pub fn with_sim(mut self, net: &SimNet) -> Self {
        self.settle();
        self.core.poller.set_sim(net.clone());
        self
    }
}

/// The socket `create_socket` makes on a simulated loop (streams only).
pub(crate) fn new_channel_socket(net: &SimNet, ty: socket2::Type) -> io::Result<SimSocket> {
    if ty != socket2::Type::STREAM {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the simulated network has stream sockets only",
        ));
    }
    net.socket()
}
