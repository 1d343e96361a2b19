//! `overlapping-ranges`: two projects' ranges, or two blocks of one project, that share
//! ports. A sweep over ranges sorted by first port, with the open ranges indexed by owner; a
//! range that overlaps more than a few owners is reported once with the first few and a
//! count, so the work and the report stay near-linear.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use portolan_model::{Loc, Model, PortRange, PortSet};

use crate::Context;
use crate::finding::Finding;
use crate::rules::Rule;
use crate::rules::sweep::{LIST, Open};

struct Item<'a> {
    range: PortRange,
    owner: &'a str,
    set: &'a PortSet,
    loc: Loc,
}

/// Called once per pair of owners that share ports: `(earlier, later, shared)`.
type Pair<'r, 'a> = &'r mut dyn FnMut(&Item<'a>, &Item<'a>, PortSet);
/// Called for an item that overlaps more than [`LIST`] other owners: `(item, first, count)`.
type Many<'r, 'a> = &'r mut dyn FnMut(&Item<'a>, Vec<&Item<'a>>, usize);
/// A way of finding the overlapping items.
type Sweep = for<'r, 'a> fn(&mut [Item<'a>], Pair<'r, 'a>, Many<'r, 'a>);

fn sort(items: &mut [Item<'_>]) {
    items.sort_by(|a, b| (a.range.lo, a.range.hi, a.owner).cmp(&(b.range.lo, b.range.hi, b.owner)));
}

/// What is reported for each item, given the other owners open when it starts.
#[derive(Default)]
struct Policy<'a> {
    seen: HashSet<(&'a str, &'a str)>,
    crowded: HashSet<&'a str>,
}

impl<'a> Policy<'a> {
    /// Item `i` against `others` other owners, whose first open items are `firsts` (by
    /// owner name): a pair per owner not yet reported with this one, or, beyond [`LIST`]
    /// owners, one summary per owner.
    fn report(
        &mut self,
        items: &[Item<'a>],
        i: usize,
        others: usize,
        firsts: impl Iterator<Item = usize>,
        pair: Pair<'_, 'a>,
        many: Many<'_, 'a>,
    ) {
        let b = &items[i];
        if others <= LIST {
            for j in firsts {
                let a = &items[j];
                let shared = a.set.intersection(b.set);
                if !shared.is_empty() && self.seen.insert((a.owner, b.owner)) {
                    pair(a, b, shared);
                }
            }
        } else if self.crowded.insert(b.owner) {
            many(b, firsts.take(LIST).map(|j| &items[j]).collect(), others);
        }
    }
}

/// Sweeps `items` by first port, the open ones indexed by owner (an owner's set may have
/// several pieces), so an item meets each open owner once.
fn sweep<'a>(items: &mut [Item<'a>], pair: Pair<'_, 'a>, many: Many<'_, 'a>) {
    sort(items);
    let mut policy = Policy::default();
    let mut open = Open::default();
    let mut by_owner: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    for i in 0..items.len() {
        let (lo, owner) = (items[i].range.lo, items[i].owner);
        open.expire(lo, |p| {
            if let Some(s) = by_owner.get_mut(items[p].owner) {
                s.remove(&p);
                if s.is_empty() {
                    by_owner.remove(items[p].owner);
                }
            }
        });
        let others = by_owner.len() - usize::from(by_owner.contains_key(owner));
        let firsts = by_owner
            .iter()
            .filter(|(o, _)| **o != owner)
            .filter_map(|(_, s)| s.first().copied());
        policy.report(items, i, others, firsts, &mut *pair, &mut *many);
        by_owner.entry(owner).or_default().insert(i);
        open.push(items[i].range.hi, i);
    }
}

fn pieces<'a>(owner: &'a str, set: &'a PortSet, loc: Loc) -> impl Iterator<Item = Item<'a>> {
    set.ranges().iter().map(move |r| Item {
        range: *r,
        owner,
        set,
        loc,
    })
}

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    check_by(cx.model, out, sweep);
}

fn check_by(model: &Model, out: &mut Vec<Finding>, sweep: Sweep) {
    let mut items: Vec<Item<'_>> = model
        .projects
        .iter()
        .filter_map(|p| {
            Some(pieces(
                &p.name,
                p.range.as_ref()?,
                p.range_loc.unwrap_or(p.loc),
            ))
        })
        .flatten()
        .collect();
    let (mut found, mut crowds) = (Vec::new(), Vec::new());
    sweep(
        &mut items,
        &mut |a, b, shared| {
            found.push(
                Finding::new(
                    Rule::OverlappingRanges,
                    format!(
                        "projects `{}` ({}) and `{}` ({}) share ports {shared}",
                        a.owner, a.set, b.owner, b.set
                    ),
                )
                .subject(a.owner.to_string())
                .subject(b.owner.to_string())
                .at(b.loc, format!("`{}`", b.owner))
                .at(a.loc, format!("`{}`", a.owner))
                .help("give each project a disjoint range"),
            );
        },
        &mut |b, first, count| crowds.push(crowded("project", "projects", b, &first, count, None)),
    );
    out.append(&mut found);
    out.append(&mut crowds);
    for p in &model.projects {
        let mut items: Vec<Item<'_>> = p
            .blocks
            .iter()
            .flat_map(|b| pieces(&b.name, &b.ports, b.loc))
            .collect();
        let (mut found, mut crowds) = (Vec::new(), Vec::new());
        sweep(
            &mut items,
            &mut |a, b, shared| {
                found.push(
                    Finding::new(
                        Rule::OverlappingRanges,
                        format!(
                            "blocks `{}` ({}) and `{}` ({}) of project `{}` share ports {shared}",
                            a.owner, a.set, b.owner, b.set, p.name
                        ),
                    )
                    .subject(p.name.clone())
                    .at(b.loc, format!("block `{}`", b.owner))
                    .at(a.loc, format!("block `{}`", a.owner))
                    .help("make the blocks disjoint"),
                );
            },
            &mut |b, first, count| {
                crowds.push(crowded("block", "blocks", b, &first, count, Some(&p.name)));
            },
        );
        out.append(&mut found);
        out.append(&mut crowds);
    }
}

