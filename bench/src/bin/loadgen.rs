//! The load generator: one thread on raw epoll, pinned to one CPU.
//!
//! ```text
//! loadgen echo  --addr 127.0.0.1:PORT --conns 100 --depth 1 --size 64 [--line]
//! loadgen churn --addr 127.0.0.1:PORT --conns 32 --size 64
//! loadgen idle  --addr 127.0.0.1:PORT --conns 5000      # holds until stdin closes
//! ```
//!
//! `echo` keeps `depth` messages of `size` bytes in flight on each of `conns`
//! connections and verifies every echoed byte; `churn` runs `conns` slots of
//! connect, one message, close; `idle` opens and holds connections (each
//! pinged once, so the server has really accepted it). Each run prints one
//! JSON line: messages/s, MB/s, latency percentiles, errors, and — with
//! `--server-pid` — the server's CPU seconds over exactly the measured window.
//! `--count N` sends exactly N messages (no timing window) and exits: the
//! deterministic mode used under callgrind.

use asyncore_bench::net::{self, Epoll, IN, OUT};
use clap::{Parser, ValueEnum};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    Echo,
    Churn,
    Idle,
}

#[derive(Debug, Parser)]
#[command(name = "loadgen", about = "asyncore benchmark load generator")]
struct Args {
    /// echo, churn or idle.
    #[arg(value_enum)]
    mode: Mode,
    /// Server address (IPv4).
    #[arg(long)]
    addr: SocketAddrV4,
    /// Connections (echo, idle) or parallel connect slots (churn).
    #[arg(long, default_value_t = 100)]
    conns: usize,
    /// Messages in flight per connection (echo).
    #[arg(long, default_value_t = 1)]
    depth: usize,
    /// Message size in bytes (with --line: including the CRLF).
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// CRLF-terminated messages (line echo servers).
    #[arg(long)]
    line: bool,
    /// Warm-up seconds before the measured window.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Measured window in seconds.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Send exactly this many messages (echo), then exit; no timing window.
    #[arg(long)]
    count: Option<u64>,
    /// The server's PID: its CPU time is read at the window's start and end.
    #[arg(long)]
    server_pid: Option<u32>,
    /// CPU to pin this thread to (-1: none).
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    cpu: i64,
    /// Idle: hold this many seconds after ready (default: until stdin closes).
    #[arg(long)]
    hold: Option<f64>,
    /// Idle: give up establishing after this many seconds.
    #[arg(long, default_value_t = 120.0)]
    setup_timeout: f64,
    /// Idle/churn: connects outstanding at once.
    #[arg(long, default_value_t = 64)]
    outstanding: usize,
    /// A label copied into the JSON line.
    #[arg(long, default_value = "")]
    label: String,
}

/// Pattern period: a prime, so messages start at ever-different offsets.
const PERIOD: usize = 65_521;

/// The bytes every message is cut from: letters only (safe for line mode).
struct Pattern {
    bytes: Vec<u8>,
    size: usize,
    line: bool,
}

impl Pattern {
    fn new(size: usize, line: bool) -> Self {
        let bytes = (0..PERIOD + size)
            .map(|i| b'a' + ((i % PERIOD * 7 + i % PERIOD / 26) % 26) as u8)
            .collect();
        Pattern { bytes, size, line }
    }

    fn start(conn: usize, msg: u64) -> usize {
        ((conn as u64 * 7919 + msg * 104_729) % PERIOD as u64) as usize
    }

    fn body_len(&self) -> usize {
        if self.line {
            self.size - 2
        } else {
            self.size
        }
    }

    /// Appends message `msg` of connection `conn` to `out`.
    fn push(&self, out: &mut Vec<u8>, conn: usize, msg: u64) {
        let s = Self::start(conn, msg);
        out.extend_from_slice(&self.bytes[s..s + self.body_len()]);
        if self.line {
            out.extend_from_slice(b"\r\n");
        }
    }

