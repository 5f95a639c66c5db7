//! Interop with the reference: CPython 3.11's own asyncore talks to ours.
//!
//! * A CPython asyncore client sends 1 MiB to a Rust echo server and checks
//!   every byte that comes back (AC-EX-2), on every backend.
//! * A Rust client sends 1 MiB to a CPython asyncore echo server and checks
//!   every byte, on every backend.
//! * The seed's HTTP client example (AC-EX-1) fetches a 3 MiB file from
//!   `python3 -m http.server`, byte for byte.
//!
//! If python3 is missing the tests fail: CI installs it.

#[macro_use]
mod util;
use util::Proc;

use asyncore_loop::View;
use asyncore_loop::{
    Backend, Cx, Dispatcher, EventLoop, SendBuffer, SockAddr, Socket, AF_INET, SOCK_STREAM,
};
use std::io;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

#[derive(Default)]
struct EchoHandler {
    out: SendBuffer,
}

impl Dispatcher for EchoHandler {
    fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        let data = cx.recv(65536)?;
        if !data.is_empty() {
            self.out.send(cx, &data)?;
        }
        Ok(())
    }
    fn writable(&self, ch: &View<'_>) -> bool {
        self.out.writable(ch)
    }
    fn handle_write(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        self.out.initiate_send(cx)
    }
    fn handle_close(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        cx.close()
    }
    fn handle_error(&mut self, _cx: &mut Cx<'_>, err: io::Error) -> io::Result<()> {
        Err(err)
    }
}

struct EchoServer;

impl Dispatcher for EchoServer {
    fn handle_accepted(&mut self, cx: &mut Cx<'_>, sock: Socket, _: SockAddr) -> io::Result<()> {
        cx.add(EchoHandler::default()).adopt(sock)?;
        Ok(())
    }
    fn handle_error(&mut self, _cx: &mut Cx<'_>, err: io::Error) -> io::Result<()> {
        Err(err)
    }
}

/// AC-EX-2 against CPython's asyncore client: 1 MiB each way, every byte checked.
fn cpython_client_to_rust_echo_server(b: Backend) {
    let mut ev = EventLoop::new().with_backend(b);
    let port = util::listen_local(&mut ev.add(EchoServer), 5).port();

    // The CPython client (python3 is needed for the interop tests).
    let mut child = Proc::python(
        "asyncore_echo_client.py",
        &["127.0.0.1", &port.to_string(), &MIB.to_string()],
    );
    let status = child.run_loop_until_exit(&mut ev, util::ms(5), util::secs(30));
    let out = child.rest(util::secs(10));
    assert!(status.success(), "CPython client failed: {out}");
    assert_eq!(out.trim(), format!("ok {MIB}"));
}

/// A Rust client that sends `out` and expects it echoed back.
struct EchoClient {
    out: Vec<u8>,
    sent: usize,
    got: Vec<u8>,
    expected: usize,
}

impl Dispatcher<Option<Vec<u8>>> for EchoClient {
    fn handle_connect(&mut self, _cx: &mut Cx<'_, Option<Vec<u8>>>) -> io::Result<()> {
        Ok(())
    }
    fn writable(&self, ch: &View<'_, Option<Vec<u8>>>) -> bool {
        !ch.connected() || self.sent < self.out.len()
    }
    fn handle_write(&mut self, cx: &mut Cx<'_, Option<Vec<u8>>>) -> io::Result<()> {
        self.sent += cx.send(&self.out[self.sent..])?;
        Ok(())
    }
    fn handle_read(&mut self, cx: &mut Cx<'_, Option<Vec<u8>>>) -> io::Result<()> {
        self.got.extend(cx.recv(65536)?);
        if self.got.len() >= self.expected {
            *cx.state() = Some(std::mem::take(&mut self.got));
            cx.close()?;
        }
        Ok(())
    }
    fn handle_close(&mut self, cx: &mut Cx<'_, Option<Vec<u8>>>) -> io::Result<()> {
        cx.close()
    }
    fn handle_error(
        &mut self,
        _cx: &mut Cx<'_, Option<Vec<u8>>>,
        err: io::Error,
    ) -> io::Result<()> {
        Err(err)
    }
}

/// A Rust client against CPython's asyncore echo server: 1 MiB each way.
fn rust_client_to_cpython_echo_server(b: Backend) {
    // The CPython server (python3 is needed for the interop tests).
    let mut child = Proc::python("asyncore_echo_server.py", &[]);
    let port = child.port_line();

    let data = util::pattern(MIB, 7);
    let mut ev = EventLoop::with_state(None).with_backend(b);
    let mut c = ev.add(EchoClient {
        out: data.clone(),
        sent: 0,
        got: Vec::new(),
        expected: MIB,
    });
    c.create_socket(AF_INET, SOCK_STREAM).unwrap();
    c.connect(("127.0.0.1", port)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ev.is_empty() {
        ev.run_loop(Some(Duration::from_millis(50)), Some(1))
            .unwrap();
        assert!(Instant::now() < deadline, "echo did not complete");
    }
    let got = ev
        .state_mut()
        .take()
        .expect("the client never got its echo");
    assert_eq!(got.len(), MIB);
    assert!(got == data, "echoed bytes differ");
    assert!(child.wait(util::secs(10)).success());
}

/// AC-EX-1: the seed's client fetches 3 MiB from `python3 -m http.server`.
#[test]
fn http_client_example_fetches_3_mib_byte_for_byte() {
    let dir = util::temp_path("www");
    std::fs::create_dir_all(&dir).unwrap();
    let body = util::pattern(3 * MIB, 99);
    std::fs::write(dir.join("big.bin"), &body).unwrap();
    let mut server = Proc::spawn(
        Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "0",
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(&dir)
            .stdin(Stdio::null())
            .stderr(Stdio::null()),
    );
    let line = server.line(util::secs(10));
    // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
    let port = line.split_whitespace().nth(5).unwrap().to_string();

    let example = util::example_binary("http_client");
    let out = Command::new(&example)
        .args(["127.0.0.1", &port, "/big.bin"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", example.display()));
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let head_end = out
        .stdout
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap()
        + 4;
    assert!(out.stdout.starts_with(b"HTTP/1.0 200 OK\r\n"));
    let head = String::from_utf8_lossy(&out.stdout[..head_end]);
    assert!(
        head.contains(&format!("Content-Length: {}", 3 * MIB)),
        "{head}"
    );
    assert!(out.stdout[head_end..] == body[..], "body differs");
}

backend_tests!(
    cpython_client_to_rust_echo_server,
    rust_client_to_cpython_echo_server
);
