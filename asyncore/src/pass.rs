//! One pass of the loop: asyncore's `poll()`/`poll2()` for this map, in
//! phases, libuv-style. This is the one place that says what a pass does.
//!
//! 1. **Sweep**: free the slots of channels closed since the last pass.
//! 2. **Shutdown**: at the start of a graceful shutdown, listeners close and
//!    every other channel gets `handle_shutdown`; at its deadline the rest
//!    is closed, with one warning through the log sink. A finished shutdown
//!    ends the loop (even if timers remain).
//! 3. **Remote jobs**: jobs posted from other threads, and their stop and
//!    shutdown requests.
//! 4. **Owed closes**: `handle_close` for channels whose `send`/`recv`,
//!    called from outside a handler, saw the peer go.
//! 5. **Interest**: `readable()` then `writable()`, through one path
//!    (`ask`). Select and poll ask every channel in
//!    map order (asyncore's faithful pass) and rebuild the watch set; epoll
//!    asks only the channels the last pass's reports reached (they ran a
//!    handler) and those marked since their last ask (added, run by another
//!    handler, reached through `channel`/`with`, or touched), each once, and
//!    calls `epoll_ctl` only when the answer changed. First, in a child
//!    forked since the last pass, the loop's selector, waker and signal pipe
//!    are renewed (shared with the parent otherwise) and every channel is
//!    asked.
//! 6. **Wait**, at most the pass timeout, shortened to the next timer or the
//!    shutdown deadline; no wait at all once a stop or shutdown is pending.
//! 7. **Dispatch** each readiness report to the channel it was meant for (a
//!    report whose channel closed, or whose slot was reused, during the pass
//!    is dropped), or to the remote jobs or signal callbacks.
//! 8. **Timers** due now (not those armed while they fire).
//! 9. **Sweep** again.

use crate::close_reason::CloseReason;
use crate::core::{BoxedEntry, LoopCore, PassTime, TimerAction, SIGNAL_KEY, WAKER_KEY};
use crate::deliver::{invoke, owed_close, readwrite, readwrite_run, wrapper, Routing, Which};
use crate::event_loop::EventLoop;
use crate::handler_name::HandlerName;
use crate::sys::{interest_name, Backend, Interest};
use crate::timer::Due;
use crate::view::View;
use std::io;
use std::time::Duration;

