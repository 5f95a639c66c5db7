//! issue 4 §6 panic isolation: a panicking handler closes only its channel, or propagates when not caught.

use super::*;

/// Panics in `handle_read`; notes what its `handle_error` saw.
struct Panicky;

impl Dispatcher<Vec<String>> for Panicky {
    fn writable(&self, _: &View<'_, Vec<String>>) -> bool {
        false
    }
    fn handle_read(&mut self, _: &mut Cx<'_, Vec<String>>) -> io::Result<()> {
        panic!("boom in handle_read");
    }
    fn handle_error(&mut self, cx: &mut Cx<'_, Vec<String>>, err: io::Error) -> io::Result<()> {
        cx.state().push(format!("handle_error: {err}"));
        Ok(())
    }
}

/// Echoes what it reads.
struct Echo;

impl Dispatcher<Vec<String>> for Echo {
    fn writable(&self, _: &View<'_, Vec<String>>) -> bool {
        false
    }
    fn handle_read(&mut self, cx: &mut Cx<'_, Vec<String>>) -> io::Result<()> {
        let data = cx.recv(4096)?;
        if !data.is_empty() {
            assert_eq!(cx.send(&data)?, data.len());
        }
        Ok(())
    }
    fn handle_close(&mut self, cx: &mut Cx<'_, Vec<String>>) -> io::Result<()> {
        cx.close()
    }
}

/// issue 4 §6 panic isolation: a panic in one channel's `handle_read` reaches
/// its `handle_error` (the error's text says it panicked, with the message)
/// and the channel is closed even though `handle_error` did not close it;
/// another channel in the same loop goes on echoing, before and after.
fn panic_closes_only_that_channel(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, Vec::<String>::new());
        let (sp, mut peer_p) = unix_pair();
        let (se, mut peer_e) = unix_pair();
        let tp = ev.add(Panicky).adopt(sp).unwrap();
        let te = ev.add(Echo).adopt(se).unwrap();
        peer_e.set_nonblocking(true).unwrap();
        let mut echoed = Vec::new();
        fn pump(
            ev: &mut EventLoop<Vec<String>>,
            peer: &mut UnixStream,
            echoed: &mut Vec<u8>,
            want: &[u8],
        ) {
            let deadline = Instant::now() + secs(5);
            while echoed != want {
                assert!(Instant::now() < deadline, "echo stalled at {echoed:?}");
                ev.run_loop(Some(ms(10)), Some(1)).unwrap();
                let mut buf = [0u8; 64];
                match peer.read(&mut buf) {
                    Ok(n) => echoed.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => panic!("{e}"),
                }
            }
        }
        (&peer_e).write_all(b"one").unwrap();
        pump(&mut ev, &mut peer_e, &mut echoed, b"one");
        peer_p.write_all(b"x").unwrap();
        run_until(&mut ev, |ev| !ev.state().is_empty());
        let seen = ev.state().clone();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(
            seen[0].contains("panicked") && seen[0].contains("boom in handle_read"),
            "{seen:?}"
        );
        run_until(&mut ev, |ev| !ev.contains(tp));
        wait_closed(&mut peer_p); // the panicking channel is closed
        (&peer_e).write_all(b"two").unwrap();
        pump(&mut ev, &mut peer_e, &mut echoed, b"onetwo");
        assert!(ev.contains(te));
        assert_eq!(ev.len(), 1);
    });
}

/// issue 4 §6 panic isolation: with `set_catch_panics(false)` the handler's
/// panic propagates out of the loop (caught here with `catch_unwind`), with
/// its own payload, and `handle_error` never saw it.
fn panic_propagates_when_not_caught(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, Vec::<String>::new());
        ev.set_catch_panics(false);
        let (sp, mut peer_p) = unix_pair();
        let token = ev.add(Panicky).adopt(sp).unwrap();
        peer_p.write_all(b"x").unwrap();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ev.run_loop(Some(ms(10)), Some(500))
        }));
        let payload = result.expect_err("the panic propagated out of the loop");
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        assert!(msg.contains("boom in handle_read"), "{msg:?}");
        assert!(ev.state().is_empty(), "handle_error did not run");
        // The unwind left the loop whole: the channel is still there, with
        // its dispatcher back in its slot.
        assert_eq!(ev.len(), 1);
        assert!(ev.dispatcher::<Panicky>(token).is_some());
        // Out of the pass it left, `Cx::now` reads the clock again: it
        // does not keep returning one time as within a pass.
        let first = ev.channel(token).unwrap().now();
        std::thread::sleep(ms(5));
        let second = ev.channel(token).unwrap().now();
        assert!(second >= first + ms(5), "{first:?} then {second:?}");
    });
}

/// Panics twice over: in `handle_read`, then in its own `handle_error`.
struct PanicsTwice;

impl Dispatcher<Vec<String>> for PanicsTwice {
    fn writable(&self, _: &View<'_, Vec<String>>) -> bool {
        false
    }
    fn handle_read(&mut self, _: &mut Cx<'_, Vec<String>>) -> io::Result<()> {
        panic!("first");
    }
    fn handle_error(&mut self, _: &mut Cx<'_, Vec<String>>, _: io::Error) -> io::Result<()> {
        panic!("second, in handle_error");
    }
}

