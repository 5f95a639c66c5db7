//! issue 4 §4 per-channel deadlines: idle, read and write timeouts.

use super::*;

/// issue 4 §4 deadlines: `Deadline::Idle` closes a silent connection, not
/// before the timeout: the default `handle_timeout` logs exactly one `info`
/// line naming the idle timeout, and closes (the peer sees end of stream).
fn idle_timeout_closes_silent_connection(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, ());
        let log = capture(&mut ev);
        let (sock, mut peer) = unix_pair();
        let mut cx = ev.add(Plain);
        cx.adopt(sock).unwrap();
        let set_at = Instant::now();
        cx.set_timeout(Deadline::Idle, Some(ms(50)));
        let elapsed = timed_run(&mut ev);
        assert!(set_at.elapsed() >= ms(50) && elapsed < secs(5));
        assert!(ev.is_empty());
        let lines = log.lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with("info: ") && lines[0].contains("idle timeout"),
            "{lines:?}"
        );
        assert_eq!(read_to_eof(&mut peer), b"");
    });
}

/// Notes when it last received something.
struct Reader;

impl Dispatcher<Option<Instant>> for Reader {
    fn writable(&self, _: &View<'_, Option<Instant>>) -> bool {
        false
    }
    fn handle_read(&mut self, cx: &mut Cx<'_, Option<Instant>>) -> io::Result<()> {
        if !cx.recv(4096)?.is_empty() {
            *cx.state() = Some(Instant::now());
        }
        Ok(())
    }
    fn handle_close(&mut self, cx: &mut Cx<'_, Option<Instant>>) -> io::Result<()> {
        cx.close()
    }
}

/// issue 4 §4 deadlines: activity keeps a connection open: with an idle
/// timeout of 40 ms and the peer sending a byte every 5 ms, the channel is
/// still open after 200 ms (5 idle periods); once the peer falls silent the
/// channel is closed by the idle timeout, no earlier than 40 ms after the last
/// byte arrived.
fn activity_keeps_connection_open(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, None::<Instant>);
        let log = capture(&mut ev);
        let (sock, mut peer) = unix_pair();
        let mut cx = ev.add(Reader);
        cx.adopt(sock).unwrap();
        let t = cx.token();
        cx.set_timeout(Deadline::Idle, Some(ms(40)));
        let quiet = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&quiet);
        let writer = thread::spawn(move || {
            while !stop.load(Ordering::Acquire) {
                peer.write_all(b"x").unwrap();
                thread::sleep(ms(5));
            }
            peer // kept open: silence, not end of stream
        });
        let start = Instant::now();
        while start.elapsed() < ms(200) {
            ev.run_loop(Some(ms(10)), Some(1)).unwrap();
            assert!(
                ev.contains(t),
                "closed while active, after {:?}",
                start.elapsed()
            );
        }
        quiet.store(true, Ordering::Release);
        let mut peer = writer.join().unwrap();
        let deadline = Instant::now() + secs(5);
        while ev.contains(t) {
            assert!(Instant::now() < deadline, "never timed out");
            ev.run_loop(Some(ms(10)), Some(1)).unwrap();
        }
        let closed_seen = Instant::now();
        let last_read = ev.state().expect("bytes arrived");
        assert!(
            closed_seen - last_read >= ms(40),
            "closed {:?} after the last byte",
            closed_seen - last_read
        );
        assert!(log.lines().iter().any(|l| l.contains("idle timeout")));
        let rest = read_to_eof(&mut peer);
        assert!(rest.is_empty());
    });
}

type TimeoutLog = Vec<(u8, Deadline, Instant)>;

/// Records its timeouts and closes; `reads` is its `readable()`.
struct Watch {
    id: u8,
    reads: bool,
}

impl Dispatcher<TimeoutLog> for Watch {
    fn readable(&self, _: &View<'_, TimeoutLog>) -> bool {
        self.reads
    }
    fn writable(&self, _: &View<'_, TimeoutLog>) -> bool {
        false
    }
    fn handle_read(&mut self, cx: &mut Cx<'_, TimeoutLog>) -> io::Result<()> {
        cx.recv(4096)?;
        Ok(())
    }
    fn handle_timeout(&mut self, cx: &mut Cx<'_, TimeoutLog>, kind: Deadline) -> io::Result<()> {
        let id = self.id;
        cx.state().push((id, kind, Instant::now()));
        cx.close()
    }
}

