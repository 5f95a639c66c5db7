//! `https://` for `asyncore get`: which servers are trusted, and how TLS
//! failures read.

use super::{exit, Failure, GetOptions};
use crate::AppError;
use asyncore_loop::tls::{client_config, ClientConfig, Roots, TlsClose};
use std::sync::Arc;

/// The client configuration `opts` asks for: the compiled-in web roots,
/// the `--cacert` file's CAs, or (`--insecure`) no verification.
pub(super) fn config(opts: &GetOptions) -> Result<Arc<ClientConfig>, AppError> {
    let roots = match (&opts.cacert, opts.insecure) {
        (_, true) => Roots::Insecure,
        (Some(path), false) => Roots::CaFile(path),
        (None, false) => Roots::WebPki,
    };
    client_config(roots, &[b"http/1.1"]).map_err(|e| AppError::new(AppError::USAGE, e.to_string()))
}

/// How a TLS session that ended badly reads: a certificate that does
/// not verify gets [`exit::CERTIFICATE`]; other TLS errors
/// [`exit::CONNECT`]; a close without close_notify is not a failure here
/// (the body's framing decides).
pub(super) fn failure(close: Option<TlsClose>, peer: &str) -> Option<Failure> {
    match close? {
        TlsClose::BadCertificate(why) => {
            // The hint that can help: another CA only for an unknown issuer.
            let hint = if why.contains("CA that is not trusted") {
                "--cacert FILE trusts another CA; --insecure skips the check"
            } else if why.contains("CA:TRUE") {
                "make the certificate with CA:FALSE (and trust its CA with --cacert); --insecure skips the check"
            } else {
                "--insecure skips the check"
            };
            Some(Failure {
                code: exit::CERTIFICATE,
                message: format!("certificate error: {peer}: {why} ({hint})"),
            })
        }
        TlsClose::Error(why) => Some(Failure {
            code: exit::CONNECT,
            message: format!("TLS error with {peer}: {why}"),
        }),
        TlsClose::HandshakeTimeout | TlsClose::Truncated | TlsClose::CloseNotify => None,
    }
}
