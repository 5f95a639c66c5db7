//! Where TLS meets the loop: the few named points the core calls for a
//! channel that runs TLS (and only then).
//!
//! * `interest` (from the interest phase, `pass.rs`): what the socket is
//!   watched for, and whether the channel goes on the ready list (plaintext
//!   or close_notify waiting inside rustls: `handle_read` is called without
//!   socket readiness, and the wait does not block).
//! * `before_event` (from `deliver.rs`, before each readiness step): runs
//!   the handshake, flushes records, and says whether the user's handler
//!   runs.
//! * `send`/`recv` (from `cx/io.rs`): plaintext in and out.
//! * `on_close` (from `LoopCore::close`): close_notify, once.
//! * `close_tls` (from `Cx::close`, in `linger.rs`): records the socket
//!   has not taken yet outlive the channel.

use super::info::TlsClose;
use super::session::Filled;
use crate::channel::{Channel, Io};
use crate::cx::Cx;
use crate::deliver::Which;
use crate::dispatcher::Dispatcher;
use crate::net::is_disconnected;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Instant;

/// Socket reads one `recv` may make while no plaintext is ready (a whole
/// 16 KiB record, and then some).
const MAX_FILLS: u32 = 8;

/// The socket interest of a TLS channel from the handler's answers
/// `(readable, writable)`: `(read, write, ready)`.
// Spec: issue 13 (interest that cannot spin or hang).
// A plain channel pays one check here, on every channel asked: the TLS
// rules are out of line so that the check stays inline in the interest phase.
#[inline(always)]
pub(crate) fn interest(ch: &Channel, readable: bool, writable: bool) -> (bool, bool, bool) {
    match ch.tls.as_deref() {
        None => (readable, writable, false),
        Some(s) => session_interest(ch, s, readable, writable),
    }
}

#[inline(never)]
fn session_interest(
    ch: &Channel,
    s: &super::session::TlsSession,
    readable: bool,
    writable: bool,
) -> (bool, bool, bool) {
    if ch.connecting {
        // The connect completes the usual way; the handshake starts after.
        return (readable, writable, false);
    }
    if s.failed() {
        return (false, false, false);
    }
    if s.ended.is_some() {
        // The peer is done sending; this side may still answer, and
        // records (close_notify among them) may still wait.
        return (false, (s.can_send() && writable) || s.wants_write(), false);
    }
    if !s.established {
        // The handshake alone decides; the handler is not asked to drive it.
        return (s.wants_read(), s.wants_write(), false);
    }
    let ready = readable && s.reader_ready();
    // Records waiting while the handler is about to read (and likely
    // answer) leave with its answer, in one segment.
    let flush = s.wants_write() && !ready;
    (readable && s.wants_read(), writable || flush, ready)
}

fn socket_fd(ch: &Channel) -> Option<RawFd> {
    match &ch.io {
        Io::Socket(s) => Some(s.as_raw_fd()),
        _ => None,
    }
}

/// Before one readiness step of a TLS channel: true if the handler's own
/// step (`handle_read_event`, ...) runs.
pub(crate) fn before_event<S: 'static>(
    d: &mut dyn Dispatcher<S>,
    cx: &mut Cx<'_, S>,
    which: Which,
) -> io::Result<bool> {
    if cx.ch.connecting && which != Which::Expt {
        // Completes the connect (handle_connect); no read or write yet.
        d.handle_connect_event(cx)?;
        return Ok(false);
    }
    let Some(fd) = socket_fd(cx.ch) else {
        return Ok(true);
    };
    let Some(s) = cx.ch.tls.as_deref_mut() else {
        return Ok(true);
    };
    if which == Which::Expt || s.failed() {
        return Ok(true);
    }
    if !s.established {
        let filled = match which {
            Which::Read => s.fill(fd)?,
            _ => Filled::Progress,
        };
        // The records that end the handshake (and TLS 1.3's tickets) wait
        // for the handler's first answer when plaintext already waits for it.
        let answer_soon = !s.is_handshaking() && s.reader_ready();
        let flushed = if answer_soon { Ok(false) } else { s.flush(fd) };
        match filled {
            Filled::Eof => {
                s.ended = Some(TlsClose::Truncated);
                cx.owe_broken();
                return Ok(false);
            }
            Filled::Failed => {
                cx.owe_broken();
                return Ok(false);
            }
            Filled::Progress | Filled::WouldBlock => {}
        }
        if peer_gone(cx, flushed)? == Some(true) {
            return Ok(false);
        }
        let Some(s) = cx.ch.tls.as_deref_mut() else {
            return Ok(false);
        };
        if !s.is_handshaking() {
            s.established = true;
            if let Some(id) = s.deadline.take() {
                cx.cancel_timer(id);
            }
            d.handle_tls_established(cx)?;
        }
        return Ok(false);
    }
    if which == Which::Write {
        // Records first; the handler writes only once they are out, and
        // only if it asked to.
        let flushed = s.flush(fd);
        return match peer_gone(cx, flushed)? {
            Some(_) => Ok(false),
            None if cx.ch.tls.as_ref().is_some_and(|s| s.wants_write()) => Ok(false),
            None => Ok(d.writable(&cx.view())),
        };
    }
    Ok(true)
}

