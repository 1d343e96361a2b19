//! `rule-without-listener`: an `allow` rule of a host's deployed spec firewall that opens
//! ports no binding of the host declares (on the rule's transports). Rules without ports
//! (an address-based allow) are not reported. Located at the rule, with the host.

use portolan_model::{Action, FirewallPolicy, HostId, PortSet, Transport};

use crate::Context;
use crate::finding::Finding;
use crate::rules::Rule;
use crate::rules::shadowed_rule::describe;

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let model = cx.model;
    for (h, host) in model.hosts.iter().enumerate() {
        let FirewallPolicy::Rules { rules, .. } = &host.firewall.policy else {
            continue;
        };
        let declared = |t: Transport| {
            PortSet::from_ranges(
                model
                    .bindings
                    .iter()
                    .filter(|b| b.host == HostId::from_index(h) && b.transport == t)
                    .map(|b| b.ports),
            )
        };
        let (tcp, udp) = (declared(Transport::Tcp), declared(Transport::Udp));
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
