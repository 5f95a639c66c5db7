//! The matrix runner of issue 6: builds the servers, runs every scenario
//! against every server for several rounds (server on CPU 0, load generator
//! on CPU 1), takes medians and ratios to the C epoll server of the same
//! round, measures instructions per message under callgrind, and writes the
//! results into BENCHMARKS.md (between markers) plus an SVG chart.
//!
//! Scenario (m) is the exception: `asyncore echo --loops 1` against
//! `--loops 2` (one loop per thread over SO_REUSEPORT listeners), with the
//! server and the load generator unpinned, so that two loops can use both
//! CPUs; it is reported in its own section, as a 2-loop/1-loop ratio.
//!
//! ```text
//! cargo run --release -p asyncore-bench --bin matrix -- --out BENCHMARKS.md
//! cargo run --release -p asyncore-bench --bin matrix -- --smoke      # CI: seconds
//! ```

use asyncore_bench::net;
use clap::Parser;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
#[command(name = "matrix", about = "asyncore benchmark matrix (issue 6)")]
struct Args {
    /// Markdown file to write the results into (between the echo-bench markers).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The chart (default: idle.svg next to --out's file, or none).
    #[arg(long)]
    svg: Option<PathBuf>,
    /// Raw results, one JSON line per run.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Rounds (medians are taken over them).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Warm-up seconds per run.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Measured seconds per run.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Seconds-long smoke run: every mode and peer, tiny sizes; fails on errors.
    #[arg(long)]
    smoke: bool,
    /// Only these scenarios (comma-separated: a,b,c,d0,d5k,d15k,e,f,g,m).
    #[arg(long)]
    scenarios: Option<String>,
    /// Only these servers (comma-separated ids: c,epoll,poll,select,mio,tokio,cpython,lines,chat,asynchat,loops1,loops2).
    #[arg(long)]
    servers: Option<String>,
    /// Do not run `cargo build` first.
    #[arg(long)]
    no_build: bool,
    /// Skip the callgrind figure.
    #[arg(long)]
    no_callgrind: bool,
    /// Messages per callgrind run (the figure is the difference between N and 2N).
    #[arg(long, default_value_t = 20_000)]
    callgrind_msgs: u64,
    /// Wait (at most --quiet-wait seconds) for the 1-minute load average to fall below this.
    #[arg(long, default_value_t = 0.5)]
    quiet_load: f64,
    /// Seconds to wait for a quiet machine before running anyway (0: do not wait).
    #[arg(long, default_value_t = 0)]
    quiet_wait: u64,
    /// Give up establishing idle connections after this many seconds.
    #[arg(long, default_value_t = 400.0)]
    idle_timeout: f64,
}

#[derive(Debug, Clone)]
struct Server {
    id: &'static str,
    name: &'static str,
    cmd: Vec<String>,
    /// Slow peers (CPython) run the idle scenarios in round 1 only.
    slow: bool,
    /// Limited to FD_SETSIZE descriptors.
    select: bool,
    /// Pinned to CPU 0 (and the load generator to CPU 1); false for (m),
    /// where neither is pinned.
    pinned: bool,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Echo {
        conns: usize,
        depth: usize,
        size: usize,
        idle: usize,
        line: bool,
    },
    Churn {
        slots: usize,
        size: usize,
    },
    Rss {
        idle: usize,
    },
}

#[derive(Debug, Clone)]
struct Scenario {
    id: &'static str,
    title: String,
    kind: Kind,
    servers: Vec<&'static str>,
}

/// One measured run.
#[derive(Debug, Clone)]
struct Run {
    round: usize,
    scenario: &'static str,
    server: &'static str,
    result: Result<Value, String>,
}

fn main() {
    let mut args = Args::parse();
    if args.smoke {
        args.rounds = 1;
        args.warmup = 0.05;
        args.duration = 0.15;
        args.callgrind_msgs = args.callgrind_msgs.min(200);
        args.idle_timeout = args.idle_timeout.min(30.0);
    }
    match run(&args) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("matrix: {e}");
            std::process::exit(1);
        }
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn bin_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| workspace().join("target/release"))
}

fn build() -> io::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("matrix: building the servers (release)");
    let status = Command::new(cargo)
        .current_dir(workspace())
        .args([
            "build",
            "--release",
            "--quiet",
            // `--bins` (not `--bin asyncore`): a target filter applies to every
            // listed package, and the kit's own binaries must be built too.
            "-p",
            "asyncore-cli",
            "-p",
            "asyncore-loop",
            "-p",
            "asyncore-bench",
            "--bins",
            "--example",
            "line_echo",
        ])
        .status()?;
    if !status.success() {
        return Err(io::Error::other("cargo build failed"));
    }
    Ok(())
}

/// The Python interpreter if it still has asyncore/asynchat (CPython <= 3.11).
fn python() -> Option<String> {
    let out = Command::new("python3")
        .args([
            "-W",
            "ignore",
            "-c",
            "import sys, asyncore, asynchat; print(sys.executable)",
        ])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let exe = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !exe.is_empty()).then_some(exe)
}

