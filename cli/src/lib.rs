//! The `asyncore` command's apps, each callable as a library function so
//! tests can start them in-process: [`demo`], [`get`], [`echo`], [`chat`], [`http`],
//! [`smtpd`].

#![deny(missing_docs, rust_2018_idioms)]
#![warn(missing_debug_implementations, unreachable_pub)]

pub mod chat;
mod common;
pub mod demo;
pub mod echo;
#[doc(hidden)]
pub mod fuzzing;
pub mod get;
pub mod http;
mod listen_addr;
pub mod smtpd;
mod spawned;

pub use common::{
    backend_parser, init_logging, listen, listen_capped, parse_backend, say, shutdown_on_signals,
    shutdown_on_signals_within, tls_server_config, AppError,
};
pub use listen_addr::{parse_listen, LISTEN_HELP};

// The Rust examples of this package's README and of the workspace README
// compile as doctests (the workspace README is not part of the package:
// only doctest builds read it).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct WorkspaceReadmeDoctests;
