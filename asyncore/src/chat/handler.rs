//! `ChatHandler`: what a protocol on a chat channel implements.

use super::{Chat, Records};
use crate::deadline::Deadline;
use crate::timer::TimerId;
use std::io;

/// What an asynchat protocol implements: asynchat's two abstract methods,
/// plus the dispatcher hooks it may override. Every hook gets a [`Chat`],
/// the channel's output queue and framing together with its [`Cx`](crate::Cx).
///
/// See the [module documentation](crate::chat) for a complete line-echo
/// server.
// Spec: AC-CHAT-4 (the two abstract methods).
pub trait ChatHandler<S: 'static = ()>: 'static {
    /// A non-empty piece of the current record (a record may arrive in
    /// several pieces).
    // Spec: AC-CHAT-27.
    fn collect_incoming_data(&mut self, chat: &mut Chat<'_, '_, S>, data: &[u8]) -> io::Result<()>;

    /// The current record is complete. Change the terminator here for what
    /// follows: it applies to the rest of the same input.
    // Spec: AC-CHAT-7, AC-CHAT-14.
    fn found_terminator(&mut self, chat: &mut Chat<'_, '_, S>) -> io::Result<()>;

    /// A whole record, read in place: called instead of
    /// `collect_incoming_data` and `found_terminator` when a record and its
    /// terminator arrived together, so nothing of it was delivered before.
    /// `record` excludes the terminator and may be empty. A record that
    /// arrives in pieces across reads still comes through the two hooks, so
    /// a handler that overrides this one keeps them too.
    ///
    /// It saves copying the record into a buffer of the handler's own, and
    /// one hook call per record. Default: the record goes through the two
    /// hooks, exactly as asynchat delivers it.
    ///
    /// # Examples
    ///
    /// An echo of lines up to 512 bytes, whichever way a line arrives:
    ///
    /// ```
    /// use asyncore_loop::chat::{Chat, ChatHandler, Collector};
    /// use std::io;
    ///
    /// struct Echo(Collector);
    ///
    /// fn reply(chat: &mut Chat<'_, '_>, line: &[u8]) -> io::Result<()> {
    ///     chat.push(line)?;
    ///     chat.push("\r\n")
    /// }
    ///
    /// impl ChatHandler for Echo {
    ///     fn found_record(&mut self, chat: &mut Chat<'_, '_>, line: &[u8]) -> io::Result<()> {
    ///         if line.len() > 512 {
    ///             return chat.push("-ERR line too long\r\n");
    ///         }
    ///         reply(chat, line)
    ///     }
    ///     // A line split across reads:
    ///     fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, data: &[u8]) -> io::Result<()> {
    ///         self.0.collect(data);
    ///         Ok(())
    ///     }
    ///     fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
    ///         match self.0.finish() {
    ///             Ok(line) => reply(chat, line),
    ///             Err(_) => chat.push("-ERR line too long\r\n"),
    ///         }
    ///     }
    /// }
    /// ```
    fn found_record(&mut self, chat: &mut Chat<'_, '_, S>, record: &[u8]) -> io::Result<()> {
        let _ = record;
        chat.decline_records();
        Ok(())
    }

