//! The listening channel: accepts connections (past `--max-connections`,
//! a `503` on the fresh socket instead, or over HTTPS just the close) and
//! starts an [`HttpChannel`] for each.

use super::channel::HttpChannel;
use super::config::Config;
use super::connection::Connection;
use super::response::{error_body, Head};
use super::status::Status;
use asyncore_loop::{Cx, Dispatcher, SockAddr, Socket};
use std::io::{self, Write};
use std::rc::Rc;

/// The listening channel: each connection becomes a [`Connection`].
pub(super) struct Listener {
    pub(super) config: Rc<Config>,
    /// HTTPS: every connection is implicit TLS.
    pub(super) tls: Option<std::sync::Arc<asyncore_loop::tls::ServerConfig>>,
}

impl Dispatcher for Listener {
    fn handle_accepted(&mut self, cx: &mut Cx<'_>, sock: Socket, addr: SockAddr) -> io::Result<()> {
        let peer = addr
            .as_socket()
            .map_or_else(|| "-".to_string(), |a| a.ip().to_string());
        let _ = sock.set_tcp_nodelay(true);
        let conn = Connection::new(Rc::clone(&self.config), peer);
        let tls = self.tls.clone();
        let adopted = {
            let mut child = cx.add(HttpChannel::new(conn));
            child.adopt(sock).and_then(|t| match tls {
                Some(config) => child.start_tls_server(config).map(|()| t),
                None => Ok(t),
            })
        };
        let started = adopted.and_then(|t| {
            cx.with(t, |c: &mut HttpChannel, cx| {
                let (conn, mut chat) = c.chat_mut().split(cx);
                conn.start(&mut chat);
            })
            .ok_or_else(|| io::Error::other("connection gone"))
        });
        if let Err(e) = started {
            cx.log_info(&format!("http: cannot start a connection: {e}"), "warning");
        }
        Ok(())
    }

    /// Past `--max-connections`: a 503 on the fresh socket, then close. On
    /// an HTTPS port only the close: a plaintext 503 is garbage to a TLS
    /// client, and a handshake would spend what the cap is there to save.
    fn handle_refused(&mut self, cx: &mut Cx<'_>, sock: Socket, _addr: SockAddr) -> io::Result<()> {
        if self.tls.is_some() {
            drop(sock);
            cx.log_info("http: refused a connection: at --max-connections", "info");
            return Ok(());
        }
        let body = error_body(Status::Unavailable);
        let date = self.config.date();
        let mut head = Head::new(Status::Unavailable, &date);
        head.field("Content-Type", "text/html; charset=utf-8")
            .field("Content-Length", body.len())
            .field("Retry-After", 1);
        let mut bytes = head.finish(false, false);
        bytes.extend_from_slice(body.as_bytes());
        let _ = sock.set_nonblocking(true);
        let _ = (&sock).write_all(&bytes);
        cx.log_info("http: refused a connection: at --max-connections", "info");
        Ok(())
    }
}
