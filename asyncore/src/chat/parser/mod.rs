//! Sans-IO input splitting: asynchat's `handle_read` loop as a pure state machine.
//!
//! A [`Parser`] owns an input buffer and a [`Terminator`]. Bytes go in with
//! [`Parser::feed`] (or [`Parser::read_from`]); events come out one at a time with
//! [`Parser::next_event`]: [`Event::Data`] is the reference's
//! `collect_incoming_data(data)` and [`Event::Terminator`] its `found_terminator()`.
//! Because events are pulled one by one, the caller may change the terminator between
//! any two events and the change applies to the very next byte.
//!
//! The splitting reproduces CPython 3.11's `async_chat.handle_read` exactly,
//! including how a record is cut into several `Data` pieces:
//!
//! * no terminator (or a "falsy" one: `Count(0)`, empty delimiter) — everything buffered
//!   is delivered at once, never a signal;
//! * `Count(n)` — counts down as bytes are delivered; when it reaches 0 the record ends
//!   and the terminator stays `Count(0)`, i.e. behaves as none;
//! * `Delimiter(d)` — leftmost match; the bytes before it (if any) are delivered, the
//!   delimiter is dropped, a signal follows. With no match, the longest
//!   proper prefix of `d` ending the buffer ([`find_prefix_at_end`]) is held back, the
//!   rest delivered, and the parser waits for more input.
//! * `BlankLine` (ours, not asynchat's) — the first empty line (`\n` or `\r\n`)
//!   ends the record; the lines before it are delivered with their line
//!   endings, the empty line is dropped; `\n` or `\n\r` at the end of the
//!   buffer is held back as a possible start of one.
//!
//! `Data` is never empty and the delimiter bytes are never delivered.
//! Decisions taken against the reference's quirks:
//!
//! * a new parser has [`Terminator::None`] (data is delivered as it
//!   arrives) instead of failing on the first input.
//! * the terminator is a typed enum; negative counts are
//!   unrepresentable (the signed entry point `Terminator::try_from(i64)` fails with the
//!   reference message); `Count(0)` and an empty delimiter are stored as given and
//!   behave as none.
//! * bytes held back as a possible delimiter prefix are
//!   never turned into events at end of stream (matching the reference); they remain
//!   readable through [`Parser::buffer`] for a caller that wants to hand them over.
//!
//! Cost: every input byte is searched once per terminator in effect (plus at most
//! `len(delimiter) - 1` held-back bytes per feed), with `memchr`/`memmem`; the buffer
//! never grows beyond what was fed and not yet delivered.
//
// Spec: AC-CHAT-14, AC-CHAT-10, AC-CHAT-23, AC-CHAT-13, AC-CHAT-24, AC-CHAT-25, AC-CHAT-26, AC-CHAT-29, AC-CHAT-27, AC-CHAT-28, AC-CHAT-Q-3, AC-CHAT-Q-4, AC-CHAT-Q-8, AC-CHAT-30.
// Spec: asynchat.md §3 (how handle_read splits the input).

#[cfg(test)]
mod properties;

use super::delimiter_search::{find_prefix_at_end, find_short, ByteSearch, SHORT_DELIMITER};
use super::terminator::Terminator;
use memchr::memmem;
use std::fmt;
use std::io;

/// One step of the input loop, pulled with [`Parser::next_event`].
///
/// # Examples
///
/// ```
/// use asyncore_loop::chat::{Event, Parser};
///
/// let mut p = Parser::with_terminator("\n");
/// p.feed(b"hi\n");
/// assert_eq!(p.next_event(), Some(Event::Data(b"hi")));
/// assert_eq!(p.next_event(), Some(Event::Terminator));
/// assert_eq!(p.next_event(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A non-empty piece of the current record (`collect_incoming_data`). A record may
    /// arrive in several pieces; the caller concatenates.
    // Spec: AC-CHAT-27.
    Data(&'a [u8]),
    /// The current record is complete (`found_terminator`).
    Terminator,
}

