//! The server under test: the `asyncore` binary as a child process, its
//! address, and its descriptor count and resident memory.

use crate::Plan;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub pid: u32,
}

impl Server {
    /// `asyncore -q --backend B <app> --listen 127.0.0.1:0 <extra>`, once it
    /// says where it listens.
    pub fn start(plan: &Plan, app: &str, extra: &[&str]) -> Server {
        let mut child = Command::new(&plan.bin)
            .args([
                "-q",
                "--backend",
                &plan.backend,
                app,
                "--listen",
                "127.0.0.1:0",
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the asyncore binary");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("the server's first line");
        let addr = first
            .trim()
            .rsplit(' ')
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        let pid = child.id();
        // The loop sets up the rest of its descriptors (signals, the spare
        // for EMFILE) once it runs: a first connection, then a pause, so
        // the baseline is taken from a serving process.
        let _ = std::net::TcpStream::connect(addr);
        std::thread::sleep(Duration::from_millis(300));
        Server { child, addr, pid }
    }

    /// Open descriptors (`/proc/PID/fd`).
    pub fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Resident memory in KiB.
    pub fn rss_kib(&self) -> u64 {
        asyncore_bench::net::proc_rss_kib(self.pid).unwrap_or(0)
    }

    /// Peak resident memory (`VmHWM`) in KiB.
    pub fn peak_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .ok()
            .and_then(|s| {
                let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_string();
                line.split_whitespace().nth(1)?.parse().ok()
            })
            .unwrap_or(0)
    }

    /// Waits (at most `limit`) for the descriptor count to come down to
    /// `baseline`; returns the last count seen.
    pub async fn settle_fds(&self, baseline: usize, limit: Duration) -> usize {
        let start = Instant::now();
        loop {
            let n = self.fds();
            if n <= baseline || start.elapsed() > limit {
                return n;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, then the exit status (killed after 10 s).
    pub fn stop(mut self) -> Option<i32> {
        // SAFETY-free: kill(2) through libc on our own child.
        unsafe { libc::kill(self.pid as i32, libc::SIGTERM) };
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            if start.elapsed() > Duration::from_secs(10) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server's figures before and after the load, and the verdict on them.
#[derive(Debug)]
pub struct Baseline {
    pub fds: usize,
    pub rss_kib: u64,
}

impl Baseline {
    pub fn of(server: &Server) -> Baseline {
        Baseline {
            fds: server.fds(),
            rss_kib: server.rss_kib(),
        }
    }

    /// Memory "back to baseline": within 16 MiB plus a quarter of the
    /// baseline (the allocator keeps some of what it freed).
    pub fn rss_ok(&self, after_kib: u64) -> bool {
        after_kib <= self.rss_kib + self.rss_kib / 4 + 16 * 1024
    }
}

/// What the server kept after the load, read once the clients are done.
pub struct Ending {
    pub fds_after: usize,
    pub rss_after: u64,
    pub rss_peak: u64,
    pub exit: Option<i32>,
}

impl Ending {
    /// Waits for descriptors to settle (10 s at most), reads memory, stops
    /// the server.
    pub async fn of(server: Server, base: &Baseline) -> Ending {
        let fds_after = server.settle_fds(base.fds, Duration::from_secs(10)).await;
        let rss_after = server.rss_kib();
        let rss_peak = server.peak_kib();
        let exit = server.stop();
        Ending {
            fds_after,
            rss_after,
            rss_peak,
            exit,
        }
    }

    /// The server's half of the verdict: no descriptor kept, memory back
    /// to baseline, a clean exit.
    pub fn clean(&self, base: &Baseline) -> bool {
        self.fds_after <= base.fds && base.rss_ok(self.rss_after) && self.exit == Some(0)
    }

    /// The run's one JSON line: `app`, backend, seed and seconds, the app's
    /// own `fields` in order, then the server's figures and `ok`.
    pub fn report(
        &self,
        plan: &Plan,
        app: &str,
        secs: f64,
        base: &Baseline,
        fields: &[(&str, serde_json::Value)],
        ok: bool,
    ) {
        let mut line = format!(
            "{{\"app\":\"{app}\",\"backend\":\"{}\",\"seed\":{},\"secs\":{secs:.1}",
            plan.backend, plan.seed
        );
        let server = [
            ("fds_before", serde_json::json!(base.fds)),
            ("fds_after", serde_json::json!(self.fds_after)),
            ("rss_kib_before", serde_json::json!(base.rss_kib)),
            ("rss_kib_after", serde_json::json!(self.rss_after)),
            ("rss_kib_peak", serde_json::json!(self.rss_peak)),
            ("exit", serde_json::json!(self.exit)),
            ("ok", serde_json::json!(ok)),
        ];
        for (name, value) in fields.iter().chain(&server) {
            line += &format!(",\"{name}\":{value}");
        }
        println!("{line}}}");
    }
}
