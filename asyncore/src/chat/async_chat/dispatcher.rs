//! `AsyncChat` as a `Dispatcher`: the loop's events, turned into asynchat's
//! behaviour and the handler's hooks.

use super::AsyncChat;
use crate::chat::ChatHandler;
use crate::cx::Cx;
use crate::deadline::Deadline;
use crate::dispatcher::Dispatcher;
use crate::timer::TimerId;
use crate::view::View;
use std::io;

impl<S: 'static, H: ChatHandler<S>> Dispatcher<S> for AsyncChat<H> {
    fn name(&self) -> &'static str {
        self.handler.name()
    }

    /// Always, as asynchat, except while output is above the high-water
    /// mark (back-pressure).
    // Spec: AC-CHAT-80.
    fn readable(&self, _ch: &View<'_, S>) -> bool {
        !self.buf.paused && !self.buf.upgrade_pending()
    }

    /// While output is queued, or while not connected (to see the connect
    /// complete).
    // Spec: AC-CHAT-81.
    fn writable(&self, ch: &View<'_, S>) -> bool {
        !self.buf.out.is_empty() || !ch.connected()
    }

    /// One receive of at most `ac_in_buffer_size` bytes, then the input
    /// loop. Would-block is ignored.
    // Spec: AC-CHAT-20..22.
    fn handle_read(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        let (framing, input) = (&mut self.buf.framing, &mut self.input);
        match cx.recv_with(self.buf.in_buffer_size, |_, data| framing.feed(input, data)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
        self.handle_input(cx)
    }

    /// asynchat's `initiate_send`.
    // Spec: AC-CHAT-61.
    fn handle_write(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        self.split(cx).1.initiate_send()?;
        self.settle(cx)?;
        // Input held back while paused is handled once the output drained.
        self.handle_input(cx)
    }

    fn handle_close(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        let (handler, mut chat) = self.split(cx);
        handler.handle_close(&mut chat)
    }

    #[cfg(feature = "tls")]
    fn handle_tls_established(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        let (handler, mut chat) = self.split(cx);
        handler.handle_tls_established(&mut chat)?;
        self.settle(cx)
    }

    /// The handler's `handle_read_eof`, once the input held back by
    /// back-pressure (if any) is handled.
    fn handle_read_eof(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        self.buf.eof_held = true;
        self.deliver_held_eof(cx)
    }

    fn handle_connect(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        let (handler, mut chat) = self.split(cx);
        handler.handle_connect(&mut chat)
    }

    fn handle_expt(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        let (handler, mut chat) = self.split(cx);
        handler.handle_expt(&mut chat)
    }

    fn handle_error(&mut self, cx: &mut Cx<'_, S>, err: io::Error) -> io::Result<()> {
        let (handler, mut chat) = self.split(cx);
        handler.handle_error(&mut chat, err)
    }

    fn handle_timer(&mut self, cx: &mut Cx<'_, S>, id: TimerId) -> io::Result<()> {
        let (handler, mut chat) = self.split(cx);
        handler.handle_timer(&mut chat, id)?;
        self.settle(cx)
    }

    fn handle_timeout(&mut self, cx: &mut Cx<'_, S>, kind: Deadline) -> io::Result<()> {
        let (handler, mut chat) = self.split(cx);
        handler.handle_timeout(&mut chat, kind)?;
        self.settle(cx)
    }

    /// The handler's `handle_shutdown` (default: close when the queued
    /// output is sent).
    fn handle_shutdown(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        let (handler, mut chat) = self.split(cx);
        handler.handle_shutdown(&mut chat)?;
        self.settle(cx)
    }
}
