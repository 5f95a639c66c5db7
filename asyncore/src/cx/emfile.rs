//! Running out of descriptors on accept: shed the waiting
//! connections through a spare descriptor, then pause the listener.

// Spec: AC-Q-11.

use super::Cx;
use crate::core::TimerAction;
use std::io;

/// At most this many waiting connections are shed per EMFILE event.
const SHED_PER_EVENT: usize = 64;

impl<S: 'static> Cx<'_, S> {
    /// `accept` failed with EMFILE (or ENFILE, ENOBUFS, ENOMEM).
    pub(crate) fn shed_connections(&mut self, err: &io::Error) {
        if !self.core.accept.exhausted {
            self.core.accept.exhausted = true;
            let msg = format!(
                "accept on {} failed: {err}; closing new connections until descriptors free up",
                self.describe("listener")
            );
            self.core.diag.log.log_info(&msg, "warning");
            log::debug!("{} out of descriptors: {err}", self.token);
        }
        // Close the waiting connections through the spare descriptor, so
        // their peers are told at once instead of left hanging.
        for _ in 0..SHED_PER_EVENT {
            if !self.core.accept.release_spare() {
                break;
            }
            drop(self.socket().and_then(|s| s.accept()));
            if !self.core.accept.reclaim_spare() {
                break;
            }
        }
        // Then stop watching the listener for a while rather than spin on
        // it; any channel closing (freeing a descriptor) ends the pause early.
        let backoff = self.core.accept.next_backoff();
        log::debug!("{} shed waiting connections; not accepting for {backoff:?}", self.token);
        let index = self.token.index;
        let paused = self.core.map.meta(index).accept_paused;
        if !paused {
            if let Some(meta) = self.core.map.meta_mut(index) {
                meta.accept_paused = true;
            }
            self.core.accept.paused.push(self.token);
            self.arm_timer(backoff, None, TimerAction::ResumeAccept);
            self.core.mark_dirty(index);
        }
    }
}
