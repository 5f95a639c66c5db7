//! `asyncore smtpd`: the SMTP server that replaces `python -m smtpd -n -c
//! DebuggingServer` (removed from Python in 3.12), built on
//! [`AsyncChat`](asyncore_loop::chat::AsyncChat).
//!
//! ```text
//! asyncore smtpd                                  # 127.0.0.1:8025, print each message
//! asyncore smtpd --maildir ./mail                 # store into a Maildir
//! asyncore smtpd --listen 2525 --auth-any         # apps that log in with any user/password
//! asyncore smtpd --listen 0.0.0.0:2525 --maildir ./mail --print --max-connections 100
//! ```
//!
//! The default port, 8025, is also the port of Mailpit's web interface
//! (Mailpit and MailHog take SMTP on 1025): when Mailpit runs on the same
//! host, give `--listen` another port.
//!
//! ## As a mail catcher
//!
//! Nothing is relayed: every message is stored or printed. `--auth-any`
//! advertises `AUTH PLAIN LOGIN` in the `EHLO` reply and accepts any user
//! name and password (RFC 4954 replies: `334` prompts, `235` success, `501`
//! for a response that is not base64 or a cancelled exchange, `503` before
//! `EHLO`, twice, or inside a transaction, `504` for other mechanisms, `535`
//! for a malformed PLAIN response); without it `AUTH` gets `502`. `--print`
//! shows the envelope (`X-MailFrom`, and `X-RcptTo` with every recipient,
//! Bcc ones too) after `X-Peer`. Each stored message is logged in one line,
//! [`describe`]: its number, sender, recipients, size and Subject, with RFC
//! 2047 encoded words decoded ([`subject_of`]).
//!
//! It speaks smtpd 3.11's dialect: HELO, EHLO (advertising `SIZE`,
//! `8BITMIME`, `SMTPUTF8`, `PIPELINING`, `HELP`), MAIL FROM (with `SIZE=` and
//! `BODY=`), RCPT TO, DATA with dot-unstuffing, RSET, NOOP, QUIT, VRFY (252),
//! EXPN (502) and HELP, with smtpd's reply codes and texts — except where
//! smtpd was wrong:
//!
//! | situation | smtpd 3.11 | asyncore smtpd |
//! |---|---|---|
//! | greeting | `220 FQDN Python SMTP proxy version 0.3` | `220 HOST asyncore smtpd VERSION` |
//! | `EHLO` | no `PIPELINING` line | `250-PIPELINING` before `250 HELP` (input is handled strictly in order, so pipelining is safe) |
//! | `DATA`, then `.` at once (empty message) | waits forever: the `CRLF` before the dot was the DATA line's | `250 OK`, an empty message is stored |
//! | lines ending in a bare LF | not a line end: `HELO x\nNOOP\r\n` is one HELO | a line end, in commands and in message data (a CR before the LF is dropped); but only `<CR><LF>.<CR><LF>` ends the data, as in smtpd: a dot line next to a bare LF is content, so a relay cannot smuggle commands past it |
//! | command length limit | 512 octets *without* CRLF; the `MAIL` extension (+26 for `SIZE`, +10 for `SMTPUTF8`) was a class attribute shared by all connections, reset by every new connection | 512 octets *including* CRLF (RFC 5321 §4.5.3.1.4), the `MAIL` extension per session |
//! | message over the size limit | `552`, but the session stays in the DATA state: the next commands are taken as message data | `552 Error: Too much mail data`, the transaction is reset, commands work again |
//! | size limit with `python -m smtpd` | none unless `-s` is given (memory grows with the message) | `--max-size` (32 MiB default) always; bytes past it are dropped as they arrive |
//! | invalid UTF-8 in a command; `MAIL FROM:@x`, `eggs@`, `SIZE` without value | uncaught exception, the connection is dropped | `500`/`501` replies, the connection goes on |
//! | a NUL or other control character in an unknown command | echoed in the `500` reply | shown as `?` |
//! | `RCPT TO:<>` | accepted | `501` syntax error |
//! | more than 1000 recipients | accepted without bound | `452 Error: too many recipients` |
//! | idle client | kept forever | `421 HOST Error: timeout exceeded` after `--command-timeout` (300 s), or `--data-timeout` (180 s) between data blocks (RFC 5321 §4.5.3.2) |
//! | too many connections | accepted | `421 HOST Too many connections, try again later` past `--max-connections` |
//! | delivery fails | exception, connection dropped | `451 Requested action aborted: local error in processing`, the connection goes on |
//! | SIGTERM | dies, in-flight messages lost | sessions in a transaction finish it (the `250` comes only once the message is stored) then get `421`; idle ones get `421` at once; `--shutdown-grace` bounds it |
//! | `--print` output | Python `repr()` of each byte line (`b'From: test'`) | the lines as received |
//!
//! Messages are stored with LF line ends ([`Message::data`]); `--maildir`
//! prepends `X-Peer`, `X-MailFrom` and `X-RcptTo` headers. A client that
//! sends bare-LF data adds a CRLF before the final dot when its data does not
//! end in CRLF (smtplib with bytes, curl): that CRLF ends the data, it is not
//! stored as an extra empty line. Such clients do not always dot-stuff after
//! a bare LF (curl does not): a line starting with `.` in an LF-only file sent
//! with `curl -T` loses that dot — send CRLF files, or use `curl --crlf`.
//!
//! # Examples
//!
//! In a test, with a Maildir, on its own thread:
//!
//! ```
//! use asyncore_cli::smtpd::{spawn, Options};
//! use std::io::{BufRead, BufReader, Write};
//!
//! let dir = std::env::temp_dir().join(format!("smtpd-doc-{}", std::process::id()));
//! let options = Options { listen: "127.0.0.1:0".into(), maildir: Some(dir.clone()), ..Options::default() };
//! let server = spawn(options, asyncore_loop::Backend::Epoll)?;
//!
//! let c = std::net::TcpStream::connect(server.addr).unwrap();
//! (&c).write_all(b"EHLO me\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nSubject: hi\r\n\r\n..dot\r\n.\r\nQUIT\r\n").unwrap();
//! let last = BufReader::new(&c).lines().last().unwrap().unwrap();
//! assert_eq!(last, "221 Bye");
//! server.remote.stop().expect("the server is running");
//! server.thread.join().unwrap()?;
//!
//! let file = std::fs::read_dir(dir.join("new")).unwrap().next().unwrap().unwrap().path();
//! assert!(std::fs::read(file).unwrap().ends_with(b"X-RcptTo: b@y\nSubject: hi\n\n.dot\n"));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), asyncore_cli::AppError>(())
//! ```

