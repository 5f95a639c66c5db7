//! One log line per stored message: what a developer watching a mail
//! catcher wants to see at a glance.

use super::delivery::{Deliver, Message};
use super::encoded_words::subject_of;
use std::cell::Cell;
use std::io;

/// Logs (at info level) one line per message it is given, with a sequence
/// number as the message's id. Put it after the sinks that store, so only
/// stored messages are logged.
///
/// # Examples
///
/// ```
/// use asyncore_cli::smtpd::{Deliver, LogLine, Message};
/// LogLine::default().deliver(&Message::default())?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct LogLine {
    count: Cell<u64>,
}

impl Deliver for LogLine {
    fn deliver(&self, message: &Message) -> io::Result<()> {
        let id = self.count.get() + 1;
        self.count.set(id);
        log::info!("{}", describe(id, message));
        Ok(())
    }
}

/// The line for message `id`: sender, every recipient, size and the
/// decoded Subject.
///
/// # Examples
///
/// ```
/// use asyncore_cli::smtpd::{describe, Message};
/// let m = Message {
///     mail_from: "a@x".into(),
///     rcpt_tos: vec!["b@y".into(), "hidden@z".into()],
///     data: b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\n\nhi\n".to_vec(),
///     ..Message::default()
/// };
/// assert_eq!(
///     describe(7, &m),
///     "smtpd: message 7 from a@x to b@y, hidden@z, 41 bytes, subject \"Grüße\""
/// );
/// ```
pub fn describe(id: u64, message: &Message) -> String {
    let subject = match subject_of(&message.data) {
        Some(s) => format!("subject {s:?}"),
        None => "no subject".to_string(),
    };
    format!(
        "smtpd: message {id} from {} to {}, {} bytes, {subject}",
        message.mail_from,
        message.rcpt_tos.join(", "),
        message.data.len()
    )
}