fn servers(notes: &mut Vec<String>) -> Vec<Server> {
    let bins = bin_dir();
    let peers = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers");
    let s = |p: &Path| p.display().to_string();
    let listen = "127.0.0.1:0".to_string();
    let ours = |backend: &str| {
        vec![
            s(&bins.join("asyncore")),
            "--backend".into(),
            backend.into(),
            "-q".into(),
            "echo".into(),
            "--listen".into(),
            listen.clone(),
        ]
    };
    let mut v = Vec::new();
    let c = env!("C_EPOLL_ECHO");
    if c.is_empty() || !Path::new(c).exists() {
        notes.push("C epoll peer skipped: no C compiler when the kit was built".into());
    } else {
        v.push(Server {
            id: "c",
            name: "C epoll (hand-written)",
            cmd: vec![c.into(), listen.clone()],
            slow: false,
            select: false,
            pinned: true,
        });
    }
    for (id, name, backend) in [
        ("epoll", "asyncore echo, epoll", "epoll"),
        ("poll", "asyncore echo, poll", "poll"),
        ("select", "asyncore echo, select", "select"),
    ] {
        v.push(Server {
            id,
            name,
            cmd: ours(backend),
            slow: false,
            select: backend == "select",
            pinned: true,
        });
    }
    for loops in [1, 2] {
        let mut cmd = ours("epoll");
        cmd.extend(["--loops".to_string(), loops.to_string()]);
        v.push(Server {
            id: if loops == 1 { LOOPS1 } else { LOOPS2 },
            name: if loops == 1 {
                "asyncore echo --loops 1, epoll (unpinned)"
            } else {
                "asyncore echo --loops 2, epoll (unpinned)"
            },
            cmd,
            slow: false,
            select: false,
            pinned: false,
        });
    }
    v.push(Server {
        id: "mio",
        name: "mio",
        cmd: vec![s(&bins.join("peer_mio")), listen.clone()],
        slow: false,
        select: false,
        pinned: true,
    });
    v.push(Server {
        id: "tokio",
        name: "tokio current_thread",
        cmd: vec![s(&bins.join("peer_tokio")), listen.clone()],
        slow: false,
        select: false,
        pinned: true,
    });
    v.push(Server {
        id: "lines",
        name: "line echo on a bare Dispatcher (no AsyncChat)",
        cmd: vec![s(&bins.join("peer_line_dispatcher")), listen.clone()],
        slow: false,
        select: false,
        pinned: true,
    });
    v.push(Server {
        id: "chat",
        name: "asyncore AsyncChat line_echo, epoll",
        cmd: vec![
            s(&bins.join("examples").join("line_echo")),
            listen.clone(),
            "epoll".into(),
        ],
        slow: false,
        select: false,
        pinned: true,
    });
    match python() {
        Some(py) => {
            v.push(Server {
                id: "cpython",
                name: "CPython asyncore (dispatcher_with_send)",
                cmd: vec![
                    py.clone(),
                    s(&peers.join("py_asyncore_echo.py")),
                    listen.clone(),
                ],
                slow: true,
                select: false,
                pinned: true,
            });
            v.push(Server {
                id: "asynchat",
                name: "CPython asynchat line echo",
                cmd: vec![py, s(&peers.join("py_asynchat_line_echo.py")), listen],
                slow: true,
                select: false,
                pinned: true,
            });
        }
        None => notes.push(
            "CPython peers skipped: no python3 with asyncore/asynchat (CPython <= 3.11)".into(),
        ),
    }
    v
}

/// Scenario (m): one loop against two.
const MULTI: &str = "m";
/// The servers of (m).
const LOOPS1: &str = "loops1";
const LOOPS2: &str = "loops2";

fn scenarios(smoke: bool) -> Vec<Scenario> {
    let raw = vec!["c", "epoll", "poll", "select", "mio", "tokio", "cpython"];
    let no_select: Vec<&str> = raw.iter().copied().filter(|s| *s != "select").collect();
    let (n100, n10, n50, k5, k15, k10, slots) = if smoke {
        (4, 2, 3, 100, 300, 200, 2)
    } else {
        (100, 10, 50, 5_000, 15_000, 10_000, 16)
    };
    let echo = |conns, depth, size, idle| Kind::Echo {
        conns,
        depth,
        size,
        idle,
        line: false,
    };
    vec![
        Scenario {
            id: "a",
            title: format!("(a) 64 B, {n100} connections, 1 in flight"),
            kind: echo(n100, 1, 64, 0),
            servers: raw.clone(),
        },
        Scenario {
            id: "b",
            title: format!("(b) 64 B, {n100} connections, 16 in flight"),
            kind: echo(n100, 16, 64, 0),
            servers: raw.clone(),
        },
        Scenario {
            id: "c",
            title: format!("(c) 16 KiB, {n10} connections, 1 in flight"),
            kind: echo(n10, 1, 16_384, 0),
            servers: raw.clone(),
        },
        Scenario {
            id: "d0",
            title: format!("(d0) 64 B, {n50} connections, 1 in flight"),
            kind: echo(n50, 1, 64, 0),
            servers: raw.clone(),
        },
        Scenario {
            id: "d5k",
            title: format!("(d) d0 with {k5} idle connections held"),
            kind: echo(n50, 1, 64, k5),
            servers: no_select.clone(),
        },
        Scenario {
            id: "d15k",
            title: format!("(d) d0 with {k15} idle connections held"),
            kind: echo(n50, 1, 64, k15),
            servers: no_select.clone(),
        },
        Scenario {
            id: "e",
            title: format!("(e) churn: connect, one 64 B message, close; {slots} in parallel"),
            kind: Kind::Churn { slots, size: 64 },
            servers: raw,
        },
        Scenario {
            id: "f",
            title: format!(
                "(f) line echo, pipelined: 64 B lines, {n100} connections, 16 in flight"
            ),
            kind: Kind::Echo {
                conns: n100,
                depth: 16,
                size: 64,
                idle: 0,
                line: true,
            },
            servers: vec!["c", "lines", "chat", "asynchat"],
        },
        Scenario {
            id: "g",
            title: format!("(g) memory: server VmRSS with {k10} idle connections minus with 0"),
            kind: Kind::Rss { idle: k10 },
            servers: no_select,
        },
        Scenario {
            id: MULTI,
            title: format!(
                "(m) one loop against two: 64 B, {n100} connections, 16 in flight; server and load generator unpinned"
            ),
            kind: echo(n100, 16, 64, 0),
            servers: vec![LOOPS1, LOOPS2],
        },
    ]
}

// ------------------------------------------------------------ processes

struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
    stdin: Option<ChildStdin>,
}

