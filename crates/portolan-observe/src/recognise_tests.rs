//! The matcher against fixture identities: each rule deciding, the order of the rules, a
//! declared machine id vetoing the name rules, ambiguity, and the messages.

use std::fmt::Write as _;
use std::net::IpAddr;

use portolan_model::identity::MachineId;

use super::*;

const ID_WEB1: &str = "0123456789abcdef0123456789abcdef";
const ID_DB1: &str = "fedcba9876543210fedcba9876543210";
const ID_OTHER: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

const SPEC: &str = r#"[hosts.web-1]
hostnames = ["web-1", "web-1.prod.example"]
machine-id = "0123456789abcdef0123456789abcdef"
addresses = ["10.0.0.1"]

[hosts.db-1]
hostname = "db-1.prod.example"
machine-id = "fedcba9876543210fedcba9876543210"

[hosts.Batch]
addresses = ["10.0.0.3"]

[hosts.cache]
hostnames = "redis-a"
addresses = ["10.0.0.4"]
"#;

fn model(text: &str) -> Model {
    portolan_model::load_str("ports.toml", text).unwrap()
}

/// A fixture identity, with addresses.
struct Fixed(Identity, Vec<IpAddr>);

impl IdentitySource for Fixed {
    fn identity(&self) -> Identity {
        self.0.clone()
    }
    fn addresses(&self) -> Vec<IpAddr> {
        self.1.clone()
    }
}

fn me(hostname: &str, fqdn: Option<&str>, id: Option<&str>) -> Identity {
    Identity {
        hostname: hostname.into(),
        fqdn: fqdn.map(Into::into),
        machine_id: id.map(|i| (MachineId::parse(i).unwrap(), "/etc/machine-id".into())),
        machine_id_notes: Vec::new(),
    }
}

fn found(m: &Model, id: Identity, addrs: &[&str]) -> Result<(String, Rule), NotRecognised> {
    let addrs = addrs.iter().map(|a| a.parse().unwrap()).collect();
    recognise(m, &Fixed(id, addrs)).map(|r| (m.host(r.host()).name.clone(), r.rule))
}

#[test]
fn the_machine_id_decides_before_any_name() {
    let m = model(SPEC);
    // named like db-1, but the machine id is web-1's
    let r = found(&m, me("db-1", None, Some(ID_WEB1)), &[]).unwrap();
    assert_eq!(r, ("web-1".into(), Rule::MachineId));
    let r = recognise(&m, &me("db-1", None, Some(ID_WEB1))).unwrap();
    assert_eq!(
        r.explain(&m),
        "this machine is host `web-1` by machine id (its machine id at ports.toml:3:14)"
    );
}

#[test]
fn an_exact_host_name_then_a_short_name_ignoring_case() {
    let m = model(SPEC);
    // the fully qualified name from /etc/hosts is declared exactly
    let r = found(&m, me("db-1", Some("db-1.prod.example"), None), &[]).unwrap();
    assert_eq!(r, ("db-1".into(), Rule::HostName));
    // the kernel's name is declared exactly
    let r = recognise(&m, &me("web-1.prod.example", None, None)).unwrap();
    assert_eq!(r.rule, Rule::HostName);
    assert_eq!(
        r.explain(&m),
        "this machine is host `web-1` by host name (its host name `web-1.prod.example` at ports.toml:2:23)"
    );
    // a short name of a declared host name, in another case
    let r = found(&m, me("DB-1", None, None), &[]).unwrap();
    assert_eq!(r, ("db-1".into(), Rule::ShortName));
    // the host's own name, from a fully qualified host name
    let r = recognise(&m, &me("batch.staging.example", None, None)).unwrap();
    assert_eq!(m.host(r.host()).name, "Batch");
    assert_eq!(
        r.explain(&m),
        "this machine is host `Batch` by short name (its name at ports.toml:10:8)"
    );
    // a one-string `hostnames`
    let r = found(&m, me("redis-a", None, None), &[]).unwrap();
    assert_eq!(r, ("cache".into(), Rule::HostName));
}

#[test]
fn an_address_decides_last() {
    let m = model(SPEC);
    let r = found(
        &m,
        me("ip-10-0-0-3", None, None),
        &["192.168.1.9", "10.0.0.3"],
    )
    .unwrap();
    assert_eq!(r, ("Batch".into(), Rule::Address));
    // a name wins over an address of another host
    let r = found(&m, me("redis-a", None, None), &["10.0.0.3"]).unwrap();
    assert_eq!(r, ("cache".into(), Rule::HostName));
}

