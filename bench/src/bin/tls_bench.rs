//! TLS echo benchmark (issue 13): `asyncore echo --tls-cert` against the
//! reference TLS echo on the same TLS library (`peer_rustls_mio`: rustls +
//! mio), with this binary as the TLS load generator (rustls + mio, one
//! thread, pinned to CPU 1; the server pinned to CPU 0).
//!
//! ```text
//! cargo build --release -p asyncore-cli -p asyncore-bench
//! target/release/tls_bench [--rounds 3] [--duration 5] [--smoke]
//! ```
//!
//! Scenarios: (a) 64 B, 100 connections, 1 in flight; (c) 16 KiB, 10
//! connections, 1 in flight; (h) handshakes: 16 slots of connect, full TLS
//! 1.3 handshake (no resumption), one 64 B message, close_notify, close.
//! Per run: messages (or handshakes) per second and the server's CPU per
//! message (utime+stime from /proc over exactly the window). Prints a
//! Markdown table of medians and ratios to the reference.

use asyncore_bench::net;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    rounds: usize,
    warmup: f64,
    duration: f64,
    smoke: bool,
    /// Only these scenarios (letters: a, c, h).
    only: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        rounds: 3,
        warmup: 1.0,
        duration: 5.0,
        smoke: false,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let value = match arg.as_str() {
            "--smoke" => None,
            _ => it.next(),
        };
        let num = || {
            value
                .as_deref()
                .and_then(|v| v.parse::<f64>().ok())
                .expect("a number")
        };
        match arg.as_str() {
            "--rounds" => a.rounds = num() as usize,
            "--duration" => a.duration = num(),
            "--warmup" => a.warmup = num(),
            "--smoke" => a.smoke = true,
            "--scenarios" => a.only = value.clone(),
            _ => panic!("usage: tls_bench [--rounds N] [--duration SECS] [--warmup SECS] [--scenarios a,c,h] [--smoke]"),
        }
    }
    if a.smoke {
        (a.rounds, a.warmup, a.duration) = (1, 0.2, 0.5);
    }
    a
}

fn client_config(ca: &Path) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("ca") {
        roots.add(cert.expect("ca cert")).expect("root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    // Every handshake a full one.
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

struct Server {
    id: &'static str,
    cmd: Vec<String>,
}

fn servers(bin: &Path, certs: &Path) -> Vec<Server> {
    let (cert, key) = (
        certs.join("cert.pem").display().to_string(),
        certs.join("key.pem").display().to_string(),
    );
    vec![
        Server {
            id: "rustls+mio",
            cmd: vec![
                bin.join("peer_rustls_mio").display().to_string(),
                "127.0.0.1:0".into(),
                cert.clone(),
                key.clone(),
            ],
        },
        Server {
            id: "asyncore epoll",
            cmd: vec![
                bin.join("asyncore").display().to_string(),
                "-q".into(),
                "--backend".into(),
                "epoll".into(),
                "echo".into(),
                "--listen".into(),
                "127.0.0.1:0".into(),
                "--tls-cert".into(),
                cert,
                "--tls-key".into(),
                key,
            ],
        },
    ]
}

/// Starts `server`, pinned to CPU 0; its process and address.
fn start(server: &Server) -> io::Result<(Child, SocketAddr)> {
    let mut child = Command::new(&server.cmd[0])
        .args(&server.cmd[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let out = child.stdout.take().expect("piped");
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line)?;
    let addr = line
        .trim()
        .rsplit("listening on ")
        .next()
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| io::Error::other(format!("{}: {line:?}", server.id)))?;
    net::pin_process(child.id(), 0);
    Ok((child, addr))
}

/// One client connection of the load.
struct Conn {
    stream: TcpStream,
    tls: ClientConnection,
    /// Plaintext bytes still expected back for the message in flight.
    expect: usize,
}

impl Conn {
    fn open(poll: &Poll, addr: SocketAddr, config: &Arc<ClientConfig>, token: usize) -> Conn {
        let mut stream = TcpStream::connect(addr).expect("connect");
        poll.registry()
            .register(
                &mut stream,
                Token(token),
                Interest::READABLE | Interest::WRITABLE,
            )
            .expect("register");
        let name = ServerName::try_from("localhost").expect("name");
        let tls = ClientConnection::new(config.clone(), name).expect("client");
        Conn {
            stream,
            tls,
            expect: 0,
        }
    }

    fn send(&mut self, msg: &[u8]) {
        self.tls.writer().write_all(msg).expect("plaintext");
        self.expect = msg.len();
    }

    /// Flushes records, reads what arrived; the plaintext bytes received, or
    /// `None` when the connection ended.
    fn pump(&mut self, buf: &mut [u8]) -> Option<usize> {
        let mut got = 0;
        loop {
            while self.tls.wants_write() {
                match self.tls.write_tls(&mut self.stream) {
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::NotConnected
                        ) =>
                    {
                        break
                    }
                    Err(_) => return None,
                }
            }
            match self.tls.read_tls(&mut self.stream) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::NotConnected
                    ) =>
                {
                    return Some(got)
                }
                Err(_) => return None,
            }
            self.tls.process_new_packets().ok()?;
            loop {
                match self.tls.reader().read(buf) {
                    Ok(0) => return None,
                    Ok(n) => got += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => return None,
                }
            }
        }
    }
}