impl Proc {
    fn spawn(cmd: &[String], keep_stdin: bool) -> io::Result<Proc> {
        let mut child = Command::new(&cmd[0])
            .args(&cmd[1..])
            .stdin(if keep_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", cmd[0])))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Ok(Proc {
            child,
            lines: rx,
            stdin,
        })
    }

    fn line(&self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then SIGKILL after `grace`.
    fn stop(mut self, grace: Duration) {
        drop(self.stdin.take());
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: signalling our own child by its pid.
            unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        }
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Closes stdin and waits for the process to end.
    fn finish(mut self, timeout: Duration) {
        drop(self.stdin.take());
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(server: &Server, wrap: &[String]) -> Result<(Proc, SocketAddr), String> {
    let cmd: Vec<String> = wrap.iter().chain(server.cmd.iter()).cloned().collect();
    let proc = Proc::spawn(&cmd, false).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        match proc.line(Duration::from_millis(200)) {
            Some(line) => {
                if let Some(a) = line.split("listening on ").nth(1) {
                    let addr: SocketAddr = a.trim().parse().map_err(|_| format!("bad: {line}"))?;
                    if server.pinned && net::cpus() > 1 {
                        net::pin_process(proc.pid(), 0);
                    }
                    return Ok((proc, addr));
                }
            }
            None => {
                let mut p = proc;
                if let Ok(Some(st)) = p.child.try_wait() {
                    return Err(format!("{} exited: {st}", server.name));
                }
                return start_wait(p, deadline, server);
            }
        }
    }
    Err(format!("{} did not start", server.name))
}

fn start_wait(
    proc: Proc,
    deadline: Instant,
    server: &Server,
) -> Result<(Proc, SocketAddr), String> {
    while Instant::now() < deadline {
        if let Some(line) = proc.line(Duration::from_millis(200)) {
            if let Some(a) = line.split("listening on ").nth(1) {
                let addr: SocketAddr = a.trim().parse().map_err(|_| format!("bad: {line}"))?;
                if server.pinned && net::cpus() > 1 {
                    net::pin_process(proc.pid(), 0);
                }
                return Ok((proc, addr));
            }
        }
    }
    proc.stop(Duration::from_secs(1));
    Err(format!("{} did not start", server.name))
}

fn client_cpu() -> String {
    if net::cpus() > 1 { "1" } else { "-1" }.to_string()
}

/// The load generator's CPU for a run against `server`: CPU 1 when the
/// server is pinned to CPU 0, none (-1) when the server is unpinned.
fn client_cpu_for(server: &Server) -> String {
    if server.pinned {
        client_cpu()
    } else {
        "-1".to_string()
    }
}

fn loadgen(args: &[String], cpu: &str) -> Result<Value, String> {
    let out = Command::new(bin_dir().join("loadgen"))
        .args(args)
        .arg("--cpu")
        .arg(cpu)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("loadgen: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    if !out.status.success() || line.is_empty() {
        return Err(format!(
            "loadgen failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    serde_json::from_str(line).map_err(|e| format!("loadgen output {line:?}: {e}"))
}

fn idle_holder(addr: SocketAddr, conns: usize, timeout: f64) -> Result<(Proc, Value), String> {
    let cmd = vec![
        bin_dir().join("loadgen").display().to_string(),
        "idle".into(),
        "--addr".into(),
        addr.to_string(),
        "--conns".into(),
        conns.to_string(),
        "--setup-timeout".into(),
        timeout.to_string(),
        "--cpu".into(),
        client_cpu(),
    ];
    let p = Proc::spawn(&cmd, true).map_err(|e| e.to_string())?;
    let line = p
        .line(Duration::from_secs_f64(timeout + 30.0))
        .ok_or_else(|| "idle holder said nothing".to_string())?;
    let v: Value = serde_json::from_str(&line).map_err(|e| format!("idle holder: {e}"))?;
    if v["ready"].as_bool() != Some(true) {
        let got = v["established"].as_u64().unwrap_or(0);
        p.finish(Duration::from_secs(10));
        return Err(format!(
            "only {got} of {conns} idle connections established within {timeout} s"
        ));
    }
    Ok((p, v))
}

fn run_one(args: &Args, scen: &Scenario, server: &Server) -> Result<Value, String> {
    let (srv, addr) = start_server(server, &[])?;
    let pid = srv.pid();
    let window = [
        "--warmup".to_string(),
        args.warmup.to_string(),
        "--duration".into(),
        args.duration.to_string(),
        "--server-pid".into(),
        pid.to_string(),
        "--addr".into(),
        addr.to_string(),
    ];
    let result = match scen.kind {
        Kind::Echo {
            conns,
            depth,
            size,
            idle,
            line,
        } => {
            let holder = if idle > 0 {
                Some(idle_holder(addr, idle, args.idle_timeout))
            } else {
                None
            };
            match holder {
                Some(Err(e)) => Err(e),
                h => {
                    let mut a: Vec<String> = vec!["echo".into()];
                    a.extend(window.iter().cloned());
                    a.extend([
                        "--conns".into(),
                        conns.to_string(),
                        "--depth".into(),
                        depth.to_string(),
                        "--size".into(),
                        size.to_string(),
                    ]);
                    if line {
                        a.push("--line".into());
                    }
                    let mut r = loadgen(&a, &client_cpu_for(server));
                    if let Ok(v) = r.as_mut() {
                        // CPUs' worth used over the window (1.0 = one CPU busy).
                        let elapsed = v["elapsed_s"].as_f64().unwrap_or(0.0);
                        if elapsed > 0.0 {
                            for (from, to) in [
                                ("server_cpu_s", "server_cpus"),
                                ("client_cpu_s", "client_cpus"),
                            ] {
                                if let Some(cpu) = v[from].as_f64() {
                                    v[to] = (cpu / elapsed).into();
                                }
                            }
                        }
                    }
                    if let Some(Ok((p, hv))) = h {
                        if let Ok(v) = r.as_mut() {
                            v["idle"] = idle.into();
                            v["idle_setup_s"] = hv["setup_s"].clone();
                        }
                        p.finish(Duration::from_secs(30));
                    }
                    r
                }
            }
        }
        Kind::Churn { slots, size } => {
            let mut a: Vec<String> = vec!["churn".into()];
            a.extend(window.iter().cloned());
            a.extend([
                "--conns".into(),
                slots.to_string(),
                "--size".into(),
                size.to_string(),
            ]);
            loadgen(&a, &client_cpu_for(server))
        }
        Kind::Rss { idle } => {
            std::thread::sleep(Duration::from_millis(100));
            let before = net::proc_rss_kib(pid).unwrap_or(0);
            match idle_holder(addr, idle, args.idle_timeout) {
                Ok((p, hv)) => {
                    std::thread::sleep(Duration::from_millis(300));
                    let after = net::proc_rss_kib(pid).unwrap_or(0);
                    p.finish(Duration::from_secs(30));
                    Ok(serde_json::json!({
                        "mode": "rss",
                        "idle": idle,
                        "rss_before_kib": before,
                        "rss_after_kib": after,
                        "kib_per_conn": (after as f64 - before as f64) / idle as f64,
                        "setup_s": hv["setup_s"].clone(),
                        "errors": hv["errors"].clone(),
                    }))
                }
                Err(e) => Err(e),
            }
        }
    };
    srv.stop(Duration::from_secs(10));
    result
}

// ------------------------------------------------------------ callgrind

/// Total instructions (Ir) in a callgrind output file.
fn callgrind_total(path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// How the callgrind load drives the server.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CgLoad {
    /// 64 B messages, 10 connections, 1 in flight.
    Echo,
    /// (f)'s shape: 64 B, 10 connections, 16 in flight; CRLF lines for line servers.
    Pipelined { line: bool },
}

fn callgrind(server: &Server, msgs: u64, dir: &Path, load: CgLoad) -> Result<u64, String> {
    let tag = match load {
        CgLoad::Echo => "echo",
        CgLoad::Pipelined { .. } => "pipelined",
    };
    let file = dir.join(format!("callgrind.{}.{tag}.{msgs}", server.id));
    let wrap = vec![
        "valgrind".to_string(),
        "--tool=callgrind".into(),
        format!("--callgrind-out-file={}", file.display()),
    ];
    let (srv, addr) = start_server(server, &wrap)?;
    let depth = if load == CgLoad::Echo { "1" } else { "16" };
    let mut args: Vec<String> = vec![
        "echo".into(),
        "--addr".into(),
        addr.to_string(),
        "--conns".into(),
        "10".into(),
        "--depth".into(),
        depth.into(),
        "--size".into(),
        "64".into(),
        "--count".into(),
        msgs.to_string(),
    ];
    if load == (CgLoad::Pipelined { line: true }) {
        args.push("--line".into());
    }
    let r = loadgen(&args, &client_cpu_for(server));
    srv.stop(Duration::from_secs(60));
    let v = r?;
    if v["errors"].as_u64() != Some(0) || v["messages"].as_u64() != Some(msgs) {
        return Err(format!("callgrind run incomplete: {v}"));
    }
    callgrind_total(&file).ok_or_else(|| format!("no totals in {}", file.display()))
}

/// One table row per callgrind figure whose key is `prefix` + a server id
/// (an empty prefix: keys without one), as a ratio to `prefix` + "c".
fn cg_rows(
    s: &mut String,
    cg: &[(String, Result<f64, String>)],
    prefix: &str,
    name: &dyn Fn(&str) -> String,
) {
    let rows: Vec<(&str, &Result<f64, String>)> = cg
        .iter()
        .filter_map(|(key, r)| {
            let id = key.strip_prefix(prefix)?;
            (!id.contains(':')).then_some((id, r))
        })
        .collect();
    let c = rows
        .iter()
        .find(|(id, _)| *id == "c")
        .and_then(|(_, r)| r.as_ref().ok().copied());
    for (id, r) in rows {
        match r {
            Ok(v) => {
                let _ = writeln!(
                    s,
                    "| {} | {:.0} | {} |",
                    name(id),
                    v,
                    fmt_ratio(c.map(|c| v / c))
                );
            }
            Err(e) => {
                let _ = writeln!(s, "| {} | n/a: {e} | |", name(id));
            }
        }
    }
}

fn has_valgrind() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

// ------------------------------------------------------------ statistics

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

struct Table<'a> {
    runs: &'a [Run],
}

impl Table<'_> {
    fn values(&self, scen: &str, server: &str, key: &str) -> Vec<(usize, f64)> {
        self.runs
            .iter()
            .filter(|r| r.scenario == scen && r.server == server)
            .filter_map(|r| Some((r.round, r.result.as_ref().ok()?[key].as_f64()?)))
            .collect()
    }

    fn median(&self, scen: &str, server: &str, key: &str) -> Option<f64> {
        median(
            self.values(scen, server, key)
                .into_iter()
                .map(|x| x.1)
                .collect(),
        )
    }

    /// Median over rounds of (server / reference) measured in the same round.
    fn ratio(&self, scen: &str, server: &str, key: &str, reference: (&str, &str)) -> Option<f64> {
        let refs: BTreeMap<usize, f64> = self
            .values(reference.0, reference.1, key)
            .into_iter()
            .collect();
        median(
            self.values(scen, server, key)
                .into_iter()
                .filter_map(|(round, v)| Some(v / refs.get(&round)?))
                .collect(),
        )
    }

    fn error(&self, scen: &str, server: &str) -> Option<String> {
        self.runs
            .iter()
            .filter(|r| r.scenario == scen && r.server == server)
            .find_map(|r| r.result.as_ref().err().cloned())
    }
}

fn fmt_num(v: Option<f64>, digits: usize) -> String {
    v.map_or("—".into(), |v| {
        if v.abs() >= 10_000.0 {
            let s = format!("{:.0}", v);
            let mut out = String::new();
            for (i, ch) in s.chars().enumerate() {
                if i > 0 && (s.len() - i) % 3 == 0 {
                    out.push(',');
                }
                out.push(ch);
            }
            out
        } else {
            format!("{v:.digits$}")
        }
    })
}

fn fmt_ratio(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{v:.2}x"))
}

// ------------------------------------------------------------ chart

fn svg(runs: &[Run], servers: &[Server], idle_points: &[(&str, usize)]) -> String {
    let t = Table { runs };
    let (w, h, left, right, top, bottom) = (900.0, 440.0, 80.0, 330.0, 40.0, 50.0);
    let series: Vec<(&Server, Vec<(usize, f64)>)> = servers
        .iter()
        .map(|s| {
            let pts = idle_points
                .iter()
                .filter_map(|(scen, idle)| Some((*idle, t.median(scen, s.id, "msgs_per_s")?)))
                .collect();
            (s, pts)
        })
        .filter(|(_, p): &(&Server, Vec<_>)| !p.is_empty())
        .collect();
    let top_value = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|x| x.1))
        .fold(1.0f64, f64::max);
    // Round tick steps: 1, 2 or 5 times a power of ten, five or so of them.
    let raw_step = top_value / 5.0;
    let pow = 10f64.powf(raw_step.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * pow)
        .find(|s| *s >= raw_step)
        .unwrap_or(10.0 * pow);
    let ticks = (top_value / step).ceil() as usize;
    let ymax = step * ticks as f64;
    let xmax = idle_points.iter().map(|x| x.1).max().unwrap_or(1).max(1) as f64;
    let px = |x: f64| left + x / xmax * (w - left - right);
    let py = |y: f64| top + (1.0 - y / ymax) * (h - top - bottom);
    let colors = [
        "#000000", "#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
    ];
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(s, "<rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>");
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"22\" font-size=\"14\" text-anchor=\"middle\">Echo messages/s (64 B, d0's active connections) against idle connections held</text>",
        w / 2.0
    );
    for i in 0..=ticks {
        let y = step * i as f64;
        let _ = writeln!(
            s,
            "<line x1=\"{left}\" x2=\"{0}\" y1=\"{1:.1}\" y2=\"{1:.1}\" stroke=\"#ddd\"/><text x=\"{2}\" y=\"{3:.1}\" text-anchor=\"end\">{4}</text>",
            w - right,
            py(y),
            left - 6.0,
            py(y) + 4.0,
            fmt_num(Some(y), 0)
        );
    }
    for (_, idle) in idle_points {
        let x = px(*idle as f64);
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{top}\" y2=\"{}\" stroke=\"#eee\"/><text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            h - bottom,
            h - bottom + 18.0,
            idle
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">idle connections</text>",
        (left + w - right) / 2.0,
        h - 10.0
    );
    let _ = writeln!(
        s,
        "<line x1=\"{left}\" x2=\"{left}\" y1=\"{top}\" y2=\"{0}\" stroke=\"black\"/><line x1=\"{left}\" x2=\"{1}\" y1=\"{0}\" y2=\"{0}\" stroke=\"black\"/>",
        h - bottom,
        w - right
    );
    for (i, (server, pts)) in series.iter().enumerate() {
        let color = colors[i % colors.len()];
        let path: Vec<String> = pts
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x as f64), py(*y)))
            .collect();
        let _ = writeln!(
            s,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
            path.join(" ")
        );
        for (x, y) in pts {
            let _ = writeln!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{color}\"/>",
                px(*x as f64),
                py(*y)
            );
        }
        let ly = top + 10.0 + i as f64 * 20.0;
        let lx = w - right + 15.0;
        let _ = writeln!(
            s,
            "<line x1=\"{lx}\" x2=\"{}\" y1=\"{ly}\" y2=\"{ly}\" stroke=\"{color}\" stroke-width=\"2\"/><text x=\"{}\" y=\"{}\">{}</text>",
            lx + 20.0,
            lx + 26.0,
            ly + 4.0,
            server.name
        );
    }
    s.push_str("</svg>\n");
    s
}

