//! # asyncore for Rust
//!
//! Python's `asyncore`, rebuilt in Rust: channels ("dispatchers") in a map, a
//! loop that asks each channel `readable()`/`writable()`, waits with select,
//! poll or epoll (chosen at run time), and calls `handle_read`,
//! `handle_write`, `handle_accept`, `handle_connect`, `handle_close`,
//! `handle_expt`, `handle_error`.
//!
//! The loop owns every channel. A channel is your [`Dispatcher`] value plus
//! the loop's state for it; each handler gets a [`Cx`], through which it
//! reaches its socket (`send`, `recv`, `connect`, `close` ...), its flags, and
//! the loop (add channels, reach other channels, stop).
//!
//! ## The HTTP client from asyncore's documentation
//!
//! The example from the original asyncore documentation, nearly line for line:
//!
//! ```
//! use asyncore_loop::{Cx, Dispatcher, EventLoop, View, AF_INET, SOCK_STREAM};
//! use std::io::{self, Write};
//!
//! struct HttpClient {
//!     buffer: Vec<u8>,
//! }
//!
//! impl HttpClient {
//!     fn start(ev: &mut EventLoop, host: &str, port: u16, path: &str) -> io::Result<()> {
//!         let this = HttpClient { buffer: format!("GET {path} HTTP/1.0\r\n\r\n").into_bytes() };
//!         let mut cx = ev.add(this);
//!         cx.create_socket(AF_INET, SOCK_STREAM)?;
//!         cx.connect((host, port))
//!     }
//! }
//!
//! impl Dispatcher for HttpClient {
//!     fn handle_connect(&mut self, _cx: &mut Cx<'_>) -> io::Result<()> {
//!         Ok(())
//!     }
//!     fn handle_close(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
//!         cx.close()
//!     }
//!     fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
//!         io::stdout().write_all(&cx.recv(8192)?)
//!     }
//!     fn writable(&self, _ch: &View<'_>) -> bool {
//!         !self.buffer.is_empty()
//!     }
//!     fn handle_write(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
//!         let sent = cx.send(&self.buffer)?;
//!         self.buffer.drain(..sent);
//!         Ok(())
//!     }
//! }
//!
//! # let server = std::net::TcpListener::bind("127.0.0.1:0")?;
//! # let port = server.local_addr()?.port();
//! # std::thread::spawn(move || {
//! #     use std::io::{Read, Write};
//! #     let (mut s, _) = server.accept().unwrap();
//! #     let mut req = [0u8; 1024];
//! #     let _ = s.read(&mut req);
//! #     let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\nhello");
//! # });
//! let mut ev = EventLoop::new();
//! HttpClient::start(&mut ev, "127.0.0.1", port, "/")?;
//! ev.run()?; // returns when the server closes the connection
//! # Ok::<(), io::Error>(())
//! ```
//!
//! ## asyncore names in Rust
//!
//! | asyncore | asyncore for Rust |
//! |---|---|
//! | `asyncore.dispatcher` (subclass) | a type implementing [`Dispatcher`] |
//! | `dispatcher.__init__(sock, map)` | [`EventLoop::add`]`(d)` then [`Cx::adopt`]`(sock)` |
//! | `readable()`, `writable()` | [`Dispatcher::readable`], [`Dispatcher::writable`] |
//! | `handle_read/write/expt/connect/accept/close()` | [`Dispatcher`] methods of the same names |
//! | `handle_accepted(sock, addr)` | [`Dispatcher::handle_accepted`] |
//! | `handle_error()` | [`Dispatcher::handle_error`]`(cx, err)` |
//! | `handle_read_event()` ... `handle_connect_event()` | [`Dispatcher`] methods of the same names |
//! | `create_socket(family, type)` | [`Cx::create_socket`] with [`AF_INET`], [`SOCK_STREAM`] ... |
//! | `set_socket(sock)` | [`Cx::set_socket`] |
//! | `set_reuse_addr()`, `bind`, `listen`, `connect`, `accept` | [`Cx`] methods of the same names |
//! | `send(data)`, `recv(n)`, `close()` | [`Cx::send`], [`Cx::recv`] (and [`Cx::recv_into`]), [`Cx::close`] |
//! | `connected`, `accepting`, `connecting`, `closing`, `addr`, `debug` | [`Cx`] methods of the same names |
//! | `socket` | [`Cx::socket`] |
//! | `log(msg)`, `log_info(msg, type)`, `ignore_log_types` | [`Cx::log`], [`Cx::log_info`], [`Cx::set_ignore_log_types`]; sinks: [`LogSink`] |
//! | `loop(timeout, use_poll, map, count)` | [`EventLoop::loop_`], [`EventLoop::run_loop`], [`EventLoop::run`]; default map: [`loop_`], [`run`] |
//! | `poll(timeout, map)`, `poll2`/`poll3` | [`EventLoop::poll`] with [`Backend`]; default map: [`poll`], [`poll2`] |
//! | `read(obj)`, `write(obj)`, `_exception(obj)`, `readwrite(obj, flags)` | [`EventLoop::read`], [`EventLoop::write`], [`EventLoop::expt`], [`EventLoop::readwrite`] |
//! | `close_all(map, ignore_all)` | [`EventLoop::close_all`], [`close_all`] |
//! | `socket_map` | [`with_default_loop`] (one per thread) |
//! | `ExitNow` | [`ExitNow`] |
//! | `dispatcher_with_send` | embed a [`SendBuffer`] |
//! | `file_wrapper`, `file_dispatcher(fd)` | [`FileWrapper`], [`Cx::set_file`] |
//! | `_strerror(errno)` | [`strerror`] |
//! | `compact_traceback()` | no counterpart: [`Dispatcher::handle_error`] receives the error |
//! | `asynchat.async_chat` machinery | [`chat`] |
//! | (none: one map, one thread) — one loop per core over `SO_REUSEPORT` | [`LoopGroup`], [`ReusePortAddr`], [`reuse_port_listener`] ([`per_core`]) |
//!
//! ## Differences from asyncore, on purpose
//!
//! No user handler is ever called from inside a `Cx` method: where asyncore's
//! `send`/`recv` called `handle_close` on the spot, the loop calls it right
//! after the handler returns, and an immediate connect is completed on the next
//! readiness like any other. `handle_close` is delivered at most once per
//! channel. Readiness reports are matched to channels by [`Token`] (slot and
//! generation), never by descriptor number. `WouldBlock` returned by a handler
//! is not an error. The full list is in
//! [ARCHITECTURE.md](https://github.com/asyncore-rs/asyncore/blob/main/ARCHITECTURE.md).
//!
//! Beyond asyncore — timers, a cross-thread [`Remote`], signals, deadlines,
//! graceful shutdown, panic isolation, EMFILE handling, connection caps — see
//! the [`guide`]. More cores: one loop per thread, see [`per_core`].
//!
//! ## Which channels are asked for their interest
//!
//! On [`Backend::Select`] and [`Backend::Poll`] every pass asks every channel
//! (asyncore's behaviour). On [`Backend::Epoll`] a pass asks only the channels
//! that ran a handler in the previous pass, were added, were reached through
//! [`EventLoop::channel`]/[`EventLoop::with`]/[`Cx::with`], or were marked with
//! [`Cx::touch`]: make `readable()`/`writable()` depend on the channel's own
//! state, or touch the channel when something else changes it.
//!
//! ## Platforms
//!
//! Linux only: the loop waits with `epoll(7)` (or `select(2)`/`poll(2)`),
//! wakes itself with `eventfd(2)`, and pins threads with
//! `sched_setaffinity(2)`. Any Linux target Rust's standard library supports
//! (glibc or musl, any architecture; kernel 3.9 or later for
//! `SO_REUSEPORT`); tested on `x86_64-unknown-linux-gnu`. On every other
//! target the crate stops the build with one `compile_error!`. Minimum Rust:
//! 1.88.
//!
//! ## Logging
//!
//! The loop reports its own state changes through the [`log`](https://docs.rs/log)
//! crate, under targets starting `asyncore_loop`: channels added, connected, accepted and
//! closed (with the reason) and descriptor exhaustion at `debug`; interest
//! changes and timers at `trace`. Nothing is logged per byte. asyncore's own
//! `log`/`log_info` lines, the default `handle_error`'s line among them, go
//! to a [`LogSink`], by default the same crate under the target `asyncore`.
//! Any `log` logger shows both (`env_logger` with
//! `RUST_LOG=asyncore=info,asyncore_loop=debug`).

