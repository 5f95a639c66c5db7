//! The echo soak: `conns` connections echo random sizes (1 B to 256 KiB)
//! until the deadline;
//! some reset at random (and reconnect), some stop reading for a while;
//! every connection that stays gets back exactly what it sent, and ends with
//! a half-close whose echo must be complete.

use crate::hostile::reset;
use crate::server::{Baseline, Ending, Server};
use crate::{Plan, Rng};
use serde_json::json;
use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Default)]
struct Tally {
    rounds: Cell<u64>,
    bytes: Cell<u64>,
    resets: Cell<u64>,
    stalls: Cell<u64>,
    half_closes: Cell<u64>,
    /// Connections that stayed but did not get back exactly what they sent.
    lost: Cell<u64>,
    errors: Cell<u64>,
}

fn add(c: &Cell<u64>, n: u64) {
    c.set(c.get() + n);
}

pub async fn run(plan: Plan) -> bool {
    let server = Server::start(&plan, "echo", &[]);
    let base = Baseline::of(&server);
    let tally = Rc::new(Tally::default());
    let deadline = Instant::now() + plan.duration();
    let local = tokio::task::LocalSet::new();
    let started = Instant::now();
    local
        .run_until(async {
            let mut tasks = Vec::new();
            for id in 0..plan.conns {
                let tally = Rc::clone(&tally);
                let rng = Rng::new(plan.seed ^ (id as u64 + 1) << 20);
                let addr = server.addr;
                tasks.push(tokio::task::spawn_local(async move {
                    connection(addr, rng, deadline, &tally).await
                }));
                if id % 64 == 63 {
                    tokio::task::yield_now().await;
                }
            }
            for t in tasks {
                let _ = t.await;
            }
        })
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let end = Ending::of(server, &base).await;
    let ok = tally.lost.get() == 0 && tally.errors.get() == 0 && end.clean(&base);
    let fields = [
        ("conns", json!(plan.conns)),
        ("rounds", json!(tally.rounds.get())),
        ("bytes_echoed", json!(tally.bytes.get())),
        ("resets", json!(tally.resets.get())),
        ("stalls", json!(tally.stalls.get())),
        ("half_closes", json!(tally.half_closes.get())),
        ("lost", json!(tally.lost.get())),
        ("errors", json!(tally.errors.get())),
    ];
    end.report(&plan, "echo", elapsed, &base, &fields, ok);
    ok
}

async fn connect(addr: SocketAddr) -> Option<TcpStream> {
    for _ in 0..50 {
        match TcpStream::connect(addr).await {
            Ok(s) => return Some(s),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    None
}

/// One client slot: rounds of echo until the deadline, resetting and
/// reconnecting now and then, then a final half-close round.
async fn connection(addr: SocketAddr, mut rng: Rng, deadline: Instant, tally: &Tally) {
    let Some(mut sock) = connect(addr).await else {
        add(&tally.errors, 1);
        eprintln!("soak echo: cannot connect");
        return;
    };
    let stalls = rng.chance(15);
    let resets = rng.chance(15);
    while Instant::now() < deadline {
        let size = rng.size(256 << 10);
        let data = rng.bytes(size);
        if resets && rng.chance(20) {
            // Mid-stream: send part of it, reset, start again.
            let cut = rng.below(size as u64) as usize;
            let _ = sock.write_all(&data[..cut]).await;
            reset(sock);
            add(&tally.resets, 1);
            let Some(s) = connect(addr).await else {
                add(&tally.errors, 1);
                return;
            };
            sock = s;
            continue;
        }
        let stall = if stalls && rng.chance(30) {
            add(&tally.stalls, 1);
            Duration::from_millis(200 + rng.below(1300))
        } else {
            Duration::ZERO
        };
        match round(&mut sock, &data, stall, false).await {
            Ok(true) => {
                add(&tally.rounds, 1);
                add(&tally.bytes, size as u64);
            }
            Ok(false) => {
                add(&tally.lost, 1);
                return;
            }
            Err(e) => {
                add(&tally.errors, 1);
                eprintln!("soak echo: {e}");
                return;
            }
        }
    }
    let size = rng.size(256 << 10);
    let data = rng.bytes(size);
    match round(&mut sock, &data, Duration::ZERO, true).await {
        Ok(true) => add(&tally.half_closes, 1),
        Ok(false) => add(&tally.lost, 1),
        Err(e) => {
            add(&tally.errors, 1);
            eprintln!("soak echo: half-close round: {e}");
        }
    }
}

/// Sends `data` while reading its echo (after `stall`); with `half_close`,
/// shuts down writing after it and reads to end of stream. True if exactly
/// `data` came back.
async fn round(
    sock: &mut TcpStream,
    data: &[u8],
    stall: Duration,
    half_close: bool,
) -> std::io::Result<bool> {
    let (mut r, mut w) = sock.split();
    let write = async {
        w.write_all(data).await?;
        if half_close {
            w.shutdown().await?;
        }
        Ok::<_, std::io::Error>(())
    };
    let read = async {
        tokio::time::sleep(stall).await;
        let mut got = vec![0u8; data.len()];
        r.read_exact(&mut got).await?;
        if half_close {
            let mut rest = Vec::new();
            r.read_to_end(&mut rest).await?;
            got.extend_from_slice(&rest);
        }
        Ok::<_, std::io::Error>(got)
    };
    let limit = Duration::from_secs(60);
    match tokio::time::timeout(limit, async { tokio::try_join!(write, read) }).await {
        Err(_) => Err(std::io::Error::other("no progress for 60 s")),
        Ok(Err(e)) => Err(e),
        Ok(Ok(((), got))) => Ok(got == data),
    }
}
