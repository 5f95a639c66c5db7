//! One HTTP connection: a [`ChatHandler`] reading each request head whole
//! (up to its empty line, with LF or CRLF line endings: one hook a head,
//! `found_record` with the head in place when it arrived in one read, else
//! its pieces collected for `found_terminator`), answering each in order as
//! soon as its head is complete, and discarding request bodies by their
//! Content-Length. Answers to requests that arrive together (pipelined)
//! are batched by the chat channel into one send.

use super::access_log;
use super::answer::Answer;
use super::config::{Config, MAX_BODY, MAX_HEAD, MAX_REQUEST_LINE};
use super::request::{parse_head_into, Method, Request};
use super::status::Status;
use asyncore_loop::chat::{AsyncChat, Chat, ChatHandler, Terminator};
use asyncore_loop::{Deadline, TimerId};
use std::io::{self, Write};
use std::rc::Rc;
use std::time::Instant;

/// Output queued above this stops reading more requests; reading resumes
/// below [`LOW_WATER`].
const HIGH_WATER: usize = 256 << 10;
/// See [`HIGH_WATER`].
const LOW_WATER: usize = 64 << 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading a request head.
    Head,
    /// Discarding a request body (the terminator is its length).
    Body,
    /// The last response is queued; input is ignored.
    Closing,
}

