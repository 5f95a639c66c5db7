//! End of stream distinct from close (`handle_read_eof`) and flush-then-close
//! (`SendBuffer::close_when_done`, `Chat::close_when_done` at end of stream):
//! a peer that half-closes its connection still gets everything it is owed.
//! Every case runs on every backend over loopback TCP, bounded in time.

#[macro_use]
mod util;

use asyncore_loop::chat::{AsyncChat, Chat, ChatHandler};
use asyncore_loop::{Backend, Cx, Dispatcher, EventLoop, SendBuffer, Token, View};
use std::cell::Cell;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::rc::Rc;
use std::time::Duration;
use util::echo::{Accept, Echo, EchoStats};
use util::{bounded, pattern, secs};

/// The exact scenario: 20 MiB.
const TWENTY_MIB: usize = 20 * 1024 * 1024;

/// Serves one connection with `make()` on backend `b` while `client` runs
/// on its own thread against the address; returns what `client` returned
/// once the loop has emptied (every channel closed).
fn serve_one<D, R>(
    b: Backend,
    make: impl FnMut() -> D + 'static,
    client: impl FnOnce(std::net::SocketAddr) -> R + Send + 'static,
) -> R
where
    D: Dispatcher,
    R: Send + 'static,
{
    let mut ev = EventLoop::new().with_backend(b);
    let addr = util::listen_local(&mut ev.add(Accept { make, once: true }), 5);
    let peer = std::thread::spawn(move || client(addr));
    ev.run_loop(Some(Duration::from_millis(50)), None).unwrap();
    assert!(ev.is_empty());
    peer.join().unwrap()
}

fn connect(addr: std::net::SocketAddr) -> TcpStream {
    let c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(secs(20))).unwrap();
    c.set_write_timeout(Some(secs(20))).unwrap();
    c
}

fn echo(high_water: usize, stats: &Rc<EchoStats>) -> impl FnMut() -> Echo {
    let stats = Rc::clone(stats);
    move || Echo::new(high_water, &stats)
}

/// The client sends 20 MiB, shuts down its write side, and only then reads:
/// every byte comes back, in order, then end of stream. (The server may
/// queue it all: this client cannot be served otherwise.)
fn half_close_after_20_mib_gets_every_byte_back(b: Backend) {
    let got = bounded(secs(60), move || {
        let stats = Rc::new(EchoStats::default());
        let got = serve_one(b, echo(usize::MAX, &stats), |addr| {
            let mut c = connect(addr);
            c.write_all(&pattern(TWENTY_MIB, 15)).unwrap();
            c.shutdown(Shutdown::Write).unwrap();
            let mut got = Vec::new();
            c.read_to_end(&mut got).unwrap();
            got
        });
        assert_eq!(
            stats.closes.get(),
            0,
            "closed by the flush, not by handle_close"
        );
        got
    });
    assert_eq!(got.len(), 20_971_520);
    assert!(got == pattern(TWENTY_MIB, 15), "bytes changed or reordered");
}

/// With back-pressure (256 KiB), a client that reads while it sends and
/// half-closes after its last byte gets all 20 MiB back, and the server
/// never queued more than the mark plus one read.
fn half_close_under_back_pressure_loses_nothing(b: Backend) {
    let (got, peak) = bounded(secs(60), move || {
        let stats = Rc::new(EchoStats::default());
        let got = serve_one(b, echo(256 << 10, &stats), |addr| {
            let mut c = connect(addr);
            let mut w = c.try_clone().unwrap();
            let writer = std::thread::spawn(move || {
                w.write_all(&pattern(TWENTY_MIB, 16)).unwrap();
                w.shutdown(Shutdown::Write).unwrap();
            });
            let mut got = Vec::new();
            c.read_to_end(&mut got).unwrap();
            writer.join().unwrap();
            got
        });
        (got, stats.peak.get())
    });
    assert_eq!(got.len(), 20_971_520);
    assert!(got == pattern(TWENTY_MIB, 16), "bytes changed or reordered");
    assert!(peak <= (256 << 10) + 65536, "queued {peak} bytes");
}

