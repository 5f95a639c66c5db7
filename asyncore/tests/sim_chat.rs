//! Property tests on the simulated network: a line protocol on `AsyncChat`
//! (batching on and off, producers, drain mode, small buffers and
//! water marks) under every fault the simulation injects, on the three pass
//! styles. Replies must arrive whole, once, in order, whatever the partial
//! writes; queued output must stay within the back-pressure bound.
//!
//! More seeds: `ASYNCORE_SIM_SEEDS=100000 cargo test -p asyncore-loop --features sim --release --test sim_chat`.

mod util;

use asyncore_loop::sim::{Faults, SimNet};
use std::net::SocketAddr;
use std::time::Duration;
use util::sim::lines::{lines, replies, Owed, Setup};
use util::sim::{run_seeds, Checker, PeerClient, Summary};

const SERVER: &str = "10.0.0.1:25";

fn chat_run(seed: u64, faults: Faults, batching: Option<bool>) -> Result<Summary, String> {
    let net = SimNet::new(seed, faults);
    let mut ev = util::sim::sim_loop(&net, seed);
    let setup = Setup::draw(&net, seed, batching);
    util::sim::lines::listen(&mut ev, setup, SERVER)?;
    let addr: SocketAddr = SERVER.parse().unwrap();

    let mut peers: Vec<PeerClient> = (0..=net.below(3) as usize)
        .map(|i| PeerClient::random(&net, i, 3000, &lines))
        .collect();
    let owed: Vec<Owed> = peers.iter().map(|p| Owed::new(&p.data)).collect();
    let mut checker = Checker::new();
    let mut progress = util::sim::peers::Progress::default();
    for step in 0.. {
        for p in &mut peers {
            p.act(&net, step, addr);
        }
        util::sim::pass(&mut ev, &net, &mut checker, step, Duration::from_millis(20))?;
        let mut all_done = true;
        for (p, owed) in peers.iter_mut().zip(&owed) {
            all_done &= p.finished(owed.all.len());
            p.check(&checker, owed.upto(p.sent), false)
                .map_err(|e| format!("step {step}: {e}"))?;
        }
        if progress.stop(step, util::sim::peers::progress(&peers), all_done) {
            break;
        }
    }
    let mut moved = 0;
    for (p, owed) in peers.iter().zip(&owed) {
        moved += p.got.len() as u64;
        p.check(&checker, owed.upto(p.sent), true)?;
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
    let owed = Owed::new(b"ab\nPx\nunfinished");
    assert_eq!(owed.upto(0), b"");
    assert_eq!(owed.upto(3), b"ab\n");
    assert_eq!(owed.upto(5), b"ab\n");
    assert_eq!(owed.upto(6), b"ab\nPxPxPx\n");
    assert_eq!(owed.upto(16), b"ab\nPxPxPx\n");
}
