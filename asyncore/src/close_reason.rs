//! Why a channel closed, for the loop's own `debug` line when it does.

use crate::deadline::Deadline;
use std::fmt;

/// The first cause the loop saw for a channel's close. One byte or two, kept
/// in the channel's state so the close line can name it; no cause recorded
/// means the channel's own handler closed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CloseReason {
    /// `recv` read end of stream.
    PeerClosed,
    /// `send`/`recv` failed with a disconnection error (reset, broken pipe ...).
    PeerGone,
    /// The OS reported a hang-up or an error condition on the descriptor.
    HangUp,
    /// A handler returned an error (logged just before, with its text).
    HandlerError,
    /// A handler panicked.
    Panicked,
    /// A deadline passed and `handle_timeout` closed the channel.
    Deadline(Deadline),
    /// The loop is shutting down.
    Shutdown,
    /// `close_all`, or the end of a shutdown's grace period.
    ClosedByLoop,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::PeerClosed => f.write_str("the peer closed the connection"),
            CloseReason::PeerGone => f.write_str("the connection broke"),
            CloseReason::HangUp => f.write_str("hang-up or error reported by the OS"),
            CloseReason::HandlerError => f.write_str("a handler failed"),
            CloseReason::Panicked => f.write_str("a handler panicked"),
            CloseReason::Deadline(kind) => write!(f, "{kind} timeout"),
            CloseReason::Shutdown => f.write_str("the loop is shutting down"),
            CloseReason::ClosedByLoop => f.write_str("closed by the loop (close_all or shutdown)"),
        }
    }
}

