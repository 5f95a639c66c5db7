//! `asyncore smtpd`: conformance §4 (TC-SM-1..15) as mini-protocol tests on
//! real socketpairs, reply compatibility with `python3 -m smtpd` (3.11) run as
//! an oracle, smtplib and curl as clients, bad input, limits, timeouts and
//! graceful shutdown.
//!
//! Every network test binds 127.0.0.1 port 0 (python's smtpd too, through
//! `tests/py/smtpd_oracle.py`, which prints the address it got), reads with
//! timeouts, and stops by itself; every child process is a `common::Proc`
//! (killed on drop, every wait bounded).
//!
//! TC-SM coverage: 1-9, 11, 13, 15 ported (inputs and asserted bytes kept;
//! where a documented fix changes a result the test says so); 10 adapted
//! (a failing delivery answers 451 instead of raising out of `handle_read`);
//! 12 ported as "bind fails: the error comes out of `SmtpServer::bind`";
//! 14 not applicable: there is no `decode_data` mode to conflict with
//! SMTPUTF8 (the session always works on bytes and always offers SMTPUTF8).

mod common;

use asyncore_cli::smtpd::{
    channel, greet, spawn, Deliver, Memory, Message, Options, Printer, Session, SessionConfig,
    Spawned,
};
use asyncore_loop::{EventLoop, Token};
use common::Proc;
use std::cell::RefCell;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

const HOST: &str = "smtp.test";

// ---- the mini-protocol harness -------------------------------------------------

/// One session on a socketpair, driven by a loop on this thread: write a
/// line, let the loop run, read the reply (conformance §4.1, ported).
struct Mini {
    ev: EventLoop,
    peer: UnixStream,
    token: Token,
    pending: Vec<u8>,
}

impl Mini {
    fn new(deliver: Rc<dyn Deliver>) -> Mini {
        Mini::with_config(
            SessionConfig {
                hostname: HOST.into(),
                ..SessionConfig::default()
            },
            deliver,
        )
    }

    fn with_config(config: SessionConfig, deliver: Rc<dyn Deliver>) -> Mini {
        let (ours, peer) = UnixStream::pair().expect("socketpair");
        peer.set_nonblocking(true).expect("nonblocking");
        let mut ev = EventLoop::new();
        let session = Session::new(Rc::new(config), "peer-address", deliver);
        let token = ev.add(channel(session)).adopt(ours.into()).expect("adopt");
        ev.with(token, greet).expect("channel").expect("greet");
        let mut m = Mini {
            ev,
            peer,
            token,
            pending: Vec::new(),
        };
        let hello = m.replies(1);
        assert!(hello[0].starts_with("220 smtp.test "), "{hello:?}");
        m
    }

    /// Runs the loop until `n` complete replies arrived (2 s deadline).
    fn replies(&mut self, n: usize) -> Vec<String> {
        self.replies_until(n, Instant::now() + Duration::from_secs(2))
    }

    fn replies_until(&mut self, n: usize, deadline: Instant) -> Vec<String> {
        let mut out = Vec::new();
        while out.len() < n && Instant::now() < deadline {
            if !self.ev.is_empty() {
                self.ev
                    .run_loop(Some(Duration::from_millis(5)), Some(1))
                    .expect("loop");
            }
            let mut buf = [0u8; 65536];
            match self.peer.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => self.pending.extend_from_slice(&buf[..k]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("read: {e}"),
            }
            out.extend(take_replies(&mut self.pending));
        }
        out
    }

    fn send(&mut self, bytes: &[u8]) {
        self.peer.write_all(bytes).expect("write");
    }

    /// `write_line` of the CPython harness: the line plus CRLF, one reply.
    fn write_line(&mut self, line: &[u8]) -> String {
        let mut bytes = line.to_vec();
        bytes.extend_from_slice(b"\r\n");
        self.send(&bytes);
        self.replies(1)
            .pop()
            .unwrap_or_else(|| panic!("no reply to {:?}", String::from_utf8_lossy(line)))
    }

    /// Sends `bytes` and lets the loop run a while; the replies that came.
    fn quiet(&mut self, bytes: &[u8]) -> Vec<String> {
        self.send(bytes);
        self.replies_until(usize::MAX, Instant::now() + Duration::from_millis(150))
    }

    fn open(&self) -> bool {
        self.ev.contains(self.token)
    }

    fn dialog(&mut self, lines: &[&[u8]]) {
        for l in lines {
            self.write_line(l);
        }
    }
}

/// Complete replies (multi-line ones joined with `\n`) taken from `buf`.
fn take_replies(buf: &mut Vec<u8>) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = Vec::new();
    let mut used = 0;
    while let Some(nl) = buf[used..].iter().position(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(&buf[used..used + nl])
            .trim_end_matches('\r')
            .to_string();
        used += nl + 1;
        let last = line.as_bytes().get(3) != Some(&b'-');
        lines.push(line);
        if last {
            out.push(lines.join("\n"));
            lines.clear();
            buf.drain(..used);
            used = 0;
        }
    }
    out
}

fn memory() -> Rc<Memory> {
    Rc::new(Memory::default())
}

const HELO_MAIL_RCPT_DATA: [&[u8]; 4] = [
    b"HELO example",
    b"MAIL From:eggs@example",
    b"RCPT To:spam@example",
    b"DATA",
];

// ---- TC-SM-1..15 --------------------------------------------------------------------

/// TC-SM-1 (test_missing_data): an empty line.
#[test]
fn tc_sm_1_missing_data() {
    let mut m = Mini::new(memory());
    assert_eq!(m.write_line(b""), "500 Error: bad syntax");
}

/// TC-SM-2 (test_EHLO and the EHLO/HELO duplicates and syntax).
#[test]
fn tc_sm_2_ehlo() {
    let mut m = Mini::new(memory());
    let ehlo = m.write_line(b"EHLO example");
    assert!(ehlo.ends_with("\n250 HELP"), "{ehlo}");
    assert_eq!(
        ehlo,
        "250-smtp.test\n250-SIZE 33554432\n250-8BITMIME\n250-SMTPUTF8\n250-PIPELINING\n250 HELP"
    );
    assert_eq!(m.write_line(b"EHLO example"), "503 Duplicate HELO/EHLO");
    assert_eq!(m.write_line(b"HELO example"), "503 Duplicate HELO/EHLO");
    let mut m = Mini::new(memory());
    assert_eq!(m.write_line(b"EHLO"), "501 Syntax: EHLO hostname");
    assert_eq!(m.write_line(b"HELO example"), "250 smtp.test");
    assert_eq!(m.write_line(b"EHLO example"), "503 Duplicate HELO/EHLO");
}

/// TC-SM-3 (test_QUIT, test_HELO_QUIT, test_QUIT_arg_ignored): `221 Bye`,
/// then the channel closes once the reply is sent (AC-CHAT-52).
#[test]
fn tc_sm_3_quit() {
    for lines in [&[][..], &[&b"HELO example"[..]][..]] {
        for quit in [&b"QUIT"[..], b"QUIT bye bye"] {
            let mut m = Mini::new(memory());
            m.dialog(lines);
            assert_eq!(m.write_line(quit), "221 Bye");
            let until = Instant::now() + Duration::from_secs(2);
            while m.open() && Instant::now() < until {
                m.ev.run_loop(Some(Duration::from_millis(5)), Some(1))
                    .expect("loop");
            }
            assert!(!m.open(), "closed after the 221 went out");
            let mut rest = Vec::new();
            m.peer.set_nonblocking(false).expect("blocking");
            m.peer.read_to_end(&mut rest).expect("eof");
            assert!(rest.is_empty());
        }
    }
}

