//! `asyncore chat --listen ADDR`: a line-based chat room that `nc` and
//! `telnet` can use, built on [`asyncore_loop::chat::AsyncChat`].
//!
//! A newcomer is asked for a nickname (1 to 32 letters, digits, `_` or `-`,
//! unique ignoring case); after that every line it sends goes to everyone
//! else as `<nick> text`, and joins, leaves and renames are announced as
//! `* ...` lines. Commands: `/who`, `/nick NEW`, `/quit`, `/help` (and
//! `//text` says a line that starts with `/`). Lines may end in CRLF or a
//! bare LF; the server sends CRLF. Errors are lines starting `error: `.
//!
//! The limits, each with its own option ([`ChatOptions`]):
//!
//! - a line longer than `max_line` gets an error line and is discarded, and
//!   the connection goes on (memory stays flat however long the line:
//!   [`Collector`](asyncore_loop::chat::Collector));
//! - a member that does not read what it is sent is disconnected once more
//!   than `max_queue` bytes wait for it: it leaves the room at once (nothing
//!   more is queued for it, and the others never wait for it), a notice is
//!   queued after what was already waiting, and the connection closes when
//!   that is sent, or after 5 seconds in which the peer takes nothing. So a
//!   connection never holds more than `max_queue` plus one line and the
//!   notice;
//! - a member that sends nothing for `idle_timeout` (and one whose socket
//!   takes no output for that long) gets a notice and is disconnected. Idle
//!   means *the client said nothing*: a silent reader of a busy room is idle
//!   too, as on IRC.
//!
//! SIGINT and SIGTERM shut the server down gracefully: every member is told
//! `* server shutting down` before its connection closes.
//!
//! # Examples
//!
//! ```
//! use asyncore_cli::chat::{ChatOptions, ChatServer};
//! use std::io::{BufRead, BufReader, Write};
//! use std::net::TcpStream;
//!
//! // The event loop is not `Send`: bind on the thread that runs it.
//! let (tx, rx) = std::sync::mpsc::channel();
//! let t = std::thread::spawn(move || {
//!     let mut server = ChatServer::bind("127.0.0.1:0".parse().unwrap(), asyncore_loop::Backend::Epoll, ChatOptions::default())?;
//!     let _ = tx.send((server.addr(), server.remote()?));
//!     server.run()
//! });
//! let (addr, remote) = rx.recv().unwrap();
//!
//! let mut alice = TcpStream::connect(addr).unwrap();
//! let mut lines = BufReader::new(alice.try_clone().unwrap()).lines();
//! alice.write_all(b"alice\n/who\n").unwrap();
//! let who = lines.find(|l| l.as_ref().unwrap().starts_with("* 1 here")).unwrap().unwrap();
//! assert_eq!(who, "* 1 here: alice");
//!
//! remote.stop().expect("the server is running");
//! t.join().unwrap()?;
//! # Ok::<(), asyncore_cli::AppError>(())
//! ```

mod member;
mod room;

pub use room::{validate_nick, Room, MAX_NICK};

use crate::{listen, shutdown_on_signals, AppError};
use asyncore_loop::chat::AsyncChat;
use asyncore_loop::{Backend, Cx, Deadline, Dispatcher, EventLoop, Remote, SockAddr, Socket};
use member::Member;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// The default `--listen` address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7008";

/// The chat server's limits.
///
/// # Examples
///
/// ```
/// use asyncore_cli::chat::ChatOptions;
/// use std::time::Duration;
/// let opts = ChatOptions::default();
/// assert_eq!(opts.max_line, 1024);
/// assert_eq!(opts.max_queue, 64 << 10);
/// assert_eq!(opts.idle_timeout, Some(Duration::from_secs(600)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatOptions {
    /// The longest line accepted, in bytes (not counting the line ending).
    pub max_line: usize,
    /// A member is disconnected once more than this many bytes of output
    /// wait for it.
    pub max_queue: usize,
    /// A member that sends nothing for this long is disconnected (`None`:
    /// never).
    pub idle_timeout: Option<Duration>,
}

impl Default for ChatOptions {
    fn default() -> Self {
        ChatOptions {
            max_line: 1024,
            max_queue: 64 << 10,
            idle_timeout: Some(Duration::from_secs(600)),
        }
    }
}

/// Accepts connections and makes each a member-to-be.
#[derive(Debug)]
struct Listener {
    opts: ChatOptions,
}

impl Dispatcher<Room> for Listener {
    fn name(&self) -> &'static str {
        "chat listener"
    }

    fn handle_accepted(
        &mut self,
        cx: &mut Cx<'_, Room>,
        sock: Socket,
        _addr: SockAddr,
    ) -> io::Result<()> {
        let opts = self.opts;
        // Reading pauses at half the limit (a member flooding commands
        // without reading the replies is slowed, not dropped); output
        // pushed by others past the limit disconnects it.
        let chan = AsyncChat::new(Member::new(opts))
            .with_terminator("\n")
            .with_water_marks(opts.max_queue / 2, opts.max_queue / 4)
            .with_drain(true);
        let mut conn = cx.add(chan);
        if let Err(e) = conn.adopt(sock) {
            let _ = conn.close();
            cx.log_info(&format!("chat: cannot take a connection: {e}"), "error");
            return Ok(());
        }
        if let Some(idle) = opts.idle_timeout {
            conn.set_timeout(Deadline::Read, Some(idle));
            conn.set_timeout(Deadline::Write, Some(idle));
        }
        let token = conn.token();
        cx.state().connect(token);
        cx.with(token, |c: &mut AsyncChat<Member>, cx| {
            let (member, mut chat) = c.split(cx);
            member.greet(&mut chat);
        });
        Ok(())
    }
}

