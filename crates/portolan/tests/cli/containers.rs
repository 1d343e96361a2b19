//! Containers in the live layer, against real engines (see `engine.rs`): `ls`, `who`,
//! `kill`, `check` and `init --from-host` with Docker (userland proxy on and off) and
//! Podman, each in its own network namespace. `ls --json` is compared with `docker inspect`
//! field by field (every publication found, nothing else claimed), `check` runs against a
//! right spec and a spec wrong in each way, and `kill` stops containers, never their proxy
//! or the engine.

use std::collections::BTreeSet;

use crate::engine::{Engine, IMAGE, Kind};
use crate::harness::{Case, Outcome};

/// `portolan ARGS` inside the engine's namespace, asking that engine.
fn portolan(e: &Engine, args: &[&str]) -> Outcome {
    Case::new()
        .netns(&e.ns)
        .env("DOCKER_HOST", &e.host())
        .args(args.iter().copied())
        .run()
}

/// `check --host ptl` of `spec` inside the engine's namespace; (exit code, rule ids sorted,
/// messages).
fn check(e: &Engine, spec: &str) -> (i32, Vec<String>, Vec<String>) {
    let out = Case::new()
        .netns(&e.ns)
        .env("DOCKER_HOST", &e.host())
        .file("ports.toml", spec)
        .args(["check", "--host", "ptl", "--json"])
        .run();
    let j = out.json();
    let mut rules = Vec::new();
    let mut messages = Vec::new();
    for f in j["findings"].as_array().expect("findings") {
        rules.push(f["rule"].as_str().unwrap_or_default().to_string());
        messages.push(format!(
            "{}: {} {}",
            f["rule"].as_str().unwrap_or_default(),
            f["message"].as_str().unwrap_or_default(),
            f["help"].as_str().unwrap_or_default()
        ));
    }
    rules.sort();
    (out.code, rules, messages)
}

/// One publication as a comparable tuple: container name, id, image, compose project and
/// service, host address, host port, container port, transport.
type Pub = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    u16,
    u16,
    String,
);

/// The publications `docker inspect` (or `podman inspect`) reports.
fn inspected(e: &Engine) -> BTreeSet<Pub> {
    let mut out = BTreeSet::new();
    for c in e.inspect_all() {
        let name = c["Name"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches('/');
        let labels = &c["Config"]["Labels"];
        let label = |k: &str| labels[k].as_str().map(str::to_string);
        let Some(ports) = c["NetworkSettings"]["Ports"].as_object() else {
            continue;
        };
        for (spec, bindings) in ports {
            let (target, proto) = spec.split_once('/').expect("PORT/PROTO");
            for b in bindings.as_array().into_iter().flatten() {
                let ip = match b["HostIp"].as_str().unwrap_or_default() {
                    "" => "0.0.0.0",
                    ip => ip,
                };
                out.insert((
                    name.to_string(),
                    c["Id"].as_str().unwrap_or_default().to_string(),
                    c["Config"]["Image"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    label("com.docker.compose.project"),
                    label("com.docker.compose.service"),
                    ip.to_string(),
                    b["HostPort"]
                        .as_str()
                        .and_then(|p| p.parse().ok())
                        .expect("HostPort"),
                    target.parse().expect("container port"),
                    proto.to_string(),
                ));
            }
        }
    }
    out
}

/// The publications `portolan ls --json` reports.
fn listed(ls: &serde_json::Value) -> BTreeSet<Pub> {
    let mut out = BTreeSet::new();
    for l in ls.as_array().expect("array") {
        let c = &l["container"];
        if !c["published"].is_object() {
            continue;
        }
        let s = |v: &serde_json::Value| v.as_str().map(str::to_string);
        out.insert((
            s(&c["name"]).unwrap_or_default(),
            s(&c["id"]).unwrap_or_default(),
            s(&c["image"]).unwrap_or_default(),
            s(&c["project"]),
            s(&c["service"]),
            s(&l["addr"]).unwrap_or_default(),
            l["port"]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .expect("port"),
            c["published"]["target"]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .expect("target"),
            s(&l["transport"]).unwrap_or_default(),
        ));
    }
    out
}

/// Precision and recall of `ls --json` against inspect must both be 100 %.
#[track_caller]
fn agrees_with_inspect(e: &Engine) -> serde_json::Value {
    let ls = portolan(e, &["ls", "-p", "--json"]).success().json();
    let (want, got) = (inspected(e), listed(&ls));
    assert!(!want.is_empty(), "no publications to compare");
    let hit = want.intersection(&got).count();
    assert_eq!(
        (hit, got.len(), want.len()),
        (want.len(), want.len(), want.len()),
        "precision {hit}/{} recall {hit}/{}\nonly ls: {:#?}\nonly inspect: {:#?}",
        got.len(),
        want.len(),
        got.difference(&want).collect::<Vec<_>>(),
        want.difference(&got).collect::<Vec<_>>()
    );
    ls
}

/// The row of the `ls` table for a local address.
fn row<'a>(table: &'a str, local: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(local))
        .unwrap_or_else(|| panic!("no row for {local}:\n{table}"))
}

