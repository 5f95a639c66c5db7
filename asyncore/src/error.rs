//! `ExitNow`: the error that stops the loop from inside a handler.

use std::fmt;
use std::io;

/// asyncore's `ExitNow`: a handler returns `Err(ExitNow.into())` to
/// stop the current pass and the loop at once. It is never given to
/// `handle_error`; the loop returns it to its caller and leaves every channel
/// in place.
///
/// # Examples
///
/// ```
/// use asyncore_loop::{Cx, Dispatcher, EventLoop, ExitNow};
/// use std::io;
///
/// struct Quitter;
/// impl Dispatcher for Quitter {
///     fn handle_write(&mut self, _cx: &mut Cx<'_>) -> io::Result<()> {
///         Err(ExitNow.into())
///     }
/// }
///
/// let mut ev = EventLoop::new();
/// let mut cx = ev.add(Quitter);
/// cx.create_socket(asyncore_loop::AF_INET, asyncore_loop::SOCK_DGRAM)?;
/// let err = ev.run().unwrap_err();
/// assert!(ExitNow::is(&err));
/// assert_eq!(ev.len(), 1); // the channel is still there
/// # Ok::<(), io::Error>(())
/// ```
// AC-MOD-2 (asyncore's ExitNow); AC-LOOP-8 (never to handle_error, returned
// to the loop's caller, channels left in place).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExitNow;

impl ExitNow {
    /// Whether `err` is an `ExitNow`.
    pub fn is(err: &io::Error) -> bool {
        err.get_ref().is_some_and(|inner| inner.is::<ExitNow>())
    }
}

impl fmt::Display for ExitNow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExitNow: the loop was stopped by a handler")
    }
}

impl std::error::Error for ExitNow {}

impl From<ExitNow> for io::Error {
    fn from(e: ExitNow) -> io::Error {
        io::Error::other(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_recognises_only_exit_now() {
        assert!(ExitNow::is(&ExitNow.into()));
        assert!(!ExitNow::is(&io::Error::other("x")));
        assert!(!ExitNow::is(&io::Error::from_raw_os_error(libc::EIO)));
    }
}
