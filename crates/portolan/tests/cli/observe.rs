//! `ls`, `who` and drift in `check`, against real sockets of this test process and against
//! JSON fixtures of listeners (`PORTOLAN_LISTENERS_FIXTURE`).

use crate::harness::Case;
use crate::netns::Pair;

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

/// A child process listening on a free loopback port (optionally ignoring SIGTERM).
fn listening_child(ignore_term: bool) -> (std::process::Child, u16) {
    use std::io::BufRead;
    let code = format!(
        "import socket,time,signal\n{}s=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen()\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)\n",
        if ignore_term {
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        } else {
            ""
        }
    );
    let mut child = std::process::Command::new("python3")
        .args(["-c", &code])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().parse().unwrap())
}

fn exited(child: &mut std::process::Child) -> bool {
    for _ in 0..100 {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

#[test]
fn kill_stops_the_holder_with_sigterm() {
    let (mut child, port) = listening_child(false);
    let out = Case::new()
        .args(["kill", &port.to_string(), "--yes"])
        .run()
        .success();
    assert!(
        out.stdout.contains(&format!("pid {}: stopped", child.id())),
        "{}",
        out.stdout
    );
    assert!(exited(&mut child));
}

#[test]
fn kill_dry_run_and_unconfirmed_leave_it_running() {
    let (mut child, port) = listening_child(false);
    Case::new()
        .args(["kill", &port.to_string(), "--dry-run"])
        .run()
        .success()
        .stdout_has("dry run: would send SIGTERM to 1 process");
    // stdin is not a terminal in tests: without --yes it must refuse
    Case::new()
        .args(["kill", &port.to_string()])
        .run()
        .code(2)
        .stderr_has("pass --yes");
    assert!(
        child.try_wait().unwrap().is_none(),
        "the child must still run"
    );
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn kill_needs_force_for_a_process_that_ignores_sigterm() {
    let (mut child, port) = listening_child(true);
    Case::new()
        .args(["kill", &port.to_string(), "--yes", "--timeout", "0.3"])
        .run()
        .code(1)
        .stderr_has("still running");
    assert!(child.try_wait().unwrap().is_none());
    Case::new()
        .args([
            "kill",
            &port.to_string(),
            "--yes",
            "--timeout",
            "0.3",
            "--force",
        ])
        .run()
        .success()
        .stdout_has("killed with SIGKILL");
    assert!(exited(&mut child));
}

/// Starts `sleep` with pid `pid` (the kernel's last pid set just below it, root only;
/// other processes on the machine may take it first, so this retries).
fn sleeper_with_pid(pid: u32) -> std::process::Child {
    for _ in 0..200 {
        std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string())
            .expect("writing /proc/sys/kernel/ns_last_pid needs root (CI runs as root)");
        let mut c = std::process::Command::new("sleep")
            .arg("120")
            .spawn()
            .expect("sleep");
        if c.id() == pid {
            return c;
        }
        let _ = c.kill();
        let _ = c.wait();
    }
    panic!("could not get pid {pid} reused in 200 tries");
}

/// Regression (issue 12, item 6 — `kill` TOCTOU): after the prompt the stored pid was
/// signalled without re-checking it still held the port, so an unrelated process that
/// reused the pid was killed. The holder exits during the prompt and its pid goes to an
/// innocent `sleep`; answering yes must not signal it.
#[test]
fn kill_never_signals_a_pid_reused_during_the_prompt() {
    use std::io::{Read, Write};
    let (mut holder, port) = listening_child(false);
    let pid = holder.id();
    // the prompt needs a terminal: `script` gives portolan one and relays our pipe to it
    let mut session = std::process::Command::new("script")
        .args(["-qec"])
        .arg(format!(
            "{} kill {port}",
            assert_cmd::cargo::cargo_bin("portolan").display()
        ))
        .arg("/dev/null")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script (util-linux)");
    let mut out = session.stdout.take().expect("stdout");
    let mut seen = Vec::new();
    let mut buf = [0u8; 512];
    while !String::from_utf8_lossy(&seen).contains("[y/N]") {
        let n = out.read(&mut buf).expect("read");
        assert!(n > 0, "no prompt: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&seen).contains(&format!("(pid {pid}")));
    holder.kill().expect("kill the holder");
    holder.wait().expect("reap the holder");
    let mut innocent = sleeper_with_pid(pid);
    session
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"y\n")
        .expect("answer");
    out.read_to_end(&mut seen).expect("read the rest");
    let status = session.wait().expect("script");
    let text = String::from_utf8_lossy(&seen);
    assert!(
        text.contains(&format!("pid {pid}: no longer holds port {port}")),
        "{text}"
    );
    assert_eq!(status.code(), Some(1), "{text}");
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(
        innocent.try_wait().expect("try_wait").is_none(),
        "the process that reused pid {pid} was signalled:\n{text}"
    );
    innocent.kill().expect("kill sleep");
    innocent.wait().expect("reap sleep");
}

#[test]
fn kill_refuses_its_own_ancestors_and_free_ports() {
    // this test process is portolan's parent
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = tcp.local_addr().unwrap().port();
    Case::new()
        .args(["kill", &port.to_string(), "--yes"])
        .run()
        .code(2)
        .stderr_has("ancestor");
    drop(tcp);
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    Case::new()
        .args(["kill", &free.to_string(), "--yes"])
        .run()
        .code(1)
        .stdout_has("nothing listens");
    Case::new().args(["kill", "70000"]).run().code(2).no_panic();
    Case::new()
        .args(["kill", "80", "--signal", "FOO", "--yes"])
        .run()
        .code(2)
        .stderr_has("unknown signal");
}

/// Regression (issue 20): as root, `kill` on a port whose holder lives in a PID namespace
/// portolan cannot see said "run as root". portolan runs here in a fresh PID namespace
/// (`unshare --pid --mount-proc`) beside the holder's network namespace: it sees the socket,
/// not the process, and says so without signalling anything.
#[test]
fn kill_as_root_names_a_holder_in_another_pid_namespace() {
    let (mut child, port) = listening_child(false);
    let out = std::process::Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc"])
        .arg(assert_cmd::cargo::cargo_bin("portolan"))
        .args(["kill", &port.to_string(), "--yes"])
        .env(
            "DOCKER_HOST",
            "unix:///nonexistent/portolan-test/docker.sock",
        )
        .env("NO_COLOR", "1")
        .output()
        .expect("unshare (util-linux)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "port {port}: no process visible from here holds it (one of another PID namespace"
        )) && !stderr.contains("run as root"),
        "{stderr}"
    );
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "the holder must still run"
    );
    child.kill().expect("kill child");
    child.wait().expect("reap child");
}

#[test]
fn probe_reports_open_closed_and_http_status() {
    use std::io::{Read, Write};
    let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = open.local_addr().unwrap().port();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let http = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hport = http.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut c, _) = http.accept().unwrap();
        let mut buf = [0u8; 512];
        let n = c.read(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("GET /health HTTP/1.1"));
        c.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
    });
    let out = Case::new()
        .args([
            "probe",
            &format!("127.0.0.1:{port}"),
            &format!("127.0.0.1:{closed}"),
            &format!("http://127.0.0.1:{hport}/health"),
            "--json",
        ])
        .run()
        .success();
    server.join().unwrap();
    let j = out.json();
    let state = |p: u16| {
        j.as_array()
            .unwrap()
            .iter()
            .find(|r| r["port"] == p)
            .map(|r| r["state"].as_str().unwrap().to_string())
    };
    assert_eq!(state(port).as_deref(), Some("open"));
    assert_eq!(state(closed).as_deref(), Some("closed"));
    let h = j
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["port"] == hport)
        .unwrap();
    assert_eq!(h["http_status"], 204);
    drop(open);
}

