//! `asyncore http`'s security rules against hostile requests: traversal in
//! every encoding (curl --path-as-is and raw targets), NUL, absolute-form
//! targets, symlinks in and out of the root, request smuggling.

mod common;

use common::http_client::{exchange, Client};
use common::{tempdir, Proc, TempDir};
use std::path::{Path, PathBuf};
use std::process::Command;

const SECRET: &str = "TOP-SECRET-OUTSIDE-THE-ROOT";

/// `base/secret.txt` outside, `base/root` served, with `a.txt`, `sub/`.
fn layout() -> (TempDir, PathBuf) {
    let base = tempdir("http-sec");
    std::fs::write(base.join("secret.txt"), SECRET).unwrap();
    std::fs::create_dir(base.join("secretdir")).unwrap();
    std::fs::write(base.join("secretdir/s.txt"), SECRET).unwrap();
    let root = base.join("root");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("a.txt"), "inside").unwrap();
    (base, root)
}

fn serve(root: &Path, args: &[&str]) -> Proc {
    common::serve_http(root, true, args).0
}

const TRAVERSALS: &[&str] = &[
    "/../secret.txt",
    "/sub/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/.%2e/secret.txt",
    "/%2e./secret.txt",
    "/%2e%2e%2fsecret.txt",
    "/..%2fsecret.txt",
    "/..%2Fsecret.txt",
    "/sub%2f..%2f..%2fsecret.txt",
    "/..%5csecret.txt",
    "/..\\secret.txt",
    "/sub\\..\\..\\secret.txt",
    "/%252e%252e/secret.txt",
    "/%252e%252e%252fsecret.txt",
    "/%c0%ae%c0%ae/secret.txt",
    "//../secret.txt",
    "/./../secret.txt",
    "/../secretdir/s.txt",
    "/..",
    "/../",
];

#[test]
fn curl_path_as_is_never_reaches_outside_the_root() {
    let (_base, root) = layout();
    let p = serve(&root, &[]);
    for t in TRAVERSALS {
        let out = Command::new("curl")
            .args([
                "-s",
                "--max-time",
                "10",
                "--path-as-is",
                "-w",
                "\n%{http_code}",
            ])
            .arg(format!("http://{}{t}", p.addr()))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let code = text.rsplit('\n').next().unwrap();
        assert!(!text.contains(SECRET), "{t} leaked the secret");
        assert!(code == "400" || code == "404", "{t}: {code}");
    }
}

