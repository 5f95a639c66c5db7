//! issue 4 §1 timers: one-shot and repeating loop and channel timers, cancel and reset, memory and speed with many timers.

use super::*;

/// issue 4 §1 timers: a timer never fires early. Loop timers with delays from
/// zero through sub-millisecond to 30 ms each record how long after arming
/// they ran: never less than the delay (one-sided), and they fire in deadline
/// order (the deadlines increase with the index). Three rounds.
fn timers_never_fire_early(b: Backend) {
    util::bounded(secs(20), move || {
        let delays_us = [
            0u64, 10, 50, 250, 500, 999, 1_000, 1_500, 2_500, 10_000, 30_000,
        ];
        for _round in 0..3 {
            let mut ev = event_loop(b, Vec::<(usize, Duration)>::new());
            for (i, &us) in delays_us.iter().enumerate() {
                let armed = Instant::now();
                ev.call_later(Duration::from_micros(us), move |cx| {
                    cx.state().push((i, armed.elapsed()));
                    Ok(())
                });
            }
            timed_run(&mut ev);
            let fired = ev.state();
            assert_eq!(fired.len(), delays_us.len(), "every timer fired once");
            for &(i, elapsed) in fired {
                let delay = Duration::from_micros(delays_us[i]);
                assert!(
                    elapsed >= delay,
                    "timer {i} fired after {elapsed:?}, before its delay {delay:?}"
                );
            }
            let order: Vec<usize> = fired.iter().map(|&(i, _)| i).collect();
            assert_eq!(order, (0..delays_us.len()).collect::<Vec<_>>());
        }
    });
}

/// issue 4 §1 timers: several timers armed out of order fire in deadline
/// order, each once, on the loop's own channel and on a channel's.
fn timers_fire_in_deadline_order(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, Vec::<u64>::new());
        // Measured from before the timers are armed: they count from then.
        let armed = Instant::now();
        for d in [30u64, 10, 25, 0, 5, 15] {
            ev.call_later(ms(d), move |cx| {
                cx.state().push(d);
                Ok(())
            });
        }
        let mut cx = ev.add(Quiet);
        cx.create_socket(AF_INET, SOCK_DGRAM).unwrap();
        for d in [20u64, 2] {
            cx.call_later(ms(d), move |cx| {
                cx.state().push(d);
                Ok(())
            });
        }
        cx.call_later(ms(40), |cx| cx.close());
        ev.run().expect("run failed");
        assert_eq!(ev.state(), &[0, 2, 5, 10, 15, 20, 25, 30]);
        assert!(armed.elapsed() >= ms(40));
    });
}

/// issue 4 §1 timers: a cancelled timer never fires; a reset timer fires at
/// its new time, never earlier and never at its old time (moved earlier from
/// 10 s, moved later from 5 ms, and moved from inside another timer's
/// callback); cancel and reset answer false for a timer that is gone.
fn timer_cancel_and_reset(b: Backend) {
    util::bounded(secs(10), move || {
        type Fired = Vec<(&'static str, Instant)>;
        let mut ev = event_loop(b, Fired::new());
        let note = |name: &'static str| {
            move |cx: &mut Cx<'_, Fired>| {
                cx.state().push((name, Instant::now()));
                Ok(())
            }
        };
        let cancelled = ev.call_later(ms(15), note("cancelled"));
        let sooner = ev.call_later(secs(10), note("sooner"));
        let later = ev.call_later(ms(5), note("later"));
        let moved_in_callback = ev.call_later(ms(12), note("moved in callback"));
        assert!(ev.cancel_timer(cancelled));
        assert!(!ev.cancel_timer(cancelled), "already cancelled");
        assert!(
            !ev.reset_timer(cancelled, ms(1)),
            "a cancelled timer is gone"
        );
        let reset_at = Instant::now();
        assert!(ev.reset_timer(sooner, ms(30)));
        assert!(ev.reset_timer(later, ms(60)));
        ev.call_later(ms(8), move |cx| {
            cx.state().push(("mover", Instant::now()));
            assert!(cx.reset_timer(moved_in_callback, ms(40)));
            Ok(())
        });
        timed_run(&mut ev);
        let fired = ev.state().clone();
        let names: Vec<&str> = fired.iter().map(|f| f.0).collect();
        assert_eq!(names, ["mover", "sooner", "moved in callback", "later"]);
        let at = |name: &str| fired.iter().find(|f| f.0 == name).unwrap().1;
        assert!(at("sooner") - reset_at >= ms(30));
        assert!(at("later") - reset_at >= ms(60), "not at its old 5 ms");
        assert!(at("moved in callback") - at("mover") >= ms(40));
        assert!(
            !ev.reset_timer(sooner, ms(1)),
            "a fired one-shot timer is gone"
        );
        assert!(!ev.cancel_timer(later));
    });
}

