//! `AsyncChat` over real sockets, on every backend (select, poll, epoll).
//!
//! * TC-CH-1..12: CPython's `test_asynchat.py` socket tests, ported
//!   (conformance.md §3). TC-CH-13 and TC-CH-14 need no socket and are
//!   covered by the parser's unit tests `chat::parser::tests::
//!   tc_ch_13_find_prefix_at_end` and `tc_ch_14_negative_count_rejected`
//!   (`Terminator::try_from(-1i64)` fails with the reference message).
//! * X-CH-3, 7, 8, 10, 12, 15: the channel-level additional entries
//!   (conformance.md §5), asserting the decisions taken (AC-CHAT-Q-*).
//! * Batching (AC-CHAT-Q-12): pushes made while a read's records are handled
//!   leave together after them; a close, an error or a raw send in the same
//!   hook does not lose or reorder them; `with_batching(false)` sends at once.
//! * Limits: a 100 MB line against a bounded `Collector` (memory stays flat),
//!   output back-pressure (high/low-water marks), the hard output limit, and
//!   drain mode.
//! * Interop: a CPython asynchat client against a Rust `AsyncChat` server and
//!   a Rust `AsyncChat` client against a CPython asynchat server, on a tiny
//!   line + counted-block protocol, every byte checked, > 1 MiB each way.
//!
//! Adapted entries: TC-CH-8 (a byte string is not a producer in Rust: it is
//! wrapped in a `SimpleProducer`), TC-CH-11 (the negative half is a
//! compile-time property; note that `push("text")` *is* accepted, as UTF-8
//! bytes, since `&str: PushData`), TC-CH-12 (a real socketpair with no
//! input replaces the mock socket), X-CH-10 (send errors are produced with
//! real sockets; EIO cannot be), X-CH-12 (ECONNRESET from a real RST; EIO on
//! recv cannot be produced with real sockets either).

#[macro_use]
mod util;
use util::{run_until_empty, tcp_pair, unix_pair, Proc};

use asyncore_loop::chat::{AsyncChat, Chat, ChatHandler, Collector, SimpleProducer, Terminator};
use asyncore_loop::{
    Backend, CaptureLog, Cx, Dispatcher, EventLoop, SockAddr, Socket, Token, AF_INET, SOCK_STREAM,
};
use std::cell::RefCell;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

/// conformance §3.1 `echo_server`: accepts one connection, reads one byte at a
/// time until `QUIT\n` or end of stream, removes every `QUIT\n`, optionally
/// waits for "start resend", echoes the buffer `chunk` bytes at a time with
/// 1 ms sleeps (send errors ignored), closes. Returns the port and a handle
/// giving what it received (without the `QUIT\n`s).
fn echo_server(
    chunk: usize,
    start_resend: Option<mpsc::Receiver<()>>,
) -> (u16, JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut conn = loop {
            match listener.accept() {
                Ok((c, _)) => break c,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        return Vec::new();
                    }
                    thread::sleep(Duration::from_millis(1));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        conn.set_nonblocking(false).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while !buf.windows(5).any(|w| w == b"QUIT\n") {
            match conn.read(&mut byte) {
                Ok(1) => buf.push(byte[0]),
                _ => break,
            }
        }
        while let Some(at) = buf.windows(5).position(|w| w == b"QUIT\n") {
            buf.drain(at..at + 5);
        }
        if let Some(rx) = start_resend {
            let _ = rx.recv_timeout(Duration::from_secs(5));
        }
        for piece in buf.chunks(chunk) {
            let _ = conn.write_all(piece);
            thread::sleep(Duration::from_millis(1));
        }
        buf
    });
    (port, handle)
}

/// What a recording handler saw.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// `collect_incoming_data(data)`
    Data(Vec<u8>),
    /// `found_terminator()`
    Term,
    /// `handle_close()`, with the bytes still queued at that moment.
    Close { queued: usize },
    /// `handle_error(err)`, with the error's kind.
    Error(io::ErrorKind),
}

type Shared<T> = Rc<RefCell<T>>;

/// conformance §3.1 `echo_client`: `buffer` collects pieces, `contents` gets
/// one entry per terminator. Also records closes and errors; `handle_error`
/// re-raises (porting rule: unexpected errors fail the test).
#[derive(Default)]
struct EchoRecord {
    buffer: Vec<u8>,
    contents: Vec<Vec<u8>>,
    closes: usize,
    terminator_at_close: Option<Terminator>,
}

struct EchoClient(Shared<EchoRecord>);

impl ChatHandler for EchoClient {
    fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, data: &[u8]) -> io::Result<()> {
        self.0.borrow_mut().buffer.extend_from_slice(data);
        Ok(())
    }
    fn found_terminator(&mut self, _: &mut Chat<'_, '_>) -> io::Result<()> {
        let mut r = self.0.borrow_mut();
        let line = std::mem::take(&mut r.buffer);
        r.contents.push(line);
        Ok(())
    }
    fn handle_connect(&mut self, _: &mut Chat<'_, '_>) -> io::Result<()> {
        Ok(())
    }
    fn handle_close(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
        let mut r = self.0.borrow_mut();
        r.closes += 1;
        r.terminator_at_close = Some(chat.terminator().clone());
        chat.close()
    }
    fn handle_error(&mut self, _: &mut Chat<'_, '_>, err: io::Error) -> io::Result<()> {
        Err(err)
    }
}

/// One TC-CH socket test: the echo server with `chunk`, a client with
/// `terminator`, `push` run on the client before its connect completes (as in
/// CPython: AC-CHAT-55), the loop until the client closed. Returns the
/// client's record and what the server received.
fn echo_test(
    b: Backend,
    terminator: impl Into<Terminator>,
    chunk: usize,
    push: impl FnOnce(&mut Chat<'_, '_>) -> io::Result<()>,
) -> (EchoRecord, Vec<u8>) {
    echo_test_with(b, terminator, chunk, None, push)
}

fn echo_test_with(
    b: Backend,
    terminator: impl Into<Terminator>,
    chunk: usize,
    release: Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>,
    push: impl FnOnce(&mut Chat<'_, '_>) -> io::Result<()>,
) -> (EchoRecord, Vec<u8>) {
    let (tx, rx) = match release {
        Some((tx, rx)) => (Some(tx), Some(rx)),
        None => (None, None),
    };
    let (port, server) = echo_server(chunk, rx);
    let rec: Shared<EchoRecord> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let t = {
        let mut cx = ev.add(AsyncChat::new(EchoClient(rec.clone())).with_terminator(terminator));
        cx.create_socket(AF_INET, SOCK_STREAM).unwrap();
        cx.connect(("127.0.0.1", port)).unwrap();
        cx.token()
    };
    ev.with(t, |c: &mut AsyncChat<EchoClient>, cx| {
        let (_, mut chat) = c.split(cx);
        assert!(
            !chat.connected(),
            "the pushes must happen before the connect completes"
        );
        push(&mut chat)
    })
    .unwrap()
    .unwrap();
    run_until_empty(&mut ev);
    drop(ev);
    if let Some(tx) = tx {
        tx.send(()).unwrap();
    }
    let received = server.join().unwrap();
    let rec = Rc::try_unwrap(rec).ok().unwrap().into_inner();
    (rec, received)
}

