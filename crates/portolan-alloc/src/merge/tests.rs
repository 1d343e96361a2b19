//! The merge on hand-written specs (exact texts) and on random edits (a property test).

use super::*;
use proptest::prelude::*;
use std::fmt::Write as _;

const BASE: &str = r#"# team ports — hand-written, 3 comment lines
# do not re-sort
[hosts.app1]
environment = "production"   # the only host

[projects.web]
range = "8000-8099"

[services.api]   # the API
project = "web"
hosts = ["app1"]
since = 2026-01-01
bindings.http = { port = 8000, bind = "127.0.0.1", exposure = "localhost" } # keep

[services.old]
project = "web"
hosts = ["app1"]
bindings.main = { port = 8005 }

[[reservations]]
ports = 8010
project = "web"
why = "vendor demo"
"#;

/// What the registry exports for a spec: its `toml` writer (tables, keys sorted, dates as
/// strings), as `portolan-store` assembles it.
fn exported(text: &str) -> String {
    fn strip(v: toml::Value) -> toml::Value {
        match v {
            toml::Value::Datetime(d) => toml::Value::String(d.to_string()),
            toml::Value::Array(a) => toml::Value::Array(a.into_iter().map(strip).collect()),
            toml::Value::Table(t) => {
                toml::Value::Table(t.into_iter().map(|(k, v)| (k, strip(v))).collect())
            }
            other => other,
        }
    }
    let v: toml::Table = toml::from_str(text).expect("toml");
    let back: toml::Table = v.into_iter().map(|(k, v)| (k, strip(v))).collect();
    toml::to_string(&back).expect("to_string")
}

/// The registry's export of `text` after `f` changed it.
fn exported_with(text: &str, f: impl FnOnce(&mut toml::Table)) -> String {
    let mut t: toml::Table = toml::from_str(&exported(text)).expect("toml");
    f(&mut t);
    toml::to_string(&t).expect("to_string")
}

fn table<'t>(t: &'t mut toml::Table, path: &[&str]) -> &'t mut toml::Table {
    let mut t = t;
    for k in path {
        t = t
            .entry((*k).to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .expect("a table");
    }
    t
}

fn service(port: i64, host: bool) -> toml::Value {
    let mut s = toml::Table::new();
    s.insert("project".into(), "web".into());
    if host {
        s.insert("hosts".into(), toml::Value::Array(vec!["app1".into()]));
    }
    let mut main = toml::Table::new();
    main.insert("port".into(), port.into());
    main.insert("bind".into(), "127.0.0.1".into());
    let mut b = toml::Table::new();
    b.insert("main".into(), toml::Value::Table(main));
    s.insert("bindings".into(), toml::Value::Table(b));
    toml::Value::Table(s)
}

#[test]
fn the_registrys_export_of_the_same_spec_changes_nothing() {
    let reg = exported(BASE);
    assert_ne!(reg, BASE, "the export is written differently");
    assert!(reg.contains("since = \"2026-01-01\""), "{reg}");
    for base in [None, Some(BASE), Some(reg.as_str())] {
        let m = merge(base, BASE, &reg, "ports.toml", OnConflict::Refuse).expect("merge");
        assert_eq!(m.text, BASE);
        assert!(
            m.taken.is_empty() && m.kept.is_empty() && m.conflicts.is_empty(),
            "{m:?}"
        );
    }
    assert!(same_spec(BASE, &reg));
}