/// The request line of a head, for the log.
fn first_line(head: &[u8]) -> String {
    let first = head.split(|&b| b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(first.strip_suffix(b"\r").unwrap_or(first)).into_owned()
}

/// The limit a head (or what arrived of it) passes: a request line over
/// `MAX_REQUEST_LINE` (414) or a head over `MAX_HEAD` (431). `line_len`
/// is the request line's length while its end was not yet checked.
fn head_limit(line_len: Option<usize>, head_len: usize) -> Option<Status> {
    if line_len.is_some_and(|n| n > MAX_REQUEST_LINE) {
        Some(Status::UriTooLong)
    } else if head_len > MAX_HEAD {
        Some(Status::HeaderFieldsTooLarge)
    } else {
        None
    }
}

/// What the log says of a head refused by `head_limit`: a request line too
/// long to log whole by its first 64 bytes, else the request line.
fn refused_line(status: Status, head: &[u8]) -> String {
    if status == Status::UriTooLong {
        String::from_utf8_lossy(&head[..64.min(head.len())]).into_owned() + "..."
    } else {
        first_line(head)
    }
}

/// One connection's protocol state ([`ChatHandler`]); [`channel`] wraps it.
#[derive(Debug)]
pub struct Connection {
    pub(super) config: Rc<Config>,
    peer: String,
    head: Vec<u8>,
    /// The request line of the head being read has ended (its length checked).
    line_ended: bool,
    phase: Phase,
    /// When the current request began to arrive (`None` between requests).
    started: Option<Instant>,
    /// When the connection last became idle (a response queued).
    idle_since: Instant,
    timer: Option<TimerId>,
    /// The client closed its sending side while responses were queued.
    input_ended: bool,
    /// The last request parsed (its buffers reused for the next).
    request: Request,
    /// The last response head built (its buffer reused for the next).
    pub(super) head_text: String,
}

/// Wraps a [`Connection`] in its chat channel: input framed by heads (an
/// empty line ends one), batched output, back-pressure at 256 KiB of
/// queued output.
pub fn channel(conn: Connection) -> AsyncChat<Connection> {
    AsyncChat::new(conn)
        .with_terminator(Terminator::BlankLine)
        .with_water_marks(HIGH_WATER, LOW_WATER)
}

impl Connection {
    /// A connection from `peer` (an IP address, for the log).
    pub fn new(config: Rc<Config>, peer: String) -> Self {
        Connection {
            config,
            peer,
            head: Vec::with_capacity(512),
            line_ended: false,
            phase: Phase::Head,
            started: None,
            idle_since: Instant::now(),
            timer: None,
            input_ended: false,
            request: Request::default(),
            head_text: String::new(),
        }
    }

    /// Whether the client closed its sending side (nothing more to read).
    pub fn input_ended(&self) -> bool {
        self.input_ended
    }

    /// Arms the connection's timers: the send-stall deadline and the
    /// request/keep-alive check. Call once the channel is adopted.
    pub fn start(&mut self, chat: &mut Chat<'_, '_>) {
        chat.set_timeout(Deadline::Write, Some(self.config.send_timeout));
        let first = self
            .config
            .header_timeout
            .min(self.config.keep_alive_timeout);
        self.timer = Some(chat.start_timer(first, false));
    }

    pub(super) fn log(&self, line: &str, answer: &Answer) {
        if !self.config.access_log {
            return;
        }
        let (secs, _) = self.config.now();
        let text = access_log::line(&self.peer, secs, line, answer.status.code(), answer.body);
        let _ = io::stdout().lock().write_all(text.as_bytes());
    }

    /// Refuses a head that cannot be trusted: error, then close.
    fn refuse(&mut self, chat: &mut Chat<'_, '_>, status: Status, line: &str) -> io::Result<()> {
        let answer = self.error(chat, status, None, false)?;
        self.log(line, &answer);
        self.phase = Phase::Closing;
        self.head.clear();
        chat.close_when_done();
        Ok(())
    }

    /// A complete request head arrived (without its empty line).
    fn on_head(&mut self, chat: &mut Chat<'_, '_>, head: &[u8]) -> io::Result<()> {
        let mut req = std::mem::take(&mut self.request);
        let parsed = parse_head_into(head, &mut req);
        let line = parsed.err().map(|status| (status, first_line(head)));
        self.line_ended = false;
        self.started = None;
        let now = chat.now();
        self.idle_since = now;
        if let Some((status, line)) = line {
            return self.refuse(chat, status, &line);
        }
        if req.transfer_encoding {
            // No body framing this server reads: the rest cannot be parsed.
            return self.refuse(chat, Status::NotImplemented, &req.line);
        }
        if req.content_length > MAX_BODY {
            return self.refuse(chat, Status::ContentTooLarge, &req.line);
        }
        let keep_alive = req.keep_alive;
        let answer = match req.method {
            Some(Method::Get | Method::Head) => self.answer(chat, &req, now)?,
            Some(Method::NotAllowed) => {
                self.error(chat, Status::MethodNotAllowed, Some(&req), keep_alive)?
            }
            _ => self.error(chat, Status::NotImplemented, Some(&req), keep_alive)?,
        };
        self.log(&req.line, &answer);
        if !keep_alive {
            self.phase = Phase::Closing;
            chat.close_when_done();
        } else if req.content_length > 0 {
            self.phase = Phase::Body;
            self.started = Some(chat.now());
            chat.set_terminator(Terminator::Count(req.content_length as usize));
        }
        self.request = req; // its buffers serve the next request
        Ok(())
    }
}

impl ChatHandler for Connection {
    fn name(&self) -> &'static str {
        "http"
    }

    fn collect_incoming_data(&mut self, chat: &mut Chat<'_, '_>, data: &[u8]) -> io::Result<()> {
        if self.phase != Phase::Head {
            return Ok(()); // a body being discarded, or input after the last response
        }
        if self.started.is_none() {
            self.started = Some(chat.now());
        }
        let before = self.head.len();
        self.head.extend_from_slice(data);
        // The request line's length, until its end has been seen.
        let line_len = (!self.line_ended).then(|| match memchr::memchr(b'\n', data) {
            Some(i) => {
                self.line_ended = true;
                before + i
            }
            None => self.head.len(),
        });
        match head_limit(line_len, self.head.len()) {
            Some(status) => {
                let line = refused_line(status, &self.head);
                self.refuse(chat, status, &line)
            }
            None => Ok(()),
        }
    }

    /// A head that arrived whole is parsed where it lies, in the channel's
    /// input buffer, under the limits `collect_incoming_data` applies to a
    /// head that arrives in pieces. Anything else (a discarded body, an
    /// empty line before a request, input after the last response) goes
    /// where `found_terminator` sends it.
    fn found_record(&mut self, chat: &mut Chat<'_, '_>, record: &[u8]) -> io::Result<()> {
        if self.phase != Phase::Head || record.is_empty() {
            return self.found_terminator(chat);
        }
        let line_len = memchr::memchr(b'\n', record).unwrap_or(record.len());
        match head_limit(Some(line_len), record.len()) {
            Some(status) => self.refuse(chat, status, &refused_line(status, record)),
            None => self.on_head(chat, record),
        }
    }

    /// The client closed (or half-closed) the connection: with responses
    /// still queued, they are sent first (reading stops, see
    /// [`HttpChannel`](super::channel::HttpChannel)); an unfinished request
    /// is dropped.
    fn handle_close(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
        if !chat.output_pending() {
            return chat.close();
        }
        self.input_ended = true;
        if self.phase != Phase::Closing {
            self.phase = Phase::Closing;
            chat.close_when_done();
        }
        Ok(())
    }

    fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
        match self.phase {
            Phase::Closing => Ok(()),
            Phase::Body => {
                self.phase = Phase::Head;
                self.started = None;
                chat.set_terminator(Terminator::BlankLine);
                Ok(())
            }
            Phase::Head => {
                if self.head.is_empty() {
                    // An empty line before a request line is skipped
                    // (RFC 9112 2.2); the head deadline keeps running.
                    if self.started.is_none() {
                        self.started = Some(chat.now());
                    }
                    return Ok(());
                }
                let head = std::mem::take(&mut self.head);
                let handled = self.on_head(chat, &head);
                self.head = head; // its buffer serves the next head
                self.head.clear();
                handled
            }
        }
    }

    /// The connection's one timer: a request (head or body) that began
    /// more than the header timeout ago gets 408 and the connection closes
    /// (slowloris); an idle keep-alive connection past its timeout closes.
    /// It re-arms for the next possible expiry, at most a header timeout
    /// away, so a deadline passes at most that late.
    fn handle_timer(&mut self, chat: &mut Chat<'_, '_>, _id: TimerId) -> io::Result<()> {
        let now = Instant::now();
        let c = &self.config;
        let step = c.header_timeout.min(c.keep_alive_timeout);
        let due = if self.phase == Phase::Closing {
            None
        } else if let Some(began) = self.started {
            let due = began + c.header_timeout;
            if now >= due && self.phase == Phase::Body {
                // Its request was answered already: a 408 now would read as
                // the answer to the client's next request. Only the close.
                return chat.close();
            }
            if now >= due {
                let answer = self.error(chat, Status::RequestTimeout, None, false)?;
                self.log("-", &answer);
                self.phase = Phase::Closing;
                chat.close_when_done();
                return Ok(());
            }
            Some(due)
        } else if chat.output_pending() {
            self.idle_since = now; // still sending: not idle (stalls: the write deadline)
            Some(now + c.keep_alive_timeout)
        } else {
            let due = self.idle_since + c.keep_alive_timeout;
            if now >= due {
                return chat.close();
            }
            Some(due)
        };
        let wait = due.map_or(step, |d| d.saturating_duration_since(now).min(step));
        self.timer = Some(chat.start_timer(wait, false));
        Ok(())
    }
}
