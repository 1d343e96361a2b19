//! `grep` checks of a document (`ss -tlnp | grep -E ":(55[0-9][0-9])"`), evaluated once
//! every service is known: a grep that matches another range than the project it claims to
//! check, one that can never match, one whose pattern is not anchored, one for a port no
//! service declares.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use portolan_model::port::{PortRange, PortSet};

use super::code::GrepCheck;
use super::draft::Draft;

/// Evaluates the `grep` checks against the projects' ranges and the declared ports.
pub fn check_greps(draft: &mut Draft, greps: &[GrepCheck]) {
    let declared: BTreeSet<u16> = draft
        .services
        .values()
        .flat_map(|s| s.bindings.values())
        .flat_map(|b| b.port.into_iter().chain(b.target))
        .flat_map(|p| p.ports())
        .collect();
    for g in greps.iter().take(32) {
        let regexes: Option<Vec<regex::Regex>> = g
            .patterns
            .iter()
            .map(|p| regex::RegexBuilder::new(p).size_limit(1 << 20).build().ok())
            .collect();
        let Some(regexes) = regexes else { continue };
        let mut matched = Vec::new();
        let mut buf = String::new();
        for p in 1..=u16::MAX {
            buf.clear();
            let _ = write!(buf, "0.0.0.0:{p} ");
            if regexes.iter().all(|r| r.is_match(&buf)) {
                matched.push(PortRange::single(p));
            }
        }
        let set = PortSet::from_ranges(matched);
        if regexes.len() > 1 && set.is_empty() {
            draft.note(g.line, format!("the pipeline greps for {} patterns that no port matches at once: it always prints nothing", regexes.len()));
            continue;
        }
        if set.is_empty() {
            continue;
        }
        if let Some(pk) = draft.project_in(&g.comment) {
            if let Some(p) = draft.projects.get(&pk) {
                let range = PortSet::from_ranges(p.range.iter().copied());
                let short = range.bounds().is_some_and(|b| b.hi < 10000);
                let seen = if short {
                    set.intersection(&PortSet::from_ranges([PortRange { lo: 1, hi: 9999 }]))
                } else {
                    set.clone()
                };
                if !range.is_empty() && seen != range {
                    draft.note(
                        g.line,
                        format!(
                            "`grep` for \"{}\" matches ports {}, but project `{pk}`'s range is {}",
                            g.comment,
                            summary(&seen),
                            summary(&range)
                        ),
                    );
                    continue;
                }
            }
        }
        let plain = g
            .patterns
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_digit() || "|:() ".contains(c)));
        if plain {
            let literal: BTreeSet<u16> = g
                .patterns
                .iter()
                .flat_map(|p| p.split(['|', ':', '(', ')', ' ']))
                .filter_map(crate::text::port_number)
                .collect();
            let unknown: Vec<String> = literal
                .iter()
                .filter(|p| !declared.contains(p))
                .map(ToString::to_string)
                .collect();
            if !unknown.is_empty() {
                draft.note(
                    g.line,
                    format!(
                        "the `grep` checks port {}, which no service in the document declares",
                        unknown.join(", ")
                    ),
                );
            }
            if set.ranges().iter().any(|r| r.hi >= 10000) && literal.iter().all(|p| *p < 10000) {
                draft.note(
                    g.line,
                    format!(
                        "the `grep` pattern is not anchored: it also matches {}",
                        summary(&PortSet::from_ranges(set.ranges().iter().filter_map(|r| {
                            r.intersect(&PortRange {
                                lo: 10000,
                                hi: u16::MAX,
                            })
                        })))
                    ),
                );
            }
        }
    }
}

fn summary(set: &PortSet) -> String {
    let r = set.ranges();
    let mut parts: Vec<String> = r.iter().take(4).map(ToString::to_string).collect();
    if r.len() > 4 {
        parts.push(format!("… ({} ranges)", r.len()));
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}
