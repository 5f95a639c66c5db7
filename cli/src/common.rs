//! What every app shares: the error type with its exit codes, logging, and
//! starting a listener.

use asyncore_loop::{Backend, Cx, Dispatcher, EventLoop, AF_INET, AF_INET6, SOCK_STREAM};
use std::fmt;
use std::io;
use std::net::SocketAddr;

/// A failure an app reports: one line on stderr and an exit code.
///
/// # Examples
///
/// ```
/// use asyncore_cli::AppError;
/// let e = AppError::usage("bad address");
/// assert_eq!(e.code, 2); // AppError::USAGE
/// assert_eq!(e.to_string(), "bad address");
/// let e = AppError::io("cannot listen on 127.0.0.1:1", std::io::Error::from_raw_os_error(13));
/// assert_eq!(e.code, 1); // AppError::IO
/// assert!(e.message.starts_with("cannot listen on 127.0.0.1:1: "));
/// assert_eq!(AppError::new(7, "x").code, 7);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    /// The process exit code.
    pub code: u8,
    /// The line printed after `asyncore: ` (nothing is printed when empty).
    pub message: String,
}

impl AppError {
    /// Exit code 1: an operating-system or network failure.
    pub const IO: u8 = 1;
    /// Exit code 2: bad arguments.
    pub const USAGE: u8 = 2;

    /// An error with its own exit code.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        AppError {
            code,
            message: message.into(),
        }
    }

    /// Bad arguments (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        AppError::new(Self::USAGE, message)
    }

    /// An exit code with nothing to say: the command prints no line (e.g.
    /// stdout was closed by its reader).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(asyncore_cli::AppError::quiet(141).message.is_empty());
    /// ```
    pub fn quiet(code: u8) -> Self {
        AppError::new(code, "")
    }

    /// An I/O failure with what was being done (exit code 1).
    pub fn io(doing: impl fmt::Display, err: io::Error) -> Self {
        AppError::new(Self::IO, format!("{doing}: {err}"))
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AppError {}

/// Creates a listening channel for `dispatcher` on `addr` in `ev`, and
/// returns the address it really got (port 0 resolved).
///
/// # Examples
///
/// ```
/// use asyncore_loop::{Dispatcher, EventLoop};
/// struct Listener;
/// impl Dispatcher for Listener {}
/// let mut ev = EventLoop::new();
/// let addr = asyncore_cli::listen(&mut ev, Listener, "127.0.0.1:0".parse().unwrap())?;
/// assert_ne!(addr.port(), 0);
/// # Ok::<(), asyncore_cli::AppError>(())
/// ```
pub fn listen<S: 'static, D: Dispatcher<S>>(
    ev: &mut EventLoop<S>,
    dispatcher: D,
    addr: SocketAddr,
) -> Result<SocketAddr, AppError> {
    listen_capped(ev, dispatcher, addr, None)
}

/// [`listen`], with at most `max_connections` accepted connections open at
/// once ([`Cx::set_max_connections`]): past it, the dispatcher's
/// `handle_refused` gets the newcomer.
pub fn listen_capped<S: 'static, D: Dispatcher<S>>(
    ev: &mut EventLoop<S>,
    dispatcher: D,
    addr: SocketAddr,
    max_connections: Option<u32>,
) -> Result<SocketAddr, AppError> {
    let fail = |e| AppError::io(format!("cannot listen on {addr}"), e);
    let mut cx: Cx<'_, S> = ev.add(dispatcher);
    cx.set_max_connections(max_connections);
    let family = if addr.is_ipv6() { AF_INET6 } else { AF_INET };
    let bound = cx.create_socket(family, SOCK_STREAM).and_then(|()| {
        cx.set_reuse_addr();
        cx.bind(addr)?;
        cx.listen(128)?;
        cx.socket()?.local_addr()
    });
    match bound {
        Ok(a) => a
            .as_socket()
            .ok_or_else(|| AppError::new(AppError::IO, "listener has no IP address")),
        Err(e) => {
            let _ = cx.close();
            Err(fail(e))
        }
    }
}

/// Writes one line to stdout (the `listening on` line a server starts
/// with), flushed. A stdout that is closed or full does not stop a server
/// (its later output is dropped the same way), so the error is ignored, where
/// `println!` would panic.
///
/// # Examples
///
/// ```
/// asyncore_cli::say("echo: listening on 127.0.0.1:7");
/// ```
pub fn say(line: impl std::fmt::Display) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// Makes SIGINT and SIGTERM start a graceful shutdown of `ev` (5 s grace);
/// a second one, during the grace, ends it at once.
///
/// # Examples
///
/// ```
/// let mut ev = asyncore_loop::EventLoop::new();
/// asyncore_cli::shutdown_on_signals(&mut ev)?;
/// # Ok::<(), asyncore_cli::AppError>(())
/// ```
pub fn shutdown_on_signals<S: 'static>(ev: &mut EventLoop<S>) -> Result<(), AppError> {
    shutdown_on_signals_within(ev, "", std::time::Duration::from_secs(5))
}

