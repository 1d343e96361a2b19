//! The chunked loader agrees with the one-piece parse. Issue 15, item 1: a spec over the chunk
//! threshold that wrote a suppression as `[[services.S.lint.allow]]` had the suppression cut
//! away from its service ("service defined twice", exit 2).
//!
//! The generator writes every form TOML has for the spec's tables — `[table]` headers,
//! sub-tables before and after their parent, `[[array]]` tables (top-level and nested in a
//! service or a host firewall), dotted keys under a section header and at the root, inline
//! tables on one line and over several (TOML 1.1), quoted and escaped keys, headers inside
//! strings and comments — and interleaves the entities so tables are re-opened far from where
//! they began. Each text must be valid TOML and load without chunks; loading it cut into
//! chunks of a few hundred bytes (and, for large texts, at the real threshold) must give the
//! same model, spans included.

use std::fmt::Write as _;

use portolan_model::{LoadOptions, load_str_with};
use proptest::collection::vec;
use proptest::prelude::*;

/// Where dotted-key entries of a name-keyed section go.
#[derive(Debug, Clone, Copy)]
enum Dotted {
    /// `[services]` then `s1.port = …` lines.
    SectionHeader,
    /// `services.s1.port = …` before the first header.
    Root,
}

#[derive(Debug, Clone)]
struct Svc {
    form: u8,
    quote: u8,
    bindings: Vec<(u16, u8)>,
    allows: u8,
    allow_form: u8,
    env: bool,
    tricky: bool,
}

#[derive(Debug, Clone)]
struct HostGen {
    form: u8,
    rules: u8,
    quote: u8,
}

#[derive(Debug, Clone)]
struct Project {
    form: u8,
}

#[derive(Debug, Clone)]
struct SpecGen {
    services: Vec<Svc>,
    hosts: Vec<HostGen>,
    projects: Vec<Project>,
    networks: Vec<u8>,
    routes: u8,
    flows: u8,
    reservations: u8,
    dotted: [Dotted; 4],
    arrays_inline: bool,
    meta_root: bool,
    lint_form: u8,
    order: Vec<u32>,
}

fn svc() -> impl Strategy<Value = Svc> {
    (
        0u8..7,
        0u8..4,
        vec((1u16..60000, 0u8..3), 1..4),
        0u8..4,
        0u8..4,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(form, quote, bindings, allows, allow_form, env, tricky)| Svc {
                form,
                quote,
                bindings,
                allows,
                allow_form,
                env,
                tricky,
            },
        )
}

fn dotted() -> impl Strategy<Value = Dotted> {
    prop_oneof![Just(Dotted::SectionHeader), Just(Dotted::Root)]
}

fn spec(services: std::ops::Range<usize>) -> impl Strategy<Value = SpecGen> {
    (
        vec(svc(), services),
        vec(
            (0u8..5, 0u8..3, 0u8..4).prop_map(|(form, rules, quote)| HostGen {
                form,
                rules,
                quote,
            }),
            0..5,
        ),
        vec((0u8..4).prop_map(|form| Project { form }), 0..4),
        vec(0u8..3, 0..4),
        (0u8..4, 0u8..4, 0u8..3),
        [dotted(), dotted(), dotted(), dotted()],
        (any::<bool>(), any::<bool>(), 0u8..3),
        vec(any::<u32>(), 64),
    )
        .prop_map(
            |(
                services,
                hosts,
                projects,
                networks,
                (routes, flows, reservations),
                dotted,
                (arrays_inline, meta_root, lint_form),
                order,
            )| SpecGen {
                services,
                hosts,
                projects,
                networks,
                routes,
                flows,
                reservations,
                dotted,
                arrays_inline,
                meta_root,
                lint_form,
                order,
            },
        )
}

/// A key as written: bare, basic string, literal string, or with an escape.
fn key(name: &str, quote: u8) -> String {
    match quote {
        1 => format!("\"{name}\""),
        2 => format!("'{name}'"),
        3 => {
            let (head, last) = name.split_at(name.len() - 1);
            let c = last.chars().next().map_or(0, u32::from);
            format!("\"{head}\\u{c:04X}\"")
        }
        _ => name.to_string(),
    }
}