#[test]
fn registry_changes_come_in_losslessly() {
    // the registry: api moved, old released, kpi allocated, a reservation added
    let reg = exported_with(BASE, |t| {
        table(t, &["services", "api", "bindings", "http"]).insert("port".into(), 8001.into());
        let services = table(t, &["services"]);
        services.remove("old");
        services.insert("kpi".into(), service(8002, true));
        let mut r = toml::Table::new();
        r.insert("ports".into(), "8020-8021".into());
        r.insert("why".into(), "load test".into());
        t.get_mut("reservations")
            .and_then(toml::Value::as_array_mut)
            .expect("reservations")
            .push(toml::Value::Table(r));
    });
    let m = merge(Some(BASE), BASE, &reg, "ports.toml", OnConflict::Refuse).expect("merge");
    assert!(m.conflicts.is_empty(), "{m:?}");
    let want = BASE
        .replace("port = 8000, bind", "port = 8001, bind")
        .replace(
            "[services.old]\nproject = \"web\"\nhosts = [\"app1\"]\nbindings.main = { port = 8005 }\n\n",
            "",
        )
        .replace(
            "bindings.http = { port = 8001, bind = \"127.0.0.1\", exposure = \"localhost\" } # keep\n",
            "bindings.http = { port = 8001, bind = \"127.0.0.1\", exposure = \"localhost\" } # keep\n\n[services.kpi]\nproject = \"web\"\nhosts = [\"app1\"]\nbindings.main = { port = 8002, bind = \"127.0.0.1\" }\n",
        )
        + "\n[[reservations]]\nports = \"8020-8021\"\nwhy = \"load test\"\n";
    assert_eq!(m.text, want);
    assert_eq!(
        m.taken,
        vec![
            "reservations: ports \"8020-8021\" why \"load test\" (new)",
            "services.api.bindings.http.port",
            "services.kpi (new)",
            "services.old (removed)",
        ]
    );
    portolan_model::load_str("ports.toml", &m.text).expect("the result loads");
}

#[test]
fn local_edits_survive_and_conflicting_edits_are_refused() {
    let local = BASE.replace(
        "[services.api]   # the API\n",
        "[services.api]   # the API\npurpose = \"REST\"\n",
    ) + "\n[services.mine]\nproject = \"web\"\nbindings.main = { port = 8003 }\n";
    let reg = exported(BASE).replace("port = 8000", "port = 8001");
    let m = merge(Some(BASE), &local, &reg, "ports.toml", OnConflict::Refuse).expect("merge");
    assert!(m.conflicts.is_empty());
    assert_eq!(
        m.text,
        local.replace("port = 8000, bind", "port = 8001, bind")
    );
    assert_eq!(
        m.kept,
        vec!["services.api.purpose (new)", "services.mine (new)"]
    );
    // both moved api: refused, and the file is as it was; with TakeRegistry the registry wins
    let local = BASE.replace("port = 8000", "port = 8004");
    let m = merge(Some(BASE), &local, &reg, "ports.toml", OnConflict::Refuse).expect("merge");
    assert_eq!(
        m.conflicts
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        vec![
            "services.api.bindings.http.port: this file has 8004, the registry has 8001 (both changed 8000 since the last pull)"
        ]
    );
    let m = merge(
        Some(BASE),
        &local,
        &reg,
        "ports.toml",
        OnConflict::TakeRegistry,
    )
    .expect("merge");
    assert!(m.conflicts.is_empty() && m.overwritten.len() == 1);
    assert_eq!(m.text, BASE.replace("port = 8000", "port = 8001"));
    // deleted here, changed there (and the other way round): a conflict too
    let local = BASE.replace(
        "[services.old]\nproject = \"web\"\nhosts = [\"app1\"]\nbindings.main = { port = 8005 }\n\n",
        "",
    );
    let reg = exported(BASE).replace("port = 8005", "port = 8006");
    let m = merge(Some(BASE), &local, &reg, "ports.toml", OnConflict::Refuse).expect("merge");
    assert_eq!(m.conflicts.len(), 1);
    assert_eq!(m.conflicts[0].key, "services.old");
    assert_eq!(m.conflicts[0].local, None);
}

