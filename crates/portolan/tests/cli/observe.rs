//! `ls`, `who` and drift in `check`, against real sockets of this test process and against
//! JSON fixtures of listeners (`PORTOLAN_LISTENERS_FIXTURE`).

use crate::harness::Case;

const SPEC: &str = r#"
[hosts.app1]
networks = []
[projects.erp]
range = "8000-8099"
blocks = { web = "8060-8079" }
[services.odoo]
project = "erp"
block = "web"
hosts = ["app1"]
process = "odoo"
bindings.http = { port = 8069, bind = "127.0.0.1", exposure = "localhost" }
[services.redis]
hosts = ["app1"]
bindings.redis = { port = 6379, bind = "127.0.0.1", exposure = "localhost", auth = true }
"#;

const LIVE: &str = r#"[
 {"transport":"tcp","addr":"0.0.0.0","port":8069,"inode":1,"uid":0,
  "owners":[{"pid":4242,"name":"python3","cmdline":"python3 /opt/other/app.py","user":"www","container":null}]},
 {"transport":"tcp","addr":"0.0.0.0","port":22,"inode":2,"uid":0,
  "owners":[{"pid":1,"name":"sshd","cmdline":"sshd -D","user":"root","container":null}]},
 {"transport":"udp","addr":"::","port":5353,"inode":3,"uid":0,"owners":[]}
]"#;

#[test]
fn ls_finds_a_real_listener_with_its_owner() {
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = tcp.local_addr().unwrap().port();
    let out = Case::new()
        .args(["ls", "-p", "--tcp", "--port", &port.to_string(), "--json"])
        .run()
        .success();
    let j = out.json();
    let rows = j.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{}", out.stdout);
    assert_eq!(rows[0]["local"], format!("127.0.0.1:{port}"));
    assert_eq!(rows[0]["owners"][0]["pid"], std::process::id());
    drop(tcp);
}

#[test]
fn ls_table_names_declared_services_and_filters_undeclared() {
    let c = Case::new().file("ports.toml", SPEC).file("live.json", LIVE);
    let out = c
        .args(["ls", "-p"])
        .env("PORTOLAN_LISTENERS_FIXTURE", "live.json")
        .run()
        .success();
    insta::assert_snapshot!("ls-table", out.stdout);
    let c = Case::new().file("ports.toml", SPEC).file("live.json", LIVE);
    let out = c
        .args(["ls", "--undeclared", "--json"])
        .env("PORTOLAN_LISTENERS_FIXTURE", "live.json")
        .run()
        .success();
    let ports: Vec<u64> = out
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["port"].as_u64().unwrap())
        .collect();
    assert_eq!(ports, [22, 5353]);
    let c = Case::new().file("ports.toml", SPEC).file("live.json", LIVE);
    let out = c
        .args(["ls", "--project", "erp", "--json"])
        .env("PORTOLAN_LISTENERS_FIXTURE", "live.json")
        .run()
        .success();
    assert_eq!(out.json().as_array().unwrap().len(), 1);
}

#[test]
fn who_names_process_service_project_and_block() {
    let c = Case::new().file("ports.toml", SPEC).file("live.json", LIVE);
    let out = c
        .args(["who", "8069"])
        .env("PORTOLAN_LISTENERS_FIXTURE", "live.json")
        .run()
        .success();
    insta::assert_snapshot!("who-8069", out.stdout);
    let c = Case::new().file("ports.toml", SPEC).file("live.json", LIVE);
    c.args(["who", "6379"])
        .env("PORTOLAN_LISTENERS_FIXTURE", "live.json")
        .run()
        .code(1)
        .stdout_has("declared, not listening");
}

#[test]
fn who_rejects_bad_ports() {
    Case::new()
        .args(["who", "70000"])
        .run()
        .code(2)
        .stderr_has("out of range")
        .no_panic();
    Case::new()
        .args(["who", "abc"])
        .run()
        .code(2)
        .stderr_has("not a port number")
        .no_panic();
    Case::new()
        .args(["who", "80-90"])
        .run()
        .code(2)
        .stderr_has("expected one port")
        .no_panic();
}

#[test]
fn check_reports_the_four_drift_rules() {
    let c = Case::new().file("ports.toml", SPEC).file("live.json", LIVE);
    let out = c
        .args(["check", "--host", "app1", "--json"])
        .env("PORTOLAN_LISTENERS_FIXTURE", "live.json")
        .run()
        .code(1);
    let mut rules: Vec<String> = out.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    rules.sort();
    assert_eq!(
        rules,
        [
            "bind-wider-than-declared",
            "declared-not-listening",
            "undeclared-listener",
            "undeclared-listener",
            "unexpected-process"
        ]
    );
    let c = Case::new().file("ports.toml", SPEC).file("live.json", LIVE);
    let out = c
        .args(["check", "--host", "app1"])
        .env("PORTOLAN_LISTENERS_FIXTURE", "live.json")
        .run()
        .code(1);
    insta::assert_snapshot!("check-drift", out.stdout);
}