fn strings(v: &[Vec<u8>]) -> Vec<String> {
    v.iter()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// A general recording handler: every call goes to `seen`; `on_term` runs in
/// `found_terminator`; `handle_error` records and re-raises.
struct Recorder {
    seen: Shared<Vec<Seen>>,
    on_term: fn(&mut Chat<'_, '_>) -> io::Result<()>,
}

impl Recorder {
    fn new(seen: &Shared<Vec<Seen>>) -> Self {
        Recorder {
            seen: seen.clone(),
            on_term: |_| Ok(()),
        }
    }
}

impl ChatHandler for Recorder {
    fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, data: &[u8]) -> io::Result<()> {
        self.seen.borrow_mut().push(Seen::Data(data.to_vec()));
        Ok(())
    }
    fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
        self.seen.borrow_mut().push(Seen::Term);
        (self.on_term)(chat)
    }
    fn handle_close(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
        let queued = chat.queued_bytes();
        self.seen.borrow_mut().push(Seen::Close { queued });
        chat.close()
    }
    fn handle_error(&mut self, _: &mut Chat<'_, '_>, err: io::Error) -> io::Result<()> {
        self.seen.borrow_mut().push(Seen::Error(err.kind()));
        Err(err)
    }
}

/// Runs `f` with the chat view of channel `t` (from outside its hooks).
fn with_chat<H: ChatHandler, R>(
    ev: &mut EventLoop,
    t: Token,
    f: impl FnOnce(&mut H, &mut Chat<'_, '_>) -> R,
) -> R {
    ev.with(t, |c: &mut AsyncChat<H>, cx| {
        let (h, mut chat) = c.split(cx);
        f(h, &mut chat)
    })
    .expect("no such chat channel")
}

/// `readable()` and `writable()` of chat channel `t`.
fn interest<H: ChatHandler>(ev: &mut EventLoop, t: Token) -> (bool, bool) {
    ev.with(t, |c: &mut AsyncChat<H>, cx| {
        (c.readable(&cx.view()), c.writable(&cx.view()))
    })
    .expect("no such chat channel")
}

/// Writes into `sock` (through a duplicate) until the kernel would block;
/// returns the bytes written.
fn fill(sock: &Socket) -> usize {
    let dup = sock.try_clone().unwrap();
    dup.set_nonblocking(true).unwrap();
    let junk = vec![b'#'; 64 * KIB];
    let mut total = 0;
    loop {
        match dup.send(&junk) {
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return total,
            Err(e) => panic!("fill: {e}"),
        }
    }
}

/// Reads exactly `n` bytes (blocking, with the stream's timeout).
fn read_n(r: &mut impl Read, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    r.read_exact(&mut v).unwrap();
    v
}

/// Reads what is available right now without blocking.
fn read_available(s: &std::os::unix::net::UnixStream) -> Vec<u8> {
    s.set_nonblocking(true).unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * KIB];
    loop {
        match (&*s).read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("read: {e}"),
        }
    }
    s.set_nonblocking(false).unwrap();
    out
}

// ---------------------------------------------------------------------------
// TC-CH-1 .. TC-CH-12
// ---------------------------------------------------------------------------

/// TC-CH-1/2/3 body: `hello ` `world<T>` `I'm not dead yet!<T>` `QUIT\n`,
/// echoed 1, 2 and 3 bytes at a time (the delimiter straddles receives,
/// AC-CHAT-26).
fn line_terminator(b: Backend, term: &'static str) {
    for chunk in 1..=3 {
        let (rec, _) = echo_test(b, term, chunk, |chat| {
            chat.push(&b"hello "[..])?;
            chat.push(format!("world{term}"))?;
            chat.push(format!("I'm not dead yet!{term}"))?;
            chat.push(&b"QUIT\n"[..])
        });
        assert_eq!(
            strings(&rec.contents),
            ["hello world", "I'm not dead yet!"],
            "terminator {term:?}, chunk {chunk}"
        );
        assert_eq!(rec.closes, 1);
    }
}

/// TC-CH-1 (AC-CHAT-7, 25..28, 40, 50, 54, 55, 81, 91): delimiter `\n`.
fn tc_ch_1_line_terminator_lf(b: Backend) {
    line_terminator(b, "\n");
}

/// TC-CH-2: delimiter `\r\n`.
fn tc_ch_2_line_terminator_crlf(b: Backend) {
    line_terminator(b, "\r\n");
}

/// TC-CH-3: delimiter `qqq`.
fn tc_ch_3_line_terminator_qqq(b: Backend) {
    line_terminator(b, "qqq");
}

const DATA: &[u8] = b"hello world, I'm not dead yet!\n";

/// TC-CH-4/5 body (AC-CHAT-24, 10, 13): exactly one record of `n` bytes; the
/// terminator is then `Count(0)` and the rest arrives without a signal.
fn numeric_terminator(b: Backend, n: usize) {
    let (rec, _) = echo_test(b, n, 1, |chat| {
        chat.push(DATA)?;
        chat.push(&b"QUIT\n"[..])
    });
    assert_eq!(rec.contents, [DATA[..n].to_vec()]);
    assert_eq!(rec.buffer, DATA[n..]);
    assert_eq!(rec.terminator_at_close, Some(Terminator::Count(0)));
}

/// TC-CH-4: count 1.
fn tc_ch_4_numeric_terminator_1(b: Backend) {
    numeric_terminator(b, 1);
}

/// TC-CH-5: count 6.
fn tc_ch_5_numeric_terminator_6(b: Backend) {
    numeric_terminator(b, 6);
}

/// TC-CH-6 (AC-CHAT-23, 10): no terminator: no record, all in `buffer`.
fn tc_ch_6_none_terminator(b: Backend) {
    let (rec, _) = echo_test(b, Terminator::None, 1, |chat| {
        chat.push(DATA)?;
        chat.push(&b"QUIT\n"[..])
    });
    assert!(rec.contents.is_empty());
    assert_eq!(rec.buffer, DATA);
}

/// TC-CH-7 (AC-CHAT-51, 70..73): a `simple_producer` with 8-byte pieces.
fn tc_ch_7_simple_producer(b: Backend) {
    let (rec, _) = echo_test(b, "\n", 1, |chat| {
        let data = b"hello world\nI'm not dead yet!\nQUIT\n".to_vec();
        chat.push_with_producer(Box::new(SimpleProducer::new(data, 8)))
    });
    assert_eq!(strings(&rec.contents), ["hello world", "I'm not dead yet!"]);
}

/// TC-CH-8 (AC-CHAT-51), adapted: `push_with_producer` takes a
/// `Box<dyn Producer>`, so the plain byte string is wrapped in a
/// `SimpleProducer` with the default piece size (one piece).
fn tc_ch_8_string_producer(b: Backend) {
    let (rec, _) = echo_test(b, "\n", 1, |chat| {
        let data = b"hello world\nI'm not dead yet!\nQUIT\n".to_vec();
        let size = asyncore_loop::chat::DEFAULT_PRODUCER_BUFFER_SIZE;
        chat.push_with_producer(Box::new(SimpleProducer::new(data, size)))
    });
    assert_eq!(strings(&rec.contents), ["hello world", "I'm not dead yet!"]);
}

/// TC-CH-9 (AC-CHAT-25, 27): an empty line is an empty record.
fn tc_ch_9_empty_line(b: Backend) {
    let (rec, _) = echo_test(b, "\n", 1, |chat| {
        chat.push(&b"hello world\n\nI'm not dead yet!\n"[..])?;
        chat.push(&b"QUIT\n"[..])
    });
    assert_eq!(
        strings(&rec.contents),
        ["hello world", "", "I'm not dead yet!"]
    );
}

