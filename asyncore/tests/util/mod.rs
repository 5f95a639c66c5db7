//! Helpers shared by the integration tests.
//!
//! * `backend_tests!(f, g, ...)`: for each `fn f(b: Backend)`, a module `f`
//!   with one test per backend (`f::select`, `f::poll`, `f::epoll`).
//! * `api_tests!(f, ...)`: for each `fn f(fam: Family, b: Backend)`, a module
//!   `f` with one test per family and backend (`f::ipv4_epoll`, ...), the six
//!   variants of CPython's BaseTestAPI plus epoll.
//!
//! * Durations: [`ms`], [`secs`].
//! * Socket pairs: [`unix_pair`] (AF_UNIX) and [`tcp_pair`] (loopback TCP),
//!   each an end for a channel and an end for the test; [`reset`] closes a
//!   TCP end with a reset; [`listen_local`] makes a channel listen on
//!   127.0.0.1 port 0 and gives its address; [`accept_within`] takes a
//!   peer process's connection under a deadline.
//! * Log capture: [`capture`] (asyncore's `log`/`log_info` lines),
//!   [`log_records::LogRecorder`] (the library's own `log` records).
//! * Child processes: [`in_child`] / [`in_child_within`] re-run this test
//!   binary filtered to one test, under a kill deadline.
//! * Other programs (python3, the examples): [`Proc`], killed on drop, every
//!   wait bounded; [`py_script`] names a helper in `tests/py`;
//!   [`example_binary`] builds an example when missing.
//! * Files: [`temp_path`], [`TempFile`] (removed on drop).
//! * Process measures: [`rss_kib`], [`rss_hwm_kib`].
//! * Dispatchers: [`Quiet`] (wants nothing); [`echo`]: a back-pressured,
//!   flush-then-close echo server with counters.
//! * Deadlines: [`run_until`], [`run_until_empty`], [`bounded`].
//!
//! * Simulation (feature `sim`): [`sim`] (seeds, trace, probe, checker).
//!
//! Every network test binds 127.0.0.1/::1 port 0 (or a fresh temp socket
//! path) and runs the loop under a deadline.
#![allow(dead_code, unused_macros)]

pub mod echo;
pub mod log_records;
#[cfg(feature = "sim")]
pub mod sim;

use asyncore_loop::{
    Backend, CaptureLog, Dispatcher, Domain, EventLoop, SockAddr, Socket, View, AF_INET, AF_INET6,
    AF_UNIX,
};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

macro_rules! backend_tests {
    ($($f:ident),* $(,)?) => {$(
        mod $f {
            #[test]
            fn select() { super::$f(asyncore_loop::Backend::Select) }
            #[test]
            fn poll() { super::$f(asyncore_loop::Backend::Poll) }
            #[test]
            fn epoll() { super::$f(asyncore_loop::Backend::Epoll) }
        }
    )*};
}

macro_rules! api_tests {
    ($($f:ident),* $(,)?) => {$(
        mod $f {
            use $crate::util::Family;
            use asyncore_loop::Backend;
            #[test] fn ipv4_select() { super::$f(Family::Ipv4, Backend::Select) }
            #[test] fn ipv4_poll() { super::$f(Family::Ipv4, Backend::Poll) }
            #[test] fn ipv4_epoll() { super::$f(Family::Ipv4, Backend::Epoll) }
            #[test] fn ipv6_select() { super::$f(Family::Ipv6, Backend::Select) }
            #[test] fn ipv6_poll() { super::$f(Family::Ipv6, Backend::Poll) }
            #[test] fn ipv6_epoll() { super::$f(Family::Ipv6, Backend::Epoll) }
            #[test] fn unix_select() { super::$f(Family::Unix, Backend::Select) }
            #[test] fn unix_poll() { super::$f(Family::Unix, Backend::Poll) }
            #[test] fn unix_epoll() { super::$f(Family::Unix, Backend::Epoll) }
        }
    )*};
}

/// The address families of CPython's API test variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Ipv4,
    Ipv6,
    Unix,
}

impl Family {
    pub fn domain(self) -> Domain {
        match self {
            Family::Ipv4 => AF_INET,
            Family::Ipv6 => AF_INET6,
            Family::Unix => AF_UNIX,
        }
    }

    /// A fresh address to bind: port 0 on loopback, or a new socket path.
    pub fn bind_addr(self) -> SockAddr {
        match self {
            Family::Ipv4 => "127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
            Family::Ipv6 => "[::1]:0".parse::<std::net::SocketAddr>().unwrap().into(),
            Family::Unix => SockAddr::unix(temp_path("sock")).unwrap(),
        }
    }

