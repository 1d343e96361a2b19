//! The checked-in outputs of every example (`examples/<name>/lint.txt`, `PORTS.md`) stay
//! current. Regenerate with `UPDATE_EXAMPLES=1 cargo test`.

use crate::harness::{examples, repo};

fn run(args: &[&str]) -> (i32, String, String) {
    let out = assert_cmd::Command::cargo_bin("portolan")
        .unwrap()
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .env_remove("PORTOLAN_SPEC")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[track_caller]
fn current(path: &std::path::Path, fresh: &str) {
    if std::env::var_os("UPDATE_EXAMPLES").is_some() {
        std::fs::write(path, fresh).unwrap();
        return;
    }
    let old = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        old == fresh,
        "{} is stale: run `UPDATE_EXAMPLES=1 cargo test`\n--- fresh\n{fresh}",
        path.display()
    );
}

#[test]
fn the_three_documents_are_examples() {
    let names = examples();
    for want in [
        "business-platform-network",
        "es-dashboards-port-guide",
        "opticserp-port-reference",
    ] {
        assert!(names.iter().any(|n| n == want), "examples/{want} missing");
    }
}

#[test]
fn example_lint_output_is_current() {
    for name in examples() {
        let spec = format!("examples/{name}/ports.toml");
        let (code, stdout, stderr) = run(&["--spec", &spec, "lint", "--fail-on", "never"]);
        assert_eq!(code, 0, "{name}: {stderr}");
        current(
            &repo().join("examples").join(&name).join("lint.txt"),
            &stdout,
        );
    }
}

#[test]
fn example_markdown_is_current() {
    for name in examples() {
        let spec = format!("examples/{name}/ports.toml");
        let (code, stdout, stderr) = run(&["--spec", &spec, "gen", "markdown"]);
        assert_eq!(code, 0, "{name}: {stderr}");
        current(
            &repo().join("examples").join(&name).join("PORTS.md"),
            &stdout,
        );
    }
}
