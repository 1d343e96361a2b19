//! `portolan why`: the traces of every binding of the examples are snapshots; every location
//! a trace names exists in the spec or dump it names (same line text); a trace through a
//! captured dump points at its rules; names that do not resolve exit 2 with a suggestion.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::harness::{Case, examples, repo};

/// Every written binding of an example (`service.binding`), in spec order.
fn bindings(example: &str) -> Vec<String> {
    let out = Case::new()
        .file(
            "ports.toml",
            std::fs::read(repo().join("examples").join(example).join("ports.toml"))
                .expect("example"),
        )
        .args(["exposure", "--json"])
        .run()
        .success();
    let mut seen = BTreeSet::new();
    out.json()["bindings"]
        .as_array()
        .expect("bindings")
        .iter()
        .filter_map(|b| b["binding"].as_str().map(str::to_string))
        .filter(|b| seen.insert(b.clone()))
        .collect()
}

fn why(example: &str, args: &[&str]) -> crate::harness::Outcome {
    Case::new()
        .file(
            "ports.toml",
            std::fs::read(repo().join("examples").join(example).join("ports.toml"))
                .expect("example"),
        )
        .arg_list(args)
        .run()
}

trait ArgList {
    fn arg_list(self, args: &[&str]) -> Self;
}

impl ArgList for Case {
    fn arg_list(self, args: &[&str]) -> Self {
        self.args(std::iter::once("why").chain(args.iter().copied()))
    }
}

/// Checks that each location of a `why --json` output names an existing line of `text`
/// (the file the location names), with that line's text; returns how many it checked.
fn check_locations(v: &serde_json::Value, file: &str, text: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let mut n = 0;
    let mut stack = vec![v];
    while let Some(x) = stack.pop() {
        match x {
            serde_json::Value::Object(m) => {
                if let Some(loc) = m.get("location")
                    && !loc.is_null()
                {
                    let f = loc["file"].as_str().expect("file");
                    if f.ends_with(file) {
                        let line =
                            usize::try_from(loc["line"].as_u64().expect("line")).expect("line");
                        let want = lines.get(line - 1).map_or_else(
                            || panic!("{f}:{line} is past the end ({} lines)", lines.len()),
                            |l| l.trim(),
                        );
                        assert_eq!(loc["text"].as_str(), Some(want), "{f}:{line}");
                        assert!(!want.is_empty(), "{f}:{line} is an empty line");
                        n += 1;
                    }
                }
                stack.extend(m.values());
            }
            serde_json::Value::Array(a) => stack.extend(a),
            _ => {}
        }
    }
    n
}

#[test]
fn why_every_binding_of_every_example_snapshot() {
    for example in examples() {
        let mut all = String::new();
        for b in bindings(&example) {
            let out = why(&example, &[&b]).success();
            let _ = writeln!(all, "$ portolan why {b}\n{}", out.stdout);
        }
        assert!(
            all.contains("bind ") && all.contains("verdict"),
            "{example}"
        );
        insta::assert_snapshot!(format!("why-{example}"), all);
    }
}

#[test]
fn every_location_in_a_trace_exists_in_the_spec_it_names() {
    let mut checked = 0;
    for example in examples() {
        let text =
            std::fs::read_to_string(repo().join("examples").join(&example).join("ports.toml"))
                .expect("example");
        for b in bindings(&example) {
            for from in ["public", "any", "host-internal"] {
                let out = why(&example, &[&b, "--from", from, "--json"]).success();
                checked += check_locations(&out.json(), "ports.toml", &text);
            }
        }
    }
    assert!(checked > 500, "only {checked} locations checked");
}

