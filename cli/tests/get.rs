//! `asyncore get` against real servers: `python3 -m http.server`, a small
//! Python server for chunked, close-delimited and broken responses, and
//! Rust threads for the failures. Every server binds port 0 on loopback,
//! every wait has a deadline, and every server stops by itself (or is
//! killed, by its own handle, when its test ends).

mod common;

use asyncore_cli::get::{exit, fetch, GetOptions};

/// In-process fetches run on the suite's backend (`common::backend`).
fn test_options() -> GetOptions {
    GetOptions {
        backend: common::backend(),
        ..GetOptions::default()
    }
}
use asyncore_loop::Backend;
use common::{random_bytes, Proc};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

// ---- helpers ------------------------------------------------------------------

/// A temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "asyncore-get-{tag}-{}-{:?}",
            std::process::id(),
            Instant::now()
        ));
        let path = PathBuf::from(path.to_string_lossy().replace(
            |c: char| !c.is_ascii_alphanumeric() && c != '/' && c != '-',
            "_",
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    fn file(&self, name: &str, data: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, data).expect("write test file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A Python server: `python3 -u ARGS`, once it has said "Serving HTTP on
/// ... port N" (within 20 s); [`Proc::addr`] is then 127.0.0.1:N. Killed (by
/// its own handle) when dropped.
fn py_server(args: &[&str]) -> Proc {
    let mut server = Proc::spawn(
        Command::new("python3")
            .arg("-u")
            .args(args)
            .stdin(Stdio::null()),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let port = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match server.try_line(left) {
            Ok(Some(line)) => {
                if let Some(port) = serving_port(&line) {
                    break port;
                }
            }
            Ok(None) | Err(_) => panic!("python3 {args:?} did not say where it serves"),
        }
    };
    server.set_addr(SocketAddr::from(([127, 0, 0, 1], port)));
    server
}

/// The URL of `path` on a [`py_server`].
fn py_url(server: &Proc, path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", server.addr().port())
}

/// "Serving HTTP on 127.0.0.1 port 41234 (http://...) ..." → 41234.
fn serving_port(line: &str) -> Option<u16> {
    let rest = line.strip_prefix("Serving HTTP on ")?;
    let after = rest.split(" port ").nth(1)?;
    after.split_whitespace().next()?.parse().ok()
}

fn chunked_server(dir: &Path) -> Proc {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/chunked_server.py");
    py_server(&[script, dir.to_str().expect("utf-8 temp dir")])
}

fn stderr_text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts success and an empty stderr (no progress bar off a terminal).
fn assert_ok(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr_text(out));
    assert!(out.stderr.is_empty(), "stderr: {}", stderr_text(out));
}

/// Asserts success of a download to `path`: stderr is the one summary line.
fn assert_saved(out: &Output, path: &Path) {
    let err = stderr_text(out);
    assert_eq!(out.status.code(), Some(0), "stderr: {err}");
    let size = std::fs::metadata(path).expect("the output file").len();
    let want = format!("saved {}: {size} bytes in ", path.display());
    assert!(err.starts_with(&want), "{err:?} is not {want:?}...");
    assert!(err.trim_end().ends_with("/s)"), "{err:?}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

/// Asserts exit `code` and exactly one `asyncore: ...` line containing `what`.
fn assert_fails(out: &Output, code: u8, what: &str) {
    let err = stderr_text(out);
    assert_eq!(out.status.code(), Some(i32::from(code)), "stderr: {err}");
    assert!(err.starts_with("asyncore: "), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains(what), "{err:?} lacks {what:?}");
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"));
}

/// A one-connection server thread: records the request head, answers with
/// `response`, then closes. Returns its address and the request.
fn one_shot(bind: &str, response: Vec<u8>) -> Option<(SocketAddr, mpsc::Receiver<String>)> {
    let listener = TcpListener::bind(bind).ok()?;
    let addr = listener.local_addr().ok()?;
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = listener.set_nonblocking(false);
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
            let head = read_head(&mut s);
            let _ = s.write_all(&response);
            let _ = tx.send(head);
        }
    });
    Some((addr, rx))
}

fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

// ---- python3 -m http.server ---------------------------------------------------

#[test]
fn http_server_byte_exact_to_stdout_and_file() {
    let dir = TempDir::new("httpserver");
    let data = random_bytes(4 * 1024 * 1024 + 123, 7);
    dir.file("big.bin", &data);
    let server = py_server(&[
        "-m",
        "http.server",
        "0",
        "--bind",
        "127.0.0.1",
        "--directory",
        dir.0.to_str().expect("utf-8 temp dir"),
    ]);
    let url = py_url(&server, "/big.bin");

    let out = common::run(&["get", &url]);
    assert_ok(&out);
    assert!(out.stdout == data, "stdout differs from the file");

    let target = dir.0.join("copy.bin");
    let out = common::run(&["get", &url, "-o", target.to_str().expect("utf-8")]);
    assert_saved(&out, &target);
    assert!(out.stdout.is_empty());
    assert!(std::fs::read(&target).expect("output file") == data);
    std::fs::remove_file(&target).expect("remove");
    let out = common::run(&["get", "-s", &url, "-o", target.to_str().expect("utf-8")]);
    assert_ok(&out); // -s: no summary line
    assert!(std::fs::read(&target).expect("output file") == data);
    assert!(!dir.0.join("copy.bin.part").exists());

    let out = common::run(&["get", "-i", &url, "--backend", "poll"]);
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout[..200]);
    assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
    assert!(text.contains(&format!("Content-Length: {}\r\n", data.len())));
    assert!(out.stdout.ends_with(&data));
    let head_len = out.stdout.len() - data.len();
    assert!(out.stdout[..head_len].ends_with(b"\r\n\r\n"));

    let out = common::run(&["get", &py_url(&server, "/no-such-file")]);
    assert_fails(&out, exit::HTTP_STATUS, "HTTP error: HTTP/1.0 404");
    assert!(out.stdout.is_empty());
}

