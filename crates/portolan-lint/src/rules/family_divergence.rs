//! `family-divergence`: a binding that listens on both address families (a dual-stack `::`
//! bind on a host on IPv4 and IPv6 networks) but is reachable over one family from a source
//! class it is not reachable from over the other — IPv4-only firewall rules in front of a
//! `::` bind, an exposure written as an IPv4 CIDR. Source classes compared: the Internet and
//! every declared network with both IPv4 and IPv6 CIDRs.

use std::collections::HashMap;
use std::sync::Arc;

use portolan_model::{FirewallPolicy, IpSet, Model};

use crate::Context;
use crate::expect::internet;
use crate::finding::Finding;
use crate::rules::{Rule, listens, socket, where_};
use crate::trace::AddrFamily;

/// The classes with both families: (name, IPv4 part, IPv6 part).
fn classes(model: &Model) -> Vec<(String, IpSet, IpSet)> {
    let split = |set: &IpSet| {
        (
            set.intersection(&AddrFamily::V4.all()),
            set.intersection(&AddrFamily::V6.all()),
        )
    };
    let (i4, i6) = split(internet());
    let mut out = vec![("the Internet".to_string(), i4, i6)];
    for n in model.networks.iter().filter(|n| !n.builtin) {
        if !n.set.ipv4().is_empty() && !n.set.ipv6().is_empty() {
            let (c4, c6) = split(&n.set);
            out.push((format!("`{}`", n.name), c4, c6));
        }
    }
    out
}

/// The classes (by index) a binding with these bound and total reach sets diverges on, and
/// the family each is reachable over.
fn diverging(
    classes: &[(String, IpSet, IpSet)],
    bound: &IpSet,
    total: &IpSet,
) -> Vec<(usize, AddrFamily)> {
    let mut out = Vec::new();
    for (k, (_, c4, c6)) in classes.iter().enumerate() {
        // both families must get past the bind and the host's networks
        if !c4.intersects(bound) || !c6.intersects(bound) {
            continue;
        }
        let (r4, r6) = (c4.intersects(total), c6.intersects(total));
        if r4 != r6 {
            out.push((k, if r4 { AddrFamily::V4 } else { AddrFamily::V6 }));
        }
    }
    out
}

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let model = cx.model;
    let classes = classes(model);
    // the analysis shares reach sets between bindings (a host's bindings mostly have the
    // same few): each pair of sets is judged once, not once per binding
    let mut memo: HashMap<(*const IpSet, *const IpSet), Vec<(usize, AddrFamily)>> = HashMap::new();
    for (i, b) in model.bindings.iter().enumerate() {
        if !listens(b) {
            continue;
        }
        let r = &cx.analysis.reach[i];
        let diverging: Vec<(String, AddrFamily)> = memo
            .entry((Arc::as_ptr(&r.bound.sources), Arc::as_ptr(&r.total.sources)))
            .or_insert_with(|| diverging(&classes, &r.bound.sources, &r.total.sources))
            .iter()
            .map(|(k, fam)| (classes[*k].0.clone(), *fam))
            .collect();
        let Some((name, yes)) = diverging.first().cloned() else {
            continue;
        };
        let no = if yes == AddrFamily::V4 {
            AddrFamily::V6
        } else {
            AddrFamily::V4
        };
        let host = model.host(b.host);
        let mut f = Finding::new(
            Rule::FamilyDivergence,
            format!(
                "{} ({}) on host `{}` is reachable from {name} over {} but not over {}",
                where_(model, b),
                socket(b),
                host.name,
                yes.as_str(),
                no.as_str()
            ),
        )
        .subject(b.qualified_name(model))
        .at(b.bind_loc.unwrap_or(b.port_loc), "listens on both families");
        for (other, fam) in diverging.iter().skip(1) {
            f = f.note(format!("also {other}: only over {}", fam.as_str()));
        }
        match &host.firewall.policy {
            FirewallPolicy::Rules { rules, .. } => {
                for rule in rules
                    .iter()
                    .filter(|x| {
                        x.transport.is_none_or(|t| t == b.transport)
                            && x.ports.as_ref().is_none_or(|p| p.overlaps(&b.ports))
                            && (x.from.ipv4().is_empty() != x.from.ipv6().is_empty())
                    })
                    .take(3)
                {
                    let fam = if rule.from.ipv6().is_empty() {
                        "IPv4"
                    } else {
                        "IPv6"
                    };
                    f = f.at(rule.loc, format!("matches {fam} sources only"));
                }
            }
            FirewallPolicy::FromSpec => {
                if let Some(l) = b.exposure_loc {
                    f = f.at(l, "the declared exposure, which the firewall follows");
                }
            }
            FirewallPolicy::Open => {}
        }
        out.push(f.help(format!(
            "give the {} rule its {} twin (or exposure), or bind to {} if only {} is meant",
            yes.as_str(),
            no.as_str(),
            if yes == AddrFamily::V4 {
                "0.0.0.0"
            } else {
                "an IPv6 address"
            },
            yes.as_str()
        )));
    }
}