mod base64;
mod delivery;
mod encoded_words;
mod log_line;
pub(crate) mod parse;
mod session;

pub use base64::base64_decode;
pub use delivery::{debugging_dump, Deliver, Maildir, Memory, Message, Printer};
pub use encoded_words::{decode_words, subject_of};
pub use log_line::{describe, LogLine};
pub use session::{
    channel, greet, Session, SessionConfig, StartTls, COMMAND_LIMIT, MAX_RECIPIENTS,
};

use crate::{listen_capped, parse_listen, AppError};
use asyncore_loop::{Backend, Cx, Dispatcher, EventLoop, Remote, SockAddr, Socket};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

/// `--listen`'s help: the forms, and the default port next to Mailpit's.
const LISTEN_HELP: &str =
    "Address to listen on: PORT, :PORT, HOST:PORT or [IPv6]:PORT (a bare port \
    or :PORT is 127.0.0.1). The default port, 8025, is also Mailpit's web interface port: when \
    Mailpit runs on the same host, choose another (Mailpit and MailHog take SMTP on 1025)";

/// `asyncore smtpd`'s options (also its command-line arguments).
///
/// # Examples
///
/// ```
/// let o = asyncore_cli::smtpd::Options::default();
/// assert_eq!(o.listen, "127.0.0.1:8025");
/// assert_eq!(o.max_size, 33_554_432);
/// ```
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Address to listen on (see [`crate::parse_listen`]).
    #[arg(long, default_value = "127.0.0.1:8025", help = LISTEN_HELP)]
    pub listen: String,
    /// Store each message into this Maildir (created if needed).
    #[arg(long, value_name = "DIR")]
    pub maildir: Option<PathBuf>,
    /// Print each message, with its envelope (MAIL FROM, and every RCPT TO: Bcc recipients
    /// show), as smtpd's DebuggingServer did (the default without --maildir). On a terminal,
    /// control characters are shown as ^[ and the like, so a message cannot drive it.
    #[arg(long)]
    pub print: bool,
    /// Offer AUTH PLAIN and LOGIN and accept any user name and password, for applications
    /// configured with credentials (nothing is checked).
    #[arg(long)]
    pub auth_any: bool,
    /// Largest message accepted, in bytes (advertised as SIZE).
    #[arg(long, value_name = "BYTES", default_value_t = 33_554_432, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_size: u64,
    /// Connections served at once; past it newcomers get 421.
    #[arg(long, value_name = "N")]
    pub max_connections: Option<u32>,
    /// Seconds to wait for the next command (RFC 5321: at least 300).
    #[arg(long, value_name = "SECS", default_value = "300", value_parser = parse_secs)]
    pub command_timeout: Duration,
    /// Seconds to wait for the next block of message data (RFC 5321: 180).
    #[arg(long, value_name = "SECS", default_value = "180", value_parser = parse_secs)]
    pub data_timeout: Duration,
    /// Seconds SIGTERM/SIGINT leave sessions in flight to finish.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_secs)]
    pub shutdown_grace: Duration,
    /// The name in the greeting and HELO/EHLO replies (default: this host's name).
    #[arg(long)]
    pub hostname: Option<String>,
    /// STARTTLS: the server's certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// STARTTLS: the certificate's private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Answer MAIL with 530 until the client has run STARTTLS.
    #[arg(long)]
    pub tls_required: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: "127.0.0.1:8025".into(),
            maildir: None,
            print: false,
            auth_any: false,
            max_size: 33_554_432,
            max_connections: None,
            command_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(180),
            shutdown_grace: Duration::from_secs(30),
            hostname: None,
            tls_cert: None,
            tls_key: None,
            tls_required: false,
        }
    }
}