// ---- the chunked server ---------------------------------------------------------

#[test]
fn chunked_close_and_length_framings_are_byte_exact() {
    let dir = TempDir::new("framings");
    let data = random_bytes(3 * 1024 * 1024 + 17, 11);
    dir.file("data.bin", &data);
    dir.file("small.bin", b"0123456789");
    dir.file("empty.bin", b"");
    let server = chunked_server(&dir.0);
    for mode in ["chunked", "close", "length", "interim"] {
        let out = common::run(&["get", &py_url(&server, &format!("/{mode}/data.bin"))]);
        assert_ok(&out);
        assert!(out.stdout == data, "{mode}: body differs");
        for name in ["small.bin", "empty.bin"] {
            let body = std::fs::read(dir.0.join(name)).expect("read");
            let out = common::run(&["get", &py_url(&server, &format!("/{mode}/{name}"))]);
            assert_ok(&out);
            assert_eq!(out.stdout, body, "{mode}/{name}");
        }
    }
    // -i writes the interim heads too, as curl -i does (compared with curl
    // itself where it is installed).
    let url = py_url(&server, "/interim/small.bin");
    let out = common::run(&["get", "-i", &url]);
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.starts_with(
            "HTTP/1.1 100 Continue\r\n\r\n\
             HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n\
             HTTP/1.1 200 OK\r\n"
        ),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\n0123456789"), "{text}");
    if let Ok(curl) = std::process::Command::new("curl")
        .args(["-sS", "--noproxy", "*", "-i", &url])
        .output()
    {
        assert!(curl.status.success(), "curl: {curl:?}");
        assert_eq!(text, String::from_utf8_lossy(&curl.stdout), "as curl -i");
    }

    let target = dir.0.join("chunked-copy.bin");
    let out = common::run(&[
        "get",
        "-o",
        target.to_str().expect("utf-8"),
        &py_url(&server, "/chunked/data.bin"),
    ]);
    assert_saved(&out, &target);
    assert!(std::fs::read(&target).expect("output file") == data);

    // In-process: the trailers and the head are reported.
    for backend in [Backend::Select, Backend::Poll, Backend::Epoll] {
        let opts = GetOptions {
            backend,
            ..GetOptions::default()
        };
        let mut body = Vec::new();
        let r = fetch(&py_url(&server, "/chunked/data.bin"), &opts, &mut body).expect("fetch");
        assert!(body == data, "{backend:?}");
        assert_eq!(r.head.status, 200);
        assert_eq!(r.head.header("transfer-encoding"), Some("chunked"));
        assert_eq!(r.body_len, data.len() as u64);
        let length = data.len().to_string();
        assert_eq!(
            r.trailers,
            [("X-Body-Length".to_string(), length)],
            "{backend:?}"
        );
    }
}

