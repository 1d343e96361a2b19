//! `move`: every place a binding's port is written in a repository, whose it is and which
//! side of the binding it is on — and the rewrite of exactly the places that are this
//! binding's, on the side that moves.
//!
//! Every text file under the roots is searched for the port as a whole number (not part of
//! `18000` or `8000.5`). Each occurrence gets a [`Verdict`]:
//!
//! | verdict | when |
//! |---|---|
//! | [`Verdict::Rewrite`] | a format parser put a port there (a compose `ports:` part, an nginx `server`, `EXPOSE`, a `--bind` flag, a `.env` value…), evidence ties it to the binding ([`owners`] says how) and it is on the side that moves |
//! | [`Verdict::OtherSide`] | the binding's, on the side that does not move (`8000` in `"8010:8000"` when the host port moves) |
//! | [`Verdict::OtherOwner`] | another service's, by the same kind of evidence |
//! | [`Verdict::Unowned`] | a parser saw a port, nothing ties it to any service |
//! | [`Verdict::Unsure`] | the evidence contradicts itself (a variable that feeds both sides) |
//! | [`Verdict::Unparsed`] | no parser put a port there; the line reads like a port (medium) or the number just appears (low) |
//!
//! Only [`Verdict::Rewrite`] places are ever changed. A value given through a variable is
//! followed to where the variable is set (`${API_PORT:-8000}` → `API_PORT=8000` in `.env`,
//! `EXPOSE ${PORT}` → `ARG PORT=8000`), and that place gets the verdict of the uses that
//! read it.

mod owners;
mod regions;
mod scan;

use std::collections::BTreeSet;
use std::path::PathBuf;

use portolan_model::spec::Transport;
use serde::Serialize;

use crate::evidence::{Confidence, Location, PortUse, Problem};
use crate::text::LineIndex;
use crate::walk::WalkOptions;
use owners::{Facts, Feeds, Judgement, Owner};
use regions::{defined_variable, occurrences, token_at};
use scan::Scanned;

/// A side of a binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    /// The host side of a published binding: `HOST` of `HOST:CONTAINER`, `-p HOST:…`,
    /// clients on the host, the spec's `port`.
    Host,
    /// The container side: `CONTAINER`, `EXPOSE`, the app's own listen configuration, peers
    /// on the container network, the spec's `target`.
    Container,
    /// A binding nothing publishes: one port, where the process listens.
    Only,
}

impl Side {
    /// `host`, `container`, `only`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Host => "host",
            Side::Container => "container",
            Side::Only => "only",
        }
    }
}

/// The binding that moves, as the spec describes it.
#[derive(Debug, Clone)]
pub struct Target {
    /// The spec's service.
    pub service: String,
    /// The binding's name.
    pub binding: String,
    /// Its transport.
    pub transport: Transport,
    /// The spec's `port` (the host side).
    pub port: u16,
    /// The spec's `target` (the container side), if written.
    pub target: Option<u16>,
    /// Whether the spec's `publisher` is a container runtime or node port.
    pub published: bool,
    /// Move the container side (`target`) instead of the host side (`port`).
    pub container: bool,
    /// Names and addresses of the binding's hosts: a connection to one of them on the port
    /// reaches the host side.
    pub hosts: Vec<String>,
    /// The spec's other services.
    pub others: Vec<String>,
    /// The service's `evidence`: canonical file, and line when given.
    pub evidence: Vec<(PathBuf, Option<u32>)>,
    /// Files never rewritten as text (the spec itself: it is edited structurally; its log).
    pub exclude: Vec<PathBuf>,
}

/// What is decided about one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Rewritten by `--apply`.
    Rewrite,
    /// The binding's other side: left.
    OtherSide,
    /// Another service's: left.
    OtherOwner,
    /// A port nothing ties to a service: left for a human.
    Unowned,
    /// Contradicting evidence: left for a human.
    Unsure,
    /// Not a port a parser recognised: left for a human.
    Unparsed,
}

impl Verdict {
    /// `rewrite`, `other-side`, `other-owner`, `unowned`, `unsure`, `unparsed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Rewrite => "rewrite",
            Verdict::OtherSide => "other-side",
            Verdict::OtherOwner => "other-owner",
            Verdict::Unowned => "unowned",
            Verdict::Unsure => "unsure",
            Verdict::Unparsed => "unparsed",
        }
    }

    /// Whether a human should look at it.
    pub fn needs_a_human(self) -> bool {
        matches!(self, Verdict::Unowned | Verdict::Unsure | Verdict::Unparsed)
    }
}

