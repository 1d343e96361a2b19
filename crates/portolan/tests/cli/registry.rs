//! The team registry from the command line: `portolan serve` as a real child process,
//! `token create`, `push`, `pull`, `alloc --server`, `agent --once`, and the crash test —
//! allocations in flight while the server is killed with SIGKILL, then a restart on the
//! same `SQLite` file: every allocation that was answered 2xx is there, none twice.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use portolan_testkit::Serve;

use crate::harness::Case;

const SPEC: &str = r#"
[hosts.app1]
environment = "production"

[projects.dash]
range = "20000-22999"
blocks = { api = "20010-20019" }

[services.web]
project = "dash"
hosts = ["app1"]
bindings.http = { port = 20000, bind = "127.0.0.1", exposure = "localhost" }
"#;

const LIVE: &str = r#"[
 {"transport":"tcp","addr":"127.0.0.1","port":20000,"inode":1,"uid":0,"owners":[]},
 {"transport":"tcp","addr":"0.0.0.0","port":6379,"inode":2,"uid":0,"owners":[]}
]"#;

/// A `portolan serve` child of this build on a free loopback port; killed when dropped.
pub(crate) fn serve(dir: &Path, db: &str) -> Serve {
    Serve::start(&assert_cmd::cargo::cargo_bin("portolan"), dir, db)
}