#[test]
fn error_status_writes_nothing() {
    let dir = TempDir::new("status");
    let server = chunked_server(&dir.0);
    let url = py_url(&server, "/missing");
    let out = common::run(&["get", "-i", &url]);
    assert_fails(&out, exit::HTTP_STATUS, "HTTP/1.1 404 Not Found");
    assert!(out.stdout.is_empty());
    let target = dir.0.join("never.bin");
    let out = common::run(&["get", &url, "-o", target.to_str().expect("utf-8")]);
    assert_fails(&out, exit::HTTP_STATUS, "404");
    assert!(!target.exists() && !dir.0.join("never.bin.part").exists());
}

// `-o` onto a symlink writes through it, as curl does: the link stays, its
// target gets the body (through a `.part` beside the target), and the same
// for `-o DIR/` where the URL's name is a link.
#[test]
fn output_through_a_symlink() {
    let dir = TempDir::new("symlink");
    let data = random_bytes(100_000, 7);
    dir.file("data.bin", &data);
    let server = chunked_server(&dir.0);
    let url = py_url(&server, "/length/data.bin");
    std::fs::create_dir(dir.0.join("real")).expect("mkdir");
    let target = dir.file("real/target.bin", b"old");
    let link = dir.0.join("link.bin");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let out = common::run(&["get", "-s", &url, "-o", link.to_str().expect("utf-8")]);
    assert_ok(&out);
    let meta = std::fs::symlink_metadata(&link).expect("the link");
    assert!(meta.file_type().is_symlink(), "the link was replaced");
    assert_eq!(std::fs::read(&target).expect("the target"), data);
    let left: Vec<_> = std::fs::read_dir(dir.0.join("real")).expect("ls").collect();
    assert_eq!(left.len(), 1, "a .part was left: {left:?}");
}

// `-o` onto a dangling symlink creates its target, as curl does, but only
// once a body comes: an error status leaves nothing behind.
#[test]
fn output_through_a_dangling_symlink() {
    let dir = TempDir::new("dangling");
    let data = random_bytes(5_000, 11);
    dir.file("data.bin", &data);
    let server = chunked_server(&dir.0);
    let target = dir.0.join("made.bin");
    let link = dir.0.join("link.bin");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let out = common::run(&[
        "get",
        "-s",
        &py_url(&server, "/missing"),
        "-o",
        link.to_str().expect("utf-8"),
    ]);
    assert_fails(&out, exit::HTTP_STATUS, "404");
    assert!(!target.exists(), "a 404 created the link's target");
    let url = py_url(&server, "/length/data.bin");
    let out = common::run(&["get", "-s", &url, "-o", link.to_str().expect("utf-8")]);
    assert_ok(&out);
    assert_eq!(std::fs::read(&target).expect("the target"), data);
    assert!(std::fs::symlink_metadata(&link)
        .expect("the link")
        .is_symlink());
}