/// TC-SM-4 (test_data_dialog, test_data_limit_dialog): the terminator
/// switches to the data framing and back. The message keeps its last line
/// end (smtpd's `data\nmore` had it cut off by `split`).
#[test]
fn tc_sm_4_data_dialog() {
    for limit in [32 << 20, 32] {
        let sink = memory();
        let config = SessionConfig {
            hostname: HOST.into(),
            max_size: limit,
            ..SessionConfig::default()
        };
        let mut m = Mini::with_config(config, sink.clone());
        assert_eq!(m.write_line(b"HELO example"), "250 smtp.test");
        assert_eq!(m.write_line(b"MAIL From:eggs@example"), "250 OK");
        assert_eq!(m.write_line(b"RCPT To:spam@example"), "250 OK");
        assert_eq!(m.write_line(b"DATA"), "354 End data with <CR><LF>.<CR><LF>");
        assert_eq!(m.write_line(b"data\r\nmore\r\n."), "250 OK");
        let got = sink.messages();
        assert_eq!(got.len(), 1);
        assert_eq!(
            (
                got[0].peer.as_str(),
                got[0].mail_from.as_str(),
                &got[0].rcpt_tos[..],
                &got[0].data[..]
            ),
            (
                "peer-address",
                "eggs@example",
                &["spam@example".to_string()][..],
                &b"data\nmore\n"[..]
            )
        );
        // Back in the command state.
        assert_eq!(m.write_line(b"NOOP"), "250 OK");
    }
}

/// TC-SM-5 (test_data_transparency_section_4_5_2): two delimiters in one
/// receive; the trailing CRLF is an empty command in the same read.
#[test]
fn tc_sm_5_data_transparency() {
    let sink = memory();
    let mut m = Mini::new(sink.clone());
    m.dialog(&HELO_MAIL_RCPT_DATA);
    let replies = m.quiet(b"..\r\n.\r\n\r\n");
    assert_eq!(replies, ["250 OK", "500 Error: bad syntax"]);
    assert_eq!(sink.messages()[0].data, b".\n");
}

/// TC-SM-6 (SMTPDChannelWithDecodeDataFalse.test_ascii_data): the
/// delimiter split over two receives.
#[test]
fn tc_sm_6_ascii_data() {
    let sink = memory();
    let mut m = Mini::new(sink.clone());
    m.dialog(&HELO_MAIL_RCPT_DATA);
    assert!(m.quiet(b"plain ascii text\r\n").is_empty());
    assert_eq!(m.write_line(b"."), "250 OK");
    assert_eq!(sink.messages()[0].data, b"plain ascii text\n");
}

/// TC-SM-7 (test_utf8_data in its variants): UTF-8 lines over several receives.
#[test]
fn tc_sm_7_utf8_data() {
    for smtputf8 in [false, true] {
        let sink = memory();
        let mut m = Mini::new(sink.clone());
        m.write_line(b"EHLO example");
        let from: &[u8] = if smtputf8 {
            b"MAIL From:eggs@example BODY=8BITMIME SMTPUTF8"
        } else {
            b"MAIL From:eggs@example"
        };
        assert_eq!(m.write_line(from), "250 OK");
        m.write_line(b"RCPT To:spam@example");
        m.write_line(b"DATA");
        assert!(m.quiet("utf8 enriched text: żźć\r\n".as_bytes()).is_empty());
        assert!(m.quiet(b"and some plain ascii\r\n").is_empty());
        assert_eq!(m.write_line(b"."), "250 OK");
        let got = &sink.messages()[0];
        assert_eq!(
            got.data,
            "utf8 enriched text: żźć\nand some plain ascii\n".as_bytes()
        );
        if smtputf8 {
            assert_eq!(got.mail_options, ["BODY=8BITMIME", "SMTPUTF8"]);
        }
    }
}

/// TC-SM-8 (test_data_longer_than_default_data_size_limit,
/// test_data_limit_dialog_too_much_data): 552, and (fix) the session is back
/// in the command state.
#[test]
fn tc_sm_8_too_much_data() {
    for (limit, data) in [
        (1048usize, [b'A'; 1049].to_vec()),
        (32, b"This message is longer than 32 bytes".to_vec()),
    ] {
        let sink = memory();
        let config = SessionConfig {
            hostname: HOST.into(),
            max_size: limit,
            ..SessionConfig::default()
        };
        let mut m = Mini::with_config(config, sink.clone());
        m.dialog(&HELO_MAIL_RCPT_DATA);
        let mut record = data.clone();
        record.extend_from_slice(b"\r\n.");
        assert_eq!(m.write_line(&record), "552 Error: Too much mail data");
        assert!(sink.messages().is_empty());
        assert_eq!(
            m.write_line(b"NOOP"),
            "250 OK",
            "fix: commands work again after 552"
        );
        assert_eq!(
            m.write_line(b"RCPT To:spam@example"),
            "503 Error: need MAIL command"
        );
    }
    // At the limit exactly: 1046 octets + CRLF = 1048.
    let sink = memory();
    let config = SessionConfig {
        hostname: HOST.into(),
        max_size: 1048,
        ..SessionConfig::default()
    };
    let mut m = Mini::with_config(config, sink.clone());
    m.dialog(&HELO_MAIL_RCPT_DATA);
    let mut record = vec![b'A'; 1046];
    record.extend_from_slice(b"\r\n.");
    assert_eq!(m.write_line(&record), "250 OK");
}

/// TC-SM-9 (test_command_too_long, test_MAIL_command_limit_extended_with_SIZE,
/// ..._with_SIZE_and_SMTPUTF8, test_multiple_emails_with_extended_command_length).
/// Fix: the limit counts the CRLF (RFC 5321), so "at the limit" inputs are
/// 2 octets shorter than smtpd's.
#[test]
fn tc_sm_9_command_limits() {
    let limit = 512;
    let mut m = Mini::new(memory());
    m.write_line(b"HELO example");
    let mut long = b"MAIL from: ".to_vec();
    long.extend_from_slice(&[b'a'; 512]);
    long.extend_from_slice(b"@example");
    assert_eq!(m.write_line(&long), "500 Error: line too long");

    // EHLO: MAIL gets +26 (SIZE) +10 (SMTPUTF8); we always offer both.
    let mut m = Mini::new(memory());
    m.write_line(b"EHLO example");
    let fill = limit - 2 - "MAIL from:<@example>".len();
    let mail = |n: usize, tail: &[u8]| {
        let mut l = b"MAIL from:<".to_vec();
        l.extend(std::iter::repeat_n(b'a', n));
        l.extend_from_slice(b"@example>");
        l.extend_from_slice(tail);
        l
    };
    assert_eq!(m.write_line(&mail(fill, b" SIZE=1234")), "250 OK");
    m.write_line(b"RSET");
    // smtpd's class without SMTPUTF8 (MAIL limit 512 + 26) rejected
    // `fill + 26` here; we always offer SMTPUTF8, so the limit is 512 + 26
    // + 10 with CRLF, and `fill + 26` (546 octets + CRLF) is exactly at it.
    assert_eq!(m.write_line(&mail(fill + 26, b" SIZE=1234")), "250 OK");
    m.write_line(b"RSET");
    assert_eq!(
        m.write_line(&mail(fill + 27, b" SIZE=1234")),
        "500 Error: line too long"
    );
    let mut m = Mini::new(memory());
    m.write_line(b"ehlo example");
    let fill = (512 + 26 + 10 - 2) - "mail from:<@example>".len();
    assert_eq!(
        m.write_line(&mail(fill + 1, b"")),
        "500 Error: line too long"
    );
    assert_eq!(m.write_line(&mail(fill, b"")), "250 OK");

    // Three messages in a row, each with the longest MAIL allowed.
    let sink = memory();
    let mut m = Mini::new(sink.clone());
    m.write_line(b"ehlo example");
    for c in [b'a', b'b', b'c'] {
        let mut l = b"MAIL from:<".to_vec();
        l.extend(std::iter::repeat_n(c, fill));
        l.extend_from_slice(b"a@example>");
        assert_eq!(&m.write_line(&l)[..3], "500");
        let mut l = b"MAIL from:<".to_vec();
        l.extend(std::iter::repeat_n(c, fill));
        l.extend_from_slice(b"@example>");
        assert_eq!(&m.write_line(&l)[..3], "250");
        assert_eq!(&m.write_line(b"rcpt to:<hans@example.com>")[..3], "250");
        assert_eq!(&m.write_line(b"data")[..3], "354");
        assert_eq!(m.write_line(b"test\r\n."), "250 OK");
    }
    assert_eq!(sink.messages().len(), 3);
    // Other commands stay at 512 after EHLO.
    let mut noop = b"NOOP ".to_vec();
    noop.extend(std::iter::repeat_n(b'x', 512 - 2 - 5 + 1));
    let r = m.write_line(&noop);
    assert_eq!(r, "500 Error: line too long");
}

