//! The simulation harness (feature `sim`): which seeds to run, the trace a
//! simulated loop keeps as its state, the `Probe` that records every handler
//! call of the channel it wraps, and the one `Checker` of the invariants.
//!
//! * `ASYNCORE_SIM_SEEDS=N` runs N seeds per test (the default is the
//!   test's own CI count); `ASYNCORE_SIM_SEED=S` runs seed S alone (a
//!   failing seed is printed with the command that replays it).

pub mod checker;
pub mod lines;
pub mod peers;

#[allow(unused_imports)]
pub use checker::{Checker, Ev};
#[allow(unused_imports)]
pub use peers::PeerClient;

use asyncore_loop::sim::{SimNet, Stats};
use asyncore_loop::{Cx, Deadline, Dispatcher, SockAddr, Socket, TimerId, View};
use std::collections::HashMap;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The state of a simulated loop: what happened in the current step, and
/// each probed channel's socket (for handlers that have no `Cx` at hand).
#[derive(Default)]
pub struct Trace {
    pub events: Vec<Ev>,
    pub net: Option<SimNet>,
    pub socks: HashMap<u32, u64>,
    /// Byte logs a scenario keeps (such as the replies promised to each peer).
    pub bytes: HashMap<u64, Vec<u8>>,
    /// What a client channel received by the time it closed, and whether
    /// the network excused it (refused, reset) from receiving it all.
    pub results: HashMap<u32, (Vec<u8>, bool)>,
}

impl Trace {
    pub fn new(net: &SimNet) -> Trace {
        Trace {
            net: Some(net.clone()),
            ..Trace::default()
        }
    }

    pub fn push(&mut self, ev: Ev) {
        self.events.push(ev);
    }

    /// Records that channel `ch`'s own `handle_close` ran (call it first
    /// thing in the innermost `handle_close`).
    pub fn log_close(&mut self, ch: u32) {
        self.push(Ev::Close { ch });
    }
}

/// The seeds to run: `ASYNCORE_SIM_SEED` alone, else `ASYNCORE_SIM_SEEDS`
/// (or `default`) of them.
pub fn seeds(default: u64) -> Vec<u64> {
    if let Some(seed) = env_u64("ASYNCORE_SIM_SEED") {
        return vec![seed];
    }
    (0..env_u64("ASYNCORE_SIM_SEEDS").unwrap_or(default)).collect()
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// A loop on `net` keeping a [`Trace`], on the backend the seed picks
/// (so every backend gets a third of the seeds), printing its log when
/// tracing. A handler's panic (a test's assertion in a handler) is not
/// caught: it fails the seed, rather than becoming `handle_error` and a
/// close that a later check may or may not notice.
pub fn sim_loop(net: &SimNet, seed: u64) -> asyncore_loop::EventLoop<Trace> {
    let backend = asyncore_loop::Backend::ALL[(seed % 3) as usize];
    let mut ev = asyncore_loop::EventLoop::with_state(Trace::new(net))
        .with_backend(backend)
        .with_sim(net);
    ev.set_catch_panics(false);
    if tracing() {
        ev.set_log_sink(asyncore_loop::StdioLog);
    }
    ev
}

/// Adds `server` (probed as channel 0) to `ev`, listening at `addr`.
pub fn listen<D: asyncore_loop::Dispatcher<Trace>>(
    ev: &mut asyncore_loop::EventLoop<Trace>,
    server: D,
    addr: &str,
) -> Result<(), String> {
    let mut cx = ev.add(Probe::new(0, server));
    cx.create_socket(asyncore_loop::AF_INET, asyncore_loop::SOCK_STREAM)
        .map_err(|e| e.to_string())?;
    cx.bind(addr).map_err(|e| e.to_string())?;
    cx.listen(64).map_err(|e| e.to_string())?;
    Ok(())
}

/// Whether to print each step's trace (`ASYNCORE_SIM_TRACE=1`, with one seed).
pub fn tracing() -> bool {
    std::env::var_os("ASYNCORE_SIM_TRACE").is_some()
}

/// Prints a step's trace when tracing.
pub fn show(step: u64, events: &[Ev]) {
    if tracing() {
        for e in events {
            eprintln!("  [{step}] {e:?}");
        }
    }
}

/// What one seed's run did, summed over the seeds for the report line.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    pub steps: u64,
    pub events: u64,
    pub closes: u64,
    pub bytes: u64,
    pub timers: u64,
    pub faults: Stats,
}

impl Summary {
    pub fn of(checker: &Checker, net: &SimNet, bytes: u64) -> Summary {
        Summary {
            steps: checker.steps,
            events: checker.events,
            closes: checker.closes(),
            bytes,
            timers: checker.timers_fired + checker.deadlines,
            faults: net.stats(),
        }
    }
}

/// Runs `scenario` for every seed; the first failure (an error or a panic)
/// names the seed and how to replay it.
pub fn run_seeds(test: &str, default: u64, scenario: impl Fn(u64) -> Result<Summary, String>) {
    let mut total = Summary::default();
    let seeds = seeds(default);
    for &seed in &seeds {
        let outcome = catch_unwind(AssertUnwindSafe(|| scenario(seed)));
        let failure = match outcome {
            Ok(Ok(s)) => {
                total.steps += s.steps;
                total.events += s.events;
                total.closes += s.closes;
                total.bytes += s.bytes;
                total.timers += s.timers;
                total.faults += s.faults;
                continue;
            }
            Ok(Err(e)) => e,
            Err(p) => p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into()),
        };
        panic!(
            "{test}: seed {seed} failed: {failure}\n  replay: ASYNCORE_SIM_SEED={seed} cargo test -p asyncore-loop --features sim {test}"
        );
    }
    eprintln!(
        "{test}: {} seeds, {} steps, {} events checked, {} handle_close, {} bytes, {} timers and deadlines fired; faults {:?}",
        seeds.len(),
        total.steps,
        total.events,
        total.closes,
        total.bytes,
        total.timers,
        total.faults
    );
}

