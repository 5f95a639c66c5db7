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
/// h.number_field("Content-Length", 0);
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
        Head::reusing(String::with_capacity(256), status, date)
    }

    /// [`new`](Head::new) in `buffer` (emptied first), so that a
    /// connection can build every head in the same allocation.
    pub fn reusing(mut buffer: String, status: Status, date: &str) -> Self {
        // Built with push_str, not write!: this runs for every response.
        buffer.clear();
        let mut text = buffer;
        text.push_str("HTTP/1.1 ");
        push_decimal(&mut text, status.code().into());
        text.push(' ');
        text.push_str(status.reason());
        text.push_str("\r\nServer: asyncore\r\nDate: ");
        text.push_str(date);
        text.push_str("\r\n");
        Head { text }
    }

    /// Adds a field.
    pub fn field(&mut self, name: &str, value: impl std::fmt::Display) -> &mut Self {
        let _ = write!(self.text, "{name}: {value}\r\n");
        self
    }

    /// Adds a field whose value is text (no formatting machinery).
    pub fn text_field(&mut self, name: &str, value: &str) -> &mut Self {
        self.text.push_str(name);
        self.text.push_str(": ");
        self.text.push_str(value);
        self.text.push_str("\r\n");
        self
    }

    /// Adds fields already rendered (`Name: value\r\n` each).
    pub fn rendered_fields(&mut self, fields: &str) -> &mut Self {
        self.text.push_str(fields);
        self
    }

    /// Adds a field whose value is a number.
    pub fn number_field(&mut self, name: &str, value: u64) -> &mut Self {
        self.text.push_str(name);
        self.text.push_str(": ");
        push_decimal(&mut self.text, value);
        self.text.push_str("\r\n");
        self
    }

    /// The head's bytes: `Connection: close` when the connection closes
    /// after this response, `Connection: keep-alive` when an HTTP/1.0
    /// client's connection stays open.
    pub fn finish(self, keep_alive: bool, http10: bool) -> Vec<u8> {
        self.finish_text(keep_alive, http10).into_bytes()
    }

    /// [`finish`](Head::finish) as text (whose buffer can be
    /// [`reused`](Head::reusing)).
    pub fn finish_text(mut self, keep_alive: bool, http10: bool) -> String {
        if !keep_alive {
            self.text.push_str("Connection: close\r\n");
        } else if http10 {
            self.text.push_str("Connection: keep-alive\r\n");
        }
        self.text.push_str("\r\n");
        self.text
    }
}

/// Appends `n` in decimal.
fn push_decimal(text: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        text.push(char::from(d));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_text_fields() {
        let mut h = Head::new(Status::PartialContent, "D");
        h.number_field("A", 0)
            .number_field("B", 1024)
            .number_field("C", u64::MAX)
            .text_field("E", "x y");
        assert_eq!(
            String::from_utf8(h.finish(true, false)).unwrap(),
            "HTTP/1.1 206 Partial Content\r\nServer: asyncore\r\nDate: D\r\nA: 0\r\nB: 1024\r\nC: 18446744073709551615\r\nE: x y\r\n\r\n"
        );
    }
}
