//! Property tests on the simulated network and its virtual clock: channel
//! timers (one-shot and repeating) armed, reset and cancelled from handlers
//! at seeded moments, loop timers armed between passes, idle deadlines,
//! under every fault including clock jumps. A timer never fires early, never
//! after it was cancelled, a one-shot timer fires once, and by the end every
//! timer that came due fired (unless its channel closed).
//!
//! More seeds: `ASYNCORE_SIM_SEEDS=100000 cargo test -p asyncore-loop --features sim --release --test sim_timers`.

mod util;

use asyncore_loop::sim::{Faults, SimNet};
use asyncore_loop::{Cx, Deadline, Dispatcher, SockAddr, Socket, TimerId};
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use util::sim::{run_seeds, Checker, Ev, PeerClient, Probe, Summary, Trace};

const SERVER: &str = "10.0.0.1:9";

fn now(cx: &mut Cx<'_, Trace>) -> Instant {
    cx.state()
        .net
        .as_ref()
        .map_or_else(Instant::now, |n| n.now())
}

fn below(cx: &mut Cx<'_, Trace>, n: u64) -> u64 {
    cx.state().net.as_ref().map_or(0, |net| net.below(n))
}

/// Reads what its peer sends, and plays with timers as it goes.
struct Ticker {
    id: u32,
    /// Each live timer's label (for the trace) and period.
    labels: HashMap<TimerId, (u64, Option<Duration>)>,
    next_label: u64,
    idle: Option<Duration>,
    last_read: Instant,
}

impl Ticker {
    fn arm(&mut self, cx: &mut Cx<'_, Trace>) {
        let delay = Duration::from_millis(below(cx, 500));
        let repeat = below(cx, 5) == 0;
        let due = now(cx) + delay;
        let id = cx.start_timer(delay, repeat);
        self.next_label += 1;
        let label = u64::from(self.id) << 32 | self.next_label;
        let every = repeat.then_some(delay);
        self.labels.insert(id, (label, every));
        let owner = Some(self.id);
        cx.state().push(Ev::TimerArmed {
            timer: label,
            due,
            every,
            owner,
        });
    }

    /// Cancels or resets one of its timers, picked by the seed.
    fn fiddle(&mut self, cx: &mut Cx<'_, Trace>) {
        if self.labels.is_empty() {
            return;
        }
        let mut ids: Vec<(TimerId, (u64, Option<Duration>))> =
            self.labels.iter().map(|(&i, &l)| (i, l)).collect();
        ids.sort_by_key(|&(_, (l, _))| l);
        let (id, (label, every)) = ids[below(cx, ids.len() as u64) as usize];
        if below(cx, 2) == 0 {
            if cx.cancel_timer(id) {
                cx.state().push(Ev::TimerCancelled { timer: label });
            }
            self.labels.remove(&id);
        } else {
            let delay = Duration::from_millis(below(cx, 300));
            let due = now(cx) + delay;
            // A reset keeps a repeating timer's period.
            if cx.reset_timer(id, delay) {
                cx.state().push(Ev::TimerArmed {
                    timer: label,
                    due,
                    every,
                    owner: Some(self.id),
                });
            }
        }
    }
}

impl Dispatcher<Trace> for Ticker {
    fn handle_read(&mut self, cx: &mut Cx<'_, Trace>) -> io::Result<()> {
        let data = cx.recv(64)?;
        if !data.is_empty() {
            self.last_read = now(cx);
        }
        for _ in 0..data.len().min(3) {
            match below(cx, 4) {
                0 | 1 => self.arm(cx),
                2 => self.fiddle(cx),
                _ => {}
            }
        }
        Ok(())
    }
    fn handle_timer(&mut self, cx: &mut Cx<'_, Trace>, id: TimerId) -> io::Result<()> {
        let at = now(cx);
        let Some(&(label, every)) = self.labels.get(&id) else {
            return Err(io::Error::other(format!(
                "timer {id:?} is not this channel's"
            )));
        };
        if every.is_none() {
            self.labels.remove(&id);
        }
        cx.state().push(Ev::TimerFired { timer: label, at });
        match below(cx, 6) {
            0 => self.arm(cx),
            1 => self.fiddle(cx),
            _ => {}
        }
        Ok(())
    }
    fn handle_timeout(&mut self, cx: &mut Cx<'_, Trace>, kind: Deadline) -> io::Result<()> {
        let (at, limit) = (now(cx), self.idle.unwrap_or_default());
        if kind == Deadline::Idle {
            let idle_since = self.last_read;
            cx.state().push(Ev::DeadlinePassed {
                ch: self.id,
                at,
                idle_since,
                limit,
            });
        }
        cx.close()
    }
    fn handle_close(&mut self, cx: &mut Cx<'_, Trace>) -> io::Result<()> {
        util::sim::log_close(cx, self.id);
        cx.close()
    }
}