/// Records that channel `ch`'s own `handle_close` ran (call it first thing
/// in the innermost `handle_close`).
pub fn log_close(cx: &mut Cx<'_, Trace>, ch: u32) {
    cx.state().log_close(ch);
}

/// Wraps a dispatcher and records every handler call the loop makes on it,
/// and when the channel is seen closed.
pub struct Probe<D> {
    pub id: u32,
    pub inner: D,
    closed: bool,
}

impl<D> Probe<D> {
    pub fn new(id: u32, inner: D) -> Probe<D> {
        Probe {
            id,
            inner,
            closed: false,
        }
    }

    fn enter(&mut self, cx: &mut Cx<'_, Trace>, name: &'static str, readiness: bool) {
        let (ch, token, sock) = (self.id, cx.token(), SimNet::socket_id(cx));
        let t = cx.state();
        if let Some(sock) = sock {
            t.socks.insert(ch, sock);
        }
        t.push(Ev::Handler { ch, name, token });
        if readiness {
            t.push(Ev::Dispatched { ch, sock });
        }
    }

    fn leave(&mut self, cx: &mut Cx<'_, Trace>, r: io::Result<()>) -> io::Result<()> {
        if cx.is_closed() && (!self.closed || r.is_err()) {
            self.closed = true;
            let returned_err = r.is_err();
            cx.state().push(Ev::Closed {
                ch: self.id,
                returned_err,
            });
        }
        r
    }
}

impl<D: Dispatcher<Trace>> Dispatcher<Trace> for Probe<D> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn readable(&self, ch: &View<'_, Trace>) -> bool {
        self.inner.readable(ch)
    }
    fn writable(&self, ch: &View<'_, Trace>) -> bool {
        self.inner.writable(ch)
    }
    fn handle_read_event(&mut self, cx: &mut Cx<'_, Trace>) -> io::Result<()> {
        self.enter(cx, "handle_read_event", true);
        let r = self.inner.handle_read_event(cx);
        self.leave(cx, r)
    }
    fn handle_write_event(&mut self, cx: &mut Cx<'_, Trace>) -> io::Result<()> {
        self.enter(cx, "handle_write_event", true);
        let r = self.inner.handle_write_event(cx);
        self.leave(cx, r)
    }
    fn handle_expt_event(&mut self, cx: &mut Cx<'_, Trace>) -> io::Result<()> {
        self.enter(cx, "handle_expt_event", true);
        let r = self.inner.handle_expt_event(cx);
        self.leave(cx, r)
    }
    fn handle_close(&mut self, cx: &mut Cx<'_, Trace>) -> io::Result<()> {
        self.enter(cx, "handle_close", false);
        let (ch, unread, broken) = (self.id, SimNet::unread(cx), SimNet::broken(cx));
        cx.state().push(Ev::CloseDelivered { ch, unread, broken });
        let r = self.inner.handle_close(cx);
        self.leave(cx, r)
    }
    fn handle_error(&mut self, cx: &mut Cx<'_, Trace>, err: io::Error) -> io::Result<()> {
        self.enter(cx, "handle_error", false);
        let r = self.inner.handle_error(cx, err);
        self.leave(cx, r)
    }
    fn handle_timer(&mut self, cx: &mut Cx<'_, Trace>, id: TimerId) -> io::Result<()> {
        self.enter(cx, "handle_timer", false);
        let r = self.inner.handle_timer(cx, id);
        self.leave(cx, r)
    }
    fn handle_timeout(&mut self, cx: &mut Cx<'_, Trace>, kind: Deadline) -> io::Result<()> {
        self.enter(cx, "handle_timeout", false);
        let r = self.inner.handle_timeout(cx, kind);
        self.leave(cx, r)
    }
    fn handle_shutdown(&mut self, cx: &mut Cx<'_, Trace>) -> io::Result<()> {
        self.enter(cx, "handle_shutdown", false);
        let r = self.inner.handle_shutdown(cx);
        self.leave(cx, r)
    }
    fn handle_accepted(
        &mut self,
        cx: &mut Cx<'_, Trace>,
        sock: Socket,
        addr: SockAddr,
    ) -> io::Result<()> {
        self.inner.handle_accepted(cx, sock, addr)
    }
}

/// One step of a simulated run: one pass of the loop (with a seeded
/// timeout of up to `max_wait`), then the checker on what it recorded.
pub fn pass(
    ev: &mut asyncore_loop::EventLoop<Trace>,
    net: &SimNet,
    checker: &mut Checker,
    step: u64,
    max_wait: std::time::Duration,
) -> Result<(), String> {
    let timeout = std::time::Duration::from_nanos(net.below(max_wait.as_nanos() as u64 + 1));
    ev.poll(Some(timeout))
        .map_err(|e| format!("step {step}: the loop failed: {e}"))?;
    for (_, sock) in net.take_reports() {
        ev.state_mut().push(Ev::Reported { sock });
    }
    let events = std::mem::take(&mut ev.state_mut().events);
    show(step, &events);
    checker
        .step(&events)
        .map_err(|e| format!("step {step}: {e}"))
}
