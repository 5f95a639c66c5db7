//! One pass of the loop, in phases (see `event_loop.rs` for the overview):
//! sweep → shutdown steps → remote jobs and owed closes → interest → wait →
//! dispatch (channels, remote wake-ups, signals) → timers → sweep.

use crate::dispatch::{invoke, owed_close, readwrite, wrapper, Routing, Which};
use crate::event_loop::EventLoop;
use crate::loop_core::TimerAction;
use crate::sys::{Backend, Interest, WANT_READ};
use crate::timer::Due;
use std::io;
use std::time::{Duration, Instant};

/// Readiness key of the remote waker (never a channel's: no slot has index u32::MAX).
const WAKER_KEY: u64 = u64::MAX;
/// Readiness key of the signal pipe.
const SIGNAL_KEY: u64 = u64::MAX - 1;

impl<S: 'static> EventLoop<S> {
    /// One pass (asyncore's `poll`/`poll2` for this map): ask interest, wait
    /// at most `timeout` (or until the next timer), dispatch, fire due timers.
    /// An empty map with no timers returns at once (AC-SEL-1, AC-POLL-2).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ev = asyncore::EventLoop::new();
    /// ev.poll(Some(std::time::Duration::ZERO))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let routing = self.routing();
        self.core.sweep_closed();
        if self.shutdown_steps(routing)? {
            // Shut down: the loop ends even if timers remain.
            self.core.stop = true;
            return Ok(());
        }
        if !self.has_work() {
            return Ok(());
        }
        self.run_remote(routing)?;
        self.deliver_owed_closes(routing)?;
        self.ask_interest()?;
        // A stop or a shutdown requested in this pass so far (by a remote job,
        // a Remote, an owed handle_close) must not wait: the wait would be
        // the whole timeout, as the wake-up that carried it is consumed.
        let timeout = if self.core.stop || self.core.shutdown.is_some_and(|s| !s.begun) {
            Some(Duration::ZERO)
        } else {
            self.wait_timeout(timeout)
        };
        let mut events = std::mem::take(&mut self.core.events);
        events.clear();
        let waited = self
            .core
            .selector()
            .and_then(|sel| sel.wait(timeout, &mut events));
        let result = waited.and_then(|()| {
            for ev in &events {
                match ev.key {
                    WAKER_KEY => self.run_remote(routing)?,
                    SIGNAL_KEY => self.run_signals(routing)?,
                    key => {
                        // Dropped if its channel closed or its slot was reused meanwhile (AC-Q-6).
                        let Some(index) = self.core.map.resolve_key(key) else {
                            continue;
                        };
                        match (routing, Which::from_bit(ev.ready)) {
                            (Routing::Select, Some(which)) => {
                                wrapper(&mut self.core, index, which, routing)?
                            }
                            _ => readwrite(&mut self.core, index, ev.ready)?,
                        }
                    }
                }
            }
            self.fire_timers(routing)
        });
        self.core.events = events;
        self.core.sweep_closed();
        result
    }

    /// The loop's rule: it runs while channels are in the map, or timers are
    /// armed (unless it is shutting down).
    pub(crate) fn has_work(&self) -> bool {
        !self.is_empty() || (self.core.timers.len() > 0 && self.core.shutdown.is_none())
    }

    fn routing(&self) -> Routing {
        match self.core.backend {
            Backend::Select => Routing::Select,
            Backend::Poll | Backend::Epoll => Routing::Poll,
        }
    }

    /// The wait: the pass timeout, shortened to the next timer or the
    /// shutdown deadline.
    fn wait_timeout(&mut self, timeout: Option<Duration>) -> Option<Duration> {
        let now = Instant::now();
        let shutdown = self.core.shutdown.map(|s| s.deadline);
        let next = [self.core.timers.next_deadline(), shutdown]
            .into_iter()
            .flatten()
            .min();
        match next {
            None => timeout,
            Some(at) => {
                let until = at.saturating_duration_since(now);
                Some(timeout.map_or(until, |t| t.min(until)))
            }
        }
    }

    fn deliver_owed_closes(&mut self, routing: Routing) -> io::Result<()> {
        while let Some(token) = self.core.pending_close.pop() {
            if let Some(index) = self.core.map.resolve(token) {
                owed_close(&mut self.core, index, routing)?;
            }
        }
        Ok(())
    }

    /// Phase: tell the backend what each channel wants.
    fn ask_interest(&mut self) -> io::Result<()> {
        let backend = self.core.backend;
        self.core.selector()?;
        let waker = self.core.remote.as_ref().map(|r| r.waker.fd());
        let signals = self.core.signals.as_ref().map(|s| s.fd());
        if backend.rebuilds_each_pass() {
            for index in std::mem::take(&mut self.core.dirty) {
                if let Some(e) = self.core.map.get_mut(index) {
                    e.ch.dirty = false;
                }
            }
            let mut order = std::mem::take(&mut self.core.order_buf);
            self.core.map.order_snapshot(&mut order);
            let mut result = Ok(());
            if let Some(sel) = self.core.selector.as_mut() {
                sel.begin_pass();
                for (fd, key) in [(waker, WAKER_KEY), (signals, SIGNAL_KEY)] {
                    if let Some(fd) = fd {
                        result = result.and(sel.watch(fd, key, WANT_READ));
                    }
                }
            }
            for &(index, key) in &order {
                if result.is_err() {
                    break;
                }
                let interest = self.interest_of(index);
                let fd = self.core.ch(index).io.fd();
                if let (Some(fd), Some(sel), true) =
                    (fd, self.core.selector.as_mut(), interest != 0)
                {
                    result = sel.watch(fd, key, interest);
                }
            }
            self.core.order_buf = order;
            return result;
        }
        // Epoll: the waker and signal pipe once, then only the channels that
        // may have changed (O(active)).
        let watched = &mut self.core.specials_watched;
        for (watched, fd, key) in [
            (&mut watched.0, waker, WAKER_KEY),
            (&mut watched.1, signals, SIGNAL_KEY),
        ] {
            if let (Some(fd), false) = (fd, *watched) {
                *watched = true;
                if let Some(sel) = self.core.selector.as_mut() {
                    sel.update(fd, key, 0, WANT_READ)?;
                }
            }
        }
        while let Some(index) = self.core.dirty.pop() {
            let Some(e) = self.core.map.get_mut(index) else {
                continue;
            };
            e.ch.dirty = false;
            if e.ch.reg == 0 {
                continue;
            }
            let interest = self.interest_of(index);
            self.core.apply_interest(index, interest)?;
        }
        Ok(())
    }

    /// `readable()` then `writable()`, as the backend's interest bits.
    fn interest_of(&mut self, index: u32) -> Interest {
        let (r, w) = self
            .core
            .run(index, |d, cx| {
                let view = cx.view();
                (d.readable(&view), d.writable(&view))
            })
            .unwrap_or((false, false));
        self.core.interest_bits(index, r, w)
    }

    /// Jobs posted by [`Remote`](crate::Remote)s, and their stop/shutdown requests.
    fn run_remote(&mut self, routing: Routing) -> io::Result<()> {
        let Some(shared) = self.core.remote.clone() else {
            return Ok(());
        };
        // Jobs first: taking them re-arms the wake-up, so a stop or shutdown
        // requested after the checks below wakes the loop again.
        let jobs = shared.take_jobs();
        if shared.take_stop() {
            self.core.stop = true;
        }
        if let Some(grace) = shared.take_shutdown() {
            self.core.request_shutdown(grace);
        }
        for job in jobs {
            let index = self.core.loop_channel();
            invoke(&mut self.core, index, routing, |_, cx| {
                cx.set_handler("remote job");
                job(cx)
            })?;
        }
        Ok(())
    }

    /// Callbacks of signals that arrived.
    fn run_signals(&mut self, routing: Routing) -> io::Result<()> {
        let arrived = self
            .core
            .signals
            .as_mut()
            .map(|s| s.arrived())
            .unwrap_or_default();
        for i in arrived {
            let Some(mut callback) = self
                .core
                .signals
                .as_mut()
                .and_then(|s| s.handlers[i].callback.take())
            else {
                continue;
            };
            let index = self.core.loop_channel();
            let result = invoke(&mut self.core, index, routing, |_, cx| {
                cx.set_handler("signal callback");
                callback(cx)
            });
            if let Some(h) = self
                .core
                .signals
                .as_mut()
                .and_then(|s| s.handlers.get_mut(i))
            {
                h.callback = Some(callback);
            }
            result?;
        }
        Ok(())
    }

    /// Fires the timers due now (not those armed while firing: they wait for
    /// the next pass, so a timer re-arming itself at zero delay cannot spin).
    fn fire_timers(&mut self, routing: Routing) -> io::Result<()> {
        let now = Instant::now();
        let epoch = self.core.timers.epoch();
        while let Some(due) = self.core.timers.pop_due(now, epoch) {
            let (id, owner, action, repeating) = match due {
                Due::Once(id, payload) => (id, payload.owner, payload.action, false),
                Due::Repeating(id) => {
                    let Some(payload) = self.core.timers.payload_mut(id) else {
                        continue;
                    };
                    let action = match &mut payload.action {
                        TimerAction::Callback(f) => TimerAction::Callback(f.take()),
                        TimerAction::Handler => TimerAction::Handler,
                        TimerAction::Deadline => TimerAction::Deadline,
                        TimerAction::ResumeAccept => TimerAction::ResumeAccept,
                    };
                    (id, payload.owner, action, true)
                }
            };
            let Some(index) = self.core.map.resolve(owner) else {
                self.core.timers.cancel(id);
                continue;
            };
            if !repeating {
                self.core.ch_mut(index).timers.remove(&id);
            }
            match action {
                TimerAction::Handler => invoke(&mut self.core, index, routing, |d, cx| {
                    cx.set_handler("handle_timer");
                    d.handle_timer(cx, id)
                })?,
                TimerAction::Callback(Some(mut f)) => {
                    let result = invoke(&mut self.core, index, routing, |_, cx| {
                        cx.set_handler("timer callback");
                        f(cx)
                    });
                    if let Some(p) = self.core.timers.payload_mut(id) {
                        p.action = TimerAction::Callback(Some(f));
                    }
                    result?;
                }
                TimerAction::Callback(None) => {}
                TimerAction::Deadline => invoke(&mut self.core, index, routing, |d, cx| {
                    let view = cx.view();
                    let (reading, writing) = (d.readable(&view), d.writable(&view));
                    if let Some(kind) = cx.expired_deadline(reading, writing) {
                        cx.set_handler("handle_timeout");
                        d.handle_timeout(cx, kind)?;
                    }
                    cx.rearm_deadline(reading, writing);
                    Ok(())
                })?,
                TimerAction::ResumeAccept => self.core.resume_accepting(),
            }
        }
        Ok(())
    }

    /// Graceful shutdown: at its start, listeners close and every other
    /// channel gets `handle_shutdown`; at its deadline, the rest is closed.
    /// True once it is complete (the map is empty).
    fn shutdown_steps(&mut self, routing: Routing) -> io::Result<bool> {
        let Some(state) = self.core.shutdown else {
            return Ok(false);
        };
        if !state.begun {
            if let Some(s) = self.core.shutdown.as_mut() {
                s.begun = true;
            }
            let mut order = Vec::new();
            self.core.map.order_snapshot(&mut order);
            for (index, _) in order {
                if self.core.ch(index).accepting {
                    let _ = self.core.close(index);
                } else {
                    invoke(&mut self.core, index, routing, |d, cx| {
                        cx.set_handler("handle_shutdown");
                        d.handle_shutdown(cx)
                    })?;
                }
            }
            self.core.sweep_closed();
        }
        if Instant::now() >= state.deadline {
            self.close_all(true)?;
        }
        if self.is_empty() {
            self.core.shutdown = None;
            return Ok(true);
        }
        Ok(false)
    }
}
