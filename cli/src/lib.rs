//! The `asyncore` command's apps, each callable as a library function so
//! tests can start them in-process: [`demo`], [`get`], [`echo`], [`chat`],
//! [`smtpd`].

#![deny(missing_docs, rust_2018_idioms)]
#![warn(missing_debug_implementations, unreachable_pub)]

pub mod chat;
mod common;
pub mod demo;
pub mod echo;
pub mod get;
pub mod smtpd;

pub use common::{
    init_logging, listen, parse_backend, parse_listen, shutdown_on_signals, tls_server_config,
    AppError,
};