/// What the room holds right now (see [`stats`]).
///
/// # Examples
///
/// ```
/// let s = asyncore_cli::chat::RoomStats::default();
/// assert_eq!(s.queued_bytes, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoomStats {
    /// Members (connections with a nickname).
    pub members: usize,
    /// Open connections, members or not.
    pub connections: usize,
    /// Output bytes queued for all connections together.
    pub queued_bytes: usize,
    /// The most output bytes queued for one connection.
    pub max_queued_bytes: usize,
}

/// Counts members, connections and queued output, from the loop thread (a
/// [`Remote::post`] job, for example).
///
/// # Examples
///
/// ```
/// use asyncore_cli::chat::{stats, ChatOptions, ChatServer};
/// let mut server = ChatServer::bind("127.0.0.1:0".parse().unwrap(), asyncore_loop::Backend::Epoll, ChatOptions::default())?;
/// let remote = server.remote()?;
/// let (tx, rx) = std::sync::mpsc::channel();
/// let r = remote.clone();
/// remote.post(move |cx| { let _ = tx.send(stats(cx)); r.stop() }).unwrap();
/// server.run()?; // runs the job, then stops
/// assert_eq!(rx.recv().unwrap().connections, 0);
/// # Ok::<(), asyncore_cli::AppError>(())
/// ```
pub fn stats(cx: &mut Cx<'_, Room>) -> RoomStats {
    let mut s = RoomStats {
        members: cx.state().len(),
        connections: cx.state().connections(),
        ..RoomStats::default()
    };
    for token in cx.state().conn_tokens() {
        let queued = cx
            .with(token, |c: &mut AsyncChat<Member>, cx| {
                c.split(cx).1.queued_bytes()
            })
            .unwrap_or(0);
        s.queued_bytes += queued;
        s.max_queued_bytes = s.max_queued_bytes.max(queued);
    }
    s
}

/// A bound chat server, not yet running.
///
/// # Examples
///
/// ```
/// use asyncore_cli::chat::{ChatOptions, ChatServer};
/// let mut server = ChatServer::bind("127.0.0.1:0".parse().unwrap(), asyncore_loop::Backend::Poll, ChatOptions::default())?;
/// assert_ne!(server.addr().port(), 0);
/// let remote = server.remote()?; // Send: stop or shut it down from any thread
/// std::thread::spawn(move || remote.shutdown(std::time::Duration::from_secs(1)).expect("the server is running"));
/// server.run()?;
/// # Ok::<(), asyncore_cli::AppError>(())
/// ```
#[derive(Debug)]
pub struct ChatServer {
    ev: EventLoop<Room>,
    addr: SocketAddr,
}

impl ChatServer {
    /// Listens on `listen_on` with `backend` and the limits in `opts`.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_cli::chat::{ChatOptions, ChatServer};
    /// let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let err = ChatServer::bind(taken.local_addr().unwrap(), asyncore_loop::Backend::Epoll, ChatOptions::default()).unwrap_err();
    /// assert!(err.message.starts_with("cannot listen on"));
    /// ```
    pub fn bind(
        listen_on: SocketAddr,
        backend: Backend,
        opts: ChatOptions,
    ) -> Result<Self, AppError> {
        if opts.max_line == 0 {
            return Err(AppError::usage("--max-line must be at least 1"));
        }
        if opts.max_queue == 0 {
            return Err(AppError::usage("--max-queue must be at least 1"));
        }
        let mut ev = EventLoop::with_state(Room::default()).with_backend(backend);
        let addr = listen(&mut ev, Listener { opts }, listen_on)?;
        Ok(ChatServer { ev, addr })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle to stop it (or shut it down gracefully, or look at the room
    /// with [`stats`]) from another thread.
    pub fn remote(&mut self) -> Result<Remote<Room>, AppError> {
        self.ev.remote().map_err(|e| AppError::io("chat", e))
    }

    /// Serves until stopped (or SIGINT/SIGTERM, which shut it down gracefully).
    pub fn run(mut self) -> Result<(), AppError> {
        shutdown_on_signals(&mut self.ev)?;
        self.ev
            .run_loop(None, None)
            .map_err(|e| AppError::io("chat", e))
    }
}

/// `asyncore chat`: bind, say where, serve.
///
/// # Examples
///
/// ```no_run
/// use asyncore_cli::chat::{run, ChatOptions};
/// run("127.0.0.1:7008".parse().unwrap(), asyncore_loop::Backend::Epoll, ChatOptions::default())?;
/// # Ok::<(), asyncore_cli::AppError>(())
/// ```
pub fn run(listen_on: SocketAddr, backend: Backend, opts: ChatOptions) -> Result<(), AppError> {
    let server = ChatServer::bind(listen_on, backend, opts)?;
    crate::say(format_args!("chat: listening on {}", server.addr()));
    server.run()
}

/// Parses `--idle-timeout SECS`: seconds (fractions allowed), `0` for never.
///
/// # Examples
///
/// ```
/// use asyncore_cli::chat::parse_idle_timeout;
/// use std::time::Duration;
/// assert_eq!(parse_idle_timeout("600"), Ok(Some(Duration::from_secs(600))));
/// assert_eq!(parse_idle_timeout("0.25"), Ok(Some(Duration::from_millis(250))));
/// assert_eq!(parse_idle_timeout("0"), Ok(None));
/// assert!(parse_idle_timeout("-1").is_err());
/// assert!(parse_idle_timeout("soon").is_err());
/// ```
pub fn parse_idle_timeout(text: &str) -> Result<Option<Duration>, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("expected seconds, got {text:?}"))?;
    if secs == 0.0 {
        return Ok(None);
    }
    asyncore_loop::timeout_from_secs(secs).map_err(|e| e.to_string())
}