#[test]
fn a_trace_through_a_captured_dump_points_at_its_rules() {
    let dump = repo().join("tests/fixtures/firewall/opticserp-port-reference-dev.iptables-save");
    let text = std::fs::read_to_string(&dump).expect("dump");
    let out = why(
        "opticserp-port-reference",
        &[
            "kkt-adapter.api",
            "--host",
            "dev",
            "--from",
            "lan",
            "--firewall",
            "iptables",
            "--ruleset",
            dump.to_str().expect("path"),
            "--json",
        ],
    )
    .success();
    let v = out.json();
    let n = check_locations(&v, "opticserp-port-reference-dev.iptables-save", &text);
    assert!(n >= 1, "{v:#}");
    // the published port takes the forward path: DOCKER-USER's rule for the LAN decides
    let layers = &v["instances"][0]["sources"][0]["families"][0]["layers"];
    let fw = layers
        .as_array()
        .expect("layers")
        .iter()
        .find(|l| l["layer"] == "firewall")
        .expect("firewall layer");
    assert!(
        fw["detail"]
            .as_str()
            .expect("detail")
            .contains("forward path"),
        "{fw:#}"
    );
    // DOCKER-USER returns the LAN's packets (the caller decides), FORWARD's policy lets them in
    let decisions = fw["decisions"].as_array().expect("decisions");
    assert!(
        decisions.iter().any(|d| d["returned"] == true
            && d["allow"] == false
            && d["location"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("192.168.1.0/24") && t.contains("RETURN"))),
        "{fw:#}"
    );
    assert!(
        decisions.iter().any(|d| d["allow"] == true
            && d["what"] == "policy accept of chain `FORWARD`"
            && d["sources"] == "192.168.1.0/24"),
        "{fw:#}"
    );
    // and from the Internet, the chain's last rule drops it (published on 0.0.0.0, yet filtered)
    let out = why(
        "opticserp-port-reference",
        &[
            "kkt-adapter.api",
            "--host",
            "dev",
            "--from",
            "public",
            "--firewall",
            "iptables",
            "--ruleset",
            dump.to_str().expect("path"),
        ],
    )
    .success();
    assert!(out.stdout.contains("IPv4: not reachable"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("opticserp-port-reference-dev.iptables-save:"),
        "{}",
        out.stdout
    );
}

#[test]
fn why_names_that_resolve_to_nothing_exit_2_with_a_suggestion() {
    why("opticserp-port-reference", &["kkt-adaptr.api"])
        .code(2)
        .stderr_has("kkt-adapter.api");
    why(
        "opticserp-port-reference",
        &["odoo.http", "--from", "pos-lna"],
    )
    .code(2)
    .stderr_has("pos-lan");
    why(
        "opticserp-port-reference",
        &["db1:5432", "--env", "staging"],
    )
    .code(2)
    .stderr_has("staging");
    // nothing declared there is an answer, not an error
    why(
        "opticserp-port-reference",
        &["db1:9999", "--from", "public"],
    )
    .success()
    .stdout_has("nothing listens there");
}

/// Regression: a `RETURN` from a user chain was printed as "lets in" (the caller decides,
/// here its policy drops), and a trace showed the return as if it were the accepting rule.
#[test]
fn a_return_from_a_user_chain_passes_on_and_the_callers_policy_decides() {
    let spec = r#"[networks]
lan = "10.0.0.0/8"
[hosts.fw]
networks = ["lan"]
firewall = "iptables"
[services.api]
hosts = ["fw"]
bindings.http = { port = 8080, app = "http", exposure = "lan", auth = true }
"#;
    let dump = "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:office - [0:0]
-A INPUT -p tcp -m tcp --dport 8000:8999 -j office
-A INPUT -p tcp -m tcp --dport 8080 -s 10.1.0.0/16 -j ACCEPT
-A office -s 10.2.0.0/16 -j ACCEPT
-A office -m comment --comment \"rest of the office\" -j RETURN
COMMIT
";
    let out = Case::new()
        .file("ports.toml", spec)
        .file("fw.iptables-save", dump)
        .args([
            "why",
            "api.http",
            "--from",
            "lan",
            "--firewall",
            "iptables",
            "--ruleset",
            "fw.iptables-save",
        ])
        .run()
        .success();
    let text = &out.stdout;
    assert!(
        text.contains("IPv4: partly reachable — 10.1.0.0/16, 10.2.0.0/16"),
        "{text}"
    );
    assert!(
        text.contains(
            "return from chain `office` (\"rest of the office\"), decided further on → passes on"
        ),
        "{text}"
    );
    assert!(!text.contains("decided further on → lets in"), "{text}");
    assert!(
        text.contains("[fw.iptables-save:9]") || text.contains("fw.iptables-save:9:"),
        "{text}"
    );
    assert!(
        text.contains("policy drop of chain `INPUT` → drops"),
        "{text}"
    );
}
