//! What a handler can read about its TLS session: the negotiated
//! parameters, and how the session ended.

/// The parameters a TLS session negotiated (see [`Cx::tls_info`](crate::Cx::tls_info)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// The protocol version, such as `TLSv1_3`; `None` before the handshake.
    pub version: Option<String>,
    /// The cipher suite's IANA name, such as `TLS13_AES_256_GCM_SHA384`.
    pub cipher: Option<String>,
    /// The application protocol both sides agreed on (ALPN), if any.
    pub alpn: Option<Vec<u8>>,
    /// The server name (SNI): the one a client asked for, or the one a
    /// server was asked for.
    pub sni: Option<String>,
}

/// How a TLS session ended (see [`Cx::tls_close`](crate::Cx::tls_close)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsClose {
    /// The peer sent close_notify: everything it sent arrived.
    CloseNotify,
    /// The stream ended without close_notify: what arrived may be cut short
    /// (a body delimited by the close is truncated).
    Truncated,
    /// The handshake did not finish in time; the channel was closed.
    HandshakeTimeout,
    /// The peer's certificate did not verify (unknown issuer, wrong name,
    /// expired...): why, as rustls says it.
    BadCertificate(String),
    /// Another TLS error (a bad record, no common parameters, an alert
    /// from the peer), as rustls says it.
    Error(String),
}
