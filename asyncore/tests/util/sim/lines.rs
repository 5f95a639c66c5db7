//! A line protocol on `AsyncChat` for the simulated runs: each line comes
//! back with a newline, a line starting with `P` three times through a
//! producer (or, in half of the runs, a `FileRegion` of a temp file: the
//! read-and-send path of `Cx::send_file`). The expected replies for any
//! prefix of a peer's input are computed here, once.

use super::{Ev, Probe, Trace};
use asyncore_loop::chat::{
    AsyncChat, Chat, ChatHandler, FileRegion, Record, Records, SimpleProducer,
};
use asyncore_loop::sim::SimNet;
use asyncore_loop::{Cx, Dispatcher, EventLoop, SockAddr, Socket};
use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The longest line a peer sends (without its newline).
pub const MAX_LINE: usize = 60;
/// A reply is at most three copies of a line and a newline.
pub const MAX_REPLY: usize = 3 * MAX_LINE + 1;

/// The replies a server owes for the complete lines in `input`: a line
/// starting with `P` comes back three times through a producer, any other
/// once, each with a newline.
/// The reply to one line (without its newline).
pub fn replies_to(line: &[u8]) -> Vec<u8> {
    let mut out = line.to_vec();
    if line.first() == Some(&b'P') {
        out.extend_from_slice(line);
        out.extend_from_slice(line);
    }
    out.push(b'\n');
    out
}

pub fn replies(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut lines = input.split(|&b| b == b'\n');
    let complete = input.iter().filter(|&&b| b == b'\n').count();
    for line in lines.by_ref().take(complete) {
        out.extend_from_slice(line);
        if line.first() == Some(&b'P') {
            out.extend_from_slice(line);
            out.extend_from_slice(line);
        }
        out.push(b'\n');
    }
    out
}

pub struct LineEcho {
    pub id: u32,
    pub line: Vec<u8>,
    pub high: usize,
    pub producer_size: usize,
    /// Which peer this channel serves (its first line says `I<n>`), while
    /// its replies are promised: until `handle_shutdown`.
    pub peer: Option<u64>,
    pub shut: bool,
    /// `P` replies as a file region rather than a producer.
    pub files: bool,
    /// Replies that may be queued beyond the back-pressure bound: those
    /// the current `found_records` call already pushed (a run is answered
    /// in one hook).
    pub run_slack: usize,
}

/// `bytes` in a temp file, open, already unlinked.
fn reply_file(bytes: &[u8]) -> io::Result<File> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("asyncore-sim-{}-{n}", std::process::id()));
    let mut file = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    file.write_all(bytes)?;
    Ok(file)
}

impl LineEcho {
    /// The reply to one complete line, and the promise it makes.
    fn answer(&mut self, chat: &mut Chat<'_, '_, Trace>, mut line: Vec<u8>) -> io::Result<()> {
        if self.peer.is_none() {
            self.peer = line
                .strip_prefix(b"I")
                .and_then(|n| std::str::from_utf8(n).ok()?.parse().ok());
        }
        if let (Some(peer), false) = (self.peer, self.shut) {
            let promised = chat.state().bytes.entry(peer).or_default();
            promised.extend_from_slice(&replies_to(&line));
        }
        if line.first() == Some(&b'P') {
            let mut reply = line.repeat(3);
            reply.push(b'\n');
            if self.files {
                let len = reply.len() as u64;
                chat.push_file(FileRegion::new(reply_file(&reply)?, 0, len))?;
            } else {
                chat.push_with_producer(Box::new(SimpleProducer::new(reply, self.producer_size)))?;
            }
        } else {
            line.push(b'\n');
            chat.push(line)?;
        }
        let bound = self.high + MAX_REPLY + self.run_slack;
        let (ch, bytes) = (self.id, chat.queued_bytes());
        chat.state().push(Ev::Queued { ch, bytes, bound });
        Ok(())
    }
}

impl ChatHandler<Trace> for LineEcho {
    fn collect_incoming_data(
        &mut self,
        _: &mut Chat<'_, '_, Trace>,
        data: &[u8],
    ) -> io::Result<()> {
        self.line.extend_from_slice(data);
        Ok(())
    }

    fn found_terminator(&mut self, chat: &mut Chat<'_, '_, Trace>) -> io::Result<()> {
        let line = std::mem::take(&mut self.line);
        self.answer(chat, line)
    }

