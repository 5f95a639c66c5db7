//! One SMTP session: smtpd 3.11's `SMTPChannel` state machine as a
//! [`ChatHandler`], with its bugs fixed.
//!
//! Input is framed by LF (so CRLF and bare-LF lines are both understood; a
//! CR before the LF is dropped). In the command state each line goes into a
//! [`Collector`] capped at the longest allowed command, so a long line costs
//! no memory; in the DATA state each line is dot-unstuffed and appended to
//! the message, counted against the size limit, and dropped once past it.
//! A line holding only `.` ends the message, including right after `DATA`
//! (the empty message smtpd 3.11 could not see).

// Spec: AC-CHAT-EX-2 (smtpd's channel on asynchat).

mod auth;
mod commands;
mod config;
mod incoming;
mod reply;
mod starttls;

pub use config::SessionConfig;
pub use starttls::StartTls;

use super::delivery::Deliver;
use asyncore_loop::chat::{AsyncChat, Chat, ChatHandler, Collector};
use asyncore_loop::{Cx, Deadline};
use incoming::Incoming;
use reply::reply;
use std::io;
use std::rc::Rc;

/// RFC 5321 §4.5.3.1.4: a command line is at most 512 octets, CRLF included.
pub const COMMAND_LIMIT: usize = 512;
/// What `SIZE` adds to the `MAIL` command's limit (RFC 1870, smtpd's 26).
const SIZE_EXTRA: usize = 26;
/// What `SMTPUTF8` adds to the `MAIL` command's limit (smtpd's 10).
const SMTPUTF8_EXTRA: usize = 10;
/// The longest command line any state allows.
const LONGEST_COMMAND: usize = COMMAND_LIMIT + SIZE_EXTRA + SMTPUTF8_EXTRA;
/// Recipients per message (RFC 5321 §4.5.3.1.8 asks for at least 100).
pub const MAX_RECIPIENTS: usize = 1000;
/// Where a session is: reading commands or message data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Command,
    Data,
}

/// One SMTP session ([`ChatHandler`]); wrap it with [`channel`] and greet
/// with [`greet`].
///
/// # Examples
///
/// ```
/// use asyncore_cli::smtpd::{channel, greet, Memory, Session, SessionConfig};
/// use std::io::{BufRead, BufReader, Write};
/// use std::rc::Rc;
///
/// let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
/// let sink = Rc::new(Memory::default());
/// let mut ev = asyncore_loop::EventLoop::new();
/// let session = Session::new(Rc::new(SessionConfig::default()), "peer-address", sink.clone());
/// let t = ev.add(channel(session)).adopt(ours.into())?;
/// ev.with(t, greet).transpose()?;
/// (&theirs).write_all(b"HELO x\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n")?;
/// ev.run()?; // QUIT closes the session; the loop is then empty
/// let replies: Vec<String> = BufReader::new(&theirs).lines().collect::<Result<_, _>>()?;
/// assert_eq!(replies[1..].iter().map(|l| &l[..3]).collect::<Vec<_>>(), ["250", "250", "250", "354", "250", "221"]);
/// assert_eq!(sink.messages()[0].data, b"hi\n");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Session {
    config: Rc<SessionConfig>,
    deliver: Rc<dyn Deliver>,
    peer: String,
    state: State,
    line: Collector,
    incoming: Incoming,
    greeting: Option<String>,
    extended: bool,
    mail_from: Option<String>,
    rcpt_tos: Vec<String>,
    mail_options: Vec<String>,
    /// An `AUTH` exchange waiting for the client's next line.
    auth_step: Option<auth::AuthStep>,
    /// The user name given to `AUTH` (any is accepted with `--auth-any`).
    authenticated: Option<String>,
    /// QUIT was answered: later input is ignored.
    quit: bool,
    /// The loop is shutting down: finish the transaction in flight, then 421.
    draining: bool,
    /// A timeout already answered with 421.
    timed_out: bool,
    /// STARTTLS was accepted: the session runs (or is starting) TLS.
    tls_active: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("peer", &self.peer)
            .field("state", &self.state)
            .field("greeting", &self.greeting)
            .field("mail_from", &self.mail_from)
            .field("rcpt_tos", &self.rcpt_tos)
            .finish_non_exhaustive()
    }
}

/// Wraps a session in its chat channel: LF-framed input.
///
/// # Examples
///
/// ```
/// use asyncore_cli::smtpd::{channel, Memory, Session, SessionConfig};
/// use std::rc::Rc;
/// let chan = channel(Session::new(Rc::new(SessionConfig::default()), "peer", Rc::new(Memory::default())));
/// assert_eq!(chan.terminator(), &asyncore_loop::chat::Terminator::from("\n"));
/// ```
pub fn channel(session: Session) -> AsyncChat<Session> {
    AsyncChat::new(session).with_terminator("\n")
}

