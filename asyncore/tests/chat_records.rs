//! `ChatHandler::found_record`, on every backend: a record that arrived
//! whole is handed over in place; one that arrived in pieces goes through
//! `collect_incoming_data` and `found_terminator`; a handler that does not
//! override the hook sees asynchat's sequence, with its stops between the
//! two hooks.

#[macro_use]
mod util;
use util::{ms, run_until, run_until_empty, secs, unix_pair, Proc};

use asyncore_loop::chat::{AsyncChat, Chat, ChatHandler, Terminator};
use asyncore_loop::{Backend, Token};
use std::cell::RefCell;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::rc::Rc;

/// What a handler saw, hook by hook.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// `found_record(record)`
    Record(Vec<u8>),
    /// `collect_incoming_data(data)`
    Data(Vec<u8>),
    /// `found_terminator()`
    Term,
}

type Shared<T> = Rc<RefCell<T>>;

fn record(r: &str) -> Seen {
    Seen::Record(r.as_bytes().to_vec())
}

fn data(d: &str) -> Seen {
    Seen::Data(d.as_bytes().to_vec())
}

/// Records every hook; `on_record` runs after `found_record` is noted, and
/// `on_data` after `collect_incoming_data` is.
struct Records {
    seen: Shared<Vec<Seen>>,
    on_record: fn(&mut Chat<'_, '_>, &[u8]) -> io::Result<()>,
}

impl Records {
    fn new(seen: &Shared<Vec<Seen>>) -> Self {
        Records {
            seen: seen.clone(),
            on_record: |_, _| Ok(()),
        }
    }
}

impl ChatHandler for Records {
    fn found_record(&mut self, chat: &mut Chat<'_, '_>, record: &[u8]) -> io::Result<()> {
        self.seen.borrow_mut().push(Seen::Record(record.to_vec()));
        (self.on_record)(chat, record)
    }
    fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, data: &[u8]) -> io::Result<()> {
        self.seen.borrow_mut().push(Seen::Data(data.to_vec()));
        Ok(())
    }
    fn found_terminator(&mut self, _: &mut Chat<'_, '_>) -> io::Result<()> {
        self.seen.borrow_mut().push(Seen::Term);
        Ok(())
    }
}

/// The two asynchat hooks only; `on_data` runs after a piece is noted.
struct Pieces {
    seen: Shared<Vec<Seen>>,
    on_data: fn(&mut Chat<'_, '_>) -> io::Result<()>,
}

impl ChatHandler for Pieces {
    fn collect_incoming_data(&mut self, chat: &mut Chat<'_, '_>, data: &[u8]) -> io::Result<()> {
        self.seen.borrow_mut().push(Seen::Data(data.to_vec()));
        (self.on_data)(chat)
    }
    fn found_terminator(&mut self, _: &mut Chat<'_, '_>) -> io::Result<()> {
        self.seen.borrow_mut().push(Seen::Term);
        Ok(())
    }
}

/// Runs one pass at a time until `seen` holds `n` entries (5 s at most).
fn run_until_seen(ev: &mut asyncore_loop::EventLoop, seen: &Shared<Vec<Seen>>, n: usize) {
    let seen = seen.clone();
    run_until(ev, move |_| seen.borrow().len() >= n);
}

/// Records and their terminators sent together come whole, an empty one
/// too; a terminator changed in `found_record` applies to the rest of the
/// same input, a count included.
fn whole_records_come_in_place(b: Backend) {
    let (a, mut peer) = unix_pair();
    peer.write_all(b"one\r\ntwo\r\n\r\nsize 3\r\nabcrest\r\n")
        .unwrap();
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let mut h = Records::new(&seen);
    h.on_record = |chat, record| {
        if record.starts_with(b"size ") {
            chat.set_terminator(3usize);
        } else if chat.terminator() == &Terminator::Count(0) {
            chat.set_terminator("\r\n");
        }
        Ok(())
    };
    ev.add(AsyncChat::new(h).with_terminator("\r\n"))
        .adopt(a)
        .unwrap();
    run_until_seen(&mut ev, &seen, 6);
    assert_eq!(
        *seen.borrow(),
        [
            record("one"),
            record("two"),
            record(""),
            record("size 3"),
            record("abc"),
            record("rest"),
        ]
    );
}