pub(crate) fn token(dir: &Path, db: &str, role: &str) -> String {
    let out = Command::new(assert_cmd::cargo::cargo_bin("portolan"))
        .current_dir(dir)
        .args([
            "token", "create", "--role", role, "--label", role, "--db", db,
        ])
        .output()
        .expect("token create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(t.starts_with("ptk_"), "{t}");
    t
}

pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

#[test]
fn serve_push_pull_alloc_agent() {
    let c = Case::new().file("ports.toml", SPEC).file("live.json", LIVE);
    let db = format!("sqlite://{}", c.path().join("reg.db").display());
    let admin = token(c.path(), &db, "admin");
    let write = token(c.path(), &db, "write");
    let server = serve(c.path(), &db);
    let url = server.url.clone();

    c_run(&c, &["push", "--server", &url], &admin)
        .success()
        .stdout_has("1 project, 1 host, 1 service");
    // a write token may not push
    c_run(&c, &["push", "--server", &url], &write)
        .code(2)
        .stderr_has("admin");
    let out = c_run(
        &c,
        &[
            "alloc", "dash", "--block", "api", "--name", "api1", "--server", &url,
        ],
        &write,
    )
    .success()
    .stdout_has("allocated 20010/tcp to `api1`");
    drop(out);
    c_run(
        &c,
        &[
            "alloc", "dash", "--name", "ci-db", "--lease", "2h", "--print", "--server", &url,
        ],
        &write,
    )
    .success()
    .stdout_has("20001");
    // the local spec is untouched by a remote allocation
    assert_eq!(
        std::fs::read_to_string(c.path().join("ports.toml")).unwrap(),
        SPEC
    );
    // the same name again: the registry's 409 is exit 1, with its message
    c_run(
        &c,
        &["alloc", "dash", "--name", "api1", "--server", &url],
        &write,
    )
    .code(1)
    .stderr_has("already exists");
    c_run(&c, &["pull", "--server", &url, "-o", "pulled.toml"], &write).success();
    let pulled = std::fs::read_to_string(c.path().join("pulled.toml")).unwrap();
    assert!(
        pulled.contains("[services.api1]") && pulled.contains("[services.ci-db]"),
        "{pulled}"
    );
    Case::new()
        .file("ports.toml", &pulled)
        .args(["lint", "--fail-on", "never"])
        .run()
        .success();
    let out = c_run(
        &c,
        &["agent", "--server", &url, "--once", "--host", "app1"],
        &write,
    );
    // 6379 is undeclared; api1 and ci-db, allocated onto the spec's one host app1, do not
    // listen (before issue 13 they landed on an implicit host `default` and went unchecked)
    let out = out.success().stdout_has(
        "reported 2 listeners of host `app1` (2 opened, 0 closed, 0 changed): 3 drift findings",
    );
    drop(out);
    // no server: exit 2 naming it
    c_run(&c, &["pull"], &write)
        .code(2)
        .stderr_has("PORTOLAN_SERVER");
}

pub(crate) fn c_run(c: &Case, args: &[&str], token: &str) -> crate::harness::Outcome {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("portolan"));
    cmd.current_dir(c.path())
        .args(args)
        .env_remove("PORTOLAN_SPEC")
        .env_remove("PORTOLAN_SERVER")
        .env("XDG_STATE_HOME", c.state_dir())
        .env("XDG_CACHE_HOME", c.state_dir())
        .env("PORTOLAN_TOKEN", token)
        .env("PORTOLAN_LISTENERS_FIXTURE", "live.json")
        .env("NO_COLOR", "1");
    let out = cmd.output().expect("run portolan");
    crate::harness::Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn serve_refuses_a_public_address_without_public() {
    Case::new()
        .args(["serve", "--listen", "0.0.0.0:7878"])
        .run()
        .code(2)
        .stderr_has("--public");
    Case::new()
        .args(["serve", "--db", "mysql://x"])
        .run()
        .code(2)
        .stderr_has("unsupported database URL");
    // regression: a malformed PORTOLAN_NOW used to become 0 on every request (no token ever
    // expired); the server now refuses to start
    Case::new()
        .env("PORTOLAN_NOW", "yesterday")
        .args([
            "serve",
            "--db",
            "sqlite::memory:",
            "--listen",
            "127.0.0.1:0",
        ])
        .run()
        .code(2)
        .stderr_has("PORTOLAN_NOW: `yesterday` is not an instant");
    // a CA bundle for HTTPS webhook receivers that cannot be used is refused at start,
    // naming the file, not at the first delivery
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("ca.pem");
    std::fs::write(&empty, "not a certificate\n").expect("write");
    for (path, says) in [
        (dir.path().join("missing.pem"), "missing.pem"),
        (empty, "no certificate in it"),
    ] {
        let flag = format!("--webhook-ca={}", path.display());
        Case::new()
            .args([
                "serve",
                "--db",
                "sqlite::memory:",
                "--listen",
                "127.0.0.1:0",
                flag.as_str(),
            ])
            .run()
            .code(2)
            .stderr_has(says);
    }
}

/// The login cookie `GET /login` sets, asked with `forwarded` as `X-Forwarded-Proto`.
fn login_cookie(url: &str, forwarded: Option<&str>) -> String {
    let mut req = agent().get(&format!("{url}/login"));
    if let Some(proto) = forwarded {
        req = req.header("X-Forwarded-Proto", proto);
    }
    let r = req.call().expect("login page");
    r.headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a login cookie")
        .to_string()
}

#[test]
fn serve_marks_cookies_secure_behind_tls() {
    let c = Case::new();
    let db = format!("sqlite://{}", c.path().join("cookies.db").display());
    token(c.path(), &db, "read"); // no "no usable token" warning
    let bin = assert_cmd::cargo::cargo_bin("portolan");
    // default: never Secure, whatever a client claims
    let plain = Serve::start(&bin, c.path(), &db);
    assert!(!login_cookie(&plain.url, None).contains("Secure"));
    assert!(!login_cookie(&plain.url, Some("https")).contains("Secure"));
    drop(plain);
    // --cookie-secure: always
    let secure = Serve::start_with_args(&bin, c.path(), &db, &[], &["--cookie-secure"]);
    let cookie = login_cookie(&secure.url, None);
    assert!(cookie.starts_with("portolan_login="), "{cookie}");
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    drop(secure);
    // --trusted-proxy: the proxy's (here: the test's own loopback address) https counts
    let proxied = Serve::start_with_args(
        &bin,
        c.path(),
        &db,
        &[],
        &["--trusted-proxy", "127.0.0.0/8"],
    );
    assert!(login_cookie(&proxied.url, Some("https")).ends_with("; Secure"));
    assert!(!login_cookie(&proxied.url, Some("http")).contains("Secure"));
    assert!(!login_cookie(&proxied.url, None).contains("Secure"));
    drop(proxied);
    // the older spelling, one address
    let old = Serve::start_with_args(&bin, c.path(), &db, &[], &["--trust-proxy", "127.0.0.1"]);
    assert!(login_cookie(&old.url, Some("https")).ends_with("; Secure"));
    drop(old);
    // a proxy elsewhere: this client's header is not believed
    let elsewhere =
        Serve::start_with_args(&bin, c.path(), &db, &[], &["--trusted-proxy", "10.9.8.7"]);
    assert!(!login_cookie(&elsewhere.url, Some("https")).contains("Secure"));
    drop(elsewhere);
    // the config file's trusted_proxies, below the flag
    let config = c.path().join("config.toml");
    std::fs::write(&config, "trusted_proxies = [\"127.0.0.1\", \"fd00::/8\"]\n").expect("config");
    let config = config.display().to_string();
    let env = [("PORTOLAN_CONFIG", config.as_str())];
    let configured = Serve::start_with_args(&bin, c.path(), &db, &env, &[]);
    assert!(login_cookie(&configured.url, Some("https")).ends_with("; Secure"));
    drop(configured);
    let overridden = Serve::start_with_args(
        &bin,
        c.path(),
        &db,
        &env,
        &["--trusted-proxy", "10.0.0.0/8"],
    );
    assert!(!login_cookie(&overridden.url, Some("https")).contains("Secure"));
    drop(overridden);
    Case::new()
        .args([
            "serve",
            "--trusted-proxy",
            "proxy.example",
            "--db",
            "sqlite::memory:",
        ])
        .run()
        .code(2)
        .stderr_has("--trusted-proxy `proxy.example` is not an address or CIDR network");
    let bad = Case::new().file("bad.toml", "trusted_proxies = [\"10.0.0.1/8\"]\n");
    let bad_config = bad.path().join("bad.toml").display().to_string();
    bad.env("PORTOLAN_CONFIG", &bad_config)
        .args(["serve", "--db", "sqlite::memory:"])
        .run()
        .code(2)
        .stderr_has("trusted_proxies in ")
        .stderr_has("`10.0.0.1/8` is not an address or CIDR network");
}

#[test]
fn kill_9_mid_run_loses_no_acknowledged_allocation() {
    let c = Case::new().file("ports.toml", SPEC);
    let db = format!("sqlite://{}", c.path().join("crash.db").display());
    let admin = token(c.path(), &db, "admin");
    let mut server = serve(c.path(), &db);
    c_run(&c, &["push", "--server", &server.url], &admin).success();

    let acked: Mutex<Vec<(String, u64)>> = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let url = server.url.clone();
    std::thread::scope(|scope| {
        for _ in 0..16 {
            scope.spawn(|| {
                let agent = agent();
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let name = format!("crash-{i}");
                    let body = serde_json::json!({"project": "dash", "name": name}).to_string();
                    let res = agent
                        .post(&format!("{url}/api/v1/allocate"))
                        .header("Authorization", &format!("Bearer {admin}"))
                        .content_type("application/json")
                        .send(&body);
                    match res {
                        Ok(mut r) if r.status().as_u16() == 201 => {
                            let v: serde_json::Value = serde_json::from_str(
                                &r.body_mut().read_to_string().unwrap_or_default(),
                            )
                            .unwrap_or_default();
                            if let Some(p) = v["lo"].as_u64() {
                                acked.lock().unwrap().push((name, p));
                            }
                        }
                        // the server is gone: stop this worker
                        Err(_) => break,
                        Ok(_) => {}
                    }
                }
            });
        }
        // let allocations pile up, then SIGKILL the server while requests are in flight
        let t = Instant::now();
        while acked.lock().unwrap().len() < 150 && t.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(20));
        }
        server.kill9();
        stop.store(true, Ordering::Relaxed);
    });
    let acked = acked.into_inner().unwrap();
    assert!(
        acked.len() >= 150,
        "only {} allocations before the kill",
        acked.len()
    );

    let server = serve(c.path(), &db);
    let mut r = agent()
        .get(&format!("{}/api/v1/bindings", server.url))
        .header("Authorization", &format!("Bearer {admin}"))
        .call()
        .expect("bindings");
    let v: serde_json::Value =
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    let rows = v.as_array().expect("bindings");
    let present: BTreeSet<(String, u64)> = rows
        .iter()
        .map(|b| {
            (
                b["service"].as_str().unwrap().to_string(),
                b["lo"].as_u64().unwrap(),
            )
        })
        .collect();
    for a in &acked {
        assert!(
            present.contains(a),
            "{a:?} was acknowledged but is gone after the restart"
        );
    }
    let ports: Vec<u64> = rows.iter().map(|b| b["lo"].as_u64().unwrap()).collect();
    let unique: BTreeSet<u64> = ports.iter().copied().collect();
    assert_eq!(
        ports.len(),
        unique.len(),
        "a port is bound twice after the restart"
    );
    eprintln!(
        "crash test: {} acknowledged before SIGKILL, {} bindings after restart",
        acked.len(),
        rows.len()
    );
}

