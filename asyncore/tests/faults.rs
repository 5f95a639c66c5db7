//! Real-socket faults, on every backend: a peer that resets mid-stream
//! (SO_LINGER 0), half-closes, never reads, trickles, floods connects, and a
//! descriptor closed or replaced behind the loop's back. In each, the loop
//! keeps serving a witness connection, the faulty channel costs only
//! itself, and nothing spins. Loopback TCP on port 0; every wait bounded.

#[macro_use]
mod util;

use asyncore_loop::{Backend, EventLoop};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use util::echo::echo_server;
use util::{bounded, ms, pattern, reset, run_until_within, secs};

const HIGH_WATER: usize = 256 << 10;

fn connect(addr: SocketAddr) -> TcpStream {
    let c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(secs(10))).unwrap();
    c.set_write_timeout(Some(secs(10))).unwrap();
    c
}

/// One round trip on a fresh connection: the loop still serves others.
fn witness(addr: SocketAddr) {
    let mut c = connect(addr);
    c.write_all(b"witness").unwrap();
    let mut got = [0u8; 7];
    c.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"witness");
}

/// Sends from a non-blocking `c` until the peer stops taking bytes for
/// `stall` (or `cap` bytes went); returns the bytes sent.
fn send_until_stalled(c: &mut TcpStream, stall: Duration, cap: usize) -> usize {
    c.set_nonblocking(true).unwrap();
    let chunk = vec![7u8; 65536];
    let (mut sent, mut since) = (0, Instant::now());
    while sent < cap && since.elapsed() < stall {
        match c.write(&chunk) {
            Ok(n) => {
                sent += n;
                since = Instant::now();
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(ms(2)),
            Err(e) => panic!("send: {e}"),
        }
    }
    c.set_nonblocking(false).unwrap();
    sent
}

/// Runs the loop until `client` finished and only the listener is left.
fn serve(ev: &mut EventLoop, client: JoinHandle<()>, limit: Duration) {
    let mut client = Some(client);
    run_until_within(ev, limit, |ev| {
        if client.as_ref().is_some_and(|c| c.is_finished()) {
            client.take().unwrap().join().unwrap();
        }
        client.is_none() && ev.len() == 1
    });
}

fn a_peer_that_resets_mid_stream_costs_only_its_channel(b: Backend) {
    bounded(secs(30), move || {
        let (mut ev, _, addr, stats) = echo_server(b, HIGH_WATER);
        let client = thread::spawn(move || {
            let mut victim = connect(addr);
            let sent = send_until_stalled(&mut victim, ms(300), 64 << 20);
            assert!(sent > HIGH_WATER, "{sent}");
            reset(victim);
            witness(addr);
        });
        serve(&mut ev, client, secs(20));
        assert_eq!(stats.accepted.get(), 2);
        assert_eq!(
            stats.closes.get(),
            1,
            "handle_close once, for the reset one"
        );
        assert!(stats.peak.get() <= HIGH_WATER + 65536);
    });
}

fn a_peer_that_half_closes_gets_its_echo(b: Backend) {
    bounded(secs(30), move || {
        let (mut ev, _, addr, _stats) = echo_server(b, HIGH_WATER);
        let client = thread::spawn(move || {
            let mut c = connect(addr);
            let sent = pattern(3 << 20, 3);
            let mut w = c.try_clone().unwrap();
            let data = sent.clone();
            let writer = thread::spawn(move || {
                w.write_all(&data).unwrap();
                w.shutdown(Shutdown::Write).unwrap();
            });
            witness(addr);
            let mut got = Vec::new();
            c.read_to_end(&mut got).unwrap();
            writer.join().unwrap();
            assert!(
                got == sent,
                "{} of {} bytes, or changed",
                got.len(),
                sent.len()
            );
        });
        serve(&mut ev, client, secs(20));
    });
}

fn a_peer_that_never_reads_is_held_back_by_back_pressure(b: Backend) {
    bounded(secs(30), move || {
        let (mut ev, _, addr, stats) = echo_server(b, HIGH_WATER);
        let client = thread::spawn(move || {
            let mut victim = connect(addr);
            let sent = send_until_stalled(&mut victim, ms(300), 64 << 20);
            assert!(sent < 64 << 20, "the server kept reading: {sent} bytes");
            witness(addr);
            drop(victim); // unread echo: the close is a reset
        });
        serve(&mut ev, client, secs(20));
        assert!(
            stats.peak.get() <= HIGH_WATER + 65536,
            "queued {} bytes",
            stats.peak.get()
        );
    });
}

/// A byte a second, three bytes: each is echoed as it comes, and others are
/// served in between.
fn a_trickling_peer_is_served_byte_by_byte(b: Backend) {
    bounded(secs(30), move || {
        let (mut ev, _, addr, _stats) = echo_server(b, HIGH_WATER);
        let client = thread::spawn(move || {
            let mut c = connect(addr);
            for byte in *b"abc" {
                c.write_all(&[byte]).unwrap();
                let mut got = [0u8; 1];
                c.read_exact(&mut got).unwrap();
                assert_eq!(got[0], byte);
                witness(addr);
                thread::sleep(secs(1));
            }
        });
        serve(&mut ev, client, secs(20));
    });
}

/// 300 connections in a burst, half closed with a reset, half with a FIN,
/// none sending: every one is accepted and closed, and the loop serves on.
fn a_connect_flood_leaves_the_loop_serving(b: Backend) {
    bounded(secs(60), move || {
        let (mut ev, _, addr, stats) = echo_server(b, HIGH_WATER);
        let client = thread::spawn(move || {
            for i in 0..300 {
                let c = connect(addr);
                if i % 2 == 0 {
                    reset(c);
                } else {
                    drop(c);
                }
            }
            witness(addr);
        });
        serve(&mut ev, client, secs(40));
        assert_eq!(stats.accepted.get(), 301);
    });
}

/// Thirty passes of at most 10 ms each, and how long they took. With
/// nothing to do, each waits out its 10 ms; a channel reported ready again
/// and again makes them return at once (whether or not a handler runs).
fn thirty_idle_passes(ev: &mut EventLoop) -> Duration {
    let started = Instant::now();
    for _ in 0..30 {
        ev.run_loop(Some(ms(10)), Some(1)).unwrap();
    }
    started.elapsed()
}

/// The descriptor of a served channel is replaced by /dev/null behind the
/// loop's back (dup2): no hang, no spin, the witness is served; select and
/// poll close the channel (its reads fail), epoll stops hearing of it (the
/// kernel dropped its registration with the old file).
fn a_descriptor_replaced_behind_the_loops_back_neither_hangs_nor_spins(b: Backend) {
    bounded(secs(30), move || {
        let (mut ev, _, addr, stats) = echo_server(b, HIGH_WATER);
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let client = thread::spawn(move || {
            let mut victim = connect(addr);
            victim.write_all(b"x").unwrap();
            let mut got = [0u8; 1];
            victim.read_exact(&mut got).unwrap();
            tx.send(()).unwrap();
            // The loop's side is gone: end of stream or a reset here.
            let _ = victim.read(&mut got);
            witness(addr);
        });
        run_until_within(&mut ev, secs(10), |_| rx.try_recv().is_ok());
        let fd = stats.last_fd.get();
        let null = std::fs::File::open("/dev/null").unwrap();
        use std::os::fd::AsRawFd;
        // SAFETY (test): replaces the channel's descriptor with /dev/null;
        // the channel still owns the number, so nothing is closed twice.
        assert!(unsafe { libc::dup2(null.as_raw_fd(), fd) } == fd);
        drop(null);
        let before = stats.events.get();
        let mut client = Some(client);
        run_until_within(&mut ev, secs(20), |_| {
            if client.as_ref().is_some_and(|c| c.is_finished()) {
                client.take().unwrap().join().unwrap();
            }
            client.is_none()
        });
        let idle = thirty_idle_passes(&mut ev);
        let calls = stats.events.get() - before;
        // A few are the witness's end being handled; a spin is one a pass.
        assert!(calls < 30, "{calls} handler calls after the dup2: a spin");
        assert!(idle >= ms(200), "30 passes in {idle:?}: a spin");
        if b != Backend::Epoll {
            assert_eq!(ev.len(), 1, "the broken channel was closed");
        }
    });
}

/// The descriptor of a served channel is closed behind the loop's back: no
/// hang, no spin, the loop serves on; select and poll report it (POLLNVAL)
/// and the channel gets handle_close. In a child process, where no other
/// test can be given the freed number.
fn a_descriptor_closed_behind_the_loops_back_neither_hangs_nor_spins(b: Backend) {
    let name = util::case_in(
        module_path!(),
        "a_descriptor_closed_behind_the_loops_back_neither_hangs_nor_spins",
        b,
    );
    util::in_child(&name, || {
        let (mut ev, _, addr, stats) = echo_server(b, HIGH_WATER);
        // Both connections exist before the close, so the freed number is
        // not reused by them.
        let mut victim = connect(addr);
        let mut other = connect(addr);
        victim.write_all(b"x").unwrap();
        run_until_within(&mut ev, secs(5), |_| stats.events.get() >= 1);
        let mut got = [0u8; 1];
        victim.read_exact(&mut got).unwrap();
        let fd = stats.last_fd.get();
        // SAFETY (test): closes the channel's descriptor behind its back;
        // nothing opens a descriptor until the loop has let go of it.
        assert_eq!(unsafe { libc::close(fd) }, 0);
        let before = stats.events.get();
        let idle = thirty_idle_passes(&mut ev);
        let calls = stats.events.get() - before;
        assert!(calls < 30, "{calls} handler calls after the close: a spin");
        assert!(idle >= ms(200), "30 passes in {idle:?}: a spin");
        if b != Backend::Epoll {
            assert_eq!(stats.closes.get(), 1, "handle_close for the closed one");
            assert_eq!(ev.len(), 2, "the listener and the other connection");
        }
        // The other connection is still served.
        other.set_nonblocking(true).unwrap();
        other.write_all(b"still").unwrap();
        let mut echoed = Vec::new();
        run_until_within(&mut ev, secs(5), |_| {
            let mut buf = [0u8; 16];
            if let Ok(n) = other.read(&mut buf) {
                echoed.extend_from_slice(&buf[..n]);
            }
            echoed == b"still"
        });
        // Re-occupy the number before the loop's socket is dropped (epoll
        // still holds it), so the drop closes /dev/null, not a stranger.
        let null = std::fs::File::open("/dev/null").unwrap();
        use std::os::fd::IntoRawFd;
        let n = null.into_raw_fd();
        if n != fd && b == Backend::Epoll {
            // SAFETY (test): fd is free (closed above); n is ours.
            unsafe { libc::dup2(n, fd) };
        }
        drop(ev);
    });
}

/// A channel whose descriptor was replaced behind the loop's back, whose
/// interest then changes: every backend ends it with `handle_close` (on
/// epoll, the change finds the registration gone and reports POLLNVAL).
fn a_replaced_descriptor_is_closed_once_its_interest_changes(b: Backend) {
    use asyncore_loop::{Cx, Dispatcher, View};
    use std::cell::Cell;
    use std::rc::Rc;
    struct Toggle {
        want_write: bool,
        closes: Rc<Cell<u32>>,
    }
    impl Dispatcher for Toggle {
        fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
            cx.recv(4096).map(drop)
        }
        fn writable(&self, _: &View<'_>) -> bool {
            self.want_write
        }
        fn handle_write(&mut self, _: &mut Cx<'_>) -> io::Result<()> {
            Ok(())
        }
        fn handle_close(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
            self.closes.set(self.closes.get() + 1);
            cx.close()
        }
    }
    bounded(secs(10), move || {
        let closes = Rc::new(Cell::new(0));
        let (sock, _peer) = util::tcp_pair();
        let mut ev = EventLoop::new().with_backend(b);
        let toggle = Toggle {
            want_write: false,
            closes: Rc::clone(&closes),
        };
        let t = ev.add(toggle).adopt(sock).unwrap();
        ev.run_loop(Some(ms(10)), Some(2)).unwrap();
        let fd = ev.channel(t).unwrap().fileno().unwrap();
        let null = std::fs::File::open("/dev/null").unwrap();
        use std::os::fd::AsRawFd;
        // SAFETY (test): replaces the channel's descriptor with /dev/null;
        // the channel still owns the number.
        assert!(unsafe { libc::dup2(null.as_raw_fd(), fd) } == fd);
        ev.with(t, |d: &mut Toggle, _| d.want_write = true);
        for _ in 0..20 {
            ev.run_loop(Some(ms(10)), Some(1)).unwrap();
        }
        assert_eq!(closes.get(), 1, "handle_close once");
        assert!(ev.is_empty());
    });
}

