//! `portolan discover` (table, JSON, `--diff`, `--write`), `init --from-discover`, and
//! `import`, on fixture repositories shaped like real projects.

use crate::harness::{Case, repo};

const COMPOSE: &str = r#"services:
  web:
    image: shop/web
    ports:
      - "127.0.0.1:${WEB_PORT:-8000}:8000"
  db:
    image: postgres:16
    ports:
      - "5432:5432"        # the mistake: published on every interface
"#;

const ENV: &str = "WEB_PORT=8000\nDATABASE_URL=postgresql://shop:hunter2@db:5432/shop\n";

fn repo_case() -> Case {
    Case::new()
        .file("docker-compose.yml", COMPOSE)
        .file(".env", ENV)
        .env("PORTOLAN_USER", "tester")
        .env("PORTOLAN_NOW", "2026-05-01T10:00:00Z")
}

#[test]
fn discover_lists_ports_with_evidence_and_never_prints_secrets() {
    let out = repo_case().args(["discover"]).run().success();
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with("db "))
        .map(|l| l.split_whitespace().take(7).collect::<Vec<_>>());
    assert_eq!(
        row,
        Some(vec![
            "db",
            "5432->5432",
            "tcp",
            "publish",
            "*",
            "docker",
            "high"
        ]),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("docker-compose.yml:9:10"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("$WEB_PORT"), "{}", out.stdout);
    assert!(!out.stdout.contains("hunter2") && !out.stderr.contains("hunter2"));
    assert!(out.stderr.contains("1 secret redacted"), "{}", out.stderr);
    let json = repo_case().args(["--json", "discover"]).run().success();
    assert!(!json.stdout.contains("hunter2"));
    let v = json.json();
    assert_eq!(v["files_read"], 2);
    let uses = v["uses"].as_array().expect("uses");
    assert!(
        uses.iter().any(|u| u["service"] == "db"
            && u["port"] == 5432
            && u["publisher"] == "docker"
            && u["at"]["line"] == 9),
        "{v}"
    );
}

