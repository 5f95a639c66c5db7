//! A closed TLS channel's last records, written after its close.
//!
//! A plain socket's `close()` leaves what `send` accepted to the kernel,
//! which still delivers it. A TLS channel's `send` accepts plaintext into
//! its session, and records (close_notify last) may still wait there when
//! the handler closes. The close then hands the session and the socket to a
//! `Linger`, a channel of the loop's own: it writes the records as the
//! socket takes them and closes once they are written, or once the socket
//! took nothing for the linger period (a write deadline). What the peer
//! still sends is read and dropped: left unread, it would turn the final
//! close into a reset, which can destroy data the peer has not read yet.
//!
//! The handler's channel is closed at once, as asyncore's `close()` says;
//! only the descriptor lives on, in the linger's channel.

use super::session::TlsSession;
use crate::channel::Io;
use crate::core::close_io;
use crate::cx::Cx;
use crate::deadline::Deadline;
use crate::dispatcher::Dispatcher;
use crate::view::View;
use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

/// The loop's channel for a closed TLS channel's last records.
struct Linger {
    session: Box<TlsSession>,
    period: Duration,
}

impl<S: 'static> Cx<'_, S> {
    /// `close()` on a TLS channel: the channel closes, and records still
    /// waiting in its session go to a [`Linger`] with the socket.
    pub(crate) fn close_tls(&mut self) -> io::Result<()> {
        let io = self.core.detach_for_close(self.ch, self.token.index);
        // The close queued close_notify and wrote what the socket took.
        let period = match (&io, self.ch.tls.as_deref()) {
            (Io::Socket(_), Some(s)) if s.wants_write() && s.peer_reads() => {
                s.linger.filter(|p| !p.is_zero())
            }
            _ => None,
        };
        let (period, sock) = match (period, io) {
            (Some(period), Io::Socket(sock)) => (period, sock),
            (_, io) => return close_io(io),
        };
        let Some(session) = self.ch.tls.take() else {
            return close_io(Io::Socket(sock));
        };
        let mut cx = self.add(Linger { session, period });
        cx.attach_socket(sock);
        cx.ch.connected = true;
        cx.set_timeout(Deadline::Write, Some(period));
        Ok(())
    }
}

impl<S: 'static> Dispatcher<S> for Linger {
    fn name(&self) -> &'static str {
        "tls-linger"
    }

    fn readable(&self, _: &View<'_, S>) -> bool {
        true
    }

    fn writable(&self, _: &View<'_, S>) -> bool {
        self.session.wants_write()
    }

    fn handle_read(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        cx.recv_with(64 * 1024, |_, _| ())
    }

    /// The peer is done sending; it may still read.
    fn handle_read_eof(&mut self, _: &mut Cx<'_, S>) -> io::Result<()> {
        Ok(())
    }

    fn handle_write(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        let fd = cx.socket()?.as_raw_fd();
        match self.session.flush_counted(fd) {
            Ok((_, true)) | Err(_) => cx.close(),
            Ok((0, false)) => Ok(()),
            Ok((_, false)) => {
                let now = cx.now();
                if let Some(d) = cx.ch.deadlines.as_mut() {
                    d.last_write = now;
                }
                Ok(())
            }
        }
    }

    fn handle_timeout(&mut self, cx: &mut Cx<'_, S>, _: Deadline) -> io::Result<()> {
        let line = format!(
            "{}: the socket took nothing for {:?}; a closed TLS channel's last records are undelivered",
            cx.describe("tls-linger"),
            self.period
        );
        cx.log_info(&line, "info");
        cx.close()
    }

    /// It closes by itself once the records are written; the shutdown's
    /// deadline closes it otherwise.
    fn handle_shutdown(&mut self, _: &mut Cx<'_, S>) -> io::Result<()> {
        Ok(())
    }

    fn handle_close(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        cx.close()
    }

    fn handle_error(&mut self, cx: &mut Cx<'_, S>, err: io::Error) -> io::Result<()> {
        log::debug!("{} closed: {err}", cx.token());
        cx.close()
    }
}
