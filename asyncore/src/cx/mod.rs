//! `Cx`: what a handler can do. It is the channel's socket (asyncore's
//! `self.send`, `self.recv`, `self.connect` ...), its flags, and the loop
//! around it (add channels, reach other channels, timers, stop, log).
//!
//! The methods live in one file per concern: `socket.rs` (set-up), `io.rs`
//! (data and close), `services.rs` (channels, timers, deadlines, caps,
//! shutdown, logging); the loop's own helpers in `emfile.rs` (shedding
//! connections when descriptors run out), `busy_guard.rs` (the spinning
//! writer warning) and `deadline_check.rs`.

mod busy_guard;
mod deadline_check;
mod emfile;
mod io;
mod send_file;
pub(crate) mod nursery;
pub(crate) mod services;
mod socket;

use crate::channel::Channel;
use crate::core::LoopCore;
use crate::sys::Backend;
use crate::token::Token;
use crate::view::View;
use nursery::Nursery;
use socket2::{SockAddr, Socket};
use std::os::fd::RawFd;

/// A handler's view of its channel and of the loop.
///
/// Every handler of a [`Dispatcher`](crate::Dispatcher) gets one. Socket
/// methods keep asyncore's names and semantics (`send` returns 0 on
/// would-block, `recv` returns an empty buffer at end of stream, ...), with
/// one rule added: **no user handler is ever called from inside a `Cx`
/// method**. Where asyncore's `send` or `recv` would call `handle_close` on
/// the spot, the loop calls it right after the current handler returns; a
/// connect that completes at once is reported by the loop on the next
/// readiness, like any other.
///
/// Outside the loop, [`EventLoop::add`](crate::EventLoop::add) and
/// [`EventLoop::channel`](crate::EventLoop::channel) give a `Cx` too, so a
/// channel can be set up before the loop runs, as asyncore's constructors do.
/// The flags (`connected`, `accepting`, `connecting`, `closing`, `debug`,
/// `addr`) read as asyncore's attributes of the same names.
///
/// # Examples
///
/// ```
/// use asyncore_loop::{Dispatcher, EventLoop, AF_INET, SOCK_STREAM};
///
/// struct Server;
/// impl Dispatcher for Server {}
///
/// let mut ev = EventLoop::new();
/// let mut cx = ev.add(Server);
/// assert!(!cx.accepting() && cx.addr().is_none() && cx.fileno().is_none());
/// cx.create_socket(AF_INET, SOCK_STREAM)?;
/// cx.set_reuse_addr();
/// cx.bind("127.0.0.1:0")?;
/// cx.listen(5)?;
/// assert!(cx.accepting() && cx.is_registered());
/// assert!(cx.describe("Server").starts_with("<Server listening 127.0.0.1:"));
/// cx.close()?;
/// assert!(cx.is_closed() && !cx.accepting());
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Cx<'a, S: 'static = ()> {
    /// This channel's loop-side state; its entry is out of its slot while
    /// the `Cx` lives (see `nursery.rs`).
    pub(crate) ch: &'a mut Channel,
    pub(crate) core: &'a mut LoopCore<S>,
    /// Where channels this `Cx` adds wait until they join the map.
    pub(crate) nursery: &'a mut Nursery<S>,
    pub(crate) token: Token,
}

impl<S: 'static> std::fmt::Debug for Cx<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe("Cx"))
    }
}

impl<'a, S: 'static> Cx<'a, S> {
    pub(crate) fn new(
        ch: &'a mut Channel,
        core: &'a mut LoopCore<S>,
        nursery: &'a mut Nursery<S>,
        token: Token,
    ) -> Self {
        Cx {
            ch,
            core,
            nursery,
            token,
        }
    }

    /// This channel's token.
    pub fn token(&self) -> Token {
        self.token
    }

    /// asyncore's `connected`: the stream is established.
    pub fn connected(&self) -> bool {
        self.ch.connected
    }

    /// asyncore's `accepting`: `listen()` was called.
    pub fn accepting(&self) -> bool {
        self.ch.accepting
    }

    /// asyncore's `connecting`: a non-blocking connect is outstanding.
    pub fn connecting(&self) -> bool {
        self.ch.connecting
    }

    /// asyncore's `closing`: a flag for the application; the library never reads it.
    pub fn closing(&self) -> bool {
        self.ch.closing
    }

    /// Sets the `closing` flag.
    pub fn set_closing(&mut self, closing: bool) {
        self.ch.closing = closing;
    }

    /// asyncore's `debug` flag (used by [`SendBuffer`](crate::SendBuffer)).
    pub fn debug(&self) -> bool {
        self.ch.debug
    }

    /// Sets the `debug` flag.
    pub fn set_debug(&mut self, debug: bool) {
        self.ch.debug = debug;
    }

    /// asyncore's `addr`: the address given to `bind`/`connect`, or the peer
    /// of an adopted socket. Kept after `close`.
    pub fn addr(&self) -> Option<&SockAddr> {
        self.ch.addr.as_deref()
    }

    /// Whether `close()` has run (and no socket was attached since).
    pub fn is_closed(&self) -> bool {
        self.ch.is_closed()
    }

    /// Whether the channel is in the map (has a descriptor and is not
    /// closed). A channel without a socket is not.
    pub fn is_registered(&self) -> bool {
        self.registration() != 0
    }

    /// The channel's registration in the map: new with each descriptor
    /// attached, 0 while none is.
    pub(crate) fn registration(&self) -> u32 {
        self.core.map.meta(self.token.index).reg
    }

    /// The descriptor, while one is attached.
    pub fn fileno(&self) -> Option<RawFd> {
        self.ch.io.fd()
    }

    /// The attached socket, for options and calls asyncore leaves to the
    /// socket object (`MSG_OOB`, `shutdown`, `local_addr` ...).
    pub fn socket(&self) -> std::io::Result<&Socket> {
        self.ch.socket()
    }

    /// A read-only view of this channel and the loop: what
    /// [`readable`](crate::Dispatcher::readable) and
    /// [`writable`](crate::Dispatcher::writable) see.
    pub fn view(&self) -> View<'_, S> {
        View::new(&*self.ch, &*self.core, self.token.index)
    }

    /// The name of the handler the loop is calling (`handle_read_event`,
    /// `handle_timer`, ...), for log lines such as `handle_error`'s; empty
    /// outside the loop.
    pub fn handler_name(&self) -> &'static str {
        self.ch.handler_name.as_str()
    }

    /// The backend the loop waits with.
    pub fn backend(&self) -> Backend {
        self.core.poller.backend()
    }

    /// A text form in the spirit of asyncore's `repr`:
    /// `<name [listening|connected] [addr] #token>`.
    pub fn describe(&self, name: &str) -> String {
        self.ch.describe(self.token, name)
    }
}
