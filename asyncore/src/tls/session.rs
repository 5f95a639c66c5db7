//! One channel's TLS session: a rustls connection and what the loop needs
//! to know about it (established, closing, why it ended).
//!
//! The socket is read and written here, through the channel's descriptor,
//! with the same non-blocking calls as a plain channel (MSG_NOSIGNAL sends).

use super::info::{TlsClose, TlsInfo};
use crate::sys::fd;
use crate::timer::TimerId;
use rustls::Connection;
use std::io::{self, Read, Write};
use std::os::fd::RawFd;
use std::time::Duration;

/// Plaintext accepted by one `send` at most: the record layer splits it,
/// and a bounded chunk keeps what waits inside rustls small.
const SEND_CHUNK: usize = 64 * 1024;

/// How long a closed channel's last records may wait for the socket
/// without progress, unless set otherwise.
pub(crate) const DEFAULT_LINGER: Duration = Duration::from_secs(10);

/// The session of one TLS channel.
pub(crate) struct TlsSession {
    conn: Connection,
    /// `handle_tls_established` was delivered.
    pub(crate) established: bool,
    /// close_notify was queued (it is sent once).
    notify_sent: bool,
    /// Why the session ended, once it has.
    pub(crate) ended: Option<TlsClose>,
    /// The handshake deadline's timer, while it is armed.
    pub(crate) deadline: Option<TimerId>,
    /// The server name a client asked for (servers read it from rustls).
    client_sni: Option<String>,
    /// A write to the socket failed: the peer is gone.
    pub(crate) write_failed: bool,
    /// How long records left at the close may wait for the socket without
    /// progress (`None`: dropped at the close).
    pub(crate) linger: Option<Duration>,
}

impl std::fmt::Debug for TlsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSession")
            .field("established", &self.established)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

/// What a socket read did to the session.
pub(crate) enum Filled {
    /// Records arrived and were processed (maybe no plaintext yet).
    Progress,
    /// The socket had nothing.
    WouldBlock,
    /// The peer closed the TCP stream.
    Eof,
    /// A TLS error ended the session (`ended` says which); its alert was
    /// sent if the socket took it.
    Failed,
}

/// The descriptor as `Read`/`Write` for rustls.
struct Sock(RawFd);

impl Read for Sock {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        fd::recv(self.0, buf)
    }
}

impl Write for Sock {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        fd::send(self.0, buf, libc::MSG_NOSIGNAL)
    }
    // rustls writes its queued records as one vectored write: they leave in
    // one segment (one per record would meet Nagle and delayed ACKs).
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        fd::send_vectored(self.0, bufs, libc::MSG_NOSIGNAL)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A rustls error as an `io::Error` (kind `InvalidData`; the rustls error
/// inside, so callers can tell certificate errors apart).
pub(crate) fn tls_error(err: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, err)
}

impl TlsSession {
    pub(crate) fn new(conn: Connection, client_sni: Option<String>) -> Self {
        let mut conn = conn;
        // Bounded output: `send` refuses more once this much waits.
        conn.set_buffer_limit(Some(SEND_CHUNK * 2));
        TlsSession {
            conn,
            established: false,
            notify_sent: false,
            ended: None,
            deadline: None,
            client_sni,
            write_failed: false,
            linger: Some(DEFAULT_LINGER),
        }
    }

    /// The session failed (an error, a handshake timeout): nothing more
    /// goes through it.
    pub(crate) fn failed(&self) -> bool {
        matches!(
            self.ended,
            Some(TlsClose::Error(_) | TlsClose::BadCertificate(_) | TlsClose::HandshakeTimeout)
        )
    }

    /// The session can still carry this side's data: it did not fail and
    /// this side did not close it (the peer's close_notify or FIN ends only
    /// its own direction).
    pub(crate) fn can_send(&self) -> bool {
        !self.notify_sent
            && matches!(
                self.ended,
                None | Some(TlsClose::CloseNotify) | Some(TlsClose::Truncated)
            )
    }

    /// The peer may still read what this side writes: the handshake is
    /// done, no write failed, and the peer did not cut the stream (a peer
    /// that ended its side without close_notify aborted).
    pub(crate) fn peer_reads(&self) -> bool {
        self.established
            && !self.write_failed
            && matches!(self.ended, None | Some(TlsClose::CloseNotify))
    }

    #[cfg(test)]
    pub(crate) fn into_conn_for_tests(self) -> Connection {
        self.conn
    }