/// issue 4 §4 deadlines: `Deadline::Read` (40 ms) fires for a readable channel
/// that receives nothing, no earlier than 40 ms after it was declared; a
/// channel with the same deadline that is not readable is not read-timed-out
/// (still open 150 ms later).
fn read_timeout_only_when_reading(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, TimeoutLog::new());
        let (sa, _peer_a) = unix_pair();
        let (sb, _peer_b) = unix_pair();
        let set_at = Instant::now();
        let mut cx = ev.add(Watch { id: 1, reads: true });
        cx.adopt(sa).unwrap();
        cx.set_timeout(Deadline::Read, Some(ms(40)));
        let a = cx.token();
        let mut cx = ev.add(Watch {
            id: 2,
            reads: false,
        });
        cx.adopt(sb).unwrap();
        cx.set_timeout(Deadline::Read, Some(ms(40)));
        let bt = cx.token();
        run_until(&mut ev, |ev| !ev.contains(a));
        let until = Instant::now() + ms(150);
        while Instant::now() < until {
            ev.run_loop(Some(ms(10)), Some(1)).unwrap();
        }
        let log = ev.state();
        assert_eq!(log.len(), 1, "{log:?}");
        assert_eq!((log[0].0, log[0].1), (1, Deadline::Read));
        assert!(log[0].2 - set_at >= ms(40));
        assert!(ev.contains(bt), "not reading: no read timeout");
    });
}

/// `Deadline::Read` counts from when the channel began waiting to read: a
/// channel that was not readable for 250 ms, then is, with nothing
/// arriving, is read-timed-out no sooner than the 100 ms deadline after
/// that (it fired 0 to 100 ms after, counted from its last read before the
/// pause, as libevent's timeouts do not).
fn read_timeout_counts_from_when_reading_began(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, TimeoutLog::new());
        let (sock, _peer) = unix_pair();
        let mut cx = ev.add(Watch {
            id: 1,
            reads: false,
        });
        cx.adopt(sock).unwrap();
        cx.set_timeout(Deadline::Read, Some(ms(100)));
        let t = cx.token();
        // Half-way between two of the deadline's checks (every 100 ms while
        // not reading), where counting from the last read fires soonest.
        let until = Instant::now() + ms(250);
        while Instant::now() < until {
            ev.run_loop(Some(ms(10)), Some(1)).unwrap();
        }
        assert!(ev.state().is_empty(), "not reading: no read timeout");
        let began = Instant::now();
        ev.with(t, |w: &mut Watch, _| w.reads = true).unwrap();
        run_until(&mut ev, |ev| !ev.contains(t));
        let log = ev.state();
        assert_eq!(log.len(), 1, "{log:?}");
        assert_eq!(log[0].1, Deadline::Read);
        let after = log[0].2 - began;
        assert!(
            after >= ms(100),
            "read-timed-out {after:?} after reading began"
        );
    });
}

/// Wants to write when `writes` says so; its socket is full, so it never
/// can. Records its timeouts and closes.
struct Stalled {
    writes: bool,
}

impl Dispatcher<TimeoutLog> for Stalled {
    fn readable(&self, _: &View<'_, TimeoutLog>) -> bool {
        false
    }
    fn writable(&self, _: &View<'_, TimeoutLog>) -> bool {
        self.writes
    }
    fn handle_timeout(&mut self, cx: &mut Cx<'_, TimeoutLog>, kind: Deadline) -> io::Result<()> {
        cx.state().push((2, kind, Instant::now()));
        cx.close()
    }
}

/// `Deadline::Write` likewise counts from when the channel began wanting
/// to write: one that did not for 250 ms, then does, on a socket that takes
/// nothing, is write-timed-out no sooner than its 100 ms deadline after.
fn write_timeout_counts_from_when_writing_began(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, TimeoutLog::new());
        let (sock, _peer) = unix_pair();
        sock.set_nonblocking(true).unwrap();
        while sock.send(&[0u8; 65536]).is_ok() {} // full: nothing more goes
        let mut cx = ev.add(Stalled { writes: false });
        cx.adopt(sock).unwrap();
        cx.set_timeout(Deadline::Write, Some(ms(100)));
        let t = cx.token();
        let until = Instant::now() + ms(250);
        while Instant::now() < until {
            ev.run_loop(Some(ms(10)), Some(1)).unwrap();
        }
        assert!(ev.state().is_empty(), "not writing: no write timeout");
        let began = Instant::now();
        ev.with(t, |s: &mut Stalled, _| s.writes = true).unwrap();
        run_until(&mut ev, |ev| !ev.contains(t));
        let log = ev.state();
        assert_eq!(log.len(), 1, "{log:?}");
        assert_eq!(log[0].1, Deadline::Write);
        let after = log[0].2 - began;
        assert!(
            after >= ms(100),
            "write-timed-out {after:?} after writing began"
        );
    });
}