struct Server {
    next_id: u32,
}

impl Dispatcher<Trace> for Server {
    fn handle_accepted(
        &mut self,
        cx: &mut Cx<'_, Trace>,
        sock: Socket,
        _: SockAddr,
    ) -> io::Result<()> {
        self.next_id += 1;
        let idle = (below(cx, 3) == 0).then(|| Duration::from_millis(50 + below(cx, 2000)));
        let t = now(cx);
        let ticker = Ticker {
            id: self.next_id,
            labels: HashMap::new(),
            next_label: 0,
            idle,
            last_read: t,
        };
        let mut child = cx.add(Probe::new(self.next_id, ticker));
        child.adopt(sock)?;
        if let Some(limit) = idle {
            child.set_timeout(Deadline::Idle, Some(limit));
        }
        Ok(())
    }
}

fn bytes(net: &SimNet, len: usize) -> Vec<u8> {
    (0..len).map(|_| net.below(256) as u8).collect()
}

fn timers_run(seed: u64, faults: Faults) -> Result<Summary, String> {
    let net = SimNet::new(seed, faults);
    let mut ev = util::sim::sim_loop(&net, seed);
    let addr: SocketAddr = SERVER.parse().unwrap();
    util::sim::listen(&mut ev, Server { next_id: 0 }, SERVER)?;

    let mut peers: Vec<PeerClient> = (0..=net.below(3) as usize)
        .map(|i| PeerClient::random(&net, i, 200, &bytes))
        .collect();
    let mut checker = Checker::new();
    let mut loop_timers = 0u64;
    let steps = 300 + net.below(300);
    for step in 0..steps {
        for p in &mut peers {
            p.act(&net, step, addr);
        }
        // A loop timer now and then, armed from outside the handlers.
        if net.chance(50) {
            loop_timers += 1;
            let label = loop_timers;
            let delay = Duration::from_millis(net.below(400));
            let due = net.now() + delay;
            ev.call_later(delay, move |cx| {
                let at = cx
                    .state()
                    .net
                    .as_ref()
                    .map_or_else(Instant::now, |n| n.now());
                cx.state().push(Ev::TimerFired { timer: label, at });
                Ok(())
            });
            ev.state_mut().push(Ev::TimerArmed {
                timer: label,
                due,
                every: None,
                owner: None,
            });
        }
        util::sim::pass(&mut ev, &net, &mut checker, step, Duration::from_millis(50))?;
        for p in &mut peers {
            p.finished(0);
            p.check(&checker, &[], false)
                .map_err(|e| format!("step {step}: {e}"))?;
        }
    }
    // Let every armed timer come due, then one more pass for those armed
    // while the last ones fired.
    let end = net.now() + Duration::from_secs(1);
    let mut step = steps;
    while net.now() < end {
        util::sim::pass(
            &mut ev,
            &net,
            &mut checker,
            step,
            Duration::from_millis(100),
        )?;
        step += 1;
    }
    util::sim::pass(&mut ev, &net, &mut checker, step, Duration::ZERO)?;
    checker.finish(net.now() - Duration::from_millis(1))?;
    Ok(Summary::of(&checker, &net, loop_timers))
}

#[test]
fn timers_never_early_never_lost_under_faults_and_clock_jumps() {
    run_seeds(
        "timers_never_early_never_lost_under_faults_and_clock_jumps",
        1000,
        |seed| timers_run(seed, Faults::chaos()),
    );
}
