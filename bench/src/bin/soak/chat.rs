//! The chat soak: normal members join, then each says `lines` numbered
//! lines; every normal member must receive every other normal member's
//! lines, in order. Meanwhile hostile clients churn: garbage with NUL and
//! invalid UTF-8, endless lines, joins that never read, resets mid-line,
//! trickles.

use crate::hostile::{drain_for, garbage, reset, trickle, write_within};
use crate::server::{Baseline, Ending, Server};
use crate::{Plan, Rng};
use serde_json::json;
use std::cell::Cell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[derive(Default)]
struct Tally {
    said: Cell<u64>,
    heard: Cell<u64>,
    /// Lines a normal member should have heard and did not (or out of order).
    lost: Cell<u64>,
    errors: Cell<u64>,
    hostile: Cell<u64>,
}

fn add(c: &Cell<u64>, n: u64) {
    c.set(c.get() + n);
}

pub async fn run(plan: Plan) -> bool {
    let server = Server::start(&plan, "chat", &["--idle-timeout", "0"]);
    let base = Baseline::of(&server);
    let normals = (plan.conns / 4).max(4);
    let hostiles = plan.conns.saturating_sub(normals).max(1);
    // Lines per normal member: spread over the run.
    let lines = (plan.secs * 10).max(20);
    let tally = Rc::new(Tally::default());
    let started = Instant::now();
    let stop = Rc::new(Cell::new(false));
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            let mut hostile_tasks = Vec::new();
            for id in 0..hostiles {
                let (tally, stop) = (Rc::clone(&tally), Rc::clone(&stop));
                let rng = Rng::new(plan.seed ^ 0xC4A7 ^ (id as u64) << 16);
                let addr = server.addr;
                hostile_tasks.push(tokio::task::spawn_local(async move {
                    hostile(addr, rng, &stop, &tally).await
                }));
            }
            // Every normal member joins before anyone speaks.
            let joined = Rc::new(Cell::new(0usize));
            let mut tasks = Vec::new();
            for id in 0..normals {
                let (tally, joined) = (Rc::clone(&tally), Rc::clone(&joined));
                let addr = server.addr;
                let gap = plan.duration() / lines as u32;
                tasks.push(tokio::task::spawn_local(async move {
                    normal(addr, id, normals, lines, gap, &joined, &tally).await
                }));
            }
            for t in tasks {
                let _ = t.await;
            }
            stop.set(true);
            for t in hostile_tasks {
                let _ = t.await;
            }
        })
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let end = Ending::of(server, &base).await;
    let ok = tally.lost.get() == 0 && tally.errors.get() == 0 && end.clean(&base);
    let fields = [
        ("normal", json!(normals)),
        ("hostile_sessions", json!(tally.hostile.get())),
        ("lines_said", json!(tally.said.get())),
        ("lines_heard", json!(tally.heard.get())),
        ("lost", json!(tally.lost.get())),
        ("errors", json!(tally.errors.get())),
    ];
    end.report(&plan, "chat", elapsed, &base, &fields, ok);
    ok
}

