//! The access log: one line per request in the common log format, on
//! stdout.

use super::dates::clf_date;
use std::fmt::Write;

/// A common log format line (with its `\n`): `HOST - - [DATE] "REQUEST"
/// STATUS BYTES`. Control characters, `"` and `\` in the request line are
/// written as `\xHH`, so a client cannot forge log lines.
///
/// # Examples
///
/// ```
/// use asyncore_cli::http::access_log::line;
/// assert_eq!(
///     line("127.0.0.1", 784_111_777, "GET /a\"b HTTP/1.1", 200, 5),
///     "127.0.0.1 - - [06/Nov/1994:08:49:37 +0000] \"GET /a\\x22b HTTP/1.1\" 200 5\n"
/// );
/// assert!(line("::1", 0, "", 304, 0).ends_with("\"\" 304 -\n"));
/// ```
pub fn line(peer: &str, secs: u64, request: &str, status: u16, bytes: u64) -> String {
    let mut out = String::with_capacity(96 + request.len());
    let _ = write!(out, "{peer} - - {} \"", clf_date(secs));
    for c in request.chars() {
        if c.is_control() || c == '"' || c == '\\' {
            let mut utf8 = [0u8; 4];
            for b in c.encode_utf8(&mut utf8).bytes() {
                let _ = write!(out, "\\x{b:02x}");
            }
        } else {
            out.push(c);
        }
    }
    if bytes == 0 {
        let _ = writeln!(out, "\" {status} -");
    } else {
        let _ = writeln!(out, "\" {status} {bytes}");
    }
    out
}