/// A record that arrived in pieces goes through the two hooks, including
/// one whose terminator was cut between two reads; the next whole record
/// comes whole again.
fn split_records_come_in_pieces(b: Backend) {
    let (a, mut peer) = unix_pair();
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    ev.add(AsyncChat::new(Records::new(&seen)).with_terminator("\r\n"))
        .adopt(a)
        .unwrap();
    peer.write_all(b"ab").unwrap();
    run_until_seen(&mut ev, &seen, 1);
    peer.write_all(b"c\r\nd\r\nxy\r").unwrap();
    run_until_seen(&mut ev, &seen, 5);
    peer.write_all(b"\nz\r\n").unwrap();
    run_until_seen(&mut ev, &seen, 7);
    assert_eq!(
        *seen.borrow(),
        [
            data("ab"),
            data("c"),
            Seen::Term,
            record("d"),
            data("xy"),
            Seen::Term,
            record("z"),
        ]
    );
}

/// Without `found_record`, a whole record comes as asynchat delivers it
/// (no `collect_incoming_data` for an empty one), and a close in
/// `collect_incoming_data` still stops the input before `found_terminator`.
fn the_default_gives_asynchats_hooks(b: Backend) {
    let (a, mut peer) = unix_pair();
    peer.write_all(b"a\n\nb\n").unwrap();
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let h = Pieces {
        seen: seen.clone(),
        on_data: |_| Ok(()),
    };
    ev.add(AsyncChat::new(h).with_terminator("\n"))
        .adopt(a)
        .unwrap();
    run_until_seen(&mut ev, &seen, 5);
    assert_eq!(
        *seen.borrow(),
        [data("a"), Seen::Term, Seen::Term, data("b"), Seen::Term]
    );

    let (a, mut peer) = unix_pair();
    peer.write_all(b"a\nb\n").unwrap();
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let h = Pieces {
        seen: seen.clone(),
        on_data: |chat| chat.close(),
    };
    ev.add(AsyncChat::new(h).with_terminator("\n"))
        .adopt(a)
        .unwrap();
    run_until_empty(&mut ev);
    assert_eq!(*seen.borrow(), [data("a")]);
}

/// A close in `found_record` stops the input; a `discard_buffers` there
/// drops the rest of it.
fn a_close_or_a_discard_in_found_record_stops_there(b: Backend) {
    let (a, mut peer) = unix_pair();
    peer.write_all(b"a\nb\nc\n").unwrap();
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let mut h = Records::new(&seen);
    h.on_record = |chat, _| chat.close();
    ev.add(AsyncChat::new(h).with_terminator("\n"))
        .adopt(a)
        .unwrap();
    run_until_empty(&mut ev);
    assert_eq!(*seen.borrow(), [record("a")]);

    let (a, mut peer) = unix_pair();
    peer.write_all(b"a\nb\nc\n").unwrap();
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut h = Records::new(&seen);
    h.on_record = |chat, _| {
        chat.discard_buffers();
        Ok(())
    };
    let t: Token = ev
        .add(AsyncChat::new(h).with_terminator("\n"))
        .adopt(a)
        .unwrap();
    run_until_seen(&mut ev, &seen, 1);
    ev.run_loop(Some(ms(20)), Some(2)).unwrap();
    assert_eq!(*seen.borrow(), [record("a")]);
    peer.write_all(b"d\n").unwrap();
    run_until_seen(&mut ev, &seen, 2);
    assert_eq!(*seen.borrow(), [record("a"), record("d")]);
    assert!(ev.contains(t));
}

