//! `portolan move`: refusals, the reference list with confidence, and `--apply` (spec edited
//! losslessly, sure references rewritten, the rest left, one log line).

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
}

#[test]
fn move_lists_references_with_confidence_and_changes_nothing_without_apply() {
    let c = case().args(["move", "api", "--to", "8010"]);
    let out = c.run().code(1);
    assert!(
        out.stdout.contains("api.http: 8000 -> 8010 (tcp)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("high    docker-compose.yml:5:"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("medium  docs/notes.md:1:9"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("low     docs/notes.md:3:12"),
        "{}",
        out.stdout
    );
    // 18000 on the same line is not a reference
    assert_eq!(
        out.stdout.matches("docs/notes.md:").count(),
        2,
        "{}",
        out.stdout
    );
    // the container side of the publish stays for a human to judge
    assert!(
        out.stdout.contains("medium  docker-compose.yml:5:25"),
        "{}",
        out.stdout
    );
    assert_eq!(
        std::fs::read_to_string(c.path().join("ports.toml")).expect("spec"),
        SPEC
    );
}

#[test]
fn move_apply_edits_the_spec_losslessly_rewrites_sure_references_and_logs() {
    let c = case().args([
        "move",
        "api",
        "--to",
        "8010",
        "--apply",
        "--why",
        "free 8000 for the gateway",
    ]);
    c.run()
        .code(1)
        .stdout_has("moved: the spec and 1 reference in 1 file rewritten; 3 left to check by hand");
    let spec = std::fs::read_to_string(c.path().join("ports.toml")).expect("spec");
    assert_eq!(spec, SPEC.replace("port = 8000,", "port = 8010,"));
    let compose = std::fs::read_to_string(c.path().join("docker-compose.yml")).expect("compose");
    // the host side moves; the container keeps listening where it did
    assert_eq!(
        compose,
        COMPOSE.replace("127.0.0.1:8000:8000", "127.0.0.1:8010:8000")
    );
    let notes = std::fs::read_to_string(c.path().join("docs/notes.md")).expect("notes");
    assert!(
        notes.contains("| api | 8000 |"),
        "medium references are left alone"
    );
    let log = std::fs::read_to_string(c.path().join("ports.log.jsonl")).expect("log");
    assert_eq!(log.lines().count(), 1);
    assert!(
        log.contains(r#""action":"move""#) && log.contains("from 8000: free 8000 for the gateway"),
        "{log}"
    );
    // and the result still loads
    Case::new()
        .file("ports.toml", spec)
        .args(["lint", "--fail-on", "never"])
        .run()
        .success();
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
    let refs = v["references"].as_array().expect("references");
    assert!(refs.iter().any(|r| r["confidence"] == "high"), "{v}");
    assert!(
        refs.iter().all(|r| r["at"]["path"].as_str().is_some()),
        "{v}"
    );
}
