//! `asyncore get URL [-o FILE] [-i] [-I] [-L] [-H "Name: value"] ...`: the
//! HTTP client from the original asyncore documentation's example, grown
//! into a tool.
//!
//! One GET (or HEAD with `-I`) over HTTP/1.1 (`Host`, `User-Agent:
//! asyncore-get/VERSION`, `Accept: */*`, `Accept-Encoding: identity`,
//! `Connection: close`; `-H` replaces, removes or adds fields, `-A` sets the
//! `User-Agent`); HTTP/1.0 and 1.1 answers, bodies delimited by
//! `Content-Length`, chunked transfer coding (extensions ignored, trailers
//! kept) or the connection's close. The body goes byte for byte to stdout
//! (also with `-o -`), or with `-o FILE` to `FILE.part`, renamed to `FILE`
//! once complete (and removed on failure); `-o DIR/` names the file after
//! the URL's last path segment. `-i` writes the status line and header
//! fields, exactly as received, before the body (as `curl -i`). A progress
//! bar is drawn on stderr for downloads of 1 MiB or more, only when stderr is
//! a terminal; a download to a file ends with a summary line on stderr
//! (`-s` silences both).
//!
//! The parts, one per file: [`HttpUrl`] (what URLs are accepted), the
//! request head, the sans-IO [`ResponseParser`], redirects, the connection
//! (an asyncore [`Dispatcher`](asyncore_loop::Dispatcher) per address tried:
//! the one place that moves bytes), the output and the progress bar.
//!
//! ## Redirects
//!
//! A 3xx answer other than `304` with a `Location` is a redirect: without
//! `-L` it is reported (status and where it points, exit code 9) and nothing
//! is written; with `-L` it is followed, up to `--max-redirs` (20) hops,
//! each on a new connection. `Location` may be absolute or relative (RFC
//! 3986 resolution). The method is kept on every hop: GET stays GET and
//! HEAD stays HEAD, for 301, 302, 303, 307 and 308 alike (the rules that
//! turn a POST into a GET do not apply: no body is ever sent).
//! `Authorization`, `Cookie` and a custom `Host` given with `-H` are sent
//! to the first host only, as curl does without `--location-trusted`.
//! With `-i` or `-I`, the head written is the final response's.
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
//! timers enforce it. `--max-time SECS` bounds the whole transfer,
//! redirects included, with a loop timer: a server that trickles a byte at a
//! time never goes idle, but is cut off all the same.
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
//! | 1 | [`AppError::IO`] | local I/O: cannot write the output file or stdout |
//! | 2 | [`AppError::USAGE`] | bad arguments, e.g. `--timeout 0`, `-o DIR/` for a URL without a file name |
//! | 3 | [`exit::BAD_URL`] | bad URL, or not `http://` or `https://`, also as a redirect's target |
//! | 4 | [`exit::RESOLVE`] | the host name does not resolve |
//! | 5 | [`exit::CONNECT`] | connection refused or unreachable (every address) |
//! | 6 | [`exit::TIMEOUT`] | resolution, connect or idle timeout, or `--max-time` |
//! | 7 | [`exit::HTTP_STATUS`] | the server answered with a status of 400 or more |
//! | 8 | [`exit::BAD_RESPONSE`] | malformed response (also a transfer coding other than chunked, or a `101` nobody asked for), or truncated body (over https, also a body delimited by the close that ended without TLS close_notify) |
//! | 9 | [`exit::REDIRECT`] | a redirect without `-L`, or more than `--max-redirs` |
//! | 10 | [`exit::CERTIFICATE`] | https: the server's certificate does not verify (unknown CA, wrong name, expired) |
//! | 141 | [`exit::BROKEN_PIPE`] | stdout was closed by its reader (`\| head`): nothing printed |
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

mod args;
mod client;
mod output;
mod progress;
mod redirect;
mod request;
mod response;
mod tls;
mod url;

pub use args::GetArgs;
pub use output::{file_name_of, run, Output};
pub use progress::{render_progress, stderr_is_terminal};
pub use redirect::{redirect_location, resolve_location};
pub use request::{parse_header, Method};
pub use response::{Event, Framing, Head, ParseError, ResponseParser};
pub use url::{Host, HttpUrl, UrlError};

