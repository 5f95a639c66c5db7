//! Property test on the simulated network: a graceful shutdown of a loop
//! serving the `AsyncChat` line protocol, requested at a seeded moment while
//! replies are queued and peers read slowly, under every fault. Every reply
//! pushed before `handle_shutdown` reaches its peer (unless the connection
//! was reset or broken), then the peer reads end of stream, and the loop
//! ends.
//!
//! More seeds: `ASYNCORE_SIM_SEEDS=100000 cargo test -p asyncore-loop --features sim --release --test sim_shutdown`.

mod util;

use asyncore_loop::sim::{Faults, SimNet};
use std::net::SocketAddr;
use std::time::Duration;
use util::sim::lines::{lines, Owed, Setup};
use util::sim::{run_seeds, Checker, PeerClient, Summary};

const SERVER: &str = "10.0.0.1:25";

fn shutdown_run(seed: u64, faults: Faults) -> Result<Summary, String> {
    let net = SimNet::new(seed, faults);
    let mut ev = util::sim::sim_loop(&net, seed);
    let setup = Setup::draw(&net, seed, None);
    util::sim::lines::listen(&mut ev, setup, SERVER)?;
    let addr: SocketAddr = SERVER.parse().unwrap();

    let mut peers: Vec<PeerClient> = (0..=net.below(3) as usize)
        .map(|i| {
            let mut p = PeerClient::random(&net, i, 3000, &lines);
            // The first line names the peer, so the server can say what it promised it.
            let mut data = format!("I{i}\n").into_bytes();
            data.extend_from_slice(&p.data);
            p.data = data;
            p
        })
        .collect();
    let owed: Vec<Owed> = peers.iter().map(|p| Owed::new(&p.data)).collect();
    let shutdown_at = 5 + net.below(100);
    let mut checker = Checker::new();
    let mut step = 0;
    let mut progress = util::sim::peers::Progress::default();
    loop {
        for p in &mut peers {
            p.act(&net, step, addr);
        }
        if step == shutdown_at {
            // Requested from inside the loop (`EventLoop::shutdown` would run
            // the loop to the end while the peers stand still). Ample grace:
            // only the network may cut a connection short.
            ev.call_later(Duration::ZERO, |cx| {
                cx.shutdown(Duration::from_secs(24 * 3600));
                Ok(())
            });
        }
        util::sim::pass(&mut ev, &net, &mut checker, step, Duration::from_millis(20))?;
        for (p, owed) in peers.iter_mut().zip(&owed) {
            // A peer reads until the server closes (it never closes first).
            p.finished(usize::MAX);
            // A prefix of the replies; how much of them is owed is checked at the end.
            checker
                .stream(&p.name, &p.got, owed.upto(p.sent), false)
                .map_err(|e| format!("step {step}: {e}"))?;
        }
        step += 1;
        if step > shutdown_at && ev.is_empty() && peers.iter().all(|p| p.done || p.peer.is_none()) {
            break;
        }
        if progress.stop(step, util::sim::peers::progress(&peers), false) {
            return Err(format!(
                "the shutdown did not finish: {} channel(s) left",
                ev.len()
            ));
        }
    }
    let mut moved = 0;
    for (i, p) in peers.iter().enumerate() {
        moved += p.got.len() as u64;
        // Peers that close, reset or half-close themselves are owed nothing
        // more (asynchat closes on end of stream).
        if p.plan != util::sim::peers::Plan::Complete || p.broken() || p.peer.is_none() {
            continue;
        }
        let promised = ev
            .state()
            .bytes
            .get(&(i as u64))
            .cloned()
            .unwrap_or_default();
        if p.got.len() < promised.len() || !p.eof {
            return Err(format!(
                "{}: {} of the {} bytes replied before the shutdown arrived (end of stream: {})",
                p.name,
                p.got.len(),
                promised.len(),
                p.eof
            ));
        }
    }
    checker.finish(net.now())?;
    Ok(Summary::of(&checker, &net, moved))
}

#[test]
fn graceful_shutdown_flushes_what_was_queued() {
    run_seeds("graceful_shutdown_flushes_what_was_queued", 600, |seed| {
        shutdown_run(seed, Faults::chaos())
    });
}
