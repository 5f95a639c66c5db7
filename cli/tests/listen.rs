//! `--listen` as people type it, for every app that listens: the binary is
//! started with each accepted form (always port 0) and must say where it
//! listens and accept a connection there; the other forms are refused with
//! one line and exit code 2.

mod common;

use common::Proc;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Every app with `--listen`, with the options that keep it simple.
const APPS: [&[&str]; 3] = [&["echo"], &["chat"], &["smtpd"]];

/// Starts `app` with `--listen FORM`; returns where it listens.
fn serve(app: &[&str], form: &str) -> (Proc, SocketAddr) {
    let mut args = app.to_vec();
    args.extend(["--listen", form]);
    let p = Proc::serve(app[0], &args);
    let addr = p.addr();
    let conn = TcpStream::connect_timeout(&addr, Duration::from_secs(5));
    assert!(conn.is_ok(), "{app:?} {form}: cannot connect to {addr}");
    (p, addr)
}

#[test]
fn port_forms_mean_loopback_ipv4() {
    for app in APPS {
        for form in ["0", ":0", "127.0.0.1:0"] {
            let (_p, addr) = serve(app, form);
            assert_eq!(addr.ip().to_string(), "127.0.0.1", "{app:?} {form}");
            assert_ne!(addr.port(), 0);
        }
    }
}

#[test]
fn host_names_are_resolved_at_start_up() {
    for app in APPS {
        let (_p, addr) = serve(app, "localhost:0");
        assert!(addr.ip().is_loopback(), "{app:?}: {addr}");
    }
}

#[test]
fn ipv6_literals_in_brackets() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: no IPv6 loopback");
        return;
    }
    for app in APPS {
        let (_p, addr) = serve(app, "[::1]:0");
        assert_eq!(addr.to_string().split("]:").next(), Some("[::1"), "{app:?}");
    }
}

#[test]
fn other_forms_are_refused_with_one_line() {
    for app in APPS {
        for form in [
            "nonsense",
            "localhost",
            "127.0.0.1:99999",
            "::1:7007",
            "host name:7007",
            "no-such-host.invalid:7007",
            "",
        ] {
            let mut args = app.to_vec();
            args.extend(["--listen", form]);
            let out = common::run(&args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(
                err.starts_with(&format!("asyncore: bad listen address {form:?}: ")),
                "{args:?}: {err}"
            );
            assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
            assert!(out.stdout.is_empty(), "{args:?}");
        }
    }
}
