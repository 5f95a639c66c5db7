//! `LoopGroupBuilder`: how many loops, on which backend and CPUs, and starting them.

use super::group::LoopGroup;
use super::loop_thread::{LoopThread, SetupFn, StateFn};
use super::pinning::Pinning;
use crate::event_loop::EventLoop;
use crate::remote::Remote;
use crate::sys::{affinity, Backend};
use std::io;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

/// How to start a [`LoopGroup`]: the number of loops, their backend, CPU
/// pinning and thread names. Made by [`LoopGroup::builder`].
///
/// # Examples
///
/// ```
/// use asyncore_loop::{Backend, LoopGroup, Pinning};
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
    /// let group = asyncore_loop::LoopGroup::builder(1)
    ///     .backend(asyncore_loop::Backend::Select)
    ///     .start(|_, ev| { assert_eq!(ev.backend(), asyncore_loop::Backend::Select); Ok(()) })?;
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
    /// use asyncore_loop::{LoopGroup, Pinning};
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
    /// let group = asyncore_loop::LoopGroup::builder(1).thread_name("echo").start(|i, _| {
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
    /// let group = asyncore_loop::LoopGroup::builder(2).start(|index, _ev| {
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
    /// listener from a [`ReusePortAddr`](super::ReusePortAddr)), then runs the loop with
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
    /// let group = asyncore_loop::LoopGroup::builder(2).start_with_state(
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

impl LoopGroup<()> {
    /// A builder for `loops` loops (at least one; [`start`](LoopGroupBuilder::start)
    /// refuses zero). One per core is the usual choice:
    /// `std::thread::available_parallelism()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    /// let group = asyncore_loop::LoopGroup::builder(cores).start(|_, _| Ok(()))?;
    /// assert_eq!(group.join().len(), cores);
    /// assert!(asyncore_loop::LoopGroup::builder(0).start(|_, _| Ok(())).is_err());
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
