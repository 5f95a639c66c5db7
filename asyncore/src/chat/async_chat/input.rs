//! The input loop of a chat channel: parser events to the handler's hooks,
//! with the hooks' pushes batched into one send.

use super::AsyncChat;
use crate::chat::record::Ends;
use crate::chat::{ChatHandler, Records, Span};
use crate::cx::Cx;
use std::io;

impl<H> AsyncChat<H> {
    /// Handles the input the parser holds; with batching, the hooks' pushes
    /// are sent together afterwards in one send — before a hook's error
    /// reaches `handle_error`, so they are not lost to its close.
    // Spec: AC-CHAT-Q-12.
    pub(super) fn handle_input<S: 'static>(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()>
    where
        H: ChatHandler<S>,
    {
        if !self.buf.batch {
            self.process_input(cx)?;
            return self.deliver_held_eof(cx);
        }
        loop {
            let before = self.buf.framing.buffered(&self.input);
            self.buf.deferring = true;
            let handled = self.process_input(cx);
            self.buf.deferring = false;
            let sent = if std::mem::take(&mut self.buf.deferred) && !cx.is_closed() {
                self.split(cx).1.initiate_send()
            } else {
                Ok(())
            };
            handled?;
            sent?;
            self.settle(cx)?;
            // The batched send may have drained the output below the
            // low-water mark: then the input held back by the pause is
            // handled now, not left waiting for the next read.
            let progressed = self.buf.framing.buffered(&self.input) < before;
            if cx.is_closed() || self.buf.paused || !progressed {
                break;
            }
        }
        self.deliver_held_eof(cx)
    }

    /// Delivers an end of stream that waited for held-back input, once that
    /// input is handled.
    pub(super) fn deliver_held_eof<S: 'static>(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()>
    where
        H: ChatHandler<S>,
    {
        if !self.buf.eof_held || self.buf.paused || cx.is_closed() {
            return Ok(());
        }
        self.buf.eof_held = false;
        let (handler, mut chat) = self.split(cx);
        handler.handle_read_eof(&mut chat)?;
        self.settle(cx)
    }

    /// Runs the parser's events through the hooks. Input processing stops
    /// once the channel is closed, and while back-pressure pauses it (so
    /// queued output passes the high-water mark by at most one hook's
    /// pushes).
    // Spec: AC-CHAT-22..31; stop once closed: AC-CHAT-Q-7.
    fn process_input<S: 'static>(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()>
    where
        H: ChatHandler<S>,
    {
        // Paused by back-pressure: the rest of the input waits in the
        // parser until the output drains (`handle_write` resumes).
        if self.must_stop(cx) {
            return Ok(());
        }
        loop {
            let handled = match self.buf.framing.next_span(&mut self.input) {
                None => return Ok(()),
                Some(Span::Record(start, end)) => 'record: {
                    if self.buf.runs {
                        // With the records whole behind it, one run, read
                        // where it lies in the input bytes.
                        let first_end = self.buf.framing.position();
                        let (run_end, more) = self.buf.framing.extend_run(&self.input);
                        let ends = Ends::of(self.buf.framing.terminator());
                        let (handler, mut chat, input) = self.split_input(cx);
                        let run = Records::new(&input[start..run_end], more + 1, ends);
                        let handled = handler.found_records(&mut chat, run);
                        if self.buf.runs {
                            if more > 0 && self.buf.upgrade_pending() {
                                // STARTTLS from a run of several records:
                                // which of them followed the command is not
                                // known, so they count as input after it,
                                // and the upgrade is refused.
                                self.buf.framing.rewind_run(first_end);
                            }
                            break 'record handled;
                        }
                        // The handler's default declined (once a channel):
                        // the run is given back, and its records go to
                        // `found_record`, this one first. One call of
                        // `deliver_record` in this loop keeps the
                        // handler's `found_record` inlined.
                        self.buf.framing.rewind_run(first_end);
                    }
                    self.deliver_record(cx, start, end)
                }
                Some(span) => self.hand_over(cx, span),
            };
            handled?;
            // One test after each hook for the rare cases: a close or an
            // upgrade to settle, or a reason to stop.
            if self.buf.close_requested || self.must_stop(cx) {
                self.settle(cx)?;
                if self.must_stop(cx) {
                    return Ok(());
                }
            }
        }
    }

    /// A whole record to `found_record`, or, once its default declined,
    /// to the two hooks.
    #[inline(always)]
    fn deliver_record<S: 'static>(
        &mut self,
        cx: &mut Cx<'_, S>,
        start: usize,
        end: usize,
    ) -> io::Result<()>
    where
        H: ChatHandler<S>,
    {
        // The record is read where it lies, in the input bytes.
        let (handler, mut chat, input) = self.split_input(cx);
        let handled = handler.found_record(&mut chat, &input[start..end]);
        if self.buf.framing.whole_records() {
            handled
        } else {
            // The handler's default declined: this record and every later
            // one go through the two hooks.
            let span = self.buf.framing.in_pieces(start, end);
            self.hand_over(cx, span)
        }
    }

    /// A piece of a record to `collect_incoming_data`, or its end to
    /// `found_terminator`.
    #[inline(always)]
    fn hand_over<S: 'static>(&mut self, cx: &mut Cx<'_, S>, span: Span) -> io::Result<()>
    where
        H: ChatHandler<S>,
    {
        match span {
            Span::Data(start, end) => {
                // The hook reads the piece where it lies, in the input bytes.
                let (handler, mut chat, input) = self.split_input(cx);
                handler.collect_incoming_data(&mut chat, &input[start..end])
            }
            _ => {
                debug_assert_eq!(span, Span::Terminator, "a record comes in pieces here");
                let (handler, mut chat) = self.split(cx);
                handler.found_terminator(&mut chat)
            }
        }
    }

    /// Whether input handling stops here: the channel closed, reading
    /// paused, or a STARTTLS upgrade waits for the output to drain.
    #[inline(always)]
    fn must_stop<S: 'static>(&self, cx: &Cx<'_, S>) -> bool {
        cx.is_closed() || self.buf.paused || self.buf.upgrade_pending()
    }

    /// Delivers the `handle_close` a close marker made the channel owe.
    // Inlined: it runs after every hook, and almost always has nothing to do.
    #[inline(always)]
    pub(super) fn settle<S: 'static>(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()>
    where
        H: ChatHandler<S>,
    {
        if self.buf.upgrade_pending() || self.buf.close_requested {
            return self.settle_owed(cx);
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn settle_owed<S: 'static>(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()>
    where
        H: ChatHandler<S>,
    {
        #[cfg(feature = "tls")]
        if self.buf.tls_upgrade.is_some() {
            self.upgrade_when_flushed(cx)?;
        }
        if !std::mem::take(&mut self.buf.close_requested) || cx.is_closed() {
            return Ok(());
        }
        let (handler, mut chat) = self.split(cx);
        if chat.claim_close() {
            handler.handle_close(&mut chat)
        } else {
            chat.cx.close()
        }
    }
}
