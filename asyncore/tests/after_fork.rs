//! A loop used on both sides of `fork()`, on every backend: the child gets
//! kernel objects of its own (the epoll instance, the remote's waker, the
//! signal pipe), so neither process is woken by the other's readiness or
//! takes the other's wake-ups and signals. Each test runs in a child process
//! of the test binary (it forks, and signal dispositions are process-wide).

#[macro_use]
mod util;

use asyncore_loop::{Backend, Cx, Dispatcher, EventLoop};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};
use util::{
    case, echo::echo_server, event_loop, fd_limit, in_child, limit_leaving_free, ms, secs,
    set_fd_limit, tcp_pair,
};

/// Runs `body` in a forked process, which then exits: 0 if `body` returned,
/// 101 if it panicked. Returns the child's pid.
fn forked(body: impl FnOnce()) -> libc::pid_t {
    // SAFETY: the process is a test child (`in_child`) whose other thread
    // only waits; the forked child runs `body` and leaves with `_exit`,
    // never returning into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let ok = std::panic::catch_unwind(AssertUnwindSafe(body)).is_ok();
        // SAFETY: ends the forked child without running the harness's exit.
        unsafe { libc::_exit(if ok { 0 } else { 101 }) }
    }
    pid
}

/// The forked child's exit code; it is killed after `limit`.
fn exit_code(pid: libc::pid_t, limit: Duration) -> i32 {
    let deadline = Instant::now() + limit;
    loop {
        let mut status = 0;
        // SAFETY: waits for our own child; `status` is a live i32.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        assert!(rc >= 0, "waitpid: {}", std::io::Error::last_os_error());
        if rc == pid {
            assert!(libc::WIFEXITED(status), "the child died: status {status}");
            return libc::WEXITSTATUS(status);
        }
        if Instant::now() > deadline {
            // SAFETY: kills and reaps our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            panic!("the forked child did not finish within {limit:?}");
        }
        std::thread::sleep(ms(10));
    }
}

/// Passes the loop makes in `span` (each waits at most 200 ms).
fn passes_in<S: 'static>(ev: &mut EventLoop<S>, span: Duration) -> u32 {
    let end = Instant::now() + span;
    let mut passes = 0;
    while Instant::now() < end {
        ev.poll(Some(ms(200))).unwrap();
        passes += 1;
    }
    passes
}

