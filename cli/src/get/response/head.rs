//! The head of a response: the status line, header fields, the body
//! framing they imply, and what can be wrong with them.

use std::fmt;

/// At most this many header (or trailer) fields.
pub(super) const MAX_FIELDS: usize = 256;

/// A response's status line and header fields.
///
/// # Examples
///
/// ```
/// use asyncore_cli::get::{Event, ResponseParser};
/// let mut p = ResponseParser::new();
/// let (_, event) = p.advance(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").unwrap();
/// let Event::Head(head) = event else { panic!() };
/// assert_eq!((head.status, head.reason.as_str()), (200, "OK"));
/// assert_eq!(head.status_line(), "HTTP/1.1 200 OK");
/// assert_eq!(head.header("content-length"), Some("0")); // any case
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// `HTTP/1.0` or `HTTP/1.1` (any `HTTP/1.x`), as the server wrote it.
    pub version: String,
    /// The status code.
    pub status: u16,
    /// The reason phrase (may be empty).
    pub reason: String,
    /// The header fields in order, names as sent, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The head exactly as received, status line to the blank line included.
    pub raw: Vec<u8>,
    /// The interim (`1xx`) heads that came before this one (`100 Continue`,
    /// `103 Early Hints`), exactly as received, one after the other; usually
    /// none. `get -i` writes them before `raw`, as `curl -i` does.
    pub interim: Vec<u8>,
}

impl Head {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The status line, e.g. `HTTP/1.1 404 Not Found`.
    pub fn status_line(&self) -> String {
        if self.reason.is_empty() {
            format!("{} {}", self.version, self.status)
        } else {
            format!("{} {} {}", self.version, self.status, self.reason)
        }
    }
}

/// How the body of a response is delimited.
///
/// # Examples
///
/// ```
/// use asyncore_cli::get::{Framing, ResponseParser};
/// let mut p = ResponseParser::new();
/// p.advance(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
/// assert_eq!(p.framing(), Some(Framing::Chunked));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (`1xx`, `204`, `304`).
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the server closes the connection.
    Close,
}

/// Why a response could not be parsed.
///
/// # Examples
///
/// ```
/// let mut p = asyncore_cli::get::ResponseParser::new();
/// let e = p.advance(b"SPAM\r\n").unwrap_err();
/// assert!(e.to_string().starts_with("malformed response"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// True when the input stopped early (end of stream before the end of
    /// the body), false when it was wrong.
    pub truncated: bool,
    /// What was wrong.
    pub message: String,
}

impl ParseError {
    pub(super) fn bad(message: impl Into<String>) -> Self {
        ParseError {
            truncated: false,
            message: message.into(),
        }
    }

    pub(super) fn short(message: impl Into<String>) -> Self {
        ParseError {
            truncated: true,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.truncated {
            "truncated response"
        } else {
            "malformed response"
        };
        write!(f, "{what}: {}", self.message)
    }
}

impl std::error::Error for ParseError {}

/// `HTTP/1.x SSS reason` → version, status, reason.
pub(super) fn status_line(line: &[u8]) -> Result<(String, u16, String), ParseError> {
    let text = String::from_utf8_lossy(line);
    let bad = || {
        let shown: String = text.chars().take(60).collect();
        ParseError::bad(format!("not an HTTP/1.x status line: {shown:?}"))
    };
    let mut parts = text.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let code = parts.next().unwrap_or("");
    let reason = parts.next().unwrap_or("").trim();
    let minor = version.strip_prefix("HTTP/1.").ok_or_else(bad)?;
    if minor.len() != 1 || !minor.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let status: u16 = code.parse().map_err(|_| bad())?;
    if status < 100 {
        return Err(bad());
    }
    Ok((version.to_string(), status, reason.to_string()))
}

/// `name: value` (an obs-fold continuation line joins the previous value).
pub(super) fn field_line(
    fields: &mut Vec<(String, String)>,
    line: &[u8],
) -> Result<(), ParseError> {
    let text = String::from_utf8_lossy(line);
    if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
        let Some((_, value)) = fields.last_mut() else {
            return Err(ParseError::bad("a continuation line with no header field"));
        };
        value.push(' ');
        value.push_str(text.trim());
        return Ok(());
    }
    let Some((name, value)) = text.split_once(':') else {
        let shown: String = text.chars().take(60).collect();
        return Err(ParseError::bad(format!(
            "a header line without ':': {shown:?}"
        )));
    };
    if name.is_empty() || name.bytes().any(|b| b <= b' ' || b >= 0x7f) {
        return Err(ParseError::bad(format!("bad header field name {name:?}")));
    }
    if fields.len() >= MAX_FIELDS {
        return Err(ParseError::bad("more than 256 header fields"));
    }
    fields.push((name.to_string(), value.trim().to_string()));
    Ok(())
}

/// RFC 9112 §6.3, for a response to GET.
pub(super) fn framing(head: &Head) -> Result<Framing, ParseError> {
    if (100..200).contains(&head.status) || head.status == 204 || head.status == 304 {
        return Ok(Framing::Empty);
    }
    let fields = |name: &'static str| {
        head.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    // Only chunked can be undone here (the request offers no other in `TE`);
    // the bytes of any other coding are not the body, so they are refused.
    let mut chunked = false;
    for coding in fields("transfer-encoding") {
        if coding.eq_ignore_ascii_case("chunked") {
            chunked = true;
        } else if !coding.eq_ignore_ascii_case("identity") {
            return Err(ParseError::bad(format!(
                "unsupported transfer coding {coding:?} (only chunked is decoded)"
            )));
        }
    }
    if chunked {
        return Ok(Framing::Chunked);
    }
    let mut length = None;
    for value in fields("content-length") {
        let n = value
            .parse::<u64>()
            .ok()
            .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| ParseError::bad(format!("bad Content-Length {value:?}")))?;
        if length.is_some_and(|l| l != n) {
            return Err(ParseError::bad("conflicting Content-Length values"));
        }
        length = Some(n);
    }
    Ok(length.map_or(Framing::Close, Framing::Length))
}