/// TC-CH-10 (AC-CHAT-52, 58, 82, AC-LOOP-3): `close_when_done` closes the
/// client once its output is sent, before the (held back) echo arrives.
fn tc_ch_10_close_when_done(b: Backend) {
    let (rec, received) = echo_test_with(b, "\n", 1, Some(mpsc::channel()), |chat| {
        chat.push(&b"hello world\nI'm not dead yet!\n"[..])?;
        chat.push(&b"QUIT\n"[..])?;
        chat.close_when_done();
        Ok(())
    });
    assert!(rec.contents.is_empty());
    assert_eq!(rec.closes, 1, "close_when_done goes through handle_close");
    assert_eq!(received, b"hello world\nI'm not dead yet!\n");
}

/// TC-CH-11 (AC-CHAT-50, 98), adapted: the positive half with `&[u8]`,
/// `Vec<u8>` and a sub-slice of a larger buffer. The negative half (an integer
/// is refused) is a compile-time property: `chat.push(10)` does not compile.
/// Unlike CPython, text is accepted (`&str: Into<Vec<u8>>`, sent as UTF-8).
fn tc_ch_11_push(b: Backend) {
    let (rec, _) = echo_test(b, "\n", 1, |chat| {
        chat.push(&b"bytes\n"[..])?;
        chat.push(b"bytes\n".to_vec())?;
        let big = b"xx bytes\n yy";
        chat.push(&big[3..9])?;
        chat.push(&b"QUIT\n"[..])
    });
    assert_eq!(strings(&rec.contents), ["bytes", "bytes", "bytes"]);
}

/// TC-CH-12 (AC-CHAT-20, 90, AC-IO-2, AC-SOCK-2), adapted: instead of a mock
/// socket failing with EAGAIN, a real socketpair with no input, attached
/// with `set_socket`; the read wrapper runs `handle_read` directly: the
/// would-block receive is ignored, `handle_error` is not called.
fn tc_ch_12_blocking_io_error(b: Backend) {
    let (a, _peer) = unix_pair();
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let t = {
        let mut cx = ev.add(AsyncChat::new(Recorder::new(&seen)));
        cx.set_socket(a).unwrap();
        cx.token()
    };
    ev.read(t).unwrap();
    assert!(seen.borrow().is_empty(), "{:?}", seen.borrow());
    assert!(ev.contains(t) && ev.channel(t).unwrap().is_registered());
    // And a pass of the loop on this backend dispatches nothing either.
    ev.run_loop(Some(Duration::from_millis(5)), Some(1))
        .unwrap();
    assert!(seen.borrow().is_empty(), "{:?}", seen.borrow());
}

backend_tests!(
    tc_ch_1_line_terminator_lf,
    tc_ch_2_line_terminator_crlf,
    tc_ch_3_line_terminator_qqq,
    tc_ch_4_numeric_terminator_1,
    tc_ch_5_numeric_terminator_6,
    tc_ch_6_none_terminator,
    tc_ch_7_simple_producer,
    tc_ch_8_string_producer,
    tc_ch_9_empty_line,
    tc_ch_10_close_when_done,
    tc_ch_11_push,
    tc_ch_12_blocking_io_error,
);

// ---------------------------------------------------------------------------
// X-CH entries (channel level)
// ---------------------------------------------------------------------------

/// X-CH-3 (AC-CHAT-31) with **AC-CHAT-Q-7**: `found_terminator` closes the
/// channel on `a\nb\nc\n` received at once. Input processing stops once the
/// channel is closed: one delivery and one signal (the reference gives three
/// of each).
fn x_ch_3_close_in_found_terminator_stops_input(b: Backend) {
    let (a, mut peer) = unix_pair();
    peer.write_all(b"a\nb\nc\n").unwrap();
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let mut rec = Recorder::new(&seen);
    rec.on_term = |chat| chat.close();
    ev.add(AsyncChat::new(rec).with_terminator("\n"))
        .adopt(a)
        .unwrap();
    run_until_empty(&mut ev);
    assert_eq!(*seen.borrow(), [Seen::Data(b"a".to_vec()), Seen::Term]);
}

/// X-CH-7 (AC-CHAT-52, 58, 61) and **AC-CHAT-Q-6**: `close_when_done` with
/// an empty queue does not send or close by itself (still connected, queue =
/// [marker] so writable); the next write event delivers `handle_close` and
/// the channel is closed (one pass).
fn x_ch_7_close_when_done_then_write(b: Backend) {
    let (a, mut peer) = unix_pair();
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let t = ev
        .add(AsyncChat::new(Recorder::new(&seen)))
        .adopt(a)
        .unwrap();
    with_chat(&mut ev, t, |_: &mut Recorder, chat| {
        chat.close_when_done();
        assert_eq!(chat.queued_bytes(), 0);
        assert!(chat.connected() && !chat.is_closed());
    });
    assert!(seen.borrow().is_empty(), "no hook from inside Chat methods");
    assert_eq!(interest::<Recorder>(&mut ev, t), (true, true));
    ev.run_loop(Some(Duration::from_millis(100)), Some(1))
        .unwrap();
    assert_eq!(*seen.borrow(), [Seen::Close { queued: 0 }]);
    assert!(!ev.contains(t));
    let mut rest = Vec::new();
    peer.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
}

/// X-CH-8 (AC-CHAT-55, 80, 81): adopting an unconnected socket (ENOTCONN):
/// a push queues and sends nothing; readable and writable.
fn x_ch_8_unconnected_adopt_queues(b: Backend) {
    let sock = Socket::new(AF_INET, SOCK_STREAM, None).unwrap();
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let t = ev
        .add(AsyncChat::new(Recorder::new(&seen)))
        .adopt(sock)
        .unwrap();
    with_chat(&mut ev, t, |_: &mut Recorder, chat| {
        assert!(!chat.connected() && chat.is_registered());
        chat.push(&b"hello"[..]).unwrap();
        assert_eq!(chat.queued_bytes(), 5, "nothing sent");
    });
    assert_eq!(interest::<Recorder>(&mut ev, t), (true, true));
    assert!(seen.borrow().is_empty());
}

/// X-CH-10 (AC-CHAT-60, 95, 96, 97), with real sockets:
/// * EAGAIN: the send buffer is full: `abc` stays queued, still connected;
///   once the peer reads, it arrives after the filler.
/// * EPIPE (Unix pair, peer closed) and ECONNRESET (TCP, peer sent an RST
///   with SO_LINGER {1, 0}): the push returns `Ok`, the queue keeps `abc`,
///   no hook runs inside `push`; the loop then delivers `handle_close`
///   exactly once, no `handle_error`, and the channel is closed.
/// * EIO cannot be produced with real sockets (it is a mock-only case).
fn x_ch_10_send_errors(b: Backend) {
    // EAGAIN
    let (a, mut peer) = unix_pair();
    let filler = fill(&a);
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let t = ev
        .add(AsyncChat::new(Recorder::new(&seen)))
        .adopt(a)
        .unwrap();
    with_chat(&mut ev, t, |_: &mut Recorder, chat| {
        chat.push(&b"abc"[..]).unwrap();
        assert_eq!(chat.queued_bytes(), 3);
        assert!(chat.connected());
    });
    let reader = thread::spawn(move || {
        let got = read_n(&mut peer, filler + 3);
        (got, peer)
    });
    util::run_until(&mut ev, |_| reader.is_finished());
    let (got, _peer) = reader.join().unwrap();
    assert!(got[..filler].iter().all(|&c| c == b'#'));
    assert_eq!(&got[filler..], b"abc");
    assert_eq!(interest::<Recorder>(&mut ev, t), (true, false));
    assert!(seen.borrow().is_empty(), "{:?}", seen.borrow());

    // EPIPE: the peer of a Unix pair is gone.
    let (a, peer) = unix_pair();
    drop(peer);
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let t = ev
        .add(AsyncChat::new(Recorder::new(&seen)))
        .adopt(a)
        .unwrap();
    with_chat(&mut ev, t, |_: &mut Recorder, chat| {
        chat.push(&b"abc"[..]).unwrap();
        assert_eq!(chat.queued_bytes(), 3);
    });
    assert!(seen.borrow().is_empty(), "no hook from inside push");
    run_until_empty(&mut ev);
    assert_eq!(*seen.borrow(), [Seen::Close { queued: 3 }]);

    // ECONNRESET: the TCP peer resets the connection.
    let (a, peer) = tcp_pair();
    util::reset(peer);
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let t = ev
        .add(AsyncChat::new(Recorder::new(&seen)))
        .adopt(a)
        .unwrap();
    with_chat(&mut ev, t, |_: &mut Recorder, chat| {
        chat.push(&b"abc"[..]).unwrap();
    });
    assert!(seen.borrow().is_empty(), "no hook from inside push");
    run_until_empty(&mut ev);
    assert_eq!(seen.borrow().len(), 1, "{:?}", seen.borrow());
    assert!(matches!(seen.borrow()[0], Seen::Close { .. }));
}

