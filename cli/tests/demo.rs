//! `asyncore demo` run as a process, as the README's first command does:
//! exit 0, and the exchange printed (issue 5, item 1), on every backend.

mod common;

#[test]
fn demo_runs_as_a_process_on_every_backend() {
    for backend in ["select", "poll", "epoll"] {
        let out = common::run(&["--backend", backend, "demo"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{backend}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(&format!("one {backend} loop")), "{stdout}");
        assert!(stdout.contains("request:  GET /hello HTTP/1.0"), "{stdout}");
        assert!(stdout.contains("status:   HTTP/1.0 200 OK"), "{stdout}");
        assert!(stdout.contains("body:     105 bytes"), "{stdout}");
        assert!(
            out.stderr.is_empty(),
            "{backend}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn bad_arguments_give_one_line_and_exit_2() {
    let out = common::run(&["echo", "--listen", "not-an-address"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("asyncore: bad listen address"),
        "{stderr}"
    );
}
