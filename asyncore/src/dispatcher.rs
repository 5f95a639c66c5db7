//! The `Dispatcher` trait: asyncore's handler names, with asyncore's defaults.

use crate::cx::Cx;
use crate::deadline::Deadline;
use crate::timer::TimerId;
use crate::view::View;
use socket2::{SockAddr, Socket};
use std::any::Any;
use std::io;

/// A channel's behaviour: asyncore's `dispatcher` methods.
///
/// Implement the handlers you need; every method has asyncore's default.
/// Handlers return `io::Result<()>`: an `Err` goes to
/// [`handle_error`](Dispatcher::handle_error) (whose default logs one line and
/// closes the channel), except [`ExitNow`](crate::ExitNow), which stops the
/// loop, and `WouldBlock`, which just means "nothing to do now".
///
/// `S` is the loop's shared state (see [`EventLoop::with_state`](crate::EventLoop::with_state)).
///
/// The `handle_*_event` methods are asyncore's event entry points:
/// they turn readiness into the higher-level events (`handle_connect`,
/// `handle_accept`, ...). Overriding them is rarely needed.
///
/// **`handle_connect` runs before `connected` is set**: inside it,
/// `cx.connecting()` is still true and `cx.connected()` still false, as in asyncore.
///
/// # Examples
///
/// The HTTP client from asyncore's documentation, line for line:
///
/// ```no_run
/// use asyncore_loop::{Cx, Dispatcher, EventLoop, View, AF_INET, SOCK_STREAM};
/// use std::io::{self, Write};
///
/// struct HttpClient {
///     buffer: Vec<u8>,
/// }
///
/// impl Dispatcher for HttpClient {
///     fn handle_connect(&mut self, _cx: &mut Cx<'_>) -> io::Result<()> {
///         Ok(())
///     }
///     fn handle_close(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
///         cx.close()
///     }
///     fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
///         io::stdout().write_all(&cx.recv(8192)?)
///     }
///     fn writable(&self, _ch: &View<'_>) -> bool {
///         !self.buffer.is_empty()
///     }
///     fn handle_write(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
///         let sent = cx.send(&self.buffer)?;
///         self.buffer.drain(..sent);
///         Ok(())
///     }
/// }
///
/// let mut ev = EventLoop::new();
/// let mut c = ev.add(HttpClient { buffer: b"GET / HTTP/1.0\r\n\r\n".to_vec() });
/// c.create_socket(AF_INET, SOCK_STREAM)?;
/// c.connect(("www.python.org", 80))?;
/// ev.run()?;
/// # Ok::<(), io::Error>(())
/// ```
// Spec: AC-Q-10, AC-Q-2.
pub trait Dispatcher<S: 'static = ()>: Any {
    /// The channel's name in log lines (default: the Rust type name).
    fn name(&self) -> &'static str {
        std::any::type_name::<Self>()
    }

    /// Whether the loop should watch for read readiness (default: true).
    /// Asked before each wait: every pass on select and poll,
    /// after the channel's handlers ran (or it was touched) on epoll.
    // Spec: AC-DISP-4.
    fn readable(&self, ch: &View<'_, S>) -> bool {
        let _ = ch;
        true
    }

    /// Whether the loop should watch for write readiness (default: true).
    /// **Override it**: a channel that is always writable but has
    /// nothing to send makes the loop spin; the loop logs a warning
    /// when it sees that happen.
    // Spec: AC-DISP-4, AC-DISP-5.
    fn writable(&self, ch: &View<'_, S>) -> bool {
        let _ = ch;
        true
    }

    /// The socket has data (or end of stream) to read.
    fn handle_read(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        cx.log_info("unhandled read event", "warning");
        Ok(())
    }

    /// The socket can be written.
    fn handle_write(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        cx.log_info("unhandled write event", "warning");
        Ok(())
    }

    /// Urgent (out-of-band) data arrived. Read it here if it matters
    /// (`cx.socket()?.recv_out_of_band(..)`): the loop drops what is left
    /// once this returns (the kernel would report it again at every pass).
    fn handle_expt(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        cx.log_info("unhandled incoming priority event", "warning");
        Ok(())
    }

    /// An outgoing connection was established; runs before
    /// `connected` is set.
    // Spec: AC-CONN-5, AC-Q-2.
    fn handle_connect(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        cx.log_info("unhandled connect event", "warning");
        Ok(())
    }

    /// A listening channel is readable: by default one `accept()`, and
    /// `handle_accepted` if it gave a connection — or
    /// `handle_refused` if the listener or the loop is at its connection cap.
    // Spec: AC-ACC-3.
    fn handle_accept(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        match cx.accept()? {
            Some((sock, addr)) if cx.at_capacity() => self.handle_refused(cx, sock, addr),
            Some((sock, addr)) => self.handle_accepted(cx, sock, addr),
            None => Ok(()),
        }
    }

    /// A connection arrived while at capacity (see
    /// [`Cx::set_max_connections`]). `sock` is a fresh blocking socket: a
    /// short reply such as `421 busy\r\n` or an HTTP 503 fits in its buffer
    /// and can be written before dropping it. Default: close it, and log a
    /// warning.
    fn handle_refused(
        &mut self,
        cx: &mut Cx<'_, S>,
        sock: Socket,
        addr: SockAddr,
    ) -> io::Result<()> {
        let _ = addr;
        drop(sock);
        cx.log_info("refused a connection: at capacity", "warning");
        Ok(())
    }

    /// The TLS handshake of this channel finished (see
    /// [`Cx::start_tls_server`]); [`Cx::tls_info`] tells what it negotiated.
    /// Default: nothing.
    #[cfg(feature = "tls")]
    fn handle_tls_established(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        let _ = cx;
        Ok(())
    }

    /// A timer armed with [`Cx::start_timer`] fired.
    fn handle_timer(&mut self, cx: &mut Cx<'_, S>, id: TimerId) -> io::Result<()> {
        let _ = id;
        cx.log_info("unhandled timer event", "warning");
        Ok(())
    }

    /// A deadline declared with [`Cx::set_timeout`] passed. Default: an
    /// `info` log line naming the channel and the deadline, then `close()`.
    fn handle_timeout(&mut self, cx: &mut Cx<'_, S>, kind: Deadline) -> io::Result<()> {
        cx.log_info(
            &format!("{} {kind} timeout, closing", cx.describe(self.name())),
            "info",
        );
        cx.close()
    }

    /// The loop is shutting down gracefully ([`Cx::shutdown`]). Default:
    /// `close()`. A channel with output still queued should let it drain
    /// first and close when it is sent.
    fn handle_shutdown(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        cx.close()
    }

    /// A connection was accepted; `sock` is a raw blocking socket. Wrap it in
    /// a channel with `cx.add(handler).adopt(sock)`. Default: close it and log
    /// a warning.
    // Spec: AC-ACC-4.
    fn handle_accepted(
        &mut self,
        cx: &mut Cx<'_, S>,
        sock: Socket,
        addr: SockAddr,
    ) -> io::Result<()> {
        let _ = addr;
        drop(sock);
        cx.log_info("unhandled accepted event", "warning");
        Ok(())
    }

    /// The peer closed, or the connection broke. The loop calls it at most
    /// once per connection: a channel given a new socket (a client that
    /// reconnects here) gets it again when that connection ends. Default:
    /// log a warning and `close()`.
    ///
    /// A handler may keep the channel open (to finish sending after the
    /// peer's half-close, say). If the connection was broken (reset, or a
    /// send failed because the peer is gone), the loop closes the channel
    /// at its next failed send or receive, or end of stream: nothing more
    /// can pass on it.
    // Spec: AC-CLOSE-3.
    fn handle_close(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        cx.log_info("unhandled close event", "warning");
        cx.close()
    }

    /// End of stream: the peer sends nothing more (it closed, or shut down
    /// its write side). Default: asyncore's behaviour, `handle_close` (at
    /// most once per connection).
    ///
    /// Override it to finish sending before closing, e.g. with
    /// [`SendBuffer::close_when_done`](crate::SendBuffer::close_when_done):
    /// a peer that half-closes its connection still reads what it is owed.
    /// After end of stream the loop stops watching the channel for reads; a
    /// reset still reaches `handle_close`.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::{Cx, Dispatcher, SendBuffer, View};
    /// use std::io;
    ///
    /// #[derive(Default)]
    /// struct Echo { out: SendBuffer }
    ///
    /// impl Dispatcher for Echo {
    ///     fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
    ///         let data = cx.recv(8192)?;
    ///         self.out.send(cx, &data)
    ///     }
    ///     fn writable(&self, ch: &View<'_>) -> bool { self.out.writable(ch) }
    ///     fn handle_write(&mut self, cx: &mut Cx<'_>) -> io::Result<()> { self.out.initiate_send(cx) }
    ///     // The peer is done sending: send what is queued, then close.
    ///     fn handle_read_eof(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
    ///         self.out.close_when_done(cx)
    ///     }
    /// }
    /// ```
    fn handle_read_eof(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        if cx.claim_close_delivery() {
            self.handle_close(cx)
        } else {
            Ok(())
        }
    }

    /// A handler failed with `err`. Default: log one `error` line
    /// naming the channel, the handler and the error, then close the channel
    /// through `handle_close`. An error returned from here ends the loop's
    /// run with that error.
    // Spec: AC-ERR-1, AC-ERR-4.
    fn handle_error(&mut self, cx: &mut Cx<'_, S>, err: io::Error) -> io::Result<()> {
        cx.log_uncaptured(self.name(), &err);
        if cx.claim_close_delivery() {
            self.handle_close(cx)
        } else {
            cx.close()
        }
    }

    /// Read readiness, routed by state: a listener accepts; a
    /// connecting channel first completes its connect; then `handle_read`.
    // Spec: AC-EVT-1.
    fn handle_read_event(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        if cx.accepting() {
            return self.handle_accept(cx);
        }
        if !cx.connected() && cx.connecting() {
            return connect_then_read(self, cx);
        }
        self.handle_read(cx)
    }

    /// Write readiness, routed by state: ignored on a listener; a
    /// connecting channel first completes its connect; then `handle_write`.
    // Spec: AC-EVT-2.
    fn handle_write_event(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        if cx.accepting() {
            return Ok(());
        }
        if !cx.connected() && cx.connecting() {
            self.handle_connect_event(cx)?;
            if cx.is_closed() {
                return Ok(());
            }
        }
        self.handle_write(cx)
    }

    /// Exceptional condition: a pending socket error means the
    /// connection is gone (`handle_close`); otherwise urgent data (`handle_expt`).
    // Spec: AC-EVT-3.
    fn handle_expt_event(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        if cx.socket_error()?.is_some() {
            if cx.claim_close_delivery() {
                return self.handle_close(cx);
            }
            return Ok(());
        }
        self.handle_expt(cx)
    }

    /// Completes a non-blocking connect: a pending socket error is
    /// returned (and reaches `handle_error`); otherwise `handle_connect` runs,
    /// then `connected` is set and `connecting` cleared.
    // Spec: AC-CONN-5.
    fn handle_connect_event(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        if let Some(err) = cx.socket_error()? {
            return Err(err);
        }
        cx.note_connected();
        self.handle_connect(cx)?;
        cx.finish_connect();
        Ok(())
    }
}

/// `handle_read_event` on a channel still connecting: the connect completes
/// first (`handle_connect_event`), then `handle_read` unless that closed it.
/// Out of line, so the usual read event is three tests and a jump.
#[cold]
#[inline(never)]
fn connect_then_read<S: 'static, D: Dispatcher<S> + ?Sized>(
    d: &mut D,
    cx: &mut Cx<'_, S>,
) -> io::Result<()> {
    d.handle_connect_event(cx)?;
    if cx.is_closed() {
        return Ok(());
    }
    d.handle_read(cx)
}
