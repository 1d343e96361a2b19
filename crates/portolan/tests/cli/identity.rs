//! "Which host am I" without `--host`: each command runs as a machine of its own would — in
//! a UTS namespace with its host name set (`unshare --uts` + `hostname`), and in a mount
//! namespace where `/etc/machine-id` (and `/etc/hosts`, for the fully qualified name) are
//! the case's files bind-mounted — so the real reader of the kernel's host name and of the
//! machine id is what is tested, not a fixture. Listeners come from a fixture, so which host
//! was picked shows in the drift. Needs root (namespaces, mounts), like the netns tests.

use std::process::Command;

use crate::harness::{Case, Outcome};

/// web-1 declares 8080, db-1 declares 5432; the listener fixture holds 8080 only, so
/// `check` as web-1 is clean (exit 0) and as db-1 finds drift (exit 1).
const SPEC: &str = r#"[hosts.web-1]
hostnames = ["web-1.prod.example"]

[hosts.db-1]
hostnames = ["db-1", "db-1.prod.example"]
machine-id = "0123456789abcdef0123456789abcdef"

[services.app]
hosts = ["web-1"]
bindings.http = { port = 8080, bind = "127.0.0.1", exposure = "localhost" }

[services.pg]
hosts = ["db-1"]
bindings.pg = { port = 5432, bind = "127.0.0.1", app = "postgres", exposure = "localhost" }
"#;

const LIVE: &str = r#"[
 {"transport":"tcp","addr":"127.0.0.1","port":8080,"inode":1,"uid":0,"owners":[]}
]"#;

const DB1_ID: &str = "0123456789abcdef0123456789abcdef";
/// A machine id no host declares.
const OTHER_ID: &str = "99999999999999999999999999999999";

/// What the machine says it is.
struct Machine<'a> {
    hostname: &'a str,
    id: &'a str,
    /// `/etc/hosts` text, when the test needs one.
    hosts: Option<&'a str>,
}

impl<'a> Machine<'a> {
    fn named(hostname: &'a str) -> Self {
        Machine {
            hostname,
            id: OTHER_ID,
            hosts: None,
        }
    }
}

/// `cmd` (a case's `portolan …`) run as `m`: a shell in fresh UTS and mount namespaces sets
/// the host name, bind-mounts the files, then execs the command with its directory and
/// environment.
fn on(m: &Machine<'_>, case: &Case, cmd: &Command) -> Command {
    let dir = case.path().join(".machine");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let id = dir.join("machine-id");
    std::fs::write(&id, format!("{}\n", m.id)).expect("write");
    let hosts = m.hosts.map(|text| {
        let p = dir.join("hosts");
        std::fs::write(&p, text).expect("write");
        p
    });
    let mut c = Command::new("unshare");
    c.args(["--uts", "--mount", "--", "sh", "-c"])
        .arg(
            r#"hostname "$1" && mount --bind "$2" /etc/machine-id && { [ -z "$3" ] || mount --bind "$3" /etc/hosts; } && shift 3 && exec "$@""#,
        )
        .arg("sh")
        .arg(m.hostname)
        .arg(&id)
        .arg(hosts.as_deref().unwrap_or(std::path::Path::new("")))
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(d) = cmd.get_current_dir() {
        c.current_dir(d);
    }
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c
}

fn run(m: &Machine<'_>, case: &Case) -> Outcome {
    let out = on(m, case, &case.command())
        .output()
        .expect("unshare (util-linux) runs; this test needs root");
    let o = Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !o.stderr.contains("unshare:") && !o.stderr.contains("mount:"),
        "the namespace setup failed (root needed): {}",
        o.stderr
    );
    o
}

fn check(args: &[&str]) -> Case {
    Case::new()
        .file("ports.toml", SPEC)
        .file("live.json", LIVE)
        .env("PORTOLAN_LISTENERS_FIXTURE", "live.json")
        .args(args.iter().copied())
}

