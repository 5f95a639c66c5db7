//! issue 4 §3 signals: callbacks on the loop thread, SIGTERM starting a graceful shutdown (each in a child process).

use super::*;

fn raise(signal: i32) {
    // SAFETY: raising a signal the loop has a handler for.
    assert_eq!(unsafe { libc::raise(signal) }, 0);
}

fn kill_self(signal: i32) {
    // SAFETY: sending a handled signal to this process.
    assert_eq!(unsafe { libc::kill(libc::getpid(), signal) }, 0);
}

/// issue 4 §3 signals: `on_signal(SIGUSR1, f)`, then SIGUSR1 raised during
/// `run()`, once on the loop thread (from a timer callback) and once sent to
/// the process from another thread: each time `f` runs on the loop thread,
/// inside `run()` (it stops the loop; a 1-hour timer keeps it alive until
/// then). SIGKILL and SIGSTOP cannot be handled: `on_signal` is an error.
/// In a child process (signal dispositions are process-wide).
fn signal_callback_runs_on_loop_thread(b: Backend) {
    in_child(
        &case_in(module_path!(), "signal_callback_runs_on_loop_thread", b),
        || {
            util::bounded(secs(10), move || {
                let mut ev = event_loop(b, Vec::<ThreadId>::new());
                assert!(ev.on_signal(libc::SIGKILL, |_| Ok(())).is_err());
                assert!(ev.on_signal(libc::SIGSTOP, |_| Ok(())).is_err());
                ev.on_signal(libc::SIGUSR1, |cx| {
                    cx.state().push(thread::current().id());
                    cx.stop();
                    Ok(())
                })
                .unwrap();
                keep_alive(&mut ev);
                let me = thread::current().id();

                ev.call_later(ms(10), |_| {
                    raise(libc::SIGUSR1);
                    Ok(())
                });
                timed_run(&mut ev);
                assert_eq!(ev.state(), &[me]);

                let t = thread::spawn(|| {
                    thread::sleep(ms(20));
                    kill_self(libc::SIGUSR1);
                });
                timed_run(&mut ev);
                t.join().unwrap();
                assert_eq!(ev.state(), &[me, me]);
            });
        },
    );
}

/// issue 4 §3 signals + §5 shutdown: SIGTERM whose callback calls
/// `cx.shutdown(grace)`: `run()` returns `Ok` once the listener and the plain
/// channel have closed (well before the grace period, although a 1-hour
/// timer is armed), and the process is still alive. In a child process.
fn sigterm_starts_graceful_shutdown(b: Backend) {
    in_child(
        &case_in(module_path!(), "sigterm_starts_graceful_shutdown", b),
        || {
            util::bounded(secs(10), move || {
                let mut ev = event_loop(b, 0u32);
                ev.on_signal(libc::SIGTERM, |cx| {
                    *cx.state() += 1;
                    cx.shutdown(secs(5));
                    Ok(())
                })
                .unwrap();
                let (_listener, addr) = listen(&mut ev, Quiet);
                let (sock, mut peer) = unix_pair();
                ev.add(Plain).adopt(sock).unwrap();
                keep_alive(&mut ev);
                let t = thread::spawn(|| {
                    thread::sleep(ms(20));
                    kill_self(libc::SIGTERM);
                });
                let elapsed = timed_run(&mut ev);
                t.join().unwrap();
                assert_eq!(*ev.state(), 1);
                assert!(ev.is_empty());
                assert!(elapsed >= ms(20) && elapsed < secs(5), "{elapsed:?}");
                assert_eq!(read_to_eof(&mut peer), b"");
                assert!(connect(&addr).is_err(), "the listener is closed");
            });
        },
    );
}

backend_tests!(
    signal_callback_runs_on_loop_thread,
    sigterm_starts_graceful_shutdown,
);