    pub fn is_inet(self) -> bool {
        self != Family::Unix
    }
}

/// A unique path in the temp directory (not created); tests run in parallel.
pub fn temp_path(ext: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("asyncore-test-{}-{n}.{ext}", std::process::id()))
}

/// A temp file (or socket path) removed when the test ends, even on panic.
pub struct TempFile(pub PathBuf);

impl TempFile {
    /// A fresh temp file holding `content`.
    pub fn with_content(content: &[u8]) -> TempFile {
        let path = temp_path("bin");
        std::fs::write(&path, content).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The address a bound socket really has (port 0 resolved).
pub fn local_addr(ev: &mut EventLoop<impl Sized + 'static>, t: asyncore_loop::Token) -> SockAddr {
    ev.channel(t)
        .unwrap()
        .socket()
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Makes the channel a listening TCP socket on 127.0.0.1, port 0 (with
/// `set_reuse_addr`), and returns the address it got.
pub fn listen_local<S: 'static>(cx: &mut asyncore_loop::Cx<'_, S>, backlog: i32) -> SocketAddr {
    cx.create_socket(AF_INET, asyncore_loop::SOCK_STREAM)
        .unwrap();
    cx.set_reuse_addr();
    cx.bind("127.0.0.1:0").unwrap();
    cx.listen(backlog).unwrap();
    cx.socket()
        .unwrap()
        .local_addr()
        .unwrap()
        .as_socket()
        .unwrap()
}

/// Runs passes of at most 10 ms until `done(ev)` or `limit` passes; panics on
/// timeout (5 s) so a broken test never hangs.
pub fn run_until<S: 'static>(ev: &mut EventLoop<S>, done: impl FnMut(&EventLoop<S>) -> bool) {
    run_until_within(ev, Duration::from_secs(5), done)
}

/// [`run_until`] with a limit of `limit` instead of 5 s.
pub fn run_until_within<S: 'static>(
    ev: &mut EventLoop<S>,
    limit: Duration,
    mut done: impl FnMut(&EventLoop<S>) -> bool,
) {
    let deadline = Instant::now() + limit;
    while !done(ev) {
        assert!(
            Instant::now() < deadline,
            "condition not reached within {limit:?}"
        );
        assert!(
            !ev.is_empty(),
            "the map emptied before the condition was reached"
        );
        ev.run_loop(Some(Duration::from_millis(10)), Some(1))
            .expect("loop failed");
    }
}

/// Runs passes of at most 10 ms until the map is empty; panics after 5 s.
pub fn run_until_empty<S: 'static>(ev: &mut EventLoop<S>) {
    run_until(ev, |ev| ev.is_empty());
}

/// A loop on backend `b` with shared state `s`.
pub fn event_loop<S: 'static>(b: Backend, s: S) -> EventLoop<S> {
    EventLoop::with_state(s).with_backend(b)
}

/// Whether IPv6 loopback is usable here.
pub fn has_ipv6() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

/// Marks a child process started by [`in_child`].
const CHILD_ENV: &str = "ASYNCORE_TEST_CHILD";

/// The libtest name of the `backend_tests!` case `f::<backend>`.
pub fn case(f: &str, b: Backend) -> String {
    format!("{f}::{}", b.name())
}

/// The libtest name of the `backend_tests!` case `f::<backend>` defined in
/// module `module` (pass `module_path!()`; its first segment, the crate, is
/// not part of a test's name).
pub fn case_in(module: &str, f: &str, b: Backend) -> String {
    match module.split_once("::") {
        Some((_crate, path)) => format!("{path}::{}", case(f, b)),
        None => case(f, b),
    }
}

/// How long a child process started by [`in_child`] may run.
pub const CHILD_LIMIT: Duration = Duration::from_secs(30);

/// Runs `body` in a child process: this test binary again, with only the test
/// `name` selected (`--exact`) and one test thread. In the child (marked by
/// the environment variable `ASYNCORE_TEST_CHILD=name`) `body` runs directly.
/// For tests that change process-wide state (signals, resource limits), need
/// descriptor numbers to stay put, or measure the process (resident memory).
/// Bounded: the child is killed after [`CHILD_LIMIT`]. The child's output is
/// echoed (shown with `--nocapture`) and reported in full on failure.
pub fn in_child(name: &str, body: impl FnOnce()) {
    in_child_within(name, CHILD_LIMIT, body)
}

