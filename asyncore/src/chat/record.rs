//! `Record` and `Records`: whole records taken from the input in place,
//! with the bytes that ended them.

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
/// them: one slice of the input as received, terminators included, and how
/// many records it holds.
///
/// See `found_records` for an example.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Records<'i> {
    received: &'i [u8],
    count: usize,
}

impl<'i> Records<'i> {
    pub(super) fn new(received: &'i [u8], count: usize) -> Self {
        Records { received, count }
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
}
