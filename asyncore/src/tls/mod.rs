//! TLS under a channel (cargo feature `tls`): rustls as a transport below
//! `send`/`recv`, so every [`Dispatcher`](crate::Dispatcher),
//! [`SendBuffer`](crate::SendBuffer) and
//! [`AsyncChat`](crate::chat::AsyncChat) works over it unchanged.
//!
//! A channel becomes TLS at accept or connect time, or later in place
//! (STARTTLS), with [`Cx::start_tls_server`](crate::Cx::start_tls_server) or
//! [`Cx::start_tls_client`](crate::Cx::start_tls_client). The loop then runs
//! the handshake by itself (the handler's `readable()`/`writable()` and
//! `handle_read`/`handle_write` are not asked meanwhile), calls
//! [`Dispatcher::handle_tls_established`](crate::Dispatcher::handle_tls_established)
//! when it is done, and from there `send` takes plaintext and `recv` returns
//! plaintext. Plaintext already decrypted but not yet read is delivered to
//! `handle_read` without waiting for the socket. A handshake that does not
//! finish within 10 s (see
//! [`Cx::set_tls_handshake_timeout`](crate::Cx::set_tls_handshake_timeout))
//! is closed silently. `close()` sends close_notify once, and the channel
//! closes at once; records the socket has not taken yet (plaintext `send`
//! accepted, close_notify last) are written after it by the loop, as a
//! kernel writes a plain socket's buffered bytes after its close (see
//! [`Cx::set_tls_linger`](crate::Cx::set_tls_linger)).
//!
//! End of stream reads as end of stream whether or not the peer sent
//! close_notify; [`Cx::tls_close`](crate::Cx::tls_close) tells them apart
//! ([`TlsClose::Truncated`] when it did not), for protocols whose bodies end
//! at the close. A TLS error (a certificate that does not verify, a bad
//! record, a fatal alert from the peer) ends the session the same way: its
//! alert is sent, `recv` sees end of stream, `handle_close` is called, and
//! `tls_close` says what went wrong.
//!
//! Every call into rustls is in this module.
//!
//! # Examples
//!
//! An implicit-TLS echo server's accepted channels:
//!
//! ```no_run
//! use asyncore_loop::{Cx, Dispatcher, SockAddr, Socket};
//! use asyncore_loop::tls::ServerConfig;
//! use std::{io, sync::Arc};
//!
//! struct Listener(Arc<ServerConfig>);
//! struct Echo;
//!
//! impl Dispatcher for Listener {
//!     fn handle_accepted(&mut self, cx: &mut Cx<'_>, sock: Socket, _: SockAddr) -> io::Result<()> {
//!         let mut child = cx.add(Echo);
//!         child.adopt(sock)?;
//!         child.start_tls_server(self.0.clone())
//!     }
//! }
//!
//! impl Dispatcher for Echo {
//!     fn writable(&self, _: &asyncore_loop::View<'_>) -> bool {
//!         false
//!     }
//!     fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
//!         cx.recv_with(16384, |cx, data| cx.send(data))??; // plaintext both ways
//!         Ok(())
//!     }
//!     fn handle_close(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
//!         cx.close() // sends close_notify
//!     }
//! }
//! ```

mod config;
mod cx_api;
pub(crate) mod hooks;
mod info;
mod linger;
#[cfg(test)]
mod interest_tests;
mod session;

pub use config::{client_config, load_certs, load_key, server_config, Roots};
pub use info::{TlsClose, TlsInfo};
pub(crate) use session::TlsSession;

/// The rustls crate this module is built on, for configurations the
/// helpers here do not make.
pub use rustls;
pub use rustls::{ClientConfig, ServerConfig};

/// How long a handshake may take before the channel is closed, unless set
/// otherwise.
pub const DEFAULT_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
