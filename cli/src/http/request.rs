//! The request head parser: a complete head (request line and header lines,
//! each ended by LF with an optional CR before it, without the empty line
//! that ends the head) in, a [`Request`] or the status to refuse it with out.
//!
//! It is strict where leniency lets two parties disagree about where a
//! request ends (request smuggling): a header line starting with whitespace
//! (obs-fold), whitespace before a colon, a bare CR, Content-Length together
//! with Transfer-Encoding, and two different Content-Lengths are all 400.
//! It is pure (no I/O), so it is fuzzed directly (`fuzz/`, `http_request`).

use super::status::Status;

/// Most header fields in one request (past it: 431).
pub const MAX_FIELDS: usize = 100;

/// The request method, as far as a static-file server cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD`.
    Head,
    /// A method HTTP defines that this server does not allow (405).
    NotAllowed,
    /// A method this server does not know (501).
    Unknown,
}

/// A parsed request head: the parts the server acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// The request line as received (for the access log).
    pub line: String,
    /// The method (`None` only in a default value).
    pub method: Option<Method>,
    /// The request target, raw (still percent-encoded).
    pub target: Vec<u8>,
    /// HTTP/1.1 or later (else HTTP/1.0).
    pub http11: bool,
    /// Whether the connection stays open after the response, from the
    /// version and the `Connection` header.
    pub keep_alive: bool,
    /// The body's length (0 without Content-Length).
    pub content_length: u64,
    /// A Transfer-Encoding header was present (with no Content-Length).
    pub transfer_encoding: bool,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<String>,
    /// `If-None-Match` (several fields joined with commas).
    pub if_none_match: Option<String>,
    /// `If-Match` (several fields joined with commas).
    pub if_match: Option<String>,
    /// `If-Unmodified-Since`.
    pub if_unmodified_since: Option<String>,
    /// `Range`.
    pub range: Option<String>,
    /// `If-Range`.
    pub if_range: Option<String>,
}

impl Request {
    /// GET or HEAD, with HEAD's answer carrying no body.
    pub fn is_head(&self) -> bool {
        self.method == Some(Method::Head)
    }
}

/// A refused head: the status to answer; the connection then closes (the
/// request's framing cannot be trusted).
pub type Reject = Status;

/// A byte table: letters, digits and `extra` are in.
const fn alphanumeric_and(extra: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
}

/// RFC 9110 `tchar`, as a table: every byte of every method and field
/// name is checked.
const TCHAR: [bool; 256] = alphanumeric_and(b"!#$%&'*+-.^_`|~");

fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// The bytes a field value may hold: all but the controls, tab allowed.
const FIELD_VALUE: [bool; 256] = {
    let mut t = [true; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b == 0x09;
        b += 1;
    }
    t[0x7f] = false;
    t
};

/// Where a field line's name ends: the index of its colon, if every byte
/// before it is a token character and there is at least one.
fn name_end(line: &[u8]) -> Option<usize> {
    for (i, &b) in line.iter().enumerate() {
        if b == b':' {
            return (i > 0).then_some(i);
        }
        if !is_tchar(b) {
            return None;
        }
    }
    None
}

fn method_of(token: &[u8]) -> Method {
    match token {
        b"GET" => Method::Get,
        b"HEAD" => Method::Head,
        b"POST" | b"PUT" | b"DELETE" | b"CONNECT" | b"OPTIONS" | b"TRACE" | b"PATCH" => {
            Method::NotAllowed
        }
        _ => Method::Unknown,
    }
}

/// `HTTP/1.1` -> Ok(true), `HTTP/1.0` -> Ok(false); another `HTTP/1.x`
/// counts as 1.1, another major version is 505, anything else 400.
fn version_of(v: &[u8]) -> Result<bool, Reject> {
    match v {
        b"HTTP/1.1" => Ok(true),
        b"HTTP/1.0" => Ok(false),
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            if *major == b'1' {
                Ok(true)
            } else {
                Err(Status::VersionNotSupported)
            }
        }
        _ => Err(Status::BadRequest),
    }
}

/// The header fields this server reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Host,
    Read,
}

impl Field {
    /// `Some` for a field this server reads (`Host` counted apart: its
    /// value is not needed); `None` for any other field.
    fn of(name: &[u8]) -> Option<Field> {
        const READ: [&[u8]; 9] = [
            b"content-length",
            b"transfer-encoding",
            b"connection",
            b"if-modified-since",
            b"if-none-match",
            b"range",
            b"if-range",
            b"if-match",
            b"if-unmodified-since",
        ];
        if name.eq_ignore_ascii_case(b"host") {
            Some(Field::Host)
        } else if READ.iter().any(|r| name.eq_ignore_ascii_case(r)) {
            Some(Field::Read)
        } else {
            None
        }
    }
}

/// A list field's value after the fields of that name seen before it
/// (RFC 9110 5.3: they combine, in order, with commas).
fn joined(before: Option<String>, value: &str) -> String {
    match before {
        Some(before) => format!("{before}, {value}"),
        None => value.to_string(),
    }
}

