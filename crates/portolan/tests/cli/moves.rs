//! `portolan move`: refusals, the listing with a verdict per place, and `--apply` in real
//! git repositories, where `git status`/the files must show exactly the intended change.

use crate::harness::Case;

const SPEC: &str = r#"# team ports — comments must survive a move
[projects.web]
range = "8000-8299"

[services.api]
project = "web"
bindings.http = { port = 8000, bind = "127.0.0.1", exposure = "localhost" } # keep me

[services.admin]
project = "web"
bindings.http = { port = 8001 }
bindings.metrics = { port = 8002 }
"#;

const COMPOSE: &str =
    "services:\n  api:\n    image: api\n    ports:\n      - \"127.0.0.1:8000:8000\"\n";

fn case() -> Case {
    Case::new()
        .file("ports.toml", SPEC)
        .file("docker-compose.yml", COMPOSE)
        .file(
            "docs/notes.md",
            "| api | 8000 |\n\nThe number 8000 again, and 18000 is not it.\n",
        )
        .env("PORTOLAN_USER", "tester")
        .env("PORTOLAN_NOW", "2026-05-01T10:00:00Z")
}

#[test]
fn move_refuses_taken_out_of_range_privileged_and_unsafe_ports() {
    case()
        .args(["move", "api", "--to", "8001"])
        .run()
        .code(2)
        .stderr_has("port 8001 is taken by `admin.http`");
    case()
        .args(["move", "api", "--to", "9000"])
        .run()
        .code(2)
        .stderr_has("outside the range of project `web` (8000-8299)");
    case()
        .args(["move", "api", "--to", "80"])
        .run()
        .code(2)
        .stderr_has("privileged");
    case()
        .args(["move", "api", "--to", "8000"])
        .run()
        .code(2)
        .stderr_has("already on port 8000");
    case()
        .args(["move", "admin", "--to", "8010"])
        .run()
        .code(2)
        .stderr_has("say which: admin.http, admin.metrics");
    case()
        .args(["move", "apj", "--to", "8010"])
        .run()
        .code(2)
        .stderr_has("did you mean `api`?");
    // 8200 (Vault) is on the well-known collision list
    case()
        .args(["move", "api", "--to", "8200"])
        .run()
        .code(2)
        .stderr_has("not safe to use: well-known");
    // nothing publishes admin: it has no container side
    case()
        .args(["move", "admin.http", "--container", "--to", "8010"])
        .run()
        .code(2)
        .stderr_has("`admin.http` is not published");
}

#[test]
fn move_lists_every_place_with_a_verdict_and_changes_nothing_without_apply() {
    let c = case().args(["move", "api", "--to", "8010"]);
    let out = c.run().code(1);
    for want in [
        "api.http: 8000 -> 8010 (tcp, host side)",
        // the spec did not say where the container listens: the move writes it
        "services.api.bindings.http.port (and target = 8000: the container keeps listening there)",
        "rewrite      high    docker-compose.yml:5:20",
        "other-side   high    docker-compose.yml:5:25",
        "unparsed     medium  docs/notes.md:1:9",
        "unparsed     low     docs/notes.md:3:12",
        "1 place would be rewritten by --apply; 2 to check by hand",
    ] {
        assert!(out.stdout.contains(want), "{want}\n{}", out.stdout);
    }
    // 18000 on the same line is not a reference
    assert_eq!(
        out.stdout.matches("docs/notes.md:").count(),
        2,
        "{}",
        out.stdout
    );
    assert_eq!(c.read("ports.toml"), SPEC);
}