#[test]
fn probe_sweep_finds_exactly_the_open_ports() {
    let ls: Vec<std::net::TcpListener> = (0..20)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let mut ports: Vec<u16> = ls.iter().map(|l| l.local_addr().unwrap().port()).collect();
    ports.sort_unstable();
    let (lo, hi) = (ports[0], ports[ports.len() - 1]);
    let out = Case::new()
        .args(["probe", &format!("127.0.0.1:{lo}-{hi}"), "--json"])
        .run()
        .success();
    let found: Vec<u16> = out
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["state"] == "open")
        .map(|r| u16::try_from(r["port"].as_u64().unwrap()).unwrap())
        .collect();
    for p in &ports {
        assert!(found.contains(p), "{p} not found among {found:?}");
    }
    drop(ls);
}

#[test]
fn probe_declared_bindings_and_bad_targets() {
    let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = open.local_addr().unwrap().port();
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let spec = format!(
        "[hosts.local]\naddresses = [\"127.0.0.1\"]\nnetworks = []\n[services.up]\nhosts = [\"local\"]\nbindings.tcp = {{ port = {port}, bind = \"127.0.0.1\", exposure = \"localhost\" }}\n[services.down]\nhosts = [\"local\"]\nbindings.tcp = {{ port = {free}, bind = \"127.0.0.1\", exposure = \"localhost\" }}\n"
    );
    let out = Case::new()
        .file("ports.toml", &spec)
        .args(["probe", "--host", "local", "--timeout", "300"])
        .run()
        .code(1);
    assert!(
        out.stdout.contains("up.tcp") && out.stdout.contains("down.tcp"),
        "{}",
        out.stdout
    );
    drop(open);
    Case::new()
        .args(["probe", "127.0.0.1:abc"])
        .run()
        .code(2)
        .stderr_has("not a port number")
        .no_panic();
    Case::new()
        .args(["probe", "127.0.0.1:70000"])
        .run()
        .code(2)
        .stderr_has("out of range")
        .no_panic();
    Case::new()
        .args(["probe", "no-such-host.invalid:80"])
        .run()
        .code(2)
        .stderr_has("does not resolve")
        .no_panic();
    Case::new()
        .args(["probe"])
        .run()
        .code(2)
        .stderr_has("nothing to probe");
}