/// The text being written: root lines, one line list per dotted section, pieces per entity.
#[derive(Default)]
struct Doc {
    root: Vec<String>,
    /// services, hosts, projects, networks
    section: [Vec<String>; 4],
    entities: Vec<Vec<String>>,
}

impl Doc {
    fn dotted(&mut self, g: &SpecGen, section: usize, line: String) {
        const NAMES: [&str; 4] = ["services", "hosts", "projects", "networks"];
        match g.dotted[section] {
            Dotted::Root => self.root.push(format!("{}.{line}", NAMES[section])),
            Dotted::SectionHeader => self.section[section].push(line),
        }
    }
}

fn binding_value(g: &SpecGen, port: u16, variant: u8) -> String {
    let bind = ["127.0.0.1", "0.0.0.0", "::"][usize::from(variant)];
    let exposure = if g.networks.is_empty() {
        "localhost"
    } else {
        "n0"
    };
    format!("{{ port = {port}, bind = \"{bind}\", app = \"http\", exposure = \"{exposure}\" }}")
}

fn allow_items(n: u8) -> Vec<String> {
    (0..n)
        .map(|i| {
            let rule =
                ["internal-exposed", "public-without-tls", "privileged-port"][usize::from(i)];
            format!("{{ rule = \"{rule}\", reason = \"checked by hand\" }}")
        })
        .collect()
}

fn hosts_of(g: &SpecGen, i: usize) -> String {
    if g.hosts.is_empty() {
        String::new()
    } else {
        format!("hosts = [\"h{}\"]\n", i % g.hosts.len())
    }
}

#[allow(clippy::too_many_lines)]
fn service(g: &SpecGen, doc: &mut Doc, i: usize, s: &Svc) {
    let name = format!("s{i}");
    let k = key(&name, s.quote);
    let mut pieces = Vec::new();
    let mut head = String::new();
    let _ = writeln!(head, "project = \"p{}\"", i % 3);
    head.push_str(&hosts_of(g, i));
    if s.tricky {
        head.push_str(
            "# [services.not-a-header]\npurpose = \"\"\"\n[services.fake]\nport = 1\n\"\"\"\nowner = '[[services.x.lint.allow]]' # ]\n",
        );
    }
    let bindings: Vec<(String, String)> = s
        .bindings
        .iter()
        .enumerate()
        .map(|(j, (port, v))| (format!("b{j}"), binding_value(g, *port, *v)))
        .collect();
    let allows = allow_items(s.allows);
    // forms that have a `[services.S]` header can hold inline lint and env
    let has_header = matches!(s.form, 0 | 1 | 2 | 4 | 6);
    let allow_form = if !has_header && matches!(s.allow_form, 0 | 3) {
        1
    } else {
        s.allow_form
    };
    let mut lint_inline = String::new();
    let mut lint_pieces = Vec::new();
    if !allows.is_empty() {
        match allow_form {
            0 => lint_inline = format!("lint.allow = [{}]\n", allows.join(", ")),
            3 => lint_inline = format!("lint = {{ allow = [\n  {},\n] }}\n", allows.join(",\n  ")),
            2 => lint_pieces.push(format!(
                "[services.{k}.lint]\nallow = [{}]\n",
                allows.join(", ")
            )),
            _ => {
                for a in &allows {
                    let body = a.trim_matches(|c| c == '{' || c == '}').replace(", ", "\n");
                    lint_pieces.push(format!("[[services.{k}.lint.allow]]\n{}\n", body.trim()));
                }
            }
        }
    }
    let env_piece = s.env.then(|| {
        format!(
            "[services.{k}.env.production]\nstatus = \"deprecated\"\nbindings.b0 = {{ port = 61000 }}\n"
        )
    });
    match s.form {
        // everything inline under one header
        0 => {
            let mut t = format!("[services.{k}]\n{head}");
            for (b, v) in &bindings {
                let _ = writeln!(t, "bindings.{b} = {v}");
            }
            t.push_str(&lint_inline);
            if s.env {
                t.push_str("env.production = { status = \"deprecated\" }\n");
            }
            pieces.push(t);
            pieces.extend(lint_pieces);
        }
        // parent first, then sub-tables (re-opened later by the interleaving)
        1 | 2 => {
            let mut subs = Vec::new();
            for (b, v) in &bindings {
                let body = v
                    .trim_matches(|c| c == '{' || c == '}')
                    .trim()
                    .replace(", ", "\n");
                subs.push(format!("[services.{k}.bindings.{b}]\n{body}\n"));
            }
            subs.extend(env_piece);
            let parent = format!("[services.{k}]\n{head}{lint_inline}");
            if s.form == 1 {
                pieces.push(parent);
                pieces.extend(subs);
                pieces.extend(lint_pieces);
            } else {
                // sub-tables before their parent
                pieces.extend(lint_pieces);
                pieces.extend(subs);
                pieces.push(parent);
            }
        }
        // dotted keys in the section
        3 => {
            doc.dotted(g, 0, format!("{k}.project = \"p{}\"", i % 3));
            for (b, v) in &bindings {
                doc.dotted(g, 0, format!("{k}.bindings.{b} = {v}"));
            }
            if !allows.is_empty() && matches!(allow_form, 0 | 3) {
                doc.dotted(g, 0, format!("{k}.lint.allow = [{}]", allows.join(", ")));
            } else {
                pieces.extend(lint_pieces);
            }
        }
        // a multi-line inline table (TOML 1.1)
        4 => {
            let mut t = format!("[services.{k}]\n{head}bindings = {{\n");
            for (b, v) in &bindings {
                let _ = writeln!(t, "  {b} = {v},");
            }
            t.push_str("}\n");
            t.push_str(&lint_inline);
            pieces.push(t);
            pieces.extend(lint_pieces);
            pieces.extend(env_piece);
        }
        // no parent header at all
        5 => {
            for (b, v) in &bindings {
                pieces.push(format!("[services.{k}.bindings.{b}]\n"));
                let last = pieces.len() - 1;
                for kv in v.trim_matches(|c| c == '{' || c == '}').split(", ") {
                    let _ = writeln!(pieces[last], "{}", kv.trim());
                }
            }
            pieces.extend(lint_pieces);
            pieces.extend(env_piece);
        }
        // dotted keys inside the service's table
        _ => {
            let mut t = format!("[services.{k}]\n{head}");
            for (j, (port, _)) in s.bindings.iter().enumerate() {
                let _ = write!(
                    t,
                    "bindings.b{j}.port = {port}\nbindings.b{j}.app = \"http\"\n"
                );
            }
            t.push_str(&lint_inline);
            pieces.push(t);
            pieces.extend(lint_pieces);
            pieces.extend(env_piece);
        }
    }
    if !pieces.is_empty() {
        doc.entities.push(pieces);
    }
}

