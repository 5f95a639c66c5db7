//! `asyncore http`: a static-file HTTP/1.1 server to use instead of
//! `python -m http.server`, built on
//! [`AsyncChat`](asyncore_loop::chat::AsyncChat) and producers.
//!
//! ```text
//! asyncore http                                   # 127.0.0.1:8000, the current directory
//! asyncore http --listen 0.0.0.0:8080 --root ./site --mime wasm=application/wasm
//! asyncore -q http                                # no access log
//! ```
//!
//! GET and HEAD; HTTP/1.1 keep-alive and pipelining (answers in order,
//! those to requests read together leave in one send); HTTP/1.0 with and
//! without keep-alive; `index.html` or an HTML listing; `301` to add a
//! directory's slash; `ETag`/`Last-Modified` with `If-Match`/
//! `If-Unmodified-Since` (412) and `If-None-Match`/`If-Modified-Since`
//! (304); one byte range (`a-b`, `a-`, `-n`) with
//! `If-Range` (206, 416). An access log line per request in the common log
//! format on stdout.
//!
//! Security: no target, however encoded, reaches outside the root (see
//! [`target`]); symlinks resolving outside the root are refused (403)
//! unless `--follow-symlinks` (see [`resolve`]); the head parser refuses
//! the request-smuggling forms (see [`request`]). Limits: request line
//! 8 KiB (414), head 32 KiB and 100 fields (431), body 1 MiB (413), a
//! request must arrive within `--header-timeout` (408), idle keep-alive
//! connections close after `--keep-alive-timeout`, a response the client
//! stops reading closes after `--send-timeout`, and past
//! `--max-connections` newcomers get 503 (over HTTPS, a close).
//!
//! Files up to 64 KiB are cached by request target and checked for changes
//! at most once a second (`--no-cache` reads every file at every request);
//! larger files flow through a producer 64 KiB at a time, so a slow reader
//! costs one chunk of memory. A client that closes its sending side after
//! its requests still gets every queued response.
//!
//! # Examples
//!
//! ```
//! use asyncore_cli::http::{spawn, Options};
//! use std::io::{Read, Write};
//!
//! let root = std::env::temp_dir().join(format!("http-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&root).unwrap();
//! std::fs::write(root.join("hello.txt"), "hi\n").unwrap();
//! let options = Options { listen: "127.0.0.1:0".into(), root: root.clone(), ..Options::default() };
//! let server = spawn(options, false, asyncore_loop::Backend::Epoll)?;
//!
//! let mut c = std::net::TcpStream::connect(server.addr).unwrap();
//! c.write_all(b"GET /hello.txt HTTP/1.0\r\n\r\n").unwrap();
//! let mut answer = String::new();
//! c.read_to_string(&mut answer).unwrap();
//! assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(answer.contains("\r\nContent-Type: text/plain; charset=utf-8\r\n"));
//! assert!(answer.ends_with("\r\n\r\nhi\n"));
//! server.remote.stop().expect("running");
//! server.thread.join().unwrap()?;
//! # std::fs::remove_dir_all(&root).unwrap();
//! # Ok::<(), asyncore_cli::AppError>(())
//! ```

pub mod access_log;
mod answer;
pub mod body;
pub mod cache;
pub mod channel;
pub mod conditional;
pub mod config;
pub mod connection;
pub mod dates;
mod listener;
pub mod listing;
pub mod mime;
pub mod percent;
pub mod request;
pub mod resolve;
pub mod response;
pub mod status;
pub mod target;

use crate::{listen_capped, parse_listen, AppError};
use asyncore_loop::{Backend, EventLoop, Remote};
use config::Config;
use listener::Listener;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

