//! Delivering readiness to handlers, and where their errors go.
//!
//! asyncore has two routings. The select pass calls one wrapper per
//! readiness bit (`read`, `write`, `_exception`), and every handler error goes
//! to `handle_error`. The poll pass calls `readwrite` once per
//! descriptor, and a DISCONNECTED error goes to `handle_close` instead.
//! Epoll uses the poll routing.
//!
//! Added to both: `handle_close` is delivered at most once per connection; a
//! closed channel gets no further steps; a hang-up that arrives with data
//! (`POLLIN|POLLHUP`, no error) lets the reads drain to end of stream instead
//! of closing at once; and `WouldBlock` from a handler is not an error.

// Spec: AC-Q-1 (two routings), AC-SEL-8, AC-POLL-7, AC-Q-4, AC-Q-10.

mod batch;

pub(crate) use batch::readwrite_run;

use crate::close_reason::CloseReason;
use crate::core::LoopCore;
use crate::cx::nursery::{run, Nursery};
use crate::cx::Cx;
use crate::dispatcher::Dispatcher;
use crate::error::ExitNow;
use crate::handler_name::HandlerName;
use crate::net::is_disconnected;
use crate::sys::{POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Which error routing a pass uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Routing {
    Select,
    Poll,
}

/// One readiness kind, as asyncore's per-event entry points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Which {
    Read,
    Write,
    Expt,
}

impl Which {
    pub(crate) fn from_bit(bit: i16) -> Option<Which> {
        match bit {
            POLLIN => Some(Which::Read),
            POLLOUT => Some(Which::Write),
            POLLPRI => Some(Which::Expt),
            _ => None,
        }
    }

    /// The handler this readiness calls.
    pub(crate) fn handler_name(self) -> HandlerName {
        match self {
            Which::Read => HandlerName::ReadEvent,
            Which::Write => HandlerName::WriteEvent,
            Which::Expt => HandlerName::ExptEvent,
        }
    }
}

type Disp<'d, S> = &'d mut dyn Dispatcher<S>;

/// Calls `f` on channel `index`'s dispatcher and routes what it returns: the
/// one path every handler call of the loop goes through. `name` is the
/// handler called, for `handle_error`'s log line (a step of `readwrite`
/// names itself). With panic isolation on (the default) a panic becomes an
/// error for `handle_error`, and the channel is closed whatever
/// `handle_error` does.
// Inlined into each call site: the per-message path is this, the lending of
// the entry and one handler call, and a call frame here showed in callgrind.
#[inline(always)]
pub(crate) fn invoke<S: 'static>(
    core: &mut LoopCore<S>,
    nursery: &mut Nursery<S>,
    index: u32,
    routing: Routing,
    name: HandlerName,
    f: impl FnOnce(Disp<'_, S>, &mut Cx<'_, S>) -> io::Result<()>,
) -> io::Result<()> {
    let catch = core.diag.catch_panics;
    let outcome = run(core, nursery, index, |d, cx| {
        cx.ch.handler_name = name;
        if catch {
            return Ok(guarded(d, cx, routing, f));
        }
        // Unwind only once the entry is back in its slot (below).
        catch_unwind(AssertUnwindSafe(|| {
            let r = f(&mut *d, &mut *cx);
            finish(&mut *d, &mut *cx, r, routing)
        }))
    });
    match outcome {
        None => Ok(()),
        Some(Ok(routed)) => routed,
        Some(Err(payload)) => {
            // Leaving the pass: `Cx::now` outside it reads the clock again.
            core.pass.time.set(crate::core::PassTime::Outside);
            std::panic::resume_unwind(payload)
        }
    }
}

/// `f` then its routing, under one `catch_unwind`; the slow paths run only
/// after a panic.
#[inline(always)]
fn guarded<S: 'static>(
    d: Disp<'_, S>,
    cx: &mut Cx<'_, S>,
    routing: Routing,
    f: impl FnOnce(Disp<'_, S>, &mut Cx<'_, S>) -> io::Result<()>,
) -> io::Result<()> {
    let mut in_handler = true;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let r = f(&mut *d, &mut *cx);
        in_handler = false;
        finish(&mut *d, &mut *cx, r, routing)
    }));
    match outcome {
        Ok(routed) => routed,
        Err(payload) => recover(d, cx, in_handler, &*payload, routing),
    }
}

