//! Every rule has a fixture that fires and a near miss that must not fire
//! (`tests/fixtures/lint/<case>/ports.toml`, with `# expect:` / `# expect-not:` headers),
//! and the human rendering of each is snapshotted (carets included).

use crate::harness::{Case, repo};

fn expectations(text: &str) -> (Vec<String>, Vec<String>) {
    let (mut yes, mut no) = (Vec::new(), Vec::new());
    for line in text.lines() {
        if let Some(r) = line.strip_prefix("# expect: ") {
            yes.push(r.trim().to_string());
        } else if let Some(r) = line.strip_prefix("# expect-not: ") {
            no.push(r.trim().to_string());
        }
    }
    (yes, no)
}

fn cases() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(repo().join("tests/fixtures/lint"))
        .expect("fixtures")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn every_fixture_fires_exactly_what_it_says() {
    let mut checked = 0;
    for case in cases() {
        let text = std::fs::read_to_string(
            repo()
                .join("tests/fixtures/lint")
                .join(&case)
                .join("ports.toml"),
        )
        .expect("read");
        let (yes, no) = expectations(&text);
        assert!(
            !yes.is_empty() || !no.is_empty(),
            "{case}: no # expect lines"
        );
        let out = Case::new()
            .fixture(&format!("lint/{case}"))
            .args(["lint", "--format", "json", "--fail-on", "never"])
            .run()
            .success();
        let json = out.json();
        let rules: Vec<&str> = json["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter_map(|f| f["rule"].as_str())
            .collect();
        for r in &yes {
            assert!(
                rules.contains(&r.as_str()),
                "{case}: expected `{r}` to fire; got {rules:?}"
            );
        }
        for r in &no {
            assert!(
                !rules.contains(&r.as_str()),
                "{case}: `{r}` must not fire; got {}",
                out.stdout
            );
        }
        checked += 1;
    }
    assert!(checked >= 26, "only {checked} fixtures");
}

#[test]
fn every_spec_rule_has_a_firing_and_a_near_miss_fixture() {
    let all: Vec<(Vec<String>, Vec<String>)> = cases()
        .iter()
        .map(|c| {
            expectations(
                &std::fs::read_to_string(
                    repo()
                        .join("tests/fixtures/lint")
                        .join(c)
                        .join("ports.toml"),
                )
                .expect("read"),
            )
        })
        .collect();
    for rule in portolan_lint::Rule::ALL.iter().filter(|r| r.spec_only()) {
        let id = rule.id().to_string();
        assert!(
            all.iter().any(|(y, _)| y.contains(&id)),
            "no fixture fires {id}"
        );
        assert!(
            all.iter().any(|(_, n)| n.contains(&id)),
            "no near-miss fixture for {id}"
        );
    }
}

#[test]
fn human_output_snapshots() {
    for case in cases() {
        let out = Case::new()
            .fixture(&format!("lint/{case}"))
            .args(["lint", "--fail-on", "never"])
            .run()
            .success();
        insta::assert_snapshot!(format!("lint-{case}"), out.stdout);
    }
}

#[test]
fn fail_on_sets_the_exit_code() {
    // privileged-port is info only
    Case::new()
        .fixture("lint/privileged-port-fires")
        .args(["lint"])
        .run()
        .success(); // default --fail-on error
    Case::new()
        .fixture("lint/privileged-port-fires")
        .args(["lint", "--fail-on", "info"])
        .run()
        .code(1);
    Case::new()
        .fixture("lint/privileged-port-fires")
        .args(["lint", "--fail-on", "warning"])
        .run()
        .success();
    Case::new()
        .fixture("lint/public-without-tls-fires")
        .args(["lint"])
        .run()
        .code(1);
    Case::new()
        .fixture("lint/public-without-tls-fires")
        .args(["lint", "--fail-on", "never"])
        .run()
        .success();
}

#[test]
fn suppressions_are_reported_with_their_reason() {
    let out = Case::new()
        .fixture("lint/config-allow-and-suppress")
        .args(["lint", "--json", "--fail-on", "never"])
        .run()
        .success();
    let j = out.json();
    let sup = j["suppressed"].as_array().expect("suppressed");
    assert_eq!(sup.len(), 1, "{}", out.stdout);
    assert_eq!(sup[0]["rule"], "public-without-tls");
    assert_eq!(sup[0]["suppressed"], "kiosk intranet page, retired in Q3");
    let sev: Vec<&str> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "sensitive-without-auth")
        .map(|f| f["severity"].as_str().unwrap())
        .collect();
    assert_eq!(sev, ["error"]);
}

