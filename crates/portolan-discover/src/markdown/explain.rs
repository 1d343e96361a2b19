//! What became of every part of a document: one entry per table, code block or run of
//! list/prose lines, with its line range and what it added to the spec (listeners, flows,
//! routes, …), the rows it skipped and why, and — for a part that added nothing although
//! it holds port-like numbers — the reason it was not used. Nothing is skipped silently:
//! `portolan import --explain` prints this, the stderr summary condenses it, and
//! `--json` carries it.

use std::fmt::Write as _;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::draft::Draft;

/// Counts of what the draft holds, to measure what one part added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    bindings: usize,
    binding_lines: usize,
    flows: usize,
    routes: usize,
    reservations: usize,
    rules: usize,
    blocks: usize,
    projects: usize,
    hosts: usize,
    networks: usize,
    notes: usize,
    skipped: usize,
}

impl Tally {
    /// Counts `draft`.
    pub fn of(draft: &Draft) -> Tally {
        Tally {
            bindings: draft.counts.bindings,
            binding_lines: draft.counts.refined,
            flows: draft.flows.len(),
            routes: draft.routes.len(),
            reservations: draft.reservations.len(),
            rules: draft.counts.rules,
            projects: draft.projects.len(),
            blocks: draft.counts.blocks,
            hosts: draft.hosts.len(),
            networks: draft.networks.len(),
            notes: draft.notes.len(),
            skipped: draft.skipped.len(),
        }
    }

    /// `after` minus `self`, field by field.
    #[must_use]
    pub fn delta(&self, after: &Tally) -> Tally {
        let d = |a: usize, b: usize| b.saturating_sub(a);
        Tally {
            bindings: d(self.bindings, after.bindings),
            binding_lines: d(self.binding_lines, after.binding_lines),
            flows: d(self.flows, after.flows),
            routes: d(self.routes, after.routes),
            reservations: d(self.reservations, after.reservations),
            rules: d(self.rules, after.rules),
            blocks: d(self.blocks, after.blocks),
            projects: d(self.projects, after.projects),
            hosts: d(self.hosts, after.hosts),
            networks: d(self.networks, after.networks),
            notes: d(self.notes, after.notes),
            skipped: d(self.skipped, after.skipped),
        }
    }

    /// The sum of two deltas.
    #[must_use]
    pub fn plus(&self, o: &Tally) -> Tally {
        Tally {
            bindings: self.bindings + o.bindings,
            binding_lines: self.binding_lines + o.binding_lines,
            flows: self.flows + o.flows,
            routes: self.routes + o.routes,
            reservations: self.reservations + o.reservations,
            rules: self.rules + o.rules,
            blocks: self.blocks + o.blocks,
            projects: self.projects + o.projects,
            hosts: self.hosts + o.hosts,
            networks: self.networks + o.networks,
            notes: self.notes + o.notes,
            skipped: self.skipped + o.skipped,
        }
    }

    /// Whether this delta added anything but skipped rows.
    pub fn is_empty(&self) -> bool {
        Tally {
            skipped: 0,
            ..*self
        } == Tally::default()
    }

    /// A delta in words (`3 listeners`, `1 flow`).
    pub fn words(&self) -> Vec<String> {
        Tally::default().added(self)
    }

    /// What `after` has that `self` had not, in words (`3 listeners`, `1 flow`).
    pub fn added(&self, after: &Tally) -> Vec<String> {
        let d = |a: usize, b: usize| b.saturating_sub(a);
        let new_bindings = d(self.bindings, after.bindings);
        let updated = d(self.binding_lines, after.binding_lines);
        let rules = d(self.rules, after.rules);
        let mut out = Vec::new();
        let mut put = |n: usize, one: &str, many: &str| {
            if n > 0 {
                out.push(format!("{n} {}", if n == 1 { one } else { many }));
            }
        };
        put(new_bindings, "listener", "listeners");
        put(
            updated,
            "listener confirmed or refined",
            "listeners confirmed or refined",
        );
        put(d(self.flows, after.flows), "flow", "flows");
        put(d(self.routes, after.routes), "route", "routes");
        put(rules, "firewall rule", "firewall rules");
        put(
            d(self.reservations, after.reservations),
            "reservation",
            "reservations",
        );
        put(d(self.projects, after.projects), "project", "projects");
        put(d(self.blocks, after.blocks), "block", "blocks");
        put(d(self.hosts, after.hosts), "host", "hosts");
        put(d(self.networks, after.networks), "network", "networks");
        put(d(self.notes, after.notes), "note", "notes");
        out
    }

    /// Index of the first skipped row not counted in `self`.
    pub fn skipped(&self) -> usize {
        self.skipped
    }
}