/// A dispatcher that does not override `handle_read_eof` keeps asyncore's
/// behaviour: end of stream is `handle_close`, once.
fn without_the_hook_end_of_stream_is_handle_close(b: Backend) {
    struct Plain(Rc<Cell<u32>>);
    impl Dispatcher for Plain {
        fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
            cx.recv(4096).map(drop)
        }
        fn writable(&self, _: &View<'_>) -> bool {
            false
        }
        fn handle_close(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
            self.0.set(self.0.get() + 1);
            cx.close()
        }
    }
    let closes = bounded(secs(10), move || {
        let closes = Rc::new(Cell::new(0));
        let c2 = Rc::clone(&closes);
        serve_one(
            b,
            move || Plain(Rc::clone(&c2)),
            |addr| {
                let mut c = connect(addr);
                c.write_all(b"bye").unwrap();
                c.shutdown(Shutdown::Write).unwrap();
                let mut rest = Vec::new();
                c.read_to_end(&mut rest).unwrap();
            },
        );
        closes.get()
    });
    assert_eq!(closes, 1);
}

/// After end of stream the loop stops reporting read readiness (which would
/// only repeat the end of stream): a handler that keeps the channel open
/// sees one `handle_read_eof` and no spin of reads; writing still works.
fn after_end_of_stream_reads_stop_and_writes_go_on(b: Backend) {
    #[derive(Default)]
    struct Late {
        reads_after_eof: u32,
        eofs: u32,
        out: SendBuffer,
    }
    impl Dispatcher for Late {
        fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
            if cx.read_eof() {
                self.reads_after_eof += 1;
            }
            cx.recv(4096).map(drop)
        }
        fn writable(&self, ch: &View<'_>) -> bool {
            self.out.writable(ch)
        }
        fn handle_write(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
            self.out.initiate_send(cx)
        }
        fn handle_read_eof(&mut self, _cx: &mut Cx<'_>) -> io::Result<()> {
            self.eofs += 1;
            Ok(())
        }
    }
    bounded(secs(10), move || {
        let (sock, mut peer) = util::tcp_pair();
        let mut ev = EventLoop::new().with_backend(b);
        let t = ev.add(Late::default()).adopt(sock).unwrap();
        peer.shutdown(Shutdown::Write).unwrap();
        for _ in 0..50 {
            ev.run_loop(Some(Duration::from_millis(2)), Some(1))
                .unwrap();
        }
        ev.with(t, |d: &mut Late, cx| {
            assert!(cx.read_eof());
            assert_eq!((d.eofs, d.reads_after_eof), (1, 0));
            d.out.send(cx, b"still here").unwrap();
            d.out.close_when_done(cx).unwrap();
        });
        util::run_until_empty(&mut ev);
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"still here");
    });
}

/// `close_when_done` before the peer is done: the queued bytes go out, the
/// write side is shut down (the peer reads end of stream after the last
/// byte), and the channel closes once the peer closes too.
fn close_when_done_shuts_down_writing_then_closes_at_the_peers_end(b: Backend) {
    struct Goodbye {
        out: SendBuffer,
    }
    impl Dispatcher for Goodbye {
        fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
            cx.recv(4096).map(drop)
        }
        fn writable(&self, ch: &View<'_>) -> bool {
            self.out.writable(ch)
        }
        fn handle_write(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
            self.out.initiate_send(cx)
        }
        fn handle_close(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
            cx.close()
        }
    }
    bounded(secs(20), move || {
        let body = pattern(3 << 20, 9);
        let expect = body.clone();
        let mut ev = EventLoop::new().with_backend(b);
        let (sock, mut peer) = util::tcp_pair();
        let t = ev
            .add(Goodbye {
                out: SendBuffer::new(),
            })
            .adopt(sock)
            .unwrap();
        ev.with(t, |d: &mut Goodbye, cx| {
            d.out.send(cx, &body).unwrap();
            d.out.close_when_done(cx).unwrap();
            assert!(d.out.closing());
        });
        // The peer reads to end of stream and says so; it closes (drops its
        // end) only when told: until then the channel stays open.
        let (read_all, got_all) = std::sync::mpsc::channel();
        let (close_now, told_to_close) = std::sync::mpsc::channel::<()>();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            peer.read_to_end(&mut got).unwrap();
            read_all.send(got).unwrap();
            told_to_close.recv().unwrap();
            drop(peer);
        });
        let got = loop {
            ev.run_loop(Some(Duration::from_millis(10)), Some(1))
                .unwrap();
            if let Ok(got) = got_all.try_recv() {
                break got;
            }
        };
        assert!(got == expect, "the bytes changed");
        // Writing is shut down, not the whole socket: the channel waits for
        // the peer's end (a close with unread input would be a reset).
        for _ in 0..5 {
            ev.run_loop(Some(Duration::from_millis(10)), Some(1))
                .unwrap();
        }
        assert!(ev.contains(t), "closed before the peer's end");
        close_now.send(()).unwrap();
        util::run_until_empty(&mut ev);
        reader.join().unwrap();
    });
}

