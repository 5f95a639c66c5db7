//! One event loop per core: a [`LoopGroup`] of threads, each running its own
//! [`EventLoop`], each loop owning its own listener on one shared address
//! (`SO_REUSEPORT`), so that the kernel spreads new connections over the
//! loops.
//!
//! An [`EventLoop`] is not `Send`, by design: its channels, handlers and
//! shared state live on one thread, with no locks. To use more cores, run
//! more loops — one per thread — and give each its own listening socket.
//! With `SO_REUSEPORT` set on every one of them, several sockets may bind the
//! same address, and Linux hands each incoming connection to one of them (by
//! a hash of the connection's addresses and ports). A connection then lives
//! and dies in the loop that accepted it; loops share nothing but what the
//! program gives them.
//!
//! * [`reuse_port_listener`]: one non-blocking listening TCP socket with
//!   `SO_REUSEADDR` and `SO_REUSEPORT`.
//! * [`ReusePortAddr`]: an address that several loops listen on; the first
//!   listener resolves port 0, the others bind the port it got.
//! * [`LoopGroup`] (built with [`LoopGroup::builder`]): spawns the threads, has
//!   each build its loop with your setup closure, optionally pins them to
//!   CPUs ([`Pinning`]), and gives back each loop's [`Remote`], a group-wide
//!   [`shutdown`](LoopGroup::shutdown) and a [`join`](LoopGroup::join) that
//!   collects every loop's result (a failed setup or a panic is an error, not
//!   a panic of the caller).
//!
//! # Examples
//!
//! An echo server on two loops:
//!
//! ```
//! use asyncore::{Cx, Dispatcher, LoopGroup, ReusePortAddr, SendBuffer, SockAddr, Socket, View};
//! use std::io::{self, Read, Write};
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! #[derive(Default)]
//! struct Echo { out: SendBuffer }
//! impl Dispatcher for Echo {
//!     fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
//!         let data = cx.recv(8192)?;
//!         if !data.is_empty() { self.out.send(cx, &data)?; }
//!         Ok(())
//!     }
//!     fn writable(&self, ch: &View<'_>) -> bool { self.out.writable(ch) }
//!     fn handle_write(&mut self, cx: &mut Cx<'_>) -> io::Result<()> { self.out.initiate_send(cx) }
//!     fn handle_close(&mut self, cx: &mut Cx<'_>) -> io::Result<()> { cx.close() }
//! }
//!
//! struct Listener;
//! impl Dispatcher for Listener {
//!     fn handle_accepted(&mut self, cx: &mut Cx<'_>, sock: Socket, _: SockAddr) -> io::Result<()> {
//!         cx.add(Echo::default()).adopt(sock)?;
//!         Ok(())
//!     }
//! }
//!
//! let addr = Arc::new(ReusePortAddr::new(([127, 0, 0, 1], 0)));
//! let shared = Arc::clone(&addr);
//! // Each loop, on its own thread, adds its own listener on the same address.
//! let group = LoopGroup::builder(2).start(move |_index, ev| {
//!     shared.add_listener(ev, Listener)?;
//!     Ok(())
//! })?;
//! let bound = addr.local_addr().expect("the loops are listening");
//!
//! let mut client = std::net::TcpStream::connect(bound)?;
//! client.write_all(b"ping")?;
//! let mut echoed = [0u8; 4];
//! client.read_exact(&mut echoed)?;
//! assert_eq!(&echoed, b"ping");
//!
//! group.shutdown(Duration::from_secs(1));
//! for result in group.join() {
//!     result?;
//! }
//! # Ok::<(), io::Error>(())
//! ```

use crate::dispatcher::Dispatcher;
use crate::event_loop::EventLoop;
use crate::remote::Remote;
use crate::sys::{affinity, Backend};
use crate::token::Token;
use socket2::{Domain, Protocol, Socket, Type};
use std::any::Any;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

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
/// let first = asyncore::reuse_port_listener("127.0.0.1:0".parse().unwrap(), 128)?;
/// let addr = first.local_addr()?.as_socket().unwrap();
/// // A second listener on the very same address and port:
/// let second = asyncore::reuse_port_listener(addr, 128)?;
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
/// closure of a [`LoopGroup`].
///
/// The first listener opened binds the requested address; if its port is 0,
/// the port it got is recorded and every later listener binds that port, so
/// all of them share one address. Opening is serialized (a mutex held across
/// the bind), so loops may open their listeners concurrently.
///
/// # Examples
///
/// ```
/// let addr = asyncore::ReusePortAddr::new(([127, 0, 0, 1], 0));
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
    /// let addr = asyncore::ReusePortAddr::new("127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap());
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
    /// let addr = asyncore::ReusePortAddr::new(([127, 0, 0, 1], 0)).with_backlog(1024);
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
    /// let addr = asyncore::ReusePortAddr::new(([127, 0, 0, 1], 7007));
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
    /// let addr = asyncore::ReusePortAddr::new(([127, 0, 0, 1], 0));
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
    /// let addr = asyncore::ReusePortAddr::new(([127, 0, 0, 1], 0));
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
    /// use asyncore::{Dispatcher, EventLoop, ReusePortAddr};
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

