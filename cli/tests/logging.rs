//! `-v`/`-vv` show the library's own events with timestamps and levels;
//! `RUST_LOG` is honoured; the default output has none of them.

mod common;

fn stderr_of(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = common::run_env(args, env);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?}: {stderr}");
    stderr
}

/// `[2026-11-30T15:51:11.472Z DEBUG asyncore_loop::core] #0.0 added: fd 3`
fn is_timestamped(line: &str, level: &str) -> bool {
    let Some(rest) = line.strip_prefix('[') else {
        return false;
    };
    let (stamp, rest) = rest.split_at(rest.find(' ').unwrap_or(0));
    stamp.len() == "2026-11-30T15:51:11.472Z".len()
        && stamp.ends_with('Z')
        && stamp.as_bytes()[10] == b'T'
        && rest.starts_with(&format!(" {level} asyncore_loop"))
}

fn lines_with<'a>(stderr: &'a str, level: &str, needle: &str) -> Vec<&'a str> {
    stderr
        .lines()
        .filter(|l| is_timestamped(l, level) && l.contains(needle))
        .collect()
}

#[test]
fn v_shows_the_library_debug_events_with_timestamps() {
    for backend in ["select", "poll", "epoll"] {
        let stderr = stderr_of(&["-v", "--backend", backend, "demo"], &[]);
        for needle in [
            "added: fd",
            "listening on 127.0.0.1:",
            "connecting to 127.0.0.1:",
            "connected to 127.0.0.1:",
            "accepted fd",
            "closed: the peer closed the connection",
        ] {
            assert!(
                !lines_with(&stderr, "DEBUG", needle).is_empty(),
                "{backend}: no {needle:?} in\n{stderr}"
            );
        }
        assert!(!stderr.contains("TRACE"), "{stderr}");
    }
}

#[test]
fn vv_adds_trace_events_and_the_flag_goes_anywhere() {
    // The trace lines checked are epoll's interest changes.
    let stderr = stderr_of(&["demo", "-vv", "--backend", "epoll"], &[]);
    assert!(
        !lines_with(&stderr, "TRACE", "watching for read").is_empty(),
        "{stderr}"
    );
    assert!(
        !lines_with(&stderr, "DEBUG", "added: fd").is_empty(),
        "{stderr}"
    );
}

#[test]
fn rust_log_is_honoured() {
    let stderr = stderr_of(&["demo"], &[("RUST_LOG", "asyncore_loop::cx=debug")]);
    assert!(
        !lines_with(&stderr, "DEBUG", "accepted fd").is_empty(),
        "{stderr}"
    );
    // Only the targets asked for: `added` comes from asyncore_loop::core.
    assert!(!stderr.contains("added: fd"), "{stderr}");
}

#[test]
fn default_output_has_no_library_events() {
    let stderr = stderr_of(&["demo"], &[]);
    assert!(stderr.is_empty(), "{stderr}");
}
