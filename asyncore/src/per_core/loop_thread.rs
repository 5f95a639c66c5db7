//! The body of one loop thread: pin, build the loop, set it up, run it.

use crate::event_loop::EventLoop;
use crate::remote::Remote;
use crate::sys::{affinity, Backend};
use std::any::Any;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc};

pub(super) type StateFn<S> = dyn Fn(usize) -> S + Send + Sync;
pub(super) type SetupFn<S> = dyn Fn(usize, &mut EventLoop<S>) -> io::Result<()> + Send + Sync;

/// What one loop thread is given.
pub(super) struct LoopThread<S: 'static> {
    pub(super) index: usize,
    pub(super) backend: Backend,
    pub(super) cpu: Option<usize>,
    pub(super) state: Arc<StateFn<S>>,
    pub(super) setup: Arc<SetupFn<S>>,
    pub(super) ready: mpsc::Sender<(usize, Option<Remote<S>>)>,
    pub(super) done: mpsc::Sender<usize>,
}

/// Tells [`LoopGroup::join_timeout`] that a loop thread is finishing,
/// however it ends.
struct DoneGuard {
    index: usize,
    done: mpsc::Sender<usize>,
}

impl Drop for DoneGuard {
    fn drop(&mut self) {
        let _ = self.done.send(self.index);
    }
}

impl<S: 'static> LoopThread<S> {
    /// The thread's body: set up (reporting to `start`), then run. Panics
    /// are caught and become errors.
    pub(super) fn run(self) -> io::Result<()> {
        let LoopThread {
            index,
            backend,
            cpu,
            state,
            setup,
            ready,
            done,
        } = self;
        let _done = DoneGuard { index, done };
        // The loop is dropped inside `catch_unwind` whatever happens, so a
        // panicking `Drop` of a dispatcher is caught too.
        let built = catch_unwind(AssertUnwindSafe(
            || -> io::Result<(EventLoop<S>, Remote<S>)> {
                if let Some(cpu) = cpu {
                    affinity::pin_current_thread(cpu)?;
                }
                let mut ev = EventLoop::with_state(state(index)).with_backend(backend);
                let remote = ev.remote()?;
                setup(index, &mut ev)?;
                Ok((ev, remote))
            },
        ));
        let mut ev = match built {
            Ok(Ok((ev, remote))) => {
                let _ = ready.send((index, Some(remote)));
                ev
            }
            Ok(Err(e)) => {
                let _ = ready.send((index, None));
                return Err(e);
            }
            Err(payload) => {
                let _ = ready.send((index, None));
                return Err(panicked(index, "its setup", payload.as_ref()));
            }
        };
        drop(ready);
        match catch_unwind(AssertUnwindSafe(move || {
            let result = ev.run();
            drop(ev);
            result
        })) {
            Ok(result) => result,
            Err(payload) => Err(panicked(index, "its run", payload.as_ref())),
        }
    }
}

/// The error a caught panic becomes.
pub(super) fn panicked(index: usize, during: &str, payload: &(dyn Any + Send)) -> io::Error {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic payload that is not a string)".to_string());
    io::Error::other(format!("loop {index} panicked during {during}: {message}"))
}
