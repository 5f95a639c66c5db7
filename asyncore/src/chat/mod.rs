//! asynchat: terminator-framed channels ([`AsyncChat`]), producers, and
//! bounded buffers.
//!
//! [`AsyncChat`] is a [`Dispatcher`](crate::Dispatcher) around your
//! [`ChatHandler`]. Underneath are pure state machines — terminator framing
//! ([`Parser`]) and the output queue ([`OutQueue`]) — tested against CPython's
//! `asynchat` (see `tests/chat_parser_oracle.rs`).
//!
//! Beyond asynchat: [`Collector`] bounds a record's size with a policy of the
//! handler's choosing (reply-and-discard, or error-and-close), output
//! back-pressure stops reading while too much output is queued
//! ([`AsyncChat::with_water_marks`]), and a hard output limit turns runaway
//! pushes into an error the handler sees ([`AsyncChat::with_out_limit`]).
//! A record that arrived whole can be read in place, without collecting it
//! first ([`ChatHandler::found_record`]); the records that arrived with it
//! can be taken without a hook call each ([`Chat::next_record`]), or all
//! at once ([`ChatHandler::found_records`]): as received, for a relay or an
//! echo, or one by one ([`Records::iter`]).
//!
//! # A complete line-echo server
//!
//! Each CRLF-terminated line comes back with CRLF; a line over 1 KiB gets an
//! error line and is discarded, and the connection goes on.
//!
//! ```
//! use asyncore_loop::chat::{AsyncChat, Chat, ChatHandler, Collector};
//! use asyncore_loop::{Cx, Dispatcher, EventLoop, SockAddr, Socket, AF_INET, SOCK_STREAM};
//! use std::io::{self, BufRead, BufReader, Write};
//!
//! struct LineEcho {
//!     line: Collector,
//! }
//!
//! impl ChatHandler for LineEcho {
//!     fn collect_incoming_data(&mut self, _chat: &mut Chat<'_, '_>, data: &[u8]) -> io::Result<()> {
//!         self.line.collect(data);
//!         Ok(())
//!     }
//!     fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
//!         // `finish` lends the line: nothing is allocated per line.
//!         match self.line.finish() {
//!             Ok(line) => {
//!                 chat.push(line)?;
//!                 chat.push("\r\n")
//!             }
//!             Err(too_long) => chat.push(format!("-ERR {too_long}\r\n")),
//!         }
//!     }
//! }
//!
//! struct Server;
//! impl Dispatcher for Server {
//!     fn handle_accepted(&mut self, cx: &mut Cx<'_>, sock: Socket, _: SockAddr) -> io::Result<()> {
//!         let chan = AsyncChat::new(LineEcho { line: Collector::new(1024) }).with_terminator("\r\n");
//!         cx.add(chan).adopt(sock)?;
//!         Ok(())
//!     }
//! }
//!
//! let mut ev = EventLoop::new();
//! let mut server = ev.add(Server);
//! server.create_socket(AF_INET, SOCK_STREAM)?;
//! server.set_reuse_addr();
//! server.bind("127.0.0.1:0")?;
//! server.listen(5)?;
//! let addr = server.socket()?.local_addr()?.as_socket().unwrap();
//!
//! // A plain blocking client on another thread; the loop stops when it is done.
//! let remote = ev.remote()?;
//! let client = std::thread::spawn(move || -> io::Result<Vec<String>> {
//!     let mut s = std::net::TcpStream::connect(addr)?;
//!     s.write_all(b"hello\r\n")?;
//!     s.write_all(&[b'x'; 2000])?;
//!     s.write_all(b"\r\nworld\r\n")?;
//!     let lines = BufReader::new(s).lines().take(3).collect::<io::Result<Vec<_>>>()?;
//!     remote.stop()?;
//!     Ok(lines)
//! });
//! ev.run()?;
//! let lines = client.join().unwrap()?;
//! assert_eq!(lines[0], "hello");
//! assert!(lines[1].starts_with("-ERR record of 2000 bytes"));
//! assert_eq!(lines[2], "world");
//! # Ok::<(), io::Error>(())
//! ```

mod async_chat;
mod buffers;
mod chat_handle;
mod collector;
mod delimiter_search;
mod file_region;
mod handler;
mod out_queue;
mod parser;
mod producer;
mod record;
#[cfg(feature = "tls")]
mod starttls;
mod terminator;

pub use async_chat::AsyncChat;
pub use buffers::{DEFAULT_HIGH_WATER, DEFAULT_IN_BUFFER_SIZE, DEFAULT_LOW_WATER};
pub use chat_handle::Chat;
pub use collector::{Collector, Overflow};
pub use delimiter_search::find_prefix_at_end;
pub use file_region::FileRegion;
pub use handler::ChatHandler;
pub use out_queue::{
    Front, OutQueue, PushData, DEFAULT_OUT_BUFFER_SIZE, SENDFILE_MAX_CHUNK, SPARE_CAPACITY,
};
pub use parser::{Event, Parser};
pub(crate) use parser::{Framing, Span};
pub use producer::{FileProducer, Producer, SimpleProducer, DEFAULT_PRODUCER_BUFFER_SIZE};
pub use record::{Record, Records, RecordsIter};
pub use terminator::Terminator;
