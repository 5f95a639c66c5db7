//! `AsyncChat<H>`: asynchat's `async_chat` channel, driving the sans-IO
//! [`Parser`] and [`OutQueue`] from the loop.
//!
//! The user writes a [`ChatHandler`] (`collect_incoming_data`,
//! `found_terminator`, optional connection hooks); `AsyncChat` implements
//! [`Dispatcher`] around it. Hooks get a [`Chat`]: the channel's [`Cx`] (it
//! derefs to it) plus `push`, `push_with_producer`, `close_when_done`,
//! `set_terminator`, `discard_buffers`.
//!
//! Beyond asynchat: output back-pressure (while more than the high-water mark
//! is queued the channel stops reading and handling input, until the queue
//! drains to the low-water mark), an optional hard limit on queued output (a
//! push past it is an error the handler sees), an opt-in mode that sends
//! until the socket would block instead of once per write event, and batching
//! (on by default, AC-CHAT-Q-12): pushes made while a read's records are
//! handled are sent together, in one send, once the records are handled,
//! instead of one send per push.

use super::{Event, OutQueue, Parser, Producer, PushData, Terminator, DEFAULT_OUT_BUFFER_SIZE};
use crate::cx::Cx;
use crate::deadline::Timeout;
use crate::dispatcher::Dispatcher;
use crate::timer::TimerId;
use crate::view::View;
use std::io;
use std::ops::{Deref, DerefMut};

/// `ac_in_buffer_size`'s default: 65 536 bytes per receive (AC-CHAT-1, AC-CHAT-Q-1).
pub const DEFAULT_IN_BUFFER_SIZE: usize = 65_536;
/// Default high-water mark of queued output: above it the channel stops reading.
pub const DEFAULT_HIGH_WATER: usize = 1 << 20;
/// Default low-water mark: below it a paused channel reads again.
pub const DEFAULT_LOW_WATER: usize = 256 << 10;

/// What an asynchat protocol implements (asynchat's two abstract methods,
/// AC-CHAT-4, plus the dispatcher hooks it may override).
///
/// # Examples
///
/// A line echo: every CRLF-terminated line comes back with CRLF.
///
/// ```
/// use asyncore::chat::{AsyncChat, Chat, ChatHandler, Collector};
/// use std::io;
///
/// struct LineEcho { line: Collector }
///
/// impl ChatHandler for LineEcho {
///     fn collect_incoming_data(&mut self, _chat: &mut Chat<'_, '_>, data: &[u8]) -> io::Result<()> {
///         self.line.collect(data);
///         Ok(())
///     }
///     fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
///         match self.line.finish() {
///             Ok(line) => { chat.push(line)?; chat.push("\r\n") }
///             Err(_) => chat.push(&b"-ERR line too long\r\n"[..]),
///         }
///     }
/// }
///
/// let chan = AsyncChat::new(LineEcho { line: Collector::new(1024) }).with_terminator("\r\n");
/// # drop(chan);
/// ```
pub trait ChatHandler<S: 'static = ()>: 'static {
    /// A non-empty piece of the current record (several per record are
    /// possible; AC-CHAT-27).
    fn collect_incoming_data(&mut self, chat: &mut Chat<'_, '_, S>, data: &[u8]) -> io::Result<()>;

    /// The current record is complete (AC-CHAT-7). Change the terminator here
    /// for what follows (it applies to the rest of the same buffer, AC-CHAT-14).
    fn found_terminator(&mut self, chat: &mut Chat<'_, '_, S>) -> io::Result<()>;

