//! The interest rules on real rustls sessions, in memory (no sockets):
//! what the socket is watched for, for each state of a session.

use super::hooks::interest;
use super::session::TlsSession;
use super::{client_config, server_config, Roots};
use crate::channel::Channel;
use rustls::pki_types::ServerName;
use rustls::{ClientConnection, Connection, ServerConnection};
use std::path::{Path, PathBuf};

/// A CA and a leaf for localhost, made with openssl in a fresh directory.
fn certs() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("asyncore-tls-unit-{}", std::process::id()));
    asyncore_testkit::make_certs(&dir, "localhost").expect("test certificates (openssl)");
    dir
}

/// Moves every record `from` has for `to`.
fn transfer(from: &mut Connection, to: &mut Connection) {
    let mut wire = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut wire).unwrap();
    }
    let mut rd = &wire[..];
    while !rd.is_empty() {
        to.read_tls(&mut rd).unwrap();
        to.process_new_packets().unwrap();
    }
}

fn channel(conn: Connection, established: bool) -> Channel {
    let mut session = TlsSession::new(conn, None);
    session.established = established;
    Channel {
        tls: Some(Box::new(session)),
        ..Channel::default()
    }
}

/// A server session after a full handshake with a client, and the client.
fn pair(dir: &Path) -> (Connection, Connection) {
    let server = server_config(dir.join("cert.pem"), dir.join("key.pem"), &[]).unwrap();
    let client = client_config(Roots::CaFile(&dir.join("ca.pem")), &[]).unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut c = Connection::Client(ClientConnection::new(client, name).unwrap());
    let mut s = Connection::Server(ServerConnection::new(server).unwrap());
    for _ in 0..4 {
        transfer(&mut c, &mut s);
        transfer(&mut s, &mut c);
    }
    assert!(!s.is_handshaking() && !c.is_handshaking());
    (s, c)
}

#[test]
fn interest_follows_the_session() {
    let dir = certs();
    // Handshaking: rustls alone decides; the handler's writable() is ignored.
    let server = server_config(dir.join("cert.pem"), dir.join("key.pem"), &[]).unwrap();
    let fresh = channel(Connection::Server(ServerConnection::new(server).unwrap()), false);
    assert_eq!(interest(&fresh, false, true), (true, false, false));

    let (s, mut c) = pair(&dir);
    // Established, nothing waiting: the handler's answers, as on a plain channel.
    let mut s = s;
    transfer(&mut c, &mut s); // nothing left from the client
    let idle = channel(s, true);
    assert!(!idle.tls.as_ref().unwrap().wants_write(), "tickets went in the handshake");
    assert_eq!(interest(&idle, true, false), (true, false, false));
    assert_eq!(interest(&idle, false, true), (false, true, false));

    // Plaintext decrypted and waiting: no socket read interest (rustls
    // refuses input), the ready list instead while the handler reads.
    let mut s = idle.tls.unwrap().into_conn_for_tests();
    use std::io::Write;
    c.writer().write_all(&[7u8; 1000]).unwrap();
    transfer(&mut c, &mut s);
    let waiting = channel(s, true);
    assert_eq!(interest(&waiting, true, false), (false, false, true));
    // A paused handler: nothing at all (no spin, nothing lost).
    assert_eq!(interest(&waiting, false, false), (false, false, false));
    let _ = std::fs::remove_dir_all(&dir);
}