// `-o` onto something that is not a regular file (a FIFO here; /dev/null and
// /dev/stdout likewise) writes into it: it is never replaced by a file.
#[test]
fn output_into_a_fifo() {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let dir = TempDir::new("fifo");
    let data = random_bytes(300_000, 9);
    dir.file("data.bin", &data);
    let server = chunked_server(&dir.0);
    let url = py_url(&server, "/chunked/data.bin");
    let fifo = dir.0.join("pipe");
    let c_path = std::ffi::CString::new(fifo.to_str().expect("utf-8")).expect("no NUL");
    // SAFETY: a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "mkfifo");
    // Opened without blocking before the writer comes, read by a thread.
    let mut reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .expect("open the FIFO");
    let got = thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        let (mut body, mut buf, mut writer_seen) = (Vec::new(), [0u8; 65536], false);
        while Instant::now() < deadline {
            match reader.read(&mut buf) {
                Ok(0) if writer_seen => break,
                Ok(0) => thread::sleep(Duration::from_millis(5)),
                Ok(n) => {
                    writer_seen = true;
                    body.extend_from_slice(&buf[..n]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    writer_seen = true;
                    thread::sleep(Duration::from_millis(1));
                }
                Err(e) => panic!("reading the FIFO: {e}"),
            }
        }
        body
    });
    let out = common::run(&["get", "-s", &url, "-o", fifo.to_str().expect("utf-8")]);
    let body = got.join().expect("the reader");
    assert_ok(&out);
    let meta = std::fs::symlink_metadata(&fifo).expect("the FIFO");
    assert!(
        meta.file_type().is_fifo(),
        "the FIFO was replaced by a file"
    );
    assert_eq!(body.len(), data.len());
    assert!(body == data, "the body differs");
    assert!(!dir.0.join("pipe.part").exists());
}

#[test]
fn truncated_and_malformed_bodies_exit_8() {
    let dir = TempDir::new("broken");
    let data = random_bytes(300_000, 5);
    dir.file("data.bin", &data);
    let server = chunked_server(&dir.0);

    let out = common::run(&["get", &py_url(&server, "/truncated/data.bin")]);
    assert_fails(&out, exit::BAD_RESPONSE, "after 150000 of 300000 bytes");
    assert_eq!(out.stdout, &data[..150_000]);

    let out = common::run(&["get", &py_url(&server, "/truncated-chunked/data.bin")]);
    assert_fails(&out, exit::BAD_RESPONSE, "ended inside a chunk");

    let out = common::run(&["get", &py_url(&server, "/badchunk")]);
    assert_fails(&out, exit::BAD_RESPONSE, "bad chunk size");

    // With -o, a failed download leaves no file behind.
    let target = dir.0.join("partial.bin");
    let out = common::run(&[
        "get",
        &py_url(&server, "/truncated/data.bin"),
        "-o",
        target.to_str().expect("utf-8"),
    ]);
    assert_fails(&out, exit::BAD_RESPONSE, "truncated");
    assert!(!target.exists() && !dir.0.join("partial.bin.part").exists());
}

// ---- failures ---------------------------------------------------------------------

#[test]
fn bad_urls_exit_3() {
    for url in [
        "example.com/x",
        "ftp://example.com/",
        "http://",
        "http://host:99999/",
        "http://exa mple.com/",
        "http://[::1/",
    ] {
        let out = common::run(&["get", url]);
        assert_fails(&out, exit::BAD_URL, "bad URL");
    }
    // A bad URL creates no output file.
    let dir = TempDir::new("badurl");
    let target = dir.0.join("x");
    let out = common::run(&["get", "nonsense", "-o", target.to_str().expect("utf-8")]);
    assert_fails(&out, exit::BAD_URL, "bad URL");
    assert!(!target.exists() && !dir.0.join("x.part").exists());
}