/// issue 4 §1 timers: `call_every` fires repeatedly, the k-th time no earlier
/// than k intervals after arming, and stops once cancelled (from its own
/// callback, then from the `EventLoop` between passes); with it cancelled
/// nothing keeps `run()` going.
fn call_every_repeats_until_cancelled(b: Backend) {
    util::bounded(secs(10), move || {
        let interval = ms(3);
        let mut ev = event_loop(b, Vec::<Instant>::new());
        let id_cell = Rc::new(Cell::new(None::<TimerId>));
        let own_id = Rc::clone(&id_cell);
        let start = Instant::now();
        let id = ev.call_every(interval, move |cx| {
            cx.state().push(Instant::now());
            if cx.state().len() == 5 {
                assert!(cx.cancel_timer(own_id.get().unwrap()));
            }
            Ok(())
        });
        id_cell.set(Some(id));
        timed_run(&mut ev);
        assert_eq!(ev.state().len(), 5, "stopped when cancelled");
        for (k, &t) in ev.state().iter().enumerate() {
            assert!(t - start >= interval * (k as u32 + 1), "firing {k} early");
        }
        assert!(!ev.cancel_timer(id));

        // Cancelled from outside, between passes.
        let mut ev = event_loop(b, Vec::<Instant>::new());
        let id = ev.call_every(ms(1), |cx| {
            cx.state().push(Instant::now());
            Ok(())
        });
        let deadline = Instant::now() + secs(5);
        while ev.state().len() < 3 {
            assert!(Instant::now() < deadline);
            ev.run_loop(Some(ms(10)), Some(1)).unwrap();
        }
        assert!(ev.cancel_timer(id));
        let n = ev.state().len();
        let elapsed = timed_run(&mut ev);
        assert_eq!(ev.state().len(), n, "no firing after cancel");
        assert!(elapsed < secs(1), "nothing kept run() going: {elapsed:?}");
    });
}

/// Notes its `handle_timer` calls.
struct TimerOwner {
    fired: Rc<RefCell<Vec<&'static str>>>,
}

impl Dispatcher<()> for TimerOwner {
    fn readable(&self, _: &View<'_>) -> bool {
        false
    }
    fn writable(&self, _: &View<'_>) -> bool {
        false
    }
    fn handle_timer(&mut self, _: &mut Cx<'_>, _: TimerId) -> io::Result<()> {
        self.fired.borrow_mut().push("handle_timer");
        Ok(())
    }
}

/// issue 4 §1 timers: a channel-owned timer (`Cx::call_later`,
/// `Cx::call_every`, `Cx::start_timer` → `handle_timer`, one-shot and
/// repeating) is cancelled when its channel closes: it never fires (a loop
/// timer keeps the loop running past its deadline), its id is gone, and it
/// does not keep `run()` alive: with only 10 s timers left on a closed
/// channel, `run()` returns as soon as the map is empty.
fn channel_timers_cancelled_on_close(b: Backend) {
    util::bounded(secs(10), move || {
        let fired = Rc::new(RefCell::new(Vec::new()));
        let mut ev = event_loop(b, ());
        let mut cx = ev.add(TimerOwner {
            fired: Rc::clone(&fired),
        });
        cx.create_socket(AF_INET, SOCK_DGRAM).unwrap();
        let f = Rc::clone(&fired);
        let later = cx.call_later(ms(30), move |_| {
            f.borrow_mut().push("call_later");
            Ok(())
        });
        let f = Rc::clone(&fired);
        let every = cx.call_every(ms(20), move |_| {
            f.borrow_mut().push("call_every");
            Ok(())
        });
        let once = cx.start_timer(ms(30), false);
        let repeat = cx.start_timer(ms(25), true);
        cx.call_later(ms(5), |cx| cx.close());
        let f = Rc::clone(&fired);
        ev.call_later(ms(60), move |_| {
            f.borrow_mut().push("loop timer");
            Ok(())
        });
        let elapsed = timed_run(&mut ev);
        assert_eq!(*fired.borrow(), ["loop timer"]);
        assert!(elapsed >= ms(60));
        for id in [later, every, once, repeat] {
            assert!(!ev.cancel_timer(id), "cancelled with its channel");
            assert!(!ev.reset_timer(id, ms(1)));
        }

        // Only the closed channel's timers were left: run() ends with the map.
        let mut ev = event_loop(b, ());
        let mut cx = ev.add(TimerOwner {
            fired: Rc::clone(&fired),
        });
        cx.create_socket(AF_INET, SOCK_DGRAM).unwrap();
        cx.call_later(secs(10), |_| Ok(()));
        cx.start_timer(secs(10), true);
        cx.call_later(ms(5), |cx| cx.close());
        let elapsed = timed_run(&mut ev);
        assert!(ev.is_empty());
        assert!(elapsed >= ms(5));
        assert!(
            elapsed < secs(2),
            "run() waited for a dead channel's timer: {elapsed:?}"
        );
    });
}

