//! A connection's channel: the chat channel around a [`Connection`], plus
//! one thing the chat channel does not do — once the client has closed its
//! sending side (a request, then `shutdown(SHUT_WR)`, as `nc -N` does),
//! stop reading and finish sending the responses before closing, instead
//! of closing at once and cutting a large file short.

use super::connection::Connection;
use asyncore_loop::chat::AsyncChat;
use asyncore_loop::{Cx, Deadline, Dispatcher, TimerId, View};
use std::io;

/// The chat channel of one connection, with the half-close rule above.
#[derive(Debug)]
pub struct HttpChannel {
    chat: AsyncChat<Connection>,
}

impl HttpChannel {
    /// Wraps a connection: LF-framed input, batched output, back-pressure
    /// at 256 KiB of queued output.
    pub fn new(conn: Connection) -> Self {
        HttpChannel {
            chat: super::connection::channel(conn),
        }
    }

    /// The chat channel.
    pub fn chat_mut(&mut self) -> &mut AsyncChat<Connection> {
        &mut self.chat
    }
}

impl Dispatcher for HttpChannel {
    fn name(&self) -> &'static str {
        "http"
    }

    /// Not after the client's end of input: reading would only see the end
    /// again.
    fn readable(&self, ch: &View<'_>) -> bool {
        !self.chat.handler().input_ended() && self.chat.readable(ch)
    }

    fn writable(&self, ch: &View<'_>) -> bool {
        self.chat.writable(ch)
    }

    fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        self.chat.handle_read(cx)
    }

    fn handle_write(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        self.chat.handle_write(cx)
    }

    fn handle_close(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        self.chat.handle_close(cx)
    }

    fn handle_connect(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        self.chat.handle_connect(cx)
    }

    fn handle_expt(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        self.chat.handle_expt(cx)
    }

    fn handle_error(&mut self, cx: &mut Cx<'_>, err: io::Error) -> io::Result<()> {
        self.chat.handle_error(cx, err)
    }

    fn handle_timer(&mut self, cx: &mut Cx<'_>, id: TimerId) -> io::Result<()> {
        self.chat.handle_timer(cx, id)
    }

    fn handle_timeout(&mut self, cx: &mut Cx<'_>, kind: Deadline) -> io::Result<()> {
        self.chat.handle_timeout(cx, kind)
    }

    fn handle_shutdown(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        self.chat.handle_shutdown(cx)
    }
}
