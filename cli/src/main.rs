//! The `asyncore` command. `asyncore --help` lists the apps.

use asyncore_cli::{backend_parser, chat, demo, echo, get, init_logging, parse_listen, AppError};
use asyncore_loop::Backend;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Network tools, each running on one asyncore event loop:
/// demo (an HTTP server and client in one loop), get (an HTTP client),
/// echo (an echo server), chat (a chat room for nc and telnet),
/// smtpd (a mail catcher for development) and http (a static-file server).
#[derive(Debug, Parser)]
#[command(name = "asyncore", version)]
struct Cli {
    /// The readiness backend: select(2), poll(2) or epoll(7).
    #[arg(
        long,
        global = true,
        env = "ASYNCORE_BACKEND",
        default_value = "epoll",
        value_parser = backend_parser()
    )]
    backend: Backend,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Errors only.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    app: App,
}

#[derive(Debug, Subcommand)]
enum App {
    /// Serve HTTP on 127.0.0.1 and fetch a page from it with asyncore's example client, in one loop.
    Demo,
    /// Fetch an http:// or https:// URL (GET or HEAD, HTTP/1.1) and write the body to stdout or a file.
    Get(get::GetArgs),
    /// Echo every byte back to its sender.
    Echo {
        #[arg(long, default_value = "127.0.0.1:7007", help = asyncore_cli::LISTEN_HELP)]
        listen: String,
        /// Event loops, one thread each, each with its own SO_REUSEPORT listener
        /// on the address (the kernel spreads connections); 1 is a single loop.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
        loops: u16,
        /// Implicit TLS: the server's certificate chain (PEM); needs --tls-key.
        #[arg(long, value_name = "FILE")]
        tls_cert: Option<std::path::PathBuf>,
        /// Implicit TLS: the certificate's private key (PEM).
        #[arg(long, value_name = "FILE")]
        tls_key: Option<std::path::PathBuf>,
        /// Output queued per connection (bytes) above which it stops reading until the peer reads.
        #[arg(long, default_value_t = echo::EchoHandler::HIGH_WATER, value_name = "BYTES")]
        high_water: usize,
    },
    /// A line-based chat room for nc and telnet: nicknames, /who, /nick, /quit.
    Chat {
        #[arg(long, default_value = chat::DEFAULT_LISTEN, help = asyncore_cli::LISTEN_HELP)]
        listen: String,
        /// The longest line accepted, in bytes; longer lines get an error line and are discarded.
        #[arg(long, default_value_t = 1024)]
        max_line: usize,
        /// Disconnect a client that sends nothing for this many seconds (0: never).
        #[arg(long, default_value = "600", value_name = "SECS", value_parser = chat::parse_idle_timeout)]
        // Fully qualified so clap takes the parser's `Option` as the value.
        idle_timeout: ::std::option::Option<std::time::Duration>,
        /// Disconnect a client once this many bytes of output wait for it.
        #[arg(long, default_value_t = 65536, value_name = "BYTES")]
        max_queue: usize,
    },
    /// A mail catcher for development (python -m smtpd's successor): an SMTP server
    /// that prints each message, or stores it into a Maildir, and delivers nothing.
    Smtpd(asyncore_cli::smtpd::Options),
    /// A static-file HTTP/1.1 server (python -m http.server's successor):
    /// GET/HEAD, keep-alive, pipelining, ranges, conditional requests, listings.
    ///
    /// Nothing outside --root is served: `..` in any encoding, backslashes and
    /// NULs in the path are refused (400); symlinks that resolve outside the
    /// root are refused (403) unless --follow-symlinks. One access log line per
    /// request on stdout (-q silences it).
    Http(asyncore_cli::http::Options),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    let result: Result<(), AppError> = match cli.app {
        App::Smtpd(options) => asyncore_cli::smtpd::run(&options, cli.backend),
        App::Http(options) => asyncore_cli::http::run(&options, !cli.quiet, cli.backend),
        App::Demo => demo::run(cli.backend),
        App::Get(args) => args.run(cli.backend),
        App::Echo {
            listen,
            loops,
            high_water,
            tls_cert,
            tls_key,
        } => parse_listen(&listen).and_then(|addr| {
            let tls = asyncore_cli::tls_server_config(tls_cert.as_deref(), tls_key.as_deref())?;
            let options = echo::EchoOptions { high_water, tls };
            match loops {
                1 => echo::run_with(addr, cli.backend, &options),
                n => echo::run_loops_with(addr, cli.backend, usize::from(n), &options),
            }
        }),
        App::Chat {
            listen,
            max_line,
            idle_timeout,
            max_queue,
        } => parse_listen(&listen).and_then(|addr| {
            let opts = chat::ChatOptions {
                max_line,
                max_queue,
                idle_timeout,
            };
            chat::run(addr, cli.backend, opts)
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.message.is_empty() {
                eprintln!("asyncore: {e}");
            }
            ExitCode::from(e.code)
        }
    }
}
