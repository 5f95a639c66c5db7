//! STARTTLS (RFC 3207): offered in the EHLO reply when the server has a
//! certificate; `--tls-required` answers MAIL with 530 until the session
//! runs TLS. After the upgrade the session starts over (no greeting, no
//! transaction), as the RFC requires. Input pipelined after STARTTLS
//! refuses the upgrade and closes the connection (the chat channel checks
//! it), so injected plaintext is never answered inside TLS.

use super::reply::reply;
use super::Session;
use asyncore_loop::chat::Chat;
use asyncore_loop::tls::ServerConfig;
use std::io;
use std::sync::Arc;

/// A server's TLS settings for STARTTLS.
#[derive(Clone, Debug)]
pub struct StartTls {
    /// The server's certificate and key.
    pub config: Arc<ServerConfig>,
    /// MAIL before STARTTLS is answered `530`.
    pub required: bool,
}

impl PartialEq for StartTls {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.config, &other.config) && self.required == other.required
    }
}

impl Eq for StartTls {}

impl Session {
    /// The EHLO line that offers STARTTLS, while it can be used.
    pub(super) fn starttls_offer(&self) -> &'static str {
        match (&self.config.tls, self.tls_active) {
            (Some(_), false) => "250-STARTTLS\r\n",
            _ => "",
        }
    }

    /// `--tls-required`: MAIL must wait for TLS.
    pub(super) fn tls_missing(&self) -> bool {
        self.config.tls.as_ref().is_some_and(|t| t.required) && !self.tls_active
    }

    pub(super) fn starttls(
        &mut self,
        chat: &mut Chat<'_, '_>,
        arg: Option<&str>,
    ) -> io::Result<()> {
        let Some(tls) = self.config.tls.clone() else {
            return reply(chat, "502 Error: command \"STARTTLS\" not implemented");
        };
        if arg.is_some() {
            return reply(chat, "501 Syntax: STARTTLS");
        }
        if self.tls_active {
            return reply(chat, "503 Error: TLS already active");
        }
        reply(chat, "220 Ready to start TLS")?;
        chat.start_tls_server_when_flushed(tls.config);
        // RFC 3207 §4.2: forget everything the client said before, a login
        // included.
        self.reset();
        self.greeting = None;
        self.extended = false;
        self.authenticated = None;
        self.auth_step = None;
        self.tls_active = true;
        Ok(())
    }
}
