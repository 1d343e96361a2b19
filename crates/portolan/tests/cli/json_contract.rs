//! One JSON contract: every listing command answers `--json` with JSON; every failure under
//! `--json` is one object of one shape on stdout; `alloc --json` says the same thing in the
//! same keys whether the spec or the registry allocated; `-` is standard input for
//! `--spec`, `lint` and `import`; a spec with several mistakes reports them all.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::process::Stdio;

use crate::harness::{Case, Outcome};

const SPEC: &str = r#"
[hosts.app1]
networks = []

[projects.erp]
range = "8000-8009"
blocks = { web = "8000-8004" }

[services.odoo]
project = "erp"
block = "web"
hosts = ["app1"]
bindings.http = { port = 8000, bind = "127.0.0.1", exposure = "localhost" }
"#;

const LIVE: &str = r#"[
 {"transport":"tcp","addr":"127.0.0.1","port":8000,"inode":1,"uid":0,
  "owners":[{"pid":4242,"name":"odoo","cmdline":"odoo -c /etc/odoo.conf","user":"odoo","container":null}]}
]"#;

fn case() -> Case {
    Case::new()
        .file("ports.toml", SPEC)
        .file("live.json", LIVE)
        .file(
            "repo/compose.yaml",
            "services:\n  web:\n    ports:\n      - \"127.0.0.1:8000:80\"\n",
        )
        .env("PORTOLAN_LISTENERS_FIXTURE", "live.json")
        .env("PORTOLAN_USER", "tester")
}

/// Runs `args` with stdin fed from `input`.
fn run_with_stdin(c: &Case, args: &[&str], input: &str) -> Outcome {
    let mut child = c
        .command()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    // a command that refuses stdin (say, `alloc` with `--spec -`) may exit before reading
    // it: the write then fails with a broken pipe, which is the command's answer, not ours
    // (this raced under load)
    if let Err(e) = stdin.write_all(input.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "feed stdin: {e}");
    }
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn every_listing_command_answers_json() {
    let listings: &[&[&str]] = &[
        &["lint", "--list-rules"],
        &["lint"],
        &["exposure"],
        &["ls"],
        &["ls", "-p"],
        &["who", "8000"],
        &["log"],
        &["discover", "repo"],
        &["gc", "--dry-run"],
    ];
    for args in listings {
        let c = case().args(args.iter().copied()).args(["--json"]);
        let out = c.run();
        assert!(
            out.code == 0 || out.code == 1,
            "{args:?}: exit {}\n{}",
            out.code,
            out.stderr
        );
        let v = out.json();
        assert!(v.is_array() || v.is_object(), "{args:?}: {v}");
    }
}

#[test]
fn lint_lists_its_rules_as_json() {
    let out = Case::new()
        .args(["lint", "--list-rules", "--json"])
        .run()
        .success();
    let rules = out.json();
    let rules = rules.as_array().expect("an array of rules");
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"duplicate-binding") && ids.contains(&"undeclared-listener"));
    let dup = &rules[ids.iter().position(|i| *i == "duplicate-binding").unwrap()];
    assert_eq!(dup["severity"], "error");
    assert_eq!(dup["needs_live_data"], false);
    assert!(dup["description"].as_str().is_some_and(|d| !d.is_empty()));
    let live = &rules[ids
        .iter()
        .position(|i| *i == "undeclared-listener")
        .unwrap()];
    assert_eq!(live["needs_live_data"], true);
}

/// The error object: `{"errors": [{message, help, file, line, column}]}`, every key there.
#[track_caller]
fn error_shape(out: &Outcome) -> Vec<serde_json::Value> {
    let v = out.json();
    let keys: BTreeSet<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BTreeSet::from(["errors"]), "{v}");
    let list = v["errors"].as_array().expect("errors array").clone();
    assert!(!list.is_empty());
    for e in &list {
        let keys: BTreeSet<&str> = e
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from(["column", "file", "help", "line", "message"]),
            "{e}"
        );
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
    }
    list
}

