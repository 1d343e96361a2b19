//! The import corpus (`tests/fixtures/import/corpus`): every document imported, loaded and
//! linted, and scored against its answer key — listener recall and precision, flow recall
//! and precision, route recall, wrong error-level findings, false listeners on near-miss
//! numbers, notes, and secrets in any output (spec, JSON, explain report, warnings). The goals of the import are asserted
//! here; `bench/import.sh` prints the table (`PORTOLAN_IMPORT_TABLE=FILE` also writes it).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use portolan_discover::markdown;
use portolan_lint::Severity;
use portolan_model::Model;
use portolan_model::model::FlowEnd;
use portolan_model::spec::Transport;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Key {
    style: String,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    listener: Vec<ListenerKey>,
    #[serde(default)]
    flow: Vec<FlowKey>,
    #[serde(default)]
    route: Vec<RouteKey>,
    #[serde(default)]
    finding: Vec<FindingKey>,
    #[serde(default)]
    note: Vec<NoteKey>,
    #[serde(default)]
    near_miss: Vec<NearMissKey>,
    secrets: SecretsKey,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum PortKey {
    One(u16),
    Range(String),
}

impl PortKey {
    fn bounds(&self) -> (u16, u16) {
        match self {
            PortKey::One(p) => (*p, *p),
            PortKey::Range(r) => {
                let (a, b) = r.split_once('-').expect("range key is LO-HI");
                (
                    a.trim().parse().expect("port"),
                    b.trim().parse().expect("port"),
                )
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListenerKey {
    name: Vec<String>,
    port: PortKey,
    #[serde(default)]
    transport: Option<String>,
    #[serde(default)]
    host: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlowKey {
    to: String,
    port: u16,
    #[serde(default)]
    transport: Option<String>,
    #[serde(default)]
    from: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteKey {
    from: u16,
    to: u16,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FindingKey {
    rule: String,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    host: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteKey {
    contains: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NearMissKey {
    port: u16,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsKey {
    values: Vec<String>,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/import/corpus")
}

/// Lowercase, `_` and spaces read as `-`.
fn norm(s: &str) -> String {
    s.to_lowercase().replace(['_', ' '], "-")
}

fn transport_of(t: Option<&String>) -> Transport {
    match t.map(String::as_str) {
        Some("udp") => Transport::Udp,
        _ => Transport::Tcp,
    }
}

/// Score of one document.
#[derive(Debug, Default)]
struct Score {
    doc: String,
    listeners: (usize, usize),
    flows: (usize, usize),
    /// Imported bindings that are a listener of the key, of all bindings imported.
    listener_precision: (usize, usize),
    /// Imported flows that are a flow of the key, of all flows imported.
    flow_precision: (usize, usize),
    /// What the import declared that the key does not list.
    extra: Vec<String>,
    routes: (usize, usize),
    planted: (usize, usize),
    wrong: Vec<String>,
    false_listeners: Vec<u16>,
    notes: (usize, usize),
    leaked: Vec<String>,
    missed: Vec<String>,
}

fn binding_text(model: &Model, i: usize) -> String {
    let b = &model.bindings[i];
    let s = model.service(b.service);
    norm(&format!(
        "{} {} {} {}",
        s.name,
        b.name,
        s.purpose.as_deref().unwrap_or(""),
        b.purpose.as_deref().unwrap_or("")
    ))
}

fn host_name(model: &Model, i: usize) -> &str {
    &model.hosts[model.bindings[i].host.index()].name
}

/// Whether binding `i` is the listener `k` describes: same ports and transport, on the
/// key's host if it names one, and one of the key's names in the binding's text.
fn listener_is(model: &Model, i: usize, k: &ListenerKey) -> bool {
    let (lo, hi) = k.port.bounds();
    let b = &model.bindings[i];
    b.ports.lo == lo
        && b.ports.hi == hi
        && b.transport == transport_of(k.transport.as_ref())
        && k.host
            .as_ref()
            .is_none_or(|h| host_name(model, i).contains(h.as_str()))
        && {
            let text = binding_text(model, i);
            k.name.iter().any(|n| text.contains(&norm(n)))
        }
}

fn listener_found(model: &Model, k: &ListenerKey) -> bool {
    (0..model.bindings.len()).any(|i| listener_is(model, i, k))
}

fn flow_found(model: &Model, k: &FlowKey) -> bool {
    model.flows.iter().any(|f| flow_is(model, f, k))
}

/// Whether flow `f` is the connection `k` describes: transport, destination (a service
/// with that port, or an external pattern/label naming it) and, if the key says, source.
fn flow_is(model: &Model, f: &portolan_model::model::Flow, k: &FlowKey) -> bool {
    let t = transport_of(k.transport.as_ref());
    let want = norm(&k.to);
    {
        if f.transport != t {
            return false;
        }
        let to_ok = match &f.to {
            FlowEnd::External { pattern, ports } => {
                norm(pattern).contains(&want) && ports.is_none_or(|p| p.contains(k.port))
            }
            FlowEnd::Service(s) => {
                norm(&model.service(*s).name).contains(&want)
                    && model.bindings[model.service(*s).bindings.clone()]
                        .iter()
                        .any(|b| b.ports.contains(k.port))
            }
            FlowEnd::Binding(s, bn) => {
                norm(&model.service(*s).name).contains(&want)
                    && model.bindings[model.service(*s).bindings.clone()]
                        .iter()
                        .any(|b| &b.name == bn && b.ports.contains(k.port))
            }
            FlowEnd::Network(_) | FlowEnd::Cidr(_) | FlowEnd::Public => {
                norm(&f.label.1).contains(&want) && f.to_ports.is_some_and(|p| p.contains(k.port))
            }
        };
        let from_ok = k
            .from
            .as_ref()
            .is_none_or(|want| norm(&f.label.0).contains(&norm(want)));
        to_ok && from_ok
    }
}

fn route_found(model: &Model, k: &RouteKey) -> bool {
    model.routes.iter().any(|r| {
        model.bindings[r.from.index()].ports.contains(k.from)
            && model.bindings[r.to.index()].ports.contains(k.to)
    })
}

/// The bindings a finding's subjects name (`service.binding`).
fn subject_bindings(model: &Model, subjects: &[String]) -> Vec<usize> {
    let mut out = Vec::new();
    for s in subjects {
        let (svc, bn) = s.split_once('.').unwrap_or((s.as_str(), ""));
        for (i, b) in model.bindings.iter().enumerate() {
            if model.service(b.service).name == svc && (bn.is_empty() || b.name == bn) {
                out.push(i);
            }
        }
    }
    out
}

fn finding_matches(model: &Model, f: &portolan_lint::Finding, k: &FindingKey) -> bool {
    if f.rule.id() != k.rule {
        return false;
    }
    let text = norm(&format!("{} {}", f.subjects.join(" "), f.message));
    if let Some(s) = &k.subject {
        if !text.contains(&norm(s)) {
            return false;
        }
    }
    if k.port.is_none() && k.host.is_none() {
        return true;
    }
    subject_bindings(model, &f.subjects).iter().any(|&i| {
        k.port.is_none_or(|p| model.bindings[i].ports.contains(p))
            && k.host
                .as_ref()
                .is_none_or(|h| host_name(model, i).contains(h.as_str()))
    })
}

fn load(spec: &str) -> Model {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ports.toml");
    std::fs::write(&path, spec).expect("write");
    match portolan_model::load(&path) {
        Ok(m) => m,
        Err(e) => panic!("imported spec does not load: {e}\n{spec}"),
    }
}

/// Everything the import can print for a document, in every output format.
fn outputs(imp: &markdown::Imported) -> String {
    format!(
        "{}\n{}\n{}\n{}",
        imp.spec,
        imp.to_json(),
        imp.explain_text(),
        imp.warnings().join("\n")
    )
}

fn score(name: &str) -> Score {
    let dir = corpus_dir();
    let bytes = std::fs::read(dir.join(name)).expect("document");
    let key_path = dir.join(name.replace(".md", ".key.toml"));
    let key: Key = toml::from_str(&std::fs::read_to_string(&key_path).expect("key"))
        .unwrap_or_else(|e| panic!("{}: {e}", key_path.display()));
    let _ = (&key.style, &key.encoding);
    let imp = match markdown::import_bytes(name, &bytes) {
        Ok(imp) => imp,
        Err(e) => {
            let mut s = Score {
                doc: name.trim_end_matches(".md").to_string(),
                ..Score::default()
            };
            s.listeners.1 = key.listener.len();
            s.flows.1 = key.flow.len();
            s.routes.1 = key.route.len();
            s.planted.1 = key.finding.len();
            s.notes.1 = key.note.len();
            s.missed.push(format!("import failed: {e}"));
            return s;
        }
    };
    if std::env::var("PORTOLAN_IMPORT_DEBUG").is_ok_and(|d| name.starts_with(&d)) {
        println!(
            "{}\n{}\n{:#?}",
            imp.spec,
            imp.explain_text(),
            imp.report.problems
        );
    }
    let model = load(&imp.spec);
    let report = portolan_lint::lint(&model).expect("lint config");
    let mut s = Score {
        doc: name.trim_end_matches(".md").to_string(),
        ..Score::default()
    };
    for k in &key.listener {
        s.listeners.1 += 1;
        if listener_found(&model, k) {
            s.listeners.0 += 1;
        } else {
            s.missed.push(format!(
                "listener {:?} {:?}/{}{}",
                k.name,
                k.port.bounds(),
                k.transport.as_deref().unwrap_or("tcp"),
                k.host
                    .as_ref()
                    .map(|h| format!(" on {h}"))
                    .unwrap_or_default()
            ));
        }
    }
    for k in &key.flow {
        s.flows.1 += 1;
        if flow_found(&model, k) {
            s.flows.0 += 1;
        } else {
            s.missed.push(format!("flow to {}:{}", k.to, k.port));
        }
    }
    for i in 0..model.bindings.len() {
        s.listener_precision.1 += 1;
        // the key pins one host per listener (for recall); a service the document puts on
        // several hosts is right on each of them
        if key.listener.iter().any(|k| {
            listener_is(&model, i, k)
                || listener_is(
                    &model,
                    i,
                    &ListenerKey {
                        name: k.name.clone(),
                        port: k.port.clone(),
                        transport: k.transport.clone(),
                        host: None,
                    },
                )
        }) {
            s.listener_precision.0 += 1;
        } else {
            let b = &model.bindings[i];
            s.extra.push(format!(
                "listener {}.{} {}/{:?} on {}",
                model.service(b.service).name,
                b.name,
                b.ports,
                b.transport,
                host_name(&model, i)
            ));
        }
    }
    for f in &model.flows {
        s.flow_precision.1 += 1;
        if key.flow.iter().any(|k| flow_is(&model, f, k)) {
            s.flow_precision.0 += 1;
        } else {
            s.extra.push(format!(
                "flow {} -> {} {:?}/{:?}",
                f.label.0, f.label.1, f.to_ports, f.transport
            ));
        }
    }
    for k in &key.route {
        s.routes.1 += 1;
        if route_found(&model, k) {
            s.routes.0 += 1;
        } else {
            s.missed.push(format!("route {} -> {}", k.from, k.to));
        }
    }
    for k in &key.finding {
        s.planted.1 += 1;
        if report
            .findings
            .iter()
            .any(|f| finding_matches(&model, f, k))
        {
            s.planted.0 += 1;
        } else {
            s.missed.push(format!(
                "finding {} {}",
                k.rule,
                k.subject.as_deref().unwrap_or("")
            ));
        }
    }
    for f in &report.findings {
        if f.severity == Severity::Error
            && !key.finding.iter().any(|k| finding_matches(&model, f, k))
        {
            s.wrong.push(format!(
                "{} [{}] {}",
                f.rule.id(),
                f.subjects.join(" "),
                f.message
            ));
        }
    }
    for k in &key.near_miss {
        if model.bindings.iter().any(|b| b.ports.contains(k.port)) {
            s.false_listeners.push(k.port);
        }
    }
    let problems: Vec<String> = imp
        .report
        .problems
        .iter()
        .map(|p| p.reason.clone())
        .collect();
    for k in &key.note {
        s.notes.1 += 1;
        if problems
            .iter()
            .any(|p| k.contains.iter().all(|c| p.contains(c.as_str())))
        {
            s.notes.0 += 1;
        } else {
            s.missed.push(format!("note {:?}", k.contains));
        }
    }
    let all = outputs(&imp);
    for secret in &key.secrets.values {
        if all.contains(secret.as_str()) {
            s.leaked.push(secret.clone());
        }
    }
    s
}

fn pct(a: usize, b: usize) -> String {
    if b == 0 {
        "—".into()
    } else {
        // rounded to the nearest whole percent, in integers
        format!("{} %", (200 * a + b) / (2 * b))
    }
}

fn frac(a: usize, b: usize) -> String {
    if b == 0 {
        "—".into()
    } else {
        format!("{a}/{b}")
    }
}

fn table(scores: &[Score]) -> String {
    let mut t = String::from(
        "| document | listener rows | listener precision | flows | flow precision | routes | planted found | wrong errors | false listeners | notes | secrets printed |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut sum = Score::default();
    for s in scores {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            s.doc,
            frac(s.listeners.0, s.listeners.1),
            frac(s.listener_precision.0, s.listener_precision.1),
            frac(s.flows.0, s.flows.1),
            frac(s.flow_precision.0, s.flow_precision.1),
            frac(s.routes.0, s.routes.1),
            frac(s.planted.0, s.planted.1),
            s.wrong.len(),
            s.false_listeners.len(),
            frac(s.notes.0, s.notes.1),
            s.leaked.len()
        );
        sum.listeners.0 += s.listeners.0;
        sum.listeners.1 += s.listeners.1;
        sum.flows.0 += s.flows.0;
        sum.flows.1 += s.flows.1;
        sum.listener_precision.0 += s.listener_precision.0;
        sum.listener_precision.1 += s.listener_precision.1;
        sum.flow_precision.0 += s.flow_precision.0;
        sum.flow_precision.1 += s.flow_precision.1;
        sum.routes.0 += s.routes.0;
        sum.routes.1 += s.routes.1;
        sum.planted.0 += s.planted.0;
        sum.planted.1 += s.planted.1;
        sum.notes.0 += s.notes.0;
        sum.notes.1 += s.notes.1;
        sum.wrong.extend(s.wrong.iter().cloned());
        sum.false_listeners
            .extend(s.false_listeners.iter().copied());
        sum.leaked.extend(s.leaked.iter().cloned());
    }
    let _ = writeln!(
        t,
        "| **all {} documents** | **{}** ({}/{}) | **{}** ({}/{}) | **{}** ({}/{}) | **{}** ({}/{}) | {} ({}/{}) | {}/{} | **{}** (max {} per document) | {} | {}/{} | **{}** |",
        scores.len(),
        pct(sum.listeners.0, sum.listeners.1),
        sum.listeners.0,
        sum.listeners.1,
        pct(sum.listener_precision.0, sum.listener_precision.1),
        sum.listener_precision.0,
        sum.listener_precision.1,
        pct(sum.flows.0, sum.flows.1),
        sum.flows.0,
        sum.flows.1,
        pct(sum.flow_precision.0, sum.flow_precision.1),
        sum.flow_precision.0,
        sum.flow_precision.1,
        pct(sum.routes.0, sum.routes.1),
        sum.routes.0,
        sum.routes.1,
        sum.planted.0,
        sum.planted.1,
        sum.wrong.len(),
        scores.iter().map(|s| s.wrong.len()).max().unwrap_or(0),
        sum.false_listeners.len(),
        sum.notes.0,
        sum.notes.1,
        sum.leaked.len()
    );
    t
}

#[test]
fn corpus_meets_the_import_goals() {
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("corpus")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| {
            Path::new(n)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("md"))
                && n != "README.md"
        })
        .collect();
    names.sort();
    assert!(
        names.len() >= 12,
        "the corpus has {} documents",
        names.len()
    );
    let scores: Vec<Score> = names.iter().map(|n| score(n)).collect();
    let t = table(&scores);
    println!("{t}");
    for s in &scores {
        for m in &s.missed {
            println!("{}: missed {m}", s.doc);
        }
        for w in &s.wrong {
            println!("{}: wrong {w}", s.doc);
        }
        for x in &s.extra {
            println!("{}: not in the key: {x}", s.doc);
        }
        for p in &s.false_listeners {
            println!("{}: false listener on {p}", s.doc);
        }
    }
    if let Ok(path) = std::env::var("PORTOLAN_IMPORT_TABLE") {
        std::fs::write(path, &t).expect("write the table");
    }
    let total = |f: fn(&Score) -> (usize, usize)| {
        scores.iter().fold((0, 0), |(a, b), s| {
            let (x, y) = f(s);
            (a + x, b + y)
        })
    };
    let (l, lt) = total(|s| s.listeners);
    let (f, ft) = total(|s| s.flows);
    assert!(l * 100 >= lt * 95, "listener rows {l}/{lt} < 95 %");
    assert!(f * 100 >= ft * 90, "flows {f}/{ft} < 90 %");
    // precision: what the import declares is what the documents say
    let (lp, lpt) = total(|s| s.listener_precision);
    let (fp, fpt) = total(|s| s.flow_precision);
    assert!(lp * 100 >= lpt * 95, "listener precision {lp}/{lpt} < 95 %");
    assert!(fp * 100 >= fpt * 90, "flow precision {fp}/{fpt} < 90 %");
    for s in &scores {
        assert!(
            s.wrong.len() <= 1,
            "{}: {} wrong error-level findings: {:#?}",
            s.doc,
            s.wrong.len(),
            s.wrong
        );
        assert!(
            s.leaked.is_empty(),
            "{}: secrets printed: {:?}",
            s.doc,
            s.leaked
        );
    }
}
