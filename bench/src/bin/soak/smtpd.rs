//! The smtpd soak: Python `smtplib` senders deliver numbered messages to a
//! Maildir while hostile sessions beside them die mid-DATA (reset or FIN),
//! send oversized messages, garbage, endless lines, trickles, and never
//! read. Afterwards every accepted message is in the Maildir exactly once
//! and whole, `tmp/` is empty, and nothing of a dead or refused session was
//! delivered.

use crate::hostile::{drain_for, garbage, reset, trickle, write_within};
use crate::server::{Baseline, Ending, Server};
use crate::{Plan, Rng};
use serde_json::json;
use std::cell::Cell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

const MAX_SIZE: usize = 1 << 20;

#[derive(Default)]
struct Tally {
    hostile: Cell<u64>,
    dead_mid_data: Cell<u64>,
    oversized: Cell<u64>,
}

fn add(c: &Cell<u64>, n: u64) {
    c.set(c.get() + n);
}

pub async fn run(plan: Plan) -> bool {
    let dir = std::env::temp_dir().join(format!(
        "asyncore-soak-{}-{}",
        std::process::id(),
        plan.seed
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let max = MAX_SIZE.to_string();
    let server = Server::start(
        &plan,
        "smtpd",
        &[
            "--maildir",
            dir.to_str().expect("a UTF-8 temp path"),
            "--max-size",
            &max,
        ],
    );
    let base = Baseline::of(&server);
    let senders = (plan.conns / 4).clamp(2, 32);
    let hostiles = plan.conns.saturating_sub(senders).max(1);
    let prefix = format!("soak{}", plan.seed);
    let tally = Rc::new(Tally::default());
    let started = Instant::now();
    // The normal senders: smtplib in a child process, collected off-loop.
    let (tx, rx) = std::sync::mpsc::channel();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/smtp_senders.py");
    let args = (server.addr, plan.secs, senders, prefix.clone());
    std::thread::spawn(move || {
        let out = std::process::Command::new("python3")
            .arg(script)
            .args([
                args.0.ip().to_string(),
                args.0.port().to_string(),
                args.1.to_string(),
                args.2.to_string(),
                args.3,
            ])
            .output();
        let _ = tx.send(out);
    });
    let stop = Rc::new(Cell::new(false));
    let local = tokio::task::LocalSet::new();
    let output = local
        .run_until(async {
            let mut tasks = Vec::new();
            for id in 0..hostiles {
                let (tally, stop) = (Rc::clone(&tally), Rc::clone(&stop));
                let rng = Rng::new(plan.seed ^ 0x5A7D ^ (id as u64) << 16);
                let addr = server.addr;
                tasks.push(tokio::task::spawn_local(async move {
                    hostile(addr, rng, &stop, &tally).await
                }));
            }
            let output = loop {
                if let Ok(out) = rx.try_recv() {
                    break out;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            stop.set(true);
            for t in tasks {
                let _ = t.await;
            }
            output
        })
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let end = Ending::of(server, &base).await;
    let (accepted, sender_errors) = match &output {
        Ok(out) => parse_sender_output(&String::from_utf8_lossy(&out.stdout)),
        Err(e) => {
            eprintln!("soak smtpd: cannot run python3: {e}");
            (Vec::new(), 1)
        }
    };
    let check = check_maildir(&dir, &accepted, &prefix);
    let ok = check.missing == 0
        && check.duplicated == 0
        && check.damaged == 0
        && check.from_dead_sessions == 0
        && check.left_in_tmp == 0
        && sender_errors == 0
        && !accepted.is_empty()
        && end.clean(&base);
    let fields = [
        ("senders", json!(senders)),
        ("accepted", json!(accepted.len())),
        ("sender_errors", json!(sender_errors)),
        ("on_disk", json!(check.files)),
        ("missing", json!(check.missing)),
        ("duplicated", json!(check.duplicated)),
        ("damaged", json!(check.damaged)),
        ("hostile_sessions", json!(tally.hostile.get())),
        ("died_mid_data", json!(tally.dead_mid_data.get())),
        ("oversized", json!(tally.oversized.get())),
        (
            "delivered_from_dead_or_refused",
            json!(check.from_dead_sessions),
        ),
        ("left_in_tmp", json!(check.left_in_tmp)),
    ];
    end.report(&plan, "smtpd", elapsed, &base, &fields, ok);
    if ok {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("soak smtpd: the Maildir is kept at {}", dir.display());
    }
    ok
}

/// (accepted message numbers, errors) from the sender script's output.
fn parse_sender_output(out: &str) -> (Vec<u64>, u64) {
    let mut accepted = Vec::new();
    let mut errors = 0;
    for line in out.lines() {
        if let Some(id) = line.strip_prefix("ACCEPTED ") {
            if let Some(n) = id.rsplit('-').next().and_then(|n| n.parse().ok()) {
                accepted.push(n);
            }
        } else if line.starts_with("ERROR") {
            eprintln!("soak smtpd: sender {line}");
            errors += 1;
        }
    }
    (accepted, errors)
}

#[derive(Debug, Default)]
struct MaildirCheck {
    files: usize,
    missing: usize,
    duplicated: usize,
    damaged: usize,
    from_dead_sessions: usize,
    left_in_tmp: usize,
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

/// Every accepted message exactly once and whole; nothing else of ours
/// except messages a sender may not have heard accepted.
fn check_maildir(dir: &Path, accepted: &[u64], prefix: &str) -> MaildirCheck {
    let mut c = MaildirCheck {
        left_in_tmp: files_in(&dir.join("tmp")).len(),
        ..MaildirCheck::default()
    };
    let mut seen: HashMap<u64, usize> = HashMap::new();
    let mut files = files_in(&dir.join("new"));
    files.extend(files_in(&dir.join("cur")));
    c.files = files.len();
    for path in files {
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()).into_owned();
        if text.contains("PARTIAL-") || text.contains("OVERSIZE-") {
            eprintln!(
                "soak smtpd: delivered from a dead or refused session: {}",
                path.display()
            );
            c.from_dead_sessions += 1;
            continue;
        }
        let tag = format!("Message-ID: <{prefix}-");
        let Some(n) = text
            .find(&tag)
            .and_then(|i| text[i + tag.len()..].split('@').next())
            .and_then(|n| n.parse::<u64>().ok())
        else {
            eprintln!(
                "soak smtpd: a message without our Message-ID: {}",
                path.display()
            );
            c.damaged += 1;
            continue;
        };
        *seen.entry(n).or_insert(0) += 1;
        if !whole(&text, n) {
            eprintln!("soak smtpd: message {n} is damaged: {}", path.display());
            c.damaged += 1;
        }
    }
    for n in accepted {
        match seen.get(n) {
            None => c.missing += 1,
            Some(1) => {}
            Some(_) => c.duplicated += 1,
        }
    }
    c
}

/// Message `n` has every line the sender wrote, dot-unstuffed, in order.
fn whole(text: &str, n: u64) -> bool {
    let mut at = 0;
    for i in 0..n % 17 + 1 {
        let dot = if i % 3 == 0 { "." } else { "" };
        let line = format!(
            "\n{dot}line {i} of message {n} {}\n",
            "x".repeat((n * 7 % 300) as usize)
        );
        match text[at..].find(&line) {
            Some(p) => at += p + 1,
            None => return false,
        }
    }
    text[at..].contains(&format!("\n.\nend {n}\n"))
        || text[at..].contains(&format!("\n.\r\nend {n}\r\n"))
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
        let t = Duration::from_secs(3);
        let tag = rng.below(1 << 40);
        let envelope =
            b"EHLO hostile\r\nMAIL FROM:<h@soak.invalid>\r\nRCPT TO:<v@soak.invalid>\r\nDATA\r\n";
        match rng.below(7) {
            // Dies mid-DATA: a reset, or a plain close (FIN) without the end.
            0 | 1 => {
                let _ = write_within(&mut sock, envelope, t).await;
                let body =
                    format!("Message-ID: <PARTIAL-{tag}@soak.invalid>\r\n\r\npartial {n}\r\n");
                let _ = write_within(&mut sock, body.as_bytes(), t).await;
                let _ = write_within(&mut sock, &vec![b'p'; rng.size(64 << 10)], t).await;
                drain_for(&mut sock, Duration::from_millis(50)).await;
                add(&tally.dead_mid_data, 1);
                if rng.chance(50) {
                    reset(sock);
                    continue;
                }
            }
            // An oversized message, properly ended: refused, never stored.
            2 => {
                let _ = write_within(&mut sock, envelope, t).await;
                let head = format!("Message-ID: <OVERSIZE-{tag}@soak.invalid>\r\n\r\n");
                let _ = write_within(&mut sock, head.as_bytes(), t).await;
                let line = vec![b'o'; 998];
                let mut sent = 0;
                while sent <= MAX_SIZE + 4096 {
                    if !write_within(&mut sock, &line, t).await
                        || !write_within(&mut sock, b"\r\n", t).await
                    {
                        break;
                    }
                    sent += 1000;
                }
                let _ = write_within(&mut sock, b".\r\nQUIT\r\n", t).await;
                drain_for(&mut sock, Duration::from_millis(300)).await;
                add(&tally.oversized, 1);
            }
            // Garbage commands: NUL, invalid UTF-8, bare CR.
            3 => {
                let _ = write_within(&mut sock, &garbage(&mut rng), t).await;
                drain_for(&mut sock, Duration::from_millis(100)).await;
            }
            // An endless command line.
            4 => {
                let _ = write_within(&mut sock, &vec![b'E'; 1 << 20], t).await;
                drain_for(&mut sock, Duration::from_millis(100)).await;
            }
            // A trickle of a few bytes.
            5 => {
                let _ = trickle(&mut sock, b"EHLO slow\r\n", Duration::from_millis(100)).await;
                drain_for(&mut sock, Duration::from_millis(100)).await;
            }
            // Pipelined commands, replies never read.
            _ => {
                let flood = "NOOP\r\nRSET\r\nHELP\r\nVRFY x\r\n".repeat(500);
                let _ = write_within(&mut sock, flood.as_bytes(), t).await;
            }
        }
        drop(sock);
    }
}
