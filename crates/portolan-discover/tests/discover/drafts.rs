//! `init --from-discover` scored against answer keys: each repository under
//! `tests/fixtures/drafts/` has a `<name>.key.toml` written before the drafter was tuned
//! (host listeners, flows, routes, the findings its planted mistakes must raise, secrets).
//! The draft is linted as `portolan lint` would; every error or warning the key does not
//! expect is a wrong finding. The table is printed (`bench/drafts.sh` puts it in
//! BENCHMARKS.md) and every figure must be perfect.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use portolan_discover::draft::{self, Draft};
use portolan_discover::walk::{self, WalkOptions};
use serde::Deserialize;

#[derive(Deserialize)]
struct Key {
    #[serde(default)]
    listeners: Vec<KeyListener>,
    #[serde(default)]
    flows: Vec<KeyEdge>,
    #[serde(default)]
    routes: Vec<KeyEdge>,
    findings: KeyFindings,
    secrets: KeySecrets,
}

#[derive(Deserialize)]
struct KeyListener {
    host: String,
    service: String,
    port: u16,
    #[serde(default = "tcp")]
    transport: String,
    app: Option<String>,
    bind: Option<String>,
}

fn tcp() -> String {
    "tcp".into()
}

#[derive(Deserialize)]
struct KeyEdge {
    from: String,
    to: String,
    port: u16,
}

#[derive(Deserialize)]
struct KeyFindings {
    expected: Vec<String>,
}

#[derive(Deserialize)]
struct KeySecrets {
    values: Vec<String>,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/drafts")
}

/// One repository's figures.
struct Score {
    name: String,
    listeners: (usize, usize),
    precision: (usize, usize),
    flows: (usize, usize),
    routes: (usize, usize),
    planted: (usize, usize),
    wrong: Vec<String>,
    secrets: Vec<String>,
    misses: Vec<String>,
}

fn pct((a, b): (usize, usize)) -> String {
    match (100 * a + b / 2).checked_div(b) {
        Some(p) => format!("{a}/{b} ({p} %)"),
        None => "-".into(),
    }
}

/// The port a `service.binding` reference reaches (its port, or a publish's target).
fn binding_ports(d: &Draft, reference: &str) -> Option<(String, Vec<u16>)> {
    let (svc, binding) = reference.split_once('.')?;
    let s = d.services.iter().find(|s| s.name == svc)?;
    let b = s.bindings.iter().find(|b| b.name == binding)?;
    let mut ports = vec![b.port.lo];
    ports.extend(b.target.map(|t| t.lo));
    Some((svc.to_string(), ports))
}

