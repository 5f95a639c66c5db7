//! `asyncore get URL [-o FILE] [-i]`: the HTTP client from the original
//! asyncore documentation's example, grown into a tool.
//!
//! One GET over HTTP/1.1 (`Host`, `User-Agent: asyncore-get/VERSION`,
//! `Accept-Encoding: identity`, `Connection: close`); HTTP/1.0 and 1.1
//! answers, bodies delimited by `Content-Length`, chunked transfer coding
//! (extensions ignored, trailers kept) or the connection's close. The body
//! goes byte for byte to stdout, or with `-o FILE` to `FILE.part`, renamed
//! to `FILE` once complete (and removed on failure). `-i` writes the status
//! line and header fields, exactly as received, before the body (as `curl
//! -i`). A progress bar is drawn on stderr for downloads of 1 MiB or more,
//! only when stderr is a terminal.
//!
//! The parts, one per file: [`HttpUrl`] (what URLs are accepted), the
//! sans-IO [`ResponseParser`], the connection (an asyncore
//! [`Dispatcher`](asyncore_loop::Dispatcher) per address
//! tried) and the progress bar.
//!
//! ## Resolution never blocks the loop
//!
//! `getaddrinfo` blocks, and asyncore's loop must not. A host name is
//! resolved on a helper thread with [`std::net::ToSocketAddrs`]; the thread
//! hands the addresses to the loop with
//! [`Remote::post`](asyncore_loop::Remote::post), whose closure
//! runs on the loop thread and opens the connection. Meanwhile the loop
//! keeps running: a loop timer of `--timeout` bounds the wait (if it fires
//! first, the late answer is ignored). An IPv4 or IPv6 literal needs no
//! thread. The addresses are tried in the resolver's order: a refused,
//! unreachable or timed-out connect moves on to the next one.
//!
//! ## Timeouts
//!
//! `--timeout SECS` (default 30) bounds resolution, each connect, and every
//! silence once connected: the connection channel declares an idle deadline
//! with [`Cx::set_timeout`](asyncore_loop::Cx::set_timeout), so the loop's own
//! timers enforce it.
//!
//! ## https
//!
//! `https://` URLs run the same exchange over TLS (rustls), verifying the
//! server against the compiled-in Mozilla roots, or only the CAs of
//! `--cacert FILE`; `--insecure` verifies nothing. Other TLS failures
//! (no common protocol, an alert from the server) exit with 5.
//!
//! ## Failures and exit codes
//!
//! Every failure is one line on stderr, `asyncore: ...`, and an exit code:
//!
//! | code | constant | failure |
//! |---|---|---|
//! | 0 | | the whole body was received and written |
//! | 1 | [`AppError::IO`] | local I/O: cannot write stdout or the output file |
//! | 2 | [`AppError::USAGE`] | bad arguments (clap), e.g. `--timeout 0` |
//! | 3 | [`exit::BAD_URL`] | bad URL, or not `http://` or `https://` |
//! | 4 | [`exit::RESOLVE`] | the host name does not resolve |
//! | 5 | [`exit::CONNECT`] | connection refused or unreachable (every address) |
//! | 6 | [`exit::TIMEOUT`] | resolution, connect or idle timeout |
//! | 7 | [`exit::HTTP_STATUS`] | the server answered with a status of 400 or more |
//! | 8 | [`exit::BAD_RESPONSE`] | malformed response, or truncated body (over https, also a body delimited by the close that ended without TLS close_notify) |
//! | 9 | [`exit::CERTIFICATE`] | https: the server's certificate does not verify (unknown CA, wrong name, expired) |
//!
//! An error status is handled as `curl -f` does: nothing is written (no
//! body, no head even with `-i`, no output file), and the exit code is 7.
//!
//! # Examples
//!
//! ```
//! use asyncore_cli::get::{fetch, GetOptions};
//! use std::io::{Read, Write};
//!
//! let server = std::net::TcpListener::bind("127.0.0.1:0")?;
//! let url = format!("http://{}/hello", server.local_addr()?);
//! std::thread::spawn(move || {
//!     let (mut s, _) = server.accept().unwrap();
//!     let mut req = [0u8; 1024];
//!     let _ = s.read(&mut req);
//!     let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
//! });
//! let mut body = Vec::new();
//! let response = fetch(&url, &GetOptions::default(), &mut body)?;
//! assert_eq!(response.head.status, 200);
//! assert_eq!(body, b"hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod client;
mod progress;
mod response;
mod tls;
mod url;