#[test]
fn check_picks_the_host_by_its_declared_host_name() {
    let out = run(
        &Machine::named("web-1.prod.example"),
        &check(&["check", "-v"]),
    );
    let out = out.success().stdout_has("no findings");
    out.stderr_has(
        "note: this machine is host `web-1` by host name (its host name `web-1.prod.example` at ports.toml:2:14)",
    );
    // the same spec from db-1: its 5432 is missing, 8080 is not its own
    let db1 = Machine {
        id: DB1_ID,
        ..Machine::named("db-1")
    };
    run(&db1, &check(&["check"]))
        .code(1)
        .stdout_has("declared-not-listening")
        .stdout_has("on host `db-1`");
}

#[test]
fn check_picks_the_host_by_the_fqdn_of_etc_hosts_or_a_short_name_in_any_case() {
    let m = Machine {
        hosts: Some("127.0.0.1 localhost\n10.9.0.5 web-1.prod.example web-1\n"),
        ..Machine::named("web-1")
    };
    run(&m, &check(&["check", "-v"])).success().stderr_has(
        "this machine is host `web-1` by host name (its host name `web-1.prod.example`",
    );
    run(&Machine::named("WEB-1"), &check(&["check", "-v"]))
        .success()
        .stderr_has("this machine is host `web-1` by short name");
}

#[test]
fn the_machine_id_wins_over_the_host_name() {
    // a machine called web-1.prod.example whose machine id db-1 declares is db-1
    let m = Machine {
        id: DB1_ID,
        ..Machine::named("web-1.prod.example")
    };
    run(&m, &check(&["check", "-v"]))
        .code(1)
        .stdout_has("on host `db-1`")
        .stderr_has(
            "this machine is host `db-1` by machine id (its machine id at ports.toml:6:14)",
        );
    // --host still decides
    run(&m, &check(&["check", "--host", "web-1"])).success();
    // and so does the config file's `host`
    let c = check(&["check"]).file(".no-config/portolan/config.toml", "host = \"web-1\"\n");
    run(&m, &c).success();
}

#[test]
fn an_unknown_machine_is_a_usage_error_naming_what_was_read_and_the_candidates() {
    let out = run(&Machine::named("web-l"), &check(&["check"])).code(2);
    out.stderr_has(&format!(
        "this machine (machine id {OTHER_ID} (/etc/machine-id), host name `web-l`) is none of the spec's hosts (db-1, web-1) (did you mean `web-1`?): pass --host NAME"
    ))
    .stderr_has("declare the machine's `hostnames` or `machine-id`");
    // named like db-1 but another machine: db-1's declared machine id says so
    run(&Machine::named("db-1"), &check(&["check"]))
        .code(2)
        .stderr_has(&format!(
            "host `db-1` is named like this machine but declares machine id {DB1_ID} at ports.toml:6:14"
        ));
}

#[test]
fn two_hosts_claiming_the_machine_is_an_error_not_a_guess() {
    let spec =
        "[hosts.a]\nhostnames = [\"box.example\"]\n[hosts.b]\nhostnames = [\"box.example\"]\n";
    let c = Case::new().file("ports.toml", spec).args(["check"]);
    run(&Machine::named("box.example"), &c)
        .code(2)
        .stderr_has("is 2 hosts of the spec by host name: `a` (its host name `box.example` at ports.toml:2:14), `b` (its host name `box.example` at ports.toml:4:14)");
    // lint says so too, at both claims
    Case::new()
        .file("ports.toml", spec)
        .args(["lint"])
        .run()
        .code(1)
        .stdout_has("error[duplicate-host-identity]: host name `box.example` is claimed by 2 hosts: `a`, `b`");
    // snapshot refuses to name a snapshot after a guess
    let c = Case::new()
        .file("ports.toml", spec)
        .file("live.json", LIVE)
        .env("PORTOLAN_LISTENERS_FIXTURE", "live.json")
        .args(["snapshot"]);
    run(&Machine::named("box"), &c)
        .code(2)
        .stderr_has("by short name");
}