    /// Whether `data` equals message `msg` of `conn` from byte `off` on.
    fn check(&self, conn: usize, msg: u64, off: usize, data: &[u8]) -> bool {
        let s = Self::start(conn, msg);
        let body = self.body_len();
        let mut ok = true;
        if off < body {
            let n = data.len().min(body - off);
            ok &= data[..n] == self.bytes[s + off..s + off + n];
            if n < data.len() {
                let crlf = &data[n..];
                ok &= crlf == &b"\r\n"[..crlf.len()];
            }
        } else {
            ok &= data == &b"\r\n"[off - body..off - body + data.len()];
        }
        ok
    }
}

/// Source addresses 127.a.b.c, changed every 16,000 connections, so that
/// TIME_WAIT sockets from earlier runs never exhaust the ephemeral ports.
struct Sources {
    base: u32,
    n: u64,
    enabled: bool,
}

impl Sources {
    fn new(to: SocketAddrV4) -> Self {
        let seed = std::process::id() as u64
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
        let a = 2 + (seed % 250) as u32;
        let b = ((seed >> 8) % 256) as u32;
        let c = 1 + ((seed >> 16) % 200) as u32;
        Sources {
            base: (127 << 24) | (a << 16) | (b << 8) | c,
            n: 0,
            enabled: to.ip().is_loopback(),
        }
    }

    fn next(&mut self) -> Option<Ipv4Addr> {
        if !self.enabled {
            return None;
        }
        let ip = self.base + (self.n / 16_000) as u32 * 7;
        self.n += 1;
        // Stay inside 127/8 and away from .0/.255 host parts.
        let ip = (127 << 24) | (ip & 0x00ff_ffff);
        let ip = if ip & 0xff == 0 || ip & 0xff == 255 {
            ip ^ 1
        } else {
            ip
        };
        Some(Ipv4Addr::from(ip))
    }
}

/// Latencies in nanoseconds (saturating at u32::MAX).
#[derive(Default)]
struct Latencies(Vec<u32>);

impl Latencies {
    fn record(&mut self, ns: u64) {
        self.0.push(ns.min(u32::MAX as u64) as u32);
    }

    fn percentiles_us(&mut self) -> (f64, f64, f64) {
        if self.0.is_empty() {
            return (0.0, 0.0, 0.0);
        }
        self.0.sort_unstable();
        let at = |q: f64| {
            let i = ((self.0.len() as f64 * q).ceil() as usize).clamp(1, self.0.len()) - 1;
            self.0[i] as f64 / 1000.0
        };
        (at(0.5), at(0.99), at(0.999))
    }
}

/// Window bookkeeping shared by the modes.
struct Window {
    start: Instant,
    warm_end: Instant,
    end: Instant,
    counting: bool,
    msgs_at_start: u64,
    bytes_at_start: u64,
    cpu_at_start: Option<f64>,
    sched_at_start: Option<f64>,
    self_cpu_at_start: f64,
    measured_start: Instant,
}

impl Window {
    fn new(args: &Args) -> Self {
        let start = Instant::now();
        let warm_end = start + Duration::from_secs_f64(args.warmup);
        Window {
            start,
            warm_end,
            end: warm_end + Duration::from_secs_f64(args.duration),
            counting: false,
            msgs_at_start: 0,
            bytes_at_start: 0,
            cpu_at_start: None,
            sched_at_start: None,
            self_cpu_at_start: 0.0,
            measured_start: warm_end,
        }
    }

    fn ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Returns false once the window is over.
    fn tick(&mut self, args: &Args, msgs: u64, bytes: u64) -> bool {
        let now = Instant::now();
        if !self.counting && now >= self.warm_end {
            self.counting = true;
            self.msgs_at_start = msgs;
            self.bytes_at_start = bytes;
            self.cpu_at_start = args.server_pid.and_then(net::proc_cpu_secs);
            self.sched_at_start = args.server_pid.and_then(net::proc_sched_secs);
            self.self_cpu_at_start = net::self_cpu_secs();
            self.measured_start = now;
        }
        now < self.end
    }

    fn timeout_ms(&self) -> i32 {
        10
    }
}

