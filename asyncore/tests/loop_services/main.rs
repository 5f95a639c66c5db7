//! Integration tests of the loop services of issue 4 ("The loop services
//! asyncore users kept rebuilding"): timers (§1), the cross-thread `Remote`
//! (§2), signals (§3), per-channel deadlines (§4), graceful shutdown (§5),
//! panic isolation (§6), EMFILE on accept (§7) and connection caps (§8).
//!
//! Every test runs on every backend (select, poll, epoll) and names the issue
//! item it checks. Timing assertions are one-sided (never earlier than asked);
//! the few upper bounds are generous and only where the point of the test is
//! "promptly" (a lost wake-up or a long back-off would take far longer).
//! Every loop runs under a deadline ([`bounded`]): a hang fails the test.
//!
//! Tests that touch process-wide state (signal dispositions, resource limits)
//! or measure the process (resident memory) run in a child process: the test
//! binary re-runs itself with only that test selected (see [`in_child`]).
//!
//! One test binary, one module a service: [`timers`], [`remote`],
//! [`signals`], [`deadlines`], [`shutdown`], [`panics`], [`emfile`],
//! [`caps`]; the helpers they share are below, those shared with the other
//! test binaries in `tests/util`.

#[macro_use]
#[path = "../util/mod.rs"]
mod util;
use util::*;

use asyncore_loop::chat::{AsyncChat, Chat, ChatHandler};
use asyncore_loop::View;
use asyncore_loop::{
    Backend, CaptureLog, Cx, Deadline, Dispatcher, EventLoop, Remote, SendBuffer, SockAddr, Socket,
    TimerId, Token, AF_INET, SOCK_DGRAM, SOCK_STREAM,
};
use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

mod caps;
mod deadlines;
mod emfile;
mod panics;
mod remote;
mod shutdown;
mod signals;
mod timers;

// ---- helpers shared by the modules --------------------------------------------

/// `ev.run()`, timed.
fn timed_run<S: 'static>(ev: &mut EventLoop<S>) -> Duration {
    let start = Instant::now();
    ev.run().expect("run failed");
    start.elapsed()
}

/// Reads until end of stream (the peer must close within 5 s).
fn read_to_eof(s: &mut UnixStream) -> Vec<u8> {
    s.set_read_timeout(Some(secs(5))).unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).expect("end of stream within 5 s");
    got
}

/// Waits (up to 5 s) until the other end is closed: end of stream, or a
/// reset (a socket closed with unread input resets the connection).
fn wait_closed(s: &mut UnixStream) {
    s.set_read_timeout(Some(secs(5))).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return,
            Err(e) => panic!("not closed within 5 s: {e}"),
        }
    }
}

/// Reads and discards; closes at end of stream.
struct Plain;

impl<S: 'static> Dispatcher<S> for Plain {
    fn writable(&self, _: &View<'_, S>) -> bool {
        false
    }
    fn handle_read(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        cx.recv(4096)?;
        Ok(())
    }
    fn handle_close(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        cx.close()
    }
}

/// A quiet UDP channel (no traffic, no binding needed) keeping the map non-empty.
fn add_quiet<S: 'static>(ev: &mut EventLoop<S>) -> Token {
    let mut cx = ev.add(Quiet);
    cx.create_socket(AF_INET, SOCK_DGRAM).unwrap();
    cx.token()
}

/// A TCP listener on 127.0.0.1 port 0 whose dispatcher is `d`; its address.
fn listen<S: 'static, D: Dispatcher<S>>(ev: &mut EventLoop<S>, d: D) -> (Token, SockAddr) {
    let mut cx = ev.add(d);
    let addr = util::listen_local(&mut cx, 64);
    (cx.token(), addr.into())
}

fn connect(addr: &SockAddr) -> io::Result<TcpStream> {
    TcpStream::connect(addr.as_socket().unwrap())
}

/// A keep-alive that never fires during a test: the loop's rule keeps it running.
fn keep_alive<S: 'static>(ev: &mut EventLoop<S>) -> TimerId {
    ev.call_every(secs(3600), |_| Ok(()))
}