#[test]
fn probe_across_two_network_namespaces() {
    use std::io::BufRead;
    let hosts = Pair::new(&["10.250.0.1/24"], &["10.250.0.2/24"]);
    let server_ip = "10.250.0.1";
    // in the server namespace: one service on its veth address, one on loopback only
    let code = format!(
        "import socket,time\na=socket.socket();a.bind(('{server_ip}',8069));a.listen()\nb=socket.socket();b.bind(('127.0.0.1',8070));b.listen()\nprint('ready',flush=True)\ntime.sleep(30)\n"
    );
    let mut server = Pair::spawn(&hosts.server, &["python3", "-c", &code]);
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    let bin = assert_cmd::cargo::cargo_bin("portolan");
    let targets = [
        format!("{server_ip}:8069"),
        format!("{server_ip}:8070"),
        format!("{server_ip}:8071"),
    ];
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &hosts.client])
        .arg(&bin)
        .arg("probe")
        .args(&targets)
        .args(["--json", "--timeout", "500"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let state = |p: u64| {
        j.as_array()
            .unwrap()
            .iter()
            .find(|r| r["port"] == p)
            .unwrap()["state"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        state(8069),
        "open",
        "the veth-bound service is reachable from the other host"
    );
    assert_eq!(
        state(8070),
        "closed",
        "a loopback-bound service is not reachable from the other host"
    );
    assert_eq!(state(8071), "closed");
    // inside the server namespace, `ls` sees exactly its two listeners
    let ls = std::process::Command::new("ip")
        .args(["netns", "exec", &hosts.server])
        .arg(&bin)
        .args(["ls", "--tcp", "--json"])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&ls.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            String::from_utf8_lossy(&ls.stdout),
            String::from_utf8_lossy(&ls.stderr)
        )
    });
    let mut seen: Vec<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["local"].as_str().unwrap().to_string())
        .collect();
    seen.sort();
    let mut want = vec![format!("{server_ip}:8069"), "127.0.0.1:8070".to_string()];
    want.sort();
    assert_eq!(seen, want);
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn init_from_host_drafts_a_spec_that_matches_this_machine() {
    let c = Case::new().file("live.json", LIVE);
    let out = c
        .args(["init", "--from-host", "--print"])
        .env("PORTOLAN_LISTENERS_FIXTURE", "live.json")
        .run()
        .success();
    let draft = out.stdout.clone();
    assert!(
        draft.contains("[services.sshd]") && draft.contains("process = \"sshd\""),
        "{draft}"
    );
    // checked against the same listeners, the draft has no drift at all
    let c = Case::new()
        .file("live.json", LIVE)
        .file("ports.toml", &draft);
    let host = draft
        .lines()
        .find_map(|l| l.strip_prefix("[hosts.")?.strip_suffix(']'))
        .expect("a host")
        .to_string();
    // no --host: the draft's host declares this machine's names and machine id
    let out = c
        .args(["check", "-v", "--json", "--fail-on", "never"])
        .env("PORTOLAN_LISTENERS_FIXTURE", "live.json")
        .run()
        .success()
        .stderr_has(&format!("note: this machine is host `{host}` by "));
    let drift: Vec<String> = out.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .filter(|r| {
            [
                "undeclared-listener",
                "declared-not-listening",
                "bind-wider-than-declared",
                "unexpected-process",
            ]
            .contains(&r.as_str())
        })
        .collect();
    assert!(
        drift.is_empty(),
        "drift in a fresh draft: {drift:?}\n{draft}\n{}",
        out.stdout
    );
    // and it is written like any spec: refuses to overwrite
    Case::new()
        .file("ports.toml", "x")
        .args(["init", "--from-host"])
        .run()
        .code(2)
        .stderr_has("already exists");
}