#[test]
fn without_a_base_nothing_is_lost() {
    // never pulled: what only the file has stays, what only the registry has comes in,
    // what both have differently is a conflict
    let local = BASE.to_string()
        + "\n[services.mine]\nproject = \"web\"\nbindings.main = { port = 8003 }\n";
    let reg = exported_with(BASE, |t| {
        table(t, &["services"]).insert("theirs".into(), service(8004, false));
    });
    let m = merge(None, &local, &reg, "ports.toml", OnConflict::Refuse).expect("merge");
    assert!(m.conflicts.is_empty());
    // after the last service (here the file's own new one)
    assert_eq!(
        m.text,
        local.clone()
            + "\n[services.theirs]\nproject = \"web\"\nbindings.main = { port = 8004, bind = \"127.0.0.1\" }\n"
    );
    let reg = exported(BASE).replace("port = 8000", "port = 8001");
    let m = merge(None, BASE, &reg, "ports.toml", OnConflict::Refuse).expect("merge");
    assert_eq!(m.conflicts.len(), 1);
}

#[test]
fn reservations_merge_as_a_set() {
    let local =
        BASE.to_string() + "\n[[reservations]]\nports = [8030, \"8032-8033\"]\nwhy = \"mine\"\n";
    let reg = exported(BASE).replace("ports = 8010\n", "ports = \"8010\"\n")
        + "\n[[reservations]]\nports = 8040\nwhy = \"theirs\"\n";
    let m = merge(Some(BASE), &local, &reg, "ports.toml", OnConflict::Refuse).expect("merge");
    assert_eq!(
        m.text,
        local.clone() + "\n[[reservations]]\nports = 8040\nwhy = \"theirs\"\n"
    );
    // the registry released the vendor demo: it goes, mine stays
    let reg = exported(BASE).replace(
        "[[reservations]]\nports = 8010\nproject = \"web\"\nwhy = \"vendor demo\"\n",
        "",
    );
    let m = merge(Some(BASE), &local, &reg, "ports.toml", OnConflict::Refuse).expect("merge");
    assert!(
        !m.text.contains("vendor demo") && m.text.contains("why = \"mine\""),
        "{}",
        m.text
    );
}

#[test]
fn two_sides_giving_one_port_to_two_services_is_a_clash() {
    let local = BASE.to_string()
        + "\n[services.mine]\nproject = \"web\"\nbindings.main = { port = 8003 }\n";
    let reg = exported_with(BASE, |t| {
        table(t, &["services"]).insert("theirs".into(), service(8003, false));
    });
    let m = merge(Some(BASE), &local, &reg, "ports.toml", OnConflict::Refuse).expect("merge");
    assert!(m.conflicts.is_empty(), "different keys: no key conflict");
    let c = clashes(&local, &reg, &m.text, 0);
    assert_eq!(
        c.iter().map(ToString::to_string).collect::<Vec<_>>(),
        vec!["port 8003 would be held by service `mine` and by service `theirs`"]
    );
    // a port reserved here and allocated there
    let local = BASE.to_string() + "\n[[reservations]]\nports = 8004\nwhy = \"mine\"\n";
    let reg = exported_with(BASE, |t| {
        table(t, &["services"]).insert("theirs".into(), service(8004, false));
    });
    let m = merge(Some(BASE), &local, &reg, "ports.toml", OnConflict::Refuse).expect("merge");
    assert_eq!(clashes(&local, &reg, &m.text, 0).len(), 1);
    // a clash both sides already had is not the merge's
    assert!(clashes(BASE, BASE, BASE, 0).is_empty());
}

/// One random edit of the base: keys are services `s0`…`s9`.
#[derive(Debug, Clone)]
enum Edit {
    Port(usize, u16),
    Purpose(usize, String),
    Remove(usize),
    Add(usize, u16),
}