/// Writes `text` to `path` the way a scanner would see it: whole (temp + rename).
fn replace_file(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

#[test]
fn agent_sends_deltas_and_resynchronizes_when_the_server_lost_track() {
    use std::io::{BufRead, BufReader};
    let c = Case::new().file("ports.toml", SPEC).file("live.json", LIVE);
    let db = format!("sqlite://{}", c.path().join("history.db").display());
    let admin = token(c.path(), &db, "admin");
    let server = serve(c.path(), &db);
    c_run(&c, &["push", "--server", &server.url], &admin).success();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("portolan"))
        .current_dir(c.path())
        .args([
            "agent",
            "--server",
            &server.url,
            "--host",
            "app1",
            "--interval",
            "1s",
            "--json",
        ])
        .env("PORTOLAN_TOKEN", &admin)
        .env("PORTOLAN_LISTENERS_FIXTURE", "live.json")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn agent");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut next_receipt = |what: &str, wanted: &dyn Fn(&serde_json::Value) -> bool| {
        let t = Instant::now();
        loop {
            assert!(t.elapsed() < Duration::from_secs(60), "no receipt: {what}");
            let line = lines.next().expect("agent output").expect("line");
            let v: serde_json::Value = serde_json::from_str(&line).expect("receipt JSON");
            if wanted(&v) {
                return v;
            }
        }
    };
    let first = next_receipt("the full report", &|v| v["seq"] == 1);
    assert_eq!(
        (first["opened"].as_u64(), first["listeners"].as_u64()),
        (Some(2), Some(2))
    );
    // 6379 closes, 8030 opens: the next delta carries exactly that
    replace_file(
        &c.path().join("live.json"),
        r#"[
 {"transport":"tcp","addr":"127.0.0.1","port":20000,"inode":1,"uid":0,"owners":[]},
 {"transport":"tcp","addr":"0.0.0.0","port":8030,"inode":3,"uid":1000,
  "owners":[{"pid":4121,"name":"python3","cmdline":"python3 -m http.server 8030","user":"dev"}]}
]"#,
    );
    let d = next_receipt("the delta", &|v| v["opened"] == 1);
    assert!(d["seq"].as_i64().is_some_and(|s| s >= 2), "{d}");
    assert_eq!(
        (d["closed"].as_u64(), d["listeners"].as_u64()),
        (Some(1), Some(2))
    );
    // someone else reports the host unsequenced: the agent's next delta is refused (409)
    // and it resends everything as a new instance, recording exactly the difference
    let mut r = agent()
        .post(&format!("{}/api/v1/observations", server.url))
        .header("Authorization", &format!("Bearer {admin}"))
        .content_type("application/json")
        .send(&format!(r#"{{"host": "app1", "listeners": {LIVE}}}"#))
        .expect("observation");
    assert_eq!(
        r.status().as_u16(),
        200,
        "{}",
        r.body_mut().read_to_string().unwrap_or_default()
    );
    let resync = next_receipt("the resync", &|v| v["seq"] == 1);
    assert_eq!(
        (resync["opened"].as_u64(), resync["closed"].as_u64()),
        (Some(1), Some(1))
    );
    let _ = child.kill();
    let _ = child.wait();
    let mut r = agent()
        .get(&format!("{}/api/v1/hosts/app1/history", server.url))
        .header("Authorization", &format!("Bearer {admin}"))
        .call()
        .expect("history");
    let h: serde_json::Value =
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    let events: Vec<(String, u64)> = h["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["change"].as_str().unwrap().to_string(),
                e["port"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, u64)> = [
        ("opened", 6379),
        ("opened", 20000),
        ("closed", 6379),
        ("opened", 8030),
        ("opened", 6379),
        ("closed", 8030),
        ("closed", 6379),
        ("opened", 8030),
    ]
    .into_iter()
    .map(|(c, p)| (c.to_string(), p))
    .collect();
    assert_eq!(events, expected);
    assert_eq!(h["events"][3]["listener"]["owners"][0]["name"], "python3");
}

#[test]
fn serve_compacts_history_older_than_its_retention() {
    let c = Case::new().file("ports.toml", SPEC);
    let db = format!("sqlite://{}", c.path().join("retention.db").display());
    let admin = token(c.path(), &db, "admin");
    let server = Serve::start_with_args(
        &assert_cmd::cargo::cargo_bin("portolan"),
        c.path(),
        &db,
        &[],
        &["--history-retention", "10s"],
    );
    c_run(&c, &["push", "--server", &server.url], &admin).success();
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs(),
    )
    .expect("now");
    let post = |body: serde_json::Value| {
        let mut r = agent()
            .post(&format!("{}/api/v1/reports", server.url))
            .header("Authorization", &format!("Bearer {admin}"))
            .content_type("application/json")
            .send(&body.to_string())
            .expect("report");
        let status = r.status().as_u16();
        assert_eq!(
            status,
            200,
            "{}",
            r.body_mut().read_to_string().unwrap_or_default()
        );
    };
    let l = |port: u16| serde_json::json!({"transport": "tcp", "addr": "0.0.0.0", "port": port});
    post(
        serde_json::json!({"host": "app1", "agent": "a", "seq": 1, "at": now - 300,
        "listeners": [l(1), l(2)]}),
    );
    post(
        serde_json::json!({"host": "app1", "agent": "a", "seq": 2, "base": 1, "at": now - 200,
        "added": [l(3)], "removed": [{"transport": "tcp", "addr": "0.0.0.0", "port": 1}]}),
    );
    let get = |path: &str| {
        let mut r = agent()
            .get(&format!("{}{path}", server.url))
            .header("Authorization", &format!("Bearer {admin}"))
            .call()
            .expect("get");
        (
            r.status().as_u16(),
            serde_json::from_str::<serde_json::Value>(&r.body_mut().read_to_string().unwrap())
                .unwrap(),
        )
    };
    let t = Instant::now();
    let history = loop {
        let (_, h) = get("/api/v1/hosts/app1/history");
        if !h["retained_from"].is_null() {
            break h;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "never compacted: {h}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(history["events"], serde_json::json!([]), "{history}");
    // what was listening is kept in the baseline; instants before it are refused
    let (status, d) = get(&format!("/api/v1/diff?host=app1&from={}", now - 5));
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["changes"], serde_json::json!([]));
    let (_, state) = get("/api/v1/observations/app1");
    assert_eq!(state["listeners"].as_array().map(Vec::len), Some(2));
    let (status, d) = get(&format!("/api/v1/diff?host=app1&from={}", now - 250));
    assert_eq!((status, d["field"].as_str()), (422, Some("from")), "{d}");
}

/// Allocates `dash` services named `{prefix}-{i}` from `workers` threads, request `i` going
/// to `servers[i % len]`, until `stop` is set or `total` were tried; returns the
/// acknowledged `(name, port)` pairs. A request to a server that is gone is not
/// acknowledged and skipped; a 409 from contention is retried.
fn allocate_against(
    servers: &[String],
    admin: &str,
    prefix: &str,
    total: usize,
    workers: usize,
    stop: &AtomicBool,
    acked: &Mutex<Vec<(String, u64)>>,
) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let agent = agent();
                loop {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return;
                    }
                    let url = &servers[i % servers.len()];
                    let name = format!("{prefix}-{i}");
                    let body = serde_json::json!({"project": "dash", "name": name}).to_string();
                    for _ in 0..20 {
                        let res = agent
                            .post(&format!("{url}/api/v1/allocate"))
                            .header("Authorization", &format!("Bearer {admin}"))
                            .content_type("application/json")
                            .send(&body);
                        match res {
                            Ok(mut r) if r.status().as_u16() == 201 => {
                                let v: serde_json::Value = serde_json::from_str(
                                    &r.body_mut().read_to_string().unwrap_or_default(),
                                )
                                .unwrap_or_default();
                                let port = v["lo"].as_u64().expect("an allocated port");
                                acked.lock().unwrap().push((name, port));
                                break;
                            }
                            Ok(r)
                                if r.status().as_u16() == 409
                                    && r.headers().contains_key("retry-after") =>
                            {
                                std::thread::sleep(Duration::from_millis(50));
                            }
                            Ok(mut r) => panic!(
                                "{name}: HTTP {}: {}",
                                r.status(),
                                r.body_mut().read_to_string().unwrap_or_default()
                            ),
                            // this server is gone (killed): not acknowledged; go on
                            Err(_) => break,
                        }
                    }
                }
            });
        }
    });
}

