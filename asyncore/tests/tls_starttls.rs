//! STARTTLS on an `AsyncChat` (feature `tls`), against CPython's ssl module,
//! both sides: the server's upgrade waits for its reply, and plaintext
//! pipelined after the command is refused, never answered inside TLS
//! (CVE-2011-0411's class); the client's upgrade refuses a reply with
//! plaintext injected after it.
#![cfg(feature = "tls")]

#[macro_use]
mod util;

use asyncore_loop::chat::{AsyncChat, Chat, ChatHandler, Records};
use asyncore_loop::tls::{client_config, server_config, ClientConfig, Roots, ServerConfig};
use asyncore_loop::{Backend, AF_INET, SOCK_STREAM};
use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use util::{event_loop, secs, test_certs, Proc};

/// A line protocol: `STARTTLS` upgrades, anything else is answered `250 LINE`.
/// With `take_records`, the lines read with one are taken whole
/// (`Chat::next_record`) instead of through the hooks.
struct Lines {
    tls: Arc<ServerConfig>,
    line: Vec<u8>,
    take_records: bool,
}

impl Lines {
    fn answer(&self, chat: &mut Chat<'_, '_, bool>, line: &[u8]) -> io::Result<()> {
        if line == b"STARTTLS" {
            chat.push("220 go ahead\r\n")?;
            chat.start_tls_server_when_flushed(self.tls.clone());
            return Ok(());
        }
        let mut reply = b"250 ".to_vec();
        reply.extend_from_slice(line);
        reply.extend_from_slice(b"\r\n");
        chat.push(reply)
    }
}

impl ChatHandler<bool> for Lines {
    fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_, bool>, d: &[u8]) -> io::Result<()> {
        self.line.extend_from_slice(d);
        Ok(())
    }
    fn found_terminator(&mut self, chat: &mut Chat<'_, '_, bool>) -> io::Result<()> {
        let line = std::mem::take(&mut self.line);
        self.answer(chat, &line)?;
        if !self.take_records {
            return Ok(());
        }
        while let Some(record) = chat.next_record() {
            self.answer(chat, record.data())?;
        }
        Ok(())
    }
    fn handle_tls_established(&mut self, chat: &mut Chat<'_, '_, bool>) -> io::Result<()> {
        *chat.state() = true;
        Ok(())
    }
}

/// `Lines` taking its whole lines in runs (`found_records`): the answers
/// stop at `STARTTLS`, as a careful server's would.
struct RunLines(Lines);

impl ChatHandler<bool> for RunLines {
    fn found_records(
        &mut self,
        chat: &mut Chat<'_, '_, bool>,
        lines: Records<'_>,
    ) -> io::Result<()> {
        for line in lines.as_received().split_inclusive(|&b| b == b'\n') {
            let line = &line[..line.len() - 2];
            self.0.answer(chat, line)?;
            if line == b"STARTTLS" {
                break;
            }
        }
        Ok(())
    }
    fn collect_incoming_data(&mut self, chat: &mut Chat<'_, '_, bool>, d: &[u8]) -> io::Result<()> {
        self.0.collect_incoming_data(chat, d)
    }
    fn found_terminator(&mut self, chat: &mut Chat<'_, '_, bool>) -> io::Result<()> {
        self.0.found_terminator(chat)
    }
    fn handle_tls_established(&mut self, chat: &mut Chat<'_, '_, bool>) -> io::Result<()> {
        self.0.handle_tls_established(chat)
    }
}

/// A pipelined `RSET` after `STARTTLS`, or a `NOOP` before it, in one run:
/// which came after the command is not known to the loop, so the upgrade
/// is refused and the channel closed (fail closed); `STARTTLS` alone in its
/// run upgrades.
fn starttls_in_a_run_of_several_is_refused(b: Backend) {
    let certs = test_certs();
    let tls = server_config(&certs.cert, &certs.key, &[]).unwrap();
    for (sent, refused) in [
        (&b"STARTTLS\r\nRSET\r\n"[..], true),
        (b"NOOP\r\nSTARTTLS\r\n", true),
        (b"STARTTLS\r\n", false),
    ] {
        let (a, mut peer) = util::unix_pair();
        peer.write_all(sent).unwrap();
        let mut ev = event_loop(b, false);
        let lines = Lines {
            tls: tls.clone(),
            line: Vec::new(),
            take_records: false,
        };
        let chat = AsyncChat::new(RunLines(lines)).with_terminator("\r\n");
        let t = ev.add(chat).adopt(a).unwrap();
        for _ in 0..20 {
            ev.run_loop(Some(util::ms(10)), Some(1)).unwrap();
        }
        assert_eq!(!ev.contains(t), refused, "{sent:?}");
        // What the peer got in plaintext: the answers up to the command.
        peer.set_nonblocking(true).unwrap();
        let mut got = Vec::new();
        let _ = peer.read_to_end(&mut got);
        let want: &[u8] = match sent {
            b"NOOP\r\nSTARTTLS\r\n" => b"250 NOOP\r\n220 go ahead\r\n",
            _ => b"220 go ahead\r\n",
        };
        assert_eq!(got, want, "{sent:?}");
    }
}