/// A delivery that fails, as smtpd's abstract `process_message`.
struct NotImplemented;
impl Deliver for NotImplemented {
    fn deliver(&self, _: &Message) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "not implemented",
        ))
    }
}

/// TC-SM-10 (test_process_message_unimplemented), adapted: the error does not
/// leave `handle_read` (nor drop the connection); the client gets 451 and the
/// session goes on.
#[test]
fn tc_sm_10_delivery_fails() {
    let mut m = Mini::new(Rc::new(NotImplemented));
    m.dialog(&HELO_MAIL_RCPT_DATA);
    assert_eq!(
        m.write_line(b"spam\r\n."),
        "451 Requested action aborted: local error in processing"
    );
    assert_eq!(m.write_line(b"NOOP"), "250 OK");
    assert!(m.open());
}

fn start(options: Options) -> Spawned {
    spawn(options, common::backend()).expect("spawn")
}

fn opts() -> Options {
    Options {
        listen: "127.0.0.1:0".into(),
        hostname: Some(HOST.into()),
        maildir: Some(tempdir("md")),
        ..Options::default()
    }
}

fn tempdir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "asyncore-smtpd-test-{}-{}-{tag}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tempdir");
    d
}

/// A blocking client with deadlines.
struct Client {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s.set_write_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        Client {
            r: BufReader::new(s.try_clone().expect("clone")),
            w: s,
        }
    }

    /// One reply (multi-line joined with `\n`); `(closed)` at EOF, `(no reply)` on timeout.
    fn reply(&mut self) -> String {
        let mut lines = Vec::new();
        loop {
            let mut line = Vec::new();
            match self.r.read_until(b'\n', &mut line) {
                Ok(0) => {
                    return if lines.is_empty() {
                        "(closed)".into()
                    } else {
                        lines.join("\n")
                    }
                }
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return if lines.is_empty() {
                        "(no reply)".into()
                    } else {
                        lines.join("\n")
                    };
                }
                Err(_) => return "(closed)".into(),
            }
            let text = String::from_utf8_lossy(&line)
                .trim_end_matches(['\r', '\n'])
                .to_string();
            let last = text.as_bytes().get(3) != Some(&b'-');
            lines.push(text);
            if last {
                return lines.join("\n");
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).expect("send");
    }

    fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes());
        self.reply()
    }

    fn timeout(&mut self, d: Duration) {
        self.w.set_read_timeout(Some(d)).expect("timeout");
    }
}

/// TC-SM-11 (test_server_accept): the listener's accept creates a session
/// that greets.
#[test]
fn tc_sm_11_server_accept() {
    let server = start(opts());
    let mut c = Client::connect(server.addr);
    let hello = c.reply();
    assert!(
        hello.starts_with("220 smtp.test asyncore smtpd "),
        "{hello}"
    );
    assert_eq!(c.cmd("QUIT"), "221 Bye");
    server.remote.stop().expect("the server loop is running");
    server.thread.join().expect("thread").expect("serve");
}

/// TC-SM-12 (test_broken_connect): listening fails; the error comes out of
/// the constructor, nothing is left behind.
#[test]
fn tc_sm_12_broken_listen() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let options = Options {
        listen: taken.local_addr().expect("addr").to_string(),
        ..opts()
    };
    let err = spawn(options, common::backend()).expect_err("port in use");
    assert_eq!(err.code, 1);
    assert!(
        err.message.starts_with("cannot listen on 127.0.0.1:"),
        "{err}"
    );
}

/// TC-SM-13 (TestFamilyDetection): the listener's family follows the address.
#[test]
fn tc_sm_13_family() {
    let v4 = start(opts());
    assert!(v4.addr.is_ipv4());
    v4.remote.stop().expect("the server loop is running");
    v4.thread.join().expect("thread").expect("serve");
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        let v6 = start(Options {
            listen: "[::1]:0".into(),
            ..opts()
        });
        assert!(v6.addr.is_ipv6());
        let mut c = Client::connect(v6.addr);
        assert!(c.reply().starts_with("220 "));
        v6.remote.stop().expect("the server loop is running");
        v6.thread.join().expect("thread").expect("serve");
    }
}

/// A `Write` shared with the test.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);
impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// TC-SM-15 (DebuggingServerTest, 4 tests): `--print`'s dump. The harness
/// sends `From: test\n\nhello\n` then CRLF and `.`: the bare LFs are line
/// ends (fix), and the CRLF a bare-LF client adds before the dot is not an
/// extra empty line, so the text variant's stdout is smtpd's exactly. The
/// bytes variants print the bytes, not Python's `repr()`.
#[test]
fn tc_sm_15_debugging_server() {
    let dump = |data: &[u8], smtputf8: bool| {
        let out = Shared::default();
        let mut m = Mini::new(Rc::new(Printer::new(out.clone())));
        m.write_line(b"EHLO example");
        m.write_line(if smtputf8 {
            b"MAIL From:eggs@example BODY=8BITMIME SMTPUTF8"
        } else {
            b"MAIL From:eggs@example"
        });
        m.write_line(b"RCPT To:spam@example");
        m.write_line(b"DATA");
        assert!(m.quiet(&[data, b"\r\n"].concat()).is_empty());
        assert_eq!(m.write_line(b"."), "250 OK");
        let text = out.0.borrow().clone();
        text
    };
    assert_eq!(
        String::from_utf8(dump(b"From: test\n\nhello\n", false)).expect("utf8"),
        "---------- MESSAGE FOLLOWS ----------\nFrom: test\nX-Peer: peer-address\n\nhello\n------------ END MESSAGE ------------\n"
    );
    let want = b"---------- MESSAGE FOLLOWS ----------\nFrom: test\nX-Peer: peer-address\n\nh\xc3\xa9llo\xff\n------------ END MESSAGE ------------\n";
    assert_eq!(dump(b"From: test\n\nh\xc3\xa9llo\xff\n", false), want);
    let with_options = dump(b"From: test\n\nh\xc3\xa9llo\xff\n", true);
    assert_eq!(
        with_options,
        [&b"---------- MESSAGE FOLLOWS ----------\nmail options: ['BODY=8BITMIME', 'SMTPUTF8']\n"[..], &want[38..]].concat()
    );
}

// ---- smtpd's other channel tests (not asynchat-specific), as dialogues ---------------