/// The parent's side while a forked `child` checks that it is not woken:
/// the parent registers a channel with data waiting and posts a remote job,
/// and runs no pass until the child is done; then its own loop still has
/// both (the job runs).
fn busy_parent_while(
    ev: &mut EventLoop<u32>,
    remote: &asyncore_loop::Remote<u32>,
    child: libc::pid_t,
) {
    let (busy, mut busy_peer) = tcp_pair();
    ev.add(Unread).adopt(busy).unwrap();
    ev.poll(Some(Duration::ZERO)).unwrap(); // registered, nothing to read yet
    busy_peer.write_all(b"for the parent").unwrap();
    remote
        .post(|cx| {
            *cx.state() += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(exit_code(child, secs(10)), 0, "the child's check failed");
    ev.poll(Some(secs(1))).unwrap();
    assert_eq!(*ev.state(), 1);
}

/// A channel that is readable but never reads: its readiness stays.
struct Unread;

impl<S: 'static> Dispatcher<S> for Unread {
    fn writable(&self, _: &asyncore_loop::View<'_, S>) -> bool {
        false
    }
    fn handle_read(&mut self, _: &mut Cx<'_, S>) -> std::io::Result<()> {
        Ok(())
    }
}

/// After the fork, the parent registers a channel with data waiting and
/// posts a remote job, and runs no pass: the child, with nothing of its own
/// to do, must wait instead of waking for the parent's descriptors.
fn child_is_not_woken_by_the_parent(b: Backend) {
    in_child(&case("child_is_not_woken_by_the_parent", b), || {
        let mut ev = event_loop(b, 0u32);
        let remote = ev.remote().unwrap();
        ev.on_signal(libc::SIGUSR2, |_| Ok(())).unwrap();
        let (idle, _idle_peer) = tcp_pair();
        ev.add(Unread).adopt(idle).unwrap();
        ev.poll(Some(Duration::ZERO)).unwrap(); // the kernel objects exist now

        let child = forked(|| {
            std::thread::sleep(ms(200)); // the parent sets up meanwhile
            let passes = passes_in(&mut ev, secs(1));
            assert!(passes <= 10, "the child spun: {passes} passes in 1 s");
        });

        busy_parent_while(&mut ev, &remote, child);
    });
}

/// A signal sent to the parent after the fork reaches the parent's
/// callback, although the child loops meanwhile and the parent does not.
fn parent_keeps_its_signals(b: Backend) {
    in_child(&case("parent_keeps_its_signals", b), || {
        let mut ev = event_loop(b, false);
        ev.on_signal(libc::SIGUSR1, |cx| {
            *cx.state() = true;
            Ok(())
        })
        .unwrap();
        ev.call_later(secs(3600), |_| Ok(())); // keeps the loop alive
        ev.poll(Some(Duration::ZERO)).unwrap();

        let child = forked(|| {
            passes_in(&mut ev, ms(1500));
            assert!(!*ev.state(), "the child ran the parent's signal callback");
        });

        std::thread::sleep(ms(300)); // the child is looping
                                     // SAFETY: raising a signal this process has a handler for.
        assert_eq!(unsafe { libc::raise(libc::SIGUSR1) }, 0);
        std::thread::sleep(ms(500)); // the child had its chance to take it
        let end = Instant::now() + secs(3);
        while !*ev.state() && Instant::now() < end {
            ev.poll(Some(ms(100))).unwrap();
        }
        assert!(*ev.state(), "the parent's signal callback did not run");
        assert_eq!(exit_code(child, secs(10)), 0, "the child's check failed");
    });
}

/// The renewal in the child needs new descriptors. When there is none to
/// spare, the pass fails with the error, and the next pass tries again:
/// the child then has its own kernel objects (the parent's wake-ups do not
/// reach it) and its own remote works.
fn a_failed_renewal_is_tried_again(b: Backend) {
    in_child(&case("a_failed_renewal_is_tried_again", b), || {
        let mut ev = event_loop(b, 0u32);
        let remote = ev.remote().unwrap();
        ev.on_signal(libc::SIGUSR2, |_| Ok(())).unwrap();
        let (idle, _idle_peer) = tcp_pair();
        ev.add(Unread).adopt(idle).unwrap();
        ev.poll(Some(Duration::ZERO)).unwrap();

        let child = forked(|| {
            let saved = fd_limit();
            set_fd_limit(limit_leaving_free(0)); // no descriptor to spare
            let failed = ev.poll(Some(Duration::ZERO));
            set_fd_limit(saved);
            let e = failed.expect_err("the renewal had no descriptor to spare");
            assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");

            std::thread::sleep(ms(200)); // the parent sets up meanwhile
            let passes = passes_in(&mut ev, secs(1));
            assert!(passes <= 10, "the child spun: {passes} passes in 1 s");
            remote
                .post(|cx| {
                    *cx.state() += 10;
                    Ok(())
                })
                .unwrap();
            let end = Instant::now() + secs(3);
            while *ev.state() != 10 && Instant::now() < end {
                ev.poll(Some(ms(100))).unwrap();
            }
            assert_eq!(*ev.state(), 10, "the child's own remote job did not run");
        });

        busy_parent_while(&mut ev, &remote, child);
    });
}

/// A prefork echo server: the parent answers one client, forks, and both
/// processes then serve the same listener. Every client gets its echo: from
/// the child while the parent does not poll, from either while both do, and
/// from the parent once the child has exited.
fn both_processes_serve_after_fork(b: Backend) {
    in_child(&case("both_processes_serve_after_fork", b), || {
        let (mut ev, _, addr, _) = echo_server(b, 1 << 20);
        let ask = move |tag: usize| {
            let mut c = TcpStream::connect(addr).unwrap();
            c.set_read_timeout(Some(secs(5))).unwrap();
            let line = format!("client {tag}\n");
            c.write_all(line.as_bytes()).unwrap();
            let mut back = vec![0; line.len()];
            c.read_exact(&mut back).unwrap();
            assert_eq!(back, line.as_bytes());
        };
        let warm = std::thread::spawn(move || ask(0));
        while !warm.is_finished() {
            ev.poll(Some(ms(50))).unwrap();
        }
        warm.join().unwrap();

        let child = forked(|| {
            passes_in(&mut ev, secs(3));
        });
        let spawn = |tags: std::ops::RangeInclusive<usize>| -> Vec<_> {
            tags.map(|i| std::thread::spawn(move || ask(i))).collect()
        };
        // The parent does not poll: only the child can answer these.
        for c in spawn(1..=5) {
            c.join().expect("the child did not serve");
        }
        let serve = |ev: &mut EventLoop<()>, clients: Vec<std::thread::JoinHandle<()>>| {
            let end = Instant::now() + secs(10);
            while clients.iter().any(|c| !c.is_finished()) && Instant::now() < end {
                ev.poll(Some(ms(50))).unwrap();
            }
            for c in clients {
                c.join().expect("a client failed");
            }
        };
        // Both poll: either may answer.
        serve(&mut ev, spawn(6..=25));
        assert_eq!(exit_code(child, secs(10)), 0);
        // The child is gone: the parent alone answers.
        serve(&mut ev, spawn(26..=30));
    });
}

backend_tests!(
    child_is_not_woken_by_the_parent,
    parent_keeps_its_signals,
    a_failed_renewal_is_tried_again,
    both_processes_serve_after_fork,
);
