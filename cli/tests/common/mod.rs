//! Helpers shared by the CLI's process tests: one wrapper, [`Proc`], for
//! every child process they start (the `asyncore` binary and the Python or
//! other helper programs).
//!
//! * [`Proc::serve`]: the `asyncore` binary serving on 127.0.0.1 port 0; its
//!   address is read from the line the app prints first
//!   (`APP: listening on ADDRESS`).
//! * [`run`]: the `asyncore` binary run to completion under a deadline.
//! * [`Proc::spawn`]: any other program (python3, nc, curl).
//! * [`serve_http`]: `asyncore http` on a root, after its URL line.
//! * [`random_bytes`]: deterministic test data.
//! * [`backend`]: the backend the suite runs on. The binary reads the same
//!   `ASYNCORE_BACKEND` for its default `--backend`, so `ASYNCORE_BACKEND=poll
//!   cargo test -p asyncore-cli` runs every app test on poll (CI runs the
//!   suite on each backend).
//!
//! Every `Proc` is killed (through its own handle) and reaped when dropped;
//! every wait on it has a deadline after which it is killed and the test
//! fails. Its stdout and stderr are drained on threads, so a chatty child
//! never blocks on a full pipe.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The backend of this test run: `ASYNCORE_BACKEND` (select, poll or
/// epoll), epoll when unset. Apps run in-process get it; the binary reads
/// the variable itself.
pub fn backend() -> asyncore_loop::Backend {
    match std::env::var("ASYNCORE_BACKEND") {
        Ok(name) => name
            .parse()
            .unwrap_or_else(|e| panic!("ASYNCORE_BACKEND={name:?}: {e}")),
        Err(_) => asyncore_loop::Backend::Epoll,
    }
}

/// The `asyncore` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_asyncore");

/// Default bound for one line of output, or for a process to exit once told to.
pub const WAIT: Duration = Duration::from_secs(10);

/// Default bound for a whole run of [`run`].
pub const RUN_LIMIT: Duration = Duration::from_secs(60);

/// No line of output came within the time allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut;

/// A child process of a test, killed and reaped on drop.
pub struct Proc {
    what: String,
    child: Child,
    /// Chunks of stdout, read on a thread; disconnected at end of stream.
    out: mpsc::Receiver<Vec<u8>>,
    /// Stdout received but not yet consumed.
    buf: Vec<u8>,
    /// All of stderr, read on a thread.
    err: Option<JoinHandle<Vec<u8>>>,
    addr: Option<SocketAddr>,
}