/// `asyncore http`'s options (also its command-line arguments).
///
/// # Examples
///
/// ```
/// let o = asyncore_cli::http::Options::default();
/// assert_eq!(o.listen, "127.0.0.1:8000");
/// assert_eq!(o.root, std::path::PathBuf::from("."));
/// ```
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub listen: String,
    /// The directory to serve.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub root: PathBuf,
    /// Serve symlinks that resolve outside DIR. Without it, a path through a
    /// symlink is served only if it resolves inside DIR, else 403. Targets
    /// never reach outside DIR by themselves: `..` in any encoding,
    /// backslashes and NULs are refused (400).
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Content-Type for an extension, as EXT=TYPE (repeatable; replaces the built-in entry).
    #[arg(long, value_name = "EXT=TYPE")]
    pub mime: Vec<String>,
    /// Connections served at once; past it newcomers get 503 (over HTTPS, a close).
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub max_connections: u32,
    /// Read every file at every request. By default files up to 64 KiB are
    /// cached and checked for changes at most once a second, so a file
    /// changed less than a second ago may be served as it was.
    #[arg(long)]
    pub no_cache: bool,
    /// Seconds a request's head (and body) may take to arrive once begun (then 408).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = crate::smtpd::parse_secs)]
    pub header_timeout: Duration,
    /// Seconds an idle keep-alive connection is kept.
    #[arg(long, value_name = "SECS", default_value = "15", value_parser = crate::smtpd::parse_secs)]
    pub keep_alive_timeout: Duration,
    /// Seconds a response may wait for the client to read any of it.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = crate::smtpd::parse_secs)]
    pub send_timeout: Duration,
    /// HTTPS: the server's certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// HTTPS: the certificate's private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: "127.0.0.1:8000".into(),
            root: PathBuf::from("."),
            follow_symlinks: false,
            mime: Vec::new(),
            max_connections: 512,
            no_cache: false,
            header_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(15),
            send_timeout: Duration::from_secs(60),
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// A bound HTTP server, not yet running.
#[derive(Debug)]
pub struct HttpServer {
    ev: EventLoop,
    addr: SocketAddr,
    root: PathBuf,
    /// `https` with `--tls-cert`, else `http`.
    scheme: &'static str,
}

impl HttpServer {
    /// Checks the root, and listens on `options.listen` with `backend`;
    /// `access_log` writes a line per request to stdout.
    pub fn bind(options: &Options, access_log: bool, backend: Backend) -> Result<Self, AppError> {
        let listen_on = parse_listen(&options.listen)?;
        let root = std::fs::canonicalize(&options.root)
            .map_err(|e| AppError::io(format!("cannot serve {}", options.root.display()), e))?;
        if !root.is_dir() {
            return Err(AppError::usage(format!(
                "{} is not a directory",
                root.display()
            )));
        }
        let mut config = Config::new(root.clone());
        for spec in &options.mime {
            config.mime.set_override(spec).map_err(AppError::usage)?;
        }
        config.follow_symlinks = options.follow_symlinks;
        config.cache_files = !options.no_cache;
        config.access_log = access_log;
        config.header_timeout = options.header_timeout.max(Duration::from_millis(1));
        config.keep_alive_timeout = options.keep_alive_timeout.max(Duration::from_millis(1));
        config.send_timeout = options.send_timeout.max(Duration::from_millis(1));
        let tls =
            crate::tls_server_config(options.tls_cert.as_deref(), options.tls_key.as_deref())?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let listener = Listener {
            config: Rc::new(config),
            tls,
        };
        let mut ev = EventLoop::new().with_backend(backend);
        let addr = listen_capped(&mut ev, listener, listen_on, Some(options.max_connections))?;
        Ok(HttpServer {
            ev,
            addr,
            root,
            scheme,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle to stop it from another thread.
    pub fn remote(&mut self) -> Result<Remote, AppError> {
        self.ev.remote().map_err(|e| AppError::io("http", e))
    }

    /// Serves until stopped through its [`Remote`] (no signal handling).
    pub fn serve(mut self) -> Result<(), AppError> {
        self.ev
            .run_loop(None, None)
            .map_err(|e| AppError::io("http", e))
    }
}

pub use crate::spawned::Spawned;

/// Binds and serves on a new thread; for tests and embedding.
///
/// # Examples
///
/// See the [module documentation](self).
pub fn spawn(options: Options, access_log: bool, backend: Backend) -> Result<Spawned, AppError> {
    crate::spawned::spawn_server(
        "http",
        move || {
            let mut server = HttpServer::bind(&options, access_log, backend)?;
            let remote = server.remote()?;
            let addr = server.addr();
            Ok((server, addr, remote))
        },
        |server| server.serve(),
    )
}

/// `asyncore http`: bind, say where, serve until SIGINT/SIGTERM.
pub fn run(options: &Options, access_log: bool, backend: Backend) -> Result<(), AppError> {
    let mut server = HttpServer::bind(options, access_log, backend)?;
    crate::say(format_args!("http: listening on {}", server.addr()));
    let url_host = match server.addr() {
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
        SocketAddr::V4(a) => a.to_string(),
    };
    crate::say(format_args!(
        "http: serving {} at {}://{url_host}/",
        server.root.display(),
        server.scheme
    ));
    crate::shutdown_on_signals(&mut server.ev)?;
    server.serve()
}
