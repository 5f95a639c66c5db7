//! The soak harness: the real `asyncore` binary under hostile load for a
//! bounded time, then a check that nothing was lost and that its
//! descriptors and memory came back.
//!
//! ```text
//! soak echo  --secs 60 --conns 2000 --seed 1
//! soak chat  --secs 60 --conns 200
//! soak smtpd --secs 60 --conns 100
//! soak all --short            # the seeded CI version: a few seconds per app
//! ```
//!
//! * `echo`: connections echo random sizes (1 B to 256 KiB); a fraction reset
//!   at random (SO_LINGER 0) and reconnect, others stop reading for a while;
//!   every connection that stays gets back exactly what it sent, and ends
//!   with a half-close whose echo must be complete.
//! * `chat`: normal members each say numbered lines that every other normal
//!   member must receive, in order, while hostile clients send garbage, NUL,
//!   invalid UTF-8, endless lines, never read, and reset mid-line.
//! * `smtpd`: Python `smtplib` senders deliver numbered messages to a
//!   Maildir while hostile sessions die mid-DATA (reset or FIN), send
//!   garbage and endless lines, and never read; afterwards every accepted
//!   message is in `new/` exactly once and nothing of a dead session is.
//!
//! Each app reports one JSON line; the process exits non-zero if anything
//! was lost, or descriptors or memory did not return to their baseline.

mod chat;
mod echo;
mod hostile;
mod server;
mod smtpd;

use clap::{Parser, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum App {
    Echo,
    Chat,
    Smtpd,
    All,
}

#[derive(Debug, Parser)]
#[command(name = "soak", about = "asyncore soak harness")]
struct Args {
    /// echo, chat, smtpd or all.
    #[arg(value_enum)]
    app: App,
    /// How long the load runs, per app.
    #[arg(long, default_value_t = 30)]
    secs: u64,
    /// Concurrent connections (echo); normal + hostile clients (chat, smtpd).
    #[arg(long)]
    conns: Option<usize>,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The seeded CI version: a few seconds and a few hundred connections per app.
    #[arg(long)]
    short: bool,
    /// The `asyncore` binary (default: next to this one).
    #[arg(long)]
    bin: Option<PathBuf>,
    /// The readiness backend the server uses.
    #[arg(long, default_value = "epoll")]
    backend: String,
}

/// What one app's run settles on.
pub struct Plan {
    pub secs: u64,
    pub conns: usize,
    pub seed: u64,
    pub bin: PathBuf,
    pub backend: String,
}

impl Plan {
    pub fn duration(&self) -> Duration {
        Duration::from_secs(self.secs)
    }
}

fn main() -> ExitCode {
    asyncore_bench::net::raise_nofile();
    let args = Args::parse();
    let bin = args.bin.clone().unwrap_or_else(|| {
        let me = std::env::current_exe().expect("the soak binary's path");
        me.with_file_name("asyncore")
    });
    if !bin.exists() {
        eprintln!(
            "soak: {} not found: build it first (cargo build --release --bin asyncore) or pass --bin",
            bin.display()
        );
        return ExitCode::from(2);
    }
    let plan = |default_conns: usize, short_conns: usize| Plan {
        secs: if args.short { 4 } else { args.secs },
        conns: args.conns.unwrap_or(if args.short {
            short_conns
        } else {
            default_conns
        }),
        seed: args.seed,
        bin: bin.clone(),
        backend: args.backend.clone(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut ok = true;
    if matches!(args.app, App::Echo | App::All) {
        ok &= rt.block_on(echo::run(plan(2000, 300)));
    }
    if matches!(args.app, App::Chat | App::All) {
        ok &= rt.block_on(chat::run(plan(200, 40)));
    }
    if matches!(args.app, App::Smtpd | App::All) {
        ok &= rt.block_on(smtpd::run(plan(100, 24)));
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// xorshift64*: every random choice, from the seed.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// Percent chance.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// A size from 1 to `max`, log-uniform (many small, some large).
    pub fn size(&mut self, max: usize) -> usize {
        let bits = 64 - (max as u64).leading_zeros() as u64;
        let b = self.below(bits) + 1;
        (1 + self.below(1u64 << b) as usize).min(max)
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}
