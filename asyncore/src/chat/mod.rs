//! asynchat's machinery, sans I/O: terminator framing ([`Parser`]), the
//! output queue ([`OutQueue`]) and producers.
//!
//! These pieces are pure state machines, tested against CPython's `asynchat`
//! (see `tests/chat_parser_oracle.rs`). The `AsyncChat` channel that drives
//! them from the loop builds on them.

mod out_queue;
mod parser;
mod producer;

pub use out_queue::{Front, OutQueue, DEFAULT_OUT_BUFFER_SIZE};
pub use parser::{find_prefix_at_end, Event, Parser, Terminator};
pub use producer::{FileProducer, Producer, SimpleProducer, DEFAULT_PRODUCER_BUFFER_SIZE};