impl Proc {
    /// Starts `cmd` with stdout and stderr piped (and drained); stdin is as
    /// `cmd` sets it (use [`Proc::stdin`] with `Stdio::piped()`).
    pub fn spawn(cmd: &mut Command) -> Proc {
        let what = format!("{cmd:?}");
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let mut stdout = child.stdout.take().expect("stdout piped");
        let mut stderr = child.stderr.take().expect("stderr piped");
        let (tx, out) = mpsc::channel();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut chunk = vec![0u8; 64 * 1024];
            loop {
                match stdout.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    // Keep draining even when nobody listens any more.
                    Ok(n) => drop(tx.send(chunk[..n].to_vec())),
                }
            }
        });
        let err = std::thread::spawn(move || {
            use std::io::Read;
            let mut all = Vec::new();
            let _ = stderr.read_to_end(&mut all);
            all
        });
        Proc {
            what,
            child,
            out,
            buf: Vec::new(),
            err: Some(err),
            addr: None,
        }
    }

    /// Starts the `asyncore` binary with `args`, stdin empty (and
    /// `RUST_LOG` unset, whatever the test's environment says).
    pub fn asyncore(args: &[&str]) -> Proc {
        Proc::asyncore_env(args, &[])
    }

    /// [`Proc::asyncore`] with environment variables set.
    pub fn asyncore_env(args: &[&str], env: &[(&str, &str)]) -> Proc {
        let mut cmd = Command::new(BIN);
        cmd.args(args).stdin(Stdio::null()).env_remove("RUST_LOG");
        cmd.envs(env.iter().copied());
        Proc::spawn(&mut cmd)
    }

    /// Starts the `asyncore` binary with `args` (which should make app `app`
    /// listen on 127.0.0.1:0) and waits (at most [`WAIT`]) for its first line,
    /// which must be `{app}: listening on ADDRESS`; [`Proc::addr`] is then
    /// that address.
    pub fn serve(app: &str, args: &[&str]) -> Proc {
        let mut p = Proc::asyncore(args);
        p.addr = Some(p.listening_addr(app, WAIT));
        p
    }

    /// Reads the next line of stdout, which must be `{app}: listening on
    /// ADDRESS`, within `wait`; returns the address.
    pub fn listening_addr(&mut self, app: &str, wait: Duration) -> SocketAddr {
        let prefix = format!("{app}: listening on ");
        let first = self
            .line(wait)
            .unwrap_or_else(|| panic!("{} ended before saying where it listens", self.what));
        first
            .trim()
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("unexpected first line {first:?} of {}", self.what))
            .parse()
            .unwrap_or_else(|e| panic!("bad address in {first:?}: {e}"))
    }

    /// The address read by [`Proc::serve`] (or [`Proc::set_addr`]).
    pub fn addr(&self) -> SocketAddr {
        self.addr.expect("not a serving process")
    }

    /// Records the address the process serves on.
    pub fn set_addr(&mut self, addr: SocketAddr) {
        self.addr = Some(addr);
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The process's stdin, if it was started with `Stdio::piped()`.
    pub fn stdin(&mut self) -> ChildStdin {
        self.child.stdin.take().expect("stdin piped, taken once")
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: libc::c_int) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) on our own child's pid (not yet reaped: reaping
        // happens only in `wait`, `output` and `drop`).
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill {pid}");
    }

    /// SIGTERM.
    pub fn terminate(&self) {
        self.signal(libc::SIGTERM)
    }

    /// The next line of stdout (without its `\n` or `\r\n`, as
    /// `BufRead::lines`) within `wait`; `None`
    /// at end of stream. Panics (the process is then killed on drop) if no
    /// line comes in time.
    pub fn line(&mut self, wait: Duration) -> Option<String> {
        self.try_line(wait)
            .unwrap_or_else(|TimedOut| panic!("no line from {} within {wait:?}", self.what))
    }

    /// [`Proc::line`], with `Err(TimedOut)` instead of a panic when no line
    /// comes within `wait`.
    pub fn try_line(&mut self, wait: Duration) -> Result<Option<String>, TimedOut> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(nl) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=nl).collect();
                let line = line[..nl].strip_suffix(b"\r").unwrap_or(&line[..nl]);
                return Ok(Some(String::from_utf8_lossy(line).into_owned()));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.out.recv_timeout(left) {
                Ok(chunk) => self.buf.extend(chunk),
                Err(mpsc::RecvTimeoutError::Disconnected) if self.buf.is_empty() => {
                    return Ok(None)
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let rest = std::mem::take(&mut self.buf);
                    return Ok(Some(String::from_utf8_lossy(&rest).into_owned()));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => return Err(TimedOut),
            }
        }
    }

    /// The exit status if the process has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// Waits (at most `limit`) for the process to exit; kills it and fails
    /// the test after that.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("{} did not exit within {limit:?}: killed", self.what);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits (at most `limit`, see [`Proc::wait`]) for the exit; returns the
    /// status, the stdout not yet read by [`Proc::line`], and all of stderr.
    pub fn output(mut self, limit: Duration) -> Output {
        let status = self.wait(limit);
        let mut stdout = std::mem::take(&mut self.buf);
        // The process is gone; its stdout ends once any grandchild holding
        // the pipe is gone too.
        while let Ok(chunk) = self.out.recv_timeout(WAIT) {
            stdout.extend(chunk);
        }
        let stderr = self
            .err
            .take()
            .expect("stderr read once")
            .join()
            .expect("stderr reader");
        Output {
            status,
            stdout,
            stderr,
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `asyncore ARGS` (stdin empty) to completion, killed after
/// [`RUN_LIMIT`]; stdout and stderr captured.
pub fn run(args: &[&str]) -> Output {
    Proc::asyncore(args).output(RUN_LIMIT)
}

/// [`run`] with environment variables set.
pub fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Proc::asyncore_env(args, env).output(RUN_LIMIT)
}

pub mod http_client;

/// `asyncore [-q] http --listen 127.0.0.1:0 --root ROOT ARGS`, once it has
/// printed its URL line (returned with it; `-q` silences the access log).
pub fn serve_http(root: &std::path::Path, quiet: bool, args: &[&str]) -> (Proc, String) {
    let root = root.to_str().expect("utf-8 path");
    let mut all = if quiet { vec!["-q"] } else { Vec::new() };
    all.extend_from_slice(&["http", "--listen", "127.0.0.1:0", "--root", root]);
    all.extend_from_slice(args);
    let mut p = Proc::serve("http", &all);
    let url = p.line(WAIT).expect("the URL line");
    (p, url)
}

/// Deterministic pseudo-random bytes (xorshift64*).
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A fresh, empty directory under the system temp dir, unique per call,
/// removed (with its contents) when dropped. Derefs to its path.
pub struct TempDir(std::path::PathBuf);

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::path::Path> for TempDir {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Creates a [`TempDir`] whose name includes `tag`.
pub fn tempdir(tag: &str) -> TempDir {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "asyncore-test-{}-{}-{tag}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create temp dir");
    TempDir(d)
}

/// A `kB` field of `/proc/PID/status` (`"VmRSS:"`, `"VmHWM:"`), in KiB
/// (0 if the process or field is gone).
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Resident memory (`VmRSS`) of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmRSS:")
}

/// CPU time process `pid` has used (user and system), in clock ticks
/// (`/proc/PID/stat` fields 14 and 15; 0 if it is gone).
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name (field 2) may hold spaces: count from after it.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    field(14).unwrap_or(0) + field(15).unwrap_or(0)
}

/// The descriptors process `pid` has open (0 if it is gone).
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// Closes a connection with a reset (SO_LINGER 0) instead of a FIN.
pub fn reset(c: std::net::TcpStream) {
    let s = asyncore_loop::Socket::from(c);
    s.set_linger(Some(Duration::ZERO)).unwrap();
    drop(s);
}

/// Test certificates made with `openssl` in a fresh directory: a CA, and a
/// leaf it signed for `name` and 127.0.0.1, with its key. Nothing is checked in.
pub struct TestCerts {
    pub dir: std::path::PathBuf,
    pub ca: String,
    pub cert: String,
    pub key: String,
}

impl Drop for TestCerts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A CA and a leaf for `name` (and 127.0.0.1), made with `openssl`.
pub fn make_certs(name: &str) -> TestCerts {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("asyncore-cli-certs-{}-{n}", std::process::id()));
    asyncore_testkit::make_certs(&dir, name).expect("test certificates (openssl)");
    let path = |f: &str| dir.join(f).to_str().expect("utf-8 temp dir").to_string();
    TestCerts {
        ca: path("ca.pem"),
        cert: path("cert.pem"),
        key: path("key.pem"),
        dir,
    }
}
