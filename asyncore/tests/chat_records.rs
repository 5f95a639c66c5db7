//! `ChatHandler::found_record` and `Chat::next_record`, on every backend: a
//! record that arrived whole is handed over in place; one that arrived in
//! pieces goes through `collect_incoming_data` and `found_terminator`; a
//! handler that does not override the hook sees asynchat's sequence, with
//! its stops between the two hooks; the records read with one are taken
//! whole, with the same stops; `found_records` gets them in runs.

#[macro_use]
mod util;
use util::{ms, run_until, run_until_empty, secs, unix_pair, Proc};

use asyncore_loop::chat::{AsyncChat, Chat, ChatHandler, Records as Run, Terminator};
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
    /// `chat.next_record()`: the data, and the record as received
    Taken(Vec<u8>, Vec<u8>),
    /// `found_records(records)`: as received, and how many
    Run(Vec<u8>, usize),
}

type Shared<T> = Rc<RefCell<T>>;

fn record(r: &str) -> Seen {
    Seen::Record(r.as_bytes().to_vec())
}

fn data(d: &str) -> Seen {
    Seen::Data(d.as_bytes().to_vec())
}

fn taken(d: &str, received: &str) -> Seen {
    Seen::Taken(d.as_bytes().to_vec(), received.as_bytes().to_vec())
}

fn run(received: &str, count: usize) -> Seen {
    Seen::Run(received.as_bytes().to_vec(), count)
}

/// Takes the records already whole behind the one in hand, noting each and
/// passing it to `then`, until `next_record` gives none.
fn take_rest(
    seen: &Shared<Vec<Seen>>,
    chat: &mut Chat<'_, '_>,
    then: fn(&mut Chat<'_, '_>, &[u8]) -> io::Result<()>,
) -> io::Result<()> {
    while let Some(r) = chat.next_record() {
        let entry = Seen::Taken(r.data().to_vec(), r.as_received().to_vec());
        seen.borrow_mut().push(entry);
        then(chat, r.data())?;
    }
    Ok(())
}

/// Records every hook; `on_record` runs after `found_record` is noted, and
/// `on_data` after `collect_incoming_data` is.
/// With `take`, `found_record` then takes the records behind its own with
/// `next_record`, each noted and given to `on_record` too.
struct EachRecord {
    seen: Shared<Vec<Seen>>,
    on_record: fn(&mut Chat<'_, '_>, &[u8]) -> io::Result<()>,
    take: bool,
}

impl EachRecord {
    fn new(seen: &Shared<Vec<Seen>>) -> Self {
        EachRecord {
            seen: seen.clone(),
            on_record: |_, _| Ok(()),
            take: false,
        }
    }

    fn taking(seen: &Shared<Vec<Seen>>) -> Self {
        EachRecord {
            take: true,
            ..EachRecord::new(seen)
        }
    }
}