/// The request line: `METHOD SP TARGET SP VERSION`, single spaces.
fn request_line(line: &[u8], req: &mut Request) -> Result<(), Reject> {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Status::BadRequest);
    };
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err(Status::BadRequest);
    }
    // Controls (NUL included), space and DEL never appear in a target.
    if target.is_empty() || target.iter().any(|&b| b < 0x21 || b == 0x7f) {
        return Err(Status::BadRequest);
    }
    req.http11 = version_of(version)?;
    req.method = Some(method_of(method));
    req.target.clear();
    req.target.extend_from_slice(target);
    req.line.clear();
    match std::str::from_utf8(line) {
        Ok(text) => req.line.push_str(text),
        Err(_) => req.line.push_str(&String::from_utf8_lossy(line)),
    }
    Ok(())
}

/// A Content-Length value: digits, or a list of equal digit strings
/// (`5, 5`); anything else (signs, different values) is 400.
fn content_length(value: &str, seen: Option<u64>) -> Result<u64, Reject> {
    let mut found = seen;
    for item in value.split(',') {
        let item = item.trim_matches([' ', '\t']);
        if item.is_empty() || !item.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Status::BadRequest);
        }
        let n: u64 = item.parse().map_err(|_| Status::BadRequest)?;
        match found {
            Some(m) if m != n => return Err(Status::BadRequest),
            _ => found = Some(n),
        }
    }
    found.ok_or(Status::BadRequest)
}

/// Parses a request head (see the [module documentation](self)).
///
/// # Examples
///
/// ```
/// use asyncore_cli::http::request::{parse_head, Method};
/// use asyncore_cli::http::status::Status;
/// let r = parse_head(b"GET /a%20b HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\n").unwrap();
/// assert_eq!(r.method, Some(Method::Get));
/// assert_eq!(r.target, b"/a%20b");
/// assert!(r.keep_alive);
/// assert_eq!(r.range.as_deref(), Some("bytes=0-1"));
/// let smuggled = b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n";
/// assert_eq!(parse_head(smuggled), Err(Status::BadRequest));
/// ```
pub fn parse_head(head: &[u8]) -> Result<Request, Reject> {
    let mut req = Request::default();
    parse_head_into(head, &mut req)?;
    Ok(req)
}

