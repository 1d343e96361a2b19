//! `portolan check --firewall KIND --from FILE`: the real `iptables-save` / `nft list
//! ruleset` dumps captured in the namespace test (tests/fixtures/firewall/, from rulesets
//! portolan generated and the kernel loaded) show no drift; hand-modified copies
//! (tests/fixtures/firewall/drift/) show exactly the one drift each introduces; malformed
//! dumps exit 2 with `file:line:col`.

use std::fmt::Write as _;

use crate::harness::{Case, Outcome, repo};

/// The (example, host) pairs with captured dumps.
const CAPTURED: &[(&str, &str)] = &[
    ("business-platform-network", "server"),
    ("es-dashboards-port-guide", "es-host"),
    ("opticserp-port-reference", "db1"),
    ("opticserp-port-reference", "dev"),
];

fn check(example: &str, host: &str, kind: &str, dump: &str, json: bool) -> Outcome {
    let spec = repo().join("examples").join(example).join("ports.toml");
    let mut args = vec![
        "--spec".to_string(),
        spec.display().to_string(),
        "check".into(),
        "--host".into(),
        host.into(),
        "--firewall".into(),
        kind.into(),
        "--from".into(),
        repo()
            .join("tests/fixtures/firewall")
            .join(dump)
            .display()
            .to_string(),
    ];
    if json {
        args.push("--format".into());
        args.push("json".into());
    }
    Case::new().args(args).run().no_panic()
}

/// The `firewall-drift` findings of a JSON report.
fn drift(o: &Outcome) -> Vec<serde_json::Value> {
    o.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "firewall-drift")
        .cloned()
        .collect()
}

/// `file:line` of each location of a finding, file names only.
fn places(f: &serde_json::Value) -> Vec<String> {
    f["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let file = l["file"].as_str().unwrap();
            let file = file.rsplit('/').next().unwrap();
            format!("{file}:{}", l["line"])
        })
        .collect()
}

#[test]
fn check_firewall_captured_dumps_show_no_drift() {
    for (example, host) in CAPTURED {
        for (kind, ext) in [("nftables", "nft"), ("iptables", "iptables-save")] {
            let o = check(
                example,
                host,
                kind,
                &format!("{example}-{host}.{ext}"),
                true,
            );
            assert!(
                o.code == 0 || o.code == 1,
                "{example} {host} {kind}: {}",
                o.stderr
            );
            let d = drift(&o);
            assert!(d.is_empty(), "{example} {host} {kind}: {d:#?}");
        }
    }
    let o = check(
        "business-platform-network",
        "server",
        "ufw",
        "business-platform-network-server.ufw",
        true,
    );
    assert!(drift(&o).is_empty(), "{:#?}", drift(&o));
}

#[test]
fn check_firewall_extra_accept_is_allowed_but_not_declared() {
    let o = check(
        "business-platform-network",
        "server",
        "iptables",
        "drift/business-platform-network-server.extra-accept.iptables-save",
        true,
    );
    let d = drift(&o);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(
        d[0]["message"],
        "allowed but not declared: the iptables rule at line 12 lets in port 9000/tcp on host `server` from 0.0.0.0/0, but no binding of the host declares it"
    );
    assert_eq!(d[0]["subjects"], serde_json::json!(["server"]));
    assert_eq!(
        places(&d[0]),
        ["business-platform-network-server.extra-accept.iptables-save:12"]
    );
    assert_eq!(o.code, 1);
}

#[test]
fn check_firewall_missing_rule_is_declared_but_blocked() {
    let o = check(
        "business-platform-network",
        "server",
        "nftables",
        "drift/business-platform-network-server.missing-rule.nft",
        true,
    );
    let d = drift(&o);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(
        d[0]["message"],
        "declared but blocked: `crm-gunicorn.http` 0.0.0.0:8083/tcp on host `server` is declared for lan (192.168.0.0/24), but the nftables ruleset drops 192.168.0.0/24"
    );
    assert_eq!(
        places(&d[0]),
        [
            "ports.toml:223",
            "business-platform-network-server.missing-rule.nft:3"
        ]
    );
    assert_eq!(
        d[0]["locations"][1]["label"],
        "policy drop of chain `input`: drops 192.168.0.0/24"
    );
}

#[test]
fn check_firewall_wider_source_is_reported_with_both_sets() {
    let o = check(
        "business-platform-network",
        "server",
        "iptables",
        "drift/business-platform-network-server.wider-source.iptables-save",
        true,
    );
    let d = drift(&o);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(
        d[0]["message"],
        "allowed from wider sources: `crm.http` 0.0.0.0:8082/tcp on host `server` is let in from 0.0.0.0/0 by the iptables ruleset, but declared for lan (192.168.0.0/24)"
    );
    assert_eq!(
        places(&d[0]),
        [
            "ports.toml:203",
            "business-platform-network-server.wider-source.iptables-save:12"
        ]
    );
    assert_eq!(
        d[0]["locations"][1]["label"],
        "lets in 0.0.0.0/0 (\"crm.http\")"
    );
    assert_eq!(
        d[0]["notes"],
        serde_json::json!([
            "not declared: 0.0.0.0/0 except 192.168.0.0/24 (public (any IPv4 address except lan))"
        ])
    );
}

