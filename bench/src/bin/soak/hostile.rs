//! Socket moves shared by the hostile clients: a reset close, a non-reading
//! sender, a trickle, a reader that discards.

use std::os::fd::AsRawFd;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Closes with a reset (SO_LINGER 0) instead of a FIN.
pub fn reset(sock: TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket descriptor and a linger struct of the size given.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(sock);
}

/// Writes `data` but gives up after `limit` (a peer that stops reading
/// must not hold the harness).
pub async fn write_within(sock: &mut TcpStream, data: &[u8], limit: Duration) -> bool {
    matches!(
        tokio::time::timeout(limit, sock.write_all(data)).await,
        Ok(Ok(()))
    )
}

/// Sends `data` a few bytes at a time with `gap` between them.
pub async fn trickle(sock: &mut TcpStream, data: &[u8], gap: Duration) -> bool {
    for piece in data.chunks(3) {
        if sock.write_all(piece).await.is_err() {
            return false;
        }
        tokio::time::sleep(gap).await;
    }
    true
}

/// Junk lines: NUL, invalid UTF-8, bare CR, control bytes.
pub fn garbage(rng: &mut crate::Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(8) {
        let n = rng.size(300);
        let mut line = rng.bytes(n);
        line.retain(|&b| b != b'\n');
        line.extend_from_slice(match rng.below(3) {
            0 => b"\r\n",
            1 => b"\n",
            _ => b"\xff\xfe\x00\r\n",
        });
        out.extend_from_slice(&line);
    }
    out
}

/// Reads and discards for `d`.
pub async fn drain_for(sock: &mut TcpStream, d: Duration) {
    let mut buf = [0u8; 4096];
    let end = tokio::time::Instant::now() + d;
    while let Ok(Ok(n)) = tokio::time::timeout_at(end, sock.read(&mut buf)).await {
        if n == 0 {
            break;
        }
    }
}
