//! The progress bar: on stderr, only for large downloads, only on a terminal.

use std::io::Write;
use std::time::{Duration, Instant};

/// Downloads smaller than this (known length, or so far) show no bar.
const LARGE: u64 = 1 << 20;
const EVERY: Duration = Duration::from_millis(100);
const WIDTH: usize = 30;

/// Whether standard error is a terminal (`isatty(2)`).
///
/// # Examples
///
/// ```
/// let _on_a_terminal: bool = asyncore_cli::get::stderr_is_terminal();
/// ```
pub fn stderr_is_terminal() -> bool {
    // SAFETY: isatty only inspects the descriptor number; any value is safe.
    unsafe { libc::isatty(2) == 1 }
}

/// One line of the bar: percentage, bar, sizes and rate with a known total;
/// size and rate without.
///
/// # Examples
///
/// ```
/// use asyncore_cli::get::render_progress;
/// use std::time::Duration;
/// let line = render_progress(5 << 20, Some(10 << 20), Duration::from_secs(2));
/// assert!(line.starts_with(" 50% [###############               ] 5.0 MiB / 10.0 MiB"));
/// assert!(line.contains("2.5 MiB/s"));
/// assert!(render_progress(3 << 20, None, Duration::from_secs(1)).starts_with("3.0 MiB"));
/// ```
pub fn render_progress(received: u64, total: Option<u64>, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(0.001);
    let rate = format!("{}/s", size(received as f64 / secs));
    match total {
        Some(total) if total > 0 => {
            let frac = (received as f64 / total as f64).clamp(0.0, 1.0);
            let filled = (frac * WIDTH as f64).round() as usize;
            format!(
                "{:>3.0}% [{}{}] {} / {}  {rate}",
                frac * 100.0,
                "#".repeat(filled),
                " ".repeat(WIDTH - filled),
                size(received as f64),
                size(total as f64)
            )
        }
        _ => format!("{}  {rate}", size(received as f64)),
    }
}

pub(super) fn size(bytes: f64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024.0 {
        return format!("{bytes:.0} B");
    }
    let mut value = bytes / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// The bar's state while a download runs.
#[derive(Debug)]
pub(super) struct Progress {
    enabled: bool,
    start: Instant,
    last: Option<Instant>,
    shown: bool,
}

impl Progress {
    /// `enabled` false: never draws anything.
    pub(super) fn new(enabled: bool) -> Self {
        Progress {
            enabled,
            start: Instant::now(),
            last: None,
            shown: false,
        }
    }

    /// Redraws (at most ten times a second) once the download is large.
    pub(super) fn update(&mut self, received: u64, total: Option<u64>) {
        if !self.enabled || total.unwrap_or(received) < LARGE {
            return;
        }
        let now = Instant::now();
        if self.last.is_some_and(|t| now - t < EVERY) {
            return;
        }
        self.last = Some(now);
        self.draw(received, total);
    }

    /// The last state, and a newline, if the bar was ever shown.
    pub(super) fn finish(&mut self, received: u64, total: Option<u64>) {
        if self.shown {
            self.draw(received, total);
            let _ = writeln!(std::io::stderr());
        }
    }

    fn draw(&mut self, received: u64, total: Option<u64>) {
        let line = render_progress(received, total, self.start.elapsed());
        // Pad so a shorter line erases the end of a longer one.
        let _ = write!(std::io::stderr(), "\r{line:<72}");
        self.shown = true;
    }
}
