//! `family-divergence`: a binding that listens on both address families (a dual-stack `::`
//! bind on a host on IPv4 and IPv6 networks) but is reachable over one family from a source
//! class it is not reachable from over the other — IPv4-only firewall rules in front of a
//! `::` bind, an exposure written as an IPv4 CIDR. Source classes compared: the Internet and
//! every declared network with both IPv4 and IPv6 CIDRs.

use portolan_model::{FirewallPolicy, IpSet, Model};

use crate::Context;
use crate::expect::internet;
use crate::finding::Finding;
use crate::rules::{Rule, listens, socket, where_};
use crate::trace::AddrFamily;

/// The classes with both families: (name, set).
fn classes(model: &Model) -> Vec<(String, IpSet)> {
    let mut out = vec![("the Internet".to_string(), internet().clone())];
    for n in model.networks.iter().filter(|n| !n.builtin) {
        if !n.set.ipv4().is_empty() && !n.set.ipv6().is_empty() {
            out.push((format!("`{}`", n.name), n.set.clone()));
        }
    }
    out
}

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let model = cx.model;
    let classes = classes(model);
    for (i, b) in model.bindings.iter().enumerate() {
        if !listens(b) {
            continue;
        }
        let r = &cx.analysis.reach[i];
        let mut diverging = Vec::new();
        for (name, set) in &classes {
            let part = |fam: AddrFamily| set.intersection(&fam.all());
            let (c4, c6) = (part(AddrFamily::V4), part(AddrFamily::V6));
            // both families must get past the bind and the host's networks
            if !c4.intersects(&r.bound.sources) || !c6.intersects(&r.bound.sources) {
                continue;
            }
            let (r4, r6) = (
                c4.intersects(&r.total.sources),
                c6.intersects(&r.total.sources),
            );
            if r4 != r6 {
                diverging.push((
                    name.clone(),
                    if r4 { AddrFamily::V4 } else { AddrFamily::V6 },
                ));
            }
        }
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
