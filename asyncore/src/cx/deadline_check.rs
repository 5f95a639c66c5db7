//! The check a channel's deadline timer runs: which deadline passed, and
//! when to look again.

use super::Cx;
use crate::core::TimerAction;
use crate::deadline::Deadline;
use std::time::Instant;

impl<S: 'static> Cx<'_, S> {
    /// The deadline that passed, if any; its clock restarts so a channel
    /// that survives `handle_timeout` gets a full period again.
    pub(crate) fn expired_deadline(&mut self, reading: bool, writing: bool) -> Option<Deadline> {
        let now = crate::clock::now();
        let d = self.ch.deadlines.as_mut()?;
        d.note_interest(now, reading, writing);
        let kind = d.expired(now, reading, writing)?;
        match kind {
            Deadline::Idle => (d.last_read, d.last_write) = (now, now),
            Deadline::Read => d.last_read = now,
            Deadline::Write => d.last_write = now,
        }
        Some(kind)
    }

    /// (Re)arms the deadline timer for its first check after `now`: when the
    /// earliest declared deadline could pass (as if the channel read and
    /// wrote); the check computes the real expiry and re-arms. With none
    /// declared, the deadlines go.
    pub(crate) fn arm_first_deadline_check(&mut self, now: Instant) {
        let Some(deadlines) = self.ch.deadlines.as_mut() else {
            return;
        };
        let first = deadlines.next_check(now, true, true);
        // A timer id is generational: one cancelled already (the channel
        // closed) cancels nothing now.
        if let Some(id) = deadlines.timer.take() {
            self.cancel_timer(id);
        }
        match first {
            Some(first) => self.arm_deadline_timer(first, now),
            None => self.ch.deadlines = None,
        }
    }

    /// A new descriptor attached: declared deadlines start afresh, their
    /// clocks from now, their timer armed again (a close before cancelled
    /// it). Without deadlines, nothing (not even a clock read).
    pub(crate) fn restart_deadlines(&mut self) {
        let Some(d) = self.ch.deadlines.as_mut() else {
            return;
        };
        let now = crate::clock::now();
        d.restart(now);
        self.arm_first_deadline_check(now);
    }

    /// Arms the deadline timer for the next possible expiry.
    pub(crate) fn rearm_deadline(&mut self, reading: bool, writing: bool) {
        if self.is_closed() {
            return;
        }
        let now = crate::clock::now();
        let next = self
            .ch
            .deadlines
            .as_ref()
            .and_then(|d| d.next_check(now, reading, writing));
        if let Some(next) = next {
            self.arm_deadline_timer(next, now);
        }
    }

    /// Arms the deadline timer for `at` and keeps its id with the deadlines.
    fn arm_deadline_timer(&mut self, at: Instant, now: Instant) {
        let delay = at.saturating_duration_since(now);
        let id = self.arm_timer(delay, None, TimerAction::Deadline);
        if let Some(d) = self.ch.deadlines.as_mut() {
            d.timer = Some(id);
        }
    }
}