const COMPOSE_WEB: &[&str] = &[
    "--label",
    "com.docker.compose.project=shop",
    "--label",
    "com.docker.compose.service=web",
];

/// Engine A: the userland proxy, a compose project, a dead publish, a loopback-only
/// listener, an unpublished listener with `--expose`, a UDP publish, a host-network
/// container.
fn populate_docker(a: &Engine) {
    assert!(
        a.cli(&["network", "create", "shop_default"])
            .status
            .success()
    );
    let httpd = |port: &str| {
        vec!["httpd", "-f", "-h", "/www", "-p"]
            .into_iter()
            .map(str::to_string)
            .chain([port.to_string()])
            .collect::<Vec<_>>()
    };
    let run = |args: &[&str], cmd: &[String]| {
        let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
        a.run(args, &cmd)
    };
    let mut web = vec!["--name", "shop-web-1", "--network", "shop_default"];
    web.extend(COMPOSE_WEB);
    web.extend(["-p", "127.0.0.1:18080:80", "--expose", "9000"]);
    run(&web, &httpd("80"));
    run(
        &[
            "--name",
            "shop-api-1",
            "--network",
            "shop_default",
            "--label",
            "com.docker.compose.project=shop",
            "--label",
            "com.docker.compose.service=api",
            "-p",
            "18081:8000",
        ],
        &httpd("8000"),
    );
    run(&["--name", "dead", "-p", "18082:81"], &httpd("80"));
    run(
        &["--name", "lo-only", "-p", "18083:80"],
        &httpd("127.0.0.1:80"),
    );
    run(&["--name", "internal", "--expose", "5432"], &httpd("5432"));
    a.run(
        &["--name", "udp-dead", "-p", "127.0.0.1:15353:5353/udp"],
        &["sleep", "3600"],
    );
    run(&["--name", "hostnet", "--network", "host"], &httpd("18090"));
    for (name, port) in [
        ("shop-web-1", 80),
        ("shop-api-1", 8000),
        ("dead", 80),
        ("lo-only", 80),
        ("internal", 5432),
        ("hostnet", 18090),
    ] {
        a.wait_listening(name, port);
    }
}

#[test]
fn docker_engine_in_the_live_layer() {
    // two daemons at once, each in its own namespace: with and without the userland proxy
    let b = std::thread::spawn(|| {
        let b = Engine::start(Kind::Docker {
            userland_proxy: false,
        });
        b.run(
            &["--name", "web2", "-p", "18080:80"],
            &["httpd", "-f", "-h", "/www", "-p", "80"],
        );
        b.wait_listening("web2", 80);
        b
    });
    let a = Engine::start(Kind::Docker {
        userland_proxy: true,
    });
    populate_docker(&a);
    let b = b.join().expect("engine B");

    ls_agrees_with_inspect_and_names_containers(&a);
    ls_containers_lists_what_listens_inside(&a);
    who_follows_a_publication_inside(&a);
    without_a_reachable_engine_nothing_changes(&a);
    the_engine_holding_the_port_is_a_publication_too(&b);
    check_right_and_wrong_specs(&b);
    let (draft, host) = init_from_host_drafts_compose_services_and_check_finds_dead_ports(&a);
    agent_reports_publications_and_the_server_finds_dead_ports(&a, &draft, &host);
    kill_stops_containers_never_the_proxy_or_the_engine(&a, &b);
}

