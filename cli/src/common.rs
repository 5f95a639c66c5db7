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
    /// The line printed after `asyncore: `.
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

/// Parses a `--listen` address (`HOST:PORT`, IPv6 as `[::1]:PORT`).
///
/// # Examples
///
/// ```
/// assert!(asyncore_cli::parse_listen("127.0.0.1:0").is_ok());
/// assert_eq!(asyncore_cli::parse_listen("nonsense").unwrap_err().code, 2);
/// ```
pub fn parse_listen(text: &str) -> Result<SocketAddr, AppError> {
    text.parse().map_err(|_| {
        AppError::usage(format!(
            "bad listen address {text:?}: expected HOST:PORT, e.g. 127.0.0.1:8025 or [::1]:8025"
        ))
    })
}

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
    let fail = |e| AppError::io(format!("cannot listen on {addr}"), e);
    let mut cx: Cx<'_, S> = ev.add(dispatcher);
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

/// Makes SIGINT and SIGTERM start a graceful shutdown of `ev` (5 s grace).
///
/// # Examples
///
/// ```
/// let mut ev = asyncore_loop::EventLoop::new();
/// asyncore_cli::shutdown_on_signals(&mut ev)?;
/// # Ok::<(), asyncore_cli::AppError>(())
/// ```
pub fn shutdown_on_signals<S: 'static>(ev: &mut EventLoop<S>) -> Result<(), AppError> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        ev.on_signal(signal, |cx| {
            cx.log_info("shutting down", "info");
            cx.shutdown(std::time::Duration::from_secs(5));
            Ok(())
        })
        .map_err(|e| AppError::io("cannot handle signals", e))?;
    }
    Ok(())
}

/// A minimal `log` backend: `level: message` on stderr.
#[derive(Debug)]
struct StderrLog {
    level: log::LevelFilter,
}

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("{}", record.args());
        }
    }

    fn flush(&self) {}
}

/// Installs the stderr logger: `-q` errors only, default warnings and
/// infos, `-v` debug. Lines keep asyncore's `type: message` form.
///
/// # Examples
///
/// ```
/// asyncore_cli::init_logging(0, false);
/// ```
pub fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => log::LevelFilter::Error,
        (false, 0) => log::LevelFilter::Info,
        (false, 1) => log::LevelFilter::Debug,
        (false, _) => log::LevelFilter::Trace,
    };
    let logger: &'static StderrLog = Box::leak(Box::new(StderrLog { level }));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(level);
    }
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