/// [`in_child`] with a kill deadline of `limit` instead of [`CHILD_LIMIT`].
pub fn in_child_within(name: &str, limit: Duration, body: impl FnOnce()) {
    use std::io::Read;
    use std::process::{Command, Stdio};
    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        body();
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("re-run the test binary");
    let read_all = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = read_all(Box::new(child.stdout.take().unwrap()));
    let err = read_all(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    println!("{out}");
    eprintln!("{err}");
    let Some(status) = status else {
        panic!(
            "child test {name} did not finish within {limit:?}: killed\n\
             --- stdout\n{out}\n--- stderr\n{err}"
        );
    };
    assert!(
        status.success(),
        "child test {name} failed ({status})\n--- stdout\n{out}\n--- stderr\n{err}"
    );
    assert!(
        out.contains("1 passed"),
        "child ran no test {name}\n--- stdout\n{out}\n--- stderr\n{err}"
    );
}

/// The descriptor limit under which exactly `free` numbers are unused now
/// (inherited descriptors may leave holes anywhere below the highest one).
pub fn limit_leaving_free(free: usize) -> libc::rlim_t {
    let open: std::collections::HashSet<i32> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    let (mut limit, mut left) = (0, free);
    while left > 0 {
        if !open.contains(&limit) {
            left -= 1;
        }
        limit += 1;
    }
    limit as libc::rlim_t
}

/// The soft RLIMIT_NOFILE of this process.
pub fn fd_limit() -> libc::rlim_t {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit to fill in.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim.rlim_cur
}

/// Sets the soft RLIMIT_NOFILE of this process (use in a child process).
pub fn set_fd_limit(soft: libc::rlim_t) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit to fill in, then to apply.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        lim.rlim_cur = soft;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
    }
}

/// Runs `body` on its own thread and fails the test if it does not finish
/// within `limit` (a loop that hangs, e.g. after a lost wake-up, is reported
/// instead of blocking the test run). A panic in `body` is the test's panic.
pub fn bounded<R: Send + 'static>(limit: Duration, body: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let _ = tx.send(body());
    });
    match rx.recv_timeout(limit) {
        Ok(r) => {
            handle.join().unwrap();
            r
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("the test did not finish within {limit:?}: the loop hung")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => unreachable!("the body returned without sending"),
        },
    }
}