/// The sans-IO input state machine of an `async_chat` channel.
///
/// A new parser has no terminator ([`Terminator::None`]: data is delivered as it
/// arrives); the reference fails on the first input instead.
///
/// # Examples
///
/// The terminator can be changed from inside the event loop, between events
/// (an HTTP-like header line, then a 4-byte body):
///
/// ```
/// use asyncore_loop::chat::{Event, Parser, Terminator};
///
/// let mut p = Parser::with_terminator("\n");
/// p.feed(b"hdr\n1234rest\n");
/// let mut log = Vec::new();
/// while let Some(ev) = p.next_event() {
///     match ev {
///         Event::Data(d) => log.push(String::from_utf8_lossy(d).into_owned()),
///         Event::Terminator => {
///             log.push("T".into());
///             if log.len() == 2 {
///                 p.set_terminator(4usize);
///             } else {
///                 p.set_terminator("\n");
///             }
///         }
///         _ => {} // `Event` is non-exhaustive
///     }
/// }
/// assert_eq!(log, ["hdr", "T", "1234", "T", "rest", "T"]);
/// assert_eq!(p.terminator(), &Terminator::Delimiter(b"\n".to_vec()));
/// ```
// Spec: AC-CHAT-Q-3, AC-CHAT-14.
pub struct Parser {
    /// Input bytes; `buf[pos..]` is not yet delivered.
    buf: Vec<u8>,
    pos: usize,
    terminator: Terminator,
    /// Searcher for delimiters longer than `SHORT_DELIMITER` (shorter ones use `memchr`).
    finder: Option<memmem::Finder<'static>>,
    /// Searcher for the first byte of a shorter delimiter.
    first: ByteSearch,
    /// A `Data` event ended a record: the next event is `Terminator`.
    signal_pending: bool,
    /// The reference broke out of its loop after holding back a delimiter prefix;
    /// nothing more happens until the next feed (even if the terminator changes).
    stalled: bool,
    /// `discard` ran while the buffer was lent out ([`Parser::lend_buffer`]).
    discarded: bool,
    /// Nothing of the current record was delivered yet (for `BlankLine`:
    /// an empty line here is an empty record).
    fresh: bool,
}

/// An event as a span of the parser's buffer ([`Parser::next_span`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Span {
    /// `Data(&buf[start..end])`.
    Data(usize, usize),
    Terminator,
}

impl Parser {
    /// A parser with no terminator and an empty buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::{Event, Parser, Terminator};
    ///
    /// let mut p = Parser::new();
    /// assert_eq!(p.terminator(), &Terminator::None);
    /// p.feed(b"abc");
    /// assert_eq!(p.next_event(), Some(Event::Data(b"abc")));
    /// ```
    // Spec: AC-CHAT-Q-3.
    pub fn new() -> Self {
        Parser {
            buf: Vec::new(),
            pos: 0,
            terminator: Terminator::None,
            finder: None,
            first: ByteSearch::new(0),
            signal_pending: false,
            stalled: false,
            discarded: false,
            fresh: true,
        }
    }

    /// A parser with the given terminator.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::{Parser, Terminator};
    ///
    /// let p = Parser::with_terminator(b"\r\n");
    /// assert_eq!(p.terminator(), &Terminator::Delimiter(b"\r\n".to_vec()));
    /// ```
    pub fn with_terminator(terminator: impl Into<Terminator>) -> Self {
        let mut p = Parser::new();
        p.set_terminator(terminator);
        p
    }

    /// Replaces the terminator (`set_terminator`). It applies to the next
    /// byte not yet delivered, including bytes already buffered. A `Terminator` event
    /// already due (the record just delivered ended) still comes first.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::{Event, Parser};
    ///
    /// let mut p = Parser::new();
    /// p.set_terminator(3usize);
    /// p.feed(b"abcdef");
    /// assert_eq!(p.next_event(), Some(Event::Data(b"abc")));
    /// assert_eq!(p.next_event(), Some(Event::Terminator));
    /// p.set_terminator(b"e");
    /// assert_eq!(p.next_event(), Some(Event::Data(b"d")));
    /// ```
    // Spec: AC-CHAT-11/14.
    pub fn set_terminator(&mut self, terminator: impl Into<Terminator>) {
        self.terminator = terminator.into();
        self.fresh = true;
        self.finder = match &self.terminator {
            Terminator::Delimiter(d) if d.len() > SHORT_DELIMITER => {
                Some(memmem::Finder::new(d).into_owned())
            }
            _ => None,
        };
        if let Terminator::Delimiter(d) = &self.terminator {
            if let Some(&b) = d.first() {
                self.first = ByteSearch::new(b);
            }
        }
    }

