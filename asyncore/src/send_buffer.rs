//! `dispatcher_with_send`'s output buffer, as a value a dispatcher embeds.

use crate::cx::Cx;
use crate::net::bytes_repr;
use crate::view::View;
use std::io;

/// asyncore's `dispatcher_with_send`: an unbounded output buffer
/// drained by one send of at most 65 536 bytes per write event.
///
/// Embed it and delegate three methods: `send` from your handlers,
/// `writable()` → [`SendBuffer::writable`], `handle_write` →
/// [`SendBuffer::initiate_send`]. Unlike asyncore it never issues a
/// zero-length send, and the buffer drops sent bytes in O(1).
///
/// # Examples
///
/// ```
/// use asyncore_loop::{Cx, Dispatcher, SendBuffer, View};
/// use std::io;
///
/// #[derive(Default)]
/// struct EchoHandler { out: SendBuffer }
///
/// impl Dispatcher for EchoHandler {
///     fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
///         let data = cx.recv(8192)?;
///         if !data.is_empty() {
///             self.out.send(cx, &data)?;
///         }
///         Ok(())
///     }
///     fn writable(&self, ch: &View<'_>) -> bool { self.out.writable(ch) }
///     fn handle_write(&mut self, cx: &mut Cx<'_>) -> io::Result<()> { self.out.initiate_send(cx) }
/// }
/// ```
// AC-DWS: asyncore's dispatcher_with_send. AC-Q-15: no zero-length send
// (see `initiate_send`).
#[derive(Debug, Default, Clone)]
pub struct SendBuffer {
    buf: Vec<u8>,
    start: usize,
    /// `close_when_done` was called: close (or shut down writing) once drained.
    closing: bool,
    /// The write side was shut down after draining.
    write_shut: bool,
}

impl SendBuffer {
    /// The most bytes handed to one send.
    // AC-CFG-9: asyncore's 65 536-byte send chunk.
    pub const CHUNK: usize = 65_536;

    /// An empty buffer.
    pub fn new() -> Self {
        SendBuffer::default()
    }

    /// Queues `data` and tries one send at once. With the channel's
    /// `debug` flag on, logs `sending b'...'` at type `info`.
    // AC-DWS-5: queue, then one immediate initiate_send.
    pub fn send<S: 'static>(&mut self, cx: &mut Cx<'_, S>, data: &[u8]) -> io::Result<()> {
        if cx.debug() {
            cx.log_info(&format!("sending {}", bytes_repr(data)), "info");
        }
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
        self.initiate_send(cx)
    }

    /// One send of at most [`CHUNK`](SendBuffer::CHUNK) bytes from the front;
    /// nothing at all when the buffer is empty.
    pub fn initiate_send<S: 'static>(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        // AC-DWS-2: one send of at most CHUNK bytes; AC-Q-15: none when empty.
        let pending = &self.buf[self.start..];
        if pending.is_empty() {
            return Ok(());
        }
        let n = cx.send(&pending[..pending.len().min(Self::CHUNK)])?;
        self.start += n;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            return self.finish_if_done(cx);
        } else if self.start > Self::CHUNK && self.start * 2 > self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        Ok(())
    }

    /// Flush, then close: once everything queued is sent, the channel
    /// closes if the peer is done sending too ([`Cx::read_eof`]); otherwise
    /// its write side is shut down (the peer reads end of stream after the
    /// last byte) and the channel closes when the peer's end of stream
    /// arrives (call this again from
    /// [`handle_read_eof`](crate::Dispatcher::handle_read_eof), or let the
    /// default `handle_close` do it). Closing only once the peer is done
    /// avoids the reset that closing with unread input sends, which can
    /// destroy output the peer has not read yet.
    ///
    /// The close is `cx.close()`: `handle_close` is not called for it.
    /// Data sent after this call is queued after the close and fails once
    /// the write side is shut down.
    pub fn close_when_done<S: 'static>(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        self.closing = true;
        if self.is_empty() {
            return self.finish_if_done(cx);
        }
        self.initiate_send(cx)
    }

    /// Whether [`close_when_done`](SendBuffer::close_when_done) was called.
    pub fn closing(&self) -> bool {
        self.closing
    }

    /// The buffer drained: the close asked for by `close_when_done`.
    fn finish_if_done<S: 'static>(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        if !self.closing || cx.is_closed() {
            return Ok(());
        }
        if cx.read_eof() || !cx.connected() {
            return cx.close();
        }
        if !self.write_shut {
            self.write_shut = true;
            cx.shutdown_write()?;
        }
        Ok(())
    }

    /// asyncore's `writable()` for this class: while not connected
    /// (to see the connect complete) or while data is queued.
    pub fn writable<S: 'static>(&self, ch: &View<'_, S>) -> bool {
        // AC-DWS-4: not connected, or data queued.
        !ch.connected() || !self.is_empty()
    }

    /// Bytes still queued.
    pub fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dispatcher, EventLoop};
    use std::io::Read;
    use std::os::unix::net::UnixStream;

    struct Idle;
    impl Dispatcher for Idle {}

    #[test]
    fn a_new_buffer_is_empty() {
        let out = SendBuffer::new();
        assert!(out.is_empty());
        assert_eq!(out.len(), 0);
    }

    #[test]
    fn writable_while_not_connected_then_only_while_data_is_queued() {
        let mut ev = EventLoop::new();
        assert!(SendBuffer::new().writable(&ev.add(Idle).view()));
        let (a, _b) = UnixStream::pair().unwrap();
        let mut cx = ev.add(Idle);
        cx.adopt(a.into()).unwrap();
        let mut out = SendBuffer::new();
        assert!(!out.writable(&cx.view()), "connected and empty");
        out.buf.extend_from_slice(b"queued");
        assert!(out.writable(&cx.view()), "connected with data queued");
    }

    #[test]
    fn send_tries_at_once_and_an_empty_buffer_sends_nothing() {
        let (a, mut b) = UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        let mut ev = EventLoop::new();
        let mut cx = ev.add(Idle);
        cx.adopt(a.into()).unwrap();
        let mut out = SendBuffer::new();
        out.initiate_send(&mut cx).unwrap();
        let mut buf = [0u8; 16];
        let err = b.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "nothing was sent");
        out.send(&mut cx, b"hello").unwrap();
        assert!(out.is_empty(), "the socket took it all");
        assert_eq!(b.read(&mut buf).unwrap(), 5);
        assert_eq!(&buf[..5], b"hello");
    }

    #[test]
    fn one_send_hands_over_at_most_one_chunk() {
        let (a, _b) = UnixStream::pair().unwrap();
        let mut ev = EventLoop::new();
        let mut cx = ev.add(Idle);
        cx.adopt(a.into()).unwrap();
        let mut out = SendBuffer::new();
        let total = 3 * SendBuffer::CHUNK;
        out.send(&mut cx, &vec![7u8; total]).unwrap();
        assert!(out.len() >= total - SendBuffer::CHUNK, "{}", out.len());
    }
}