#[test]
fn move_apply_edits_the_spec_losslessly_rewrites_its_places_and_logs() {
    let c = case().committed();
    c.run_args([
        "move",
        "api",
        "--to",
        "8010",
        "--apply",
        "--why",
        "free 8000 for the gateway",
    ])
    .code(1)
    .stdout_has("moved: the spec and 1 place in 1 file rewritten; 2 left to check by hand");
    let spec = SPEC.replace(
        r#"port = 8000, bind = "127.0.0.1", exposure = "localhost" }"#,
        r#"port = 8010, bind = "127.0.0.1", exposure = "localhost", target = 8000 }"#,
    );
    // the host side moves; the container keeps listening where it did; nothing else changes
    let compose = COMPOSE.replace("127.0.0.1:8000:8000", "127.0.0.1:8010:8000");
    c.assert_changed(
        &[
            ("ports.toml", Some(&spec)),
            ("docker-compose.yml", Some(&compose)),
        ],
        &["ports.log.jsonl"],
    );
    let log = c.read("ports.log.jsonl");
    assert_eq!(log.lines().count(), 1);
    assert!(
        log.contains(r#""action":"move""#) && log.contains("from 8000: free 8000 for the gateway"),
        "{log}"
    );
    c.run_args(["lint", "--fail-on", "never"]).success();
}

#[test]
fn move_json_lists_every_reference() {
    let out = case()
        .args(["--json", "move", "api", "--to", "8010"])
        .run()
        .code(1);
    let v = out.json();
    assert_eq!(v["from"], 8000);
    assert_eq!(v["to"], 8010);
    assert_eq!(v["side"], "host");
    assert_eq!(v["spec"]["services.api.bindings.http.target"], 8000);
    let refs = v["references"].as_array().expect("references");
    assert!(
        refs.iter()
            .any(|r| r["verdict"] == "rewrite" && r["side"] == "host" && r["owner"] == "api"),
        "{v}"
    );
    assert!(
        refs.iter().all(|r| r["at"]["path"].as_str().is_some()),
        "{v}"
    );
}

/// The compose stack of issue 13: `api` (in the spec, published as `${API_PORT:-8000}`)
/// and `admin` (not in the spec, published as 8001) both listen on 8000 in their
/// containers; nginx proxies to both by service name.
const STACK_SPEC: &str = "# the team's ports\n[hosts.app1]\nenvironment = \"production\"\n\n[projects.web]\nrange = \"8000-8099\"\n\n[services.api]\nproject = \"web\"\nhosts = [\"app1\"]\nbindings.http = { port = 8000, target = 8000, publisher = \"docker\", bind = \"127.0.0.1\", exposure = \"localhost\" }\n";
const STACK_COMPOSE: &str = "services:\n  api:\n    build: ./api\n    command: gunicorn api.wsgi --bind 0.0.0.0:8000\n    ports:\n      - \"127.0.0.1:${API_PORT:-8000}:8000\"\n  admin:\n    build: ./admin\n    command: [\"gunicorn\", \"admin.wsgi\", \"--bind\", \"0.0.0.0:8000\"]\n    ports:\n      - \"8001:8000\"\n  nginx:\n    image: nginx\n    volumes: [\"./nginx:/etc/nginx/conf.d:ro\"]\n    ports: [\"443:443\"]\n";
const STACK_API_DOCKERFILE: &str = "FROM python:3\nARG PORT=8000\nEXPOSE ${PORT}\nCMD [\"gunicorn\", \"api.wsgi\", \"--bind\", \"0.0.0.0:8000\"]\n";
const STACK_NGINX: &str = "upstream api_backend { server api:8000; }\nserver {\n  listen 443 ssl;\n  location /api/ { proxy_pass http://api_backend; }\n  location /admin/ { proxy_pass http://admin:8000; }\n}\n";

fn stack() -> Case {
    Case::new()
        .file("ports.toml", STACK_SPEC)
        .file("docker-compose.yml", STACK_COMPOSE)
        .file(".env", "API_PORT=8000\n")
        .file("api/Dockerfile", STACK_API_DOCKERFILE)
        .file(
            "admin/Procfile",
            "web: gunicorn admin.wsgi --bind 0.0.0.0:8000\n",
        )
        .file("admin/Dockerfile", "FROM python:3\nEXPOSE 8000\n")
        .file("nginx/default.conf", STACK_NGINX)
        .env("PORTOLAN_USER", "tester")
        .env("PORTOLAN_NOW", "2026-05-01T10:00:00Z")
        .committed()
}

/// No disagreement about `api.http` is left between code and spec.
#[track_caller]
fn no_disagreement_about_api(c: &Case) {
    let diff = c.run_args(["--json", "discover", "--diff"]).json();
    let bad: Vec<_> = diff["disagreements"]
        .as_array()
        .expect("disagreements")
        .iter()
        .filter(|d| d["binding"] == "api.http")
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
}

/// Regression (issue 13): `move api.http --to 8010 --apply` rewrote another app's Procfile
/// and the container-side ports, left the host side of `"${API_PORT:-8000}:8000"` alone and
/// kept the spec's `target`: the container then listened on 8010 while every mapping
/// pointed at 8000.
#[test]
fn regression_move_broke_a_compose_stack_a_host_move_changes_only_the_host_side() {
    let c = stack();
    let out = c
        .run_args(["move", "api.http", "--to", "8010", "--apply"])
        .success();
    assert!(
        out.stdout
            .contains("moved: the spec and 2 places in 2 files rewritten; 0 left"),
        "{}",
        out.stdout
    );
    c.assert_changed(
        &[
            (
                "ports.toml",
                Some(&STACK_SPEC.replace("port = 8000, target", "port = 8010, target")),
            ),
            (
                "docker-compose.yml",
                Some(&STACK_COMPOSE.replace("${API_PORT:-8000}", "${API_PORT:-8010}")),
            ),
            (".env", Some("API_PORT=8010\n")),
        ],
        &["ports.log.jsonl"],
    );
    no_disagreement_about_api(&c);
}

#[test]
fn a_container_move_changes_the_container_side_and_the_apps_own_config_only() {
    let c = stack();
    c.run_args(["move", "api", "--container", "--to", "8080", "--apply"])
        .success()
        .stdout_has("moved: the spec and 5 places in 3 files rewritten; 0 left");
    let compose = STACK_COMPOSE
        .replace(
            "api.wsgi --bind 0.0.0.0:8000",
            "api.wsgi --bind 0.0.0.0:8080",
        )
        .replace("${API_PORT:-8000}:8000", "${API_PORT:-8000}:8080");
    c.assert_changed(
        &[
            (
                "ports.toml",
                Some(&STACK_SPEC.replace("target = 8000", "target = 8080")),
            ),
            ("docker-compose.yml", Some(&compose)),
            (
                "api/Dockerfile",
                Some(&STACK_API_DOCKERFILE.replace("8000", "8080")),
            ),
            (
                "nginx/default.conf",
                Some(&STACK_NGINX.replace("server api:8000", "server api:8080")),
            ),
        ],
        &["ports.log.jsonl"],
    );
    // admin's files, its compose entry and its nginx route are byte-identical
    for f in ["admin/Procfile", "admin/Dockerfile"] {
        assert_eq!(c.read(f), c.committed_text(f), "{f}");
    }
    assert!(c.read("docker-compose.yml").contains(
        "command: [\"gunicorn\", \"admin.wsgi\", \"--bind\", \"0.0.0.0:8000\"]\n    ports:\n      - \"8001:8000\""
    ));
    // and back: the same places, nothing else
    c.run_args(["move", "api", "--container", "--to", "8000", "--apply"])
        .success();
    c.assert_changed(&[], &["ports.log.jsonl"]);
}

#[test]
fn the_listing_says_whose_each_place_is() {
    let c = stack();
    let out = c.run_args(["move", "api", "--to", "8010"]).success();
    for want in [
        "rewrite      high    .env:1:10  API_PORT=8000  [env listen: host side of api.http (`API_PORT` feeds the compose entry)]",
        "other-owner  high    admin/Procfile:1:41",
        "belongs to `admin` (directory `./admin` of compose service `admin`)",
        "other-side   high    api/Dockerfile:2:10  ARG PORT=8000  [sets `PORT`: container side of api.http",
        "other-owner  high    nginx/default.conf:5:46",
        "belongs to `admin` (connects to `admin`)",
    ] {
        assert!(out.stdout.contains(want), "{want}\n{}", out.stdout);
    }
    c.assert_changed(&[], &[]);
}

/// Issue 12 item 5, the bug: `move --apply` committed the spec, then rewrote the files one
/// by one, so a kill in between left spec and references disagreeing for good. Now the
/// change is journaled: killed after its first rename (the compose file; the spec goes
/// last), the next run on the spec finishes it before doing anything else.
/// Issue 12 item 5, the follow-up bug: the next run finished an interrupted move without a
/// word, and the move never reached the change log (it was appended after the journal went,
/// so the killed run never wrote it). Now the run that finishes it — here an unrelated
/// `alloc` — says so on stderr, and the log gets the move as made (who, when, why) marked as
/// finished by a later run.
#[test]
fn regression_a_finished_interrupted_move_is_told_on_stderr_and_logged() {
    let c = case()
        .args(["move", "api", "--to", "8010", "--apply"])
        .env("PORTOLAN_TEST_ABORT_AFTER_RENAMES", "1");
    let out = c.run();
    assert_ne!(out.code, 0, "the hook aborts: {}", out.stderr);
    let logged = |c: &Case| -> Vec<serde_json::Value> {
        let out = c.run_with(&["log", "--json"]).code(0);
        serde_json::from_str::<Vec<serde_json::Value>>(&out.stdout).unwrap()
    };
    assert!(logged(&c).is_empty(), "killed before its log entry");
    let out = c
        .run_with(&["alloc", "web", "--name", "worker"])
        .code(0)
        .stderr_has(
            "note: finished an interrupted move api.http 8000 -> 8010 from 2026-05-01T10:00:00Z: 1 of 2 files replaced now (ports.toml); logged in ports.log.jsonl",
        );
    assert_eq!(
        out.stderr.matches("finished an interrupted").count(),
        1,
        "{}",
        out.stderr
    );
    assert!(c.read("ports.toml").contains("port = 8010"));
    let log = logged(&c);
    assert_eq!(log.len(), 2, "{log:#?}");
    assert_eq!(log[0]["action"], "move");
    assert_eq!(log[0]["service"], "api");
    assert_eq!(log[0]["ports"], "8010");
    assert_eq!(log[0]["who"], "tester");
    assert_eq!(log[0]["at"], "2026-05-01T10:00:00Z");
    assert_eq!(
        log[0]["why"],
        "from 8000 (interrupted, finished by a later run)"
    );
    assert_eq!(log[1]["action"], "alloc");
    // finished once: the next run has nothing to tell
    let out = c.run_with(&["release", "worker"]).code(0);
    assert!(!out.stderr.contains("interrupted"), "{}", out.stderr);
}

#[test]
fn regression_an_interrupted_move_is_finished_by_the_next_run() {
    let c = case()
        .args(["move", "api", "--to", "8010", "--apply"])
        .env("PORTOLAN_TEST_ABORT_AFTER_RENAMES", "1");
    let out = c.run();
    assert_ne!(out.code, 0, "the hook aborts: {}", out.stderr);
    let moved_compose = COMPOSE.replace("127.0.0.1:8000:8000", "127.0.0.1:8010:8000");
    assert_eq!(c.read("docker-compose.yml"), moved_compose, "renamed first");
    assert_eq!(c.read("ports.toml"), SPEC, "the spec goes last: not yet");
    // the next transaction on this spec rolls the change forward, then sees it done
    c.run_with(&["move", "api", "--to", "8010", "--apply"])
        .code(2)
        .stderr_has("already on port 8010");
    let spec = SPEC.replace(
        r#"port = 8000, bind = "127.0.0.1", exposure = "localhost" }"#,
        r#"port = 8010, bind = "127.0.0.1", exposure = "localhost", target = 8000 }"#,
    );
    assert_eq!(c.read("ports.toml"), spec);
    assert_eq!(c.read("docker-compose.yml"), moved_compose);
    let leftovers: Vec<String> = std::fs::read_dir(c.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            std::path::Path::new(n)
                .extension()
                .is_some_and(|x| x == "tmp")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let journals = std::fs::read_dir(c.state_dir().join("portolan")).map_or(0, |d| {
        d.filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with("change-journal"))
            .count()
    });
    assert_eq!(
        journals, 0,
        "the journal is gone once the change is finished"
    );
}