fn ls_agrees_with_inspect_and_names_containers(a: &Engine) {
    let ls = agrees_with_inspect(a);
    // exposed-only and in-container ports are no host listeners
    for l in ls.as_array().expect("array") {
        let port = l["port"].as_u64().unwrap_or_default();
        assert!(![9000, 5432, 80].contains(&port), "not host exposure: {l}");
    }
    let hostnet = ls
        .as_array()
        .expect("array")
        .iter()
        .find(|l| l["port"] == 18090)
        .expect("host-network listener");
    assert_eq!(hostnet["container"]["name"], "hostnet");
    assert!(hostnet["container"]["published"].is_null(), "{hostnet}");
    // a snapshot names the container of a publication, not only of its own processes
    let snap = portolan(a, &["snapshot", "--host", "ptl"]).success().json();
    let socks = snap["listeners"].as_array().expect("listeners");
    let container_of = |port: u64| {
        socks
            .iter()
            .find(|l| l["port"] == port)
            .map(|l| l["container"].clone())
    };
    assert_eq!(
        container_of(18080),
        Some(serde_json::json!("docker:shop-web-1")),
        "{snap}"
    );
    assert_eq!(
        container_of(18090),
        Some(serde_json::json!("docker:hostnet")),
        "{snap}"
    );
    assert_eq!(hostnet["owners"][0]["name"], "httpd");
    let table = portolan(a, &["ls", "-p"]).success().stdout;
    let web = row(&table, "127.0.0.1:18080");
    for cell in ["docker-proxy", "shop-web-1:80", "shop/web"] {
        assert!(web.contains(cell), "{cell} missing in {web}\n{table}");
    }
    assert!(
        row(&table, "0.0.0.0:18082").contains("dead:81 (nothing inside)"),
        "{table}"
    );
    assert!(
        row(&table, "[::]:18082").contains("dead:81 (nothing inside)"),
        "{table}"
    );
    assert!(
        row(&table, "0.0.0.0:18083").contains("lo-only:80 (loopback inside)"),
        "{table}"
    );
    assert!(
        row(&table, "127.0.0.1:15353").contains("udp-dead:5353 (nothing inside)"),
        "{table}"
    );
    assert!(row(&table, "0.0.0.0:18081").contains("shop/api"), "{table}");
    assert!(row(&table, "[::]:18090").contains("hostnet"), "{table}");
    // the same table without the engine: docker-proxy and no container, as before
    let bare = portolan(a, &["ls", "-p", "--no-containers"])
        .success()
        .stdout;
    let web = row(&bare, "127.0.0.1:18080");
    assert!(
        web.contains("docker-proxy") && !web.contains("shop"),
        "{bare}"
    );
}

fn ls_containers_lists_what_listens_inside(a: &Engine) {
    let rows = portolan(a, &["ls", "--containers", "-p", "--json"])
        .success()
        .json();
    let rows = rows.as_array().expect("array");
    let find = |name: &str, port: u64| {
        rows.iter()
            .find(|r| {
                r["port"] == port
                    && r["containers"]
                        .as_array()
                        .is_some_and(|c| c.iter().any(|c| c["name"] == name))
            })
            .unwrap_or_else(|| panic!("no in-container row {name}:{port}: {rows:#?}"))
    };
    let web = find("shop-web-1", 80);
    assert_eq!(web["published"], serde_json::json!(["127.0.0.1:18080"]));
    assert_eq!(web["owners"][0]["name"], "httpd");
    assert_eq!(web["containers"][0]["service"], "web");
    let internal = find("internal", 5432);
    assert_eq!(internal["published"], serde_json::json!([]));
    assert_eq!(find("lo-only", 80)["addr"], "127.0.0.1");
    assert!(
        rows.iter().all(|r| r["containers"][0]["name"] != "hostnet"),
        "a host-network container has no namespace of its own"
    );
    let table = portolan(a, &["ls", "--containers", "-p"]).success().stdout;
    assert!(
        table.lines().any(|l| l.starts_with("internal ")
            && l.contains(":5432")
            && l.trim_end().ends_with(" -")),
        "{table}"
    );
}

