//! The checked-in outputs of every example (`examples/<name>/lint.txt`, `PORTS.md`, and
//! `gen/` with every other `gen` target) stay current. Regenerate with
//! `UPDATE_EXAMPLES=1 cargo test`.

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

/// Every `gen` target but `markdown` (checked in as `PORTS.md`), from the renderer's own
/// registry: name, file extension, and whether it renders one host (then one file per host:
/// `gen/<target>.<host>.<ext>`; else `gen/<target>.<ext>`).
fn gen_targets() -> Vec<(&'static str, &'static str, bool)> {
    portolan_render::generators()
        .iter()
        .filter(|g| g.name() != "markdown")
        .map(|g| (g.name(), g.extension(), g.per_host()))
        .collect()
}

/// Hosts of an example with at least one binding, from `exposure --json`.
fn hosts(spec: &str) -> Vec<String> {
    let (code, out, err) = run(&["--spec", spec, "exposure", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut h: Vec<String> = v["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["host"].as_str().map(String::from))
        .collect();
    h.sort();
    h.dedup();
    h
}

#[test]
fn every_gen_target_is_offered_by_the_cli() {
    // the CLI's own list of targets (clap prints it for an unknown one) is the registry's
    let (code, _, err) = run(&["gen", "no-such-target"]);
    assert_eq!(code, 2);
    let list = err
        .split("[possible values: ")
        .nth(1)
        .and_then(|s| s.split(']').next())
        .unwrap_or_else(|| panic!("no target list in: {err}"));
    let offered: Vec<&str> = list.split(", ").collect();
    let registry: Vec<&str> = portolan_render::generators()
        .iter()
        .map(|g| g.name())
        .collect();
    assert_eq!(offered, registry);
}

#[test]
fn example_gen_outputs_are_current() {
    let update = std::env::var_os("UPDATE_EXAMPLES").is_some();
    for name in examples() {
        let spec = format!("examples/{name}/ports.toml");
        let dir = repo().join("examples").join(&name).join("gen");
        let mut want = std::collections::BTreeMap::new();
        let hs = hosts(&spec);
        for (target, ext, per_host) in gen_targets() {
            let runs: Vec<(String, Vec<&str>)> = if per_host {
                hs.iter()
                    .map(|h| (format!("{target}.{h}.{ext}"), vec!["--host", h.as_str()]))
                    .collect()
            } else {
                vec![(format!("{target}.{ext}"), vec![])]
            };
            for (file, extra) in runs {
                let mut args = vec!["--spec", spec.as_str(), "gen", target];
                args.extend(extra);
                let (code, stdout, stderr) = run(&args);
                assert_eq!(code, 0, "{name} {target}: {stderr}");
                want.insert(file, stdout);
            }
        }
        if update {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
        }
        for (file, text) in &want {
            current(&dir.join(file), text);
        }
        let mut have: Vec<String> = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        have.sort();
        let expected: Vec<String> = want.keys().cloned().collect();
        assert_eq!(
            have,
            expected,
            "{}: stale or missing files; run `UPDATE_EXAMPLES=1 cargo test`",
            dir.display()
        );
    }
}