/// `n` milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `n` seconds.
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A connected AF_UNIX stream pair: (an end for a channel, an end for the
/// test). The test's end is blocking with a 5 s read timeout, so a read that
/// never gets its data fails instead of hanging.
pub fn unix_pair() -> (Socket, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    b.set_read_timeout(Some(secs(5))).unwrap();
    (Socket::from(a), b)
}

/// Closes `c` with a reset (SO_LINGER 0) instead of a FIN: its peer's next
/// `recv` or `send` fails with `ECONNRESET`.
pub fn reset(c: TcpStream) {
    socket2::SockRef::from(&c)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(c);
}

/// A connected loopback TCP pair (127.0.0.1, port 0): (the accepted end, for
/// a channel; the client end, for the test, with a 5 s read timeout).
pub fn tcp_pair() -> (Socket, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    client.set_read_timeout(Some(secs(5))).unwrap();
    (server.into(), client)
}

/// Accepts one connection on `listener`, failing the test after `limit`:
/// a peer process that never connects (a script error, a missing module)
/// must not hang the test.
pub fn accept_within(listener: &TcpListener, limit: Duration) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + limit;
    loop {
        match listener.accept() {
            Ok((sock, _)) => {
                sock.set_nonblocking(false).unwrap();
                return sock;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "no connection within {limit:?}");
                std::thread::sleep(ms(5));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// Routes `ev`'s log to a fresh [`CaptureLog`] and returns it.
pub fn capture<S>(ev: &mut EventLoop<S>) -> CaptureLog {
    let log = CaptureLog::default();
    ev.set_log_sink(log.clone());
    log
}

/// A `kB` field of `/proc/self/status` (e.g. `"VmRSS:"`), in KiB.
fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Resident memory (`VmRSS`) of this process, in KiB.
pub fn rss_kib() -> u64 {
    proc_status_kib("VmRSS:")
}

/// Resident memory now and at its peak (`VmRSS`, `VmHWM`) of this process,
/// in KiB.
pub fn rss_hwm_kib() -> (u64, u64) {
    (proc_status_kib("VmRSS:"), proc_status_kib("VmHWM:"))
}

/// The path of a Python helper script in `asyncore/tests/py`.
pub fn py_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(name)
}

/// `n` deterministic bytes (xorshift from `seed`), so a shifted or dropped
/// byte shows.
pub fn pattern(n: usize, seed: u64) -> Vec<u8> {
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

/// A channel that wants nothing (neither readable nor writable): no
/// readiness is ever reported for it; it only sits in the map.
pub struct Quiet;

impl<S: 'static> Dispatcher<S> for Quiet {
    fn readable(&self, _: &View<'_, S>) -> bool {
        false
    }
    fn writable(&self, _: &View<'_, S>) -> bool {
        false
    }
}

/// The path of an example binary, built on demand (`cargo test --test x`
/// does not build examples).
pub fn example_binary(name: &str) -> std::path::PathBuf {
    let profile_dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let path = profile_dir.join("examples").join(name);
    if !path.exists() {
        let mut cmd = std::process::Command::new(env!("CARGO"));
        cmd.args(["build", "-p", "asyncore-loop", "--example", name]);
        if profile_dir.ends_with("release") {
            cmd.arg("--release");
        }
        assert!(
            cmd.status().unwrap().success(),
            "cannot build example {name}"
        );
    }
    path
}

/// A child process of a test (python3, an example binary), killed and reaped
/// on drop; its stdout is read on a thread, line by line, and every wait on
/// it is bounded.
pub struct Proc {
    what: String,
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl Proc {
    /// Starts `cmd` with stdout piped (stdin and stderr as `cmd` sets them).
    pub fn spawn(cmd: &mut std::process::Command) -> Proc {
        use std::io::BufRead;
        let what = format!("{cmd:?}");
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                // Keep draining even when nobody listens any more.
                let _ = tx.send(line);
            }
        });
        Proc { what, child, lines }
    }

    /// `python3 -W ignore tests/py/SCRIPT ARGS`, stdin empty.
    pub fn python(script: &str, args: &[&str]) -> Proc {
        Proc::spawn(
            std::process::Command::new("python3")
                .args(["-W", "ignore"])
                .arg(py_script(script))
                .args(args)
                .stdin(std::process::Stdio::null()),
        )
    }

    /// The process's stdin, if `cmd` piped it.
    pub fn stdin(&mut self) -> std::process::ChildStdin {
        self.child.stdin.take().expect("stdin piped, taken once")
    }

    /// The next line of stdout within `wait` (without its line end); panics
    /// at end of stream or on timeout.
    pub fn line(&mut self, wait: Duration) -> String {
        self.lines
            .recv_timeout(wait)
            .unwrap_or_else(|e| panic!("no line from {} within {wait:?}: {e}", self.what))
    }

    /// The port of a helper server that prints `port N` first (within 10 s).
    pub fn port_line(&mut self) -> u16 {
        let line = self.line(secs(10));
        line.trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("expected \"port N\" from {}, got {line:?}", self.what))
    }

    /// The exit status, if the process has exited.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// Waits (at most `limit`) for the exit; kills the process and fails the
    /// test after that.
    pub fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                self.kill();
                panic!("{} did not exit within {limit:?}: killed", self.what);
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Runs passes of `ev` (at most `pass` each) until the process exits;
    /// kills it and fails the test after `limit`.
    pub fn run_loop_until_exit<S: 'static>(
        &mut self,
        ev: &mut EventLoop<S>,
        pass: Duration,
        limit: Duration,
    ) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            ev.run_loop(Some(pass), Some(1)).unwrap();
            if let Some(status) = self.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                self.kill();
                panic!("{} did not finish within {limit:?}: killed", self.what);
            }
        }
    }

    /// The rest of stdout, up to its end (the process exits, or is killed,
    /// within `limit`), lines joined with `\n`.
    pub fn rest(&mut self, limit: Duration) -> String {
        self.wait(limit);
        let mut lines = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(secs(10)) {
            lines.push(line);
        }
        lines.join("\n")
    }

    /// Kills and reaps the process (done on drop too).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Test certificates made with `openssl` once per test process, in a
/// fresh directory: a CA, and a leaf it signed for `localhost` and
/// 127.0.0.1 (with its key). Nothing is checked in.
pub struct TestCerts {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The process's [`TestCerts`] (made on first use).
pub fn test_certs() -> &'static TestCerts {
    static CERTS: std::sync::OnceLock<TestCerts> = std::sync::OnceLock::new();
    CERTS.get_or_init(|| make_certs("localhost"))
}

/// A CA and a leaf for `name` (and 127.0.0.1), made with `openssl`.
pub fn make_certs(name: &str) -> TestCerts {
    let dir = temp_path("certs");
    asyncore_testkit::make_certs(&dir, name).expect("test certificates (openssl)");
    TestCerts {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
        dir,
    }
}

/// CPU time (user + system) this thread used so far, from
/// `/proc/thread-self/stat`, in clock ticks (1/100 s).
pub fn thread_cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    // Fields after the command name (which is in parentheses).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line (11, 12 here).
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}