#[test]
fn another_declared_machine_id_vetoes_the_name_and_says_so() {
    let m = model(SPEC);
    // web-1 reinstalled (new machine id), or a clone named like it
    let e = found(&m, me("web-1", None, Some(ID_OTHER)), &["10.0.0.1"]).unwrap_err();
    let msg = e.message(&m);
    assert_eq!(
        msg,
        format!(
            "this machine (machine id {ID_OTHER} (/etc/machine-id), host name `web-1`) is none of the spec's hosts (Batch, cache, db-1, web-1); host `web-1` is named like this machine but declares machine id {ID_WEB1} at ports.toml:3:14"
        )
    );
    // without a machine id of its own, a machine is recognised by name as before
    let r = found(&m, me("web-1", None, None), &[]).unwrap();
    assert_eq!(r, ("web-1".into(), Rule::HostName));
    // a host without a declared id is not vetoed by this machine's id
    let r = found(&m, me("redis-a", None, Some(ID_OTHER)), &[]).unwrap();
    assert_eq!(r, ("cache".into(), Rule::HostName));
}

#[test]
fn no_match_lists_what_was_read_and_suggests_a_close_name() {
    let m = model(SPEC);
    let e = found(&m, me("web-2", Some("web-2.prod.example"), None), &[]).unwrap_err();
    assert!(matches!(
        e,
        NotRecognised::NoMatch {
            suggestion: Some(_),
            ..
        }
    ));
    assert_eq!(
        e.message(&m),
        "this machine (no machine id, host name `web-2` (fully qualified `web-2.prod.example`)) is none of the spec's hosts (Batch, cache, db-1, web-1) (did you mean `web-1`?)"
    );
    let e = found(&m, me("", None, None), &[]).unwrap_err();
    assert_eq!(
        e.message(&m),
        "this machine (no machine id, no host name) is none of the spec's hosts (Batch, cache, db-1, web-1)"
    );
    let empty = model("[networks]\nlan = \"10.0.0.0/8\"\n");
    let e = found(&empty, me("x", None, Some(ID_DB1)), &[]).unwrap_err();
    assert!(
        e.message(&empty).ends_with("(it declares none)"),
        "{}",
        e.message(&empty)
    );
}

#[test]
fn two_hosts_matched_by_the_deciding_rule_are_ambiguous() {
    let m = model(
        r#"[hosts.web-1]
[hosts.web-1-dev]
hostnames = ["web-1.dev.example"]
[hosts.api]
hostnames = ["api.example"]
[hosts.api-old]
hostnames = ["api.example"]
"#,
    );
    let e = found(&m, me("web-1.prod.example", None, None), &[]).unwrap_err();
    assert_eq!(
        e.message(&m),
        "this machine (no machine id, host name `web-1.prod.example`) is 2 hosts of the spec by short name: `web-1` (its name at ports.toml:1:8), `web-1-dev` (its host name `web-1.dev.example` at ports.toml:3:14)"
    );
    // an exact host name decides before the short names collide
    let r = found(&m, me("web-1.dev.example", None, None), &[]).unwrap();
    assert_eq!(r, ("web-1-dev".into(), Rule::HostName));
    // the same name claimed twice (a lint finding) cannot decide
    let e = found(&m, me("api.example", None, None), &[]).unwrap_err();
    assert!(
        matches!(&e, NotRecognised::Ambiguous { rule: Rule::HostName, candidates, .. } if candidates.len() == 2),
        "{e:?}"
    );
}

#[test]
fn a_machine_id_claimed_twice_is_ambiguous() {
    let m = model(&format!(
        "[hosts.a]\nmachine-id = \"{ID_WEB1}\"\n[hosts.b]\nmachine-id = \"{ID_WEB1}\"\nhostnames = [\"b\"]\n"
    ));
    let e = found(&m, me("b", None, Some(ID_WEB1)), &[]).unwrap_err();
    assert!(
        matches!(
            &e,
            NotRecognised::Ambiguous {
                rule: Rule::MachineId,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn many_hosts_are_counted_not_listed() {
    let text = (0..20).fold(String::new(), |mut t, i| {
        let _ = writeln!(t, "[hosts.h{i:02}]");
        t
    });
    let m = model(&text);
    let e = found(&m, me("zzz", None, None), &[]).unwrap_err();
    assert!(
        e.message(&m)
            .contains("(h00, h01, h02, h03, h04, h05, h06, h07, 12 more)"),
        "{}",
        e.message(&m)
    );
}