/// A line echo on AsyncChat whose `handle_read_eof` is `close_when_done`:
/// a client that sends every line, half-closes, then reads gets an answer
/// to every line, also through back-pressure pauses (small water marks).
fn chat_close_when_done_at_end_of_stream_answers_every_line(b: Backend) {
    struct Lines(usize);
    impl ChatHandler for Lines {
        fn collect_incoming_data(
            &mut self,
            chat: &mut Chat<'_, '_>,
            data: &[u8],
        ) -> io::Result<()> {
            self.0 += data.len();
            chat.push(data.to_vec())
        }
        fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
            chat.push(&b"\n"[..])
        }
        fn handle_read_eof(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
            assert_eq!(self.0, 200_000, "every line was handled first");
            chat.close_when_done();
            chat.initiate_send()
        }
    }
    let lines: Vec<u8> = (0..20_000)
        .flat_map(|i| format!("line {i:05}\n").into_bytes())
        .collect();
    let sent = lines.clone();
    let got = bounded(secs(30), move || {
        let make = || {
            AsyncChat::new(Lines(0))
                .with_terminator("\n")
                .with_water_marks(4096, 1024)
        };
        serve_one(b, make, move |addr| {
            let mut c = connect(addr);
            c.write_all(&sent).unwrap();
            c.shutdown(Shutdown::Write).unwrap();
            let mut got = Vec::new();
            c.read_to_end(&mut got).unwrap();
            got
        })
    });
    assert_eq!(got.len(), lines.len());
    assert!(got == lines, "a line changed, moved or was lost");
}

/// Runs passes of at most 20 ms until `t` is closed; fails after `limit`
/// passes (a channel left open, or one that spins without closing).
fn run_until_closed(ev: &mut EventLoop, t: Token, limit: u32, what: &str) {
    let mut passes = 0;
    while ev.contains(t) {
        passes += 1;
        assert!(passes < limit, "still open after {passes} passes{what}");
        ev.run_loop(Some(Duration::from_millis(20)), Some(1))
            .unwrap();
    }
}

/// A handler that takes every `handle_close` for a half-close and keeps
/// sending (as a server finishing its answers does), while the peer is gone
/// for good (a reset). The first send error is `handle_close`; another one
/// after it closes the channel: a broken connection cannot be sent on, and
/// select has no hang-up report to end it (poll and epoll close it on
/// theirs). Before, on select, the channel stayed writable and every send
/// failed: a spin until some deadline.
fn a_broken_connection_is_closed_though_handle_close_kept_it(b: Backend) {
    struct Stubborn {
        out: SendBuffer,
        closes: Rc<Cell<u32>>,
        writes: Rc<Cell<u32>>,
    }
    impl Dispatcher for Stubborn {
        fn readable(&self, _: &View<'_>) -> bool {
            false
        }
        fn writable(&self, ch: &View<'_>) -> bool {
            self.out.writable(ch)
        }
        fn handle_write(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
            self.writes.set(self.writes.get() + 1);
            self.out.initiate_send(cx)
        }
        fn handle_close(&mut self, _cx: &mut Cx<'_>) -> io::Result<()> {
            self.closes.set(self.closes.get() + 1);
            Ok(())
        }
    }
    bounded(secs(20), move || {
        let (sock, peer) = util::tcp_pair();
        let mut ev = EventLoop::new().with_backend(b);
        let (closes, writes) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let t = ev
            .add(Stubborn {
                out: SendBuffer::new(),
                closes: Rc::clone(&closes),
                writes: Rc::clone(&writes),
            })
            .adopt(sock)
            .unwrap();
        // More than the socket buffers take, so output stays queued.
        ev.with(t, |d: &mut Stubborn, cx| {
            d.out.send(cx, &pattern(8 << 20, 3)).unwrap();
        });
        util::reset(peer);
        run_until_closed(&mut ev, t, 200, ": a spin");
        assert_eq!(closes.get(), 1, "handle_close once");
        assert!(writes.get() <= 3, "{} write events", writes.get());
    });
}