/// issue 4 §1 timers, the loop's rule: **the loop runs while channels are in
/// the map or timers are armed** (a graceful shutdown ends it even with timers
/// left). With an empty map, `run()` keeps going for two loop timers and one
/// armed by the last of them, returns right after that one fired, and a loop
/// with neither channels nor timers returns at once.
fn loop_runs_while_timers_remain(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, Vec::<u64>::new());
        ev.call_later(ms(20), |cx| {
            cx.state().push(20);
            Ok(())
        });
        ev.call_later(ms(40), |cx| {
            cx.state().push(40);
            cx.call_later(ms(10), |cx| {
                cx.state().push(50);
                Ok(())
            });
            Ok(())
        });
        assert!(ev.is_empty());
        let elapsed = timed_run(&mut ev);
        assert_eq!(ev.state(), &[20, 40, 50]);
        assert!(elapsed >= ms(50));
        let elapsed = timed_run(&mut ev);
        assert!(elapsed < secs(1), "nothing to wait for: {elapsed:?}");
    });
}

fn rearm_at_zero(cx: &mut Cx<'_, u64>) -> io::Result<()> {
    *cx.state() += 1;
    cx.call_later(Duration::ZERO, rearm_at_zero);
    Ok(())
}

/// issue 4 §1 timers: a callback that re-arms itself at zero delay fires once
/// per pass (the new timer waits for the next pass) instead of spinning in
/// one; and a due timer makes the wait return at once despite a 5 s timeout.
fn zero_delay_rearm_does_not_spin(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, 0u64);
        add_quiet(&mut ev);
        ev.call_later(Duration::ZERO, rearm_at_zero);
        ev.poll(Some(Duration::ZERO)).unwrap();
        assert_eq!(*ev.state(), 1);
        let start = Instant::now();
        ev.poll(Some(secs(5))).unwrap();
        assert_eq!(*ev.state(), 2);
        assert!(
            start.elapsed() < secs(1),
            "the due timer cut the wait short"
        );
        ev.run_loop(Some(secs(5)), Some(10)).unwrap();
        assert_eq!(*ev.state(), 12, "one firing per pass");
    });
}

/// issue 4 §1 timers: a workload that cancels and re-arms a million timers
/// through the `EventLoop` API keeps memory flat. 1,000 live loop timers;
/// 1,000 rounds over them, each timer either cancelled and armed anew or
/// reset (1,000,000 re-arms, 1,500,000 operations), with a pass every 50
/// rounds. Resident memory grows less than 16 MiB. In a child process (the
/// measure is process-wide); figures are printed.
fn million_rearms_keep_memory_flat(b: Backend) {
    in_child(
        &case_in(module_path!(), "million_rearms_keep_memory_flat", b),
        || {
            const LIVE: usize = 1_000;
            const ROUNDS: usize = 1_000;
            let mut ev = event_loop(b, ());
            add_quiet(&mut ev);
            let far = secs(3600);
            let mut ids: Vec<TimerId> = (0..LIVE).map(|_| ev.call_later(far, |_| Ok(()))).collect();
            ev.poll(Some(Duration::ZERO)).unwrap();
            let before = rss_kib();
            let start = Instant::now();
            let (mut rearms, mut ops) = (0usize, 0usize);
            for round in 0..ROUNDS {
                for (i, id) in ids.iter_mut().enumerate() {
                    let delay = far + Duration::from_micros((round * LIVE + i) as u64);
                    if (i + round) % 2 == 0 {
                        assert!(ev.cancel_timer(*id));
                        *id = ev.call_later(delay, |_| Ok(()));
                        ops += 2;
                    } else {
                        assert!(ev.reset_timer(*id, delay));
                        ops += 1;
                    }
                    rearms += 1;
                }
                if round % 50 == 0 {
                    ev.poll(Some(Duration::ZERO)).unwrap();
                }
            }
            let took = start.elapsed();
            let after = rss_kib();
            let growth = after.saturating_sub(before);
            println!(
                "[{}] {rearms} re-arms ({ops} operations) over {LIVE} live timers in {took:?}; \
             VmRSS {before} KiB -> {after} KiB (growth {growth} KiB)",
                b.name()
            );
            assert!(rearms >= 1_000_000);
            assert!(growth < 16 * 1024, "VmRSS grew by {growth} KiB");
            for id in ids {
                assert!(ev.cancel_timer(id));
            }
        },
    );
}