fn who_follows_a_publication_inside(a: &Engine) {
    portolan(a, &["who", "18080"])
        .success()
        .stdout_has("127.0.0.1:18080/tcp held by docker-proxy")
        .stdout_has("published by docker container `shop-web-1`")
        .stdout_has("compose project `shop`, service `web`) → 80/tcp")
        .stdout_has("inside: listening on [::]:80 (httpd (pid");
    portolan(a, &["who", "18082"])
        .success()
        .stdout_has("inside: nothing listens on 81/tcp (publish-to-dead-port)");
    portolan(a, &["who", "18083"])
        .success()
        .stdout_has("inside: only 127.0.0.1:80 (httpd");
    // a port only a container listens on: not on the host, but said where it is
    portolan(a, &["who", "5432"])
        .code(1)
        .stdout_has("nothing listens on port 5432 on the host")
        .stdout_has("inside container internal: [::]:5432/tcp held by httpd (pid")
        .stdout_has("not published on the host");
    let j = portolan(a, &["who", "80", "--json"]).code(1).json();
    let inside = j["inside"].as_array().expect("inside");
    assert!(
        inside
            .iter()
            .any(|r| r["published"] == serde_json::json!(["127.0.0.1:18080"])),
        "{j}"
    );
}

fn without_a_reachable_engine_nothing_changes(a: &Engine) {
    let bare = Case::new()
        .netns(&a.ns)
        .args(["ls", "-p", "--json", "--no-containers"])
        .run()
        .success()
        .json();
    let missing = Case::new()
        .netns(&a.ns)
        .env(
            "DOCKER_HOST",
            "unix:///nonexistent/portolan-test/docker.sock",
        )
        .args(["ls", "-p", "--json"])
        .run()
        .success()
        .stderr_has("the socket does not exist")
        .stderr_has("containers are not shown")
        .stderr_has("ports held by docker-proxy are container publications");
    assert_eq!(missing.json(), bare, "no engine: the same listeners");
    // a user who may not use the socket: a note, and the same listeners (owners aside)
    let out = std::process::Command::new("nsenter")
        .arg(format!("--net=/var/run/netns/{}", a.ns))
        .args(["runuser", "-u", "nobody", "--"])
        .arg(assert_cmd::cargo::cargo_bin("portolan"))
        .args(["ls", "--json"])
        .env("DOCKER_HOST", a.host())
        .current_dir("/")
        .output()
        .expect("runuser");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("permission denied"), "{stderr}");
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let ports = |v: &serde_json::Value| {
        v.as_array()
            .expect("array")
            .iter()
            .map(|l| (l["addr"].to_string(), l["port"].as_u64()))
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(ports(&seen), ports(&bare));
}

fn the_engine_holding_the_port_is_a_publication_too(b: &Engine) {
    let ls = agrees_with_inspect(b);
    let l = ls
        .as_array()
        .expect("array")
        .iter()
        .find(|l| l["port"] == 18080)
        .expect("18080");
    assert_eq!(l["owners"][0]["name"], "dockerd", "userland proxy off: {l}");
    assert_eq!(l["container"]["name"], "web2");
    assert_eq!(l["container"]["published"]["inside"], "listening");
}

/// A spec of one host `ptl` with these service definitions.
fn spec(services: &str) -> String {
    format!("[hosts.ptl]\nnetworks = []\n\n{services}")
}