/// Parses a number of seconds (fractions allowed), for the timeout options.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// assert_eq!(asyncore_cli::smtpd::parse_secs("1.5"), Ok(Duration::from_millis(1500)));
/// assert!(asyncore_cli::smtpd::parse_secs("-1").is_err());
/// ```
pub fn parse_secs(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("{text:?} is not a number of seconds"))
}

/// This host's name (`gethostname`), or `localhost`.
///
/// # Examples
///
/// ```
/// assert!(!asyncore_cli::smtpd::hostname().is_empty());
/// ```
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates
    // within it or truncates, and we stop at the first NUL or the end.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if rc == 0 && !name.is_empty() => name.to_string(),
        _ => "localhost".to_string(),
    }
}

/// `--tls-cert`/`--tls-key`/`--tls-required` as the sessions' STARTTLS settings.
fn starttls(options: &Options) -> Result<Option<StartTls>, AppError> {
    let tls = crate::tls_server_config(options.tls_cert.as_deref(), options.tls_key.as_deref())?;
    match tls {
        None if options.tls_required => Err(AppError::usage(
            "--tls-required needs --tls-cert and --tls-key",
        )),
        None => Ok(None),
        Some(config) => Ok(Some(StartTls {
            config,
            required: options.tls_required,
        })),
    }
}

/// The listening channel: each connection becomes a [`Session`].
struct Listener {
    config: Rc<SessionConfig>,
    deliver: Rc<dyn Deliver>,
}

impl Dispatcher for Listener {
    fn handle_accepted(&mut self, cx: &mut Cx<'_>, sock: Socket, addr: SockAddr) -> io::Result<()> {
        let peer = addr
            .as_socket()
            .map_or_else(|| "unknown".to_string(), |a| a.ip().to_string());
        let session = Session::new(self.config.clone(), peer, self.deliver.clone());
        // A client gone before we got to it must not take the listener down.
        let started = cx
            .add(channel(session))
            .adopt(sock)
            .and_then(|t| cx.with(t, greet).unwrap_or(Ok(())));
        if let Err(e) = started {
            cx.log_info(&format!("smtpd: cannot start a session: {e}"), "warning");
        }
        Ok(())
    }

