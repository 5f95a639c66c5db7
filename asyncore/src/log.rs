//! asyncore's `log` and `log_info`, through a pluggable sink.
//!
//! A channel filters `log_info` messages by type (`ignore_log_types`, default
//! `{"warning"}`) and hands the rest to the loop's [`LogSink`]. The default
//! sink forwards to the `log` facade; [`StdioLog`] writes exactly what Python
//! printed; [`CaptureLog`] keeps the lines for tests.

// AC-LOG: asyncore's log/log_info. AC-Q-18: the sink is pluggable.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// Where a loop's `log` and `log_info` lines go.
///
/// # Examples
///
/// ```
/// use asyncore_loop::{CaptureLog, LogSink};
/// let sink = CaptureLog::default();
/// sink.log_info("unhandled read event", "warning");
/// sink.log("hello");
/// assert_eq!(sink.lines(), ["warning: unhandled read event", "log: hello"]);
/// ```
pub trait LogSink {
    /// asyncore's `log(message)`: never filtered.
    // AC-LOG-1.
    fn log(&self, message: &str);
    /// asyncore's `log_info(message, type)` after filtering (the same
    /// argument order as [`Cx::log_info`](crate::Cx::log_info)).
    // AC-LOG-2.
    fn log_info(&self, message: &str, kind: &str);
}

/// The default sink: the `log` crate, target `asyncore`. Type `error` logs at
/// error level, `warning` at warn, anything else at info; the line keeps
/// asyncore's `type: message` form.
///
/// # Examples
///
/// ```
/// use asyncore_loop::{FacadeLog, LogSink};
/// FacadeLog.log_info("goes to the log facade", "info");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct FacadeLog;

impl LogSink for FacadeLog {
    fn log(&self, message: &str) {
        log::info!(target: "asyncore", "log: {message}");
    }

    fn log_info(&self, message: &str, kind: &str) {
        let level = match kind {
            "error" => log::Level::Error,
            "warning" => log::Level::Warn,
            _ => log::Level::Info,
        };
        log::log!(target: "asyncore", level, "{kind}: {message}");
    }
}

/// Python's behaviour exactly: `log` to standard error as `log: message`,
/// `log_info` to standard output as `type: message`.
///
/// # Examples
///
/// ```
/// use asyncore_loop::{EventLoop, StdioLog};
/// let mut ev = EventLoop::new();
/// ev.set_log_sink(StdioLog);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct StdioLog;

impl LogSink for StdioLog {
    fn log(&self, message: &str) {
        let _ = writeln!(std::io::stderr(), "log: {message}");
    }

    fn log_info(&self, message: &str, kind: &str) {
        let _ = writeln!(std::io::stdout(), "{kind}: {message}");
    }
}

/// Keeps every line in memory, in asyncore's text form; clones share the lines.
///
/// # Examples
///
/// ```
/// use asyncore_loop::{CaptureLog, EventLoop};
/// let lines = CaptureLog::default();
/// let mut ev = EventLoop::new();
/// ev.set_log_sink(lines.clone());
/// assert!(lines.lines().is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct CaptureLog {
    lines: Arc<Mutex<Vec<String>>>,
}

impl CaptureLog {
    /// A copy of the lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn push(&self, line: String) {
        if let Ok(mut l) = self.lines.lock() {
            l.push(line);
        }
    }
}

impl LogSink for CaptureLog {
    fn log(&self, message: &str) {
        self.push(format!("log: {message}"));
    }

    fn log_info(&self, message: &str, kind: &str) {
        self.push(format!("{kind}: {message}"));
    }
}
