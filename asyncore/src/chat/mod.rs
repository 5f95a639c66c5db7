//! asynchat: terminator-framed channels ([`AsyncChat`]), producers, and
//! bounded buffers.
//!
//! [`AsyncChat`] is a [`Dispatcher`](crate::Dispatcher) around your
//! [`ChatHandler`]. Underneath are pure state machines — terminator framing
//! ([`Parser`]) and the output queue ([`OutQueue`]) — tested against CPython's
//! `asynchat` (see `tests/chat_parser_oracle.rs`).

mod channel;
mod collector;
mod out_queue;
mod parser;
mod producer;

pub use channel::{
    AsyncChat, Chat, ChatHandler, DEFAULT_HIGH_WATER, DEFAULT_IN_BUFFER_SIZE, DEFAULT_LOW_WATER,
};
pub use collector::{Collector, Overflow};
pub use out_queue::{Front, OutQueue, DEFAULT_OUT_BUFFER_SIZE};
pub use parser::{find_prefix_at_end, Event, Parser, Terminator};
pub use producer::{FileProducer, Producer, SimpleProducer, DEFAULT_PRODUCER_BUFFER_SIZE};
