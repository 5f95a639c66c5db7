//! The `asyncore` command. `asyncore --help` lists the apps.

use asyncore::Backend;
use asyncore_cli::{demo, echo, init_logging, parse_backend, parse_listen, AppError};
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
    /// Serve HTTP on 127.0.0.1 and fetch a page from it with the seed's client, in one loop.
    Demo,
    /// Echo every byte back to its sender.
    Echo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7007")]
        listen: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    let result: Result<(), AppError> = match cli.app {
        App::Demo => demo::run(cli.backend),
        App::Echo { listen } => parse_listen(&listen).and_then(|addr| echo::run(addr, cli.backend)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("asyncore: {e}");
            ExitCode::from(e.code)
        }
    }
}