impl ChatHandler for EachRecord {
    fn found_record(&mut self, chat: &mut Chat<'_, '_>, record: &[u8]) -> io::Result<()> {
        self.seen.borrow_mut().push(Seen::Record(record.to_vec()));
        (self.on_record)(chat, record)?;
        if self.take {
            take_rest(&self.seen, chat, self.on_record)?;
        }
        Ok(())
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

/// Takes whole records in runs (`found_records`); `on_run` runs after a
/// run is noted, with its bytes as received. Each run is also cut into its
/// records (`Records::iter`), noted in `cuts`, as many as the run counts.
struct Runs {
    seen: Shared<Vec<Seen>>,
    cuts: Shared<Vec<Vec<Cut>>>,
    on_run: fn(&mut Chat<'_, '_>, &[u8]) -> io::Result<()>,
}

/// A record cut from a run: its data, and the record as received.
type Cut = (Vec<u8>, Vec<u8>);

fn cut(d: &str, received: &str) -> Cut {
    (d.as_bytes().to_vec(), received.as_bytes().to_vec())
}

impl Runs {
    fn new(seen: &Shared<Vec<Seen>>) -> Self {
        Runs {
            seen: seen.clone(),
            cuts: Rc::default(),
            on_run: |_, _| Ok(()),
        }
    }
}

impl ChatHandler for Runs {
    fn found_records(&mut self, chat: &mut Chat<'_, '_>, records: Run<'_>) -> io::Result<()> {
        let received = records.as_received();
        let seen = Seen::Run(received.to_vec(), records.count());
        self.seen.borrow_mut().push(seen);
        let cuts: Vec<Cut> = records
            .iter()
            .map(|r| (r.data().to_vec(), r.as_received().to_vec()))
            .collect();
        assert_eq!(cuts.len(), records.count(), "{cuts:?}");
        self.cuts.borrow_mut().push(cuts);
        (self.on_run)(chat, received)
    }
    fn found_record(&mut self, _: &mut Chat<'_, '_>, record: &[u8]) -> io::Result<()> {
        panic!("found_record({record:?}) with found_records taking the runs");
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

/// A chat channel with `handler`, framed by `terminator`, on one end of a
/// socket pair; `sent` is already written at the other end, which is
/// returned (dropping it ends the stream).
fn chat_peer<H: ChatHandler>(
    ev: &mut asyncore_loop::EventLoop,
    handler: H,
    terminator: impl Into<Terminator>,
    sent: &[u8],
) -> (Token, std::os::unix::net::UnixStream) {
    let (a, mut peer) = unix_pair();
    peer.write_all(sent).unwrap();
    let t = ev
        .add(AsyncChat::new(handler).with_terminator(terminator))
        .adopt(a)
        .unwrap();
    (t, peer)
}

/// Runs one pass at a time until `seen` holds `n` entries (5 s at most).
fn run_until_seen(ev: &mut asyncore_loop::EventLoop, seen: &Shared<Vec<Seen>>, n: usize) {
    let seen = seen.clone();
    run_until(ev, move |_| seen.borrow().len() >= n);
}

/// `size 3` announces a body of 3 bytes (a count); after it, lines again.
fn body_after_size(chat: &mut Chat<'_, '_>, record: &[u8]) -> io::Result<()> {
    if record.starts_with(b"size ") {
        chat.set_terminator(3usize);
    } else if chat.terminator() == &Terminator::Count(0) {
        chat.set_terminator("\r\n");
    }
    Ok(())
}

/// Records and their terminators sent together come whole, an empty one
/// too; a terminator changed in `found_record` applies to the rest of the
/// same input, a count included.
fn whole_records_come_in_place(b: Backend) {
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let mut h = EachRecord::new(&seen);
    h.on_record = body_after_size;
    let (_t, _peer) = chat_peer(
        &mut ev,
        h,
        "\r\n",
        b"one\r\ntwo\r\n\r\nsize 3\r\nabcrest\r\n",
    );
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
    ev.add(AsyncChat::new(EachRecord::new(&seen)).with_terminator("\r\n"))
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
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let h = Pieces {
        seen: seen.clone(),
        on_data: |_| Ok(()),
    };
    let (_t, _peer) = chat_peer(&mut ev, h, "\n", b"a\n\nb\n");
    run_until_seen(&mut ev, &seen, 5);
    assert_eq!(
        *seen.borrow(),
        [data("a"), Seen::Term, Seen::Term, data("b"), Seen::Term]
    );

    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let h = Pieces {
        seen: seen.clone(),
        on_data: |chat| chat.close(),
    };
    let (_t, _peer) = chat_peer(&mut ev, h, "\n", b"a\nb\n");
    run_until_empty(&mut ev);
    assert_eq!(*seen.borrow(), [data("a")]);
}

/// A close in `found_record` stops the input; a `discard_buffers` there
/// drops the rest of it.
fn a_close_or_a_discard_in_found_record_stops_there(b: Backend) {
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let mut h = EachRecord::new(&seen);
    h.on_record = |chat, _| chat.close();
    let (_t, _peer) = chat_peer(&mut ev, h, "\n", b"a\nb\nc\n");
    run_until_empty(&mut ev);
    assert_eq!(*seen.borrow(), [record("a")]);

    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut h = EachRecord::new(&seen);
    h.on_record = |chat, _| {
        chat.discard_buffers();
        Ok(())
    };
    let (t, mut peer) = chat_peer(&mut ev, h, "\n", b"a\nb\nc\n");
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
    echo_under_back_pressure(b, false);
}

/// The same echo taking the records read with each one (`next_record`):
/// the taking stops where back-pressure pauses the hooks, so the queue
/// passes the high-water mark by one record's answer at most.
fn an_echo_taking_records_keeps_order_under_back_pressure(b: Backend) {
    echo_under_back_pressure(b, true);
}

fn echo_under_back_pressure(b: Backend, take: bool) {
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut h = if take {
        EachRecord::taking(&seen)
    } else {
        EachRecord::new(&seen)
    };
    h.on_record = |chat, line| {
        chat.push(line)?;
        chat.push("\r\n")?;
        // The mark (8), then one answer of at most 11 bytes.
        assert!(chat.queued_bytes() <= 19, "{} queued", chat.queued_bytes());
        Ok(())
    };
    echo_lines_with_a_mark_of_8(b, h);
    let seen = seen.borrow();
    assert!(
        seen.iter()
            .all(|s| matches!(s, Seen::Record(_) | Seen::Taken(..))),
        "lines never cut by the writer come whole"
    );
    let taken = seen.iter().filter(|s| matches!(s, Seen::Taken(..))).count();
    assert_eq!(take, taken > 0, "{taken} records taken");
}

/// `next_record` takes the records read with the one in hand, as the hooks
/// would give them: a terminator set after one record frames the next (a
/// count included), a record not yet whole stays for the hooks, and an
/// empty line ends a `BlankLine` record.
fn next_record_takes_the_records_read_with_this_one(b: Backend) {
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let mut h = EachRecord::taking(&seen);
    h.on_record = body_after_size;
    let (_t, mut peer) = chat_peer(
        &mut ev,
        h,
        "\r\n",
        b"one\r\ntwo\r\n\r\nsize 3\r\nabcrest\r\npa",
    );
    run_until_seen(&mut ev, &seen, 7);
    peer.write_all(b"rt\r\nx\r\n").unwrap();
    run_until_seen(&mut ev, &seen, 10);
    assert_eq!(
        *seen.borrow(),
        [
            record("one"),
            taken("two", "two\r\n"),
            taken("", "\r\n"),
            taken("size 3", "size 3\r\n"),
            taken("abc", "abc"),
            taken("rest", "rest\r\n"),
            data("pa"),
            data("rt"),
            Seen::Term,
            record("x"),
        ]
    );

    let seen: Shared<Vec<Seen>> = Rc::default();
    let (_t, _peer) = chat_peer(
        &mut ev,
        EachRecord::taking(&seen),
        Terminator::BlankLine,
        b"a\nb\n\n\nc\n\r\n",
    );
    run_until_seen(&mut ev, &seen, 3);
    assert_eq!(
        *seen.borrow(),
        [record("a\nb\n"), taken("", "\n"), taken("c\n", "c\n\r\n")]
    );
}

/// A close among the records taken ends the taking; so does a
/// `discard_buffers`, which drops the rest of the input.
fn next_record_stops_at_a_close_or_a_discard(b: Backend) {
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let mut h = EachRecord::taking(&seen);
    h.on_record = |chat, r| if r == b"b" { chat.close() } else { Ok(()) };
    let (_t, _peer) = chat_peer(&mut ev, h, "\n", b"a\nb\nc\n");
    run_until_empty(&mut ev);
    assert_eq!(*seen.borrow(), [record("a"), taken("b", "b\n")]);

    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut h = EachRecord::taking(&seen);
    h.on_record = |chat, r| {
        if r == b"b" {
            chat.discard_buffers();
        }
        Ok(())
    };
    let (t, mut peer) = chat_peer(&mut ev, h, "\n", b"a\nb\nc\n");
    run_until_seen(&mut ev, &seen, 2);
    ev.run_loop(Some(ms(20)), Some(2)).unwrap();
    assert_eq!(*seen.borrow(), [record("a"), taken("b", "b\n")]);
    peer.write_all(b"d\ne\n").unwrap();
    run_until_seen(&mut ev, &seen, 4);
    assert_eq!(
        *seen.borrow(),
        [
            record("a"),
            taken("b", "b\n"),
            record("d"),
            taken("e", "e\n")
        ]
    );
    assert!(ev.contains(t));
}

/// `found_records` gets every record whole in the input at once, as
/// received; a record in pieces still comes through the two hooks; a
/// terminator set in `found_records` applies after the run (a count
/// included); an empty line ends a `BlankLine` record.
fn whole_records_come_in_runs(b: Backend) {
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let h = Runs::new(&seen);
    let cuts = h.cuts.clone();
    let (_t, mut peer) = chat_peer(&mut ev, h, "\r\n", b"a\r\nb\r\n\r\nc");
    run_until_seen(&mut ev, &seen, 2);
    peer.write_all(b"d\r\ne\r\n").unwrap();
    run_until_seen(&mut ev, &seen, 5);
    assert_eq!(
        *seen.borrow(),
        [
            run("a\r\nb\r\n\r\n", 3),
            data("c"),
            data("d"),
            Seen::Term,
            run("e\r\n", 1),
        ]
    );
    assert_eq!(
        *cuts.borrow(),
        [
            vec![cut("a", "a\r\n"), cut("b", "b\r\n"), cut("", "\r\n")],
            vec![cut("e", "e\r\n")],
        ]
    );

    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut h = Runs::new(&seen);
    h.on_run = |chat, received| {
        if received.ends_with(b"size 3\r\n") {
            chat.set_terminator(3usize);
        } else if chat.terminator() == &Terminator::Count(0) {
            chat.set_terminator("\r\n");
        }
        Ok(())
    };
    let cuts = h.cuts.clone();
    let (_t, mut peer) = chat_peer(&mut ev, h, "\r\n", b"x\r\nsize 3\r\n");
    run_until_seen(&mut ev, &seen, 1);
    peer.write_all(b"abcrest\r\n").unwrap();
    run_until_seen(&mut ev, &seen, 3);
    assert_eq!(
        *seen.borrow(),
        [run("x\r\nsize 3\r\n", 2), run("abc", 1), run("rest\r\n", 1)]
    );
    // Cut by the terminator that framed the run, not the one set since.
    assert_eq!(
        *cuts.borrow(),
        [
            vec![cut("x", "x\r\n"), cut("size 3", "size 3\r\n")],
            vec![cut("abc", "abc")],
            vec![cut("rest", "rest\r\n")],
        ]
    );

    let seen: Shared<Vec<Seen>> = Rc::default();
    let h = Runs::new(&seen);
    let cuts = h.cuts.clone();
    let sent = b"a\nb\n\n\nc\n\r\n\r\nd\r\n\n";
    let (_t, _peer) = chat_peer(&mut ev, h, Terminator::BlankLine, sent);
    run_until_seen(&mut ev, &seen, 1);
    assert_eq!(*seen.borrow(), [run("a\nb\n\n\nc\n\r\n\r\nd\r\n\n", 5)]);
    assert_eq!(
        *cuts.borrow(),
        [vec![
            cut("a\nb\n", "a\nb\n\n"),
            cut("", "\n"),
            cut("c\n", "c\n\r\n"),
            cut("", "\r\n"),
            cut("d\r\n", "d\r\n\n"),
        ]]
    );
}

/// A close in `found_records` stops the input after the run.
fn a_close_in_found_records_stops_there(b: Backend) {
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut ev = util::event_loop(b, ());
    let mut h = Runs::new(&seen);
    h.on_run = |chat, _| chat.close();
    let (_t, _peer) = chat_peer(&mut ev, h, "\n", b"a\nb\nc");
    run_until_empty(&mut ev);
    assert_eq!(*seen.borrow(), [run("a\nb\n", 2)]);
}

/// An echo of runs under back-pressure (a high-water mark of 8 bytes):
/// every line comes back in order, and the queue passes the mark by one
/// run (one read) at most.
fn an_echo_of_runs_keeps_order_under_back_pressure(b: Backend) {
    let seen: Shared<Vec<Seen>> = Rc::default();
    let mut h = Runs::new(&seen);
    h.on_run = |chat, received| {
        chat.push(received)?;
        assert!(
            chat.queued_bytes() <= 8 + received.len(),
            "{} queued",
            chat.queued_bytes()
        );
        Ok(())
    };
    let lines = echo_lines_with_a_mark_of_8(b, h);
    let seen = seen.borrow();
    let total: usize = seen
        .iter()
        .map(|s| match s {
            Seen::Run(_, n) => *n,
            other => panic!("lines never cut by the writer come whole: {other:?}"),
        })
        .sum();
    assert_eq!(total, lines);
    assert!(seen.len() < lines, "{} runs for {lines} lines", seen.len());
}

/// Echoes 2000 lines through `handler` on a chat channel with a
/// high-water mark of 8 bytes, written in groups of 7 lines that never cut
/// one, and checks that they all come back in order; gives the number of
/// lines.
fn echo_lines_with_a_mark_of_8<H: ChatHandler>(b: Backend, handler: H) -> usize {
    let (a, mut peer) = unix_pair();
    let lines: Vec<String> = (0..2000).map(|i| format!("line {i}\r\n")).collect();
    let sent = lines.concat();
    let mut ev = util::event_loop(b, ());
    ev.add(
        AsyncChat::new(handler)
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
    // The reader hands its socket back: dropped there, it would end the
    // stream, and the channel could close before the thread is seen done.
    let reader = std::thread::spawn(move || {
        peer.read_exact(&mut got).unwrap();
        (got, peer)
    });
    run_until(&mut ev, |_| reader.is_finished());
    writer.join().unwrap();
    let (got, _peer) = reader.join().unwrap();
    assert_eq!(String::from_utf8(got).unwrap(), sent);
    lines.len()
}

/// The line echo example, a user of `found_records`, over TCP: lines sent
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
    an_echo_taking_records_keeps_order_under_back_pressure,
    next_record_takes_the_records_read_with_this_one,
    next_record_stops_at_a_close_or_a_discard,
    whole_records_come_in_runs,
    a_close_in_found_records_stops_there,
    an_echo_of_runs_keeps_order_under_back_pressure,
);
