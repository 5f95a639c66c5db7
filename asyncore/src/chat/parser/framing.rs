//! `Framing`: the parser's state machine without its input bytes.
//!
//! Every method that reads input takes the bytes as an argument. A
//! [`Parser`](super::Parser) keeps them beside its `Framing`; a chat channel
//! keeps them beside its output queue, so that a hook reads its piece where
//! it lies while, through its `Chat`, it changes the terminator or asks for
//! the input to be discarded.
//
// Spec: AC-CHAT-22..30, asynchat.md §3 (how handle_read splits the input).

use super::super::delimiter_search::{
    find_blank_line, find_prefix_at_end, whole_blank_line_record, BlankLineSearch, ShortDelimiter,
};
use super::super::terminator::Terminator;
use memchr::memmem;
use std::io;

/// An event as a span of the input bytes ([`Framing::next_span`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Span {
    /// `Data(&buf[start..end])`.
    Data(usize, usize),
    Terminator,
    /// A whole record, `buf[start..end]` (possibly empty), with its end:
    /// nothing of it went out before, and no `Terminator` follows.
    /// [`Framing::in_pieces`] turns it into the `Data` and `Terminator`
    /// events it stands for.
    Record(usize, usize),
}

/// Where the input stands and how it is cut: everything of a parser but its
/// input bytes.
#[cfg_attr(test, derive(Clone))]
pub(crate) struct Framing {
    /// `buf[pos..]` is not yet delivered.
    pos: usize,
    terminator: Terminator,
    /// Searcher for a delimiter longer than a `ShortDelimiter`.
    finder: Option<memmem::Finder<'static>>,
    /// Searcher for a shorter delimiter (set with it).
    short: Option<ShortDelimiter>,
    /// A `Data` event ended a record: the next event is `Terminator`.
    signal_pending: bool,
    /// The reference broke out of its loop after holding back a delimiter prefix;
    /// nothing more happens until the next feed (even if the terminator changes).
    stalled: bool,
    /// [`discard_later`](Framing::discard_later) ran: the input goes before
    /// anything else reads it.
    discard_pending: bool,
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

impl std::fmt::Debug for Framing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Framing")
            .field("terminator", &self.terminator)
            .field("pos", &self.pos)
            .field("signal_pending", &self.signal_pending)
            .field("stalled", &self.stalled)
            .finish_non_exhaustive()
    }
}

impl Framing {
    /// No terminator, nothing delivered.
    pub(crate) fn new() -> Self {
        Framing {
            pos: 0,
            terminator: Terminator::None,
            finder: None,
            short: None,
            signal_pending: false,
            stalled: false,
            discard_pending: false,
            fresh: true,
            in_record: false,
            whole_records: false,
        }
    }

    /// See [`Parser::set_terminator`](super::Parser::set_terminator).
    // Spec: AC-CHAT-11/14.
    pub(crate) fn set_terminator(&mut self, terminator: impl Into<Terminator>) {
        self.terminator = terminator.into();
        self.fresh = true;
        (self.finder, self.short) = match &self.terminator {
            Terminator::Delimiter(d) if !d.is_empty() => match ShortDelimiter::new(d) {
                Some(short) => (None, Some(short)),
                None => (Some(memmem::Finder::new(d).into_owned()), None),
            },
            _ => (None, None),
        };
    }

    /// See [`Parser::terminator`](super::Parser::terminator).
    // Spec: AC-CHAT-13.
    pub(crate) fn terminator(&self) -> &Terminator {
        &self.terminator
    }

    /// Appends received bytes to `buf` (one reference `recv`).
    // Spec: AC-CHAT-22.
    pub(crate) fn feed(&mut self, buf: &mut Vec<u8>, data: &[u8]) {
        self.compact(buf);
        buf.extend_from_slice(data);
        self.stalled = false;
    }

