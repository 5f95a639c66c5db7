//! issue 4 §2 `Remote`: posting to the loop from other threads, stop and graceful shutdown from outside, a `Remote` outliving its loop.

use super::*;

// issue 4 §2 Remote: `Send + Sync + Clone`, whatever the loop's state type
// (even one that is neither Send nor Sync), checked at compile time.
const _: fn() = || {
    fn send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    send_sync_clone::<Remote>();
    send_sync_clone::<Remote<Vec<u8>>>();
    send_sync_clone::<Remote<Rc<RefCell<u8>>>>();
};

const THREADS: usize = 4;
const POSTS: usize = 2_500;
/// The 4 × 2,500 posts are repeated, to give a racing wake-up many chances.
const ROUNDS: usize = 10;

struct Posts {
    loop_thread: ThreadId,
    runs: Vec<u32>,
    total: usize,
    off_thread: usize,
    late: Option<Instant>,
}

/// issue 4 §2 Remote: 4 threads × 2,500 posts, each through its own clone
/// (ten rounds): every job runs exactly once, on the loop thread. The loop waits with a
/// long timeout (`run()`: 30 s per pass) and only a 1-hour timer keeping it
/// alive, so a lost wake-up would stall it: the last job stops the loop.
/// Then, with the loop waiting with no timeout at all, a single late post is
/// processed promptly (wake-ups coalesce, but none is lost).
fn remote_posts_from_threads(b: Backend) {
    util::bounded(secs(20), move || {
        let mut ev = event_loop(
            b,
            Posts {
                loop_thread: thread::current().id(),
                runs: Vec::new(),
                total: 0,
                off_thread: 0,
                late: None,
            },
        );
        keep_alive(&mut ev);
        let remote = ev.remote().unwrap();
        for _round in 0..ROUNDS {
            let st = ev.state_mut();
            st.runs = vec![0; THREADS * POSTS];
            st.total = 0;
            let posters: Vec<_> = (0..THREADS)
                .map(|t| {
                    let remote = remote.clone();
                    thread::spawn(move || {
                        for i in 0..POSTS {
                            let k = t * POSTS + i;
                            remote
                                .post(move |cx| {
                                    let st = cx.state();
                                    if thread::current().id() != st.loop_thread {
                                        st.off_thread += 1;
                                    }
                                    st.runs[k] += 1;
                                    st.total += 1;
                                    if st.total == THREADS * POSTS {
                                        cx.stop();
                                    }
                                    Ok(())
                                })
                                .unwrap();
                        }
                    })
                })
                .collect();
            timed_run(&mut ev);
            for p in posters {
                p.join().unwrap();
            }
            let st = ev.state();
            assert_eq!(st.total, THREADS * POSTS);
            assert_eq!(st.off_thread, 0, "every job ran on the loop thread");
            assert!(
                st.runs.iter().all(|&n| n == 1),
                "every job ran exactly once"
            );
        }

        // A single late post wakes a loop waiting without a timeout.
        let late = remote.clone();
        let poster = thread::spawn(move || {
            thread::sleep(ms(30));
            let posted = Instant::now();
            late.post(|cx| {
                cx.state().late = Some(Instant::now());
                cx.stop();
                Ok(())
            })
            .unwrap();
            posted
        });
        ev.run_loop(None, None).unwrap();
        let posted = poster.join().unwrap();
        let latency = ev.state().late.expect("the late job ran") - posted;
        assert!(latency < secs(1), "late post waited {latency:?}");
    });
}

