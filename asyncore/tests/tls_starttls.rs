//! STARTTLS on an `AsyncChat` (feature `tls`), against CPython's ssl module:
//! the upgrade waits for its reply, and plaintext pipelined after the
//! command is refused, never answered inside TLS (CVE-2011-0411's class).
#![cfg(feature = "tls")]

#[macro_use]
mod util;

use asyncore_loop::chat::{AsyncChat, Chat, ChatHandler};
use asyncore_loop::tls::{server_config, ServerConfig};
use asyncore_loop::Backend;
use std::io;
use std::net::TcpListener;
use std::sync::Arc;
use util::{event_loop, secs, test_certs, Proc};

/// A line protocol: `STARTTLS` upgrades, anything else is answered `250 LINE`.
struct Lines {
    tls: Arc<ServerConfig>,
    line: Vec<u8>,
}

impl ChatHandler<bool> for Lines {
    fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_, bool>, d: &[u8]) -> io::Result<()> {
        self.line.extend_from_slice(d);
        Ok(())
    }
    fn found_terminator(&mut self, chat: &mut Chat<'_, '_, bool>) -> io::Result<()> {
        let line = std::mem::take(&mut self.line);
        if line == b"STARTTLS" {
            chat.push("220 go ahead\r\n")?;
            chat.start_tls_server_when_flushed(self.tls.clone());
            return Ok(());
        }
        let mut reply = b"250 ".to_vec();
        reply.extend_from_slice(&line);
        reply.extend_from_slice(b"\r\n");
        chat.push(reply)
    }
    fn handle_tls_established(&mut self, chat: &mut Chat<'_, '_, bool>) -> io::Result<()> {
        *chat.state() = true;
        Ok(())
    }
}

fn run(b: Backend, mode: &str) -> (String, bool) {
    let certs = test_certs();
    let tls = server_config(&certs.cert, &certs.key, &[]).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let mut peer = Proc::python("tls_client.py", &[mode, &port, certs.ca.to_str().unwrap()]);
    let (sock, _) = listener.accept().unwrap();
    let mut ev = event_loop(b, false);
    let chat = AsyncChat::new(Lines {
        tls,
        line: Vec::new(),
    })
    .with_terminator("\r\n");
    ev.add(chat).adopt(sock.into()).unwrap();
    assert_eq!(peer.line(secs(10)), "connected");
    peer.run_loop_until_exit(&mut ev, std::time::Duration::from_millis(50), secs(20));
    (peer.rest(secs(5)), *ev.state())
}

fn upgrade_after_the_reply(b: Backend) {
    let (out, established) = run(b, "starttls");
    assert_eq!(
        out,
        r#"b'250 NOOP\r\n' b'220 go ahead\r\n' b'250 NOOP\r\n'"#
    );
    assert!(established);
}

fn input_after_starttls_is_refused(b: Backend) {
    let (out, established) = run(b, "starttls_inject");
    // The reply inviting TLS, then the close: RSET is never answered.
    assert_eq!(out, r#"b'220 go ahead\r\n'"#);
    assert!(!established);
}

backend_tests!(upgrade_after_the_reply, input_after_starttls_is_refused);