/// What became of one part of the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// First line.
    pub first: usize,
    /// Last line.
    pub last: usize,
    /// `table`, `html table`, `table (in a markdown fence)`, `code: compose`, `list`, …
    pub kind: String,
    /// The heading it is under.
    pub heading: String,
    /// What it added (`3 listeners`, `2 flows`).
    pub became: Vec<String>,
    /// Rows or lines of it that were read and not used: (line, why).
    pub skipped: Vec<(usize, String)>,
    /// Why it added nothing although it holds port-like numbers.
    pub unused: Option<String>,
}

/// The whole report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Explain {
    /// The encoding the document was read in.
    pub encoding: String,
    /// Number of lines.
    pub lines: usize,
    /// Parts, in document order.
    pub entries: Vec<Entry>,
    /// Lines that are not text (blanked before reading): (line, why).
    pub unreadable: Vec<(usize, String)>,
}

static PORTISH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^0-9A-Za-z.\-/#_])([1-9][0-9]{1,4})(?:$|[^0-9A-Za-z.\-_]|\.(?:$|[^0-9]))")
        .expect("static regex")
});

static TIME_OR_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?\b|\b\d{1,2}:\d{2}(?::\d{2})?\b|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}\.\d{1,2}\.\d{2,4}\b")
        .expect("static regex")
});

/// The numbers of `text` that could be ports (2–5 digits, at most 65535, not part of a
/// version, date, time, address or identifier).
pub fn port_like(text: &str) -> Vec<u16> {
    let mut out = Vec::new();
    let cleaned = TIME_OR_DATE.replace_all(text, " ");
    // the pattern eats one character on each side: scan overlapping by restarting
    let mut rest: &str = &cleaned;
    while let Some(c) = PORTISH.captures(rest) {
        let m = c.get(1).map_or(0..0, |m| m.range());
        if let Ok(p) = rest[m.clone()].parse::<u32>() {
            if (1..=65535).contains(&p) {
                out.push(u16::try_from(p).unwrap_or(0));
            }
        }
        rest = &rest[m.end..];
    }
    out
}

/// Whether an entry is a table or a code block (not a run of list or prose lines).
pub fn is_block(e: &Entry) -> bool {
    e.kind.contains("table") || e.kind.starts_with("code")
}

impl Explain {
    /// The report as text, one part per line (`  12-18  table "Inbound": 4 listeners`).
    pub fn text(&self, path: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{path}: {} lines, read as {}; {} parts",
            self.lines,
            self.encoding,
            self.entries.len()
        );
        for e in &self.entries {
            let range = if e.first == e.last {
                format!("{}", e.first)
            } else {
                format!("{}-{}", e.first, e.last)
            };
            let heading = if e.heading.is_empty() {
                String::new()
            } else {
                format!(" under \"{}\"", e.heading)
            };
            let what = if !e.became.is_empty() {
                e.became.join(", ")
            } else if let Some(u) = &e.unused {
                format!("NOT USED: {u}")
            } else {
                "nothing (no port-like numbers)".to_string()
            };
            let _ = writeln!(out, "  {range:>9}  {}{heading}: {what}", e.kind);
            for (l, why) in &e.skipped {
                let _ = writeln!(out, "  {:>9}    skipped {path}:{l}: {why}", "");
            }
        }
        for (l, why) in &self.unreadable {
            let _ = writeln!(out, "  {l:>9}  NOT READ: {why}");
        }
        out
    }

    /// The tables and code blocks that hold port-like numbers and added nothing, plus
    /// unreadable lines, as warnings (`FILE:LINE: …`). Prose lines with numbers that are not
    /// ports (years, sizes) are in the full report only.
    pub fn unused(&self, path: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .entries
            .iter()
            .filter(|e| is_block(e))
            .filter_map(|e| {
                let u = e.unused.as_ref()?;
                Some(format!(
                    "{path}:{}: {} (lines {}-{}) not used: {u}",
                    e.first, e.kind, e.first, e.last
                ))
            })
            .collect();
        for (l, why) in &self.unreadable {
            out.push(format!("{path}:{l}: line not read: {why}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_like_numbers() {
        assert_eq!(port_like("listens on 8883, and 9000."), [8883, 9000]);
        assert_eq!(
            port_like("version 1.22.3 on 2025-03-14 at 10:30"),
            Vec::<u16>::new()
        );
        assert_eq!(port_like("10.0.0.5 and OPS-3306"), Vec::<u16>::new());
        assert_eq!(port_like("| 80, 443 |"), [80, 443]);
        assert_eq!(port_like("99999 or 7"), Vec::<u16>::new());
    }
}