const WEB2: &str = r#"[services.web2]
hosts = ["ptl"]
bindings.http = { port = 18080, bind = "0.0.0.0", publisher = "docker", target = 80, app = "http", exposure = "host-internal" }
"#;

fn check_right_and_wrong_specs(b: &Engine) {
    let (code, rules, messages) = check(b, &spec(WEB2));
    assert_eq!((code, rules.len()), (0, 0), "the right spec: {messages:#?}");
    let wrong = |from: &str, to: &str| spec(&WEB2.replacen(from, to, 1));
    // publish bind wider than declared
    let (code, rules, messages) = check(
        b,
        &wrong(r#"bind = "0.0.0.0""#, r#"bind = "127.0.0.1""#)
            .replace("host-internal", "localhost"),
    );
    assert_eq!(
        (code, rules.clone()),
        (1, vec!["bind-wider-than-declared".to_string()]),
        "{messages:#?}"
    );
    assert!(
        messages[0].contains("is published on 0.0.0.0:18080"),
        "{messages:#?}"
    );
    // published but undeclared
    let (code, rules, messages) = check(b, &spec(""));
    assert_eq!(
        (code, rules),
        (0, vec!["undeclared-listener".to_string()]),
        "{messages:#?}"
    );
    assert!(
        messages[0].contains("published by docker container `web2` → 80/tcp; held by dockerd"),
        "{messages:#?}"
    );
    // declared published but not published
    let extra = format!(
        "{WEB2}bindings.admin = {{ port = 18099, bind = \"0.0.0.0\", publisher = \"docker\", target = 9000, exposure = \"host-internal\" }}\n"
    );
    let (code, rules, messages) = check(b, &spec(&extra));
    assert_eq!(
        (code, rules),
        (1, vec!["declared-not-listening".to_string()]),
        "{messages:#?}"
    );
    // declared a host process, but a container publishes it
    let (code, rules, messages) = check(b, &wrong(r#"publisher = "docker", "#, ""));
    assert_eq!(
        (code, rules),
        (0, vec!["unexpected-process".to_string()]),
        "{messages:#?}"
    );
    assert!(
        messages[0].contains("declare `publisher = \"docker\"` and `target = 80`"),
        "{messages:#?}"
    );
    // published to another container port than declared
    let (code, rules, messages) = check(b, &wrong("target = 80", "target = 8080"));
    assert_eq!(
        (code, rules),
        (0, vec!["unexpected-process".to_string()]),
        "{messages:#?}"
    );
    assert!(
        messages[0].contains("not to the declared target 8080"),
        "{messages:#?}"
    );
}

/// Returns the draft and its host's name.
fn init_from_host_drafts_compose_services_and_check_finds_dead_ports(
    a: &Engine,
) -> (String, String) {
    let c = Case::new()
        .netns(&a.ns)
        .env("DOCKER_HOST", &a.host())
        .args(["init", "--from-host", "--print"]);
    let draft = c.run().success().stdout;
    for needle in [
        "[services.web]",
        "[services.api]",
        "[services.dead]",
        "[services.hostnet]",
        r#"bindings.tcp-18080 = { port = 18080, bind = "127.0.0.1", publisher = "docker", target = 80, app = "http", exposure = "localhost" }"#,
        "docker container `shop-web-1` (image localhost/ptl-busybox:1, compose project `shop`, service `web`)",
        r#"transport = "udp", publisher = "docker", target = 5353"#,
    ] {
        assert!(draft.contains(needle), "draft lacks {needle}:\n{draft}");
    }
    assert!(!draft.contains("docker-proxy"), "{draft}");
    assert!(
        !draft.contains("5432"),
        "in-container listeners are not host bindings:\n{draft}"
    );
    // the draft describes the host as it is: the only drift is what is broken
    let host = draft
        .lines()
        .find_map(|l| l.strip_prefix("[hosts.").and_then(|r| r.strip_suffix(']')))
        .expect("host")
        .to_string();
    let out = Case::new()
        .netns(&a.ns)
        .env("DOCKER_HOST", &a.host())
        .file("ports.toml", &draft)
        .args(["check", "--host", &host, "--json"])
        .run();
    let findings = out.json()["findings"].as_array().expect("findings").clone();
    let drift: Vec<String> = findings
        .iter()
        .filter(|f| {
            [
                "undeclared-listener",
                "declared-not-listening",
                "bind-wider-than-declared",
                "unexpected-process",
                "publish-to-dead-port",
            ]
            .contains(&f["rule"].as_str().unwrap_or_default())
        })
        .map(|f| {
            format!(
                "{} {}",
                f["rule"].as_str().unwrap_or_default(),
                f["message"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(drift.len(), 3, "{drift:#?}");
    assert!(
        drift.iter().all(|d| d.starts_with("publish-to-dead-port")),
        "{drift:#?}"
    );
    let all = drift.join("\n");
    for needle in [
        "container `dead` (dead) publishes 0.0.0.0:18082 and [::]:18082 to port 81/tcp, but nothing listens on 81/tcp inside",
        "container `lo-only` (lo-only) publishes 0.0.0.0:18083 and [::]:18083 to port 80/tcp, but inside, only 127.0.0.1:80 listens",
        "container `udp-dead` (udp-dead) publishes 127.0.0.1:15353 to port 5353/udp",
    ] {
        assert!(all.contains(needle), "{needle}:\n{all}");
    }
    assert_eq!(out.code, 1);
    (draft, host)
}

/// `agent --once` in the engine's namespace reports the containers behind its listeners to a
/// `portolan serve` in that namespace, and the server's drift of the draft is what `check`
/// found locally: the three dead publications, which only the container data can show.
fn agent_reports_publications_and_the_server_finds_dead_ports(a: &Engine, draft: &str, host: &str) {
    let bin = assert_cmd::cargo::cargo_bin("portolan");
    let c = Case::new().file("ports.toml", draft);
    let db = format!("sqlite://{}", c.path().join("reg.db").display());
    let token = |role: &str| {
        let out = std::process::Command::new(&bin)
            .current_dir(c.path())
            .args(["token", "create", "--role", role, "--db", &db])
            .output()
            .expect("token create");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let (admin, write) = (token("admin"), token("write"));
    // the server runs in the engine's namespace, where the agent can reach its loopback
    let wrapper = c.path().join("serve-in-netns");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec nsenter --net=/var/run/netns/{} {} \"$@\"\n",
            a.ns,
            bin.display()
        ),
    )
    .expect("wrapper");
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let server = portolan_testkit::Serve::start(&wrapper, c.path(), &db);
    let run = |token: &str, args: &[&str]| {
        Case::new()
            .netns(&a.ns)
            .env("DOCKER_HOST", &a.host())
            .env("PORTOLAN_TOKEN", token)
            .file("ports.toml", draft)
            .args(args.iter().copied())
            .run()
    };
    run(&admin, &["push", "--server", &server.url]).success();
    let args = ["agent", "--server", &server.url, "--once", "--host", host];
    run(&write, &args)
        .success()
        .stdout_has("container publications) of host")
        .stdout_has(": 4 drift findings");
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let receipt = run(&write, &json_args).success().json();
    let drift: Vec<String> = receipt["drift"]
        .as_array()
        .expect("drift")
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["rule"].as_str().unwrap_or_default(),
                f["message"].as_str().unwrap_or_default()
            )
        })
        .collect();
    // the fourth: the server's own socket, which the draft predates
    let serve_port = server.url.rsplit(':').next().expect("port");
    assert_eq!(drift.len(), 4, "{drift:#?}");
    let all = drift.join("\n");
    for needle in [
        &format!("undeclared-listener 127.0.0.1:{serve_port}/tcp listens on host `{host}`"),
        "publish-to-dead-port container `dead` (dead) publishes 0.0.0.0:18082 and [::]:18082 to port 81/tcp, but nothing listens on 81/tcp inside",
        "publish-to-dead-port container `lo-only` (lo-only)",
        "publish-to-dead-port container `udp-dead` (udp-dead)",
    ] {
        assert!(all.contains(needle), "{needle}:\n{all}");
    }
    drop(server);
}

fn running(e: &Engine, name: &str) -> bool {
    let out = e.cli(&["inspect", "-f", "{{.State.Running}}", name]);
    String::from_utf8_lossy(&out.stdout).trim() == "true"
}

fn kill_stops_containers_never_the_proxy_or_the_engine(a: &Engine, b: &Engine) {
    portolan(a, &["kill", "18082", "--dry-run"])
        .success()
        .stdout_has("published by docker container `dead`")
        .stdout_has("dry run: would stop (its stop signal, SIGKILL after 5 s) container `dead`");
    assert!(running(a, "dead"));
    portolan(a, &["kill", "18081", "--yes", "--timeout", "2"])
        .success()
        .stdout_has("container `shop-api-1` (docker): stopped after");
    assert!(!running(a, "shop-api-1"));
    assert!(running(a, "shop-web-1"), "only the container of the port");
    // userland proxy off: dockerd holds the port; the container is stopped, dockerd lives
    let dockerd =
        std::fs::read_to_string(b.sock.parent().expect("dir").join("docker.pid")).expect("pidfile");
    portolan(b, &["kill", "18080", "--yes", "--timeout", "1"])
        .success()
        .stdout_has("0.0.0.0:18080/tcp published by docker container `web2`")
        .stdout_has("container `web2` (docker): stopped after");
    assert!(!running(b, "web2"));
    assert!(
        std::path::Path::new(&format!("/proc/{}", dockerd.trim())).exists(),
        "dockerd was signalled"
    );
    // the container is gone: nothing listens any more
    portolan(b, &["kill", "18080", "--yes"])
        .code(1)
        .stdout_has("port 18080: nothing listens");
}

#[test]
fn podman_engine_in_the_live_layer() {
    let p = Engine::start(Kind::Podman);
    let mut web = vec!["--name", "pweb", "-p", "127.0.0.1:18080:80"];
    web.extend(COMPOSE_WEB);
    web.extend(["--label", "io.podman.compose.project=shop"]);
    p.run(&web, &["httpd", "-f", "-h", "/www", "-p", "80"]);
    p.run(
        &["--name", "pdead", "-p", "18082:81"],
        &["httpd", "-f", "-h", "/www", "-p", "80"],
    );
    p.wait_listening("pweb", 80);
    p.wait_listening("pdead", 80);
    let ls = agrees_with_inspect(&p);
    let web = ls
        .as_array()
        .expect("array")
        .iter()
        .find(|l| l["port"] == 18080)
        .expect("18080");
    assert_eq!(web["container"]["engine"], "podman");
    assert_eq!(
        web["owners"][0]["name"], "conmon",
        "rootful podman: conmon holds it"
    );
    assert_eq!(web["container"]["published"]["inside"], "listening");
    // through a Docker-named socket (podman-docker): the compatible API, the same answer
    let docker_sock = p.sock.with_file_name("docker.sock");
    std::os::unix::fs::symlink(&p.sock, &docker_sock).expect("symlink");
    let compat = Case::new()
        .netns(&p.ns)
        .env("DOCKER_HOST", &format!("unix://{}", docker_sock.display()))
        .args(["ls", "-p", "--json"])
        .run()
        .success()
        .json();
    assert_eq!(listed(&compat), listed(&ls));
    portolan(&p, &["who", "18082"])
        .success()
        .stdout_has("published by podman container `pdead`")
        .stdout_has("nothing listens on 81/tcp (publish-to-dead-port)");
    let (_, rules, _) = check(&p, &spec(""));
    assert!(
        rules.contains(&"publish-to-dead-port".to_string()),
        "{rules:?}"
    );
    portolan(&p, &["kill", "18080", "--yes", "--timeout", "1"])
        .success()
        .stdout_has("container `pweb` (podman): stopped after");
    assert!(!running(&p, "pweb"));
    assert_eq!(IMAGE, "localhost/ptl-busybox:1");
}
