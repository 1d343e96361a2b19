//! Markdown import: a hand-written port document → a spec, with evidence pointing back into
//! the document, and an account of what became of every part of it.
//!
//! The import records what the document says, mistakes included, so that `portolan lint`
//! can point at them; it does not fix anything. How it reads a document:
//!
//! - Bytes are decoded first ([`decode`]: UTF-8 with or without BOM, UTF-16 LE/BE, CRLF);
//!   lines that are not text are blanked and listed. Text is repaired ([`repair`]: mojibake,
//!   HTML entities) and secrets are redacted ([`crate::redact`]) before anything else looks
//!   at it: a secret can never reach the spec, the JSON or the explain report, and
//!   [`FileReport::secrets`] lists where each one was.
//! - [`blocks`] finds headings, pipe tables, HTML tables ([`html`]), fenced code, list items
//!   and definition lists; a fence that holds Markdown (pasted files) is read as Markdown.
//! - Headings give context: an environment (`Production`), a project (a heading that names
//!   one from a range table), an audience (`internal only`), hosts (`## Caddy (edge)`), and
//!   procedures (`Change Port`, `How to add`) whose content is an example, not the deployed
//!   state.
//! - Tables ([`table`]) are ranges, inventories, reserved ports, assignment logs, hosts or
//!   outbound dependencies, decided by their columns ([`cells::column`]) and heading
//!   ([`direction`]); intent columns (`Reachable from`, `Auth required`, `HTTPS only`) set
//!   exposure, auth and TLS. List items and prose ([`prose`], [`mentions`]) are key/value
//!   cards, `name → port` / `port — name` items, sentences such as "listens on 8883", host
//!   introductions (`**web-1** — 10.0.0.5`) and outbound mentions.
//! - Code blocks ([`code`]) go to the format parsers of this crate (compose, nginx, `.env`,
//!   Kubernetes, systemd, command lines), firewall commands to `portolan_firewall::command`
//!   ([`rulesets`]), and to the import's own readers of configuration that only documents
//!   show (Caddyfile, `HAProxy`, Apache, firewalld, `iptables-save`, YAML inventories,
//!   `listen`-style settings).
//! - What the spec cannot express (a `grep` that checks a different range than documented,
//!   a port the prose and a table disagree on, Flask's debugger on 0.0.0.0) becomes a note:
//!   a [`Problem`] in the report and a comment at the top of the spec.
//! - [`explain`] records, per part, what it became; [`Imported::to_json`] carries the spec as
//!   data with that report.

pub mod apache;
pub mod blocks;
pub mod caddy;
pub mod cells;
pub mod code;
pub mod configs;
pub mod connects;
pub mod decode;
pub mod direction;
pub mod draft;
pub mod egress;
mod emit;
pub mod explain;
pub mod facts;
mod greps;
pub mod haproxy;
pub mod html;
pub mod intent;
pub mod inventory;
pub mod links;
pub mod mentions;
mod nginx_block;
pub mod placement;
pub mod prose;
pub mod repair;
pub mod rulesets;
pub mod table;
pub mod yaml_blocks;

use crate::evidence::{FileReport, Location, Problem};
use blocks::Block;
use draft::{Audience, Draft};
use explain::{Entry, Explain, Tally};

/// The headings above a block, outermost first (text cleaned).
#[derive(Debug, Clone, Default)]
pub struct Section {
    stack: Vec<(u8, String)>,
    /// Hosts each heading of the stack names (same length as `stack`).
    hosts: Vec<Vec<String>>,
}

impl Section {
    /// Enters a heading of `level`.
    pub fn push(&mut self, level: u8, text: &str) {
        while self.stack.last().is_some_and(|(l, _)| *l >= level) {
            self.stack.pop();
            self.hosts.pop();
        }
        self.stack.push((level, cells::clean(text)));
        self.hosts.push(Vec::new());
    }

