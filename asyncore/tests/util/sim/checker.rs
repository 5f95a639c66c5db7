//! The one checker of the loop's invariants on a simulated run. The harness
//! feeds it each step's trace (what the handlers and the simulated selector
//! recorded) and the state of every byte stream; it keeps what it needs
//! across steps and reports the first broken invariant.
//!
//! Invariants:
//! * `handle_close` at most once per connection (a channel given a new
//!   socket starts a new one), and the loop never delivers
//!   it while bytes the channel was sent are unread (unless the connection
//!   was reset or broken);
//! * no handler after the channel closed (except the `handle_error` for the
//!   error of the handler that closed it);
//! * a readiness entry point runs only on a channel whose socket the
//!   selector reported in that step, at most three per report, and every
//!   handler sees its own channel's token;
//! * every byte stream received is a prefix of what was sent (nothing lost,
//!   duplicated or reordered), and all of it once the stream is complete;
//! * queued output stays within the bound back-pressure promises;
//! * a timer never fires before its due time, never after it was cancelled,
//!   a one-shot timer fires once, and by the end every due timer has fired.

use asyncore_loop::Token;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// One thing a handler, the harness or the simulated selector recorded.
#[derive(Clone, Debug, PartialEq)]
pub enum Ev {
    /// The selector reported readiness for socket `sock` (one event).
    Reported { sock: u64 },
    /// A handler of channel `ch` was called, with the `Cx` of `token`.
    Handler {
        ch: u32,
        name: &'static str,
        token: Token,
    },
    /// A readiness entry point ran on channel `ch`, whose socket is `sock`.
    Dispatched { ch: u32, sock: Option<u64> },
    /// The channel's own `handle_close` ran (however it was reached).
    Close { ch: u32 },
    /// Channel `ch` is given a new socket (a client that reconnects): a
    /// new connection, whose end may be `handle_close` again.
    Attached { ch: u32 },
    /// The loop delivered `handle_close` to the channel: bytes its socket
    /// still had unread, whether the connection was reset or broken.
    CloseDelivered {
        ch: u32,
        unread: usize,
        broken: bool,
    },
    /// The channel was seen closed after a handler; `returned_err`: that
    /// handler returned an error (its `handle_error` may follow).
    Closed { ch: u32, returned_err: bool },
    /// Output queued on channel `ch`, and the most back-pressure allows.
    Queued { ch: u32, bytes: usize, bound: usize },
    /// A timer was armed (or reset) for `due`, repeating every `every`;
    /// `owner`: the channel it dies with.
    TimerArmed {
        timer: u64,
        due: Instant,
        every: Option<Duration>,
        owner: Option<u32>,
    },
    /// A timer fired at `at`.
    TimerFired { timer: u64, at: Instant },
    /// A timer was cancelled.
    TimerCancelled { timer: u64 },
    /// A channel's idle deadline passed at `at`; it was idle since
    /// `idle_since`, with a limit of `limit`.
    DeadlinePassed {
        ch: u32,
        at: Instant,
        idle_since: Instant,
        limit: Duration,
    },
}

#[derive(Default)]
struct Chan {
    token: Option<Token>,
    closes: u32,
    closed: bool,
    error_allowed: bool,
    in_error: bool,
}

struct Timer {
    due: Instant,
    every: Option<Duration>,
    owner: Option<u32>,
    fired: u32,
    cancelled: bool,
}

/// The invariants, checked step by step.
#[derive(Default)]
pub struct Checker {
    chans: HashMap<u32, Chan>,
    timers: HashMap<u64, Timer>,
    pub steps: u64,
    pub events: u64,
    pub timers_fired: u64,
    pub deadlines: u64,
    /// Every `handle_close` that ran, reconnections included.
    closes: u64,
    /// Sockets attached to a channel that had one (reconnections).
    pub reattached: u64,
}

impl Checker {
    pub fn new() -> Checker {
        Checker::default()
    }