/// Declaring a longer deadline after a shorter one does not delay the
/// shorter: a read deadline of 30 ms, then an idle one of 400 ms, on a
/// silent connection: the read deadline fires first, well before 400 ms.
fn a_later_longer_deadline_keeps_the_shorter(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, TimeoutLog::new());
        let (sock, _peer) = unix_pair();
        let set_at = Instant::now();
        let mut cx = ev.add(Watch { id: 1, reads: true });
        cx.adopt(sock).unwrap();
        cx.set_timeout(Deadline::Read, Some(ms(30)));
        cx.set_timeout(Deadline::Idle, Some(ms(400)));
        let t = cx.token();
        run_until(&mut ev, |ev| !ev.contains(t));
        let log = ev.state();
        assert_eq!(log.len(), 1, "{log:?}");
        assert_eq!(log[0].1, Deadline::Read, "{log:?}");
        let after = log[0].2 - set_at;
        assert!(after >= ms(30) && after < ms(400), "after {after:?}");
    });
}

/// Reads like `Watch`, and stays open at end of stream (as a handler still
/// answering would).
struct StaysAfterEof(Watch);

impl Dispatcher<TimeoutLog> for StaysAfterEof {
    fn readable(&self, view: &View<'_, TimeoutLog>) -> bool {
        self.0.readable(view)
    }
    fn writable(&self, _: &View<'_, TimeoutLog>) -> bool {
        false
    }
    fn handle_read(&mut self, cx: &mut Cx<'_, TimeoutLog>) -> io::Result<()> {
        self.0.handle_read(cx)
    }
    fn handle_read_eof(&mut self, _: &mut Cx<'_, TimeoutLog>) -> io::Result<()> {
        Ok(())
    }
    fn handle_timeout(&mut self, cx: &mut Cx<'_, TimeoutLog>, kind: Deadline) -> io::Result<()> {
        self.0.handle_timeout(cx, kind)
    }
}

/// After end of stream the loop no longer waits to read, so a read
/// deadline (30 ms) no longer applies, whatever `readable()` says; the idle
/// deadline (250 ms) still does.
fn read_timeout_stops_at_end_of_stream(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, TimeoutLog::new());
        let (sock, peer) = unix_pair();
        let mut cx = ev.add(StaysAfterEof(Watch { id: 1, reads: true }));
        cx.adopt(sock).unwrap();
        cx.set_timeout(Deadline::Read, Some(ms(30)));
        cx.set_timeout(Deadline::Idle, Some(ms(250)));
        let t = cx.token();
        peer.shutdown(std::net::Shutdown::Write).unwrap();
        run_until(&mut ev, |ev| !ev.contains(t));
        let log = ev.state();
        assert_eq!(log.len(), 1, "{log:?}");
        assert_eq!(log[0].1, Deadline::Idle, "{log:?}");
    });
}

#[derive(Default)]
struct WriteLog {
    progress: Option<Instant>,
    timeouts: Vec<(Deadline, Instant)>,
}

/// Queues a lot of output into a `SendBuffer`; notes when a send made progress.
struct Flood {
    out: SendBuffer,
}

impl Dispatcher<WriteLog> for Flood {
    fn readable(&self, _: &View<'_, WriteLog>) -> bool {
        false
    }
    fn writable(&self, ch: &View<'_, WriteLog>) -> bool {
        self.out.writable(ch)
    }
    fn handle_write(&mut self, cx: &mut Cx<'_, WriteLog>) -> io::Result<()> {
        let before = self.out.len();
        self.out.initiate_send(cx)?;
        if self.out.len() < before {
            cx.state().progress = Some(Instant::now());
        }
        Ok(())
    }
    fn handle_timeout(&mut self, cx: &mut Cx<'_, WriteLog>, kind: Deadline) -> io::Result<()> {
        cx.state().timeouts.push((kind, Instant::now()));
        cx.close()
    }
}