    /// Records the hosts the innermost heading names (`## Caddyfile (edge)`).
    pub fn place(&mut self, draft: &Draft, text: &str) {
        if let Some(h) = self.hosts.last_mut() {
            *h = draft.hosts_in(&cells::clean(text));
        }
    }

    /// Adds hosts introduced under the innermost heading (`Servers: web-1, web-2`).
    pub fn introduce(&mut self, hosts: &[String]) {
        if let Some(h) = self.hosts.last_mut() {
            for x in hosts {
                if !h.contains(x) {
                    h.push(x.clone());
                }
            }
        }
    }

    /// This section, with `hosts` as the context of what follows (a caption that names a
    /// machine).
    #[must_use]
    pub fn with_hosts(&self, hosts: &[String]) -> Section {
        let mut s = self.clone();
        s.stack.push((7, self.innermost()));
        s.hosts.push(hosts.to_vec());
        s
    }

    /// The hosts the nearest heading that names (or introduced) any names.
    pub fn hosts(&self) -> Vec<String> {
        self.hosts
            .iter()
            .rev()
            .find(|h| !h.is_empty())
            .cloned()
            .unwrap_or_default()
    }

    /// The heading texts, outermost first.
    pub fn headings(&self) -> Vec<String> {
        self.stack.iter().map(|(_, t)| t.clone()).collect()
    }

    /// The nearest heading.
    pub fn innermost(&self) -> String {
        self.stack
            .last()
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    }

    /// The environment the nearest heading that names one names.
    pub fn environment(&self) -> Option<String> {
        self.stack.iter().rev().find_map(|(_, t)| environment_of(t))
    }

    /// The audience the nearest heading that states one states (`Internal only`).
    pub fn audience(&self) -> Vec<Audience> {
        for (_, t) in self.stack.iter().rev() {
            let l = t.to_lowercase();
            if ["only", "internal", "public", "private", "exposed"]
                .iter()
                .any(|w| l.contains(w))
            {
                if let Some(a) = intent::audience(&Draft::default(), t).filter(|a| !a.is_empty()) {
                    return a;
                }
            }
        }
        Vec::new()
    }

    /// Whether the section describes a procedure (changing a port, an example to adapt)
    /// rather than the deployed state.
    pub fn is_procedure(&self) -> bool {
        self.stack.iter().any(|(_, t)| {
            let l = t.to_lowercase();
            [
                "change",
                "changing",
                "migrat",
                "how to add",
                "how to claim",
                "template",
                "example",
                "do not copy",
            ]
            .iter()
            .any(|w| l.contains(w))
        })
    }
}

/// The environment a heading or cell names (`Production (HTTPS)` → `production`); `None`
/// when it names none, or more than one.
pub fn environment_of(text: &str) -> Option<String> {
    let l = text.to_lowercase();
    let words: Vec<&str> = l
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut found: Vec<&str> = Vec::new();
    for w in words {
        let e = match w {
            "production" | "prod" => "production",
            "development" | "dev" => "development",
            "staging" | "stage" => "staging",
            "qa" | "uat" => "qa",
            _ => continue,
        };
        if !found.contains(&e) {
            found.push(e);
        }
    }
    match found.as_slice() {
        [one] => Some((*one).to_string()),
        _ => None,
    }
}

fn loc(path: &str, line: usize, col: usize) -> Location {
    Location::new(
        path,
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

/// Why a document could not be imported at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The file is empty.
    #[error("{path}:1:1: empty document")]
    Empty {
        /// The document.
        path: String,
    },
    /// No line of it is text.
    #[error("{path}:{line}:1: not a text document: {why}")]
    NotText {
        /// The document.
        path: String,
        /// First unreadable line.
        line: usize,
        /// Why.
        why: String,
    },
    /// Text, but nothing in it names a port, a range, a host or a connection.
    #[error(
        "{path}:1:1: nothing to import: no table, list, code block or sentence names a port ({lines} lines read{more})"
    )]
    NothingUsable {
        /// The document.
        path: String,
        /// Lines read.
        lines: usize,
        /// Parts that hold port-like numbers but were not used, if any.
        more: String,
    },
}