fn run(b: Backend, mode: &str, take_records: bool) -> (String, bool) {
    let certs = test_certs();
    let tls = server_config(&certs.cert, &certs.key, &[]).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let mut peer = Proc::python("tls_client.py", &[mode, &port, certs.ca.to_str().unwrap()]);
    let sock = util::accept_within(&listener, secs(20));
    let mut ev = event_loop(b, false);
    let chat = AsyncChat::new(Lines {
        tls,
        line: Vec::new(),
        take_records,
    })
    .with_terminator("\r\n");
    ev.add(chat).adopt(sock.into()).unwrap();
    assert_eq!(peer.line(secs(10)), "connected");
    peer.run_loop_until_exit(&mut ev, std::time::Duration::from_millis(50), secs(20));
    (peer.rest(secs(5)), *ev.state())
}

fn upgrade_after_the_reply(b: Backend) {
    for take_records in [false, true] {
        let (out, established) = run(b, "starttls", take_records);
        assert_eq!(
            out,
            r#"b'250 NOOP\r\n' b'220 go ahead\r\n' b'250 NOOP\r\n'"#
        );
        assert!(established);
    }
}

/// Refused too when the handler takes the lines read with `STARTTLS`
/// itself: `next_record` gives none while the upgrade waits.
fn input_after_starttls_is_refused(b: Backend) {
    for take_records in [false, true] {
        let (out, established) = run(b, "starttls_inject", take_records);
        // The reply inviting TLS, then the close: RSET is never answered.
        assert_eq!(
            out, r#"b'220 go ahead\r\n'"#,
            "taking records: {take_records}"
        );
        assert!(!established);
    }
}

/// What the client side saw.
#[derive(Default)]
struct ClientSeen {
    lines: Vec<String>,
    established: bool,
    closed: bool,
}

/// A client: `STARTTLS`, upgrade on `220`, then `NOOP` over TLS.
struct StarttlsClient {
    tls: Arc<ClientConfig>,
    line: Vec<u8>,
}

impl ChatHandler<ClientSeen> for StarttlsClient {
    fn handle_connect(&mut self, chat: &mut Chat<'_, '_, ClientSeen>) -> io::Result<()> {
        chat.push("STARTTLS\r\n")
    }
    fn collect_incoming_data(
        &mut self,
        _: &mut Chat<'_, '_, ClientSeen>,
        d: &[u8],
    ) -> io::Result<()> {
        self.line.extend_from_slice(d);
        Ok(())
    }
    fn found_terminator(&mut self, chat: &mut Chat<'_, '_, ClientSeen>) -> io::Result<()> {
        let line = String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned();
        if line.starts_with("220") {
            chat.start_tls_client_when_flushed(self.tls.clone(), "localhost");
        }
        chat.state().lines.push(line);
        Ok(())
    }
    fn handle_tls_established(&mut self, chat: &mut Chat<'_, '_, ClientSeen>) -> io::Result<()> {
        chat.state().established = true;
        chat.push("NOOP\r\n")
    }
    fn handle_close(&mut self, chat: &mut Chat<'_, '_, ClientSeen>) -> io::Result<()> {
        chat.state().closed = true;
        chat.close()
    }
}

fn run_client(b: Backend, mode: &str) -> (String, ClientSeen) {
    let certs = test_certs();
    let tls = client_config(Roots::CaFile(&certs.ca), &[]).unwrap();
    let mut peer = Proc::python(
        "tls_server.py",
        &[
            mode,
            certs.cert.to_str().unwrap(),
            certs.key.to_str().unwrap(),
        ],
    );
    let port = peer.port_line();
    let mut ev = event_loop(b, ClientSeen::default());
    let chat = AsyncChat::new(StarttlsClient {
        tls,
        line: Vec::new(),
    })
    .with_terminator("\r\n");
    let mut cx = ev.add(chat);
    cx.create_socket(AF_INET, SOCK_STREAM).unwrap();
    cx.connect(format!("127.0.0.1:{port}").as_str()).unwrap();
    peer.run_loop_until_exit(&mut ev, std::time::Duration::from_millis(50), secs(20));
    // The loop ran until the server exited: finish what is left (the close).
    for _ in 0..20 {
        if ev.is_empty() {
            break;
        }
        ev.run_loop(Some(std::time::Duration::from_millis(50)), Some(1))
            .unwrap();
    }
    let seen = std::mem::take(ev.state_mut());
    (peer.rest(secs(5)), seen)
}

fn client_upgrades_on_the_reply(b: Backend) {
    let (out, seen) = run_client(b, "starttls");
    assert_eq!(out, r#"b'STARTTLS\r\n' b'NOOP\r\n'"#);
    assert!(seen.established);
    assert_eq!(seen.lines, ["220 go", "250 secure"]);
}

fn client_refuses_a_reply_with_injected_plaintext(b: Backend) {
    let (out, seen) = run_client(b, "starttls_inject");
    // No ClientHello: the client closed without starting TLS, and the
    // injected line was never handled as a reply.
    assert_eq!(out, r#"b'STARTTLS\r\n' closed"#);
    assert!(!seen.established);
    assert_eq!(seen.lines, ["220 go"]);
}

backend_tests!(
    upgrade_after_the_reply,
    input_after_starttls_is_refused,
    client_upgrades_on_the_reply,
    client_refuses_a_reply_with_injected_plaintext,
    starttls_in_a_run_of_several_is_refused,
);