    /// Every record that arrived whole, in one call: the records already
    /// whole in the input when the first of them is found, as one run read
    /// in place ([`Records`]: the bytes as received, terminators included,
    /// and how many). Called instead of `found_record` for them; a record
    /// that arrives in pieces across reads still comes through
    /// `collect_incoming_data` and `found_terminator`.
    ///
    /// For a relay or an echo, which sends the records on as they came:
    /// one call and one push for all the records of a read. A server that
    /// answers each record goes through them with [`Records::iter`] and
    /// may still answer them all in one push. Every record
    /// of a run is framed by the terminator in effect when the run is
    /// found; a terminator set here applies to what follows the run. A
    /// protocol that changes its terminator after some record (a header
    /// line announcing a body) keeps `found_record`, and may take the
    /// records behind it with [`Chat::next_record`]; so does a protocol
    /// with STARTTLS: an upgrade asked from a run of several records is
    /// refused and the channel closed, because the run cannot tell which of
    /// them came after the command (injected input, as
    /// `Chat::start_tls_server_when_flushed` explains). A record that
    /// came whole is usually at most one receive (`in_buffer_size`) long;
    /// input held back by back-pressure and a receive after it can make it
    /// longer, so a protocol with a limit checks the lengths itself.
    ///
    /// Default: the records go to `found_record` one by one. A
    /// `found_records` that hands the run to another handler's default
    /// must not have handled any of it: the records then go to
    /// `found_record`, this run's included.
    ///
    /// # Examples
    ///
    /// A line relay: the lines of a read go on in one push.
    ///
    /// ```
    /// use asyncore_loop::chat::{Chat, ChatHandler, Records};
    /// use std::io;
    ///
    /// struct Relay;
    ///
    /// impl ChatHandler for Relay {
    ///     fn found_records(&mut self, chat: &mut Chat<'_, '_>, lines: Records<'_>) -> io::Result<()> {
    ///         chat.push(lines.as_received())
    ///     }
    ///     // A line cut across reads:
    ///     fn collect_incoming_data(&mut self, chat: &mut Chat<'_, '_>, data: &[u8]) -> io::Result<()> {
    ///         chat.push(data)
    ///     }
    ///     fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
    ///         chat.push("\r\n")
    ///     }
    /// }
    /// ```
    fn found_records(&mut self, chat: &mut Chat<'_, '_, S>, records: Records<'_>) -> io::Result<()> {
        let _ = records;
        chat.decline_runs();
        Ok(())
    }

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
    /// the dispatcher's warning.
    // Spec: AC-CHAT-82.
    fn handle_close(&mut self, chat: &mut Chat<'_, '_, S>) -> io::Result<()> {
        chat.close()
    }

    /// The TLS handshake finished (see [`Chat::start_tls_server_when_flushed`]).
    /// Default: nothing.
    #[cfg(feature = "tls")]
    fn handle_tls_established(&mut self, chat: &mut Chat<'_, '_, S>) -> io::Result<()> {
        let _ = chat;
        Ok(())
    }

    /// End of stream: the peer sends nothing more, and every record it sent
    /// was handled. Default: asynchat's behaviour, `handle_close` (at most
    /// once). Override it with `chat.close_when_done()` to send what is
    /// queued (and answer the last records) before closing.
    fn handle_read_eof(&mut self, chat: &mut Chat<'_, '_, S>) -> io::Result<()> {
        if chat.claim_close() {
            self.handle_close(chat)
        } else {
            Ok(())
        }
    }

    /// Urgent data arrived (asyncore's default: a warning). The loop drops
    /// the urgent byte once this returns, unless it was read here.
    fn handle_expt(&mut self, chat: &mut Chat<'_, '_, S>) -> io::Result<()> {
        chat.log_info("unhandled incoming priority event", "warning");
        Ok(())
    }

    /// A timer armed with [`Chat::start_timer`] fired (asyncore-style
    /// default: a warning).
    fn handle_timer(&mut self, chat: &mut Chat<'_, '_, S>, id: TimerId) -> io::Result<()> {
        let _ = id;
        chat.log_info("unhandled timer event", "warning");
        Ok(())
    }

    /// A deadline declared with [`Chat::set_timeout`] passed. Default: an
    /// `info` line, then `close()`.
    fn handle_timeout(&mut self, chat: &mut Chat<'_, '_, S>, kind: Deadline) -> io::Result<()> {
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

    /// A hook failed. Default: as [`Dispatcher::handle_error`](crate::Dispatcher::handle_error):
    /// one `error` line, then `handle_close`.
    fn handle_error(&mut self, chat: &mut Chat<'_, '_, S>, err: io::Error) -> io::Result<()> {
        chat.log_uncaptured(self.name(), &err);
        if chat.claim_close() {
            self.handle_close(chat)
        } else {
            chat.close()
        }
    }
}
