//! `well-known-collision`: a project range (or block) that contains the well-known port of
//! other software — or a port another service of the spec already uses — and a binding that
//! takes the well-known port of software it is not (a dashboard on 5432).
//! Only the curated `COLLISION_PORTS` of the knowledge tables count (databases, caches,
//! brokers, monitoring, remote access, mail, directory); dev-server defaults like 3000, 5000
//! or 8080 do not, or every range would warn.

use std::collections::BTreeMap;

use portolan_model::knowledge::well_known::{self, WellKnownPort};
use portolan_model::knowledge::{canonical_app, is_collision_port, primary_use};
use portolan_model::{Binding, Model, PortSet};

use crate::Context;
use crate::finding::Finding;
use crate::rules::{Rule, distinct_defs};

fn collides(w: &WellKnownPort) -> bool {
    is_collision_port(w.port) && primary_use(w.port).is_some_and(|p| p.name == w.name)
}

/// Whether binding `b` is the software `w` names (by app protocol or service name).
fn is_that_software(model: &Model, b: &Binding, w: &WellKnownPort) -> bool {
    let service = model.service(b.service).name.to_ascii_lowercase();
    let app = b.app.as_deref().map(canonical_app).unwrap_or_default();
    let name = w.name;
    app == name
        || (!app.is_empty() && (name.starts_with(app) || app.starts_with(name)))
        || service.contains(name)
        || name
            .split('-')
            .next()
            .is_some_and(|stem| stem.len() >= 4 && service.contains(stem))
}

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let model = cx.model;
    bindings(model, out);
    ranges(model, out);
}

fn bindings(model: &Model, out: &mut Vec<Finding>) {
    for b in distinct_defs(model) {
        let hits: Vec<&WellKnownPort> = well_known::in_range(b.ports.lo, b.ports.hi)
            .iter()
            .filter(|w| collides(w))
            .filter(|w| {
                !well_known::lookup(w.port)
                    .iter()
                    .any(|x| is_that_software(model, b, x))
            })
            .take(4)
            .collect();
        let Some(first) = hits.first() else { continue };
        let list: Vec<String> = hits
            .iter()
            .map(|w| format!("{} ({})", w.port, w.name))
            .collect();
        out.push(
            Finding::new(Rule::WellKnownCollision, format!("`{}` takes {}, the well-known port of {}", b.qualified_name(model), list.join(", "), first.description))
                .subject(b.qualified_name(model))
                .at(b.port_loc, format!("well-known port of {}", first.name))
                .help(format!("anything that expects {} on {} will talk to this service: pick another port, or set `app = \"{}\"` if it is that software", first.name, first.port, first.name)),
        );
    }
}

fn ranges(model: &Model, out: &mut Vec<Finding>) {
    // Ports bound anywhere in the spec, by first port.
    let mut by_port: BTreeMap<u16, Vec<&Binding>> = BTreeMap::new();
    for b in distinct_defs(model) {
        by_port.entry(b.ports.lo).or_default().push(b);
    }
    for p in &model.projects {
        let (set, loc, what) = match (&p.range, p.range_loc) {
            (Some(r), Some(l)) => (r.clone(), l, format!("range {r} of project `{}`", p.name)),
            _ => continue,
        };
        let mut items: Vec<String> = Vec::new();
        let mut related = Vec::new();
        // looked up once per project, not once per port in its range
        let this = model.project_named(&p.name);
        for r in set.ranges() {
            // ports other services of the spec use inside the range
            for (_, bs) in by_port.range(r.lo..=r.hi) {
                for b in bs {
                    let s = model.service(b.service);
                    if s.project == this {
                        continue;
                    }
                    let owner = s.project.map_or_else(
                        || "no project".to_string(),
                        |o| format!("project `{}`", model.project(o).name),
                    );
                    items.push(format!(
                        "{} (used by `{}`, {owner})",
                        b.ports,
                        b.qualified_name(model)
                    ));
                    related.push((
                        b.port_loc,
                        format!("`{}` uses {}", b.qualified_name(model), b.ports),
                    ));
                }
            }
            for w in well_known::in_range(r.lo, r.hi)
                .iter()
                .filter(|w| collides(w))
            {
                let own = by_port.get(&w.port).is_some_and(|bs| {
                    bs.iter().any(|b| {
                        model.service(b.service).project == this && is_that_software(model, b, w)
                    })
                });
                let listed = items.iter().any(|i| i.starts_with(&format!("{} ", w.port)));
                if !own && !listed {
                    items.push(format!("{} ({})", w.port, w.name));
                }
            }
        }
        if items.is_empty() {
            continue;
        }
        items.sort_by_key(|i| {
            i.split(' ')
                .next()
                .and_then(|p| p.split('-').next()?.parse::<u16>().ok())
                .unwrap_or(0)
        });
        items.dedup();
        let shown: Vec<String> = items.iter().take(8).cloned().collect();
        let more = if items.len() > 8 {
            format!(" and {} more", items.len() - 8)
        } else {
            String::new()
        };
        let mut f = Finding::new(
            Rule::WellKnownCollision,
            format!("{what} contains {}{more}", shown.join(", ")),
        )
        .subject(p.name.clone())
        .at(loc, "range declared here");
        for (l, m) in related.into_iter().take(4) {
            f = f.at(l, m);
        }
        let carve: Vec<u16> = items
            .iter()
            .filter_map(|i| i.split(' ').next()?.parse().ok())
            .collect();
        let suggestion =
            PortSet::from_ranges(carve.iter().map(|p| portolan_model::PortRange::single(*p)));
        out.push(f.help(format!("exclude them from the range (e.g. `range = \"{}\"`) so `portolan alloc` never hands them out", set.difference(&suggestion))));
    }
}