/// The `(service, port)` of every binding a server lists.
fn listed(url: &str, admin: &str) -> Vec<(String, u64)> {
    let mut r = agent()
        .get(&format!("{url}/api/v1/bindings"))
        .header("Authorization", &format!("Bearer {admin}"))
        .call()
        .expect("bindings");
    let v: serde_json::Value =
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    v.as_array()
        .expect("bindings")
        .iter()
        .map(|b| {
            (
                b["service"].as_str().unwrap().to_string(),
                b["lo"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Every acknowledged allocation is listed, no port twice.
fn assert_all_listed(server: &str, rows: &[(String, u64)], acked: &[(String, u64)]) {
    let present: BTreeSet<&(String, u64)> = rows.iter().collect();
    for a in acked {
        assert!(
            present.contains(a),
            "{a:?} was acknowledged but {server} does not list it"
        );
    }
    let ports: BTreeSet<u64> = rows.iter().map(|r| r.1).collect();
    assert_eq!(ports.len(), rows.len(), "{server} lists a port twice");
}

#[test]
fn two_servers_on_one_postgres_share_allocations_and_survive_a_kill_9() {
    let c = Case::new().file("ports.toml", SPEC);
    let db = portolan_testkit::PgServer::shared().database("two_servers");
    let admin = token(c.path(), &db, "admin");
    let mut a = serve(c.path(), &db);
    let b = serve(c.path(), &db);
    c_run(&c, &["push", "--server", &a.url], &admin).success();
    let servers = [a.url.clone(), b.url.clone()];

    // 1,000 concurrent allocations split across both servers
    let acked = Mutex::new(Vec::new());
    let never = AtomicBool::new(false);
    let t = Instant::now();
    allocate_against(&servers, &admin, "both", 1000, 32, &never, &acked);
    eprintln!("two servers: 1000 allocations in {:?}", t.elapsed());
    let acked = acked.into_inner().unwrap();
    assert_eq!(acked.len(), 1000, "every allocation is acknowledged");
    let ports: BTreeSet<u64> = acked.iter().map(|a| a.1).collect();
    assert_eq!(ports.len(), 1000, "two servers handed out the same port");
    let from_a = listed(&a.url, &admin);
    let from_b = listed(&b.url, &admin);
    assert_all_listed("server A", &from_a, &acked);
    assert_all_listed("server B", &from_b, &acked);
    assert_eq!(from_a, from_b, "the two servers list different bindings");

    // kill -9 one server while both are busy: nothing either acknowledged is lost
    let during = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| allocate_against(&servers, &admin, "kill", 1500, 16, &stop, &during));
        let t = Instant::now();
        while during.lock().unwrap().len() < 200 && t.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(10));
        }
        a.kill9();
        // the survivor keeps allocating for a while
        let n = during.lock().unwrap().len();
        while during.lock().unwrap().len() < n + 100 && t.elapsed() < Duration::from_secs(90) {
            std::thread::sleep(Duration::from_millis(10));
        }
        stop.store(true, Ordering::Relaxed);
    });
    let during = during.into_inner().unwrap();
    assert!(
        during.len() >= 300,
        "only {} allocations around the kill",
        during.len()
    );
    let all: Vec<(String, u64)> = acked.iter().chain(&during).cloned().collect();
    let restarted = serve(c.path(), &db);
    let from_b = listed(&b.url, &admin);
    let from_restarted = listed(&restarted.url, &admin);
    assert_all_listed("the surviving server", &from_b, &all);
    assert_all_listed("the restarted server", &from_restarted, &all);
    assert_eq!(from_b, from_restarted);
    eprintln!(
        "two servers: 1000 allocations, then {} around the kill; {} bindings listed",
        during.len(),
        from_b.len()
    );
}

