//! Property tests on the simulated network: a line protocol on `AsyncChat`
//! (batching on and off, producers, drain mode, small buffers and
//! water marks) under every fault the simulation injects, on the three pass
//! styles. Replies must arrive whole, once, in order, whatever the partial
//! writes; queued output must stay within the back-pressure bound.
//!
//! More seeds: `ASYNCORE_SIM_SEEDS=100000 cargo test -p asyncore-loop --test sim_chat --release`.

mod util;

use asyncore_loop::chat::{AsyncChat, Chat, ChatHandler, SimpleProducer};
use asyncore_loop::sim::{Faults, SimNet};
use asyncore_loop::{Backend, Cx, Dispatcher, EventLoop, SockAddr, Socket, AF_INET, SOCK_STREAM};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use util::sim::{run_seeds, Checker, Ev, PeerClient, Probe, Summary, Trace};

const SERVER: &str = "10.0.0.1:25";

/// The longest line a peer sends (without its newline).
const MAX_LINE: usize = 60;
/// A reply is at most three copies of a line and a newline.
const MAX_REPLY: usize = 3 * MAX_LINE + 1;

/// The replies a server owes for the complete lines in `input`: a line
/// starting with `P` comes back three times through a producer, any other
/// once, each with a newline.
fn replies(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut lines = input.split(|&b| b == b'\n');
    let complete = input.iter().filter(|&&b| b == b'\n').count();
    for line in lines.by_ref().take(complete) {
        out.extend_from_slice(line);
        if line.first() == Some(&b'P') {
            out.extend_from_slice(line);
            out.extend_from_slice(line);
        }
        out.push(b'\n');
    }
    out
}

struct LineEcho {
    id: u32,
    line: Vec<u8>,
    high: usize,
    producer_size: usize,
}

impl ChatHandler<Trace> for LineEcho {
    fn collect_incoming_data(
        &mut self,
        _: &mut Chat<'_, '_, Trace>,
        data: &[u8],
    ) -> io::Result<()> {
        self.line.extend_from_slice(data);
        Ok(())
    }

    fn found_terminator(&mut self, chat: &mut Chat<'_, '_, Trace>) -> io::Result<()> {
        let mut line = std::mem::take(&mut self.line);
        if line.first() == Some(&b'P') {
            let mut reply = line.repeat(3);
            reply.push(b'\n');
            chat.push_with_producer(Box::new(SimpleProducer::new(reply, self.producer_size)))?;
        } else {
            line.push(b'\n');
            chat.push(line)?;
        }
        let (ch, bytes, bound) = (self.id, chat.queued_bytes(), self.high + MAX_REPLY);
        chat.state().push(Ev::Queued { ch, bytes, bound });
        Ok(())
    }

    fn handle_close(&mut self, chat: &mut Chat<'_, '_, Trace>) -> io::Result<()> {
        chat.state().log_close(self.id);
        chat.close()
    }
}

/// How each accepted channel is configured (seeded once per run).
#[derive(Clone, Copy)]
struct Setup {
    batching: bool,
    drain: bool,
    in_size: usize,
    out_size: usize,
    high: usize,
    producer_size: usize,
}

struct Server {
    next_id: u32,
    setup: Setup,
}

impl Dispatcher<Trace> for Server {
    fn handle_accepted(
        &mut self,
        cx: &mut Cx<'_, Trace>,
        sock: Socket,
        _: SockAddr,
    ) -> io::Result<()> {
        self.next_id += 1;
        let s = self.setup;
        let chat = AsyncChat::new(LineEcho {
            id: self.next_id,
            line: Vec::new(),
            high: s.high,
            producer_size: s.producer_size,
        })
        .with_terminator("\n")
        .with_batching(s.batching)
        .with_drain(s.drain)
        .with_in_buffer_size(s.in_size)
        .with_out_buffer_size(s.out_size)
        .with_water_marks(s.high, s.high / 4);
        cx.add(Probe::new(self.next_id, chat)).adopt(sock)?;
        Ok(())
    }
}

/// Lines of letters, some starting with `P`, the last maybe unfinished.
fn lines(net: &SimNet, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let n = net.below(MAX_LINE as u64 + 1) as usize;
        for i in 0..n {
            let b = if i == 0 && net.chance(300) {
                b'P'
            } else {
                b'a' + net.below(26) as u8
            };
            out.push(b);
        }
        out.push(b'\n');
    }
    out.truncate(len);
    out
}

fn chat_run(seed: u64, faults: Faults, batching: Option<bool>) -> Result<Summary, String> {
    let net = SimNet::new(seed, faults);
    let backend = Backend::ALL[(seed % 3) as usize];
    let mut ev = EventLoop::with_state(Trace::new(&net))
        .with_backend(backend)
        .with_sim(&net);
    if util::sim::tracing() {
        ev.set_log_sink(asyncore_loop::StdioLog);
    }
    let setup = Setup {
        batching: batching.unwrap_or_else(|| net.chance(500)),
        drain: net.chance(300),
        in_size: net.below(512) as usize + 1,
        out_size: net.below(256) as usize + 1,
        high: 64 + net.below(2000) as usize,
        producer_size: net.below(64) as usize + 1,
    };
    let addr: SocketAddr = SERVER.parse().unwrap();
    let mut server = ev.add(Probe::new(0, Server { next_id: 0, setup }));
    server
        .create_socket(AF_INET, SOCK_STREAM)
        .map_err(|e| e.to_string())?;
    server.bind(SERVER).map_err(|e| e.to_string())?;
    server.listen(64).map_err(|e| e.to_string())?;

    let mut peers: Vec<PeerClient> = (0..=net.below(3) as usize)
        .map(|i| PeerClient::random(&net, i, 3000, &lines))
        .collect();
    let mut checker = Checker::new();
    for step in 0..8000u64 {
        for p in &mut peers {
            p.act(&net, step, addr);
        }
        util::sim::pass(&mut ev, &net, &mut checker, step, Duration::from_millis(20))?;
        let mut all_done = true;
        for p in &mut peers {
            let expected = replies(&p.data[..p.sent]);
            all_done &= p.finished(replies(&p.data).len());
            p.check(&checker, &expected, false)
                .map_err(|e| format!("step {step}: {e}"))?;
        }
        if all_done {
            break;
        }
    }
    let mut moved = 0;
    for p in &peers {
        moved += p.got.len() as u64;
        p.check(&checker, &replies(&p.data[..p.sent]), true)?;
    }
    checker.finish(net.now())?;
    Ok(Summary::of(&checker, &net, moved))
}

#[test]
fn chat_replies_arrive_whole_once_in_order_under_faults() {
    run_seeds(
        "chat_replies_arrive_whole_once_in_order_under_faults",
        1000,
        |seed| chat_run(seed, Faults::chaos(), None),
    );
}

#[test]
fn chat_without_batching_keeps_the_same_stream() {
    run_seeds("chat_without_batching_keeps_the_same_stream", 300, |seed| {
        chat_run(seed, Faults::chaos(), Some(false))
    });
}

#[test]
fn chat_on_a_perfect_network() {
    run_seeds("chat_on_a_perfect_network", 200, |seed| {
        chat_run(seed, Faults::none(), None)
    });
}

#[test]
fn replies_are_computed_from_complete_lines_only() {
    assert_eq!(replies(b"ab\nPx\nunfinished"), b"ab\nPxPxPx\n");
    assert_eq!(replies(b""), b"");
    assert_eq!(replies(b"\n"), b"\n");
}
