//! Bad input never panics: each gets a located message and exit 2 (syntax/type errors) or a
//! finding (semantic errors).

use crate::harness::Case;

#[track_caller]
fn rejects(spec: &[u8], located: &str, message: &str) {
    let out = Case::new()
        .file("ports.toml", spec)
        .args(["lint"])
        .run()
        .code(2)
        .no_panic();
    assert!(
        out.stderr.contains(located),
        "no location {located:?} in:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(message),
        "no message {message:?} in:\n{}",
        out.stderr
    );
}

#[test]
fn malformed_toml() {
    rejects(b"[services.a\nport = 1\n", "ports.toml:1:", "");
}

#[test]
fn unknown_key_suggests_the_right_one() {
    rejects(
        b"[services.a]\nbindings.http = { prot = 80 }\n",
        "ports.toml:2:19",
        "did you mean `port`?",
    );
    rejects(
        b"[hosts.a]\nnetwork = [\"lan\"]\n",
        "ports.toml:2:1",
        "did you mean `networks`?",
    );
    rejects(
        b"[services.a]\nbindings.http = { port = 80, transport = \"tpc\" }\n",
        "ports.toml:2:",
        "did you mean `tcp`?",
    );
}

#[test]
fn bad_ports_and_ranges() {
    rejects(
        b"[services.a]\nbindings.http = { port = 0 }\n",
        "ports.toml:2:26",
        "port 0 is out of range",
    );
    rejects(
        b"[services.a]\nbindings.http = { port = 70000 }\n",
        "ports.toml:2:26",
        "port 70000 is out of range",
    );
    rejects(
        b"[services.a]\nbindings.http = { port = \"abc\" }\n",
        "ports.toml:2:26",
        "`abc` is not a port number",
    );
    rejects(
        b"[projects.p]\nrange = \"5399-5000\"\n",
        "ports.toml:2:9",
        "inverted (did you mean 5000-5399?)",
    );
}

#[test]
fn bad_cidrs() {
    rejects(
        b"[networks]\nlan = \"192.168.1.0/33\"\n",
        "ports.toml:2:7",
        "prefix /33 is too long",
    );
    rejects(
        b"[networks]\nlan = \"192.168.1.10/24\"\n",
        "ports.toml:2:7",
        "did you mean 192.168.1.0/24",
    );
    rejects(
        b"[networks]\nlan = \"not-an-ip\"\n",
        "ports.toml:2:7",
        "is not an IP address",
    );
}

#[test]
fn empty_and_binary_files() {
    rejects(b"", "ports.toml:1:1", "the spec is empty");
    rejects(
        b"\n# nothing but comments\n",
        "ports.toml:1:1",
        "the spec is empty",
    );
    // a NUL byte ends the read (issue 12 item 1): the error is at the first one
    rejects(
        b"\x7fELF\x02\x01\x01\x00\x00\xff\xfe",
        "ports.toml:1:8",
        "NUL byte: the file is not a TOML text file (a binary file?)",
    );
    rejects(
        b"[spec]\nname = \"\xff\xfe\"\n",
        "ports.toml:2:9",
        "not UTF-8",
    );
}

#[test]
fn missing_spec_and_empty_directory() {
    Case::new()
        .args(["lint"])
        .run()
        .code(2)
        .stderr_has("no ports.toml found")
        .no_panic();
    Case::new()
        .file("specs/readme.txt", "x")
        .args(["--spec", "specs", "lint"])
        .run()
        .code(2)
        .stderr_has("contains no *.toml")
        .no_panic();
    Case::new()
        .args(["--spec", "nope.toml", "lint"])
        .run()
        .code(2)
        .stderr_has("cannot read nope.toml")
        .no_panic();
}

