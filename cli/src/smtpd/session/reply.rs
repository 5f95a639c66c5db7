//! Reply lines: how a session answers, and what of the client's text it
//! echoes.

use asyncore_loop::chat::Chat;
use std::io;

/// The `354` reply.
pub(super) const GO_AHEAD: &str = "354 End data with <CR><LF>.<CR><LF>";
/// `HELP` without argument (smtpd's text).
pub(super) const SUPPORTED: &str =
    "Supported commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY";

pub(super) fn reply(chat: &mut Chat<'_, '_>, text: &str) -> io::Result<()> {
    let mut line = Vec::with_capacity(text.len() + 2);
    line.extend_from_slice(text.as_bytes());
    line.extend_from_slice(b"\r\n");
    chat.push(line)
}

/// Echoed text with control characters shown as `?` (a NUL or CR never goes
/// back into a reply line).
pub(super) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}
