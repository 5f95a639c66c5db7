//! `Record` and `Records`: whole records taken from the input in place,
//! with the bytes that ended them.

use super::delimiter_search::whole_blank_line_record;
use super::terminator::Terminator;

/// A whole record taken with [`Chat::next_record`](super::Chat::next_record):
/// its data, as `found_record` would get it, and the record as it was
/// received, its terminator included (a delimiter, the empty line of
/// [`Terminator::BlankLine`](super::Terminator::BlankLine), nothing for a
/// count). Both are read in place, in the channel's input.
///
/// # Examples
///
/// Answers each line with its length, and reuses the CRLF it came with:
///
/// ```
/// use asyncore_loop::chat::{Chat, ChatHandler, Collector};
/// use std::io;
///
/// struct Lengths(Collector);
///
/// fn answer(chat: &mut Chat<'_, '_>, line: &[u8]) -> io::Result<()> {
///     chat.push(format!("{}\r\n", line.len()))
/// }
///
/// impl ChatHandler for Lengths {
///     fn found_record(&mut self, chat: &mut Chat<'_, '_>, line: &[u8]) -> io::Result<()> {
///         answer(chat, line)?;
///         // The lines that came with this one:
///         while let Some(record) = chat.next_record() {
///             let data = record.data();
///             let crlf = &record.as_received()[data.len()..];
///             chat.push(data.len().to_string())?;
///             chat.push(crlf)?;
///         }
///         Ok(())
///     }
///     // A line cut across reads:
///     fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, data: &[u8]) -> io::Result<()> {
///         self.0.collect(data);
///         Ok(())
///     }
///     fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
///         match self.0.finish() {
///             Ok(line) => answer(chat, line),
///             Err(_) => chat.push("-ERR line too long\r\n"),
///         }
///     }
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'i> {
    received: &'i [u8],
    data_len: usize,
}

impl<'i> Record<'i> {
    /// `received` holds the record's data (its first `data_len` bytes),
    /// then its terminator.
    pub(super) fn new(received: &'i [u8], data_len: usize) -> Self {
        Record { received, data_len }
    }

    /// The record without its terminator (possibly empty).
    #[inline]
    pub fn data(&self) -> &'i [u8] {
        // `new`'s callers give a length within the bytes.
        self.received.get(..self.data_len).unwrap_or_default()
    }

    /// The record as received: its data, then the bytes that ended it.
    #[inline]
    pub fn as_received(&self) -> &'i [u8] {
        self.received
    }
}

/// The records that arrived whole together, as
/// [`ChatHandler::found_records`](super::ChatHandler::found_records) gets
/// them: one slice of the input as received, terminators included, how
/// many records it holds, and each of them, one by one, with
/// [`iter`](Records::iter).
///
/// See `found_records` for examples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Records<'i> {
    received: &'i [u8],
    count: usize,
    ends: Ends,
}

/// How the records of a run end, so that the run can be cut into them
/// again: by the same search that found them, not by a copy of the
/// terminator (the hook may change it meanwhile).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ends {
    /// A delimiter this long; every record of the run ends with it, so the
    /// run's last bytes are the delimiter.
    Delimiter(usize),
    /// An empty line (`Terminator::BlankLine`).
    BlankLine,
    /// Nothing: the run is one record (a count's).
    Nothing,
}

impl Ends {
    /// How the records framed by `terminator` end.
    pub(super) fn of(terminator: &Terminator) -> Ends {
        match terminator {
            Terminator::Delimiter(d) if !d.is_empty() => Ends::Delimiter(d.len()),
            Terminator::BlankLine => Ends::BlankLine,
            _ => Ends::Nothing,
        }
    }
}

impl<'i> Records<'i> {
    pub(super) fn new(received: &'i [u8], count: usize, ends: Ends) -> Self {
        Records {
            received,
            count,
            ends,
        }
    }

