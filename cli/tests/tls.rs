//! TLS in the apps, against real peers: `asyncore get https://` with
//! CPython's http.server wrapped in ssl and `openssl s_server -www`;
//! `asyncore echo --tls-cert` with `openssl s_client` (TLS 1.2 and 1.3, key
//! update, renegotiation refused); `asyncore smtpd --tls-cert` with
//! `openssl s_client -starttls smtp`, curl and Python's smtplib. Test
//! certificates are made with openssl for each test.

mod common;

use asyncore_cli::get::exit;
use common::{make_certs, Proc, TestCerts, WAIT};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn py_script(name: &str) -> String {
    format!("{}/tests/py/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// CPython's https server with `certs`; its port.
fn https_server(certs: &TestCerts) -> (Proc, u16) {
    let mut p = Proc::spawn(
        Command::new("python3")
            .args([
                "-W",
                "ignore",
                &py_script("https_server.py"),
                &certs.cert,
                &certs.key,
            ])
            .stdin(Stdio::null()),
    );
    let line = p.line(WAIT).expect("port line");
    let port = line
        .trim()
        .strip_prefix("port ")
        .expect("port N")
        .parse()
        .expect("port");
    (p, port)
}

/// `python3 -c script args...`, which must succeed (within [`WAIT`]): its stdout.
fn python_script(script: &str, args: &[&str]) -> String {
    let out = Proc::spawn(
        Command::new("python3")
            .args(["-c", script])
            .args(args)
            .stdin(Stdio::null()),
    )
    .output(WAIT);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text} {}", stderr_text(&out));
    text
}

fn stderr_text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_fails(out: &Output, code: u8, what: &str) {
    let err = stderr_text(out);
    assert_eq!(out.status.code(), Some(i32::from(code)), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains(what), "{err:?} lacks {what:?}");
}

const BODY_LINE: &str = "hello over https\n";

#[test]
fn get_https_with_content_length() {
    let certs = make_certs("localhost");
    let (_server, port) = https_server(&certs);
    for backend in ["select", "poll", "epoll"] {
        let url = format!("https://localhost:{port}/length");
        let out = common::run(&["--backend", backend, "get", &url, "--cacert", &certs.ca]);
        assert!(out.status.success(), "{backend}: {}", stderr_text(&out));
        assert_eq!(String::from_utf8_lossy(&out.stdout), BODY_LINE.repeat(100));
    }
}

#[test]
fn get_https_close_delimited_needs_close_notify() {
    let certs = make_certs("localhost");
    let (_server, port) = https_server(&certs);
    let clean = format!("https://localhost:{port}/clean");
    let out = common::run(&["get", &clean, "--cacert", &certs.ca]);
    assert!(out.status.success(), "{}", stderr_text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), BODY_LINE.repeat(100));
    let ragged = format!("https://localhost:{port}/ragged");
    let out = common::run(&["get", &ragged, "--cacert", &certs.ca]);
    assert_fails(&out, exit::BAD_RESPONSE, "truncated");
}

#[test]
fn get_https_refuses_an_unknown_ca_and_a_wrong_name() {
    let certs = make_certs("localhost");
    let (_server, port) = https_server(&certs);
    let url = format!("https://localhost:{port}/length");
    // The built-in roots do not know the test CA.
    let out = common::run(&["get", &url]);
    assert_fails(&out, exit::CERTIFICATE, "certificate error");
    // In words, with the hint that fits: the issuer is unknown.
    assert_fails(
        &out,
        exit::CERTIFICATE,
        "issued by a CA that is not trusted",
    );
    assert_fails(&out, exit::CERTIFICATE, "--cacert FILE");
    assert!(out.stdout.is_empty());
    // --insecure skips the check.
    let out = common::run(&["get", &url, "--insecure"]);
    assert!(out.status.success(), "{}", stderr_text(&out));
    // A certificate for another name.
    let other = make_certs("other.example");
    let (_server, port) = https_server(&other);
    let url = format!("https://localhost:{port}/length");
    let out = common::run(&["get", &url, "--cacert", &other.ca]);
    assert_fails(&out, exit::CERTIFICATE, "certificate error");
    assert_fails(&out, exit::CERTIFICATE, "not valid for name \"localhost\"");
    // --cacert would not help here: the hint does not say it.
    let err = stderr_text(&out);
    assert!(!err.contains("--cacert"), "{err}");
}