/// Starts a session that was just adopted: pushes the `220` greeting and
/// arms the command timeout. Call it through `with` on the new channel's
/// token.
///
/// # Examples
///
/// See [`Session`].
pub fn greet(chan: &mut AsyncChat<Session>, cx: &mut Cx<'_>) -> io::Result<()> {
    let (session, mut chat) = chan.split(cx);
    let timeout = session.config.command_timeout;
    chat.set_timeout(Deadline::Idle, Some(timeout));
    let hello = format!(
        "220 {} asyncore smtpd {}",
        session.config.hostname,
        env!("CARGO_PKG_VERSION")
    );
    reply(&mut chat, &hello)
}

impl Session {
    /// A session for a client at `peer` (its IP address, recorded in
    /// `X-Peer`), delivering to `deliver`.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_cli::smtpd::{Memory, Session, SessionConfig};
    /// use std::rc::Rc;
    /// let s = Session::new(Rc::new(SessionConfig::default()), "127.0.0.1", Rc::new(Memory::default()));
    /// assert_eq!(s.peer(), "127.0.0.1");
    /// ```
    pub fn new(
        config: Rc<SessionConfig>,
        peer: impl Into<String>,
        deliver: Rc<dyn Deliver>,
    ) -> Self {
        Session {
            config,
            deliver,
            peer: peer.into(),
            state: State::Command,
            line: Collector::new(LONGEST_COMMAND),
            incoming: Incoming::default(),
            greeting: None,
            extended: false,
            mail_from: None,
            rcpt_tos: Vec::new(),
            mail_options: Vec::new(),
            auth_step: None,
            authenticated: None,
            quit: false,
            draining: false,
            timed_out: false,
            tls_active: false,
        }
    }

    /// The client's address as given to [`Session::new`].
    ///
    /// # Examples
    ///
    /// See [`Session::new`].
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// smtpd's `_set_rset_state`: the transaction is dropped.
    fn reset(&mut self) {
        self.state = State::Command;
        self.mail_from = None;
        self.rcpt_tos.clear();
        self.mail_options.clear();
        self.incoming = Incoming::default();
    }

    /// The limit for `verb`, CRLF included (per session: smtpd 3.11 shared it
    /// between all connections).
    fn limit(&self, verb: &str) -> usize {
        if self.extended && verb == "MAIL" {
            LONGEST_COMMAND
        } else {
            COMMAND_LIMIT
        }
    }
}

impl ChatHandler for Session {
    fn name(&self) -> &'static str {
        "smtpd"
    }

    fn collect_incoming_data(&mut self, _chat: &mut Chat<'_, '_>, data: &[u8]) -> io::Result<()> {
        match self.state {
            _ if self.quit => {}
            State::Command => self.line.collect(data),
            State::Data => self.incoming.collect(data, self.config.max_size),
        }
        Ok(())
    }

    fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
        if self.quit {
            return Ok(());
        }
        match self.state {
            State::Command => self.command(chat),
            State::Data => {
                if self.incoming.end_line(self.config.max_size) {
                    self.end_of_data(chat)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// RFC 5321 §4.5.3.2: the client went quiet; `421`, then close.
    fn handle_timeout(&mut self, chat: &mut Chat<'_, '_>, kind: Deadline) -> io::Result<()> {
        let line = format!(
            "{} {kind} timeout in {:?} state",
            chat.describe("smtpd"),
            self.state
        );
        chat.log_info(&line, "info");
        // Between STARTTLS's 220 and the end of the handshake there is no
        // way to send a 421: plaintext is over, TLS not yet there.
        let upgrading = self.tls_active && (!chat.is_tls() || chat.tls_handshaking());
        if std::mem::replace(&mut self.timed_out, true) || upgrading {
            return chat.close();
        }
        // A partial message is dropped: it was never acknowledged.
        self.reset();
        self.closing(chat, "Error: timeout exceeded")
    }

    /// Graceful shutdown: an idle session is told `421` at once; a session
    /// in a transaction finishes it (its `250` is sent once the message is
    /// stored) and is told `421` right after it. The loop's deadline
    /// closes whatever is left.
    fn handle_shutdown(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
        if self.quit {
            return Ok(());
        }
        self.draining = true;
        if self.state == State::Command && self.mail_from.is_none() && self.line.is_empty() {
            self.closing(chat, "Service shutting down, closing transmission channel")?;
        }
        Ok(())
    }
}
