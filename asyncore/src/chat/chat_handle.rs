//! `Chat`: what a hook gets — asynchat's output and framing methods over the
//! channel's `Cx`, with raw socket access only after the pushes batched so
//! far are sent.

use super::buffers::Buffers;
use super::{FileRegion, Front, Producer, PushData, Record, Terminator};
use crate::cx::Cx;
use crate::deadline::Deadline;
use crate::dispatcher::Dispatcher;
use crate::timer::TimerId;
use crate::token::Token;
use std::io;
use std::ops::Deref;
use std::time::Duration;

/// A hook's handle on its channel: asynchat's output and framing methods
/// (`push`, `push_with_producer`, `close_when_done`, `set_terminator` ...),
/// plus the channel's [`Cx`].
///
/// `Chat` derefs to [`Cx`] for reading (`connected`, `token`, `log_info`
/// ...). For changes it forwards what hooks commonly need (`state`,
/// `set_timeout`, timers, `add`, `with`, `stop`); anything else on the `Cx`
/// goes through [`cx`](Chat::cx), which first sends the pushes this hook
/// made, so raw socket use never overtakes them. [`send`](Chat::send) and
/// [`close`](Chat::close) do the same.
///
/// # Examples
///
/// A handler that reads a header line, then a body of the length the header
/// gives, and answers:
///
/// ```
/// use asyncore_loop::chat::{AsyncChat, Chat, ChatHandler, Terminator};
/// use std::io;
///
/// #[derive(Default)]
/// struct Upload {
///     header: Vec<u8>,
///     body: Vec<u8>,
/// }
///
/// impl ChatHandler for Upload {
///     fn collect_incoming_data(&mut self, chat: &mut Chat<'_, '_>, data: &[u8]) -> io::Result<()> {
///         match chat.terminator() {
///             Terminator::Count(_) => self.body.extend_from_slice(data),
///             _ => self.header.extend_from_slice(data),
///         }
///         Ok(())
///     }
///     fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
///         if let Terminator::Count(_) = chat.terminator() {
///             // The body is complete: answer, then close once the answer is sent.
///             chat.push(format!("got {} bytes\r\n", self.body.len()))?;
///             chat.close_when_done();
///             return Ok(());
///         }
///         match std::str::from_utf8(&self.header).ok().and_then(|h| h.parse::<usize>().ok()) {
///             Some(len) => {
///                 chat.set_terminator(len); // the body follows
///                 chat.push("go ahead\r\n")
///             }
///             None => {
///                 chat.push("-ERR bad length\r\n")?;
///                 // Raw access to the `Cx` sends the pushes first: "bye" follows the error.
///                 let cx = chat.cx()?;
///                 cx.send(b"bye\r\n")?;
///                 cx.close()
///             }
///         }
///     }
/// }
///
/// let chan = AsyncChat::new(Upload::default()).with_terminator("\r\n");
/// # drop(chan);
/// ```
///
/// A `&mut Cx` is reached only through [`cx`](Chat::cx), never by deref:
///
/// ```compile_fail
/// # use asyncore_loop::chat::Chat;
/// fn raw_send(chat: &mut Chat<'_, '_>) -> std::io::Result<usize> {
///     (&mut **chat).send(b"would overtake the batched pushes")
/// }
/// ```
pub struct Chat<'c, 'a, S: 'static = ()> {
    pub(super) cx: &'c mut Cx<'a, S>,
    pub(super) buf: &'c mut Buffers,
    /// The channel's input bytes, read in place by [`Chat::next_record`]
    /// (what the framing has not delivered is at the end).
    pub(super) input: &'c [u8],
}

impl<S: 'static> std::fmt::Debug for Chat<'_, '_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chat")
            .field("cx", &self.cx)
            .field("buffers", &self.buf)
            .finish()
    }
}

/// Reading only: a `&mut Cx` could send or close behind the batched pushes'
/// back (see [`Chat::cx`]).
impl<'a, S: 'static> Deref for Chat<'_, 'a, S> {
    type Target = Cx<'a, S>;
    fn deref(&self) -> &Cx<'a, S> {
        self.cx
    }
}