    /// One step's trace.
    pub fn step(&mut self, events: &[Ev]) -> Result<(), String> {
        self.steps += 1;
        self.events += events.len() as u64;
        let mut reported: HashMap<u64, u32> = HashMap::new();
        for ev in events {
            if let Ev::Reported { sock } = ev {
                *reported.entry(*sock).or_default() += 1;
            }
        }
        let mut dispatched: HashMap<u64, u32> = HashMap::new();
        for ev in events {
            match *ev {
                Ev::Reported { .. } => {}
                Ev::Handler { ch, name, token } => {
                    let c = self.chans.entry(ch).or_default();
                    match c.token {
                        None => c.token = Some(token),
                        Some(t) if t != token => {
                            return Err(format!(
                            "channel {ch}: {name} ran with the Cx of {token:?}, not its own {t:?}"
                        ))
                        }
                        Some(_) => {}
                    }
                    if c.closed {
                        if name == "handle_error" && c.error_allowed {
                            c.error_allowed = false;
                        } else {
                            return Err(format!("channel {ch}: {name} after the channel closed"));
                        }
                    }
                    c.in_error = name == "handle_error";
                }
                Ev::Dispatched { ch, sock } => {
                    let Some(sock) = sock else { continue };
                    let n = dispatched.entry(sock).or_default();
                    *n += 1;
                    let r = reported.get(&sock).copied().unwrap_or(0);
                    if *n > 3 * r {
                        return Err(format!(
                            "channel {ch}: readiness delivered for socket {sock}, which the selector reported {r} time(s) in this step"
                        ));
                    }
                }
                Ev::Close { ch } => {
                    self.closes += 1;
                    let c = self.chans.entry(ch).or_default();
                    c.closes += 1;
                    if c.closes > 1 {
                        return Err(format!("channel {ch}: handle_close ran {} times", c.closes));
                    }
                }
                Ev::Attached { ch } => {
                    self.reattached += 1;
                    let c = self.chans.entry(ch).or_default();
                    if c.closed {
                        return Err(format!("channel {ch}: a socket attached after it closed"));
                    }
                    c.closes = 0;
                }
                Ev::CloseDelivered { ch, unread, broken } => {
                    let c = self.chans.entry(ch).or_default();
                    if unread > 0 && !broken && !c.in_error {
                        return Err(format!(
                            "channel {ch}: handle_close with {unread} byte(s) of its input still unread"
                        ));
                    }
                }
                Ev::Closed { ch, returned_err } => {
                    let c = self.chans.entry(ch).or_default();
                    if !c.closed {
                        c.closed = true;
                        c.error_allowed = returned_err;
                    } else if returned_err {
                        c.error_allowed = true;
                    }
                }
                Ev::Queued { ch, bytes, bound } => {
                    if bytes > bound {
                        return Err(format!(
                            "channel {ch}: {bytes} bytes queued, above the bound of {bound}"
                        ));
                    }
                }
                Ev::TimerArmed {
                    timer,
                    due,
                    every,
                    owner,
                } => {
                    let t = self.timers.entry(timer).or_insert(Timer {
                        due,
                        every,
                        owner,
                        fired: 0,
                        cancelled: false,
                    });
                    // A reset re-arms a timer that may have fired (repeating) or not.
                    t.due = due;
                    t.every = every;
                    t.cancelled = false;
                    if every.is_none() {
                        t.fired = 0;
                    }
                }
                Ev::TimerFired { timer, at } => {
                    let Some(t) = self.timers.get_mut(&timer) else {
                        return Err(format!("timer {timer} fired but was never armed"));
                    };
                    if t.cancelled {
                        return Err(format!("timer {timer} fired after it was cancelled"));
                    }
                    if at < t.due {
                        return Err(format!(
                            "timer {timer} fired {:?} early",
                            t.due.duration_since(at)
                        ));
                    }
                    t.fired += 1;
                    self.timers_fired += 1;
                    match t.every {
                        None if t.fired > 1 => {
                            return Err(format!("one-shot timer {timer} fired {} times", t.fired))
                        }
                        None => {}
                        Some(every) => {
                            let mut next = t.due + every;
                            if next <= at {
                                next = at + every;
                            }
                            t.due = next;
                        }
                    }
                }
                Ev::DeadlinePassed {
                    ch,
                    at,
                    idle_since,
                    limit,
                } => {
                    self.deadlines += 1;
                    if at < idle_since + limit {
                        return Err(format!(
                            "channel {ch}: idle deadline of {limit:?} passed after {:?}",
                            at.duration_since(idle_since)
                        ));
                    }
                }
                Ev::TimerCancelled { timer } => {
                    if let Some(t) = self.timers.get_mut(&timer) {
                        t.cancelled = true;
                    }
                }
            }
        }
        Ok(())
    }

    /// A byte stream: `got` must be a prefix of `expected`, and all of it
    /// once `complete`.
    pub fn stream(
        &self,
        name: &str,
        got: &[u8],
        expected: &[u8],
        complete: bool,
    ) -> Result<(), String> {
        let same = got.len().min(expected.len());
        if let Some(i) = (0..same).find(|&i| got[i] != expected[i]) {
            return Err(format!(
                "{name}: byte {i} is {:#04x}, expected {:#04x} (lost, duplicated or reordered)",
                got[i], expected[i]
            ));
        }
        if got.len() > expected.len() {
            return Err(format!(
                "{name}: {} bytes received, only {} sent (duplicated)",
                got.len(),
                expected.len()
            ));
        }
        if complete && got.len() < expected.len() {
            return Err(format!(
                "{name}: {} of {} bytes received (lost)",
                got.len(),
                expected.len()
            ));
        }
        Ok(())
    }

    /// The end of a run at `now`: every timer due by then fired (a
    /// repeating one as often as it was due), unless it was cancelled or its
    /// channel closed.
    pub fn finish(&self, now: Instant) -> Result<(), String> {
        for (id, t) in &self.timers {
            let owner_closed = t
                .owner
                .is_some_and(|ch| self.chans.get(&ch).is_some_and(|c| c.closed));
            let owed = t.every.is_some() || t.fired == 0;
            if owed && !t.cancelled && !owner_closed && t.due <= now {
                return Err(format!(
                    "timer {id} never fired ({:?} overdue)",
                    now.duration_since(t.due)
                ));
            }
        }
        Ok(())
    }

    /// How many `handle_close`s ran.
    pub fn closes(&self) -> u64 {
        self.closes
    }
}
