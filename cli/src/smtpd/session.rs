//! One SMTP session: smtpd 3.11's `SMTPChannel` state machine as a
//! [`ChatHandler`] (AC-CHAT-EX-2), with its bugs fixed.
//!
//! Input is framed by LF (so CRLF and bare-LF lines are both understood; a
//! CR before the LF is dropped). In the command state each line goes into a
//! [`Collector`] capped at the longest allowed command, so a long line costs
//! no memory; in the DATA state each line is dot-unstuffed and appended to
//! the message, counted against the size limit, and dropped once past it.
//! A line holding only `.` ends the message, including right after `DATA`
//! (the empty message smtpd 3.11 could not see).

use super::delivery::{Deliver, Message};
use super::parse::{get_addr, get_params, split_command, strip_keyword};
use asyncore::chat::{AsyncChat, Chat, ChatHandler, Collector};
use asyncore::{Cx, Timeout};
use std::io;
use std::rc::Rc;
use std::time::Duration;

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
/// The `354` reply.
const GO_AHEAD: &str = "354 End data with <CR><LF>.<CR><LF>";
/// `HELP` without argument (smtpd's text).
const SUPPORTED: &str = "Supported commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY";

/// The settings every session of a server shares.
///
/// # Examples
///
/// ```
/// let c = asyncore_cli::smtpd::SessionConfig::default();
/// assert_eq!(c.max_size, 32 << 20);
/// assert_eq!(c.command_timeout.as_secs(), 300);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// The name in the greeting and in the `HELO`/`EHLO` replies (smtpd: the FQDN).
    pub hostname: String,
    /// The most message octets accepted (advertised as `SIZE`).
    pub max_size: usize,
    /// How long to wait for the next command (RFC 5321 §4.5.3.2.7: at least 5 minutes).
    pub command_timeout: Duration,
    /// How long to wait for the next block of message data (RFC 5321 §4.5.3.2.6: 3 minutes).
    pub data_timeout: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            hostname: super::hostname(),
            max_size: 32 << 20,
            command_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(180),
        }
    }
}

/// Where a session is: reading commands or message data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Command,
    Data,
}

/// The message being received in the DATA state, with flat memory.
#[derive(Debug, Default)]
struct Incoming {
    data: Vec<u8>,
    /// RFC 1870 size so far: content octets plus two per line end.
    size: usize,
    overflow: bool,
    /// At the start of a line (nothing of it seen yet).
    line_start: bool,
    /// The current line began with a dot (removed).
    dot: bool,
    /// Content octets of the current line after the dot.
    line_len: usize,
    /// A CR ended the last piece: kept back until we know whether LF follows.
    pending_cr: bool,
    /// The previous line ended with a bare LF.
    prev_bare_lf: bool,
    /// An empty CRLF line right after a bare-LF line, held back: clients
    /// that send bare-LF data (smtplib with bytes, curl) add that CRLF before
    /// `.` themselves, so it is dropped if the end of data follows.
    deferred_blank: bool,
}

impl Incoming {
    fn begin(&mut self) {
        *self = Incoming {
            line_start: true,
            ..Incoming::default()
        };
    }

    /// Content octets of the current line.
    fn append(&mut self, bytes: &[u8], max: usize) {
        if bytes.is_empty() {
            return;
        }
        if std::mem::take(&mut self.deferred_blank) {
            self.store(b"\n", max);
        }
        self.size = self.size.saturating_add(bytes.len());
        self.line_len += bytes.len();
        self.store(bytes, max);
    }

    /// Keeps `bytes` while the message is within `max`; past it, frees the
    /// message and keeps only counting.
    fn store(&mut self, bytes: &[u8], max: usize) {
        if self.size > max {
            if !self.overflow {
                self.overflow = true;
                self.data = Vec::new();
            }
            return;
        }
        // Grow by doubling, but never past the limit (a message at the limit
        // must not cost twice the limit in capacity).
        let need = self.data.len() + bytes.len();
        if need > self.data.capacity() {
            let target = need.max(self.data.capacity() * 2).min(max.max(need));
            self.data.reserve_exact(target - self.data.len());
        }
        self.data.extend_from_slice(bytes);
    }

