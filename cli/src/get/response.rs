//! A sans-IO HTTP/1.x response parser: bytes in, events out, no sockets.
//!
//! Feed it whatever the socket gave with [`ResponseParser::advance`] (any
//! split, down to one byte at a time), and tell it about end of stream with
//! [`ResponseParser::finish`]. It yields the head once (interim `1xx`
//! responses other than `101` are skipped), then body bytes, then
//! [`Event::Done`]. The body is delimited as RFC 9112 §6.3 says: none for
//! `1xx`/`204`/`304`, chunked when `Transfer-Encoding` ends in `chunked`
//! (chunk extensions ignored, trailers kept), else `Content-Length`, else
//! the connection's close.
//!
//! Lines may end in CRLF or a bare LF. Limits: a head line of 16 KiB, a head
//! of 64 KiB, 256 header fields (the same for trailers).

mod head;

use head::{field_line, framing, status_line};
pub use head::{Framing, Head, ParseError};

const MAX_LINE: usize = 16 * 1024;
const MAX_HEAD: usize = 64 * 1024;

/// What [`ResponseParser::advance`] found.
///
/// # Examples
///
/// ```
/// use asyncore_cli::get::{Event, ResponseParser};
/// let mut p = ResponseParser::new();
/// let input = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi";
/// let (n, e) = p.advance(input).unwrap();
/// assert!(matches!(e, Event::Head(_)));
/// assert_eq!(p.advance(&input[n..]).unwrap(), (2, Event::Body(&b"hi"[..])));
/// assert_eq!(p.advance(b"").unwrap(), (0, Event::Done));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// All input was taken (some of it may be buffered): feed more.
    NeedMore,
    /// The final response's head (once).
    Head(Head),
    /// Body bytes, a slice of the input, chunk framing removed.
    Body(&'a [u8]),
    /// The response is complete (any further input is ignored).
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    StatusLine,
    Headers,
    Length(u64),
    Close,
    ChunkSize,
    ChunkData(u64),
    ChunkEnd,
    Trailers,
    Done,
}

/// The parser. See the module docs.
///
/// # Examples
///
/// Feeding a chunked response one byte at a time:
///
/// ```
/// use asyncore_cli::get::{Event, ResponseParser};
/// let input = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\n";
/// let mut p = ResponseParser::new();
/// let mut body = Vec::new();
/// for byte in input.chunks(1) {
///     let mut rest = byte;
///     loop {
///         let (n, event) = p.advance(rest).unwrap();
///         rest = &rest[n..];
///         match event {
///             Event::Body(b) => body.extend_from_slice(b),
///             Event::NeedMore | Event::Done => break,
///             Event::Head(_) => {}
///         }
///     }
/// }
/// assert_eq!(body, b"abc");
/// assert!(p.is_done());
/// assert_eq!(p.trailers(), [("X-Sum".to_string(), "1".to_string())]);
/// ```
#[derive(Debug, Clone)]
pub struct ResponseParser {
    state: State,
    /// The line being assembled (a head line, a chunk-size line ...).
    line: Vec<u8>,
    /// The raw head so far.
    raw: Vec<u8>,
    /// The interim heads before it, as received (kept with `keep_interim`).
    interim: Vec<u8>,
    keep_interim: bool,
    version: String,
    status: u16,
    reason: String,
    headers: Vec<(String, String)>,
    trailers: Vec<(String, String)>,
    framing: Option<Framing>,
    received: u64,
    /// The request was HEAD: the head's framing fields describe a body
    /// that is never sent.
    head_request: bool,
}

impl Default for ResponseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl ResponseParser {
    /// A parser waiting for a status line.
    pub fn new() -> Self {
        ResponseParser {
            state: State::StatusLine,
            line: Vec::new(),
            raw: Vec::new(),
            interim: Vec::new(),
            keep_interim: false,
            version: String::new(),
            status: 0,
            reason: String::new(),
            headers: Vec::new(),
            trailers: Vec::new(),
            framing: None,
            received: 0,
            head_request: false,
        }
    }