/// The result of importing one document.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    /// The document's name as shown in evidence.
    pub path: String,
    /// The spec as `ports.toml` text (comments carry the evidence `FILE.md:line`).
    pub spec: String,
    /// Secrets seen (and redacted), cells that could not be read, contradictions noted.
    pub report: FileReport,
    /// What became of every part of the document.
    pub explain: Explain,
    /// Numbers of what the spec declares: services, bindings, flows, routes.
    pub totals: Totals,
}

/// What the imported spec declares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    /// Services.
    pub services: usize,
    /// Bindings (listeners).
    pub bindings: usize,
    /// Outbound flows.
    pub flows: usize,
    /// Proxy routes.
    pub routes: usize,
    /// Hosts.
    pub hosts: usize,
    /// Projects.
    pub projects: usize,
    /// Reservations.
    pub reservations: usize,
}

impl Imported {
    /// Whether the document gave nothing a spec can hold.
    pub fn is_empty(&self) -> bool {
        self.totals.services == 0
            && self.totals.flows == 0
            && self.totals.projects == 0
            && self.totals.reservations == 0
    }

    /// The explain report as text (`portolan import --explain`).
    pub fn explain_text(&self) -> String {
        self.explain.text(&self.path)
    }

    /// Warnings for stderr: notes and unreadable cells, secrets (located, never shown), and
    /// parts with port-like numbers that were not used.
    pub fn warnings(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .report
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.at, p.reason))
            .collect();
        out.extend(self.explain.unused(&self.path));
        for at in &self.report.secrets {
            out.push(format!(
                "{at}: a secret in the document (redacted in the spec; rotate it)"
            ));
        }
        out
    }

    /// One line for stderr: what the spec declares and what was not used.
    pub fn summary(&self) -> String {
        let t = &self.totals;
        let unused = self
            .explain
            .entries
            .iter()
            .filter(|e| e.unused.is_some() && explain::is_block(e))
            .count();
        let skipped: usize = self
            .explain
            .entries
            .iter()
            .filter(|e| explain::is_block(e))
            .map(|e| e.skipped.len())
            .sum();
        let n = |count: usize, one: &str, many: &str| {
            format!("{count} {}", if count == 1 { one } else { many })
        };
        format!(
            "{}: {} read: {} with {} on {}, {}, {}; {} not used, {} skipped, {} (`--explain` lists every part)",
            self.path,
            n(self.explain.entries.len(), "part", "parts"),
            n(t.services, "service", "services"),
            n(t.bindings, "listener", "listeners"),
            n(t.hosts, "host", "hosts"),
            n(t.flows, "flow", "flows"),
            n(t.routes, "route", "routes"),
            n(unused, "table/block", "tables/blocks"),
            n(skipped, "row", "rows"),
            n(
                self.explain.unreadable.len(),
                "unreadable line",
                "unreadable lines"
            ),
        )
    }

    /// The import as JSON: the spec as data, the explain report, notes and where the
    /// secrets were.
    pub fn to_json(&self) -> String {
        let spec = toml::from_str::<toml::Value>(&self.spec)
            .map_or(serde_json::Value::Null, |v| json_of(&v));
        let problems: Vec<serde_json::Value> = self
            .report
            .problems
            .iter()
            .map(
                |p| serde_json::json!({"line": p.at.line, "column": p.at.col, "message": p.reason}),
            )
            .collect();
        let secrets: Vec<serde_json::Value> = self
            .report
            .secrets
            .iter()
            .map(|l| serde_json::json!({"line": l.line, "column": l.col}))
            .collect();
        let v = serde_json::json!({
            "document": self.path,
            "encoding": self.explain.encoding,
            "lines": self.explain.lines,
            "totals": self.totals,
            "spec": spec,
            "explain": self.explain.entries,
            "unreadable": self.explain.unreadable,
            "notes": problems,
            "secrets": secrets,
        });
        serde_json::to_string_pretty(&v).unwrap_or_default()
    }
}

