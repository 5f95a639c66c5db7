//! What the workspace's tests and benchmarks share, so that it is written
//! once: test certificates made with `openssl`.
//!
//! A dev-dependency of `asyncore-loop` and `asyncore-cli` and a dependency of
//! the benchmark kit; never published (a path dev-dependency without a
//! version is dropped from a published manifest).

use std::io;
use std::path::Path;
use std::process::{Command, Stdio};

/// Makes a CA and a leaf it signed for `name` and 127.0.0.1 in `dir`
/// (created if missing), with `openssl` (P-256 keys, valid two days):
/// `ca.pem`, `cert.pem` and its key `key.pem`, beside the CA's key and
/// the leaf's request. Nothing is checked in; `.ci/run` installs openssl.
///
/// # Examples
///
/// ```no_run
/// let dir = std::env::temp_dir().join("certs-example");
/// asyncore_testkit::make_certs(&dir, "localhost")?;
/// assert!(dir.join("cert.pem").exists());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn make_certs(dir: &Path, name: &str) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let run = |args: &[&str]| -> io::Result<()> {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot run openssl: {e}")))?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!("openssl {args:?} failed")))
        }
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec![
        "req",
        "-x509",
        "-days",
        "2",
        "-subj",
        "/CN=asyncore test CA",
    ];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    run(&ca)?;
    let subj = format!("/CN={name}");
    let mut req = vec!["req", "-new", "-subj", subj.as_str()];
    req.extend(ec);
    req.extend(["-keyout", "key.pem", "-out", "leaf.csr"]);
    run(&req)?;
    let ext = format!("subjectAltName=DNS:{name},IP:127.0.0.1\nbasicConstraints=CA:FALSE\n");
    std::fs::write(dir.join("leaf.ext"), ext)?;
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
        "-out",
        "cert.pem",
    ])
}