/// Answers pushed from `found_record` under back-pressure (a high-water
/// mark of 8 bytes): reading pauses and resumes, and every line comes back
/// in order, whichever way the lines were cut.
fn an_echo_from_found_record_keeps_order_under_back_pressure(b: Backend) {
    let (a, mut peer) = unix_pair();
    let lines: Vec<String> = (0..2000).map(|i| format!("line {i}\r\n")).collect();
    let sent = lines.concat();
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let mut h = Records::new(&seen);
    h.on_record = |chat, line| {
        chat.push(line)?;
        chat.push("\r\n")
    };
    // Split records go through `found_terminator`, which this handler only
    // notes: send the lines in pieces that never cut one.
    ev.add(
        AsyncChat::new(h)
            .with_terminator("\r\n")
            .with_water_marks(8, 4),
    )
    .adopt(a)
    .unwrap();
    let writer = {
        let mut peer = peer.try_clone().unwrap();
        let lines = lines.clone();
        std::thread::spawn(move || {
            for group in lines.chunks(7) {
                peer.write_all(group.concat().as_bytes()).unwrap();
            }
        })
    };
    let mut got = vec![0u8; sent.len()];
    let reader = std::thread::spawn(move || {
        peer.read_exact(&mut got).unwrap();
        got
    });
    run_until_seen(&mut ev, &seen, lines.len());
    run_until(&mut ev, |_| reader.is_finished());
    writer.join().unwrap();
    let got = reader.join().unwrap();
    assert_eq!(String::from_utf8(got).unwrap(), sent);
    assert!(
        seen.borrow().iter().all(|s| matches!(s, Seen::Record(_))),
        "lines never cut by the writer come whole"
    );
}

/// The line echo example, a user of `found_record`, over TCP: lines sent
/// whole, a line cut across three writes, a line past its 64 KiB limit
/// (an error line, and the connection goes on), then one more line.
fn the_line_echo_example_answers_whole_and_split_lines(b: Backend) {
    let example = util::example_binary("line_echo");
    let mut server = Proc::spawn(
        Command::new(&example)
            .args(["127.0.0.1:0", b.name()])
            .stdin(std::process::Stdio::null()),
    );
    let line = server.line(secs(10));
    let addr = line
        .strip_prefix("listening on ")
        .expect("the address line");
    let mut peer = TcpStream::connect(addr).unwrap();
    peer.set_read_timeout(Some(secs(5))).unwrap();
    peer.set_nodelay(true).unwrap();
    let mut replies = BufReader::new(peer.try_clone().unwrap());
    let mut reply = || {
        let mut r = String::new();
        replies.read_line(&mut r).unwrap();
        r
    };

    peer.write_all(b"one\r\ntwo\r\n\r\n").unwrap();
    assert_eq!([reply(), reply(), reply()], ["one\r\n", "two\r\n", "\r\n"]);
    for piece in [&b"thr"[..], b"ee\r", b"\n"] {
        peer.write_all(piece).unwrap();
        std::thread::sleep(ms(30));
    }
    assert_eq!(reply(), "three\r\n");
    let long = vec![b'x'; (64 << 10) + 1];
    peer.write_all(&long).unwrap();
    peer.write_all(b"\r\nfour\r\n").unwrap();
    assert_eq!(
        reply(),
        "-ERR record of 65537 bytes exceeds the limit of 65536 bytes\r\n"
    );
    assert_eq!(reply(), "four\r\n");
    drop(peer);
    server.kill();
}

backend_tests!(
    the_line_echo_example_answers_whole_and_split_lines,
    whole_records_come_in_place,
    split_records_come_in_pieces,
    the_default_gives_asynchats_hooks,
    a_close_or_a_discard_in_found_record_stops_there,
    an_echo_from_found_record_keeps_order_under_back_pressure,
);