#[test]
fn probe_sweep_reports_undeclared_and_unreachable_ports() {
    let declared = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let undeclared = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (dp, up) = (
        declared.local_addr().unwrap().port(),
        undeclared.local_addr().unwrap().port(),
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let spec = format!(
        "[hosts.here]\naddresses = [\"127.0.0.1\"]\nnetworks = []\n[services.web]\nhosts = [\"here\"]\nbindings.http = {{ port = {dp}, exposure = \"localhost\", bind = \"0.0.0.0\" }}\nbindings.admin = {{ port = {closed}, exposure = \"localhost\", bind = \"0.0.0.0\" }}\n"
    );
    let out = Case::new()
        .file("ports.toml", spec)
        .args([
            "probe",
            "--host",
            "here",
            "--sweep",
            "--json",
            "--timeout",
            "300",
        ])
        .run()
        .code(1);
    let findings = out.json()["findings"].as_array().unwrap().clone();
    let has = |rule: &str, needle: &str| {
        findings
            .iter()
            .any(|f| f["rule"] == rule && f["message"].as_str().unwrap().contains(needle))
    };
    assert!(
        has("undeclared-listener", &format!(":{up}/tcp")),
        "{}",
        out.stdout
    );
    assert!(
        !has("undeclared-listener", &format!(":{dp}/tcp")),
        "{}",
        out.stdout
    );
    assert!(has("declared-not-listening", "web.admin"), "{}", out.stdout);
    assert!(!has("declared-not-listening", "web.http"), "{}", out.stdout);
    drop((declared, undeclared));
}

/// A TLS server (`openssl s_server`) with a self-signed certificate valid for `days`.
fn tls_server(dir: &std::path::Path, days: u32) -> (std::process::Child, u16) {
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            &days.to_string(),
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "this test needs the openssl command (apt-get install openssl)"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new("openssl")
        .args([
            "s_server",
            "-quiet",
            "-www",
            "-accept",
            &format!("127.0.0.1:{port}"),
        ])
        .arg("-cert")
        .arg(dir.join("cert.pem"))
        .arg("-key")
        .arg(dir.join("key.pem"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl s_server");
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    (child, port)
}

#[test]
fn probe_tls_reports_the_certificate_and_warns_before_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, port) = tls_server(dir.path(), 5);
    let out = Case::new()
        .args(["probe", &format!("tls://127.0.0.1:{port}"), "--json"])
        .run();
    let _ = server.kill();
    let _ = server.wait();
    let out = out.code(1).stderr_has("expires in");
    let j = out.json();
    let tls = &j[0]["tls"];
    assert!(
        tls["subject"].as_str().unwrap().contains("CN=localhost"),
        "{tls}"
    );
    assert_eq!(tls["self_signed"], true);
    let days = tls["days_left"].as_i64().unwrap();
    assert!((3..=5).contains(&days), "days_left {days}");
    assert!(
        tls["sans"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "IP:127.0.0.1"),
        "{tls}"
    );
    assert!(
        tls["version"].as_str().unwrap().starts_with("TLSv1."),
        "{tls}"
    );
}

#[test]
fn probe_https_gets_a_status_and_a_long_lived_cert_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, port) = tls_server(dir.path(), 90);
    let out = Case::new()
        .args(["probe", &format!("https://127.0.0.1:{port}/")])
        .run();
    let _ = server.kill();
    let _ = server.wait();
    let out = out.success();
    assert!(
        out.stdout.contains("days left") && out.stdout.contains(" 200 "),
        "{}",
        out.stdout
    );
}

#[test]
fn check_probe_reports_unreachable_bindings() {
    let up = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (upp, downp) = (
        up.local_addr().unwrap().port(),
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port(),
    );
    let spec = format!(
        "[hosts.here]\naddresses = [\"127.0.0.1\"]\nnetworks = []\n[services.up]\nhosts = [\"here\"]\nbindings.tcp = {{ port = {upp}, bind = \"127.0.0.1\", exposure = \"localhost\" }}\n[services.down]\nhosts = [\"here\"]\nbindings.tcp = {{ port = {downp}, bind = \"127.0.0.1\", exposure = \"localhost\" }}\n"
    );
    let out = Case::new()
        .file("ports.toml", spec)
        .args([
            "check",
            "--host",
            "here",
            "--probe",
            "--json",
            "--fail-on",
            "never",
        ])
        .run()
        .success();
    let unreachable: Vec<String> = out.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "unreachable")
        .map(|f| f["subjects"][0].as_str().unwrap().to_string())
        .collect();
    assert_eq!(unreachable, ["down.tcp"], "{}", out.stdout);
    drop(up);
}
