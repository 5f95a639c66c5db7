//! Ready-made rustls configurations: a server from PEM files, a client
//! trusting the compiled-in web roots, a CA file, or (for testing) anything.
//! Every one uses the ring provider, whatever the process default is.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use std::io;
use std::path::Path;
use std::sync::Arc;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

fn invalid(what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what.to_string())
}

/// The certificates of a PEM file (a chain: the leaf first).
pub fn load_certs(path: impl AsRef<Path>) -> io::Result<Vec<CertificateDer<'static>>> {
    let path = path.as_ref();
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| invalid(format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(invalid(format!("{}: no certificate found", path.display())));
    }
    Ok(certs)
}

/// The private key of a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn load_key(path: impl AsRef<Path>) -> io::Result<PrivateKeyDer<'static>> {
    let path = path.as_ref();
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            invalid(format!("{}: no private key in it (PEM)", path.display()))
        }
        other => invalid(format!("{}: {other}", path.display())),
    })
}

/// A server configuration from a PEM certificate chain and its key, with
/// TLS 1.2 and 1.3 and no client certificates. `alpn` lists the
/// application protocols offered, most preferred first (may be empty).
///
/// # Examples
///
/// ```no_run
/// let config = asyncore_loop::tls::server_config("cert.pem", "key.pem", &[])?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn server_config(
    cert: impl AsRef<Path>,
    key: impl AsRef<Path>,
    alpn: &[&[u8]],
) -> io::Result<Arc<ServerConfig>> {
    let (cert, key) = (cert.as_ref(), key.as_ref());
    let certs = load_certs(cert)?;
    let key_der = load_key(key)?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(invalid)?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => invalid(format!(
                "{}: not the key of the certificate in {}",
                key.display(),
                cert.display()
            )),
            other => invalid(format!("{} with {}: {other}", cert.display(), key.display())),
        })?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// Which servers a client trusts.
#[derive(Clone, Copy, Debug)]
pub enum Roots<'a> {
    /// The Mozilla root program's roots, compiled in (webpki-roots).
    WebPki,
    /// The CA certificates of a PEM file, only.
    CaFile(&'a Path),
    /// Any certificate for any name: **no authentication at all**. For
    /// testing against self-signed servers (the command's `--insecure`).
    Insecure,
}

/// A client configuration trusting `roots`, with TLS 1.2 and 1.3 and no
/// client certificate. `alpn` lists the protocols offered (may be empty).
///
/// # Examples
///
/// ```
/// use asyncore_loop::tls::{client_config, Roots};
/// let config = client_config(Roots::WebPki, &[b"http/1.1"])?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn client_config(roots: Roots<'_>, alpn: &[&[u8]]) -> io::Result<Arc<ClientConfig>> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(invalid)?;
    let mut config = match roots {
        Roots::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnything(provider())))
            .with_no_client_auth(),
        Roots::WebPki => {
            let mut store = RootCertStore::empty();
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            builder.with_root_certificates(store).with_no_client_auth()
        }
        Roots::CaFile(path) => {
            let mut store = RootCertStore::empty();
            for cert in load_certs(path)? {
                store
                    .add(cert)
                    .map_err(|e| invalid(format!("{}: {e}", path.display())))?;
            }
            builder.with_root_certificates(store).with_no_client_auth()
        }
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// `Roots::Insecure`: the handshake's signatures are still checked (so the
/// session keys are sound), the certificate and the name are not.
#[derive(Debug)]
struct AcceptAnything(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