struct Report {
    mode: &'static str,
    args_desc: String,
    elapsed: f64,
    messages: u64,
    bytes: u64,
    lat: Latencies,
    errors: u64,
    server_cpu: Option<f64>,
    server_sched: Option<f64>,
    client_cpu: f64,
    extra: String,
}

impl Report {
    fn print(mut self, label: &str) {
        let (p50, p99, p999) = self.lat.percentiles_us();
        let rate = if self.elapsed > 0.0 {
            self.messages as f64 / self.elapsed
        } else {
            0.0
        };
        let mbs = if self.elapsed > 0.0 {
            self.bytes as f64 / self.elapsed / 1e6
        } else {
            0.0
        };
        let opt = |v: Option<f64>| v.map_or("null".to_string(), |v| format!("{v:.6}"));
        let per_msg = |v: Option<f64>| match v {
            Some(v) if self.messages > 0 => format!("{:.4}", v * 1e6 / self.messages as f64),
            _ => "null".to_string(),
        };
        println!(
            "{{\"mode\":\"{}\",\"label\":\"{}\",{}\"elapsed_s\":{:.4},\"messages\":{},\"msgs_per_s\":{:.1},\"mb_per_s\":{:.3},\"p50_us\":{:.1},\"p99_us\":{:.1},\"p999_us\":{:.1},\"errors\":{},\"server_cpu_s\":{},\"server_cpu_us_per_msg\":{},\"server_sched_s\":{},\"server_sched_us_per_msg\":{},\"client_cpu_s\":{:.4}{}}}",
            self.mode,
            label.replace('"', "'"),
            self.args_desc,
            self.elapsed,
            self.messages,
            rate,
            mbs,
            p50,
            p99,
            p999,
            self.errors,
            opt(self.server_cpu),
            per_msg(self.server_cpu),
            opt(self.server_sched),
            per_msg(self.server_sched),
            self.client_cpu,
            self.extra,
        );
        let _ = io::stdout().flush();
    }
}

fn delta(end: Option<f64>, start: Option<f64>) -> Option<f64> {
    Some(end? - start?)
}

// ---------------------------------------------------------------- echo

struct EchoConn {
    fd: RawFd,
    next_send: u64,
    recv_msg: u64,
    recv_off: usize,
    out: Vec<u8>,
    out_off: usize,
    sent_at: VecDeque<u64>,
    want_out: bool,
    dead: bool,
}