/// issue 4 §1 timers ("insert and cancel are O(log n)"): 100,000 loop timers
/// are armed and then cancelled one by one, in an order unlike the arming
/// order, within a generous bound (a cost linear in the number of live
/// timers per cancel would take minutes).
fn cancelling_many_live_timers_is_fast(b: Backend) {
    util::bounded(secs(20), move || {
        const N: usize = 100_000;
        let mut ev = event_loop(b, ());
        let ids: Vec<TimerId> = (0..N)
            .map(|i| ev.call_later(secs(3600) + Duration::from_micros(i as u64), |_| Ok(())))
            .collect();
        let start = Instant::now();
        for k in 0..N {
            // A permutation of 0..N (N and 7919 are coprime).
            let id = ids[(k * 7919) % N];
            assert!(ev.cancel_timer(id));
        }
        let took = start.elapsed();
        println!("[{}] cancelled {N} live timers in {took:?}", b.name());
        assert!(took < secs(5), "cancelling {N} timers took {took:?}");
        assert!(ev.is_empty());
        assert!(timed_run(&mut ev) < secs(1), "no timer left");
    });
}

/// The pass's time (`Cx::now`): two channels made readable before one pass
/// read the same time in their handlers, no later than the clock after the
/// pass; the next pass reads a later time; a timer's callback reads a time
/// no earlier than its deadline; outside a pass it is the clock's time.
fn pass_time_is_read_once_per_pass(b: Backend) {
    util::bounded(secs(10), move || {
        struct Stamp;
        impl Dispatcher<Vec<Instant>> for Stamp {
            fn writable(&self, _: &View<'_, Vec<Instant>>) -> bool {
                false
            }
            fn handle_read(&mut self, cx: &mut Cx<'_, Vec<Instant>>) -> io::Result<()> {
                cx.recv(64)?;
                // A clock read between the two handlers could only differ.
                std::thread::sleep(ms(2));
                let t = cx.now();
                cx.state().push(t);
                Ok(())
            }
        }
        let mut ev = event_loop(b, Vec::<Instant>::new());
        let (a, mut pa) = unix_pair();
        let (c, mut pc) = unix_pair();
        ev.add(Stamp).adopt(a).unwrap();
        ev.add(Stamp).adopt(c).unwrap();
        let before = Instant::now();
        assert!(ev.add(Quiet).now() >= before, "outside a pass: the clock");
        pa.write_all(b"x").unwrap();
        pc.write_all(b"x").unwrap();
        ev.poll(Some(secs(5))).unwrap();
        let after = Instant::now();
        assert_eq!(ev.state().len(), 2, "both channels ran in one pass");
        let (t0, t1) = (ev.state()[0], ev.state()[1]);
        assert_eq!(t0, t1, "one reading for the pass");
        assert!(before <= t0 && t0 <= after);
        pa.write_all(b"y").unwrap();
        ev.poll(Some(secs(5))).unwrap();
        assert!(ev.state()[2] > t0, "the next pass reads the clock again");
        // A timer due in 5 ms: its callback sees its deadline passed.
        let armed = Instant::now();
        ev.call_later(ms(5), |cx| {
            let t = cx.now();
            cx.state().push(t);
            Ok(())
        });
        while ev.state().len() < 4 {
            ev.poll(Some(secs(1))).unwrap();
        }
        assert!(ev.state()[3] >= armed + ms(5));
    });
}

/// `Duration::MAX` is a way to say "never": timers, a reset, a repeating
/// timer and a deadline take it (they panicked adding it to the clock), and
/// none of them fires.
fn huge_durations_mean_never(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, 0u32);
        let fired = |cx: &mut Cx<'_, u32>| {
            *cx.state() += 1;
            Ok(())
        };
        ev.call_later(Duration::MAX, fired);
        ev.call_every(Duration::from_secs(u64::MAX / 2), fired);
        let id = ev.call_later(ms(1), fired);
        assert!(ev.reset_timer(id, Duration::MAX));
        let (a, _peer) = unix_pair();
        let mut cx = ev.add(Plain);
        cx.adopt(a).unwrap();
        cx.set_timeout(Deadline::Idle, Some(Duration::MAX));
        for _ in 0..3 {
            ev.poll(Some(ms(20))).unwrap();
        }
        assert_eq!(*ev.state(), 0);
        assert_eq!(ev.len(), 1, "the idle channel is still open");
    });
}

backend_tests!(
    huge_durations_mean_never,
    pass_time_is_read_once_per_pass,
    timers_never_fire_early,
    timers_fire_in_deadline_order,
    timer_cancel_and_reset,
    call_every_repeats_until_cancelled,
    channel_timers_cancelled_on_close,
    loop_runs_while_timers_remain,
    zero_delay_rearm_does_not_spin,
    million_rearms_keep_memory_flat,
    cancelling_many_live_timers_is_fast,
);