    /// The records as received, one after the other, each with the bytes
    /// that ended it.
    #[inline]
    pub fn as_received(&self) -> &'i [u8] {
        self.received
    }

    /// How many records (at least one).
    #[inline]
    pub fn count(&self) -> usize {
        self.count
    }

    /// Each record of the run, in order, as
    /// [`Chat::next_record`](super::Chat::next_record) would have taken it:
    /// its data as `found_record` would get it, and the record as received.
    /// The run is cut where it was found to end, by the terminator in effect
    /// when it was found, even if the hook has changed the terminator since.
    ///
    /// # Examples
    ///
    /// A command server that answers every line of a read in one push; a
    /// line cut across reads is collected and answered alone:
    ///
    /// ```
    /// use asyncore_loop::chat::{AsyncChat, Chat, ChatHandler, Collector, Records};
    /// use asyncore_loop::EventLoop;
    /// use std::io::{self, Read, Write};
    ///
    /// struct Commands(Collector);
    ///
    /// fn answer(line: &[u8], out: &mut Vec<u8>) {
    ///     match line {
    ///         b"PING" => out.extend_from_slice(b"+PONG\r\n"),
    ///         _ => out.extend_from_slice(b"-ERR unknown command\r\n"),
    ///     }
    /// }
    ///
    /// impl ChatHandler for Commands {
    ///     fn found_records(&mut self, chat: &mut Chat<'_, '_>, lines: Records<'_>) -> io::Result<()> {
    ///         let mut out = Vec::new();
    ///         for line in lines {
    ///             answer(line.data(), &mut out);
    ///         }
    ///         chat.push(out)
    ///     }
    ///     fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, data: &[u8]) -> io::Result<()> {
    ///         self.0.collect(data);
    ///         Ok(())
    ///     }
    ///     fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
    ///         let mut out = Vec::new();
    ///         match self.0.finish() {
    ///             Ok(line) => answer(line, &mut out),
    ///             Err(_) => out.extend_from_slice(b"-ERR line too long\r\n"),
    ///         }
    ///         chat.push(out)
    ///     }
    /// }
    ///
    /// let (a, b) = std::os::unix::net::UnixStream::pair()?;
    /// let mut ev = EventLoop::new();
    /// let server = AsyncChat::new(Commands(Collector::new(512))).with_terminator("\r\n");
    /// ev.add(server).adopt(a.into())?;
    /// (&b).write_all(b"PING\r\nHELLO\r\nPING\r\n")?;
    /// ev.run_loop(Some(std::time::Duration::from_secs(1)), Some(2))?;
    /// let want = b"+PONG\r\n-ERR unknown command\r\n+PONG\r\n";
    /// let mut got = vec![0u8; want.len()];
    /// b.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    /// (&b).read_exact(&mut got)?;
    /// assert_eq!(got, want);
    /// # Ok::<(), io::Error>(())
    /// ```
    pub fn iter(&self) -> RecordsIter<'i> {
        // A delimiter's searcher, set up once for the run: the run's last
        // bytes are its delimiter.
        let delimiter = match self.ends {
            Ends::Delimiter(len) => self.received.len().checked_sub(len),
            _ => None,
        };
        RecordsIter {
            rest: self.received,
            left: self.count,
            ends: self.ends,
            finder: delimiter.map(|at| memchr::memmem::Finder::new(&self.received[at..])),
        }
    }
}

impl<'i> IntoIterator for Records<'i> {
    type Item = Record<'i>;
    type IntoIter = RecordsIter<'i>;

    fn into_iter(self) -> RecordsIter<'i> {
        self.iter()
    }
}

impl<'i> IntoIterator for &Records<'i> {
    type Item = Record<'i>;
    type IntoIter = RecordsIter<'i>;

    fn into_iter(self) -> RecordsIter<'i> {
        self.iter()
    }
}

/// The records of a [`Records`] run, one by one ([`Records::iter`]).
#[derive(Clone, Debug)]
pub struct RecordsIter<'i> {
    /// The records not yet given.
    rest: &'i [u8],
    left: usize,
    ends: Ends,
    /// The delimiter's searcher (`Ends::Delimiter`).
    finder: Option<memchr::memmem::Finder<'i>>,
}

impl<'i> RecordsIter<'i> {
    /// The next record's data length and length as received in `rest`, by
    /// the search that framed it.
    fn cut(&self) -> Option<(usize, usize)> {
        let rest = self.rest;
        match self.ends {
            Ends::Delimiter(len) => {
                let i = self.finder.as_ref()?.find(rest)?;
                Some((i, i + len))
            }
            // Every record of a run begins where a record may be empty.
            Ends::BlankLine => whole_blank_line_record(rest),
            Ends::Nothing => Some((rest.len(), rest.len())),
        }
    }
}

impl<'i> Iterator for RecordsIter<'i> {
    type Item = Record<'i>;

    fn next(&mut self) -> Option<Record<'i>> {
        if self.left == 0 || self.rest.is_empty() {
            return None;
        }
        // A run is cut where it was found to end; were the search ever to
        // disagree, the rest would come as one record rather than be lost.
        let (data_len, len) = self.cut().unwrap_or((self.rest.len(), self.rest.len()));
        let (record, rest) = self.rest.split_at(len.min(self.rest.len()));
        self.rest = rest;
        self.left -= 1;
        if self.rest.is_empty() {
            self.left = 0;
        }
        Some(Record::new(record, data_len))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let some = self.left > 0 && !self.rest.is_empty();
        (usize::from(some), Some(self.left))
    }
}