/// The rest of SMTPDChannelTest: syntax and state rules, reply by reply.
#[test]
fn smtpd_channel_rules() {
    let cases: &[(&[&str], &str)] = &[
        (&["HELO"], "501 Syntax: HELO hostname"),
        (&["HELO example", "NOOP"], "250 OK"),
        (&["HELO example", "RSET"], "250 OK"),
        (&["NOOP hi"], "501 Syntax: NOOP"),
        (&["RSET hi"], "501 Syntax: RSET"),
        (
            &["HELP"],
            "250 Supported commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY",
        ),
        (&["HELP MAIL"], "250 Syntax: MAIL FROM: <address>"),
        (
            &["EHLO x", "HELP MAIL"],
            "250 Syntax: MAIL FROM: <address> [SP <mail-parameters>]",
        ),
        (&["HELP RCPT"], "250 Syntax: RCPT TO: <address>"),
        (
            &["HELP spam"],
            "501 Supported commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY",
        ),
        (
            &["VRFY <eggs@example>"],
            "252 Cannot VRFY user, but will accept message and attempt delivery",
        ),
        (&["VRFY"], "501 Syntax: VRFY <address>"),
        (&["EXPN spam@example"], "502 EXPN not implemented"),
        (&["MAIL from: <eggs@example>"], "503 Error: send HELO first"),
        (&["RCPT to: <spam@example>"], "503 Error: send HELO first"),
        (&["DATA"], "503 Error: send HELO first"),
        (
            &["HELO example", "MAIL"],
            "501 Syntax: MAIL FROM: <address>",
        ),
        (
            &["HELO example", "MAIL from"],
            "501 Syntax: MAIL FROM: <address>",
        ),
        (
            &["HELO example", "MAIL from:"],
            "501 Syntax: MAIL FROM: <address>",
        ),
        (
            &["HELO example", "MAIL from: <eggs@example> SIZE=1000"],
            "501 Syntax: MAIL FROM: <address>",
        ),
        (
            &["EHLO example", "MAIL from: <eggs@example> SIZE=abc"],
            "501 Syntax: MAIL FROM: <address> [SP <mail-parameters>]",
        ),
        (
            &["EHLO example", "MAIL from: <eggs@example> SIZE=99999999999"],
            "552 Error: message size exceeds fixed maximum message size",
        ),
        (
            &["EHLO example", "MAIL from: <eggs@example> BODY=9BIT"],
            "501 Error: BODY can only be one of 7BIT, 8BITMIME",
        ),
        (
            &["EHLO example", "MAIL from: <eggs@example> SMTPUTF8=YES"],
            "501 Error: SMTPUTF8 takes no arguments",
        ),
        (
            &["EHLO example", "MAIL from: <eggs@example> ham=green"],
            "555 MAIL FROM parameters not recognized or not implemented",
        ),
        (&["EHLO example", "MAIL from:   <eggs@example>"], "250 OK"),
        (
            &[
                "HELO example",
                "MAIL from:eggs@example",
                "MAIL from:spam@example",
            ],
            "503 Error: nested MAIL command",
        ),
        (
            &["HELO example", "RCPT to:spam@example"],
            "503 Error: need MAIL command",
        ),
        (
            &["HELO example", "MAIL from:eggs@example", "RCPT"],
            "501 Syntax: RCPT TO: <address>",
        ),
        (
            &["HELO example", "MAIL from:eggs@example", "RCPT to"],
            "501 Syntax: RCPT TO: <address>",
        ),
        (
            &[
                "EHLO example",
                "MAIL from:eggs@example",
                "RCPT to: <sp@am> SIZE=1",
            ],
            "555 RCPT TO parameters not recognized or not implemented",
        ),
        (
            &["HELO example", "MAIL from:eggs@example", "DATA"],
            "503 Error: need RCPT command",
        ),
        (
            &[
                "HELO example",
                "MAIL from:eggs@example",
                "RCPT to:spam@example",
                "DATA spam",
            ],
            "501 Syntax: DATA",
        ),
        (
            &[
                "HELO example",
                "MAIL from:eggs@example",
                "RSET",
                "RCPT to:spam@example",
            ],
            "503 Error: need MAIL command",
        ),
        (&["spam"], "500 Error: command \"SPAM\" not recognized"),
        // Fixes.
        (
            &["HELO example", "MAIL from:eggs@example", "RCPT to:<>"],
            "501 Syntax: RCPT TO: <address>",
        ),
        (
            &["HELO example", "MAIL from:@example"],
            "501 Syntax: MAIL FROM: <address>",
        ),
        (
            &["\u{0}\u{1}x"],
            "500 Error: command \"??X\" not recognized",
        ),
    ];
    for (lines, want) in cases {
        let mut m = Mini::new(memory());
        let mut last = String::new();
        for l in *lines {
            last = m.write_line(l.as_bytes());
        }
        assert_eq!(&last, want, "{lines:?}");
    }
}

/// Bug fixes at session level: the empty message, bare LF, pipelining.
#[test]
fn fixes_empty_message_bare_lf_pipelining() {
    let sink = memory();
    let mut m = Mini::new(sink.clone());
    m.dialog(&HELO_MAIL_RCPT_DATA);
    assert_eq!(m.write_line(b"."), "250 OK", "the empty message");
    assert_eq!(sink.messages()[0].data, b"");

    let sink = memory();
    let mut m = Mini::new(sink.clone());
    let replies = m.quiet(
        b"HELO x\nMAIL FROM:<a@x>\nRCPT TO:<b@y>\nDATA\nline 1\n..line 2\nlone\rcr\r\n.\r\n",
    );
    assert_eq!(
        replies,
        [
            "250 smtp.test",
            "250 OK",
            "250 OK",
            "354 End data with <CR><LF>.<CR><LF>",
            "250 OK"
        ]
    );
    assert_eq!(sink.messages()[0].data, b"line 1\n.line 2\nlone\rcr\n");

    // Pipelined commands, one write, replies in order.
    let sink = memory();
    let mut m = Mini::new(sink.clone());
    let replies = m.quiet(b"EHLO x\r\nMAIL FROM:<a@x> SIZE=10\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@y>\r\nDATA\r\nhi\r\n.\r\nRSET\r\nNOOP\r\n");
    assert_eq!(replies.len(), 8, "{replies:?}");
    assert_eq!(
        &replies[1..],
        [
            "250 OK",
            "250 OK",
            "250 OK",
            "354 End data with <CR><LF>.<CR><LF>",
            "250 OK",
            "250 OK",
            "250 OK"
        ]
    );
    assert_eq!(sink.messages()[0].rcpt_tos, ["b@y", "c@y"]);
}

// SMTP smuggling: only <CRLF>.<CRLF> ends the data. A dot line next to a
// bare LF ("\n.\n", "\r\n.\n", "\n.\r\n") is message content, so the
// commands after it are content too and no second message is stored (as
// with smtpd 3.11 and aiosmtpd >= 1.4.5).
#[test]
fn only_crlf_dot_crlf_ends_the_data() {
    for (name, fake_end, content) in [
        ("LF.LF", &b"\n.\n"[..], &b"hello\n\n"[..]),
        ("CRLF.LF", b"\r\n.\n", b"hello\n\n"),
        ("LF.CRLF", b"\n.\r\n", b"hello\n\n"),
    ] {
        let sink = memory();
        let mut m = Mini::new(sink.clone());
        m.dialog(&HELO_MAIL_RCPT_DATA);
        let mut data = b"hello".to_vec();
        data.extend_from_slice(fake_end);
        data.extend_from_slice(b"MAIL FROM:<smuggled@evil>\r\nRCPT TO:<v@x>\r\nDATA\r\n");
        data.extend_from_slice(b"Subject: smuggled\r\n\r\nx\r\n.\r\n");
        let replies = m.quiet(&data);
        assert_eq!(replies, ["250 OK"], "{name}: one message, one reply");
        let messages = sink.messages();
        assert_eq!(messages.len(), 1, "{name}");
        assert_eq!(messages[0].mail_from, "eggs@example", "{name}");
        let mut want = content.to_vec();
        want.extend_from_slice(
            b"MAIL FROM:<smuggled@evil>\nRCPT TO:<v@x>\nDATA\nSubject: smuggled\n\nx\n",
        );
        assert_eq!(
            String::from_utf8_lossy(&messages[0].data),
            String::from_utf8_lossy(&want),
            "{name}"
        );
    }
}

// ---- python3 -m smtpd (3.11) as the oracle ------------------------------------------

/// CPython 3.11's smtpd `DebuggingServer` (`python3 -m smtpd -n -c
/// DebuggingServer -u -s SIZE`, through `tests/py/smtpd_oracle.py`) on
/// 127.0.0.1 port 0: the address is the one it prints once it listens.
/// Killed on drop.
fn python_smtpd(size: usize) -> (Proc, SocketAddr) {
    let mut p = Proc::spawn(
        Command::new("python3")
            .args(["-W", "ignore"])
            .arg(py_helper("smtpd_oracle.py"))
            .arg(size.to_string())
            .stdin(Stdio::null()),
    );
    let addr = p.listening_addr("python smtpd", Duration::from_secs(15));
    (p, addr)
}

