//! `AsyncChat<H>`: asynchat's `async_chat` channel, driving the sans-IO
//! [`Parser`](super::Parser) and [`OutQueue`](super::OutQueue) from the loop
//! around the user's [`ChatHandler`](super::ChatHandler).

mod dispatcher;
mod input;

use super::buffers::Buffers;
use super::{Chat, Terminator};
use crate::cx::Cx;

/// asynchat's `async_chat`: a [`Dispatcher`](crate::Dispatcher) that frames
/// input by a terminator and queues output, around a [`ChatHandler`](super::ChatHandler).
///
/// Beyond asynchat:
///
/// * back-pressure ([`with_water_marks`](Self::with_water_marks)): while more
///   than the high-water mark of output is queued, the channel stops reading
///   and handling input, until the queue drains to the low-water mark;
/// * a hard limit on queued output ([`with_out_limit`](Self::with_out_limit)):
///   a push past it is an error the handler sees;
/// * drain mode ([`with_drain`](Self::with_drain)): each write event sends
///   until the socket would block, instead of one chunk;
/// * batching (on by default, [`with_batching`](Self::with_batching)): pushes
///   made while a read's records are handled leave together, in one send,
///   once the records are handled.
///
/// See the [module documentation](crate::chat) for a complete server.
///
/// # Examples
///
/// ```
/// use asyncore::chat::{AsyncChat, Chat, ChatHandler, Terminator};
/// use std::io;
///
/// struct Counter(u32);
/// impl ChatHandler for Counter {
///     fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> io::Result<()> {
///         Ok(())
///     }
///     fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
///         self.0 += 1;
///         chat.push(format!("{}\r\n", self.0))
///     }
/// }
///
/// // asynchat's defaults: no terminator, 64 KiB receives; batching is on.
/// let chan = AsyncChat::new(Counter(0));
/// assert_eq!(chan.terminator(), &Terminator::None);
/// assert_eq!(chan.in_buffer_size(), 65536);
/// assert!(chan.batching());
///
/// let mut chan = AsyncChat::new(Counter(0))
///     .with_terminator("\r\n")
///     .with_in_buffer_size(4096)
///     .with_out_buffer_size(4096)
///     .with_water_marks(64 << 10, 16 << 10)
///     .with_out_limit(8 << 20)
///     .with_drain(true)
///     .with_batching(false); // asynchat's one send per push
/// assert_eq!(chan.terminator(), &Terminator::from("\r\n"));
/// assert_eq!(chan.in_buffer_size(), 4096);
/// assert!(!chan.batching());
/// chan.handler_mut().0 = 7;
/// assert_eq!(chan.handler().0, 7);
/// ```
#[derive(Debug)]
pub struct AsyncChat<H> {
    handler: H,
    buf: Buffers,
    /// A copy of the piece being delivered (the parser stays usable meanwhile).
    piece: Vec<u8>,
}

impl<H> AsyncChat<H> {
    /// A chat channel with no terminator yet (data is delivered as it
    /// arrives), asynchat's 65 536-byte buffer sizes, and the default
    /// back-pressure marks.
    // Spec: AC-CHAT-Q-3 (no terminator yet).
    pub fn new(handler: H) -> Self {
        AsyncChat {
            handler,
            buf: Buffers::new(),
            piece: Vec::new(),
        }
    }

    /// Sets the initial terminator.
    pub fn with_terminator(mut self, terminator: impl Into<Terminator>) -> Self {
        self.buf.parser.set_terminator(terminator);
        self
    }

    /// `ac_in_buffer_size`: the most bytes asked for per receive (0 counts as 1).
    pub fn with_in_buffer_size(mut self, size: usize) -> Self {
        self.buf.in_buffer_size = size.max(1);
        self
    }

    /// `ac_out_buffer_size`: the most bytes handed to one send.
    pub fn with_out_buffer_size(mut self, size: usize) -> Self {
        self.buf.out.set_out_buffer_size(size);
        self
    }

    /// Back-pressure: above `high` queued output bytes the channel stops
    /// reading, and stops handing input it already read to the hooks; it
    /// resumes at or below `low`. `usize::MAX` turns it off.
    pub fn with_water_marks(mut self, high: usize, low: usize) -> Self {
        self.buf.high_water = high;
        self.buf.low_water = low.min(high);
        self
    }

    /// A hard limit on queued output: a `push` past it fails (nothing is
    /// queued) and the hook sees the error.
    pub fn with_out_limit(mut self, limit: usize) -> Self {
        self.buf.out_limit = Some(limit);
        self
    }

    /// Batching (on by default): pushes made while a read's records are
    /// handled are sent together once they are handled, and small pushes are
    /// copied into one queue entry, so 16 pipelined requests answered in one
    /// read leave in one send. Off gives asynchat's pattern: each push tries
    /// its own send at once, and each queued push is a chunk of its own (the
    /// byte stream is the same either way).
    // Spec: AC-CHAT-Q-12.
    pub fn with_batching(mut self, batch: bool) -> Self {
        self.buf.batch = batch;
        self.buf.out.set_coalesce(batch);
        self
    }

    /// Whether pushes are batched ([`with_batching`](Self::with_batching)).
    pub fn batching(&self) -> bool {
        self.buf.batch
    }

    /// Drain mode: each write event sends until the socket would block, not
    /// just one chunk.
    // Spec: the opt-in of AC-CHAT-Q-11.
    pub fn with_drain(mut self, drain: bool) -> Self {
        self.buf.drain = drain;
        self
    }

    /// The current `ac_in_buffer_size`.
    pub fn in_buffer_size(&self) -> usize {
        self.buf.in_buffer_size
    }

    /// The current terminator.
    pub fn terminator(&self) -> &Terminator {
        self.buf.parser.terminator()
    }

    /// The protocol handler.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// The protocol handler, mutably.
    pub fn handler_mut(&mut self) -> &mut H {
        &mut self.handler
    }

    /// The protocol handler and a [`Chat`] for this channel, to push from
    /// outside its own hooks (another channel's handler through
    /// [`Cx::with`], or [`EventLoop::with`](crate::EventLoop::with)).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{AsyncChat, Chat, ChatHandler};
    /// # use asyncore::EventLoop;
    /// # struct H; impl ChatHandler for H {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// #   fn found_terminator(&mut self, _: &mut Chat<'_, '_>) -> std::io::Result<()> { Ok(()) } }
    /// let mut ev = EventLoop::new();
    /// let t = ev.add(AsyncChat::new(H)).token();
    /// let queued = ev.with(t, |c: &mut AsyncChat<H>, cx| {
    ///     let (_h, mut chat) = c.split(cx);
    ///     chat.push(&b"queued while not connected"[..])?;
    ///     Ok::<_, std::io::Error>(chat.queued_bytes())
    /// });
    /// assert_eq!(queued.transpose()?, Some(26));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn split<'c, 'a, S: 'static>(
        &'c mut self,
        cx: &'c mut Cx<'a, S>,
    ) -> (&'c mut H, Chat<'c, 'a, S>) {
        (
            &mut self.handler,
            Chat {
                cx,
                buf: &mut self.buf,
            },
        )
    }
}