#[test]
fn unresolvable_host_exits_4() {
    let out = common::run(&["get", "http://nonexistent.invalid/", "--timeout", "20"]);
    assert_fails(&out, exit::RESOLVE, "cannot resolve nonexistent.invalid");
}

#[test]
fn refused_exits_5() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    }; // closed here: nothing listens on the port any more
    let out = common::run(&["get", &format!("http://127.0.0.1:{port}/")]);
    assert_fails(&out, exit::CONNECT, "Connection refused");
}

#[test]
fn silent_server_times_out_with_exit_6() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let server = thread::spawn(move || {
        // Accept, read nothing, answer nothing, until the test is over.
        let conn = listener.accept();
        let _ = done_rx.recv_timeout(Duration::from_secs(30));
        drop(conn);
    });
    let start = Instant::now();
    let out = common::run(&["get", &format!("http://{addr}/"), "--timeout", "1"]);
    let took = start.elapsed();
    assert_fails(&out, exit::TIMEOUT, "timed out");
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_secs(15), "{took:?}");
    let _ = done_tx.send(());
    server.join().expect("server thread");
}

#[test]
fn stall_in_the_middle_of_the_body_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let server = thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
            read_head(&mut s);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst part");
            let _ = done_rx.recv_timeout(Duration::from_secs(30));
        }
    });
    let opts = GetOptions {
        timeout: Duration::from_millis(500),
        ..test_options()
    };
    let mut body = Vec::new();
    let e = fetch(&format!("http://{addr}/"), &opts, &mut body).expect_err("must time out");
    assert_eq!(e.code, exit::TIMEOUT, "{e}");
    assert!(e.message.contains("nothing from"), "{e}");
    assert_eq!(body, b"first part", "what arrived was written");
    let _ = done_tx.send(());
    server.join().expect("server thread");
}

// ---- addresses and the request ---------------------------------------------------

#[test]
fn request_head_over_ipv4() {
    let (addr, request) = one_shot(
        "127.0.0.1:0",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc".to_vec(),
    )
    .expect("bind 127.0.0.1");
    let mut body = Vec::new();
    let url = format!("http://{addr}/some/path?q=1&r=%20#fragment");
    let r = fetch(&url, &test_options(), &mut body).expect("fetch");
    assert_eq!(body, b"abc");
    assert_eq!(r.peer, Some(addr));
    let head = request
        .recv_timeout(Duration::from_secs(10))
        .expect("request");
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        head,
        format!(
            "GET /some/path?q=1&r=%20 HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: asyncore-get/{version}\r\n\
             Accept: */*\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n"
        )
    );
}

// A path outside ASCII goes out percent-encoded, as curl sends it.
#[test]
fn non_ascii_path_is_sent_percent_encoded() {
    let (addr, request) = one_shot(
        "127.0.0.1:0",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
    )
    .expect("bind 127.0.0.1");
    let mut body = Vec::new();
    let url = format!("http://{addr}/caf\u{e9}?q=\u{fc}");
    fetch(&url, &test_options(), &mut body).expect("fetch");
    let head = request
        .recv_timeout(Duration::from_secs(10))
        .expect("request");
    assert!(
        head.starts_with("GET /caf%C3%A9?q=%C3%BC HTTP/1.1\r\n"),
        "{head}"
    );
}

// A 101 Switching Protocols that nobody asked for is not a response to
// write out: exit 8, where it used to be 0 with nothing written.
#[test]
fn an_unasked_101_is_a_bad_response() {
    let (addr, _request) = one_shot(
        "127.0.0.1:0",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
            .to_vec(),
    )
    .expect("bind 127.0.0.1");
    let out = common::run(&["get", "-s", &format!("http://{addr}/x")]);
    assert_fails(&out, exit::BAD_RESPONSE, "101 Switching Protocols");
    assert!(out.stdout.is_empty());
}

