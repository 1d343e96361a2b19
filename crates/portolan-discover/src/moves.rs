//! `move`: every reference to a service's current port in a repository, with how sure it
//! is, and the rewrite of the sure ones.
//!
//! Every text file under the root is searched for the port as a whole number (not part of
//! `18000` or `8000.5`). A reference is **high** confidence when a format parser put a
//! [`PortUse`](crate::PortUse) of that port exactly there (a compose `ports:` entry, an
//! nginx `listen`, `EXPOSE`, a `DATABASE_URL` to the service's host…), **medium** when the
//! line reads like a port (`port`, `:8000`, `--dport`, `ufw allow`, a Markdown table row),
//! and **low** otherwise. Only high-confidence references are rewritten; the rest are listed
//! for a human.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

use regex::Regex;
use serde::Serialize;

use crate::evidence::{Confidence, Location, Problem, Role};
use crate::text::{LineIndex, looks_binary};
use crate::walk::{self, WalkOptions};

/// What is moving.
#[derive(Debug, Clone)]
pub struct Target {
    /// The current port.
    pub port: u16,
    /// Names the service is reached by (`api`, its compose service name, hostnames):
    /// a connection to one of them on `port` is a reference to it.
    pub names: Vec<String>,
    /// Files never rewritten as text (the spec itself: it is edited structurally).
    pub exclude: Vec<PathBuf>,
}

/// One place the port is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// Where the number is.
    pub at: Location,
    /// How sure it refers to the moving port.
    pub confidence: Confidence,
    /// Why (`compose ports: publish`, `looks like a port`, `the number appears`).
    pub why: String,
    /// The line, trimmed and redacted.
    pub line: String,
    /// Byte offset of the number in the file.
    #[serde(skip)]
    pub offset: usize,
    /// The file on disk.
    #[serde(skip)]
    pub file: PathBuf,
}

/// All references found, sorted by file and position.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    /// The references.
    pub references: Vec<Reference>,
    /// Files that could not be read.
    pub problems: Vec<Problem>,
}

static PORTISH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(port|listen|expose|bind|dport|sport|--publish|-p\b|ufw|iptables|nft|firewall|upstream|proxy_pass|server\s|:\d{2,5}\b|\d{2,5}/(tcp|udp)|^\s*\|)",
    )
    .expect("static regex")
});

/// Finds every reference to `t.port` under `roots`.
pub fn references(roots: &[PathBuf], t: &Target, opts: &WalkOptions) -> Plan {
    let Some(builder) = walk::builder(roots, opts) else {
        return Plan::default();
    };
    let exclude: BTreeSet<PathBuf> = t
        .exclude
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    let needle = t.port.to_string();
    let out = Mutex::new(Plan::default());
    builder.build_parallel().run(|| {
        let out = &out;
        let exclude = &exclude;
        let needle = needle.as_str();
        Box::new(move |entry| {
            let mut local = Plan::default();
            match entry {
                Err(e) => local.problems.push(Problem {
                    at: Location::new("<walk>", 1, 1),
                    reason: format!("skipped: {e}"),
                }),
                Ok(e) if e.file_type().is_some_and(|ft| ft.is_file()) => {
                    // a path lookup only for files named like an excluded one
                    let excluded = exclude.iter().any(|x| x.file_name() == Some(e.file_name()))
                        && std::fs::canonicalize(e.path()).is_ok_and(|c| exclude.contains(&c));
                    if !excluded {
                        scan_file(e.path(), t, needle, opts, &mut local);
                    }
                }
                Ok(_) => {}
            }
            if !(local.references.is_empty() && local.problems.is_empty())
                && let Ok(mut o) = out.lock()
            {
                o.references.extend(local.references);
                o.problems.extend(local.problems);
            }
            ignore::WalkState::Continue
        })
    });
    let mut plan = out
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    plan.references
        .sort_by(|a, b| (&a.at, a.offset).cmp(&(&b.at, b.offset)));
    plan.problems.sort();
    plan
}

