//! STARTTLS on a chat channel: the upgrade waits for the reply that invites
//! it to be sent, and is refused if the client sent anything after the
//! command (plaintext that must never be read as if it came over TLS).

use super::Chat;
use crate::tls::ServerConfig;
use std::sync::Arc;

impl<S: 'static> Chat<'_, '_, S> {
    /// Starts the server side of TLS once the queued output (the reply
    /// inviting the handshake, such as SMTP's `220 Ready to start TLS`) has
    /// been sent. Meanwhile no input is read or handled. If input beyond
    /// the command had already arrived, the upgrade is refused and the
    /// channel closed (a warning is logged): a client may not pipeline past
    /// STARTTLS, and plaintext injected there must never be taken as sent
    /// over TLS.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use asyncore_loop::chat::{Chat, ChatHandler};
    /// use asyncore_loop::tls::ServerConfig;
    /// use std::{io, sync::Arc};
    ///
    /// struct Smtp { tls: Arc<ServerConfig>, line: Vec<u8> }
    /// impl ChatHandler for Smtp {
    ///     fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, d: &[u8]) -> io::Result<()> {
    ///         self.line.extend_from_slice(d);
    ///         Ok(())
    ///     }
    ///     fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
    ///         if self.line.eq_ignore_ascii_case(b"STARTTLS") {
    ///             chat.push("220 Ready to start TLS\r\n")?;
    ///             chat.start_tls_server_when_flushed(self.tls.clone());
    ///         }
    ///         self.line.clear();
    ///         Ok(())
    ///     }
    /// }
    /// ```
    pub fn start_tls_server_when_flushed(&mut self, config: Arc<ServerConfig>) {
        self.buf.tls_upgrade = Some(config);
    }
}