/// `head` split at each LF, as `head.split(|&b| b == b'\n')` splits it,
/// with memchr finding the LFs instead of a test per byte.
fn lf_lines(head: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(head);
    std::iter::from_fn(move || {
        let r = rest?;
        match memchr::memchr(b'\n', r) {
            Some(i) => {
                rest = Some(&r[i + 1..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// [`parse_head`] into `req`, reusing its buffers (a connection parses
/// every request into the same one, without allocating).
pub fn parse_head_into(head: &[u8], req: &mut Request) -> Result<(), Reject> {
    let mut target = std::mem::take(&mut req.target);
    let mut line = std::mem::take(&mut req.line);
    target.clear();
    line.clear();
    *req = Request {
        target,
        line,
        ..Request::default()
    };
    let mut lines = lf_lines(head);
    let first = lines.next().unwrap_or_default();
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    if first.contains(&b'\r') {
        return Err(Status::BadRequest);
    }
    request_line(first, req)?;
    let mut fields = 0usize;
    let mut host = 0usize;
    let (mut close, mut keep) = (false, false);
    let mut length: Option<u64> = None;
    for raw in lines {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() {
            // Only the end of the slice (a head passed with its final LF).
            continue;
        }
        fields += 1;
        if fields > MAX_FIELDS {
            return Err(Status::HeaderFieldsTooLarge);
        }
        // One pass over each byte: the name is tokens up to the colon (so
        // a leading space or tab, obs-fold, whitespace before the colon and
        // a CR in the name are all refused here), the value has no control
        // byte but tab (a bare CR in it is refused there).
        let colon = name_end(line).ok_or(Status::BadRequest)?;
        let name = &line[..colon];
        let value = &line[colon + 1..];
        let field = Field::of(name);
        if field == Some(Field::Host) {
            // Its own, narrower byte check is the value check.
            host += 1;
            if !valid_host(value) {
                return Err(Status::BadRequest);
            }
            continue;
        }
        if value.iter().any(|&b| !FIELD_VALUE[usize::from(b)]) {
            return Err(Status::BadRequest);
        }
        // Only the fields used below are read as text.
        if field.is_none() {
            continue;
        }
        let value = String::from_utf8_lossy(value);
        let value = value.trim_matches([' ', '\t']);
        let name = std::str::from_utf8(name).map_err(|_| Status::BadRequest)?;
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(content_length(value, length)?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            req.transfer_encoding = true;
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(|t| t.trim_matches([' ', '\t'])) {
                close |= token.eq_ignore_ascii_case("close");
                keep |= token.eq_ignore_ascii_case("keep-alive");
            }
        } else if name.eq_ignore_ascii_case("if-modified-since") {
            req.if_modified_since = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("if-none-match") {
            req.if_none_match = Some(joined(req.if_none_match.take(), value));
        } else if name.eq_ignore_ascii_case("if-match") {
            req.if_match = Some(joined(req.if_match.take(), value));
        } else if name.eq_ignore_ascii_case("if-unmodified-since") {
            req.if_unmodified_since = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("range") {
            if req.range.is_some() {
                return Err(Status::BadRequest);
            }
            req.range = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("if-range") {
            req.if_range = Some(value.to_string());
        }
    }
    if req.transfer_encoding && length.is_some() {
        return Err(Status::BadRequest);
    }
    // RFC 9112 3.2: exactly one Host in HTTP/1.1; at most one in 1.0.
    if host > 1 || (req.http11 && host == 0) {
        return Err(Status::BadRequest);
    }
    req.content_length = length.unwrap_or(0);
    req.keep_alive = !close && (req.http11 || keep);
    Ok(())
}

/// The bytes of `uri-host [ ":" port ]` (RFC 3986: unreserved, sub-delims,
/// `%` of pct-encoded, `:` and the brackets of an IP literal).
const HOST: [bool; 256] = alphanumeric_and(b"-._~!$&'()*+,;=:%[]");

/// RFC 9112 §3.2: a Host value is `uri-host [ ":" port ]` (or empty): no
/// spaces, slashes, `@` or the like, which a server must answer with 400.
fn valid_host(value: &[u8]) -> bool {
    let ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !ows(b)).unwrap_or(value.len());
    let end = value.iter().rposition(|b| !ows(b)).map_or(start, |i| i + 1);
    // Every byte looked at, without an early exit: one load and one `and`.
    value[start..end]
        .iter()
        .fold(true, |ok, &b| ok & HOST[usize::from(b)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(head: &[u8]) -> Result<(), Status> {
        parse_head(head).map(|_| ())
    }

    #[test]
    fn lf_lines_split_as_slice_split_does() {
        for head in [
            &b""[..],
            b"\n",
            b"a",
            b"a\n",
            b"a\nb",
            b"\n\nab\r\n\n",
            b"GET / HTTP/1.1\r\nHost: x\r\n",
        ] {
            let want: Vec<&[u8]> = head.split(|&b| b == b'\n').collect();
            assert_eq!(lf_lines(head).collect::<Vec<_>>(), want, "{head:?}");
        }
    }

    #[test]
    fn keep_alive_by_version_and_connection() {
        let ka = |h: &[u8]| parse_head(h).unwrap().keep_alive;
        assert!(ka(b"GET / HTTP/1.1\r\nHost: x\r\n"));
        assert!(!ka(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n"));
        assert!(!ka(b"GET / HTTP/1.0\r\n"));
        assert!(ka(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n"));
        assert!(!ka(b"GET / HTTP/1.0\nConnection: keep-alive, close\n"));
    }

    #[test]
    fn an_invalid_host_is_400() {
        for host in ["a b", "a/b", "a@b", "a\tb", "x\\y"] {
            let head = format!("GET / HTTP/1.1\r\nHost: {host}\r\n");
            assert_eq!(status(head.as_bytes()), Err(Status::BadRequest), "{host:?}");
        }
        for host in ["", "x", "example.com:8080", "[::1]:80", "a-b.c_d~e", " x "] {
            let head = format!("GET / HTTP/1.1\r\nHost: {host}\r\n");
            assert_eq!(status(head.as_bytes()), Ok(()), "{host:?}");
        }
    }

    #[test]
    fn smuggling_forms_are_400() {
        let bad: [&[u8]; 9] = [
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n",
            b"GET / HTTP/1.1\r\nHost : x\r\n",
            b"GET / HTTP/1.1\r\nHost: x\rY: z\r\n",
            b"GET / HTTP/1.1\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n",
        ];
        for head in bad {
            assert_eq!(
                status(head),
                Err(Status::BadRequest),
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
        let same = parse_head(
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n",
        );
        assert_eq!(same.unwrap().content_length, 3);
    }

    #[test]
    fn request_line_forms() {
        assert_eq!(
            status(b"GET  / HTTP/1.1\r\nHost: x\r\n"),
            Err(Status::BadRequest)
        );
        assert_eq!(
            status(b"GET /\0 HTTP/1.1\r\nHost: x\r\n"),
            Err(Status::BadRequest)
        );
        assert_eq!(
            status(b"GET / HTTP/2.0\r\nHost: x\r\n"),
            Err(Status::VersionNotSupported)
        );
        assert_eq!(status(b"GET /\r\n"), Err(Status::BadRequest));
        assert_eq!(
            status(b"G(T / HTTP/1.1\r\nHost: x\r\n"),
            Err(Status::BadRequest)
        );
        assert_eq!(
            parse_head(b"BREW / HTTP/1.0\r\n").unwrap().method,
            Some(Method::Unknown)
        );
        assert_eq!(
            parse_head(b"POST / HTTP/1.0\r\n").unwrap().method,
            Some(Method::NotAllowed)
        );
    }

    #[test]
    fn field_count_limit() {
        let mut head = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
        for i in 0..MAX_FIELDS - 1 {
            head.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
        }
        assert!(parse_head(&head).is_ok());
        head.extend_from_slice(b"X-last: y\r\n");
        assert_eq!(status(&head), Err(Status::HeaderFieldsTooLarge));
    }
}
