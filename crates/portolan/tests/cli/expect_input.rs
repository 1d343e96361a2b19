//! Bad `[[expect]]` input (issue 16): an expectation naming a missing network, host,
//! service or binding is `dangling-reference` at its own line, with the closest name as a
//! suggestion; two expectations with the same source and target that say opposite things are
//! an error at each of them (exit 2, both lines named); narrowing one of the pair by family,
//! environment or transport makes it consistent again.

use crate::harness::Case;

const SPEC: &str = r#"[networks]
office = { cidrs = ["192.168.50.0/24", "fd00:50::/64"] }
[environments.production]
[environments.staging]
[hosts.db]
environment = "production"
networks = ["office"]
[services.pg]
hosts = ["db"]
bindings.db = { port = 5432, app = "postgres", exposure = "office", auth = true, tls = "native" }
"#;

fn spec(expectations: &str) -> Case {
    Case::new().file("ports.toml", format!("{SPEC}{expectations}"))
}

#[test]
fn an_expectation_naming_what_does_not_exist_is_a_dangling_reference_with_a_suggestion() {
    let out = spec(
        r#"
[[expect]]
from = "ofice"
to = "pg.db"
reach = true

[[expect]]
from = "office"
to = "pg.dbb"
reach = true

[[expect]]
from = "host:dbx"
to = "pg.db"
reach = true

[[expect]]
from = "service:pgg"
to = "pg.db"
reach = true

[[expect]]
from = "office"
to = "project:nothing"
reach = false
"#,
    )
    .args(["lint", "--format", "json"])
    .run()
    .code(1);
    let v = out.json();
    let mut got: Vec<(u64, String, String)> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "dangling-reference")
        .map(|f| {
            (
                f["locations"][0]["line"].as_u64().expect("line"),
                f["message"].as_str().expect("message").to_string(),
                f["help"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    got.sort();
    let lines: Vec<u64> = got.iter().map(|g| g.0).collect();
    assert_eq!(lines, [13, 19, 23, 28, 34], "{v:#}");
    for (want, (_, msg, help)) in [
        ("network `ofice`", "office"),
        ("binding `pg.dbb`", "pg.db"),
        ("host `dbx`", "db"),
        ("service `pgg`", "pg"),
    ]
    .iter()
    .zip(&got)
    .map(|((m, h), g)| ((*m, *h), g))
    {
        assert!(msg.contains(want.0), "{msg}");
        assert!(help.contains(&format!("`{}`", want.1)), "{help}");
    }
    assert!(got[4].1.contains("nothing"), "{}", got[4].1);
}

#[test]
fn a_contradictory_pair_is_an_error_at_both_expectations() {
    spec(
        r#"
[[expect]]
from = "office"
to = "pg.db"
reach = true

[[expect]]
from = "office"
to = "pg.db"
reach = false
reason = "copied from another host"
"#,
    )
    .args(["lint"])
    .run()
    .code(2)
    .stderr_has("expect #1 (office → pg.db) says `reach = true`, but expect #2")
    .stderr_has("expect #2 (office → pg.db) says `reach = false`, but expect #1")
    .stderr_has("ports.toml:15:9")
    .stderr_has("ports.toml:20:9")
    .no_panic();
}

#[test]
fn a_pair_narrowed_apart_by_family_environment_or_transport_is_not_a_contradiction() {
    for narrow in [
        "family = \"v6\"",
        "env = \"staging\"",
        "transport = \"udp\"",
    ] {
        spec(&format!(
            r#"
[[expect]]
from = "office"
to = "pg.db"
reach = true
family = "v4"
env = "production"
transport = "tcp"

[[expect]]
from = "office"
to = "pg.db"
reach = false
{narrow}
"#
        ))
        .args(["lint"])
        .run()
        .no_panic()
        .code(0);
    }
}
