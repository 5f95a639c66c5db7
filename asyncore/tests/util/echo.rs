//! An echo server for the reliability tests: a `SendBuffer` echo with
//! back-pressure and flush-then-close at end of stream, and a listener that
//! adopts connections into it, with shared counters to check afterwards.

use asyncore_loop::{
    Backend, Cx, Dispatcher, EventLoop, SendBuffer, SockAddr, Socket, Token, View,
};
use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

/// What the echo channels of one loop did, summed over them.
#[derive(Debug, Default)]
pub struct EchoStats {
    /// `handle_close` calls.
    pub closes: Cell<u32>,
    /// The most output one channel ever had queued.
    pub peak: Cell<usize>,
    /// Read and write handler calls.
    pub events: Cell<u64>,
    /// Connections accepted.
    pub accepted: Cell<u32>,
    /// The descriptor of the channel that read last.
    pub last_fd: Cell<i32>,
}

/// A dispatcher_with_send echo: stops reading above `high_water` queued
/// bytes, and at end of stream sends what is queued, then closes.
pub struct Echo {
    pub out: SendBuffer,
    pub high_water: usize,
    pub stats: Rc<EchoStats>,
}

impl Echo {
    pub fn new(high_water: usize, stats: &Rc<EchoStats>) -> Echo {
        Echo {
            out: SendBuffer::new(),
            high_water,
            stats: Rc::clone(stats),
        }
    }
}

impl<S: 'static> Dispatcher<S> for Echo {
    fn readable(&self, _: &View<'_, S>) -> bool {
        self.out.len() < self.high_water
    }
    fn handle_read(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        self.stats.events.set(self.stats.events.get() + 1);
        self.stats.last_fd.set(cx.fileno().unwrap_or(-1));
        let data = cx.recv(65536)?;
        self.out.send(cx, &data)?;
        self.stats
            .peak
            .set(self.stats.peak.get().max(self.out.len()));
        Ok(())
    }
    fn writable(&self, ch: &View<'_, S>) -> bool {
        self.out.writable(ch)
    }
    fn handle_write(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        self.stats.events.set(self.stats.events.get() + 1);
        self.out.initiate_send(cx)
    }
    fn handle_read_eof(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        self.out.close_when_done(cx)
    }
    fn handle_close(&mut self, cx: &mut Cx<'_, S>) -> io::Result<()> {
        self.stats.closes.set(self.stats.closes.get() + 1);
        cx.close()
    }
}

/// A listener whose accepted connections get `make()`; with `once`, it
/// closes after the first.
pub struct Accept<F> {
    pub make: F,
    pub once: bool,
}

impl<S: 'static, D: Dispatcher<S>, F: FnMut() -> D + 'static> Dispatcher<S> for Accept<F> {
    fn writable(&self, _: &View<'_, S>) -> bool {
        false
    }
    fn handle_accepted(&mut self, cx: &mut Cx<'_, S>, sock: Socket, _: SockAddr) -> io::Result<()> {
        cx.add((self.make)()).adopt(sock)?;
        if self.once {
            cx.close()?;
        }
        Ok(())
    }
}

/// A loop on backend `b` listening on 127.0.0.1 port 0 with `Echo`s of
/// `high_water`: (the loop, the listener's token, its address, the stats).
pub fn echo_server(b: Backend, high_water: usize) -> (EventLoop, Token, SocketAddr, Rc<EchoStats>) {
    let stats = Rc::new(EchoStats::default());
    let s2 = Rc::clone(&stats);
    let make = move || {
        s2.accepted.set(s2.accepted.get() + 1);
        Echo::new(high_water, &s2)
    };
    let mut ev = EventLoop::new().with_backend(b);
    let mut l = ev.add(Accept { make, once: false });
    let addr = super::listen_local(&mut l, 1024);
    let t = l.token();
    (ev, t, addr, stats)
}