    /// A piece of the current line.
    fn collect(&mut self, mut piece: &[u8], max: usize) {
        if self.line_start && !piece.is_empty() {
            self.line_start = false;
            if piece[0] == b'.' {
                self.dot = true;
                piece = &piece[1..];
            }
        }
        if piece.is_empty() {
            return;
        }
        if std::mem::take(&mut self.pending_cr) {
            self.append(b"\r", max);
        }
        if let Some(head) = piece.strip_suffix(b"\r") {
            self.append(head, max);
            self.pending_cr = true;
        } else {
            self.append(piece, max);
        }
    }

    /// The line ended; true if it was the end-of-data line `.`.
    fn end_line(&mut self, max: usize) -> bool {
        let crlf = std::mem::take(&mut self.pending_cr);
        let last = self.dot && self.line_len == 0;
        if last {
            self.deferred_blank = false;
        } else {
            self.size = self.size.saturating_add(2);
            if std::mem::take(&mut self.deferred_blank) {
                self.store(b"\n", max);
            }
            if self.line_len == 0 && !self.dot && crlf && self.prev_bare_lf {
                self.deferred_blank = true;
            } else {
                self.store(b"\n", max);
            }
            self.prev_bare_lf = !crlf;
        }
        self.line_start = true;
        self.dot = false;
        self.line_len = 0;
        last
    }
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
/// let mut ev = asyncore::EventLoop::new();
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
    /// QUIT was answered: later input is ignored.
    quit: bool,
    /// The loop is shutting down: finish the transaction in flight, then 421.
    draining: bool,
    /// A timeout already answered with 421.
    timed_out: bool,
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
/// assert_eq!(chan.terminator(), &asyncore::chat::Terminator::from("\n"));
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
    chat.set_timeout(Timeout::Idle, Some(timeout));
    let hello = format!(
        "220 {} asyncore smtpd {}",
        session.config.hostname,
        env!("CARGO_PKG_VERSION")
    );
    reply(&mut chat, &hello)
}

fn reply(chat: &mut Chat<'_, '_>, text: &str) -> io::Result<()> {
    let mut line = Vec::with_capacity(text.len() + 2);
    line.extend_from_slice(text.as_bytes());
    line.extend_from_slice(b"\r\n");
    chat.push(line)
}

