//! `asyncore http` against real clients: curl, Python's http.client, and a
//! raw socket for pipelining. Every server binds 127.0.0.1 port 0 and is
//! killed (by its own handle) when its test ends.

mod common;

use common::http_client::{exchange, Client};
use common::{random_bytes, tempdir, Proc, TempDir, WAIT};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// `asyncore http --root ROOT ARGS` on 127.0.0.1:0; its second line (the
/// URL) is read.
fn serve(root: &Path, args: &[&str]) -> Proc {
    let (p, url) = common::serve_http(root, false, args);
    assert_eq!(
        url,
        format!(
            "http: serving {} at http://{}/",
            std::fs::canonicalize(root).unwrap().display(),
            p.addr()
        )
    );
    p
}

fn url(p: &Proc, path: &str) -> String {
    format!("http://{}{path}", p.addr())
}

fn curl(args: &[&str]) -> std::process::Output {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "30"])
        .args(args)
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn site() -> TempDir {
    let root = tempdir("http-site");
    std::fs::write(root.join("hello.txt"), "hello\n").unwrap();
    std::fs::create_dir(root.join("sub")).unwrap();
    std::fs::write(root.join("sub/index.html"), "<h1>sub</h1>\n").unwrap();
    std::fs::create_dir(root.join("empty")).unwrap();
    root
}

#[test]
fn curl_downloads_several_mib_byte_exact_on_one_connection() {
    let root = site();
    let data = random_bytes(5 << 20, 7);
    std::fs::write(root.join("big.bin"), &data).unwrap();
    let p = serve(&root, &[]);
    let out_dir = tempdir("http-dl");
    let (a, b) = (out_dir.join("a"), out_dir.join("b"));
    let u = url(&p, "/big.bin");
    let out = curl(&[
        "-w",
        "%{http_code} %{num_connects} %{content_type}\n",
        "-o",
        a.to_str().unwrap(),
        &u,
        "-o",
        b.to_str().unwrap(),
        &u,
    ]);
    let stats = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stats,
        "200 1 application/octet-stream\n200 0 application/octet-stream\n"
    );
    assert!(std::fs::read(&a).unwrap() == data, "first download differs");
    assert!(
        std::fs::read(&b).unwrap() == data,
        "second download differs"
    );
}

#[test]
fn curl_ranges_head_and_if_modified_since() {
    let root = site();
    let data = random_bytes(100_000, 3);
    std::fs::write(root.join("r.bin"), &data).unwrap();
    let p = serve(&root, &[]);
    let u = url(&p, "/r.bin");
    for (range, want) in [
        ("0-99", &data[..100]),
        ("-100", &data[99_900..]),
        ("99990-", &data[99_990..]),
        ("500-", &data[500..]),
    ] {
        let out = curl(&["-r", range, "-w", "%{http_code}", "-o", "-", &u]);
        let (body, code) = out.stdout.split_at(out.stdout.len() - 3);
        assert_eq!(code, b"206", "range {range}");
        assert!(body == want, "range {range}: body differs");
    }
    let out = curl(&["-r", "100000-", "-w", "%{http_code}", "-o", "/dev/null", &u]);
    assert_eq!(out.stdout, b"416");
    let head = String::from_utf8(curl(&["-I", &u]).stdout).unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    for field in [
        "Content-Length: 100000\r\n",
        "Accept-Ranges: bytes\r\n",
        "Content-Type: application/octet-stream\r\n",
        "ETag: \"",
        "Last-Modified: ",
    ] {
        assert!(head.contains(field), "{field:?} missing in {head}");
    }
    // -z DATE sends If-Modified-Since: a date after the file's is 304, long before is 200.
    let code = |z: &str| curl(&["-z", z, "-w", "%{http_code}", "-o", "/dev/null", &u]).stdout;
    assert_eq!(code("Fri, 01 Jan 2100 00:00:00 GMT"), b"304");
    assert_eq!(code("Sat, 01 Jan 2000 00:00:00 GMT"), b"200");
}

/// `/hello.txt`'s `ETag` and `Last-Modified`, from a first GET on `c`.
fn validators_of_hello(c: &mut Client) -> (String, String) {
    let r = c.get("/hello.txt");
    let field = |name: &str| r.header(name).unwrap().to_string();
    (field("etag"), field("last-modified"))
}

