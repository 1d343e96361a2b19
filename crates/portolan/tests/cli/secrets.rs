//! The secret corpus (issue 12 item 3): `tests/fixtures/secrets/` plants 60-odd secrets of
//! the form `ZqNNx` in every format discovery and import read — compose, `.env`, nginx,
//! Kubernetes, Dockerfile, systemd, Procfile, package.json, settings and Go code, shell,
//! Markdown tables, cards, prose and fenced blocks. Every output of every command that reads
//! them (human, JSON, written files, warnings on stderr) is grepped; one leak fails the test
//! and names the command, the marker and the line.

use std::fmt::Write as _;
use std::path::Path;

use crate::harness::{Case, Outcome, repo};

/// Every `ZqNNx` marker in `text` (case-insensitive: `AKIAZQ15X…` counts), with its line.
fn leaks(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for line in text.lines() {
        let b = line.as_bytes();
        for i in 0..b.len().saturating_sub(4) {
            if b[i].eq_ignore_ascii_case(&b'z')
                && b[i + 1].eq_ignore_ascii_case(&b'q')
                && b[i + 2].is_ascii_digit()
                && b[i + 3].is_ascii_digit()
                && b[i + 4].eq_ignore_ascii_case(&b'x')
            {
                found.push((line[i..i + 5].to_string(), line.trim().to_string()));
            }
        }
    }
    found
}

/// The corpus plants at least 50 distinct secrets (the floor); a shrinking corpus
/// would make this test pass vacuously.
#[test]
fn the_corpus_plants_at_least_fifty_secrets() {
    let mut markers = std::collections::BTreeSet::new();
    let mut stack = vec![repo().join("tests/fixtures/secrets")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != "README.md") {
                for (m, _) in leaks(&std::fs::read_to_string(&p).unwrap()) {
                    markers.insert(m.to_ascii_lowercase());
                }
            }
        }
    }
    assert!(
        markers.len() >= 50,
        "{} secrets: {markers:?}",
        markers.len()
    );
}

