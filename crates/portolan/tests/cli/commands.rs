//! init, schema, completions, gen markdown, check, help.

use crate::harness::Case;

#[test]
fn init_writes_a_spec_that_lints_clean_and_refuses_to_overwrite() {
    let c = Case::new().args(["init"]);
    c.run().success();
    assert!(c.path().join("ports.toml").exists());
    c.run().code(2).stderr_has("already exists");
    let lint = Case::new()
        .file(
            "ports.toml",
            std::fs::read(c.path().join("ports.toml")).unwrap(),
        )
        .args(["lint", "--fail-on", "info"])
        .run();
    lint.success().stdout_has("no findings");
}

#[test]
fn schema_is_json_schema_of_the_spec() {
    let out = Case::new().args(["schema"]).run().success();
    let j = out.json();
    assert!(j["$schema"].as_str().unwrap().contains("json-schema.org"));
    for key in [
        "networks",
        "hosts",
        "projects",
        "services",
        "routes",
        "flows",
        "reservations",
        "lint",
    ] {
        assert!(j["properties"].get(key).is_some(), "schema lacks {key}");
    }
    assert!(out.stdout.contains("\"exposure\""));
}

#[test]
fn completions_for_three_shells() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef portolan"),
        ("fish", "complete -c portolan"),
    ] {
        Case::new()
            .args(["completions", shell])
            .run()
            .success()
            .stdout_has(marker);
    }
}

#[test]
fn every_help_has_an_example() {
    use clap::CommandFactory;
    // every subcommand clap knows, so a new command cannot forget its examples
    let cmds: Vec<String> = portolan::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    assert!(cmds.len() >= 16, "{cmds:?}");
    for cmd in &cmds {
        Case::new()
            .args([cmd.as_str(), "--help"])
            .run()
            .success()
            .stdout_has("Examples:");
    }
    Case::new()
        .args(["--help"])
        .run()
        .success()
        .stdout_has("Examples:");
}

#[test]
fn gen_markdown_is_deterministic_and_atomic() {
    let c = Case::new()
        .fixture("lint/internal-exposed-near-miss")
        .args(["gen", "markdown", "-o", "PORTS.md"]);
    c.run().success();
    let first = std::fs::read_to_string(c.path().join("PORTS.md")).unwrap();
    c.run().success();
    let second = std::fs::read_to_string(c.path().join("PORTS.md")).unwrap();
    assert_eq!(first, second);
    for section in [
        "## Overview",
        "## Projects",
        "## Networks",
        "## Environment",
        "## Routes",
        "## Fresh-install checklist",
        "## Findings",
    ] {
        if section == "## Projects" {
            continue; // this fixture has no project
        }
        assert!(first.contains(section), "missing {section}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(c.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn gen_rejects_unknown_environment() {
    Case::new()
        .fixture("lint/internal-exposed-near-miss")
        .args(["gen", "markdown", "--env", "prod"])
        .run()
        .code(2)
        .stderr_has("environment `prod` is not in the spec");
}

#[test]
fn check_runs_lint_and_validates_host() {
    Case::new()
        .fixture("lint/public-without-tls-fires")
        .args(["check"])
        .run()
        .code(2)
        .stderr_has("pass --host NAME to check drift");
    Case::new()
        .fixture("lint/public-without-tls-fires")
        .args(["check", "--no-drift"])
        .run()
        .code(1)
        .stdout_has("public-without-tls");
    Case::new()
        .fixture("lint/public-without-tls-fires")
        .args(["check", "--host", "web2"])
        .run()
        .code(2)
        .stderr_has("did you mean `web1`?");
}

#[test]
fn spec_is_found_upward_and_from_the_environment() {
    let c = Case::new()
        .fixture("lint/privileged-port-near-miss")
        .file("deep/er/readme.txt", "x");
    let out = assert_cmd::Command::cargo_bin("portolan")
        .unwrap()
        .current_dir(c.path().join("deep/er"))
        .env_remove("PORTOLAN_SPEC")
        .args(["lint"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Case::new()
        .fixture("lint/privileged-port-near-miss")
        .env("PORTOLAN_SPEC", "ports.toml")
        .args(["lint"])
        .run()
        .success();
}

#[test]
fn broken_pipe_is_success() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let c = Case::new().fixture("lint/dangling-reference-fires");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("portolan"))
        .current_dir(c.path())
        .args(["schema"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap(); // then drop the pipe
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        status.success() || status.code() == Some(0),
        "status {status:?}: {err}"
    );
}

/// `PORTOLAN_TIMINGS=1`: the libraries mark their phases as `tracing` events and the binary
/// prints them, one `[timings] … ms  rss … MB  PHASE` line each, in order; without the
/// variable nothing is printed (the libraries no longer read it themselves).
#[test]
fn timings_print_the_phases_only_when_asked() {
    const SPEC: &str = "[services.web]\nbindings.http = { port = 8080, bind = \"127.0.0.1\", exposure = \"localhost\" }\n";
    let timed = Case::new()
        .file("ports.toml", SPEC)
        .env("PORTOLAN_TIMINGS", "1")
        .args(["gen", "markdown"])
        .run()
        .success();
    let phases: Vec<&str> = timed
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("[timings] "))
        .map(|l| {
            let (ms, rest) = l.trim_start().split_once(" ms  rss ").expect("ms, rss");
            assert!(ms.parse::<f64>().is_ok(), "{l}");
            let (mb, phase) = rest.trim_start().split_once(" MB  ").expect("MB");
            assert!(mb.parse::<u64>().is_ok(), "{l}");
            phase
        })
        .collect();
    // loading, the reach analysis, the lint rules markdown lists, rendering, writing
    assert_eq!(
        phases[..5],
        ["read", "parse", "resolve", "drop raw spec", "reach"],
        "{}",
        timed.stderr
    );
    assert_eq!(
        phases[phases.len() - 2..],
        ["render", "write"],
        "{}",
        timed.stderr
    );
    let quiet = Case::new()
        .file("ports.toml", SPEC)
        .args(["gen", "markdown"])
        .run()
        .success();
    assert!(!quiet.stderr.contains("[timings]"), "{}", quiet.stderr);
}