/// The same with a handler that only reads: after the reset's error its
/// `handle_close` keeps the channel, and the next receive sees end of
/// stream, which on a broken connection closes it (select would otherwise
/// hold it for good: no hang-up report, and reads stop at end of stream).
fn a_reset_connection_kept_by_a_reader_is_closed(b: Backend) {
    struct KeepReader {
        closes: Rc<Cell<u32>>,
    }
    impl Dispatcher for KeepReader {
        fn writable(&self, _: &View<'_>) -> bool {
            false
        }
        fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
            cx.recv(4096).map(drop)
        }
        fn handle_close(&mut self, _cx: &mut Cx<'_>) -> io::Result<()> {
            self.closes.set(self.closes.get() + 1);
            Ok(())
        }
    }
    bounded(secs(20), move || {
        let (sock, mut peer) = util::tcp_pair();
        let mut ev = EventLoop::new().with_backend(b);
        let closes = Rc::new(Cell::new(0));
        let t = ev
            .add(KeepReader {
                closes: Rc::clone(&closes),
            })
            .adopt(sock)
            .unwrap();
        peer.write_all(b"some bytes").unwrap();
        util::reset(peer);
        run_until_closed(&mut ev, t, 100, "");
        assert_eq!(closes.get(), 1, "handle_close once");
    });
}

/// After this side's own `shutdown_write`, a send fails with `EPIPE`: that
/// is `handle_close` (asyncore's rule for a failed send), not a broken
/// connection, so a handler that keeps the channel reads on to the peer's
/// end: every byte, then end of stream.
fn a_send_after_our_own_shutdown_does_not_end_reading(b: Backend) {
    struct HalfOpen {
        got: Rc<std::cell::RefCell<Vec<u8>>>,
        eofs: Rc<Cell<u32>>,
    }
    impl Dispatcher for HalfOpen {
        fn writable(&self, _: &View<'_>) -> bool {
            false
        }
        fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
            let data = cx.recv(4096)?;
            self.got.borrow_mut().extend_from_slice(&data);
            // Fails with EPIPE: our write side is shut.
            cx.send(b"ack").map(drop)
        }
        fn handle_read_eof(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
            self.eofs.set(self.eofs.get() + 1);
            cx.close()
        }
        fn handle_close(&mut self, _cx: &mut Cx<'_>) -> io::Result<()> {
            Ok(())
        }
    }
    bounded(secs(20), move || {
        let (sock, mut peer) = util::tcp_pair();
        let mut ev = EventLoop::new().with_backend(b);
        let got = Rc::new(std::cell::RefCell::new(Vec::new()));
        let eofs = Rc::new(Cell::new(0));
        let mut cx = ev.add(HalfOpen {
            got: Rc::clone(&got),
            eofs: Rc::clone(&eofs),
        });
        let t = cx.adopt(sock).unwrap();
        cx.shutdown_write().unwrap();
        for word in ["one ", "two ", "three ", "four "] {
            peer.write_all(word.as_bytes()).unwrap();
            for _ in 0..3 {
                ev.run_loop(Some(Duration::from_millis(10)), Some(1))
                    .unwrap();
            }
        }
        drop(peer);
        run_until_closed(&mut ev, t, 100, "");
        assert_eq!(&*got.borrow(), b"one two three four ");
        assert_eq!(eofs.get(), 1, "the peer's end of stream was seen");
    });
}

