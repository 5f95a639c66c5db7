//! The loop-side state of one channel: its descriptor and asyncore's flags.
//!
//! The user's half of a channel is its [`Dispatcher`](crate::Dispatcher)
//! value; this is the other half, which the loop owns and which handlers
//! reach through [`Cx`](crate::Cx).

use crate::close_reason::CloseReason;
use crate::deadline::Deadlines;
use crate::file::FileWrapper;
use crate::sys::Interest;
use crate::timer::TimerId;
use crate::token::Token;
use socket2::{SockAddr, Socket};
use std::collections::HashSet;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

/// What a channel reads and writes through.
#[derive(Debug, Default)]
pub(crate) enum Io {
    /// Nothing attached yet (asyncore's `socket = None`).
    #[default]
    None,
    Socket(Socket),
    File(FileWrapper),
    /// A simulated socket (feature `sim`, for tests).
    #[cfg(feature = "sim")]
    Sim(crate::sim::SimSocket),
    /// `close()` ran; operations fail with EBADF.
    // Spec: AC-Q-13.
    Closed,
}

impl Io {
    pub(crate) fn fd(&self) -> Option<RawFd> {
        match self {
            Io::Socket(s) => Some(s.as_raw_fd()),
            Io::File(f) => Some(f.as_raw_fd()),
            #[cfg(feature = "sim")]
            Io::Sim(s) => Some(s.fd()),
            Io::None | Io::Closed => None,
        }
    }
}

/// One channel's flags and descriptor.
// Spec: AC-DISP-1, AC-STATE.
#[derive(Debug, Default)]
pub(crate) struct Channel {
    pub(crate) io: Io,
    /// `io` is `Io::Closed`: kept as a flag, as handlers and the chat
    /// input loop ask it after every hook (a byte, not an enum's niche).
    pub(crate) closed: bool,
    pub(crate) connected: bool,
    pub(crate) accepting: bool,
    pub(crate) connecting: bool,
    /// A user flag; the library never reads it.
    // Spec: AC-STATE-7.
    pub(crate) closing: bool,
    pub(crate) debug: bool,
    /// `send`/`recv` saw the peer go: the loop owes a `handle_close`.
    pub(crate) close_owed: bool,
    /// The loop already delivered `handle_close` (it does so once).
    pub(crate) close_delivered: bool,
    /// A send or receive failed with a disconnect error (but a send's
    /// `EPIPE` after this side's own `shutdown_write`): once `handle_close`
    /// was delivered, the next failure or end of stream closes the channel
    /// (select reports no hang-up that would).
    pub(crate) broken: bool,
    /// `Cx::shutdown_write` ran: a send's `EPIPE` is this side's doing.
    pub(crate) write_shut: bool,
    /// A receive saw end of stream; the loop stops watching for reads.
    pub(crate) read_eof: bool,
    /// The owed call is `handle_read_eof`, not `handle_close`.
    pub(crate) eof_owed: bool,
    /// What the OS currently watches for (epoll).
    pub(crate) os_interest: Interest,
    /// Bytes sent so far (the busy-loop guard compares it around `handle_write`).
    pub(crate) bytes_sent: u64,
    /// Write events in a row in which nothing was sent (busy-loop guard).
    pub(crate) idle_writes: u32,
    pub(crate) busy_warned: bool,
    /// Datagram sockets treat an empty read as data, not end of stream.
    pub(crate) datagram: bool,
    pub(crate) addr: Option<Box<SockAddr>>,
    /// `None` means asyncore's default `{"warning"}`.
    pub(crate) ignore_log_types: Option<Box<[String]>>,
    /// Timers this channel owns; cancelled when it closes. A set, so that
    /// cancelling or firing one stays O(1) however many the channel owns.
    pub(crate) timers: HashSet<TimerId>,
    /// Idle/read/write timeouts, when declared.
    pub(crate) deadlines: Option<Box<Deadlines>>,
    /// The first cause of closing the loop saw, for its debug line.
    pub(crate) close_reason: Option<CloseReason>,
    /// The listener that accepted this channel (for its connection cap).
    pub(crate) parent: Option<Token>,
    pub(crate) max_children: Option<u32>,
    /// The handler the loop is calling, for `handle_error`'s log line. Set
    /// before each handler call and cleared for a `Cx` given outside one
    /// (set-up, `with`); between calls it keeps the last name. Kept here,
    /// not in the `Cx`, so that it survives a panic that unwinds the `Cx`
    /// away (`deliver/batch.rs`).
    pub(crate) handler_name: crate::handler_name::HandlerName,
    /// The TLS session below `send`/`recv`, once started.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<Box<crate::tls::TlsSession>>,
}

impl Channel {
    /// `<name [listening|connected] [addr] #token>` (`Cx::describe`,
    /// `View::describe`).
    pub(crate) fn describe(&self, token: Token, name: &str) -> String {
        let mut s = format!("<{name}");
        if self.accepting && self.addr.is_some() {
            s.push_str(" listening");
        } else if self.connected {
            s.push_str(" connected");
        }
        if let Some(a) = self.addr.as_deref() {
            s.push(' ');
            s.push_str(&crate::net::describe_addr(a));
        }
        s.push_str(&format!(" {token}>"));
        s
    }

    pub(crate) fn socket(&self) -> io::Result<&Socket> {
        self.io.os_socket()
    }

    /// Records why the channel is about to close, unless a cause already was.
    #[cold]
    pub(crate) fn note_close_reason(&mut self, reason: CloseReason) {
        self.close_reason.get_or_insert(reason);
    }

    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        debug_assert_eq!(self.closed, matches!(self.io, Io::Closed));
        self.closed
    }

    pub(crate) fn ignores(&self, kind: &str) -> bool {
        match &self.ignore_log_types {
            None => kind == "warning",
            Some(list) => list.iter().any(|k| k == kind),
        }
    }
}

impl Io {
    /// The OS socket, or why there is none.
    pub(crate) fn os_socket(&self) -> io::Result<&Socket> {
        match self {
            Io::Socket(s) => Ok(s),
            #[cfg(feature = "sim")]
            Io::Sim(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this channel's socket is simulated",
            )),
            Io::File(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this channel wraps a file descriptor, not a socket",
            )),
            Io::None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "no socket attached: call create_socket or set_socket first",
            )),
            Io::Closed => Err(closed_error()),
        }
    }
}

/// The error of an operation on a closed channel.
// Spec: AC-Q-13.
pub(crate) fn closed_error() -> io::Error {
    io::Error::from_raw_os_error(libc::EBADF)
}