impl<'c, S: 'static> Chat<'c, '_, S> {
    /// Takes the next record if it is already whole in the input, read in
    /// place, without a hook call: from a hook, the records that came in
    /// the same read as the one it handles. `None` when the next one is not
    /// whole yet (it comes through the hooks as it completes), and whenever
    /// the hooks would stop: the channel closed or closing, reading paused
    /// by back-pressure, input discarded, a STARTTLS upgrade waiting, or a
    /// terminator that frames no records.
    ///
    /// The records come as the hooks would give them, one by one: a
    /// terminator set after one record frames the next. Taking them in a
    /// loop saves a hook call per record, and [`Record::as_received`]
    /// lets a reply reuse the terminator's bytes.
    ///
    /// # Examples
    ///
    /// Answers each line of a pipelined burst, without a hook call per line:
    ///
    /// ```
    /// use asyncore_loop::chat::{Chat, ChatHandler};
    /// use std::io;
    ///
    /// struct Lengths;
    ///
    /// fn answer(chat: &mut Chat<'_, '_>, line: &[u8]) -> io::Result<()> {
    ///     chat.push(format!("{}\r\n", line.len()))
    /// }
    ///
    /// impl ChatHandler for Lengths {
    ///     fn found_record(&mut self, chat: &mut Chat<'_, '_>, line: &[u8]) -> io::Result<()> {
    ///         answer(chat, line)?;
    ///         // The lines that came with this one:
    ///         while let Some(record) = chat.next_record() {
    ///             answer(chat, record.data())?;
    ///         }
    ///         Ok(())
    ///     }
    ///     // A line cut across reads; this example does not collect it.
    ///     fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> io::Result<()> {
    ///         Ok(())
    ///     }
    ///     fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
    ///         chat.push("-ERR line cut across reads\r\n")
    ///     }
    /// }
    /// ```
    #[inline]
    pub fn next_record(&mut self) -> Option<Record<'c>> {
        if self.input_stopped() {
            return None;
        }
        let input = self.input;
        let (start, data_end, end) = self.buf.framing.next_whole(input)?;
        Some(Record::new(input.get(start..end)?, data_end - start))
    }

    /// Whether the hooks would stop taking input now (see
    /// [`next_record`](Chat::next_record)).
    #[inline(always)]
    fn input_stopped(&self) -> bool {
        let buf = &self.buf;
        self.cx.is_closed() || buf.paused || buf.close_requested || buf.upgrade_pending()
    }
}

impl<'a, S: 'static> Chat<'_, 'a, S> {
    /// asynchat's `push(data)`: queues `data` (split into
    /// `ac_out_buffer_size` chunks) and tries one send — at once, or, while
    /// the channel's input is being handled with batching on, together with
    /// the other pushes once the read's records are handled. Empty data is
    /// ignored. Past the channel's output limit, nothing is queued and an
    /// `OutOfMemory` error is returned.
    // Spec: AC-CHAT-50; batching AC-CHAT-Q-12; empty data AC-CHAT-Q-5.
    pub fn push(&mut self, data: impl PushData) -> io::Result<()> {
        self.buf.push_within_limit(data)?;
        self.send_or_defer()
    }

    /// asynchat's `push_with_producer(p)`: queues a producer, consulted only
    /// as the socket drains, and tries one send.
    // Spec: AC-CHAT-51.
    pub fn push_with_producer(&mut self, producer: Box<dyn Producer>) -> io::Result<()> {
        self.buf.out.push_producer(producer);
        self.send_or_defer()
    }

    /// Queues part of a file ([`FileRegion`]), sent with
    /// [`Cx::send_file`] when its turn comes: on a plain socket with
    /// sendfile(2), the bytes never copied through the program nor held in
    /// memory. Tries one send, as [`push`](Chat::push) does.
    ///
    /// # Examples
    ///
    /// A handler that answers every line with a file's content:
    ///
    /// ```
    /// use asyncore_loop::chat::{Chat, ChatHandler, FileRegion};
    /// use std::io;
    /// use std::path::PathBuf;
    ///
    /// struct Motd(PathBuf);
    ///
    /// impl ChatHandler for Motd {
    ///     fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> io::Result<()> {
    ///         Ok(())
    ///     }
    ///     fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
    ///         let len = std::fs::metadata(&self.0)?.len();
    ///         chat.push_file(FileRegion::open_later(&self.0, 0, len))
    ///     }
    /// }
    /// ```
    pub fn push_file(&mut self, region: FileRegion) -> io::Result<()> {
        self.buf.out.push_file(region);
        self.send_or_defer()
    }

    /// Whether output is still queued: data, a producer, a file region or
    /// the close marker (the queue's half of `writable()`).
    pub fn output_pending(&self) -> bool {
        !self.buf.out.is_empty()
    }

    /// `found_record`'s default: this record and every later one go
    /// through `collect_incoming_data` and `found_terminator`.
    pub(super) fn decline_records(&mut self) {
        self.buf.framing.set_whole_records(false);
    }

    /// `found_records`' default: whole records go to `found_record`, one
    /// by one.
    pub(super) fn decline_runs(&mut self) {
        self.buf.runs = false;
    }

    /// After a push: one send now, or later when batching input.
    // Spec: AC-CHAT-Q-12.
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