/// TOML → JSON, dates as strings.
fn json_of(v: &toml::Value) -> serde_json::Value {
    match v {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(i) => serde_json::Value::from(*i),
        toml::Value::Float(f) => serde_json::Value::from(*f),
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        toml::Value::Array(a) => serde_json::Value::Array(a.iter().map(json_of).collect()),
        toml::Value::Table(t) => {
            serde_json::Value::Object(t.iter().map(|(k, v)| (k.clone(), json_of(v))).collect())
        }
    }
}

/// Imports a document from its bytes: decoded ([`decode`]), redacted, read. `Err` when the
/// bytes are not text or nothing in them can go into a spec.
pub fn import_bytes(path: &str, bytes: &[u8]) -> Result<Imported, ImportError> {
    if bytes.is_empty() {
        return Err(ImportError::Empty { path: path.into() });
    }
    let decoded = decode::decode(bytes);
    if decoded.readable_lines == 0 {
        let (line, why) = decoded
            .unreadable
            .first()
            .cloned()
            .unwrap_or((1, "no text".to_string()));
        if decoded.unreadable.is_empty() {
            return Err(ImportError::Empty { path: path.into() });
        }
        return Err(ImportError::NotText {
            path: path.into(),
            line,
            why,
        });
    }
    let imp = read(path, &decoded.text, decoded.encoding, decoded.unreadable);
    if imp.is_empty() {
        let unused: Vec<String> = imp
            .explain
            .entries
            .iter()
            .filter(|e| e.unused.is_some())
            .map(|e| format!("{}", e.first))
            .collect();
        let more = if unused.is_empty() {
            String::new()
        } else {
            format!("; port-like numbers not used at line {}", unused.join(", "))
        };
        return Err(ImportError::NothingUsable {
            path: path.into(),
            lines: imp.explain.lines,
            more,
        });
    }
    Ok(imp)
}

/// Imports the Markdown document `text` (already decoded), read from `path`.
pub fn import(path: &str, text: &str) -> Imported {
    let decoded = decode::decode(text.as_bytes());
    read(path, &decoded.text, "utf-8", decoded.unreadable)
}