    /// The channel's name in log lines (default: the Rust type name).
    fn name(&self) -> &'static str {
        std::any::type_name::<Self>()
    }

    /// The outgoing connection is established (asyncore's default: a warning).
    fn handle_connect(&mut self, chat: &mut Chat<'_, '_, S>) -> io::Result<()> {
        chat.log_info("unhandled connect event", "warning");
        Ok(())
    }

    /// The peer closed or the connection broke. Default: `close()`, without
    /// the dispatcher's warning (AC-CHAT-82).
    fn handle_close(&mut self, chat: &mut Chat<'_, '_, S>) -> io::Result<()> {
        chat.close()
    }

    /// Urgent data arrived (asyncore's default: a warning).
    fn handle_expt(&mut self, chat: &mut Chat<'_, '_, S>) -> io::Result<()> {
        chat.log_info("unhandled incoming priority event", "warning");
        Ok(())
    }

    /// A timer armed with [`Cx::start_timer`] fired (asyncore-style default: a warning).
    fn handle_timer(&mut self, chat: &mut Chat<'_, '_, S>, id: TimerId) -> io::Result<()> {
        let _ = id;
        chat.log_info("unhandled timer event", "warning");
        Ok(())
    }

    /// A deadline declared with [`Cx::set_timeout`] passed. Default: an
    /// `info` line, then `close()`.
    fn handle_timeout(&mut self, chat: &mut Chat<'_, '_, S>, kind: Timeout) -> io::Result<()> {
        let line = format!("{} {kind} timeout, closing", chat.describe(self.name()));
        chat.log_info(&line, "info");
        chat.close()
    }

    /// The loop is shutting down gracefully. Default: `close_when_done()`,
    /// so queued output is sent first.
    fn handle_shutdown(&mut self, chat: &mut Chat<'_, '_, S>) -> io::Result<()> {
        chat.close_when_done();
        chat.initiate_send()
    }

    /// A hook failed. Default: as [`Dispatcher::handle_error`]: one `error`
    /// line, then `handle_close`.
    fn handle_error(&mut self, chat: &mut Chat<'_, '_, S>, err: io::Error) -> io::Result<()> {
        let line = format!(
            "uncaptured error, closing channel {} ({:?}:{} [{}])",
            chat.describe(self.name()),
            err.kind(),
            err,
            chat.handler_name()
        );
        chat.log_info(&line, "error");
        if chat.cx.claim_close_delivery() {
            self.handle_close(chat)
        } else {
            chat.close()
        }
    }
}

/// The buffers of one chat channel: input parser, output queue, limits.
#[derive(Debug)]
struct Buffers {
    parser: Parser,
    out: OutQueue,
    in_buffer_size: usize,
    high_water: usize,
    low_water: usize,
    out_limit: Option<usize>,
    drain: bool,
    /// Not reading because queued output passed the high-water mark.
    paused: bool,
    /// The close marker reached the head: `handle_close` is owed.
    close_requested: bool,
    /// Batch the pushes made while input is handled (AC-CHAT-Q-12).
    batch: bool,
    /// Input is being handled: pushes queue without sending.
    deferring: bool,
    /// A push was deferred: send once the input is handled.
    deferred: bool,
}

impl Buffers {
    fn update_pause(&mut self) {
        let queued = self.out.len_bytes();
        if queued > self.high_water {
            self.paused = true;
        } else if queued <= self.low_water {
            self.paused = false;
        }
    }
}

/// A hook's view: the channel's [`Cx`] (through `Deref`) plus asynchat's
/// output and framing methods.
///
/// # Examples
///
/// ```
/// use asyncore::chat::{Chat, ChatHandler};
/// use std::io;
///
/// struct Quit;
/// impl ChatHandler for Quit {
///     fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> io::Result<()> { Ok(()) }
///     fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
///         chat.push(&b"221 Bye\r\n"[..])?;
///         chat.close_when_done();
///         Ok(())
///     }
/// }
/// ```
pub struct Chat<'c, 'a, S: 'static = ()> {
    cx: &'c mut Cx<'a, S>,
    buf: &'c mut Buffers,
}

impl<S: 'static> std::fmt::Debug for Chat<'_, '_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chat")
            .field("cx", &self.cx)
            .field("buffers", &self.buf)
            .finish()
    }
}

impl<'a, S: 'static> Deref for Chat<'_, 'a, S> {
    type Target = Cx<'a, S>;
    fn deref(&self) -> &Cx<'a, S> {
        self.cx
    }
}

impl<'a, S: 'static> DerefMut for Chat<'_, 'a, S> {
    fn deref_mut(&mut self) -> &mut Cx<'a, S> {
        self.cx
    }
}