/// Bug: errors under `--json` went to stdout for some commands and nowhere for others.
#[test]
fn every_failure_under_json_is_one_error_shape_on_stdout() {
    let cases: &[(&[&str], i32, &str)] = &[
        // clap's own usage errors
        (&["lint", "--no-such-flag", "--json"], 2, "--no-such-flag"),
        (
            &["lint", "--format", "sarif", "--fail-on", "sometimes"],
            2,
            "sometimes",
        ),
        // a bad global option
        (&["--spec", "", "lint", "--json"], 2, "--spec"),
        // command-level usage errors
        (&["gen", "markdown", "--env", "nope", "--json"], 2, "`nope`"),
        (&["import", "missing.md", "--json"], 2, "missing.md"),
        (&["who", "70000", "--json"], 2, "70000"),
        (&["check", "--json"], 2, "none of the spec's hosts"),
        (
            &["alloc", "--spec", "-", "erp", "--name", "x", "--json"],
            2,
            "as a file",
        ),
        // a conflict: the block is full (exit 1)
        (
            &[
                "alloc", "erp", "--block", "web", "--count", "9", "--name", "x", "--json",
            ],
            1,
            "",
        ),
    ];
    for (args, code, needle) in cases {
        let out = case().args(args.iter().copied()).run();
        assert_eq!(out.code, *code, "{args:?}\n{}\n{}", out.stdout, out.stderr);
        let errors = error_shape(&out);
        assert!(
            errors[0]["message"].as_str().unwrap().contains(needle),
            "{args:?}: {errors:?}"
        );
    }
    // a spec that does not load: every error, located
    let out = Case::new()
        .file(
            "ports.toml",
            "[services.a]\nbindings.http = { prot = 80 }\n\n[services.b]\nbindings.http = { port = 0 }\n",
        )
        .args(["lint", "--format", "sarif"])
        .run()
        .code(2);
    let errors = error_shape(&out);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0]["file"], "ports.toml");
    assert_eq!(errors[0]["line"], 2);
    assert_eq!(errors[0]["help"], "did you mean `port`?");
    assert_eq!(errors[1]["line"], 5);
}

/// Bug: the loader stopped at its first error.
#[test]
fn a_spec_with_several_mistakes_reports_them_all() {
    let out = Case::new()
        .file(
            "ports.toml",
            "[hosts.a]\nnetwork = [\"lan\"]\n\n[services.b]\nbindings.http = { port = 70000 }\n\n[projects.p]\nrange = \"5399-5000\"\n",
        )
        .args(["lint"])
        .run()
        .code(2);
    for at in ["ports.toml:2:1", "ports.toml:5:", "ports.toml:8:"] {
        assert!(out.stderr.contains(at), "{at} missing:\n{}", out.stderr);
    }
    assert!(
        out.stderr.contains("could not load the spec (3 errors)"),
        "{}",
        out.stderr
    );
}

#[test]
fn dash_is_standard_input() {
    // --spec -
    let out = run_with_stdin(&Case::new(), &["--spec", "-", "lint", "--json"], SPEC);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["summary"]["error"], 0);
    // lint -
    let bad = "[services.a]\nbindings.http = { port = 8080 }\n\n[services.b]\nbindings.http = { port = 8080 }\n";
    let out = run_with_stdin(&Case::new(), &["lint", "-"], bad);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains("duplicate-binding"), "{}", out.stdout);
    assert!(
        out.stdout.contains("<stdin>:"),
        "locations name stdin:\n{}",
        out.stdout
    );
    // an error in a spec on stdin is located there
    let out = run_with_stdin(
        &Case::new(),
        &["lint", "-"],
        "[services.a]\nbindings.http = { port = 0 }\n",
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("<stdin>:2:26"), "{}", out.stderr);
    // gen reads it too
    let out = run_with_stdin(&Case::new(), &["--spec", "-", "gen", "etc-services"], SPEC);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("8000/tcp"), "{}", out.stdout);
    // import -: Markdown on stdin, the spec on stdout, piped into lint -
    let md = "# Ports\n\n| Service | Port | Bind |\n|---|---|---|\n| grafana | 3000 | 127.0.0.1 |\n| loki | 3100 | 127.0.0.1 |\n";
    let out = run_with_stdin(&Case::new(), &["import", "-"], md);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("3100"), "{}", out.stdout);
    let linted = run_with_stdin(&Case::new(), &["lint", "-", "--json"], &out.stdout);
    assert!(linted.code == 0 || linted.code == 1, "{}", linted.stderr);
    // a command that writes the spec refuses stdin
    let out = run_with_stdin(
        &Case::new(),
        &["--spec", "-", "alloc", "erp", "--name", "x"],
        SPEC,
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("needs the spec as a file"),
        "{}",
        out.stderr
    );
    // stdin once only
    Case::new().args(["lint", "-", "-"]).run().code(2);
}

