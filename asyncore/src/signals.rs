//! Signals as loop events: a callback per signal, run on the loop thread.
//!
//! The handler that signal-hook installs only sets a flag and writes a byte
//! to a pipe the loop watches (the self-pipe trick), so the callback runs
//! like any other event, never inside the signal handler.

use crate::core::Callback;
use crate::sys::fd;
use signal_hook::SigId;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub(crate) struct SignalHandler<S: 'static> {
    signal: i32,
    flag: Arc<AtomicBool>,
    pub(crate) callback: Option<Callback<S>>,
    ids: [SigId; 2],
}

pub(crate) struct Signals<S: 'static> {
    reader: std::io::PipeReader,
    writer: std::io::PipeWriter,
    pub(crate) handlers: Vec<SignalHandler<S>>,
}

/// The self-pipe: neither end may block (a signal handler writes to it).
fn nonblocking_pipe() -> io::Result<(std::io::PipeReader, std::io::PipeWriter)> {
    let (reader, writer) = std::io::pipe()?;
    fd::set_nonblocking(reader.as_raw_fd())?;
    fd::set_nonblocking(writer.as_raw_fd())?;
    Ok((reader, writer))
}

impl<S: 'static> Signals<S> {
    pub(crate) fn new() -> io::Result<Self> {
        let (reader, writer) = nonblocking_pipe()?;
        Ok(Signals {
            reader,
            writer,
            handlers: Vec::new(),
        })
    }

    pub(crate) fn fd(&self) -> i32 {
        self.reader.as_raw_fd()
    }

    pub(crate) fn add(&mut self, signal: i32, callback: Callback<S>) -> io::Result<()> {
        if signal_hook::consts::FORBIDDEN.contains(&signal) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("signal {signal} cannot be handled by a loop (SIGKILL, SIGSTOP, SIGILL, SIGFPE, SIGSEGV)"),
            ));
        }
        let flag = Arc::new(AtomicBool::new(false));
        let flag_id = signal_hook::flag::register(signal, Arc::clone(&flag))?;
        let wake = self
            .writer
            .try_clone()
            .and_then(|w| signal_hook::low_level::pipe::register(signal, w));
        let wake_id = match wake {
            Ok(id) => id,
            Err(e) => {
                signal_hook::low_level::unregister(flag_id);
                return Err(e);
            }
        };
        self.handlers.push(SignalHandler {
            signal,
            flag,
            callback: Some(callback),
            ids: [flag_id, wake_id],
        });
        Ok(())
    }

    /// In a forked child: a pipe of its own, and every handler writes to it
    /// instead of the pipe shared with the parent (where either process
    /// could take the other's wake-up). A signal that already arrived is
    /// written again.
    pub(crate) fn renew_after_fork(&mut self) -> io::Result<()> {
        let (reader, writer) = nonblocking_pipe()?;
        // Every handler on the new pipe, or none: a failure leaves the old
        // registrations in place for the next attempt.
        let mut ids = Vec::with_capacity(self.handlers.len());
        for h in &self.handlers {
            match writer
                .try_clone()
                .and_then(|w| signal_hook::low_level::pipe::register(h.signal, w))
            {
                Ok(id) => ids.push(id),
                Err(e) => {
                    for id in ids {
                        signal_hook::low_level::unregister(id);
                    }
                    return Err(e);
                }
            }
        }
        for (h, id) in self.handlers.iter_mut().zip(ids) {
            signal_hook::low_level::unregister(std::mem::replace(&mut h.ids[1], id));
        }
        (self.reader, self.writer) = (reader, writer);
        if self.handlers.iter().any(|h| h.flag.load(Ordering::Acquire)) {
            let _ = (&self.writer).write(&[0]);
        }
        Ok(())
    }

    /// Empties the pipe and returns the handlers whose signal arrived.
    pub(crate) fn arrived(&mut self) -> Vec<usize> {
        let mut buf = [0u8; 64];
        while matches!((&self.reader).read(&mut buf), Ok(n) if n > 0) {}
        (0..self.handlers.len())
            .filter(|&i| self.handlers[i].flag.swap(false, Ordering::AcqRel))
            .collect()
    }
}

impl<S: 'static> Drop for Signals<S> {
    fn drop(&mut self) {
        for h in &self.handlers {
            for id in h.ids {
                signal_hook::low_level::unregister(id);
            }
        }
    }
}
