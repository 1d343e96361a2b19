//! Rules no packet can reach: in each chain, a rule is shadowed when the rules before it
//! that decide unconditionally (accept, drop or return, matching only on transport,
//! destination ports and sources) already decide every (transport, port, source) it could
//! match — whatever else it matches on.
//!
//! The rules before are summarised, per transport, as the sources they decide for every
//! port plus a map from port segments to the sources decided there; each rule is checked
//! against that summary and then added to it, so a chain is read once.

use std::collections::BTreeMap;
use std::ops::Bound::{Excluded, Included};

use portolan_model::{IpSet, PortRange, PortSet, Transport};

use crate::{Chain, FwRule, Ruleset, Verdict};

/// A shadowed rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shadowed {
    /// Index into `rs.chains`.
    pub chain: usize,
    /// Position of the rule in its chain.
    pub rule: usize,
    /// Positions of (up to three of) the earlier rules that decide first.
    pub by: Vec<usize>,
}

const ALL: PortRange = PortRange {
    lo: 0,
    hi: u16::MAX,
};

/// What the earlier unconditional rules of one chain decide, for one transport.
#[derive(Debug)]
struct Cover {
    /// Sources decided on every port.
    any: IpSet,
    /// Segment start → sources decided on the ports of the segment (up to the next start).
    segs: BTreeMap<u32, IpSet>,
}

impl Cover {
    fn new() -> Self {
        Cover {
            any: IpSet::empty(),
            segs: BTreeMap::from([(0, IpSet::empty())]),
        }
    }

    /// Makes `at` a segment start.
    fn split(&mut self, at: u32) {
        if at > u32::from(u16::MAX) || self.segs.contains_key(&at) {
            return;
        }
        let set = self
            .segs
            .range(..at)
            .next_back()
            .map(|(_, s)| s.clone())
            .unwrap_or_default();
        self.segs.insert(at, set);
    }

    fn add(&mut self, ports: &PortSet, sources: &IpSet) {
        if ports.ranges() == [ALL] {
            self.any = self.any.union(sources);
            return;
        }
        for r in ports.ranges() {
            let (lo, hi) = (u32::from(r.lo), u32::from(r.hi) + 1);
            self.split(lo);
            self.split(hi);
            for (_, s) in self.segs.range_mut((Included(lo), Excluded(hi))) {
                *s = s.union(sources);
            }
        }
    }

    fn covers(&self, ports: &PortSet, sources: &IpSet) -> bool {
        let rest = sources.difference(&self.any);
        if rest.is_empty() {
            return true;
        }
        for r in ports.ranges() {
            let (lo, hi) = (u32::from(r.lo), u32::from(r.hi));
            // the segment holding `lo`, then every segment starting inside the range
            let first = self.segs.range(..=lo).next_back();
            let inside = self.segs.range((Excluded(lo), Included(hi)));
            if first
                .into_iter()
                .chain(inside)
                .any(|(_, s)| !rest.is_subset(s))
            {
                return false;
            }
        }
        true
    }
}

/// Whether `r` decides every packet its transport, ports and sources match.
fn plain(r: &FwRule) -> bool {
    matches!(r.verdict, Verdict::Accept | Verdict::Drop | Verdict::Return)
        && r.in_iface.as_ref().is_none_or(crate::Iface::all_remote)
        && r.ct_states.is_empty()
        && r.unmodelled.is_empty()
        && r.destination.is_none()
        && r.orig_dports.is_none()
        && r.other_protocol.is_none()
}

fn transports(r: &FwRule) -> Vec<Transport> {
    r.transport
        .map_or_else(|| vec![Transport::Tcp, Transport::Udp], |t| vec![t])
}

fn ports(r: &FwRule) -> PortSet {
    r.dports
        .clone()
        .unwrap_or_else(|| PortSet::from_ranges([ALL]))
}

fn sources(c: &Chain, r: &FwRule) -> IpSet {
    match &r.source {
        Some(s) => s.intersection(&c.scope),
        None => c.scope.clone(),
    }
}