fn python_fqdn() -> String {
    let out = Proc::spawn(
        Command::new("python3")
            .args(["-c", "import socket; print(socket.getfqdn())"])
            .stdin(Stdio::null()),
    )
    .output(Duration::from_secs(30));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// One step: bytes to send, replies ours gives, and (for documented fixes)
/// python's replies when they differ.
#[derive(Clone)]
struct Step {
    send: Vec<u8>,
    ours: usize,
    fix: Option<(&'static str, &'static str)>,
}

fn step(line: &str) -> Step {
    Step {
        send: format!("{line}\r\n").into_bytes(),
        ours: 1,
        fix: None,
    }
}
fn raw(bytes: &[u8], ours: usize) -> Step {
    Step {
        send: bytes.to_vec(),
        ours,
        fix: None,
    }
}
fn fixed(mut s: Step, python: &'static str, ours: &'static str) -> Step {
    s.fix = Some((python, ours));
    s
}

/// Runs `steps` on a fresh connection; the replies of each step joined with ` | `.
fn run_dialog(addr: SocketAddr, steps: &[Step], patience: Duration) -> Vec<String> {
    let mut c = Client::connect(addr);
    let hello = c.reply();
    assert!(hello.starts_with("220 "), "{hello}");
    c.timeout(patience);
    steps
        .iter()
        .map(|s| {
            c.send(&s.send);
            let mut got = Vec::new();
            for _ in 0..s.ours {
                let r = c.reply();
                let end = r == "(no reply)" || r == "(closed)";
                got.push(r);
                if end {
                    break;
                }
            }
            got.join(" | ")
        })
        .collect()
}

/// EHLO: ours adds PIPELINING.
fn ehlo() -> Step {
    fixed(
        step("EHLO example"),
        "250-FQDN\n250-SIZE 33554432\n250-8BITMIME\n250-SMTPUTF8\n250 HELP",
        "250-FQDN\n250-SIZE 33554432\n250-8BITMIME\n250-SMTPUTF8\n250-PIPELINING\n250 HELP",
    )
}

fn dialogs(fqdn: &str) -> Vec<(&'static str, Vec<Step>)> {
    let _ = fqdn;
    let mail = || {
        vec![
            step("HELO example"),
            step("MAIL From:eggs@example"),
            step("RCPT To:spam@example"),
            step("DATA"),
        ]
    };
    let long_vrfy = |n: usize| step(&format!("VRFY {}", "a".repeat(n - 5)));
    vec![
        (
            "data dialog",
            [mail(), vec![raw(b"data\r\nmore\r\n.\r\n", 1), step("QUIT")]].concat(),
        ),
        (
            "transparency",
            [mail(), vec![raw(b"..\r\n.x\r\n.\r\n", 1), step("NOOP")]].concat(),
        ),
        (
            "ehlo",
            vec![
                ehlo(),
                step("EHLO example"),
                step("HELO example"),
                step("HELP MAIL"),
                step("HELP RCPT"),
                step("MAIL FROM:<eggs@example> SIZE=abc"),
                step("MAIL FROM:<eggs@example> SIZE=40000000"),
                step("MAIL FROM:<eggs@example> BODY=9BIT"),
                step("MAIL FROM:<eggs@example> SMTPUTF8=1"),
                step("MAIL FROM:<eggs@example> FOO=1"),
                step("MAIL FROM: <eggs@example> SIZE=100 BODY=8BITMIME SMTPUTF8"),
                step("RCPT TO:<spam@example> FOO"),
                step("RCPT TO:<spam@example>"),
                step("RSET"),
            ],
        ),
        (
            "helo and state",
            vec![
                step("MAIL FROM:<a@b>"),
                step("RCPT TO:<a@b>"),
                step("DATA"),
                step("HELO"),
                step("EHLO"),
                step("HELO example"),
                step("HELO again"),
                step("RCPT TO:<a@b>"),
                step("DATA"),
                step("MAIL FROM:<a@b> SIZE=5"),
                step("MAIL"),
                step("MAIL FROM"),
                step("MAIL FROM:"),
                step("MAIL TO:<a@b>"),
                step("MAIL FROM:<a@b>"),
                step("MAIL FROM:<c@d>"),
                step("DATA"),
                step("RCPT"),
                step("RCPT TO:<c@d> X=1"),
                step("RCPT TO:<c@d>"),
                step("DATA x"),
                step("RSET x"),
                step("RSET"),
                step("DATA"),
            ],
        ),
        (
            "misc",
            vec![
                step("NOOP"),
                step("NOOP x"),
                step("VRFY"),
                step("VRFY <eggs@example>"),
                step("VRFY eggs"),
                step("EXPN list"),
                step("HELP"),
                step("HELP quit"),
                step("HELP spam"),
                step("spam eggs"),
                step("noop"),
                raw(b"\r\n", 1),
                raw(b" NOOP\r\n", 1),
                step("QUIT now"),
            ],
        ),
        (
            "limits",
            vec![
                step("HELO example"),
                raw(
                    &[b"MAIL from: ", &[b'a'; 512][..], b"@example\r\n"].concat(),
                    1,
                ),
                long_vrfy(510),
                fixed(
                    long_vrfy(511),
                    "252 Cannot VRFY user, but will accept message and attempt delivery",
                    "500 Error: line too long",
                ),
                fixed(
                    long_vrfy(512),
                    "252 Cannot VRFY user, but will accept message and attempt delivery",
                    "500 Error: line too long",
                ),
                long_vrfy(513),
                step("NOOP"),
            ],
        ),
        (
            "empty message",
            [
                mail(),
                vec![fixed(raw(b".\r\n", 1), "(no reply)", "250 OK")],
            ]
            .concat(),
        ),
        (
            "bare LF",
            vec![fixed(
                raw(b"HELO x\nNOOP\r\n", 2),
                "250 FQDN | (no reply)",
                "250 FQDN | 250 OK",
            )],
        ),
        (
            "rcpt null path",
            vec![
                step("HELO x"),
                step("MAIL FROM:<>"),
                fixed(
                    step("RCPT TO:<>"),
                    "250 OK",
                    "501 Syntax: RCPT TO: <address>",
                ),
            ],
        ),
        (
            "unknown command with NUL",
            vec![fixed(
                raw(b"\x00\x00\r\n", 1),
                "500 Error: command \"\u{0}\u{0}\" not recognized",
                "500 Error: command \"??\" not recognized",
            )],
        ),
        (
            "invalid UTF-8",
            vec![fixed(raw(b"HELO \xff\r\n", 1), "(closed)", "250 FQDN")],
        ),
        (
            "address parser crash",
            vec![
                step("HELO x"),
                fixed(
                    step("MAIL FROM:@example"),
                    "(closed)",
                    "501 Syntax: MAIL FROM: <address>",
                ),
            ],
        ),
        (
            "SIZE without value",
            vec![
                ehlo(),
                fixed(
                    step("MAIL FROM:<a@b> SIZE"),
                    "(closed)",
                    "501 Syntax: MAIL FROM: <address> [SP <mail-parameters>]",
                ),
            ],
        ),
    ]
}

/// Scripted dialogues against `python3 -m smtpd` 3.11 and against ours:
/// the same replies, except the documented fixes (the table in the module
/// docs), which are asserted on both sides. The greeting's product name
/// differs by design; the host name is the same (`--hostname` = python's FQDN).
#[test]
fn oracle_dialogues_match_python_smtpd() {
    let fqdn = python_fqdn();
    let (_py, py_addr) = python_smtpd(33_554_432);
    let ours = start(Options {
        hostname: Some(fqdn.clone()),
        ..opts()
    });
    let mut compared = 0;
    for (name, steps) in dialogs(&fqdn) {
        let py = run_dialog(py_addr, &steps, Duration::from_millis(700));
        let us = run_dialog(ours.addr, &steps, Duration::from_secs(5));
        for (k, s) in steps.iter().enumerate() {
            let what = format!("{name}, step {k} ({:?})", String::from_utf8_lossy(&s.send));
            match s.fix {
                None => assert_eq!(us[k], py[k], "{what}: ours vs python"),
                Some((p, o)) => {
                    assert_eq!(py[k], p.replace("FQDN", &fqdn), "{what}: python (the bug)");
                    assert_eq!(us[k], o.replace("FQDN", &fqdn), "{what}: ours (the fix)");
                }
            }
            compared += 1;
        }
    }
    assert!(compared > 60);
    ours.remote.stop().expect("the server loop is running");
    ours.thread.join().expect("thread").expect("serve");
}

/// Fixes shown on both servers: smtpd 3.11 shared the MAIL length limit
/// between connections (a new connection reset it), and stayed in the DATA
/// state after 552.
#[test]
fn oracle_per_connection_limit_and_552() {
    let (_py, py_addr) = python_smtpd(1024);
    let ours = start(Options {
        max_size: 1024,
        ..opts()
    });
    // 538 octets: within ours (548 with CRLF after EHLO), over python's 512
    // once another connection has reset the shared limit.
    let long_mail = format!("MAIL FROM:<{}@example> SIZE=10", "a".repeat(510));
    for (addr, is_python) in [(py_addr, true), (ours.addr, false)] {
        let mut a = Client::connect(addr);
        a.reply();
        assert!(a.cmd("EHLO a").ends_with("250 HELP"));
        let mut b = Client::connect(addr);
        b.reply();
        let r = a.cmd(&long_mail);
        if is_python {
            assert_eq!(
                r, "500 Error: line too long",
                "python: B's connection reset A's limit"
            );
        } else {
            assert_eq!(r, "250 OK");
        }
        // 552 and then?
        let mut c = Client::connect(addr);
        c.reply();
        c.timeout(Duration::from_millis(700));
        c.cmd("HELO x");
        c.cmd("MAIL FROM:<a@b>");
        c.cmd("RCPT TO:<c@d>");
        assert!(c.cmd("DATA").starts_with("354"));
        c.send(&[&[b'x'; 2000][..], b"\r\n.\r\n"].concat());
        assert_eq!(c.reply(), "552 Error: Too much mail data");
        let after = c.cmd("NOOP");
        if is_python {
            assert_eq!(after, "(no reply)", "python: still in DATA");
        } else {
            assert_eq!(after, "250 OK");
        }
    }
    ours.remote.stop().expect("the server loop is running");
    ours.thread.join().expect("thread").expect("serve");
}

// ---- real clients -------------------------------------------------------------------

fn py_helper(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(name)
}

fn stored(maildir: &Path) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(maildir.join("new"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .collect()
}

/// Strips the three envelope headers.
fn content(file: &[u8]) -> &[u8] {
    let mut rest = file;
    for _ in 0..3 {
        let nl = rest.iter().position(|&b| b == b'\n').expect("header");
        rest = &rest[nl + 1..];
    }
    rest
}

/// Python's smtplib: 6 connections × 50 messages plus one of 10 MiB, with
/// dot-leading lines, 8-bit and UTF-8 content and addresses; every stored
/// message compared byte for byte (CRLF stored as LF) by the helper.
#[test]
fn smtplib_many_messages_concurrently() {
    let options = opts();
    let dir = options.maildir.clone().expect("maildir");
    let server = start(options);
    let out = Proc::spawn(
        Command::new("python3")
            .arg(py_helper("smtplib_load.py"))
            .args(["127.0.0.1", &server.addr.port().to_string()])
            .arg(&dir)
            .args(["6", "50"])
            .stdin(Stdio::null()),
    )
    .output(Duration::from_secs(120));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        report.contains("\"sent\": 301, \"stored\": 301"),
        "{report}"
    );
    assert_eq!(stored(&dir).len(), 301);
    server.remote.stop().expect("the server loop is running");
    server.thread.join().expect("thread").expect("serve");
    let _ = std::fs::remove_dir_all(dir);
}

/// `curl smtp://` uploads a file (CRLF lines, a dot-leading line).
#[test]
fn curl_sends_a_message() {
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("curl not installed: skipped");
        return;
    }
    let options = opts();
    let dir = options.maildir.clone().expect("maildir");
    let server = start(options);
    let file = dir.join("upload.eml");
    let body = b"Subject: from curl\r\nTo: b@y\r\n\r\n.a line with a leading dot\r\n..two\r\nUTF-8: \xc5\xbc\xc3\xb3\xc5\x82w\r\n";
    std::fs::write(&file, body).expect("write");
    let out = Proc::spawn(
        Command::new("curl")
            .args(["-sS", "--max-time", "20"])
            .arg(format!("smtp://127.0.0.1:{}", server.addr.port()))
            .args(["--mail-from", "a@x", "--mail-rcpt", "b@y", "-T"])
            .arg(&file)
            .stdin(Stdio::null()),
    )
    .output(Duration::from_secs(30));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files = stored(&dir);
    assert_eq!(files.len(), 1);
    assert!(files[0].starts_with(b"X-Peer: 127.0.0.1\nX-MailFrom: a@x\nX-RcptTo: b@y\n"));
    assert_eq!(
        content(&files[0]),
        &body
            .to_vec()
            .iter()
            .copied()
            .filter(|&b| b != b'\r')
            .collect::<Vec<_>>()[..]
    );
    server.remote.stop().expect("the server loop is running");
    server.thread.join().expect("thread").expect("serve");
    let _ = std::fs::remove_dir_all(dir);
}

