//! `range-exhausted`: a project range or block with at least 90 % of its ports used by the
//! project's bindings and reservations.

use portolan_model::{PortRange, PortSet};

use crate::Context;
use crate::finding::Finding;
use crate::rules::Rule;

/// Share of a range that is in use before we warn.
pub(crate) const THRESHOLD: f64 = 0.9;

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let model = cx.model;
    let mut used_by_project: Vec<Vec<PortRange>> = vec![Vec::new(); model.projects.len()];
    for b in &model.bindings {
        if let Some(p) = model.service(b.service).project {
            used_by_project[p.index()].push(b.ports);
        }
    }
    for r in &model.reservations {
        if let Some(p) = r.project {
            used_by_project[p.index()].extend(r.ports.ranges().iter().copied());
        }
    }
    for (pi, p) in model.projects.iter().enumerate() {
        let used = PortSet::from_ranges(used_by_project[pi].iter().copied());
        let mut check_one = |what: String, set: &PortSet, loc| {
            let n = set.intersection(&used).len();
            let total = set.len();
            if total == 0 || f64::from(n) < THRESHOLD * f64::from(total) {
                return;
            }
            let free = set.difference(&used);
            out.push(
                Finding::new(Rule::RangeExhausted, format!("{what} is {}% used ({n} of {total} ports){}", n * 100 / total, if free.is_empty() { String::from("; no port is free") } else { format!("; free: {free}") }))
                    .subject(p.name.clone())
                    .at(loc, format!("{n}/{total} used"))
                    .help("widen the range, release deprecated services (`portolan release`), or split the project"),
            );
        };
        if let (Some(r), Some(l)) = (&p.range, p.range_loc) {
            check_one(format!("range {r} of project `{}`", p.name), r, l);
        }
        for b in &p.blocks {
            check_one(
                format!("block `{}` ({}) of project `{}`", b.name, b.ports, p.name),
                &b.ports,
                b.loc,
            );
        }
    }
}