#[test]
fn sarif_is_structurally_valid() {
    let out = Case::new()
        .fixture("lint/docker-bypasses-firewall-fires")
        .args(["lint", "--format", "sarif"])
        .run()
        .code(1);
    let j = out.json();
    assert_eq!(j["version"], "2.1.0");
    let run = &j["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), portolan_lint::Rule::ALL.len());
    for r in run["results"].as_array().unwrap() {
        let idx = usize::try_from(r["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().unwrap() >= 1);
        assert!(region["startColumn"].as_u64().unwrap() >= 1);
        assert_eq!(
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "ports.toml"
        );
    }
}

/// Issue 19: run from another directory with an absolute `--spec` (what CI jobs and editors
/// do), the SARIF log still places results on repository-relative files.
#[test]
fn sarif_locations_are_repository_relative_from_any_directory() {
    let spec = std::fs::read_to_string(
        repo().join("tests/fixtures/lint/docker-bypasses-firewall-fires/ports.toml"),
    )
    .expect("fixture");
    let case = Case::new()
        .file(".git/HEAD", "ref: refs/heads/main\n")
        .file("deploy/net/ports.toml", &spec)
        .file("elsewhere/.keep", "");
    let abs = case.path().join("deploy/net/ports.toml");
    let run_from = |dir: &str, extra: &[&str]| {
        let mut cmd = assert_cmd::Command::cargo_bin("portolan").expect("binary");
        cmd.current_dir(case.path().join(dir))
            .env_remove("PORTOLAN_SPEC")
            .arg("--spec")
            .arg(&abs)
            .args(["lint", "--format", "sarif"])
            .args(extra);
        cmd.output().expect("run")
    };
    let out = run_from("elsewhere", &[]);
    assert_eq!(out.status.code(), Some(1));
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let run = &log["runs"][0];
    let base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .expect("base");
    assert!(base.starts_with("file:///") && base.ends_with('/'));
    assert_eq!(run["invocations"][0]["exitCode"], 1);
    let results = run["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for r in results {
        let a = &r["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(a["uri"], "deploy/net/ports.toml");
        assert_eq!(a["uriBaseId"], "%SRCROOT%");
    }
    // the same log from the repository top with a relative path
    let mut cmd = assert_cmd::Command::cargo_bin("portolan").expect("binary");
    let same = cmd
        .current_dir(case.path())
        .env_remove("PORTOLAN_SPEC")
        .args([
            "--spec",
            "deploy/net/ports.toml",
            "lint",
            "--format",
            "sarif",
        ])
        .output()
        .expect("run");
    assert_eq!(same.stdout, out.stdout);
    // --sarif-root moves the base; a root the spec is not under is refused, exit 2
    let sub = run_from("elsewhere", &["--sarif-root", "../deploy"]);
    let log: serde_json::Value = serde_json::from_slice(&sub.stdout).expect("json");
    assert_eq!(
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "net/ports.toml"
    );
    let refused = run_from("elsewhere", &["--sarif-root", "."]);
    assert_eq!(refused.status.code(), Some(2));
    // no partial log: the machine-readable error only
    let doc: serde_json::Value = serde_json::from_slice(&refused.stdout).expect("json error");
    assert!(doc.get("runs").is_none(), "{doc}");
    assert!(
        doc["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("outside the SARIF root"))
    );
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("outside the SARIF root"), "{err}");
}

/// A reader that goes away stops the output, not the verdict (the report is streamed).
#[test]
fn a_closed_pipe_keeps_the_exit_code_of_the_findings() {
    use std::io::Read as _;
    let case = Case::new().fixture("lint/duplicate-binding-wildcard-vs-loopback");
    for format in ["human", "json", "sarif"] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("portolan"))
            .current_dir(case.path())
            .env_remove("PORTOLAN_SPEC")
            .args(["lint", "--format", format])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut first = [0u8; 1];
        let mut stdout = child.stdout.take().expect("stdout");
        stdout.read_exact(&mut first).expect("some output");
        drop(stdout);
        let status = child.wait().expect("wait");
        assert_eq!(status.code(), Some(1), "{format}");
    }
}

#[test]
fn json_findings_have_the_design_shape() {
    let out = Case::new()
        .fixture("lint/duplicate-binding-wildcard-vs-loopback")
        .args(["lint", "--json"])
        .run()
        .code(1);
    let j = out.json();
    let f = &j["findings"][0];
    assert_eq!(f["rule"], "duplicate-binding");
    assert_eq!(f["severity"], "error");
    assert_eq!(
        f["subjects"],
        serde_json::json!(["hub.http", "variances.http"])
    );
    assert_eq!(f["locations"][0]["file"], "ports.toml");
    assert_eq!(f["locations"][0]["line"], 12);
    assert!(f["help"].is_string());
}