/// One finding for a range that overlaps `count` other owners (`first` of them).
fn crowded(
    what: &str,
    whats: &str,
    b: &Item<'_>,
    first: &[&Item<'_>],
    count: usize,
    project: Option<&str>,
) -> Finding {
    let listed: Vec<String> = first
        .iter()
        .map(|a| format!("`{}` ({})", a.owner, a.set))
        .collect();
    let of = project
        .map(|p| format!(" of project `{p}`"))
        .unwrap_or_default();
    let mut f = Finding::new(
        Rule::OverlappingRanges,
        format!(
            "{what} `{}` ({}){of} shares ports with {count} other {whats}: {} and {} more",
            b.owner,
            b.set,
            listed.join(", "),
            count - first.len()
        ),
    )
    .subject(project.unwrap_or(b.owner).to_string())
    .at(b.loc, format!("{what} `{}`", b.owner));
    for a in first {
        if project.is_none() {
            f = f.subject(a.owner.to_string());
        }
        f = f.at(a.loc, format!("{what} `{}`", a.owner));
    }
    f.help(format!("make the {whats} disjoint"))
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use portolan_model::load_str;
    use proptest::prelude::*;

    use super::*;

    /// The rule before the sweep, kept as the reference: every open item compared with the
    /// new one (quadratic on wide ranges), through the same reporting policy.
    fn pairwise<'a>(items: &mut [Item<'a>], pair: Pair<'_, 'a>, many: Many<'_, 'a>) {
        sort(items);
        let mut policy = Policy::default();
        let mut active: Vec<usize> = Vec::new();
        for i in 0..items.len() {
            active.retain(|&j| items[j].range.hi >= items[i].range.lo);
            let mut firsts: BTreeMap<&str, usize> = BTreeMap::new();
            for &j in &active {
                if items[j].owner != items[i].owner {
                    firsts.entry(items[j].owner).or_insert(j);
                }
            }
            let others = firsts.len();
            policy.report(
                items,
                i,
                others,
                firsts.into_values(),
                &mut *pair,
                &mut *many,
            );
            active.push(i);
        }
    }

    /// A range: a few ports in a narrow window (overlaps are common), or now and then the
    /// whole port range (one item overlaps everything).
    fn range() -> impl Strategy<Value = String> {
        prop_oneof![
            12 => (1000u16..1060, 0u16..25).prop_map(|(lo, len)| format!("\"{lo}-{}\"", lo + len)),
            1 => Just("\"1-65535\"".to_string()),
        ]
    }

    fn set() -> impl Strategy<Value = String> {
        proptest::collection::vec(range(), 1..4).prop_map(|v| format!("[{}]", v.join(", ")))
    }

    fn spec(projects: &[(Option<String>, Vec<String>)]) -> String {
        let mut s = String::new();
        for (i, (range, blocks)) in projects.iter().enumerate() {
            let _ = writeln!(s, "[projects.p{i:02}]");
            if let Some(r) = range {
                let _ = writeln!(s, "range = {r}");
            }
            let blocks: Vec<String> = blocks
                .iter()
                .enumerate()
                .map(|(k, b)| format!("b{k} = {b}"))
                .collect();
            let _ = writeln!(s, "blocks = {{ {} }}", blocks.join(", "));
        }
        s
    }

    fn sorted(v: Vec<Finding>) -> Vec<String> {
        let mut s: Vec<String> = v.into_iter().map(|f| format!("{f:?}")).collect();
        s.sort();
        s
    }

    proptest! {
        #[test]
        fn sweep_reports_exactly_what_pairwise_comparison_does(
            projects in proptest::collection::vec(
                (proptest::option::weighted(0.9, set()), proptest::collection::vec(set(), 0..7)),
                1..25,
            ),
        ) {
            let model = load_str("p.toml", &spec(&projects)).expect("valid spec");
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            check_by(&model, &mut fast, sweep);
            check_by(&model, &mut slow, pairwise);
            prop_assert_eq!(sorted(fast), sorted(slow));
        }
    }

    #[test]
    fn a_thousand_projects_on_every_port_give_a_thousand_findings_not_half_a_million() {
        let projects: Vec<_> = (0..1000)
            .map(|_| (Some("\"1-65535\"".to_string()), Vec::new()))
            .collect();
        let model = load_str("p.toml", &spec(&projects)).expect("valid spec");
        let mut out = Vec::new();
        check_by(&model, &mut out, sweep);
        // p000..p003 meet at most three others each: 0+1+2+3 pairs; then one summary each
        assert_eq!(out.len(), 6 + 996);
        let last = out.last().expect("findings");
        assert!(
            last.message
                .contains("shares ports with 999 other projects"),
            "{}",
            last.message
        );
        assert_eq!(last.labels.len(), 1 + LIST);
    }
}
