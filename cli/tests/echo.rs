//! `asyncore echo` run as a process: with `--loops 2` (two loops, one
//! thread each, SO_REUSEPORT listeners on one address) and with the default
//! single loop. Every server binds 127.0.0.1 port 0, is killed if it
//! outlives its test, and every wait is bounded.

mod common;

use common::{Proc, WAIT};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitStatus;

/// `asyncore echo` as a process on 127.0.0.1 port 0 (its address from its
/// first line), with `extra` options.
fn start(extra: &[&str]) -> Proc {
    let mut args = vec!["-q", "echo", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    Proc::serve("echo", &args)
}

/// The names of the process's threads.
fn threads(server: &Proc) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(format!("/proc/{}/task", server.id()))
        .unwrap()
        .filter_map(|t| {
            let comm = t.ok()?.path().join("comm");
            Some(std::fs::read_to_string(comm).ok()?.trim().to_string())
        })
        .collect();
    names.sort();
    names
}

/// SIGTERM, then the exit status (killed after `WAIT`).
fn terminate(server: &mut Proc) -> ExitStatus {
    server.terminate();
    server.wait(WAIT)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let c = TcpStream::connect_timeout(&addr, WAIT).expect("connect");
    c.set_read_timeout(Some(WAIT)).unwrap();
    c.set_write_timeout(Some(WAIT)).unwrap();
    c
}

/// `clients` connections open at once, several messages each, every echo
/// exact; then SIGTERM ends the server (exit 0) and closes the connections.
fn echoes_then_terminates(server: &mut Proc, clients: usize) {
    let mut conns: Vec<TcpStream> = (0..clients).map(|_| connect(server.addr())).collect();
    for round in 0..3 {
        for (i, c) in conns.iter_mut().enumerate() {
            c.write_all(format!("round {round} client {i:03}\n").as_bytes())
                .unwrap();
        }
        for (i, c) in conns.iter_mut().enumerate() {
            let want = format!("round {round} client {i:03}\n");
            let mut got = vec![0u8; want.len()];
            c.read_exact(&mut got).expect("the echo");
            assert_eq!(String::from_utf8_lossy(&got), want);
        }
    }
    assert!(terminate(server).success());
    for mut c in conns {
        // The graceful shutdown ends the stream (a timeout is a failure).
        let mut buf = [0u8; 1];
        assert_eq!(
            c.read(&mut buf).expect("end of stream"),
            0,
            "closed at shutdown"
        );
    }
}

#[test]
fn two_loops_echo_for_many_connections_and_stop_on_sigterm() {
    let mut server = start(&["--loops", "2"]);
    assert_eq!(
        threads(&server),
        ["asyncore", "asyncore-echo-0", "asyncore-echo-1"],
        "the main thread and one thread per loop"
    );
    echoes_then_terminates(&mut server, 40);
}

#[test]
fn two_loops_on_every_backend() {
    for backend in ["select", "poll", "epoll"] {
        let mut server = start(&["--loops", "2", "--backend", backend]);
        echoes_then_terminates(&mut server, 8);
    }
}

#[test]
fn one_loop_is_the_default_and_runs_on_the_main_thread() {
    let mut server = start(&[]);
    assert_eq!(threads(&server), ["asyncore"]);
    echoes_then_terminates(&mut server, 8);
}

#[test]
fn bad_loop_counts_are_usage_errors() {
    for n in ["0", "-1", "lots", "1025"] {
        let out = common::run(&["echo", "--listen", "127.0.0.1:0", "--loops", n]);
        assert_eq!(out.status.code(), Some(2), "--loops {n}");
        assert!(out.stdout.is_empty(), "--loops {n}");
    }
}

#[test]
fn an_address_in_use_is_reported_with_exit_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = common::run(&["echo", "--listen", &addr, "--loops", "2"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!("asyncore: cannot listen on {addr}: ")),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_second_server_on_the_same_port_is_refused() {
    // SO_REUSEPORT would let a second `--loops` server join the first's
    // port, and the kernel would split the clients between the two.
    let mut first = start(&["--loops", "2"]);
    let addr = first.addr().to_string();
    for loops in ["2", "1"] {
        let out = common::run(&["echo", "--listen", &addr, "--loops", loops]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "--loops {loops}: {stderr}");
        assert!(
            stderr.starts_with(&format!("asyncore: cannot listen on {addr}: ")),
            "--loops {loops}: {stderr}"
        );
        assert!(stderr.contains("in use"), "--loops {loops}: {stderr}");
    }
    assert!(terminate(&mut first).success());
}

/// `n` deterministic bytes (xorshift), so a dropped or moved byte shows.
fn pattern(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

const TWENTY_MIB: usize = 20 * 1024 * 1024;

/// The soak's finding: a client that sends 20 MiB, shuts down its write
/// side, and only then reads got 4,242,917 bytes back. Now it gets every
/// byte, on every backend. Such a client needs the server to queue what the
/// kernel's buffers cannot hold, so the high-water mark is raised for it.
#[test]
fn half_close_after_20_mib_gets_every_byte_back() {
    let sent = pattern(TWENTY_MIB, 20);
    for backend in ["select", "poll", "epoll"] {
        let mut server = start(&["--backend", backend, "--high-water", "33554432"]);
        let mut c = connect(server.addr());
        c.set_write_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        c.write_all(&sent).unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let mut got = Vec::new();
        c.read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), 20_971_520, "{backend}");
        assert!(got == sent, "{backend}: bytes changed or moved");
        assert!(terminate(&mut server).success());
    }
}