/// Which CPUs the threads of a [`LoopGroup`] run on.
///
/// # Examples
///
/// ```
/// use asyncore::{LoopGroup, Pinning};
/// let builder = LoopGroup::builder(2).pinning(Pinning::Cpus(vec![0]));
/// # drop(builder);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Pinning {
    /// No pinning: the scheduler places the threads (the default).
    #[default]
    Off,
    /// Loop `i` on the `i`-th CPU this process may run on (wrapping around
    /// when there are more loops than CPUs).
    Spread,
    /// Loop `i` on CPU `cpus[i % cpus.len()]`.
    Cpus(Vec<usize>),
}

/// How to start a [`LoopGroup`]: the number of loops, their backend, CPU
/// pinning and thread names. Made by [`LoopGroup::builder`].
///
/// # Examples
///
/// ```
/// use asyncore::{Backend, LoopGroup, Pinning};
/// let group = LoopGroup::builder(2)
///     .backend(Backend::Poll)
///     .pinning(Pinning::Off)
///     .thread_name("worker")
///     .start(|_, _| Ok(()))?; // nothing to serve: the loops end at once
/// assert!(group.join().iter().all(|r| r.is_ok()));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct LoopGroupBuilder {
    loops: usize,
    backend: Backend,
    pinning: Pinning,
    name: String,
}

