//! alloc, reserve, release, gc, log: lossless and atomic edits, exit codes, the log, and
//! safety under concurrency and crashes.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::harness::Case;

const SPEC: &str = r#"# team ports — hand-kept, comments must survive
[hosts.app1]
environment = "production"
ephemeral = "49152-65535"   # not Linux's default

# --- projects ---
[projects.dash]
range = "5000-5009"
blocks = { api = "5000-5004", web = "5005-5009" }

[projects.big]
range = "20000-20999"

# --- services ---
[services.hub]   # the hub
project = "dash"
block = "api"
hosts = ["app1"]
bindings.http = { port = 5000, app = "http" }

[[reservations]]
ports = 5001
project = "dash"
why = "vendor demo"
"#;

fn case() -> Case {
    Case::new()
        .file("ports.toml", SPEC)
        .env("PORTOLAN_USER", "tester")
        .env("PORTOLAN_NOW", "2026-05-01T10:00:00Z")
}

fn spec_of(c: &Case) -> String {
    std::fs::read_to_string(c.path().join("ports.toml")).expect("spec")
}

/// The spec with the `[services.NAME]` sections alloc added (blank line, header, body) cut.
fn without_services(spec: &str, names: &[&str]) -> String {
    let mut out = spec.to_string();
    for n in names {
        let head = format!("\n[services.{n}]\n");
        let Some(start) = out.find(&head) else {
            panic!("no [services.{n}] in\n{out}");
        };
        let body = start + head.len();
        let end = out[body..].find("\n[").map_or(out.len(), |i| body + i);
        // `start` is the blank line alloc puts before the header; keep the next "\n["
        out.replace_range(start..end, "");
    }
    out
}

fn log_of(c: &Case) -> String {
    std::fs::read_to_string(c.path().join("ports.log.jsonl")).unwrap_or_default()
}

#[test]
fn alloc_writes_the_lowest_free_port_losslessly_and_logs_it() {
    let c = case().args([
        "alloc", "dash", "--name", "kpi", "--block", "api", "--why", "KPI wall",
    ]);
    c.run()
        .success()
        .stdout_has("allocated 5002/tcp to `kpi` from block `api` of project `dash`");
    let spec = spec_of(&c);
    assert_eq!(
        without_services(&spec, &["kpi"]),
        SPEC,
        "everything else is unchanged"
    );
    insta::assert_snapshot!("alloc_lossless", spec);
    let log = log_of(&c);
    assert_eq!(log.lines().count(), 1);
    let e: serde_json::Value = serde_json::from_str(log.trim()).expect("json line");
    assert_eq!(e["action"], "alloc");
    assert_eq!(e["who"], "tester");
    assert_eq!(e["ports"], "5002");
    assert_eq!(e["at"], "2026-05-01T10:00:00Z");
    // the next one skips it; --print prints only the port
    let out = Case::new()
        .file("ports.toml", spec)
        .args([
            "alloc", "dash", "--name", "kpi2", "--block", "api", "--print",
        ])
        .run()
        .success();
    assert_eq!(out.stdout, "5003\n");
    // the result lints without duplicate bindings
    c.run().code(2).stderr_has("service `kpi` already exists");
}

#[test]
fn dry_run_and_json_write_nothing() {
    let c = case().args(["alloc", "dash", "--name", "x", "--dry-run", "--json"]);
    let out = c.run().success();
    let j = out.json();
    assert_eq!(j["ports"], serde_json::json!([5002]));
    assert_eq!(j["dry_run"], true);
    assert_eq!(spec_of(&c), SPEC);
    assert_eq!(log_of(&c), "");
    let c = case().args([
        "alloc",
        "dash",
        "--name",
        "x",
        "--count",
        "3",
        "--near",
        "5009",
        "--dry-run",
        "--print",
    ]);
    assert_eq!(c.run().success().stdout, "5007-5009\n");
}

