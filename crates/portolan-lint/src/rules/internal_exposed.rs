//! `internal-exposed`: the effective reach of a binding (bind address × host networks ×
//! publisher × firewall × routes) is wider than its declared exposure (plus inbound flows).

use crate::Context;
use crate::finding::Finding;
use crate::reach::ReachSet;
use crate::rules::{Rule, exposure_label, listens, where_};

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let model = cx.model;
    for (id, b) in model.binding_ids() {
        let r = cx.analysis.of(id);
        if !listens(b) || r.total.is_subset(&r.allowed) {
            continue;
        }
        let extra = ReachSet {
            host_internal: r.total.host_internal && !r.allowed.host_internal,
            sources: std::sync::Arc::new(r.total.sources.difference(&r.allowed.sources)),
        };
        let extra_label = if extra.sources.is_empty() {
            "containers on the host".to_string()
        } else {
            extra.describe(model)
        };
        let declared = exposure_label(model, b);
        let mut f = Finding::new(
            Rule::InternalExposed,
            format!(
                "{} is reachable from {extra_label}, but its declared exposure is `{declared}`",
                where_(model, b)
            ),
        )
        .subject(b.qualified_name(model));
        f = match b.exposure_loc {
            Some(l) => f.at(l, format!("declared `{declared}`")),
            None => f.at(b.loc, "no `exposure`: defaults to `internal`"),
        };
        if let Some(l) = b.bind_loc {
            f = f.at(l, format!("bound to {}", b.bind));
        }
        if let Some(l) = b.publisher_loc
            && b.publisher.bypasses_input_firewall()
        {
            f = f.at(l, format!("published by {}", b.publisher.as_str()));
        }
        for &ri in r.via_routes.iter().take(3) {
            let route = &model.routes[ri];
            if !model.binding(route.from).bind.is_loopback() && !r.direct.is_subset(&r.allowed) {
                continue;
            }
            f = f.at(
                route.loc,
                format!(
                    "proxied from `{}`",
                    model.binding(route.from).qualified_name(model)
                ),
            );
        }
        for w in cx.analysis.explain(model, id) {
            f = f.note(w);
        }
        let help = if r.direct.is_subset(&r.allowed) {
            "it is reached through a proxy route: declare `exposure` as the proxy's reach (with `tls = \"proxy\"`), or remove the route".to_string()
        } else if b.publisher.bypasses_input_firewall() {
            format!(
                "publish on loopback or a specific address (`\"127.0.0.1:{}:{}\"` in compose), or widen `exposure` if this is intended",
                b.ports,
                b.target.unwrap_or(b.ports)
            )
        } else if b.bind.is_unspecified() {
            "bind to 127.0.0.1 or a private interface address, restrict the host firewall, or widen `exposure` if this is intended".to_string()
        } else {
            "restrict the host firewall to the declared sources, or widen `exposure` if this is intended".to_string()
        };
        out.push(f.help(help));
    }
}