impl LoopGroupBuilder {
    /// The backend of every loop (default: epoll).
    ///
    /// # Examples
    ///
    /// ```
    /// let group = asyncore::LoopGroup::builder(1)
    ///     .backend(asyncore::Backend::Select)
    ///     .start(|_, ev| { assert_eq!(ev.backend(), asyncore::Backend::Select); Ok(()) })?;
    /// assert!(group.join()[0].is_ok());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// CPU pinning of the loop threads (default: [`Pinning::Off`]). A thread
    /// that cannot be pinned (a CPU outside the process's set) fails its
    /// setup: [`join`](LoopGroup::join) reports the error.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore::{LoopGroup, Pinning};
    /// let group = LoopGroup::builder(2).pinning(Pinning::Spread).start(|_, _| Ok(()))?;
    /// assert!(group.join().iter().all(|r| r.is_ok()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pinning(mut self, pinning: Pinning) -> Self {
        self.pinning = pinning;
        self
    }

    /// Thread names: `{prefix}-{index}` (default prefix: `asyncore-loop`).
    ///
    /// # Examples
    ///
    /// ```
    /// let group = asyncore::LoopGroup::builder(1).thread_name("echo").start(|i, _| {
    ///     assert_eq!(std::thread::current().name(), Some(format!("echo-{i}").as_str()));
    ///     Ok(())
    /// })?;
    /// assert!(group.join()[0].is_ok());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        self.name = prefix.into();
        self
    }

    /// Starts the loops, each with no shared state (see
    /// [`start_with_state`](LoopGroupBuilder::start_with_state)).
    ///
    /// # Errors
    ///
    /// As [`start_with_state`](LoopGroupBuilder::start_with_state).
    ///
    /// # Examples
    ///
    /// ```
    /// let group = asyncore::LoopGroup::builder(2).start(|index, _ev| {
    ///     assert!(index < 2);
    ///     Ok(())
    /// })?;
    /// assert_eq!(group.join().len(), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start<F>(self, setup: F) -> io::Result<LoopGroup>
    where
        F: Fn(usize, &mut EventLoop) -> io::Result<()> + Send + Sync + 'static,
    {
        self.start_with_state(|_| (), setup)
    }

    /// Starts the loops: spawns one thread per loop; thread `i` pins itself
    /// (if asked), builds `EventLoop::with_state(state(i))` on the chosen
    /// backend, calls `setup(i, &mut loop)` to add its channels (typically a
    /// listener from a [`ReusePortAddr`]), then runs the loop with
    /// [`EventLoop::run`] — until its map is empty and no timer is armed, a
    /// [`Remote`] stops it, or a shutdown completes.
    ///
    /// Returns once every loop has finished its setup, so listeners opened
    /// in `setup` are listening. A loop whose setup failed (an error, or a
    /// panic) does not run: its [`remote`](LoopGroup::remote) is `None` and
    /// [`join`](LoopGroup::join) reports why; the other loops run.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for zero loops or an empty CPU list; the OS error if
    /// the allowed CPUs cannot be read ([`Pinning::Spread`]) or a thread
    /// cannot be spawned (the loops already started are then shut down and
    /// joined).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// // Each loop counts its timer ticks in its own state and stops itself.
    /// let group = asyncore::LoopGroup::builder(2).start_with_state(
    ///     |index| index * 100,
    ///     |_, ev| {
    ///         ev.call_every(Duration::from_millis(1), |cx| {
    ///             *cx.state() += 1;
    ///             if *cx.state() % 100 == 3 { cx.stop(); }
    ///             Ok(())
    ///         });
    ///         Ok(())
    ///     },
    /// )?;
    /// assert!(group.join().iter().all(|r| r.is_ok()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start_with_state<S, FS, F>(self, state: FS, setup: F) -> io::Result<LoopGroup<S>>
    where
        S: 'static,
        FS: Fn(usize) -> S + Send + Sync + 'static,
        F: Fn(usize, &mut EventLoop<S>) -> io::Result<()> + Send + Sync + 'static,
    {
        if self.loops == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a loop group needs at least one loop",
            ));
        }
        let cpus = self.cpus()?;
        let state: Arc<StateFn<S>> = Arc::new(state);
        let setup: Arc<SetupFn<S>> = Arc::new(setup);
        let (ready_tx, ready_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let mut threads = Vec::with_capacity(self.loops);
        let mut spawn_error = None;
        for (index, cpu) in cpus.into_iter().enumerate() {
            let job = LoopThread {
                index,
                backend: self.backend,
                cpu,
                state: Arc::clone(&state),
                setup: Arc::clone(&setup),
                ready: ready_tx.clone(),
                done: done_tx.clone(),
            };
            match thread::Builder::new()
                .name(format!("{}-{index}", self.name))
                .spawn(move || job.run())
            {
                Ok(handle) => threads.push(handle),
                Err(e) => {
                    spawn_error = Some(e);
                    break;
                }
            }
        }
        drop((ready_tx, done_tx));
        let mut remotes: Vec<Option<Remote<S>>> = vec![None; threads.len()];
        for _ in 0..threads.len() {
            // Every thread reports once; a disconnect means none is left to.
            match ready_rx.recv() {
                Ok((index, remote)) => remotes[index] = remote,
                Err(_) => break,
            }
        }
        let group = LoopGroup {
            remotes,
            threads,
            done: done_rx,
        };
        match spawn_error {
            None => Ok(group),
            Some(e) => {
                group.shutdown(Duration::ZERO);
                let _ = group.join();
                Err(e)
            }
        }
    }

    /// The CPU of each loop, from the pinning.
    fn cpus(&self) -> io::Result<Vec<Option<usize>>> {
        let list = match &self.pinning {
            Pinning::Off => return Ok(vec![None; self.loops]),
            Pinning::Spread => affinity::allowed_cpus()?,
            Pinning::Cpus(list) => list.clone(),
        };
        if list.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no CPU to pin the loops to",
            ));
        }
        Ok((0..self.loops)
            .map(|i| Some(list[i % list.len()]))
            .collect())
    }
}

type StateFn<S> = dyn Fn(usize) -> S + Send + Sync;
type SetupFn<S> = dyn Fn(usize, &mut EventLoop<S>) -> io::Result<()> + Send + Sync;

/// What one loop thread is given.
struct LoopThread<S: 'static> {
    index: usize,
    backend: Backend,
    cpu: Option<usize>,
    state: Arc<StateFn<S>>,
    setup: Arc<SetupFn<S>>,
    ready: mpsc::Sender<(usize, Option<Remote<S>>)>,
    done: mpsc::Sender<usize>,
}

/// Tells [`LoopGroup::join_timeout`] that a loop thread is finishing,
/// however it ends.
struct DoneGuard {
    index: usize,
    done: mpsc::Sender<usize>,
}

impl Drop for DoneGuard {
    fn drop(&mut self) {
        let _ = self.done.send(self.index);
    }
}