#[test]
fn full_range_is_exit_1_naming_the_range_and_its_usage() {
    let c = case().args([
        "alloc", "dash", "--name", "x", "--block", "api", "--count", "4",
    ]);
    c.run()
        .code(1)
        .stderr_has("no 4 consecutive free ports in block `api` of project `dash` (5000-5004) on host `app1`: 5 ports, 1 bound, 1 reserved")
        .stderr_has("hint:");
    assert_eq!(spec_of(&c), SPEC);
    assert_eq!(log_of(&c), "");
}

#[test]
fn bad_input_is_exit_2_and_leaves_the_spec_untouched() {
    for (args, msg) in [
        (
            vec!["alloc", "dahs", "--name", "x"],
            "project `dahs` is not in the spec (did you mean `dash`?)",
        ),
        (
            vec!["alloc", "dash", "--name", "x", "--block", "apj"],
            "project `dash` has no block `apj` (did you mean `api`?)",
        ),
        (
            vec!["alloc", "dash", "--name", "x", "--host", "ap1"],
            "host `ap1` is not in the spec",
        ),
        (
            vec!["alloc", "dash", "--name", "x", "--lease", "2x"],
            "`2x` is not a duration",
        ),
        (
            vec!["alloc", "dash", "--name", "bad name"],
            "is not a valid name",
        ),
        (
            vec!["reserve", "5009-5005", "--project", "dash", "--why", "x"],
            "inverted",
        ),
        (
            vec![
                "reserve",
                "5009",
                "--project",
                "dash",
                "--why",
                "x",
                "--until",
                "2026-02-30",
            ],
            "not a date",
        ),
        (
            vec!["release", "nothing-here"],
            "neither a service of the spec nor a port",
        ),
    ] {
        let c = case().args(args.clone());
        c.run().code(2).no_panic().stderr_has(msg);
        assert_eq!(spec_of(&c), SPEC, "{args:?}");
        assert_eq!(log_of(&c), "", "{args:?}");
    }
}

#[test]
fn a_spec_broken_by_hand_is_reported_and_untouched() {
    let broken = format!("{SPEC}\n[services.half\n");
    for args in [
        vec!["alloc", "dash", "--name", "x"],
        vec!["reserve", "5008", "--project", "dash", "--why", "x"],
        vec!["release", "hub"],
        vec!["gc"],
    ] {
        let c = case().file("ports.toml", &broken).args(args);
        c.run()
            .code(2)
            .stderr_has("ports.toml:")
            .stderr_has("could not load the spec");
        assert_eq!(spec_of(&c), broken);
        assert_eq!(log_of(&c), "");
    }
}

