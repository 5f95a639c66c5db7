//! The poll routing's readiness reports, delivered as one run under one
//! `catch_unwind` instead of one per report.
//!
//! Each report goes to `readwrite` as through [`invoke`](super::invoke):
//! the entry is lent, the steps run, the result is routed, the entry goes
//! back and the channels its handler added join the map. The difference is
//! where a panic lands: the running entry waits in [`Running`], outside the
//! unwound frames, so the catch after the run still has the channel that
//! panicked. That channel gets what `invoke` gives it (`handle_error` hears
//! of the panic, then it closes), and the run resumes at the next report:
//! every other report of the pass is delivered, in order.
//!
//! One `catch_unwind` per pass instead of one per report: the catch's
//! frame was a call per message on the echo path.

use super::{finish, readwrite_steps, recover, Routing};
use crate::core::{BoxedEntry, Entry, LoopCore, SIGNAL_KEY, WAKER_KEY};
use crate::cx::nursery::Nursery;
use crate::cx::Cx;
use crate::sys::Event;
use crate::token::Token;
use std::io;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

/// Where a run is, kept outside the frames a panic unwinds.
struct Running<S: 'static> {
    /// The report being delivered.
    at: usize,
    /// The channel whose handler runs, out of its slot (slot, token, entry).
    entry: Option<(u32, Token, BoxedEntry<S>)>,
    /// The panic, if any, came from the handler, not from routing its result.
    in_handler: bool,
}

/// Delivers `events[start..]` to their channels with the poll routing, up to
/// the first report for the loop's own descriptors (the waker, signals);
/// gives the index of that report, or `events.len()`.
pub(crate) fn readwrite_run<S: 'static>(
    core: &mut LoopCore<S>,
    nursery: &mut Nursery<S>,
    events: &[Event],
    start: usize,
) -> io::Result<usize> {
    let mut running = Running {
        at: start,
        entry: None,
        in_handler: false,
    };
    loop {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            deliver(core, nursery, events, &mut running)
        }));
        let payload = match outcome {
            Ok(result) => return result,
            Err(payload) => payload,
        };
        // A panic outside a handler call is the loop's own: it unwinds.
        let Some((index, token, mut entry)) = running.entry.take() else {
            core.pass.time.set(crate::core::PassTime::Outside);
            resume_unwind(payload);
        };
        let catch = core.diag.catch_panics;
        let routed = if catch {
            let Entry { ch, disp } = &mut *entry;
            // Under the name the panicking handler ran under, for
            // handle_error's line.
            let mut cx = Cx::new(ch, core, nursery, token);
            recover(disp, &mut cx, running.in_handler, &*payload, Routing::Poll)
        } else {
            Ok(())
        };
        core.restore(index, entry);
        nursery.settle(core);
        if !catch {
            // Leaving the pass: `Cx::now` outside it reads the clock again.
            core.pass.time.set(crate::core::PassTime::Outside);
            resume_unwind(payload);
        }
        routed?;
        running.at += 1;
    }
}

/// The run itself: `invoke`'s per-call path for each report, with the
/// entry kept in `running` while its handler runs.
#[inline(always)]
fn deliver<S: 'static>(
    core: &mut LoopCore<S>,
    nursery: &mut Nursery<S>,
    events: &[Event],
    running: &mut Running<S>,
) -> io::Result<usize> {
    // Entries held since before the run join the map first; each report's
    // additions join it after that report (below).
    nursery.settle(core);
    while let Some(ev) = events.get(running.at) {
        if ev.key() == WAKER_KEY || ev.key() == SIGNAL_KEY {
            return Ok(running.at);
        }
        // Dropped if its channel closed or its slot was reused meanwhile.
        if let Some((index, entry, token)) = core.map.lend_key(ev.key()) {
            let Running {
                entry: slot,
                in_handler,
                ..
            } = &mut *running;
            let (_, _, entry) = slot.insert((index, token, entry));
            let Entry { ch, disp } = &mut **entry;
            let mut cx = Cx::new(ch, core, nursery, token);
            *in_handler = true;
            let r = readwrite_steps(disp, &mut cx, ev.ready());
            *in_handler = false;
            let routed = finish(disp, &mut cx, r, Routing::Poll);
            if let Some((_, _, entry)) = slot.take() {
                core.restore_reported(index, entry);
            }
            nursery.settle(core);
            routed?;
        }
        running.at += 1;
    }
    Ok(running.at)
}