impl<S: 'static> LoopThread<S> {
    /// The thread's body: set up (reporting to `start`), then run. Panics
    /// are caught and become errors.
    fn run(self) -> io::Result<()> {
        let LoopThread {
            index,
            backend,
            cpu,
            state,
            setup,
            ready,
            done,
        } = self;
        let _done = DoneGuard { index, done };
        // The loop is dropped inside `catch_unwind` whatever happens, so a
        // panicking `Drop` of a dispatcher is caught too.
        let built = catch_unwind(AssertUnwindSafe(
            || -> io::Result<(EventLoop<S>, Remote<S>)> {
                if let Some(cpu) = cpu {
                    affinity::pin_current_thread(cpu)?;
                }
                let mut ev = EventLoop::with_state(state(index)).with_backend(backend);
                let remote = ev.remote()?;
                setup(index, &mut ev)?;
                Ok((ev, remote))
            },
        ));
        let mut ev = match built {
            Ok(Ok((ev, remote))) => {
                let _ = ready.send((index, Some(remote)));
                ev
            }
            Ok(Err(e)) => {
                let _ = ready.send((index, None));
                return Err(e);
            }
            Err(payload) => {
                let _ = ready.send((index, None));
                return Err(panicked(index, "its setup", payload.as_ref()));
            }
        };
        drop(ready);
        match catch_unwind(AssertUnwindSafe(move || {
            let result = ev.run();
            drop(ev);
            result
        })) {
            Ok(result) => result,
            Err(payload) => Err(panicked(index, "its run", payload.as_ref())),
        }
    }
}

/// The error a caught panic becomes.
fn panicked(index: usize, during: &str, payload: &(dyn Any + Send)) -> io::Error {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic payload that is not a string)".to_string());
    io::Error::other(format!("loop {index} panicked during {during}: {message}"))
}

/// A group of event loops, one per thread (typically one per core), started
/// by [`LoopGroup::builder`]. See the [module documentation](crate::per_core)
/// for the design and a complete echo server.
///
/// The handle gives each loop's [`Remote`] (to post work to it, stop it or
/// shut it down), shuts every loop down at once, and joins them, collecting
/// each loop's result. Dropping the handle without joining asks every loop to
/// shut down at once (grace zero) and does not wait for them.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let group = asyncore::LoopGroup::builder(2).start(|_, ev| {
///     // Keep each loop alive until it is shut down.
///     ev.call_every(Duration::from_secs(60), |_| Ok(()));
///     Ok(())
/// })?;
/// assert_eq!(group.loop_count(), 2);
/// group.shutdown(Duration::from_secs(1));
/// assert!(group.join().iter().all(|r| r.is_ok()));
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct LoopGroup<S: 'static = ()> {
    remotes: Vec<Option<Remote<S>>>,
    threads: Vec<JoinHandle<io::Result<()>>>,
    done: mpsc::Receiver<usize>,
}

impl<S: 'static> fmt::Debug for LoopGroup<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopGroup")
            .field("loops", &self.remotes.len())
            .field(
                "set_up",
                &self.remotes.iter().filter(|r| r.is_some()).count(),
            )
            .finish_non_exhaustive()
    }
}

impl LoopGroup<()> {
    /// A builder for `loops` loops (at least one; [`start`](LoopGroupBuilder::start)
    /// refuses zero). One per core is the usual choice:
    /// `std::thread::available_parallelism()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    /// let group = asyncore::LoopGroup::builder(cores).start(|_, _| Ok(()))?;
    /// assert_eq!(group.join().len(), cores);
    /// assert!(asyncore::LoopGroup::builder(0).start(|_, _| Ok(())).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn builder(loops: usize) -> LoopGroupBuilder {
        LoopGroupBuilder {
            loops,
            backend: Backend::default(),
            pinning: Pinning::Off,
            name: "asyncore-loop".to_string(),
        }
    }
}

