//! The help text a new user reads first.

mod common;

fn help(args: &[&str]) -> String {
    let out = common::run(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    String::from_utf8(out.stdout).expect("utf-8 help")
}

#[test]
fn top_level_help_names_every_app() {
    let text = help(&["--help"]);
    let (about, _) = text.split_once("Usage:").expect("a usage line");
    for app in ["demo", "get", "echo", "chat", "smtpd"] {
        assert!(about.contains(app), "the description lacks {app}: {about}");
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&format!("{app} "))),
            "the command list lacks {app}: {text}"
        );
    }
}

#[test]
fn backend_help_lists_its_values() {
    for args in [&["--help"][..], &["echo", "--help"], &["get", "--help"]] {
        let text = help(args);
        // Short help: one line; long help: the option's paragraph.
        let at = text
            .find("--backend <BACKEND>")
            .unwrap_or_else(|| panic!("{args:?}: no --backend option"));
        let entry = text[at..].split("\n\n").next().unwrap_or("");
        assert!(
            entry.contains("[possible values: select, poll, epoll]"),
            "{args:?}: {entry}"
        );
    }
}

#[test]
fn no_internal_wording_in_any_help() {
    for args in [
        &["--help"][..],
        &["demo", "--help"],
        &["get", "--help"],
        &["echo", "--help"],
        &["chat", "--help"],
        &["smtpd", "--help"],
    ] {
        let text = help(args).to_lowercase();
        for word in ["seed", "spec", "issue", "ac-"] {
            assert!(!text.contains(word), "{args:?} says {word:?}: {text}");
        }
    }
}
