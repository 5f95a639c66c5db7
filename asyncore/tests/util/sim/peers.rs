//! Scripted peers: the test's ends of simulated connections, each sending a
//! byte stream in seeded pieces and reading what comes back, and some
//! misbehaving on purpose (half-close, reset, stop reading for a while).

use super::Checker;
use asyncore_loop::sim::{Peer, Read, SimNet};
use std::net::SocketAddr;

/// What a peer does besides sending and reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Sends everything, reads until it has all it expects, then closes.
    Complete,
    /// Sends everything, shuts down its write half, reads until end of stream.
    HalfClose,
    /// Resets the connection after sending this many bytes.
    ResetAt(usize),
    /// Closes (maybe with unread data) after sending this many bytes.
    CloseAt(usize),
}

pub struct PeerClient {
    pub name: String,
    pub plan: Plan,
    pub start: u64,
    pub peer: Option<Peer>,
    pub data: Vec<u8>,
    pub sent: usize,
    pub got: Vec<u8>,
    pub eof: bool,
    pub reset: bool,
    pub done: bool,
    /// Steps left in a pause of reading (back-pressure on the server).
    pub pause: u64,
    half_closed: bool,
}

impl PeerClient {
    /// A peer with seeded data, plan and start step. `payload` makes its
    /// bytes (given the world's generator and a length).
    pub fn random(
        net: &SimNet,
        i: usize,
        max_len: u64,
        payload: &dyn Fn(&SimNet, usize) -> Vec<u8>,
    ) -> PeerClient {
        let len = net.below(max_len + 1) as usize;
        let data = payload(net, len);
        let plan = match net.below(10) {
            0 => Plan::HalfClose,
            1 => Plan::ResetAt(net.below(len as u64 + 1) as usize),
            2 => Plan::CloseAt(net.below(len as u64 + 1) as usize),
            _ => Plan::Complete,
        };
        PeerClient {
            name: format!("peer {i} ({plan:?}, {len} bytes)"),
            plan,
            start: net.below(20),
            peer: None,
            data,
            sent: 0,
            got: Vec::new(),
            eof: false,
            reset: false,
            done: false,
            pause: 0,
            half_closed: false,
        }
    }

    /// Whether the connection was reset or broken (data may be lost on purpose).
    pub fn broken(&self) -> bool {
        self.reset || self.peer.as_ref().is_some_and(|p| p.broken())
    }

    /// One step: connect, send a piece, maybe misbehave, read a piece.
    pub fn act(&mut self, net: &SimNet, step: u64, addr: SocketAddr) {
        if self.done || step < self.start {
            return;
        }
        let Some(peer) = &self.peer else {
            // Refused until the server listens; try again next step.
            self.peer = net.connect(addr.into()).ok();
            return;
        };
        if self.sent < self.data.len() && net.chance(600) {
            let n = (net.below(2048) as usize + 1).min(self.data.len() - self.sent);
            self.sent += peer.write(&self.data[self.sent..self.sent + n]);
        }
        match self.plan {
            Plan::ResetAt(n) if self.sent >= n => {
                peer.reset();
                self.done = true;
                return;
            }
            Plan::CloseAt(n) if self.sent >= n => {
                peer.close();
                self.done = true;
                return;
            }
            Plan::HalfClose if self.sent == self.data.len() && !self.half_closed => {
                peer.shutdown_write();
                self.half_closed = true;
            }
            _ => {}
        }
        if self.pause > 0 {
            self.pause -= 1;
        } else if net.chance(20) {
            self.pause = net.below(200);
        } else if net.chance(700) {
            match peer.read(net.below(4096) as usize + 1) {
                Read::Data(d) => self.got.extend(d),
                Read::WouldBlock => {}
                Read::Eof => self.eof = true,
                Read::Reset => self.reset = true,
            }
        }
        if super::tracing() && step.is_multiple_of(500) {
            eprintln!(
                "  [{step}] {}: sent {}, got {}, pause {}, eof {}, reset {}, broken {}",
                self.name,
                self.sent,
                self.got.len(),
                self.pause,
                self.eof,
                self.reset,
                peer.broken()
            );
        }
        if self.eof || self.reset {
            peer.close();
            self.done = true;
        }
    }

    /// Whether it expects nothing more (it may then close).
    pub fn finished(&mut self, expected_len: usize) -> bool {
        if !self.done
            && self.plan == Plan::Complete
            && self.sent == self.data.len()
            && self.got.len() >= expected_len
        {
            if let Some(p) = &self.peer {
                p.close();
            }
            self.done = true;
        }
        self.done
    }

    /// The invariant on what it received so far: a prefix of `expected`;
    /// all of it once a `Complete` peer that was not broken is done (or the
    /// run is over: `end`).
    pub fn check(&self, checker: &Checker, expected: &[u8], end: bool) -> Result<(), String> {
        let complete = self.plan == Plan::Complete
            && (self.done || end)
            && !self.broken()
            && self.sent == self.data.len();
        checker.stream(&self.name, &self.got, expected, complete)
    }
}

/// Bytes sent and received by all peers so far: a run that stops moving
/// them for long is stalled.
pub fn progress(peers: &[PeerClient]) -> usize {
    peers.iter().map(|p| p.sent + p.got.len()).sum()
}

/// Decides when a run is over: once every peer is done, or when the peers
/// moved no byte for `STALL` steps (a stall, which the final checks then
/// report as lost bytes).
#[derive(Default)]
pub struct Progress {
    last: usize,
    since: u64,
}

/// Steps without a byte moved after which a run counts as stalled (peers
/// pause reading for at most 200 steps).
pub const STALL: u64 = 3000;

impl Progress {
    /// Whether to stop after `step`, given the bytes moved so far.
    pub fn stop(&mut self, step: u64, moved: usize, all_done: bool) -> bool {
        let now = moved;
        if now != self.last {
            self.last = now;
            self.since = step;
        }
        all_done || step - self.since > STALL
    }
}
