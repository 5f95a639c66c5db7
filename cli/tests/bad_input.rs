//! Bad input for the apps, against the real binary: garbage, NUL, invalid
//! UTF-8, endless lines and headers, truncated and oversized messages, slow
//! trickles. Each gets a clear error reply or a clean close, never a panic;
//! memory stays flat; a witness client is served meanwhile. Also: every fuzz
//! seed replayed through the parsers' fuzzing entry points.

mod common;

use common::{cpu_ticks, reset, Proc, WAIT};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

fn connect(addr: SocketAddr) -> TcpStream {
    let c = TcpStream::connect_timeout(&addr, WAIT).expect("connect");
    c.set_read_timeout(Some(WAIT)).unwrap();
    c.set_write_timeout(Some(WAIT)).unwrap();
    c
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

/// Reads lines from `r` until one satisfies `want` (bounded by the read timeout).
fn line_matching(r: &mut impl BufRead, want: impl Fn(&str) -> bool) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        let n = r.read_line(&mut line).expect("a line before the timeout");
        assert!(n > 0, "closed before the expected line");
        if want(line.trim_end()) {
            return line.trim_end().to_string();
        }
    }
}

// ---- urgent data ---------------------------------------------------------

/// An app to start (its name and arguments), a first request, and a second.
type AppCase<'a> = (&'a str, Vec<&'a str>, &'a [u8], &'a [u8]);

/// Everything `c` receives until it has been quiet for 300 ms (waiting at
/// most `WAIT` for the first byte).
fn drain(c: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    c.set_read_timeout(Some(WAIT)).unwrap();
    while let Ok(n) = c.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        c.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
    }
    c.set_read_timeout(Some(WAIT)).unwrap();
    got
}

