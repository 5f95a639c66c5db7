//! The checker of the simulated runs can fail: each invariant, fed a
//! fabricated trace that breaks it, reports it (and a clean trace passes).
//! The end-to-end counterpart is `sim_echo::a_buffer_that_ignores_partial_writes_is_caught`.

mod util;

use asyncore_loop::sim::{Faults, SimNet};
use asyncore_loop::{Dispatcher, EventLoop, Token, AF_INET, SOCK_STREAM};
use std::time::{Duration, Instant};
use util::sim::{Checker, Ev, Trace};

/// Two real tokens (the type has no public constructor).
fn tokens() -> (Token, Token) {
    struct Idle;
    impl Dispatcher<Trace> for Idle {}
    let net = SimNet::new(1, Faults::none());
    let mut ev = EventLoop::with_state(Trace::new(&net)).with_sim(&net);
    let mut a = ev.add(Idle);
    a.create_socket(AF_INET, SOCK_STREAM).unwrap();
    let a = a.token();
    let b = ev.add(Idle).token();
    (a, b)
}

fn handler(ch: u32, name: &'static str, token: Token) -> Ev {
    Ev::Handler { ch, name, token }
}

fn fails(trace: &[Ev], what: &str) {
    let err = Checker::new()
        .step(trace)
        .expect_err("the checker let a broken trace pass");
    assert!(err.contains(what), "expected {what:?} in: {err}");
}

#[test]
fn a_clean_trace_passes() {
    let (a, _) = tokens();
    let trace = [
        Ev::Reported { sock: 7 },
        handler(1, "handle_read_event", a),
        Ev::Dispatched {
            ch: 1,
            sock: Some(7),
        },
        Ev::CloseDelivered {
            ch: 1,
            unread: 0,
            broken: false,
        },
        handler(1, "handle_close", a),
        Ev::Close { ch: 1 },
        Ev::Closed {
            ch: 1,
            returned_err: false,
        },
    ];
    Checker::new().step(&trace).unwrap();
}

#[test]
fn handle_close_twice_is_caught() {
    fails(
        &[Ev::Close { ch: 1 }, Ev::Close { ch: 1 }],
        "handle_close ran 2 times",
    );
}

#[test]
fn handle_close_before_the_last_byte_is_caught() {
    let trace = [Ev::CloseDelivered {
        ch: 1,
        unread: 5,
        broken: false,
    }];
    fails(&trace, "still unread");
    // A reset connection may lose its data.
    let reset = [Ev::CloseDelivered {
        ch: 1,
        unread: 5,
        broken: true,
    }];
    Checker::new().step(&reset).unwrap();
}

#[test]
fn a_handler_after_close_is_caught() {
    let (a, _) = tokens();
    let trace = [
        handler(1, "handle_read_event", a),
        Ev::Closed {
            ch: 1,
            returned_err: false,
        },
        handler(1, "handle_write_event", a),
    ];
    fails(&trace, "after the channel closed");
}

#[test]
fn handle_error_for_the_closing_handlers_error_is_allowed_once() {
    let (a, _) = tokens();
    let once = [
        handler(1, "handle_read_event", a),
        Ev::Closed {
            ch: 1,
            returned_err: true,
        },
        handler(1, "handle_error", a),
    ];
    Checker::new().step(&once).unwrap();
    let twice = [
        handler(1, "handle_read_event", a),
        Ev::Closed {
            ch: 1,
            returned_err: true,
        },
        handler(1, "handle_error", a),
        handler(1, "handle_error", a),
    ];
    fails(&twice, "after the channel closed");
}

#[test]
fn an_event_for_another_channel_is_caught() {
    let (a, b) = tokens();
    // Channel 1 first ran with token a, then with b: b's readiness reached it.
    fails(
        &[
            handler(1, "handle_read_event", a),
            handler(1, "handle_read_event", b),
        ],
        "not its own",
    );
    // Readiness delivered for a socket the selector did not report.
    let trace = [
        Ev::Reported { sock: 7 },
        handler(1, "handle_read_event", a),
        Ev::Dispatched {
            ch: 1,
            sock: Some(8),
        },
    ];
    fails(&trace, "reported 0 time(s)");
}

#[test]
fn lost_duplicated_or_reordered_bytes_are_caught() {
    let c = Checker::new();
    c.stream("s", b"abc", b"abcdef", false).unwrap();
    assert!(c
        .stream("s", b"abd", b"abcdef", false)
        .unwrap_err()
        .contains("byte 2"));
    assert!(c
        .stream("s", b"abcdefg", b"abcdef", false)
        .unwrap_err()
        .contains("duplicated"));
    assert!(c
        .stream("s", b"abc", b"abcdef", true)
        .unwrap_err()
        .contains("lost"));
    assert!(c.stream("s", b"acb", b"abc", false).is_err());
}

#[test]
fn queued_output_above_its_bound_is_caught() {
    let trace = [Ev::Queued {
        ch: 1,
        bytes: 101,
        bound: 100,
    }];
    fails(&trace, "above the bound");
}

#[test]
fn early_cancelled_repeated_and_lost_timers_are_caught() {
    let t0 = Instant::now();
    let ms = Duration::from_millis;
    let armed = |timer, due, every| Ev::TimerArmed {
        timer,
        due,
        every,
        owner: None,
    };
    fails(
        &[
            armed(1, t0 + ms(10), None),
            Ev::TimerFired {
                timer: 1,
                at: t0 + ms(9),
            },
        ],
        "early",
    );
    fails(
        &[
            armed(1, t0, None),
            Ev::TimerCancelled { timer: 1 },
            Ev::TimerFired { timer: 1, at: t0 },
        ],
        "after it was cancelled",
    );
    fails(
        &[
            armed(1, t0, None),
            Ev::TimerFired { timer: 1, at: t0 },
            Ev::TimerFired {
                timer: 1,
                at: t0 + ms(1),
            },
        ],
        "fired 2 times",
    );
    // A repeating timer's second firing must wait a period.
    fails(
        &[
            armed(1, t0 + ms(10), Some(ms(10))),
            Ev::TimerFired {
                timer: 1,
                at: t0 + ms(10),
            },
            Ev::TimerFired {
                timer: 1,
                at: t0 + ms(15),
            },
        ],
        "early",
    );
    let mut c = Checker::new();
    c.step(&[armed(1, t0 + ms(10), None)]).unwrap();
    assert!(c.finish(t0 + ms(20)).unwrap_err().contains("never fired"));
    c.finish(t0 + ms(5)).unwrap();
}

#[test]
fn an_early_deadline_is_caught() {
    let t0 = Instant::now();
    let trace = [Ev::DeadlinePassed {
        ch: 1,
        at: t0 + Duration::from_millis(99),
        idle_since: t0,
        limit: Duration::from_millis(100),
    }];
    fails(&trace, "idle deadline");
}