/// A channel given a new socket after its connection broke (a client that
/// reconnects in `handle_close`) starts afresh: the new connection's end of
/// stream is `handle_read_eof`, not the old connection's forced close.
fn a_new_socket_is_not_broken(b: Backend) {
    bounded(secs(20), move || {
        let (sock, peer) = util::tcp_pair();
        let (fresh, mut fresh_peer) = util::tcp_pair();
        let mut ev = EventLoop::new().with_backend(b);
        let eofs = Rc::new(Cell::new(0));
        let t = ev
            .add(Reconnecting {
                next: vec![fresh],
                closes: Rc::default(),
                eofs: Rc::clone(&eofs),
            })
            .adopt(sock)
            .unwrap();
        // The first connection breaks: a send after the peer's reset fails,
        // and the owed handle_close, run before the next wait (so no report
        // of the old socket comes in), reconnects.
        util::reset(peer);
        std::thread::sleep(Duration::from_millis(50));
        ev.with(t, |_: &mut Reconnecting, cx| cx.send(b"lost").map(drop))
            .unwrap()
            .unwrap();
        for _ in 0..5 {
            ev.run_loop(Some(Duration::from_millis(20)), Some(1))
                .unwrap();
        }
        assert!(ev.contains(t), "the channel lives on, on its new socket");
        fresh_peer.write_all(b"hello").unwrap();
        drop(fresh_peer);
        run_until_closed(&mut ev, t, 100, "");
        assert_eq!(eofs.get(), 1, "the new connection's end of stream");
    });
}

/// Reconnects in `handle_close` while it has sockets left, else closes;
/// counts every `handle_close` and end of stream.
struct Reconnecting {
    next: Vec<asyncore_loop::Socket>,
    closes: Rc<Cell<u32>>,
    eofs: Rc<Cell<u32>>,
}

impl Dispatcher for Reconnecting {
    fn writable(&self, _: &View<'_>) -> bool {
        false
    }
    fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        cx.recv(4096).map(drop)
    }
    fn handle_read_eof(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        self.eofs.set(self.eofs.get() + 1);
        cx.close()
    }
    fn handle_close(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        self.closes.set(self.closes.get() + 1);
        match self.next.pop() {
            Some(sock) => cx.set_socket(sock),
            None => cx.close(),
        }
    }
}

/// A client that reconnects in `handle_close` after each of `resets`
/// connections is reset, then reads its last connection to end of stream.
/// The loop sees each reset itself: the old socket's report (`POLLIN`,
/// `POLLERR`, `POLLHUP` on poll and epoll) reads the reset, whose
/// `handle_close` reconnects. One `handle_close` per connection reset, and
/// the rest of the old socket's report must not close the new one.
fn reconnect_after_resets(b: Backend, resets: usize) {
    bounded(secs(20), move || {
        let (mut socks, mut peers): (Vec<_>, Vec<_>) =
            (0..=resets).map(|_| util::tcp_pair()).unzip();
        let mut last_peer = peers.pop().unwrap();
        let first = socks.remove(0);
        socks.reverse();
        let mut ev = EventLoop::new().with_backend(b);
        let (closes, eofs) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let t = ev
            .add(Reconnecting {
                next: socks,
                closes: Rc::clone(&closes),
                eofs: Rc::clone(&eofs),
            })
            .adopt(first)
            .unwrap();
        for (n, peer) in (1..).zip(peers) {
            util::reset(peer);
            for _ in 0..100 {
                ev.run_loop(Some(Duration::from_millis(20)), Some(1))
                    .unwrap();
                if closes.get() >= n {
                    break;
                }
            }
            assert_eq!(
                closes.get(),
                n,
                "the reset of connection {n} is handle_close"
            );
            for _ in 0..5 {
                ev.run_loop(Some(Duration::from_millis(20)), Some(1))
                    .unwrap();
            }
            assert!(ev.contains(t), "the channel lives on after connection {n}");
        }
        last_peer.write_all(b"hello").unwrap();
        drop(last_peer);
        run_until_closed(&mut ev, t, 100, "");
        assert_eq!(eofs.get(), 1, "the last connection's end of stream");
        assert_eq!(closes.get() as usize, resets);
    });
}

/// Before, on poll and epoll, the old socket's hang-up closed the new
/// connection at once.
fn a_report_for_the_old_socket_does_not_close_the_new_one(b: Backend) {
    reconnect_after_resets(b, 1);
}