fn host(g: &SpecGen, doc: &mut Doc, i: usize, h: &HostGen) {
    let k = key(&format!("h{i}"), h.quote);
    let env = if i.is_multiple_of(2) {
        "production"
    } else {
        "staging"
    };
    let nets = if g.networks.is_empty() {
        String::new()
    } else {
        "networks = [\"n0\", \"public\"]\n".to_string()
    };
    let rules: Vec<String> = (0..h.rules)
        .map(|r| {
            format!(
                "{{ action = \"allow\", port = {}, from = \"{}\" }}",
                22 + u32::from(r),
                if g.networks.is_empty() { "any" } else { "n0" }
            )
        })
        .collect();
    let base = format!("environment = \"{env}\"\naddresses = [\"10.0.{i}.1\"]\n{nets}");
    let mut pieces = Vec::new();
    match h.form {
        0 => pieces.push(format!("[hosts.{k}]\n{base}firewall = \"ufw\"\n")),
        1 => pieces.push(format!(
            "[hosts.{k}]\n{base}firewall = {{ kind = \"iptables\", rules = [\n  {}\n] }}\n",
            rules.join(",\n  ")
        )),
        2 => {
            pieces.push(format!("[hosts.{k}]\n{base}"));
            pieces.push(format!("[hosts.{k}.firewall]\nkind = \"nftables\"\n"));
            for r in &rules {
                let body = r
                    .trim_matches(|c| c == '{' || c == '}')
                    .trim()
                    .replace(", ", "\n");
                pieces.push(format!("[[hosts.{k}.firewall.rules]]\n{body}\n"));
            }
        }
        3 => {
            doc.dotted(g, 1, format!("{k}.environment = \"{env}\""));
            doc.dotted(g, 1, format!("{k}.firewall.kind = \"ufw\""));
        }
        _ => pieces.push(format!(
            "[hosts.{k}]\n{base}firewall = {{\n  kind = \"ufw\",\n  rules = [{}],\n}}\n",
            rules.join(", ")
        )),
    }
    if !pieces.is_empty() {
        doc.entities.push(pieces);
    }
}