/// A case holding the planted repository (dot files included) and the Markdown document.
fn corpus() -> Case {
    fn add(case: Case, root: &Path, dir: &Path) -> Case {
        let mut case = case;
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(std::fs::DirEntry::path);
        for e in entries {
            let p = e.path();
            if p.is_dir() {
                case = add(case, root, &p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                case = case.file(&rel, std::fs::read(&p).unwrap());
            }
        }
        case
    }
    let root = repo().join("tests/fixtures/secrets");
    add(Case::new(), &root, &root)
        .env("PORTOLAN_USER", "tester")
        .env("PORTOLAN_NOW", "2026-05-01T10:00:00Z")
}

/// Runs `args` in a fresh corpus case, then collects stdout, stderr and every file it
/// wrote (`written`), each labelled.
fn outputs(args: &[&str], written: &[&str]) -> (Outcome, Vec<(String, String)>) {
    // the case (its directory) must outlive the reads of what the command wrote
    let case = corpus().args(args.iter().copied());
    let dir = case.path().to_path_buf();
    let out = case.run().no_panic();
    let label = args.join(" ");
    let mut texts = vec![
        (format!("{label} (stdout)"), out.stdout.clone()),
        (format!("{label} (stderr)"), out.stderr.clone()),
    ];
    for f in written {
        let text = std::fs::read_to_string(dir.join(f))
            .unwrap_or_else(|e| panic!("`{label}` did not write {f}: {e}\n{}", out.stderr));
        texts.push((format!("{label} (file {f})"), text));
    }
    (out, texts)
}

fn assert_no_leaks(texts: &[(String, String)]) {
    let mut report = String::new();
    for (label, text) in texts {
        for (marker, line) in leaks(text) {
            let _ = writeln!(report, "{label}: {marker} in `{line}`");
        }
    }
    assert!(report.is_empty(), "secrets leaked:\n{report}");
}

#[test]
fn discover_prints_no_secret_in_any_output_mode() {
    let mut texts = Vec::new();
    let (out, t) = outputs(&["discover", "repo"], &[]);
    texts.extend(t);
    let (json, t) = outputs(&["discover", "repo", "--json"], &[]);
    texts.extend(t);
    // the files were really read: ports from the lines that carry the secrets were found
    for port in ["6380", "9100", "9000", "5173", "8081", "27017"] {
        assert!(
            out.stdout.contains(port),
            "discover missed {port}:\n{}",
            out.stdout
        );
    }
    assert!(json.json().is_object() || json.json().is_array());
    assert_no_leaks(&texts);
}

#[test]
fn drafts_and_what_is_computed_from_them_carry_no_secret() {
    let mut texts = Vec::new();
    let case = corpus();
    let init = case
        .run_with(&["init", "--from-discover", "repo"])
        .success();
    texts.push(("init --from-discover (stdout)".into(), init.stdout));
    texts.push(("init --from-discover (stderr)".into(), init.stderr));
    let draft = std::fs::read_to_string(case.path().join("ports.toml")).unwrap();
    assert!(
        draft.contains("6380"),
        "the draft lacks the cache:\n{draft}"
    );
    texts.push(("init --from-discover (ports.toml)".into(), draft));
    // the draft is then linted, diffed against the code and documented
    for args in [
        &["lint"][..],
        &["lint", "--format", "json"],
        &["discover", "repo", "--diff"],
        &["gen", "markdown"],
    ] {
        let out = case.run_with(args).no_panic();
        let label = args.join(" ");
        texts.push((format!("{label} (stdout)"), out.stdout));
        texts.push((format!("{label} (stderr)"), out.stderr));
    }
    assert_no_leaks(&texts);
}

const MOVE_SPEC: &str = "
[services.exporter]
bindings.metrics = { port = 9200 }

[services.cache]
bindings.redis = { port = 6380 }
";

#[test]
fn move_lists_references_without_their_secrets() {
    let mut texts = Vec::new();
    for svc in ["exporter", "cache"] {
        let out = corpus()
            .file("ports.toml", MOVE_SPEC)
            .args(["move", svc, "--to", "9310"])
            .run()
            .no_panic();
        // the reference lines are shown (the secret-bearing ones among them)
        assert!(
            out.stdout.contains("check.sh") || out.stdout.contains("app.service"),
            "move {svc} listed no references:\n{}\n{}",
            out.stdout,
            out.stderr
        );
        texts.push((format!("move {svc} (stdout)"), out.stdout));
        texts.push((format!("move {svc} (stderr)"), out.stderr));
    }
    assert_no_leaks(&texts);
}

#[test]
fn import_redacts_cells_cards_prose_commands_comments_and_blocks() {
    let mut texts = Vec::new();
    let (out, t) = outputs(
        &["import", "doc.md", "-o", "imported.toml"],
        &["imported.toml"],
    );
    texts.extend(t);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (_, t) = outputs(&["import", "doc.md", "--explain"], &[]);
    texts.extend(t);
    let (json, t) = outputs(&["import", "doc.md", "--json"], &[]);
    texts.extend(t);
    // the document was really read: its ports are in the spec
    let spec = &texts[2].1;
    for port in ["7100", "5433", "6390"] {
        assert!(spec.contains(port), "import missed {port}:\n{spec}");
    }
    assert!(json.json().is_object());
    // and what is computed from the imported spec
    let case = corpus();
    case.run_with(&["import", "doc.md", "-o", "imported.toml"])
        .success();
    for args in [
        &["--spec", "imported.toml", "lint"][..],
        &["--spec", "imported.toml", "lint", "--format", "sarif"],
        &["--spec", "imported.toml", "gen", "markdown"],
        &["--spec", "imported.toml", "exposure", "--json"],
    ] {
        let out = case.run_with(args).no_panic();
        let label = args.join(" ");
        texts.push((format!("{label} (stdout)"), out.stdout));
        texts.push((format!("{label} (stderr)"), out.stderr));
    }
    assert_no_leaks(&texts);
}