/// One byte of TCP urgent (out-of-band) data from a client, which no app
/// reads: each server then stays idle (it spun at 100 % of a core until the
/// connection's idle timeout, for echo for ever, on every backend), and
/// goes on serving. Idle: under 20 clock ticks (0.2 s) of CPU in 1 s, where
/// a spin takes about 100.
#[test]
fn urgent_data_does_not_make_a_server_spin() {
    let root = std::env::temp_dir().join(format!("asyncore-oob-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let root_arg = root.to_str().unwrap().to_string();
    // Per app: the arguments, a first request, and one that always gets an
    // answer (a chat line to an empty room would not).
    let servers: [AppCase; 4] = [
        (
            "echo",
            vec!["-q", "echo", "--listen", "127.0.0.1:0"],
            b"ping\n",
            b"ping\n",
        ),
        (
            "chat",
            vec!["-q", "chat", "--listen", "127.0.0.1:0"],
            b"ann\r\n",
            b"/who\r\n",
        ),
        (
            "smtpd",
            vec!["-q", "smtpd", "--listen", "127.0.0.1:0"],
            b"NOOP\r\n",
            b"NOOP\r\n",
        ),
        (
            "http",
            vec!["-q", "http", "--listen", "127.0.0.1:0", "--root", &root_arg],
            b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n",
            b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n",
        ),
    ];
    for (app, args, first, again) in servers {
        let server = Proc::serve(app, &args);
        let mut c = connect(server.addr());
        c.write_all(first).unwrap();
        assert!(!drain(&mut c).is_empty(), "{app}: no answer");
        let oob = asyncore_loop::Socket::from(c.try_clone().unwrap());
        assert_eq!(oob.send_out_of_band(b"!").unwrap(), 1);
        thread::sleep(Duration::from_millis(200));
        let before = cpu_ticks(server.id());
        thread::sleep(Duration::from_secs(1));
        let used = cpu_ticks(server.id()) - before;
        assert!(
            used < 20,
            "{app}: {used} ticks of CPU in 1 s of idleness: a spin"
        );
        // Still serving on that connection (everything before was read).
        c.write_all(again).unwrap();
        assert!(!drain(&mut c).is_empty(), "{app}: no second answer");
    }
    let _ = std::fs::remove_dir_all(&root);
}

// ---- chat -----------------------------------------------------------------

/// A member sends NUL, invalid UTF-8, control bytes and a 32 MiB line
/// without a newline: it gets `error:` lines, the others keep chatting,
/// and the server's peak memory grows by less than 8 MiB.
#[test]
fn chat_survives_garbage_and_endless_lines() {
    let server = Proc::serve("chat", &["-q", "chat", "--listen", "127.0.0.1:0"]);
    let before = vm_hwm_kib(server.id());
    let mut alice = connect(server.addr());
    let mut alice_in = BufReader::new(alice.try_clone().unwrap());
    alice.write_all(b"alice\n").unwrap();
    line_matching(&mut alice_in, |l| l.starts_with("* hello alice"));
    let mut bob = connect(server.addr());
    let mut bob_in = BufReader::new(bob.try_clone().unwrap());
    bob.write_all(b"bob\n").unwrap();
    line_matching(&mut bob_in, |l| l.starts_with("* hello bob"));

    let mut evil = connect(server.addr());
    let mut evil_in = BufReader::new(evil.try_clone().unwrap());
    // An invalid nickname (NUL, invalid UTF-8) is refused with an error.
    evil.write_all(b"\x00\xff\xfe\n").unwrap();
    line_matching(&mut evil_in, |l| l.starts_with("error: "));
    evil.write_all(b"mallory\n").unwrap();
    line_matching(&mut evil_in, |l| l.starts_with("* hello mallory"));
    evil.write_all(b"\x00\x01\x02 \xc3\x28 \xff\r\n\r\r\n")
        .unwrap();
    // 32 MiB without a newline, then one: an error line, and the session goes on.
    let chunk = vec![b'z'; 1 << 20];
    for k in 0..32 {
        evil.write_all(&chunk).unwrap();
        if k == 16 {
            alice.write_all(b"still here\n").unwrap();
            let heard = line_matching(&mut bob_in, |l| l.starts_with("<alice>"));
            assert_eq!(heard, "<alice> still here");
        }
    }
    evil.write_all(b"\n").unwrap();
    line_matching(&mut evil_in, |l| l.starts_with("error: "));
    let grown = vm_hwm_kib(server.id()).saturating_sub(before);
    eprintln!("chat: peak RSS grew by {grown} KiB over a 32 MiB line");
    assert!(grown < 8 * 1024, "peak RSS grew by {grown} KiB");
    // Garbage reached the others only as text lines; the room still works.
    bob.write_all(b"and me\n").unwrap();
    assert_eq!(
        line_matching(&mut alice_in, |l| l.starts_with("<bob>")),
        "<bob> and me"
    );
    // A reset in the middle of a line is a clean leave.
    evil.write_all(b"half a li").unwrap();
    drop(evil_in);
    reset(evil);
    assert_eq!(
        line_matching(&mut alice_in, |l| l.contains("mallory left")),
        "* mallory left"
    );
    let mut server = server;
    assert!(server.try_wait().is_none(), "the server is still running");
}

// ---- smtpd ----------------------------------------------------------------

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("asyncore-bad-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn stored(maildir: &Path) -> Vec<Vec<u8>> {
    std::fs::read_dir(maildir.join("new"))
        .map(|d| {
            d.filter_map(|e| std::fs::read(e.ok()?.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// An SMTP client on the raw socket: one reply (its last line) per call.
struct Smtp {
    s: TcpStream,
    r: BufReader<TcpStream>,
}

impl Smtp {
    fn connect(addr: SocketAddr) -> Smtp {
        let s = connect(addr);
        let r = BufReader::new(s.try_clone().unwrap());
        let mut c = Smtp { s, r };
        assert!(c.reply().starts_with("220 "));
        c
    }
    fn reply(&mut self) -> String {
        line_matching(&mut self.r, |l| l.len() >= 4 && &l[3..4] == " ")
    }
    fn cmd(&mut self, line: &str) -> String {
        self.s.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        self.reply()
    }
    fn envelope(&mut self) {
        assert!(self.cmd("EHLO bad").starts_with("250 "));
        assert_eq!(self.cmd("MAIL FROM:<a@b.example>"), "250 OK");
        assert_eq!(self.cmd("RCPT TO:<c@d.example>"), "250 OK");
        assert!(self.cmd("DATA").starts_with("354 "));
    }
}

/// Sessions that die mid-DATA (a reset, a plain close, a truncated last
/// line) deliver nothing; a session trickled a few bytes at a time, with
/// NUL and invalid UTF-8 in its message, delivers it whole.
#[test]
fn smtpd_delivers_nothing_partial_and_trickles_arrive_whole() {
    let dir = temp_dir("smtpd");
    let server = Proc::serve(
        "smtpd",
        &[
            "-q",
            "smtpd",
            "--listen",
            "127.0.0.1:0",
            "--maildir",
            dir.to_str().unwrap(),
        ],
    );
    for how in ["reset", "close", "truncated"] {
        let mut c = Smtp::connect(server.addr());
        c.envelope();
        c.s.write_all(b"Subject: partial\r\n\r\nbody line\r\n")
            .unwrap();
        match how {
            "reset" => reset(c.s),
            "close" => drop(c.s),
            _ => {
                c.s.write_all(b"\r\n.").unwrap(); // not the end-of-data line yet
                c.s.shutdown(Shutdown::Write).unwrap();
                let mut rest = Vec::new();
                let _ = c.r.read_to_end(&mut rest);
            }
        }
    }
    // A trickled session: a few bytes every 20 ms.
    let mut c = Smtp::connect(server.addr());
    let session: &[u8] = b"EHLO slow\r\nMAIL FROM:<s@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nSubject: slow\r\n\r\nnul \x00 and \xc3\x28 bytes\r\n..dot\r\n.\r\nQUIT\r\n";
    let writer = c.s.try_clone().unwrap();
    let trickle = thread::spawn(move || {
        let mut w = writer;
        for piece in session.chunks(5) {
            w.write_all(piece).unwrap();
            thread::sleep(Duration::from_millis(20));
        }
    });
    let mut replies = Vec::new();
    loop {
        let r = c.reply();
        let done = r.starts_with("221");
        replies.push(r);
        if done {
            break;
        }
    }
    trickle.join().unwrap();
    assert!(replies.iter().any(|r| r == "250 OK"), "{replies:?}");
    // Let the server finish with the dead sessions, then look.
    let start = Instant::now();
    while stored(&dir).is_empty() && start.elapsed() < WAIT {
        thread::sleep(Duration::from_millis(20));
    }
    thread::sleep(Duration::from_millis(200));
    let messages = stored(&dir);
    assert_eq!(messages.len(), 1, "only the complete message is stored");
    let text = &messages[0];
    let has = |needle: &[u8]| text.windows(needle.len()).any(|w| w == needle);
    let shown = String::from_utf8_lossy(text);
    assert!(has(b"\nnul \x00 and \xc3\x28 bytes\n"), "{shown:?}");
    assert!(has(b"\n.dot\n"), "dot-unstuffed: {shown:?}");
    assert!(!has(b"body line"), "{shown:?}");
    let _ = std::fs::remove_dir_all(dir);
    drop(server);
}

// ---- get against a hostile server ------------------------------------------

/// A server thread that answers its first connection by calling `serve`.
fn hostile_server(serve: impl FnOnce(TcpStream) + Send + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
            let mut head = [0u8; 4096];
            let _ = s.read(&mut head);
            serve(s);
        }
    });
    addr
}

/// Runs `asyncore get URL` and waits for its exit (bounded); the status
/// code, stderr, and its peak memory (rusage of the reaped child), in KiB.
// The child is reaped with wait4 (for its rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn get(url: &str, extra: &[&str]) -> (Option<i32>, String, u64) {
    let mut args = vec!["get", url];
    args.extend_from_slice(extra);
    let mut child = std::process::Command::new(common::BIN)
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let err = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let pid = child.id() as libc::pid_t;
    let start = Instant::now();
    let (mut status, mut usage) = (0, unsafe { std::mem::zeroed::<libc::rusage>() });
    loop {
        // SAFETY: our own child; `status` and `usage` are valid out-pointers.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "get did not exit"
        );
        thread::sleep(Duration::from_millis(10));
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (code, err.join().unwrap(), usage.ru_maxrss as u64)
}

fn assert_clean_failure(code: Option<i32>, err: &str, want: i32) {
    assert_eq!(code, Some(want), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.lines().count(), 1, "one error line: {err}");
}

/// An endless header line, endless header lines, garbage, NUL, an
/// impossible chunk size: each a one-line error and exit 8, in bounded
/// memory (the endless ones stream 64 MiB at it).
#[test]
fn get_refuses_hostile_responses_in_bounded_memory() {
    let endless_line = hostile_server(|mut s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nX-Endless: ");
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..64 {
            if s.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let endless_headers = hostile_server(|mut s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n");
        let lines = b"X-A: b\r\n".repeat(1 << 17);
        for _ in 0..64 {
            if s.write_all(&lines).is_err() {
                return;
            }
        }
    });
    let garbage = hostile_server(|mut s| {
        let _ = s.write_all(b"\x00\xff\xfe garbage \x01\r\n\r\n");
    });
    let nul_header = hostile_server(|mut s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\x00\r\n\r\nhi");
    });
    let chunk_size = hostile_server(|mut s| {
        let _ = s.write_all(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffffff\r\nabc",
        );
    });
    for (what, addr) in [
        ("endless header line", endless_line),
        ("endless headers", endless_headers),
        ("garbage", garbage),
        ("NUL in a header", nul_header),
        ("impossible chunk size", chunk_size),
    ] {
        let (code, err, peak) = get(&format!("http://{addr}/"), &["--timeout", "10"]);
        assert_clean_failure(code, &err, 8);
        eprintln!("get, {what}: exit 8, peak RSS {peak} KiB");
        assert!(peak < 32 * 1024, "{what}: peak RSS {peak} KiB");
    }
}

/// A server that trickles a valid response a byte every 20 ms: each byte
/// resets the idle timeout, and the body arrives exact.
#[test]
fn get_reads_a_trickled_response_exactly() {
    let addr = hostile_server(|mut s| {
        for b in b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" {
            if s.write_all(&[*b]).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
    });
    let out = common::run(&["get", &format!("http://{addr}/"), "--timeout", "1"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"hello");
}

// ---- the fuzz seeds ----------------------------------------------------------

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target);
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    out.sort();
    out
}

/// Every seed of the SMTP, response and URL fuzz targets, through the same
/// entry points: no panic, and the SMTP sessions the same whole or split.
#[test]
fn fuzz_seeds_replay_cleanly() {
    use asyncore_cli::fuzzing::smtp_exchange;
    use asyncore_cli::get::{HttpUrl, ResponseParser};
    for seed in seeds("smtp_command").iter().chain(&seeds("smtp_data")) {
        let input = &seed[1..];
        let whole = smtp_exchange(&[input], 4096).unwrap();
        let pieces: Vec<&[u8]> = input.chunks(7).collect();
        assert_eq!(whole, smtp_exchange(&pieces, 4096).unwrap());
        assert!(whole.replies.starts_with(b"220 "));
    }
    for seed in seeds("get_response") {
        let mut p = ResponseParser::new();
        let mut rest = &seed[1..];
        while let Ok((n, ev)) = p.advance(rest) {
            rest = &rest[n..];
            if matches!(
                ev,
                asyncore_cli::get::Event::NeedMore | asyncore_cli::get::Event::Done
            ) {
                break;
            }
        }
    }
    for seed in seeds("url") {
        if let Ok(text) = std::str::from_utf8(&seed) {
            if let Ok(url) = HttpUrl::parse(text) {
                assert_eq!(HttpUrl::parse(&url.to_string()), Ok(url));
            }
        }
    }
}

// A server whose stdout cannot take its `listening on` line (`| true`
// gone, a full disk) keeps serving and shuts down cleanly; the line used to
// be a `println!`, which panicked with a backtrace and exit 101. The demo,
// whose output is its point, says so in one line instead.
#[test]
fn a_stdout_that_fails_does_not_crash_the_apps() {
    use std::process::{Command, Stdio};
    let root = std::env::temp_dir();
    let root = root.to_str().expect("utf-8");
    let servers: [&[&str]; 4] = [
        &["echo", "--listen", "127.0.0.1:0"],
        &["chat", "--listen", "127.0.0.1:0"],
        &["smtpd", "--listen", "127.0.0.1:0"],
        &["http", "--listen", "127.0.0.1:0", "--root", root],
    ];
    for args in servers {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let mut child = Command::new(common::BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(full)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        thread::sleep(Duration::from_millis(500));
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "{args:?} ended"
        );
        // SAFETY: signals our own child, not yet reaped.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "{args:?} did not stop");
            thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        let _ = child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err);
        assert!(status.success(), "{args:?}: {status} {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let out = Command::new(common::BIN)
        .arg("demo")
        .stdout(full)
        .output()
        .expect("demo");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("asyncore: demo: cannot write") && err.lines().count() == 1,
        "{err}"
    );
}