#[test]
fn reserve_refuses_overlaps_then_release_and_gc() {
    let c = case().args(["reserve", "5000-5002", "--project", "dash", "--why", "x"]);
    c.run()
        .code(1)
        .stderr_has("overlap service `hub` (port 5000/tcp on host `app1`)");
    let c = case().args(["reserve", "5001", "--project", "dash", "--why", "x"]);
    c.run()
        .code(1)
        .stderr_has("overlap the reservation 5001 (vendor demo) at ports.toml:");
    assert_eq!(spec_of(&c), SPEC);

    let c = case().args([
        "reserve",
        "5006-5007",
        "--project",
        "dash",
        "--why",
        "spare",
        "--until",
        "2026-05-31",
    ]);
    c.run()
        .success()
        .stdout_has("reserved 5006-5007 for project `dash`");
    assert!(spec_of(&c).contains(
        "ports = \"5006-5007\"\nproject = \"dash\"\nwhy = \"spare\"\nuntil = 2026-05-31\n"
    ));
    // a lease, then release by port and by name
    let run = |args: &[&str], now: &str| {
        let mut c2 = Case::new()
            .file("ports.toml", spec_of(&c))
            .file("ports.log.jsonl", log_of(&c))
            .env("PORTOLAN_USER", "tester")
            .env("PORTOLAN_NOW", now);
        c2 = c2.args(args.iter().copied());
        let out = c2.run();
        let spec = spec_of(&c2);
        let log = log_of(&c2);
        std::fs::write(c.path().join("ports.toml"), &spec).expect("write");
        std::fs::write(c.path().join("ports.log.jsonl"), &log).expect("write");
        out
    };
    run(
        &["alloc", "dash", "--name", "ci", "--lease", "2h", "--print"],
        "2026-05-01T10:00:00Z",
    )
    .success();
    assert!(spec_of(&c).contains("lease-until = 2026-05-01T12:00:00Z"));
    run(&["release", "5002"], "2026-05-01T10:00:00Z")
        .code(1)
        .stderr_has("bound by service `ci`: release it by name");
    run(
        &["release", "5007", "--why", "not needed"],
        "2026-05-01T10:00:00Z",
    )
    .success()
    .stdout_has("released reserved ports 5007");
    assert!(spec_of(&c).contains("ports = 5006\n"));
    // before expiry gc has nothing; after, the lease and the reservation go
    run(&["gc"], "2026-05-01T11:00:00Z")
        .success()
        .stdout_has("nothing to collect");
    // expired lease: its port counts as free again (dry run shows it)
    run(
        &["alloc", "dash", "--name", "next", "--dry-run", "--print"],
        "2026-05-01T12:00:01Z",
    )
    .success();
    run(&["gc"], "2026-06-01T00:00:00Z")
        .success()
        .stdout_has("removed service `ci` (5002): lease ended 2026-05-01T12:00:00Z")
        .stdout_has("removed reservation 5006: reservation ended 2026-05-31 (spare)");
    assert!(!spec_of(&c).contains("[services.ci]"));
    assert!(spec_of(&c).contains("[services.hub]   # the hub"));
    let out = run(&["log"], "2026-06-01T00:00:00Z").success();
    insta::assert_snapshot!("log_table", out.stdout);
    let j = run(
        &["log", "--json", "--service", "ci"],
        "2026-06-01T00:00:00Z",
    )
    .success()
    .json();
    let actions: Vec<&str> = j
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["alloc", "gc"]);
}

#[test]
fn alloc_reuses_the_port_of_an_expired_lease_and_removes_it() {
    let spec = format!(
        "{SPEC}\n[services.old]\nproject = \"dash\"\nlease-until = 2026-05-01T09:00:00Z\nbindings.main = {{ port = 5002 }}\n"
    );
    let c = case()
        .file("ports.toml", &spec)
        .args(["alloc", "dash", "--name", "new", "--print"]);
    assert_eq!(c.run().success().stdout, "5002\n");
    let after = spec_of(&c);
    assert!(
        !after.contains("[services.old]") && after.contains("[services.new]"),
        "{after}"
    );
    let log = log_of(&c);
    assert_eq!(log.lines().count(), 2);
    assert!(log.contains("\"action\":\"gc\"") && log.contains("\"service\":\"old\""));
}

