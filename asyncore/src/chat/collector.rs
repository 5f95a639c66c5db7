//! `Collector`: accumulates one record up to a maximum length.
//!
//! asynchat hands a record over in pieces and keeps no copy; a
//! handler that appends them without a limit lets one peer grow memory without
//! bound. A `Collector` keeps at most `max` bytes of the current record and
//! counts the rest, so memory stays flat whatever the peer sends; at the
//! terminator the handler learns whether the record fit and chooses the
//! policy: reply and discard (as smtpd does), or fail and close.
//
// Spec: AC-CHAT-27.

use std::fmt;
use std::io;

/// Accumulates a record's pieces, keeping at most `max` bytes.
///
/// # Examples
///
/// Reply-and-discard (smtpd's policy) or error-and-close (`?`):
///
/// ```
/// use asyncore_loop::chat::Collector;
///
/// let mut line = Collector::new(8);
/// line.collect(b"way too ");
/// line.collect(b"long");
/// match line.take() {
///     Ok(record) => unreachable!("{record:?}"),
///     Err(over) => assert_eq!(over.total, 12), // reply "500 line too long", go on
/// }
/// line.collect(b"ok");
/// assert_eq!(line.take()?, b"ok");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Collector {
    buf: Vec<u8>,
    max: usize,
    total: usize,
    /// `buf` holds a record handed out by [`Collector::finish`]; the next
    /// `collect` starts over (reusing the allocation).
    finished: bool,
}

/// A record was longer than its collector's limit (its bytes past the limit
/// were dropped as they arrived).
///
/// # Examples
///
/// ```
/// use asyncore_loop::chat::Collector;
/// let mut c = Collector::new(1);
/// c.collect(b"ab");
/// let err: std::io::Error = c.take().unwrap_err().into();
/// assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Overflow {
    /// The limit.
    pub max: usize,
    /// How long the record really was.
    pub total: usize,
}

impl fmt::Display for Overflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "record of {} bytes exceeds the limit of {} bytes",
            self.total, self.max
        )
    }
}

impl std::error::Error for Overflow {}

impl From<Overflow> for io::Error {
    fn from(o: Overflow) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, o)
    }
}

impl Collector {
    /// A collector keeping at most `max` bytes per record.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(asyncore_loop::chat::Collector::new(512).is_empty());
    /// ```
    pub fn new(max: usize) -> Self {
        Collector {
            buf: Vec::new(),
            max,
            total: 0,
            finished: false,
        }
    }

    /// Adds a piece of the current record (from `collect_incoming_data`);
    /// bytes past the limit are counted and dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut c = asyncore_loop::chat::Collector::new(3);
    /// c.collect(b"abcdef");
    /// assert!(c.overflowed());
    /// assert_eq!(c.len(), 3);
    /// ```
    pub fn collect(&mut self, data: &[u8]) {
        self.start_over_if_finished();
        let room = self.max.saturating_sub(self.buf.len());
        self.buf.extend_from_slice(&data[..data.len().min(room)]);
        self.total = self.total.saturating_add(data.len());
    }

    /// Whether the current record has passed the limit.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut c = asyncore_loop::chat::Collector::new(3);
    /// c.collect(b"abc");
    /// assert!(!c.overflowed());
    /// ```
    pub fn overflowed(&self) -> bool {
        self.total > self.max
    }

    /// The record (at `found_terminator`), or how far it overflowed; either
    /// way the collector is reset for the next record.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut c = asyncore_loop::chat::Collector::new(16);
    /// c.collect(b"HELO ");
    /// c.collect(b"there");
    /// assert_eq!(c.take().unwrap(), b"HELO there");
    /// assert!(c.is_empty());
    /// ```
    pub fn take(&mut self) -> Result<Vec<u8>, Overflow> {
        self.start_over_if_finished();
        let total = std::mem::take(&mut self.total);
        if total > self.max {
            self.buf.clear();
            return Err(Overflow {
                max: self.max,
                total,
            });
        }
        Ok(std::mem::take(&mut self.buf))
    }

    /// The record borrowed (at `found_terminator`), or how far it overflowed;
    /// the collector starts a new record at the next `collect`, reusing its
    /// buffer, so a steady stream of records allocates nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut c = asyncore_loop::chat::Collector::new(16);
    /// c.collect(b"PING");
    /// assert_eq!(c.finish().unwrap(), b"PING");
    /// assert!(c.is_empty());
    /// c.collect(b"PONG");
    /// assert_eq!(c.finish().unwrap(), b"PONG");
    /// ```
    pub fn finish(&mut self) -> Result<&[u8], Overflow> {
        self.start_over_if_finished();
        let total = std::mem::take(&mut self.total);
        self.finished = true;
        if total > self.max {
            return Err(Overflow {
                max: self.max,
                total,
            });
        }
        Ok(&self.buf)
    }

    fn start_over_if_finished(&mut self) {
        if std::mem::take(&mut self.finished) {
            self.buf.clear();
        }
    }

    /// Drops the current record.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut c = asyncore_loop::chat::Collector::new(16);
    /// c.collect(b"x");
    /// c.clear();
    /// assert!(c.is_empty());
    /// ```
    pub fn clear(&mut self) {
        self.buf.clear();
        self.total = 0;
        self.finished = false;
    }

    /// Bytes kept so far (at most the limit).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(asyncore_loop::chat::Collector::new(4).len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        if self.finished {
            0
        } else {
            self.buf.len()
        }
    }

    /// Whether nothing of the current record arrived yet.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(asyncore_loop::chat::Collector::new(4).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The limit.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(asyncore_loop::chat::Collector::new(4).max(), 4);
    /// ```
    pub fn max(&self) -> usize {
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // `finish` lends the record and the next `collect` starts a new one in the
    // same allocation; `len`/`is_empty`/`take` see the record as handed out.
    #[test]
    fn finish_lends_and_reuses() {
        let mut c = Collector::new(8);
        c.collect(b"abc");
        assert_eq!(c.finish().unwrap(), b"abc");
        assert_eq!(c.len(), 0);
        assert!(c.is_empty());
        assert_eq!(c.take().unwrap(), b"");
        c.collect(b"de");
        let at = c.finish().unwrap().as_ptr();
        c.collect(b"fg");
        assert_eq!(c.finish().unwrap(), b"fg");
        assert_eq!(c.finish().unwrap().as_ptr(), at);
    }

    // An overflowing record gives `Overflow` from `finish`, and the next
    // record is clean.
    #[test]
    fn finish_overflow_then_clean() {
        let mut c = Collector::new(2);
        c.collect(b"abcd");
        assert_eq!(c.finish().unwrap_err(), Overflow { max: 2, total: 4 });
        c.collect(b"x");
        assert_eq!(c.finish().unwrap(), b"x");
        c.collect(b"yz");
        c.clear();
        c.collect(b"q");
        assert_eq!(c.take().unwrap(), b"q");
    }
}
