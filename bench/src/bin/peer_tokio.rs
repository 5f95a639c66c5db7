//! tokio echo peer on a current_thread runtime: the idiomatic task per
//! connection with a 4 KiB buffer (`tokio::io` copy loop by hand).
//! TCP_NODELAY is set: with 4 KiB writes, a 16 KiB message's last piece
//! otherwise waits for the client's delayed ACK (40 ms), which would measure
//! Nagle, not tokio. (The other peers answer each read with one write.)
//!
//! `peer_tokio HOST:PORT` prints `listening on ADDR`.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn main() -> std::io::Result<()> {
    asyncore_bench::net::raise_nofile();
    let addr: std::net::SocketAddr = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .expect("usage: peer_tokio HOST:PORT");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        println!("listening on {}", listener.local_addr()?);
        loop {
            let (mut sock, _) = match listener.accept().await {
                Ok(s) => s,
                Err(_) => continue,
            };
            let _ = sock.set_nodelay(true);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                loop {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if sock.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    })
}