#[test]
fn get_https_from_openssl_s_server() {
    let certs = make_certs("localhost");
    let (_server, port) = openssl_s_server(&certs, &["-www"]);
    let url = format!("https://localhost:{port}/");
    let out = common::run(&["get", &url, "--cacert", &certs.ca]);
    assert!(out.status.success(), "{}", stderr_text(&out));
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains("s_server"), "{page}");
}

/// `openssl s_server` on 127.0.0.1 port 0 with `certs` and `args`; its port
/// (from its `ACCEPT 127.0.0.1:PORT` line).
fn openssl_s_server(certs: &TestCerts, args: &[&str]) -> (Proc, u16) {
    let mut p = Proc::spawn(
        Command::new("openssl")
            .args([
                "s_server",
                "-accept",
                "127.0.0.1:0",
                "-cert",
                &certs.cert,
                "-key",
                &certs.key,
            ])
            .args(args)
            .stdin(Stdio::null()),
    );
    loop {
        let line = p.line(WAIT).expect("s_server says where it listens");
        if let Some(addr) = line.trim().strip_prefix("ACCEPT ") {
            let port = addr
                .rsplit(':')
                .next()
                .expect("port")
                .parse()
                .expect("port");
            return (p, port);
        }
    }
}

/// `openssl s_client` to `port` at `version` (`-tls1_2`/`-tls1_3`), fed
/// `script`'s lines each followed by its pause (a line `k` asks for a key
/// update, `R` for a renegotiation); its stdout and stderr once stdin ends.
fn s_client(port: u16, ca: &str, version: &str, script: &[(&str, u64)]) -> String {
    use std::io::Write;
    let mut p = Proc::spawn(
        Command::new("openssl")
            .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
            .args(["-servername", "localhost", "-CAfile", ca, version])
            .stdin(Stdio::piped()),
    );
    let mut stdin = p.stdin();
    for (line, pause_ms) in script {
        // s_client may be gone (a refused renegotiation ends it).
        let _ = stdin.write_all(format!("{line}\n").as_bytes());
        let _ = stdin.flush();
        std::thread::sleep(Duration::from_millis(*pause_ms));
    }
    drop(stdin);
    let out = p.output(WAIT);
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// CPU (user + system) of process `pid` so far, in clock ticks (1/100 s).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime")
}

fn tls_echo(certs: &TestCerts, backend: &str) -> Proc {
    Proc::serve(
        "echo",
        &[
            "--backend",
            backend,
            "echo",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            &certs.cert,
            "--tls-key",
            &certs.key,
        ],
    )
}

#[test]
fn echo_over_tls_with_openssl_s_client() {
    let certs = make_certs("localhost");
    for backend in ["select", "poll", "epoll"] {
        let server = tls_echo(&certs, backend);
        let port = server.addr().port();
        // TLS 1.3, with a key update in the middle (the server must answer
        // it and go on).
        let out = s_client(
            port,
            &certs.ca,
            "-tls1_3",
            &[("hello", 400), ("k", 400), ("again", 400)],
        );
        assert!(out.contains("New, TLSv1.3, Cipher"), "{backend}: {out}");
        assert!(out.contains("KEYUPDATE"), "{backend}: {out}");
        assert!(
            out.contains("\nhello\n") && out.contains("\nagain\n"),
            "{backend}: {out}"
        );
        // TLS 1.2, then a renegotiation, which rustls refuses: the session
        // ends, and the server goes on serving.
        let out = s_client(
            port,
            &certs.ca,
            "-tls1_2",
            &[("hello12", 400), ("R", 600), ("after", 200)],
        );
        assert!(
            out.contains("New, TLSv1.2, Cipher") && out.contains("\nhello12\n"),
            "{backend}: {out}"
        );
        assert!(out.contains("RENEGOTIATING"), "{backend}: {out}");
        assert!(!out.contains("\nafter\n"), "{backend}: renegotiated? {out}");
        let out = s_client(port, &certs.ca, "-tls1_3", &[("still", 400)]);
        assert!(out.contains("\nstill\n"), "{backend}: {out}");
    }
}

#[test]
fn tls_echo_idles_with_silent_and_half_hello_clients() {
    use std::io::Write;
    let certs = make_certs("localhost");
    let server = tls_echo(&certs, "epoll");
    let addr = server.addr();
    // Connect and send nothing; send half a ClientHello (a TLS record
    // header announcing 512 bytes, and 100 of them).
    let _silent = std::net::TcpStream::connect(addr).expect("connect");
    let mut half = std::net::TcpStream::connect(addr).expect("connect");
    let mut hello = vec![
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ];
    hello.resize(100, 0x42);
    half.write_all(&hello).expect("send");
    std::thread::sleep(Duration::from_millis(200));
    let before = cpu_ticks(server.id());
    std::thread::sleep(Duration::from_secs(3));
    let used = cpu_ticks(server.id()) - before;
    // A busy-loop check, not a speed assertion: under 30% of one CPU.
    assert!(used < 90, "the server spun: {used} ticks in 3 s");
}

