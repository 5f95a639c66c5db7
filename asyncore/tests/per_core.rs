//! Integration tests of `per_core` (issue 6, "Multi-core"): several loops,
//! one thread each, each with its own SO_REUSEPORT listener on one address.
//!
//! Every behaviour test runs on every backend (`backend_tests!`), binds
//! 127.0.0.1 port 0, and runs under a deadline ([`bounded`]); the loops are
//! always shut down and joined with a time limit, so a test stops by itself.

#[macro_use]
mod util;

use asyncore_loop::View;
use asyncore_loop::{
    reuse_port_listener, Backend, Cx, Dispatcher, LoopGroup, Pinning, ReusePortAddr, SendBuffer,
    SockAddr, Socket,
};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

// ---- helpers ------------------------------------------------------------------

/// Generous bound for one client operation or one join.
const WAIT: Duration = Duration::from_secs(5);

/// Per-loop counters, written by the loops and read by the test.
struct Stats {
    accepted: Vec<AtomicUsize>,
    echoed: Vec<AtomicUsize>,
}

impl Stats {
    fn new(loops: usize) -> Arc<Stats> {
        let zeros = || (0..loops).map(|_| AtomicUsize::new(0)).collect();
        Arc::new(Stats {
            accepted: zeros(),
            echoed: zeros(),
        })
    }

    fn accepted(&self) -> Vec<usize> {
        self.accepted
            .iter()
            .map(|n| n.load(Ordering::SeqCst))
            .collect()
    }

    fn echoed(&self) -> Vec<usize> {
        self.echoed
            .iter()
            .map(|n| n.load(Ordering::SeqCst))
            .collect()
    }
}

/// An echo connection that counts, per loop, the reads it echoed. With
/// `stubborn`, it ignores `handle_shutdown` (the loop must close it at the
/// grace deadline).
struct Echo {
    out: SendBuffer,
    index: usize,
    stats: Arc<Stats>,
    stubborn: bool,
}