    /// The channel's [`Cx`], for what `Chat` does not forward (socket
    /// options, `recv`, `set_closing` ...). The pushes this hook made are
    /// sent first (as far as the socket takes them), so bytes sent through
    /// the `Cx` come after them, as they would with unbatched pushes.
    ///
    /// # Errors
    ///
    /// The error of sending the pushed data.
    pub fn cx(&mut self) -> io::Result<&mut Cx<'a, S>> {
        if !self.cx.is_closed() {
            self.flush_deferred()?;
        }
        Ok(self.cx)
    }

    /// [`Cx::close`], after sending what this hook pushed: batched pushes
    /// are not lost by a close in the same hook.
    // Spec: AC-CHAT-Q-12.
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
    /// their order.
    // Spec: AC-CHAT-Q-12.
    pub fn send(&mut self, data: &[u8]) -> io::Result<usize> {
        self.flush_deferred()?;
        self.cx.send(data)
    }

    /// asynchat's `close_when_done()`: the channel closes once everything
    /// queued before this call is sent.
    // Spec: AC-CHAT-52.
    pub fn close_when_done(&mut self) {
        self.buf.out.close_when_done();
    }

    /// asynchat's `set_terminator`; applies to the rest of the current
    /// input.
    // Spec: AC-CHAT-11, AC-CHAT-14.
    pub fn set_terminator(&mut self, terminator: impl Into<Terminator>) {
        self.buf.framing.set_terminator(terminator);
    }

    /// asynchat's `get_terminator()`: a count shows the bytes still
    /// outstanding.
    // Spec: AC-CHAT-13.
    pub fn terminator(&self) -> &Terminator {
        self.buf.framing.terminator()
    }

    /// asynchat's `discard_buffers()`: drops buffered input and all queued
    /// output (producers and a pending close marker included).
    // Spec: AC-CHAT-83.
    pub fn discard_buffers(&mut self) {
        // The input goes once the hook that asked returns (it may be
        // reading a piece of it).
        self.buf.framing.discard_later();
        self.buf.out.discard();
        self.buf.update_pause();
    }

    /// Bytes of pushed data queued and not yet sent. What producers will
    /// give and what file regions hold is not counted (it is not known, or
    /// not in memory); [`output_pending`](Chat::output_pending) says whether
    /// anything at all is queued.
    pub fn queued_bytes(&self) -> usize {
        self.buf.out.len_bytes()
    }

    /// asynchat's `initiate_send()`: while connected, one send of the head
    /// chunk (or, in drain mode, sends until the socket would block). A close
    /// marker at the head makes the channel owe `handle_close`, which runs as
    /// soon as the current hook returns.
    // Spec: AC-CHAT-53..60.
    pub fn initiate_send(&mut self) -> io::Result<()> {
        loop {
            if !self.cx.connected() {
                return Ok(());
            }
            let (sent, whole) = match self.buf.out.front(usize::MAX)? {
                Front::Empty => return Ok(()),
                Front::Close => {
                    self.buf.close_requested = true;
                    return Ok(());
                }
                Front::Data(chunk) => {
                    let n = self.cx.send(chunk)?;
                    (n, n == chunk.len())
                }
                Front::File { file, offset, len } => {
                    let n = self.cx.send_file(file, offset, len)?;
                    (n, n == len)
                }
            };
            self.buf.out.consume(sent);
            self.buf.update_pause();
            if !self.buf.drain || !whole {
                return Ok(());
            }
        }
    }

    /// [`Cx::state`]: the loop's shared state.
    pub fn state(&mut self) -> &mut S {
        self.cx.state()
    }

    /// [`Cx::set_timeout`]: declares (or, with `None`, clears) a deadline of
    /// this channel.
    pub fn set_timeout(&mut self, kind: Deadline, after: Option<Duration>) {
        self.cx.set_timeout(kind, after);
    }

    /// [`Cx::start_timer`]: arms a timer of this channel
    /// ([`ChatHandler::handle_timer`](super::ChatHandler::handle_timer) gets it).
    pub fn start_timer(&mut self, delay: Duration, repeat: bool) -> TimerId {
        self.cx.start_timer(delay, repeat)
    }

    /// [`Cx::cancel_timer`].
    pub fn cancel_timer(&mut self, id: TimerId) -> bool {
        self.cx.cancel_timer(id)
    }

    /// [`Cx::reset_timer`].
    pub fn reset_timer(&mut self, id: TimerId, delay: Duration) -> bool {
        self.cx.reset_timer(id, delay)
    }

    /// [`Cx::add`]: adds another channel to the loop.
    pub fn add<D: Dispatcher<S>>(&mut self, dispatcher: D) -> Cx<'_, S> {
        self.cx.add(dispatcher)
    }

    /// [`Cx::with`]: reaches another channel of the loop.
    pub fn with<D: Dispatcher<S>, R>(
        &mut self,
        token: Token,
        f: impl FnOnce(&mut D, &mut Cx<'_, S>) -> R,
    ) -> Option<R> {
        self.cx.with(token, f)
    }

    /// [`Cx::stop`]: stops the loop at the end of this pass.
    pub fn stop(&mut self) {
        self.cx.stop();
    }

    /// Claims the one `handle_close` of this channel (false if it was
    /// delivered already).
    pub(super) fn claim_close(&mut self) -> bool {
        self.cx.claim_close_delivery()
    }
}