/// A flush's result: `Some(true)` if the peer is gone (the close is owed),
/// `Some(false)` if records are still waiting, `None` if all went out.
fn peer_gone<S: 'static>(
    cx: &mut Cx<'_, S>,
    flushed: io::Result<bool>,
) -> io::Result<Option<bool>> {
    match flushed {
        Ok(true) => Ok(None),
        Ok(false) => Ok(Some(false)),
        Err(e) if is_disconnected(&e) => {
            if let Some(s) = cx.ch.tls.as_deref_mut() {
                s.ended.get_or_insert(TlsClose::Truncated);
            }
            cx.owe_broken();
            Ok(Some(true))
        }
        Err(e) => Err(e),
    }
}

impl<S: 'static> Cx<'_, S> {
    /// `send` on a TLS channel: plaintext into the session (one bounded
    /// chunk; less once the records waiting reach rustls's limit), then the
    /// records waiting to the socket in one vectored send.
    pub(crate) fn tls_send(&mut self, data: &[u8]) -> io::Result<usize> {
        let Some(fd) = socket_fd(self.ch) else {
            return Err(crate::channel::closed_error());
        };
        let Some(s) = self.ch.tls.as_deref_mut() else {
            return Ok(0);
        };
        if !s.can_send() {
            return Ok(0);
        }
        let n = s.write_plaintext(data)?;
        let after = s.flush(fd);
        peer_gone(self, after)?;
        self.ch.bytes_sent += n as u64;
        if let (Some(d), true) = (self.ch.deadlines.as_mut(), n > 0) {
            d.last_write = Instant::now();
        }
        Ok(n)
    }

    /// `recv_into` on a TLS channel: plaintext already decrypted, else one
    /// socket read into the session. End of stream is `Ok(0)` as on a plain
    /// channel; [`tls_close`](Cx::tls_close) says whether it was clean.
    pub(crate) fn tls_recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(fd) = socket_fd(self.ch) else {
            return Err(crate::channel::closed_error());
        };
        if buf.is_empty() {
            return Ok(0);
        }
        // rustls reads at most 4 KiB per socket read: a 16 KiB record takes
        // several. Bounded, so one channel cannot hold the loop.
        let mut fills = 0;
        loop {
            let Some(s) = self.ch.tls.as_deref_mut() else {
                return Err(io::ErrorKind::WouldBlock.into());
            };
            if s.ended.is_some() {
                return Ok(0);
            }
            if !s.established {
                // Only the loop drives the handshake.
                return Err(io::ErrorKind::WouldBlock.into());
            }
            match s.read_plaintext(buf) {
                Ok(0) => {
                    // The peer's close_notify: end of stream (it may still read).
                    s.ended = Some(TlsClose::CloseNotify);
                    self.owe_read_eof();
                    return Ok(0);
                }
                Ok(n) => {
                    if let Some(d) = self.ch.deadlines.as_mut() {
                        d.last_read = Instant::now();
                    }
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    s.ended = Some(TlsClose::Truncated);
                    self.owe_read_eof();
                    return Ok(0);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if fills == MAX_FILLS || !s.wants_read() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            fills += 1;
            match s.fill(fd) {
                Ok(Filled::WouldBlock) => return Err(io::ErrorKind::WouldBlock.into()),
                Ok(Filled::Progress | Filled::Eof) => {}
                Ok(Filled::Failed) => {
                    self.owe_broken();
                    return Ok(0);
                }
                Err(e) if is_disconnected(&e) => {
                    s.ended = Some(TlsClose::Truncated);
                    self.owe_broken();
                    return Ok(0);
                }
                Err(e) => return Err(e),
            }
            // A key update or a ticket may want an answer now.
            let flushed = s.flush(fd);
            peer_gone(self, flushed)?;
        }
    }
}

impl<S: 'static> Cx<'_, S> {
    /// `shutdown_write` on a TLS channel: close_notify (TLS's half-close),
    /// then `SHUT_WR` once every record went out (if the socket is full, the
    /// records and close_notify follow when it drains, without the FIN).
    pub(crate) fn tls_shutdown_write(&mut self) -> io::Result<()> {
        let fd = socket_fd(self.ch);
        let flushed = match (self.ch.tls.as_deref_mut(), fd) {
            (Some(s), Some(fd)) => s.close_notify(fd),
            _ => false,
        };
        if !flushed {
            return Ok(());
        }
        match self.socket()?.shutdown(std::net::Shutdown::Write) {
            Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => Ok(()),
            other => other,
        }
    }
}

/// The channel is closing: close_notify once, if the session is sound,
/// writing what the socket takes now (`Cx::close` hands the rest to a
/// linger, `linger.rs`).
pub(crate) fn on_close(ch: &mut Channel) {
    let fd = socket_fd(ch);
    if let (Some(s), Some(fd)) = (ch.tls.as_deref_mut(), fd) {
        s.close_notify(fd);
    }
}
