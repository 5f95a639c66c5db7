//! The busy-loop guard: a channel that keeps getting write events and sends
//! nothing makes the loop spin (asyncore's classic `writable()` mistake).
//! After `BUSY_WRITE_EVENTS` such events in a row it gets one warning naming
//! it and the fix, whatever `ignore_log_types` says.

use super::Cx;

/// Consecutive write events without a byte sent before the warning.
pub(crate) const BUSY_WRITE_EVENTS: u32 = 1000;

impl<S: 'static> Cx<'_, S> {
    /// Counts a write event; `sent_anything` resets the count.
    pub(crate) fn note_write_event(&mut self, sent_anything: bool, name: &str) {
        let ch = &mut *self.ch;
        if sent_anything {
            ch.idle_writes = 0;
            return;
        }
        ch.idle_writes = ch.idle_writes.saturating_add(1);
        if ch.idle_writes == BUSY_WRITE_EVENTS && !ch.busy_warned {
            ch.busy_warned = true;
            let msg = format!(
                "{} was writable for {BUSY_WRITE_EVENTS} events in a row and sent nothing: \
                 the loop is spinning; override writable() to return true only when there is data to send",
                self.describe(name)
            );
            self.core.diag.log.log_info(&msg, "warning");
        }
    }
}