// ------------------------------------------------------------ report

const BEGIN: &str = "<!-- echo-bench:begin (written by bench/src/bin/matrix.rs) -->";
const END: &str = "<!-- echo-bench:end -->";

struct Meta {
    command: String,
    date: String,
    load_start: f64,
    load_end: f64,
    waited_for_quiet: String,
    notes: Vec<String>,
    callgrind: Vec<(String, Result<f64, String>)>,
    svg_link: Option<String>,
    elapsed: f64,
}

fn render(
    args: &Args,
    runs: &[Run],
    servers: &[Server],
    scens: &[Scenario],
    meta: &Meta,
) -> String {
    let t = Table { runs };
    let name = |id: &str| -> String {
        servers
            .iter()
            .find(|s| s.id == id)
            .map_or(id.to_string(), |s| s.name.to_string())
    };
    let mut s = String::new();
    let _ = writeln!(s, "{BEGIN}\n");
    let _ = writeln!(s, "## Echo servers: speed and scale (issue 6)\n");
    let _ = writeln!(
        s,
        "Measured {} with:\n\n```sh\n{}\n```\n",
        meta.date, meta.command
    );
    let _ = writeln!(
        s,
        "{} rounds; each run: a fresh server pinned to CPU 0, the load generator (`bench/src/bin/loadgen.rs`, one thread on raw epoll) pinned to CPU 1 (except in (m), where neither is pinned), {} s warm-up, then a {} s window. Figures are medians over the rounds; **×C** is the median of the per-round ratios to the C epoll server measured in the same round. Server CPU is utime+stime from `/proc/PID/stat` over exactly the window. CPython peers run the idle scenarios (d, g) in round 1 only (accepting thousands of connections takes them minutes). Load average (1 min): {:.2} at the start, {:.2} at the end{}. The whole run took {:.0} s.\n",
        args.rounds, args.warmup, args.duration, meta.load_start, meta.load_end, meta.waited_for_quiet, meta.elapsed
    );
    for n in &meta.notes {
        let _ = writeln!(s, "- {n}");
    }
    if !meta.notes.is_empty() {
        s.push('\n');
    }
    // Main figure: CPU per message.
    let echo_scens: Vec<&Scenario> = scens
        .iter()
        .filter(|sc| !matches!(sc.kind, Kind::Rss { .. }) && sc.id != MULTI)
        .collect();
    let mut ids: Vec<&'static str> = Vec::new();
    for sc in &echo_scens {
        for id in &sc.servers {
            if !ids.contains(id) && servers.iter().any(|s| s.id == *id) {
                ids.push(id);
            }
        }
    }
    for (title, key, digits) in [
        (
            "### Server CPU per message (µs) — the main figure (×C in parentheses)",
            "server_cpu_us_per_msg",
            2,
        ),
        (
            "### Messages per second (×C in parentheses)",
            "msgs_per_s",
            0,
        ),
    ] {
        let _ = writeln!(s, "{title}\n");
        let _ = write!(s, "| server |");
        for sc in &echo_scens {
            let _ = write!(s, " {} |", sc.id);
        }
        let _ = write!(s, "\n|---|");
        for _ in &echo_scens {
            s.push_str("---|");
        }
        s.push('\n');
        for id in &ids {
            let _ = write!(s, "| {} |", name(id));
            for sc in &echo_scens {
                if !sc.servers.contains(id) {
                    s.push_str(" |");
                    continue;
                }
                let v = t.median(sc.id, id, key);
                if v.is_none() {
                    s.push_str(" n/a |");
                    continue;
                }
                let _ = write!(
                    s,
                    " {} ({}) |",
                    fmt_num(v, digits),
                    fmt_ratio(t.ratio(sc.id, id, key, (sc.id, "c")))
                );
            }
            s.push('\n');
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "Scenarios: {}. In (e) a message is a whole connection (connect, 64 B each way, close). (f) compares line servers: the C server echoes raw bytes; ours is `asyncore/examples/line_echo.rs` (AsyncChat, CRLF terminator, the lines that arrived whole answered in place, one push a read), and `bench/src/bin/peer_line_dispatcher.rs` the same echo on a bare Dispatcher (memchr, one reply per read), the floor under it; CPython's is asynchat.\n",
        echo_scens
            .iter()
            .map(|sc| sc.title.clone())
            .collect::<Vec<_>>()
            .join("; ")
    );
    if let Some(link) = &meta.svg_link {
        let _ = writeln!(
            s,
            "![messages/s against idle connections]({link})\n\n[Chart: messages/s against idle connections, every server]({link})\n"
        );
    }
    // Per-scenario details.
    let _ = writeln!(s, "### Every scenario in detail (medians)\n");
    for sc in &echo_scens {
        let _ = writeln!(s, "**{}**\n", sc.title);
        let _ = writeln!(
            s,
            "| server | msgs/s | ×C | CPU µs/msg | ×C | MB/s | p50 µs | p99 µs | p99.9 µs | errors | note |\n|---|---|---|---|---|---|---|---|---|---|---|"
        );
        for id in &sc.servers {
            if !servers.iter().any(|s| s.id == *id) {
                continue;
            }
            let m = |k: &str, d| fmt_num(t.median(sc.id, id, k), d);
            let note = match (t.median(sc.id, id, "msgs_per_s"), t.error(sc.id, id)) {
                (None, Some(e)) => e,
                (None, None) => "not run".into(),
                _ => match t.median(sc.id, id, "idle_setup_s") {
                    Some(v) => format!("idle set up in {v:.2} s"),
                    None => String::new(),
                },
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                name(id),
                m("msgs_per_s", 0),
                fmt_ratio(t.ratio(sc.id, id, "msgs_per_s", (sc.id, "c"))),
                m("server_cpu_us_per_msg", 2),
                fmt_ratio(t.ratio(sc.id, id, "server_cpu_us_per_msg", (sc.id, "c"))),
                m("mb_per_s", 1),
                m("p50_us", 1),
                m("p99_us", 1),
                m("p999_us", 1),
                fmt_num(
                    Some(
                        t.values(sc.id, id, "errors")
                            .iter()
                            .map(|x| x.1)
                            .sum::<f64>()
                    ),
                    0
                ),
                note
            );
        }
        s.push('\n');
    }
    // Idle: flatness and accept time.
    let _ = writeln!(s, "### Flat with idle connections\n");
    let _ = writeln!(
        s,
        "| server | d5k / d0 msgs/s | d15k / d0 msgs/s | d5k / d0 CPU per msg | d15k / d0 CPU per msg | accept 5k idle (s) | ×C | accept 15k idle (s) | ×C |\n|---|---|---|---|---|---|---|---|---|"
    );
    for id in &ids {
        if !scens
            .iter()
            .any(|sc| sc.id == "d5k" && sc.servers.contains(id))
        {
            continue;
        }
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            name(id),
            fmt_ratio(t.ratio("d5k", id, "msgs_per_s", ("d0", id))),
            fmt_ratio(t.ratio("d15k", id, "msgs_per_s", ("d0", id))),
            fmt_ratio(t.ratio("d5k", id, "server_cpu_us_per_msg", ("d0", id))),
            fmt_ratio(t.ratio("d15k", id, "server_cpu_us_per_msg", ("d0", id))),
            fmt_num(t.median("d5k", id, "idle_setup_s"), 2),
            fmt_ratio(t.ratio("d5k", id, "idle_setup_s", ("d5k", "c"))),
            fmt_num(t.median("d15k", id, "idle_setup_s"), 2),
            fmt_ratio(t.ratio("d15k", id, "idle_setup_s", ("d15k", "c"))),
        );
    }
    s.push_str("\nAccept time: the idle holder opens the connections 64 at a time and counts one as established when its 1-byte ping has come back, so the figure is the server's accept-and-serve time, not the kernel's handshake.\n\n");
    // Memory.
    if let Some(g) = scens.iter().find(|sc| sc.id == "g") {
        let _ = writeln!(s, "### {}\n", g.title);
        let _ = writeln!(
            s,
            "| server | VmRSS, 0 idle (KiB) | VmRSS, idle held (KiB) | KiB per idle connection | note |\n|---|---|---|---|---|"
        );
        for id in &g.servers {
            if !servers.iter().any(|s| s.id == *id) {
                continue;
            }
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                name(id),
                fmt_num(t.median("g", id, "rss_before_kib"), 0),
                fmt_num(t.median("g", id, "rss_after_kib"), 0),
                fmt_num(t.median("g", id, "kib_per_conn"), 2),
                t.error("g", id).unwrap_or_default()
            );
        }
        s.push('\n');
    }
    // (m): one loop against two.
    if let Some(m) = scens.iter().find(|sc| sc.id == MULTI) {
        render_multi(&mut s, &t, m, &name);
    }
    // Callgrind.
    if !meta.callgrind.is_empty() {
        let _ = writeln!(
            s,
            "### User-space instructions per echoed message (callgrind)\n\n`valgrind --tool=callgrind` on the server; the load generator echoes exactly N and then 2N 64-byte messages over 10 connections (`loadgen echo --count`), and the figure is (Ir(2N) − Ir(N)) / N, so start-up and shut-down cancel out. N = {}.\n\n| server | instructions per message | ×C |\n|---|---|---|",
            args.callgrind_msgs
        );
        cg_rows(&mut s, &meta.callgrind, "", &name);
        s.push('\n');
        if meta.callgrind.iter().any(|(id, _)| id.starts_with("f:")) {
            let _ = writeln!(
                s,
                "Pipelined, (f)'s shape: 64 B messages, 10 connections, 16 in flight; the C server echoes raw bytes; the line servers are fed CRLF lines: the bare-dispatcher one (`peer_line_dispatcher`: memchr, one reply per read) is the floor under the AsyncChat `line_echo`. Same N.\n\n| server | instructions per message | ×C |\n|---|---|---|"
            );
            cg_rows(&mut s, &meta.callgrind, "f:", &name);
            s.push('\n');
        }
    }
    // Targets.
    let _ = writeln!(s, "### Targets of issue 6 (epoll backend)\n");
    let _ = writeln!(s, "| target | measured | met? |\n|---|---|---|");
    let met = |ok: Option<bool>| match ok {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "not measured",
    };
    for sc in ["a", "b", "c", "d0", "d5k", "d15k"] {
        let r = t.ratio(sc, "epoll", "server_cpu_us_per_msg", (sc, "c"));
        let _ = writeln!(
            s,
            "| CPU per message within 1.1x of C in ({sc}) | {} | {} |",
            fmt_ratio(r),
            met(r.map(|r| r <= 1.1))
        );
    }
    for sc in ["d5k", "d15k"] {
        let r = t.ratio(sc, "epoll", "msgs_per_s", ("d0", "epoll"));
        let _ = writeln!(
            s,
            "| Flat with idle connections: {sc} / d0 msgs/s ≥ 0.95 | {} | {} |",
            fmt_ratio(r),
            met(r.map(|r| r >= 0.95))
        );
    }
    let acc = t.ratio("d5k", "epoll", "idle_setup_s", ("d5k", "c"));
    let _ = writeln!(
        s,
        "| Accepting 5,000 connections as fast as C | {} s vs C {} s ({}) | {} |",
        fmt_num(t.median("d5k", "epoll", "idle_setup_s"), 2),
        fmt_num(t.median("d5k", "c", "idle_setup_s"), 2),
        fmt_ratio(acc),
        met(acc.map(|r| r <= 1.1))
    );
    let rss = t.median("g", "epoll", "kib_per_conn");
    let _ = writeln!(
        s,
        "| At most 0.5 KiB of user-space memory per idle connection | {} KiB | {} |",
        fmt_num(rss, 2),
        met(rss.map(|r| r <= 0.5))
    );
    let f = t.ratio("f", "chat", "server_cpu_us_per_msg", ("f", "c"));
    let _ = writeln!(
        s,
        "| Pipelined line echo through AsyncChat within 1.5x of C's CPU per message | {} | {} |",
        fmt_ratio(f),
        met(f.map(|r| r <= 1.5))
    );
    let cg = meta
        .callgrind
        .iter()
        .find(|(id, _)| id == "epoll")
        .and_then(|(_, r)| r.as_ref().ok().copied())
        .zip(
            meta.callgrind
                .iter()
                .find(|(id, _)| id == "c")
                .and_then(|(_, r)| r.as_ref().ok().copied()),
        )
        .map(|(a, c)| a / c);
    let _ = writeln!(
        s,
        "| User-space instructions per message at most 2x C's | {} | {} |",
        fmt_ratio(cg),
        met(cg.map(|r| r <= 2.0))
    );
    let _ = writeln!(
        s,
        "| `asyncore http` vs nginx (one worker) under wrk | — | not measured: `asyncore http` does not exist yet |\n"
    );
    let _ = writeln!(s, "{END}");
    s
}