#[test]
fn check_firewall_published_ports_are_judged_on_the_forward_path() {
    let o = check(
        "opticserp-port-reference",
        "dev",
        "nftables",
        "drift/opticserp-port-reference-dev.wider-source.nft",
        true,
    );
    let d = drift(&o);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(
        d[0]["message"],
        "allowed from wider sources: `kkt-adapter.api` 0.0.0.0:8000/tcp on host `dev` is let in from 0.0.0.0/0 by the nftables ruleset (published by docker: the forward path applies), but declared for lan (192.168.1.0/24, 192.168.10.0/24)"
    );
    let o = check(
        "opticserp-port-reference",
        "dev",
        "iptables",
        "drift/opticserp-port-reference-dev.missing-rule.iptables-save",
        true,
    );
    let d = drift(&o);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert!(
        d[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("declared but blocked: `kkt-adapter.api` 0.0.0.0:8000/tcp on host `dev`"),
        "{d:#?}"
    );
    assert_eq!(
        places(&d[0])[1],
        "opticserp-port-reference-dev.missing-rule.iptables-save:13"
    );
}

#[test]
fn check_firewall_ufw_rule_for_a_loopback_binding() {
    let o = check(
        "business-platform-network",
        "server",
        "ufw",
        "drift/business-platform-network-server.extra-accept.ufw",
        true,
    );
    let d = drift(&o);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert!(
        d[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("allowed but not declared: `postgres.db` 127.0.0.1:5432/tcp"),
        "{d:#?}"
    );
}

#[test]
fn check_firewall_human_output() {
    for (name, kind, dump) in [
        (
            "wider-source",
            "iptables",
            "drift/business-platform-network-server.wider-source.iptables-save",
        ),
        (
            "missing-rule",
            "nftables",
            "drift/business-platform-network-server.missing-rule.nft",
        ),
        (
            "extra-accept",
            "iptables",
            "drift/business-platform-network-server.extra-accept.iptables-save",
        ),
    ] {
        let o = check("business-platform-network", "server", kind, dump, false);
        // only the firewall-drift findings, with the absolute paths made relative
        let text: String = o
            .stdout
            .split("\n\n")
            .filter(|b| b.contains("firewall-drift"))
            .collect::<Vec<_>>()
            .join("\n\n")
            .replace(&format!("{}/", repo().display()), "");
        insta::assert_snapshot!(format!("check-firewall-{name}"), text);
    }
}

#[test]
fn check_firewall_malformed_dumps_exit_2_with_the_place() {
    let spec = repo().join("examples/business-platform-network/ports.toml");
    for (kind, text, want) in [
        (
            "iptables",
            "*filter\n:INPUT DROP [0:0]\n-A INPUT -s 10.0.0.300 -j ACCEPT\nCOMMIT\n",
            "dump:3:13: not `iptables-save` output: `10.0.0.300` is not an address or network",
        ),
        (
            "nftables",
            "table inet t {\n\tchain input {\n\t\ttcp dport 99999 accept\n\t}\n}\n",
            "dump:3:13: not `nft list ruleset` output: `99999` is not a port or port range",
        ),
        (
            "ufw",
            "Status: active\nfoo bar\n",
            "dump:2:1: not `ufw status verbose` output: expected a rule",
        ),
    ] {
        Case::new()
            .file("dump", text)
            .args([
                "--spec",
                spec.to_str().unwrap(),
                "check",
                "--host",
                "server",
            ])
            .args(["--firewall", kind, "--from", "dump"])
            .run()
            .no_panic()
            .code(2)
            .stderr_has(want);
    }
    // no such file
    Case::new()
        .args([
            "--spec",
            spec.to_str().unwrap(),
            "check",
            "--host",
            "server",
        ])
        .args(["--firewall", "nftables", "--from", "missing.nft"])
        .run()
        .code(2)
        .stderr_has("missing.nft");
}

/// Regression: a finding that marks two rules far apart in a dump rendered every line
/// between them (folded in the output, but rendered all the same): 45,000 findings on a
/// 40,000-rule dump took 52 s. Rules far apart now get a snippet each. (A binding's finding
/// marks every rule letting in its port; a port no binding declares is one finding per rule.)
#[test]
fn check_firewall_marks_far_apart_in_a_dump_get_a_snippet_each() {
    let spec = r#"[hosts.fw]
networks = ["public"]
firewall = "iptables"
[services.api]
hosts = ["fw"]
bindings.http = { port = 8080, app = "http", exposure = "public", auth = true, tls = "native" }
[services.db]
hosts = ["fw"]
bindings.pg = { port = 9999, app = "postgres", bind = "127.0.0.1", exposure = "localhost" }
"#;
    let mut dump = String::from(
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 8080 -j ACCEPT\n-A INPUT -s 10.0.0.1/32 -p tcp -m tcp --dport 9999 -j ACCEPT\n",
    );
    for i in 0..3000 {
        let _ = writeln!(dump, "# filler {i}");
    }
    dump.push_str("-A INPUT -s 10.0.0.2/32 -p tcp -m tcp --dport 9999 -j ACCEPT\nCOMMIT\n");
    let out = Case::new()
        .file("ports.toml", spec)
        .file("fw.iptables-save", &dump)
        .args([
            "check",
            "--host",
            "fw",
            "--firewall",
            "iptables",
            "--from",
            "fw.iptables-save",
        ])
        .run()
        .code(1)
        .stdout_has("allowed but not declared: `db.pg` 127.0.0.1:9999/tcp")
        .stdout_has("--> ports.toml:9:")
        // the far mark's line, after an elision (`...`) instead of the 3,000 lines between
        .stdout_has("3007 | -A INPUT -s 10.0.0.2/32");
    assert!(!out.stdout.contains("filler"), "{}", out.stdout);
}

/// Regression (issue 12 item 2): a dump with every rule in one chain produced one
/// `firewall-drift` finding per undeclared port range per rule — 45,616 findings (44 MB of
/// JSON, 2.7 s) for a 40,000-rule dump. Now a rule is one finding naming its ports as ranges
/// with a count, exactly the ports it lets in (not those an earlier rule drops, nor the
/// declared ones, which keep their per-binding findings), the same in JSON and SARIF.
#[test]
fn regression_a_one_chain_dump_gives_one_finding_per_rule_not_per_port() {
    let spec = r#"[hosts.fw]
networks = ["public"]
firewall = "iptables"
[services.api]
hosts = ["fw"]
bindings.http = { port = 40100, app = "http", exposure = "public", auth = true, tls = "native" }
"#;
    let dump = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        -A INPUT -p tcp -m tcp --dport 40500 -j DROP\n\
        -A INPUT -p tcp -m tcp --dport 40000:40999 -j ACCEPT\n\
        -A INPUT -s 10.0.0.1/32 -p tcp -m multiport --dports 1025,1036,1048 -j ACCEPT\n\
        -A INPUT -p udp -m udp --dport 5353 -j ACCEPT\n\
        COMMIT\n";
    let run = |format: &str| {
        Case::new()
            .file("ports.toml", spec)
            .file("fw.iptables-save", dump)
            .args(["check", "--host", "fw", "--firewall", "iptables"])
            .args(["--from", "fw.iptables-save", "--format", format])
            .run()
            .no_panic()
            .code(1)
    };
    let want = [
        (
            6,
            "allowed but not declared: the iptables rule at line 6 lets in ports 40000-40099, 40101-40499, 40501-40999/tcp (998 ports) on host `fw` from 0.0.0.0/0, but no binding of the host declares them",
        ),
        (
            7,
            "allowed but not declared: the iptables rule at line 7 lets in ports 1025, 1036, 1048/tcp (3 ports) on host `fw` from 10.0.0.1/32, but no binding of the host declares them",
        ),
        (
            8,
            "allowed but not declared: the iptables rule at line 8 lets in port 5353/udp on host `fw` from 0.0.0.0/0, but no binding of the host declares it",
        ),
    ];
    let json = run("json");
    let mut found: Vec<(u64, String)> = drift(&json)
        .iter()
        .map(|f| {
            assert_eq!(f["subjects"], serde_json::json!(["fw"]), "{f:#?}");
            let line = f["locations"][0]["line"].as_u64().unwrap();
            (line, f["message"].as_str().unwrap().to_string())
        })
        .collect();
    found.sort();
    let want: Vec<(u64, String)> = want.iter().map(|(l, m)| (*l, m.to_string())).collect();
    assert_eq!(found, want);
    // SARIF: the same three results, at the same lines (its text adds the help)
    let sarif: serde_json::Value = serde_json::from_str(&run("sarif").stdout).unwrap();
    let mut results: Vec<(u64, String)> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == "firewall-drift")
        .map(|r| {
            let line = r["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .unwrap();
            let text = r["message"]["text"].as_str().unwrap();
            let first = text.lines().next().unwrap().trim_end_matches('.');
            (line, first.to_string())
        })
        .collect();
    results.sort();
    assert_eq!(results, want);
}