    /// The current terminator (`get_terminator`). A count shows the bytes still
    /// outstanding, and `Count(0)` once it completed.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::{Event, Parser, Terminator};
    ///
    /// let mut p = Parser::with_terminator(3usize);
    /// p.feed(b"ab");
    /// assert_eq!(p.next_event(), Some(Event::Data(b"ab")));
    /// assert_eq!(p.terminator(), &Terminator::Count(1));
    /// ```
    // Spec: AC-CHAT-13.
    pub fn terminator(&self) -> &Terminator {
        &self.terminator
    }

    /// Appends received bytes to the input buffer (one reference `recv`). Feeding empty
    /// data stands for an empty receive at end of stream: like the reference
    ///  it lets held-back bytes be looked at again, e.g. under a terminator
    /// changed meanwhile.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::{Event, Parser};
    ///
    /// let mut p = Parser::with_terminator("\r\n");
    /// p.feed(b"abc\r");
    /// assert_eq!(p.next_event(), Some(Event::Data(b"abc")));
    /// assert_eq!(p.next_event(), None); // "\r" held back
    /// p.feed(b"\n");
    /// assert_eq!(p.next_event(), Some(Event::Terminator));
    /// ```
    // Spec: AC-CHAT-22.
    pub fn feed(&mut self, data: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(data);
        self.stalled = false;
    }

