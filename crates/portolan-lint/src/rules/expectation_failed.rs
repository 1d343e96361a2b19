//! `expectation-failed`: an `[[expect]]` that the reach model contradicts. Located at the
//! expectation, with the layer that decides (bind, networks, publish, firewall rule, route)
//! as a second location and the smallest change that would make it hold as help.

use std::fmt::Write as _;

use portolan_model::Model;

use crate::Context;
use crate::expect::{Failure, Outcome, evaluate};
use crate::finding::Finding;
use crate::firewall_drift::show;
use crate::rules::{Rule, socket};

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    for o in evaluate(cx.model, cx.analysis) {
        if let Some(f) = finding(cx.model, &o) {
            out.push(f);
        }
    }
}

/// One failure as a clause: "`lan` reaches `db.pg` on host `db1` (0.0.0.0:5432/tcp) over
/// IPv4 from 192.168.1.0/24".
fn clause(model: &Model, reach: bool, from: &str, f: &Failure) -> String {
    let Some(id) = f.binding else {
        return f.why.clone();
    };
    let b = model.binding(id);
    let fam = f
        .family
        .map(|x| format!(" over {}", x.as_str()))
        .unwrap_or_default();
    let part = if f.part.is_empty() || f.whole {
        String::new()
    } else {
        format!(" (from {})", show(&f.part))
    };
    format!(
        "`{from}` {} `{}` on host `{}` ({}){fam}{part}",
        if reach { "cannot reach" } else { "reaches" },
        b.qualified_name(model),
        model.host(b.host).name,
        socket(b)
    )
}

/// The finding for an outcome that does not hold.
pub fn finding(model: &Model, o: &Outcome) -> Option<Finding> {
    let first = o.failures.first()?;
    let e = &model.expectations[o.expectation];
    let mut message = format!(
        "expect #{} does not hold: {}, but the spec promises `reach = {}`",
        e.index,
        clause(model, e.reach, &e.label.0, first),
        e.reach
    );
    if o.failures.len() > 1 {
        let _ = write!(message, " (and {} more like it)", o.failures.len() - 1);
    }
    if let Some(r) = &e.reason {
        let _ = write!(message, " — {r}");
    }
    let mut f = Finding::new(Rule::ExpectationFailed, message)
        .subject(e.title())
        .at(e.reach_loc, format!("reach = {}", e.reach));
    for b in o.failures.iter().filter_map(|x| x.binding) {
        let name = model.binding(b).qualified_name(model);
        if !f.subjects.contains(&name) {
            f = f.subject(name);
        }
    }
    if let Some(at) = first.at {
        let layer = first
            .layer
            .map(|l| format!("{}: ", l.as_str()))
            .unwrap_or_default();
        f = f.at(at, format!("decided here — {layer}{}", first.why));
    } else {
        f = f.note(format!("decided by {}", first.why));
    }
    for other in o.failures.iter().skip(1).take(6) {
        let at = other
            .at
            .map(|l| {
                let p = model.sources.position(l);
                format!(" ({}:{})", p.file, p.line)
            })
            .unwrap_or_default();
        f = f.note(format!(
            "also: {}: {}{at}",
            clause(model, e.reach, &e.label.0, other),
            other.why
        ));
    }
    if o.failures.len() > 7 {
        f = f.note(format!("… and {} more", o.failures.len() - 7));
    }
    if first.change.is_empty() {
        Some(f)
    } else {
        Some(f.help(first.change.clone()))
    }
}
