//! The `firewall-drift` finding "allowed but not declared" for ports no binding of the host
//! declares: one finding per rule of a deployed ruleset that opens such ports, naming them
//! as ranges with a count.
//!
//! The ports looked at are those the accept rules of the input path name, less the host's
//! declared ports. They are cut where any rule's port match changes (the evaluator's index
//! edges), so every piece is evaluated once and answers for each of its ports. Each of those
//! rules that lets someone in on a piece gets the piece; the pieces one rule lets in from the
//! same sources make its finding, marked at the rule, saying exactly what that rule lets in
//! (a port several rules open is in each of their findings, with each rule's own sources;
//! ports an earlier rule decides for the same sources are not the later rule's).
//!
//! Why grouped: a 40,000-rule dump that opens 40,000 undeclared ports produced one finding
//! per port range per rule (45,616, 44 MB of JSON), most of the time `check` took, each also
//! marking every other rule about its port. A rule is what a person removes or narrows, so a
//! rule is the finding.

use std::collections::{HashMap, HashSet};

use portolan_firewall::eval::{Decision, Evaluator, Packet};
use portolan_firewall::{Hook, Verdict};
use portolan_model::{HostId, IpSet, Model, PortRange, PortSet, Transport};

use crate::finding::Finding;
use crate::firewall_drift::{Dump, attach, show};
use crate::rules::Rule;

/// The undeclared ports one rule lets in from one set of sources.
struct Group {
    transport: Transport,
    /// Ascending, merged when contiguous.
    ports: Vec<PortRange>,
    /// The rule's decision (its line, sources, comment, assumptions).
    decision: Decision,
}

/// One finding per rule (and set of sources it lets in) for the ports it opens on the input
/// path that no binding of `host` declares.
pub(crate) fn undeclared_ports(
    model: &Model,
    host: HostId,
    dump: &Dump<'_>,
    ev: &Evaluator<'_>,
) -> Vec<Finding> {
    let rs = dump.ruleset;
    let declared_on = |t: Transport| {
        PortSet::from_ranges(
            model
                .bindings
                .iter()
                .filter(|b| b.host == host && b.transport == t)
                .map(|b| b.ports),
        )
    };
    let transports = [Transport::Tcp, Transport::Udp];
    let declared = transports.map(declared_on);
    let input_groups: Vec<usize> = rs
        .chains
        .iter()
        .filter(|c| c.hook == Some(Hook::Input))
        .map(|c| c.group)
        .collect();
    // the undeclared ports accept rules of the input path name, per transport, and the lines
    // of those rules (a rule without a port match opens no port in particular)
    let mut opened: [Vec<PortRange>; 2] = Default::default();
    let mut openers: HashSet<usize> = HashSet::new();
    for c in rs
        .chains
        .iter()
        .filter(|c| input_groups.contains(&c.group) && c.hook != Some(Hook::Forward))
    {
        for r in c.rules.iter().filter(|r| r.verdict == Verdict::Accept) {
            let Some(dports) = &r.dports else { continue };
            if r.other_protocol.is_some() || r.orig_dports.is_some() {
                continue;
            }
            for (k, t) in transports.iter().enumerate() {
                if r.transport.is_none_or(|rt| rt == *t) {
                    let undeclared = dports.difference(&declared[k]);
                    if !undeclared.is_empty() {
                        opened[k].extend_from_slice(undeclared.ranges());
                        openers.insert(r.line);
                    }
                }
            }
        }
    }
    let mut groups: Vec<Group> = Vec::new();
    let mut by_key: HashMap<(usize, Transport, IpSet), usize> = HashMap::new();
    for (k, t) in transports.into_iter().enumerate() {
        let opened = PortSet::from_ranges(std::mem::take(&mut opened[k]));
        for range in opened.ranges() {
            for piece in pieces(ev, *range) {
                let o = ev.evaluate(&Packet {
                    hook: Hook::Input,
                    transport: t,
                    port: piece.lo,
                    orig_port: piece.lo,
                    dest: None,
                });
                if o.accepted.is_empty() {
                    continue;
                }
                for d in o.decisions {
                    if !d.accepted || d.policy || d.returned || !openers.contains(&d.line) {
                        continue;
                    }
                    let sources = d.sources.intersection(&o.accepted);
                    if sources.is_empty() {
                        continue;
                    }
                    let key = (d.line, t, sources);
                    let at = if let Some(&at) = by_key.get(&key) {
                        at
                    } else {
                        // what this rule lets in here, not what it would alone
                        let decision = Decision {
                            sources: key.2.clone(),
                            ..d
                        };
                        by_key.insert(key, groups.len());
                        groups.push(Group {
                            transport: t,
                            ports: Vec::new(),
                            decision,
                        });
                        groups.len() - 1
                    };
                    let g = &mut groups[at];
                    match g.ports.last_mut() {
                        Some(last) if u32::from(last.hi) + 1 == u32::from(piece.lo) => {
                            last.hi = piece.hi;
                        }
                        _ => g.ports.push(piece),
                    }
                }
            }
        }
    }
    groups.sort_by_key(|g| (g.decision.line, g.transport, g.ports.first().map(|p| p.lo)));
    let kind = dump.kind.as_str();
    let host_name = &model.host(host).name;
    groups
        .into_iter()
        .map(|g| {
            let count: u32 = g.ports.iter().map(|p| u32::from(p.hi - p.lo) + 1).sum();
            let (what, them) = if count == 1 {
                ("port", "it")
            } else {
                ("ports", "them")
            };
            let d = &g.decision;
            let f = Finding::new(
                Rule::FirewallDrift,
                format!(
                    "allowed but not declared: the {kind} rule at line {} lets in {what} {} on host `{host_name}` from {}, but no binding of the host declares {them}",
                    d.line,
                    ports_label(&g.ports, g.transport, count),
                    show(&d.sources),
                ),
            )
            .subject(host_name.clone());
            attach(f, dump, &[d], &d.sources).help(format!(
                "remove or narrow the rule, or declare the service listening there in the spec; `portolan gen {kind} --host {host_name}` emits exactly the declared ruleset"
            ))
        })
        .collect()
}