/// issue 4 §4 deadlines: `Deadline::Write` (50 ms) fires when output cannot
/// drain: a `SendBuffer` holding 8 MiB for a peer that never reads fills the
/// socket buffer, sends stop making progress, and the write timeout fires no
/// earlier than 50 ms after the last progress. A channel with the same
/// deadline and nothing to send (not writable) is not write-timed-out.
fn write_timeout_when_output_stalls(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, WriteLog::default());
        let (sock, _peer) = unix_pair();
        let mut cx = ev.add(Flood {
            out: SendBuffer::new(),
        });
        cx.adopt(sock).unwrap();
        cx.set_timeout(Deadline::Write, Some(ms(50)));
        let flood = cx.token();
        let data = vec![7u8; 8 << 20];
        // `send` writes what the socket takes at once (the loop notes that
        // progress inside it); when that fills the socket buffer, no later
        // `handle_write` makes progress, and this is the last progress.
        let first_send = Instant::now();
        ev.with(flood, |f: &mut Flood, cx| f.out.send(cx, &data))
            .unwrap()
            .unwrap();
        let (sock, _idle_peer) = unix_pair();
        let mut cx = ev.add(Flood {
            out: SendBuffer::new(),
        });
        cx.adopt(sock).unwrap();
        cx.set_timeout(Deadline::Write, Some(ms(50)));
        let idle = cx.token();
        run_until(&mut ev, |ev| !ev.contains(flood));
        let log = ev.state();
        assert_eq!(log.timeouts.len(), 1);
        let (kind, at) = log.timeouts[0];
        assert_eq!(kind, Deadline::Write);
        let since = log.progress.unwrap_or(first_send);
        assert!(
            at - since >= ms(50),
            "{:?} after the last progress (in handle_write: {})",
            at - since,
            log.progress.is_some()
        );
        assert!(ev.contains(idle), "nothing to send: no write timeout");
    });
}

/// A client that closes and reconnects in `handle_close` (asyncore's
/// `close(); create_socket(); connect()`) keeps its idle deadline: the
/// close cancelled the deadline's timer, and the new connection arms it
/// again, its clock from the reconnect. Before, the new connection never
/// timed out.
fn a_deadline_holds_for_the_connection_after_a_reconnect(b: Backend) {
    struct Reconnects {
        next: Option<Socket>,
        timeouts: Rc<Cell<u32>>,
        reconnected: Rc<Cell<Option<Instant>>>,
    }
    impl Dispatcher for Reconnects {
        fn writable(&self, _: &View<'_>) -> bool {
            false
        }
        fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
            cx.recv(4096).map(drop)
        }
        fn handle_close(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
            cx.close()?;
            match self.next.take() {
                Some(sock) => {
                    self.reconnected.set(Some(Instant::now()));
                    cx.set_socket(sock)
                }
                None => Ok(()),
            }
        }
        fn handle_timeout(&mut self, cx: &mut Cx<'_>, _: Deadline) -> io::Result<()> {
            self.timeouts.set(self.timeouts.get() + 1);
            cx.close()
        }
    }
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, ());
        let (first, first_peer) = unix_pair();
        let (second, _second_peer) = unix_pair();
        let (timeouts, reconnected) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(None)));
        let mut cx = ev.add(Reconnects {
            next: Some(second),
            timeouts: Rc::clone(&timeouts),
            reconnected: Rc::clone(&reconnected),
        });
        cx.adopt(first).unwrap();
        cx.set_timeout(Deadline::Idle, Some(ms(300)));
        drop(first_peer);
        let elapsed = timed_run(&mut ev);
        assert!(elapsed < secs(5), "the loop ran {elapsed:?}");
        assert_eq!(timeouts.get(), 1, "the new connection timed out");
        let at = reconnected.get().expect("reconnected");
        assert!(
            at.elapsed() >= ms(300),
            "timed out {:?} after the reconnect",
            at.elapsed()
        );
    });
}

backend_tests!(
    a_deadline_holds_for_the_connection_after_a_reconnect,
    read_timeout_counts_from_when_reading_began,
    write_timeout_counts_from_when_writing_began,
    idle_timeout_closes_silent_connection,
    activity_keeps_connection_open,
    read_timeout_only_when_reading,
    read_timeout_stops_at_end_of_stream,
    a_later_longer_deadline_keeps_the_shorter,
    write_timeout_when_output_stalls,
);