impl<S: 'static> Chat<'_, '_, S> {
    /// asynchat's `push(data)` (AC-CHAT-50): queues `data` (split into
    /// `ac_out_buffer_size` chunks) and tries one send — at once, or, while
    /// the channel's input is being handled with batching on, together with
    /// the other pushes once the read's records are handled (AC-CHAT-Q-12).
    /// Empty data is ignored (AC-CHAT-Q-5). Past the channel's output limit,
    /// nothing is queued and an `OutOfMemory` error is returned.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{Chat, ChatHandler};
    /// # struct Greeter;
    /// # impl ChatHandler for Greeter {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> std::io::Result<()> {
    ///     chat.push(b"hello\r\n".to_vec())
    /// }
    /// # }
    /// ```
    pub fn push(&mut self, data: impl PushData) -> io::Result<()> {
        if let Some(limit) = self.buf.out_limit {
            let queued = self.buf.out.len_bytes();
            let len = data.as_bytes().len();
            if queued + len > limit {
                return Err(io::Error::new(
                    io::ErrorKind::OutOfMemory,
                    format!(
                        "output queue limit: {queued} bytes queued, {len} more would pass the limit of {limit}"
                    ),
                ));
            }
        }
        self.buf.out.push(data);
        self.buf.update_pause();
        self.send_or_defer()
    }

    /// asynchat's `push_with_producer(p)` (AC-CHAT-51): queues a producer,
    /// consulted only as the socket drains, and tries one send.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{Chat, ChatHandler, SimpleProducer};
    /// # struct Big;
    /// # impl ChatHandler for Big {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> std::io::Result<()> {
    ///     chat.push_with_producer(Box::new(SimpleProducer::new(vec![b'x'; 1 << 20], 65536)))
    /// }
    /// # }
    /// ```
    pub fn push_with_producer(&mut self, producer: Box<dyn Producer>) -> io::Result<()> {
        self.buf.out.push_producer(producer);
        self.send_or_defer()
    }

    /// After a push: one send now, or later when batching input (AC-CHAT-Q-12).
    fn send_or_defer(&mut self) -> io::Result<()> {
        if self.buf.deferring {
            self.buf.deferred = true;
            Ok(())
        } else {
            self.initiate_send()
        }
    }

    /// Sends what pushes deferred in this hook (until the socket would
    /// block), so that what the handler does next on the socket comes after
    /// them, as it would with unbatched pushes.
    fn flush_deferred(&mut self) -> io::Result<()> {
        if !std::mem::take(&mut self.buf.deferred) {
            return Ok(());
        }
        let drain = std::mem::replace(&mut self.buf.drain, true);
        let sent = self.initiate_send();
        self.buf.drain = drain;
        sent
    }

    /// [`Cx::close`], after sending what this hook pushed (batched pushes are
    /// not lost by a close in the same hook; AC-CHAT-Q-12).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{Chat, ChatHandler};
    /// # struct H;
    /// # impl ChatHandler for H {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> std::io::Result<()> {
    ///     chat.push(&b"bye\r\n"[..])?;
    ///     chat.close() // "bye" is sent first (if the socket takes it)
    /// }
    /// # }
    /// ```
    pub fn close(&mut self) -> io::Result<()> {
        let flushed = if self.cx.is_closed() {
            Ok(())
        } else {
            self.flush_deferred()
        };
        let closed = self.cx.close();
        flushed.and(closed)
    }

    /// [`Cx::send`], after sending what this hook pushed, so the bytes keep
    /// their order (AC-CHAT-Q-12).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{Chat, ChatHandler};
    /// # struct H;
    /// # impl ChatHandler for H {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> std::io::Result<()> {
    ///     chat.push(&b"header "[..])?;
    ///     chat.send(b"raw\r\n")?; // after "header "
    ///     Ok(())
    /// }
    /// # }
    /// ```
    pub fn send(&mut self, data: &[u8]) -> io::Result<usize> {
        self.flush_deferred()?;
        self.cx.send(data)
    }

    /// asynchat's `close_when_done()` (AC-CHAT-52): the channel closes once
    /// everything queued before this call is sent.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{Chat, ChatHandler};
    /// # struct Q;
    /// # impl ChatHandler for Q {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> std::io::Result<()> {
    ///     chat.push(&b"bye\r\n"[..])?;
    ///     chat.close_when_done();
    ///     Ok(())
    /// }
    /// # }
    /// ```
    pub fn close_when_done(&mut self) {
        self.buf.out.close_when_done();
    }

    /// asynchat's `set_terminator` (AC-CHAT-11); applies to the rest of the
    /// current input (AC-CHAT-14).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{Chat, ChatHandler, Terminator};
    /// # struct H;
    /// # impl ChatHandler for H {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> std::io::Result<()> {
    ///     chat.set_terminator(4usize); // a 4-byte body follows
    ///     assert_eq!(chat.terminator(), &Terminator::Count(4));
    ///     Ok(())
    /// }
    /// # }
    /// ```
    pub fn set_terminator(&mut self, terminator: impl Into<Terminator>) {
        self.buf.parser.set_terminator(terminator);
    }

    /// asynchat's `get_terminator()` (AC-CHAT-13): a count shows the bytes
    /// still outstanding.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{Chat, ChatHandler, Terminator};
    /// # struct H;
    /// # impl ChatHandler for H {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> std::io::Result<()> {
    ///     let _current: &Terminator = chat.terminator();
    ///     Ok(())
    /// }
    /// # }
    /// ```
    pub fn terminator(&self) -> &Terminator {
        self.buf.parser.terminator()
    }

    /// asynchat's `discard_buffers()` (AC-CHAT-83): drops buffered input and
    /// all queued output (producers and a pending close marker included).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{Chat, ChatHandler};
    /// # struct H;
    /// # impl ChatHandler for H {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> std::io::Result<()> {
    ///     chat.discard_buffers();
    ///     assert_eq!(chat.queued_bytes(), 0);
    ///     Ok(())
    /// }
    /// # }
    /// ```
    pub fn discard_buffers(&mut self) {
        self.buf.parser.discard();
        self.buf.out.discard();
        self.buf.update_pause();
    }

    /// Bytes of output queued and not yet sent.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{Chat, ChatHandler};
    /// # struct H;
    /// # impl ChatHandler for H {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> std::io::Result<()> {
    ///     if chat.queued_bytes() > 1 << 20 { chat.close()?; }
    ///     Ok(())
    /// }
    /// # }
    /// ```
    pub fn queued_bytes(&self) -> usize {
        self.buf.out.len_bytes()
    }

    /// asynchat's `initiate_send()` (AC-CHAT-53..60): while connected, one
    /// send of the head chunk (or, in drain mode, sends until the socket would
    /// block). A close marker at the head makes the channel owe `handle_close`,
    /// which runs as soon as the current hook returns.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{Chat, ChatHandler};
    /// # struct H;
    /// # impl ChatHandler for H {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> std::io::Result<()> {
    ///     chat.initiate_send()
    /// }
    /// # }
    /// ```
    pub fn initiate_send(&mut self) -> io::Result<()> {
        loop {
            if !self.cx.connected() {
                return Ok(());
            }
            let (sent, whole) = match self.buf.out.front(usize::MAX)? {
                super::Front::Empty => return Ok(()),
                super::Front::Close => {
                    self.buf.close_requested = true;
                    return Ok(());
                }
                super::Front::Data(chunk) => {
                    let n = self.cx.send(chunk)?;
                    (n, n == chunk.len())
                }
            };
            self.buf.out.consume(sent);
            self.buf.update_pause();
            if !self.buf.drain || !whole {
                return Ok(());
            }
        }
    }
}