fn scan_file(path: &Path, t: &Target, needle: &str, opts: &WalkOptions, out: &mut Plan) {
    let shown = {
        let p = path.strip_prefix(".").unwrap_or(path);
        p.to_string_lossy().into_owned()
    };
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if meta.len() > opts.max_filesize {
        return;
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            out.problems.push(Problem {
                at: Location::new(shown, 1, 1),
                reason: format!("cannot read: {e}"),
            });
            return;
        }
    };
    if memchr::memmem::find(&bytes, needle.as_bytes()).is_none() || looks_binary(&bytes) {
        return;
    }
    // only valid UTF-8 is rewritten: a lossy copy would change other bytes
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return;
    };
    // what the format parsers say is at each position
    let mut sure: Vec<(u32, u32, String)> = Vec::new();
    if let Some(guess) = walk::classify(path) {
        // the text is in hand: parse it, do not read the file again
        let report = walk::parse_text(path, &shown, guess, text);
        for u in &report.uses {
            let refers = match u.role {
                Role::Connect => u.peer.as_deref().is_none_or(|p| {
                    t.names.iter().any(|n| n.eq_ignore_ascii_case(p))
                        || matches!(p, "localhost" | "127.0.0.1" | "::1" | "0.0.0.0")
                }),
                _ => true,
            };
            if refers && u.port.lo == t.port && u.port.hi == t.port {
                sure.push((
                    u.at.line,
                    u.at.col,
                    format!("{} {}", u.source.as_str(), u.role.as_str()),
                ));
            }
        }
    }
    let ix = LineIndex::new(&shown, text);
    let b = text.as_bytes();
    for start in memchr::memmem::find_iter(b, needle.as_bytes()) {
        let end = start + needle.len();
        let before = start.checked_sub(1).and_then(|i| b.get(i)).copied();
        let after = b.get(end).copied();
        // a whole number: not inside 18000, 80001, v8000, 8000.5 or 0x8000
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'.')
            || after.is_some_and(|c| c.is_ascii_alphanumeric())
            || (after == Some(b'.') && b.get(end + 1).is_some_and(u8::is_ascii_digit))
        {
            continue;
        }
        let at = ix.location(start);
        let line = ix.line_text(at.line as usize);
        let (confidence, why) = if let Some((_, _, why)) =
            sure.iter().find(|(l, c, _)| *l == at.line && *c == at.col)
        {
            (Confidence::High, why.clone())
        } else if PORTISH.is_match(line) {
            (Confidence::Medium, "the line reads like a port".to_string())
        } else {
            (Confidence::Low, "the number appears".to_string())
        };
        let shown_line: String = crate::redact::redact(line.trim())
            .0
            .chars()
            .take(160)
            .collect();
        out.references.push(Reference {
            at,
            confidence,
            why,
            line: shown_line,
            offset: start,
            file: path.to_path_buf(),
        });
    }
}

/// `text` with the number at each offset (each `from`, as found) replaced by `to`.
/// Offsets that do not hold `from` are left alone (the file changed since the scan).
pub fn rewrite(text: &str, offsets: &[usize], from: u16, to: u16) -> String {
    let from = from.to_string();
    let to = to.to_string();
    let mut offsets: Vec<usize> = offsets.to_vec();
    offsets.sort_unstable();
    offsets.dedup();
    let mut out = String::with_capacity(text.len() + offsets.len() * 2);
    let mut last = 0;
    for o in offsets {
        if o < last || text.get(o..o + from.len()) != Some(from.as_str()) {
            continue;
        }
        out.push_str(&text[last..o]);
        out.push_str(&to);
        last = o + from.len();
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrite_replaces_only_the_offsets_given() {
        let text = "a 8000 b 8000 c";
        assert_eq!(rewrite(text, &[2], 8000, 8010), "a 8010 b 8000 c");
        assert_eq!(rewrite(text, &[9, 2, 2], 8000, 18010), "a 18010 b 18010 c");
        // a stale offset is ignored, never corrupts
        assert_eq!(rewrite(text, &[3], 8000, 8010), text);
        assert_eq!(rewrite(text, &[999], 8000, 8010), text);
    }

    #[test]
    fn whole_numbers_only_and_confidence_by_context() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("docker-compose.yml"),
            "services:\n  api:\n    ports:\n      - \"8000:8000\"\n",
        )
        .expect("write");
        std::fs::write(
            dir.path().join("notes.txt"),
            "18000 and 80001 and 8000.5 are not it\nport 8000 is\nsee 8000\n",
        )
        .expect("write");
        let t = Target {
            port: 8000,
            names: vec!["api".into()],
            exclude: vec![],
        };
        let plan = references(&[dir.path().to_path_buf()], &t, &WalkOptions::default());
        let notes: Vec<_> = plan
            .references
            .iter()
            .filter(|r| r.at.path.ends_with("notes.txt"))
            .map(|r| (r.at.line, r.confidence))
            .collect();
        assert_eq!(notes, vec![(2, Confidence::Medium), (3, Confidence::Low)]);
        let compose: Vec<_> = plan
            .references
            .iter()
            .filter(|r| r.at.path.ends_with("docker-compose.yml"))
            .collect();
        assert_eq!(compose.len(), 2, "{compose:?}");
    }
}
