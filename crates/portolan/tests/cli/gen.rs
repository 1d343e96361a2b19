//! `gen` for every target × every example spec: insta snapshots, determinism, and the real
//! tools — `nft -c -f`, `iptables-restore --test`, `ip6tables-restore --test`, `nginx -t`,
//! and a YAML load of the compose override. The tools must be installed (CI runs as root
//! and installs them: `apt-get install -y nftables iptables nginx-light openssl`); a missing
//! tool fails the test with that hint instead of skipping it. Also `exposure`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::harness::{Case, examples, repo};

const INSTALL: &str =
    "install the real tools: apt-get install -y nftables iptables nginx-light openssl (as root)";

/// The registry's targets that render one host (rendered once per host) or the whole spec
/// (`markdown` has its own tests).
fn targets(per_host: bool) -> Vec<&'static str> {
    portolan_render::generators()
        .iter()
        .filter(|g| g.per_host() == per_host && g.name() != "markdown")
        .map(|g| g.name())
        .collect()
}

fn portolan(args: &[&str]) -> (i32, String, String) {
    let out = assert_cmd::Command::cargo_bin("portolan")
        .expect("binary")
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .env_remove("PORTOLAN_SPEC")
        .args(args)
        .output()
        .expect("run portolan");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn spec(example: &str) -> String {
    format!("examples/{example}/ports.toml")
}

/// Host names of an example, from `exposure --json` (hosts with at least one binding).
fn hosts(example: &str) -> Vec<String> {
    let (code, out, err) = portolan(&["--spec", &spec(example), "exposure", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let mut h: Vec<String> = v["bindings"]
        .as_array()
        .expect("bindings")
        .iter()
        .filter_map(|b| b["host"].as_str().map(String::from))
        .collect();
    h.sort();
    h.dedup();
    h
}

/// `gen TARGET --host H`, asserting success.
fn gen_host(example: &str, target: &str, host: &str) -> (String, String) {
    let (code, out, err) = portolan(&["--spec", &spec(example), "gen", target, "--host", host]);
    assert_eq!(code, 0, "{example} {target} {host}: {err}");
    (out, err)
}

/// A snapshot named `cli__gen__NAME` (the module is `r#gen`: keep `#` out of file names).
fn snap(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(format!("cli__gen__{name}"), text));
}

#[test]
fn every_target_for_every_example_snapshot() {
    for ex in examples() {
        let hs = hosts(&ex);
        assert!(!hs.is_empty(), "{ex}: no hosts");
        for t in targets(true) {
            let mut all = String::new();
            for h in &hs {
                let (out, err) = gen_host(&ex, t, h);
                let _ = write!(all, "===== host {h} =====\n{out}");
                if !err.is_empty() {
                    let _ = write!(all, "----- stderr\n{err}");
                }
            }
            snap(&format!("{ex}__{t}"), &all);
        }
        for t in targets(false) {
            let (code, out, err) = portolan(&["--spec", &spec(&ex), "gen", t]);
            assert_eq!(code, 0, "{ex} {t}: {err}");
            snap(&format!("{ex}__{t}"), &format!("{out}----- stderr\n{err}"));
        }
    }
}

#[test]
fn gen_is_deterministic() {
    let ex = "opticserp-port-reference";
    for t in targets(true) {
        let a = gen_host(ex, t, "dev");
        let b = gen_host(ex, t, "dev");
        assert_eq!(a, b, "{t} differs between runs");
    }
    for t in targets(false) {
        let a = portolan(&["--spec", &spec(ex), "gen", t]);
        let b = portolan(&["--spec", &spec(ex), "gen", t]);
        assert_eq!(a, b, "{t} differs between runs");
    }
}

#[test]
fn per_host_targets_need_one_host() {
    let (code, _, err) = portolan(&[
        "--spec",
        &spec("opticserp-port-reference"),
        "gen",
        "nftables",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("pass --host") && err.contains("app1"), "{err}");
    let (code, _, err) = portolan(&[
        "--spec",
        &spec("opticserp-port-reference"),
        "gen",
        "ufw",
        "--host",
        "nope",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("host `nope` is not in the spec"), "{err}");
    let (code, _, err) = portolan(&[
        "--spec",
        &spec("opticserp-port-reference"),
        "gen",
        "ufw",
        "--host",
        "dev",
        "--env",
        "production",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("is in environment `development`"), "{err}");
}

#[test]
fn what_a_target_cannot_express_is_warned_in_output_and_on_stderr() {
    let (out, err) = gen_host("opticserp-port-reference", "ufw", "dev");
    assert!(out.contains("ufw CANNOT FILTER"), "{out}");
    assert!(
        out.contains("# WARNING: kkt-adapter.api 8000/tcp is published by docker"),
        "{out}"
    );
    assert!(
        err.contains("warning: ufw: kkt-adapter.api 8000/tcp is published by docker"),
        "{err}"
    );
    assert!(
        !out.contains("port 8000 comment"),
        "no ufw rule for a Docker port:\n{out}"
    );
    // an FQDN egress flow cannot be an iptables rule
    let c = Case::new()
        .file(
            "ports.toml",
            r#"
[hosts.h]
addresses = ["203.0.113.5"]
firewall = "iptables"
[services.api]
hosts = ["h"]
bindings.http = { port = 8080, app = "http", exposure = "public", tls = "native" }
[[flows]]
from = "api"
to = "*.stripe.com:443"
"#,
        )
        .args(["gen", "iptables"]);
    let o = c.run().success();
    assert!(
        o.stdout
            .contains("# WARNING: flow api → *.stripe.com:443/tcp names a host pattern"),
        "{}",
        o.stdout
    );
    assert!(
        o.stderr
            .contains("warning: iptables: flow api → *.stripe.com:443/tcp"),
        "{}",
        o.stderr
    );
    // the binding is allowed from anywhere, and nothing else
    assert!(
        o.stdout.contains("-A INPUT -p tcp -m tcp --dport 8080"),
        "{}",
        o.stdout
    );
}

#[test]
fn docker_published_ports_are_filtered_where_they_take_effect() {
    let (out, _) = gen_host("opticserp-port-reference", "iptables", "dev");
    assert!(out.contains(":DOCKER-USER - [0:0]"), "{out}");
    assert!(
        out.contains("-A DOCKER-USER -p tcp -m conntrack --ctstate DNAT --ctorigdstport 8000 -s 192.168.1.0/24"),
        "{out}"
    );
    assert!(
        out.contains(
            "--ctorigdstport 8000 -m comment --comment \"kkt-adapter.api: other sources\" -j DROP"
        ),
        "{out}"
    );
    assert!(
        !out.contains("-A INPUT -p tcp -m tcp --dport 8000"),
        "{out}"
    );
    let (out, _) = gen_host("opticserp-port-reference", "nftables", "dev");
    assert!(
        out.contains("type filter hook forward priority filter - 1"),
        "{out}"
    );
    assert!(out.contains("ct original proto-dst 8000 drop"), "{out}");
    // compose narrows a localhost-only published port to 127.0.0.1 and a LAN-only one to the LAN
    let c = Case::new()
        .file(
            "ports.toml",
            r#"
[networks]
lan = "192.168.1.0/24"
[hosts.box]
addresses = ["203.0.113.5", "192.168.1.20"]
networks = ["public", "lan"]
[services.db]
hosts = ["box"]
bindings.pg = { port = 5432, publisher = "docker", app = "postgres", exposure = "localhost" }
[services.api]
hosts = ["box"]
bindings.http = { port = 8000, target = 80, publisher = "docker", app = "http", exposure = "lan" }
bindings.dns = { port = 5353, transport = "udp", publisher = "docker", exposure = "public" }
"#,
        )
        .args(["gen", "compose"]);
    let o = c.run().success();
    assert!(
        o.stdout.contains("- \"127.0.0.1:5432:5432\""),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("- \"192.168.1.20:8000:80\""),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("- \"0.0.0.0:5353:5353/udp\""),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("ports: !override"), "{}", o.stdout);
}

// ---- real tools -------------------------------------------------------------------------

#[track_caller]
fn tool(name: &str) -> String {
    for dir in ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p.to_string_lossy().into_owned();
        }
    }
    panic!("`{name}` is not installed: {INSTALL}");
}

#[track_caller]
fn check(cmd: &mut Command, what: &str, text: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run ({e}); {INSTALL}"));
    assert!(
        out.status.success(),
        "{what} rejected the generated file:\n{}{}\n--- file\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every (example, host) pair.
fn all_hosts() -> Vec<(String, String)> {
    examples()
        .into_iter()
        .flat_map(|e| hosts(&e).into_iter().map(move |h| (e.clone(), h)))
        .collect()
}

#[test]
fn nftables_rulesets_pass_nft_check() {
    let nft = tool("nft");
    let dir = tempfile::tempdir().expect("tempdir");
    for (ex, h) in all_hosts() {
        let (text, _) = gen_host(&ex, "nftables", &h);
        let f = dir.path().join("ruleset.nft");
        std::fs::write(&f, &text).expect("write");
        check(
            Command::new(&nft).arg("-c").arg("-f").arg(&f),
            &format!("nft -c ({ex}, {h})"),
            &text,
        );
    }
}

#[test]
fn iptables_files_pass_restore_test() {
    let v4 = tool("iptables-restore");
    let v6 = tool("ip6tables-restore");
    let dir = tempfile::tempdir().expect("tempdir");
    for (ex, h) in all_hosts() {
        for (target, bin) in [("iptables", &v4), ("ip6tables", &v6)] {
            let (text, _) = gen_host(&ex, target, &h);
            let f = dir.path().join("rules");
            std::fs::write(&f, &text).expect("write");
            check(
                Command::new(bin).arg("--test").arg(&f),
                &format!("{target}-restore --test ({ex}, {h})"),
                &text,
            );
        }
    }
}

#[test]
fn nginx_configs_pass_nginx_t() {
    let nginx = tool("nginx");
    let openssl = tool("openssl");
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::create_dir_all(d.join("ssl")).expect("mkdir");
    let (crt, key) = (d.join("test.crt"), d.join("test.key"));
    check(
        Command::new(&openssl)
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=portolan-test",
                "-keyout",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&crt),
        "openssl req",
        "",
    );
    std::fs::write(
        d.join("nginx.conf"),
        format!(
            "pid {0}/nginx.pid;\nerror_log {0}/error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  include {0}/generated.conf;\n}}\n",
            d.display()
        ),
    )
    .expect("write");
    let mut servers = 0;
    for (ex, h) in all_hosts() {
        let (text, _) = gen_host(&ex, "nginx", &h);
        servers += text.matches("server {").count();
        for line in text.lines() {
            if let Some(p) = line.trim().strip_prefix("ssl_certificate ") {
                let p = p.trim_end_matches(';');
                std::fs::copy(&crt, d.join(p)).expect("cert");
                std::fs::copy(&key, d.join(p.replace(".crt", ".key"))).expect("key");
            }
        }
        std::fs::write(d.join("generated.conf"), &text).expect("write");
        check(
            Command::new(&nginx)
                .arg("-t")
                .arg("-q")
                .arg("-p")
                .arg(d)
                .arg("-c")
                .arg(d.join("nginx.conf")),
            &format!("nginx -t ({ex}, {h})"),
            &text,
        );
    }
    assert!(
        servers >= 3,
        "the examples have routes: expected server blocks"
    );
}

/// An nginx that itself runs in compose: upstreams by compose service name and container
/// port (`server api:8000`, as the documents write it), never `127.0.0.1` (nginx's own
/// container). `nginx -t` resolves upstream names, so it runs in a mount namespace whose
/// `/etc/hosts` knows the compose service names, as compose's DNS would.
#[test]
fn nginx_in_compose_addresses_upstreams_by_service_and_passes_nginx_t() {
    let nginx = tool("nginx");
    let spec = r#"
[hosts.app1]
addresses = ["192.168.1.10"]
[services.proxy]
hosts = ["app1"]
bindings.http = { port = 8080, bind = "127.0.0.1", publisher = "docker", target = 80, app = "http", exposure = "localhost" }
[services.api]
hosts = ["app1"]
bindings.http = { port = 18000, bind = "127.0.0.1", publisher = "docker", target = 8000, app = "http", exposure = "localhost" }
[services.billing]
hosts = ["app1"]
bindings.http = { port = 18001, bind = "127.0.0.1", publisher = "podman", target = 8001, app = "http", exposure = "localhost" }
[[routes]]
from = "proxy.http"
to = "api.http"
path = "/api/"
[[routes]]
from = "proxy.http"
to = "billing.http"
path = "/billing/"
"#;
    let c = Case::new()
        .file("ports.toml", spec)
        .args(["gen", "nginx", "--host", "app1"]);
    let out = c.run().success();
    let text = out.stdout.clone();
    for needle in [
        "server api:8000;",
        "server billing:8001;",
        "listen 80;",
        "# nginx runs in a container (proxy.http)",
    ] {
        assert!(text.contains(needle), "{needle}:\n{text}");
    }
    assert!(!text.contains("127.0.0.1:1800"), "{text}");
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("generated.conf"), &text).expect("write");
    std::fs::write(
        d.join("nginx.conf"),
        format!(
            "pid {0}/nginx.pid;\nerror_log {0}/error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  include {0}/generated.conf;\n}}\n",
            d.display()
        ),
    )
    .expect("write");
    std::fs::write(
        d.join("hosts"),
        "127.0.0.1 localhost\n172.18.0.3 api\n172.18.0.4 billing\n",
    )
    .expect("hosts");
    check(
        Command::new("unshare")
            .args(["--mount", "sh", "-c"])
            .arg(format!(
                "mount --bind {0}/hosts /etc/hosts && {nginx} -t -q -p {0} -c {0}/nginx.conf",
                d.display()
            )),
        "nginx -t (nginx in compose)",
        &text,
    );
}

/// `python3` with `PyYAML` (Debian's `python3-yaml`): the YAML checks fail without it, they
/// never skip.
fn python_with_yaml() -> String {
    let python = tool("python3");
    let yaml = Command::new(&python)
        .args(["-c", "import yaml"])
        .output()
        .expect("run python3");
    assert!(
        yaml.status.success(),
        "PyYAML is missing (apt-get install python3-yaml): {}",
        String::from_utf8_lossy(&yaml.stderr)
    );
    python
}

#[test]
fn compose_overrides_are_valid_yaml() {
    let python = python_with_yaml();
    let dir = tempfile::tempdir().expect("tempdir");
    for (ex, h) in all_hosts() {
        let (text, _) = gen_host(&ex, "compose", &h);
        // structure: `services:` then `"name":` / `ports: !override` / `- "A:P:T"` entries
        assert!(text.lines().any(|l| l.starts_with("services:")), "{text}");
        for l in text.lines().filter(|l| l.trim_start().starts_with("- ")) {
            let entry = l.trim_start().trim_start_matches("- ");
            assert!(
                entry.starts_with('"') && entry.ends_with('"') && entry.matches(':').count() >= 2,
                "bad entry {l}"
            );
        }
        let f = dir.path().join("override.yml");
        std::fs::write(&f, &text).expect("write");
        let script = "import sys, yaml\n\
            yaml.SafeLoader.add_constructor('!override', lambda l, n: l.construct_sequence(n))\n\
            d = yaml.safe_load(open(sys.argv[1]))\n\
            s = d['services']\n\
            assert isinstance(s, dict), s\n\
            for name, v in s.items():\n\
            \x20   assert isinstance(v['ports'], list) and all(isinstance(p, str) for p in v['ports']), v\n";
        check(
            Command::new(&python).arg("-c").arg(script).arg(&f),
            &format!("YAML load ({ex}, {h})"),
            &text,
        );
    }
}

#[test]
fn cloud_and_kubernetes_outputs_load() {
    // aws-sg is JSON; k8s-netpol is multi-document YAML, loaded by PyYAML; terraform is
    // checked structurally in portolan-render's unit tests (`terraform` is not a Debian
    // package and the tests run offline).
    let python = python_with_yaml();
    let dir = tempfile::tempdir().expect("tempdir");
    for ex in examples() {
        let (code, out, err) = portolan(&["--spec", &spec(&ex), "gen", "aws-sg"]);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("aws-sg is JSON");
        // one group per host (hosts with a binding are a subset)
        let groups = v["SecurityGroups"].as_array().map_or(0, Vec::len);
        assert!(groups >= hosts(&ex).len(), "{ex}: {groups} groups");
        let (code, out, err) = portolan(&["--spec", &spec(&ex), "gen", "k8s-netpol"]);
        assert_eq!(code, 0, "{err}");
        let f = dir.path().join("netpol.yaml");
        std::fs::write(&f, &out).expect("write");
        let script = "import sys, yaml\n\
            docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]\n\
            assert docs, 'no documents'\n\
            for d in docs:\n\
            \x20   assert d['apiVersion'] == 'networking.k8s.io/v1' and d['kind'] == 'NetworkPolicy', d\n\
            \x20   for r in d['spec'].get('ingress') or []:\n\
            \x20       for p in r['ports']:\n\
            \x20           assert p['protocol'] in ('TCP', 'UDP') and isinstance(p['port'], int), p\n";
        check(
            Command::new(&python).arg("-c").arg(script).arg(&f),
            &format!("YAML load of k8s-netpol ({ex})"),
            &out,
        );
    }
    // --env narrows the groups to that environment's hosts
    let (code, out, err) = portolan(&[
        "--spec",
        &spec("opticserp-port-reference"),
        "gen",
        "aws-sg",
        "--env",
        "development",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let names: Vec<&str> = v["SecurityGroups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["GroupName"].as_str())
        .collect();
    assert_eq!(names, vec!["portolan-dev"]);
}

// ---- exposure ---------------------------------------------------------------------------

#[test]
fn exposure_table_and_json() {
    let (code, out, err) = portolan(&[
        "--spec",
        &spec("opticserp-port-reference"),
        "exposure",
        "--env",
        "development",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("BINDING"), "{out}");
    assert!(out.contains("kkt-adapter.api"), "{out}");
    assert!(out.contains("WIDER"), "{out}");
    assert!(out.contains("published by docker"), "{out}");
    assert!(!out.contains("app1"), "--env filters hosts:\n{out}");
    snap("exposure_opticserp_development", &out);
    let (code, out, _) = portolan(&[
        "--spec",
        &spec("opticserp-port-reference"),
        "--json",
        "exposure",
        "--host",
        "app1",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let b = v["bindings"].as_array().expect("array");
    assert!(b.iter().all(|b| b["host"] == "app1"));
    let odoo = b
        .iter()
        .find(|b| b["binding"] == "odoo.http")
        .expect("odoo.http on app1");
    assert_eq!(odoo["publisher"], "docker");
    assert!(odoo["reasons"].as_array().is_some_and(|r| {
        r.iter()
            .any(|x| x.as_str().is_some_and(|s| s.contains("proxied by route")))
    }));
}
