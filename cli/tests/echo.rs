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
        let mut buf = [0u8; 1];
        assert_eq!(c.read(&mut buf).unwrap_or(0), 0, "closed at shutdown");
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
