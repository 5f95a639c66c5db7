//! Running the loop: asyncore's `loop()` in its forms, and the per-event
//! entry points (`read`, `write`, `expt`, `readwrite`) for one channel.

use super::{timeout_from_secs, EventLoop, DEFAULT_TIMEOUT};
use crate::deliver::{readwrite, wrapper, Routing, Which};
use crate::sys::Backend;
use crate::token::Token;
use std::io;
use std::time::Duration;

impl<S: 'static> EventLoop<S> {
    /// `loop()` with asyncore's defaults on this loop's backend: passes of at
    /// most 30 s until the map is empty (and no timer is armed) or a handler
    /// stops the loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ev = asyncore_loop::EventLoop::new();
    /// ev.run()?; // an empty map returns at once
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn run(&mut self) -> io::Result<()> {
        self.run_loop(Some(DEFAULT_TIMEOUT), None)
    }

    /// asyncore's `loop(timeout, map=self, count)` on this loop's backend:
    /// passes while the map is non-empty **or a timer is
    /// armed** (the loop's rule), at most `count` of them; `timeout` bounds
    /// each pass's wait (`None`: no bound). Returns `Ok` when there is nothing
    /// left to wait for, the count is reached, a handler called [`Cx::stop`](crate::Cx::stop),
    /// a [`Remote`](crate::Remote) stopped it, or a graceful shutdown completed; `Err` for
    /// [`ExitNow`](crate::ExitNow), an error from `handle_error`, or a failed
    /// wait.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {
    /// #   fn readable(&self, _: &asyncore_loop::View<'_>) -> bool { false }
    /// #   fn writable(&self, _: &asyncore_loop::View<'_>) -> bool { false } }
    /// use std::time::Duration;
    /// let mut ev = EventLoop::new();
    /// ev.add(Idle).create_socket(asyncore_loop::AF_INET, asyncore_loop::SOCK_DGRAM)?;
    /// ev.run_loop(Some(Duration::from_millis(1)), Some(3))?; // three idle passes
    /// # Ok::<(), std::io::Error>(())
    /// ```
    // Spec: AC-LOOP-3..5.
    pub fn run_loop(&mut self, timeout: Option<Duration>, count: Option<usize>) -> io::Result<()> {
        self.settle();
        self.core.pass.stop = false;
        let mut passes = 0usize;
        while count.is_none_or(|c| passes < c) && self.has_work() {
            self.poll(timeout)?;
            passes += 1;
            if std::mem::take(&mut self.core.pass.stop) {
                break;
            }
        }
        Ok(())
    }

    /// asyncore's `loop(timeout, use_poll, map=self, count)` with its own
    /// argument types: `timeout` in seconds (negative or NaN is an error,
    /// infinity waits forever), `use_poll` picks poll over select for this and
    /// later passes.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ev = asyncore_loop::EventLoop::new();
    /// ev.loop_(30.0, false, None)?;
    /// assert!(ev.loop_(-1.0, false, None).is_err()); // a negative timeout is refused
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn loop_(&mut self, timeout: f64, use_poll: bool, count: Option<usize>) -> io::Result<()> {
        let timeout = timeout_from_secs(timeout)?;
        self.set_backend(Backend::from_use_poll(use_poll));
        self.run_loop(timeout, count)
    }

    /// asyncore's `read(obj)` wrapper (select routing): `handle_read_event`,
    /// errors to `handle_error`, ExitNow returned.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::{Cx, Dispatcher, EventLoop};
    /// struct Fails;
    /// impl Dispatcher for Fails {
    ///     fn handle_read_event(&mut self, _: &mut Cx<'_>) -> std::io::Result<()> {
    ///         Err(std::io::Error::other("boom"))
    ///     }
    ///     fn handle_close(&mut self, _: &mut Cx<'_>) -> std::io::Result<()> { Ok(()) }
    /// }
    /// let mut ev = EventLoop::new();
    /// let t = ev.add(Fails).token();
    /// ev.read(t)?; // routed to the default handle_error, which logs and closes
    /// # Ok::<(), std::io::Error>(())
    /// ```
    // Spec: AC-SEL-7, AC-SEL-8.
    pub fn read(&mut self, token: Token) -> io::Result<()> {
        self.wrapper(token, Which::Read)
    }

    /// asyncore's `write(obj)` wrapper (select routing).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
    /// let mut ev = EventLoop::new();
    /// let t = ev.add(Idle).token();
    /// ev.write(t)?; // the default handle_write logs a (filtered) warning
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write(&mut self, token: Token) -> io::Result<()> {
        self.wrapper(token, Which::Write)
    }

    /// asyncore's `_exception(obj)` wrapper (select routing).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {
    /// #   fn handle_expt_event(&mut self, _: &mut asyncore_loop::Cx<'_>) -> std::io::Result<()> { Ok(()) } }
    /// let mut ev = EventLoop::new();
    /// let t = ev.add(Idle).token();
    /// ev.expt(t)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn expt(&mut self, token: Token) -> io::Result<()> {
        self.wrapper(token, Which::Expt)
    }

    fn wrapper(&mut self, token: Token, which: Which) -> io::Result<()> {
        self.settle();
        let Some(index) = self.core.map.resolve(token) else {
            return Ok(());
        };
        let r = wrapper(
            &mut self.core,
            &mut self.nursery,
            index,
            which,
            Routing::Select,
        );
        self.core.sweep_closed();
        r
    }

    /// asyncore's `readwrite(obj, flags)` (poll routing) with `poll(2)` bits
    /// such as [`POLLIN`](crate::POLLIN).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore_loop::{Cx, Dispatcher, EventLoop};
    /// struct Quiet;
    /// impl Dispatcher for Quiet {
    ///     fn handle_close(&mut self, cx: &mut Cx<'_>) -> std::io::Result<()> { cx.close() }
    /// }
    /// let mut ev = EventLoop::new();
    /// let t = ev.add(Quiet).token();
    /// ev.readwrite(t, asyncore_loop::POLLHUP)?; // hang-up: handle_close
    /// assert!(!ev.contains(t));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    // Spec: AC-POLL-6, AC-POLL-7.
    pub fn readwrite(&mut self, token: Token, flags: i16) -> io::Result<()> {
        self.settle();
        let Some(index) = self.core.map.resolve(token) else {
            return Ok(());
        };
        let r = readwrite(&mut self.core, &mut self.nursery, index, flags);
        self.core.sweep_closed();
        r
    }
}