#[test]
fn fifty_parallel_allocs_get_fifty_distinct_ports() {
    let c = case();
    let children: Vec<std::process::Child> = (0..50)
        .map(|i| {
            std::process::Command::new(env!("CARGO_BIN_EXE_portolan"))
                .current_dir(c.path())
                .args(["alloc", "big", "--name", &format!("svc-{i:02}"), "--print"])
                .env_remove("PORTOLAN_SPEC")
                .env("PORTOLAN_USER", "ci")
                .env("XDG_CACHE_HOME", c.state_dir())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let mut ports = BTreeSet::new();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port: u16 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a port");
        assert!((20000..=20999).contains(&port));
        ports.insert(port);
    }
    assert_eq!(ports.len(), 50, "{ports:?}");
    assert_eq!(
        ports.iter().next_back(),
        Some(&20049),
        "the lowest 50, in some order"
    );
    let spec = spec_of(&c);
    let model = portolan_model::load_str("ports.toml", &spec).expect("the spec still loads");
    assert_eq!(model.services.len(), 51);
    let names: Vec<String> = (0..50).map(|i| format!("svc-{i:02}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(without_services(&spec, &names), SPEC);
    let log = log_of(&c);
    assert_eq!(log.lines().count(), 50);
    // regression (issue 13): `.ports.toml.lock` stayed in the working tree after every alloc;
    // outside git the lock is removed by its last holder
    assert!(
        !c.path().join(".ports.toml.lock").exists(),
        "the lock file stayed beside the spec"
    );
    for line in log.lines() {
        let _: serde_json::Value = serde_json::from_str(line).expect("whole JSON lines");
    }
    // the new services lint clean (the fixture's own `hub` has findings of its own)
    let lint = Case::new()
        .file("ports.toml", spec)
        .args(["lint", "--format", "json", "--fail-on", "never"])
        .run()
        .success()
        .json();
    for f in lint["findings"].as_array().expect("findings") {
        assert!(!f.to_string().contains("svc-"), "{f}");
    }
}

#[test]
fn a_crash_after_the_temp_write_leaves_the_old_spec() {
    let c = case()
        .args(["alloc", "dash", "--name", "x"])
        .env("PORTOLAN_TEST_ABORT_AFTER_TEMP_WRITE", "1");
    let out = c.run();
    assert_ne!(out.code, 0, "the hook aborts");
    assert_eq!(spec_of(&c), SPEC, "never torn, never half-written");
    assert_eq!(log_of(&c), "");
    // the next writer cleans the stale temp file and succeeds
    let c2 = case().args(["alloc", "dash", "--name", "x", "--print"]);
    for e in std::fs::read_dir(c.path())
        .expect("dir")
        .filter_map(Result::ok)
    {
        std::fs::copy(e.path(), c2.path().join(e.file_name())).expect("copy");
    }
    assert!(
        std::fs::read_dir(c2.path())
            .expect("dir")
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
    );
    assert_eq!(c2.run().success().stdout, "5002\n");
    let leftovers = std::fs::read_dir(c2.path())
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn alloc_skips_ports_listening_right_now_on_this_machine() {
    // hold the lowest port of a fresh range, so only a live check can know it is taken
    let (held, port) = (20_500..20_900)
        .find_map(|p| {
            std::net::TcpListener::bind(("0.0.0.0", p))
                .ok()
                .map(|l| (l, p))
        })
        .expect("a free port to hold");
    let spec = format!("[projects.live]\nrange = \"{port}-{}\"\n", port + 9);
    let c = Case::new()
        .file("ports.toml", spec)
        .env("PORTOLAN_USER", "tester");
    let out = c
        .args(["alloc", "live", "--name", "svc", "--print", "--dry-run"])
        .run()
        .success();
    assert_eq!(
        out.stdout.trim(),
        (port + 1).to_string(),
        "the held port {port} must be skipped"
    );
    drop(held);
}

#[test]
fn gen_markdown_includes_the_change_log() {
    let c = case();
    let c = c.args([
        "alloc",
        "big",
        "--name",
        "search",
        "--why",
        "search service",
    ]);
    c.run().success();
    let out = Case::new()
        .file("ports.toml", spec_of(&c))
        .file("ports.log.jsonl", log_of(&c))
        .args(["gen", "markdown"])
        .run()
        .success();
    let log = out
        .stdout
        .split("## Port assignment log")
        .nth(1)
        .expect("a log section");
    assert!(
        log.contains("search") && log.contains("tester") && log.contains("20000"),
        "{log}"
    );
}

#[test]
fn alloc_on_a_large_spec_appends_without_touching_the_rest() {
    // over 1 MiB: the new service is appended, the existing text stays byte for byte
    let mut spec = String::from("# big spec\n[projects.big]\nrange = \"20000-29999\"\n");
    for i in 0..12_000 {
        let _ = writeln!(
            spec,
            "[services.s{i:05}]   # keep me\nproject = \"big\"\nbindings.main = {{ port = {}, bind = \"127.0.0.1\", exposure = \"localhost\" }}",
            20_000 + i % 5000
        );
    }
    assert!(spec.len() > 1 << 20);
    let c = Case::new()
        .file("ports.toml", &spec)
        .env("PORTOLAN_USER", "tester")
        .env("PORTOLAN_NOW", "2026-05-01T10:00:00Z");
    let c = c.args(["alloc", "big", "--name", "newcomer", "--print"]);
    let out = c.run().success();
    assert_eq!(out.stdout.trim(), "25000");
    let after = spec_of(&c);
    assert!(after.starts_with(&spec), "the existing text changed");
    assert!(
        after[spec.len()..].contains("[services.newcomer]"),
        "{}",
        &after[spec.len()..]
    );
    Case::new()
        .file("ports.toml", &after)
        .args(["lint", "--fail-on", "never"])
        .run()
        .success();
    // a second alloc in the same large file sees the first one
    let out = Case::new()
        .file("ports.toml", &after)
        .env("PORTOLAN_USER", "tester")
        .args(["alloc", "big", "--name", "second", "--print"])
        .run()
        .success();
    assert_eq!(out.stdout.trim(), "25001");
    // a second alloc in the same directory reads the allocation cache (proved by a port that
    // only the cache claims); a hand edit makes the cache stale, so the next alloc reloads
    let c2 = Case::new()
        .file("ports.toml", &after)
        .env("PORTOLAN_USER", "tester");
    let c2 = c2.args(["alloc", "big", "--name", "second", "--print"]);
    c2.run().success();
    // the cache is a sidecar file outside the working tree (here: $XDG_CACHE_HOME/portolan)
    let cache = std::fs::read_dir(c2.state_dir().join("portolan"))
        .expect("a large spec gets an allocation cache")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".alloc-cache"))
        .expect("the cache file");
    let names: Vec<String> = std::fs::read_dir(c2.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n == "ports.toml" || n == "ports.log.jsonl"),
        "stray files beside the spec: {names:?}"
    );
    let mut text = std::fs::read_to_string(&cache).expect("a large spec gets an allocation cache");
    assert!(text.contains("S\tsecond\t-\t25001"), "{text}");
    text.push_str("S\tzz-ghost\t-\t25002\n");
    std::fs::write(&cache, text).unwrap();
    let alloc = |name: &str| {
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("portolan"))
            .current_dir(c2.path())
            .env("PORTOLAN_USER", "tester")
            .env("XDG_CACHE_HOME", c2.state_dir())
            .args(["alloc", "big", "--name", name, "--print"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "alloc {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(alloc("third"), "25003", "the cache was not used");
    // regression (found while writing the cache): an append from the cached view once
    // rewrote the spec as the new service alone
    assert!(spec_of(&c2).starts_with(&after), "the spec lost its text");
    let mut edited = spec_of(&c2);
    edited.push_str("\n[services.by-hand]\nproject = \"big\"\nbindings.main = { port = 25004, bind = \"127.0.0.1\", exposure = \"localhost\" }\n");
    std::fs::write(c2.path().join("ports.toml"), &edited).unwrap();
    assert_eq!(alloc("fourth"), "25002", "a stale cache must not be used");
    Case::new()
        .file("ports.toml", spec_of(&c2))
        .args(["lint", "--fail-on", "never"])
        .run()
        .success();
}

/// Regression (issue 13): `alloc` without `--host` on a spec with one host wrote a service
/// without a host, which landed on an implicit host `default`; `gen nftables` then failed
/// ("pass --host (hosts in scope: default, local)").
#[test]
fn regression_alloc_without_host_lands_on_the_specs_one_host_not_an_implicit_default() {
    let spec =
        "[hosts.local]\nenvironment = \"development\"\n\n[projects.web]\nrange = \"8000-8099\"\n";
    let c = Case::new()
        .file("ports.toml", spec)
        .env("PORTOLAN_USER", "tester")
        .env("PORTOLAN_NOW", "2026-05-01T10:00:00Z");
    c.run_args(["alloc", "web", "--name", "search"])
        .success()
        .stdout_has("allocated 8000/tcp to `search` from project `web` on host `local`");
    assert!(
        c.read("ports.toml")
            .contains("[services.search]\nproject = \"web\"\nhosts = [\"local\"]"),
        "{}",
        c.read("ports.toml")
    );
    let model = portolan_model::load_str("ports.toml", &c.read("ports.toml")).expect("loads");
    assert!(
        model.host_named("default").is_none(),
        "an implicit host appeared"
    );
    // a generator that needs one host finds it without --host
    c.run_args(["gen", "nftables"]).success();
    // `discover --write` places what it adds on the spec's host too
    std::fs::write(
        c.path().join("docker-compose.yml"),
        "services:\n  cache:\n    image: redis\n    ports: [\"127.0.0.1:6379:6379\"]\n",
    )
    .expect("write");
    c.run_args(["discover", "--write"]).success();
    assert!(
        c.read("ports.toml")
            .contains("[services.cache]\nhosts = [\"local\"]"),
        "{}",
        c.read("ports.toml")
    );
    std::fs::remove_file(c.path().join("docker-compose.yml")).expect("rm");
    // two hosts: alloc asks which, listing them; --host picks; an undeclared host is refused
    let two = format!("{spec}\n[hosts.app1]\nenvironment = \"production\"\n");
    std::fs::write(c.path().join("ports.toml"), &two).expect("write");
    c.run_args(["alloc", "web", "--name", "api"])
        .code(2)
        .stderr_has("which host? the spec declares 2 hosts: pass --host (app1 (production), local (development))");
    c.run_args(["alloc", "web", "--name", "api", "--host", "default"])
        .code(2)
        .stderr_has("host `default` is not in the spec; hosts: app1, local");
    c.run_args([
        "alloc",
        "web",
        "--name",
        "api",
        "--env",
        "production",
        "--print",
    ])
    .success();
    assert!(
        c.read("ports.toml")
            .contains("[services.api]\nproject = \"web\"\nhosts = [\"app1\"]")
    );
    c.run_args([
        "alloc", "web", "--name", "api2", "--host", "app1", "--print",
    ])
    .success();
    c.run_args([
        "alloc",
        "web",
        "--name",
        "api3",
        "--host",
        "app1",
        "--env",
        "development",
    ])
    .code(2)
    .stderr_has("host `app1` is in environment `production`, not `development`");
    assert_eq!(
        c.run_args(["lint", "--format", "json", "--fail-on", "never"])
            .json()["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f.to_string().contains("default"))
            .count(),
        0
    );
}

/// Regression (issue 13): `.ports.toml.lock` was left in the working tree after every
/// `alloc`/`move`. In a git work tree the lock lives in `.git/portolan/`; `git status`
/// shows the spec and its log, nothing else.
#[test]
fn regression_lock_file_left_in_the_working_tree() {
    let c = case().committed();
    c.run_args([
        "alloc", "dash", "--name", "kpi", "--block", "api", "--print",
    ])
    .success();
    c.run_args(["reserve", "5008", "--project", "dash", "--why", "demo"])
        .success();
    c.run_args(["release", "kpi"]).success();
    let status = c.git(&["status", "--porcelain=v1", "-uall"]);
    assert_eq!(status, " M ports.toml\n?? ports.log.jsonl\n");
    assert!(c.path().join(".git/portolan/ports.toml.lock").exists());
    // outside git: removed after use
    let plain = case();
    plain
        .run_args([
            "alloc", "dash", "--name", "kpi", "--block", "api", "--print",
        ])
        .success();
    let mut names: Vec<String> = std::fs::read_dir(plain.path())
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec!["ports.log.jsonl", "ports.toml"]);
}