/// With the default high-water mark: a client that reads while it sends and
/// half-closes after its last byte gets all 20 MiB back, then end of stream.
#[test]
fn half_close_under_back_pressure_loses_nothing() {
    let sent = std::sync::Arc::new(pattern(TWENTY_MIB, 21));
    for backend in ["select", "poll", "epoll"] {
        let mut server = start(&["--backend", backend]);
        let mut c = connect(server.addr());
        let mut w = c.try_clone().unwrap();
        let data = std::sync::Arc::clone(&sent);
        let writer = std::thread::spawn(move || {
            w.write_all(&data).unwrap();
            w.shutdown(std::net::Shutdown::Write).unwrap();
        });
        let mut got = Vec::new();
        c.read_to_end(&mut got).unwrap();
        writer.join().unwrap();
        assert_eq!(got.len(), 20_971_520, "{backend}");
        assert!(got[..] == sent[..], "{backend}: bytes changed or moved");
        assert!(terminate(&mut server).success());
    }
}

/// Back-pressure: a client that sends up to 100 MiB and never reads is
/// held back by TCP once the server has queued its high-water mark; the
/// server's resident memory grows by less than 4 MiB.
#[test]
fn a_client_that_never_reads_does_not_grow_the_servers_memory() {
    let mut server = start(&[]);
    let before = common::rss_kib(server.id());
    let mut c = connect(server.addr());
    c.set_nonblocking(true).unwrap();
    let chunk = vec![b'x'; 65536];
    let (mut sent, mut stalled_since) = (0usize, std::time::Instant::now());
    while sent < 100 << 20 && stalled_since.elapsed() < std::time::Duration::from_secs(1) {
        match c.write(&chunk) {
            Ok(n) => {
                sent += n;
                stalled_since = std::time::Instant::now();
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            Err(e) => panic!("send: {e}"),
        }
    }
    let grown = common::rss_kib(server.id()).saturating_sub(before);
    assert!(
        sent < 100 << 20,
        "the server read 100 MiB it could not send"
    );
    assert!(grown < 4096, "RSS grew by {grown} KiB after {sent} bytes");
    drop(c);
    assert!(terminate(&mut server).success());
}

/// A graceful shutdown delivers what was echoed: a client that sent 8 MB
/// without reading (so the server holds queued echo and unread input)
/// reads, after SIGTERM, an exact prefix of what it sent and then the end of
/// the stream, never a reset (closing with unread input sent one, and lost
/// the echo still in flight). The server exits 0 once the client is done.
#[test]
fn shutdown_delivers_the_echo_then_ends_the_stream() {
    for loops in ["1", "2"] {
        let mut server = start(&["--loops", loops]);
        let c = connect(server.addr());
        let sent: Vec<u8> = (0..8u32 << 20).map(|i| (i % 251) as u8).collect();
        let mut w = c.try_clone().expect("clone");
        let to_send = sent.clone();
        let writer = std::thread::spawn(move || {
            let _ = w.write_all(&to_send);
        });
        std::thread::sleep(std::time::Duration::from_millis(500));
        server.terminate();
        let mut got = Vec::new();
        let mut r = c.try_clone().expect("clone");
        let mut buf = vec![0u8; 1 << 16];
        let end = loop {
            match r.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => break Err(e),
            }
        };
        assert!(
            end.is_ok(),
            "loops {loops}: {end:?} after {} bytes",
            got.len()
        );
        assert!(!got.is_empty(), "loops {loops}: nothing echoed");
        assert!(
            got[..] == sent[..got.len()],
            "loops {loops}: the echo differs"
        );
        let _ = c.shutdown(std::net::Shutdown::Both);
        let status = server.wait(WAIT);
        assert!(status.success(), "loops {loops}: {status}");
        let _ = writer.join();
    }
}
