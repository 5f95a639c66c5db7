//! Delivering readiness to handlers, and where their errors go.
//!
//! asyncore has two routings (AC-Q-1). The select pass calls one wrapper per
//! readiness bit (`read`, `write`, `_exception`), and every handler error goes
//! to `handle_error` (AC-SEL-8). The poll pass calls `readwrite` once per
//! descriptor, and a DISCONNECTED error goes to `handle_close` instead
//! (AC-POLL-7). Epoll uses the poll routing.
//!
//! Added to both: `handle_close` is delivered at most once per channel; a
//! closed channel gets no further steps; a hang-up that arrives with data
//! (`POLLIN|POLLHUP`, no error) lets the reads drain to end of stream instead
//! of closing at once (AC-Q-4); and `WouldBlock` from a handler is not an error
//! (AC-Q-10).

use crate::cx::Cx;
use crate::dispatcher::Dispatcher;
use crate::error::ExitNow;
use crate::loop_core::LoopCore;
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
}

type Disp<'d, S> = &'d mut dyn Dispatcher<S>;

/// Calls `f` on channel `index`'s dispatcher and routes what it returns: the
/// one path every handler call of the loop goes through. With panic
/// isolation on (the default) a panic becomes an error for `handle_error`,
/// and the channel is closed whatever `handle_error` does.
pub(crate) fn invoke<S: 'static>(
    core: &mut LoopCore<S>,
    index: u32,
    routing: Routing,
    f: impl FnOnce(Disp<'_, S>, &mut Cx<'_, S>) -> io::Result<()>,
) -> io::Result<()> {
    let catch = core.catch_panics;
    let result = core.run(index, |d, cx| {
        if !catch {
            // Unwind only once the dispatcher is back in its slot.
            let routed = catch_unwind(AssertUnwindSafe(|| {
                let r = f(&mut *d, &mut *cx);
                finish(&mut *d, &mut *cx, r, routing)
            }));
            if routed.is_ok() {
                LoopCore::ask_interest_now(cx, d);
            }
            return routed;
        }
        let r = match catch_unwind(AssertUnwindSafe(|| f(&mut *d, &mut *cx))) {
            Ok(r) => r,
            Err(payload) => Err(io::Error::other(Panicked(panic_message(&*payload)))),
        };
        let panicked_before =
            matches!(&r, Err(e) if e.get_ref().is_some_and(|i| i.is::<Panicked>()));
        let routed = match catch_unwind(AssertUnwindSafe(|| finish(&mut *d, &mut *cx, r, routing)))
        {
            Ok(routed) => routed,
            Err(payload) => {
                // handle_error itself panicked: say so, and close regardless.
                let msg = format!("handle_error panicked: {}", panic_message(&*payload));
                cx.log_info(&msg, "error");
                let _ = cx.close();
                Ok(())
            }
        };
        if panicked_before && !cx.is_closed() {
            let _ = cx.close();
        }
        LoopCore::ask_interest_now(cx, d);
        Ok(routed)
    });
    match result {
        None => Ok(()),
        Some(Ok(routed)) => routed,
        Some(Err(payload)) => {
            core.mark_dirty(index);
            std::panic::resume_unwind(payload)
        }
    }
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

/// asyncore's `read`/`write`/`_exception` wrappers (AC-SEL-7, AC-SEL-8).
pub(crate) fn wrapper<S: 'static>(
    core: &mut LoopCore<S>,
    index: u32,
    which: Which,
    routing: Routing,
) -> io::Result<()> {
    invoke(core, index, routing, |d, cx| event(d, cx, which))
}

/// asyncore's `readwrite(obj, flags)` (AC-POLL-6, AC-POLL-7).
pub(crate) fn readwrite<S: 'static>(
    core: &mut LoopCore<S>,
    index: u32,
    flags: i16,
) -> io::Result<()> {
    invoke(core, index, Routing::Poll, |d, cx| {
        readwrite_steps(d, cx, flags)
    })
}

/// Delivers a `handle_close` owed by a `send`/`recv` made outside a handler.
pub(crate) fn owed_close<S: 'static>(
    core: &mut LoopCore<S>,
    index: u32,
    routing: Routing,
) -> io::Result<()> {
    invoke(core, index, routing, |d, cx| {
        cx.set_handler("handle_close");
        pending_close(d, cx)
    })
}

fn readwrite_steps<S: 'static>(d: Disp<'_, S>, cx: &mut Cx<'_, S>, flags: i16) -> io::Result<()> {
    for (bit, which) in [
        (POLLIN, Which::Read),
        (POLLOUT, Which::Write),
        (POLLPRI, Which::Expt),
    ] {
        if flags & bit != 0 {
            event(d, cx, which)?;
            pending_close(d, cx)?;
            if cx.is_closed() {
                return Ok(());
            }
        }
    }
    if flags & (POLLHUP | POLLERR | POLLNVAL) != 0 {
        let draining =
            flags & POLLHUP != 0 && flags & POLLIN != 0 && flags & (POLLERR | POLLNVAL) == 0;
        if !draining {
            cx.set_handler("handle_close");
            // A hang-up after handle_close already ran: nothing more can
            // happen on this descriptor, so close it rather than spin.
            close_event(d, cx, true)?;
        }
    }
    Ok(())
}

fn event<S: 'static>(d: Disp<'_, S>, cx: &mut Cx<'_, S>, which: Which) -> io::Result<()> {
    match which {
        Which::Read => {
            cx.set_handler("handle_read_event");
            d.handle_read_event(cx)
        }
        Which::Write => {
            cx.set_handler("handle_write_event");
            let before = cx.core.sent_total;
            let r = d.handle_write_event(cx);
            let sent = cx.core.sent_total != before;
            if !cx.is_closed() && !cx.accepting() {
                cx.note_write_event(sent, d.name());
            }
            r
        }
        Which::Expt => {
            cx.set_handler("handle_expt_event");
            d.handle_expt_event(cx)
        }
    }
}

fn pending_close<S: 'static>(d: Disp<'_, S>, cx: &mut Cx<'_, S>) -> io::Result<()> {
    if cx.take_close_pending() {
        close_event(d, cx, false)
    } else {
        Ok(())
    }
}

/// `handle_close`, at most once per channel; `force` closes the channel when
/// it was already delivered.
fn close_event<S: 'static>(d: Disp<'_, S>, cx: &mut Cx<'_, S>, force: bool) -> io::Result<()> {
    if cx.is_closed() {
        return Ok(());
    }
    if cx.claim_close() {
        d.handle_close(cx)
    } else if force {
        cx.close()
    } else {
        Ok(())
    }
}

/// Runs an owed `handle_close`, then routes the handler's error.
fn finish<S: 'static>(
    d: Disp<'_, S>,
    cx: &mut Cx<'_, S>,
    result: io::Result<()>,
    routing: Routing,
) -> io::Result<()> {
    let result = match result {
        Err(e) if ExitNow::is(&e) => return Err(e),
        Ok(()) => pending_close(d, cx),
        Err(e) => match pending_close(d, cx) {
            // The peer-gone close asyncore ran inside send/recv comes first.
            Err(stop) if ExitNow::is(&stop) => return Err(stop),
            _ => Err(e),
        },
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) if ExitNow::is(&e) => Err(e),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
        Err(e) if routing == Routing::Poll && is_disconnected(&e) => close_event(d, cx, false),
        Err(e) => d.handle_error(cx, e),
    }
}
