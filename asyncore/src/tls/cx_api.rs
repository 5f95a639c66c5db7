//! The TLS methods of `Cx`: start a session, read what it negotiated and
//! how it ended.

use super::info::{TlsClose, TlsInfo};
use super::session::TlsSession;
use super::DEFAULT_HANDSHAKE_TIMEOUT;
use crate::channel::Io;
use crate::cx::Cx;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, Connection, ServerConfig, ServerConnection};
use std::io;
use std::sync::Arc;
use std::time::Duration;

impl<S: 'static> Cx<'_, S> {
    /// Makes this connected (or connecting) stream channel the server side
    /// of a TLS session: from now on `send`/`recv` carry plaintext. The loop
    /// runs the handshake, then calls
    /// [`handle_tls_established`](crate::Dispatcher::handle_tls_established).
    ///
    /// For STARTTLS, call it once the reply that invites the handshake has
    /// been sent, and only if no input beyond the command was received (a
    /// client that sent more is refusing the protocol or injecting
    /// commands; [`AsyncChat`](crate::chat::AsyncChat) checks this for you).
    pub fn start_tls_server(&mut self, config: Arc<ServerConfig>) -> io::Result<()> {
        let conn = ServerConnection::new(config).map_err(super::session::tls_error)?;
        self.start_tls(Connection::Server(conn), None)
    }

    /// Makes this channel the client side of a TLS session with the server
    /// `server_name` (a DNS name or an IP address, checked against its
    /// certificate and sent as SNI). Call it right after `connect` (the
    /// handshake starts once the connect completes) or, for STARTTLS, once
    /// the server accepted the upgrade.
    pub fn start_tls_client(
        &mut self,
        config: Arc<ClientConfig>,
        server_name: &str,
    ) -> io::Result<()> {
        let name = ServerName::try_from(server_name.to_string()).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("{server_name:?}: {e}"))
        })?;
        let conn = ClientConnection::new(config, name).map_err(super::session::tls_error)?;
        self.start_tls(Connection::Client(conn), Some(server_name.to_string()))
    }

    fn start_tls(&mut self, conn: Connection, client_sni: Option<String>) -> io::Result<()> {
        if !matches!(self.ch.io, Io::Socket(_)) || self.ch.accepting || self.ch.datagram {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "TLS needs a connected or connecting stream socket",
            ));
        }
        if self.ch.tls.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "this channel already runs TLS",
            ));
        }
        self.ch.tls = Some(Box::new(TlsSession::new(conn, client_sni)));
        self.set_tls_handshake_timeout(Some(DEFAULT_HANDSHAKE_TIMEOUT));
        self.core.mark_dirty(self.token.index);
        Ok(())
    }

    /// Closes the channel if its handshake has not finished `timeout` from
    /// now (`None`: never). Silently: no handler is called, and
    /// [`tls_close`](Cx::tls_close) says [`TlsClose::HandshakeTimeout`].
    /// Starting TLS sets 10 s.
    pub fn set_tls_handshake_timeout(&mut self, timeout: Option<Duration>) {
        let Some(old) = self.ch.tls.as_mut().map(|s| s.deadline.take()) else {
            return;
        };
        if let Some(id) = old {
            self.cancel_timer(id);
        }
        let (Some(timeout), Some(false)) = (timeout, self.ch.tls.as_ref().map(|s| s.established))
        else {
            return;
        };
        let id = self.call_later(timeout, |cx| {
            if let Some(s) = cx.ch.tls.as_mut().filter(|s| !s.established) {
                s.deadline = None;
                s.ended = Some(TlsClose::HandshakeTimeout);
                return cx.close();
            }
            Ok(())
        });
        if let Some(s) = self.ch.tls.as_mut() {
            s.deadline = Some(id);
        }
    }

    /// How long records still waiting in this channel's session at its
    /// `close()` may wait for the socket without progress (`None` or zero:
    /// they are dropped at the close). Starting TLS sets 10 s.
    ///
    /// A plain socket's kernel still delivers what `send` accepted after
    /// the close. A TLS channel's `send` accepts plaintext into its session,
    /// and records may wait there, behind a slow reader, when the handler
    /// closes. The close hands them, close_notify last, and the socket to a
    /// channel of the loop's own (`tls-linger` in log lines), which writes
    /// them as the socket takes them and then closes. A `run_loop` that runs
    /// until the map is empty waits for it; `close_all` and the end of a
    /// shutdown's grace period close it at once. After such a close,
    /// `tls_info` and `tls_close` on the closed channel say `None`.
    pub fn set_tls_linger(&mut self, linger: Option<Duration>) {
        if let Some(s) = self.ch.tls.as_mut() {
            s.linger = linger;
        }
    }

    /// Whether this channel runs TLS.
    pub fn is_tls(&self) -> bool {
        self.ch.tls.is_some()
    }

    /// Whether the TLS handshake is still running.
    pub fn tls_handshaking(&self) -> bool {
        self.ch.tls.as_ref().is_some_and(|s| !s.established)
    }

    /// What the TLS session negotiated (`None` on a plain channel).
    pub fn tls_info(&self) -> Option<TlsInfo> {
        self.ch.tls.as_ref().map(|s| s.info())
    }

    /// How the TLS session ended, once it has: read it in `handle_close`
    /// to tell a clean close ([`TlsClose::CloseNotify`]) from a cut one
    /// ([`TlsClose::Truncated`]).
    pub fn tls_close(&self) -> Option<TlsClose> {
        self.ch.tls.as_ref().and_then(|s| s.ended.clone())
    }

    /// The stream ended without close_notify (or the session failed):
    /// what arrived may be incomplete.
    pub fn tls_truncated(&self) -> bool {
        matches!(
            self.tls_close(),
            Some(
                TlsClose::Truncated
                    | TlsClose::HandshakeTimeout
                    | TlsClose::BadCertificate(_)
                    | TlsClose::Error(_)
            )
        )
    }
}