/// X-CH-12 (AC-CHAT-21, 91, 92): ECONNRESET on receive (the TCP peer closes
/// with SO_LINGER {1, 0}): no `handle_error`, no delivery, `handle_close`
/// once, channel closed. (EIO on receive cannot be produced with real
/// sockets.)
fn x_ch_12_recv_connreset(b: Backend) {
    let (a, peer) = tcp_pair();
    util::reset(peer);
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let t = ev
        .add(AsyncChat::new(Recorder::new(&seen)).with_terminator("\n"))
        .adopt(a)
        .unwrap();
    run_until_empty(&mut ev);
    assert!(!ev.contains(t));
    assert_eq!(*seen.borrow(), [Seen::Close { queued: 0 }]);
}

/// A handler that keeps every default hook (for X-CH-15).
struct Plain;

impl ChatHandler for Plain {
    fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn found_terminator(&mut self, _: &mut Chat<'_, '_>) -> io::Result<()> {
        Ok(())
    }
}

/// X-CH-15 (AC-CHAT-1, 2, 6, 81): a fresh channel has 65 536-byte in/out
/// buffer sizes (the out size observed as the first send of a 100 000-byte
/// push), no terminator (AC-CHAT-Q-3), an empty queue, and is writable while
/// not connected; the default `handle_close` closes without a log line even
/// with `ignore_log_types` empty.
fn x_ch_15_defaults(b: Backend) {
    let chan = AsyncChat::new(Plain);
    assert_eq!(chan.in_buffer_size(), 65_536);
    assert_eq!(chan.terminator(), &Terminator::None);
    assert_eq!(asyncore_loop::chat::DEFAULT_OUT_BUFFER_SIZE, 65_536);

    let log = CaptureLog::default();
    let mut ev = util::event_loop(b, ());
    ev.set_log_sink(log.clone());
    let fresh = ev.add(chan).token();
    with_chat(&mut ev, fresh, |_: &mut Plain, chat| {
        assert_eq!(chat.queued_bytes(), 0);
        assert!(!chat.connected());
    });
    assert_eq!(interest::<Plain>(&mut ev, fresh), (true, true));

    // ac_out_buffer_size: the first send of one big push is 65 536 bytes.
    let (a, peer) = unix_pair();
    let t = ev.add(AsyncChat::new(Plain)).adopt(a).unwrap();
    with_chat(&mut ev, t, |_: &mut Plain, chat| {
        chat.push(vec![b'z'; 100_000]).unwrap();
        assert_eq!(chat.queued_bytes(), 100_000 - 65_536);
    });
    assert_eq!(read_available(&peer).len(), 65_536);

    // The default handle_close: closes, prints nothing.
    ev.channel(t).unwrap().set_ignore_log_types(&[]);
    ev.with(t, |c: &mut AsyncChat<Plain>, cx| c.handle_close(cx))
        .unwrap()
        .unwrap();
    assert!(!ev.contains(t) || ev.channel(t).unwrap().is_closed());
    assert!(log.lines().is_empty(), "{:?}", log.lines());

    // And through the loop: the peer closes, the default hooks close quietly.
    let (a, peer) = unix_pair();
    let t = ev.add(AsyncChat::new(Plain)).adopt(a).unwrap();
    ev.channel(t).unwrap().set_ignore_log_types(&[]);
    drop(peer);
    util::run_until(&mut ev, |ev| !ev.contains(t));
    assert!(log.lines().is_empty(), "{:?}", log.lines());
}

backend_tests!(
    x_ch_3_close_in_found_terminator_stops_input,
    x_ch_7_close_when_done_then_write,
    x_ch_8_unconnected_adopt_queues,
    x_ch_10_send_errors,
    x_ch_12_recv_connreset,
    x_ch_15_defaults,
);

// ---------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------

/// A line server with a bounded line (`Collector`): a line that fits is
/// echoed with CRLF; a longer one gets `-ERR line too long (N bytes)` and the
/// channel goes on (reply-and-discard, as smtpd).
struct BoundedLine {
    line: Collector,
}

/// A listener adding `make()` channels for accepted sockets; records their
/// tokens in the loop state.
struct Listener<F>(F);

impl<F: FnMut() -> AsyncChat<H> + 'static, H: ChatHandler<Vec<Token>>> Dispatcher<Vec<Token>>
    for Listener<F>
{
    fn handle_accepted(
        &mut self,
        cx: &mut Cx<'_, Vec<Token>>,
        sock: Socket,
        _: SockAddr,
    ) -> io::Result<()> {
        let chan = (self.0)();
        let t = cx.add(chan).adopt(sock)?;
        cx.state().push(t);
        Ok(())
    }
    fn handle_error(&mut self, _: &mut Cx<'_, Vec<Token>>, err: io::Error) -> io::Result<()> {
        Err(err)
    }
}

impl ChatHandler<Vec<Token>> for BoundedLine {
    fn collect_incoming_data(
        &mut self,
        _: &mut Chat<'_, '_, Vec<Token>>,
        data: &[u8],
    ) -> io::Result<()> {
        self.line.collect(data);
        Ok(())
    }
    fn found_terminator(&mut self, chat: &mut Chat<'_, '_, Vec<Token>>) -> io::Result<()> {
        match self.line.take() {
            Ok(mut line) => {
                line.extend_from_slice(b"\r\n");
                chat.push(line)
            }
            Err(over) => chat.push(format!("-ERR line too long ({} bytes)\r\n", over.total)),
        }
    }
    fn handle_error(&mut self, _: &mut Chat<'_, '_, Vec<Token>>, err: io::Error) -> io::Result<()> {
        Err(err)
    }
}

/// Starts a listening `Listener` on 127.0.0.1:0; returns its port.
fn listen<F, H>(ev: &mut EventLoop<Vec<Token>>, make: F) -> u16
where
    F: FnMut() -> AsyncChat<H> + 'static,
    H: ChatHandler<Vec<Token>>,
{
    util::listen_local(&mut ev.add(Listener(make)), 5).port()
}

const LONG_LINE: usize = 100_000_000;

/// Limit (a): a 100 MB line without a terminator, then CRLF, then `hello`, to
/// an `AsyncChat` whose line is a `Collector::new(1 MiB)`. The server stays
/// up, replies `-ERR line too long (100000000 bytes)` once the CRLF comes,
/// then echoes `hello`; the process's RSS (peak included) grows by less than
/// 32 MiB. Runs in a child process of its own (so the RSS figures are this
/// test's own, not those of tests running in parallel), killed after 120 s
/// (the transfer itself has a 60 s deadline).
fn limit_long_line(b: Backend, name: &str) {
    util::in_child_within(name, Duration::from_secs(120), || {
        limit_long_line_in_child(b)
    });
}