#[test]
fn ipv6_literal() {
    let Some((addr, request)) = one_shot(
        "[::1]:0",
        b"HTTP/1.0 200 OK\r\nServer: v6\r\n\r\nover IPv6".to_vec(),
    ) else {
        eprintln!("skipped: cannot bind [::1] (no IPv6 loopback)");
        return;
    };
    let url = format!("http://[::1]:{}/x", addr.port());
    let out = common::run(&["get", "-i", &url]);
    assert_ok(&out);
    assert_eq!(
        out.stdout,
        b"HTTP/1.0 200 OK\r\nServer: v6\r\n\r\nover IPv6"
    );
    let head = request
        .recv_timeout(Duration::from_secs(10))
        .expect("request");
    assert!(head.starts_with("GET /x HTTP/1.1\r\n"), "{head}");
    assert!(
        head.contains(&format!("\r\nHost: [::1]:{}\r\n", addr.port())),
        "{head}"
    );
}

#[test]
fn host_name_resolved_off_the_loop() {
    // "localhost" may give ::1 before 127.0.0.1: a refused ::1 must then
    // move on to the next address.
    let (addr, _request) = one_shot(
        "127.0.0.1:0",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n".to_vec(),
    )
    .expect("bind 127.0.0.1");
    let out = common::run(&["get", &format!("http://localhost:{}/", addr.port())]);
    assert_ok(&out);
    assert_eq!(out.stdout, b"hi");
}

// ---- redirects, request options, --max-time, output forms -----------------------

fn redirect_server() -> Proc {
    py_server(&[concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/py/redirect_server.py"
    )])
}

#[test]
fn redirects_are_followed_with_dash_l() {
    let server = redirect_server();
    let url = |path: &str| py_url(&server, path);
    for path in ["/a/b/relative", "/absolute", "/chain/5"] {
        for backend in ["select", "poll", "epoll"] {
            let out = common::run(&["get", "-L", &url(path), "--backend", backend]);
            assert_ok(&out);
            assert_eq!(out.stdout, b"the target\n", "{path} {backend}");
        }
    }
    // In-process: where it ended, after how many hops.
    let opts = GetOptions {
        follow: true,
        ..test_options()
    };
    let mut body = Vec::new();
    let r = fetch(&url("/chain/3"), &opts, &mut body).expect("fetch");
    assert_eq!((r.redirects, r.url.as_str()), (4, &*url("/file.txt")));
    assert_eq!(body, b"the target\n");
    // A 3xx without Location is an answer like any other.
    let out = common::run(&["get", &url("/no-location")]);
    assert_ok(&out);
    assert_eq!(out.stdout, b"no location\n");
}

#[test]
fn without_dash_l_a_redirect_is_reported_and_only_its_head_written_with_dash_i() {
    let server = redirect_server();
    let dir = TempDir::new("noredirect");
    let target = dir.0.join("page.html");
    let out = common::run(&[
        "get",
        &py_url(&server, "/absolute"),
        "-o",
        target.to_str().expect("utf-8"),
    ]);
    let location = format!("Location: {}", py_url(&server, "/file.txt"));
    assert_fails(&out, exit::REDIRECT, &location);
    assert!(stderr_text(&out).contains("301 Moved Permanently"));
    assert!(!target.exists() && !dir.0.join("page.html.part").exists());
    // A relative Location is shown resolved. With -i the redirect's head
    // is written (as curl -i), never its body.
    let out = common::run(&["get", "-i", &py_url(&server, "/a/b/relative")]);
    assert_fails(&out, exit::REDIRECT, &location);
    let text = String::from_utf8(out.stdout).expect("utf-8 head");
    assert!(text.starts_with("HTTP/1.1 302 Found\r\n"), "{text}");
    assert!(text.contains("\r\nLocation: ../../file.txt\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\n"), "no body: {text:?}");
    // So does -I.
    let out = common::run(&["get", "-I", &py_url(&server, "/absolute")]);
    assert_fails(&out, exit::REDIRECT, &location);
    let text = String::from_utf8(out.stdout).expect("utf-8 head");
    assert!(
        text.starts_with("HTTP/1.1 301 Moved Permanently\r\n"),
        "{text}"
    );
    assert!(
        text.contains("X-Method: HEAD\r\n") && text.ends_with("\r\n\r\n"),
        "{text}"
    );
    // Without -i or -I, nothing at all.
    let out = common::run(&["get", &py_url(&server, "/absolute")]);
    assert_fails(&out, exit::REDIRECT, &location);
    assert!(out.stdout.is_empty());
}

