//! `out-of-range`: a service's port outside its project's range (or its block), or a block
//! that lies outside its project's range.

use crate::Context;
use crate::finding::Finding;
use crate::rules::{Rule, distinct_defs};

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let model = cx.model;
    for p in &model.projects {
        let Some(range) = &p.range else { continue };
        for block in &p.blocks {
            let outside = block.ports.difference(range);
            if !outside.is_empty() {
                let mut f = Finding::new(Rule::OutOfRange, format!("block `{}` of project `{}` ({}) reaches outside the project's range {range}: {outside}", block.name, p.name, block.ports))
                    .subject(p.name.clone())
                    .at(block.loc, "block outside the range");
                if let Some(l) = p.range_loc {
                    f = f.at(l, "project range");
                }
                out.push(f.help("shrink the block or widen the project's range"));
            }
        }
    }
    for b in distinct_defs(model) {
        let s = model.service(b.service);
        let Some(pid) = s.project else { continue };
        let p = model.project(pid);
        // fast path: nothing to report (the common case) without allocating
        let in_block = s.block.is_none_or(|bi| p.blocks[bi].ports.covers(&b.ports));
        if in_block && p.range.as_ref().is_none_or(|r| r.covers(&b.ports)) {
            continue;
        }
        let ports = portolan_model::PortSet::from_ranges([b.ports]);
        if let Some(bi) = s.block {
            let block = &p.blocks[bi];
            let outside = ports.difference(&block.ports);
            if !outside.is_empty() {
                let mut f = Finding::new(
                    Rule::OutOfRange,
                    format!(
                        "`{}.{}` uses port {} outside its block `{}` ({}) of project `{}`",
                        s.name, b.name, outside, block.name, block.ports, p.name
                    ),
                )
                .subject(b.qualified_name(model))
                .at(b.port_loc, format!("outside block `{}`", block.name))
                .at(block.loc, "block declared here");
                if let Some(l) = s.block_loc {
                    f = f.at(l, "service placed in the block here");
                }
                out.push(f.help(format!(
                    "pick a port in {} (`portolan alloc {} --block {}`)",
                    block.ports, p.name, block.name
                )));
                continue;
            }
        }
        let Some(range) = &p.range else { continue };
        let outside = ports.difference(range);
        if !outside.is_empty() {
            let mut f = Finding::new(
                Rule::OutOfRange,
                format!(
                    "`{}.{}` uses port {} outside project `{}`'s range {}",
                    s.name, b.name, outside, p.name, range
                ),
            )
            .subject(b.qualified_name(model))
            .at(b.port_loc, format!("outside {range}"));
            if let Some(l) = p.range_loc {
                f = f.at(l, "project range");
            }
            out.push(f.help(format!("move it into {range} (`portolan alloc {}`), or take the service out of the project", p.name)));
        }
    }
}
