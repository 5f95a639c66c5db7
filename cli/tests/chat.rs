//! `asyncore chat` driven by real clients: std TCP streams on test threads,
//! a Python script with several sockets, `nc` if it is installed, and the
//! built binary for signals. Every server listens on 127.0.0.1 port 0, every
//! read has a timeout, and every test stops its server itself.

mod common;

use common::Proc;

use asyncore_cli::chat::{stats, ChatOptions, ChatServer, Room, RoomStats};
use asyncore_cli::AppError;
use asyncore_loop::{Backend, Domain, Remote, SockAddr, Socket, Type};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long any single expected line may take.
const WAIT: Duration = Duration::from_secs(10);

/// An in-process server on its own thread, stopped when dropped.
struct Server {
    addr: SocketAddr,
    remote: Remote<Room>,
    thread: Option<JoinHandle<Result<(), AppError>>>,
}

impl Server {
    fn start(opts: ChatOptions) -> Server {
        Server::start_on(common::backend(), opts)
    }

    fn start_on(backend: Backend, opts: ChatOptions) -> Server {
        // The loop is not Send: it is built on the thread that runs it.
        let (tx, rx) = mpsc::channel();
        let thread = Some(std::thread::spawn(move || {
            let mut server = ChatServer::bind("127.0.0.1:0".parse().unwrap(), backend, opts)?;
            let _ = tx.send((server.addr(), server.remote()?));
            server.run()
        }));
        let (addr, remote) = rx.recv_timeout(WAIT).expect("the server started");
        Server {
            addr,
            remote,
            thread,
        }
    }

    /// The room as the loop sees it now.
    fn stats(&self) -> RoomStats {
        let (tx, rx) = mpsc::channel();
        self.remote
            .post(move |cx| {
                let _ = tx.send(stats(cx));
                Ok(())
            })
            .expect("post");
        rx.recv_timeout(WAIT).expect("stats from the loop")
    }