    /// A parser for the answer to a HEAD request: the response ends with
    /// its head, whatever `Content-Length` or `Transfer-Encoding` say.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_cli::get::{Event, ResponseParser};
    /// let mut p = ResponseParser::for_head_request();
    /// let (_, e) = p.advance(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n").unwrap();
    /// assert!(matches!(e, Event::Head(_)));
    /// assert!(p.is_done());
    /// ```
    pub fn for_head_request() -> Self {
        ResponseParser {
            head_request: true,
            ..Self::new()
        }
    }

    /// This parser keeps the interim (`1xx`) heads, for [`Head::interim`]
    /// (`get -i` writes them, as `curl -i` does). They then count toward the
    /// head's 64 KiB limit; otherwise they are dropped as they end.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_cli::get::{Event, ResponseParser};
    /// let mut p = ResponseParser::new().keeping_interim();
    /// let (_, e) = p.advance(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n").unwrap();
    /// let Event::Head(head) = e else { panic!("no head") };
    /// assert_eq!(head.interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    /// ```
    pub fn keeping_interim(self) -> Self {
        ResponseParser {
            keep_interim: true,
            ..self
        }
    }

    /// Whether the whole response has been parsed.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The body's framing, once the head is parsed.
    pub fn framing(&self) -> Option<Framing> {
        self.framing
    }

    /// Body bytes yielded so far.
    pub fn body_received(&self) -> u64 {
        self.received
    }

    /// The trailer fields of a chunked body (empty otherwise).
    pub fn trailers(&self) -> &[(String, String)] {
        &self.trailers
    }

