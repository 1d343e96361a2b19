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
    assert!(
        out.stderr.contains("1 secret(s) redacted"),
        "{}",
        out.stderr
    );
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
        spec.contains(r#"bindings.postgres = { port = 5432, target = 5432, publisher = "docker", bind = "0.0.0.0", app = "postgres", sensitive = true, exposure = "public" }"#),
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

/// Runs portolan in `dir` (for tests that need several commands in one tree).
fn portolan_in(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = assert_cmd::Command::cargo_bin("portolan")
        .expect("binary")
        .current_dir(dir)
        .args(args)
        .env_remove("PORTOLAN_SPEC")
        .output()
        .expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const PUBLISHED_SPEC: &str = r#"[hosts.local]
networks = ["public"]

[services.api]
hosts = ["local"]
bindings.http = { port = 8000, target = 8000, publisher = "docker", bind = "127.0.0.1", app = "http", exposure = "localhost" }
"#;

const PUBLISHED_COMPOSE: &str = r#"services:
  api:
    image: example/api
    command: gunicorn app.wsgi --bind 0.0.0.0:8000
    ports:
      - "127.0.0.1:8000:8000"
"#;

/// Regression (issue 13): the in-container `0.0.0.0` bind of a published app was reported
/// as a bind disagreement with the spec, whose `bind` is the publish address.
#[test]
fn diff_compares_the_publish_address_of_a_published_binding() {
    let c = Case::new()
        .file("ports.toml", PUBLISHED_SPEC)
        .file("docker-compose.yml", PUBLISHED_COMPOSE)
        .args(["discover", "--diff"]);
    let out = c.run().success();
    assert_eq!(out.stdout, "code and spec agree\n");
    // a publish on every interface still disagrees
    let wide = Case::new()
        .file("ports.toml", PUBLISHED_SPEC)
        .file(
            "docker-compose.yml",
            PUBLISHED_COMPOSE.replace("127.0.0.1:8000:8000", "8000:8000"),
        )
        .args(["discover", "--diff"])
        .run()
        .code(1);
    assert!(
        wide.stdout.contains(
            "! api.http 8000  bind: spec 127.0.0.1, code 0.0.0.0  docker-compose.yml:6:10"
        ),
        "{}",
        wide.stdout
    );
}

/// Regression (issue 13): `discover` read portolan's own generated files as evidence.
#[test]
fn discover_skips_what_portolan_generated() {
    let c = Case::new()
        .file("ports.toml", PUBLISHED_SPEC)
        .file("docker-compose.yml", PUBLISHED_COMPOSE);
    let dir = c.path();
    std::fs::create_dir_all(dir.join("gen")).expect("mkdir");
    std::fs::create_dir_all(dir.join("nginx")).expect("mkdir");
    for (target, file) in [
        ("env", "gen/env.env"),
        ("compose", "compose.override.yml"),
        ("nginx", "nginx/portolan.conf"),
    ] {
        let (code, _, err) = portolan_in(dir, &["gen", target, "-o", file]);
        assert_eq!(code, 0, "gen {target}: {err}");
        let text = std::fs::read_to_string(dir.join(file)).expect("generated");
        assert!(
            portolan_discover::walk::is_generated(&text),
            "gen {target} carries no recognisable header:\n{text}"
        );
    }
    let (code, json, err) = portolan_in(dir, &["--json", "discover"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let files: std::collections::BTreeSet<&str> = v["uses"]
        .as_array()
        .expect("uses")
        .iter()
        .filter_map(|u| u["at"]["path"].as_str())
        .collect();
    assert_eq!(files, ["docker-compose.yml"].into_iter().collect(), "{v}");
}

/// Issue 14: `init --from-discover` on an answer-keyed repository keeps the proxy routes and
/// the connections discover found, and the draft lints to exactly the planted mistake (the
/// full scoring is the discover crate's `drafts` test).
#[test]
fn init_from_discover_keeps_routes_and_flows_and_lints_to_the_planted_mistake() {
    let root = repo().join("tests/fixtures/drafts/storefront");
    let c = Case::new().args([
        "init",
        "--from-discover",
        root.to_str().expect("utf-8 path"),
    ]);
    c.run().success();
    let spec = std::fs::read_to_string(c.path().join("ports.toml")).expect("spec");
    for want in [
        "from = \"proxy.https\"\nto = \"web.http\"",
        "from = \"proxy.https\"\nto = \"api.http-8080\"",
        "from = \"api\"\nto = \"db.postgres\"",
        "[hosts.storefront-web]",
    ] {
        assert!(spec.contains(want), "{want:?} missing from\n{spec}");
    }
    assert!(!spec.contains("Sf0rePgSecret"));
    let lint = Case::new()
        .file("ports.toml", &spec)
        .args(["--json", "lint", "--fail-on", "never"])
        .run()
        .success();
    let findings: Vec<String> = lint.json()["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["severity"] != "info")
        .map(|f| {
            format!(
                "{} {}",
                f["rule"].as_str().unwrap_or(""),
                f["subjects"][0].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(findings, ["public-without-tls mailhog.http"], "{spec}");
}