    /// Waits until `f` holds for the room's stats.
    fn wait_for(&self, what: &str, f: impl Fn(&RoomStats) -> bool) -> RoomStats {
        let deadline = Instant::now() + WAIT;
        loop {
            let s = self.stats();
            if f(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {s:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn stop(mut self) {
        self.remote.stop().expect("the server loop is running");
        if let Some(t) = self.thread.take() {
            t.join().expect("server thread").expect("server run");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The loop may have ended already (after `stop`): nothing to stop then.
        let _ = self.remote.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A line-oriented test client.
struct Client {
    name: String,
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Client {
    fn from_stream(name: &str, s: TcpStream) -> Client {
        s.set_read_timeout(Some(WAIT)).unwrap();
        s.set_write_timeout(Some(WAIT)).unwrap();
        Client {
            name: name.to_string(),
            r: BufReader::new(s.try_clone().unwrap()),
            w: s,
        }
    }

    fn connect(addr: SocketAddr, name: &str) -> Client {
        let mut c = Client::from_stream(name, TcpStream::connect(addr).expect("connect"));
        c.expect("* your nickname?");
        c
    }

    /// Connects and joins as `nick`.
    fn join(addr: SocketAddr, nick: &str) -> Client {
        let mut c = Client::connect(addr, nick);
        c.send(nick);
        c.expect(&format!("* hello {nick};"));
        c
    }

    /// Sends one line, LF-terminated.
    fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\n").as_bytes());
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).expect("send");
    }

    /// The next line, CRLF checked and stripped.
    fn line(&mut self) -> String {
        let mut raw = Vec::new();
        match self.r.read_until(b'\n', &mut raw) {
            Ok(0) => panic!("{}: connection closed, expected a line", self.name),
            Ok(_) => {}
            Err(e) => panic!("{}: no line within {WAIT:?}: {e}", self.name),
        }
        assert!(
            raw.ends_with(b"\r\n"),
            "{}: line not CRLF-terminated: {raw:?}",
            self.name
        );
        raw.truncate(raw.len() - 2);
        String::from_utf8(raw).expect("utf-8 line")
    }

    /// Skips lines until one starts with `prefix`; returns it.
    fn expect(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let l = self.line();
            if l.starts_with(prefix) {
                return l;
            }
            assert!(
                Instant::now() < deadline,
                "{}: no line starting {prefix:?}",
                self.name
            );
        }
    }

    /// The next line must be exactly `want`.
    fn next_is(&mut self, want: &str) {
        let got = self.line();
        assert_eq!(got, want, "{}: unexpected line", self.name);
    }

    /// Reads until the server closes; returns the lines read on the way.
    fn until_eof(&mut self) -> Vec<String> {
        let deadline = Instant::now() + WAIT;
        let mut lines = Vec::new();
        loop {
            let mut raw = Vec::new();
            match self.r.read_until(b'\n', &mut raw) {
                Ok(0) => return lines,
                Ok(_) => lines.push(String::from_utf8_lossy(&raw).trim_end().to_string()),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return lines,
                Err(e) => panic!("{}: no end of stream: {e} (after {lines:?})", self.name),
            }
            assert!(Instant::now() < deadline, "{}: no end of stream", self.name);
        }
    }

    /// Asserts nothing arrives for a moment (a one-sided check: it can only
    /// fail when something did arrive).
    fn quiet(&mut self) {
        self.w
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut buf = [0u8; 256];
        let got = self.r.get_mut().read(&mut buf);
        self.w.set_read_timeout(Some(WAIT)).unwrap();
        match got {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            other => panic!(
                "{}: expected silence, got {other:?} {:?}",
                self.name,
                String::from_utf8_lossy(&buf)
            ),
        }
        assert!(self.r.buffer().is_empty(), "{}: buffered input", self.name);
    }
}

#[test]
fn several_clients_nicks_broadcast_who_nick_quit() {
    let server = Server::start(ChatOptions::default());
    let mut alice = Client::join(server.addr, "alice");
    let mut bob = Client::join(server.addr, "bob");
    alice.next_is("* bob joined");
    let mut carol = Client::connect(server.addr, "carol");
    carol.send("carol");
    assert_eq!(
        carol.expect("* hello"),
        "* hello carol; here: alice, bob. Type /help for commands"
    );
    alice.next_is("* carol joined");
    bob.next_is("* carol joined");

    // Broadcast order: each sender's lines arrive in order, to everyone else.
    for i in 0..200 {
        alice.send(&format!("a{i}"));
    }
    for who in [&mut bob, &mut carol] {
        for i in 0..200 {
            who.next_is(&format!("<alice> a{i}"));
        }
    }
    bob.send("hi from bob");
    carol.next_is("<bob> hi from bob");
    alice.next_is("<bob> hi from bob");
    bob.quiet(); // no echo of one's own line

    carol.send("/who");
    carol.next_is("* 3 here: alice, bob, carol");

    bob.send("/nick robert");
    bob.next_is("* you are now known as robert");
    alice.next_is("* bob is now known as robert");
    carol.next_is("* bob is now known as robert");
    bob.send("still me");
    alice.next_is("<robert> still me");
    carol.next_is("<robert> still me");
    carol.send("/nick ALICE");
    carol.next_is("error: the nickname ALICE is taken");
    carol.send("/nick bad name");
    carol.next_is("error: usage: /nick NEWNAME");
    carol.send("/nick robert");
    carol.next_is("error: the nickname robert is taken");
    carol.send("/frobnicate now");
    carol.next_is("error: unknown command /frobnicate; try /help");
    carol.send("/help");
    let help: Vec<String> = (0..6).map(|_| carol.line()).collect();
    assert_eq!(help[0], "* commands:");
    assert!(help.iter().any(|l| l.starts_with("*   /quit")), "{help:?}");
    assert!(help[5].starts_with("*   //text"), "{help:?}");
    carol.send("//slashes are fine");
    alice.next_is("<carol> /slashes are fine");
    bob.next_is("<carol> /slashes are fine");

    bob.send("/quit");
    bob.next_is("* goodbye, robert");
    assert!(bob.until_eof().is_empty());
    alice.next_is("* robert left");
    carol.next_is("* robert left");
    alice.send("/who");
    alice.next_is("* 2 here: alice, carol");
    server.wait_for("robert's connection to go", |s| s.connections == 2);
    server.stop();
}

#[test]
fn bad_and_duplicate_nicknames_are_asked_again() {
    let server = Server::start(ChatOptions::default());
    let mut alice = Client::join(server.addr, "Alice");
    let mut c = Client::connect(server.addr, "newcomer");
    let ask = "* your nickname? (1-32 letters, digits, _ or -)";
    for (bad, why) in [
        ("alice", "error: the nickname alice is taken"),
        ("two words", "error: ' ' is not allowed in a nickname"),
        ("dot.ted", "error: '.' is not allowed in a nickname"),
        (
            &*"x".repeat(33),
            "error: nickname too long (33 characters, at most 32)",
        ),
        ("caf\u{e9}", "error: '\u{e9}' is not allowed in a nickname"),
    ] {
        c.send(bad);
        assert!(c.line().starts_with(why), "{bad:?}");
        c.next_is(ask);
    }
    c.send("");
    c.next_is(ask);
    c.send("/who");
    c.next_is("error: choose a nickname first");
    c.next_is(ask);
    c.send("/nick");
    c.next_is("error: usage: /nick NAME");
    c.next_is(ask);
    c.send("/nick alice");
    c.next_is("error: the nickname alice is taken");
    c.next_is(ask);
    c.send("/help");
    c.expect(ask);
    // Nothing of this reached the room.
    alice.quiet();
    let longest = "N_-0".repeat(8);
    c.send(&longest);
    c.expect(&format!("* hello {longest}; here: Alice."));
    alice.next_is(&format!("* {longest} joined"));
    // Quitting before choosing a nickname is allowed, and not announced.
    let mut shy = Client::connect(server.addr, "shy");
    shy.send("/quit");
    shy.next_is("* goodbye");
    assert!(shy.until_eof().is_empty());
    alice.quiet();
    server.stop();
}

#[test]
fn a_line_over_the_maximum_gets_an_error_and_the_connection_goes_on() {
    let opts = ChatOptions {
        max_line: 100,
        ..ChatOptions::default()
    };
    let server = Server::start(opts);
    let mut alice = Client::join(server.addr, "alice");
    let mut bob = Client::join(server.addr, "bob");
    alice.next_is("* bob joined");

    // Exactly the limit passes, with either line ending.
    let at_limit = "y".repeat(100);
    bob.send(&at_limit);
    alice.next_is(&format!("<bob> {at_limit}"));
    bob.send_raw(format!("{at_limit}\r\n").as_bytes());
    alice.next_is(&format!("<bob> {at_limit}"));

    // One byte over: an error line, nothing broadcast.
    bob.send(&"z".repeat(101));
    bob.next_is("error: line too long (101 bytes, the limit is 100); it was discarded");
    // A huge line: the same, and the server's memory stays flat.
    let huge = vec![b'h'; 4 << 20];
    let writer = {
        let mut w = bob.w.try_clone().unwrap();
        std::thread::spawn(move || {
            w.write_all(&huge).unwrap();
            w.write_all(b"\n").unwrap();
        })
    };
    bob.next_is(&format!(
        "error: line too long ({} bytes, the limit is 100); it was discarded",
        4 << 20
    ));
    writer.join().unwrap();
    let s = server.stats();
    assert!(s.max_queued_bytes < 1024, "{s:?}");

    // The connection goes on.
    bob.send("after");
    alice.next_is("<bob> after");
    alice.quiet();
    server.stop();
}

#[test]
fn bare_lf_and_crlf_clients_get_the_same_lines() {
    let server = Server::start(ChatOptions::default());
    let mut lf = Client::join(server.addr, "lf");
    let mut crlf = Client::connect(server.addr, "crlf");
    crlf.send_raw(b"crlf\r\n");
    crlf.expect("* hello crlf;");
    lf.next_is("* crlf joined");

    crlf.send_raw(b"with crlf\r\n/who\r\n");
    lf.next_is("<crlf> with crlf");
    crlf.next_is("* 2 here: crlf, lf");
    lf.send_raw(b"with lf\n/who\n");
    crlf.next_is("<lf> with lf");
    lf.next_is("* 2 here: crlf, lf");
    // A line split across writes, and several lines in one write.
    lf.send_raw(b"spl");
    std::thread::sleep(Duration::from_millis(20));
    lf.send_raw(b"it\nx\ny\r\nz\n");
    for want in ["<lf> split", "<lf> x", "<lf> y", "<lf> z"] {
        crlf.next_is(want);
    }
    // Control characters (terminal escapes) are dropped; tabs stay.
    lf.send_raw(b"\x1b[2Jtab\there\x07\n");
    crlf.next_is("<lf> [2Jtab\there");
    // Empty lines are ignored.
    lf.send_raw(b"\n\r\n");
    lf.send("/who");
    lf.next_is("* 2 here: crlf, lf");
    crlf.quiet();
    server.stop();
}

/// A client whose receive buffer is tiny (so the server's output backs up
/// quickly), and that never reads.
fn slow_client(addr: SocketAddr) -> TcpStream {
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect_timeout(&SockAddr::from(addr), WAIT).unwrap();
    let s: TcpStream = sock.into();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s
}

#[test]
fn a_slow_reader_is_disconnected_with_a_notice_and_never_stalls_the_others() {
    let opts = ChatOptions::default();
    let server = Server::start(opts);
    let mut watcher = Client::join(server.addr, "watcher");
    let mut fast = Client::join(server.addr, "fast");
    watcher.next_is("* fast joined");

    let mut slow = Client::from_stream("slow", slow_client(server.addr));
    slow.send("slow");
    watcher.next_is("* slow joined");
    fast.next_is("* slow joined");

    // fast talks in batches, watcher reads each batch, slow reads nothing.
    // A batch (40 KB) fits under the mark even if watcher's socket buffers
    // took none of it before the test thread reads them.
    let text = "m".repeat(1000);
    let start = Instant::now();
    let mut sent = 0usize;
    let mut kicked_at = None;
    let mut max_seen = RoomStats::default();
    let mut batches_after_kick = 0;
    const BATCH: usize = 40;
    while batches_after_kick < 50 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "slow reader never disconnected after {sent} lines ({max_seen:?})"
        );
        let batch: String = (sent..sent + BATCH)
            .map(|i| format!("{i} {text}\n"))
            .collect();
        fast.send_raw(batch.as_bytes());
        for i in sent..sent + BATCH {
            // In order, nothing lost; the departure notice may come between.
            loop {
                let l = watcher.line();
                if l == "* slow left (too slow to read)" {
                    assert!(kicked_at.is_none(), "slow left twice");
                    kicked_at = Some(sent);
                    continue;
                }
                assert_eq!(l, format!("<fast> {i} {text}"));
                break;
            }
        }
        sent += BATCH;
        let s = server.stats();
        // Memory is flat: nobody's queue passes the mark by more than the
        // line that crossed it and the notice.
        assert!(s.max_queued_bytes <= opts.max_queue + 2048, "{s:?}");
        assert!(s.queued_bytes <= 2 * (opts.max_queue + 2048), "{s:?}");
        if s.max_queued_bytes > max_seen.max_queued_bytes {
            max_seen = s;
        }
        if kicked_at.is_some() {
            batches_after_kick += 1;
        }
    }
    let elapsed = start.elapsed();
    let kicked_at = kicked_at.unwrap();
    eprintln!(
        "slow reader: {sent} lines ({} KiB) in {elapsed:?}; disconnected after {kicked_at} lines; largest queue {} bytes",
        sent * 1000 / 1024,
        max_seen.max_queued_bytes
    );
    // fast heard of it too; the room goes on without slow.
    fast.expect("* slow left (too slow to read)");
    fast.send("/who");
    fast.next_is("* 2 here: fast, watcher");

    // slow now reads: whatever got through, then the notice, then the end.
    let lines = slow.until_eof();
    let last = lines.last().expect("slow got nothing at all");
    assert!(
        last.starts_with("* you are not reading fast enough ("),
        "last line {last:?}"
    );
    assert!(
        last.ends_with("the limit is 65536); disconnecting"),
        "{last}"
    );
    let s = server.wait_for("slow's connection to close", |s| s.connections == 2);
    assert!(s.queued_bytes < 1024, "{s:?}");
    server.stop();
}

#[test]
fn idle_clients_are_timed_out_with_a_notice() {
    let idle = Duration::from_millis(300);
    let opts = ChatOptions {
        idle_timeout: Some(idle),
        ..ChatOptions::default()
    };
    let server = Server::start(opts);
    let start = Instant::now();
    let mut sleepy = Client::join(server.addr, "sleepy");
    let mut talker = Client::join(server.addr, "talker");
    // talker stays active; sleepy says nothing after joining.
    let notice = loop {
        talker.send("/who");
        let l = talker.line();
        if l.starts_with("* sleepy left") {
            break l;
        }
        assert!(l.starts_with("* "), "{l}");
        assert!(start.elapsed() < WAIT, "sleepy was never timed out");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(notice, "* sleepy left (idle)");
    // One-sided: never before the timeout.
    assert!(start.elapsed() >= idle, "{:?}", start.elapsed());
    let lines = sleepy.until_eof();
    assert_eq!(
        lines.last().map(String::as_str),
        Some("* idle for 0.3 seconds; disconnecting")
    );
    // A connection that never picks a nickname is timed out too.
    let mut mute = TcpStream::connect(server.addr).unwrap();
    mute.set_read_timeout(Some(WAIT)).unwrap();
    let mut all = String::new();
    mute.read_to_string(&mut all).expect("closed by the server");
    assert!(
        all.ends_with("* idle for 0.3 seconds; disconnecting\r\n"),
        "{all:?}"
    );
    server.stop();
}

#[test]
fn graceful_shutdown_tells_everyone() {
    let server = Server::start(ChatOptions::default());
    let mut a = Client::join(server.addr, "a");
    let mut b = Client::connect(server.addr, "b");
    server
        .remote
        .shutdown(Duration::from_secs(5))
        .expect("the server loop is running");
    assert_eq!(
        a.until_eof().last().map(String::as_str),
        Some("* server shutting down")
    );
    assert_eq!(
        b.until_eof().last().map(String::as_str),
        Some("* server shutting down")
    );
    let mut server = server;
    server.thread.take().unwrap().join().unwrap().unwrap();
}

#[test]
fn works_on_every_backend() {
    for backend in [Backend::Select, Backend::Poll, Backend::Epoll] {
        let server = Server::start_on(backend, ChatOptions::default());
        let mut a = Client::join(server.addr, "a");
        let mut b = Client::join(server.addr, "b");
        a.next_is("* b joined");
        b.send("hello");
        a.next_is("<b> hello");
        a.send("/quit");
        a.next_is("* goodbye, a");
        b.next_is("* a left");
        server.stop();
    }
}

// ---- the binary -----------------------------------------------------------------

/// `asyncore chat` as a process on 127.0.0.1 port 0 (its address from its
/// first line), with `extra` options.
fn start_binary(extra: &[&str]) -> Proc {
    let mut args = vec!["chat", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    Proc::serve("chat", &args)
}

#[test]
fn sigterm_shuts_the_binary_down_gracefully() {
    let mut p = start_binary(&["--idle-timeout", "0", "--max-line", "64"]);
    let mut a = Client::join(p.addr(), "a");
    a.send(&"x".repeat(65));
    a.next_is("error: line too long (65 bytes, the limit is 64); it was discarded");
    p.terminate();
    assert_eq!(
        a.until_eof().last().map(String::as_str),
        Some("* server shutting down")
    );
    assert!(p.wait(WAIT).success());
}

#[test]
fn nick_command_at_the_prompt_chooses_the_nickname() {
    // A raw socket against the binary, as someone typing into nc would.
    let p = start_binary(&[]);
    let mut bob = Client::join(p.addr(), "bob");
    let mut c = Client::connect(p.addr(), "raw");
    c.send("/nick alice");
    c.next_is("* hello alice; here: bob. Type /help for commands");
    bob.next_is("* alice joined");
    c.send("hi");
    bob.next_is("<alice> hi");
    // Bare LF or CRLF, and any case of the command word.
    let mut d = Client::connect(p.addr(), "raw2");
    d.send_raw(b"/NICK carol\r\n");
    d.expect("* hello carol; here: ");
    bob.next_is("* carol joined");
}

#[test]
fn the_binary_times_idle_clients_out() {
    let p = start_binary(&["--idle-timeout", "0.2"]);
    let start = Instant::now();
    let mut c = TcpStream::connect(p.addr()).unwrap();
    c.set_read_timeout(Some(WAIT)).unwrap();
    let mut all = String::new();
    c.read_to_string(&mut all).expect("closed by the server");
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert!(
        all.ends_with("\r\n* idle for 0.2 seconds; disconnecting\r\n"),
        "{all:?}"
    );
}

#[test]
fn the_binary_rejects_bad_options() {
    for args in [
        &["chat", "--listen", "nonsense"][..],
        &["chat", "--idle-timeout", "-3"],
        &["chat", "--max-queue", "0"],
    ] {
        let out = common::run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
    }
    // A port in use: one line, exit code 1.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    let out = common::run(&["chat", "--listen", &port]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("asyncore: cannot listen on {port}: ")),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn python_clients_chat_at_once() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("SKIPPED: python3 is not installed");
        return;
    }
    let server = Server::start(ChatOptions::default());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/chat_clients.py");
    let out = Proc::spawn(
        Command::new("python3")
            .arg(script)
            .args(["127.0.0.1", &server.addr.port().to_string(), "5", "300"])
            .stdin(Stdio::null()),
    )
    .output(Duration::from_secs(40));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.starts_with("ok 6000"),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.wait_for("the Python clients to go", |s| s.connections == 0);
    server.stop();
}

#[test]
fn nc_can_chat() {
    let Some(nc) = ["nc", "ncat", "netcat"].into_iter().find(|n| {
        Command::new("sh")
            .args(["-c", &format!("command -v {n}")])
            .output()
            .is_ok_and(|o| o.status.success())
    }) else {
        eprintln!("SKIPPED: nc is not installed (apt-get install netcat-openbsd)");
        return;
    };
    let p = start_binary(&[]);
    let mut watcher = Client::join(p.addr(), "watcher");
    let mut nc = Proc::spawn(
        Command::new(nc)
            .args(["127.0.0.1", &p.addr().port().to_string()])
            .stdin(Stdio::piped()),
    );
    let mut stdin = nc.stdin();
    stdin.write_all(b"netcat\nhello from nc\n").unwrap();
    watcher.next_is("* netcat joined");
    watcher.next_is("<netcat> hello from nc");
    // nc's stdout, line by line; it ends when nc exits.
    watcher.send("hello nc");
    let mut all = Vec::new();
    while !all
        .iter()
        .any(|l: &String| l.starts_with("<watcher> hello nc"))
    {
        all.push(
            nc.try_line(WAIT)
                .expect("nc never showed the line")
                .expect("nc never showed the line"),
        );
    }
    stdin.write_all(b"/quit\n").unwrap();
    // End of input is not the end of the conversation for nc: it goes on
    // reading until the server closes.
    drop(stdin);
    watcher.next_is("* netcat left");
    // nc exits once the server closes.
    let finished = loop {
        match nc.try_line(WAIT) {
            Ok(Some(line)) => all.push(line),
            Ok(None) => break true,
            Err(common::TimedOut) => break false,
        }
    };
    drop(nc);
    assert!(finished, "nc did not exit: {all:?}");
    assert!(all[0].starts_with("* welcome to asyncore chat"), "{all:?}");
    assert!(
        all.contains(&"* hello netcat; here: watcher. Type /help for commands".to_string()),
        "{all:?}"
    );
    assert_eq!(
        all.last().map(String::as_str),
        Some("* goodbye, netcat"),
        "{all:?}"
    );
    // The raw socket side of the same exchange also half-closes cleanly.
    watcher.w.shutdown(Shutdown::Write).unwrap();
    assert!(watcher.until_eof().is_empty());
}
