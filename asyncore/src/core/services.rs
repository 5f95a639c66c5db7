//! The loop services beyond asyncore: timers, jobs from other threads,
//! signals, and the state of a graceful shutdown.

use crate::cx::Cx;
use crate::remote::RemoteShared;
use crate::signals::Signals;
use crate::timer::{TimerId, Timers};
use crate::token::Token;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A callback the loop runs with a channel's `Cx`: timer and signal
/// callbacks. (A job from another thread has the same call shape but must be
/// `Send` and runs once: [`Remote::post`](crate::Remote::post).)
pub(crate) type Callback<S> = Box<dyn FnMut(&mut Cx<'_, S>) -> io::Result<()>>;

/// What a timer does when it fires, and which channel owns it.
pub(crate) struct TimerPayload<S: 'static> {
    pub(crate) owner: Token,
    pub(crate) action: TimerAction<S>,
}

pub(crate) enum TimerAction<S: 'static> {
    /// `Dispatcher::handle_timer` of the owner.
    Handler,
    /// A closure run with the owner's `Cx`; out of its slot while it runs
    /// (it may cancel or reset its own timer).
    Callback(Option<Callback<S>>),
    /// Check the owner's idle/read/write deadlines.
    Deadline,
    /// End a listener's accept back-off.
    ResumeAccept,
}

/// Graceful shutdown in progress.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shutdown {
    pub(crate) deadline: Instant,
    pub(crate) begun: bool,
}

pub(crate) struct Services<S: 'static> {
    pub(crate) timers: Timers<TimerPayload<S>>,
    remote: Option<Arc<RemoteShared<S>>>,
    pub(crate) signals: Option<Signals<S>>,
    pub(crate) shutdown: Option<Shutdown>,
    /// The loop's own channel (loop-level timers, remote jobs and signal
    /// callbacks run with its `Cx`), made on first use.
    pub(crate) loop_channel: Option<Token>,
}

impl<S: 'static> Services<S> {
    pub(crate) fn new() -> Self {
        Services {
            timers: Timers::default(),
            remote: None,
            signals: None,
            shutdown: None,
            loop_channel: None,
        }
    }

    /// The shared half of this loop's [`Remote`](crate::Remote)s, made on first use.
    pub(crate) fn remote(&mut self) -> io::Result<Arc<RemoteShared<S>>> {
        if let Some(r) = &self.remote {
            return Ok(Arc::clone(r));
        }
        let shared = Arc::new(RemoteShared::new()?);
        self.remote = Some(Arc::clone(&shared));
        Ok(shared)
    }

    /// The shared half of the remotes, if any was made.
    pub(crate) fn existing_remote(&self) -> Option<&Arc<RemoteShared<S>>> {
        self.remote.as_ref()
    }

    /// Whether the loop has a remote waker and a signal pipe to watch (in
    /// [`special_fds`](Services::special_fds)' order), without reading them.
    #[inline(always)]
    pub(crate) fn specials_present(&self) -> [bool; 2] {
        [self.remote.is_some(), self.signals.is_some()]
    }

    /// The descriptors the loop watches for itself: the remote waker and the signal pipe.
    pub(crate) fn special_fds(&self) -> [Option<i32>; 2] {
        [
            self.remote.as_ref().map(|r| r.waker.fd()),
            self.signals.as_ref().map(|s| s.fd()),
        ]
    }

    /// Starts (or tightens) a graceful shutdown.
    pub(crate) fn request_shutdown(&mut self, grace: Duration) {
        let deadline = crate::clock::after(crate::clock::now(), grace);
        match &mut self.shutdown {
            Some(s) => s.deadline = s.deadline.min(deadline),
            None => {
                self.shutdown = Some(Shutdown {
                    deadline,
                    begun: false,
                })
            }
        }
    }

    /// A shutdown was asked for and its first step has not run yet.
    pub(crate) fn shutdown_requested(&self) -> bool {
        self.shutdown.is_some_and(|s| !s.begun)
    }

    /// The earliest moment the loop must wake for: the next timer or the
    /// shutdown deadline.
    pub(crate) fn next_wake(&mut self) -> Option<Instant> {
        let timer = self.timers.next_deadline();
        let shutdown = self.shutdown.map(|s| s.deadline);
        match (timer, shutdown) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(crate) fn cancel_timer(&mut self, id: TimerId) -> Option<Token> {
        self.timers.cancel(id).map(|p| p.owner)
    }
}

impl<S: 'static> Drop for Services<S> {
    fn drop(&mut self) {
        if let Some(remote) = &self.remote {
            remote.close();
        }
    }
}