/// asynchat's `async_chat`: a [`Dispatcher`] that frames input by a
/// terminator and queues output, around a [`ChatHandler`].
///
/// # Examples
///
/// A line-echo server's accept handler:
///
/// ```
/// use asyncore::chat::{AsyncChat, Chat, ChatHandler};
/// use asyncore::{Cx, Dispatcher, SockAddr, Socket};
/// use std::io;
///
/// #[derive(Default)]
/// struct Echo { line: Vec<u8> }
/// impl ChatHandler for Echo {
///     fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, data: &[u8]) -> io::Result<()> {
///         self.line.extend_from_slice(data);
///         Ok(())
///     }
///     fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
///         let mut line = std::mem::take(&mut self.line);
///         line.extend_from_slice(b"\r\n");
///         chat.push(line)
///     }
/// }
///
/// struct Server;
/// impl Dispatcher for Server {
///     fn handle_accepted(&mut self, cx: &mut Cx<'_>, sock: Socket, _: SockAddr) -> io::Result<()> {
///         cx.add(AsyncChat::new(Echo::default()).with_terminator("\r\n")).adopt(sock)?;
///         Ok(())
///     }
/// }
/// ```
#[derive(Debug)]
pub struct AsyncChat<H> {
    handler: H,
    buf: Buffers,
    /// A copy of the piece being delivered (the parser stays usable meanwhile).
    piece: Vec<u8>,
}

