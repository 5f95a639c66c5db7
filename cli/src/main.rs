//! The `asyncore` command. `asyncore --help` lists the apps.

use asyncore_cli::{chat, demo, echo, get, init_logging, parse_backend, parse_listen, AppError};
use asyncore_loop::Backend;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Servers and clients on asyncore for Rust: one event loop per app.
#[derive(Debug, Parser)]
#[command(name = "asyncore", version, about)]
struct Cli {
    /// The readiness backend.
    #[arg(long, global = true, default_value = "epoll", value_parser = parse_backend)]
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
    /// Fetch an http:// URL (GET, HTTP/1.1) and write the body to stdout or a file.
    ///
    /// Exit codes: 3 bad URL, 4 resolution failed, 5 refused or unreachable,
    /// 6 timeout, 7 HTTP error status (nothing written, as curl -f), 8 malformed or truncated response.
    Get {
        /// The http:// URL to fetch; an IPv6 literal goes in brackets, as in `http://[::1]:8080/x`.
        url: String,
        /// Write the body to FILE (through FILE.part, renamed when complete).
        #[arg(short, long, value_name = "FILE")]
        output: Option<std::path::PathBuf>,
        /// Also write the status line and headers before the body (as curl -i).
        #[arg(short, long)]
        include: bool,
        /// Resolution, connect and idle timeout.
        #[arg(long, default_value = "30", value_name = "SECS", value_parser = get::parse_timeout)]
        timeout: std::time::Duration,
    },
    /// Echo every byte back to its sender.
    Echo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7007")]
        listen: String,
        /// Event loops, one thread each, each with its own SO_REUSEPORT listener
        /// on the address (the kernel spreads connections); 1 is a single loop.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
        loops: u16,
    },
    /// A line-based chat room for nc and telnet: nicknames, /who, /nick, /quit.
    Chat {
        /// Address to listen on.
        #[arg(long, default_value = chat::DEFAULT_LISTEN)]
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
    /// An SMTP server for testing code that sends mail (python -m smtpd's successor):
    /// prints each message, or stores it into a Maildir.
    Smtpd(asyncore_cli::smtpd::Options),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    let result: Result<(), AppError> = match cli.app {
        App::Smtpd(options) => asyncore_cli::smtpd::run(&options, cli.backend),
        App::Demo => demo::run(cli.backend),
        App::Get {
            url,
            output,
            include,
            timeout,
        } => get::run(
            &url,
            output.as_deref(),
            &get::GetOptions {
                timeout,
                include_head: include,
                progress: get::stderr_is_terminal(),
                backend: cli.backend,
            },
        ),
        App::Echo { listen, loops } => parse_listen(&listen).and_then(|addr| match loops {
            1 => echo::run(addr, cli.backend),
            n => echo::run_loops(addr, cli.backend, usize::from(n)),
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
            eprintln!("asyncore: {e}");
            ExitCode::from(e.code)
        }
    }
}