/// `VmRSS` and `VmHWM` of this process, in bytes.
fn rss_hwm_bytes() -> (usize, usize) {
    let (rss, hwm) = util::rss_hwm_kib();
    (rss as usize * KIB, hwm as usize * KIB)
}

fn limit_long_line_in_child(b: Backend) {
    let started = Instant::now();
    let mut ev = util::event_loop(b, Vec::new());
    let port = listen(&mut ev, || {
        AsyncChat::new(BoundedLine {
            line: Collector::new(MIB),
        })
        .with_terminator("\r\n")
    });
    let (rss_before, _) = rss_hwm_bytes();
    let client = thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
        let chunk = vec![b'x'; 4 * MIB];
        let mut left = LONG_LINE;
        while left > 0 {
            let n = left.min(chunk.len());
            s.write_all(&chunk[..n]).unwrap();
            left -= n;
        }
        s.write_all(b"\r\nhello\r\n").unwrap();
        let mut r = BufReader::new(s);
        let mut replies = Vec::new();
        for _ in 0..2 {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            replies.push(line);
        }
        // Keep the connection open until the checks below.
        (replies, r.into_inner())
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while !client.is_finished() {
        assert!(Instant::now() < deadline, "the long line took over 60 s");
        ev.run_loop(Some(Duration::from_millis(10)), Some(1))
            .unwrap();
    }
    let (replies, _conn) = client.join().unwrap();
    let elapsed = started.elapsed();
    let (rss_after, hwm_after) = rss_hwm_bytes();
    assert_eq!(
        replies,
        [
            format!("-ERR line too long ({LONG_LINE} bytes)\r\n"),
            "hello\r\n".to_string()
        ]
    );
    // The server's channel is still up (the client's end is still open).
    assert_eq!(ev.state().len(), 1);
    let server = ev.state()[0];
    assert!(ev.contains(server) && ev.channel(server).unwrap().connected());
    let grow = rss_after.saturating_sub(rss_before);
    let peak = hwm_after.saturating_sub(rss_before);
    println!(
        "limit_long_line {b:?}: {LONG_LINE} bytes in {elapsed:?}; RSS {} KiB -> {} KiB \
         (growth {} KiB, peak growth {} KiB)",
        rss_before / KIB,
        rss_after / KIB,
        grow / KIB,
        peak / KIB
    );
    assert!(grow < 32 * MIB, "RSS grew by {grow} bytes");
    assert!(peak < 32 * MIB, "peak RSS grew by {peak} bytes");
}

mod limit_long_line {
    #[test]
    fn epoll() {
        super::limit_long_line(asyncore_loop::Backend::Epoll, "limit_long_line::epoll");
    }
    #[test]
    fn poll() {
        super::limit_long_line(asyncore_loop::Backend::Poll, "limit_long_line::poll");
    }
    #[test]
    fn select() {
        super::limit_long_line(asyncore_loop::Backend::Select, "limit_long_line::select");
    }
}

const BP_LINES: usize = 10_000;
const BP_REPLY: usize = 16 * KIB;
const BP_HIGH: usize = 64 * KIB;
const BP_LOW: usize = 16 * KIB;

/// Reply `i` of the back-pressure test: 16 KiB, ending in `\n`.
fn bp_reply(i: usize) -> Vec<u8> {
    let mut v = format!("{i:08}").repeat(BP_REPLY / 8).into_bytes();
    v[BP_REPLY - 1] = b'\n';
    v
}

/// Back-pressure state: the server channel's token, lines handled, and the
/// most output ever queued right after a push.
#[derive(Default)]
struct BpState {
    server: Option<Token>,
    lines: usize,
    max_queued: usize,
}

struct BpHandler {
    line: Vec<u8>,
}

impl ChatHandler<BpState> for BpHandler {
    fn collect_incoming_data(
        &mut self,
        _: &mut Chat<'_, '_, BpState>,
        data: &[u8],
    ) -> io::Result<()> {
        self.line.extend_from_slice(data);
        Ok(())
    }
    fn found_terminator(&mut self, chat: &mut Chat<'_, '_, BpState>) -> io::Result<()> {
        let i: usize = std::str::from_utf8(&self.line).unwrap().parse().unwrap();
        self.line.clear();
        chat.push(bp_reply(i))?;
        let queued = chat.queued_bytes();
        let st = chat.state();
        assert_eq!(i, st.lines, "lines handled in order");
        st.lines += 1;
        st.max_queued = st.max_queued.max(queued);
        Ok(())
    }
    fn handle_error(&mut self, _: &mut Chat<'_, '_, BpState>, err: io::Error) -> io::Result<()> {
        Err(err)
    }
}

struct BpListener;

impl Dispatcher<BpState> for BpListener {
    fn handle_accepted(
        &mut self,
        cx: &mut Cx<'_, BpState>,
        sock: Socket,
        _: SockAddr,
    ) -> io::Result<()> {
        let chan = AsyncChat::new(BpHandler { line: Vec::new() })
            .with_terminator("\n")
            .with_water_marks(BP_HIGH, BP_LOW);
        let t = cx.add(chan).adopt(sock)?;
        cx.state().server = Some(t);
        cx.close()
    }
    fn handle_error(&mut self, _: &mut Cx<'_, BpState>, err: io::Error) -> io::Result<()> {
        Err(err)
    }
}

/// Limit (b), back-pressure: the server answers each 9-byte line with 16 KiB
/// (marks 64 KiB / 16 KiB); the client sends 10 000 lines at once and reads
/// nothing until told to. Bound on the server's queued output, derived: a
/// push happens only while not paused, i.e. with at most `high` queued
/// before it (the pause is set as soon as a push crosses `high`, and no
/// further record is processed while paused), so the queue never exceeds
/// `high + one reply` = 80 KiB. What the kernel's socket buffers absorb is
/// not queued output; it only bounds how many lines get handled before the
/// pause. While paused the channel is not readable; it is readable again
/// only at or below `low` (hysteresis). Then the client reads all 160 MiB and
/// every reply arrives, in order.
fn limit_back_pressure(b: Backend) {
    let mut ev = util::event_loop(b, BpState::default());
    let port = util::listen_local(&mut ev.add(BpListener), 5).port();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let client = thread::spawn(move || -> Result<usize, String> {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut w = s.try_clone().unwrap();
        let writer = thread::spawn(move || {
            let mut all = Vec::with_capacity(BP_LINES * 9);
            for i in 0..BP_LINES {
                all.extend_from_slice(format!("{i:08}\n").as_bytes());
            }
            w.write_all(&all)
        });
        go_rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|e| e.to_string())?;
        let mut r = BufReader::with_capacity(256 * KIB, s);
        let mut got = vec![0u8; BP_REPLY];
        for i in 0..BP_LINES {
            r.read_exact(&mut got)
                .map_err(|e| format!("reply {i}: {e}"))?;
            if got != bp_reply(i) {
                return Err(format!("reply {i} differs"));
            }
        }
        writer.join().unwrap().map_err(|e| e.to_string())?;
        Ok(BP_LINES)
    });

    // Hold phase: the client reads nothing. Run until the server channel is
    // paused, then 20 more passes.
    let started = Instant::now();
    let deadline = started + Duration::from_secs(10);
    let mut paused_passes = 0;
    while paused_passes < 20 {
        assert!(Instant::now() < deadline, "the server never paused");
        ev.run_loop(Some(Duration::from_millis(2)), Some(1))
            .unwrap();
        if let Some(t) = ev.state().server {
            let (readable, queued) = ev
                .with(t, |c: &mut AsyncChat<BpHandler>, cx| {
                    let r = c.readable(&cx.view());
                    let (_, chat) = c.split(cx);
                    (r, chat.queued_bytes())
                })
                .unwrap();
            if queued > BP_HIGH {
                assert!(!readable, "readable with {queued} bytes queued");
            }
            if !readable {
                assert!(queued > BP_LOW, "paused with only {queued} bytes queued");
                paused_passes += 1;
            }
        }
    }
    let handled_in_hold = ev.state().lines;
    assert!(
        handled_in_hold < BP_LINES,
        "every line was handled while the client read nothing"
    );
    go_tx.send(()).unwrap();

    // Drain phase.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut resumed = false;
    while !client.is_finished() {
        assert!(Instant::now() < deadline, "the replies did not all arrive");
        ev.run_loop(Some(Duration::from_millis(5)), Some(1))
            .unwrap();
        if let Some(t) = ev.state().server {
            if let Some(r) = ev.with(t, |c: &mut AsyncChat<BpHandler>, cx| c.readable(&cx.view())) {
                resumed |= r;
            }
        }
    }
    let result = client.join().unwrap();
    assert_eq!(result, Ok(BP_LINES));
    let st = ev.state();
    assert!(resumed, "the channel never became readable again");
    assert_eq!(st.lines, BP_LINES);
    println!(
        "limit_back_pressure {b:?}: {handled_in_hold} lines handled while the client did not \
         read; max queued {} bytes (bound {}); {:?} in all",
        st.max_queued,
        BP_HIGH + BP_REPLY,
        started.elapsed()
    );
    assert!(
        st.max_queued <= BP_HIGH + BP_REPLY,
        "queued output reached {} bytes, above high-water + one reply ({})",
        st.max_queued,
        BP_HIGH + BP_REPLY
    );
}