#[test]
fn lint_takes_several_specs_into_one_report() {
    let clean = "[services.web]\nbindings.http = { port = 8080, bind = \"127.0.0.1\", exposure = \"localhost\" }\n";
    let dup = "[services.a]\nbindings.http = { port = 18473, bind = \"127.0.0.1\", exposure = \"localhost\" }\n\n[services.b]\nbindings.http = { port = 18473, bind = \"127.0.0.1\", exposure = \"localhost\" }\n";
    let c = Case::new()
        .file("a/ports.toml", clean)
        .file("b/ports.toml", dup);
    let out = Case::new().args(["lint"]).run();
    assert_eq!(out.code, 2, "no spec in an empty directory");
    let run = |args: &[&str]| {
        let mut cmd = c.command();
        cmd.args(args);
        let o = cmd.output().expect("run");
        Outcome {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    };
    let human = run(&["lint", "a/ports.toml", "b/ports.toml"]);
    assert_eq!(human.code, 1, "the worst verdict wins");
    assert!(
        human.stdout.contains("==> a/ports.toml <=="),
        "{}",
        human.stdout
    );
    assert!(human.stdout.contains("b/ports.toml:"), "{}", human.stdout);
    let json = run(&["lint", "a/ports.toml", "b/ports.toml", "--json"]);
    let v = json.json();
    assert_eq!(v["summary"]["error"], 1, "{v}");
    let sarif = run(&["lint", "a/ports.toml", "b/ports.toml", "--format", "sarif"]);
    let v = sarif.json();
    assert_eq!(v["runs"].as_array().unwrap().len(), 1);
    assert_eq!(v["runs"][0]["results"].as_array().unwrap().len(), 1);
    assert_eq!(
        v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "b/ports.toml"
    );
    assert_eq!(run(&["lint", "a/ports.toml"]).code, 0);
}

/// Bug: `alloc --json` printed the server's own object (`lo`, `hi`, a unix time) from the
/// registry and another one locally.
#[cfg(feature = "registry")]
#[test]
fn alloc_json_is_the_same_object_locally_and_from_the_registry() {
    use crate::registry::{serve, token};
    let c = case();
    let db = format!("sqlite://{}", c.path().join("reg.db").display());
    let admin = token(c.path(), &db, "admin");
    let tokens = c
        .command()
        .args(["token", "list", "--db", &db, "--json"])
        .output()
        .expect("token list");
    let tokens: serde_json::Value = serde_json::from_slice(&tokens.stdout).expect("JSON");
    assert_eq!(tokens[0]["role"], "admin", "{tokens}");
    let server = serve(c.path(), &db);
    let pushed = c
        .command()
        .args(["push", "--server", &server.url])
        .env("PORTOLAN_TOKEN", &admin)
        .output()
        .expect("push");
    assert!(
        pushed.status.success(),
        "{}",
        String::from_utf8_lossy(&pushed.stderr)
    );
    let alloc = |extra: &[&str]| {
        let o = c
            .command()
            .args([
                "alloc", "erp", "--block", "web", "--name", "hub", "--lease", "2h", "--json",
            ])
            .args(extra)
            .env("PORTOLAN_TOKEN", &admin)
            .env("PORTOLAN_NOW", "2026-11-27T10:00:00Z")
            .output()
            .expect("alloc");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).expect("JSON")
    };
    let remote = alloc(&["--server", &server.url]);
    let local = alloc(&[]);
    let keys =
        |v: &serde_json::Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&local), keys(&remote));
    for k in [
        "service",
        "binding",
        "project",
        "block",
        "transport",
        "ports",
        "dry_run",
    ] {
        assert_eq!(local[k], remote[k], "{k}: {local} vs {remote}");
    }
    assert_eq!(remote["ports"], serde_json::json!([8001]));
    assert_eq!(remote["server"], server.url.as_str());
    assert!(local["server"].is_null());
    // both times RFC 3339
    for v in [&local, &remote] {
        let t = v["lease_until"].as_str().expect("lease_until");
        assert!(t.ends_with('Z') && t.contains('T'), "{t}");
    }
}