/// A normal member `n{id}`: joins, waits for everyone, says `lines` lines
/// `m {id} {k}`, and checks it heard every other member's, in order.
async fn normal(
    addr: SocketAddr,
    id: usize,
    members: usize,
    lines: u64,
    gap: Duration,
    joined: &Cell<usize>,
    tally: &Tally,
) {
    let Ok(sock) = TcpStream::connect(addr).await else {
        add(&tally.errors, 1);
        return;
    };
    let (r, mut w) = sock.into_split();
    let mut reader = BufReader::new(r).lines();
    let fail = |why: String| {
        eprintln!("soak chat: n{id}: {why}");
        add(&tally.errors, 1);
    };
    if w.write_all(format!("n{id}\n").as_bytes()).await.is_err() {
        return fail("cannot send the nickname".into());
    }
    loop {
        match reader.next_line().await {
            Ok(Some(l)) if l.starts_with("* hello ") => break,
            Ok(Some(_)) => {}
            other => return fail(format!("no welcome: {other:?}")),
        }
    }
    joined.set(joined.get() + 1);
    while joined.get() < members {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Say and listen at once: a member that stops reading gets dropped.
    let speak = async {
        for k in 0..lines {
            if w.write_all(format!("m {id} {k}\n").as_bytes())
                .await
                .is_err()
            {
                return false;
            }
            add(&tally.said, 1);
            tokio::time::sleep(gap).await;
        }
        true
    };
    let listen = async {
        let mut next: HashMap<usize, u64> = HashMap::new();
        let want = lines * (members as u64 - 1);
        let mut heard = 0u64;
        let limit = Instant::now() + gap * lines as u32 + Duration::from_secs(30);
        while heard < want {
            let line = match tokio::time::timeout_at(limit.into(), reader.next_line()).await {
                Ok(Ok(Some(l))) => l,
                other => {
                    eprintln!("soak chat: n{id} stopped hearing: {other:?}");
                    break;
                }
            };
            // `<nX> m X k` from a normal member; everything else is noise.
            let Some(rest) = line.strip_prefix('<') else {
                continue;
            };
            let mut parts = rest.split(' ');
            let (Some(nick), Some("m"), Some(x), Some(k)) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let (Ok(x), Ok(k)) = (x.parse::<usize>(), k.parse::<u64>()) else {
                continue;
            };
            if nick != format!("n{x}>") || x >= members {
                continue;
            }
            let expected = next.entry(x).or_insert(0);
            if k != *expected {
                eprintln!("soak chat: n{id} heard m {x} {k}, expected {expected}");
                add(&tally.lost, 1);
            }
            *expected = k + 1;
            heard += 1;
            add(&tally.heard, 1);
        }
        want - heard.min(want)
    };
    let (spoke, missing) = tokio::join!(speak, listen);
    if !spoke {
        fail("could not say every line".into());
    }
    add(&tally.lost, missing);
    let _ = w.write_all(b"/quit\n").await;
}

/// Hostile sessions one after another until `stop`.
async fn hostile(addr: SocketAddr, mut rng: Rng, stop: &Cell<bool>, tally: &Tally) {
    let mut n = 0u64;
    while !stop.get() {
        let Ok(mut sock) = TcpStream::connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        n += 1;
        add(&tally.hostile, 1);
        let nick = format!("h{}x{n}\n", rng.below(1 << 30));
        let t = Duration::from_secs(3);
        match rng.below(6) {
            // Garbage, NUL, invalid UTF-8, before and after a nickname.
            0 => {
                let _ = write_within(&mut sock, &garbage(&mut rng), t).await;
                let _ = write_within(&mut sock, nick.as_bytes(), t).await;
                let _ = write_within(&mut sock, &garbage(&mut rng), t).await;
                drain_for(&mut sock, Duration::from_millis(200)).await;
            }
            // An endless line: 256 KiB without a newline, then gone.
            1 => {
                let _ = write_within(&mut sock, nick.as_bytes(), t).await;
                let _ = write_within(&mut sock, &vec![b'z'; 256 << 10], t).await;
            }
            // Joins and never reads (the room is busy: it gets dropped).
            2 => {
                let _ = write_within(&mut sock, nick.as_bytes(), t).await;
                tokio::time::sleep(Duration::from_millis(500 + rng.below(2000))).await;
            }
            // Resets in the middle of a line.
            3 => {
                let _ = write_within(&mut sock, nick.as_bytes(), t).await;
                let _ = write_within(&mut sock, b"half a li", t).await;
                reset(sock);
                continue;
            }
            // A trickle of a few bytes.
            4 => {
                let _ = trickle(&mut sock, nick.as_bytes(), Duration::from_millis(100)).await;
                drain_for(&mut sock, Duration::from_millis(100)).await;
            }
            // Commands without reading the answers.
            _ => {
                let _ = write_within(&mut sock, nick.as_bytes(), t).await;
                let flood = "/who\n/help\n/nick\n/bogus\n".repeat(200);
                let _ = write_within(&mut sock, flood.as_bytes(), t).await;
            }
        }
        drop(sock);
    }
}