    /// Past `--max-connections`: one `421` line on the fresh socket, then close.
    fn handle_refused(&mut self, cx: &mut Cx<'_>, sock: Socket, _addr: SockAddr) -> io::Result<()> {
        let line = format!(
            "421 {} Too many connections, try again later\r\n",
            self.config.hostname
        );
        let _ = sock.set_nonblocking(true);
        let _ = (&sock).write_all(line.as_bytes());
        cx.log_info("smtpd: refused a connection: at --max-connections", "info");
        Ok(())
    }
}

/// A bound SMTP server, not yet running.
///
/// # Examples
///
/// See the [module documentation](self).
#[derive(Debug)]
pub struct SmtpServer {
    ev: EventLoop,
    addr: SocketAddr,
    grace: Duration,
}

impl SmtpServer {
    /// Opens the Maildir (if any) and listens on `options.listen` with `backend`.
    pub fn bind(options: &Options, backend: Backend) -> Result<Self, AppError> {
        let listen_on = parse_listen(&options.listen)?;
        let mut sinks: Vec<Box<dyn Deliver>> = Vec::new();
        if let Some(dir) = &options.maildir {
            let md = Maildir::create(dir)
                .map_err(|e| AppError::io(format!("cannot open maildir {}", dir.display()), e))?;
            sinks.push(Box::new(md));
        }
        if options.print || sinks.is_empty() {
            sinks.push(Box::new(Printer::stdout().with_envelope()));
        }
        // Last: only stored messages are logged.
        sinks.push(Box::new(LogLine::default()));
        let config = SessionConfig {
            hostname: options.hostname.clone().unwrap_or_else(hostname),
            max_size: usize::try_from(options.max_size).unwrap_or(usize::MAX),
            command_timeout: options.command_timeout,
            data_timeout: options.data_timeout,
            tls: starttls(options)?,
            auth_any: options.auth_any,
        };
        let listener = Listener {
            config: Rc::new(config),
            deliver: Rc::new(sinks),
        };
        let mut ev = EventLoop::new().with_backend(backend);
        let addr = listen_capped(&mut ev, listener, listen_on, options.max_connections)?;
        Ok(SmtpServer {
            ev,
            addr,
            grace: options.shutdown_grace,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle to stop it (abruptly: `stop`) or shut it down gracefully
    /// (`shutdown`) from another thread.
    pub fn remote(&mut self) -> Result<Remote, AppError> {
        self.ev.remote().map_err(|e| AppError::io("smtpd", e))
    }

    /// Serves until stopped through its [`Remote`] (no signal handling).
    pub fn serve(mut self) -> Result<(), AppError> {
        self.ev
            .run_loop(None, None)
            .map_err(|e| AppError::io("smtpd", e))
    }

    /// Serves until stopped; SIGINT and SIGTERM shut it down gracefully
    /// within `--shutdown-grace` (a second one: at once).
    pub fn run(mut self) -> Result<(), AppError> {
        crate::shutdown_on_signals_within(&mut self.ev, "smtpd: ", self.grace)?;
        self.serve()
    }
}

pub use crate::spawned::Spawned;

/// Binds and serves on a new thread (the loop stays on that thread); for
/// tests and embedding. No signal handling.
///
/// # Examples
///
/// See the [module documentation](self).
pub fn spawn(options: Options, backend: Backend) -> Result<Spawned, AppError> {
    crate::spawned::spawn_server(
        "smtpd",
        move || {
            let mut server = SmtpServer::bind(&options, backend)?;
            let remote = server.remote()?;
            let addr = server.addr();
            Ok((server, addr, remote))
        },
        |server| server.serve(),
    )
}

/// `asyncore smtpd`: bind, say where, serve.
pub fn run(options: &Options, backend: Backend) -> Result<(), AppError> {
    let server = SmtpServer::bind(options, backend)?;
    crate::say(format_args!("smtpd: listening on {}", server.addr()));
    server.run()
}
