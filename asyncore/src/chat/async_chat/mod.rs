//! `AsyncChat<H>`: asynchat's `async_chat` channel, driving the sans-IO
//! [`Parser`](super::Parser) and [`OutQueue`](super::OutQueue) from the loop
//! around the user's [`ChatHandler`](super::ChatHandler).

mod dispatcher;
mod input;
mod upgrade;

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
/// use asyncore_loop::chat::{AsyncChat, Chat, ChatHandler, Terminator};
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
pub struct AsyncChat<H> {
    handler: H,
    buf: Buffers,
    /// Input bytes; what `buf.framing` has not delivered is at the end.
    /// Kept out of `buf`, so a hook reads its piece here while its `Chat`
    /// holds `buf`.
    input: Vec<u8>,
}

impl<H: std::fmt::Debug> std::fmt::Debug for AsyncChat<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncChat")
            .field("handler", &self.handler)
            .field("buffers", &self.buf)
            .field("input_buffered", &self.buf.framing.buffered(&self.input))
            .finish()
    }
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
            input: Vec::new(),
        }
    }

    /// Sets the initial terminator.
    pub fn with_terminator(mut self, terminator: impl Into<Terminator>) -> Self {
        self.buf.framing.set_terminator(terminator);
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
        self.buf.framing.terminator()
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
    /// # use asyncore_loop::chat::{AsyncChat, Chat, ChatHandler};
    /// # use asyncore_loop::EventLoop;
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
                input: &self.input,
            },
        )
    }

    /// [`split`](Self::split), and the input bytes for a hook to read.
    #[inline(always)]
    pub(super) fn split_input<'c, 'a, S: 'static>(
        &'c mut self,
        cx: &'c mut Cx<'a, S>,
    ) -> (&'c mut H, Chat<'c, 'a, S>, &'c [u8]) {
        (
            &mut self.handler,
            Chat {
                cx,
                buf: &mut self.buf,
                input: &self.input,
            },
            &self.input,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::ChatHandler;
    use crate::event_loop::EventLoop;
    use std::io;

    struct Nop;
    impl ChatHandler for Nop {
        fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> io::Result<()> {
            Ok(())
        }
        fn found_terminator(&mut self, _: &mut Chat<'_, '_>) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn new_has_no_terminator_and_asynchat_sizes() {
        let chan = AsyncChat::new(Nop);
        assert_eq!(chan.terminator(), &Terminator::None);
        assert_eq!(chan.in_buffer_size(), 65536);
        assert_eq!(chan.buf.out.out_buffer_size(), 65536);
        assert!(chan.batching());
    }

    #[test]
    fn zero_in_buffer_size_counts_as_one() {
        assert_eq!(
            AsyncChat::new(Nop).with_in_buffer_size(0).in_buffer_size(),
            1
        );
    }

    #[test]
    fn out_buffer_size_sets_the_chunk_size() {
        let chan = AsyncChat::new(Nop).with_out_buffer_size(512);
        assert_eq!(chan.buf.out.out_buffer_size(), 512);
    }

    #[test]
    fn low_water_is_capped_at_high_water() {
        let chan = AsyncChat::new(Nop).with_water_marks(100, 500);
        assert_eq!((chan.buf.high_water, chan.buf.low_water), (100, 100));
    }

    #[test]
    fn out_limit_is_recorded() {
        assert_eq!(
            AsyncChat::new(Nop).with_out_limit(64).buf.out_limit,
            Some(64)
        );
    }

    #[test]
    fn batching_off_turns_coalescing_off_too() {
        let chan = AsyncChat::new(Nop).with_batching(false);
        assert!(!chan.batching());
        assert!(!chan.buf.out.coalesce());
    }

    #[test]
    fn drain_is_off_by_default() {
        assert!(!AsyncChat::new(Nop).buf.drain);
        assert!(AsyncChat::new(Nop).with_drain(true).buf.drain);
    }

    #[test]
    fn handler_is_reachable() {
        struct Counted(u8);
        impl ChatHandler for Counted {
            fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> io::Result<()> {
                Ok(())
            }
            fn found_terminator(&mut self, _: &mut Chat<'_, '_>) -> io::Result<()> {
                Ok(())
            }
        }
        let mut chan = AsyncChat::new(Counted(7));
        assert_eq!(chan.handler().0, 7);
        chan.handler_mut().0 = 8;
        assert_eq!(chan.handler().0, 8);
    }

    /// Runs `f` on a `Chat` of a fresh, socketless chat channel.
    fn with_chat<R>(f: impl FnOnce(&mut Chat<'_, '_>) -> R) -> R {
        let mut ev = EventLoop::new();
        let t = ev.add(AsyncChat::new(Nop)).token();
        ev.with(t, |c: &mut AsyncChat<Nop>, cx| f(&mut c.split(cx).1))
            .expect("the channel is in the loop")
    }

    #[test]
    fn push_while_unconnected_queues() {
        let queued = with_chat(|chat| {
            chat.push("hello").unwrap();
            chat.push("").unwrap();
            chat.queued_bytes()
        });
        assert_eq!(queued, 5);
    }

    #[test]
    fn set_terminator_applies_to_the_chat_and_counts() {
        let t = with_chat(|chat| {
            chat.set_terminator(4usize);
            chat.terminator().clone()
        });
        assert_eq!(t, Terminator::Count(4));
    }

    #[test]
    fn discard_buffers_drops_queued_output_and_the_pause() {
        let (queued, paused) = with_chat(|chat| {
            chat.buf.high_water = 2;
            chat.buf.low_water = 1;
            chat.push("12345").unwrap();
            assert!(chat.buf.paused);
            chat.close_when_done();
            chat.discard_buffers();
            (chat.queued_bytes(), chat.buf.paused)
        });
        assert_eq!((queued, paused), (0, false));
    }

    #[test]
    fn close_when_done_queues_the_marker() {
        let empty = with_chat(|chat| {
            chat.close_when_done();
            chat.buf.out.is_empty()
        });
        assert!(!empty, "the marker keeps the channel writable");
    }

    #[test]
    fn initiate_send_while_unconnected_sends_nothing() {
        let queued = with_chat(|chat| {
            chat.push("abc").unwrap();
            chat.initiate_send().unwrap();
            chat.queued_bytes()
        });
        assert_eq!(queued, 3);
    }

    #[test]
    fn cx_without_deferred_pushes_is_the_channels() {
        let token = with_chat(|chat| {
            let t = chat.token();
            assert_eq!(chat.cx().expect("nothing to send").token(), t);
            t
        });
        assert_ne!(format!("{token:?}"), "");
    }

    #[test]
    fn forwarded_timers_arm_and_cancel() {
        let (cancelled, again) = with_chat(|chat| {
            let id = chat.start_timer(std::time::Duration::from_secs(60), false);
            let reset = chat.reset_timer(id, std::time::Duration::from_secs(30));
            assert!(reset);
            (chat.cancel_timer(id), chat.cancel_timer(id))
        });
        assert!(cancelled && !again);
    }

    #[test]
    fn forwarded_state_is_the_loops() {
        let mut ev = EventLoop::with_state(1u32);
        let t = ev.add(AsyncChat::new(NopS)).token();
        ev.with(t, |c: &mut AsyncChat<NopS>, cx| {
            *c.split(cx).1.state() += 1;
        });
        assert_eq!(*ev.state(), 2);
    }

    struct NopS;
    impl ChatHandler<u32> for NopS {
        fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_, u32>, _: &[u8]) -> io::Result<()> {
            Ok(())
        }
        fn found_terminator(&mut self, _: &mut Chat<'_, '_, u32>) -> io::Result<()> {
            Ok(())
        }
    }
}