/// A raw client pipelines whole transactions in one write.
#[test]
fn raw_pipelining_client() {
    let options = opts();
    let dir = options.maildir.clone().expect("maildir");
    let server = start(options);
    let mut c = Client::connect(server.addr);
    c.reply();
    let mut all = b"EHLO pipe\r\n".to_vec();
    for k in 0..20 {
        all.extend_from_slice(
            format!(
                "MAIL FROM:<a{k}@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nSubject: {k}\r\n\r\n.{k}\r\n.\r\n"
            )
            .as_bytes(),
        );
    }
    all.extend_from_slice(b"QUIT\r\n");
    c.send(&all);
    let mut replies = Vec::new();
    loop {
        let r = c.reply();
        if r == "(closed)" || r == "(no reply)" {
            break;
        }
        replies.push(r);
    }
    assert_eq!(replies.len(), 1 + 20 * 4 + 1, "{replies:?}");
    assert_eq!(replies.last().map(String::as_str), Some("221 Bye"));
    let files = stored(&dir);
    assert_eq!(files.len(), 20);
    server.remote.stop().expect("the server loop is running");
    server.thread.join().expect("thread").expect("serve");
    let _ = std::fs::remove_dir_all(dir);
}

// ---- bad input, limits, timeouts, shutdown (the binary) ---------------------------

/// The `asyncore` binary running `smtpd` on 127.0.0.1 port 0 (its address
/// from its first line), killed on drop.
fn binary(args: &[&str]) -> Proc {
    let mut all = vec!["-q", "smtpd", "--listen", "127.0.0.1:0", "--hostname", HOST];
    all.extend_from_slice(args);
    Proc::serve("smtpd", &all)
}

fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A 100 MB line without CRLF: 500, memory flat, the session goes on, and
/// another session is served meanwhile. NUL bytes and garbage get replies.
#[test]
fn bad_input_huge_line_nul_garbage() {
    let dir = tempdir("bad");
    let b = binary(&["--maildir", dir.to_str().expect("path")]);
    let pid = b.id();
    let mut c = Client::connect(b.addr());
    c.reply();
    assert_eq!(c.cmd("HELO x"), "250 smtp.test");
    let before = vm_hwm_kib(pid);
    let chunk = vec![b'x'; 1 << 20];
    let mut other = Client::connect(b.addr());
    assert!(other.reply().starts_with("220 "));
    for k in 0..100 {
        c.send(&chunk);
        if k == 50 {
            // Meanwhile another session is served promptly.
            let t = Instant::now();
            assert_eq!(other.cmd("NOOP"), "250 OK");
            assert!(t.elapsed() < Duration::from_secs(2));
        }
    }
    c.send(b"\r\n");
    assert_eq!(c.reply(), "500 Error: line too long");
    assert_eq!(c.cmd("NOOP"), "250 OK");
    let after = vm_hwm_kib(pid);
    assert!(
        after < before + 16 * 1024,
        "peak RSS grew from {before} KiB to {after} KiB"
    );

    // NUL bytes and garbage.
    assert_eq!(c.cmd("\0\0\0"), "500 Error: command \"???\" not recognized");
    assert_eq!(
        c.cmd("NOOP\0"),
        "500 Error: command \"NOOP?\" not recognized"
    );
    c.send(b"\xff\xfe\xfd garbage \x01\x02\r\n");
    assert!(c.reply().starts_with("500 Error: command \""));
    c.send(b"MAIL FROM:<\0@x>\r\n");
    assert_eq!(c.reply(), "501 Syntax: MAIL FROM: <address>");
    // A long line in DATA: over --max-size, dropped as it arrives.
    assert_eq!(c.cmd("MAIL FROM:<a@b>"), "250 OK");
    assert_eq!(c.cmd("RCPT TO:<c@d>"), "250 OK");
    assert!(c.cmd("DATA").starts_with("354"));
    for _ in 0..40 {
        c.send(&chunk);
    }
    c.send(b"\r\n.\r\n");
    assert_eq!(c.reply(), "552 Error: Too much mail data");
    assert_eq!(c.cmd("NOOP"), "250 OK");
    assert!(
        vm_hwm_kib(pid) < before + 80 * 1024,
        "bounded by --max-size"
    );
    assert_eq!(c.cmd("QUIT"), "221 Bye");
    assert!(stored(&dir).is_empty());
    let _ = std::fs::remove_dir_all(dir);
}

/// A client that stops mid-DATA gets 421 after `--data-timeout` and the
/// connection closes; nothing is stored; an idle client gets 421 after
/// `--command-timeout`; other sessions are unaffected.
#[test]
fn timeouts_mid_data_and_idle() {
    let options = Options {
        data_timeout: Duration::from_millis(300),
        command_timeout: Duration::from_millis(1500),
        ..opts()
    };
    let dir = options.maildir.clone().expect("maildir");
    let server = start(options);
    let mut stalled = Client::connect(server.addr);
    stalled.reply();
    stalled.cmd("HELO x");
    stalled.cmd("MAIL FROM:<a@b>");
    stalled.cmd("RCPT TO:<c@d>");
    assert!(stalled.cmd("DATA").starts_with("354"));
    stalled.send(b"Subject: half\r\n\r\nhalf a mess");
    let t = Instant::now();
    let mut busy = Client::connect(server.addr);
    busy.reply();
    for _ in 0..5 {
        assert_eq!(busy.cmd("NOOP"), "250 OK");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(stalled.reply(), "421 smtp.test Error: timeout exceeded");
    assert_eq!(stalled.reply(), "(closed)");
    assert!(t.elapsed() < Duration::from_millis(1400));
    // The idle one.
    let t = Instant::now();
    assert_eq!(busy.reply(), "421 smtp.test Error: timeout exceeded");
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "idle 1.5 s after the last NOOP"
    );
    assert!(stored(&dir).is_empty());
    server.remote.stop().expect("the server loop is running");
    server.thread.join().expect("thread").expect("serve");
    let _ = std::fs::remove_dir_all(dir);
}

/// Past `--max-connections`, newcomers get one 421 line and are closed;
/// when a session ends, a place is free again.
#[test]
fn max_connections_421() {
    let server = start(Options {
        max_connections: Some(2),
        ..opts()
    });
    let mut a = Client::connect(server.addr);
    let mut b = Client::connect(server.addr);
    assert!(a.reply().starts_with("220 "));
    assert!(b.reply().starts_with("220 "));
    let mut c = Client::connect(server.addr);
    assert_eq!(
        c.reply(),
        "421 smtp.test Too many connections, try again later"
    );
    assert_eq!(c.reply(), "(closed)");
    assert_eq!(a.cmd("QUIT"), "221 Bye");
    assert_eq!(a.reply(), "(closed)");
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let mut d = Client::connect(server.addr);
        let hello = d.reply();
        if hello.starts_with("220 ") {
            break;
        }
        assert!(Instant::now() < until, "no place freed: {hello}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(b.cmd("NOOP"), "250 OK");
    server.remote.stop().expect("the server loop is running");
    server.thread.join().expect("thread").expect("serve");
}

/// SIGTERM: an idle session gets 421 at once; a session in the middle of
/// DATA finishes, gets its 250 (the message is on disk), then 421 at its
/// next command; the process exits 0 within the grace period.
/// A session at `addr` past `354`: its message data comes next.
fn in_data(addr: SocketAddr) -> Client {
    let mut c = Client::connect(addr);
    c.reply();
    c.cmd("EHLO x");
    c.cmd("MAIL FROM:<a@b>");
    c.cmd("RCPT TO:<c@d>");
    assert!(c.cmd("DATA").starts_with("354"));
    c
}

#[test]
fn sigterm_finishes_sessions_in_flight() {
    let dir = tempdir("term");
    let mut b = binary(&[
        "--maildir",
        dir.to_str().expect("path"),
        "--shutdown-grace",
        "10",
    ]);
    let mut idle = Client::connect(b.addr());
    idle.reply();
    let mut busy = in_data(b.addr());
    busy.send(b"Subject: in flight\r\n\r\nfirst half\r\n");
    std::thread::sleep(Duration::from_millis(100));
    b.terminate();
    assert_eq!(
        idle.reply(),
        "421 smtp.test Service shutting down, closing transmission channel"
    );
    assert_eq!(idle.reply(), "(closed)");
    std::thread::sleep(Duration::from_millis(200));
    // New connections are no longer accepted.
    assert!(
        TcpStream::connect_timeout(&b.addr(), Duration::from_millis(500)).map_or(true, |s| {
            let mut probe = Client {
                r: BufReader::new(s.try_clone().expect("clone")),
                w: s,
            };
            probe.timeout(Duration::from_millis(500));
            !probe.reply().starts_with("220")
        })
    );
    busy.send(b"second half\r\n.\r\n");
    assert_eq!(busy.reply(), "250 OK");
    // The 421 comes at once, not at a next command that may never come.
    assert_eq!(
        busy.reply(),
        "421 smtp.test Service shutting down, closing transmission channel"
    );
    assert_eq!(busy.reply(), "(closed)");
    let files = stored(&dir);
    assert_eq!(files.len(), 1);
    assert_eq!(
        content(&files[0]),
        b"Subject: in flight\n\nfirst half\nsecond half\n"
    );
    let status = b.wait(Duration::from_secs(10));
    assert!(status.success(), "{status}");
    let _ = std::fs::remove_dir_all(dir);
}

/// A second SIGINT or SIGTERM during the grace ends it at once, as
/// operators expect of Ctrl-C pressed twice: a session stalled mid-DATA
/// no longer holds the process for the rest of a 30 s grace.
#[test]
fn a_second_signal_ends_the_grace_at_once() {
    let dir = tempdir("second");
    let mut b = binary(&[
        "--maildir",
        dir.to_str().expect("path"),
        "--shutdown-grace",
        "30",
    ]);
    let mut stalled = in_data(b.addr());
    stalled.send(b"Subject: never finished\r\n\r\n");
    std::thread::sleep(Duration::from_millis(100));
    b.terminate();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        b.try_wait().is_none(),
        "the first signal waits for the session"
    );
    let second = Instant::now();
    b.signal(libc::SIGINT);
    let status = b.wait(Duration::from_secs(10));
    assert!(status.success(), "{status}");
    assert!(
        second.elapsed() < Duration::from_secs(3),
        "took {:?}",
        second.elapsed()
    );
    assert!(stored(&dir).is_empty());
    let _ = std::fs::remove_dir_all(dir);
}