    pub(crate) fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// rustls has records to write.
    pub(crate) fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// rustls takes more input: false while decrypted plaintext waits to be
    /// read, after close_notify, or once the session ended.
    pub(crate) fn wants_read(&self) -> bool {
        self.ended.is_none() && self.conn.wants_read()
    }

    /// The reader has something for the handler without a socket read:
    /// decrypted plaintext, or the peer's close_notify not yet reported.
    pub(crate) fn reader_ready(&self) -> bool {
        // After the handshake `wants_read` is false exactly then.
        self.ended.is_none() && !self.conn.is_handshaking() && !self.conn.wants_read()
    }

    /// Writes pending records until the socket refuses; true when nothing
    /// is left. A broken connection is an `Err`.
    pub(crate) fn flush(&mut self, fd: RawFd) -> io::Result<bool> {
        self.flush_counted(fd).map(|(_, done)| done)
    }

    /// [`flush`](Self::flush), and how many bytes the socket took.
    pub(crate) fn flush_counted(&mut self, fd: RawFd) -> io::Result<(usize, bool)> {
        let mut sock = Sock(fd);
        let mut wrote = 0;
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut sock) {
                Ok(n) => wrote += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok((wrote, false)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.write_failed = true;
                    return Err(e);
                }
            }
        }
        Ok((wrote, true))
    }

    /// One socket read into rustls, and the records processed. A TLS error
    /// ends the session (its alert is sent when the socket takes it).
    pub(crate) fn fill(&mut self, fd: RawFd) -> io::Result<Filled> {
        let got = match self.conn.read_tls(&mut Sock(fd)) {
            Ok(0) => Filled::Eof,
            Ok(_) => Filled::Progress,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Filled::WouldBlock),
            Err(e) => return Err(e),
        };
        if let Err(err) = self.conn.process_new_packets() {
            self.ended = Some(match err {
                rustls::Error::InvalidCertificate(why) => {
                    TlsClose::BadCertificate(certificate_problem(&why))
                }
                other => TlsClose::Error(other.to_string()),
            });
            let _ = self.flush(fd);
            return Ok(Filled::Failed);
        }
        Ok(got)
    }

    /// Takes decrypted plaintext: `Ok(0)` after close_notify, `UnexpectedEof`
    /// when the stream ended without it, `WouldBlock` when none waits.
    pub(crate) fn read_plaintext(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.conn.reader().read(buf)
    }

    /// Accepts up to one chunk of plaintext; less, or 0, once the records
    /// waiting for the socket reach the buffer limit.
    pub(crate) fn write_plaintext(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(SEND_CHUNK);
        self.conn.writer().write(&data[..n])
    }

    /// Queues close_notify (once) and writes what the socket takes now;
    /// never waits for the rest. True if nothing is left to write.
    pub(crate) fn close_notify(&mut self, fd: RawFd) -> bool {
        let sound = matches!(self.ended, None | Some(TlsClose::CloseNotify));
        if !self.notify_sent && sound && !self.conn.is_handshaking() {
            self.notify_sent = true;
            self.conn.send_close_notify();
        }
        matches!(self.flush(fd), Ok(true))
    }

    /// The negotiated parameters.
    pub(crate) fn info(&self) -> TlsInfo {
        let sni = match &self.conn {
            Connection::Server(s) => s.server_name().map(str::to_string),
            Connection::Client(_) => self.client_sni.clone(),
        };
        TlsInfo {
            version: self.conn.protocol_version().map(|v| format!("{v:?}")),
            cipher: self
                .conn
                .negotiated_cipher_suite()
                .and_then(|s| s.suite().as_str())
                .map(str::to_string),
            alpn: self.conn.alpn_protocol().map(<[u8]>::to_vec),
            sni,
        }
    }
}

/// Why a certificate was refused, in words (rustls spells some of its
/// reasons as their Rust names).
fn certificate_problem(why: &rustls::CertificateError) -> String {
    use rustls::CertificateError as E;
    match why {
        E::UnknownIssuer => "issued by a CA that is not trusted".into(),
        E::BadSignature => "its signature does not verify".into(),
        E::Revoked => "revoked".into(),
        E::Expired => "certificate expired".into(),
        E::NotValidYet => "certificate not valid yet".into(),
        E::NotValidForName => "certificate not valid for the server's name".into(),
        E::Other(other) if format!("{other:?}").contains("CaUsedAsEndEntity") => {
            "the server's own certificate is a CA certificate (CA:TRUE), which cannot be \
             trusted as the server's certificate"
                .into()
        }
        other => other.to_string(),
    }
}
