//! The library's rustdoc speaks to users: no internal spec IDs (`AC-Q-11`,
//! `TC-AC-3` ...) and no "seed" wording in `///` or `//!` lines; those belong
//! in `// Spec:` code comments and ARCHITECTURE.md. Doc links to repository
//! files are absolute, so they work on docs.rs.

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The doc-comment lines of the library's sources: (file, line number, text).
fn doc_lines() -> Vec<(String, usize, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut lines = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).expect("read source");
        for (i, line) in text.lines().enumerate() {
            let t = line.trim_start();
            if t.starts_with("///") || t.starts_with("//!") {
                lines.push((file.display().to_string(), i + 1, t.to_string()));
            }
        }
    }
    assert!(lines.len() > 500, "found the sources");
    lines
}

/// A spec ID: `AC-`, `TC-`, `X-AC-` or `X-CH-` followed by an upper-case part.
fn is_spec_id(word: &str) -> bool {
    ["AC-", "TC-", "X-AC-", "X-CH-"].iter().any(|prefix| {
        word.strip_prefix(prefix)
            .and_then(|rest| rest.chars().next())
            .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    })
}

fn words(line: &str) -> impl Iterator<Item = &str> {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| !w.is_empty())
}

#[test]
fn spec_id_pattern_recognises_ids_and_nothing_else() {
    for id in ["AC-Q-11", "TC-AC-3", "X-AC-5", "AC-STATE", "AC-CHAT-Q-3"] {
        assert!(is_spec_id(id), "{id}");
    }
    for word in ["EMFILE", "AC", "X-Forwarded-For", "TC-", "non-blocking"] {
        assert!(!is_spec_id(word), "{word}");
    }
}

#[test]
fn rustdoc_has_no_spec_ids() {
    let found: Vec<String> = doc_lines()
        .into_iter()
        .filter(|(_, _, text)| words(text).any(is_spec_id))
        .map(|(file, line, text)| format!("{file}:{line}: {text}"))
        .collect();
    assert!(
        found.is_empty(),
        "spec IDs belong in `// Spec:` comments:\n{}",
        found.join("\n")
    );
}

#[test]
fn rustdoc_has_no_seed_wording() {
    let found: Vec<String> = doc_lines()
        .into_iter()
        .filter(|(_, _, text)| words(text).any(|w| w.eq_ignore_ascii_case("seed")))
        .map(|(file, line, text)| format!("{file}:{line}: {text}"))
        .collect();
    assert!(found.is_empty(), "internal wording:\n{}", found.join("\n"));
}

#[test]
fn repository_files_are_linked_absolutely() {
    // A relative link to ARCHITECTURE.md (or any repository file) is broken
    // on docs.rs, where only the crate's rustdoc exists.
    let found: Vec<String> = doc_lines()
        .into_iter()
        .filter(|(_, _, text)| {
            text.contains(".md") && !text.contains("https://github.com/asyncore-rs/asyncore/")
        })
        .map(|(file, line, text)| format!("{file}:{line}: {text}"))
        .collect();
    assert!(
        found.is_empty(),
        "relative file links:\n{}",
        found.join("\n")
    );
}