#[test]
fn init_from_discover_drafts_a_spec_that_shows_the_mistake() {
    let c = repo_case().args(["init", "--from-discover", "."]);
    c.run().success();
    let spec = std::fs::read_to_string(c.path().join("ports.toml")).expect("spec");
    assert!(spec.contains("[services.db]"), "{spec}");
    assert!(
        spec.contains(r#"bindings.postgres = { port = 5432, target = 5432, publisher = "docker", bind = "0.0.0.0", app = "postgres", exposure = "public" }"#),
        "{spec}"
    );
    assert!(
        spec.contains(r#""docker-compose.yml:9:10""#),
        "evidence: {spec}"
    );
    // the draft loads, and lint shows the database published to the world
    let lint = Case::new()
        .file("ports.toml", &spec)
        .args(["--json", "lint", "--fail-on", "never"])
        .run()
        .success();
    let rules: Vec<String> = lint.json()["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["rule"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        rules.iter().any(|r| r == "sensitive-without-auth"),
        "{rules:?}"
    );
}

const SPEC: &str = r#"# hand-kept: comments must survive --write
[services.web]
bindings.http = { port = 8000, bind = "127.0.0.1", exposure = "localhost" }

[services.legacy]
bindings.http = { port = 8025 }   # nothing uses it any more
"#;

#[test]
fn discover_diff_lists_both_directions_and_disagreements() {
    let out = repo_case()
        .file("ports.toml", SPEC)
        .args(["discover", "--diff"])
        .run()
        .code(1);
    assert!(
        out.stdout.contains("+ db.postgres 5432/tcp"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("- legacy.http 8025/tcp"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("web.http"),
        "web agrees: {}",
        out.stdout
    );
    let agree = Case::new()
        .file(
            "docker-compose.yml",
            "services:\n  web:\n    ports: [\"127.0.0.1:8000:8000\"]\n",
        )
        .file(
            "ports.toml",
            "[services.web]\nbindings.http = { port = 8000, bind = \"127.0.0.1\" }\n",
        )
        .args(["discover", "--diff"])
        .run()
        .success();
    assert_eq!(agree.stdout, "code and spec agree\n");
    let wider = Case::new()
        .file(
            "docker-compose.yml",
            "services:\n  web:\n    ports: [\"8000:8000\"]\n",
        )
        .file(
            "ports.toml",
            "[services.web]\nbindings.http = { port = 8000, bind = \"127.0.0.1\" }\n",
        )
        .args(["discover", "--diff"])
        .run()
        .code(1);
    assert!(
        wider.stdout.contains(
            "! web.http 8000  bind: spec 127.0.0.1, code 0.0.0.0  docker-compose.yml:3:14"
        ),
        "{}",
        wider.stdout
    );
}

#[test]
fn discover_write_adds_only_what_is_missing_losslessly_and_logs() {
    let c = repo_case()
        .file("ports.toml", SPEC)
        .args(["discover", "--write"]);
    let out = c.run().success();
    assert!(
        out.stdout.contains("added db.postgres 5432"),
        "{}",
        out.stdout
    );
    let spec = std::fs::read_to_string(c.path().join("ports.toml")).expect("spec");
    assert!(
        spec.starts_with(SPEC),
        "existing text kept verbatim:\n{spec}"
    );
    assert!(spec.contains("[services.db]"), "{spec}");
    let log = std::fs::read_to_string(c.path().join("ports.log.jsonl")).expect("log");
    assert!(log.contains(r#""action":"discover""#), "{log}");
    // a second run has nothing to add
    let again = Case::new()
        .file("docker-compose.yml", COMPOSE)
        .file(".env", ENV)
        .file("ports.toml", &spec)
        .args(["discover", "--write"])
        .run()
        .success();
    assert!(again.stdout.contains("nothing to add"), "{}", again.stdout);
    // --dry-run writes nothing
    let dry = repo_case()
        .file("ports.toml", SPEC)
        .args(["discover", "--write", "--dry-run"]);
    dry.run().success().stdout_has("would add db.postgres 5432");
    assert_eq!(
        std::fs::read_to_string(dry.path().join("ports.toml")).expect("spec"),
        SPEC
    );
}

#[test]
fn discover_reports_bad_files_and_goes_on() {
    let out = Case::new()
        .file("docker-compose.yml", "services:\n  web: [unclosed\n")
        .file(
            "compose.yaml",
            "services:\n  api:\n    ports: [\"9000:9000\"]\n",
        )
        .file("Dockerfile", b"EXPOSE 80\0\x01binary".as_slice())
        .args(["discover"])
        .run()
        .success()
        .no_panic();
    assert!(out.stdout.contains("9000->9000"), "{}", out.stdout);
    assert!(
        out.stderr.contains("warning: docker-compose.yml:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("warning: Dockerfile:1:1: skipped: binary content"),
        "{}",
        out.stderr
    );
    Case::new()
        .args(["discover", "no/such/dir"])
        .run()
        .code(2)
        .stderr_has("no/such/dir: no such file or directory");
}

#[cfg(unix)]
#[test]
fn discover_survives_symlink_loops_and_unreadable_directories() {
    let c = Case::new().file(
        "a/compose.yaml",
        "services:\n  api:\n    ports: [\"9000:9000\"]\n",
    );
    std::os::unix::fs::symlink("..", c.path().join("a/loop")).expect("symlink");
    let out = c.args(["discover", "--follow"]).run().success().no_panic();
    assert!(out.stdout.contains("9000->9000"), "{}", out.stdout);
    assert!(out.stderr.contains("symlink loop"), "{}", out.stderr);
}

#[test]
fn fixture_repositories_are_discovered() {
    for case in ["webapp", "k8s-app", "monorepo"] {
        let dir = repo().join("tests/fixtures/discover").join(case);
        let out = Case::new()
            .args(["discover", dir.to_str().expect("utf-8 path")])
            .run()
            .success()
            .no_panic();
        let shown = out.stdout.replace(dir.to_str().expect("utf-8"), "<repo>");
        insta::assert_snapshot!(format!("discover-{case}"), shown);
    }
}

/// The rules `lint` reports on a spec, with their counts.
fn rule_counts(spec: &str) -> std::collections::BTreeMap<String, usize> {
    let out = Case::new()
        .file("ports.toml", spec)
        .args(["--json", "lint", "--fail-on", "never"])
        .run()
        .success();
    let mut counts = std::collections::BTreeMap::new();
    for f in out.json()["findings"].as_array().expect("findings") {
        *counts
            .entry(f["rule"].as_str().unwrap_or_default().to_string())
            .or_insert(0) += 1;
    }
    counts
}

#[test]
fn import_turns_each_example_document_into_a_spec_that_lints_to_its_mistakes() {
    // (document, rules lint must report on the imported spec — the mistakes a careful
    // reader sees; the library tests pin the exact findings and notes)
    let cases: [(&str, &[&str]); 3] = [
        (
            "opticserp-port-reference.md",
            &[
                "docker-bypasses-firewall",
                "internal-exposed",
                "public-without-tls",
                "sensitive-without-auth",
            ],
        ),
        (
            "es-dashboards-port-guide.md",
            &[
                "internal-exposed",
                "out-of-range",
                "range-exhausted",
                "well-known-collision",
            ],
        ),
        (
            "business-platform-network.md",
            &["internal-exposed", "public-without-tls"],
        ),
    ];
    for (doc, rules) in cases {
        let text = std::fs::read(repo().join("tests/fixtures/import").join(doc)).expect("doc");
        let c = Case::new()
            .file(doc, &text)
            .args(["import", doc, "-o", "ports.toml"]);
        let out = c.run().success().no_panic();
        assert!(
            out.stderr.contains("wrote ports.toml"),
            "{doc}: {}",
            out.stderr
        );
        let spec = std::fs::read_to_string(c.path().join("ports.toml")).expect("spec");
        assert!(
            spec.contains(&format!("{doc}:")),
            "{doc}: evidence points into the document"
        );
        let counts = rule_counts(&spec);
        for r in rules {
            assert!(counts.contains_key(*r), "{doc}: lint lacks {r}: {counts:?}");
        }
        // a second import refuses to overwrite
        c.run().code(2).stderr_has("already exists");
    }
}

#[test]
fn import_redacts_secrets_and_reports_them() {
    let doc = "# Ports\n\n| Service | Port |\n|---|---|\n| db | 5432 |\n\n```bash\nPGPASSWORD=s3cr3t-pw psql -h localhost -p 5432\n```\n";
    let out = Case::new()
        .file("ports.md", doc)
        .args(["import", "ports.md"])
        .run()
        .success();
    assert!(!out.stdout.contains("s3cr3t-pw") && !out.stderr.contains("s3cr3t-pw"));
    assert!(out.stderr.contains("ports.md:8:"), "{}", out.stderr);
    assert!(
        out.stderr.contains("a secret in the document"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("[services.db]"), "{}", out.stdout);
    Case::new()
        .file("bin.md", b"\0\x01\x02".as_slice())
        .args(["import", "bin.md"])
        .run()
        .code(2)
        .stderr_has("binary content");
    Case::new()
        .args(["import", "missing.md"])
        .run()
        .code(2)
        .no_panic();
}