/// Limit (c): `with_out_limit(100 000)`. `big 1000` is answered; `big
/// 200000` would pass the limit: the push fails with `OutOfMemory`, nothing is
/// queued, and the handler replies `-ERR OutOfMemory` and closes when done.
/// Variant: a handler that propagates the error with `?` gets the default
/// `handle_error`: one error line naming OutOfMemory, channel closed.
struct Big {
    propagate: bool,
    line: Vec<u8>,
    seen: Shared<Vec<String>>,
}

impl ChatHandler for Big {
    fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, data: &[u8]) -> io::Result<()> {
        self.line.extend_from_slice(data);
        Ok(())
    }
    fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
        let line = String::from_utf8(std::mem::take(&mut self.line)).unwrap();
        let n: usize = line.strip_prefix("big ").unwrap().parse().unwrap();
        let before = chat.queued_bytes();
        match chat.push(vec![b'x'; n]) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.seen.borrow_mut().push(format!("{:?}", e.kind()));
                assert_eq!(chat.queued_bytes(), before, "a failed push queues nothing");
                if self.propagate {
                    return Err(e);
                }
                chat.push(format!("-ERR {:?}\r\n", e.kind()))?;
                chat.close_when_done();
                Ok(())
            }
        }
    }
}

fn limit_out_limit(b: Backend) {
    for propagate in [false, true] {
        let (a, mut peer) = unix_pair();
        peer.write_all(b"big 1000\nbig 200000\n").unwrap();
        let seen: Shared<Vec<String>> = Rc::default();
        let log = CaptureLog::default();
        let mut ev = util::event_loop(b, ());
        ev.set_log_sink(log.clone());
        ev.add(
            AsyncChat::new(Big {
                propagate,
                line: Vec::new(),
                seen: seen.clone(),
            })
            .with_terminator("\n")
            .with_out_limit(100_000),
        )
        .adopt(a)
        .unwrap();
        run_until_empty(&mut ev);
        assert_eq!(*seen.borrow(), ["OutOfMemory"]);
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap();
        assert_eq!(got[..1000], [b'x'; 1000]);
        if propagate {
            assert_eq!(got.len(), 1000);
            let lines = log.lines();
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert!(
                lines[0].starts_with("error: uncaptured error, closing channel")
                    && lines[0].contains("OutOfMemory"),
                "{lines:?}"
            );
        } else {
            assert_eq!(&got[1000..], b"-ERR OutOfMemory\r\n");
            assert!(log.lines().is_empty(), "{:?}", log.lines());
        }
    }
}

/// Limit (d): drain mode. With `out_buffer_size` 1024 and 64 KiB queued
/// behind a full socket, one loop pass after the peer emptied the socket
/// sends exactly one 1024-byte chunk in the faithful mode (AC-CHAT-54,
/// AC-CHAT-Q-11) and more than one chunk (sends until would-block, or until
/// the queue is empty) with `with_drain(true)`.
fn limit_drain(b: Backend) {
    for drain in [false, true] {
        let (a, peer) = unix_pair();
        let filler = fill(&a);
        let mut ev = util::event_loop(b, ());
        let t = ev
            .add(
                AsyncChat::new(Plain)
                    .with_out_buffer_size(1024)
                    .with_drain(drain),
            )
            .adopt(a)
            .unwrap();
        with_chat(&mut ev, t, |_: &mut Plain, chat| {
            chat.push(vec![b'd'; 64 * KIB]).unwrap();
            assert_eq!(chat.queued_bytes(), 64 * KIB, "the socket is full");
        });
        let mut emptied = 0;
        while emptied < filler {
            emptied += read_available(&peer).len();
        }
        assert_eq!(emptied, filler);
        ev.run_loop(Some(Duration::from_millis(100)), Some(1))
            .unwrap();
        let sent = read_available(&peer);
        assert!(sent.iter().all(|&c| c == b'd'));
        let queued = with_chat(&mut ev, t, |_: &mut Plain, chat| chat.queued_bytes());
        assert_eq!(sent.len() + queued, 64 * KIB);
        if drain {
            assert!(
                sent.len() > 1024,
                "drain mode sent only {} bytes",
                sent.len()
            );
        } else {
            assert_eq!(sent.len(), 1024, "one chunk per write event");
        }
    }
}

backend_tests!(limit_back_pressure, limit_out_limit, limit_drain);

// ---------------------------------------------------------------------------
// Batching (AC-CHAT-Q-12)
// ---------------------------------------------------------------------------

/// Echoes each CRLF line with CRLF, recording the bytes queued right after
/// each reply; `CLOSE`, `FAIL`, `RAW`, `CXSEND` and `CXCLOSE` lines test
/// what follows a push in the same hook.
struct Replier {
    line: Collector,
    queued_after_push: Shared<Vec<usize>>,
}

impl ChatHandler for Replier {
    fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, data: &[u8]) -> io::Result<()> {
        self.line.collect(data);
        Ok(())
    }
    fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
        let line = self.line.finish()?;
        match line {
            b"CLOSE" => {
                chat.push("bye\r\n")?;
                chat.close()
            }
            b"FAIL" => {
                chat.push("oops\r\n")?;
                Err(io::Error::new(io::ErrorKind::InvalidData, "FAIL asked for"))
            }
            b"RAW" => {
                chat.push("first ")?;
                chat.send(b"second\r\n")?;
                Ok(())
            }
            b"CXSEND" => {
                chat.push("pushed ")?;
                chat.cx()?.send(b"raw\r\n")?;
                Ok(())
            }
            b"CXCLOSE" => {
                chat.push("last\r\n")?;
                chat.cx()?.close()
            }
            _ => {
                chat.push(line)?;
                chat.push(&b"\r\n"[..])?;
                let queued = chat.queued_bytes();
                self.queued_after_push.borrow_mut().push(queued);
                Ok(())
            }
        }
    }
}