/// After a panic caught in a handler call (`in_handler`) or in the routing of
/// its result (`handle_error` or `handle_close` panicked): `handle_error`
/// hears of a handler's panic, then the channel closes in both cases. The
/// loop's own channel is the exception: the panic is logged and the channel
/// stays, since closing it would cancel every other loop-level timer.
#[cold]
#[inline(never)]
pub(crate) fn recover<S: 'static>(
    d: Disp<'_, S>,
    cx: &mut Cx<'_, S>,
    in_handler: bool,
    payload: &(dyn std::any::Any + Send),
    routing: Routing,
) -> io::Result<()> {
    if cx.core.services.loop_channel == Some(cx.token()) {
        // Logged as the loop channel's `handle_error` logs a callback's
        // error, without routing anything again (which could panic anew).
        let line = format!(
            "loop callback failed ({}): {}",
            cx.handler_name(),
            Panicked(panic_message(payload))
        );
        cx.log_info(&line, "error");
        return Ok(());
    }
    if !in_handler {
        handle_error_panicked(cx, payload);
        return Ok(());
    }
    cx.ch.note_close_reason(CloseReason::Panicked);
    let err = io::Error::other(Panicked(panic_message(payload)));
    let routed = match catch_unwind(AssertUnwindSafe(|| {
        finish(&mut *d, &mut *cx, Err(err), routing)
    })) {
        Ok(routed) => routed,
        Err(payload) => {
            handle_error_panicked(cx, &*payload);
            Ok(())
        }
    };
    if !cx.is_closed() {
        let _ = cx.close();
    }
    routed
}

/// `handle_error` itself panicked: say so, and close regardless.
fn handle_error_panicked<S: 'static>(cx: &mut Cx<'_, S>, payload: &(dyn std::any::Any + Send)) {
    let msg = format!("handle_error panicked: {}", panic_message(payload));
    cx.log_info(&msg, "error");
    let _ = cx.close();
}

/// A handler panicked (the payload's message is kept).
#[derive(Debug)]
struct Panicked(String);

impl std::fmt::Display for Panicked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "handler panicked: {}", self.0)
    }
}

impl std::error::Error for Panicked {}

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-text panic payload)".to_string())
}

/// asyncore's `read`/`write`/`_exception` wrappers.
// Spec: AC-SEL-7, AC-SEL-8.
pub(crate) fn wrapper<S: 'static>(
    core: &mut LoopCore<S>,
    nursery: &mut Nursery<S>,
    index: u32,
    which: Which,
    routing: Routing,
) -> io::Result<()> {
    invoke(
        core,
        nursery,
        index,
        routing,
        which.handler_name(),
        |d, cx| event(d, cx, which),
    )
}

/// asyncore's `readwrite(obj, flags)`.
// Spec: AC-POLL-6, AC-POLL-7.
pub(crate) fn readwrite<S: 'static>(
    core: &mut LoopCore<S>,
    nursery: &mut Nursery<S>,
    index: u32,
    flags: i16,
) -> io::Result<()> {
    invoke(core, nursery, index, Routing::Poll, HandlerName::Readwrite, |d, cx| {
        readwrite_steps(d, cx, flags)
    })
}

/// Delivers a `handle_close` owed by a `send`/`recv` made outside a handler.
pub(crate) fn owed_close<S: 'static>(
    core: &mut LoopCore<S>,
    nursery: &mut Nursery<S>,
    index: u32,
    routing: Routing,
) -> io::Result<()> {
    invoke(core, nursery, index, routing, HandlerName::Close, |d, cx| {
        owed_close_event(d, cx)
    })
}

#[inline(always)]
fn readwrite_steps<S: 'static>(d: Disp<'_, S>, cx: &mut Cx<'_, S>, flags: i16) -> io::Result<()> {
    // The usual report, input alone: the read step and nothing after it.
    if flags == POLLIN {
        return step(d, cx, Which::Read).map(drop);
    }
    // A report of more than input: the registration it is for. A step's
    // handler may attach a new socket (a client that reconnects in
    // handle_close), and the rest of the report then belongs to the old one.
    let beyond_input = flags & !POLLIN != 0;
    let reported = if beyond_input { cx.registration() } else { 0 };
    // A step that closed the channel ends the dispatch (AC-Q-4).
    if flags & POLLIN != 0 && step(d, cx, Which::Read)? {
        return Ok(());
    }
    if !beyond_input || cx.registration() != reported {
        return Ok(());
    }
    if flags & POLLOUT != 0 && (step(d, cx, Which::Write)? || cx.registration() != reported) {
        return Ok(());
    }
    if flags & POLLPRI != 0 && (step(d, cx, Which::Expt)? || cx.registration() != reported) {
        return Ok(());
    }
    if flags & (POLLHUP | POLLERR | POLLNVAL) != 0 {
        let draining =
            flags & POLLHUP != 0 && flags & POLLIN != 0 && flags & (POLLERR | POLLNVAL) == 0;
        if !draining {
            cx.ch.note_close_reason(CloseReason::HangUp);
            // A hang-up after handle_close already ran: nothing more can
            // happen on this descriptor, so close it rather than spin.
            close_event(d, cx, true)?;
        }
    }
    Ok(())
}

