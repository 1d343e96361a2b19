//! `snapshot` and `diff`: real sockets of this test process opened and closed between two
//! snapshots, fixtures for the exact rendering, specs as a side, bad input.

use crate::harness::Case;

const BEFORE: &str = r#"[
 {"transport":"tcp","addr":"0.0.0.0","port":22,"inode":1,"uid":0,
  "owners":[{"pid":410,"name":"sshd","cmdline":"sshd -D","user":"root","container":null}]},
 {"transport":"tcp","addr":"127.0.0.1","port":5432,"inode":2,"uid":105,
  "owners":[{"pid":700,"name":"postgres","cmdline":"postgres -D /var/lib/pg","user":"postgres","container":null}]},
 {"transport":"udp","addr":"127.0.0.53","port":53,"inode":3,"uid":101,
  "owners":[{"pid":300,"name":"systemd-resolve","cmdline":"systemd-resolved","user":"systemd-resolve","container":null}]}
]"#;

const AFTER: &str = r#"[
 {"transport":"tcp","addr":"0.0.0.0","port":22,"inode":9,"uid":0,
  "owners":[{"pid":411,"name":"sshd","cmdline":"sshd -D","user":"root","container":null}]},
 {"transport":"tcp","addr":"0.0.0.0","port":5432,"inode":8,"uid":105,
  "owners":[{"pid":701,"name":"postgres","cmdline":"postgres -D /var/lib/pg","user":"postgres","container":null}]},
 {"transport":"tcp","addr":"0.0.0.0","port":8030,"inode":7,"uid":1000,
  "owners":[{"pid":4121,"name":"python3","cmdline":"python3 -m http.server 8030","user":"dev","container":null}]}
]"#;

const SPEC: &str = r#"
[hosts.app1]
networks = []
[services.postgres]
hosts = ["app1"]
bindings.db = { port = 5432, bind = "127.0.0.1", exposure = "localhost", auth = true }
[services.ssh]
hosts = ["app1"]
bindings.ssh = { port = 22, exposure = "public" }
"#;

fn snapshot(case: &Case, fixture: &str, out: &str) {
    let c = Case::new()
        .file("live.json", fixture)
        .args(["snapshot", "--host", "app1", "-o"])
        .args([case.path().join(out).display().to_string()])
        .env("PORTOLAN_LISTENERS_FIXTURE", "live.json")
        .env("PORTOLAN_NOW", "2026-12-01T12:00:00Z");
    c.run().success();
}

#[test]
fn diff_of_two_snapshots_names_opened_closed_and_widened() {
    let c = Case::new();
    snapshot(&c, BEFORE, "before.json");
    snapshot(&c, AFTER, "after.json");
    let out = c
        .args(["diff", "before.json", "after.json"])
        .run()
        .success();
    insta::assert_snapshot!("diff-human", out.stdout);
    let c2 = Case::new();
    snapshot(&c2, BEFORE, "before.json");
    snapshot(&c2, AFTER, "after.json");
    let out = c2
        .args(["diff", "before.json", "after.json", "--json", "--exit-code"])
        .run()
        .code(1);
    let j = out.json();
    let kinds: Vec<(&str, u64)> = j["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["change"].as_str().unwrap(), c["port"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![("removed", 53), ("changed", 5432), ("added", 8030)]
    );
    assert_eq!(j["changes"][1]["widened"], true);
}

#[test]
fn snapshots_are_byte_stable_and_ignore_pids_and_inodes() {
    let c = Case::new();
    snapshot(&c, BEFORE, "a.json");
    snapshot(&c, BEFORE, "b.json");
    let a = std::fs::read(c.path().join("a.json")).unwrap();
    assert_eq!(a, std::fs::read(c.path().join("b.json")).unwrap());
    assert!(!String::from_utf8_lossy(&a).contains("inode"));
    // same state, restarted processes (other pids): no difference, exit 0 with --exit-code
    let restarted = BEFORE.replace("\"pid\":410", "\"pid\":999");
    snapshot(&c, &restarted, "c.json");
    c.args(["diff", "a.json", "c.json", "--exit-code"])
        .run()
        .success()
        .stdout_has("no differences");
}

#[test]
fn a_real_listener_opened_between_live_and_a_snapshot_is_added() {
    let c = Case::new();
    let out = Case::new()
        .args(["snapshot", "--host", "here"])
        .run()
        .success();
    std::fs::write(c.path().join("before.json"), &out.stdout).unwrap();
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = tcp.local_addr().unwrap().port();
    let out = c
        .args(["diff", "before.json", "live", "--json"])
        .run()
        .success();
    drop(tcp);
    let j = out.json();
    let added: Vec<&serde_json::Value> = j["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"] == "added" && c["port"] == u64::from(port))
        .collect();
    assert_eq!(added.len(), 1, "{}", out.stdout);
    assert_eq!(added[0]["after"]["exposure"], "localhost");
    assert_eq!(added[0]["after"]["addrs"][0], "127.0.0.1");
}

#[test]
fn a_spec_side_is_its_hosts_active_bindings() {
    let c = Case::new()
        .file("ports.toml", SPEC)
        .file("live.json", AFTER);
    let out = c
        .args(["diff", "ports.toml", "live", "--host", "app1"])
        .env("PORTOLAN_LISTENERS_FIXTURE", "live.json")
        .run()
        .success();
    insta::assert_snapshot!(
        "diff-spec-live",
        out.stdout.replace(
            // the live side is named after this machine and stamped with the time
            &out.stdout.lines().nth(1).unwrap_or_default().to_string(),
            "+++ live"
        )
    );
}

#[test]
fn bad_sides_are_usage_errors_with_a_location() {
    let c = Case::new().file("broken.json", "{\n  \"format\": 1,\n  \"hots\": 3\n}\n");
    c.args(["diff", "broken.json", "live"])
        .run()
        .code(2)
        .stderr_has("broken.json:3:")
        .no_panic();
    Case::new()
        .args(["diff", "missing.json", "live"])
        .run()
        .code(2)
        .stderr_has("missing.json");
    Case::new()
        .file("ports.toml", "[hosts.a]\n[hosts.b]\n")
        .args(["diff", "ports.toml", "live"])
        .run()
        .code(2)
        .stderr_has("pass --host");
    Case::new()
        .args(["diff", "-", "-"])
        .run()
        .code(2)
        .stderr_has("standard input");
}