/// The section of scenario (m): `--loops 1` against `--loops 2`, and their ratio.
fn render_multi(s: &mut String, t: &Table<'_>, m: &Scenario, name: &dyn Fn(&str) -> String) {
    let _ = writeln!(s, "### {}\n", m.title);
    let _ = writeln!(
        s,
        "`asyncore echo --backend epoll --loops N`: N event loops, one thread each, each with its own SO_REUSEPORT listener on the same address (`asyncore_loop::LoopGroup`). Unlike every other scenario, **neither the server nor the load generator is pinned**: the scheduler may run the server's loops on both CPUs, and the load generator (one thread) competes with them for a CPU. Server CPUs is server CPU time over the window divided by the window (1.00 = one CPU fully busy); client CPUs likewise for the load generator.\n"
    );
    let _ = writeln!(
        s,
        "| server | msgs/s | CPU µs/msg | server CPUs | client CPUs | p50 µs | p99 µs | p99.9 µs | errors | note |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for id in [LOOPS1, LOOPS2] {
        if !m.servers.contains(&id) {
            continue;
        }
        let v = |k: &str, d| fmt_num(t.median(m.id, id, k), d);
        let note = match (t.median(m.id, id, "msgs_per_s"), t.error(m.id, id)) {
            (None, Some(e)) => e,
            (None, None) => "not run".into(),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            name(id),
            v("msgs_per_s", 0),
            v("server_cpu_us_per_msg", 2),
            v("server_cpus", 2),
            v("client_cpus", 2),
            v("p50_us", 1),
            v("p99_us", 1),
            v("p999_us", 1),
            fmt_num(
                Some(
                    t.values(m.id, id, "errors")
                        .iter()
                        .map(|x| x.1)
                        .sum::<f64>()
                ),
                0
            ),
            note
        );
    }
    let ratio = |k: &str| fmt_ratio(t.ratio(m.id, LOOPS2, k, (m.id, LOOPS1)));
    let _ = writeln!(
        s,
        "\n2 loops / 1 loop (median of the per-round ratios): messages/s **{}**, server CPU per message {}, server CPUs {}.\n",
        ratio("msgs_per_s"),
        ratio("server_cpu_us_per_msg"),
        ratio("server_cpus")
    );
}

