//! The library's own `log` events: state changes at `debug` (added,
//! listening, connecting, accepted, connected, closed and why), interest
//! changes and timers at `trace`, nothing per byte. Descriptor exhaustion is
//! checked with the EMFILE test in `loop_services/emfile.rs`.

#[macro_use]
mod util;
use util::log_records::LogRecorder;
use util::*;

use asyncore_loop::{
    Backend, Cx, Dispatcher, EventLoop, SendBuffer, SockAddr, Socket, TimerId, View, AF_INET,
    SOCK_DGRAM, SOCK_STREAM,
};
use std::io::{self, Read, Write};
use std::time::Duration;

/// Echoes; closes when the peer does.
#[derive(Default)]
struct Echo {
    out: SendBuffer,
}

impl Dispatcher for Echo {
    fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        let data = cx.recv(4096)?;
        self.out.send(cx, &data)
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
}

struct Server;

impl Dispatcher for Server {
    fn handle_accepted(&mut self, cx: &mut Cx<'_>, sock: Socket, _: SockAddr) -> io::Result<()> {
        cx.add(Echo::default()).adopt(sock)?;
        Ok(())
    }
}

/// Connects, then closes itself as soon as the connect completes.
struct HangsUpOnConnect;

impl Dispatcher for HangsUpOnConnect {
    fn handle_connect(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        cx.close()
    }
}

fn listen(ev: &mut EventLoop) -> std::net::SocketAddr {
    util::listen_local(&mut ev.add(Server), 8)
}

fn has(lines: &[String], needle: &str) -> bool {
    lines.iter().any(|l| l.contains(needle))
}

/// A client channel connects to a listener of the same loop and hangs up:
/// each step is one debug line, and each close says why.
fn connection_life_is_logged_at_debug(b: Backend) {
    let rec = LogRecorder::start();
    let mut ev = EventLoop::new().with_backend(b);
    let addr = listen(&mut ev);
    let mut client = ev.add(HangsUpOnConnect);
    client.create_socket(AF_INET, SOCK_STREAM).unwrap();
    client.connect(addr).unwrap();
    let client = client.token();
    run_until(&mut ev, |ev| {
        ev.len() == 1 && has(&rec.library_lines(log::Level::Debug), "closed: the peer")
    });

    let debug = rec.library_lines(log::Level::Debug);
    let port = addr.port();
    for needle in [
        "added: fd",
        &format!("listening on 127.0.0.1:{port}"),
        &format!("connecting to 127.0.0.1:{port}"),
        "accepted fd",
        &format!("{client} connected to 127.0.0.1:{port}"),
        &format!("{client} fd"),
        "closed by its handler",
        "the peer closed the connection",
        "closed: the peer closed the connection",
    ] {
        assert!(has(&debug, needle), "no {needle:?} in {debug:#?}");
    }
    assert_eq!(
        debug.iter().filter(|l| l.contains("added: fd")).count(),
        3,
        "listener, client, accepted channel: {debug:#?}"
    );
}

/// Echoing many messages on an established connection adds no debug line:
/// the events are state changes, not traffic.
fn traffic_is_not_logged_at_debug(b: Backend) {
    let rec = LogRecorder::start();
    let mut ev = EventLoop::new().with_backend(b);
    let addr = listen(&mut ev);
    let mut peer = std::net::TcpStream::connect(addr).unwrap();
    peer.set_read_timeout(Some(secs(5))).unwrap();
    run_until(&mut ev, |ev| ev.len() == 2);
    rec.clear();
    let mut buf = [0u8; 5];
    for _ in 0..50 {
        peer.write_all(b"hello").unwrap();
        run_until(&mut ev, |_| {
            peer.set_nonblocking(true).unwrap();
            let got = peer.peek(&mut buf).is_ok_and(|n| n == 5);
            peer.set_nonblocking(false).unwrap();
            got
        });
        peer.read_exact(&mut buf).unwrap();
    }
    let debug = rec.library_lines(log::Level::Debug);
    assert!(debug.is_empty(), "{debug:#?}");
}

/// A quiet channel that closes when its timer fires.
struct Timed;

impl Dispatcher for Timed {
    fn readable(&self, _: &View<'_>) -> bool {
        false
    }
    fn writable(&self, _: &View<'_>) -> bool {
        false
    }
    fn handle_timer(&mut self, cx: &mut Cx<'_>, _: TimerId) -> io::Result<()> {
        cx.close()
    }
}

/// Timers are traced when set and when they fire; a cancelled one too.
fn timers_are_traced(b: Backend) {
    let rec = LogRecorder::start();
    let mut ev = EventLoop::new().with_backend(b);
    let mut cx = ev.add(Timed);
    cx.create_socket(AF_INET, SOCK_DGRAM).unwrap();
    let cancelled = cx.start_timer(Duration::from_secs(60), false);
    assert!(cx.cancel_timer(cancelled));
    cx.start_timer(ms(5), false);
    let token = cx.token();
    run_until_empty(&mut ev);
    let trace = rec.library_lines(log::Level::Trace);
    for needle in [
        format!("{token} timer {cancelled:?} set for 60s"),
        format!("{token} timer {cancelled:?} cancelled"),
        format!("{token} timer"),
        "fired".to_string(),
    ] {
        assert!(has(&trace, &needle), "no {needle:?} in {trace:#?}");
    }
}

/// On epoll, a change of what the kernel watches is traced (select and poll
/// rebuild their watch set every pass, so there is no change to report).
#[test]
fn epoll_interest_changes_are_traced() {
    let rec = LogRecorder::start();
    let mut ev = EventLoop::new().with_backend(Backend::Epoll);
    listen(&mut ev);
    ev.poll(Some(Duration::ZERO)).unwrap();
    let trace = rec.library_lines(log::Level::Trace);
    assert!(has(&trace, "watching for read (was nothing)"), "{trace:#?}");
}

/// Fails on its first read.
struct FailsOnRead;

impl Dispatcher for FailsOnRead {
    fn handle_read(&mut self, _: &mut Cx<'_>) -> io::Result<()> {
        Err(io::Error::other("boom"))
    }
}

/// Reads and discards.
struct Sink;

impl Dispatcher for Sink {
    fn writable(&self, _: &View<'_>) -> bool {
        false
    }
    fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        cx.recv(64).map(drop)
    }
}

/// The close line names the cause: a handler's error (with the error on the
/// line before), a deadline.
fn close_reasons_are_named(b: Backend) {
    let rec = LogRecorder::start();
    let mut ev = EventLoop::new().with_backend(b);
    let _ = capture(&mut ev); // asyncore's own error line, not on stderr
    let (server, mut peer) = tcp_pair();
    let failing = ev.add(FailsOnRead).adopt(server).unwrap();
    peer.write_all(b"x").unwrap();
    let (server, _quiet_peer) = tcp_pair();
    let mut idle = ev.add(Sink);
    let idle_token = idle.adopt(server).unwrap();
    idle.set_timeout(asyncore_loop::Deadline::Idle, Some(ms(20)));
    run_until_empty(&mut ev);
    let debug = rec.library_lines(log::Level::Debug);
    for needle in [
        format!("{failing} handle_read_event failed: boom"),
        format!("{failing} fd"),
        "closed: a handler failed".to_string(),
        format!("{idle_token} idle deadline passed"),
        "closed: idle timeout".to_string(),
    ] {
        assert!(has(&debug, &needle), "no {needle:?} in {debug:#?}");
    }
}

backend_tests!(
    close_reasons_are_named,
    connection_life_is_logged_at_debug,
    traffic_is_not_logged_at_debug,
    timers_are_traced,
);
