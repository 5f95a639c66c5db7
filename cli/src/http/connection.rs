//! One HTTP connection: a [`ChatHandler`] reading request heads line by
//! line (LF-framed, a CR before the LF dropped), answering each in order as
//! soon as its head is complete, and discarding request bodies by their
//! Content-Length. Answers to requests that arrive together (pipelined)
//! are batched by the chat channel into one send.

use super::access_log;
use super::body::{read_part, FileBody, SMALL_BODY};
use super::cache::FileInfo;
use super::conditional::{extent, not_modified, Extent, Validators};
use super::config::{Config, MAX_BODY, MAX_HEAD, MAX_REQUEST_LINE};
use super::dates::http_date;
use super::listing;
use super::request::{parse_head, Method, Request};
use super::resolve::{resolve, Resolved};
use super::response::{error_body, Head};
use super::status::Status;
use super::target::{parse_target, Target};
use asyncore_loop::chat::{AsyncChat, Chat, ChatHandler, Terminator};
use asyncore_loop::{Deadline, TimerId};
use std::cell::Cell;
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

/// What one response was, for the access log.
struct Answer {
    status: Status,
    body: u64,
}

/// The request line of a head, for the log.
fn first_line(head: &[u8]) -> String {
    let first = head.split(|&b| b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(first.strip_suffix(b"\r").unwrap_or(first)).into_owned()
}

/// One connection's protocol state ([`ChatHandler`]); [`channel`] wraps it.
#[derive(Debug)]
pub struct Connection {
    config: Rc<Config>,
    peer: String,
    head: Vec<u8>,
    /// Where the current line starts in `head`.
    line_start: usize,
    phase: Phase,
    /// When the current request began to arrive (`None` between requests).
    started: Option<Instant>,
    /// When the connection last became idle (a response queued).
    idle_since: Instant,
    timer: Option<TimerId>,
    /// Large-file bodies queued and not yet finished.
    in_flight: Rc<Cell<usize>>,
    /// The client closed its sending side while responses were queued.
    input_ended: bool,
}

/// Wraps a [`Connection`] in its chat channel: LF-framed input, batched
/// output, back-pressure at 256 KiB of queued output.
pub fn channel(conn: Connection) -> AsyncChat<Connection> {
    AsyncChat::new(conn)
        .with_terminator("\n")
        .with_water_marks(HIGH_WATER, LOW_WATER)
}

impl Connection {
    /// A connection from `peer` (an IP address, for the log).
    pub fn new(config: Rc<Config>, peer: String) -> Self {
        Connection {
            config,
            peer,
            head: Vec::with_capacity(512),
            line_start: 0,
            phase: Phase::Head,
            started: None,
            idle_since: Instant::now(),
            timer: None,
            in_flight: Rc::new(Cell::new(0)),
            input_ended: false,
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

    fn log(&self, line: &str, answer: &Answer) {
        if !self.config.access_log {
            return;
        }
        let (secs, _) = self.config.now();
        let text = access_log::line(&self.peer, secs, line, answer.status.code(), answer.body);
        let _ = io::stdout().lock().write_all(text.as_bytes());
    }

    /// Answers with an error status and a small body (none for HEAD).
    fn error(
        &mut self,
        chat: &mut Chat<'_, '_>,
        status: Status,
        req: Option<&Request>,
        keep_alive: bool,
    ) -> io::Result<Answer> {
        let body = error_body(status);
        let date = self.config.now().1.clone();
        let mut head = Head::new(status, &date);
        head.field("Content-Type", "text/html; charset=utf-8")
            .field("Content-Length", body.len());
        match status {
            Status::MethodNotAllowed => {
                head.field("Allow", "GET, HEAD");
            }
            Status::Unavailable => {
                head.field("Retry-After", 1);
            }
            _ => {}
        }
        let http10 = req.is_some_and(|r| !r.http11);
        chat.push(head.finish(keep_alive, http10))?;
        let sent = if req.is_some_and(Request::is_head) {
            0
        } else {
            chat.push(body.as_bytes())?;
            body.len() as u64
        };
        Ok(Answer { status, body: sent })
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

    /// A complete request head arrived.
    fn on_head(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
        let parsed = parse_head(&self.head).map_err(|status| (status, first_line(&self.head)));
        self.head.clear();
        self.line_start = 0;
        self.started = None;
        self.idle_since = Instant::now();
        let req = match parsed {
            Ok(r) => r,
            Err((status, line)) => return self.refuse(chat, status, &line),
        };
        if req.transfer_encoding {
            // No body framing this server reads: the rest cannot be parsed.
            return self.refuse(chat, Status::NotImplemented, &req.line);
        }
        if req.content_length > MAX_BODY {
            return self.refuse(chat, Status::ContentTooLarge, &req.line);
        }
        let keep_alive = req.keep_alive;
        let answer = match req.method {
            Some(Method::Get | Method::Head) => self.answer(chat, &req)?,
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
            self.started = Some(Instant::now());
            chat.set_terminator(Terminator::Count(req.content_length as usize));
        }
        Ok(())
    }

    /// Answers a GET or HEAD.
    fn answer(&mut self, chat: &mut Chat<'_, '_>, req: &Request) -> io::Result<Answer> {
        let ka = req.keep_alive;
        let config = Rc::clone(&self.config);
        let now = Instant::now();
        if config.cache_files {
            if let Some(hit) = config.cache.fresh(&req.target, now) {
                return self.file(chat, req, &hit);
            }
        }
        let target = match parse_target(&req.target) {
            Ok(t) => t,
            Err(status) => return self.error(chat, status, Some(req), ka),
        };
        let follow = config.follow_symlinks;
        let found = match resolve(&config.root, &target.segments, None, follow) {
            Ok(r) => r,
            Err(status) => return self.error(chat, status, Some(req), ka),
        };
        let file = if found.meta.is_file() {
            found
        } else if !target.trailing_slash {
            return self.redirect(chat, req, &target);
        } else {
            match resolve(&config.root, &target.segments, Some("index.html"), follow) {
                Ok(index) if index.meta.is_file() => index,
                Err(Status::Forbidden) => {
                    return self.error(chat, Status::Forbidden, Some(req), ka)
                }
                _ => return self.listing(chat, req, &target, &found),
            }
        };
        match self.file_info(&req.target, file, now) {
            Ok(info) => self.file(chat, req, &info),
            Err(status) => self.error(chat, status, Some(req), ka),
        }
    }

    /// What serving `file` needs; a small file's content is read (or
    /// taken from the cache if unchanged) and cached under `key`.
    fn file_info(&self, key: &[u8], file: Resolved, now: Instant) -> Result<Rc<FileInfo>, Status> {
        let size = file.meta.len();
        let validators = Validators::of(&file.meta);
        let cache = &self.config.cache;
        let body = if size > SMALL_BODY {
            None
        } else if let Some(same) = cache.same_content(key, size, &validators) {
            Some(same)
        } else {
            let bytes = read_part(&file.path, 0, size).map_err(|_| Status::InternalError)?;
            Some(Rc::from(bytes))
        };
        let info = Rc::new(FileInfo {
            size,
            last_modified: http_date(validators.mtime),
            content_type: self.config.mime.lookup(&file.path).to_string(),
            validators,
            body,
            path: file.path,
        });
        if info.body.is_some() && self.config.cache_files {
            cache.insert(key, Rc::clone(&info), now);
        }
        Ok(info)
    }

    /// 301 to the directory's path with its slash (and the query).
    fn redirect(
        &mut self,
        chat: &mut Chat<'_, '_>,
        req: &Request,
        target: &Target,
    ) -> io::Result<Answer> {
        let mut location = target.path(true);
        if let Some(q) = &target.query {
            location.push('?');
            location.push_str(q);
        }
        let date = self.config.now().1.clone();
        let mut head = Head::new(Status::MovedPermanently, &date);
        head.field("Location", &location).field("Content-Length", 0);
        chat.push(head.finish(req.keep_alive, !req.http11))?;
        Ok(Answer {
            status: Status::MovedPermanently,
            body: 0,
        })
    }

    fn listing(
        &mut self,
        chat: &mut Chat<'_, '_>,
        req: &Request,
        target: &Target,
        dir: &Resolved,
    ) -> io::Result<Answer> {
        let entries = match listing::read_entries(&dir.path) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                return self.error(chat, Status::Forbidden, Some(req), req.keep_alive)
            }
            Err(_) => return self.error(chat, Status::NotFound, Some(req), req.keep_alive),
        };
        let mut title = String::from("/");
        for s in &target.segments {
            title.push_str(&String::from_utf8_lossy(s));
            title.push('/');
        }
        let page = listing::render(&title, &entries, !target.segments.is_empty());
        let date = self.config.now().1.clone();
        let mut head = Head::new(Status::Ok, &date);
        head.field("Content-Type", "text/html; charset=utf-8")
            .field("Content-Length", page.len())
            .field("Cache-Control", "no-cache");
        chat.push(head.finish(req.keep_alive, !req.http11))?;
        let body = if req.is_head() {
            0
        } else {
            chat.push(page.as_bytes())?;
            page.len() as u64
        };
        Ok(Answer {
            status: Status::Ok,
            body,
        })
    }

    /// A regular file: 304, 200, 206 or 416.
    fn file(
        &mut self,
        chat: &mut Chat<'_, '_>,
        req: &Request,
        file: &FileInfo,
    ) -> io::Result<Answer> {
        let ka = req.keep_alive;
        let v = &file.validators;
        let size = file.size;
        let date = self.config.now().1.clone();
        if not_modified(req, v) {
            let mut head = Head::new(Status::NotModified, &date);
            head.field("ETag", &v.etag)
                .field("Last-Modified", &file.last_modified);
            chat.push(head.finish(ka, !req.http11))?;
            return Ok(Answer {
                status: Status::NotModified,
                body: 0,
            });
        }
        let (status, start, len) = match extent(req, v, size) {
            Extent::Full => (Status::Ok, 0, size),
            Extent::Part { start, end } => (Status::PartialContent, start, end - start + 1),
            Extent::Unsatisfiable => {
                let body = error_body(Status::RangeNotSatisfiable);
                let mut head = Head::new(Status::RangeNotSatisfiable, &date);
                head.field("Content-Type", "text/html; charset=utf-8")
                    .field("Content-Range", format!("bytes */{size}"))
                    .field("Content-Length", body.len());
                chat.push(head.finish(ka, !req.http11))?;
                let sent = if req.is_head() {
                    0
                } else {
                    chat.push(body.as_bytes())?;
                    body.len() as u64
                };
                return Ok(Answer {
                    status: Status::RangeNotSatisfiable,
                    body: sent,
                });
            }
        };
        let mut head = Head::new(status, &date);
        head.field("Content-Type", &file.content_type)
            .field("Content-Length", len)
            .field("Last-Modified", &file.last_modified)
            .field("ETag", &v.etag)
            .field("Accept-Ranges", "bytes");
        if status == Status::PartialContent {
            head.field(
                "Content-Range",
                format!("bytes {start}-{}/{size}", start + len - 1),
            );
        }
        chat.push(head.finish(ka, !req.http11))?;
        if req.is_head() {
            return Ok(Answer { status, body: 0 });
        }
        match &file.body {
            // Both sizes are at most SMALL_BODY here.
            Some(bytes) => chat.push(&bytes[start as usize..(start + len) as usize])?,
            None => {
                let body = FileBody::new(file.path.clone(), start, len, Rc::clone(&self.in_flight));
                chat.push_with_producer(Box::new(body))?;
            }
        }
        Ok(Answer { status, body: len })
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
            self.started = Some(Instant::now());
        }
        self.head.extend_from_slice(data);
        if self.line_start == 0 && self.head.len() > MAX_REQUEST_LINE {
            let line = String::from_utf8_lossy(&self.head[..64]).into_owned() + "...";
            return self.refuse(chat, Status::UriTooLong, &line);
        }
        if self.head.len() > MAX_HEAD {
            let line = first_line(&self.head);
            return self.refuse(chat, Status::HeaderFieldsTooLarge, &line);
        }
        Ok(())
    }

    /// The client closed (or half-closed) the connection: with responses
    /// still queued, they are sent first (reading stops, see
    /// [`HttpChannel`](super::channel::HttpChannel)); an unfinished request
    /// is dropped.
    fn handle_close(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
        if chat.queued_bytes() == 0 && self.in_flight.get() == 0 {
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
                chat.set_terminator("\n");
                Ok(())
            }
            Phase::Head => {
                let line = &self.head[self.line_start..];
                if !(line.is_empty() || line == b"\r") {
                    self.head.push(b'\n');
                    self.line_start = self.head.len();
                    return Ok(());
                }
                if self.line_start == 0 {
                    // An empty line before a request line is skipped
                    // (RFC 9112 2.2); the head deadline keeps running.
                    self.head.clear();
                    if self.started.is_none() {
                        self.started = Some(Instant::now());
                    }
                    return Ok(());
                }
                self.head.truncate(self.line_start);
                self.on_head(chat)
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
            if now >= due {
                let answer = self.error(chat, Status::RequestTimeout, None, false)?;
                self.log("-", &answer);
                self.phase = Phase::Closing;
                chat.close_when_done();
                return Ok(());
            }
            Some(due)
        } else if chat.queued_bytes() > 0 || self.in_flight.get() > 0 {
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