#[test]
fn duplicate_names_across_files_name_both_places() {
    let out = Case::new()
        .file(
            "spec/10-base.toml",
            "[services.api]\nbindings.http = { port = 8000, bind = \"127.0.0.1\" }\n",
        )
        .file(
            "spec/20-more.toml",
            "[services.api]\nbindings.http = { port = 8001, bind = \"127.0.0.1\" }\n",
        )
        .args(["--spec", "spec", "lint"])
        .run()
        .code(2);
    assert!(
        out.stderr.contains("service `api` is defined twice"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("spec/20-more.toml:1:"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("first defined here"), "{}", out.stderr);
}

#[test]
fn semantic_errors_are_findings_not_exit_2() {
    let out = Case::new()
        .file(
            "ports.toml",
            "[services.a]\nhosts = [\"nowhere\"]\nbindings.http = { port = 8000 }\n",
        )
        .args(["lint", "--json"])
        .run()
        .code(1);
    assert_eq!(out.json()["findings"][0]["rule"], "dangling-reference");
}

#[test]
fn unknown_rule_in_config_is_a_usage_error() {
    let out = Case::new()
        .file("ports.toml", "[lint]\nallow = [\"privileged-prot\"]\n[services.a]\nbindings.http = { port = 8000, bind = \"127.0.0.1\" }\n")
        .args(["lint"])
        .run()
        .code(2);
    assert!(
        out.stderr.contains("unknown lint rule `privileged-prot`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `privileged-port`?"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("ports.toml:2:10"), "{}", out.stderr);
}

/// Regression: an unknown rule in the second of `lint A B` was shown by loading the spec
/// again — the default `ports.toml`, not B — so the caret pointed into the wrong file's
/// text. The error now carries the sources of the spec it was found in.
#[test]
fn unknown_rule_in_a_second_spec_points_into_that_spec() {
    let out = Case::new()
        .file(
            "ports.toml",
            "# the default spec: nothing wrong here, and not the one at fault\n[services.a]\nbindings.http = { port = 8000, bind = \"127.0.0.1\" }\n",
        )
        .file(
            "b.toml",
            "[lint]\nallow = [\"privileged-prot\"]\n[services.b]\nbindings.http = { port = 8001, bind = \"127.0.0.1\" }\n",
        )
        .args(["lint", "ports.toml", "b.toml"])
        .run()
        .code(2);
    assert!(out.stderr.contains("b.toml:2:10"), "{}", out.stderr);
    assert!(
        out.stderr.contains("allow = [\"privileged-prot\"]"),
        "the snippet shows b.toml's line:\n{}",
        out.stderr
    );
    assert!(!out.stderr.contains("the default spec"), "{}", out.stderr);
}

#[test]
fn suppression_needs_a_reason() {
    rejects(b"[services.a]\nbindings.http = { port = 8000 }\nlint.allow = [{ rule = \"privileged-port\" }]\n", "ports.toml:3:", "missing field `reason`");
}

#[test]
fn json_errors_on_stdout_for_machines() {
    let out = Case::new()
        .file(
            "ports.toml",
            "[services.a]\nbindings.http = { port = 70000 }\n",
        )
        .args(["lint", "--format", "json"])
        .run()
        .code(2);
    let j = out.json();
    assert_eq!(j["errors"][0]["line"], 2);
    assert_eq!(j["errors"][0]["column"], 26);
}

#[test]
fn error_rendering_snapshot() {
    let out = Case::new().file("ports.toml", "[services.odoo]\nhosts = [\"app1\"]\nbindings.http = { port = 8069, bind = \"127.0.0.1\", exposre = \"localhost\" }\n").args(["lint"]).run().code(2);
    insta::assert_snapshot!("error-unknown-key", out.stderr);
}

/// Issue 11 item 5: the CLI reads its clock once at start; a malformed `PORTOLAN_NOW` is a
/// usage error naming the variable (it used to surface only in the commands that asked for
/// the time, each with its own wording), never some default instant.
#[test]
fn a_malformed_pinned_clock_is_a_usage_error_for_every_command() {
    for args in [&["gc", "--dry-run"][..], &["lint"], &["snapshot"]] {
        Case::new()
            .fixture("lint/browser-unsafe-port-near-miss")
            .args(args.iter().copied())
            .env("PORTOLAN_NOW", "yesterday")
            .run()
            .code(2)
            .stderr_has("PORTOLAN_NOW: ");
    }
}