/// `handle_close` comes once per connection, not once per channel: before,
/// a client that reconnected did not hear of its second connection's end.
fn a_second_connection_that_breaks_is_handle_close_again(b: Backend) {
    reconnect_after_resets(b, 2);
}

/// A socket replaced while a copy of it lives on (the handler kept a
/// clone) leaves the OS watch set: epoll keeps a registration until the
/// last copy of the descriptor closes, and its readiness, reported for a
/// registration the loop no longer has, would wake every wait at once.
fn a_replaced_socket_whose_copy_lives_is_not_watched(b: Backend) {
    bounded(secs(20), move || {
        let (old, old_peer) = util::unix_pair();
        let (new, _new_peer) = util::unix_pair();
        let copy = old.try_clone().unwrap();
        (&old_peer).write_all(b"unread").unwrap();
        let mut ev = EventLoop::new().with_backend(b);
        let (closes, eofs) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let t = ev
            .add(Reconnecting {
                next: Vec::new(),
                closes: Rc::clone(&closes),
                eofs: Rc::clone(&eofs),
            })
            .adopt(old)
            .unwrap();
        // Watched once (its input is read), then replaced.
        ev.run_loop(Some(Duration::from_millis(100)), Some(1))
            .unwrap();
        (&old_peer).write_all(b"more").unwrap();
        ev.with(t, |_: &mut Reconnecting, cx| cx.set_socket(new))
            .unwrap()
            .unwrap();
        // Nothing to do for a second: about ten waits of 100 ms each.
        let end = std::time::Instant::now() + Duration::from_secs(1);
        let mut passes = 0;
        while std::time::Instant::now() < end {
            ev.run_loop(Some(Duration::from_millis(100)), Some(1))
                .unwrap();
            passes += 1;
        }
        assert!(passes < 40, "the loop woke {passes} times in 1 s");
        assert!(ev.contains(t));
        drop(copy);
    });
}

/// A client that, in `handle_close`, creates its next socket but connects
/// it later (a back-off): a socket with no connection is no new connection.
/// Linux reports it hung up at once; before, `handle_close` ran for that, pass
/// after pass, and the loop never waited. Its hang-up closes the channel
/// (create the socket where you connect, to reconnect later).
fn a_socket_not_yet_connected_is_not_a_new_connection(b: Backend) {
    struct Later {
        closes: Rc<Cell<u32>>,
    }
    impl Dispatcher for Later {
        fn writable(&self, _: &View<'_>) -> bool {
            false
        }
        fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
            cx.recv(4096).map(drop)
        }
        fn handle_close(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
            self.closes.set(self.closes.get() + 1);
            cx.create_socket(asyncore_loop::AF_INET, asyncore_loop::SOCK_STREAM)
        }
    }
    bounded(secs(20), move || {
        let (sock, peer) = util::tcp_pair();
        let mut ev = EventLoop::new().with_backend(b);
        let closes = Rc::new(Cell::new(0));
        let t = ev
            .add(Later {
                closes: Rc::clone(&closes),
            })
            .adopt(sock)
            .unwrap();
        util::reset(peer);
        for _ in 0..20 {
            ev.run_loop(Some(Duration::from_millis(20)), Some(1))
                .unwrap();
        }
        assert_eq!(closes.get(), 1, "handle_close for the connection, once");
        assert!(
            !ev.contains(t),
            "the unconnected socket's hang-up closed it"
        );
    });
}

backend_tests!(
    a_socket_not_yet_connected_is_not_a_new_connection,
    a_replaced_socket_whose_copy_lives_is_not_watched,
    a_report_for_the_old_socket_does_not_close_the_new_one,
    a_second_connection_that_breaks_is_handle_close_again,
    a_new_socket_is_not_broken,
    a_reset_connection_kept_by_a_reader_is_closed,
    a_send_after_our_own_shutdown_does_not_end_reading,
    a_broken_connection_is_closed_though_handle_close_kept_it,
    half_close_after_20_mib_gets_every_byte_back,
    half_close_under_back_pressure_loses_nothing,
    without_the_hook_end_of_stream_is_handle_close,
    after_end_of_stream_reads_stop_and_writes_go_on,
    close_when_done_shuts_down_writing_then_closes_at_the_peers_end,
    chat_close_when_done_at_end_of_stream_answers_every_line,
);