#[test]
fn diff_reads_a_hosts_listeners_at_an_instant_from_the_registry() {
    let c = Case::new().file("ports.toml", SPEC);
    let db = format!("sqlite://{}", c.path().join("diff.db").display());
    let admin = token(c.path(), &db, "admin");
    let server = serve(c.path(), &db);
    c_run(&c, &["push", "--server", &server.url], &admin).success();
    let t0: i64 = 1_796_000_000;
    let l = |port: u16, addr: &str| {
        serde_json::json!({"transport": "tcp", "addr": addr, "port": port, "inode": 1, "uid": 0,
            "owners": [{"pid": 4121, "name": "python3", "cmdline": "python3", "user": "dev"}]})
    };
    for body in [
        serde_json::json!({"host": "app1", "agent": "a", "seq": 1, "at": t0,
            "listeners": [l(20000, "127.0.0.1")]}),
        serde_json::json!({"host": "app1", "agent": "a", "seq": 2, "base": 1, "at": t0 + 60,
            "added": [l(8030, "0.0.0.0")], "removed": []}),
    ] {
        let mut r = agent()
            .post(&format!("{}/api/v1/reports", server.url))
            .header("Authorization", &format!("Bearer {admin}"))
            .content_type("application/json")
            .send(&body.to_string())
            .expect("report");
        let status = r.status().as_u16();
        assert_eq!(
            status,
            200,
            "{}",
            r.body_mut().read_to_string().unwrap_or_default()
        );
    }
    let (a, b) = (
        format!("registry:app1@{t0}"),
        "registry:app1@2026-12-01T00:00:00Z".to_string(),
    );
    let out = c_run(
        &c,
        &["diff", &a, &b, "--server", &server.url, "--exit-code"],
        &admin,
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("8030"), "{}", out.stdout);
    assert!(!out.stdout.contains("20000"), "{}", out.stdout);
    let same = c_run(
        &c,
        &["diff", &b, &b, "--server", &server.url, "--exit-code"],
        &admin,
    );
    assert_eq!(same.code, 0, "{}{}", same.stdout, same.stderr);
    let ghost = c_run(
        &c,
        &["diff", "registry:ghost@0", &b, "--server", &server.url],
        &admin,
    );
    assert_eq!(ghost.code, 2, "{}", ghost.stderr);
    assert!(ghost.stderr.contains("ghost"), "{}", ghost.stderr);
    let no_server = c_run(&c, &["diff", &a, &b], &admin);
    assert_eq!(no_server.code, 2, "{}", no_server.stderr);
    assert!(
        no_server.stderr.contains("PORTOLAN_SERVER"),
        "{}",
        no_server.stderr
    );
}

