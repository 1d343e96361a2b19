//! `duplicate-binding`: two bindings on one host and transport whose ports overlap and whose
//! bind addresses overlap (`0.0.0.0` covers every IPv4 address, `::` every IPv6 one and, on a
//! dual-stack host, every IPv4 one too). A sweep over bindings sorted by port per
//! (host, transport), with the open bindings indexed by address and family, so a binding
//! meets only the ones it conflicts with: O(n log n) plus what is reported. A binding that
//! conflicts with more than a few earlier ones is reported once, with the first few and a
//! count (a thousand services on `1-65535` give a thousand findings, not half a million).

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use portolan_model::{Binding, HostId, Model, Transport};

use crate::Context;
use crate::finding::Finding;
use crate::rules::sweep::{LIST, Open, first_of};
use crate::rules::{Rule, socket};

/// Whether two bind addresses on one host conflict: what [`Index::conflicts`] answers for
/// all open bindings at once, kept as the definition the tests check it against.
#[cfg(test)]
fn binds_overlap(a: IpAddr, b: IpAddr, dual_stack: bool) -> bool {
    if a == b {
        return true;
    }
    let wild = |x: IpAddr| x.is_unspecified();
    match (a, b) {
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => wild(a) || wild(b),
        // `::` with IPV6_V6ONLY off takes every IPv4 address as well
        (IpAddr::V6(x), IpAddr::V4(_)) | (IpAddr::V4(_), IpAddr::V6(x)) => {
            dual_stack && x.is_unspecified()
        }
    }
}

/// The open bindings of one (host, transport), by position in port order.
#[derive(Default)]
struct Index {
    by_addr: HashMap<IpAddr, BTreeSet<usize>>,
    v4: BTreeSet<usize>,
    v6: BTreeSet<usize>,
}

const EMPTY: &BTreeSet<usize> = &BTreeSet::new();

impl Index {
    fn family(&mut self, a: IpAddr) -> &mut BTreeSet<usize> {
        if a.is_ipv4() {
            &mut self.v4
        } else {
            &mut self.v6
        }
    }

    fn insert(&mut self, a: IpAddr, pos: usize) {
        self.by_addr.entry(a).or_default().insert(pos);
        self.family(a).insert(pos);
    }

    fn remove(&mut self, a: IpAddr, pos: usize) {
        if let Some(s) = self.by_addr.get_mut(&a) {
            s.remove(&pos);
        }
        self.family(a).remove(&pos);
    }

    fn at(&self, a: IpAddr) -> &BTreeSet<usize> {
        self.by_addr.get(&a).unwrap_or(EMPTY)
    }

    /// Disjoint sets of the open bindings an address conflicts with ([`binds_overlap`]).
    fn conflicts(&self, a: IpAddr, dual: bool) -> Vec<&BTreeSet<usize>> {
        let any4: IpAddr = std::net::Ipv4Addr::UNSPECIFIED.into();
        let any6: IpAddr = std::net::Ipv6Addr::UNSPECIFIED.into();
        let mut sets = match a {
            _ if a == any4 => vec![&self.v4],
            _ if a == any6 => vec![&self.v6],
            IpAddr::V4(_) => vec![self.at(a), self.at(any4)],
            IpAddr::V6(_) => vec![self.at(a), self.at(any6)],
        };
        if dual {
            if a == any6 {
                sets.push(&self.v4);
            } else if a.is_ipv4() {
                sets.push(self.at(any6));
            }
        }
        sets
    }
}

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    check_by(cx.model, out, sweep);
}

/// The bindings of one (host, transport), sorted by first port, into findings.
type Group = fn(&Model, &[usize], bool, &mut Vec<Finding>);

fn check_by(model: &Model, out: &mut Vec<Finding>, group: Group) {
    let mut groups: HashMap<(HostId, Transport), Vec<usize>> = HashMap::new();
    for (i, b) in model.bindings.iter().enumerate() {
        groups.entry((b.host, b.transport)).or_default().push(i);
    }
    let mut keys: Vec<_> = groups.keys().copied().collect();
    keys.sort();
    for key in keys {
        let mut idx = groups.remove(&key).unwrap_or_default();
        idx.sort_by_key(|&i| (model.bindings[i].ports.lo, i));
        group(model, &idx, model.host(key.0).dual_stack, out);
    }
}

