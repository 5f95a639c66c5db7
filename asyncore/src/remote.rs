//! `Remote`: a handle other threads use to reach a loop.

use crate::cx::Cx;
use crate::sys::waker::Waker;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Job<S> = Box<dyn FnOnce(&mut Cx<'_, S>) -> io::Result<()> + Send>;

/// What a loop and its remotes share.
pub(crate) struct RemoteShared<S: 'static> {
    pub(crate) waker: Waker,
    jobs: Mutex<Vec<Job<S>>>,
    /// A wake-up is already on its way: later posts need not write again.
    notified: AtomicBool,
    stop: AtomicBool,
    shutdown: Mutex<Option<Duration>>,
    /// False once the loop is gone.
    alive: AtomicBool,
}

impl<S: 'static> RemoteShared<S> {
    pub(crate) fn new() -> io::Result<Self> {
        Ok(RemoteShared {
            waker: Waker::new()?,
            jobs: Mutex::new(Vec::new()),
            notified: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            shutdown: Mutex::new(None),
            alive: AtomicBool::new(true),
        })
    }

    fn notify(&self) -> io::Result<()> {
        if !self.notified.swap(true, Ordering::SeqCst) {
            self.waker.wake()?;
        }
        Ok(())
    }

    /// Called by the loop when the waker fired: empties it, then clears the
    /// notified flag, then takes the jobs (take the stop and shutdown
    /// requests after this too). A post racing with this either lands in the
    /// taken batch or finds the flag clear and writes the waker again, so no
    /// wake-up is lost. (Clearing the flag before emptying the waker would
    /// lose one: a post setting the flag in between has its write drained,
    /// and the next post, seeing the flag set, would not write.)
    ///
    /// Nothing to take while the flag is clear (every post and request sets
    /// it before it returns), so a pass with no wake-up costs one atomic
    /// load, not a `read` and a lock.
    pub(crate) fn take_jobs(&self) -> Vec<Job<S>> {
        if !self.notified.load(Ordering::SeqCst) {
            return Vec::new();
        }
        self.waker.drain();
        self.notified.store(false, Ordering::SeqCst);
        match self.jobs.lock() {
            Ok(mut jobs) => std::mem::take(&mut *jobs),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }

    /// In a forked child: a waker of its own, written if a wake-up was on
    /// its way when the parent forked (the copied jobs wait for it).
    pub(crate) fn renew_after_fork(&self) -> io::Result<()> {
        self.waker.renew()?;
        if self.notified.load(Ordering::SeqCst) {
            self.waker.wake()?;
        }
        Ok(())
    }

    pub(crate) fn take_stop(&self) -> bool {
        self.stop.swap(false, Ordering::SeqCst)
    }

    pub(crate) fn take_shutdown(&self) -> Option<Duration> {
        self.shutdown.lock().ok().and_then(|mut s| s.take())
    }

    pub(crate) fn close(&self) {
        self.alive.store(false, Ordering::Release);
    }
}

/// A handle to an [`EventLoop`](crate::EventLoop) for other threads:
/// `Send + Sync + Clone`. It posts closures to run on the loop thread, wakes
/// the loop, stops it, or asks for a graceful shutdown. Wake-ups coalesce
/// (many posts, one wake) but are never lost.
///
/// Posted closures run at the start of the loop's next dispatch, with the
/// [`Cx`] of the loop's own (socketless) channel: they can add channels,
/// reach channels with [`Cx::with`], and use the shared state.
///
/// # Examples
///
/// ```
/// use asyncore_loop::EventLoop;
/// use std::time::Duration;
///
/// let mut ev = EventLoop::with_state(0u32);
/// let remote = ev.remote()?;
/// // A timer keeps the loop running until the other thread stops it.
/// ev.call_every(Duration::from_secs(1), |_| Ok(()));
/// let t = std::thread::spawn(move || -> std::io::Result<()> {
///     remote.post(|cx| { *cx.state() += 1; Ok(()) })?;
///     remote.wake()?;
///     remote.stop()
/// });
/// ev.run()?;
/// t.join().expect("the posting thread panicked")?;
/// assert_eq!(*ev.state(), 1);
///
/// // Once the loop is dropped, every call fails.
/// let remote = ev.remote()?;
/// drop(ev);
/// assert!(remote.post(|_| Ok(())).is_err());
/// assert!(remote.stop().is_err());
/// assert!(remote.shutdown(Duration::from_secs(5)).is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Remote<S: 'static = ()> {
    shared: Arc<RemoteShared<S>>,
}