#[test]
fn snapshot_and_ls_act_as_the_recognised_host() {
    let m = Machine {
        id: DB1_ID,
        ..Machine::named("anything")
    };
    let out = run(&m, &check(&["snapshot"])).success();
    assert_eq!(out.json()["host"], "db-1", "{}", out.stdout);
    // a spec that knows nothing of this machine: the snapshot takes its host name
    let out = run(&Machine::named("elsewhere"), &check(&["snapshot"])).success();
    assert_eq!(out.json()["host"], "elsewhere", "{}", out.stdout);
    // `ls` names the binding of this host that a listener is, and none of another host's
    let web1 = Machine::named("web-1.prod.example");
    run(&web1, &check(&["ls"])).success().stdout_has("app.http");
    let out = run(&m, &check(&["ls"]))
        .success()
        .stdout_has("127.0.0.1:8080");
    assert!(!out.stdout.contains("app.http"), "{}", out.stdout);
}

#[test]
fn a_bad_machine_id_in_the_spec_is_a_located_error() {
    let spec = SPEC.replace(DB1_ID, "0123456789ABCDEF0123456789ABCDEF");
    let out = Case::new()
        .file("ports.toml", &spec)
        .args(["lint"])
        .run()
        .code(2)
        .no_panic();
    insta::assert_snapshot!("identity-bad-machine-id", out.stderr);
    let spec = SPEC.replace("\"db-1\", ", "\"db 1\", ");
    Case::new()
        .file("ports.toml", &spec)
        .args(["lint"])
        .run()
        .code(2)
        .stderr_has("ports.toml:5:14")
        .stderr_has("host name `db 1` has the character ' '");
}

#[cfg(feature = "registry")]
mod agent {
    use super::*;
    use crate::registry::{c_run, serve, token};

    /// `agent --once` with no `--host`: the registry's spec (pushed from elsewhere, not
    /// the agent's directory) names the host this machine is.
    #[test]
    fn agent_reports_as_the_host_the_registry_spec_recognises() {
        let admin_dir = Case::new().file("ports.toml", SPEC);
        let db = format!("sqlite://{}", admin_dir.path().join("reg.db").display());
        let admin = token(admin_dir.path(), &db, "admin");
        let write = token(admin_dir.path(), &db, "write");
        let server = serve(admin_dir.path(), &db);
        let url = server.url.clone();
        c_run(&admin_dir, &["push", "--server", &url], &admin).success();

        // the agent's machine has no spec of its own
        let c = Case::new()
            .file("live.json", LIVE)
            .env("PORTOLAN_LISTENERS_FIXTURE", "live.json")
            .env("PORTOLAN_TOKEN", &write)
            .args(["agent", "--server", &url, "--once", "-v"]);
        let m = Machine {
            id: DB1_ID,
            ..Machine::named("whatever")
        };
        run(&m, &c)
            .success()
            .stdout_has("of host `db-1`")
            .stderr_has(
                "this machine is host `db-1` by machine id (its machine id at registry spec:",
            );
        run(&Machine::named("web-1.prod.example"), &c)
            .success()
            .stdout_has("of host `web-1`");
        // not in the registry's spec: exit 2 before any report, saying whose spec
        run(&Machine::named("mail-1"), &c)
            .code(2)
            .stderr_has("is none of the spec's hosts (db-1, web-1)")
            .stderr_has(&format!("in the registry's spec ({url})"))
            .stderr_has("pass --host NAME or set `host` in the config file");
        // --host still decides
        let c = Case::new()
            .file("live.json", LIVE)
            .env("PORTOLAN_LISTENERS_FIXTURE", "live.json")
            .env("PORTOLAN_TOKEN", &write)
            .args(["agent", "--server", &url, "--once", "--host", "web-1"]);
        run(&m, &c).success().stdout_has("of host `web-1`");
    }
}
