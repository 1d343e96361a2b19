//! `rule-without-listener`: an `allow` rule of a host's deployed spec firewall that opens
//! ports no binding of the host declares (on the rule's transports). Rules without ports
//! (an address-based allow) are not reported. Located at the rule, with the host.

use portolan_model::{Action, FirewallPolicy, PortRange, PortSet, Transport};

use crate::Context;
use crate::finding::Finding;
use crate::rules::Rule;
use crate::rules::shadowed_rule::describe;

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let model = cx.model;
    // the declared ports of every host with rules, in one pass over the bindings (one pass
    // per host was 15 % of `lint` on a 1,000-host spec)
    let with_rules: Vec<bool> = model
        .hosts
        .iter()
        .map(|h| matches!(h.firewall.policy, FirewallPolicy::Rules { .. }))
        .collect();
    let mut by_host: Vec<(Vec<PortRange>, Vec<PortRange>)> =
        vec![(Vec::new(), Vec::new()); model.hosts.len()];
    for b in &model.bindings {
        if !with_rules.get(b.host.index()).copied().unwrap_or(false) {
            continue;
        }
        let (tcp, udp) = &mut by_host[b.host.index()];
        match b.transport {
            Transport::Tcp => tcp.push(b.ports),
            Transport::Udp => udp.push(b.ports),
        }
    }
    for (host, (tcp, udp)) in model.hosts.iter().zip(by_host) {
        let FirewallPolicy::Rules { rules, .. } = &host.firewall.policy else {
            continue;
        };
        let (tcp, udp) = (PortSet::from_ranges(tcp), PortSet::from_ranges(udp));
        for (k, r) in rules.iter().enumerate() {
            let Some(ports) = &r.ports else { continue };
            if r.action != Action::Allow || r.from.is_empty() {
                continue;
            }
            let known = match r.transport {
                Some(Transport::Tcp) => tcp.clone(),
                Some(Transport::Udp) => udp.clone(),
                None => PortSet::from_ranges(tcp.ranges().iter().chain(udp.ranges()).copied()),
            };
            let open = ports.difference(&known);
            if open.is_empty() {
                continue;
            }
            let n = open.len();
            let mut f = Finding::new(
                Rule::RuleWithoutListener,
                format!(
                    "rule #{} of host `{}`'s firewall (`{}`) opens {} no binding of the host declares: {}",
                    k + 1,
                    host.name,
                    describe(r),
                    if n == 1 {
                        "a port".to_string()
                    } else {
                        format!("{n} ports")
                    },
                    open
                ),
            )
            .subject(host.name.clone())
            .at(r.loc, "opens undeclared ports");
            if let Some(l) = host.loc {
                f = f.at(l, format!("host `{}` declares no binding there", host.name));
            }
            out.push(f.help(
                "narrow the rule to the declared ports, or declare the service listening there",
            ));
        }
    }
}
