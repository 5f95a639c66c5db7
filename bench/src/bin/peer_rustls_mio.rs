//! TLS echo peer on rustls + mio, one thread: the reference for
//! `asyncore echo --tls-cert` (the same TLS library, the mio peer's design).
//! Records are read until the socket would block (mio is edge-triggered),
//! every plaintext byte is written back at once, records are flushed until
//! the socket would block.
//!
//! `peer_rustls_mio HOST:PORT CERT KEY` prints `listening on ADDR`.

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection};
use std::io::{self, Read, Write};
use std::sync::Arc;

const LISTENER: Token = Token(usize::MAX);

struct Conn {
    stream: TcpStream,
    tls: ServerConnection,
}

fn config(cert: &str, key: &str) -> Arc<ServerConfig> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .expect("cert file")
        .collect::<Result<_, _>>()
        .expect("certs");
    let key = PrivateKeyDer::from_pem_file(key).expect("key file");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("cert and key"),
    )
}

/// Reads and echoes what the socket has; false when the connection is over.
fn on_readable(c: &mut Conn, buf: &mut [u8]) -> bool {
    loop {
        match c.tls.read_tls(&mut c.stream) {
            Ok(0) => return false,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
        if c.tls.process_new_packets().is_err() {
            let _ = c.tls.write_tls(&mut c.stream);
            return false;
        }
        loop {
            match c.tls.reader().read(buf) {
                Ok(0) => return false,
                Ok(n) => {
                    if c.tls.writer().write_all(&buf[..n]).is_err() {
                        return false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => return false,
            }
        }
        if !flush(c) {
            return false;
        }
    }
}

/// Writes records until the socket would block; false if it broke.
fn flush(c: &mut Conn) -> bool {
    while c.tls.wants_write() {
        match c.tls.write_tls(&mut c.stream) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

fn main() -> io::Result<()> {
    asyncore_bench::net::raise_nofile();
    let mut args = std::env::args().skip(1);
    let usage = "usage: peer_rustls_mio HOST:PORT CERT KEY";
    let addr = args.next().and_then(|a| a.parse().ok()).expect(usage);
    let (cert, key) = (args.next().expect(usage), args.next().expect(usage));
    let config = config(&cert, &key);
    let mut listener = TcpListener::bind(addr)?;
    println!("listening on {}", listener.local_addr()?);
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 65536];
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for ev in events.iter() {
            if ev.token() == LISTENER {
                while let Ok((mut stream, _)) = listener.accept() {
                    let Ok(tls) = ServerConnection::new(config.clone()) else {
                        continue;
                    };
                    let i = free.pop().unwrap_or_else(|| {
                        conns.push(None);
                        conns.len() - 1
                    });
                    poll.registry().register(
                        &mut stream,
                        Token(i),
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    conns[i] = Some(Conn { stream, tls });
                }
                continue;
            }
            let i = ev.token().0;
            let Some(c) = conns[i].as_mut() else { continue };
            let mut open = true;
            if ev.is_writable() {
                open = flush(c);
            }
            if open && (ev.is_readable() || ev.is_read_closed()) {
                open = on_readable(c, &mut buf);
            }
            if !open {
                if let Some(mut c) = conns[i].take() {
                    let _ = poll.registry().deregister(&mut c.stream);
                }
                free.push(i);
            }
        }
    }
}