#[test]
fn etag_if_none_match_if_range_and_416_header() {
    let root = site();
    let p = serve(&root, &[]);
    let mut c = Client::connect(p.addr());
    let (etag, lm) = validators_of_hello(&mut c);
    c.send(
        format!("GET /hello.txt HTTP/1.1\r\nHost: t\r\nIf-None-Match: \"x\", {etag}\r\n\r\n")
            .as_bytes(),
    );
    let r = c.read(false).unwrap();
    assert_eq!((r.status, r.header("etag")), (304, Some(etag.as_str())));
    c.send(
        format!(
            "GET /hello.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=1-3\r\nIf-Range: {etag}\r\n\r\n"
        )
        .as_bytes(),
    );
    let r = c.read(false).unwrap();
    assert_eq!((r.status, r.body.as_slice()), (206, &b"ell"[..]));
    assert_eq!(r.header("content-range"), Some("bytes 1-3/6"));
    c.send(
        format!("GET /hello.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=1-3\r\nIf-Range: {lm}\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(c.read(false).unwrap().status, 206);
    c.send(
        b"GET /hello.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=1-3\r\nIf-Range: \"stale\"\r\n\r\n",
    );
    let r = c.read(false).unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello\n"[..]));
    c.send(b"GET /hello.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=6-\r\n\r\n");
    let r = c.read(false).unwrap();
    assert_eq!(
        (r.status, r.header("content-range")),
        (416, Some("bytes */6"))
    );
    // Still the same connection.
    assert_eq!(c.get("/hello.txt").status, 200);
}

#[test]
fn if_match_and_if_unmodified_since_fail_with_412() {
    let root = site();
    let p = serve(&root, &[]);
    let mut c = Client::connect(p.addr());
    let (etag, lm) = validators_of_hello(&mut c);
    let mut ask = |fields: &str| {
        c.send(format!("GET /hello.txt HTTP/1.1\r\nHost: t\r\n{fields}\r\n").as_bytes());
        let r = c.read(false).unwrap();
        (r.status, r.body)
    };
    // If-Match: the tag, one of a list (over two fields), or `*`: served.
    assert_eq!(
        ask(&format!("If-Match: {etag}\r\n")),
        (200, b"hello\n".to_vec())
    );
    assert_eq!(
        ask(&format!("If-Match: \"x\"\r\nIf-Match: \"y\", {etag}\r\n")).0,
        200
    );
    assert_eq!(ask("If-Match: *\r\n").0, 200);
    // Another tag, or the weak form of this one: 412, with no file bytes.
    let (status, body) = ask("If-Match: \"stale\"\r\n");
    assert_eq!(status, 412);
    assert!(!body.windows(5).any(|w| w == b"hello"), "no file bytes");
    assert_eq!(ask(&format!("If-Match: W/{etag}\r\n")).0, 412);
    // If-Unmodified-Since: at or after the file's date holds, before fails.
    assert_eq!(ask(&format!("If-Unmodified-Since: {lm}\r\n")).0, 200);
    assert_eq!(
        ask("If-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n").0,
        412
    );
    // If-Match decides when both are present (RFC 9110 13.2.2), and an
    // invalid date is ignored.
    assert_eq!(
        ask(&format!(
            "If-Match: {etag}\r\nIf-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n"
        ))
        .0,
        200
    );
    assert_eq!(ask("If-Unmodified-Since: yesterday\r\n").0, 200);
    // Preconditions come before If-None-Match and Range.
    assert_eq!(
        ask(&format!("If-Match: \"stale\"\r\nIf-None-Match: {etag}\r\n")).0,
        412
    );
    assert_eq!(ask("If-Match: \"stale\"\r\nRange: bytes=0-1\r\n").0, 412);
    let (status, body) = ask(&format!("If-Match: {etag}\r\nRange: bytes=0-1\r\n"));
    assert_eq!((status, body.as_slice()), (206, &b"he"[..]));
    // A directory listing (no index.html in /empty/) has no tag: only `*`
    // matches it.
    c.send(b"GET /empty/ HTTP/1.1\r\nHost: t\r\nIf-Match: \"x\"\r\n\r\n");
    assert_eq!(c.read(false).unwrap().status, 412);
    c.send(b"GET /empty/ HTTP/1.1\r\nHost: t\r\nIf-Match: *\r\n\r\n");
    let r = c.read(false).unwrap();
    assert_eq!(r.status, 200);
    assert!(
        String::from_utf8_lossy(&r.body).contains("<html"),
        "a listing"
    );
    // Still the same connection.
    assert_eq!(c.get("/hello.txt").status, 200);
}

#[test]
fn python_http_client_50_requests_on_one_connection() {
    let root = site();
    let p = serve(&root, &["--keep-alive-timeout", "30"]);
    let script = r#"
import http.client, sys
c = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=10)
socks = set()
for i in range(50):
    path = ["/hello.txt", "/sub/", "/", "/missing"][i % 4]
    c.request("HEAD" if i % 5 == 4 else "GET", path)
    socks.add(id(c.sock))
    r = c.getresponse()
    body = r.read()
    want = {"/hello.txt": 200, "/sub/": 200, "/": 200, "/missing": 404}[path]
    assert r.status == want, (i, path, r.status)
    if path == "/hello.txt" and i % 5 != 4:
        assert body == b"hello\n", body
assert len(socks) == 1, socks
print("ok")
"#;
    let out = Command::new("python3")
        .args([
            "-c",
            script,
            &p.addr().ip().to_string(),
            &p.addr().port().to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ok\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sixteen_pipelined_requests_are_answered_in_order() {
    let root = site();
    for i in 0..16 {
        std::fs::write(
            root.join(format!("f{i}.txt")),
            format!("file {i}\n").repeat(i + 1),
        )
        .unwrap();
    }
    let p = serve(&root, &[]);
    let mut c = Client::connect(p.addr());
    let mut batch = Vec::new();
    for i in 0..16 {
        let method = if i == 5 { "HEAD" } else { "GET" };
        batch.extend_from_slice(
            format!("{method} /f{i}.txt HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes(),
        );
    }
    c.send(&batch);
    for i in 0..16 {
        let r = c.read(i == 5).unwrap_or_else(|| panic!("response {i}"));
        assert_eq!(r.status, 200);
        let want = format!("file {i}\n").repeat(i + 1);
        assert_eq!(
            r.header("content-length"),
            Some(want.len().to_string().as_str())
        );
        if i != 5 {
            assert_eq!(r.body, want.as_bytes(), "response {i}");
        }
    }
    // The connection is still usable.
    assert_eq!(c.get("/hello.txt").body, b"hello\n");
}

#[test]
fn heads_end_at_their_empty_line_with_lf_or_crlf_in_any_pieces() {
    let root = site();
    let p = serve(&root, &["-q"]);
    let mut c = Client::connect(p.addr());
    // LF-only line endings; CRLF; empty lines before a request line
    // (skipped, RFC 9112 2.2); all pipelined in one send.
    c.send(
        b"GET /hello.txt HTTP/1.1\nHost: t\n\n\r\n\nGET /sub/ HTTP/1.1\r\nHost: t\r\n\r\nHEAD /hello.txt HTTP/1.1\nHost: t\r\n\n",
    );
    assert_eq!(c.read(false).unwrap().body, b"hello\n");
    assert_eq!(c.read(false).unwrap().body, b"<h1>sub</h1>\n");
    let head = c.read(true).unwrap();
    assert_eq!(
        (head.status, head.header("content-length")),
        (200, Some("6"))
    );
    // A head in pieces cut inside its line endings, each piece its own
    // segment (the pauses): still one request.
    let raw = b"GET /hello.txt HTTP/1.1\r\nHost: t\r\nX-A: b\r\n\r\n";
    for cut in [raw.len() - 1, raw.len() - 2, raw.len() - 3, 23, 24, 1] {
        c.send(&raw[..cut]);
        std::thread::sleep(Duration::from_millis(20));
        c.send(&raw[cut..]);
        let r = c.read(false).unwrap_or_else(|| panic!("cut at {cut}"));
        assert_eq!(
            (r.status, &r.body[..]),
            (200, &b"hello\n"[..]),
            "cut at {cut}"
        );
    }
    // A request line near the 8 KiB limit whose end comes in a later
    // piece: judged by its length, not by the piece.
    let long = format!("/{}", "x".repeat(8000));
    c.send(format!("GET {long}").as_bytes());
    std::thread::sleep(Duration::from_millis(20));
    c.send(b" HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.read(false).unwrap().status, 404);
    let mut c = Client::connect(p.addr());
    c.send(format!("GET /{}", "x".repeat(8180)).as_bytes());
    std::thread::sleep(Duration::from_millis(20));
    c.send(b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxx HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read(false).unwrap();
    assert_eq!((r.status, r.header("connection")), (414, Some("close")));
}

#[test]
fn http10_with_and_without_keep_alive() {
    let root = site();
    let p = serve(&root, &[]);
    let mut c = Client::connect(p.addr());
    c.send(b"GET /hello.txt HTTP/1.0\r\n\r\n");
    let r = c.read(false).unwrap();
    assert_eq!((r.status, r.header("connection")), (200, Some("close")));
    assert!(c.closed());

    let mut c = Client::connect(p.addr());
    for _ in 0..3 {
        c.send(b"GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        let r = c.read(false).unwrap();
        assert_eq!(
            (r.status, r.header("connection")),
            (200, Some("keep-alive"))
        );
        assert_eq!(r.body, b"hello\n");
    }
    c.send(b"GET /hello.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_eq!(c.read(false).unwrap().header("connection"), Some("close"));
    assert!(c.closed());
}

/// Every `href="..."` of a listing page.
fn hrefs(page: &str) -> Vec<String> {
    page.split("href=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .collect()
}

#[test]
fn listing_of_hostile_names_links_fetch_the_right_files() {
    let root = tempdir("http-hostile");
    let names = [
        "<img src=x onerror=alert(1)>",
        "a?b",
        "my:file",
        "#x",
        "with space",
        "été ✓.txt",
        "100%",
        "a&b\"c'd",
        "%2e",
    ];
    for (i, n) in names.iter().enumerate() {
        std::fs::write(root.join(n), format!("content {i}")).unwrap();
    }
    std::fs::create_dir(root.join("dir <b>")).unwrap();
    std::fs::write(root.join("dir <b>/inner"), "inner").unwrap();
    let p = serve(&root, &[]);
    let mut c = Client::connect(p.addr());
    let page = String::from_utf8(c.get("/").body).unwrap();
    assert!(!page.contains("<img"), "unescaped name in {page}");
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    let links = hrefs(&page);
    assert_eq!(links.len(), names.len() + 1, "{links:?}");
    for link in links {
        let r = c.get(&format!("/{link}"));
        assert_eq!(r.status, 200, "{link}");
        if let Some(dir) = link.strip_suffix('/') {
            assert_eq!(dir, "dir%20%3Cb%3E");
            let inner = String::from_utf8(r.body).unwrap();
            assert!(inner.contains("Index of /dir &lt;b&gt;/"), "{inner}");
            assert_eq!(
                c.get(&format!("/{dir}/{}", hrefs(&inner)[1])).body,
                b"inner"
            );
            continue;
        }
        let i = names
            .iter()
            .position(|n| common_encode(n) == link)
            .unwrap_or_else(|| panic!("unexpected link {link}"));
        assert_eq!(r.body, format!("content {i}").as_bytes(), "{link}");
    }
}

/// The encoding the listing promises: everything but unreserved characters.
fn common_encode(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// A file rewritten with its old size and modification time (as `cp -p`
// or `touch -d` leave it), or replaced by a rename, is served anew once its
// cache entry is a second old; it used to be served from the cache for as
// long as the server ran. And a file is not a directory: `/f/` is 404.
#[test]
fn a_changed_file_is_read_again_and_a_file_is_no_directory() {
    let root = site();
    let f = root.join("same.txt");
    std::fs::write(&f, "aaaa").unwrap();
    let when = std::fs::metadata(&f).unwrap().modified().unwrap();
    let set_when = |path: &Path| {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(when).unwrap();
    };
    let p = serve(&root, &[]);
    let mut c = Client::connect(p.addr());
    assert_eq!(c.get("/same.txt").body, b"aaaa");
    std::fs::write(&f, "bbbb").unwrap();
    set_when(&f);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(c.get("/same.txt").body, b"bbbb", "rewritten in place");
    let tmp = root.join("same.tmp");
    std::fs::write(&tmp, "cccc").unwrap();
    set_when(&tmp);
    std::fs::rename(&tmp, &f).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(c.get("/same.txt").body, b"cccc", "replaced by a rename");

    for target in ["/same.txt/", "/sub/index.html/", "/same.txt/?q"] {
        assert_eq!(c.get(target).status, 404, "{target}");
    }
}

#[test]
fn directories_redirect_without_slash_and_serve_index() {
    let root = site();
    std::fs::create_dir(root.join("evil.com")).unwrap();
    let p = serve(&root, &[]);
    let mut c = Client::connect(p.addr());
    for (target, location) in [
        ("/sub", "/sub/"),
        ("/sub?x=1", "/sub/?x=1"),
        ("//evil.com", "/evil.com/"),
        ("/%2fevil.com", "/evil.com/"),
        ("/%2F%2Fevil.com", "/evil.com/"),
        ("///evil.com", "/evil.com/"),
        ("/./evil.com", "/evil.com/"),
    ] {
        let r = c.get(target);
        assert_eq!(
            (r.status, r.header("location")),
            (301, Some(location)),
            "{target}"
        );
    }
    assert_eq!(c.get("/\\evil.com").status, 400);
    assert_eq!(c.get("/%5cevil.com").status, 400);
    let r = c.get("/sub/");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"<h1>sub</h1>\n"[..]));
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let r = c.get("/empty/");
    assert!(String::from_utf8(r.body)
        .unwrap()
        .contains("<h1>Index of /empty/</h1>"));
    // `index.htm` when there is no `index.html`, as Python's server does.
    std::fs::create_dir(root.join("old")).unwrap();
    std::fs::write(root.join("old/index.htm"), "<h1>old</h1>").unwrap();
    assert_eq!(c.get("/old/").body, b"<h1>old</h1>");
}

#[test]
fn errors_have_small_bodies_and_405_says_allow() {
    let root = site();
    let p = serve(&root, &[]);
    let mut c = Client::connect(p.addr());
    let r = c.get("/missing");
    assert_eq!(r.status, 404);
    assert!(r.body.len() < 200 && String::from_utf8_lossy(&r.body).contains("404 Not Found"));
    c.send(b"POST /hello.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nabcde");
    let r = c.read(false).unwrap();
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
    c.send(b"BREW /pot HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.read(false).unwrap().status, 501);
    c.send(b"HEAD /missing HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read(true).unwrap();
    assert_eq!(r.status, 404);
    // The body the HEAD answer announced was not sent: the next response follows at once.
    assert_eq!(c.get("/hello.txt").body, b"hello\n");
    assert_eq!(
        exchange(p.addr(), b"GET / HTTP/3.0\r\nHost: t\r\n\r\n")
            .unwrap()
            .status,
        505
    );
}

#[test]
fn access_log_in_common_log_format_and_quiet() {
    let root = site();
    let mut p = serve(&root, &[]);
    let mut c = Client::connect(p.addr());
    c.get("/hello.txt");
    c.get("/nope");
    c.send(b"GET /\x1b[31mred HTTP/1.1\r\nHost: t\r\n\r\n");
    c.read(false);
    let line = p.line(WAIT).unwrap();
    let (host_date, rest) = line.split_once("] ").unwrap();
    assert!(host_date.starts_with("127.0.0.1 - - ["), "{line}");
    assert!(host_date.ends_with(" +0000"), "{line}");
    assert_eq!(rest, "\"GET /hello.txt HTTP/1.1\" 200 6");
    let missing = p.line(WAIT).unwrap();
    assert!(
        missing.contains("] \"GET /nope HTTP/1.1\" 404 "),
        "{missing}"
    );
    let escaped = p.line(WAIT).unwrap();
    assert!(
        escaped.contains("\"GET /\\x1b[31mred HTTP/1.1\" 400 "),
        "{escaped}"
    );

    let root = root.to_str().unwrap();
    let mut q = Proc::serve(
        "http",
        &["-q", "http", "--listen", "127.0.0.1:0", "--root", root],
    );
    q.line(WAIT).unwrap(); // the URL
    let mut c = Client::connect(q.addr());
    assert_eq!(c.get("/hello.txt").status, 200);
    assert!(
        q.try_line(Duration::from_millis(300)).is_err(),
        "-q still logs"
    );
}

#[test]
fn help_states_defaults_and_the_symlink_policy() {
    let out = common::run(&["http", "--help"]);
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "127.0.0.1:8000",
        "[default: .]",
        "--follow-symlinks",
        "outside",
        "403",
        "-q",
    ] {
        assert!(help.contains(needle), "{needle:?} not in --help:\n{help}");
    }
}

#[test]
fn cached_small_files_are_rechecked_within_a_second_or_never_cached() {
    let root = site();
    let p = serve(&root, &[]);
    let n = serve(&root, &["--no-cache"]);
    let (mut c, mut u) = (Client::connect(p.addr()), Client::connect(n.addr()));
    assert_eq!(c.get("/hello.txt").body, b"hello\n");
    assert_eq!(u.get("/hello.txt").body, b"hello\n");
    std::fs::write(root.join("hello.txt"), "changed, and longer\n").unwrap();
    assert_eq!(u.get("/hello.txt").body, b"changed, and longer\n");
    std::thread::sleep(Duration::from_millis(1100));
    let r = c.get("/hello.txt");
    assert_eq!(r.body, b"changed, and longer\n");
    assert_eq!(r.header("content-length"), Some("20"));
    // A file removed is gone once rechecked.
    std::fs::remove_file(root.join("hello.txt")).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(c.get("/hello.txt").status, 404);
}

#[test]
fn a_client_that_half_closes_after_its_request_gets_the_whole_file() {
    let root = site();
    let data = random_bytes(3 << 20, 11);
    std::fs::write(root.join("big.bin"), &data).unwrap();
    let p = serve(&root, &[]);
    for version in ["1.0", "1.1"] {
        let mut s = std::net::TcpStream::connect(p.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        use std::io::{Read, Write};
        s.write_all(format!("GET /big.bin HTTP/{version}\r\nHost: t\r\n\r\n").as_bytes())
            .unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        let body_at = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert_eq!(all.len() - body_at, data.len(), "HTTP/{version}");
        assert!(all[body_at..] == data[..], "HTTP/{version}: body differs");
    }
}

#[test]
fn content_types_from_the_table_and_mime_overrides() {
    let root = site();
    for name in [
        "a.css",
        "b.JS",
        "c.json",
        "d.png",
        "e.unknown",
        "f.md",
        "noext",
    ] {
        std::fs::write(root.join(name), "x").unwrap();
    }
    let p = serve(
        &root,
        &[
            "--mime",
            "md=text/plain",
            "--mime",
            ".unknown=application/x-thing",
        ],
    );
    let mut c = Client::connect(p.addr());
    for (name, ty) in [
        ("a.css", "text/css; charset=utf-8"),
        ("b.JS", "text/javascript; charset=utf-8"),
        ("c.json", "application/json"),
        ("d.png", "image/png"),
        ("e.unknown", "application/x-thing"),
        ("f.md", "text/plain"),
        ("noext", "application/octet-stream"),
        ("hello.txt", "text/plain; charset=utf-8"),
    ] {
        assert_eq!(
            c.get(&format!("/{name}")).header("content-type"),
            Some(ty),
            "{name}"
        );
    }
}

#[test]
fn serves_the_current_directory_by_default() {
    let root = site();
    let mut p = Proc::spawn(
        Command::new(common::BIN)
            .args(["http", "--listen", "127.0.0.1:0"])
            .current_dir(&root)
            .stdin(std::process::Stdio::null()),
    );
    let addr = p.listening_addr("http", WAIT);
    let url_line = p.line(WAIT).unwrap();
    assert!(
        url_line.ends_with(&format!(" at http://{addr}/")),
        "{url_line}"
    );
    assert!(url_line.contains(&std::fs::canonicalize(&root).unwrap().display().to_string()));
    let mut c = Client::connect(addr);
    assert_eq!(c.get("/hello.txt").body, b"hello\n");
}