/// `asyncore smtpd` with STARTTLS on 127.0.0.1 port 0, storing into `maildir`.
fn tls_smtpd(certs: &TestCerts, maildir: &std::path::Path, backend: &str, extra: &[&str]) -> Proc {
    let mut args = vec![
        "-q",
        "--backend",
        backend,
        "smtpd",
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        &certs.cert,
        "--tls-key",
        &certs.key,
        "--maildir",
        maildir.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    Proc::serve("smtpd", &args)
}

/// `asyncore -q http` over TLS on 127.0.0.1 port 0, serving `root`.
fn tls_http(certs: &TestCerts, root: &std::path::Path, extra: &[&str]) -> Proc {
    let mut args = vec![
        "-q",
        "http",
        "--listen",
        "127.0.0.1:0",
        "--root",
        root.to_str().expect("utf-8"),
        "--tls-cert",
        &certs.cert,
        "--tls-key",
        &certs.key,
    ];
    args.extend_from_slice(extra);
    Proc::serve("http", &args)
}

/// The messages stored in `maildir`, sorted.
fn stored(maildir: &std::path::Path) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(maildir.join("new"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .map(|p| String::from_utf8_lossy(&std::fs::read(p).expect("read")).into_owned())
        .collect()
}

/// Waits (bounded) until `n` messages are stored.
fn wait_stored(maildir: &std::path::Path, n: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let got = stored(maildir);
        if got.len() >= n || std::time::Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

const SMTPLIB_STARTTLS: &str = r#"
import smtplib, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
with smtplib.SMTP("localhost", port, timeout=20) as s:
    s.ehlo()
    assert s.has_extn("starttls"), s.esmtp_features
    code, _ = s.mail("early@example.com")
    print("before", code)
    s.rset()
    s.starttls(context=ctx)
    s.ehlo()
    print("after", s.has_extn("starttls"), s.sock.version())
    s.sendmail("a@example.com", ["b@example.com"], "Subject: smtplib\r\n\r\nover tls\r\n")
print("sent")
"#;

#[test]
fn smtpd_starttls_with_smtplib_curl_and_openssl() {
    let certs = make_certs("localhost");
    for backend in ["select", "poll", "epoll"] {
        let dir = certs.dir.join(format!("mail-{backend}"));
        let server = tls_smtpd(&certs, &dir, backend, &["--tls-required"]);
        let port = server.addr().port().to_string();
        // Python's smtplib with a verifying context: 530 before STARTTLS,
        // no STARTTLS offered again after it (the EHLO state was reset).
        let text = python_script(SMTPLIB_STARTTLS, &[&port, &certs.ca]);
        assert_eq!(text, "before 530\nafter False TLSv1.3\nsent\n", "{backend}");
        // curl --ssl-reqd.
        let mail = certs.dir.join("curl-mail.txt");
        std::fs::write(&mail, "Subject: curl\r\n\r\nvia curl\r\n").expect("write");
        let out = Proc::spawn(
            Command::new("curl")
                .args(["-sS", "--ssl-reqd", "--cacert", &certs.ca])
                .args([
                    "--mail-from",
                    "c@example.com",
                    "--mail-rcpt",
                    "d@example.com",
                ])
                .arg("-T")
                .arg(&mail)
                .arg(format!("smtp://localhost:{port}"))
                .stdin(Stdio::null()),
        )
        .output(WAIT);
        assert!(
            out.status.success(),
            "{backend}: curl: {}",
            stderr_text(&out)
        );
        // openssl s_client -starttls smtp.
        let out = s_client_starttls(&port, &certs.ca);
        assert!(
            out.contains("250 OK") && out.contains("221 Bye"),
            "{backend}: {out}"
        );
        let got = wait_stored(&dir, 3);
        assert_eq!(got.len(), 3, "{backend}: {got:?}");
        assert!(
            got.iter()
                .any(|m| m.ends_with("Subject: smtplib\n\nover tls\n")),
            "{got:?}"
        );
        assert!(
            got.iter()
                .any(|m| m.ends_with("Subject: curl\n\nvia curl\n")),
            "{got:?}"
        );
        assert!(
            got.iter()
                .any(|m| m.ends_with("Subject: s_client\n\nhello\n")),
            "{got:?}"
        );
    }
}

/// One message through `openssl s_client -starttls smtp`.
fn s_client_starttls(port: &str, ca: &str) -> String {
    use std::io::Write;
    let mut p = Proc::spawn(
        Command::new("openssl")
            .args(["s_client", "-quiet", "-starttls", "smtp", "-connect"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-servername", "localhost", "-CAfile", ca])
            .stdin(Stdio::piped()),
    );
    let mut stdin = p.stdin();
    let lines = [
        "EHLO me",
        "MAIL FROM:<e@example.com>",
        "RCPT TO:<f@example.com>",
        "DATA",
        "Subject: s_client\r\n\r\nhello\r\n.",
        "QUIT",
    ];
    for line in lines {
        std::thread::sleep(Duration::from_millis(300));
        let _ = stdin.write_all(format!("{line}\r\n").as_bytes());
    }
    // -quiet ignores the end of stdin; the server closes after QUIT.
    let out = p.output(WAIT);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn smtpd_does_not_answer_commands_pipelined_after_starttls() {
    use std::io::{Read, Write};
    let certs = make_certs("localhost");
    for backend in ["select", "poll", "epoll"] {
        let dir = certs.dir.join(format!("inject-{backend}"));
        let server = tls_smtpd(&certs, &dir, backend, &[]);
        let mut c = std::net::TcpStream::connect(server.addr()).expect("connect");
        c.set_read_timeout(Some(WAIT)).expect("timeout");
        let mut greeting = [0u8; 512];
        let n = c.read(&mut greeting).expect("greeting");
        assert!(greeting[..n].starts_with(b"220 "));
        c.write_all(b"EHLO me\r\n").expect("send");
        std::thread::sleep(Duration::from_millis(200));
        let _ = c.read(&mut greeting).expect("ehlo reply");
        // STARTTLS and an injected command in one segment.
        c.write_all(b"STARTTLS\r\nRSET\r\n").expect("send");
        let mut rest = Vec::new();
        let _ = c.read_to_end(&mut rest);
        // The invitation, then the close: RSET is never answered, in
        // plaintext or inside TLS.
        assert_eq!(
            String::from_utf8_lossy(&rest),
            "220 Ready to start TLS\r\n",
            "{backend}"
        );
    }
}

// RFC 3207 §4.2: after STARTTLS the server forgets what the client said
// before, an AUTH included: a login in plaintext does not carry into TLS
// (smtplib logs in again there and gets 235, not 503 "already
// authenticated").
const SMTPLIB_AUTH_THEN_STARTTLS: &str = r#"
import smtplib, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
with smtplib.SMTP("localhost", port, timeout=20) as s:
    s.ehlo()
    print("plain", s.login("user", "pw")[0])
    s.starttls(context=ctx)
    s.ehlo()
    print("tls", s.login("user", "pw")[0])
"#;

#[test]
fn smtpd_forgets_an_auth_at_starttls() {
    let certs = make_certs("localhost");
    let dir = certs.dir.join("mail-auth");
    let server = tls_smtpd(&certs, &dir, "epoll", &["--auth-any"]);
    let port = server.addr().port().to_string();
    let text = python_script(SMTPLIB_AUTH_THEN_STARTTLS, &[&port, &certs.ca]);
    assert_eq!(text, "plain 235\ntls 235\n");
}

// A client that stops after STARTTLS's 220 (no handshake) is closed at the
// first command timeout, with one log line: a 421 cannot be sent to it
// (the stream is TLS now), and the second timeout it used to take held the
// connection twice as long.
#[test]
fn smtpd_closes_a_stalled_starttls_at_one_timeout() {
    use std::io::{Read, Write};
    let certs = make_certs("localhost");
    let dir = certs.dir.join("mail-stall");
    let server = Proc::serve(
        "smtpd",
        &[
            "smtpd",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            &certs.cert,
            "--tls-key",
            &certs.key,
            "--maildir",
            dir.to_str().expect("utf-8"),
            "--command-timeout",
            "1",
        ],
    );
    let mut c = std::net::TcpStream::connect(server.addr()).expect("connect");
    c.set_read_timeout(Some(WAIT)).expect("timeout");
    let mut buf = [0u8; 512];
    let _ = c.read(&mut buf).expect("greeting");
    c.write_all(b"EHLO me\r\n").expect("send");
    std::thread::sleep(Duration::from_millis(200));
    let _ = c.read(&mut buf).expect("ehlo reply");
    c.write_all(b"STARTTLS\r\n").expect("send");
    let n = c.read(&mut buf).expect("220");
    assert!(buf[..n].starts_with(b"220 "));
    let began = std::time::Instant::now();
    let mut rest = Vec::new();
    let _ = c.read_to_end(&mut rest);
    let took = began.elapsed();
    assert!(took < Duration::from_millis(1900), "closed after {took:?}");
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    drop(c);
    std::thread::sleep(Duration::from_millis(1500)); // a second timeout would come now
    server.terminate();
    let out = server.output(WAIT);
    let log = [out.stdout, out.stderr].concat();
    let log = String::from_utf8_lossy(&log);
    assert_eq!(log.matches("timeout in").count(), 1, "{log}");
}

// Past `--max-connections`, an HTTPS server cannot answer 503 in
// plaintext on a TLS port (no client can read it: curl said "wrong version
// number"); it closes the newcomer without a byte.
#[test]
fn https_past_max_connections_sends_no_plaintext() {
    use std::io::{Read, Write};
    let certs = make_certs("localhost");
    let root = certs.dir.join("site-full");
    std::fs::create_dir_all(&root).expect("root");
    let server = tls_http(&certs, &root, &["--max-connections", "1"]);
    let _held = std::net::TcpStream::connect(server.addr()).expect("connect");
    std::thread::sleep(Duration::from_millis(200));
    let mut c = std::net::TcpStream::connect(server.addr()).expect("connect");
    c.set_read_timeout(Some(WAIT)).expect("timeout");
    // The start of a TLS ClientHello, as a client would send at once.
    let _ = c.write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00]);
    let mut got = Vec::new();
    let _ = c.read_to_end(&mut got);
    assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
}

#[test]
fn http_server_over_tls_with_curl_and_get() {
    let certs = make_certs("localhost");
    let root = certs.dir.join("site");
    std::fs::create_dir_all(&root).expect("root");
    let body = "hello over https from asyncore http\n".repeat(500);
    std::fs::write(root.join("page.txt"), &body).expect("write");
    let server = tls_http(&certs, &root, &[]);
    let url = format!("https://localhost:{}/page.txt", server.addr().port());
    let out = common::run(&["get", &url, "--cacert", &certs.ca]);
    assert!(out.status.success(), "{}", stderr_text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), body);
    let out = Proc::spawn(
        Command::new("curl")
            .args(["-sS", "--cacert", &certs.ca, &url])
            .stdin(Stdio::null()),
    )
    .output(WAIT);
    assert!(out.status.success(), "curl: {}", stderr_text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), body);

    // A large file (sent with send_file, which reads and encrypts under
    // TLS), whole and a range of it: every byte checked.
    let big: Vec<u8> = (0..(3u32 << 20) + 5).map(|i| (i % 251) as u8).collect();
    std::fs::write(root.join("big.bin"), &big).expect("write");
    let url = format!("https://localhost:{}/big.bin", server.addr().port());
    for (range, want) in [
        (None, &big[..]),
        (Some("100000-2999999"), &big[100_000..3_000_000]),
    ] {
        let mut curl = Command::new("curl");
        curl.args(["-sS", "--cacert", &certs.ca, &url])
            .stdin(Stdio::null());
        if let Some(r) = range {
            curl.args(["-r", r]);
        }
        let out = Proc::spawn(&mut curl).output(WAIT);
        assert!(out.status.success(), "curl: {}", stderr_text(&out));
        assert_eq!(out.stdout.len(), want.len(), "range {range:?}");
        assert!(out.stdout == want, "range {range:?}: bytes differ");
    }
}

// A key that is not the certificate's, or a file with no key, is one line
// that names the files (it was "keys may not be consistent: KeyMismatch"
// and "no items found").
#[test]
fn a_wrong_key_file_is_named() {
    let a = make_certs("localhost");
    let b = make_certs("localhost");
    let root = a.dir.to_str().expect("utf-8");
    // `asyncore http` with `cert` and `key`: its one error line (exit 2).
    let refused = |cert: &str, key: &str| {
        let args = ["http", "--root", root, "--tls-cert", cert, "--tls-key", key];
        let out = common::run(&args);
        let err = stderr_text(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        err
    };
    let err = refused(&a.cert, &b.key);
    let want = format!("{}: not the key of the certificate in {}", b.key, a.cert);
    assert!(err.contains(&want), "{err}");
    let err = refused(&a.cert, &a.cert);
    assert!(
        err.contains(&format!("{}: no private key in it", a.cert)),
        "{err}"
    );
}
