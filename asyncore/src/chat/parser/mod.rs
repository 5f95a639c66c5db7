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

mod framing;
#[cfg(test)]
mod properties;

pub(crate) use framing::{Framing, Span};

use super::terminator::Terminator;
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
    /// Input bytes; what `framing` has not delivered is at its end.
    buf: Vec<u8>,
    framing: Framing,
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
            framing: Framing::new(),
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
        self.framing.set_terminator(terminator);
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
        self.framing.terminator()
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
        self.framing.feed(&mut self.buf, data);
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
        self.framing.read_from(&mut self.buf, reader, max)
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
        let span = match self.framing.next_span(&mut self.buf)? {
            Span::Record(start, end) => self.framing.in_pieces(start, end),
            span => span,
        };
        match span {
            Span::Data(start, end) => Some(Event::Data(&self.buf[start..end])),
            _ => Some(Event::Terminator),
        }
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
        self.framing.buffered(&self.buf)
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
        self.framing.buffer(&self.buf)
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
        self.framing.discard_now(&mut self.buf);
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
            .field("terminator", self.terminator())
            .field("buffered", &self.buffered())
            .finish()
    }
}

#[cfg(test)]
mod tests;