/// Echoed text with control characters shown as `?` (a NUL or CR never goes
/// back into a reply line).
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
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
            quit: false,
            draining: false,
            timed_out: false,
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

    fn enter_command_state(&mut self, chat: &mut Chat<'_, '_>) {
        self.state = State::Command;
        chat.set_timeout(Timeout::Idle, Some(self.config.command_timeout));
    }

    fn command(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
        let mut line = match self.line.take() {
            Ok(line) => line,
            Err(_) => return reply(chat, "500 Error: line too long"),
        };
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.is_empty() {
            return reply(chat, "500 Error: bad syntax");
        }
        let text = String::from_utf8_lossy(&line);
        let (verb, arg) = split_command(&text);
        if line.len() + 2 > self.limit(&verb) {
            return reply(chat, "500 Error: line too long");
        }
        if self.draining && self.mail_from.is_none() && verb != "QUIT" {
            return self.closing(chat, "Service shutting down, closing transmission channel");
        }
        match verb.as_str() {
            "HELO" | "EHLO" => self.hello(chat, &verb, arg),
            "NOOP" => reply(
                chat,
                if arg.is_some() {
                    "501 Syntax: NOOP"
                } else {
                    "250 OK"
                },
            ),
            "QUIT" => {
                self.quit = true;
                reply(chat, "221 Bye")?;
                chat.close_when_done();
                Ok(())
            }
            "MAIL" => self.mail(chat, arg),
            "RCPT" => self.rcpt(chat, arg),
            "RSET" => {
                if arg.is_some() {
                    return reply(chat, "501 Syntax: RSET");
                }
                self.reset();
                reply(chat, "250 OK")
            }
            "DATA" => self.data(chat, arg),
            "VRFY" => match arg {
                None => reply(chat, "501 Syntax: VRFY <address>"),
                Some(a) if !get_addr(a).0.is_empty() => reply(
                    chat,
                    "252 Cannot VRFY user, but will accept message and attempt delivery",
                ),
                Some(a) => reply(chat, &format!("502 Could not VRFY {}", printable(a))),
            },
            "EXPN" => reply(chat, "502 EXPN not implemented"),
            "HELP" => self.help(chat, arg),
            _ => reply(
                chat,
                &format!("500 Error: command \"{}\" not recognized", printable(&verb)),
            ),
        }
    }

    /// `421 <host> text`, then close once it is sent.
    fn closing(&mut self, chat: &mut Chat<'_, '_>, text: &str) -> io::Result<()> {
        self.quit = true;
        let line = format!("421 {} {text}", self.config.hostname);
        reply(chat, &line)?;
        chat.close_when_done();
        Ok(())
    }

    fn hello(&mut self, chat: &mut Chat<'_, '_>, verb: &str, arg: Option<&str>) -> io::Result<()> {
        let Some(arg) = arg else {
            return reply(chat, &format!("501 Syntax: {verb} hostname"));
        };
        if self.greeting.is_some() {
            return reply(chat, "503 Duplicate HELO/EHLO");
        }
        self.reset();
        self.greeting = Some(arg.to_string());
        let host = &self.config.hostname;
        if verb == "HELO" {
            return reply(chat, &format!("250 {host}"));
        }
        self.extended = true;
        let lines = format!(
            "250-{host}\r\n250-SIZE {}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-PIPELINING\r\n250 HELP",
            self.config.max_size
        );
        reply(chat, &lines)
    }

    fn help(&mut self, chat: &mut Chat<'_, '_>, arg: Option<&str>) -> io::Result<()> {
        let params = if self.extended {
            " [SP <mail-parameters>]"
        } else {
            ""
        };
        let text = match arg.map(str::to_uppercase).as_deref() {
            None => format!("250 {SUPPORTED}"),
            Some("EHLO") => "250 Syntax: EHLO hostname".into(),
            Some("HELO") => "250 Syntax: HELO hostname".into(),
            Some("MAIL") => format!("250 Syntax: MAIL FROM: <address>{params}"),
            Some("RCPT") => format!("250 Syntax: RCPT TO: <address>{params}"),
            Some("DATA") => "250 Syntax: DATA".into(),
            Some("RSET") => "250 Syntax: RSET".into(),
            Some("NOOP") => "250 Syntax: NOOP".into(),
            Some("QUIT") => "250 Syntax: QUIT".into(),
            Some("VRFY") => "250 Syntax: VRFY <address>".into(),
            Some(_) => format!("501 {SUPPORTED}"),
        };
        reply(chat, &text)
    }

    fn mail(&mut self, chat: &mut Chat<'_, '_>, arg: Option<&str>) -> io::Result<()> {
        if self.greeting.is_none() {
            return reply(chat, "503 Error: send HELO first");
        }
        let syntax = if self.extended {
            "501 Syntax: MAIL FROM: <address> [SP <mail-parameters>]"
        } else {
            "501 Syntax: MAIL FROM: <address>"
        };
        let Some(arg) = arg else {
            return reply(chat, syntax);
        };
        let (address, params) = get_addr(strip_keyword("FROM:", arg));
        if address.is_empty() || (!self.extended && !params.is_empty()) {
            return reply(chat, syntax);
        }
        if self.mail_from.is_some() {
            return reply(chat, "503 Error: nested MAIL command");
        }
        let options: Vec<String> = params
            .to_uppercase()
            .split_whitespace()
            .map(String::from)
            .collect();
        let Some(mut params) = get_params(&options) else {
            return reply(chat, syntax);
        };
        match params.remove("BODY") {
            None => {}
            Some(Some(b)) if b == "7BIT" || b == "8BITMIME" => {}
            Some(_) => return reply(chat, "501 Error: BODY can only be one of 7BIT, 8BITMIME"),
        }
        if let Some(Some(_)) = params.remove("SMTPUTF8") {
            return reply(chat, "501 Error: SMTPUTF8 takes no arguments");
        }
        match params.remove("SIZE") {
            None => {}
            Some(Some(size)) if !size.is_empty() && size.bytes().all(|b| b.is_ascii_digit()) => {
                let too_big = size
                    .parse::<usize>()
                    .map_or(true, |n| n > self.config.max_size);
                if too_big {
                    return reply(
                        chat,
                        "552 Error: message size exceeds fixed maximum message size",
                    );
                }
            }
            Some(_) => return reply(chat, syntax),
        }
        if !params.is_empty() {
            return reply(
                chat,
                "555 MAIL FROM parameters not recognized or not implemented",
            );
        }
        self.mail_from = Some(address);
        self.mail_options = options;
        reply(chat, "250 OK")
    }

    fn rcpt(&mut self, chat: &mut Chat<'_, '_>, arg: Option<&str>) -> io::Result<()> {
        if self.greeting.is_none() {
            return reply(chat, "503 Error: send HELO first");
        }
        if self.mail_from.is_none() {
            return reply(chat, "503 Error: need MAIL command");
        }
        let syntax = if self.extended {
            "501 Syntax: RCPT TO: <address> [SP <mail-parameters>]"
        } else {
            "501 Syntax: RCPT TO: <address>"
        };
        let Some(arg) = arg else {
            return reply(chat, syntax);
        };
        let (address, params) = get_addr(strip_keyword("TO:", arg));
        if address.is_empty() || address == "<>" || (!self.extended && !params.is_empty()) {
            return reply(chat, syntax);
        }
        let options: Vec<String> = params
            .to_uppercase()
            .split_whitespace()
            .map(String::from)
            .collect();
        match get_params(&options) {
            None => return reply(chat, syntax),
            Some(p) if !p.is_empty() => {
                return reply(
                    chat,
                    "555 RCPT TO parameters not recognized or not implemented",
                )
            }
            Some(_) => {}
        }
        if self.rcpt_tos.len() >= MAX_RECIPIENTS {
            return reply(chat, "452 Error: too many recipients");
        }
        self.rcpt_tos.push(address);
        reply(chat, "250 OK")
    }

    fn data(&mut self, chat: &mut Chat<'_, '_>, arg: Option<&str>) -> io::Result<()> {
        if self.greeting.is_none() {
            return reply(chat, "503 Error: send HELO first");
        }
        if self.rcpt_tos.is_empty() {
            return reply(chat, "503 Error: need RCPT command");
        }
        if arg.is_some() {
            return reply(chat, "501 Syntax: DATA");
        }
        self.state = State::Data;
        self.incoming.begin();
        chat.set_timeout(Timeout::Idle, Some(self.config.data_timeout));
        reply(chat, GO_AHEAD)
    }

    /// The end-of-data line arrived: store, then acknowledge.
    fn end_of_data(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
        self.enter_command_state(chat);
        let incoming = std::mem::take(&mut self.incoming);
        if incoming.overflow {
            self.reset();
            return reply(chat, "552 Error: Too much mail data");
        }
        let message = Message {
            peer: self.peer.clone(),
            mail_from: self.mail_from.take().unwrap_or_default(),
            rcpt_tos: std::mem::take(&mut self.rcpt_tos),
            mail_options: std::mem::take(&mut self.mail_options),
            data: incoming.data,
        };
        self.reset();
        match self.deliver.deliver(&message) {
            Ok(()) => reply(chat, "250 OK"),
            Err(e) => {
                let line = format!(
                    "{} cannot store the message from {}: {e}",
                    chat.describe("smtpd"),
                    message.mail_from
                );
                chat.log_info(&line, "error");
                reply(
                    chat,
                    "451 Requested action aborted: local error in processing",
                )
            }
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
    fn handle_timeout(&mut self, chat: &mut Chat<'_, '_>, kind: Timeout) -> io::Result<()> {
        let line = format!(
            "{} {kind} timeout in {:?} state",
            chat.describe("smtpd"),
            self.state
        );
        chat.log_info(&line, "info");
        if std::mem::replace(&mut self.timed_out, true) {
            return chat.close();
        }
        // A partial message is dropped: it was never acknowledged.
        self.reset();
        self.closing(chat, "Error: timeout exceeded")
    }

    /// Graceful shutdown: an idle session is told `421` at once; a session
    /// in a transaction finishes it (its `250` is sent once the message is
    /// stored) and is told `421` at its next command. The loop's deadline
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