    /// Reads once from `reader` (at most `max` bytes) straight into the input buffer,
    /// retrying on `Interrupted`. Returns the byte count (0 = end of stream, handled as
    /// an empty [`feed`](Parser::feed); so does `max == 0`). On error nothing changes
    /// (the caller ignores `WouldBlock` and reports other errors).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::{Event, Parser};
    ///
    /// let mut p = Parser::with_terminator("\n");
    /// let mut src: &[u8] = b"one\ntwo";
    /// assert_eq!(p.read_from(&mut src, 65_536).unwrap(), 7);
    /// assert_eq!(p.next_event(), Some(Event::Data(b"one")));
    /// ```
    // Spec: AC-CHAT-20/21.
    pub fn read_from<R: io::Read + ?Sized>(
        &mut self,
        reader: &mut R,
        max: usize,
    ) -> io::Result<usize> {
        self.compact();
        let old = self.buf.len();
        self.buf.resize(old + max, 0);
        let result = loop {
            match reader.read(&mut self.buf[old..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let n = match result {
            Ok(n) => n.min(max),
            Err(e) => {
                self.buf.truncate(old);
                return Err(e);
            }
        };
        self.buf.truncate(old + n);
        self.stalled = false;
        Ok(n)
    }

    /// The next event of the input loop, or `None` when it must wait for more input.
    ///
    /// The returned data borrows the parser; once the event is dropped (e.g. in the
    /// `Terminator` arm of a `match`), the parser can be used again, which is how a
    /// caller changes the terminator between events.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::{Event, Parser};
    ///
    /// let mut p = Parser::with_terminator("\r\n");
    /// p.feed(b"\r\n\r\n"); // two empty records: signals, no data
    /// assert_eq!(p.next_event(), Some(Event::Terminator));
    /// assert_eq!(p.next_event(), Some(Event::Terminator));
    /// assert_eq!(p.next_event(), None);
    /// ```
    // Spec: AC-CHAT-25.
    pub fn next_event(&mut self) -> Option<Event<'_>> {
        match self.next_span()? {
            Span::Terminator => Some(Event::Terminator),
            Span::Data(start, end) => Some(Event::Data(&self.buf[start..end])),
        }
    }

    /// [`next_event`](Parser::next_event) with the data as a span of the
    /// buffer, so the caller may lend the buffer out while a hook reads it.
    #[inline]
    pub(crate) fn next_span(&mut self) -> Option<Span> {
        if self.signal_pending {
            self.signal_pending = false;
            return Some(Span::Terminator);
        }
        let start = self.pos;
        let avail = self.buf.len() - start;
        if self.stalled || avail == 0 {
            return None;
        }
        let end = match &mut self.terminator {
            t if t.behaves_as_none() => self.buf.len(),
            Terminator::Count(n) => {
                if avail < *n {
                    *n -= avail;
                    self.buf.len()
                } else {
                    let end = start + *n;
                    *n = 0;
                    self.signal_pending = true;
                    end
                }
            }
            Terminator::Delimiter(d) => {
                let hay = &self.buf[start..];
                let found = match &self.finder {
                    Some(f) => f.find(hay),
                    None => find_short(hay, d, &self.first),
                };
                match found {
                    Some(0) => {
                        self.pos = start + d.len();
                        return Some(Span::Terminator);
                    }
                    Some(i) => {
                        self.pos = start + i + d.len();
                        self.signal_pending = true;
                        return Some(Span::Data(start, start + i));
                    }
                    None => match find_prefix_at_end(hay, d) {
                        0 => self.buf.len(),
                        p => {
                            self.stalled = true;
                            if p == avail {
                                return None;
                            }
                            self.buf.len() - p
                        }
                    },
                }
            }
            Terminator::BlankLine => {
                let hay = &self.buf[start..];
                if self.fresh {
                    match hay {
                        [b'\n', ..] => {
                            self.pos = start + 1;
                            return Some(Span::Terminator);
                        }
                        [b'\r', b'\n', ..] => {
                            self.pos = start + 2;
                            return Some(Span::Terminator);
                        }
                        [b'\r'] => {
                            self.stalled = true;
                            return None;
                        }
                        _ => {}
                    }
                }
                self.fresh = false;
                match find_blank_line(hay) {
                    BlankLineSearch::Found { data_end, line_end } => {
                        self.pos = start + line_end;
                        self.signal_pending = true;
                        self.fresh = true;
                        return Some(Span::Data(start, start + data_end));
                    }
                    BlankLineSearch::NotYet { hold: 0 } => self.buf.len(),
                    BlankLineSearch::NotYet { hold } => {
                        self.stalled = true;
                        if hold == avail {
                            return None;
                        }
                        self.buf.len() - hold
                    }
                }
            }
            Terminator::None => self.buf.len(), // unreachable: behaves_as_none
        };
        self.pos = end;
        Some(Span::Data(start, end))
    }

    /// Takes the buffer out (with its read position), for a hook to read a
    /// [`Span`] of it while it may still change the terminator or
    /// [`discard`](Parser::discard) the input; give both back with
    /// [`restore_buffer`](Parser::restore_buffer). Meanwhile the parser is
    /// empty (and stays so if they never come back, after a panic).
    #[inline]
    pub(crate) fn lend_buffer(&mut self) -> (Vec<u8>, usize) {
        self.discarded = false;
        let pos = std::mem::take(&mut self.pos);
        (std::mem::take(&mut self.buf), pos)
    }

    /// Puts a lent buffer back; a `discard` made meanwhile applies to it.
    #[inline]
    pub(crate) fn restore_buffer(&mut self, (mut buf, pos): (Vec<u8>, usize)) {
        if self.discarded {
            buf.clear();
        } else {
            self.pos = pos;
        }
        self.buf = buf;
    }

    /// Bytes buffered and not yet delivered (between reads: 0, or a held-back proper
    /// prefix of the delimiter).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::Parser;
    ///
    /// let mut p = Parser::with_terminator("\r\n");
    /// p.feed(b"abc\r");
    /// while p.next_event().is_some() {}
    /// assert_eq!(p.buffered(), 1);
    /// ```
    // Spec: AC-CHAT-29.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The buffered bytes not yet delivered. At end of stream these are the bytes the
    /// reference silently loses; a channel may hand them to
    /// its user on close.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::{Event, Parser};
    ///
    /// let mut p = Parser::with_terminator("\r\n");
    /// p.feed(b"abc\r");
    /// assert_eq!(p.next_event(), Some(Event::Data(b"abc")));
    /// p.feed(b""); // end of stream
    /// assert_eq!(p.next_event(), None);
    /// assert_eq!(p.buffer(), b"\r");
    /// ```
    // Spec: AC-CHAT-30, AC-CHAT-Q-8.
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Drops all buffered input (the input half of `discard_buffers`); the
    /// terminator is unchanged. As in the reference, a `Terminator` event already due
    /// for the record just delivered is still reported.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::Parser;
    ///
    /// let mut p = Parser::with_terminator("\n");
    /// p.feed(b"partial");
    /// p.discard();
    /// assert_eq!(p.buffered(), 0);
    /// assert_eq!(p.next_event(), None);
    /// ```
    // Spec: AC-CHAT-83.
    pub fn discard(&mut self) {
        self.buf.clear();
        self.pos = 0;
        self.discarded = true;
    }

    /// Reclaims delivered bytes before appending: cheap when everything was delivered
    /// (the normal case), amortised linear otherwise.
    fn compact(&mut self) {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 0 && self.pos >= self.buf.len() - self.pos {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
    }
}

/// Where the first empty line of `hay` is, which does not start it.
enum BlankLineSearch {
    /// The record's data is `hay[..data_end]` (through the line ending
    /// before the empty line); the empty line ends at `line_end`.
    Found { data_end: usize, line_end: usize },
    /// None yet; the last `hold` bytes (`\n` or `\n\r`) may begin one.
    NotYet { hold: usize },
}

fn find_blank_line(hay: &[u8]) -> BlankLineSearch {
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'\n', &hay[from..]).map(|i| from + i) {
        match hay.get(i + 1) {
            None => return BlankLineSearch::NotYet { hold: 1 },
            Some(b'\n') => {
                return BlankLineSearch::Found {
                    data_end: i + 1,
                    line_end: i + 2,
                }
            }
            Some(b'\r') => match hay.get(i + 2) {
                None => return BlankLineSearch::NotYet { hold: 2 },
                Some(b'\n') => {
                    return BlankLineSearch::Found {
                        data_end: i + 1,
                        line_end: i + 3,
                    }
                }
                _ => {}
            },
            _ => {}
        }
        from = i + 1;
    }
    BlankLineSearch::NotYet { hold: 0 }
}

impl Default for Parser {
    /// Same as [`Parser::new`].
    fn default() -> Self {
        Parser::new()
    }
}

impl fmt::Debug for Parser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parser")
            .field("terminator", &self.terminator)
            .field("buffered", &self.buffered())
            .field("signal_pending", &self.signal_pending)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Drives `p` like `handle_read`: one feed per chunk, then all events. `hook` runs
    // at each `Terminator` (it gets the parser and the signal's ordinal). Log entries:
    // `c <data>` or `T`.
    fn drive(
        p: &mut Parser,
        chunks: &[&[u8]],
        mut hook: impl FnMut(&mut Parser, usize),
    ) -> Vec<String> {
        let mut log = Vec::new();
        let mut signals = 0;
        for chunk in chunks {
            p.feed(chunk);
            while let Some(ev) = p.next_event() {
                match ev {
                    Event::Data(d) => {
                        assert!(!d.is_empty(), "AC-CHAT-27: never empty");
                        log.push(format!("c {}", d.escape_ascii()));
                    }
                    Event::Terminator => {
                        log.push("T".to_string());
                        hook(p, signals);
                        signals += 1;
                    }
                }
            }
        }
        log
    }

    fn run(t: impl Into<Terminator>, chunks: &[&[u8]]) -> (Vec<String>, Parser) {
        let mut p = Parser::with_terminator(t);
        let log = drive(&mut p, chunks, |_, _| {});
        (log, p)
    }

    // ---- X-CH-1: the splitting table of conformance §5.1, one test per row ----

    #[test]
    fn x_ch_1_row1_count_one_receive() {
        let (log, p) = run(3usize, &[b"abcdefgh"]);
        assert_eq!(log, ["c abc", "T", "c defgh"]);
        assert_eq!(p.buffered(), 0);
        assert_eq!(p.terminator(), &Terminator::Count(0));
    }

    #[test]
    fn x_ch_1_row2_count_across_receives() {
        let mut p = Parser::with_terminator(3usize);
        p.feed(b"ab");
        assert_eq!(p.next_event(), Some(Event::Data(b"ab")));
        assert_eq!(p.terminator(), &Terminator::Count(1)); // AC-CHAT-13
        assert_eq!(p.next_event(), None);
        let log = drive(&mut p, &[b"cdefgh"], |_, _| {});
        assert_eq!(log, ["c c", "T", "c defgh"]);
        assert_eq!(p.buffered(), 0);
    }

    #[test]
    fn x_ch_1_row3_crlf_split_and_held_prefix() {
        let (log, p) = run("\r\n", &[b"abc\r", b"\ndef\r\nxy\r"]);
        assert_eq!(log, ["c abc", "T", "c def", "T", "c xy"]);
        assert_eq!(p.buffer(), b"\r");
    }

    #[test]
    fn x_ch_1_row4_empty_records() {
        let (log, p) = run("\r\n", &[b"\r\n\r\n"]);
        assert_eq!(log, ["T", "T"]);
        assert_eq!(p.buffered(), 0);
    }

    #[test]
    fn x_ch_1_row5_no_prefix_at_end() {
        let (log, p) = run("\r\n", &[b"a\r\rb"]);
        assert_eq!(log, ["c a\\r\\rb"]);
        assert_eq!(p.buffered(), 0);
    }

    #[test]
    fn x_ch_1_row6_qqq() {
        let (log, p) = run("qqq", &[b"xqq", b"qqq"]);
        assert_eq!(log, ["c x", "T"]);
        assert_eq!(p.buffer(), b"qq");
    }

    #[test]
    fn x_ch_1_row7_whole_buffer_is_prefix() {
        let mut p = Parser::with_terminator("ababc");
        assert!(drive(&mut p, &[b"abab"], |_, _| {}).is_empty());
        assert_eq!(p.buffer(), b"abab");
        assert_eq!(drive(&mut p, &[b"abc"], |_, _| {}), ["c ab", "T"]);
        assert_eq!(p.buffered(), 0);
    }

    #[test]
    fn x_ch_1_row8_smtp_data_end() {
        let (log, p) = run("\r\n.\r\n", &[b"plain ascii text\r\n", b".\r\n"]);
        assert_eq!(log, ["c plain ascii text", "T"]);
        assert_eq!(p.buffered(), 0);
    }

    #[test]
    fn x_ch_1_row9_switch_in_found_terminator() {
        let mut p = Parser::with_terminator("\r\n.\r\n");
        let log = drive(&mut p, &[b"..\r\n.\r\n\r\n"], |p, _| {
            p.set_terminator("\r\n")
        });
        assert_eq!(log, ["c ..", "T", "T"]);
        assert_eq!(p.buffered(), 0);
    }

    // X-CH-2 / AC-CHAT-14: delimiter → count 4 → delimiter, all from one receive.
    #[test]
    fn x_ch_2_terminator_changes_apply_immediately() {
        let mut p = Parser::with_terminator("\n");
        let mut seen = Vec::new();
        let log = drive(&mut p, &[b"hdr\n1234rest\nmore"], |p, _| {
            seen.push(p.terminator().clone());
            match p.terminator() {
                Terminator::Delimiter(_) => p.set_terminator(4usize),
                _ => p.set_terminator("\n"),
            }
        });
        assert_eq!(
            log,
            ["c hdr", "T", "c 1234", "T", "c rest", "T", "c more", "T"]
        );
        assert_eq!(seen[1], Terminator::Count(0));
        assert_eq!(seen[3], Terminator::Count(0));
        assert_eq!(p.buffered(), 0);
    }

    // X-CH-4 / AC-CHAT-30 / AC-CHAT-Q-8: the held-back `\r` is never delivered, even
    // after the end-of-stream (empty) feed.
    #[test]
    fn x_ch_4_held_prefix_lost_at_eof() {
        let (log, mut p) = run("\r\n", &[b"abc\r"]);
        assert_eq!(log, ["c abc"]);
        p.feed(b"");
        assert_eq!(p.next_event(), None);
        assert_eq!(p.buffer(), b"\r");
    }

    // X-CH-14 / AC-CHAT-10: count 0 and the empty delimiter behave as none.
    #[test]
    fn x_ch_14_falsy_terminators_are_none() {
        for t in [
            Terminator::Count(0),
            Terminator::Delimiter(Vec::new()),
            Terminator::None,
        ] {
            let (log, p) = run(t.clone(), &[b"abcdef"]);
            assert_eq!(log, ["c abcdef"], "{t:?}");
            assert_eq!(p.terminator(), &t);
        }
    }

    // X-CH-13 / AC-CHAT-Q-3: without `set_terminator`, data is delivered as it arrives.
    #[test]
    fn x_ch_13_default_terminator_is_none() {
        let mut p = Parser::default();
        assert_eq!(drive(&mut p, &[b"abc"], |_, _| {}), ["c abc"]);
    }

    // X-CH-11 / AC-CHAT-83 (input half): discard empties the buffer, keeps the terminator.
    #[test]
    fn x_ch_11_discard_input() {
        let mut p = Parser::with_terminator("\r\n.\r\n");
        p.feed(b"abc\r\n.");
        assert_eq!(p.next_event(), Some(Event::Data(b"abc")));
        assert_eq!(p.buffered(), 3);
        p.discard();
        assert_eq!(p.buffered(), 0);
        assert_eq!(p.next_event(), None);
        assert_eq!(p.terminator(), &Terminator::from("\r\n.\r\n"));
        // A signal already due survives a discard made from the data hook (reference).
        p.feed(b"x\r\n.\r\nmore");
        assert_eq!(p.next_event(), Some(Event::Data(b"x")));
        p.discard();
        assert_eq!(p.next_event(), Some(Event::Terminator));
        assert_eq!(p.next_event(), None);
    }

    // The buffer lent out while a data hook runs (AsyncChat's input loop):
    // the span reads the same bytes as `next_event`'s piece; a `discard`
    // made meanwhile applies to the buffer when it comes back, and without
    // one the rest is still there.
    // Spec: AC-CHAT-83.
    #[test]
    fn lent_buffer_keeps_the_rest_or_the_discard() {
        let mut p = Parser::with_terminator("\r\n");
        p.feed(b"ab\r\ncd\r\nef");
        let Some(Span::Data(start, end)) = p.next_span() else {
            panic!("a data span");
        };
        let lent = p.lend_buffer();
        assert_eq!(&lent.0[start..end], b"ab");
        assert_eq!(p.buffered(), 0, "empty while lent");
        p.set_terminator("d");
        p.restore_buffer(lent);
        assert_eq!(p.next_span(), Some(Span::Terminator));
        assert_eq!(p.next_event(), Some(Event::Data(b"c")));
        assert_eq!(p.next_event(), Some(Event::Terminator));
        let mut p = Parser::with_terminator("\n");
        p.feed(b"x\ny\n");
        let Some(Span::Data(..)) = p.next_span() else {
            panic!("a data span");
        };
        let lent = p.lend_buffer();
        p.discard();
        p.restore_buffer(lent);
        assert_eq!(p.buffered(), 0);
        assert_eq!(p.next_event(), Some(Event::Terminator), "the signal already due");
        assert_eq!(p.next_event(), None);
        p.feed(b"gh");
        assert_eq!(p.next_event(), Some(Event::Data(b"gh")));
    }

    // Splits `data` into pieces of `size` (the echo server's chunk sizes).
    fn pieces(data: &[u8], size: usize) -> Vec<&[u8]> {
        data.chunks(size).collect()
    }

    // Records as `echo_client` collects them: `contents` and the unfinished `buffer`.
    fn collect(t: Terminator, chunks: &[&[u8]]) -> (Vec<Vec<u8>>, Vec<u8>) {
        let mut p = Parser::with_terminator(t);
        let (mut contents, mut buffer) = (Vec::new(), Vec::new());
        for chunk in chunks {
            p.feed(chunk);
            while let Some(ev) = p.next_event() {
                match ev {
                    Event::Data(d) => buffer.extend_from_slice(d),
                    Event::Terminator => contents.push(std::mem::take(&mut buffer)),
                }
            }
        }
        (contents, buffer)
    }

    // TC-CH-1/2/3: line terminators `\n`, `\r\n`, `qqq`, echo chunk sizes 1–3.
    #[test]
    fn tc_ch_1_2_3_line_terminators() {
        for term in [&b"\n"[..], b"\r\n", b"qqq"] {
            let mut stream = b"hello world".to_vec();
            stream.extend_from_slice(term);
            stream.extend_from_slice(b"I'm not dead yet!");
            stream.extend_from_slice(term);
            for size in 1..=3 {
                let (contents, buffer) = collect(term.into(), &pieces(&stream, size));
                assert_eq!(contents, [&b"hello world"[..], b"I'm not dead yet!"]);
                assert!(buffer.is_empty());
            }
        }
    }

    const LINE: &[u8] = b"hello world, I'm not dead yet!\n";

    // TC-CH-4/5: counts 1 and 6 give exactly one record; the rest arrives unsignalled.
    #[test]
    fn tc_ch_4_5_numeric_terminators() {
        for n in [1usize, 6] {
            for size in 1..=3 {
                let (contents, buffer) = collect(Terminator::Count(n), &pieces(LINE, size));
                assert_eq!(contents, [&LINE[..n]]);
                assert_eq!(buffer, &LINE[n..]);
            }
        }
    }

    // TC-CH-6: no terminator — no records, everything in the buffer.
    #[test]
    fn tc_ch_6_none_terminator() {
        for size in 1..=3 {
            let (contents, buffer) = collect(Terminator::None, &pieces(LINE, size));
            assert!(contents.is_empty());
            assert_eq!(buffer, LINE);
        }
    }

    // TC-CH-9: an empty line is an empty record.
    #[test]
    fn tc_ch_9_empty_line() {
        let stream = b"hello world\n\nI'm not dead yet!\n";
        for size in 1..=3 {
            let (contents, _) = collect("\n".into(), &pieces(stream, size));
            assert_eq!(contents, [&b"hello world"[..], b"", b"I'm not dead yet!"]);
        }
    }

    // AC-CHAT-26: after holding back a prefix the reference leaves its loop, so a
    // terminator changed from the data hook only applies from the next receive.
    #[test]
    fn ac_chat_26_stall_until_next_feed() {
        let mut p = Parser::with_terminator("\r\n");
        p.feed(b"ab\r");
        assert_eq!(p.next_event(), Some(Event::Data(b"ab")));
        p.set_terminator(Terminator::None);
        assert_eq!(p.next_event(), None);
        p.feed(b"");
        assert_eq!(p.next_event(), Some(Event::Data(b"\r")));
    }

    // AC-CHAT-29: a long line without terminator keeps the buffer small (no quadratic
    // rescanning: each byte is searched once).
    #[test]
    fn ac_chat_29_long_line_buffer_stays_small() {
        let mut p = Parser::with_terminator("\r\n.\r\n");
        let mut chunk = vec![b'x'; 65_536];
        chunk[65_534] = b'\r';
        chunk[65_535] = b'\n';
        let mut delivered = 0;
        for _ in 0..256 {
            p.feed(&chunk);
            while let Some(ev) = p.next_event() {
                if let Event::Data(d) = ev {
                    delivered += d.len();
                }
            }
            assert_eq!(p.buffered(), 2);
        }
        assert_eq!(delivered, 256 * 65_536 - 2);
    }

    // A source that fails, is interrupted, or returns data.
    struct Script(Vec<io::Result<Vec<u8>>>);

    impl io::Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.remove(0) {
                Ok(d) => {
                    buf[..d.len()].copy_from_slice(&d);
                    Ok(d.len())
                }
                Err(e) => Err(e),
            }
        }
    }

    // AC-CHAT-20/21/22 at the parser level: errors leave everything unchanged,
    // `Interrupted` is retried, an empty read re-runs the loop.
    #[test]
    fn read_from_errors_and_eof() {
        let mut p = Parser::with_terminator("\n");
        let mut src = Script(vec![
            Err(io::ErrorKind::WouldBlock.into()),
            Err(io::ErrorKind::Interrupted.into()),
            Ok(b"ab\ncd".to_vec()),
            Ok(Vec::new()),
        ]);
        let err = p.read_from(&mut src, 16).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(p.buffered(), 0);
        assert_eq!(p.read_from(&mut src, 16).unwrap(), 5);
        assert_eq!(p.next_event(), Some(Event::Data(b"ab")));
        assert_eq!(p.next_event(), Some(Event::Terminator));
        assert_eq!(p.next_event(), Some(Event::Data(b"cd")));
        assert_eq!(p.read_from(&mut src, 16).unwrap(), 0);
        assert_eq!(p.next_event(), None);
    }
}
