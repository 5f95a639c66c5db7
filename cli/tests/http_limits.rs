//! `asyncore http`'s limits: oversized request lines and heads, the head
//! deadline against slowloris, the idle keep-alive timeout, the connection
//! cap, a slow reader of a large file (server memory sampled from /proc),
//! and a short wrk smoke.

mod common;

use common::http_client::Client;
use common::{open_fds, reset, rss_kib, tempdir, Proc, TempDir, WAIT};
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn serve(root: &Path, args: &[&str]) -> Proc {
    common::serve_http(root, true, args).0
}

fn site() -> TempDir {
    let root = tempdir("http-limits");
    std::fs::write(root.join("a.txt"), "small").unwrap();
    root
}

#[test]
fn oversized_request_lines_are_414_and_heads_431() {
    let root = site();
    let p = serve(&root, &[]);
    // Just under the request line limit: an ordinary 404.
    let mut c = Client::connect(p.addr());
    let path = format!("/{}", "x".repeat(8000));
    assert_eq!(c.get(&path).status, 404);
    // Over it, even before the line ends: 414 and closed.
    let mut c = Client::connect(p.addr());
    c.send(format!("GET /{} HTTP/1.1", "x".repeat(9000)).as_bytes());
    let r = c.read(false).unwrap();
    assert_eq!((r.status, r.header("connection")), (414, Some("close")));
    assert!(c.closed());
    // The same sent whole, empty line included (read where it lies).
    let mut c = Client::connect(p.addr());
    c.send(format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "x".repeat(9000)).as_bytes());
    let r = c.read(false).unwrap();
    assert_eq!((r.status, r.header("connection")), (414, Some("close")));
    assert!(c.closed());
    let mut c = Client::connect(p.addr());
    let pad = format!("X-Pad: {}\r\n", "p".repeat(1000)).repeat(40);
    c.send(format!("GET /a.txt HTTP/1.1\r\nHost: t\r\n{pad}\r\n").as_bytes());
    assert_eq!(c.read(false).unwrap().status, 431);
    assert!(c.closed());
    // A head over 32 KiB: 431, even if it never ends.
    let mut c = Client::connect(p.addr());
    c.send(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n");
    for _ in 0..40 {
        c.send(format!("X-Pad: {}\r\n", "p".repeat(1000)).as_bytes());
    }
    assert_eq!(c.read(false).unwrap().status, 431);
    assert!(c.closed());
    // 101 fields: 431.
    let mut c = Client::connect(p.addr());
    let mut raw = b"GET /a.txt HTTP/1.1\r\nHost: t\r\n".to_vec();
    for i in 0..100 {
        raw.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    raw.extend_from_slice(b"\r\n");
    c.send(&raw);
    assert_eq!(c.read(false).unwrap().status, 431);
    // 100 fields are fine.
    let mut c = Client::connect(p.addr());
    let mut raw = b"GET /a.txt HTTP/1.1\r\nHost: t\r\n".to_vec();
    for i in 0..99 {
        raw.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    raw.extend_from_slice(b"\r\n");
    c.send(&raw);
    assert_eq!(c.read(false).unwrap().status, 200);
}

#[test]
fn slowloris_gets_408_while_others_are_served() {
    let root = site();
    let p = serve(&root, &["--header-timeout", "1"]);
    let mut slow = std::net::TcpStream::connect(p.addr()).unwrap();
    slow.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    slow.write_all(b"GET /a.txt HTTP/1.1\r\n").unwrap();
    let began = Instant::now();
    let mut c = Client::connect(p.addr());
    let mut answer = Vec::new();
    // One header byte every 100 ms: never idle, never complete.
    while began.elapsed() < Duration::from_secs(6) {
        if slow.write_all(b"X").is_err() {
            break;
        }
        let t = Instant::now();
        assert_eq!(c.get("/a.txt").body, b"small");
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "others are slowed down"
        );
        let mut buf = [0u8; 512];
        match slow.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = slow.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = slow.read_to_end(&mut answer);
    let elapsed = began.elapsed();
    assert!(
        answer.starts_with(b"HTTP/1.1 408 Request Timeout\r\n"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    // The deadline is checked at most a header timeout late.
    assert!(
        elapsed < Duration::from_millis(3500),
        "closed after {elapsed:?}"
    );
}

// A request answered before its body arrived (a POST: 405) whose body
// never completes: the connection closes at the header timeout with no
// second response. A 408 after the 405 would be read by a keep-alive
// client as the answer to its next request.
#[test]
fn an_unfinished_body_after_its_answer_closes_without_a_408() {
    let root = site();
    let p = serve(&root, &["--header-timeout", "1"]);
    let mut c = std::net::TcpStream::connect(p.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(b"POST /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n0123456789")
        .unwrap();
    let began = Instant::now();
    let mut answer = Vec::new();
    let _ = c.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 405 "), "{text}");
    assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "one response: {text}");
    assert!(
        began.elapsed() < Duration::from_millis(3500),
        "closed after {:?}",
        began.elapsed()
    );
}

#[test]
fn idle_keep_alive_connections_close_after_the_timeout() {
    let root = site();
    let p = serve(
        &root,
        &["--keep-alive-timeout", "0.5", "--header-timeout", "0.5"],
    );
    let mut c = Client::connect(p.addr());
    assert_eq!(c.get("/a.txt").status, 200);
    let t = Instant::now();
    assert!(c.closed());
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    // A connection that never sends anything closes too, silently.
    let mut s = std::net::TcpStream::connect(p.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut rest = Vec::new();
    assert!(s.read_to_end(&mut rest).is_ok());
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
}

#[test]
fn past_max_connections_newcomers_get_503() {
    let root = site();
    let p = serve(&root, &["--max-connections", "2"]);
    let mut a = Client::connect(p.addr());
    let mut b = Client::connect(p.addr());
    assert_eq!(a.get("/a.txt").status, 200);
    assert_eq!(b.get("/a.txt").status, 200);
    let mut third = Client::connect(p.addr());
    let r = third.read(false).unwrap();
    assert_eq!((r.status, r.header("retry-after")), (503, Some("1")));
    assert!(third.closed());
    drop(a);
    // Once one leaves, a newcomer is served again.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut d = Client::connect(p.addr());
        d.send(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
        if d.read(false).unwrap().status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "still refused");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(b.get("/a.txt").status, 200);
}

#[test]
fn slow_reader_of_a_large_file_keeps_memory_flat() {
    let root = site();
    // 1 GiB, sparse: costs no disk, reads as zeros.
    let f = std::fs::File::create(root.join("big.bin")).unwrap();
    f.set_len(1 << 30).unwrap();
    drop(f);
    let p = serve(&root, &[]);
    let pid = p.id();
    let mut warm = Client::connect(p.addr());
    assert_eq!(warm.get("/a.txt").status, 200);
    let before = rss_kib(pid);
    let mut slow = std::net::TcpStream::connect(p.addr()).unwrap();
    // A server that stopped sending fails the test, not hangs it.
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // 16 KiB every 20 ms or so: the server's send buffer stays full.
    slow.write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut buf = vec![0u8; 16 << 10];
    let mut got = 0usize;
    let mut peak = before;
    let began = Instant::now();
    while began.elapsed() < Duration::from_secs(3) {
        got += slow.read(&mut buf).unwrap();
        peak = peak.max(rss_kib(pid));
        // Others are served promptly meanwhile.
        let t = Instant::now();
        assert_eq!(warm.get("/a.txt").body, b"small");
        assert!(t.elapsed() < Duration::from_secs(1));
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "slow reader: {got} bytes read in 3 s; server RSS {before} KiB before, peak {peak} KiB"
    );
    assert!(got > 0 && got < (1 << 30));
    assert!(
        peak < before + 8 * 1024,
        "RSS grew from {before} KiB to {peak} KiB while {got} bytes were read"
    );
}

/// Clients that start a large download, read a little and go (a reset, or
/// a close with the answer unread, which the kernel also answers with a
/// reset): each connection and its open file are let go at once, with no
/// spin, on every backend (`ASYNCORE_BACKEND`). On select the server kept
/// both until the send timeout (60 s), writable and failing every send.
#[test]
fn aborted_downloads_are_let_go_at_once() {
    let root = site();
    let f = std::fs::File::create(root.join("big.bin")).unwrap();
    f.set_len(64 << 20).unwrap();
    drop(f);
    let p = serve(&root, &[]);
    let pid = p.id();
    let mut warm = Client::connect(p.addr());
    assert_eq!(warm.get("/a.txt").status, 200);
    let baseline = open_fds(pid);
    for i in 0..20 {
        let mut c = std::net::TcpStream::connect(p.addr()).unwrap();
        c.set_read_timeout(Some(WAIT)).unwrap();
        c.write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let mut buf = vec![0u8; 64 << 10];
        let mut got = 0;
        while got < 100 << 10 {
            got += c.read(&mut buf).unwrap();
        }
        if i % 2 == 0 {
            reset(c);
        } else {
            drop(c);
        }
    }
    let began = Instant::now();
    while open_fds(pid) > baseline {
        assert!(
            began.elapsed() < Duration::from_secs(5),
            "{} descriptors open, {baseline} before the downloads",
            open_fds(pid)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Still serving.
    assert_eq!(warm.get("/a.txt").body, b"small");
}

/// A file cut short while it is being sent: the connection closes before
/// the promised Content-Length (the client can tell), never a short body
/// that looks whole or a hang; other clients are served.
#[test]
fn a_file_that_shrinks_while_sent_closes_the_connection() {
    let root = site();
    let path = root.join("shrinks.bin");
    std::fs::write(&path, vec![b'x'; 64 << 20]).unwrap();
    let p = serve(&root, &[]);
    let mut c = std::net::TcpStream::connect(p.addr()).unwrap();
    c.set_read_timeout(Some(WAIT)).unwrap();
    c.write_all(b"GET /shrinks.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut buf = vec![0u8; 64 << 10];
    let mut got = c.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..got]).contains("Content-Length: 67108864"));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    loop {
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => panic!("no end of stream after {got} bytes: {e}"),
        }
    }
    assert!(got < 64 << 20, "{got} bytes: the whole file");
    let mut other = Client::connect(p.addr());
    assert_eq!(other.get("/a.txt").body, b"small");
}

#[test]
fn wrk_smoke() {
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("wrk_smoke: wrk is not installed (bash .ci/run installs it); skipped");
        return;
    }
    let root = site();
    std::fs::write(root.join("k.html"), "k".repeat(1024)).unwrap();
    let p = serve(&root, &[]);
    let out = Command::new("timeout")
        .args(["20", "wrk", "-t1", "-c8", "-d1s"])
        .arg(format!("http://{}/k.html", p.addr()))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        !text.contains("Non-2xx") && !text.contains("Socket errors"),
        "{text}"
    );
    let requests: u64 = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .unwrap_or(0);
    eprintln!("wrk smoke: {requests} requests");
    assert!(requests > 100, "{text}");
}