    /// Parses from the start of `input`: returns how many bytes it took and
    /// what it found. Call again with the rest until [`Event::NeedMore`] (all
    /// input taken) or [`Event::Done`].
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_cli::get::{Event, ResponseParser};
    /// let mut p = ResponseParser::new();
    /// assert_eq!(p.advance(b"HTTP/1.1 2").unwrap(), (10, Event::NeedMore));
    /// ```
    pub fn advance<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Event<'a>), ParseError> {
        let mut used = 0;
        loop {
            let rest = &input[used..];
            match self.state {
                State::Done => return Ok((used, Event::Done)),
                State::Length(left) | State::ChunkData(left) => {
                    if rest.is_empty() {
                        return Ok((used, Event::NeedMore));
                    }
                    let n = rest.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    let left = left - n as u64;
                    self.state = match self.state {
                        State::Length(_) if left == 0 => State::Done,
                        State::Length(_) => State::Length(left),
                        _ if left == 0 => State::ChunkEnd,
                        _ => State::ChunkData(left),
                    };
                    self.received += n as u64;
                    return Ok((used + n, Event::Body(&rest[..n])));
                }
                State::Close => {
                    if rest.is_empty() {
                        return Ok((used, Event::NeedMore));
                    }
                    self.received += rest.len() as u64;
                    return Ok((used + rest.len(), Event::Body(rest)));
                }
                State::StatusLine | State::Headers | State::Trailers => {
                    let (n, line) = self.take_line(rest)?;
                    used += n;
                    let Some(line) = line else {
                        return Ok((used, Event::NeedMore));
                    };
                    if let Some(head) = self.head_line(line)? {
                        return Ok((used, Event::Head(head)));
                    }
                }
                State::ChunkSize => {
                    let (n, line) = self.take_line(rest)?;
                    used += n;
                    let Some(line) = line else {
                        return Ok((used, Event::NeedMore));
                    };
                    self.state = match chunk_size(&line)? {
                        0 => State::Trailers,
                        size => State::ChunkData(size),
                    };
                }
                State::ChunkEnd => {
                    let (n, line) = self.take_line(rest)?;
                    used += n;
                    match line {
                        None => return Ok((used, Event::NeedMore)),
                        Some(l) if l.is_empty() => self.state = State::ChunkSize,
                        Some(_) => {
                            return Err(ParseError::bad("chunk data longer than its size"));
                        }
                    }
                }
            }
        }
    }

    /// The server closed the connection: `Ok` if that completes the
    /// response (a close-delimited body, or one already done), else the
    /// reason it is truncated.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut p = asyncore_cli::get::ResponseParser::new();
    /// let input = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345";
    /// let (head_len, _head) = p.advance(input).unwrap();
    /// p.advance(&input[head_len..]).unwrap(); // five body bytes
    /// let e = p.finish().unwrap_err();
    /// assert!(e.truncated);
    /// assert_eq!(e.to_string(), "truncated response: the body ended after 5 of 10 bytes");
    /// ```
    pub fn finish(&mut self) -> Result<(), ParseError> {
        let err = match self.state {
            State::Done => return Ok(()),
            State::Close => {
                self.state = State::Done;
                return Ok(());
            }
            State::StatusLine if self.raw.is_empty() && self.line.is_empty() => {
                "the server closed the connection without a response".to_string()
            }
            State::StatusLine | State::Headers => "the connection closed inside the head".into(),
            State::Length(left) => format!(
                "the body ended after {} of {} bytes",
                self.received,
                self.received + left
            ),
            State::ChunkSize | State::ChunkData(_) | State::ChunkEnd => format!(
                "the chunked body ended inside a chunk, after {} bytes",
                self.received
            ),
            State::Trailers => "the connection closed inside the trailers".into(),
        };
        Err(ParseError::short(err))
    }

    /// Takes bytes up to a line end: `(used, Some(line))` with the line
    /// without its CRLF/LF, or `(all, None)` with the input buffered.
    fn take_line(&mut self, input: &[u8]) -> Result<(usize, Option<Vec<u8>>), ParseError> {
        let in_head = matches!(self.state, State::StatusLine | State::Headers);
        let (used, complete) = match input.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (input.len(), false),
        };
        self.line.extend_from_slice(&input[..used]);
        if in_head {
            self.raw.extend_from_slice(&input[..used]);
            if self.raw.len() + self.interim.len() > MAX_HEAD {
                return Err(ParseError::bad(if self.interim.is_empty() {
                    "the head is longer than 64 KiB"
                } else {
                    "the interim (1xx) heads and the head are longer than 64 KiB"
                }));
            }
        }
        if self.line.len() > MAX_LINE + 2 {
            return Err(ParseError::bad("a line is longer than 16 KiB"));
        }
        if !complete {
            return Ok((used, None));
        }
        let mut line = std::mem::take(&mut self.line);
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok((used, Some(line)))
    }

    /// One line of the head or the trailers; the head when it is complete.
    fn head_line(&mut self, line: Vec<u8>) -> Result<Option<Head>, ParseError> {
        match self.state {
            State::StatusLine => {
                (self.version, self.status, self.reason) = status_line(&line)?;
                self.state = State::Headers;
                Ok(None)
            }
            State::Headers if line.is_empty() => self.end_of_head(),
            State::Trailers if line.is_empty() => {
                self.state = State::Done;
                Ok(None)
            }
            _ => {
                let trailer = self.state == State::Trailers;
                let fields = if trailer {
                    &mut self.trailers
                } else {
                    &mut self.headers
                };
                field_line(fields, &line)?;
                Ok(None)
            }
        }
    }

    fn end_of_head(&mut self) -> Result<Option<Head>, ParseError> {
        if (100..200).contains(&self.status) && self.status != 101 {
            // An interim response (100 Continue, 103 Early Hints): kept
            // as received for `-i`, else dropped.
            if self.keep_interim {
                self.interim.append(&mut self.raw);
            }
            self.raw.clear();
            self.headers.clear();
            self.state = State::StatusLine;
            return Ok(None);
        }
        let head = Head {
            version: std::mem::take(&mut self.version),
            status: self.status,
            reason: std::mem::take(&mut self.reason),
            headers: std::mem::take(&mut self.headers),
            raw: std::mem::take(&mut self.raw),
            interim: std::mem::take(&mut self.interim),
        };
        let framing = framing(&head)?;
        self.framing = Some(framing);
        self.state = match framing {
            _ if self.head_request => State::Done,
            Framing::Empty => State::Done,
            Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::ChunkSize,
            Framing::Close => State::Close,
        };
        Ok(Some(head))
    }
}

/// `1a2b[;ext...]` → the size.
fn chunk_size(line: &[u8]) -> Result<u64, ParseError> {
    let text = String::from_utf8_lossy(line);
    let hex = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim_matches([' ', '\t']);
    let bad = || {
        let shown: String = text.chars().take(40).collect();
        ParseError::bad(format!("bad chunk size line {shown:?}"))
    };
    if hex.is_empty() || hex.len() > 15 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    u64::from_str_radix(hex, 16).map_err(|_| bad())
}

#[cfg(test)]
mod tests;