/// `--print` writes the DebuggingServer dump to stdout, with the envelope:
/// every recipient shows, Bcc ones too.
#[test]
fn print_to_stdout() {
    let mut b = binary(&["--print"]);
    let mut c = Client::connect(b.addr());
    c.reply();
    c.cmd("HELO x");
    c.cmd("MAIL FROM:<a@b>");
    c.cmd("RCPT TO:<c@d>");
    c.cmd("RCPT TO:<hidden@bcc.example>");
    c.cmd("DATA");
    assert_eq!(c.cmd("Subject: hi\r\nTo: c@d\r\n\r\n..body\r\n."), "250 OK");
    let mut lines = Vec::new();
    for _ in 0..9 {
        lines.push(b.line(Duration::from_secs(10)).expect("line") + "\n");
    }
    assert_eq!(
        lines.concat(),
        "---------- MESSAGE FOLLOWS ----------\nSubject: hi\nTo: c@d\nX-Peer: 127.0.0.1\n\
         X-MailFrom: a@b\nX-RcptTo: c@d, hidden@bcc.example\n\n.body\n------------ END MESSAGE ------------\n"
    );
}

// ---- the mail catcher: AUTH, the log line ------------------------------------------

/// smtplib's `login()`, and each mechanism forced with `auth()`, against
/// the binary with `--auth-any`.
#[test]
fn auth_any_accepts_smtplib_login_with_plain_and_login() {
    let dir = tempdir("auth");
    let b = binary(&["--auth-any", "--maildir", dir.to_str().expect("utf-8")]);
    let out = Proc::spawn(
        Command::new("python3")
            .arg(py_helper("smtplib_auth.py"))
            .args(["127.0.0.1", &b.addr().port().to_string()])
            .stdin(Stdio::null()),
    )
    .output(Duration::from_secs(60));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        report.lines().collect::<Vec<_>>(),
        [
            "ok login",
            "ok PLAIN initial=True",
            "ok PLAIN initial=False",
            "ok LOGIN initial=True",
            "ok LOGIN initial=False"
        ]
    );
    assert_eq!(stored(&dir).len(), 5);
    let _ = std::fs::remove_dir_all(dir);
}

/// Without `--auth-any`, AUTH is neither advertised nor accepted.
#[test]
fn auth_is_refused_without_auth_any() {
    let b = binary(&[]);
    let script = "import smtplib, sys\n\
                  s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=10)\n\
                  try:\n    s.login('u', 'p')\nexcept smtplib.SMTPNotSupportedError:\n    print('refused')\n";
    let out = Proc::spawn(
        Command::new("python3")
            .args(["-c", script, &b.addr().port().to_string()])
            .stdin(Stdio::null()),
    )
    .output(Duration::from_secs(30));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "refused\n");
    let mut c = Client::connect(b.addr());
    c.reply();
    let ehlo = c.cmd("EHLO x");
    assert!(!ehlo.contains("AUTH"), "{ehlo}");
    assert_eq!(
        c.cmd("AUTH PLAIN AHUAcA=="),
        "502 5.5.1 Error: authentication not enabled"
    );
}

/// RFC 4954's replies, step by step.
#[test]
fn auth_replies_follow_rfc_4954() {
    let server = start(Options {
        auth_any: true,
        ..opts()
    });
    let mut c = Client::connect(server.addr);
    c.reply();
    assert_eq!(
        c.cmd("AUTH PLAIN AHUAcA=="),
        "503 5.5.1 Error: send EHLO first"
    );
    assert!(c.cmd("EHLO x").contains("\n250-AUTH PLAIN LOGIN\n250 HELP"));
    assert_eq!(
        c.cmd("AUTH"),
        "501 5.5.2 Syntax: AUTH mechanism [initial-response]"
    );
    assert_eq!(
        c.cmd("AUTH CRAM-MD5"),
        "504 5.5.4 Unrecognized authentication type"
    );
    assert_eq!(
        c.cmd("AUTH PLAIN not*base64"),
        "501 5.5.2 Cannot decode response"
    );
    // Base64 of "no NULs": not authzid NUL user NUL password.
    assert_eq!(
        c.cmd("AUTH PLAIN bm8gTlVMcw=="),
        "535 5.7.8 Authentication credentials invalid"
    );
    assert_eq!(c.cmd("AUTH PLAIN"), "334 ");
    assert_eq!(c.cmd("*"), "501 5.7.0 Authentication aborted");
    assert_eq!(c.cmd("AUTH LOGIN"), "334 VXNlcm5hbWU6");
    assert_eq!(c.cmd("dXNlcg=="), "334 UGFzc3dvcmQ6");
    assert_eq!(c.cmd("*"), "501 5.7.0 Authentication aborted");
    assert_eq!(c.cmd("NOOP"), "250 OK");
    assert_eq!(c.cmd("MAIL FROM:<a@b>"), "250 OK");
    assert_eq!(
        c.cmd("AUTH PLAIN AHUAcA=="),
        "503 5.5.1 Error: AUTH not permitted during a mail transaction"
    );
    assert_eq!(c.cmd("RSET"), "250 OK");
    assert_eq!(c.cmd("AUTH login dXNlcg=="), "334 UGFzc3dvcmQ6");
    assert_eq!(c.cmd("cA=="), "235 2.7.0 Authentication successful");
    assert_eq!(
        c.cmd("AUTH PLAIN AHUAcA=="),
        "503 5.5.1 Error: already authenticated"
    );
    assert_eq!(c.cmd("QUIT"), "221 Bye");
    server.remote.stop().expect("the server loop is running");
    server.thread.join().expect("thread").expect("serve");
}

/// One log line per stored message, its encoded Subject decoded (B and Q,
/// UTF-8 and Latin-1), every recipient listed.
#[test]
fn log_line_per_message_with_the_subject_decoded() {
    let dir = tempdir("log");
    let dir_arg = dir.to_str().expect("utf-8").to_string();
    let b = Proc::serve(
        "smtpd",
        &[
            "smtpd",
            "--listen",
            "127.0.0.1:0",
            "--hostname",
            HOST,
            "--maildir",
            &dir_arg,
        ],
    );
    let mut c = Client::connect(b.addr());
    c.reply();
    c.cmd("EHLO x");
    let subjects = [
        "=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=",
        "=?ISO-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?=",
        "=?utf-8?q?Gr=C3=BC=C3=9Fe?= =?iso-8859-1?b?IGF1cyBL9mxu?=",
    ];
    for subject in subjects {
        c.cmd("MAIL FROM:<app@example>");
        c.cmd("RCPT TO:<dev@example>");
        c.cmd("RCPT TO:<bcc@example>");
        c.cmd("DATA");
        let data = format!("Subject: {subject}\r\nTo: dev@example\r\n\r\nhello\r\n.");
        assert_eq!(c.cmd(&data), "250 OK");
    }
    c.cmd("MAIL FROM:<>");
    c.cmd("RCPT TO:<dev@example>");
    c.cmd("DATA");
    assert_eq!(c.cmd("X: y\r\n\r\nno subject here\r\n."), "250 OK");
    c.cmd("QUIT");
    b.terminate();
    let out = b.output(Duration::from_secs(20));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stored(&dir).len(), 4);
    let logged: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("smtpd: message "))
        .collect();
    assert_eq!(logged.len(), 4, "{err}");
    for (i, line) in logged[..3].iter().enumerate() {
        // The size is the message as stored: LF line ends.
        let size = format!("Subject: {}\nTo: dev@example\n\nhello\n", subjects[i]).len();
        let want = format!(
            "smtpd: message {} from app@example to dev@example, bcc@example, {size} bytes, ",
            i + 1
        );
        assert!(line.contains(&want), "{line}");
        assert!(
            line.ends_with(" bytes, subject \"Grüße aus Köln\""),
            "{line}"
        );
    }
    assert!(
        logged[3].contains("message 4 from <> to dev@example, "),
        "{}",
        logged[3]
    );
    assert!(logged[3].ends_with(", no subject"), "{}", logged[3]);
    let _ = std::fs::remove_dir_all(dir);
}