#![deny(missing_docs, rust_2018_idioms, unsafe_op_in_unsafe_fn)]
#![warn(missing_debug_implementations, unreachable_pub)]

// The crate supports Linux only (epoll, eventfd, sched_setaffinity).
// Elsewhere the crate is one `compile_error!` and nothing else, so the user
// sees one clear message instead of a wall of missing libc symbols. The cfg
// `asyncore_loop_unsupported` pretends to be such a target
// (.ci/unsupported-platform-check).
#[cfg(any(not(target_os = "linux"), asyncore_loop_unsupported))]
compile_error!(
    "asyncore-loop supports Linux only: it waits with epoll(7) and wakes the loop with \
     eventfd(2). See https://docs.rs/asyncore-loop#platforms"
);

/// Every item of the crate, on the supported platforms only.
macro_rules! linux_only {
    ($($item:item)*) => {
        $(
            #[cfg(all(target_os = "linux", not(asyncore_loop_unsupported)))]
            $item
        )*
    };
}

linux_only! {
    mod channel;
    mod close_reason;
    pub mod chat;
    mod clock;
    mod core;
    mod cx;
    mod deadline;
    mod default_loop;
    mod deliver;
    mod dispatcher;
    mod error;
    mod event_loop;
    mod file;
    pub mod guide;
    mod handler_name;
    mod log;
    mod map;
    mod net;
    mod pass;
    pub mod per_core;
    pub mod raw_selector;
    mod remote;
    mod send_buffer;
    mod signals;
    mod scratch;
    #[cfg(feature = "sim")]
    pub mod sim;
    mod slab;
    mod stored;
    mod sys;
    mod timer;
    #[cfg(feature = "tls")]
    pub mod tls;
    mod token;
    mod transport;
    mod view;

    pub use cx::Cx;
    pub use deadline::Deadline;
    /// The old name of [`Deadline`].
    #[deprecated(
        since = "0.1.0",
        note = "renamed `Deadline` (`timeout` is the wait of a pass)"
    )]
    pub type Timeout = Deadline;
    pub use default_loop::{close_all, loop_, poll, poll2, run, with_default_loop};
    pub use dispatcher::Dispatcher;
    pub use error::ExitNow;
    pub use event_loop::{timeout_from_secs, EventLoop, DEFAULT_TIMEOUT};
    pub use file::FileWrapper;
    pub use log::{CaptureLog, FacadeLog, LogSink, StdioLog};
    pub use net::{
        is_disconnected, strerror, ToSockAddr, AF_INET, AF_INET6, AF_UNIX, DISCONNECTED, SOCK_DGRAM,
        SOCK_STREAM,
    };
    pub use per_core::{reuse_port_listener, LoopGroup, LoopGroupBuilder, Pinning, ReusePortAddr};
    pub use remote::Remote;
    pub use send_buffer::SendBuffer;
    // socket2's types are part of this crate's API (`Cx::socket`, `Cx::adopt`,
    // `Cx::create_socket`, `reuse_port_listener` take or return them): a new
    // major version of socket2 is a breaking change of this crate.
    /// A socket address of any family (socket2 0.6, re-exported), as
    /// [`Cx::addr`] and [`Cx::accept`] report them.
    pub use socket2::SockAddr;
    /// The OS socket a channel owns (socket2 0.6, re-exported): reach it with
    /// [`Cx::socket`] for options this crate does not wrap; hand one to the
    /// loop with [`Cx::adopt`].
    pub use socket2::Socket;
    /// A socket's address family (socket2 0.6, re-exported); [`AF_INET`] and
    /// the other constants are values of it.
    pub use socket2::Domain;
    /// A socket's type (socket2 0.6, re-exported); [`SOCK_STREAM`] and
    /// [`SOCK_DGRAM`] are values of it.
    pub use socket2::Type;
    pub use sys::{Backend, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI};
    pub use timer::TimerId;
    pub use token::Token;
    pub use view::View;
}

