//! `overlapping-ranges`: two projects' ranges, or two blocks of one project, that share
//! ports. A sweep over ranges sorted by first port.

use portolan_model::{Loc, PortRange, PortSet};

use crate::Context;
use crate::finding::Finding;
use crate::rules::Rule;

struct Item<'a> {
    range: PortRange,
    owner: &'a str,
    set: &'a PortSet,
    loc: Loc,
}

fn sweep(items: &mut [Item<'_>], mut report: impl FnMut(&Item<'_>, &Item<'_>, PortSet)) {
    items.sort_by(|a, b| (a.range.lo, a.range.hi, a.owner).cmp(&(b.range.lo, b.range.hi, b.owner)));
    let mut seen = std::collections::HashSet::new();
    let mut active: Vec<usize> = Vec::new();
    for i in 0..items.len() {
        let lo = items[i].range.lo;
        active.retain(|&j| items[j].range.hi >= lo);
        for &j in &active {
            let (a, b) = (&items[j], &items[i]);
            if a.owner == b.owner {
                continue;
            }
            let shared = a.set.intersection(b.set);
            if !shared.is_empty() && seen.insert((a.owner, b.owner)) {
                report(a, b, shared);
            }
        }
        active.push(i);
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
    let model = cx.model;
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
    sweep(&mut items, |a, b, shared| {
        out.push(
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
    });
    for p in &model.projects {
        let mut items: Vec<Item<'_>> = p
            .blocks
            .iter()
            .flat_map(|b| pieces(&b.name, &b.ports, b.loc))
            .collect();
        sweep(&mut items, |a, b, shared| {
            out.push(
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
        });
    }
}
