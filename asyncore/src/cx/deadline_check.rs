//! The check a channel's deadline timer runs: which deadline passed, and
//! when to look again.

use super::Cx;
use crate::core::TimerAction;
use crate::deadline::Deadline;

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

    /// Arms the deadline timer for the next possible expiry.
    pub(crate) fn rearm_deadline(&mut self, reading: bool, writing: bool) {
        if self.is_closed() {
            return;
        }
        let now = crate::clock::now();
        let Some(next) = self
            .ch
            .deadlines
            .as_ref()
            .and_then(|d| d.next_check(now, reading, writing))
        else {
            return;
        };
        let id = self.arm_timer(
            next.saturating_duration_since(now),
            None,
            TimerAction::Deadline,
        );
        if let Some(d) = self.ch.deadlines.as_mut() {
            d.timer = Some(id);
        }
    }
}