/// One readiness step of `readwrite`, then an owed `handle_close`; true if
/// the channel is closed after it.
#[inline]
fn step<S: 'static>(d: Disp<'_, S>, cx: &mut Cx<'_, S>, which: Which) -> io::Result<bool> {
    event(d, cx, which)?;
    owed_close_event(d, cx)?;
    Ok(cx.is_closed())
}

#[inline(always)]
fn event<S: 'static>(d: Disp<'_, S>, cx: &mut Cx<'_, S>, which: Which) -> io::Result<()> {
    cx.ch.handler_name = which.handler_name();
    #[cfg(feature = "tls")]
    if cx.ch.tls.is_some() && !crate::tls::hooks::before_event(d, cx, which)? {
        return Ok(());
    }
    match which {
        Which::Read => d.handle_read_event(cx),
        Which::Write => {
            let before = cx.ch.bytes_sent;
            let r = d.handle_write_event(cx);
            let sent = cx.ch.bytes_sent != before;
            if !cx.is_closed() && !cx.accepting() {
                cx.note_write_event(sent, d.name());
            }
            r
        }
        Which::Expt => {
            let reported = cx.registration();
            let r = d.handle_expt_event(cx);
            // Not from a socket the handler attached meanwhile: its urgent
            // byte is its own connection's.
            if cx.registration() == reported {
                cx.discard_urgent();
            }
            r
        }
    }
}

/// `handle_close` (or `handle_read_eof` for an end of stream), if a
/// `send`/`recv` made it owed.
#[inline(always)]
fn owed_close_event<S: 'static>(d: Disp<'_, S>, cx: &mut Cx<'_, S>) -> io::Result<()> {
    if !cx.ch.close_owed {
        return Ok(()); // the common case: one test per step
    }
    deliver_owed_close(d, cx)
}

#[cold]
#[inline(never)]
fn deliver_owed_close<S: 'static>(d: Disp<'_, S>, cx: &mut Cx<'_, S>) -> io::Result<()> {
    if !cx.take_owed_close() {
        return Ok(());
    }
    if cx.take_owed_eof() {
        if cx.is_closed() {
            return Ok(());
        }
        cx.ch.handler_name = HandlerName::ReadEof;
        return d.handle_read_eof(cx);
    }
    // A broken connection (reset, or gone) that `handle_close` kept open,
    // taking it for a half-close, is closed at its next failure or end of
    // stream: nothing more can be sent or received on it, and select, with
    // no hang-up report, would spin on it or hold it for good.
    let force = cx.ch.broken;
    close_event(d, cx, force)
}

/// `handle_close`, at most once per connection; `force` closes the channel when
/// it was already delivered.
fn close_event<S: 'static>(d: Disp<'_, S>, cx: &mut Cx<'_, S>, force: bool) -> io::Result<()> {
    if cx.is_closed() {
        return Ok(());
    }
    if cx.claim_close_delivery() {
        cx.ch.handler_name = HandlerName::Close;
        d.handle_close(cx)
    } else if force {
        cx.close()
    } else {
        Ok(())
    }
}

/// Runs an owed `handle_close`, then routes the handler's error.
#[inline]
fn finish<S: 'static>(
    d: Disp<'_, S>,
    cx: &mut Cx<'_, S>,
    result: io::Result<()>,
    routing: Routing,
) -> io::Result<()> {
    if result.is_ok() && !cx.ch.close_owed {
        return Ok(()); // the common case: nothing to route
    }
    route(d, cx, result, routing)
}

#[cold]
#[inline(never)]
fn route<S: 'static>(
    d: Disp<'_, S>,
    cx: &mut Cx<'_, S>,
    result: io::Result<()>,
    routing: Routing,
) -> io::Result<()> {
    let result = match result {
        Err(e) if ExitNow::is(&e) => return Err(e),
        Ok(()) => owed_close_event(d, cx),
        Err(e) => {
            // The peer-gone close asyncore ran inside send/recv comes first;
            // the error stays the failed handler's, under its name.
            let name = cx.ch.handler_name;
            match owed_close_event(d, cx) {
                Err(stop) if ExitNow::is(&stop) => return Err(stop),
                _ => {
                    cx.ch.handler_name = name;
                    Err(e)
                }
            }
        }
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) if ExitNow::is(&e) => Err(e),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
        Err(e) if routing == Routing::Poll && is_disconnected(&e) => {
            cx.ch.note_close_reason(CloseReason::PeerGone);
            close_event(d, cx, false)
        }
        Err(e) => {
            log::debug!("{} {} failed: {e}", cx.token(), cx.handler_name());
            let before = cx.ch.close_reason;
            cx.ch.note_close_reason(CloseReason::HandlerError);
            let result = d.handle_error(cx, e);
            if !cx.is_closed() {
                cx.ch.close_reason = before; // handle_error kept it open
            }
            result
        }
    }
}
