//! What keeps accepting sane when descriptors run out or caps are reached:
//! a spare descriptor to shed connections with, the back-off, the listeners
//! paused by it, and the loop's channel cap.

use crate::token::Token;
use std::time::Duration;

/// First back-off after EMFILE on accept; doubles up to `MAX_BACKOFF`.
const MIN_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

pub(crate) struct AcceptGuard {
    /// A spare descriptor released to shed one connection on EMFILE.
    // Spec: AC-Q-11.
    spare: Option<std::fs::File>,
    /// Descriptors ran out and no accept has succeeded since (one warning per episode).
    pub(crate) exhausted: bool,
    backoff: Duration,
    /// Listeners backing off; any channel closing resumes them.
    pub(crate) paused: Vec<Token>,
    /// The loop's cap on channels in the map.
    pub(crate) max_channels: Option<usize>,
}

impl AcceptGuard {
    pub(crate) fn new() -> Self {
        AcceptGuard {
            spare: None,
            exhausted: false,
            backoff: MIN_BACKOFF,
            paused: Vec::new(),
            max_channels: None,
        }
    }

    /// A listener exists: keep a spare descriptor for shedding.
    pub(crate) fn ensure_spare(&mut self) {
        if self.spare.is_none() {
            self.spare = std::fs::File::open("/dev/null").ok();
        }
    }

    /// An accept succeeded: the episode is over.
    pub(crate) fn accepted(&mut self) {
        self.exhausted = false;
        self.backoff = MIN_BACKOFF;
    }

    /// Frees the spare descriptor for one shed `accept`; false if there is none.
    pub(crate) fn release_spare(&mut self) -> bool {
        self.spare.take().is_some()
    }

    /// Takes the spare descriptor back; false if even that failed.
    pub(crate) fn reclaim_spare(&mut self) -> bool {
        self.ensure_spare();
        self.spare.is_some()
    }

    /// The next back-off (10 ms doubling to 1 s).
    pub(crate) fn next_backoff(&mut self) -> Duration {
        let backoff = self.backoff;
        self.backoff = (backoff * 2).min(MAX_BACKOFF);
        backoff
    }
}