/// A `Replier` channel on `a` (batching as given), with its record.
fn replier(b: Backend, a: Socket, batching: bool) -> (EventLoop, Token, Shared<Vec<usize>>) {
    let queued: Shared<Vec<usize>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    ev.set_log_sink(CaptureLog::default());
    let handler = Replier {
        line: Collector::new(1024),
        queued_after_push: queued.clone(),
    };
    let t = ev
        .add(
            AsyncChat::new(handler)
                .with_terminator("\r\n")
                .with_batching(batching),
        )
        .adopt(a)
        .unwrap();
    (ev, t, queued)
}

/// Reads from `peer` until end of stream, running `ev` meanwhile.
fn read_to_end_running(ev: &mut EventLoop, peer: &std::os::unix::net::UnixStream) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut got = Vec::new();
    peer.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        assert!(Instant::now() < deadline, "no end of stream; got {got:?}");
        ev.run_loop(Some(Duration::from_millis(10)), Some(1))
            .unwrap();
        match (&*peer).read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// AC-CHAT-Q-12: 16 pipelined lines arriving in one read are answered in one
/// send after the 16th `found_terminator` (nothing is sent inside the hooks,
/// so the queue grows by one reply per line), in order, byte for byte.
fn batch_replies_leave_together(b: Backend) {
    let (a, mut peer) = unix_pair();
    let lines: Vec<String> = (0..16).map(|i| format!("line {i:02}\r\n")).collect();
    peer.write_all(lines.concat().as_bytes()).unwrap();
    let (mut ev, t, queued) = replier(b, a, true);
    ev.run_loop(Some(Duration::from_secs(1)), Some(1)).unwrap();
    let per = lines[0].len();
    assert_eq!(
        *queued.borrow(),
        (1..=16).map(|k| k * per).collect::<Vec<_>>()
    );
    assert_eq!(read_n(&mut peer, 16 * per), lines.concat().as_bytes());
    assert_eq!(
        with_chat(&mut ev, t, |_: &mut Replier, c| c.queued_bytes()),
        0
    );
}

/// AC-CHAT-50, 54 with `with_batching(false)`: each push sends at once (the
/// socket has room, so nothing stays queued after a reply).
fn batch_off_sends_each_push(b: Backend) {
    let (a, mut peer) = unix_pair();
    peer.write_all(b"one\r\ntwo\r\nthree\r\n").unwrap();
    let (mut ev, _, queued) = replier(b, a, false);
    ev.run_loop(Some(Duration::from_secs(1)), Some(1)).unwrap();
    assert_eq!(*queued.borrow(), [0, 0, 0]);
    let want = b"one\r\ntwo\r\nthree\r\n";
    assert_eq!(read_n(&mut peer, want.len()), want);
}

/// AC-CHAT-Q-12: `chat.close()` right after pushes in the same read sends
/// them first; input after the close is not handled (AC-CHAT-Q-7).
fn batch_close_in_hook_sends_first(b: Backend) {
    for batching in [true, false] {
        let (a, mut peer) = unix_pair();
        peer.write_all(b"a\r\nCLOSE\r\nafter\r\n").unwrap();
        let (mut ev, _, _) = replier(b, a, batching);
        assert_eq!(
            read_to_end_running(&mut ev, &peer),
            b"a\r\nbye\r\n",
            "batching {batching}"
        );
    }
}

/// AC-CHAT-Q-12: a hook that pushes and then fails: the pushes are sent
/// before `handle_error` closes the channel.
fn batch_error_in_hook_sends_first(b: Backend) {
    for batching in [true, false] {
        let (a, mut peer) = unix_pair();
        peer.write_all(b"a\r\nFAIL\r\nafter\r\n").unwrap();
        let (mut ev, _, _) = replier(b, a, batching);
        assert_eq!(
            read_to_end_running(&mut ev, &peer),
            b"a\r\noops\r\n",
            "batching {batching}"
        );
        assert_eq!(ev.len(), 0, "the channel is closed");
    }
}

/// AC-CHAT-Q-12: a raw `chat.send` after a push in the same hook goes after
/// the pushed bytes.
fn batch_raw_send_keeps_order(b: Backend) {
    for batching in [true, false] {
        let (a, mut peer) = unix_pair();
        peer.write_all(b"x\r\nRAW\r\n").unwrap();
        let (mut ev, _, _) = replier(b, a, batching);
        ev.run_loop(Some(Duration::from_secs(1)), Some(1)).unwrap();
        let want = b"x\r\nfirst second\r\n";
        assert_eq!(read_n(&mut peer, want.len()), want, "batching {batching}");
    }
}

// `Chat` has no `DerefMut`: raw access to the `Cx` goes through `Chat::cx`,
// which sends the deferred pushes first (spec: AC-CHAT-Q-12).
/// Bytes sent and a close made through `chat.cx()` after pushes in the same
/// read go after the pushed bytes: nothing deferred is reordered or lost.
fn batch_raw_cx_keeps_order(b: Backend) {
    for batching in [true, false] {
        let (a, mut peer) = unix_pair();
        peer.write_all(b"x\r\nCXSEND\r\ny\r\nCXCLOSE\r\nafter\r\n")
            .unwrap();
        let (mut ev, _, _) = replier(b, a, batching);
        assert_eq!(
            read_to_end_running(&mut ev, &peer),
            b"x\r\npushed raw\r\ny\r\nlast\r\n",
            "batching {batching}"
        );
        assert_eq!(ev.len(), 0, "the channel is closed");
    }
}

backend_tests!(
    batch_replies_leave_together,
    batch_off_sends_each_push,
    batch_close_in_hook_sends_first,
    batch_error_in_hook_sends_first,
    batch_raw_send_keeps_order,
    batch_raw_cx_keeps_order,
);

// ---------------------------------------------------------------------------
// Interop with CPython's asynchat
// ---------------------------------------------------------------------------

/// Counters of the Rust side of the line/block protocol.
#[derive(Default, Debug)]
struct ProtoStats {
    lines: usize,
    blocks: usize,
    received: usize,
    sent: usize,
}

/// The Rust server side of the protocol (see `tests/py/asynchat_line_client.py`):
/// a line is echoed with CRLF; `LEN n` switches to `Count(n)`, the block is
/// echoed as `BLOCK n\r\n` + block, then back to CRLF.
struct ProtoServer {
    data: Vec<u8>,
    block: Option<usize>,
    stats: Shared<ProtoStats>,
}

impl ChatHandler for ProtoServer {
    fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, data: &[u8]) -> io::Result<()> {
        self.stats.borrow_mut().received += data.len();
        self.data.extend_from_slice(data);
        Ok(())
    }
    fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
        let data = std::mem::take(&mut self.data);
        let mut st = self.stats.borrow_mut();
        let out = match self.block.take() {
            Some(n) => {
                assert_eq!(data.len(), n, "a count terminator delivers exactly n bytes");
                chat.set_terminator("\r\n");
                st.blocks += 1;
                let mut out = format!("BLOCK {n}\r\n").into_bytes();
                out.extend_from_slice(&data);
                out
            }
            None => {
                st.received += 2;
                if let Some(n) = data.strip_prefix(b"LEN ") {
                    let n: usize = std::str::from_utf8(n).unwrap().parse().unwrap();
                    if n > 0 {
                        self.block = Some(n);
                        chat.set_terminator(n);
                        return Ok(());
                    }
                    st.blocks += 1;
                    b"BLOCK 0\r\n".to_vec()
                } else {
                    st.lines += 1;
                    let mut out = data;
                    out.extend_from_slice(b"\r\n");
                    out
                }
            }
        };
        st.sent += out.len();
        chat.push(out)
    }
    fn handle_error(&mut self, _: &mut Chat<'_, '_>, err: io::Error) -> io::Result<()> {
        Err(err)
    }
}