impl<S: 'static> Clone for Remote<S> {
    fn clone(&self) -> Self {
        Remote {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S: 'static> fmt::Debug for Remote<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remote")
            .field("alive", &self.shared.alive.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<S: 'static> Remote<S> {
    pub(crate) fn new(shared: Arc<RemoteShared<S>>) -> Self {
        Remote { shared }
    }

    fn check_alive(&self) -> io::Result<()> {
        if self.shared.alive.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the event loop is gone",
            ))
        }
    }

    /// Runs `job` on the loop thread; its error goes to the log (the loop's
    /// own channel reports it and goes on). Fails once the loop is dropped.
    pub fn post(
        &self,
        job: impl FnOnce(&mut Cx<'_, S>) -> io::Result<()> + Send + 'static,
    ) -> io::Result<()> {
        self.check_alive()?;
        match self.shared.jobs.lock() {
            Ok(mut jobs) => jobs.push(Box::new(job)),
            Err(poisoned) => poisoned.into_inner().push(Box::new(job)),
        }
        self.shared.notify()
    }

    /// Wakes the loop's wait (it then re-checks its timers and jobs). Fails
    /// once the loop is dropped.
    pub fn wake(&self) -> io::Result<()> {
        self.check_alive()?;
        self.shared.notify()
    }

    /// Stops the loop at the end of its current (or next) pass; `run`
    /// returns `Ok`. Channels are left as they are. Fails once the loop is
    /// dropped, or if the loop cannot be woken.
    pub fn stop(&self) -> io::Result<()> {
        self.check_alive()?;
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.notify()
    }

    /// Asks for a graceful shutdown within `grace` (see
    /// [`Cx::shutdown`]). Fails once the loop is dropped, or if the loop
    /// cannot be woken.
    pub fn shutdown(&self, grace: Duration) -> io::Result<()> {
        self.check_alive()?;
        match self.shared.shutdown.lock() {
            Ok(mut s) => *s = Some(grace),
            Err(poisoned) => *poisoned.into_inner() = Some(grace),
        }
        self.shared.notify()
    }
}

#[cfg(test)]
mod tests {
    use crate::event_loop::EventLoop;
    use std::io;
    use std::time::Duration;

    #[test]
    fn stop_and_shutdown_succeed_while_the_loop_lives() {
        let mut ev = EventLoop::new();
        let remote = ev.remote().unwrap();
        remote.stop().unwrap();
        remote.shutdown(Duration::from_secs(1)).unwrap();
        assert_eq!(remote.shared.take_shutdown(), Some(Duration::from_secs(1)));
        assert!(remote.shared.take_stop());
    }

    #[test]
    fn stop_after_the_loop_is_dropped_fails() {
        let mut ev = EventLoop::new();
        let remote = ev.remote().unwrap();
        drop(ev);
        let err = remote.stop().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert!(!remote.shared.take_stop(), "no stop was recorded");
    }

    #[test]
    fn shutdown_after_the_loop_is_dropped_fails() {
        let mut ev = EventLoop::new();
        let remote = ev.remote().unwrap();
        drop(ev);
        let err = remote.shutdown(Duration::ZERO).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(
            remote.shared.take_shutdown(),
            None,
            "no shutdown was recorded"
        );
    }

    #[test]
    fn post_and_wake_after_the_loop_is_dropped_fail() {
        let mut ev = EventLoop::new();
        let remote = ev.remote().unwrap();
        drop(ev);
        assert!(remote.post(|_| Ok(())).is_err());
        assert!(remote.wake().is_err());
    }

    #[test]
    fn posted_jobs_are_taken_in_order() {
        let mut ev = EventLoop::with_state(Vec::<u8>::new());
        // `run` returns at once on an empty loop: a timer keeps it waiting.
        ev.call_every(Duration::from_secs(60), |_| Ok(()));
        let remote = ev.remote().unwrap();
        remote
            .post(|cx| {
                cx.state().push(1);
                Ok(())
            })
            .unwrap();
        remote
            .post(|cx| {
                cx.state().push(2);
                cx.stop();
                Ok(())
            })
            .unwrap();
        ev.run().unwrap();
        assert_eq!(*ev.state(), [1, 2]);
    }
}
