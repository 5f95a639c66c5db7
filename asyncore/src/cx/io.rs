//! Data and close: asyncore's `send`, `recv`, `sendto`, `recvfrom`,
//! `close`, and the close bookkeeping the loop reads after each handler.
//!
//! Close words: a `handle_close` is *owed* when `send`/`recv` saw the peer
//! go (the loop calls it after the handler returns), and *delivered* once the
//! loop has called it (it does so at most once per connection).

use super::Cx;
use crate::channel::{closed_error, Io};
use crate::close_reason::CloseReason;
use crate::net::{is_disconnected, AddrText, ToSockAddr};
use crate::sys::fd;
use socket2::SockAddr;
use std::io;
use std::os::fd::AsRawFd;

impl<S: 'static> Cx<'_, S> {
    /// asyncore's `send(data)`: one OS send; returns the bytes the OS took.
    /// Would-block is `Ok(0)`; a send interrupted by a signal is retried. A
    /// broken connection is `Ok(0)` too, and the loop calls `handle_close`
    /// once the current handler returns. Never raises SIGPIPE.
    #[inline(always)]
    pub fn send(&mut self, data: &[u8]) -> io::Result<usize> {
        // AC-IO-1, AC-IO-5 (MSG_NOSIGNAL)
        #[cfg(feature = "tls")]
        if self.ch.tls.is_some() {
            return self.tls_send(data);
        }
        // A socket first, and its success returns here: one test on the
        // per-message path, and no merged result to test again below.
        let result = match &self.ch.io {
            Io::Socket(s) => match fd::send(s.as_raw_fd(), data, libc::MSG_NOSIGNAL) {
                Ok(n) => {
                    self.note_sent(n);
                    return Ok(n);
                }
                failed => failed,
            },
            other => send_other(other, data),
        };
        match result {
            Ok(n) => {
                self.note_sent(n);
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            // Interrupted by a signal: try again, as Python's socket calls do (PEP 475).
            Err(e) if e.kind() == io::ErrorKind::Interrupted => self.send_again(data),
            Err(e) if is_disconnected(&e) => {
                // After our own shutdown(SHUT_WR), EPIPE says nothing of
                // the peer, which may still be sending.
                if !(self.ch.write_shut && e.raw_os_error() == Some(libc::EPIPE)) {
                    self.ch.broken = true;
                }
                self.owe_close(CloseReason::PeerGone);
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    /// What a send of `n` bytes updates: the count, and the write deadline
    /// when bytes moved (`send` and `send_file`).
    #[inline(always)]
    pub(super) fn note_sent(&mut self, n: usize) {
        self.ch.bytes_sent += n as u64;
        if self.ch.deadlines.is_some() && n > 0 {
            // The pass's time (`Cx::now`): one clock read a pass, however
            // many channels with deadlines send in it.
            let now = self.now();
            if let Some(d) = self.ch.deadlines.as_mut() {
                d.last_write = now;
            }
        }
    }

    /// `send` after `EINTR`, off the hot path.
    #[cold]
    #[inline(never)]
    fn send_again(&mut self, data: &[u8]) -> io::Result<usize> {
        self.send(data)
    }

    /// asyncore's `recv(n)`: one OS receive of at most `n` bytes. An empty
    /// result means end of stream (or a broken connection): the loop calls
    /// `handle_close` once the current handler returns. Would-block is
    /// `Err(WouldBlock)`, never confused with end of stream; a handler may
    /// pass it on with `?`, and the loop then waits for the next readiness.
    /// A receive interrupted by a signal is retried.
    /// On a datagram socket an empty datagram is data.
    ///
    /// [`recv_with`](Cx::recv_with) and [`recv_into`](Cx::recv_into) do the
    /// same without allocating.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::{Cx, Dispatcher, EventLoop};
    /// use std::io::{self, Write};
    ///
    /// struct Upper;
    /// impl Dispatcher for Upper {
    ///     fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
    ///         // The bytes are lent from the loop's receive buffer, and the
    ///         // closure may use the channel: an echo that allocates nothing.
    ///         cx.recv_with(4096, |cx, data| cx.send(&data.to_ascii_uppercase()))??;
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let (a, b) = std::os::unix::net::UnixStream::pair()?;
    /// let mut ev = EventLoop::new();
    /// ev.add(Upper).adopt(a.into())?;
    /// (&b).write_all(b"hello")?;
    /// ev.run_loop(Some(std::time::Duration::from_secs(1)), Some(1))?;
    /// let mut got = [0u8; 5];
    /// std::io::Read::read_exact(&mut &b, &mut got)?;
    /// assert_eq!(&got, b"HELLO");
    /// # Ok::<(), io::Error>(())
    /// ```
    pub fn recv(&mut self, n: usize) -> io::Result<Vec<u8>> {
        // AC-IO-2, AC-Q-10
        self.recv_with(n, |_, data| data.to_vec())
    }

    /// `recv` into the loop's shared receive buffer: `f` gets this `Cx` and
    /// the bytes (empty at end of stream, handled as in [`recv`](Cx::recv)),
    /// with no allocation.
    #[inline(always)]
    pub fn recv_with<R>(
        &mut self,
        n: usize,
        f: impl FnOnce(&mut Self, &[u8]) -> R,
    ) -> io::Result<R> {
        // The buffer is lent out of the loop while `f` holds the Cx.
        let mut buf = self.core.pass.scratch.lend(n);
        let result = match self.recv_into(&mut buf[..n]) {
            Ok(got) => Ok(f(self, &buf[..got])),
            Err(e) => Err(e),
        };
        self.core.pass.scratch.restore(buf);
        result
    }

    /// `recv` into a caller's buffer, with no allocation: `Ok(0)` is end of
    /// stream (for a non-empty `buf`), handled as in [`recv`](Cx::recv).
    #[inline(always)]
    pub fn recv_into(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(feature = "tls")]
        if self.ch.tls.is_some() {
            return self.tls_recv(buf);
        }
        // As in `send`: a socket's bytes return at once.
        let result = match &self.ch.io {
            Io::Socket(s) => match fd::recv(s.as_raw_fd(), buf) {
                Ok(n) if n > 0 => {
                    self.note_received();
                    return Ok(n);
                }
                other => other,
            },
            other => recv_other(other, buf),
        };
        match result {
            Ok(0) if !buf.is_empty() && !self.ch.datagram => {
                self.owe_read_eof();
                Ok(0)
            }
            Ok(n) => {
                self.note_received();
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => self.recv_again(buf),
            Err(e) if is_disconnected(&e) => {
                self.owe_broken();
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    /// What a receive of bytes updates: the read deadline.
    #[inline(always)]
    fn note_received(&mut self) {
        if self.ch.deadlines.is_some() {
            let now = self.now();
            if let Some(d) = self.ch.deadlines.as_mut() {
                d.last_read = now;
            }
        }
    }

    /// `recv_into` after `EINTR`, off the hot path.
    #[cold]
    #[inline(never)]
    fn recv_again(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_into(buf)
    }

    /// `sendto` for datagram channels: one datagram to `address`;
    /// would-block is `Ok(0)`.
    pub fn sendto(&mut self, data: &[u8], address: impl ToSockAddr) -> io::Result<usize> {
        let sock = self.socket()?;
        let addr = address.to_sock_addr(sock.domain().ok())?;
        match sock.send_to_with_flags(data, &addr, libc::MSG_NOSIGNAL) {
            Ok(n) => {
                self.ch.bytes_sent += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// `recvfrom` for datagram channels: one datagram (possibly empty, which
    /// is data, not a close) of at most `n` bytes and its sender.
    pub fn recvfrom(&mut self, n: usize) -> io::Result<(Vec<u8>, SockAddr)> {
        fd::recv_from(self.socket()?, n)
    }

    /// asyncore's `close()`: clears `connected`, `accepting` and
    /// `connecting`, leaves the map and closes the descriptor. Idempotent.
    /// The loop frees the channel between passes unless a new socket is
    /// attached first (a reconnecting client may do that).
    pub fn close(&mut self) -> io::Result<()> {
        // AC-CLOSE-1, AC-CLOSE-2, AC-Q-13
        #[cfg(feature = "tls")]
        if self.ch.tls.is_some() {
            return self.close_tls();
        }
        self.core.close(self.ch, self.token.index)
    }

    /// The pending socket error (SO_ERROR, which reading clears), if any.
    /// File channels never have one.
    pub fn socket_error(&self) -> io::Result<Option<io::Error>> {
        // AC-FILE-3
        match &self.ch.io {
            Io::File(_) => Ok(None),
            _ => self.ch.io.take_error(),
        }
    }

    /// Whether a receive on this channel saw end of stream: the peer sends
    /// nothing more (it closed, or shut down its write side). The loop no
    /// longer watches such a channel for reads.
    pub fn read_eof(&self) -> bool {
        self.ch.read_eof
    }

    /// Shuts down the sending side (`shutdown(SHUT_WR)`): the peer reads end
    /// of stream once it has read everything sent before, while this side
    /// can still read. A peer already gone is not an error.
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        #[cfg(feature = "tls")]
        if self.ch.tls.is_some() {
            return self.tls_shutdown_write();
        }
        let result = match self.socket()?.shutdown(std::net::Shutdown::Write) {
            Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => Ok(()),
            other => other,
        };
        self.ch.write_shut |= result.is_ok();
        result
    }

    /// Reads and drops urgent (out-of-band) data the handler left after an
    /// exceptional event: the kernel reports urgent data until it is read,
    /// so the loop would wake at once, pass after pass, for as long as the
    /// connection lives.
    pub(crate) fn discard_urgent(&mut self) {
        let Io::Socket(sock) = &self.ch.io else {
            return;
        };
        // TCP holds one urgent byte at a time. None (EINVAL: the handler
        // read it, or it was an error report) or not yet arrived (would
        // block) leaves nothing to do.
        let mut byte = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        if let Ok(1) = sock.recv_out_of_band(&mut byte) {
            log::debug!("{} urgent byte dropped", self.token);
        }
    }

    /// End of stream, the first time: the loop owes `handle_read_eof`. On a
    /// connection already broken, it is that connection's close.
    pub(crate) fn owe_read_eof(&mut self) {
        if self.ch.broken {
            return self.owe_broken();
        }
        if !self.ch.read_eof {
            self.ch.read_eof = true;
            self.ch.eof_owed = true;
            self.owe_close(CloseReason::PeerClosed);
        }
    }

    /// The connection broke: that is a close, even after end of stream.
    pub(crate) fn owe_broken(&mut self) {
        self.ch.broken = true;
        self.ch.eof_owed = false;
        self.owe_close(CloseReason::PeerGone);
    }

    /// The loop owes this channel a `handle_close` (peer gone during send/recv).
    #[cold]
    fn owe_close(&mut self, reason: CloseReason) {
        if !self.ch.close_owed && !self.ch.is_closed() {
            log::debug!("{} {reason}", self.token);
            self.ch.note_close_reason(reason);
            self.ch.close_owed = true;
            self.core.pass.owed_closes.push(self.token);
        }
    }

    /// Takes the owed `handle_close`, if any.
    #[inline]
    pub(crate) fn take_owed_close(&mut self) -> bool {
        std::mem::take(&mut self.ch.close_owed)
    }

    /// Takes the owed `handle_read_eof` (of the owed call just taken), if it is one.
    #[inline]
    pub(crate) fn take_owed_eof(&mut self) -> bool {
        std::mem::take(&mut self.ch.eof_owed)
    }

    /// Marks `handle_close` as delivered; false if it already was.
    pub(crate) fn claim_close_delivery(&mut self) -> bool {
        !std::mem::replace(&mut self.ch.close_delivered, true)
    }

    /// The connect succeeded (logged before `handle_connect` runs).
    pub(crate) fn note_connected(&self) {
        log::debug!("{} connected to {}", self.token, AddrText(self.ch.addr.as_deref()));
    }

    /// The connect completed: asyncore sets these after `handle_connect`.
    pub(crate) fn finish_connect(&mut self) {
        self.ch.connected = true;
        self.ch.connecting = false;
    }
}

fn no_socket() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "no socket attached: call create_socket or set_socket first",
    )
}

/// `send` by what is attached (a file, a simulated socket, nothing), out of
/// line: the per-message path tests for a socket before calling this.
#[inline(never)]
fn send_other(io: &Io, data: &[u8]) -> io::Result<usize> {
    match io {
        Io::Socket(s) => fd::send(s.as_raw_fd(), data, libc::MSG_NOSIGNAL),
        Io::File(f) => fd::write(f.as_raw_fd(), data),
        #[cfg(feature = "sim")]
        Io::Sim(s) => s.send(data),
        Io::None => Err(no_socket()),
        Io::Closed => Err(closed_error()),
    }
}

/// `recv` by what is attached (a file, a simulated socket, nothing), out of
/// line: the per-message path tests for a socket before calling this.
#[inline(never)]
fn recv_other(io: &Io, buf: &mut [u8]) -> io::Result<usize> {
    match io {
        Io::Socket(s) => fd::recv(s.as_raw_fd(), buf),
        Io::File(f) => fd::read(f.as_raw_fd(), buf),
        #[cfg(feature = "sim")]
        Io::Sim(s) => s.recv(buf),
        Io::None => Err(no_socket()),
        Io::Closed => Err(closed_error()),
    }
}