pub use progress::{render_progress, stderr_is_terminal};
pub use response::{Event, Framing, Head, ParseError, ResponseParser};
pub use url::{Host, HttpUrl, UrlError};

use crate::AppError;
use asyncore_loop::{Backend, EventLoop};
use client::Shared;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The exit codes of `asyncore get`, one per kind of failure (see the
/// module docs for the table).
pub mod exit {
    /// A bad URL, or one that is not `http://`.
    pub const BAD_URL: u8 = 3;
    /// The host name did not resolve.
    pub const RESOLVE: u8 = 4;
    /// The connection was refused, or the host is unreachable.
    pub const CONNECT: u8 = 5;
    /// Resolution, connect or idle timeout.
    pub const TIMEOUT: u8 = 6;
    /// The server answered 400 or more.
    pub const HTTP_STATUS: u8 = 7;
    /// A malformed response, or a truncated body.
    pub const BAD_RESPONSE: u8 = 8;
    /// https: the server's certificate did not verify.
    pub const CERTIFICATE: u8 = 9;
}

/// A failure found on the loop: its exit code and line.
#[derive(Debug, Clone)]
struct Failure {
    code: u8,
    message: String,
}

/// How to fetch.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let opts = asyncore_cli::get::GetOptions { timeout: Duration::from_secs(5), ..Default::default() };
/// assert!(!opts.include_head && !opts.progress);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetOptions {
    /// Resolution, connect and idle timeout (default 30 s).
    pub timeout: Duration,
    /// Write the head (status line and fields, as received) before the body.
    pub include_head: bool,
    /// Draw a progress bar on stderr for large downloads; it is drawn only
    /// when stderr is also a terminal.
    pub progress: bool,
    /// The loop's readiness backend.
    pub backend: Backend,
    /// https: trust only the CA certificates of this PEM file.
    pub cacert: Option<PathBuf>,
    /// https: do not verify the server's certificate at all.
    pub insecure: bool,
}

impl Default for GetOptions {
    fn default() -> Self {
        GetOptions {
            timeout: Duration::from_secs(30),
            include_head: false,
            progress: false,
            backend: Backend::Epoll,
            cacert: None,
            insecure: false,
        }
    }
}

/// What was received (the body itself went to the writer).
///
/// # Examples
///
/// See [`fetch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status line and header fields.
    pub head: Head,
    /// Trailer fields of a chunked body.
    pub trailers: Vec<(String, String)>,
    /// Body bytes written.
    pub body_len: u64,
    /// The address that answered.
    pub peer: Option<SocketAddr>,
}

