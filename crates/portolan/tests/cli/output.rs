//! Human output a person reads: the same finding on several hosts is one block that names
//! them (machines still get one result per host), and on a terminal nothing is wider than
//! the terminal, while a pipe gets whole lines.

use crate::harness::Case;

/// One binding on three hosts, internal-exposed on each (the message names the host), with
/// a source line far wider than 80 columns.
const SPEC: &str = r#"
[hosts.edge-a]
[hosts.edge-b]
[hosts.edge-c]
[hosts.vault]
networks = ["lan"]

[networks]
lan = "10.20.0.0/16"

[services.sshd]
hosts = ["edge-a", "edge-b", "edge-c"]
privileged = true
bindings.ssh = { port = 22, app = "ssh", exposure = "internal", transport = "tcp" }   # administrators only, from the bastion; see runbook section 4.2 on key rotation

[services.vault]
hosts = ["vault"]
bindings.api = { port = 8200, app = "https", tls = "native", bind = "10.20.0.5", exposure = "lan", auth = true }
"#;

/// Runs `portolan ARGS` on a pseudo-terminal of `cols` columns (util-linux `script`).
fn on_terminal(c: &Case, cols: usize, args: &str) -> String {
    let bin = assert_cmd::cargo::cargo_bin("portolan");
    let out = std::process::Command::new("script")
        .current_dir(c.path())
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .args([
            "-qec",
            &format!("stty cols {cols} rows 40; '{}' {args}", bin.display()),
            "/dev/null",
        ])
        .output()
        .expect("util-linux `script` runs the command on a pseudo-terminal");
    String::from_utf8_lossy(&out.stdout).replace('\r', "")
}

#[test]
fn the_same_finding_on_several_hosts_is_one_block_naming_them() {
    let c = Case::new().file("ports.toml", SPEC).args(["lint"]);
    let out = c.run().code(1);
    let blocks = out.stdout.matches("error[internal-exposed]").count();
    assert_eq!(blocks, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("`sshd.ssh` on hosts `edge-a`, `edge-b` and `edge-c` is reachable"),
        "{}",
        out.stdout
    );
    // the summary still counts one finding per host
    assert!(out.stdout.contains("3 errors"), "{}", out.stdout);
    // JSON and SARIF keep one per host
    let json = Case::new()
        .file("ports.toml", SPEC)
        .args(["lint", "--json"])
        .run()
        .json();
    let per_host = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "internal-exposed")
        .count();
    assert_eq!(per_host, 3);
    let sarif = Case::new()
        .file("ports.toml", SPEC)
        .args(["lint", "--format", "sarif"])
        .run()
        .json();
    let per_host = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["ruleId"] == "internal-exposed")
        .count();
    assert_eq!(per_host, 3);
}

#[test]
fn on_a_terminal_nothing_is_wider_than_it_and_a_pipe_gets_whole_lines() {
    let c = Case::new().file("ports.toml", SPEC);
    for cols in [60, 80, 100] {
        let text = on_terminal(&c, cols, "lint -v");
        assert!(text.contains("internal-exposed"), "{text}");
        for line in text.lines() {
            assert!(
                line.chars().count() <= cols,
                "{cols} columns: {} wide: {line:?}\n{text}",
                line.chars().count()
            );
        }
    }
    // piped: the source line whole, the message on one line
    let out = Case::new().file("ports.toml", SPEC).args(["lint"]).run();
    assert!(
        out.stdout
            .contains("see runbook section 4.2 on key rotation"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.lines().any(|l| l.chars().count() > 150));
}

#[test]
fn discover_tables_fit_the_terminal() {
    let long = "x".repeat(200);
    let c = Case::new().file(
        "repo/compose.yaml",
        format!(
            "services:\n  a-service-with-a-rather-long-name:\n    ports:\n      - \"127.0.0.1:8080:80\"   # {long}\n"
        ),
    );
    let text = on_terminal(&c, 80, "discover repo");
    assert!(text.contains("8080"), "{text}");
    assert!(
        text.contains("compose.yaml:4:"),
        "the evidence keeps its end: {text}"
    );
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "{line:?}");
    }
    let piped = Case::new()
        .file(
            "repo/compose.yaml",
            format!(
                "services:\n  a-service-with-a-rather-long-name:\n    ports:\n      - \"127.0.0.1:8080:80\"   # {long}\n"
            ),
        )
        .args(["discover", "repo"])
        .run()
        .success();
    assert!(
        piped.stdout.contains("a-service-with-a-rather-long-name"),
        "{}",
        piped.stdout
    );
}

#[test]
fn global_options_have_their_own_help_section() {
    let out = Case::new().args(["lint", "--help"]).run().success();
    let (own, global) = out
        .stdout
        .split_once("Global options:")
        .unwrap_or_else(|| panic!("no Global options section:\n{}", out.stdout));
    assert!(own.contains("--fail-on"), "{}", out.stdout);
    for flag in ["--spec", "--json", "--color", "--quiet", "--verbose"] {
        assert!(global.contains(flag), "{flag} not under Global options");
        assert!(
            !own.lines().any(|l| l.trim_start().starts_with(flag)),
            "{flag} also in the command's own options"
        );
    }
}