fn random_base(n: usize) -> String {
    let mut s = String::from(
        "# generated base: every service has a comment\n[projects.p]\nrange = \"9000-9999\"\n",
    );
    for i in 0..n {
        let _ = write!(
            s,
            "\n# service s{i}: hand note\n[services.s{i}]   # s{i}\nproject = \"p\"\nbindings.main = {{ port = {}, bind = \"127.0.0.1\" }} # s{i} binding\n",
            9000 + i
        );
    }
    s
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut doc = text.parse::<DocumentMut>().expect("parse");
    for e in edits {
        let services = doc["services"].as_table_like_mut().expect("services");
        match e {
            Edit::Port(i, p) => {
                if let Some(b) = services
                    .get_mut(&format!("s{i}"))
                    .and_then(|s| s.as_table_like_mut())
                    .and_then(|s| s.get_mut("bindings"))
                    .and_then(|b| b.as_table_like_mut())
                    .and_then(|b| b.get_mut("main"))
                    .and_then(|m| m.as_table_like_mut())
                {
                    b.insert("port", toml_edit::value(i64::from(*p)));
                }
            }
            Edit::Purpose(i, p) => {
                if let Some(s) = services
                    .get_mut(&format!("s{i}"))
                    .and_then(|s| s.as_table_like_mut())
                {
                    s.insert("purpose", toml_edit::value(p.as_str()));
                }
            }
            Edit::Remove(i) => {
                services.remove(&format!("s{i}"));
            }
            Edit::Add(i, p) => {
                let mut t = Table::new();
                t.insert("project", toml_edit::value("p"));
                let mut b = Table::new();
                b.set_dotted(true);
                let mut m = InlineTable::new();
                m.insert("port", i64::from(*p).into());
                b.insert("main", Item::Value(Value::InlineTable(m)));
                t.insert("bindings", Item::Table(b));
                services.insert(&format!("n{i}"), Item::Table(t));
            }
        }
    }
    doc.to_string()
}

fn edit(n: usize) -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0..n, 9100u16..9200).prop_map(|(i, p)| Edit::Port(i, p)),
        (0..n, "[a-z]{1,8}").prop_map(|(i, p)| Edit::Purpose(i, p)),
        (0..n).prop_map(Edit::Remove),
        (0..50usize, 9300u16..9400).prop_map(|(i, p)| Edit::Add(i, p)),
    ]
}

fn touches(e: &Edit) -> String {
    match e {
        Edit::Port(i, _) | Edit::Purpose(i, _) | Edit::Remove(i) => format!("s{i}"),
        Edit::Add(i, _) => format!("n{i}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Edits of different services on the two sides both survive, and every comment of a
    /// service the registry did not change or remove is still in the file.
    #[test]
    fn disjoint_edits_all_survive(
        mine in prop::collection::vec(edit(10), 0..6),
        theirs in prop::collection::vec(edit(10), 0..6),
    ) {
        let base = random_base(10);
        let mine_keys: std::collections::BTreeSet<String> = mine.iter().map(touches).collect();
        let theirs: Vec<Edit> = theirs.into_iter().filter(|e| !mine_keys.contains(&touches(e))).collect();
        let local = apply(&base, &mine);
        let registry = exported(&apply(&base, &theirs));
        let m = merge(Some(&base), &local, &registry, "ports.toml", OnConflict::Refuse).expect("merge");
        prop_assert!(m.conflicts.is_empty(), "{:?}", m.conflicts);
        let mut both = mine.clone();
        both.extend(theirs.iter().cloned());
        prop_assert!(same_spec(&m.text, &apply(&base, &both)), "merged:\n{}\nwant:\n{}", m.text, apply(&base, &both));
        let theirs_keys: std::collections::BTreeSet<String> = theirs.iter().map(touches).collect();
        for line in local.lines().filter(|l| l.contains('#')) {
            let owner = line.split_whitespace().map(|w| w.trim_end_matches(':')).find(|w| {
                w.strip_prefix('s').is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
            }).map(str::to_string);
            let changed_there = owner.as_ref().is_some_and(|o| theirs_keys.contains(o));
            if !changed_there {
                prop_assert!(m.text.contains(line), "lost {line:?}\n{}", m.text);
            }
        }
        // merging again changes nothing
        let again = merge(Some(&registry), &m.text, &registry, "ports.toml", OnConflict::Refuse).expect("merge");
        prop_assert_eq!(&again.text, &m.text);
    }
}