/// The sweep: each binding meets the open bindings it conflicts with, through the index.
fn sweep(model: &Model, idx: &[usize], dual: bool, out: &mut Vec<Finding>) {
    let mut open = Open::default();
    let mut index = Index::default();
    for (pos, &i) in idx.iter().enumerate() {
        let b = &model.bindings[i];
        open.expire(b.ports.lo, |p| index.remove(model.bindings[idx[p]].bind, p));
        let sets = index.conflicts(b.bind, dual);
        let count: usize = sets.iter().map(|s| s.len()).sum();
        let first = first_of(&sets, LIST)
            .into_iter()
            .map(|p| &model.bindings[idx[p]]);
        report(model, b, first, count, out);
        index.insert(b.bind, pos);
        open.push(b.ports.hi, pos);
    }
}

/// Reports binding `b` against the `count` earlier bindings it conflicts with (`first`, the
/// first [`LIST`] of them in port order): one finding per pair, or one summary if crowded.
fn report<'m>(
    model: &'m Model,
    b: &'m Binding,
    first: impl Iterator<Item = &'m Binding>,
    count: usize,
    out: &mut Vec<Finding>,
) {
    if count <= LIST {
        out.extend(first.map(|a| finding(model, a, b)));
    } else {
        let first: Vec<&Binding> = first.collect();
        out.push(crowded(model, b, &first, count));
    }
}

/// One finding for a binding that conflicts with `count` earlier ones (`first` of them).
fn crowded(model: &Model, b: &Binding, first: &[&Binding], count: usize) -> Finding {
    let host = model.host(b.host);
    let nb = b.qualified_name(model);
    let listed: Vec<String> = first
        .iter()
        .map(|a| format!("`{}` ({})", a.qualified_name(model), socket(a)))
        .collect();
    let mut f = Finding::new(
        Rule::DuplicateBinding,
        format!(
            "ports {}/{} on host `{}`: `{nb}` ({}) overlaps {count} other bindings: {} and {} more",
            b.ports,
            b.transport.as_str(),
            host.name,
            socket(b),
            listed.join(", "),
            count - first.len()
        ),
    )
    .subject(nb.clone())
    .at(b.port_loc, format!("`{nb}` binds {}", socket(b)));
    for a in first {
        let na = a.qualified_name(model);
        f = f
            .subject(na.clone())
            .at(a.port_loc, format!("`{na}` binds {}", socket(a)));
    }
    f.help("give each binding its own port (`portolan alloc` picks free ones), or bind them to different addresses")
}