fn project(g: &SpecGen, doc: &mut Doc, i: usize, p: &Project) {
    let lo = 20000 + i * 100;
    let range = format!("range = \"{lo}-{}\"\n", lo + 99);
    let mut pieces = Vec::new();
    match p.form {
        0 => pieces.push(format!(
            "[projects.p{i}]\n{range}blocks = {{ api = \"{lo}-{}\" }}\n",
            lo + 9
        )),
        1 => {
            pieces.push(format!("[projects.p{i}]\n{range}"));
            pieces.push(format!(
                "[projects.p{i}.blocks]\napi = \"{lo}-{}\"\nweb = \"{}-{}\"\n",
                lo + 9,
                lo + 10,
                lo + 19
            ));
        }
        2 => {
            pieces.push(format!(
                "[projects.p{i}.blocks.api]\nrange = \"{lo}-{}\"\npurpose = \"the API\"\n",
                lo + 9
            ));
            pieces.push(format!("[projects.p{i}]\n{range}owner = \"team {i}\"\n"));
        }
        _ => doc.dotted(g, 2, format!("p{i}.range = \"{lo}-{}\"", lo + 99)),
    }
    if !pieces.is_empty() {
        doc.entities.push(pieces);
    }
}

/// The body of the i-th element of a top-level array of tables.
type ItemBody = Box<dyn Fn(usize) -> String>;

fn render(g: &SpecGen) -> String {
    let mut doc = Doc::default();
    for (i, s) in g.services.iter().enumerate() {
        service(g, &mut doc, i, s);
    }
    for (i, h) in g.hosts.iter().enumerate() {
        host(g, &mut doc, i, h);
    }
    for (i, p) in g.projects.iter().enumerate() {
        project(g, &mut doc, i, p);
    }
    for (i, form) in g.networks.iter().enumerate() {
        let cidr = format!("\"10.{i}.0.0/16\"");
        match form {
            0 => doc.dotted(g, 3, format!("n{i} = {cidr}")),
            1 => doc.entities.push(vec![format!(
                "[networks.n{i}]\ncidrs = [{cidr}, \"fd00:{i}::/64\"]\ndescription = \"net {i}\"\n"
            )]),
            _ => doc.dotted(g, 3, format!("n{i} = [{cidr}, \"fd00:{i}::/64\"]")),
        }
    }
    let n = g.services.len().max(1);
    let arrays: [(&str, u8, ItemBody); 3] = [
        (
            "routes",
            g.routes,
            Box::new(move |r| format!("from = \"s{}.b0\"\nto = \"s{}.b0\"", r % n, (r + 1) % n)),
        ),
        (
            "flows",
            g.flows,
            Box::new(move |f| format!("from = \"s{}\"\nto = \"*.example.com:443\"", f % n)),
        ),
        (
            "reservations",
            g.reservations,
            Box::new(|r| format!("ports = \"{}\"\nwhy = \"held\"", 30000 + r)),
        ),
    ];
    for (name, count, body) in &arrays {
        if g.arrays_inline && *count > 0 {
            let items: Vec<String> = (0..usize::from(*count))
                .map(|i| format!("  {{ {} }}", body(i).replace('\n', ", ")))
                .collect();
            doc.root
                .push(format!("{name} = [\n{},\n]", items.join(",\n")));
        } else {
            for i in 0..usize::from(*count) {
                doc.entities
                    .push(vec![format!("[[{name}]]\n{}\n", body(i))]);
            }
        }
    }
    if g.meta_root {
        doc.root.push("spec.name = \"generated\"".into());
    } else {
        doc.entities
            .push(vec!["[spec]\nname = \"generated\"\n".into()]);
    }
    match g.lint_form {
        0 => doc.entities.push(vec![
            "[lint]\nallow = [\"ephemeral-port\"]\n".into(),
            "[lint.severity]\nprivileged-port = \"warning\"\n".into(),
        ]),
        1 => doc
            .root
            .push("lint.severity.privileged-port = \"warning\"".into()),
        _ => {}
    }
    for (i, lines) in doc.section.iter().enumerate() {
        if !lines.is_empty() {
            let name = ["services", "hosts", "projects", "networks"][i];
            doc.entities
                .push(vec![format!("[{name}]\n{}\n", lines.join("\n"))]);
        }
    }
    // interleave the entities, each keeping its own order
    let mut out = String::new();
    for line in &doc.root {
        out.push_str(line);
        out.push('\n');
    }
    let mut queues: Vec<std::collections::VecDeque<String>> =
        doc.entities.into_iter().map(Into::into).collect();
    let mut step = 0usize;
    while !queues.is_empty() {
        let pick = g
            .order
            .get(step % g.order.len().max(1))
            .copied()
            .unwrap_or(0) as usize
            % queues.len();
        step += 1;
        if let Some(piece) = queues[pick].pop_front() {
            out.push('\n');
            out.push_str(&piece);
        }
        if queues[pick].is_empty() {
            queues.remove(pick);
        }
    }
    out
}

