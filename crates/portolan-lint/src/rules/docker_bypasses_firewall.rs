//! `docker-bypasses-firewall`: a port published by Docker (or Podman, or a `NodePort`) that the
//! host INPUT firewall would have narrowed. Published ports are `DNATed` in PREROUTING and
//! forwarded, so ufw/iptables INPUT rules never see the traffic.

use crate::Context;
use crate::finding::Finding;
use crate::rules::{Rule, listens, where_};
use portolan_model::FirewallPolicy;

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let model = cx.model;
    for (i, b) in model.bindings.iter().enumerate() {
        let r = &cx.analysis.reach[i];
        if !listens(b) || !b.publisher.bypasses_input_firewall() {
            continue;
        }
        let Some(filtered) = &r.input_filtered else {
            continue;
        };
        // only remote sources matter here: containers on the host reach it either way
        if r.bound.sources.is_subset(&filtered.sources) {
            continue;
        }
        let host = model.host(b.host);
        let fw = &host.firewall;
        let mut f = Finding::new(
            Rule::DockerBypassesFirewall,
            format!(
                "{} is published by {} on {}: the {} firewall of host `{}` would limit it to {}, but published ports skip the INPUT chain, so it is reachable from {}",
                where_(model, b),
                b.publisher.as_str(),
                b.bind,
                fw.kind.as_str(),
                host.name,
                filtered.describe(model),
                r.bound.describe(model)
            ),
        )
        .subject(b.qualified_name(model));
        if let Some(l) = b.publisher_loc {
            f = f.at(l, format!("published by {}", b.publisher.as_str()));
        } else {
            f = f.at(b.loc, "published binding");
        }
        if let FirewallPolicy::Rules { rules, .. } = &fw.policy {
            for rule in rules
                .iter()
                .filter(|x| x.ports.as_ref().is_some_and(|p| p.overlaps(&b.ports)))
                .take(3)
            {
                f = f.at(rule.loc, "this rule does not apply to published ports");
            }
        } else if let Some(l) = fw.loc {
            f = f.at(l, "host firewall");
        }
        let helps = match b.publisher {
            portolan_model::Publisher::K8sNodeport => "use a ClusterIP service with an Ingress, or restrict with a NetworkPolicy / cloud security group".to_string(),
            _ => format!(
                "publish on a specific address (`\"<addr>:{}:{}\"`), or filter in the DOCKER-USER chain (`portolan gen iptables` emits it)",
                b.ports,
                b.target.unwrap_or(b.ports)
            ),
        };
        out.push(f.help(helps));
    }
}