fn read(path: &str, text: &str, encoding: &str, unreadable: Vec<(usize, String)>) -> Imported {
    let mut report = FileReport::default();
    let mut clean = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            clean.push('\n');
        }
        clean.push_str(&repair::mojibake(line));
    }
    let redacted = crate::redact::redact_text(&clean);
    for (line, col) in &redacted.at {
        report.secrets.push(loc(path, *line, *col));
    }
    let clean = redacted.text;
    let mut draft = Draft::default();
    let gaps: std::collections::BTreeSet<usize> = unreadable.iter().map(|(l, _)| *l).collect();
    let blocks = blocks::scan_around(&clean, &gaps);
    facts::scan(&mut draft, &blocks, &clean);
    let mut greps = Vec::new();
    let mut section = Section::default();
    let mut card = prose::Card::default();
    let mut card_entry: Option<usize> = None;
    let mut entries: Vec<Entry> = Vec::new();
    // what each entry added, summed (a run of prose lines is one entry)
    let mut added: Vec<Tally> = Vec::new();
    let mut prose_last: Option<usize> = None;
    // the previous text line (not a list item), for sentences wrapped across lines
    let mut prev_text: Option<(usize, String)> = None;
    let flush = |draft: &mut Draft,
                 card: &mut prose::Card,
                 section: &Section,
                 card_entry: &mut Option<usize>,
                 added: &mut Vec<Tally>| {
        let t0 = Tally::of(draft);
        prose::flush(draft, card, section);
        if let Some(e) = card_entry.take() {
            if let Some(a) = added.get_mut(e) {
                *a = a.plus(&t0.delta(&Tally::of(draft)));
            }
        }
    };
    let mut caption: Option<(String, usize)> = None;
    // the hosts each prose line introduces (`**web-1** — 10.0.0.5`)
    let mut introduced_at: std::collections::BTreeMap<usize, Vec<String>> =
        std::collections::BTreeMap::new();
    for (k, h) in &draft.hosts {
        for l in &h.lines {
            introduced_at.entry(*l).or_default().push(k.clone());
        }
    }
    for block in blocks {
        let before = Tally::of(&draft);
        let skipped_before = draft.skipped.len();
        match block {
            Block::Heading { level, text, line } => {
                prose_last = None;
                caption = None;
                flush(&mut draft, &mut card, &section, &mut card_entry, &mut added);
                if level == 1 && draft.title.is_none() {
                    draft.title = Some(cells::clean(&text));
                }
                section.push(level, &text);
                section.place(&draft, &text);
                card.heading = cells::clean(&text);
                card.line = line;
            }
            Block::Table(t) => {
                prose_last = None;
                let has_numbers = t
                    .rows
                    .iter()
                    .any(|(r, _)| r.iter().any(|c| !explain::port_like(c).is_empty()));
                let cap = caption
                    .take()
                    .filter(|(_, l)| t.line <= l + 2)
                    .map(|(c, _)| c);
                if section.is_procedure() {
                    if has_numbers {
                        draft.skip(
                            t.line,
                            "in a procedure/template section: an example, not the deployed state",
                        );
                    }
                } else {
                    table::apply(&mut draft, &t, &section, cap.as_deref());
                }
                let delta = before.delta(&Tally::of(&draft));
                let unused =
                    (delta.is_empty() && draft.skipped.len() == skipped_before && has_numbers)
                        .then(|| table::why_unused(&t));
                entries.push(Entry {
                    first: t.line,
                    last: t.end,
                    kind: t.origin.clone(),
                    heading: section.innermost(),
                    became: Vec::new(),
                    skipped: draft.skipped[skipped_before..].to_vec(),
                    unused,
                });
                added.push(delta);
            }
            Block::Code(c) => {
                prose_last = None;
                let cap = caption
                    .take()
                    .filter(|(_, l)| c.line <= l + 2)
                    .map(|(c, _)| c);
                // a caption that names hosts places the block there
                let named = cap
                    .as_deref()
                    .map(|t| draft.hosts_in(t))
                    .unwrap_or_default();
                let sec = if named.is_empty() {
                    section.clone()
                } else {
                    section.with_hosts(&named)
                };
                code::apply(
                    &mut draft,
                    &mut greps,
                    &mut report,
                    path,
                    &c,
                    &sec,
                    cap.as_deref(),
                );
                let delta = before.delta(&Tally::of(&draft));
                let has_numbers = c
                    .lines
                    .iter()
                    .any(|(l, _)| !explain::port_like(l).is_empty());
                let unused = (delta.is_empty()
                    && draft.skipped.len() == skipped_before
                    && has_numbers)
                    .then(|| {
                        if section.is_procedure() {
                            "in a procedure/template section: an example, not the deployed state"
                                .to_string()
                        } else {
                            code::why_unused(&c, &section.innermost())
                        }
                    });
                entries.push(Entry {
                    first: c.line,
                    last: c.end,
                    kind: code::describe(&c, &section.innermost()),
                    heading: section.innermost(),
                    became: Vec::new(),
                    skipped: draft.skipped[skipped_before..].to_vec(),
                    unused,
                });
                added.push(delta);
            }
            Block::Item { .. } | Block::Text { .. } => {
                let (text, line, term, kind) = match block {
                    Block::Item { text, line, term } => {
                        let k = if term.is_some() {
                            "definition list"
                        } else {
                            "list"
                        };
                        (text, line, term, k)
                    }
                    Block::Text { text, line } => (text, line, None, "text"),
                    _ => continue,
                };
                caption = Some((text.clone(), line));
                // hosts this line introduces are the context of what follows in the section
                if let Some(introduced) = introduced_at.get(&line) {
                    section.introduce(introduced);
                }
                let joined = prose_last.is_some_and(|l| line == l + 1) && !entries.is_empty();
                if !joined {
                    entries.push(Entry {
                        first: line,
                        last: line,
                        kind: kind.to_string(),
                        heading: section.innermost(),
                        became: Vec::new(),
                        skipped: Vec::new(),
                        unused: None,
                    });
                    added.push(Tally::default());
                }
                prose_last = Some(line);
                let idx = entries.len() - 1;
                let wrapped = match &prev_text {
                    Some((l, prev)) if kind == "text" && *l + 1 == line => {
                        wrapped_outbound(prev, &text)
                    }
                    _ => None,
                };
                prev_text = (kind == "text").then(|| (line, text.clone()));
                if !section.is_procedure() {
                    // the second line of "… pushes traces to\n`otlp.example:4317`."
                    let done = wrapped.is_some_and(|joined| {
                        mentions::outbound(&mut draft, &section, &joined, line, false)
                    });
                    if !done {
                        prose::line(
                            &mut draft,
                            &mut card,
                            &section,
                            &text,
                            term.as_deref(),
                            line,
                        );
                    }
                    card_entry = Some(idx);
                }
                let delta = before.delta(&Tally::of(&draft));
                added[idx] = added[idx].plus(&delta);
                let entry = &mut entries[idx];
                entry.last = line;
                if entry.kind != kind {
                    entry.kind = "list/text".to_string();
                }
                entry
                    .skipped
                    .extend(draft.skipped[skipped_before..].iter().cloned());
                let numbers = explain::port_like(&text);
                if delta.is_empty() && !numbers.is_empty() && draft.skipped.len() == skipped_before
                {
                    let why = if section.is_procedure() {
                        "in a procedure/template section: an example, not the deployed state"
                            .to_string()
                    } else {
                        format!(
                            "{} not read as a port (no port statement recognised)",
                            numbers
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    };
                    entry.skipped.push((line, why));
                }
            }
        }
    }
    flush(&mut draft, &mut card, &section, &mut card_entry, &mut added);
    for (e, a) in entries.iter_mut().zip(&added) {
        e.became = a.words();
        let prose = matches!(
            e.kind.as_str(),
            "list" | "text" | "list/text" | "definition list"
        );
        if prose && a.is_empty() && !e.skipped.is_empty() && e.unused.is_none() {
            e.unused = Some("no port statement recognised".to_string());
        }
    }
    greps::check_greps(&mut draft, &greps);
    let (spec, totals) = emit::spec(path, &mut draft);
    draft.notes.sort();
    for (line, reason) in &draft.notes {
        report.problems.push(Problem {
            at: loc(path, *line, 1),
            reason: reason.clone(),
        });
    }
    let lines = text.split('\n').count();
    Imported {
        path: path.to_string(),
        spec,
        report,
        explain: Explain {
            encoding: encoding.to_string(),
            lines,
            entries,
            unreadable,
        },
        totals,
    }
}

/// A text line that continues an outbound sentence the previous line began ("… pushes
/// traces to" / "`otlp.example:4317`."): the two lines joined, when the previous one does
/// not end its sentence, says it connects somewhere, and this one does not say so itself.
fn wrapped_outbound(prev: &str, text: &str) -> Option<String> {
    let p = prev.trim_end();
    if p.ends_with(['.', '!', '?', ':', ';']) {
        return None;
    }
    let says = |t: &str| direction::outbound_sentence(&format!(" {}", cells::clean(t)));
    (says(p) && !says(text)).then(|| format!("{p} {}", text.trim_start()))
}
