//! `asyncore get`'s command line.

use super::{output, parse_header, parse_timeout, stderr_is_terminal, GetOptions, Method, Output};
use crate::AppError;
use asyncore_loop::Backend;
use std::path::PathBuf;
use std::time::Duration;

/// The exit codes, shown at the end of `asyncore get --help`.
const EXIT_CODES: &str = "\
Exit codes:
  0    the whole body was received and written
  1    cannot write the output file or stdout
  2    bad arguments (also -o DIR/ for a URL without a file name)
  3    bad URL, or not http:// or https:// (also as a redirect's target)
  4    the host name does not resolve
  5    connection refused or unreachable, or a TLS failure
  6    timeout: resolution, connect or idle (--timeout), or the whole transfer (--max-time)
  7    HTTP status 400 or more (nothing is written, as curl -f)
  8    malformed or truncated response (also a transfer coding other than chunked, or an unasked
       101; https: a body ended by the close without TLS close_notify)
  9    a redirect without -L (its Location is shown), or more than --max-redirs
  10   https: the server's certificate does not verify (unknown CA, wrong name, expired)
  141  stdout was closed by its reader (| head): the transfer stops quietly";

/// Fetch an http:// or https:// URL (GET or HEAD, HTTP/1.1) and write the body to stdout or a file.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct GetArgs {
    /// The http:// or https:// URL to fetch; an IPv6 literal goes in brackets, as in `http://[::1]:8080/x`.
    pub url: String,
    /// Write the body to FILE (through FILE.part, renamed when complete; a device such as
    /// /dev/null, or a FIFO, is written in place); `-` is stdout; DIR/ saves under the URL's
    /// file name.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the status line and headers before the body, interim (1xx) heads included (as
    /// curl -i).
    #[arg(short, long)]
    pub include: bool,
    /// Send HEAD and write the status line and headers only.
    #[arg(short = 'I', long)]
    pub head: bool,
    /// Follow redirects (301, 302, 303, 307, 308; the method is kept: GET stays GET, HEAD stays HEAD).
    #[arg(short = 'L', long)]
    pub location: bool,
    /// The most redirects -L follows.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub max_redirs: u32,
    /// A request header, "Name: value" (repeatable); replaces a default header of that
    /// name, and "Name:" removes it.
    #[arg(short = 'H', long = "header", value_name = "HEADER", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// The User-Agent header.
    #[arg(short = 'A', long, value_name = "NAME")]
    pub user_agent: Option<String>,
    /// Resolution, connect and idle timeout.
    #[arg(long, default_value = "30", value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// A limit on the whole transfer, redirects included.
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    pub max_time: Option<Duration>,
    /// No progress bar and no summary line (errors are still reported).
    #[arg(short, long)]
    pub silent: bool,
    /// https: trust only the CA certificates in this PEM file (instead of the built-in roots).
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// https: do not verify the server's certificate (testing only).
    #[arg(long)]
    pub insecure: bool,
}

impl GetArgs {
    /// The options these arguments mean (`-A` goes before the `-H` fields,
    /// so a `-H "User-Agent: ..."` wins, as in curl).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_cli::get::{GetArgs, Method};
    /// use clap::Parser;
    /// #[derive(Parser)]
    /// struct Cli { #[command(flatten)] get: GetArgs }
    /// let cli = Cli::parse_from(["get", "-I", "-L", "-A", "probe", "-H", "X-A: 1", "http://h/"]);
    /// let opts = cli.get.options(asyncore_loop::Backend::Poll);
    /// assert_eq!(opts.method, Method::Head);
    /// assert!(opts.follow);
    /// assert_eq!(opts.headers[0], ("User-Agent".to_string(), "probe".to_string()));
    /// ```
    pub fn options(&self, backend: Backend) -> GetOptions {
        let mut headers = Vec::new();
        if let Some(agent) = &self.user_agent {
            headers.push(("User-Agent".to_string(), agent.clone()));
        }
        headers.extend(self.headers.iter().cloned());
        GetOptions {
            method: if self.head { Method::Head } else { Method::Get },
            headers,
            follow: self.location,
            max_redirects: self.max_redirs,
            timeout: self.timeout,
            max_time: self.max_time,
            include_head: self.include,
            progress: !self.silent && stderr_is_terminal(),
            summary: !self.silent,
            backend,
            cacert: self.cacert.clone(),
            insecure: self.insecure,
        }
    }

    /// Runs `asyncore get` with these arguments.
    pub fn run(&self, backend: Backend) -> Result<(), AppError> {
        let out = Output::from_arg(self.output.as_deref());
        output::run(&self.url, &out, &self.options(backend))
    }
}