    fn handle_close(&mut self, chat: &mut Chat<'_, '_, Trace>) -> io::Result<()> {
        chat.state().log_close(self.id);
        chat.close()
    }

    /// asynchat's default (close once the queued output is sent); what
    /// was pushed before it is promised to the peer.
    fn handle_shutdown(&mut self, chat: &mut Chat<'_, '_, Trace>) -> io::Result<()> {
        self.shut = true;
        chat.close_when_done();
        chat.initiate_send()
    }
}

/// How lines that arrive whole are taken (seeded once per run); a line cut
/// across reads comes in pieces through the two asynchat hooks whatever
/// the choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whole {
    /// Only through the two hooks (`LineEcho` alone).
    Hooks,
    /// One by one, in place (`found_record`).
    Record,
    /// `found_record`, then the lines behind it with `Chat::next_record`.
    NextRecord,
    /// In runs (`found_records`), split into lines here.
    Runs,
}

/// The same protocol, answering the lines that arrived whole in place, as
/// `Whole` says (never `Whole::Hooks`).
pub struct WholeLines(pub LineEcho, pub Whole);

impl WholeLines {
    fn answer_whole(&mut self, chat: &mut Chat<'_, '_, Trace>, line: &[u8]) -> io::Result<()> {
        // A record comes whole only when nothing of it came before.
        assert!(
            self.0.line.is_empty(),
            "a whole record after a piece of it: {:?} then {line:?}",
            self.0.line
        );
        self.0.answer(chat, line.to_vec())
    }
}

impl ChatHandler<Trace> for WholeLines {
    fn found_record(&mut self, chat: &mut Chat<'_, '_, Trace>, line: &[u8]) -> io::Result<()> {
        assert_ne!(
            self.1,
            Whole::Runs,
            "found_record with found_records taking the runs"
        );
        self.answer_whole(chat, line)?;
        if self.1 == Whole::NextRecord {
            while let Some(record) = chat.next_record() {
                assert_eq!(record.as_received(), [record.data(), b"\n"].concat());
                self.answer_whole(chat, record.data())?;
            }
        }
        Ok(())
    }

    fn found_records(
        &mut self,
        chat: &mut Chat<'_, '_, Trace>,
        run: Records<'_>,
    ) -> io::Result<()> {
        if self.1 != Whole::Runs {
            // Any other choice keeps the per-record hooks: this default's
            // decline is the one a handler without the hook gets.
            return Declines.found_records(chat, run);
        }
        // The run cut into its lines, checked against a split by hand.
        let lines: Vec<Record<'_>> = run.iter().collect();
        let by_hand: Vec<&[u8]> = run.as_received().split_inclusive(|&b| b == b'\n').collect();
        let cut: Vec<&[u8]> = lines.iter().map(|r| r.as_received()).collect();
        assert_eq!(cut, by_hand);
        assert_eq!(lines.len(), run.count());
        for (i, line) in lines.iter().enumerate() {
            assert_eq!(line.as_received(), [line.data(), b"\n"].concat());
            self.0.run_slack = i * MAX_REPLY;
            let answered = self.answer_whole(chat, line.data());
            self.0.run_slack = 0;
            answered?;
        }
        Ok(())
    }

    fn collect_incoming_data(
        &mut self,
        chat: &mut Chat<'_, '_, Trace>,
        data: &[u8],
    ) -> io::Result<()> {
        self.0.collect_incoming_data(chat, data)
    }

    fn found_terminator(&mut self, chat: &mut Chat<'_, '_, Trace>) -> io::Result<()> {
        self.0.found_terminator(chat)
    }

    fn handle_close(&mut self, chat: &mut Chat<'_, '_, Trace>) -> io::Result<()> {
        self.0.handle_close(chat)
    }

    fn handle_shutdown(&mut self, chat: &mut Chat<'_, '_, Trace>) -> io::Result<()> {
        self.0.handle_shutdown(chat)
    }
}

/// A handler that overrides nothing: its `found_records` declines.
struct Declines;

impl ChatHandler<Trace> for Declines {
    fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_, Trace>, _: &[u8]) -> io::Result<()> {
        unreachable!("only its found_records is called")
    }
    fn found_terminator(&mut self, _: &mut Chat<'_, '_, Trace>) -> io::Result<()> {
        unreachable!("only its found_records is called")
    }
}