/// One place the port is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// Where the number is.
    pub at: Location,
    /// How sure it is a port at all: high where a parser put one, medium where the line
    /// reads like a port, low otherwise.
    pub confidence: Confidence,
    /// What the text is (`compose publish, container part`, `the line reads like a port`).
    pub why: String,
    /// What is done with it.
    pub verdict: Verdict,
    /// Whose it is: the moving service, another service, or nobody known.
    pub owner: Option<String>,
    /// Its side, when it is the moving binding's.
    pub side: Option<Side>,
    /// The evidence for the verdict, in words.
    pub reason: String,
    /// The line, trimmed and redacted.
    pub line: String,
    /// Byte offset of the number in the file.
    #[serde(skip)]
    pub offset: usize,
    /// The file on disk.
    #[serde(skip)]
    pub file: PathBuf,
}

/// Everything found, sorted by file and position.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The side that moves ([`Side::Only`] when nothing publishes the binding).
    pub side: Side,
    /// The number searched for and rewritten.
    pub from: u16,
    /// Whether something publishes the binding (the spec, or a compose entry tied to it).
    pub published: bool,
    /// The container side as the spec or the code says (when published).
    pub container_port: u16,
    /// Compose / Kubernetes services tied to the binding.
    pub tied: Vec<String>,
    /// The places.
    pub references: Vec<Reference>,
    /// Files that could not be read.
    pub problems: Vec<Problem>,
}

/// Finds and judges every place the moving side's port is written under `roots`.
pub fn references(roots: &[PathBuf], t: &Target, opts: &WalkOptions) -> Plan {
    let exclude: BTreeSet<PathBuf> = t
        .exclude
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    // which number: a container move without a `target` in the spec learns the container
    // port from the compose entry, so it reads the files again for that number
    let spec_from = if t.container {
        t.target.unwrap_or(t.port)
    } else {
        t.port
    };
    let (mut files, mut problems) = scan::scan(roots, &spec_from.to_string(), &exclude, opts);
    let mut facts = Facts::gather(t, &files);
    let from = if t.container {
        facts.container_port
    } else {
        t.port
    };
    if from != spec_from {
        // the spec has no `target`; the compose entry says where the container listens
        (files, problems) = scan::scan(roots, &from.to_string(), &exclude, opts);
        facts = Facts::gather(t, &files);
    }
    let side = match (facts.published, t.container) {
        (false, _) => Side::Only,
        (true, false) => Side::Host,
        (true, true) => Side::Container,
    };
    let mut references = Vec::new();
    for f in files.iter().filter(|f| f.has_needle) {
        judge_file(f, t, &facts, from, side, &mut references);
    }
    references.sort_by(|a, b| (&a.at, a.offset).cmp(&(&b.at, b.offset)));
    Plan {
        side,
        from,
        published: facts.published,
        container_port: facts.container_port,
        tied: facts.tied.clone(),
        references,
        problems,
    }
}

/// A parser's claim on a stretch of text: the use, and whether the stretch is the
/// container part of a publish.
struct Claim<'u> {
    range: std::ops::Range<usize>,
    use_: &'u PortUse,
    container_part: bool,
}

fn claims<'u>(f: &'u Scanned, ix: &LineIndex<'_>, from: u16) -> Vec<Claim<'u>> {
    let mut out = Vec::new();
    for u in &f.uses {
        if u.port.lo == from
            && u.port.hi == from
            && let Some(o) = ix.offset(u.at.line, u.at.col)
        {
            out.push(Claim {
                range: token_at(&f.text, o),
                use_: u,
                container_part: false,
            });
        }
        if let (Some(t), Some(ta)) = (u.target, &u.target_at)
            && t.lo == from
            && t.hi == from
            && let Some(o) = ix.offset(ta.line, ta.col)
        {
            out.push(Claim {
                range: token_at(&f.text, o),
                use_: u,
                container_part: true,
            });
        }
    }
    out
}

fn describe(u: &PortUse, container_part: bool) -> String {
    let part = match (u.role, container_part) {
        (crate::evidence::Role::Publish, true) => ", container part",
        (crate::evidence::Role::Publish, false) => ", host part",
        _ => "",
    };
    format!("{} {}{part}", u.source.as_str(), u.role.as_str())
}

