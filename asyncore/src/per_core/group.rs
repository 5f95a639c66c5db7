//! `LoopGroup`: the running loops of a group, their remotes, shutdown and join.

use super::loop_thread::panicked;
use crate::remote::Remote;
use std::fmt;
use std::io;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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
/// let group = asyncore_loop::LoopGroup::builder(2).start(|_, ev| {
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
    pub(super) remotes: Vec<Option<Remote<S>>>,
    pub(super) threads: Vec<JoinHandle<io::Result<()>>>,
    pub(super) done: mpsc::Receiver<usize>,
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

impl<S: 'static> LoopGroup<S> {
    /// How many loops the group started (set up or not).
    ///
    /// # Examples
    ///
    /// ```
    /// let group = asyncore_loop::LoopGroup::builder(3).start(|_, _| Ok(()))?;
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
    /// let group = asyncore_loop::LoopGroup::builder(2).start_with_state(|_| 0u32, |_, ev| {
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
    /// gets [`handle_shutdown`](crate::Dispatcher::handle_shutdown), and whatever
    /// is still open at `grace` is closed; then each loop's `run` returns.
    /// Does not wait: [`join`](LoopGroup::join) does.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let group = asyncore_loop::LoopGroup::builder(2).start(|_, ev| {
    ///     ev.call_every(Duration::from_secs(60), |_| Ok(()));
    ///     Ok(())
    /// })?;
    /// group.shutdown(Duration::ZERO);
    /// assert!(group.join().iter().all(|r| r.is_ok()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, grace: Duration) {
        for remote in self.remotes.iter().flatten() {
            // A loop that has already ended needs no shutdown: its error is
            // not the caller's concern (`join` reports how each loop ended).
            let _ = remote.shutdown(grace);
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
    /// let group = asyncore_loop::LoopGroup::builder(2).start(|index, _| {
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
    /// let group = asyncore_loop::LoopGroup::builder(2).start(|index, ev| {
    ///     if index == 1 {
    ///         ev.call_every(Duration::from_secs(60), |_| Ok(())); // never ends by itself
    ///     }
    ///     Ok(())
    /// })?;
    /// let remote = group.remote(1).unwrap().clone();
    /// let results = group.join_timeout(Duration::from_millis(50));
    /// assert!(results[0].is_ok());
    /// assert_eq!(results[1].as_ref().unwrap_err().kind(), std::io::ErrorKind::TimedOut);
    /// remote.shutdown(Duration::ZERO)?; // let the detached loop end
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn join_timeout(mut self, limit: Duration) -> Vec<io::Result<()>> {
        let threads = std::mem::take(&mut self.threads);
        let deadline = crate::clock::after(Instant::now(), limit);
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