/// How each accepted channel is configured (seeded once per run).
#[derive(Clone, Copy)]
pub struct Setup {
    pub batching: bool,
    pub drain: bool,
    pub in_size: usize,
    pub out_size: usize,
    pub high: usize,
    pub producer_size: usize,
    pub files: bool,
    /// How lines that arrive whole are taken (`WholeLines`).
    pub whole: Whole,
}

impl Setup {
    /// A seeded configuration; `batching` drawn unless given. `files` and
    /// `whole` come from the seed without a draw, so that the draws of a
    /// seed stay what they were before them.
    pub fn draw(net: &SimNet, seed: u64, batching: Option<bool>) -> Setup {
        Setup {
            batching: batching.unwrap_or_else(|| net.chance(500)),
            drain: net.chance(300),
            in_size: net.below(512) as usize + 1,
            out_size: net.below(256) as usize + 1,
            high: 64 + net.below(2000) as usize,
            producer_size: net.below(64) as usize + 1,
            files: (seed / 3) % 2 == 1,
            whole: match ((seed / 5) % 2, (seed / 10) % 3) {
                (0, _) => Whole::Hooks,
                (_, 0) => Whole::Record,
                (_, 1) => Whole::NextRecord,
                _ => Whole::Runs,
            },
        }
    }
}

/// Adds a listening line server at `addr` to `ev`.
pub fn listen(ev: &mut EventLoop<Trace>, setup: Setup, addr: &str) -> Result<(), String> {
    super::listen(ev, Server { next_id: 0, setup }, addr)
}

pub struct Server {
    pub next_id: u32,
    pub setup: Setup,
}

impl Dispatcher<Trace> for Server {
    fn handle_accepted(
        &mut self,
        cx: &mut Cx<'_, Trace>,
        sock: Socket,
        _: SockAddr,
    ) -> io::Result<()> {
        self.next_id += 1;
        let s = self.setup;
        let echo = LineEcho {
            id: self.next_id,
            line: Vec::new(),
            high: s.high,
            producer_size: s.producer_size,
            peer: None,
            shut: false,
            files: s.files,
            run_slack: 0,
        };
        let id = self.next_id;
        if s.whole != Whole::Hooks {
            cx.add(Probe::new(
                id,
                configure(AsyncChat::new(WholeLines(echo, s.whole)), s),
            ))
            .adopt(sock)?;
        } else {
            cx.add(Probe::new(id, configure(AsyncChat::new(echo), s)))
                .adopt(sock)?;
        }
        Ok(())
    }
}

/// A channel as the setup says.
fn configure<H>(chat: AsyncChat<H>, s: Setup) -> AsyncChat<H> {
    chat.with_terminator("\n")
        .with_batching(s.batching)
        .with_drain(s.drain)
        .with_in_buffer_size(s.in_size)
        .with_out_buffer_size(s.out_size)
        .with_water_marks(s.high, s.high / 4)
}

/// Lines of letters, some starting with `P`, the last maybe unfinished.
pub fn lines(net: &SimNet, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let n = net.below(MAX_LINE as u64 + 1) as usize;
        for i in 0..n {
            let b = if i == 0 && net.chance(300) {
                b'P'
            } else {
                b'a' + net.below(26) as u8
            };
            out.push(b);
        }
        out.push(b'\n');
    }
    out.truncate(len);
    out
}

/// The replies owed for every prefix of a peer's input: all of them, and
/// for each newline, how many reply bytes its line completes.
pub struct Owed {
    pub all: Vec<u8>,
    ends: Vec<(usize, usize)>,
}

impl Owed {
    pub fn new(input: &[u8]) -> Owed {
        let all = replies(input);
        let mut ends = Vec::new();
        let mut start = 0;
        let mut total = 0;
        for (i, &b) in input.iter().enumerate() {
            if b == b'\n' {
                let line = &input[start..i];
                total += if line.first() == Some(&b'P') {
                    3 * line.len()
                } else {
                    line.len()
                } + 1;
                ends.push((i + 1, total));
                start = i + 1;
            }
        }
        Owed { all, ends }
    }

    /// The replies owed for `input[..sent]`.
    pub fn upto(&self, sent: usize) -> &[u8] {
        let k = self.ends.partition_point(|&(end, _)| end <= sent);
        let n = if k == 0 { 0 } else { self.ends[k - 1].1 };
        &self.all[..n]
    }
}