fn judge_file(
    f: &Scanned,
    t: &Target,
    facts: &Facts,
    from: u16,
    side: Side,
    out: &mut Vec<Reference>,
) {
    let ix = LineIndex::new(&f.shown, &f.text);
    let claims = claims(f, &ix, from);
    let home = facts.home(f);
    let me = format!("{}.{}", t.service, t.binding);
    for o in occurrences(&f.text, &from.to_string()) {
        let at = ix.location(o);
        let line = ix.line_text(at.line as usize);
        let shown_line: String = crate::redact::redact(line.trim())
            .0
            .chars()
            .take(160)
            .collect();
        let mut r = Reference {
            at: at.clone(),
            confidence: Confidence::High,
            why: String::new(),
            verdict: Verdict::Unowned,
            owner: None,
            side: None,
            reason: String::new(),
            line: shown_line,
            offset: o,
            file: f.file.clone(),
        };
        let judged: Option<(String, Judgement)> =
            if let Some(c) = claims.iter().find(|c| c.range.contains(&o)) {
                Some((
                    describe(c.use_, c.container_part),
                    facts.judge(c.use_, c.container_part, f, &home),
                ))
            } else {
                // a variable's value: judged like the uses that read it
                let before = &f.text[ix.line_start(at.line).unwrap_or(o)..o];
                defined_variable(before).and_then(|v| {
                    variable_judgement(&v, f, facts, &home).map(|j| (format!("sets `{v}`"), j))
                })
            };
        if let Some((why, j)) = judged {
            r.why = why;
            settle(&mut r, &j, side, t, &me);
        } else {
            {
                let (confidence, why) = if PORTISH.is_match(line) {
                    (Confidence::Medium, "the line reads like a port")
                } else {
                    (Confidence::Low, "the number appears")
                };
                r.confidence = confidence;
                r.why = why.into();
                r.verdict = Verdict::Unparsed;
                r.reason = "no parser recognised a port here".into();
                if let Ok(Some(tie)) = &home
                    && let Owner::Other(name) = &tie.owner
                {
                    r.verdict = Verdict::OtherOwner;
                    r.owner = Some(name.clone());
                    r.reason = format!("in `{name}`'s files ({})", tie.why);
                }
            }
        }
        out.push(r);
    }
}

/// The verdict of a variable's value: that of every use in the file reading the variable
/// (they must agree), else what the compose entries reading it say.
fn variable_judgement(
    v: &str,
    f: &Scanned,
    facts: &Facts,
    home: &Result<Option<owners::Tie>, String>,
) -> Option<Judgement> {
    let readers: Vec<&PortUse> = f
        .uses
        .iter()
        .filter(|u| u.variable.as_deref() == Some(v))
        .collect();
    if !readers.is_empty() {
        let js: Vec<Judgement> = readers
            .iter()
            .map(|u| facts.judge(u, false, f, home))
            .collect();
        let first = &js[0];
        let agree = js.iter().all(|j| {
            j.tie.as_ref().map(|t| &t.owner) == first.tie.as_ref().map(|t| &t.owner)
                && j.side == first.side
        });
        return Some(if agree {
            first.clone()
        } else {
            Judgement {
                tie: None,
                side: None,
                unsure: Some(format!(
                    "`{v}` is read on both sides of the binding or by several services"
                )),
            }
        });
    }
    // compose reads `.env`-style files: what its entries say about the variable
    let env_like = f.kind == Some(crate::evidence::SourceKind::Env)
        || f.file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("env"))
        || f.kind == Some(crate::evidence::SourceKind::Compose);
    match facts.variable(v) {
        Feeds::One(owner, side) if env_like => Some(Judgement {
            tie: Some(owners::Tie {
                owner,
                why: format!("`{v}` feeds the compose entry"),
            }),
            side: Some(side),
            unsure: None,
        }),
        Feeds::Several if env_like => Some(Judgement {
            tie: None,
            side: None,
            unsure: Some(format!(
                "`{v}` feeds several services or both sides of the binding"
            )),
        }),
        _ => None,
    }
}

/// Turns a judgement into the reference's verdict.
fn settle(r: &mut Reference, j: &Judgement, moving: Side, t: &Target, me: &str) {
    match &j.tie {
        Some(tie) => match &tie.owner {
            Owner::Ours => {
                r.owner = Some(t.service.clone());
                r.side = j.side;
                match j.side {
                    Some(s) if s == moving => {
                        r.verdict = Verdict::Rewrite;
                        r.reason = match s {
                            Side::Only => format!("{me} ({})", tie.why),
                            s => format!("{} side of {me} ({})", s.as_str(), tie.why),
                        };
                    }
                    Some(s) => {
                        r.verdict = Verdict::OtherSide;
                        r.reason = format!(
                            "{} side of {me} ({}); a {}-side move leaves it",
                            s.as_str(),
                            tie.why,
                            moving.as_str()
                        );
                    }
                    None => {
                        r.verdict = Verdict::Unsure;
                        r.reason = format!(
                            "{me}'s ({}), but {}",
                            tie.why,
                            j.unsure
                                .as_deref()
                                .unwrap_or("which side it is on is unknown")
                        );
                    }
                }
            }
            Owner::Other(name) => {
                r.verdict = Verdict::OtherOwner;
                r.owner = Some(name.clone());
                r.reason = format!("belongs to `{name}` ({})", tie.why);
            }
        },
        None => {
            if let Some(why) = &j.unsure {
                r.verdict = Verdict::Unsure;
                r.reason.clone_from(why);
            } else {
                r.verdict = Verdict::Unowned;
                r.reason = format!(
                    "no evidence ties it to {me} (list the file in the service's `evidence` to have it rewritten)"
                );
            }
        }
    }
}

static PORTISH: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"(?i)(port|listen|expose|bind|dport|sport|--publish|-p\b|ufw|iptables|nft|firewall|upstream|proxy_pass|server\s|:\d{2,5}\b|\d{2,5}/(tcp|udp)|^\s*\|)",
    )
    .expect("static regex")
});

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
}
