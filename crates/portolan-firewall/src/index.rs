//! An index of a [`Ruleset`] by destination port, so a packet is evaluated against the rules
//! that can match its port instead of every rule: 40,000-rule dumps evaluate in near-linear
//! time overall.
//!
//! Per chain, the rules without a port match are kept in order; the port-specific ones are
//! filed under every segment of the port space (cut at the rules' own port boundaries) they
//! cover — by destination port (`dport`) or, for rules that match only the port before DNAT,
//! by that port. A rule that spans more than [`WIDE`] segments is kept with the port-less
//! ones and checked directly, so building the index stays near-linear too. A query merges
//! the candidate lists back into rule order; the evaluator then applies its usual match
//! test, so an index can only skip rules that cannot match. Jump targets are looked up by
//! (table group, name) in a map.

use std::collections::HashMap;

use portolan_model::PortSet;

use crate::{Chain, FwRule, Ruleset};

/// A rule spanning more segments than this is checked on every query instead of being filed
/// under each segment.
pub const WIDE: usize = 64;

/// Rule positions filed by port segment.
#[derive(Clone, Debug, Default)]
struct PortMap {
    /// Segment starts, sorted (segment `k` is `starts[k] ..= starts[k + 1] - 1`).
    starts: Vec<u32>,
    /// Rule positions covering each segment, ascending.
    rules: Vec<Vec<u32>>,
}

impl PortMap {
    fn build(entries: &[(u32, &PortSet)]) -> (PortMap, Vec<u32>) {
        let mut starts: Vec<u32> = entries
            .iter()
            .flat_map(|(_, ps)| {
                ps.ranges()
                    .iter()
                    .flat_map(|r| [u32::from(r.lo), u32::from(r.hi) + 1])
            })
            .collect();
        starts.push(0);
        starts.sort_unstable();
        starts.dedup();
        let mut rules = vec![Vec::new(); starts.len()];
        let mut wide = Vec::new();
        for &(pos, ps) in entries {
            let segs: Vec<(usize, usize)> = ps
                .ranges()
                .iter()
                .map(|r| {
                    let a = starts.partition_point(|s| *s < u32::from(r.lo));
                    let b = starts.partition_point(|s| *s <= u32::from(r.hi));
                    (a, b)
                })
                .collect();
            let n: usize = segs.iter().map(|(a, b)| b - a).sum();
            if n > WIDE {
                wide.push(pos);
                continue;
            }
            for (a, b) in segs {
                for list in &mut rules[a..b] {
                    list.push(pos);
                }
            }
        }
        (PortMap { starts, rules }, wide)
    }

    fn at(&self, port: u16) -> &[u32] {
        let k = self.starts.partition_point(|s| *s <= u32::from(port));
        k.checked_sub(1)
            .and_then(|k| self.rules.get(k))
            .map_or(&[], Vec::as_slice)
    }
}

/// One chain's index.
#[derive(Clone, Debug, Default)]
struct ChainIndex {
    /// Rules without a port match, and rules too wide to file: always candidates.
    always: Vec<u32>,
    /// Rules with a destination port match, by `dport`.
    by_dport: PortMap,
    /// Rules with only a pre-DNAT port match, by that port.
    by_orig: PortMap,
}

fn port_key(r: &FwRule) -> Option<(bool, &PortSet)> {
    match (&r.dports, &r.orig_dports) {
        (Some(d), _) => Some((true, d)),
        (None, Some(o)) => Some((false, o)),
        (None, None) => None,
    }
}

impl ChainIndex {
    fn build(c: &Chain) -> ChainIndex {
        let mut always = Vec::new();
        let mut d = Vec::new();
        let mut o = Vec::new();
        for (k, r) in c.rules.iter().enumerate() {
            let pos = u32::try_from(k).unwrap_or(u32::MAX);
            match port_key(r) {
                None => always.push(pos),
                Some((true, ps)) => d.push((pos, ps)),
                Some((false, ps)) => o.push((pos, ps)),
            }
        }
        let (by_dport, wide_d) = PortMap::build(&d);
        let (by_orig, wide_o) = PortMap::build(&o);
        always.extend(wide_d);
        always.extend(wide_o);
        always.sort_unstable();
        ChainIndex {
            always,
            by_dport,
            by_orig,
        }
    }
}