impl Dispatcher for Echo {
    fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        let data = cx.recv(8192)?;
        if !data.is_empty() {
            self.stats.echoed[self.index].fetch_add(1, Ordering::SeqCst);
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
    fn handle_shutdown(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        if self.stubborn {
            Ok(())
        } else {
            cx.close()
        }
    }
}

struct Listener {
    index: usize,
    stats: Arc<Stats>,
    stubborn: bool,
}

impl Dispatcher for Listener {
    fn handle_accepted(&mut self, cx: &mut Cx<'_>, sock: Socket, _: SockAddr) -> io::Result<()> {
        self.stats.accepted[self.index].fetch_add(1, Ordering::SeqCst);
        cx.add(Echo {
            out: SendBuffer::new(),
            index: self.index,
            stats: Arc::clone(&self.stats),
            stubborn: self.stubborn,
        })
        .adopt(sock)?;
        Ok(())
    }
}

/// `loops` echo loops on backend `b`, sharing one address on 127.0.0.1 port 0.
fn echo_group(b: Backend, loops: usize, stubborn: bool) -> (LoopGroup, SocketAddr, Arc<Stats>) {
    let addr = Arc::new(ReusePortAddr::new(([127, 0, 0, 1], 0)).with_backlog(1024));
    let stats = Stats::new(loops);
    let (a, s) = (Arc::clone(&addr), Arc::clone(&stats));
    let group = LoopGroup::builder(loops)
        .backend(b)
        .start(move |index, ev| {
            assert_eq!(ev.backend(), b);
            a.add_listener(
                ev,
                Listener {
                    index,
                    stats: Arc::clone(&s),
                    stubborn,
                },
            )?;
            Ok(())
        })
        .expect("start the loops");
    let bound = addr.local_addr().expect("the listeners are bound");
    assert_ne!(bound.port(), 0);
    (group, bound, stats)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let c = TcpStream::connect_timeout(&addr, WAIT).expect("connect");
    c.set_read_timeout(Some(WAIT)).unwrap();
    c.set_write_timeout(Some(WAIT)).unwrap();
    c
}

/// Sends `msg` on `c` and reads back exactly as many bytes.
fn echo_on(c: &mut TcpStream, msg: &[u8]) -> Vec<u8> {
    c.write_all(msg).expect("send");
    let mut got = vec![0u8; msg.len()];
    c.read_exact(&mut got).expect("read the echo");
    got
}

/// Shuts the group down and joins it within `WAIT`; every loop must end `Ok`.
fn shut_down(group: LoopGroup, grace: Duration) {
    group.shutdown(grace);
    for (i, r) in group.join_timeout(grace + WAIT).into_iter().enumerate() {
        if let Err(e) = r {
            panic!("loop {i} ended with an error: {e}");
        }
    }
}

// ---- serving ------------------------------------------------------------------

/// Three loops on one SO_REUSEPORT address: connections come in until each
/// loop has accepted one and echoed on it; every echo is exact.
fn every_loop_serves_an_echo(b: Backend) {
    util::bounded(Duration::from_secs(30), move || {
        let (group, addr, stats) = echo_group(b, 3, false);
        let mut n = 0;
        while stats.echoed().contains(&0) {
            assert!(
                n < 500,
                "500 connections and a loop never served one: {:?}",
                stats.accepted()
            );
            let mut c = connect(addr);
            let msg = format!("hello {n}");
            assert_eq!(echo_on(&mut c, msg.as_bytes()), msg.as_bytes());
            n += 1;
        }
        assert!(stats.accepted().iter().all(|&a| a > 0));
        shut_down(group, Duration::from_secs(1));
    });
}

/// 200 connections open at once over two loops: the kernel spreads them
/// (each loop gets some), every one is accepted exactly once and echoes.
fn connections_are_spread_over_the_loops(b: Backend) {
    util::bounded(Duration::from_secs(30), move || {
        let (group, addr, stats) = echo_group(b, 2, false);
        let mut clients: Vec<TcpStream> = (0..200).map(|_| connect(addr)).collect();
        for (i, c) in clients.iter_mut().enumerate() {
            c.write_all(format!("message {i:03}").as_bytes()).unwrap();
        }
        for (i, c) in clients.iter_mut().enumerate() {
            let mut got = vec![0u8; 11];
            c.read_exact(&mut got).expect("read the echo");
            assert_eq!(got, format!("message {i:03}").as_bytes());
        }
        let accepted = stats.accepted();
        assert_eq!(accepted.iter().sum::<usize>(), 200, "{accepted:?}");
        assert!(accepted.iter().all(|&a| a > 0), "not spread: {accepted:?}");
        assert!(
            stats.echoed().iter().all(|&e| e > 0),
            "{:?}",
            stats.echoed()
        );
        shut_down(group, Duration::from_secs(1));
    });
}

/// Each loop runs on its own thread, and its `Remote` reaches that thread.
fn remotes_reach_each_loop_on_its_thread(b: Backend) {
    util::bounded(Duration::from_secs(30), move || {
        let (group, _addr, _stats) = echo_group(b, 2, false);
        let (tx, rx) = mpsc::channel();
        for i in 0..group.loop_count() {
            let tx = tx.clone();
            group
                .remote(i)
                .expect("loop set up")
                .post(move |_cx| {
                    let t = thread::current();
                    let _ = tx.send((i, t.id(), t.name().map(str::to_string)));
                    Ok(())
                })
                .unwrap();
        }
        let mut seen: Vec<_> = (0..2).map(|_| rx.recv_timeout(WAIT).unwrap()).collect();
        seen.sort_by_key(|s| s.0);
        assert_ne!(seen[0].1, seen[1].1);
        assert_ne!(seen[0].1, thread::current().id());
        assert_eq!(seen[0].2.as_deref(), Some("asyncore-loop-0"));
        assert_eq!(seen[1].2.as_deref(), Some("asyncore-loop-1"));
        shut_down(group, Duration::from_secs(1));
    });
}

// ---- shutting down ------------------------------------------------------------

/// `shutdown(grace)` ends every loop and `join` returns `Ok` for each: the
/// listeners close (new connections are refused), and connections whose
/// handler ignores `handle_shutdown` are closed at the grace deadline, not
/// before and not much after.
fn shutdown_ends_every_loop_within_the_grace(b: Backend) {
    util::bounded(Duration::from_secs(30), move || {
        let (group, addr, stats) = echo_group(b, 2, true);
        let mut clients = Vec::new();
        while stats.accepted().contains(&0) || clients.len() < 10 {
            assert!(clients.len() < 500, "a loop never accepted");
            let mut c = connect(addr);
            assert_eq!(echo_on(&mut c, b"ping"), b"ping");
            clients.push(c);
        }
        let grace = Duration::from_millis(300);
        let start = Instant::now();
        group.shutdown(grace);
        let results = group.join_timeout(grace + WAIT);
        let took = start.elapsed();
        assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
        assert!(took >= grace, "the loops ended before the grace: {took:?}");
        assert!(took < grace + Duration::from_secs(3), "took {took:?}");
        for mut c in clients {
            let mut buf = [0u8; 1];
            match c.read(&mut buf) {
                Ok(0) => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
                other => panic!("the connection is still open: {other:?}"),
            }
        }
        let refused = TcpStream::connect_timeout(&addr, WAIT).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
    });
}

/// Dropping the group without joining shuts the loops down: their
/// listeners go away.
fn dropping_the_group_shuts_the_loops_down(b: Backend) {
    util::bounded(Duration::from_secs(30), move || {
        let (group, addr, _stats) = echo_group(b, 2, false);
        let mut c = connect(addr);
        assert_eq!(echo_on(&mut c, b"x"), b"x");
        drop(group);
        let mut buf = [0u8; 1];
        // End of stream or a reset; a read timeout is a failure.
        match c.read(&mut buf) {
            Ok(0) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            other => panic!("not closed by the shutdown: {other:?}"),
        }
        let deadline = Instant::now() + WAIT;
        while TcpStream::connect_timeout(&addr, WAIT).is_ok() {
            assert!(Instant::now() < deadline, "still accepting");
            thread::sleep(Duration::from_millis(5));
        }
    });
}

// ---- failures -----------------------------------------------------------------

/// A loop whose setup fails does not run; the others do; `join` reports
/// the failure (here: its address is taken by a socket without
/// SO_REUSEPORT) with its OS error.
fn a_failed_setup_is_reported_by_join(b: Backend) {
    util::bounded(Duration::from_secs(30), move || {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let taken_addr = taken.local_addr().unwrap();
        let addr = Arc::new(ReusePortAddr::new(([127, 0, 0, 1], 0)));
        let stats = Stats::new(2);
        let (a, s) = (Arc::clone(&addr), Arc::clone(&stats));
        let group = LoopGroup::builder(2)
            .backend(b)
            .start(move |index, ev| {
                if index == 1 {
                    reuse_port_listener(taken_addr, 16)?;
                }
                let listener = Listener {
                    index,
                    stats: Arc::clone(&s),
                    stubborn: false,
                };
                a.add_listener(ev, listener)?;
                Ok(())
            })
            .unwrap();
        assert!(group.remote(0).is_some());
        assert!(group.remote(1).is_none(), "loop 1 failed its setup");
        // Loop 0 serves on its own.
        let mut c = connect(addr.local_addr().unwrap());
        assert_eq!(echo_on(&mut c, b"still here"), b"still here");
        group.shutdown(Duration::ZERO);
        let results = group.join_timeout(WAIT);
        assert!(results[0].is_ok(), "{:?}", results[0]);
        let err = results[1].as_ref().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        assert_eq!(stats.accepted(), [1, 0]);
        drop(taken);
    });
}

/// A panicking setup closure is reported by `join` as an error naming the
/// loop and the panic; the caller does not panic and the other loop runs.
fn a_panicking_setup_is_reported_as_an_error(b: Backend) {
    util::bounded(Duration::from_secs(30), move || {
        let addr = Arc::new(ReusePortAddr::new(([127, 0, 0, 1], 0)));
        let stats = Stats::new(2);
        let (a, s) = (Arc::clone(&addr), Arc::clone(&stats));
        let group = LoopGroup::builder(2)
            .backend(b)
            .start(move |index, ev| {
                if index == 0 {
                    panic!("setup exploded");
                }
                let listener = Listener {
                    index,
                    stats: Arc::clone(&s),
                    stubborn: false,
                };
                a.add_listener(ev, listener)?;
                Ok(())
            })
            .unwrap();
        assert!(group.remote(0).is_none());
        let mut c = connect(addr.local_addr().unwrap());
        assert_eq!(echo_on(&mut c, b"ok"), b"ok");
        group.shutdown(Duration::ZERO);
        let results = group.join_timeout(WAIT);
        let err = results[0].as_ref().unwrap_err().to_string();
        assert!(err.contains("loop 0 panicked during its setup"), "{err}");
        assert!(err.contains("setup exploded"), "{err}");
        assert!(results[1].is_ok(), "{:?}", results[1]);
    });
}

/// A panic that escapes a running loop (panic isolation turned off) ends
/// that loop only, and `join` reports it as an error.
fn a_panic_in_a_running_loop_is_reported_as_an_error(b: Backend) {
    util::bounded(Duration::from_secs(30), move || {
        let group = LoopGroup::builder(2)
            .backend(b)
            .start(|index, ev| {
                ev.set_catch_panics(false);
                if index == 1 {
                    ev.call_later(Duration::from_millis(1), |_| panic!("boom in a timer"));
                } else {
                    ev.call_every(Duration::from_secs(60), |_| Ok(()));
                }
                Ok(())
            })
            .unwrap();
        // Loop 1 ends by itself; loop 0 is still running until shut down.
        let remote0 = group.remote(0).unwrap().clone();
        thread::sleep(Duration::from_millis(20));
        remote0.post(|_| Ok(())).expect("loop 0 is alive");
        group.shutdown(Duration::ZERO);
        let results = group.join_timeout(WAIT);
        assert!(results[0].is_ok(), "{:?}", results[0]);
        let err = results[1].as_ref().unwrap_err().to_string();
        assert!(err.contains("loop 1 panicked during its run"), "{err}");
        assert!(err.contains("boom in a timer"), "{err}");
    });
}

backend_tests!(
    every_loop_serves_an_echo,
    connections_are_spread_over_the_loops,
    remotes_reach_each_loop_on_its_thread,
    shutdown_ends_every_loop_within_the_grace,
    dropping_the_group_shuts_the_loops_down,
    a_failed_setup_is_reported_by_join,
    a_panicking_setup_is_reported_as_an_error,
    a_panic_in_a_running_loop_is_reported_as_an_error,
);

// ---- listeners and pinning (no loop backend involved) -------------------------

#[test]
fn reuse_port_addr_resolves_port_zero_once_for_concurrent_openers() {
    let addr = Arc::new(ReusePortAddr::new(([127, 0, 0, 1], 0)));
    let openers: Vec<_> = (0..4)
        .map(|_| {
            let a = Arc::clone(&addr);
            thread::spawn(move || a.open().unwrap().local_addr().unwrap().as_socket().unwrap())
        })
        .collect();
    let got: Vec<SocketAddr> = openers.into_iter().map(|t| t.join().unwrap()).collect();
    let bound = addr.local_addr().unwrap();
    assert_ne!(bound.port(), 0);
    assert!(got.iter().all(|a| *a == bound), "{got:?} vs {bound}");
}

#[test]
fn a_plain_listener_cannot_join_a_reuse_port_address() {
    // SO_REUSEPORT only groups sockets that all set it.
    let first = reuse_port_listener("127.0.0.1:0".parse().unwrap(), 16).unwrap();
    let addr = first.local_addr().unwrap().as_socket().unwrap();
    let err = std::net::TcpListener::bind(addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
}

#[test]
fn zero_loops_is_refused() {
    let err = LoopGroup::builder(0).start(|_, _| Ok(())).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let err = LoopGroup::builder(1)
        .pinning(Pinning::Cpus(vec![]))
        .start(|_, _| Ok(()))
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

/// The CPUs this process may run on.
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: an all-zero cpu_set_t is the empty set; sched_getaffinity
    // writes at most its size; CPU_ISSET reads inside it for cpu < 1024.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        assert_eq!(
            libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set),
            0
        );
        (0..1024).filter(|&c| libc::CPU_ISSET(c, &set)).collect()
    }
}

