//! `View`: what `readable()` and `writable()` see of their channel and loop.

use crate::channel::Channel;
use crate::core::LoopCore;
use crate::sys::Backend;
use crate::token::Token;
use socket2::{SockAddr, Socket};
use std::io;
use std::os::fd::RawFd;

/// A read-only view of one channel and its loop: its flags, address and
/// socket, and the loop's shared state `S`.
///
/// [`Dispatcher::readable`](crate::Dispatcher::readable) and
/// [`Dispatcher::writable`](crate::Dispatcher::writable) get one. They answer
/// a question and change nothing, so the loop can ask them while the channel
/// stays where it is. Inside a handler, [`Cx::view`](crate::Cx::view) gives
/// the same view.
///
/// # Examples
///
/// A channel that wants to write while it has output queued, or until its
/// connect completes:
///
/// ```
/// use asyncore_loop::{Dispatcher, View};
///
/// struct Client {
///     out: Vec<u8>,
/// }
///
/// impl Dispatcher for Client {
///     fn writable(&self, ch: &View<'_>) -> bool {
///         !self.out.is_empty() || ch.connecting()
///     }
/// }
/// ```
pub struct View<'a, S: 'static = ()> {
    ch: &'a Channel,
    core: &'a LoopCore<S>,
    index: u32,
}

impl<S: 'static> std::fmt::Debug for View<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe("View"))
    }
}

impl<'a, S: 'static> View<'a, S> {
    /// The view of channel `index`, whose state is `ch` (in its slot or lent out).
    #[inline]
    pub(crate) fn new(ch: &'a Channel, core: &'a LoopCore<S>, index: u32) -> Self {
        View { ch, core, index }
    }

    /// This channel's token.
    pub fn token(&self) -> Token {
        self.core.map.token(self.index)
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

    /// asyncore's `closing` flag (the application's; the library never reads it).
    pub fn closing(&self) -> bool {
        self.ch.closing
    }

    /// asyncore's `debug` flag.
    pub fn debug(&self) -> bool {
        self.ch.debug
    }

    /// asyncore's `addr`: the address given to `bind`/`connect`, or the peer
    /// of an adopted socket.
    pub fn addr(&self) -> Option<&'a SockAddr> {
        self.ch.addr.as_deref()
    }

    /// Whether `close()` has run (and no socket was attached since).
    pub fn is_closed(&self) -> bool {
        self.ch.is_closed()
    }

    /// Whether a receive saw end of stream (see [`Cx::read_eof`](crate::Cx::read_eof)).
    pub fn read_eof(&self) -> bool {
        self.ch.read_eof
    }

    /// Whether the channel is in the map (has a descriptor and is not closed).
    pub fn is_registered(&self) -> bool {
        self.core.map.meta(self.index).reg != 0
    }

    /// The descriptor, while one is attached.
    pub fn fileno(&self) -> Option<RawFd> {
        self.ch.io.fd()
    }

    /// The attached socket (for options the flags do not cover).
    pub fn socket(&self) -> io::Result<&'a Socket> {
        self.ch.socket()
    }

    /// The backend the loop waits with.
    pub fn backend(&self) -> Backend {
        self.core.poller.backend()
    }

    /// The loop's shared state.
    pub fn state(&self) -> &'a S {
        &self.core.state
    }

    /// asyncore's `repr`: `<name [listening|connected] [addr] #token>`.
    pub fn describe(&self, name: &str) -> String {
        self.ch.describe(self.token(), name)
    }
}