/// The index of one ruleset.
#[derive(Clone, Debug, Default)]
pub struct RuleIndex {
    chains: Vec<ChainIndex>,
    by_name: HashMap<(usize, String), usize>,
    /// Every `lo` and `hi + 1` of the rules' destination port ranges, sorted.
    dport_edges: Vec<u32>,
    /// The same for the pre-DNAT port ranges.
    orig_edges: Vec<u32>,
}

impl RuleIndex {
    /// Indexes every chain of `rs`.
    pub fn new(rs: &Ruleset) -> RuleIndex {
        let mut by_name = HashMap::new();
        for (k, c) in rs.chains.iter().enumerate() {
            if c.hook.is_none() {
                by_name.entry((c.group, c.name.clone())).or_insert(k);
            }
        }
        let edges = |pick: fn(&FwRule) -> Option<&PortSet>| {
            let mut v: Vec<u32> = rs
                .rules()
                .filter_map(|(_, r)| pick(r))
                .flat_map(|ps| {
                    ps.ranges()
                        .iter()
                        .flat_map(|r| [u32::from(r.lo), u32::from(r.hi) + 1])
                })
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        RuleIndex {
            chains: rs.chains.iter().map(ChainIndex::build).collect(),
            by_name,
            dport_edges: edges(|r| r.dports.as_ref()),
            orig_edges: edges(|r| r.orig_dports.as_ref()),
        }
    }

    /// The port boundaries (`lo`, `hi + 1` of every rule's ranges) within `lo..=hi`: of the
    /// destination ports, or with `orig` of the pre-DNAT ports. Between two of them every
    /// port is treated alike.
    pub fn edges(&self, orig: bool, lo: u32, hi: u32) -> &[u32] {
        let v = if orig {
            &self.orig_edges
        } else {
            &self.dport_edges
        };
        let a = v.partition_point(|e| *e < lo);
        let b = v.partition_point(|e| *e <= hi);
        &v[a..b]
    }

    /// An "index" that lists every rule as a candidate: the plain first-match walk the
    /// index is tested against.
    pub fn unindexed(rs: &Ruleset) -> RuleIndex {
        let mut ix = RuleIndex::new(rs);
        for (c, chain) in ix.chains.iter_mut().zip(&rs.chains) {
            *c = ChainIndex {
                always: (0..chain.rules.len())
                    .map(|k| u32::try_from(k).unwrap_or(u32::MAX))
                    .collect(),
                ..ChainIndex::default()
            };
        }
        ix
    }

    /// The non-base chain `name` of table group `group` (a jump target).
    pub fn chain(&self, group: usize, name: &str) -> Option<usize> {
        self.by_name.get(&(group, name.to_string())).copied()
    }

    /// Positions of the rules of chain `chain` that can match destination port `port`
    /// (before DNAT: `orig_port`), in rule order.
    pub fn candidates(&self, chain: usize, port: u16, orig_port: u16) -> Vec<usize> {
        let Some(ix) = self.chains.get(chain) else {
            return Vec::new();
        };
        let mut out: Vec<u32> = Vec::with_capacity(ix.always.len() + 4);
        out.extend(&ix.always);
        out.extend(ix.by_dport.at(port));
        out.extend(ix.by_orig.at(orig_port));
        out.sort_unstable();
        out.dedup();
        out.into_iter().map(|p| p as usize).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portolan_model::PortRange;

    fn ports(r: &[(u16, u16)]) -> PortSet {
        PortSet::from_ranges(r.iter().map(|&(lo, hi)| PortRange { lo, hi }))
    }

    #[test]
    fn segments_file_each_rule_under_the_ports_it_covers() {
        let a = ports(&[(22, 22)]);
        let b = ports(&[(20, 30), (443, 443)]);
        let c = ports(&[(0, 65535)]);
        let (m, wide) = PortMap::build(&[(0, &a), (1, &b), (2, &c)]);
        assert!(wide.is_empty());
        assert_eq!(m.at(22), [0, 1, 2]);
        assert_eq!(m.at(21), [1, 2]);
        assert_eq!(m.at(443), [1, 2]);
        assert_eq!(m.at(444), [2]);
        assert_eq!(m.at(65535), [2]);
        // many separate ranges make a rule wide: checked on every query instead
        let many: Vec<(u16, u16)> = (0..100).map(|k| (k * 10, k * 10)).collect();
        let d = ports(&many);
        let (_, wide) = PortMap::build(&[(0, &d)]);
        assert_eq!(wide, [0]);
    }
}