/// Urgent (out-of-band) data that no handler reads: the default
/// `handle_expt` only logs, and the kernel reports urgent data until it is
/// read, so the loop woke at once, pass after pass, for as long as the
/// connection lived (every app on every backend: one `MSG_OOB` byte from a
/// client pinned a core). The loop now discards urgent data the handler
/// left: one exceptional event, then idle passes; the echo goes on. A
/// handler that reads the byte itself still gets it (TC-AC-25).
fn urgent_data_nobody_reads_does_not_spin(b: Backend) {
    bounded(secs(30), move || {
        let (mut ev, _, addr, stats) = echo_server(b, 1 << 20);
        let mut c = connect(addr);
        c.write_all(b"ping").unwrap();
        run_until_within(&mut ev, secs(5), |_| stats.events.get() >= 1);
        let mut got = [0u8; 4];
        c.read_exact(&mut got).unwrap();
        let sock = socket2::SockRef::from(&c);
        assert_eq!(sock.send_out_of_band(b"!").unwrap(), 1);
        // Let the byte arrive, then count: each idle pass waits its 10 ms.
        thread::sleep(ms(50));
        let before = stats.events.get();
        let idle = thirty_idle_passes(&mut ev);
        assert!(idle >= ms(200), "30 passes in {idle:?}: a spin");
        assert_eq!(stats.events.get(), before, "no read or write events");
        // The connection still echoes, and nothing of the byte comes back.
        c.write_all(b"pong").unwrap();
        run_until_within(&mut ev, secs(5), |_| stats.events.get() > before);
        c.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"pong");
    });
}

backend_tests!(
    urgent_data_nobody_reads_does_not_spin,
    a_peer_that_resets_mid_stream_costs_only_its_channel,
    a_peer_that_half_closes_gets_its_echo,
    a_peer_that_never_reads_is_held_back_by_back_pressure,
    a_trickling_peer_is_served_byte_by_byte,
    a_connect_flood_leaves_the_loop_serving,
    a_descriptor_replaced_behind_the_loops_back_neither_hangs_nor_spins,
    a_descriptor_closed_behind_the_loops_back_neither_hangs_nor_spins,
    a_replaced_descriptor_is_closed_once_its_interest_changes,
);
