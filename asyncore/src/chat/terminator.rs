//! `Terminator`: what ends a record of a chat channel's input.

use std::fmt;
use std::io;

/// What ends a record (asynchat's terminator).
///
/// `Count(0)` and an empty `Delimiter` are "falsy" and behave exactly like `None`:
/// everything is delivered, nothing is signalled.
///
/// # Examples
///
/// ```
/// use asyncore_loop::chat::Terminator;
///
/// assert_eq!(Terminator::from("\r\n"), Terminator::Delimiter(b"\r\n".to_vec()));
/// assert_eq!(Terminator::from(4usize), Terminator::Count(4));
/// assert!(Terminator::Count(0).behaves_as_none());
/// assert!(Terminator::try_from(-1i64).is_err());
/// ```
// Spec: AC-CHAT-10…14, AC-CHAT-10.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Terminator {
    /// No records: all data is delivered as it arrives, never a signal.
    #[default]
    None,
    /// A byte count: after this many more bytes a record ends. While reading, the value
    /// shows the bytes still outstanding, and 0 once the count completed.
    // Spec: AC-CHAT-13.
    Count(usize),
    /// A delimiter: each occurrence ends a record; the delimiter itself is not delivered.
    Delimiter(Vec<u8>),
    /// An empty line ends a record of lines, as in an HTTP or MIME head:
    /// the record is the lines before it, each with its line ending (`\n`
    /// or `\r\n`); the empty line (`\n` or `\r\n`) is not delivered. An
    /// empty first line is an empty record (a record begins after the
    /// previous one and wherever the terminator is set). Where a line
    /// protocol would get one `found_terminator` per line, this gets one
    /// per head.
    ///
    /// ```
    /// use asyncore_loop::chat::{Event, Parser, Terminator};
    ///
    /// let mut p = Parser::with_terminator(Terminator::BlankLine);
    /// p.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nnext");
    /// assert_eq!(p.next_event(), Some(Event::Data(b"GET / HTTP/1.1\r\nHost: a\r\n")));
    /// assert_eq!(p.next_event(), Some(Event::Terminator));
    /// assert_eq!(p.next_event(), Some(Event::Data(b"next")));
    /// ```
    BlankLine,
}

impl Terminator {
    /// True for every terminator that the input loop treats as "none":
    /// `None`, `Count(0)` and an empty `Delimiter`.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::Terminator;
    ///
    /// assert!(Terminator::None.behaves_as_none());
    /// assert!(Terminator::Delimiter(Vec::new()).behaves_as_none());
    /// assert!(!Terminator::Count(1).behaves_as_none());
    /// ```
    // Spec: AC-CHAT-10.
    pub fn behaves_as_none(&self) -> bool {
        match self {
            Terminator::None => true,
            Terminator::Count(n) => *n == 0,
            Terminator::Delimiter(d) => d.is_empty(),
            Terminator::BlankLine => false,
        }
    }
}

impl fmt::Debug for Terminator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Terminator::None => f.write_str("None"),
            Terminator::Count(n) => write!(f, "Count({n})"),
            Terminator::Delimiter(d) => write!(f, "Delimiter(b\"{}\")", d.escape_ascii()),
            Terminator::BlankLine => f.write_str("BlankLine"),
        }
    }
}

impl From<usize> for Terminator {
    fn from(n: usize) -> Self {
        Terminator::Count(n)
    }
}

impl From<&[u8]> for Terminator {
    fn from(d: &[u8]) -> Self {
        Terminator::Delimiter(d.to_vec())
    }
}

impl<const N: usize> From<&[u8; N]> for Terminator {
    fn from(d: &[u8; N]) -> Self {
        Terminator::Delimiter(d.to_vec())
    }
}

impl From<Vec<u8>> for Terminator {
    fn from(d: Vec<u8>) -> Self {
        Terminator::Delimiter(d)
    }
}

/// Text delimiters are stored as their UTF-8 bytes (the reference's `use_encoding`).
impl From<&str> for Terminator {
    fn from(d: &str) -> Self {
        Terminator::Delimiter(d.as_bytes().to_vec())
    }
}

impl<T: Into<Terminator>> From<Option<T>> for Terminator {
    fn from(t: Option<T>) -> Self {
        t.map_or(Terminator::None, Into::into)
    }
}

/// The signed entry point of `set_terminator(n)`:
/// a negative count fails with `InvalidInput` and the reference's message
/// `the number of received bytes must be positive`; 0 is accepted.
// Spec: AC-CHAT-11, AC-CHAT-99, TC-CH-14.
impl TryFrom<i64> for Terminator {
    type Error = io::Error;

    fn try_from(n: i64) -> io::Result<Self> {
        usize::try_from(n).map(Terminator::Count).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the number of received bytes must be positive",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // TC-CH-14 / AC-CHAT-99: the signed entry point rejects negative counts.
    #[test]
    fn tc_ch_14_negative_count_rejected() {
        let err = Terminator::try_from(-1i64).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            err.to_string(),
            "the number of received bytes must be positive"
        );
        assert_eq!(Terminator::try_from(0i64).unwrap(), Terminator::Count(0));
    }
}