/// Fetches `url` and writes the body (after the head with
/// `opts.include_head`) to `out`, as it arrives. On failure, the error's
/// `code` is one of [`exit`]'s; part of the body may have been written
/// before a timeout or a truncation was noticed, but nothing is written for
/// an error status.
///
/// # Examples
///
/// ```
/// use asyncore_cli::get::{exit, fetch, GetOptions};
/// let e = fetch("ftp://example.com/", &GetOptions::default(), &mut Vec::new()).unwrap_err();
/// assert_eq!(e.code, exit::BAD_URL);
/// ```
pub fn fetch(url: &str, opts: &GetOptions, out: &mut dyn Write) -> Result<Response, AppError> {
    let url = HttpUrl::parse(url).map_err(|e| AppError::new(exit::BAD_URL, e.to_string()))?;
    if opts.timeout.is_zero() {
        return Err(AppError::usage("the timeout must be more than 0 seconds"));
    }
    let loop_error = |e: io::Error| AppError::io("get: event loop", e);
    let tls = match url.tls {
        true => Some(tls::config(opts)?),
        false => None,
    };
    let mut shared = Shared::new(url, opts.timeout, opts.include_head);
    shared.tls = tls;
    let mut ev = EventLoop::with_state(shared).with_backend(opts.backend);
    client::start(&mut ev).map_err(loop_error)?;
    let mut progress = progress::Progress::new(opts.progress && stderr_is_terminal());
    loop {
        // One pass at a time: after each, hand the output to `out`.
        ev.run_loop(Some(Duration::from_millis(500)), Some(1))
            .map_err(loop_error)?;
        let empty = ev.is_empty();
        let st = ev.state_mut();
        if !st.out.is_empty() {
            if let Err(e) = out.write_all(&st.out) {
                progress.finish(st.body_len, total(st));
                return Err(AppError::io("cannot write the output", e));
            }
            st.out.clear();
        }
        progress.update(st.body_len, total(st));
        if let Some(outcome) = st.outcome.take() {
            progress.finish(st.body_len, total(st));
            if let Err(f) = outcome {
                return Err(AppError::new(f.code, f.message));
            }
            out.flush()
                .map_err(|e| AppError::io("cannot write the output", e))?;
            let head = st
                .head
                .take()
                .ok_or_else(|| AppError::new(exit::BAD_RESPONSE, "the response had no head"))?;
            return Ok(Response {
                head,
                trailers: std::mem::take(&mut st.trailers),
                body_len: st.body_len,
                peer: st.peer,
            });
        }
        if empty && !st.waiting_for_addresses {
            // Cannot happen: every way a channel ends records an outcome.
            return Err(AppError::new(
                exit::CONNECT,
                "the connection ended without a result",
            ));
        }
    }
}

fn total(st: &Shared) -> Option<u64> {
    let length = st.head.as_ref()?.header("content-length")?;
    length.parse().ok()
}

/// `asyncore get`: fetches `url` to stdout, or to `output` (through
/// `output.part`, renamed when complete, removed on failure).
///
/// # Examples
///
/// ```
/// use asyncore_cli::get::{exit, run, GetOptions};
/// let e = run("http://exa mple.com/", None, &GetOptions::default()).unwrap_err();
/// assert_eq!(e.code, exit::BAD_URL);
/// ```
pub fn run(url: &str, output: Option<&Path>, opts: &GetOptions) -> Result<(), AppError> {
    // Refuse a bad URL before creating any file.
    HttpUrl::parse(url).map_err(|e| AppError::new(exit::BAD_URL, e.to_string()))?;
    let Some(path) = output else {
        let stdout = io::stdout();
        let mut lock = stdout.lock();
        fetch(url, opts, &mut lock)?;
        return lock
            .flush()
            .map_err(|e| AppError::io("cannot write the output", e));
    };
    let part = part_path(path);
    let file = File::create(&part)
        .map_err(|e| AppError::io(format!("cannot create {}", part.display()), e))?;
    let mut writer = BufWriter::with_capacity(256 * 1024, file);
    let result = fetch(url, opts, &mut writer).and_then(|_| {
        let file = writer.into_inner().map_err(|e| {
            AppError::io(format!("cannot write {}", part.display()), e.into_error())
        })?;
        file.sync_all()
            .map_err(|e| AppError::io(format!("cannot write {}", part.display()), e))?;
        std::fs::rename(&part, path).map_err(|e| {
            AppError::io(
                format!("cannot rename {} to {}", part.display(), path.display()),
                e,
            )
        })
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result
}

/// `FILE` → `FILE.part`.
fn part_path(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(".part");
    PathBuf::from(name)
}

/// Parses `--timeout SECS`: a positive number of seconds, fractions allowed.
///
/// # Examples
///
/// ```
/// use asyncore_cli::get::parse_timeout;
/// assert_eq!(parse_timeout("1.5").unwrap(), std::time::Duration::from_millis(1500));
/// assert!(parse_timeout("0").is_err() && parse_timeout("soon").is_err());
/// ```
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs.is_finite() && secs <= 1e9 => {
            Ok(Duration::from_secs_f64(secs))
        }
        _ => Err(format!(
            "{text:?} is not a timeout: expected a positive number of seconds"
        )),
    }
}