fn finding(model: &Model, a: &Binding, b: &Binding) -> Finding {
    let host = model.host(a.host);
    let shared = a.ports.intersect(&b.ports).unwrap_or(a.ports);
    let (na, nb) = (a.qualified_name(model), b.qualified_name(model));
    let mut f = Finding::new(
        Rule::DuplicateBinding,
        format!(
            "port {shared}/{} on host `{}` is bound twice: `{na}` ({}) and `{nb}` ({})",
            a.transport.as_str(),
            host.name,
            socket(a),
            socket(b)
        ),
    )
    .subject(na.clone())
    .subject(nb.clone())
    .at(b.port_loc, format!("`{nb}` binds {}", socket(b)))
    .at(a.port_loc, format!("`{na}` binds {}", socket(a)));
    f = if a.bind == b.bind {
        f
    } else {
        f.note(format!(
            "{} and {} overlap: a wildcard address takes the port on every address of its family",
            a.bind, b.bind
        ))
    };
    f.help("give one of them another port (`portolan alloc` picks a free one), or bind them to different addresses")
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use portolan_model::load_str;
    use proptest::prelude::*;

    use super::*;

    /// The rule before the sweep, kept as the reference: every open binding tried against
    /// the new one with [`binds_overlap`] (quadratic on wide ranges), through the same
    /// reporting policy.
    fn pairwise(model: &Model, idx: &[usize], dual: bool, out: &mut Vec<Finding>) {
        let mut active: Vec<usize> = Vec::new();
        for &i in idx {
            let b = &model.bindings[i];
            active.retain(|&j| model.bindings[j].ports.hi >= b.ports.lo);
            let hits: Vec<&Binding> = active
                .iter()
                .map(|&j| &model.bindings[j])
                .filter(|a| binds_overlap(a.bind, b.bind, dual))
                .collect();
            report(model, b, hits.iter().copied().take(LIST), hits.len(), out);
            active.push(i);
        }
    }

    const BINDS: [&str; 7] = [
        "0.0.0.0",
        "127.0.0.1",
        "192.168.1.10",
        "::",
        "::1",
        "fd00::5",
        "10.0.0.7",
    ];

    /// A spec of services on two hosts, ports drawn from a narrow window so overlaps are
    /// common, some on the whole port range so some bindings conflict with many.
    fn spec(bs: &[(u8, u16, u16, bool, usize, bool)], dual: (bool, bool)) -> String {
        let mut s = String::from("[networks]\nlan = \"192.168.1.0/24\"\n");
        let _ = writeln!(
            s,
            "[hosts.h0]\nnetworks = [\"lan\"]\ndual-stack = {}",
            dual.0
        );
        let _ = writeln!(
            s,
            "[hosts.h1]\nnetworks = [\"lan\"]\ndual-stack = {}",
            dual.1
        );
        for (i, &(host, lo, len, udp, bind, wide)) in bs.iter().enumerate() {
            let ports = if wide {
                "1-65535".to_string()
            } else {
                format!("{lo}-{}", lo + len)
            };
            let _ = writeln!(
                s,
                "[services.s{i:02}]\nhosts = [\"h{host}\"]\nbindings.b = {{ port = \"{ports}\", transport = \"{}\", bind = \"{}\", exposure = \"lan\" }}",
                if udp { "udp" } else { "tcp" },
                BINDS[bind]
            );
        }
        s
    }

    fn sorted(mut v: Vec<Finding>) -> Vec<String> {
        let mut s: Vec<String> = v.drain(..).map(|f| format!("{f:?}")).collect();
        s.sort();
        s
    }

    proptest! {
        #[test]
        fn sweep_reports_exactly_what_pairwise_comparison_does(
            bs in proptest::collection::vec(
                (0u8..2, 1000u16..1040, 0u16..6, any::<bool>(), 0usize..BINDS.len(), proptest::bool::weighted(0.08)),
                0..40,
            ),
            dual in (any::<bool>(), any::<bool>()),
        ) {
            let model = load_str("p.toml", &spec(&bs, dual)).expect("valid spec");
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            check_by(&model, &mut fast, sweep);
            check_by(&model, &mut slow, pairwise);
            prop_assert_eq!(sorted(fast), sorted(slow));
        }
    }

    #[test]
    fn a_thousand_wide_bindings_give_a_thousand_findings_not_half_a_million() {
        let bs: Vec<_> = (0..1000).map(|i| (0, 1, 0, false, i % 2, true)).collect();
        let model = load_str("p.toml", &spec(&bs, (true, true))).expect("valid spec");
        let mut out = Vec::new();
        check_by(&model, &mut out, sweep);
        // the first four each conflict with at most three earlier ones: 0+1+2+3 pairs
        assert_eq!(out.len(), 6 + 996);
        let last = out.last().expect("findings");
        assert!(
            last.message.contains("overlaps 999 other bindings"),
            "{}",
            last.message
        );
        assert_eq!(last.labels.len(), 1 + LIST);
    }

    #[test]
    fn wildcards_overlap_their_family() {
        let p = |s: &str| s.parse().unwrap();
        assert!(binds_overlap(p("0.0.0.0"), p("127.0.0.1"), true));
        assert!(!binds_overlap(p("127.0.0.1"), p("192.168.1.5"), true));
        assert!(binds_overlap(p("::"), p("10.0.0.1"), true));
        assert!(!binds_overlap(p("::"), p("10.0.0.1"), false));
        assert!(!binds_overlap(p("::1"), p("127.0.0.1"), true));
        assert!(binds_overlap(p("::"), p("0.0.0.0"), true));
    }
}