impl<S: 'static> LoopGroup<S> {
    /// How many loops the group started (set up or not).
    ///
    /// # Examples
    ///
    /// ```
    /// let group = asyncore::LoopGroup::builder(3).start(|_, _| Ok(()))?;
    /// assert_eq!(group.loop_count(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn loop_count(&self) -> usize {
        self.remotes.len()
    }

    /// The [`Remote`] of loop `index`: `None` if there is no such loop or
    /// its setup failed (then [`join`](LoopGroup::join) reports why). Once
    /// the loop has ended, posting to it fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let group = asyncore::LoopGroup::builder(2).start_with_state(|_| 0u32, |_, ev| {
    ///     ev.call_every(Duration::from_secs(60), |_| Ok(()));
    ///     Ok(())
    /// })?;
    /// // Run a closure on loop 1's thread, then stop it from there.
    /// group.remote(1).unwrap().post(|cx| { *cx.state() += 1; cx.stop(); Ok(()) })?;
    /// assert!(group.remote(2).is_none());
    /// group.shutdown(Duration::from_secs(1));
    /// assert!(group.join().iter().all(|r| r.is_ok()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn remote(&self, index: usize) -> Option<&Remote<S>> {
        self.remotes.get(index)?.as_ref()
    }

    /// Asks every loop for a graceful shutdown within `grace` (see
    /// [`Remote::shutdown`]): listeners close at once, every other channel
    /// gets [`handle_shutdown`](Dispatcher::handle_shutdown), and whatever
    /// is still open at `grace` is closed; then each loop's `run` returns.
    /// Does not wait: [`join`](LoopGroup::join) does.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let group = asyncore::LoopGroup::builder(2).start(|_, ev| {
    ///     ev.call_every(Duration::from_secs(60), |_| Ok(()));
    ///     Ok(())
    /// })?;
    /// group.shutdown(Duration::ZERO);
    /// assert!(group.join().iter().all(|r| r.is_ok()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, grace: Duration) {
        for remote in self.remotes.iter().flatten() {
            remote.shutdown(grace);
        }
    }

    /// Waits for every loop thread to end and returns each loop's result,
    /// in loop order: `Ok` when its `run` returned `Ok`, the error of a
    /// failed setup or run, or an error describing a panic (a panic in a
    /// loop thread is caught; it never reaches the caller).
    ///
    /// Blocks until the loops end: call [`shutdown`](LoopGroup::shutdown)
    /// first, or bound the wait with [`join_timeout`](LoopGroup::join_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// let group = asyncore::LoopGroup::builder(2).start(|index, _| {
    ///     if index == 1 { panic!("no luck") }
    ///     Ok(())
    /// })?;
    /// let results = group.join();
    /// assert!(results[0].is_ok());
    /// assert!(results[1].as_ref().unwrap_err().to_string().contains("no luck"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn join(mut self) -> Vec<io::Result<()>> {
        let threads = std::mem::take(&mut self.threads);
        threads
            .into_iter()
            .enumerate()
            .map(|(index, handle)| join_thread(index, handle))
            .collect()
    }

    /// [`join`](LoopGroup::join), waiting at most `limit`: a loop still
    /// running then is reported as a `TimedOut` error, and its thread is
    /// left running (detached).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let group = asyncore::LoopGroup::builder(2).start(|index, ev| {
    ///     if index == 1 {
    ///         ev.call_every(Duration::from_secs(60), |_| Ok(())); // never ends by itself
    ///     }
    ///     Ok(())
    /// })?;
    /// let remote = group.remote(1).unwrap().clone();
    /// let results = group.join_timeout(Duration::from_millis(50));
    /// assert!(results[0].is_ok());
    /// assert_eq!(results[1].as_ref().unwrap_err().kind(), std::io::ErrorKind::TimedOut);
    /// remote.shutdown(Duration::ZERO); // let the detached loop end
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn join_timeout(mut self, limit: Duration) -> Vec<io::Result<()>> {
        let threads = std::mem::take(&mut self.threads);
        let deadline = Instant::now() + limit;
        let mut finished = vec![false; threads.len()];
        let mut left = threads.len();
        while left > 0 {
            let wait = deadline.saturating_duration_since(Instant::now());
            match self.done.recv_timeout(wait) {
                Ok(index) => {
                    if let Some(f) = finished.get_mut(index).filter(|f| !**f) {
                        *f = true;
                        left -= 1;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // Every thread has dropped its sender: all have finished.
                    finished.iter_mut().for_each(|f| *f = true);
                    break;
                }
            }
        }
        threads
            .into_iter()
            .enumerate()
            .map(|(index, handle)| {
                if finished[index] {
                    join_thread(index, handle)
                } else {
                    Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "loop {index} did not end within {limit:?}; its thread is left running"
                        ),
                    ))
                }
            })
            .collect()
    }
}

fn join_thread(index: usize, handle: JoinHandle<io::Result<()>>) -> io::Result<()> {
    match handle.join() {
        Ok(result) => result,
        Err(payload) => Err(panicked(index, "its thread", payload.as_ref())),
    }
}

impl<S: 'static> Drop for LoopGroup<S> {
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            self.shutdown(Duration::ZERO);
        }
    }
}