impl<H> AsyncChat<H> {
    /// A chat channel with no terminator yet (AC-CHAT-Q-3: data is delivered
    /// as it arrives), asynchat's 65 536-byte buffer sizes, and the default
    /// back-pressure marks.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{AsyncChat, Chat, ChatHandler};
    /// # struct H; impl ChatHandler for H {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// #   fn found_terminator(&mut self, _: &mut Chat<'_, '_>) -> std::io::Result<()> { Ok(()) } }
    /// let chan = AsyncChat::new(H);
    /// assert_eq!(chan.in_buffer_size(), 65536);
    /// ```
    pub fn new(handler: H) -> Self {
        AsyncChat {
            handler,
            buf: Buffers {
                parser: Parser::new(),
                out: {
                    let mut q = OutQueue::new(DEFAULT_OUT_BUFFER_SIZE);
                    q.set_coalesce(true);
                    q
                },
                in_buffer_size: DEFAULT_IN_BUFFER_SIZE,
                high_water: DEFAULT_HIGH_WATER,
                low_water: DEFAULT_LOW_WATER,
                out_limit: None,
                drain: false,
                paused: false,
                close_requested: false,
                batch: true,
                deferring: false,
                deferred: false,
            },
            piece: Vec::new(),
        }
    }

    /// Sets the initial terminator.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{AsyncChat, Chat, ChatHandler, Terminator};
    /// # struct H; impl ChatHandler for H {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// #   fn found_terminator(&mut self, _: &mut Chat<'_, '_>) -> std::io::Result<()> { Ok(()) } }
    /// let chan = AsyncChat::new(H).with_terminator("\r\n");
    /// assert_eq!(chan.terminator(), &Terminator::from("\r\n"));
    /// ```
    pub fn with_terminator(mut self, terminator: impl Into<Terminator>) -> Self {
        self.buf.parser.set_terminator(terminator);
        self
    }

    /// `ac_in_buffer_size`: the most bytes asked for per receive (0 counts as 1).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{AsyncChat, Chat, ChatHandler};
    /// # struct H; impl ChatHandler for H {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// #   fn found_terminator(&mut self, _: &mut Chat<'_, '_>) -> std::io::Result<()> { Ok(()) } }
    /// assert_eq!(AsyncChat::new(H).with_in_buffer_size(4096).in_buffer_size(), 4096);
    /// ```
    pub fn with_in_buffer_size(mut self, size: usize) -> Self {
        self.buf.in_buffer_size = size.max(1);
        self
    }

    /// `ac_out_buffer_size`: the most bytes handed to one send.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{AsyncChat, Chat, ChatHandler};
    /// # struct H; impl ChatHandler for H {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// #   fn found_terminator(&mut self, _: &mut Chat<'_, '_>) -> std::io::Result<()> { Ok(()) } }
    /// let chan = AsyncChat::new(H).with_out_buffer_size(4096);
    /// ```
    pub fn with_out_buffer_size(mut self, size: usize) -> Self {
        self.buf.out.set_out_buffer_size(size);
        self
    }

    /// Back-pressure: above `high` queued output bytes the channel stops
    /// reading, and stops handing input it already read to the hooks; it
    /// resumes at or below `low`. `usize::MAX` turns it off.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{AsyncChat, Chat, ChatHandler};
    /// # struct H; impl ChatHandler for H {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// #   fn found_terminator(&mut self, _: &mut Chat<'_, '_>) -> std::io::Result<()> { Ok(()) } }
    /// let chan = AsyncChat::new(H).with_water_marks(64 << 10, 16 << 10);
    /// ```
    pub fn with_water_marks(mut self, high: usize, low: usize) -> Self {
        self.buf.high_water = high;
        self.buf.low_water = low.min(high);
        self
    }

    /// A hard limit on queued output: a `push` past it fails (nothing is
    /// queued) and the hook sees the error.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{AsyncChat, Chat, ChatHandler};
    /// # struct H; impl ChatHandler for H {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// #   fn found_terminator(&mut self, _: &mut Chat<'_, '_>) -> std::io::Result<()> { Ok(()) } }
    /// let chan = AsyncChat::new(H).with_out_limit(8 << 20);
    /// ```
    pub fn with_out_limit(mut self, limit: usize) -> Self {
        self.buf.out_limit = Some(limit);
        self
    }

