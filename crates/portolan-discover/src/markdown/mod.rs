//! Markdown import: a hand-written port document (tables in any column order, cells like
//! `80, 443` or `5401-5431, 5433-5499`, key/value lists, code blocks of compose, nginx,
//! `.env`, ufw/iptables and shell commands) → a spec, with evidence pointing back into the
//! document.
//!
//! The import records what the document says, mistakes included, so that `portolan lint`
//! can point at them; it does not fix anything. How it reads a document:
//!
//! - Text is repaired first ([`repair`]: mojibake, HTML entities) and secrets are redacted
//!   ([`crate::redact`]) before anything else looks at it: a secret can never reach the
//!   spec or the report, and [`FileReport::secrets`] lists where each one was.
//! - Headings give context: an environment (`Production`, `Development`), a project (a
//!   heading that names one from a range table), an audience (`internal only`), and
//!   procedures (`Change Port`) whose commands are examples, not the deployed state.
//! - Tables ([`table`]) are ranges, inventories, reserved ports or assignment logs, decided
//!   by their columns ([`cells::column`]); list items ([`prose`]) are key/value "cards"
//!   (`**Port:** 8082`), firewall "open ports" lists, or a project's blocks.
//! - Code blocks ([`code`]) go to the format parsers of this crate (compose, nginx, `.env`,
//!   command lines), firewall commands to `portolan_firewall::command`.
//! - One host per environment the document names (`dev`, `prod`, …), or one host `server`
//!   when it names none. Firewall rules found outside any environment are kept as comments
//!   when the document has several environments.
//! - What the spec cannot express (a `grep` that checks a different range than documented,
//!   two ports given for one service, Flask's debugger on 0.0.0.0) becomes a note: a
//!   [`Problem`] in the report and a comment at the top of the spec.

pub mod blocks;
pub mod cells;
pub mod code;
pub mod draft;
mod emit;
mod nginx_block;
pub mod prose;
pub mod repair;
pub mod table;

use std::sync::LazyLock;

use regex::Regex;

use crate::evidence::{FileReport, Location, Problem};
use blocks::Block;
use draft::{Audience, Draft};

/// The result of importing one document.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    /// The spec as `ports.toml` text (comments carry the evidence `FILE.md:line`).
    pub spec: String,
    /// Secrets seen (and redacted), cells that could not be read, contradictions noted.
    pub report: FileReport,
}

/// The headings above a block, outermost first (text cleaned).
#[derive(Debug, Clone, Default)]
pub struct Section {
    stack: Vec<(u8, String)>,
}

impl Section {
    /// Enters a heading of `level`.
    pub fn push(&mut self, level: u8, text: &str) {
        while self.stack.last().is_some_and(|(l, _)| *l >= level) {
            self.stack.pop();
        }
        self.stack.push((level, cells::clean(text)));
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
                if let Some(a) = table::audience(t).filter(|a| !a.is_empty()) {
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
            ["change", "changing", "migrat", "how to add", "template"]
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

static MD_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?P<key>\b(?:password|passwd|passphrase|secret|token|api[ _-]?key)(?:\*\*|__)?\s*[:=]\s*(?:\*\*|__)?\s*`?)(?P<val>[^\s`*|]+)")
        .expect("static regex")
});

/// Redacts one line: the shared rules of [`crate::redact`], plus Markdown's
/// `**Password:** value`.
fn redact_line(line: &str) -> (String, bool) {
    let (mut out, mut changed) = crate::redact::redact(line);
    let next = MD_SECRET.replace_all(&out, |c: &regex::Captures<'_>| {
        let val = &c["val"];
        if val == crate::redact::MASK || val.starts_with('$') || val.starts_with("***") {
            c[0].to_string()
        } else {
            changed = true;
            format!("{}{}", &c["key"], crate::redact::MASK)
        }
    });
    out = next.into_owned();
    (out, changed)
}

fn first_diff_col(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count() + 1
}

fn loc(path: &str, line: usize, col: usize) -> Location {
    Location::new(
        path,
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

/// Imports the Markdown document `text`, read from `path`.
pub fn import(path: &str, text: &str) -> Imported {
    let mut report = FileReport::default();
    let mut clean = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            clean.push('\n');
        }
        let fixed = repair::mojibake(line.trim_end_matches('\r'));
        let (red, changed) = redact_line(&fixed);
        if changed {
            report
                .secrets
                .push(loc(path, i + 1, first_diff_col(&fixed, &red)));
        }
        clean.push_str(&red);
    }
    let mut draft = Draft::default();
    let mut greps = Vec::new();
    let mut section = Section::default();
    let mut card = prose::Card::default();
    for block in blocks::scan(&clean) {
        match block {
            Block::Heading { level, text, line } => {
                prose::flush(&mut draft, &mut card, section.environment());
                if level == 1 && draft.title.is_none() {
                    draft.title = Some(cells::clean(&text));
                }
                section.push(level, &text);
                card.heading = cells::clean(&text);
                card.line = line;
            }
            Block::Table(t) => {
                if !section.is_procedure() {
                    table::apply(&mut draft, &t, &section);
                }
            }
            Block::Code(c) => code::apply(&mut draft, &mut greps, &mut report, path, &c, &section),
            Block::Item { text, line } | Block::Text { text, line } => {
                if !section.is_procedure() {
                    prose::line(&mut draft, &mut card, &section, &text, line);
                }
            }
        }
    }
    prose::flush(&mut draft, &mut card, section.environment());
    emit::check_greps(&mut draft, &greps);
    let spec = emit::spec(path, &mut draft);
    draft.notes.sort();
    for (line, reason) in &draft.notes {
        report.problems.push(Problem {
            at: loc(path, *line, 1),
            reason: reason.clone(),
        });
    }
    Imported { spec, report }
}