/// The first stdout line of `portolan serve --db DB [extra]`, and the server stopped.
fn serve_banner(dir: &Path, db: &str, extra: &[&str]) -> String {
    use std::io::BufRead as _;
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("portolan"))
        .current_dir(dir)
        .args(extra)
        .args(["serve", "--db", db, "--listen", "127.0.0.1:0", "-q"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the banner");
    let _ = child.kill();
    let out = child.wait_with_output().expect("reap");
    format!("{line}{}", String::from_utf8_lossy(&out.stderr))
}

/// Regression (secrets): `serve` and `token` printed DSN passwords given as `?password=`
/// or holding an unencoded `@` or `/` (only `user:pw@` with a plain password was masked).
/// Against a real `PostgreSQL` (which ignores the password: trust authentication) and with
/// databases that cannot be opened, no output of either command holds the password.
#[test]
fn serve_and_token_never_print_database_passwords() {
    let c = Case::new();
    let url = portolan_testkit::Engine::Postgres
        .database("dsn_redaction")
        .url;
    let (scheme, rest) = url.split_once("postgres@").expect("a postgres@ URL");
    for (db, shown) in [
        (
            format!("{scheme}postgres:Zq1p@ss@{rest}"),
            format!("{scheme}postgres:***@{rest}"),
        ),
        (
            format!("{scheme}postgres@{rest}?password=Zq1pass&sslmode=disable"),
            format!("{scheme}postgres@{rest}?password=***&sslmode=disable"),
        ),
    ] {
        for extra in [&[][..], &["--json"][..]] {
            let banner = serve_banner(c.path(), &db, extra);
            assert!(banner.contains(&shown), "{banner}");
            assert!(!banner.contains("Zq1"), "{banner}");
        }
        let out = c_run(&c, &["token", "list", "--db", &db], "");
        assert!(out.code == 0, "{}", out.stderr);
        assert!(!format!("{}{}", out.stdout, out.stderr).contains("Zq1"));
    }
    // `--help` names the variable without its value
    for args in [&["serve", "--help"][..], &["token", "list", "--help"][..]] {
        let out = Case::new()
            .env("PORTOLAN_DB", "postgres://u:Zq1env@db1/x")
            .args(args.iter().copied())
            .run()
            .success();
        assert!(out.stdout.contains("PORTOLAN_DB"), "{}", out.stdout);
        assert!(!out.stdout.contains("Zq1"), "{}", out.stdout);
    }
    // databases that cannot be opened: the error names the URL, masked
    for db in [
        "postgres://u:Zq1a/b@127.0.0.1:1/x",
        "postgres://u:Zq1a@b@127.0.0.1:1/x",
        "postgres://u@127.0.0.1:1/x?password=Zq1c",
        "sqlite:///nonexistent-dir/x.db?password=Zq1d",
    ] {
        for args in [
            &["token", "list", "--db", db][..],
            &["token", "create", "--role", "read", "--db", db][..],
            &["serve", "--listen", "127.0.0.1:0", "--db", db][..],
        ] {
            let out = c_run(&c, args, "");
            assert_eq!(out.code, 2, "{args:?}: {}{}", out.stdout, out.stderr);
            let all = format!("{}{}", out.stdout, out.stderr);
            assert!(!all.contains("Zq1"), "{args:?}: {all}");
            assert!(all.contains("***"), "{args:?}: {all}");
        }
    }
}

/// Regression (secrets): `agent` uploaded full command lines. They leave the host masked
/// (the server masks them again before storing), or empty with `--no-cmdline`.
#[test]
fn agent_uploads_command_lines_without_secrets() {
    let live = r#"[
 {"transport":"tcp","addr":"127.0.0.1","port":20000,"inode":1,"uid":0,
  "owners":[{"pid":7,"name":"web","cmdline":"web --port 20000 --password=Zq1a postgres://u:Zq1b@db/x","user":"www"}]}
]"#;
    let c = Case::new().file("ports.toml", SPEC).file("live.json", live);
    let db = format!("sqlite://{}", c.path().join("reg.db").display());
    let admin = token(c.path(), &db, "admin");
    let server = serve(c.path(), &db);
    let url = server.url.clone();
    c_run(&c, &["push", "--server", &url], &admin).success();
    let stored = |args: &[&str]| {
        let mut all = vec!["agent", "--server", &url, "--once", "--host", "app1"];
        all.extend_from_slice(args);
        c_run(&c, &all, &admin).success();
        let mut r = agent()
            .get(format!("{url}/api/v1/observations/app1"))
            .header("Authorization", format!("Bearer {admin}"))
            .call()
            .expect("GET");
        let text = r.body_mut().read_to_string().expect("body");
        let body: serde_json::Value = serde_json::from_str(&text).expect("json");
        body["listeners"][0]["owners"][0]["cmdline"]
            .as_str()
            .expect("cmdline")
            .to_string()
    };
    assert_eq!(
        stored(&[]),
        "web --port 20000 --password=*** postgres://u:***@db/x"
    );
    assert_eq!(stored(&["--no-cmdline"]), "");
}
