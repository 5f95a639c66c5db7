//! The help text a new user reads first.

mod common;

fn help(args: &[&str]) -> String {
    let out = common::run(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    String::from_utf8(out.stdout).expect("utf-8 help")
}

/// The apps the top-level help lists under "Commands:" (clap's own `help`
/// left out), so a new app cannot be missed by the tests below.
fn apps() -> Vec<String> {
    let text = help(&["--help"]);
    let (_, commands) = text.split_once("Commands:").expect("a command list");
    let commands = commands.split("\n\n").next().unwrap_or("");
    commands
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn top_level_help_names_every_app() {
    let apps = apps();
    for app in ["demo", "get", "echo", "chat", "smtpd", "http"] {
        assert!(
            apps.iter().any(|a| a == app),
            "the command list lacks {app}: {apps:?}"
        );
    }
    let text = help(&["--help"]);
    let (about, _) = text.split_once("Usage:").expect("a usage line");
    for app in &apps {
        assert!(
            about.contains(app.as_str()),
            "the description lacks {app}: {about}"
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
    let apps = apps();
    let mut all = vec![vec!["--help"]];
    all.extend(apps.iter().map(|app| vec![app.as_str(), "--help"]));
    for args in &all {
        let text = help(args).to_lowercase();
        for word in ["seed", "spec", "issue", "ac-"] {
            assert!(!text.contains(word), "{args:?} says {word:?}: {text}");
        }
    }
}