/// [`shutdown_on_signals`] with a `grace` of its own, the log line prefixed
/// with `app` (`"smtpd: "`).
///
/// # Examples
///
/// ```
/// let mut ev = asyncore_loop::EventLoop::new();
/// asyncore_cli::shutdown_on_signals_within(&mut ev, "smtpd: ", std::time::Duration::from_secs(30))?;
/// # Ok::<(), asyncore_cli::AppError>(())
/// ```
pub fn shutdown_on_signals_within<S: 'static>(
    ev: &mut EventLoop<S>,
    app: &'static str,
    grace: std::time::Duration,
) -> Result<(), AppError> {
    // Shared by both signals: the second of either is the impatient one.
    let asked = std::rc::Rc::new(std::cell::Cell::new(false));
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let asked = std::rc::Rc::clone(&asked);
        ev.on_signal(signal, move |cx| {
            if asked.replace(true) {
                cx.log_info(&format!("{app}second signal: stopping now"), "info");
                cx.shutdown(std::time::Duration::ZERO);
            } else {
                cx.log_info(&format!("{app}shutting down"), "info");
                cx.shutdown(grace);
            }
            Ok(())
        })
        .map_err(|e| AppError::io("cannot handle signals", e))?;
    }
    Ok(())
}

/// Installs the stderr logger (env_logger). `-q`: errors only; default:
/// warnings and infos as bare lines (asyncore's `type: message` form);
/// `-v`: debug, `-vv`: trace, each line with a timestamp, its level and its
/// target, e.g. `[2026-11-30T15:47:24.123Z DEBUG asyncore_loop::core] #2.0
/// fd 6 closed: the peer closed the connection`. `RUST_LOG`, when set, adds
/// or overrides filters in env_logger's syntax (`asyncore_loop=trace`) and
/// turns the timestamped form on.
///
/// # Examples
///
/// ```
/// asyncore_cli::init_logging(0, false);
/// ```
pub fn init_logging(verbose: u8, quiet: bool) {
    use std::io::Write;
    let level = match (quiet, verbose) {
        (true, _) => log::LevelFilter::Error,
        (false, 0) => log::LevelFilter::Info,
        (false, 1) => log::LevelFilter::Debug,
        (false, _) => log::LevelFilter::Trace,
    };
    let rust_log = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let mut builder = env_logger::Builder::new();
    builder
        .filter_level(level)
        .target(env_logger::Target::Stderr);
    if let Some(spec) = &rust_log {
        builder.parse_filters(spec);
    }
    if verbose == 0 && rust_log.is_none() {
        builder.format(|buf, record| writeln!(buf, "{}", record.args()));
    } else {
        builder.format_timestamp_millis();
    }
    // A second call (tests, embedders) keeps the first logger.
    let _ = builder.try_init();
}

/// `--backend`'s parser: the backends by name, listed in the help as its
/// possible values.
///
/// # Examples
///
/// ```
/// use clap::builder::TypedValueParser;
/// let cmd = clap::Command::new("x");
/// let parsed = asyncore_cli::backend_parser().parse_ref(&cmd, None, "poll".as_ref());
/// assert_eq!(parsed.unwrap(), asyncore_loop::Backend::Poll);
/// ```
pub fn backend_parser() -> impl clap::builder::TypedValueParser<Value = Backend> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["select", "poll", "epoll"])
        .try_map(|name| name.parse::<Backend>())
}

/// The backends by name, for `--backend`.
///
/// # Examples
///
/// ```
/// assert_eq!(asyncore_cli::parse_backend("poll").unwrap(), asyncore_loop::Backend::Poll);
/// assert!(asyncore_cli::parse_backend("kqueue").is_err());
/// ```
pub fn parse_backend(text: &str) -> Result<Backend, String> {
    text.parse::<Backend>().map_err(|e| e.to_string())
}

/// Loads `--tls-cert`/`--tls-key` (both or neither).
pub fn tls_server_config(
    cert: Option<&std::path::Path>,
    key: Option<&std::path::Path>,
) -> Result<Option<std::sync::Arc<asyncore_loop::tls::ServerConfig>>, AppError> {
    match (cert, key) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => asyncore_loop::tls::server_config(cert, key, &[])
            .map(Some)
            .map_err(|e| AppError::new(AppError::USAGE, e.to_string())),
        _ => Err(AppError::usage("--tls-cert and --tls-key go together")),
    }
}