#[test]
fn redirect_loops_and_long_chains_stop_at_the_limit() {
    let server = redirect_server();
    let start = Instant::now();
    let out = common::run(&["get", "-L", &py_url(&server, "/loop")]);
    assert_fails(&out, exit::REDIRECT, "too many redirects: stopped after 20");
    assert!(start.elapsed() < Duration::from_secs(30));
    let out = common::run(&[
        "get",
        "-L",
        "--max-redirs",
        "3",
        &py_url(&server, "/chain/5"),
    ]);
    assert_fails(&out, exit::REDIRECT, "stopped after 3");
    let out = common::run(&[
        "get",
        "-L",
        "--max-redirs",
        "6",
        &py_url(&server, "/chain/5"),
    ]);
    assert_ok(&out);
    // A redirect to https is followed; this server speaks plain HTTP on
    // that port, so the TLS handshake fails (exit 5, one line).
    let out = common::run(&["get", "-L", &py_url(&server, "/to-https")]);
    assert_fails(&out, exit::CONNECT, "TLS error");
}

#[test]
fn head_request_writes_the_head_and_keeps_the_method_across_redirects() {
    let server = redirect_server();
    let out = common::run(&["get", "-I", &py_url(&server, "/file.txt")]);
    assert_ok(&out);
    let text = String::from_utf8(out.stdout).expect("utf-8 head");
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("X-Method: HEAD\r\n"), "{text}");
    assert!(text.contains("Content-Length: 11\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\n"), "no body: {text:?}");
    // 307, 303 (and 308, 301, 302 alike): HEAD stays HEAD, GET stays GET.
    // Each hop's head is written in turn (as curl -IL and -iL), no
    // redirect's body.
    let statuses = |text: &str| -> Vec<String> {
        text.split("\r\n")
            .filter(|line| line.starts_with("HTTP/1."))
            .map(|line| line[9..12].to_string())
            .collect()
    };
    let out = common::run(&["get", "-I", "-L", &py_url(&server, "/chain/2")]);
    assert_ok(&out);
    let text = String::from_utf8(out.stdout).expect("utf-8 head");
    assert_eq!(statuses(&text), ["307", "307", "303", "200"], "{text}");
    assert!(text.starts_with("HTTP/1.1 307 "), "{text}");
    assert_eq!(text.matches("X-Method: HEAD\r\n").count(), 4, "{text}");
    assert!(
        text.ends_with("\r\n\r\n") && !text.contains("moved"),
        "{text}"
    );
    let out = common::run(&["get", "-i", "-L", &py_url(&server, "/chain/2")]);
    assert_ok(&out);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(statuses(&text), ["307", "307", "303", "200"], "{text}");
    assert_eq!(text.matches("X-Method: GET\r\n").count(), 4, "{text}");
    assert!(!text.contains("moved"), "no redirect body: {text}");
    assert!(text.ends_with("\r\n\r\nthe target\n"), "{text}");
}