    /// Batching (on by default, AC-CHAT-Q-12): pushes made while a read's
    /// records are handled are sent together once they are handled, and
    /// small pushes are copied into one queue entry, so 16 pipelined requests
    /// answered in one read leave in one send. Off gives asynchat's pattern:
    /// each push tries its own send at once, and each queued push is a chunk
    /// of its own (the byte stream is the same either way).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{AsyncChat, Chat, ChatHandler};
    /// # struct H; impl ChatHandler for H {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// #   fn found_terminator(&mut self, _: &mut Chat<'_, '_>) -> std::io::Result<()> { Ok(()) } }
    /// let faithful = AsyncChat::new(H).with_batching(false);
    /// assert!(!faithful.batching());
    /// ```
    pub fn with_batching(mut self, batch: bool) -> Self {
        self.buf.batch = batch;
        self.buf.out.set_coalesce(batch);
        self
    }

    /// Whether pushes are batched ([`with_batching`](Self::with_batching)).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{AsyncChat, Chat, ChatHandler};
    /// # struct H; impl ChatHandler for H {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// #   fn found_terminator(&mut self, _: &mut Chat<'_, '_>) -> std::io::Result<()> { Ok(()) } }
    /// assert!(AsyncChat::new(H).batching());
    /// ```
    pub fn batching(&self) -> bool {
        self.buf.batch
    }

    /// Drain mode: each write event sends until the socket would block, not
    /// just one chunk (AC-CHAT-Q-11's opt-in).
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{AsyncChat, Chat, ChatHandler};
    /// # struct H; impl ChatHandler for H {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// #   fn found_terminator(&mut self, _: &mut Chat<'_, '_>) -> std::io::Result<()> { Ok(()) } }
    /// let chan = AsyncChat::new(H).with_drain(true);
    /// ```
    pub fn with_drain(mut self, drain: bool) -> Self {
        self.buf.drain = drain;
        self
    }

    /// The current `ac_in_buffer_size`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{AsyncChat, Chat, ChatHandler};
    /// # struct H; impl ChatHandler for H {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// #   fn found_terminator(&mut self, _: &mut Chat<'_, '_>) -> std::io::Result<()> { Ok(()) } }
    /// assert_eq!(AsyncChat::new(H).in_buffer_size(), 65536);
    /// ```
    pub fn in_buffer_size(&self) -> usize {
        self.buf.in_buffer_size
    }

    /// The current terminator.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{AsyncChat, Chat, ChatHandler, Terminator};
    /// # struct H; impl ChatHandler for H {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// #   fn found_terminator(&mut self, _: &mut Chat<'_, '_>) -> std::io::Result<()> { Ok(()) } }
    /// assert_eq!(AsyncChat::new(H).terminator(), &Terminator::None);
    /// ```
    pub fn terminator(&self) -> &Terminator {
        self.buf.parser.terminator()
    }

    /// The protocol handler.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{AsyncChat, Chat, ChatHandler};
    /// # struct H(u8); impl ChatHandler for H {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// #   fn found_terminator(&mut self, _: &mut Chat<'_, '_>) -> std::io::Result<()> { Ok(()) } }
    /// assert_eq!(AsyncChat::new(H(7)).handler().0, 7);
    /// ```
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// The protocol handler, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// # use asyncore::chat::{AsyncChat, Chat, ChatHandler};
    /// # struct H(u8); impl ChatHandler for H {
    /// #   fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> std::io::Result<()> { Ok(()) }
    /// #   fn found_terminator(&mut self, _: &mut Chat<'_, '_>) -> std::io::Result<()> { Ok(()) } }
    /// let mut chan = AsyncChat::new(H(7));
    /// chan.handler_mut().0 = 8;
    /// ```
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
    /// ev.with(t, |c: &mut AsyncChat<H>, cx| {
    ///     let (_h, mut chat) = c.split(cx);
    ///     chat.push(&b"queued while not connected"[..])
    /// });
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

impl<H> AsyncChat<H> {
    /// Handles the input the parser holds; with batching, the hooks' pushes
    /// are sent together afterwards in one send (AC-CHAT-Q-12) — before a
    /// hook's error reaches `handle_error`, so they are not lost to its close.
    fn handle_input<S: 'static>(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()>
    where
        H: ChatHandler<S>,
    {
        if !self.buf.batch {
            return self.process_input(cx);
        }
        self.buf.deferring = true;
        let handled = self.process_input(cx);
        self.buf.deferring = false;
        let sent = if std::mem::take(&mut self.buf.deferred) && !cx.is_closed() {
            Chat {
                cx,
                buf: &mut self.buf,
            }
            .initiate_send()
        } else {
            Ok(())
        };
        handled?;
        sent?;
        self.settle(cx)
    }