fn splice(path: &Path, section: &str) -> io::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if e > b => format!(
            "{}{}{}",
            &old[..b],
            section.trim_end(),
            &old[e + END.len()..]
        ),
        _ => {
            let sep = if old.is_empty() || old.ends_with("\n\n") {
                ""
            } else if old.ends_with('\n') {
                "\n"
            } else {
                "\n\n"
            };
            format!("{old}{sep}{section}")
        }
    };
    std::fs::write(path, new)
}

// ------------------------------------------------------------ the run

fn run(args: &Args) -> io::Result<bool> {
    let started = Instant::now();
    net::raise_nofile();
    if !args.no_build {
        build()?;
    }
    let mut notes = Vec::new();
    let all_servers = servers(&mut notes);
    let want = |list: &Option<String>, id: &str| {
        list.as_ref()
            .is_none_or(|l| l.split(',').any(|x| x.trim() == id))
    };
    let servers: Vec<Server> = all_servers
        .into_iter()
        .filter(|s| want(&args.servers, s.id))
        .collect();
    let hard = net::nofile_hard();
    let mut scens: Vec<Scenario> = scenarios(args.smoke)
        .into_iter()
        .filter(|s| want(&args.scenarios, s.id))
        .collect();
    scens.retain(|sc| {
        let idle = match sc.kind {
            Kind::Echo { idle, .. } => idle,
            Kind::Rss { idle } => idle,
            Kind::Churn { .. } => 0,
        };
        if idle as u64 + 200 > hard {
            notes.push(format!(
                "{} skipped: RLIMIT_NOFILE hard limit is {hard}, too low for {idle} connections",
                sc.title
            ));
            return false;
        }
        true
    });
    if net::cpus() < 2 {
        notes.push("one CPU only: server and load generator share it (ratios only)".into());
    }
    notes.push("`asyncore echo, select` is not run with idle connections: select cannot watch descriptors at or above FD_SETSIZE (1024)".into());
    let mut waited = String::new();
    if args.quiet_wait > 0 {
        let until = Instant::now() + Duration::from_secs(args.quiet_wait);
        while net::loadavg() >= args.quiet_load && Instant::now() < until {
            eprint!(
                "\rmatrix: waiting for a quiet machine (load {:.2} ≥ {})   ",
                net::loadavg(),
                args.quiet_load
            );
            let _ = io::stderr().flush();
            std::thread::sleep(Duration::from_secs(5));
        }
        if net::loadavg() >= args.quiet_load {
            waited = format!(
                "; the machine did not get quiet (load < {}) within {} s, so this ran anyway: compare the ratios",
                args.quiet_load, args.quiet_wait
            );
        }
        eprintln!();
    }
    let load_start = net::loadavg();
    let mut plan: Vec<(usize, &Scenario, &Server)> = (1..=args.rounds)
        .flat_map(|round| {
            let servers = &servers;
            scens.iter().flat_map(move |sc| {
                servers
                    .iter()
                    .filter(move |s| sc.servers.contains(&s.id))
                    .filter(move |s| {
                        let idle_scen = matches!(sc.kind, Kind::Rss { .. })
                            || matches!(sc.kind, Kind::Echo { idle, .. } if idle > 0);
                        // Memory is measured once; slow peers do idle scenarios once.
                        !(round > 1
                            && (matches!(sc.kind, Kind::Rss { .. }) || (idle_scen && s.slow)))
                    })
                    .filter(move |s| {
                        !(s.select
                            && (matches!(sc.kind, Kind::Rss { .. })
                                || matches!(sc.kind, Kind::Echo { idle, .. } if idle > 0)))
                    })
                    .map(move |s| (round, sc, s))
            })
        })
        .collect::<Vec<_>>();
    // Rotate the server order from round to round, so that no server always
    // runs first in a scenario (right after the previous scenario's teardown).
    let mut start = 0;
    while start < plan.len() {
        let (round, sc) = (plan[start].0, plan[start].1.id);
        let end = plan[start..]
            .iter()
            .position(|p| p.0 != round || p.1.id != sc)
            .map_or(plan.len(), |n| start + n);
        let len = end - start;
        plan[start..end].rotate_left((round - 1) % len);
        start = end;
    }
    let mut runs: Vec<Run> = Vec::new();
    let mut json = match &args.json {
        Some(p) => Some(std::fs::File::create(p)?),
        None => None,
    };
    let mut ok = true;
    let tty = io::stderr().is_terminal();
    for (i, (round, sc, server)) in plan.iter().enumerate() {
        let progress = format!(
            "[{}/{}] round {round}/{} {:>4} {:<40} load {:.2}  {:.0} s",
            i + 1,
            plan.len(),
            args.rounds,
            sc.id,
            server.name,
            net::loadavg(),
            started.elapsed().as_secs_f64()
        );
        if tty {
            eprint!("\r\x1b[K{progress}");
        } else {
            eprintln!("{progress}");
        }
        let _ = io::stderr().flush();
        let result = run_one(args, sc, server);
        if !args.smoke
            && (matches!(sc.kind, Kind::Rss { .. })
                || matches!(sc.kind, Kind::Echo { idle, .. } if idle > 0))
        {
            // Let the kernel finish tearing down thousands of connections
            // before the next run is timed.
            std::thread::sleep(Duration::from_secs(2));
        }
        if let Some(f) = json.as_mut() {
            let line = match &result {
                Ok(v) => {
                    serde_json::json!({"round": round, "scenario": sc.id, "server": server.id, "result": v})
                }
                Err(e) => {
                    serde_json::json!({"round": round, "scenario": sc.id, "server": server.id, "error": e})
                }
            };
            writeln!(f, "{line}")?;
        }
        let failed = match &result {
            Err(e) => Some(e.clone()),
            Ok(v) if v["errors"].as_u64().unwrap_or(0) > 0 => {
                Some(format!("{} errors", v["errors"]))
            }
            Ok(v) if v["mode"] != "rss" && v["messages"].as_u64() == Some(0) => {
                Some("no messages".into())
            }
            _ => None,
        };
        if let Some(e) = failed {
            eprintln!(
                "{}matrix: {} / {}: {e}",
                if tty { "\n" } else { "" },
                sc.id,
                server.name
            );
            ok = false;
        }
        runs.push(Run {
            round: *round,
            scenario: sc.id,
            server: server.id,
            result,
        });
    }
    eprintln!();
    // Callgrind.
    let mut cg = Vec::new();
    if !args.no_callgrind {
        if !has_valgrind() {
            notes.push("callgrind figure skipped: valgrind is not installed".into());
        } else {
            let dir =
                std::env::temp_dir().join(format!("asyncore-bench-cg-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            // The echo figure (c, epoll, and the Rust peers), then (f)'s
            // pipelined shape (c raw; lines on a bare dispatcher and on AsyncChat).
            let runs = servers
                .iter()
                .filter(|s| ["c", "epoll", "mio", "tokio"].contains(&s.id))
                .map(|s| (s, CgLoad::Echo, s.id.to_string()))
                .chain(
                    servers
                        .iter()
                        .filter(|s| ["c", "lines", "chat"].contains(&s.id))
                        .map(|s| {
                            let line = s.id != "c";
                            (s, CgLoad::Pipelined { line }, format!("f:{}", s.id))
                        }),
                );
            for (server, load, key) in runs {
                if tty {
                    eprint!("\r\x1b[Kcallgrind: {key} {}", server.name);
                } else {
                    eprintln!("callgrind: {key} {}", server.name);
                }
                let _ = io::stderr().flush();
                let n = args.callgrind_msgs;
                let r = callgrind(server, n, &dir, load)
                    .and_then(|a| Ok((a, callgrind(server, 2 * n, &dir, load)?)))
                    .map(|(a, b)| (b as f64 - a as f64) / n as f64);
                if let Err(e) = &r {
                    eprintln!("\nmatrix: callgrind {key} {}: {e}", server.name);
                    ok = false;
                }
                cg.push((key, r));
            }
            eprintln!();
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let svg_path = args.svg.clone().or_else(|| {
        args.out.as_ref().map(|o| {
            o.parent()
                .unwrap_or(Path::new("."))
                .join("bench")
                .join("idle.svg")
        })
    });
    let idle_points = [("d0", 0usize), ("d5k", 0), ("d15k", 0)]
        .iter()
        .filter_map(|(id, _)| {
            let sc = scenarios(args.smoke).into_iter().find(|s| s.id == *id)?;
            match sc.kind {
                Kind::Echo { idle, .. } => Some((*id, idle)),
                _ => None,
            }
        })
        .collect::<Vec<_>>();
    let mut svg_link = None;
    if let Some(p) = &svg_path {
        let chart_servers: Vec<Server> = servers
            .iter()
            .filter(|s| {
                scens
                    .iter()
                    .any(|sc| sc.id == "d0" && sc.servers.contains(&s.id))
            })
            .cloned()
            .collect();
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(p, svg(&runs, &chart_servers, &idle_points))?;
        let base = args
            .out
            .as_ref()
            .and_then(|o| o.parent())
            .unwrap_or(Path::new(""));
        svg_link = Some(p.strip_prefix(base).unwrap_or(p).display().to_string());
    }
    let mut command = String::from("cargo run --release -p asyncore-bench --bin matrix --");
    for a in std::env::args().skip(1) {
        command.push(' ');
        command.push_str(&a);
    }
    let meta = Meta {
        command,
        date: date(),
        load_start,
        load_end: net::loadavg(),
        waited_for_quiet: waited,
        notes,
        callgrind: cg,
        svg_link,
        elapsed: started.elapsed().as_secs_f64(),
    };
    let section = render(args, &runs, &servers, &scens, &meta);
    match &args.out {
        Some(p) => {
            splice(p, &section)?;
            eprintln!("matrix: wrote {}", p.display());
        }
        None => print!("{section}"),
    }
    if let Some(p) = &svg_path {
        eprintln!("matrix: wrote {}", p.display());
    }
    if args.smoke {
        eprintln!(
            "matrix: smoke {} in {:.1} s",
            if ok { "ok" } else { "FAILED" },
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ok || !args.smoke)
}

fn date() -> String {
    Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d %H:%M UTC")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
