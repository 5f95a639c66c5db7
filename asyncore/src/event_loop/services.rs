//! The loop's services as its owner reaches them: timers, remote handles,
//! signals, panic isolation, the channel cap, graceful shutdown, close_all.

use super::{EventLoop, DEFAULT_TIMEOUT};
use crate::cx::Cx;
use crate::remote::Remote;
use crate::signals::Signals;
use crate::timer::TimerId;
use std::io;
use std::time::Duration;

impl<S: 'static> EventLoop<S> {
    /// Runs `f` once after `delay`, on the loop thread, with the `Cx` of the
    /// loop's own (socketless) channel. Its error is logged. An armed timer
    /// keeps [`run`](EventLoop::run) going.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let mut ev = asyncore_loop::EventLoop::with_state(None);
    /// let start = Instant::now();
    /// ev.call_later(Duration::from_millis(20), |cx| { *cx.state() = Some(Instant::now()); Ok(()) });
    /// ev.run()?;
    /// assert!(ev.state().unwrap() - start >= Duration::from_millis(20)); // never early
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn call_later(
        &mut self,
        delay: Duration,
        f: impl FnOnce(&mut Cx<'_, S>) -> io::Result<()> + 'static,
    ) -> TimerId {
        self.loop_cx().call_later(delay, f)
    }

    /// Runs `f` every `interval` on the loop thread until cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut ev = asyncore_loop::EventLoop::with_state(0);
    /// let id = ev.call_every(Duration::from_millis(1), |cx| {
    ///     *cx.state() += 1;
    ///     if *cx.state() == 3 { cx.stop(); }
    ///     Ok(())
    /// });
    /// ev.run()?;
    /// assert!(ev.cancel_timer(id));
    /// assert_eq!(*ev.state(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn call_every(
        &mut self,
        interval: Duration,
        f: impl FnMut(&mut Cx<'_, S>) -> io::Result<()> + 'static,
    ) -> TimerId {
        self.loop_cx().call_every(interval, f)
    }

    /// Cancels a timer; false if it already fired (one-shot) or is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ev = asyncore_loop::EventLoop::new();
    /// let id = ev.call_later(std::time::Duration::from_secs(5), |_| Ok(()));
    /// assert!(ev.cancel_timer(id));
    /// ```
    pub fn cancel_timer(&mut self, id: TimerId) -> bool {
        self.settle();
        self.core.cancel_timer(id, None)
    }

    /// Moves a timer's next expiry to `delay` from now; false if it is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ev = asyncore_loop::EventLoop::new();
    /// let id = ev.call_later(std::time::Duration::from_secs(5), |_| Ok(()));
    /// assert!(ev.reset_timer(id, std::time::Duration::from_secs(1)));
    /// ```
    pub fn reset_timer(&mut self, id: TimerId, delay: Duration) -> bool {
        self.core
            .services
            .timers
            .reset(id, crate::clock::after(crate::clock::now(), delay))
    }

    /// A handle for other threads (`Send + Sync + Clone`): post work, wake,
    /// stop, shut down. See [`Remote`].
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ev = asyncore_loop::EventLoop::new();
    /// let remote = ev.remote()?;
    /// std::thread::spawn(move || remote.stop()).join().unwrap()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn remote(&mut self) -> io::Result<Remote<S>> {
        self.core.services.remote().map(Remote::new)
    }

    /// Runs `f` on the loop thread whenever `signal` (e.g. `libc::SIGTERM`)
    /// arrives, with the `Cx` of the loop's own channel. The signal's default
    /// action (such as terminating) no longer happens while the loop exists.
    /// Signals that cannot be caught (SIGKILL, SIGSTOP) or must not be
    /// (SIGSEGV, SIGILL, SIGFPE) give an error. When the loop is dropped its
    /// callbacks are removed, but the signal's default action is not
    /// restored: the signal is then ignored by this process.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut ev = asyncore_loop::EventLoop::new();
    /// ev.on_signal(libc::SIGTERM, |cx| { cx.shutdown(Duration::from_secs(5)); Ok(()) })?;
    /// assert!(ev.on_signal(libc::SIGKILL, |_| Ok(())).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on_signal(
        &mut self,
        signal: i32,
        f: impl FnMut(&mut Cx<'_, S>) -> io::Result<()> + 'static,
    ) -> io::Result<()> {
        let signals = &mut self.core.services.signals;
        if signals.is_none() {
            *signals = Some(Signals::new()?);
            self.core.poller.forget_signal_pipe();
        }
        match self.core.services.signals.as_mut() {
            Some(signals) => signals.add(signal, Box::new(f)),
            None => Ok(()),
        }
    }

    /// Whether a panic in a handler is caught (the default) and sent to
    /// that channel's `handle_error` — which closes it — while the loop and
    /// the other channels go on. With `false`, panics unwind out of the loop.
    /// Under `panic = "abort"` nothing can be caught: the process ends.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ev = asyncore_loop::EventLoop::new();
    /// ev.set_catch_panics(false);
    /// ```
    pub fn set_catch_panics(&mut self, catch: bool) {
        self.core.diag.catch_panics = catch;
    }

    /// Caps the number of channels in the map: past it, listeners hand new
    /// connections to [`handle_refused`](crate::Dispatcher::handle_refused).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ev = asyncore_loop::EventLoop::new();
    /// ev.set_max_channels(Some(10_000));
    /// ```
    pub fn set_max_channels(&mut self, max: Option<usize>) {
        self.core.accept.max_channels = max;
    }

    /// Graceful shutdown, run to completion: listeners close, every other
    /// channel gets [`handle_shutdown`](crate::Dispatcher::handle_shutdown), the loop
    /// runs until they have all closed, and whatever is left at `grace` is
    /// closed, with one `warning` line to the log sink saying how many
    /// channels that cut. [`close_all`](EventLoop::close_all) is the abrupt
    /// form.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// ev.add(Idle).create_socket(asyncore_loop::AF_INET, asyncore_loop::SOCK_DGRAM)?;
    /// ev.shutdown(std::time::Duration::from_secs(1))?;
    /// assert!(ev.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&mut self, grace: Duration) -> io::Result<()> {
        self.core.services.request_shutdown(grace);
        self.run_loop(Some(DEFAULT_TIMEOUT), None)
    }

    /// asyncore's `close_all(map, ignore_all)`: closes every
    /// channel in the map, in map order, with `close()` (not `handle_close`),
    /// and empties the map. A close error other than EBADF is returned unless
    /// `ignore_all`; the channels are closed and removed either way.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// ev.add(Idle).create_socket(asyncore_loop::AF_INET, asyncore_loop::SOCK_STREAM)?;
    /// ev.close_all(false)?;
    /// assert!(ev.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    // Spec: AC-CLOSE-4, AC-Q-14.
    pub fn close_all(&mut self, ignore_all: bool) -> io::Result<()> {
        self.settle();
        let mut order = Vec::new();
        self.core.map.order_snapshot(&mut order);
        let mut first_error = None;
        for (index, _) in order {
            match self.core.close_index(index) {
                Err(e) if e.raw_os_error() != Some(libc::EBADF) && !ignore_all => {
                    first_error.get_or_insert(e);
                }
                _ => {}
            }
        }
        self.core.sweep_closed();
        first_error.map_or(Ok(()), Err)
    }
}