/// Issue 4 §6: a panic inside `handle_error` (the recovery path) is caught
/// too: one `error` line names it, the channel is closed, and the loop goes
/// on serving the other channel.
fn panic_in_handle_error_still_closes(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, Vec::<String>::new());
        let log = capture(&mut ev);
        let (sp, mut peer_p) = unix_pair();
        let bad = ev.add(PanicsTwice).adopt(sp).unwrap();
        let (se, mut peer_e) = unix_pair();
        ev.add(Echo).adopt(se).unwrap();
        peer_p.write_all(b"x").unwrap();
        run_until(&mut ev, |ev| !ev.contains(bad));
        let lines = log.lines();
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.starts_with("error: handle_error panicked: second"))
                .count(),
            1,
            "{lines:?}"
        );
        peer_e.write_all(b"still here").unwrap();
        let mut buf = [0u8; 10];
        let reader = std::thread::spawn(move || peer_e.read_exact(&mut buf).map(|()| buf));
        while !reader.is_finished() {
            ev.run_loop(Some(ms(10)), Some(1)).unwrap();
        }
        assert_eq!(&reader.join().unwrap().unwrap(), b"still here");
    });
}

/// Notes each read in the loop's state, in delivery order; the third
/// channel to read panics after its note.
struct Noter(&'static str);

impl Dispatcher<Vec<String>> for Noter {
    fn writable(&self, _: &View<'_, Vec<String>>) -> bool {
        false
    }
    fn handle_read(&mut self, cx: &mut Cx<'_, Vec<String>>) -> io::Result<()> {
        cx.recv(64)?;
        let state = cx.state();
        state.push(format!("{} read", self.0));
        if state.iter().filter(|l| l.ends_with(" read")).count() == 3 {
            panic!("boom in {}", self.0);
        }
        Ok(())
    }
    fn handle_error(&mut self, cx: &mut Cx<'_, Vec<String>>, err: io::Error) -> io::Result<()> {
        let line = format!("{} handle_error in {}: {err}", self.0, cx.handler_name());
        cx.state().push(line);
        Ok(())
    }
}

/// Issue 4 §6 panic isolation within one pass: five channels are ready in
/// the same wait and the third one delivered panics. Every other channel
/// still gets its read in that same pass; the panicking one's
/// `handle_error` comes right after its read and names the handler that
/// panicked; only that channel is closed.
fn panic_mid_pass_spares_the_rest_of_the_pass(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, Vec::<String>::new());
        let mut peers = Vec::new();
        let mut tokens = Vec::new();
        for name in ["a", "b", "c", "d", "e"] {
            let (s, peer) = unix_pair();
            tokens.push((name, ev.add(Noter(name)).adopt(s).unwrap()));
            peers.push(peer);
        }
        for peer in &mut peers {
            peer.write_all(b"x").unwrap();
        }
        // One pass: all five are ready when it waits.
        ev.poll(Some(ms(1000))).unwrap();
        let seen = ev.state().clone();
        assert_eq!(seen.len(), 6, "five reads and one handle_error: {seen:?}");
        let third = seen[2].strip_suffix(" read").expect("a read");
        assert_eq!(
            seen[3],
            format!("{third} handle_error in handle_read_event: handler panicked: boom in {third}"),
            "{seen:?}"
        );
        let mut read: Vec<&str> = seen
            .iter()
            .filter_map(|l| l.strip_suffix(" read"))
            .collect();
        read.sort();
        assert_eq!(read, ["a", "b", "c", "d", "e"], "{seen:?}");
        for (name, token) in tokens {
            assert_eq!(ev.contains(token), name != third, "{name}: {seen:?}");
        }
    });
}

/// A panic in a loop-level callback (a timer, a remote job) is logged and
/// costs only that callback: the loop's other timers, a repeating one and
/// one armed before the panic, still fire, and so does a later remote job.
/// (The panic used to close the loop's own channel, and every loop-level
/// timer went with it.)
fn panic_in_a_loop_timer_spares_the_other_timers(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, Vec::<String>::new());
        let log = capture(&mut ev);
        ev.call_later(ms(1), |_| panic!("boom in a timer"));
        ev.call_later(ms(30), |cx| {
            cx.state().push("later".into());
            Ok(())
        });
        ev.call_every(ms(10), |cx| {
            cx.state().push("every".into());
            Ok(())
        });
        let remote = ev.remote().unwrap();
        let deadline = Instant::now() + secs(5);
        while !ev.state().contains(&"later".to_string()) && Instant::now() < deadline {
            ev.poll(Some(ms(50))).unwrap();
        }
        remote.post(|_| panic!("boom in a job")).unwrap();
        remote
            .post(|cx| {
                cx.state().push("job".into());
                Ok(())
            })
            .unwrap();
        let before = ev.state().iter().filter(|l| *l == "every").count();
        let deadline = Instant::now() + secs(5);
        while (ev.state().iter().filter(|l| *l == "every").count() < before + 3
            || !ev.state().contains(&"job".to_string()))
            && Instant::now() < deadline
        {
            ev.poll(Some(ms(50))).unwrap();
        }
        let seen = ev.state().clone();
        assert!(seen.contains(&"later".to_string()), "{seen:?}");
        assert!(seen.contains(&"job".to_string()), "{seen:?}");
        let every = seen.iter().filter(|l| *l == "every").count();
        assert!(every >= before + 3, "the repeating timer stopped: {seen:?}");
        let lines = log.lines();
        let failed = lines.iter().filter(|l| l.contains("boom in a")).count();
        assert_eq!(failed, 2, "one log line per panic: {lines:?}");
    });
}

backend_tests!(
    panic_in_a_loop_timer_spares_the_other_timers,
    panic_closes_only_that_channel,
    panic_propagates_when_not_caught,
    panic_in_handle_error_still_closes,
    panic_mid_pass_spares_the_rest_of_the_pass,
);