#[test]
fn request_headers_and_user_agent_reach_the_server() {
    let server = redirect_server();
    let out = common::run(&[
        "get",
        &py_url(&server, "/headers"),
        "-H",
        "X-Probe: one",
        "-H",
        "X-Other:two words",
        "-A",
        "probe/1.0",
        "-H",
        "Accept:",
    ]);
    assert_ok(&out);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("X-Probe: one\n"), "{text}");
    assert!(text.contains("X-Other: two words\n"), "{text}");
    assert!(text.contains("User-Agent: probe/1.0\n"), "{text}");
    assert!(!text.contains("Accept:"), "Accept: removed: {text}");
    assert!(text.contains("Accept-Encoding: identity\n"), "{text}");
    // Credentials stay with the first host across a redirect; the rest follow.
    let out = common::run(&[
        "get",
        "-L",
        &py_url(&server, "/other-host"),
        "-H",
        "Authorization: Bearer secret",
        "-H",
        "X-Probe: kept",
    ]);
    assert_ok(&out);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("X-Probe: kept\n"), "{text}");
    assert!(!text.contains("secret"), "{text}");
    assert!(
        text.contains(&format!("Host: localhost:{}\n", server.addr().port())),
        "{text}"
    );
    // A malformed header is a usage error.
    let out = common::run(&["get", &py_url(&server, "/headers"), "-H", "no colon"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn max_time_bounds_a_trickling_server() {
    let server = redirect_server();
    let dir = TempDir::new("trickle");
    let target = dir.0.join("slow.bin");
    let start = Instant::now();
    let out = common::run(&[
        "get",
        "--max-time",
        "2",
        "--timeout",
        "30",
        &py_url(&server, "/trickle"),
        "-o",
        target.to_str().expect("utf-8"),
    ]);
    let took = start.elapsed();
    assert_fails(&out, exit::TIMEOUT, "--max-time");
    assert!(took >= Duration::from_millis(1900), "{took:?}");
    assert!(took < Duration::from_secs(15), "{took:?}");
    assert!(!target.exists() && !dir.0.join("slow.bin.part").exists());
}

#[test]
fn output_to_a_directory_and_to_dash() {
    let server = redirect_server();
    let dir = TempDir::new("outdir");
    let slash = format!("{}/", dir.0.display());
    let out = common::run(&["get", &py_url(&server, "/file.txt?v=1"), "-o", &slash]);
    let saved = dir.0.join("file.txt");
    assert_saved(&out, &saved);
    assert_eq!(std::fs::read(&saved).expect("saved"), b"the target\n");
    // An existing directory without the slash means the same.
    std::fs::remove_file(&saved).expect("remove");
    let out = common::run(&[
        "get",
        &py_url(&server, "/file.txt"),
        "-o",
        dir.0.to_str().unwrap(),
    ]);
    assert_saved(&out, &saved);
    // `-o -` is stdout.
    let out = common::run(&["get", &py_url(&server, "/file.txt"), "-o", "-"]);
    assert_ok(&out);
    assert_eq!(out.stdout, b"the target\n");
    assert!(!std::path::Path::new("-").exists());
}

#[test]
fn output_directory_without_a_file_name_is_refused_before_connecting() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let dir = TempDir::new("noname");
    let slash = format!("{}/", dir.0.display());
    let addr = listener.local_addr().expect("addr");
    for path in ["/", "/dir/"] {
        let out = common::run(&["get", &format!("http://{addr}{path}"), "-o", &slash]);
        assert_fails(&out, 2, "has no file name");
    }
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "nothing may connect"
    );
    assert_eq!(std::fs::read_dir(&dir.0).expect("dir").count(), 0);
}

#[test]
fn a_closed_stdout_ends_quietly_with_141() {
    let server = redirect_server();
    // As a shell runs `asyncore get URL | head -c 10`.
    let script = r#""$0" get "$1" | head -c 10 > /dev/null; echo "status ${PIPESTATUS[0]}""#;
    let p = Proc::spawn(
        Command::new("bash")
            .args(["-c", script, common::BIN, &py_url(&server, "/big")])
            .stdin(Stdio::null()),
    );
    let out = p.output(Duration::from_secs(60));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "status 141\n");
    assert!(out.stderr.is_empty(), "quietly: {}", stderr_text(&out));
}