    /// Reads once from `reader` (at most `max` bytes) straight into `buf`;
    /// see [`Parser::read_from`](super::Parser::read_from).
    // Spec: AC-CHAT-20/21.
    pub(crate) fn read_from<R: io::Read + ?Sized>(
        &mut self,
        buf: &mut Vec<u8>,
        reader: &mut R,
        max: usize,
    ) -> io::Result<usize> {
        self.compact(buf);
        let old = buf.len();
        buf.resize(old + max, 0);
        let result = loop {
            match reader.read(&mut buf[old..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let n = match result {
            Ok(n) => n.min(max),
            Err(e) => {
                buf.truncate(old);
                return Err(e);
            }
        };
        buf.truncate(old + n);
        self.stalled = false;
        Ok(n)
    }

    /// The next event of the input loop as a span of `buf`, or `None` when
    /// it must wait for more input; a record that arrived whole comes as
    /// one [`Span::Record`] when whole records are on.
    #[inline]
    pub(crate) fn next_span(&mut self, buf: &mut Vec<u8>) -> Option<Span> {
        if self.signal_pending {
            self.signal_pending = false;
            self.in_record = false;
            return Some(Span::Terminator);
        }
        if self.discard_pending {
            self.discard_now(buf);
        }
        let start = self.pos;
        let avail = buf.len() - start;
        if self.stalled || avail == 0 {
            return None;
        }
        // A delimiter first: the common case (a CRLF line) tests one variant.
        let end = match &mut self.terminator {
            Terminator::Delimiter(d) if !d.is_empty() => {
                let hay = &buf[start..];
                let found = match (&self.short, &self.finder) {
                    (Some(short), _) => short.find(hay),
                    (None, Some(f)) => f.find(hay),
                    (None, None) => None, // unreachable: set with the delimiter
                };
                match found {
                    Some(i) => {
                        self.pos = start + i + d.len();
                        return Some(self.record_end(start, start + i));
                    }
                    None => match find_prefix_at_end(hay, d) {
                        0 => buf.len(),
                        p => {
                            self.stalled = true;
                            if p == avail {
                                return None;
                            }
                            buf.len() - p
                        }
                    },
                }
            }
            t if t.behaves_as_none() => buf.len(),
            Terminator::Count(n) => {
                if avail < *n {
                    *n -= avail;
                    buf.len()
                } else {
                    let end = start + *n;
                    *n = 0;
                    self.pos = end;
                    return Some(self.record_end(start, end));
                }
            }
            Terminator::BlankLine => {
                let hay = &buf[start..];
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
                    BlankLineSearch::NotYet { hold: 0 } => buf.len(),
                    BlankLineSearch::NotYet { hold } => {
                        self.stalled = true;
                        if hold == avail {
                            return None;
                        }
                        buf.len() - hold
                    }
                }
            }
            Terminator::None | Terminator::Delimiter(_) => buf.len(), // unreachable: behaves as none
        };
        self.pos = end;
        self.in_record = true;
        Some(Span::Data(start, end))
    }

    /// The next record if it is already whole in `buf` and nothing of it
    /// was delivered: its start, the end of its data and the end of its
    /// terminator, with the input moved past it. `None`, changing nothing,
    /// whenever [`next_span`](Framing::next_span) would give anything but a
    /// whole record: a piece, a signal due, input to discard, more input
    /// needed, or a terminator that frames no records.
    ///
    /// The terminator is read at each call, so a change made after one
    /// record frames the next, as with the hooks.
    #[inline]
    pub(crate) fn next_whole(&mut self, buf: &[u8]) -> Option<(usize, usize, usize)> {
        if self.signal_pending || self.discard_pending || self.stalled || self.in_record {
            return None;
        }
        let start = self.pos;
        let hay = buf.get(start..).filter(|h| !h.is_empty())?;
        let (data_end, end) = match &mut self.terminator {
            Terminator::Delimiter(d) if !d.is_empty() => {
                let i = match (&self.short, &self.finder) {
                    (Some(short), _) => short.find(hay),
                    (None, Some(f)) => f.find(hay),
                    (None, None) => None, // unreachable: set with the delimiter
                }?;
                (i, i + d.len())
            }
            Terminator::Count(n) if *n > 0 && hay.len() >= *n => {
                let n = std::mem::take(n);
                (n, n)
            }
            Terminator::BlankLine if self.fresh => whole_blank_line_record(hay)?,
            _ => return None,
        };
        self.pos = start + end;
        Some((start, start + data_end, start + end))
    }

    /// The records already whole in `buf` behind the one just taken (as a
    /// [`Span::Record`] or with [`next_whole`](Framing::next_whole)), as
    /// one run framed by the terminator in effect: the end of the run's
    /// last terminator and how many records it holds (0: none, and the
    /// input stays where it is).
    pub(crate) fn extend_run(&mut self, buf: &[u8]) -> (usize, usize) {
        if self.signal_pending || self.discard_pending || self.stalled || self.in_record {
            return (self.pos, 0);
        }
        // A short delimiter (a CRLF line), in one loop: between two whole
        // records nothing else of `next_whole`'s can change.
        if let Some(short) = &self.short {
            let (end, count) = short.find_run(buf, self.pos);
            self.pos = end;
            return (end, count);
        }
        let (mut end, mut count) = (self.pos, 0);
        while let Some((_, _, e)) = self.next_whole(buf) {
            end = e;
            count += 1;
        }
        (end, count)
    }

    /// Where the undelivered input starts in the bytes.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Gives back the records an [`extend_run`](Framing::extend_run) took:
    /// the input stands at `pos` again, what the run left before it. (A run
    /// changes nothing else: only a count's record changes the terminator,
    /// and a run never follows it.)
    pub(crate) fn rewind_run(&mut self, pos: usize) {
        self.pos = pos;
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

    /// See [`set_whole_records`](Framing::set_whole_records).
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

    /// Bytes of `buf` not yet delivered.
    // Spec: AC-CHAT-29.
    pub(crate) fn buffered(&self, buf: &[u8]) -> usize {
        self.buffer(buf).len()
    }

    /// The bytes of `buf` not yet delivered.
    // Spec: AC-CHAT-30, AC-CHAT-Q-8.
    pub(crate) fn buffer<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        if self.discard_pending {
            &[]
        } else {
            &buf[self.pos..]
        }
    }

    /// Drops the input, the moment nothing reads it any more: the next
    /// span, feed or read starts from nothing (a hook asks for this while
    /// it reads its piece). A `Terminator` event already due is still
    /// reported, as in the reference.
    // Spec: AC-CHAT-83.
    pub(crate) fn discard_later(&mut self) {
        self.discard_pending = true;
    }

    /// Drops the input in `buf` now.
    pub(crate) fn discard_now(&mut self, buf: &mut Vec<u8>) {
        buf.clear();
        self.pos = 0;
        self.discard_pending = false;
    }

    /// Reclaims delivered bytes before appending: cheap when everything was delivered
    /// (the normal case), amortised linear otherwise.
    fn compact(&mut self, buf: &mut Vec<u8>) {
        if self.discard_pending || self.pos == buf.len() {
            self.discard_now(buf);
        } else if self.pos > 0 && self.pos >= buf.len() - self.pos {
            buf.drain(..self.pos);
            self.pos = 0;
        }
    }
}