    /// Runs the parser's events through the hooks (AC-CHAT-22..31). Input
    /// processing stops once the channel is closed (AC-CHAT-Q-7), and while
    /// back-pressure pauses it (so queued output passes the high-water mark by
    /// at most one hook's pushes).
    fn process_input<S: 'static>(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()>
    where
        H: ChatHandler<S>,
    {
        loop {
            // Paused by back-pressure: the rest of the input waits in the
            // parser until the output drains (`handle_write` resumes).
            if cx.is_closed() || self.buf.paused {
                return Ok(());
            }
            let data = match self.buf.parser.next_event() {
                None => return Ok(()),
                Some(Event::Data(d)) => {
                    self.piece.clear();
                    self.piece.extend_from_slice(d);
                    true
                }
                Some(Event::Terminator) => false,
            };
            let mut chat = Chat {
                cx,
                buf: &mut self.buf,
            };
            if data {
                self.handler.collect_incoming_data(&mut chat, &self.piece)?;
            } else {
                self.handler.found_terminator(&mut chat)?;
            }
            self.settle(cx)?;
        }
    }

    /// Delivers the `handle_close` a close marker made the channel owe.
    fn settle<S: 'static>(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()>
    where
        H: ChatHandler<S>,
    {
        if !std::mem::take(&mut self.buf.close_requested) || cx.is_closed() {
            return Ok(());
        }
        if cx.claim_close_delivery() {
            self.handler.handle_close(&mut Chat {
                cx,
                buf: &mut self.buf,
            })
        } else {
            cx.close()
        }
    }
}

impl<S: 'static, H: ChatHandler<S>> Dispatcher<S> for AsyncChat<H> {
    fn name(&self) -> &'static str {
        self.handler.name()
    }

    /// Always, as asynchat (AC-CHAT-80), except while output is above the
    /// high-water mark (back-pressure).
    fn readable(&self, _ch: &View<'_, S>) -> bool {
        !self.buf.paused
    }

    /// While output is queued, or while not connected (to see the connect
    /// complete) (AC-CHAT-81).
    fn writable(&self, ch: &View<'_, S>) -> bool {
        !self.buf.out.is_empty() || !ch.connected()
    }

    /// One receive of at most `ac_in_buffer_size` bytes, then the input loop
    /// (AC-CHAT-20..22). Would-block is ignored (AC-CHAT-20).
    fn handle_read(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        let parser = &mut self.buf.parser;
        match cx.recv_with(self.buf.in_buffer_size, |_, data| parser.feed(data)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
        self.handle_input(cx)
    }

    /// `initiate_send` (AC-CHAT-61).
    fn handle_write(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        Chat {
            cx,
            buf: &mut self.buf,
        }
        .initiate_send()?;
        self.settle(cx)?;
        // Input held back while paused is handled once the output drained.
        self.handle_input(cx)
    }

    fn handle_close(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        self.handler.handle_close(&mut Chat {
            cx,
            buf: &mut self.buf,
        })
    }

    fn handle_connect(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        self.handler.handle_connect(&mut Chat {
            cx,
            buf: &mut self.buf,
        })
    }

    fn handle_expt(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        self.handler.handle_expt(&mut Chat {
            cx,
            buf: &mut self.buf,
        })
    }

    fn handle_error(&mut self, cx: &mut Cx<'_, S>, err: io::Error) -> io::Result<()> {
        self.handler.handle_error(
            &mut Chat {
                cx,
                buf: &mut self.buf,
            },
            err,
        )
    }

    fn handle_timer(&mut self, cx: &mut Cx<'_, S>, id: TimerId) -> io::Result<()> {
        self.handler.handle_timer(
            &mut Chat {
                cx,
                buf: &mut self.buf,
            },
            id,
        )?;
        self.settle(cx)
    }

    fn handle_timeout(&mut self, cx: &mut Cx<'_, S>, kind: Timeout) -> io::Result<()> {
        self.handler.handle_timeout(
            &mut Chat {
                cx,
                buf: &mut self.buf,
            },
            kind,
        )?;
        self.settle(cx)
    }

    /// The handler's `handle_shutdown` (default: close when the queued
    /// output is sent).
    fn handle_shutdown(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        self.handler.handle_shutdown(&mut Chat {
            cx,
            buf: &mut self.buf,
        })?;
        self.settle(cx)
    }
}
