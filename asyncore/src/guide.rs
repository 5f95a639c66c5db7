//! # The guide: what the loop does beyond asyncore
//!
//! asyncore users rebuilt these by hand for 25 years (pyftpdlib's call-later
//! heap, waitress's trigger pipe, Supervisor's idle reaping ...). Here they are
//! part of the loop and behave the same on every backend.
//!
//! ## The loop's rule
//!
//! [`EventLoop::run`] runs while the map holds channels **or timers are
//! armed**. A [`Remote`] does not keep it alive by itself; a repeating timer
//! does (until cancelled). A graceful shutdown ends the loop even if timers
//! remain.
//!
//! ## Timers
//!
//! [`EventLoop::call_later`]/[`call_every`](EventLoop::call_every) run a
//! closure on the loop thread; [`Cx::call_later`]/[`Cx::call_every`] do the
//! same for a timer owned by a channel (cancelled when it closes), and
//! [`Cx::start_timer`] calls [`Dispatcher::handle_timer`] instead. A timer
//! never fires early; cancel and reset are O(log n) and memory stays flat
//! however often timers are re-armed.
//!
//! ```
//! use asyncore_loop::EventLoop;
//! use std::time::{Duration, Instant};
//!
//! let mut ev = EventLoop::with_state(Vec::new());
//! let start = Instant::now();
//! let tick = ev.call_every(Duration::from_millis(5), |cx| { cx.state().push("tick"); Ok(()) });
//! ev.call_later(Duration::from_millis(20), move |cx| {
//!     cx.cancel_timer(tick); // without this, the loop would run forever
//!     cx.state().push("later");
//!     Ok(())
//! });
//! ev.run()?;
//! assert!(start.elapsed() >= Duration::from_millis(20));
//! // Due timers run in deadline order; a late loop skips missed ticks
//! // rather than bunching them, so the count depends on how busy the machine is.
//! let ticks = ev.state().iter().filter(|s| **s == "tick").count();
//! assert!((1..=4).contains(&ticks));
//! assert_eq!(ev.state().last(), Some(&"later"));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## Other threads: `Remote`
//!
//! [`EventLoop::remote`] gives a `Send + Sync + Clone` handle: `post` a
//! closure to run on the loop thread, `wake`, `stop`, or `shutdown`. Wake-ups
//! coalesce and are never lost (an eventfd).
//!
//! ```
//! use asyncore_loop::EventLoop;
//! use std::time::Duration;
//!
//! let mut ev = EventLoop::with_state(0u64);
//! let remote = ev.remote()?;
//! let keepalive = ev.call_every(Duration::from_secs(60), |_| Ok(()));
//! let workers: Vec<_> = (0..4)
//!     .map(|_| {
//!         let r = remote.clone();
//!         std::thread::spawn(move || for _ in 0..100 { r.post(|cx| { *cx.state() += 1; Ok(()) }).unwrap(); })
//!     })
//!     .collect();
//! let stopper = std::thread::spawn(move || {
//!     for w in workers { w.join().unwrap(); }
//!     remote.post(move |cx| { cx.cancel_timer(keepalive); Ok(()) }).unwrap();
//! });
//! ev.run()?;
//! stopper.join().unwrap();
//! assert_eq!(*ev.state(), 400);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## Signals
//!
//! [`EventLoop::on_signal`] runs a callback on the loop thread when a signal
//! arrives (the signal handler itself only writes to a pipe the loop watches).
//! The usual use: SIGTERM starts a graceful shutdown.
//!
//! ```no_run
//! use std::time::Duration;
//! let mut ev = asyncore_loop::EventLoop::new();
//! ev.on_signal(libc::SIGTERM, |cx| { cx.shutdown(Duration::from_secs(10)); Ok(()) })?;
//! ev.on_signal(libc::SIGHUP, |cx| { cx.log_info("reloading", "info"); Ok(()) })?;
//! ev.run()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## Deadlines per channel
//!
//! [`Cx::set_timeout`] declares an idle, read-stall or write-stall timeout,
//! like libevent's bufferevent timeouts. When one passes the loop calls
//! [`Dispatcher::handle_timeout`] (default: an `info` log line and `close`).
//!
//! ```
//! use asyncore_loop::{Cx, Dispatcher, EventLoop, Deadline, View};
//! use std::time::Duration;
//!
//! struct Client;
//! impl Dispatcher for Client {
//!     fn writable(&self, _: &View<'_>) -> bool { false }
//!     fn handle_read(&mut self, cx: &mut Cx<'_>) -> std::io::Result<()> { cx.recv(4096).map(drop) }
//! }
//! let (a, _silent_peer) = std::os::unix::net::UnixStream::pair()?;
//! let mut ev = EventLoop::new();
//! let mut cx = ev.add(Client);
//! cx.adopt(a.into())?;
//! cx.set_timeout(Deadline::Idle, Some(Duration::from_millis(10)));
//! ev.run()?; // the silent peer gets the channel closed after 10 ms
//! assert!(ev.is_empty());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## Graceful shutdown
//!
//! [`EventLoop::shutdown`] (or [`Cx::shutdown`], [`Remote::shutdown`]) closes
//! listeners, gives every other channel [`Dispatcher::handle_shutdown`]
//! (default: close; an [`AsyncChat`](crate::chat::AsyncChat) closes once its
//! queued output is sent), and closes whatever remains at the deadline.
//! [`EventLoop::close_all`] stays the abrupt form.
//!
//! ```
//! # use asyncore_loop::{Dispatcher, EventLoop}; struct Idle; impl Dispatcher for Idle {}
//! use std::time::Duration;
//! let mut ev = EventLoop::new();
//! ev.add(Idle).create_socket(asyncore_loop::AF_INET, asyncore_loop::SOCK_DGRAM)?;
//! ev.shutdown(Duration::from_secs(5))?;
//! assert!(ev.is_empty());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## Panics
//!
//! A panic in a handler is caught: the channel's `handle_error` gets an error
//! saying so, the channel is closed, and the loop and the other channels go
//! on. [`EventLoop::set_catch_panics`]`(false)` lets panics unwind out of the
//! loop instead. With `panic = "abort"` in the build profile nothing can be
//! caught: the first panic ends the process.
//!
//! ```
//! use asyncore_loop::{Cx, Dispatcher, EventLoop};
//! struct Buggy;
//! impl Dispatcher for Buggy {
//!     fn handle_write(&mut self, _: &mut Cx<'_>) -> std::io::Result<()> { panic!("bug") }
//! }
//! let mut ev = EventLoop::new();
//! ev.add(Buggy).create_socket(asyncore_loop::AF_INET, asyncore_loop::SOCK_DGRAM)?;
//! ev.run()?; // the panic closed the channel; the loop returned normally
//! assert!(ev.is_empty());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## Running out of descriptors
//!
//! On EMFILE/ENFILE the listener survives: the loop frees a spare descriptor
//! to accept and close the waiting connections (so their peers are told),
//! backs off (10 ms doubling to 1 s, ended early as soon as any channel
//! closes) and logs one warning per episode. See [`Cx::accept`].
//!
//! ## Connection caps
//!
//! [`Cx::set_max_connections`] caps a listener's open connections and
//! [`EventLoop::set_max_channels`] the whole map. Past the cap the default
//! `handle_accept` hands the newcomer to [`Dispatcher::handle_refused`], which
//! can answer politely before closing:
//!
//! ```
//! use asyncore_loop::{Cx, Dispatcher, SockAddr, Socket};
//! use std::io::{self, Write};
//!
//! struct Smtp;
//! impl Dispatcher for Smtp {
//!     fn handle_refused(&mut self, _cx: &mut Cx<'_>, sock: Socket, _: SockAddr) -> io::Result<()> {
//!         let _ = (&sock).write_all(b"421 Too many connections, try later\r\n");
//!         Ok(())
//!     }
//! }
//! ```
//!
//! ## asynchat: a complete line-echo server
//!
//! See the [`chat`](crate::chat) module.

#[allow(unused_imports)]
use crate::{Cx, Dispatcher, EventLoop, Remote};