/// `range` cut where some rule's port match begins or ends: every port of a piece meets the
/// same rules.
fn pieces(ev: &Evaluator<'_>, range: PortRange) -> Vec<PortRange> {
    let (lo, hi) = (u32::from(range.lo), u32::from(range.hi));
    let mut cuts = vec![lo];
    cuts.extend_from_slice(ev.index().edges(false, lo + 1, hi));
    cuts.extend_from_slice(ev.index().edges(true, lo + 1, hi));
    cuts.sort_unstable();
    cuts.dedup();
    let ends = cuts.iter().skip(1).map(|c| c - 1).chain([hi]);
    cuts.iter()
        .zip(ends)
        .filter_map(|(&a, b)| {
            Some(PortRange {
                lo: u16::try_from(a).ok()?,
                hi: u16::try_from(b).ok()?,
            })
        })
        .collect()
}

/// At most this many ranges are listed in a message; the count says how many there are.
const LISTED: usize = 8;

/// `9000/tcp`, `40000-40999/tcp (1,000 ports)`, `1025, 1036, 1048/tcp (3 ports)`,
/// `1025, …, 2000, …/tcp (12 ranges, 3,000 ports)`.
fn ports_label(ports: &[PortRange], t: Transport, count: u32) -> String {
    let mut list = ports
        .iter()
        .take(LISTED)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if ports.len() > LISTED {
        list.push_str(", …");
    }
    let t = t.as_str();
    match (count, ports.len()) {
        (1, _) => format!("{list}/{t}"),
        (_, n) if n > LISTED => format!(
            "{list}/{t} ({} ranges, {} ports)",
            thousands(n as u64),
            thousands(u64::from(count))
        ),
        _ => format!("{list}/{t} ({} ports)", thousands(u64::from(count))),
    }
}

/// `45616` → `45,616`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(lo: u16, hi: u16) -> PortRange {
        PortRange { lo, hi }
    }

    #[test]
    fn port_labels_name_ranges_and_count_ports() {
        assert_eq!(ports_label(&[r(9000, 9000)], Transport::Tcp, 1), "9000/tcp");
        assert_eq!(
            ports_label(&[r(40000, 40999)], Transport::Tcp, 1000),
            "40000-40999/tcp (1,000 ports)"
        );
        assert_eq!(
            ports_label(
                &[r(1025, 1025), r(1036, 1036), r(1048, 1048)],
                Transport::Udp,
                3
            ),
            "1025, 1036, 1048/udp (3 ports)"
        );
        let many: Vec<PortRange> = (0..10).map(|k| r(2000 + k * 10, 2000 + k * 10)).collect();
        assert_eq!(
            ports_label(&many, Transport::Tcp, 10),
            "2000, 2010, 2020, 2030, 2040, 2050, 2060, 2070, …/tcp (10 ranges, 10 ports)"
        );
        assert_eq!(thousands(45_616), "45,616");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }
}