/// Semver hygiene, checked as doctests (compiled as a user's crate would
/// be): a later version may add variants to these enums, so a `match`
/// without a `_` arm must not compile, and `Overflow` is not built by users.
///
/// ```compile_fail,E0004
/// use asyncore_loop::Backend;
/// fn f(b: Backend) -> u8 { match b { Backend::Select => 0, Backend::Poll => 1, Backend::Epoll => 2 } }
/// ```
///
/// ```compile_fail,E0004
/// use asyncore_loop::Deadline;
/// fn f(d: Deadline) -> u8 { match d { Deadline::Idle => 0, Deadline::Read => 1, Deadline::Write => 2 } }
/// ```
///
/// ```compile_fail,E0004
/// use asyncore_loop::Pinning;
/// fn f(p: Pinning) -> u8 { match p { Pinning::Off => 0, Pinning::Spread => 1, Pinning::Cpus(_) => 2 } }
/// ```
///
/// ```compile_fail,E0004
/// use asyncore_loop::chat::Event;
/// fn f(e: Event<'_>) -> u8 { match e { Event::Data(_) => 0, Event::Terminator => 1 } }
/// ```
///
/// ```compile_fail,E0004
/// use asyncore_loop::chat::Front;
/// fn f(e: Front<'_>) -> u8 { match e { Front::Data(_) => 0, Front::Close => 1, Front::Empty => 2 } }
/// ```
///
/// ```compile_fail,E0004
/// use asyncore_loop::chat::Terminator;
/// fn f(t: Terminator) -> u8 { match t { Terminator::None => 0, Terminator::Count(_) => 1, Terminator::Delimiter(_) => 2 } }
/// ```
///
/// ```compile_fail,E0639
/// let _ = asyncore_loop::chat::Overflow { max: 1, total: 2 };
/// ```
///
/// The list of backends is a slice, so it can grow:
///
/// ```
/// let all: &'static [asyncore_loop::Backend] = asyncore_loop::Backend::ALL;
/// assert!(all.contains(&asyncore_loop::Backend::Epoll));
/// ```
#[cfg(doctest)]
struct SemverDoctests;

// The README's examples compile and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