fn score(name: &str) -> Score {
    let root = fixtures().join(name);
    let key: Key = toml::from_str(
        &std::fs::read_to_string(fixtures().join(format!("{name}.key.toml"))).expect("key"),
    )
    .expect("key parses");
    let found = walk::discover(std::slice::from_ref(&root), &WalkOptions::default());
    let d = draft::draft(&found.report, name);
    let spec = draft::starter_spec(name, &d);
    let mut misses = Vec::new();

    // listeners: recall over the key, precision over what was drafted
    let mut matched = BTreeSet::new();
    let mut hit = 0;
    for l in &key.listeners {
        let found = d
            .services
            .iter()
            .filter(|s| s.name == l.service)
            .find_map(|s| {
                s.bindings
                    .iter()
                    .find(|b| {
                        b.host == l.host
                            && b.port.lo == l.port
                            && b.transport.as_str() == l.transport
                            && l.app.as_ref().is_none_or(|a| b.app.as_ref() == Some(a))
                            && l.bind
                                .as_ref()
                                .is_none_or(|x| b.bind.map(|ip| ip.to_string()).as_ref() == Some(x))
                    })
                    .map(|b| (s.name.clone(), b.name.clone()))
            });
        match found {
            Some(k) => {
                hit += 1;
                matched.insert(k);
            }
            None => misses.push(format!(
                "listener {}:{} {} (app {:?}, bind {:?}) not drafted",
                l.host, l.port, l.service, l.app, l.bind
            )),
        }
    }
    let drafted: Vec<(String, String, String, u16)> = d
        .services
        .iter()
        .flat_map(|s| {
            s.bindings
                .iter()
                .map(|b| (s.name.clone(), b.name.clone(), b.host.clone(), b.port.lo))
        })
        .collect();
    for (s, b, h, p) in &drafted {
        if !matched.contains(&(s.clone(), b.clone())) {
            misses.push(format!(
                "drafted {s}.{b} on {h}:{p}, which the key does not list"
            ));
        }
    }

    // flows and routes: from the named service to a binding of the named service on the port
    let edge = |from: &str, to: &str, e: &KeyEdge| {
        from.split('.').next() == Some(e.from.as_str())
            && binding_ports(&d, to)
                .is_some_and(|(svc, ports)| svc == e.to && ports.contains(&e.port))
    };
    let flows_hit = key
        .flows
        .iter()
        .filter(|e| {
            let ok = d.flows.iter().any(|f| edge(&f.from, &f.to, e));
            if !ok {
                misses.push(format!(
                    "flow {} -> {}:{} not drafted",
                    e.from, e.to, e.port
                ));
            }
            ok
        })
        .count();
    let routes_hit = key
        .routes
        .iter()
        .filter(|e| {
            let ok = d.routes.iter().any(|r| edge(&r.from, &r.to, e));
            if !ok {
                misses.push(format!(
                    "route {} -> {}:{} not drafted",
                    e.from, e.to, e.port
                ));
            }
            ok
        })
        .count();

    // findings of the draft, as `portolan lint` reports them
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ports.toml");
    std::fs::write(&path, &spec).expect("write");
    let model = match portolan_model::load(&path) {
        Ok(m) => m,
        Err(e) => panic!("{name}: the draft does not load: {e}\n{spec}"),
    };
    let report = portolan_lint::lint(&model).expect("lint");
    let got: BTreeSet<String> = report
        .findings
        .iter()
        .filter(|f| f.severity >= portolan_lint::Severity::Warning)
        .map(|f| format!("{} {}", f.rule.id(), f.subjects.join(" ")))
        .collect();
    let expected: BTreeSet<String> = key.findings.expected.iter().cloned().collect();
    let wrong: Vec<String> = got.difference(&expected).cloned().collect();
    let planted = expected.intersection(&got).count();
    for e in expected.difference(&got) {
        misses.push(format!("planted mistake not reported: {e}"));
    }

    // secrets: in discover's JSON (every snippet and problem) and in the draft
    let json = serde_json::to_string(&found).expect("json");
    let secrets: Vec<String> = key
        .secrets
        .values
        .iter()
        .filter(|v| json.contains(v.as_str()) || spec.contains(v.as_str()))
        .cloned()
        .collect();
    Score {
        name: name.to_string(),
        listeners: (hit, key.listeners.len()),
        precision: (matched.len(), drafted.len()),
        flows: (flows_hit, key.flows.len()),
        routes: (routes_hit, key.routes.len()),
        planted: (planted, expected.len()),
        wrong,
        secrets,
        misses,
    }
}

#[test]
fn drafts_of_the_corpus_repositories_match_their_answer_keys() {
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .expect("fixtures")
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".key.toml"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 3, "three answer-keyed repositories expected");
    let scores: Vec<Score> = names.iter().map(|n| score(n)).collect();
    let mut table = String::from(
        "| repository | listener recall | listener precision | flows | routes | planted mistakes reported | wrong findings | secrets printed |\n|---|---|---|---|---|---|---|---|\n",
    );
    for s in &scores {
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            s.name,
            pct(s.listeners),
            pct(s.precision),
            pct(s.flows),
            pct(s.routes),
            pct(s.planted),
            s.wrong.len(),
            s.secrets.len()
        );
    }
    println!("{table}");
    let mut failures = String::new();
    for s in &scores {
        for m in &s.misses {
            let _ = writeln!(failures, "{}: {m}", s.name);
        }
        for w in &s.wrong {
            let _ = writeln!(failures, "{}: wrong finding: {w}", s.name);
        }
        for x in &s.secrets {
            let _ = writeln!(failures, "{}: secret printed: {x}", s.name);
        }
    }
    assert!(failures.is_empty(), "{table}\n{failures}");
}