/// issue 4 §2 Remote: `Remote::stop` from another thread ends `run()` with
/// `Ok`, leaving the channels (and timers) as they are; `Remote::wake` alone
/// does not stop it.
fn remote_stop_ends_run(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, ());
        let quiet = add_quiet(&mut ev);
        let timer = keep_alive(&mut ev);
        let remote = ev.remote().unwrap();
        let t = thread::spawn(move || {
            thread::sleep(ms(20));
            remote.wake().unwrap();
            thread::sleep(ms(20));
            // Taken before the stop: `run` cannot have ended on it earlier.
            let stopping = Instant::now();
            remote.stop().unwrap();
            stopping
        });
        ev.run().expect("run failed");
        let returned = Instant::now();
        let stopping = t.join().unwrap();
        assert!(returned >= stopping, "the wake alone did not stop it");
        assert!(ev.contains(quiet), "channels are left as they are");
        assert!(ev.cancel_timer(timer), "timers too");
    });
}

/// issue 4 §2 Remote: `Remote::shutdown(grace)` from another thread starts a
/// graceful shutdown: the listener closes (connects are refused), a plain
/// channel closes (its peer sees end of stream), and `run()` returns `Ok`
/// with the map empty, before the grace period, although a timer is armed.
fn remote_shutdown_is_graceful(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, ());
        let (_listener, addr) = listen(&mut ev, Quiet);
        let (sock, mut peer) = unix_pair();
        ev.add(Plain).adopt(sock).unwrap();
        keep_alive(&mut ev);
        let remote = ev.remote().unwrap();
        let t = thread::spawn(move || {
            thread::sleep(ms(20));
            remote.shutdown(secs(5)).unwrap();
        });
        let elapsed = timed_run(&mut ev);
        t.join().unwrap();
        assert!(ev.is_empty());
        assert!(elapsed < secs(5), "{elapsed:?}");
        assert_eq!(read_to_eof(&mut peer), b"");
        let err = connect(&addr).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    });
}

/// issue 4 §2 Remote (and §5 shutdown): requests that reach the loop before
/// it waits take effect in that pass, not after a wait: a posted job that
/// calls `cx.stop()`, a `Remote::stop`, and a `Remote::shutdown(5 s)`, each
/// made before `run()`, with a 1-hour timer armed and `run()`'s 30 s wait:
/// `run()` returns within a second each time (and the shutdown is the
/// graceful one, not the close at its deadline 5 s later).
fn remote_requests_before_run_take_effect_at_once(b: Backend) {
    util::bounded(secs(60), move || {
        let mut ev = event_loop(b, 0u32);
        let quiet = add_quiet(&mut ev);
        keep_alive(&mut ev);
        let remote = ev.remote().unwrap();
        remote
            .post(|cx| {
                *cx.state() += 1;
                cx.stop();
                Ok(())
            })
            .unwrap();
        let elapsed = timed_run(&mut ev);
        assert_eq!(*ev.state(), 1);
        assert!(elapsed < secs(1), "a job's stop waited {elapsed:?}");

        remote.stop().unwrap();
        let elapsed = timed_run(&mut ev);
        assert!(elapsed < secs(1), "Remote::stop waited {elapsed:?}");
        assert!(ev.contains(quiet));

        remote.shutdown(secs(5)).unwrap();
        let elapsed = timed_run(&mut ev);
        assert!(ev.is_empty());
        assert!(elapsed < secs(1), "the shutdown began after {elapsed:?}");
    });
}

/// issue 4 §2 Remote: once the loop is dropped, `post` and `wake` return an
/// error, and so do `stop` and `shutdown` (`BrokenPipe`, no panic).
fn remote_after_loop_dropped(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, ());
        let remote = ev.remote().unwrap();
        let clone = remote.clone();
        remote.post(|_| Ok(())).unwrap();
        drop(ev);
        let err = remote.post(|_| Ok(())).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
        assert!(clone.post(|_| Ok(())).is_err());
        assert!(clone.wake().is_err());
        let err = clone.stop().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
        let err = clone.shutdown(secs(1)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
    });
}

backend_tests!(
    remote_posts_from_threads,
    remote_stop_ends_run,
    remote_shutdown_is_graceful,
    remote_requests_before_run_take_effect_at_once,
    remote_after_loop_dropped,
);
