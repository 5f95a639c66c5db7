//! STARTTLS on a chat channel: the upgrade waits for the reply that invites
//! it (server) or the command that asks for it (client) to be sent, and is
//! refused if the peer sent anything after it (plaintext that must never be
//! read as if it came over TLS).

use super::Chat;
use crate::tls::{ClientConfig, ServerConfig};
use std::sync::Arc;

/// The side of TLS a chat channel takes once its output is sent.
#[derive(Debug)]
pub(crate) enum Upgrade {
    Server(Arc<ServerConfig>),
    Client(Arc<ClientConfig>, String),
}

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
        self.buf.tls_upgrade = Some(Upgrade::Server(config));
    }

    /// Starts the client side of TLS with `server_name` (checked against
    /// its certificate, sent as SNI), once the queued output is sent: call
    /// it when the server's reply accepts STARTTLS (SMTP's `220`). If the
    /// server had sent anything after that reply, the upgrade is refused and
    /// the channel closed (a warning is logged): bytes that arrived in
    /// plaintext must never be read as the server's first words over TLS
    /// (STARTTLS response injection).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use asyncore_loop::chat::{Chat, ChatHandler};
    /// use asyncore_loop::tls::ClientConfig;
    /// use std::{io, sync::Arc};
    ///
    /// /// Where the plaintext session stands: the server's greeting is a
    /// /// `220` too, so only the `220` that answers STARTTLS starts TLS.
    /// enum Step { Greeting, Ehlo, StartTls, Tls }
    ///
    /// struct SmtpClient { tls: Arc<ClientConfig>, line: Vec<u8>, step: Step }
    /// impl ChatHandler for SmtpClient {
    ///     fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, d: &[u8]) -> io::Result<()> {
    ///         self.line.extend_from_slice(d);
    ///         Ok(())
    ///     }
    ///     fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
    ///         let line = std::mem::take(&mut self.line);
    ///         let last = line.get(3) != Some(&b'-'); // "250-..." lines go on
    ///         match self.step {
    ///             Step::Greeting if line.starts_with(b"220") && last => {
    ///                 self.step = Step::Ehlo;
    ///                 chat.push("EHLO me\r\n")
    ///             }
    ///             Step::Ehlo if line.starts_with(b"250") && last => {
    ///                 self.step = Step::StartTls;
    ///                 chat.push("STARTTLS\r\n")
    ///             }
    ///             Step::StartTls if line.starts_with(b"220") => {
    ///                 self.step = Step::Tls;
    ///                 chat.start_tls_client_when_flushed(self.tls.clone(), "mail.example.com");
    ///                 Ok(())
    ///             }
    ///             _ => Ok(()),
    ///         }
    ///     }
    ///     fn handle_tls_established(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
    ///         chat.push("EHLO me\r\n") // the session starts again, over TLS
    ///     }
    /// }
    /// ```
    pub fn start_tls_client_when_flushed(
        &mut self,
        config: Arc<ClientConfig>,
        server_name: impl Into<String>,
    ) {
        self.buf.tls_upgrade = Some(Upgrade::Client(config, server_name.into()));
    }
}