fn run_echo(args: &Args) -> io::Result<()> {
    let pat = Pattern::new(args.size, args.line);
    let mut src = Sources::new(args.addr);
    let mut ep = Epoll::new(1024)?;
    let mut conns: Vec<EchoConn> = Vec::with_capacity(args.conns);
    let mut errors = 0u64;
    // Connect everything first (a blocking wait on each connect).
    for i in 0..args.conns {
        let (fd, done) = net::connect(args.addr, src.next())?;
        if !done {
            wait_connected(fd)?;
        }
        ep.add(fd, IN, i as u64)?;
        conns.push(EchoConn {
            fd,
            next_send: 0,
            recv_msg: 0,
            recv_off: 0,
            out: Vec::with_capacity(args.size * args.depth),
            out_off: 0,
            sent_at: VecDeque::with_capacity(args.depth),
            want_out: false,
            dead: false,
        });
    }
    let limit = args.count;
    let mut window = Window::new(args);
    let (mut msgs, mut bytes, mut sent_total) = (0u64, 0u64, 0u64);
    let mut lat = Latencies::default();
    // Prime: depth messages on each connection.
    for (i, c) in conns.iter_mut().enumerate() {
        for _ in 0..args.depth {
            if limit.is_some_and(|l| sent_total >= l) {
                break;
            }
            pat.push(&mut c.out, i, c.next_send);
            c.sent_at.push_back(window.ns());
            c.next_send += 1;
            sent_total += 1;
        }
        flush(&ep, i, c, &mut errors);
    }
    let mut buf = vec![0u8; 65536];
    let mut keys: Vec<(u64, u32)> = Vec::with_capacity(1024);
    loop {
        if let Some(l) = limit {
            if msgs >= l || conns.iter().all(|c| c.dead) {
                break;
            }
        } else if !window.tick(args, msgs, bytes) {
            break;
        }
        keys.clear();
        keys.extend(
            ep.wait(window.timeout_ms())?
                .iter()
                .map(|e| (e.u64, e.events)),
        );
        for &(key, events) in &keys {
            let i = key as usize;
            let c = &mut conns[i];
            if c.dead {
                continue;
            }
            if events & OUT != 0 {
                flush(&ep, i, c, &mut errors);
            }
            if events & !OUT == 0 {
                continue;
            }
            let n = match net::read(c.fd, &mut buf) {
                Ok(0) => {
                    errors += 1;
                    kill(&ep, c);
                    continue;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(_) => {
                    errors += 1;
                    kill(&ep, c);
                    continue;
                }
            };
            if window.counting {
                bytes += n as u64;
            }
            let mut data = &buf[..n];
            let mut completed = 0;
            while !data.is_empty() {
                let take = data.len().min(args.size - c.recv_off);
                if !pat.check(i, c.recv_msg, c.recv_off, &data[..take]) {
                    errors += 1;
                    kill(&ep, c);
                    break;
                }
                data = &data[take..];
                c.recv_off += take;
                if c.recv_off == args.size {
                    c.recv_off = 0;
                    c.recv_msg += 1;
                    completed += 1;
                    let sent = c.sent_at.pop_front().unwrap_or(0);
                    let now = window.ns();
                    if window.counting {
                        lat.record(now.saturating_sub(sent));
                    }
                    if limit.is_none_or(|l| sent_total < l) {
                        pat.push(&mut c.out, i, c.next_send);
                        c.sent_at.push_back(now);
                        c.next_send += 1;
                        sent_total += 1;
                    }
                }
            }
            if c.dead {
                continue;
            }
            msgs += completed;
            if completed > 0 {
                flush(&ep, i, c, &mut errors);
            }
        }
    }
    let now = Instant::now();
    let (elapsed, messages, window_bytes) = if limit.is_some() {
        ((now - window.start).as_secs_f64(), msgs, bytes)
    } else {
        (
            (now - window.measured_start).as_secs_f64(),
            msgs - window.msgs_at_start,
            bytes - window.bytes_at_start,
        )
    };
    let server_cpu = delta(
        args.server_pid.and_then(net::proc_cpu_secs),
        window.cpu_at_start,
    );
    let server_sched = delta(
        args.server_pid.and_then(net::proc_sched_secs),
        window.sched_at_start,
    );
    let client_cpu = net::self_cpu_secs() - window.self_cpu_at_start;
    for c in &conns {
        if !c.dead {
            net::close(c.fd);
        }
    }
    Report {
        mode: "echo",
        args_desc: format!(
            "\"conns\":{},\"depth\":{},\"size\":{},\"line\":{},",
            args.conns, args.depth, args.size, args.line
        ),
        elapsed,
        messages,
        bytes: window_bytes,
        lat,
        errors,
        server_cpu,
        server_sched,
        client_cpu,
        extra: String::new(),
    }
    .print(&args.label);
    Ok(())
}

fn wait_connected(fd: RawFd) -> io::Result<()> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: pfd is a valid pollfd.
    let r = unsafe { libc::poll(&mut pfd, 1, 10_000) };
    if r <= 0 {
        return Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out"));
    }
    match net::so_error(fd) {
        0 => Ok(()),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}

fn kill(ep: &Epoll, c: &mut EchoConn) {
    ep.delete(c.fd);
    net::close(c.fd);
    c.dead = true;
}

/// Writes what is queued; waits for writability only if the socket refused some.
fn flush(ep: &Epoll, i: usize, c: &mut EchoConn, errors: &mut u64) {
    while c.out_off < c.out.len() {
        match net::send(c.fd, &c.out[c.out_off..]) {
            Ok(n) => c.out_off += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(_) => {
                *errors += 1;
                kill(ep, c);
                return;
            }
        }
    }
    if c.out_off == c.out.len() {
        c.out.clear();
        c.out_off = 0;
    }
    let want = !c.out.is_empty();
    if want != c.want_out {
        c.want_out = want;
        let _ = ep.modify(c.fd, if want { IN | OUT } else { IN }, i as u64);
    }
}

// ---------------------------------------------------------------- churn

struct Slot {
    fd: RawFd,
    started: u64,
    got: usize,
    sent: bool,
    serial: u64,
}

fn run_churn(args: &Args) -> io::Result<()> {
    let pat = Pattern::new(args.size, args.line);
    let mut src = Sources::new(args.addr);
    let mut ep = Epoll::new(1024)?;
    let mut window = Window::new(args);
    let mut slots: Vec<Option<Slot>> = (0..args.conns).map(|_| None).collect();
    let (mut msgs, mut bytes, mut errors, mut serial) = (0u64, 0u64, 0u64, 0u64);
    let mut lat = Latencies::default();
    let mut out = Vec::with_capacity(args.size);
    let mut buf = vec![0u8; 65536];
    let mut keys: Vec<(u64, u32)> = Vec::with_capacity(1024);
    let open = |i: usize,
                slot: &mut Option<Slot>,
                serial: &mut u64,
                src: &mut Sources,
                ep: &Epoll,
                ns: u64|
     -> io::Result<()> {
        let (fd, _) = net::connect(args.addr, src.next())?;
        ep.add(fd, IN | OUT, i as u64)?;
        *slot = Some(Slot {
            fd,
            started: ns,
            got: 0,
            sent: false,
            serial: *serial,
        });
        *serial += 1;
        Ok(())
    };
    for (i, slot) in slots.iter_mut().enumerate() {
        if open(i, slot, &mut serial, &mut src, &ep, window.ns()).is_err() {
            errors += 1;
        }
    }
    while window.tick(args, msgs, bytes) {
        keys.clear();
        keys.extend(
            ep.wait(window.timeout_ms())?
                .iter()
                .map(|e| (e.u64, e.events)),
        );
        for &(key, events) in &keys {
            let i = key as usize;
            let Some(s) = slots[i].as_mut() else { continue };
            let mut finished = None;
            if !s.sent && events & OUT != 0 {
                if net::so_error(s.fd) != 0 {
                    finished = Some(false);
                } else {
                    out.clear();
                    pat.push(&mut out, 0, s.serial);
                    match net::send(s.fd, &out) {
                        Ok(n) if n == out.len() => {
                            s.sent = true;
                            let _ = ep.modify(s.fd, IN, i as u64);
                        }
                        _ => finished = Some(false),
                    }
                }
            } else if events & !OUT != 0 {
                match net::read(s.fd, &mut buf) {
                    Ok(0) => finished = Some(false),
                    Ok(n) => {
                        if s.got + n > args.size || !pat.check(0, s.serial, s.got, &buf[..n]) {
                            finished = Some(false);
                        } else {
                            s.got += n;
                            if s.got == args.size {
                                finished = Some(true);
                            }
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => finished = Some(false),
                }
            }
            if let Some(ok) = finished {
                ep.delete(s.fd);
                net::close(s.fd);
                let now = window.ns();
                if ok {
                    msgs += 1;
                    if window.counting {
                        bytes += args.size as u64;
                        lat.record(now - s.started);
                    }
                } else {
                    errors += 1;
                }
                if open(i, &mut slots[i], &mut serial, &mut src, &ep, now).is_err() {
                    errors += 1;
                    slots[i] = None;
                }
            }
        }
        if slots.iter().all(|s| s.is_none()) {
            break;
        }
    }
    let now = Instant::now();
    let server_cpu = delta(
        args.server_pid.and_then(net::proc_cpu_secs),
        window.cpu_at_start,
    );
    let server_sched = delta(
        args.server_pid.and_then(net::proc_sched_secs),
        window.sched_at_start,
    );
    let client_cpu = net::self_cpu_secs() - window.self_cpu_at_start;
    for s in slots.iter().flatten() {
        net::close(s.fd);
    }
    Report {
        mode: "churn",
        args_desc: format!(
            "\"conns\":{},\"depth\":1,\"size\":{},\"line\":{},",
            args.conns, args.size, args.line
        ),
        elapsed: (now - window.measured_start).as_secs_f64(),
        messages: msgs - window.msgs_at_start,
        bytes: bytes - window.bytes_at_start,
        lat,
        errors,
        server_cpu,
        server_sched,
        client_cpu,
        extra: String::new(),
    }
    .print(&args.label);
    Ok(())
}

// ---------------------------------------------------------------- idle

fn run_idle(args: &Args) -> io::Result<()> {
    let mut src = Sources::new(args.addr);
    let mut ep = Epoll::new(1024)?;
    let ping: &[u8] = if args.line { b"i\r\n" } else { b"i" };
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.setup_timeout);
    // fds[i]: the connection; state 0 connecting, 1 pinged, 2 established.
    let mut fds: Vec<RawFd> = Vec::with_capacity(args.conns);
    let mut state: Vec<u8> = Vec::with_capacity(args.conns);
    let mut got: Vec<u8> = Vec::with_capacity(args.conns);
    let (mut pending, mut established, mut errors) = (0usize, 0usize, 0u64);
    let mut buf = [0u8; 16];
    let mut keys: Vec<(u64, u32)> = Vec::with_capacity(1024);
    while established < args.conns && Instant::now() < deadline {
        while fds.len() < args.conns && pending < args.outstanding {
            match net::connect(args.addr, src.next()) {
                Ok((fd, _)) => {
                    ep.add(fd, OUT, fds.len() as u64)?;
                    fds.push(fd);
                    state.push(0);
                    got.push(0);
                    pending += 1;
                }
                Err(e) => {
                    errors += 1;
                    if errors > 1000 {
                        return Err(e);
                    }
                    break;
                }
            }
        }
        keys.clear();
        keys.extend(ep.wait(10)?.iter().map(|e| (e.u64, e.events)));
        for &(key, events) in &keys {
            let i = key as usize;
            let fd = fds[i];
            match state[i] {
                0 if events & OUT != 0 => {
                    if net::so_error(fd) != 0 || net::send(fd, ping).ok() != Some(ping.len()) {
                        errors += 1;
                        state[i] = 3;
                        pending -= 1;
                        ep.delete(fd);
                        continue;
                    }
                    state[i] = 1;
                    ep.modify(fd, IN, i as u64)?;
                }
                1 => match net::read(fd, &mut buf) {
                    Ok(n) if n > 0 => {
                        got[i] += n as u8;
                        if got[i] as usize >= ping.len() {
                            state[i] = 2;
                            pending -= 1;
                            established += 1;
                            ep.delete(fd);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    _ => {
                        errors += 1;
                        state[i] = 3;
                        pending -= 1;
                        ep.delete(fd);
                    }
                },
                _ => {}
            }
        }
    }
    let setup = start.elapsed().as_secs_f64();
    let ready = established == args.conns;
    println!(
        "{{\"mode\":\"idle\",\"label\":\"{}\",\"conns\":{},\"ready\":{},\"established\":{},\"setup_s\":{:.4},\"errors\":{}}}",
        args.label, args.conns, ready, established, setup, errors
    );
    let _ = io::stdout().flush();
    match args.hold {
        Some(secs) => std::thread::sleep(Duration::from_secs_f64(secs)),
        None => {
            // Hold until whoever started us closes our stdin.
            let mut sink = [0u8; 64];
            let mut stdin = io::stdin();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        }
    }
    for fd in fds {
        net::close(fd);
    }
    Ok(())
}

fn main() {
    let args = Args::parse();
    net::raise_nofile();
    if args.cpu >= 0 && (args.cpu as usize) < net::cpus() {
        net::pin(0, args.cpu as usize);
    }
    if args.size == 0 || (args.line && args.size < 3) {
        eprintln!("loadgen: --size must be at least 1 (3 with --line)");
        std::process::exit(2);
    }
    let result = match args.mode {
        Mode::Echo => run_echo(&args),
        Mode::Churn => run_churn(&args),
        Mode::Idle => run_idle(&args),
    };
    if let Err(e) = result {
        eprintln!("loadgen: {e}");
        std::process::exit(1);
    }
}