/// One load run: echo (`slots` connections kept) or handshakes (`churn`:
/// each connection carries one message, then closes). Returns completions
/// per second and the server's CPU µs per completion.
fn load(
    addr: SocketAddr,
    pid: u32,
    slots: usize,
    size: usize,
    churn: bool,
    a: &Args,
) -> (f64, f64) {
    let config = client_config(&certs_dir().join("ca.pem"));
    let mut poll = Poll::new().expect("poll");
    let mut events = Events::with_capacity(1024);
    let msg = vec![b'x'; size];
    let mut buf = vec![0u8; 65536];
    let mut conns: Vec<Conn> = (0..slots)
        .map(|i| {
            let mut c = Conn::open(&poll, addr, &config, i);
            c.send(&msg);
            c
        })
        .collect();
    let start = Instant::now();
    let (window_start, end) = (
        start + Duration::from_secs_f64(a.warmup),
        start + Duration::from_secs_f64(a.warmup + a.duration),
    );
    let (mut done, mut counted, mut cpu0) = (0u64, None::<(u64, f64, Instant)>, 0.0);
    loop {
        let now = Instant::now();
        if counted.is_none() && now >= window_start {
            cpu0 = net::proc_cpu_secs(pid).unwrap_or(0.0);
            counted = Some((done, cpu0, now));
        }
        if now >= end {
            break;
        }
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .expect("poll");
        for ev in events.iter() {
            let i = ev.token().0;
            let mut got = conns[i].pump(&mut buf).expect("a connection ended early");
            loop {
                let c = &mut conns[i];
                c.expect = c.expect.saturating_sub(got);
                if c.expect > 0 {
                    break;
                }
                done += 1;
                if churn {
                    c.tls.send_close_notify();
                    let _ = c.pump(&mut buf);
                    let _ = poll.registry().deregister(&mut c.stream);
                    *c = Conn::open(&poll, addr, &config, i);
                }
                c.send(&msg);
                // The echo may start arriving at once: it counts.
                got = c.pump(&mut buf).expect("a connection ended early");
            }
        }
    }
    let (d0, _, t0) = counted.expect("window");
    let secs = t0.elapsed().as_secs_f64();
    let cpu = net::proc_cpu_secs(pid).unwrap_or(0.0) - cpu0;
    let n = (done - d0) as f64;
    (n / secs, cpu * 1e6 / n.max(1.0))
}

fn certs_dir() -> PathBuf {
    std::env::temp_dir().join(format!("asyncore-tls-bench-{}", std::process::id()))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> io::Result<()> {
    let a = args();
    net::raise_nofile();
    net::pin(0, 1);
    let dir = certs_dir();
    asyncore_testkit::make_certs(&dir, "localhost")?;
    let bin = std::env::current_exe()?
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let servers = servers(&bin, &dir);
    let scenarios: [(&str, usize, usize, bool); 3] = [
        ("(a) 64 B, 100 connections, 1 in flight", 100, 64, false),
        ("(c) 16 KiB, 10 connections, 1 in flight", 10, 16384, false),
        (
            "(h) handshakes: 16 slots, full TLS 1.3 handshake + one 64 B message each",
            16,
            64,
            true,
        ),
    ];
    // results[scenario][server] = (rates, cpus) over rounds.
    let mut results = vec![vec![(Vec::new(), Vec::new()); servers.len()]; scenarios.len()];
    for round in 0..a.rounds {
        for (si, (title, slots, size, churn)) in scenarios.iter().enumerate() {
            let letter = &title[1..2];
            if a.only.as_ref().is_some_and(|o| !o.contains(letter)) {
                continue;
            }
            for (vi, server) in servers.iter().enumerate() {
                let (mut child, addr) = start(server)?;
                let (rate, cpu) = load(addr, child.id(), *slots, *size, *churn, &a);
                let _ = child.kill();
                let _ = child.wait();
                eprintln!(
                    "round {} {title} {}: {rate:.0}/s, {cpu:.2} µs server CPU each",
                    round + 1,
                    server.id
                );
                results[si][vi].0.push(rate);
                results[si][vi].1.push(cpu);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "| scenario | server | per second | server CPU µs each | × rustls+mio |\n|---|---|---|---|---|"
    );
    for (si, (title, ..)) in scenarios.iter().enumerate() {
        if results[si][0].1.is_empty() {
            continue;
        }
        let reference = median(results[si][0].1.clone());
        for (vi, server) in servers.iter().enumerate() {
            let (rates, cpus) = &results[si][vi];
            let cpu = median(cpus.clone());
            println!(
                "| {title} | {} | {:.0} | {cpu:.2} | {:.2}x |",
                server.id,
                median(rates.clone()),
                cpu / reference
            );
        }
    }
    Ok(())
}