impl<S: 'static> EventLoop<S> {
    /// One pass (asyncore's `poll`/`poll2` for this map): ask interest, wait
    /// at most `timeout` (or until the next timer), dispatch, fire due
    /// timers. An empty map with no timers returns at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ev = asyncore_loop::EventLoop::new();
    /// ev.poll(Some(std::time::Duration::ZERO))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        // AC-SEL-1, AC-POLL-2: nothing to do returns at once.
        self.settle();
        let routing = self.routing();
        self.core.sweep_closed();
        if self.shutdown_steps(routing)? {
            self.core.pass.stop = true;
            return Ok(());
        }
        if !self.has_work() {
            return Ok(());
        }
        self.run_remote(routing)?;
        self.deliver_owed_closes(routing)?;
        self.ask_interest()?;
        let timeout = self.wait_timeout(timeout);
        self.events.clear();
        let result = self
            .core
            .poller
            .selector()
            .and_then(|sel| sel.wait(timeout, &mut self.events))
            .and_then(|()| {
                self.core.pass.time.set(PassTime::Unread);
                self.dispatch(routing)
            })
            .and_then(|()| self.fire_timers(routing));
        self.core.pass.time.set(PassTime::Outside);
        self.core.sweep_closed();
        result
    }

    /// The loop's rule: it runs while channels are in the map, or timers are
    /// armed (unless it is shutting down).
    pub(crate) fn has_work(&self) -> bool {
        !self.is_empty()
            || (self.core.services.timers.len() > 0 && self.core.services.shutdown.is_none())
    }

    fn routing(&self) -> Routing {
        match self.core.poller.backend() {
            Backend::Select => Routing::Select,
            Backend::Poll | Backend::Epoll => Routing::Poll,
        }
    }

    /// Phase 2: graceful shutdown. True once it is complete (the map is empty).
    fn shutdown_steps(&mut self, routing: Routing) -> io::Result<bool> {
        let Some(state) = self.core.services.shutdown else {
            return Ok(false);
        };
        if !state.begun {
            if let Some(s) = self.core.services.shutdown.as_mut() {
                s.begun = true;
            }
            let mut order = Vec::new();
            self.core.map.order_snapshot(&mut order);
            for (index, _) in order {
                let accepting = self.core.map.get(index).is_some_and(|e| e.ch.accepting);
                if accepting {
                    let _ = self.core.close_index(index);
                } else {
                    invoke(
                        &mut self.core,
                        &mut self.nursery,
                        index,
                        routing,
                        HandlerName::Shutdown,
                        |d, cx| {
                            cx.ch.note_close_reason(CloseReason::Shutdown);
                            d.handle_shutdown(cx)
                        },
                    )?;
                }
            }
            self.core.sweep_closed();
        }
        if crate::clock::now() >= state.deadline {
            // Said once, so that an operator knows the shutdown cut work
            // short (the channels' own close lines are at debug level).
            let left = self.len();
            if left > 0 {
                let plural = if left == 1 { "" } else { "s" };
                self.core.diag.log.log_info(
                    &format!("shutdown: the grace is over; closing {left} channel{plural} still open"),
                    "warning",
                );
            }
            self.close_all(true)?;
        }
        if self.is_empty() {
            self.core.services.shutdown = None;
            return Ok(true);
        }
        Ok(false)
    }

    /// Phase 3 (and a wake-up in phase 7): jobs posted by
    /// [`Remote`](crate::Remote)s, and their stop/shutdown requests.
    #[inline(always)]
    fn run_remote(&mut self, routing: Routing) -> io::Result<()> {
        if self.core.services.existing_remote().is_none() {
            return Ok(()); // no Remote made: one test a pass
        }
        self.run_remote_jobs(routing)
    }

    #[inline(never)]
    fn run_remote_jobs(&mut self, routing: Routing) -> io::Result<()> {
        let Some(shared) = self.core.services.existing_remote().cloned() else {
            return Ok(());
        };
        // Jobs first: taking them re-arms the wake-up, so a stop or shutdown
        // requested after the checks below wakes the loop again.
        let jobs = shared.take_jobs();
        if shared.take_stop() {
            self.core.pass.stop = true;
        }
        if let Some(grace) = shared.take_shutdown() {
            self.core.services.request_shutdown(grace);
        }
        for job in jobs {
            let index = self.core.loop_channel();
            invoke(
                &mut self.core,
                &mut self.nursery,
                index,
                routing,
                HandlerName::RemoteJob,
                |_, cx| job(cx),
            )?;
        }
        Ok(())
    }

    /// Phase 4: `handle_close` owed by `send`/`recv` calls made outside handlers.
    fn deliver_owed_closes(&mut self, routing: Routing) -> io::Result<()> {
        while let Some(token) = self.core.pass.owed_closes.pop() {
            if let Some(index) = self.core.map.resolve(token) {
                owed_close(&mut self.core, &mut self.nursery, index, routing)?;
            }
        }
        Ok(())
    }

    /// Phase 5: tell the backend what each channel wants.
    fn ask_interest(&mut self) -> io::Result<()> {
        if self.core.poller.forked() {
            self.core.renew_after_fork()?;
        }
        if self.core.poller.backend().rebuilds_each_pass() {
            let specials = self.core.services.special_fds();
            // Select and poll: every channel, in map order.
            for index in std::mem::take(&mut self.core.pass.dirty) {
                if let Some((meta, _)) = self.core.map.parts(index) {
                    meta.dirty.set(false);
                }
            }
            #[cfg(feature = "tls")]
            self.core.pass.tls_ready.clear();
            self.core.poller.begin_rebuild(specials)?;
            let mut order = std::mem::take(&mut self.core.pass.order);
            self.core.map.order_snapshot(&mut order);
            let mut result = Ok(());
            for &(index, key) in &order {
                let Some((meta, Some(entry))) = self.core.map.parts(index) else {
                    continue;
                };
                let asked = ask(&self.core, index, entry, meta.accept_paused, true);
                #[cfg(feature = "tls")]
                if asked.ready {
                    self.core.pass.tls_ready.push(key);
                }
                if let Some(fd) = entry.ch.io.fd().filter(|_| asked.interest != 0) {
                    result = self.core.poller.watch(fd, key, asked.interest);
                    if result.is_err() {
                        break;
                    }
                }
            }
            self.core.pass.order = order;
            return result;
        }
        // Epoll: the loop's own descriptors once, then only the channels
        // that ran a handler or were marked since their last ask (O(active)).
        if self.core.poller.specials_changed(self.core.services.specials_present()) {
            let specials = self.core.services.special_fds();
            self.core.poller.watch_new_specials(specials)?;
        }
        // First the channels the last pass's reports reached. The readiness
        // run puts them back unmarked, since the reports already list them;
        // one marked meanwhile is left to the list below, asked once.
        let core = &mut self.core;
        for ev in &self.events {
            let Some((index, meta, Some(entry))) = core.map.parts_by_key(ev.key()) else {
                continue;
            };
            if !meta.dirty.get() {
                let watched = entry.ch.os_interest;
                let asked = ask(core, index, entry, meta.accept_paused, false);
                apply_answer(core, index, asked, watched)?;
            }
        }
        while let Some(index) = self.core.pass.dirty.pop() {
            let Some((meta, entry)) = self.core.map.parts(index) else {
                continue;
            };
            meta.dirty.set(false);
            // Not in the OS set (nothing to watch), or out of its slot (its
            // return marks it again).
            let Some(entry) = entry.filter(|_| meta.reg != 0) else {
                continue;
            };
            let watched = entry.ch.os_interest;
            let asked = ask(&self.core, index, entry, meta.accept_paused, false);
            apply_answer(&mut self.core, index, asked, watched)?;
        }
        Ok(())
    }

    /// Phase 6: the pass timeout, shortened to the next timer or the
    /// shutdown deadline. A stop or a shutdown requested in this pass so far
    /// (by a remote job, a Remote, an owed `handle_close`) must not wait: the
    /// wake-up that carried it is consumed.
    fn wait_timeout(&mut self, timeout: Option<Duration>) -> Option<Duration> {
        if self.core.pass.stop || self.core.services.shutdown_requested() {
            return Some(Duration::ZERO);
        }
        #[cfg(feature = "tls")]
        if !self.core.pass.tls_ready.is_empty() {
            return Some(Duration::ZERO);
        }
        match self.core.services.next_wake() {
            None => timeout,
            Some(at) => {
                let until = at.saturating_duration_since(crate::clock::now());
                Some(timeout.map_or(until, |t| t.min(until)))
            }
        }
    }

    /// Phase 7: each readiness report to its channel, or to the loop's own
    /// remote jobs and signal callbacks. The reports stay in `self.events`
    /// (no handler can reach them), read one at a time.
    fn dispatch(&mut self, routing: Routing) -> io::Result<()> {
        let mut at = 0;
        while let Some(&ev) = self.events.get(at) {
            at += 1;
            match ev.key() {
                WAKER_KEY => self.run_remote(routing)?,
                SIGNAL_KEY => self.run_signals(routing)?,
                // Poll and epoll: the channels' reports up to the next one
                // for the loop's own descriptors, as one run.
                _ if routing == Routing::Poll => {
                    at = readwrite_run(&mut self.core, &mut self.nursery, &self.events, at - 1)?;
                }
                key => {
                    // Dropped if its channel closed or its slot was reused meanwhile.
                    let Some(index) = self.core.map.resolve_key(key) else {
                        continue;
                    };
                    // Select reports one bit per event, for one wrapper.
                    match Which::from_bit(ev.ready()) {
                        Some(which) => {
                            wrapper(&mut self.core, &mut self.nursery, index, which, routing)?
                        }
                        None => readwrite(&mut self.core, &mut self.nursery, index, ev.ready())?,
                    }
                }
            }
        }
        #[cfg(feature = "tls")]
        self.dispatch_tls_ready(routing)?;
        Ok(())
    }

    /// Phase 7, TLS: `handle_read` for channels whose plaintext waits inside
    /// the session (the socket has nothing more to report for it).
    #[cfg(feature = "tls")]
    fn dispatch_tls_ready(&mut self, routing: Routing) -> io::Result<()> {
        if self.core.pass.tls_ready.is_empty() {
            return Ok(());
        }
        let ready = std::mem::take(&mut self.core.pass.tls_ready);
        for &key in &ready {
            let Some(index) = self.core.map.resolve_key(key) else {
                continue;
            };
            match routing {
                Routing::Select => wrapper(
                    &mut self.core,
                    &mut self.nursery,
                    index,
                    Which::Read,
                    routing,
                )?,
                Routing::Poll => {
                    readwrite(&mut self.core, &mut self.nursery, index, crate::sys::POLLIN)?
                }
            }
        }
        Ok(())
    }

    /// Callbacks of signals that arrived (out of their slot while they run).
    fn run_signals(&mut self, routing: Routing) -> io::Result<()> {
        let arrived = self
            .core
            .services
            .signals
            .as_mut()
            .map(|s| s.arrived())
            .unwrap_or_default();
        for i in arrived {
            let Some(mut callback) = self
                .core
                .services
                .signals
                .as_mut()
                .and_then(|s| s.handlers[i].callback.take())
            else {
                continue;
            };
            let index = self.core.loop_channel();
            let result = invoke(
                &mut self.core,
                &mut self.nursery,
                index,
                routing,
                HandlerName::SignalCallback,
                |_, cx| callback(cx),
            );
            if let Some(h) = self
                .core
                .services
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

    /// Phase 8: the timers due now (not those armed while firing: they wait
    /// for the next pass, so a timer re-arming itself at zero delay cannot spin).
    fn fire_timers(&mut self, routing: Routing) -> io::Result<()> {
        if self.core.services.timers.len() == 0 {
            return Ok(());
        }
        let now = crate::clock::now();
        // Timer handlers see the time their timers were found due.
        self.core.pass.time.set(PassTime::At(now));
        let epoch = self.core.services.timers.epoch();
        while let Some(due) = self.core.services.timers.pop_due(now, epoch) {
            let timers = &mut self.core.services.timers;
            let (id, owner, action, repeating) = match due {
                Due::Once(id, payload) => (id, payload.owner, payload.action, false),
                Due::Repeating(id) => {
                    let Some(payload) = timers.payload_mut(id) else {
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
                self.core.services.timers.cancel(id);
                continue;
            };
            log::trace!("{owner} timer {id:?} fired");
            if !repeating {
                if let Some(e) = self.core.map.get_mut(index) {
                    e.ch.timers.remove(&id);
                }
            }
            let (core, nursery) = (&mut self.core, &mut self.nursery);
            match action {
                TimerAction::Handler => {
                    invoke(core, nursery, index, routing, HandlerName::Timer, |d, cx| {
                        d.handle_timer(cx, id)
                    })?
                }
                TimerAction::Callback(Some(mut f)) => {
                    let result =
                        invoke(core, nursery, index, routing, HandlerName::TimerCallback, |_, cx| {
                            f(cx)
                        });
                    if let Some(p) = core.services.timers.payload_mut(id) {
                        p.action = TimerAction::Callback(Some(f));
                    }
                    result?;
                }
                TimerAction::Callback(None) => {}
                TimerAction::Deadline => {
                    invoke(core, nursery, index, routing, HandlerName::Timeout, |d, cx| {
                        let (reading, writing) =
                            crate::stored::interest_of(&*d, &cx.view(), cx.ch.read_eof);
                        if let Some(kind) = cx.expired_deadline(reading, writing) {
                            log::debug!("{} {kind} deadline passed", cx.token());
                            let before = cx.ch.close_reason;
                            cx.ch.note_close_reason(CloseReason::Deadline(kind));
                            let result = d.handle_timeout(cx, kind);
                            if !cx.is_closed() {
                                cx.ch.close_reason = before; // kept open
                            }
                            result?;
                        }
                        cx.rearm_deadline(reading, writing);
                        Ok(())
                    })?
                }
                TimerAction::ResumeAccept => core.resume_accepting(),
            }
        }
        Ok(())
    }
}

/// A channel's answer to the interest question.
struct Asked {
    interest: Interest,
    /// TLS plaintext waits for `handle_read` (the ready list).
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    ready: bool,
}

/// The one interest path: `readable()` then `writable()` of channel
/// `index`, asked in place through a [`View`], as the backend's bits.
#[inline]
fn ask<S: 'static>(
    core: &LoopCore<S>,
    index: u32,
    e: &BoxedEntry<S>,
    accept_paused: bool,
    rebuild: bool,
) -> Asked {
    let view = View::new(&e.ch, core, index);
    // After end of stream a read event would only repeat it (a spin).
    let (r, w) = e.disp.interest(&view, e.ch.read_eof);
    #[cfg(feature = "tls")]
    let (r, w, ready) = crate::tls::hooks::interest(&e.ch, r, w);
    #[cfg(not(feature = "tls"))]
    let ready = false;
    let interest = core
        .poller
        .interest_bits(r, w, e.ch.accepting, accept_paused, rebuild);
    Asked { interest, ready }
}

/// Epoll: acts on a channel's answer; `watched` is what the kernel has.
#[inline(always)]
fn apply_answer<S: 'static>(
    core: &mut LoopCore<S>,
    index: u32,
    asked: Asked,
    watched: Interest,
) -> io::Result<()> {
    #[cfg(feature = "tls")]
    if asked.ready {
        let key = core.map.key(index);
        core.pass.tls_ready.push(key);
    }
    if asked.interest != watched {
        change_interest(core, index, asked.interest)?;
    }
    Ok(())
}

/// Epoll: tells the kernel a channel's new interest.
#[inline(never)]
fn change_interest<S: 'static>(
    core: &mut LoopCore<S>,
    index: u32,
    interest: Interest,
) -> io::Result<()> {
    let Some((fd, watched)) = core
        .map
        .get(index)
        .and_then(|e| Some((e.ch.io.fd()?, e.ch.os_interest)))
    else {
        return Ok(());
    };
    let key = core.map.key(index);
    if let Err(err) = core.poller.update(fd, key, watched, interest) {
        // Left marked: the next pass tries again.
        core.mark_dirty(index);
        return Err(err);
    }
    log::trace!(
        "{} fd {fd}: watching for {} (was {})",
        core.map.token(index),
        interest_name(interest),
        interest_name(watched)
    );
    if let Some(e) = core.map.get_mut(index) {
        e.ch.os_interest = interest;
    }
    Ok(())
}