#[test]
fn raw_traversal_nul_and_absolute_form_targets() {
    let (_base, root) = layout();
    std::fs::write(root.join("%2e"), "a literal %2e name").unwrap();
    let p = serve(&root, &[]);
    let mut c = Client::connect(p.addr());
    for t in TRAVERSALS {
        let r = c.get(t);
        assert!(!String::from_utf8_lossy(&r.body).contains(SECRET), "{t}");
        assert!(r.status == 400 || r.status == 404, "{t}: {}", r.status);
    }
    // %252e is decoded once: the literal name `%2e`.
    let r = c.get("/%252e");
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, &b"a literal %2e name"[..])
    );
    // NUL, encoded or raw: 400.
    assert_eq!(c.get("/a.txt%00.html").status, 400);
    c.send(b"GET /a.txt\0 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.read(false).map(|r| r.status), Some(400));
    // Absolute-form targets: the path alone counts.
    for (t, want) in [
        ("http://t/a.txt", 200),
        ("HTTP://t//a.txt", 200),
        ("http://t/../secret.txt", 400),
        ("http://t/%2e%2e/secret.txt", 400),
        ("http://..%2f..%2fsecret.txt", 200), // authority, then no path: the root's listing
        ("file:///etc/passwd", 400),
        ("*", 400),
        ("secret.txt", 400),
    ] {
        let r = exchange(
            p.addr(),
            format!("GET {t} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(r.status, want, "{t}");
        assert!(!String::from_utf8_lossy(&r.body).contains(SECRET), "{t}");
    }
}

#[test]
fn symlinks_out_of_the_root_are_403_unless_followed() {
    let (base, root) = layout();
    let link = |to: &Path, name: &str| std::os::unix::fs::symlink(to, root.join(name)).unwrap();
    link(&root.join("a.txt"), "in.txt");
    link(Path::new("sub"), "insub");
    link(&base.join("secret.txt"), "out.txt");
    link(Path::new("../secretdir"), "outdir");
    link(Path::new("/nonexistent/x"), "dangling");
    let p = serve(&root, &[]);
    let mut c = Client::connect(p.addr());
    assert_eq!(c.get("/in.txt").body, b"inside");
    assert_eq!(c.get("/insub/").status, 200);
    for t in ["/out.txt", "/outdir/", "/outdir/s.txt", "/outdir"] {
        let r = c.get(t);
        assert_eq!(r.status, 403, "{t}");
        assert!(!String::from_utf8_lossy(&r.body).contains(SECRET));
    }
    assert_eq!(c.get("/dangling").status, 404);
    // The listing shows them; following them is what is refused.
    let page = String::from_utf8(c.get("/").body).unwrap();
    assert!(page.contains("href=\"out.txt\""));

    let f = serve(&root, &["--follow-symlinks"]);
    let mut c = Client::connect(f.addr());
    assert_eq!(c.get("/out.txt").body, SECRET.as_bytes());
    assert_eq!(c.get("/outdir/s.txt").body, SECRET.as_bytes());
    // Targets still cannot climb out by themselves.
    assert_eq!(c.get("/../secret.txt").status, 400);
}

#[test]
fn smuggling_attempts_are_400_and_close() {
    let (_base, root) = layout();
    let p = serve(&root, &[]);
    let follow = b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n";
    for head in [
        &b"GET /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 33\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
        b"GET /a.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 33\r\n\r\n",
        b"GET /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 33\r\nContent-Length: 0\r\n\r\n",
        b"GET /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 0, 33\r\n\r\n",
        b"GET /a.txt HTTP/1.1\r\nHost: t\r\nX-Folded: a\r\n Content-Length: 33\r\n\r\n",
        b"GET /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length : 33\r\n\r\n",
        b"GET /a.txt HTTP/1.1\r\nHost: t\r\nX: y\rContent-Length: 33\r\n\r\n",
        b"GET /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n",
        b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\tContent-Length: 33\r\n\r\n",
    ] {
        let mut c = Client::connect(p.addr());
        let mut raw = head.to_vec();
        raw.extend_from_slice(follow);
        c.send(&raw);
        let r = c.read(false).unwrap();
        assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(head));
        assert_eq!(r.header("connection"), Some("close"));
        assert!(c.closed(), "{}: still open", String::from_utf8_lossy(head));
    }
    // Transfer-Encoding alone: not understood, 501, closed.
    let mut c = Client::connect(p.addr());
    c.send(b"GET /a.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    assert_eq!(c.read(false).unwrap().status, 501);
    assert!(c.closed());
}

#[test]
fn a_get_body_is_consumed_never_parsed_as_a_request() {
    let (_base, root) = layout();
    let p = serve(&root, &[]);
    let mut c = Client::connect(p.addr());
    let inner = b"GET /sub/ HTTP/1.1\r\nHost: t\r\n\r\n";
    let mut raw = format!(
        "GET /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        inner.len()
    )
    .into_bytes();
    raw.extend_from_slice(inner);
    raw.extend_from_slice(b"GET /missing HTTP/1.1\r\nHost: t\r\n\r\n");
    c.send(&raw);
    let first = c.read(false).unwrap();
    assert_eq!((first.status, first.body.as_slice()), (200, &b"inside"[..]));
    // The next answer is the 404 for /missing, not the listing of /sub/.
    assert_eq!(c.read(false).unwrap().status, 404);
    // A body sent in pieces, after the head.
    c.send(b"GET /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nGET /");
    assert_eq!(c.read(false).unwrap().status, 200);
    c.send(b"sub/\n");
    c.send(b"GET /missing HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.read(false).unwrap().status, 404);
    // Over the body limit: 413 and closed.
    c.send(b"GET /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999\r\n\r\n");
    assert_eq!(c.read(false).unwrap().status, 413);
    assert!(c.closed());
}
