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

use super::delimiter_search::{
    find_blank_line, find_prefix_at_end, find_short, BlankLineSearch, ByteSearch, SHORT_DELIMITER,
};
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
    /// Searcher for the first byte of a shorter delimiter (set with it).
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
    /// A piece of the current record went out as `Data` and its end was not
    /// yet signalled: a record ending now is not whole.
    in_record: bool,
    /// Give a record found whole as one [`Span::Record`] (the chat
    /// channel's `found_record`); off, as `Data` and `Terminator`.
    whole_records: bool,
}

/// An event as a span of the parser's buffer ([`Parser::next_span`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Span {
    /// `Data(&buf[start..end])`.
    Data(usize, usize),
    Terminator,
    /// A whole record, `buf[start..end]` (possibly empty), with its end:
    /// nothing of it went out before, and no `Terminator` follows.
    /// [`Parser::in_pieces`] turns it into the `Data` and `Terminator`
    /// events it stands for.
    Record(usize, usize),
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
            in_record: false,
            whole_records: false,
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
        self.finder = None;
        match &self.terminator {
            Terminator::Delimiter(d) if d.len() > SHORT_DELIMITER => {
                self.finder = Some(memmem::Finder::new(d).into_owned());
            }
            Terminator::Delimiter(d) => {
                if let Some(&b) = d.first() {
                    self.first = ByteSearch::new(b);
                }
            }
            _ => {}
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
        let span = match self.next_span()? {
            Span::Record(start, end) => self.in_pieces(start, end),
            span => span,
        };
        match span {
            Span::Data(start, end) => Some(Event::Data(&self.buf[start..end])),
            _ => Some(Event::Terminator),
        }
    }

    /// [`next_event`](Parser::next_event) with the data as a span of the
    /// buffer, so the caller may lend the buffer out while a hook reads it;
    /// a record that arrived whole comes as one [`Span::Record`].
    #[inline]
    pub(crate) fn next_span(&mut self) -> Option<Span> {
        if self.signal_pending {
            self.signal_pending = false;
            self.in_record = false;
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
                    self.pos = end;
                    return Some(self.record_end(start, end));
                }
            }
            Terminator::Delimiter(d) => {
                let hay = &self.buf[start..];
                let found = match &self.finder {
                    Some(f) => f.find(hay),
                    None => find_short(hay, d, &self.first),
                };
                match found {
                    Some(i) => {
                        self.pos = start + i + d.len();
                        return Some(self.record_end(start, start + i));
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
                            return Some(self.record_end(start, start));
                        }
                        [b'\r', b'\n', ..] => {
                            self.pos = start + 2;
                            return Some(self.record_end(start, start));
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
                        self.fresh = true;
                        return Some(self.record_end(start, start + data_end));
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
        self.in_record = true;
        Some(Span::Data(start, end))
    }

    /// The span for a record that ends at `end` (its terminator already
    /// consumed): whole if nothing of it went out before, else its last
    /// piece (if any) with the signal due after it.
    #[inline(always)]
    fn record_end(&mut self, start: usize, end: usize) -> Span {
        if self.whole_records && !self.in_record {
            Span::Record(start, end)
        } else if start == end {
            self.in_record = false;
            Span::Terminator
        } else {
            self.signal_pending = true;
            Span::Data(start, end)
        }
    }

    /// Whether a record found whole comes as one [`Span::Record`] (off for
    /// a new parser).
    pub(crate) fn set_whole_records(&mut self, on: bool) {
        self.whole_records = on;
    }

    /// See [`set_whole_records`](Parser::set_whole_records).
    pub(crate) fn whole_records(&self) -> bool {
        self.whole_records
    }

    /// A [`Span::Record`] as the events it stands for: its bytes as `Data`
    /// (if any) with the signal due next, or the signal alone.
    pub(crate) fn in_pieces(&mut self, start: usize, end: usize) -> Span {
        if start == end {
            Span::Terminator
        } else {
            self.signal_pending = true;
            self.in_record = true;
            Span::Data(start, end)
        }
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
mod tests;
