//! One event loop per core: a [`LoopGroup`] of threads, each running its own
//! [`EventLoop`](crate::EventLoop), each loop owning its own listener on one shared address
//! (`SO_REUSEPORT`), so that the kernel spreads new connections over the
//! loops.
//!
//! An [`EventLoop`](crate::EventLoop) is not `Send`, by design: its channels, handlers and
//! shared state live on one thread, with no locks. To use more cores, run
//! more loops — one per thread — and give each its own listening socket.
//! With `SO_REUSEPORT` set on every one of them, several sockets may bind the
//! same address, and Linux hands each incoming connection to one of them (by
//! a hash of the connection's addresses and ports). A connection then lives
//! and dies in the loop that accepted it; loops share nothing but what the
//! program gives them.
//!
//! * [`reuse_port_listener`]: one non-blocking listening TCP socket with
//!   `SO_REUSEADDR` and `SO_REUSEPORT`.
//! * [`ReusePortAddr`]: an address that several loops listen on; the first
//!   listener resolves port 0, the others bind the port it got.
//! * [`LoopGroup`] (built with [`LoopGroup::builder`]): spawns the threads, has
//!   each build its loop with your setup closure, optionally pins them to
//!   CPUs ([`Pinning`]), and gives back each loop's [`Remote`](crate::Remote), a group-wide
//!   [`shutdown`](LoopGroup::shutdown) and a [`join`](LoopGroup::join) that
//!   collects every loop's result (a failed setup or a panic is an error, not
//!   a panic of the caller).
//!
//! # Examples
//!
//! An echo server on two loops:
//!
//! ```
//! use asyncore_loop::{Cx, Dispatcher, LoopGroup, ReusePortAddr, SendBuffer, SockAddr, Socket, View};
//! use std::io::{self, Read, Write};
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! #[derive(Default)]
//! struct Echo { out: SendBuffer }
//! impl Dispatcher for Echo {
//!     fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
//!         let data = cx.recv(8192)?;
//!         if !data.is_empty() { self.out.send(cx, &data)?; }
//!         Ok(())
//!     }
//!     fn writable(&self, ch: &View<'_>) -> bool { self.out.writable(ch) }
//!     fn handle_write(&mut self, cx: &mut Cx<'_>) -> io::Result<()> { self.out.initiate_send(cx) }
//!     fn handle_close(&mut self, cx: &mut Cx<'_>) -> io::Result<()> { cx.close() }
//! }
//!
//! struct Listener;
//! impl Dispatcher for Listener {
//!     fn handle_accepted(&mut self, cx: &mut Cx<'_>, sock: Socket, _: SockAddr) -> io::Result<()> {
//!         cx.add(Echo::default()).adopt(sock)?;
//!         Ok(())
//!     }
//! }
//!
//! let addr = Arc::new(ReusePortAddr::new(([127, 0, 0, 1], 0)));
//! let shared = Arc::clone(&addr);
//! // Each loop, on its own thread, adds its own listener on the same address.
//! let group = LoopGroup::builder(2).start(move |_index, ev| {
//!     shared.add_listener(ev, Listener)?;
//!     Ok(())
//! })?;
//! let bound = addr.local_addr().expect("the loops are listening");
//!
//! let mut client = std::net::TcpStream::connect(bound)?;
//! client.write_all(b"ping")?;
//! let mut echoed = [0u8; 4];
//! client.read_exact(&mut echoed)?;
//! assert_eq!(&echoed, b"ping");
//!
//! group.shutdown(Duration::from_secs(1));
//! for result in group.join() {
//!     result?;
//! }
//! # Ok::<(), io::Error>(())
//! ```

mod builder;
mod group;
mod loop_thread;
mod pinning;
mod reuse_port;

pub use builder::LoopGroupBuilder;
pub use group::LoopGroup;
pub use pinning::Pinning;
pub use reuse_port::{reuse_port_listener, ReusePortAddr};