/// `Pinning::Spread` puts loop i on the i-th allowed CPU (wrapping), before
/// its setup runs.
#[test]
fn spread_pinning_puts_each_loop_on_its_cpu() {
    let allowed = allowed_cpus();
    let loops = allowed.len() + 1; // one more than CPUs: the last one wraps
    let (tx, rx) = mpsc::channel();
    let group = LoopGroup::builder(loops)
        .pinning(Pinning::Spread)
        .start(move |index, _ev| {
            // SAFETY: sched_getcpu has no preconditions.
            let cpu = unsafe { libc::sched_getcpu() };
            let _ = tx.send((index, cpu as usize));
            Ok(())
        })
        .unwrap();
    assert!(group.join_timeout(WAIT).iter().all(|r| r.is_ok()));
    let mut seen: Vec<(usize, usize)> = rx.try_iter().collect();
    seen.sort();
    let want: Vec<(usize, usize)> = (0..loops)
        .map(|i| (i, allowed[i % allowed.len()]))
        .collect();
    assert_eq!(seen, want);
}

/// A CPU the process may not use fails that loop's setup; `join` says so.
#[test]
fn pinning_to_an_unusable_cpu_is_a_setup_error() {
    let allowed = allowed_cpus();
    let bad = (0..1024).rev().find(|c| !allowed.contains(c)).unwrap();
    let group = LoopGroup::builder(2)
        .pinning(Pinning::Cpus(vec![allowed[0], bad]))
        .start(|_, _| Ok(()))
        .unwrap();
    assert!(group.remote(0).is_some());
    assert!(group.remote(1).is_none());
    let results = group.join_timeout(WAIT);
    assert!(results[0].is_ok());
    assert!(results[1].is_err());
}
