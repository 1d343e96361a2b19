//! Mutation test of `[[expect]]` (issue 16): for the three examples and three scenario
//! specs of our own (`tests/fixtures/mutations/NAME/`), single-layer mutations — widen a
//! bind, add a publish, drop, widen or reorder a firewall rule, add or retarget a route, add
//! a `::` bind, change a network or a CIDR — each with the set of expectations that must fail
//! afterwards, written by hand in `mutations.json`. The test asserts the exact set for every
//! mutation (and the unmutated baseline), and lists the survivors (mutations no
//! expectation notices) as a snapshot.
//!
//! `mutations.json`: `{"spec"?: "examples/…/ports.toml", "baseline": [n…], "mutations":
//! [{"name", "layer", "replace": [[old, new]…], "fails": [n…]}]}` — every `old` occurs
//! exactly once in the spec; `n` is the expectation's number (`expect #n`).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::harness::{Case, repo};

/// The numbers of the expectations `lint` reports as failing for `spec`.
fn failing(spec: &str) -> BTreeSet<u64> {
    let out = Case::new()
        .file("ports.toml", spec)
        .args(["lint", "--format", "json"])
        .run()
        .no_panic();
    assert!(out.code <= 1, "lint exit {}: {}", out.code, out.stderr);
    out.json()["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "expectation-failed")
        .map(|f| {
            let m = f["message"].as_str().expect("message");
            let n = m
                .strip_prefix("expect #")
                .and_then(|r| r.split(' ').next())
                .and_then(|n| n.parse().ok());
            n.unwrap_or_else(|| panic!("no expectation number in {m}"))
        })
        .collect()
}

fn set(v: &serde_json::Value) -> BTreeSet<u64> {
    v.as_array()
        .expect("a list of expectation numbers")
        .iter()
        .map(|n| n.as_u64().expect("a number"))
        .collect()
}

#[test]
fn every_mutation_fails_exactly_the_expectations_written_for_it() {
    let dir = repo().join("tests/fixtures/mutations");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("mutation fixtures")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut wrong = Vec::new();
    let mut survivors = String::new();
    let mut total = 0;
    let mut layers = BTreeSet::new();
    for name in &names {
        let fixture: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.join(name).join("mutations.json")).expect("mutations.json"),
        )
        .expect("mutations.json is JSON");
        let spec_path = fixture["spec"]
            .as_str()
            .map_or_else(|| dir.join(name).join("ports.toml"), |p| repo().join(p));
        let spec = std::fs::read_to_string(&spec_path).expect("spec");
        let baseline = set(&fixture["baseline"]);
        let got = failing(&spec);
        if got != baseline {
            wrong.push(format!("{name}: baseline {baseline:?}, lint says {got:?}"));
        }
        for m in fixture["mutations"].as_array().expect("mutations") {
            let title = m["name"].as_str().expect("name");
            let mut text = spec.clone();
            for r in m["replace"].as_array().expect("replace") {
                let old = r[0].as_str().expect("old");
                let new = r[1].as_str().expect("new");
                assert_eq!(
                    text.matches(old).count(),
                    1,
                    "{name} / {title}: `{old}` must occur exactly once"
                );
                text = text.replacen(old, new, 1);
            }
            total += 1;
            layers.insert(m["layer"].as_str().expect("layer").to_string());
            let want = set(&m["fails"]);
            let got = failing(&text);
            if got != want {
                wrong.push(format!(
                    "{name} / {title}: want {want:?}, lint says {got:?}"
                ));
            }
            if want == baseline {
                let _ = writeln!(
                    survivors,
                    "{name}: {title} [{}]",
                    m["layer"].as_str().unwrap_or("")
                );
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(names.len() >= 6, "{names:?}");
    assert!(total >= 50, "only {total} mutations");
    for l in ["bind", "publish", "firewall", "route", "network"] {
        assert!(layers.iter().any(|x| x.contains(l)), "no {l} mutation");
    }
    insta::assert_snapshot!("expect-mutation-survivors", survivors);
}
