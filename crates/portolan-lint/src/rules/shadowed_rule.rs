//! `shadowed-rule`: a rule of a host's deployed spec firewall that no packet can reach,
//! because earlier rules already decide every (transport, port, source) it matches. Located
//! at the shadowed rule, with the earlier rules that cover it. (For a deployed ruleset read
//! by `check --firewall`, `portolan_firewall::shadow` finds the same per chain.)

use portolan_model::{Action, FirewallPolicy, FirewallRule, IpSet, PortRange, PortSet, Transport};

use crate::Context;
use crate::finding::Finding;
use crate::rules::Rule;

const ALL_PORTS: PortRange = PortRange {
    lo: 0,
    hi: u16::MAX,
};

fn ports(r: &FirewallRule) -> PortSet {
    r.ports
        .clone()
        .unwrap_or_else(|| PortSet::from_ranges([ALL_PORTS]))
}

fn transports(r: &FirewallRule) -> Vec<Transport> {
    r.transport
        .map_or(vec![Transport::Tcp, Transport::Udp], |t| vec![t])
}

/// `allow 8069/tcp from any`.
pub(crate) fn describe(r: &FirewallRule) -> String {
    format!(
        "{} {}{} from {}",
        if r.action == Action::Allow {
            "allow"
        } else {
            "deny"
        },
        r.ports
            .as_ref()
            .map_or_else(|| "every port".to_string(), ToString::to_string),
        r.transport
            .map(|t| format!("/{}", t.as_str()))
            .unwrap_or_default(),
        r.from_label
    )
}

/// The earlier rules that together decide everything rule `k` matches (empty: it is
/// reachable).
pub(crate) fn shadowing(rules: &[FirewallRule], k: usize) -> Vec<usize> {
    let r = &rules[k];
    if r.from.is_empty() {
        return Vec::new();
    }
    let mine = ports(r);
    // port boundaries of the earlier rules inside this rule's ports
    let mut cuts: Vec<u32> = Vec::new();
    for pr in mine.ranges() {
        cuts.push(u32::from(pr.lo));
        cuts.push(u32::from(pr.hi) + 1);
    }
    for e in &rules[..k] {
        for pr in ports(e).ranges() {
            cuts.push(u32::from(pr.lo));
            cuts.push(u32::from(pr.hi) + 1);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut used = Vec::new();
    for t in transports(r) {
        for w in cuts.windows(2) {
            let Ok(p) = u16::try_from(w[0]) else { continue };
            if !mine.contains(p) {
                continue;
            }
            let mut covered = IpSet::empty();
            for (j, e) in rules[..k].iter().enumerate() {
                if e.transport.is_some_and(|x| x != t) || !ports(e).contains(p) {
                    continue;
                }
                if e.from.intersects(&r.from.difference(&covered)) {
                    covered = covered.union(&e.from);
                    if !used.contains(&j) {
                        used.push(j);
                    }
                }
                if r.from.is_subset(&covered) {
                    break;
                }
            }
            if !r.from.is_subset(&covered) {
                return Vec::new();
            }
        }
    }
    used.sort_unstable();
    used
}

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let model = cx.model;
    for host in &model.hosts {
        let FirewallPolicy::Rules { rules, .. } = &host.firewall.policy else {
            continue;
        };
        for k in 0..rules.len() {
            let by = shadowing(rules, k);
            if by.is_empty() {
                continue;
            }
            let r = &rules[k];
            let conflict = by.iter().any(|j| rules[*j].action != r.action);
            let mut f = Finding::new(
                Rule::ShadowedRule,
                format!(
                    "rule #{} of host `{}`'s firewall (`{}`) is never reached: earlier rules decide every packet it matches{}",
                    k + 1,
                    host.name,
                    describe(r),
                    if conflict {
                        ", some of them the other way"
                    } else {
                        ""
                    }
                ),
            )
            .subject(host.name.clone())
            .at(r.loc, "never reached");
            for j in by.iter().take(3) {
                f = f.at(
                    rules[*j].loc,
                    format!("rule #{} decides first (`{}`)", j + 1, describe(&rules[*j])),
                );
            }
            if by.len() > 3 {
                f = f.note(format!("… and {} more earlier rules", by.len() - 3));
            }
            out.push(f.help(if conflict {
                "move the rule above the rules that decide first, or remove it: as written it has no effect"
            } else {
                "remove the rule: it has no effect"
            }));
        }
    }
}
