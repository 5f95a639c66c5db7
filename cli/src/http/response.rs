//! Response heads and the small bodies of error responses.

use super::status::Status;
use std::fmt::Write;

/// A response head being built: the status line, `Server` and `Date`,
/// then the caller's fields; [`finish`](Head::finish) adds `Connection`
/// and the empty line.
///
/// # Examples
///
/// ```
/// use asyncore_cli::http::response::Head;
/// use asyncore_cli::http::status::Status;
/// let mut h = Head::new(Status::NotFound, "Thu, 01 Jan 1970 00:00:00 GMT");
/// h.field("Content-Length", 0);
/// let bytes = h.finish(false, false);
/// assert_eq!(
///     String::from_utf8(bytes).unwrap(),
///     "HTTP/1.1 404 Not Found\r\nServer: asyncore\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
/// );
/// ```
#[derive(Debug)]
pub struct Head {
    text: String,
}

impl Head {
    /// A head with `status`, dated `date` (an IMF-fixdate).
    pub fn new(status: Status, date: &str) -> Self {
        let mut text = String::with_capacity(256);
        let _ = write!(
            text,
            "HTTP/1.1 {} {}\r\nServer: asyncore\r\nDate: {date}\r\n",
            status.code(),
            status.reason()
        );
        Head { text }
    }

    /// Adds a field.
    pub fn field(&mut self, name: &str, value: impl std::fmt::Display) -> &mut Self {
        let _ = write!(self.text, "{name}: {value}\r\n");
        self
    }

    /// The head's bytes: `Connection: close` when the connection closes
    /// after this response, `Connection: keep-alive` when an HTTP/1.0
    /// client's connection stays open.
    pub fn finish(mut self, keep_alive: bool, http10: bool) -> Vec<u8> {
        if !keep_alive {
            self.text.push_str("Connection: close\r\n");
        } else if http10 {
            self.text.push_str("Connection: keep-alive\r\n");
        }
        self.text.push_str("\r\n");
        self.text.into_bytes()
    }
}

/// The small HTML body of an error response.
///
/// # Examples
///
/// ```
/// use asyncore_cli::http::response::error_body;
/// use asyncore_cli::http::status::Status;
/// assert!(error_body(Status::Forbidden).contains("<h1>403 Forbidden</h1>"));
/// ```
pub fn error_body(status: Status) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><title>{0} {1}</title></head><body><h1>{0} {1}</h1></body></html>\n",
        status.code(),
        status.reason()
    )
}