fn options(chunk_bytes: usize, threads: usize) -> LoadOptions {
    LoadOptions {
        chunk_bytes,
        threads,
        ..LoadOptions::default()
    }
}

/// Loads `text` whole and in chunks; both must succeed with the same model.
fn assert_same_model(text: &str, chunk_bytes: usize, threads: usize) -> Result<(), TestCaseError> {
    if let Err(e) = toml::from_str::<toml::Table>(text) {
        return Err(TestCaseError::fail(format!(
            "the generator wrote invalid TOML: {e}\n{text}"
        )));
    }
    let whole = load_str_with("ports.toml", text, &options(0, 1))
        .map_err(|e| TestCaseError::fail(format!("unchunked load failed: {e}\n{text}")))?;
    let chunked = load_str_with("ports.toml", text, &options(chunk_bytes, threads))
        .map_err(|e| TestCaseError::fail(format!("chunked load failed: {e}\n{text}")))?;
    let (a, b) = (format!("{whole:#?}"), format!("{chunked:#?}"));
    if a != b {
        return Err(TestCaseError::fail(format!(
            "chunks of {chunk_bytes} bytes change the model:\n{}\n{text}",
            first_difference(&a, &b)
        )));
    }
    Ok(())
}

/// The first differing line of two pretty-printed models, with the lines before it.
fn first_difference(a: &str, b: &str) -> String {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let at = la
        .iter()
        .zip(&lb)
        .position(|(x, y)| x != y)
        .unwrap_or(la.len().min(lb.len()));
    let from = at.saturating_sub(12);
    format!(
        "whole:\n{}\nchunked:\n{}",
        la[from..(at + 3).min(la.len())].join("\n"),
        lb[from..(at + 3).min(lb.len())].join("\n")
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Below the real threshold, with chunks of a few hundred bytes: many cuts per text.
    #[test]
    fn chunked_load_equals_whole_load(g in spec(0..14), chunk in 24usize..700, threads in 1usize..4) {
        assert_same_model(&render(&g), chunk, threads)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    /// Above the real threshold, with the default options.
    #[test]
    fn large_specs_load_the_same_at_the_real_threshold(g in spec(900..1200)) {
        let text = render(&g);
        prop_assert!(text.len() > 2 * (64 << 10), "only {} bytes", text.len());
        assert_same_model(&text, LoadOptions::default().chunk_bytes, 2)?;
    }
}

/// The reported case: 500 KB of services, every one with its suppressions written as
/// `[[services.S.lint.allow]]` after its bindings.
#[test]
fn array_of_tables_suppressions_stay_with_their_service_over_the_threshold() {
    let mut text = String::from("[hosts.a]\nenvironment = \"production\"\n");
    let mut i = 0;
    while text.len() < 500_000 {
        let _ = write!(
            text,
            "\n[services.s{i:05}]\nhosts = [\"a\"]\n\n[services.s{i:05}.bindings.http]\nport = {}\nbind = \"0.0.0.0\"\nexposure = \"localhost\"\n\n[[services.s{i:05}.lint.allow]]\nrule = \"internal-exposed\"\nreason = \"behind the VPN\"\n",
            1024 + i % 60000
        );
        i += 1;
    }
    let model = portolan_model::load_str("ports.toml", &text).expect("loads chunked");
    assert_eq!(model.services.len(), i);
    assert!(
        model.services.iter().all(|s| s.suppressions.len() == 1),
        "every service keeps its suppression"
    );
    let whole = load_str_with("ports.toml", &text, &options(0, 1)).expect("loads whole");
    let (a, b) = (format!("{whole:#?}"), format!("{model:#?}"));
    assert!(a == b, "{}", first_difference(&a, &b));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Arbitrary spec-shaped text (duplicate tables, bad values, stray lines): the chunked
    /// load accepts exactly what the one-piece load accepts, with the same model.
    #[test]
    fn chunked_load_accepts_what_the_whole_load_accepts(
        text in crate::props::spec_text(),
        chunk in 8usize..120,
    ) {
        let whole = load_str_with("ports.toml", &text, &options(0, 1));
        let chunked = load_str_with("ports.toml", &text, &options(chunk, 2));
        match (whole, chunked) {
            (Ok(a), Ok(b)) => {
                let (a, b) = (format!("{a:#?}"), format!("{b:#?}"));
                prop_assert!(a == b, "{}\n{}", first_difference(&a, &b), text);
            }
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(
                false,
                "whole: {:?}\nchunked: {:?}\n{}",
                a.err().map(|e| e.to_string()),
                b.err().map(|e| e.to_string()),
                text
            ),
        }
    }
}

/// Services written out of name order over many chunks, some with dangling references: the
/// chunks' services are merged by name (a k-way merge of the sorted batches) and each keeps
/// its own bindings and dangling names, exactly as the one-piece load orders them.
#[test]
fn services_out_of_name_order_merge_with_their_bindings_and_dangling_names() {
    let mut text = String::from(
        "[projects.p]\nrange = \"20000-29999\"\n\n[hosts.a]\nenvironment = \"production\"\n",
    );
    let mut i = 0u32;
    while text.len() < 400_000 {
        // a name order unlike the file order: 7919 is prime, so the names interleave
        let n = (i * 7919) % 100_000;
        let project = if i.is_multiple_of(3) {
            format!("ghost{}", i % 7)
        } else {
            "p".into()
        };
        // one or two dangling names in some services: a project, a block of an existing
        // one, a network a binding is exposed to
        let block = if i % 3 == 1 { "block = \"nope\"\n" } else { "" };
        let exposure = if i.is_multiple_of(6) {
            ", exposure = \"ghostnet\""
        } else {
            ""
        };
        let _ = write!(
            text,
            "\n[services.s{n:05}]\nproject = \"{project}\"\n{block}hosts = [\"a\"]\nbindings.http = {{ port = {}{exposure} }}\nbindings.admin = {{ port = {}, bind = \"127.0.0.1\" }}\n",
            20000 + i % 5000,
            25000 + i % 5000
        );
        i += 1;
    }
    let chunked = load_str_with("ports.toml", &text, &options(4 << 10, 2)).expect("chunked");
    let whole = load_str_with("ports.toml", &text, &options(0, 1)).expect("whole");
    assert_eq!(chunked.services.len(), i as usize);
    assert!(!chunked.unresolved.is_empty(), "the ghosts dangle");
    let (a, b) = (format!("{whole:#?}"), format!("{chunked:#?}"));
    assert!(a == b, "{}", first_difference(&a, &b));
}

/// The same service written twice far apart (two chunks' worth of text between) is the
/// one-piece load's error, at the same place: the outline keeps both headers in one chunk, so
/// TOML itself reports the second as a duplicate key.
#[test]
fn a_service_defined_in_two_chunks_is_the_same_error_as_in_one_piece() {
    let mut text = String::from("[hosts.a]\nenvironment = \"production\"\n");
    let mut i = 0u32;
    while text.len() < 300_000 {
        let n = if i == 2_500 { 17 } else { (i * 7919) % 100_000 };
        let _ = write!(
            text,
            "\n[services.s{n:05}]\nhosts = [\"a\"]\nbindings.http = {{ port = {} }}\n",
            20000 + i % 5000
        );
        i += 1;
    }
    let chunked = load_str_with("ports.toml", &text, &options(4 << 10, 2))
        .expect_err("defined twice")
        .to_string();
    let whole = load_str_with("ports.toml", &text, &options(0, 1))
        .expect_err("defined twice")
        .to_string();
    assert!(chunked.contains("duplicate key"), "{chunked}");
    assert_eq!(chunked, whole);
}