struct ProtoListener(Shared<ProtoStats>);

impl Dispatcher for ProtoListener {
    fn handle_accepted(&mut self, cx: &mut Cx<'_>, sock: Socket, _: SockAddr) -> io::Result<()> {
        let handler = ProtoServer {
            data: Vec::new(),
            block: None,
            stats: self.0.clone(),
        };
        cx.add(AsyncChat::new(handler).with_terminator("\r\n"))
            .adopt(sock)?;
        Ok(())
    }
    fn handle_error(&mut self, _: &mut Cx<'_>, err: io::Error) -> io::Result<()> {
        Err(err)
    }
}

/// A CPython asynchat client against a Rust `AsyncChat` server: ~600 lines
/// and 15 binary blocks, 2.3 MB each way, every byte checked by the client;
/// the server's counters must match the client's.
fn interop_cpython_client_rust_server(b: Backend) {
    let stats: Shared<ProtoStats> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let port = util::listen_local(&mut ev.add(ProtoListener(stats.clone())), 5).port();
    // The CPython client (python3 is needed for the interop tests).
    let mut child = Proc::python("asynchat_line_client.py", &["127.0.0.1", &port.to_string()]);
    let status = child.run_loop_until_exit(&mut ev, util::ms(5), util::secs(30));
    let out = child.rest(util::secs(10));
    assert!(status.success(), "CPython client failed: {out}");
    // "ok lines=L blocks=B sent=S received=R"
    let fields: Vec<usize> = out
        .trim()
        .strip_prefix("ok ")
        .unwrap_or_else(|| panic!("{out}"))
        .split(' ')
        .map(|kv| kv.split_once('=').unwrap().1.parse().unwrap())
        .collect();
    let st = stats.borrow();
    assert_eq!(fields[0], st.lines, "{out} vs {st:?}");
    assert_eq!(fields[1], st.blocks, "{out} vs {st:?}");
    assert_eq!(fields[2], st.received, "{out} vs {st:?}");
    assert_eq!(fields[3], st.sent, "{out} vs {st:?}");
    assert!(st.received >= MIB && st.sent >= MIB, "{st:?}");
}

/// What the Rust client sends: 500 lines of 0..3999 letters, with 20 binary
/// blocks of up to 96 KiB interleaved (containing CRLF and look-alikes).
fn proto_messages() -> Vec<(bool, Vec<u8>)> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = Vec::new();
    for i in 0..500 {
        let n = (next() % 4000) as usize;
        let line: Vec<u8> = util::pattern(n, next())
            .iter()
            .map(|c| b'a' + c % 26)
            .collect();
        out.push((false, line));
        if i % 25 == 24 {
            let n = 1 + (next() % (96 * 1024)) as usize;
            let mut block = util::pattern(n, next());
            block.extend_from_slice(b"\r\nLEN 5\r\nBLOCK 3\r\n");
            out.push((true, block));
        }
    }
    out
}

/// The Rust client side: pushes every message before the connect completes,
/// checks every record that comes back, closes once all arrived.
struct ProtoClient {
    expected: Vec<(bool, Vec<u8>)>,
    idx: usize,
    data: Vec<u8>,
    block: Option<usize>,
    received: usize,
    done: Shared<Option<usize>>,
}

impl ChatHandler for ProtoClient {
    fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, data: &[u8]) -> io::Result<()> {
        self.received += data.len();
        self.data.extend_from_slice(data);
        Ok(())
    }
    fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
        let data = std::mem::take(&mut self.data);
        let (is_block, exp) = &self.expected[self.idx];
        if let Some(n) = self.block.take() {
            assert!(
                *is_block && data.len() == n && data == *exp,
                "block {} differs",
                self.idx
            );
            self.idx += 1;
            chat.set_terminator("\r\n");
        } else {
            self.received += 2;
            if let Some(n) = data.strip_prefix(b"BLOCK ") {
                let n: usize = std::str::from_utf8(n).unwrap().parse().unwrap();
                assert!(
                    *is_block && n == exp.len(),
                    "record {}: BLOCK {n}",
                    self.idx
                );
                self.block = Some(n);
                chat.set_terminator(n);
            } else {
                assert!(!*is_block && data == *exp, "line {} differs", self.idx);
                self.idx += 1;
            }
        }
        if self.idx == self.expected.len() {
            *self.done.borrow_mut() = Some(self.received);
            chat.close()?;
        }
        Ok(())
    }
    fn handle_connect(&mut self, _: &mut Chat<'_, '_>) -> io::Result<()> {
        Ok(())
    }
    fn handle_close(&mut self, _: &mut Chat<'_, '_>) -> io::Result<()> {
        Err(io::Error::other(format!(
            "the server closed after {} of {} records",
            self.idx,
            self.expected.len()
        )))
    }
    fn handle_error(&mut self, _: &mut Chat<'_, '_>, err: io::Error) -> io::Result<()> {
        Err(err)
    }
}

/// A Rust `AsyncChat` client against a CPython asynchat server, same
/// protocol, ~1.5 MB each way, every byte checked by the client; the server's
/// counters (printed at exit) must match.
fn interop_rust_client_cpython_server(b: Backend) {
    // The CPython server (python3 is needed for the interop tests).
    let mut child = Proc::python("asynchat_line_server.py", &[]);
    let port = child.port_line();

    let messages = proto_messages();
    let mut sent = 0;
    let mut lines = 0;
    let done: Shared<Option<usize>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let t = {
        let client = ProtoClient {
            expected: messages.clone(),
            idx: 0,
            data: Vec::new(),
            block: None,
            received: 0,
            done: done.clone(),
        };
        let mut cx = ev.add(AsyncChat::new(client).with_terminator("\r\n"));
        cx.create_socket(AF_INET, SOCK_STREAM).unwrap();
        cx.connect(("127.0.0.1", port)).unwrap();
        cx.token()
    };
    with_chat(&mut ev, t, |_: &mut ProtoClient, chat| {
        for (is_block, data) in &messages {
            let mut out = if *is_block {
                format!("LEN {}\r\n", data.len()).into_bytes()
            } else {
                lines += 1;
                Vec::new()
            };
            out.extend_from_slice(data);
            if !is_block {
                out.extend_from_slice(b"\r\n");
            }
            sent += out.len();
            chat.push(out).unwrap();
        }
        assert_eq!(chat.queued_bytes(), sent, "queued while connecting");
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ev.is_empty() {
        // (On failure the server is killed when `child` drops.)
        assert!(Instant::now() <= deadline, "the exchange did not complete");
        ev.run_loop(Some(Duration::from_millis(10)), Some(1))
            .unwrap();
    }
    let received = done.borrow().expect("the client never got every echo");
    let status = child.wait(util::secs(10));
    let rest = child.rest(util::secs(10));
    assert!(status.success(), "CPython server failed: {rest}");
    let blocks = messages.len() - lines;
    assert_eq!(
        rest.trim(),
        format!("served lines={lines} blocks={blocks} received={sent} sent={received}")
    );
    assert!(sent >= MIB && received >= MIB);
}

backend_tests!(
    interop_cpython_client_rust_server,
    interop_rust_client_cpython_server
);