/// The earlier rules of `c` (before `k`) that decide part of rule `k`'s packets, up to three.
fn deciders(c: &Chain, k: usize) -> Vec<usize> {
    let r = &c.rules[k];
    let (ps, src, ts) = (ports(r), sources(c, r), transports(r));
    let mut out = Vec::new();
    for (j, e) in c.rules[..k].iter().enumerate() {
        if !plain(e) || !transports(e).iter().any(|t| ts.contains(t)) {
            continue;
        }
        if ports(e).intersection(&ps).is_empty() || !sources(c, e).intersects(&src) {
            continue;
        }
        out.push(j);
        if out.len() == 3 {
            break;
        }
    }
    out
}

/// Every shadowed rule of `rs`, chain by chain.
pub fn shadowed(rs: &Ruleset) -> Vec<Shadowed> {
    let mut out = Vec::new();
    for (ci, c) in rs.chains.iter().enumerate() {
        let mut cover: [Cover; 2] = [Cover::new(), Cover::new()];
        let slot = |t: Transport| usize::from(t == Transport::Udp);
        for (k, r) in c.rules.iter().enumerate() {
            let src = sources(c, r);
            let ps = ports(r);
            if r.verdict != Verdict::Continue
                && r.other_protocol.is_none()
                && !src.is_empty()
                && transports(r)
                    .iter()
                    .all(|t| cover[slot(*t)].covers(&ps, &src))
            {
                out.push(Shadowed {
                    chain: ci,
                    rule: k,
                    by: deciders(c, k),
                });
            }
            if plain(r) {
                for t in transports(r) {
                    cover[slot(t)].add(&ps, &src);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_rules_decided_by_earlier_ones_are_found_with_their_deciders() {
        let rs = crate::iptables::parse(
            "*filter\n:INPUT DROP [0:0]\n\
             -A INPUT -p tcp --dport 20:30 -j ACCEPT\n\
             -A INPUT -p tcp -s 10.0.0.0/8 --dport 22 -j DROP\n\
             -A INPUT -p udp --dport 22 -j ACCEPT\n\
             -A INPUT -s 192.168.0.0/16 -j DROP\n\
             -A INPUT -p tcp -s 192.168.1.0/24 --dport 8080 -m limit --limit 3/min -j ACCEPT\n\
             -A INPUT -p tcp --dport 31 -j ACCEPT\n\
             -A INPUT -p tcp -m multiport --dports 22,35 -j DROP\n\
             COMMIT\n",
        )
        .expect("parses");
        let found: Vec<(usize, Vec<usize>)> =
            shadowed(&rs).into_iter().map(|s| (s.rule, s.by)).collect();
        // the 10/8 drop on 22 (accepted by the 20:30 rule), the limited 192.168.1/24 accept
        // (dropped for all of 192.168/16 before) — not the udp rule, not port 31, and not
        // 22,35 (35 is still open to decide)
        assert_eq!(found, [(1, vec![0]), (4, vec![3])]);
    }

    #[test]
    fn segments_split_and_merge_without_losing_sources() {
        let mut c = Cover::new();
        let p = |lo, hi| PortSet::from_ranges([PortRange { lo, hi }]);
        let a: IpSet = IpSet::from_nets(&["10.0.0.0/8".parse().expect("net")]);
        let b: IpSet = IpSet::from_nets(&["11.0.0.0/8".parse().expect("net")]);
        c.add(&p(100, 200), &a);
        c.add(&p(150, 300), &b);
        assert!(c.covers(&p(150, 200), &a.union(&b)));
        assert!(!c.covers(&p(100, 200), &a.union(&b)));
        assert!(c.covers(&p(100, 149), &a));
        assert!(!c.covers(&p(99, 100), &a));
        assert!(c.covers(&p(201, 300), &b));
        assert!(!c.covers(&p(201, 301), &b));
        c.add(&PortSet::from_ranges([ALL]), &a);
        assert!(c.covers(&p(0, 65535), &a));
    }
}