use crate::AppError;
use asyncore_loop::{Backend, EventLoop};
use client::Shared;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The exit codes of `asyncore get`, one per kind of failure (see the
/// module docs for the table).
pub mod exit {
    /// A bad URL, or one that is not `http://`.
    pub const BAD_URL: u8 = 3;
    /// The host name did not resolve.
    pub const RESOLVE: u8 = 4;
    /// The connection was refused, or the host is unreachable.
    pub const CONNECT: u8 = 5;
    /// Resolution, connect or idle timeout, or `--max-time`.
    pub const TIMEOUT: u8 = 6;
    /// The server answered 400 or more.
    pub const HTTP_STATUS: u8 = 7;
    /// A malformed response, or a truncated body.
    pub const BAD_RESPONSE: u8 = 8;
    /// A redirect not followed (no `-L`), or more than `--max-redirs`.
    pub const REDIRECT: u8 = 9;
    /// Standard output was closed by its reader (`| head`): the status a
    /// shell shows for a process ended by `SIGPIPE`; nothing is printed.
    pub const BROKEN_PIPE: u8 = 141;
    /// https: the server's certificate did not verify.
    pub const CERTIFICATE: u8 = 10;
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
/// assert!(!opts.include_head && !opts.progress && !opts.follow);
/// assert_eq!(opts.max_redirects, 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetOptions {
    /// GET, or HEAD for the head only.
    pub method: Method,
    /// Header fields of the request, each replacing the default field of
    /// the same name (an empty value removes it), or added.
    pub headers: Vec<(String, String)>,
    /// Follow redirects (`-L`); without it a redirect is an error.
    pub follow: bool,
    /// The most redirects followed (default 20).
    pub max_redirects: u32,
    /// Resolution, connect and idle timeout (default 30 s).
    pub timeout: Duration,
    /// A limit on the whole transfer, redirects included (none by default).
    pub max_time: Option<Duration>,
    /// Write the head (status line and fields, as received) before the body.
    pub include_head: bool,
    /// Draw a progress bar on stderr for large downloads; it is drawn only
    /// when stderr is also a terminal.
    pub progress: bool,
    /// After a download to a file, a summary line on stderr (see [`run`]).
    pub summary: bool,
    /// The loop's readiness backend.
    pub backend: Backend,
    /// https: trust only the CA certificates of this PEM file.
    pub cacert: Option<std::path::PathBuf>,
    /// https: do not verify the server's certificate at all.
    pub insecure: bool,
}

impl Default for GetOptions {
    fn default() -> Self {
        GetOptions {
            method: Method::Get,
            headers: Vec::new(),
            follow: false,
            max_redirects: 20,
            timeout: Duration::from_secs(30),
            max_time: None,
            include_head: false,
            progress: false,
            summary: false,
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
    /// The URL that answered (after any redirects).
    pub url: String,
    /// Redirects followed.
    pub redirects: u32,
}

/// Fetches `url` and writes the body (after the head with
/// `opts.include_head`) to `out`, as it arrives; with `opts.follow`,
/// redirects are followed first (their heads are written with the head,
/// their bodies never). On failure, the error's `code` is one of [`exit`]'s;
/// part of the body may have been written before a timeout or a truncation
/// was noticed, but nothing is written for an error status, and only the
/// head (when wanted) for a redirect not followed. (The command writes `-o`
/// files through a `.part` that an error removes: there, a redirect not
/// followed leaves no file.)
///
/// # Examples
///
/// ```
/// use asyncore_cli::get::{exit, fetch, GetOptions};
/// let e = fetch("ftp://example.com/", &GetOptions::default(), &mut Vec::new()).unwrap_err();
/// assert_eq!(e.code, exit::BAD_URL);
/// ```
pub fn fetch(url: &str, opts: &GetOptions, out: &mut dyn Write) -> Result<Response, AppError> {
    let mut url = HttpUrl::parse(url).map_err(|e| AppError::new(exit::BAD_URL, e.to_string()))?;
    if opts.timeout.is_zero() {
        return Err(AppError::usage("the timeout must be more than 0 seconds"));
    }
    let deadline = opts.max_time.map(|limit| Instant::now() + limit);
    let first_origin = url.host_header();
    let mut redirects = 0;
    loop {
        // Credentials and a custom Host go to the first origin only.
        let same_origin = url.host_header() == first_origin;
        let headers: Vec<(String, String)> = opts
            .headers
            .iter()
            .filter(|(name, _)| same_origin || !request::is_origin_bound(name))
            .cloned()
            .collect();
        let mut shared = Shared::new(
            url.clone(),
            request::build(opts.method, &url, &headers),
            opts.method == Method::Head,
        );
        shared.timeout = opts.timeout;
        shared.include_head = opts.include_head || opts.method == Method::Head;
        shared.time_left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let mut response = exchange(shared, opts, out)?;
        let Some(location) = redirect_location(&response.head) else {
            response.url = url.to_string();
            response.redirects = redirects;
            return Ok(response);
        };
        let next = resolve_location(&url, location);
        let status = response.head.status_line();
        if !opts.follow {
            return Err(AppError::new(
                exit::REDIRECT,
                format!(
                    "{status} from {url}: Location: {next} (not followed; -L follows redirects)"
                ),
            ));
        }
        if redirects >= opts.max_redirects {
            return Err(AppError::new(
                exit::REDIRECT,
                format!(
                    "too many redirects: stopped after {redirects} (--max-redirs), at {url} -> {next}"
                ),
            ));
        }
        url = HttpUrl::parse(&next).map_err(|e| {
            AppError::new(exit::BAD_URL, format!("redirected by {url} to {next}: {e}"))
        })?;
        log::debug!("{status}: following to {url}");
        redirects += 1;
    }
}

/// One request and its answer, on a loop of its own.
fn exchange(shared: Shared, opts: &GetOptions, out: &mut dyn Write) -> Result<Response, AppError> {
    if shared.time_left.is_some_and(|left| left.is_zero()) {
        return Err(AppError::new(
            exit::TIMEOUT,
            "timed out: --max-time reached",
        ));
    }
    let loop_error = |e: io::Error| AppError::io("get: event loop", e);
    let mut shared = shared;
    if shared.url.tls {
        shared.tls = Some(tls::config(opts)?);
    }
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
                return Err(output::write_error(e));
            }
            st.out.clear();
        }
        progress.update(st.body_len, total(st));
        if let Some(outcome) = st.outcome.take() {
            progress.finish(st.body_len, total(st));
            if let Err(f) = outcome {
                return Err(AppError::new(f.code, f.message));
            }
            out.flush().map_err(output::write_error)?;
            let head = st
                .head
                .take()
                .ok_or_else(|| AppError::new(exit::BAD_RESPONSE, "the response had no head"))?;
            return Ok(Response {
                head,
                trailers: std::mem::take(&mut st.trailers),
                body_len: st.body_len,
                peer: st.peer,
                url: st.url.to_string(),
                redirects: 0,
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
