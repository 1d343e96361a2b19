//! Property tests: set algebra agrees with brute force, and the loader never panics.

use std::net::{IpAddr, Ipv4Addr};

use portolan_model::{IpNet, IpSet, LoadError, PortRange, PortSet, load_str};
use proptest::prelude::*;

fn range() -> impl Strategy<Value = PortRange> {
    (1u16..2000, 0u16..50).prop_map(|(lo, len)| PortRange {
        lo,
        hi: lo.saturating_add(len),
    })
}

fn set() -> impl Strategy<Value = PortSet> {
    proptest::collection::vec(range(), 0..6).prop_map(PortSet::from_ranges)
}

fn brute(s: &PortSet) -> std::collections::BTreeSet<u16> {
    s.ranges().iter().flat_map(PortRange::ports).collect()
}

proptest! {
    #[test]
    fn portset_ops_match_brute_force(a in set(), b in set(), p in 1u16..2100) {
        let (ba, bb) = (brute(&a), brute(&b));
        prop_assert_eq!(brute(&a.intersection(&b)), ba.intersection(&bb).copied().collect());
        prop_assert_eq!(brute(&a.difference(&b)), ba.difference(&bb).copied().collect());
        prop_assert_eq!(a.contains(p), ba.contains(&p));
        prop_assert_eq!(a.len() as usize, ba.len());
        // normalized: sorted, disjoint, not adjacent
        for w in a.ranges().windows(2) {
            prop_assert!(u32::from(w[0].hi) + 1 < u32::from(w[1].lo));
        }
    }

    #[test]
    fn range_overlap_is_symmetric_and_matches_intersection(a in range(), b in range()) {
        prop_assert_eq!(a.overlaps(&b), b.overlaps(&a));
        prop_assert_eq!(a.overlaps(&b), a.intersect(&b).is_some());
        prop_assert_eq!(PortSet::from_ranges([a]).covers(&b), brute(&PortSet::from_ranges([b])).is_subset(&brute(&PortSet::from_ranges([a]))));
    }

    #[test]
    fn ipset_ops_match_membership(
        nets_a in proptest::collection::vec((any::<u32>(), 8u8..=32), 0..4),
        nets_b in proptest::collection::vec((any::<u32>(), 8u8..=32), 0..4),
        probes in proptest::collection::vec(any::<u32>(), 16),
    ) {
        let mk = |v: &[(u32, u8)]| -> Vec<IpNet> {
            v.iter().map(|(a, p)| {
                let mask = if *p == 0 { 0 } else { u32::MAX << (32 - u32::from(*p)) };
                IpNet { addr: IpAddr::V4(Ipv4Addr::from(a & mask)), prefix: *p }
            }).collect()
        };
        let (na, nb) = (mk(&nets_a), mk(&nets_b));
        let (a, b) = (IpSet::from_nets(&na), IpSet::from_nets(&nb));
        let mut probes: Vec<IpAddr> = probes.iter().map(|x| IpAddr::V4(Ipv4Addr::from(*x))).collect();
        probes.extend(na.iter().chain(&nb).map(|n| n.addr));
        for ip in probes {
            let (ia, ib) = (na.iter().any(|n| n.contains(ip)), nb.iter().any(|n| n.contains(ip)));
            prop_assert_eq!(a.contains(ip), ia);
            prop_assert_eq!(a.union(&b).contains(ip), ia || ib);
            prop_assert_eq!(a.intersection(&b).contains(ip), ia && ib);
            prop_assert_eq!(a.difference(&b).contains(ip), ia && !ib);
        }
        prop_assert_eq!(a.is_subset(&a.union(&b)), true);
        // to_nets round-trips
        prop_assert_eq!(IpSet::from_nets(&a.to_nets()), a.clone());
    }
}

/// Spec-shaped text: real keys and sections with arbitrary values, to get past the TOML
/// parser into serde and the resolver.
pub(crate) fn spec_text() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("port"),
        Just("bind"),
        Just("host"),
        Just("hosts"),
        Just("exposure"),
        Just("publisher"),
        Just("range"),
        Just("networks"),
        Just("firewall"),
        Just("transport"),
        Just("tls"),
        Just("auth"),
        Just("target"),
        Just("from"),
        Just("to"),
        Just("project"),
        Just("block"),
        Just("environment"),
        Just("app"),
        Just("prot"),
    ];
    let value = prop_oneof![
        Just("0".to_string()),
        Just("70000".to_string()),
        Just("\"5399-5000\"".to_string()),
        Just("\"abc\"".to_string()),
        Just("\"127.0.0.1\"".to_string()),
        Just("\"::\"".to_string()),
        Just("\"lan\"".to_string()),
        Just("[\"a\", \"b\"]".to_string()),
        Just("\"192.168.1.10/24\"".to_string()),
        Just("true".to_string()),
        Just("\"docker\"".to_string()),
        Just("{}".to_string()),
        Just("\"a.http\"".to_string()),
        (1u32..70000).prop_map(|n| n.to_string()),
        "\"[a-z0-9.:/-]{0,12}\"",
    ];
    let header = prop_oneof![
        Just("[services.a]"),
        Just("[services.a.bindings.http]"),
        Just("[services.b.bindings.x]"),
        Just("[hosts.a]"),
        Just("[hosts.b.firewall]"),
        Just("[projects.p]"),
        Just("[networks]"),
        Just("[[routes]]"),
        Just("[[flows]]"),
        Just("[lint]"),
        Just("[services.a.env.production]"),
        Just("[[reservations]]"),
        Just("[[services.a.lint.allow]]"),
        Just("[services.a.lint]"),
        Just("[services]"),
        Just("[\"services\".'a']"),
        Just("[[hosts.a.firewall.rules]]"),
        Just("[[services]]"),
        Just("[routes.x]"),
    ];
    let line = prop_oneof![
        header.prop_map(str::to_string),
        (key.clone(), value.clone()).prop_map(|(k, v)| format!("{k} = {v}")),
        (key.clone(), value.clone()).prop_map(|(k, v)| format!("bindings.http = {{ {k} = {v} }}")),
        (key, value).prop_map(|(k, v)| format!("a.bindings.http.{k} = {v}")),
        Just("services.a.hosts = [\"a\"]".to_string()),
        Just("rule = \"internal-exposed\"\nreason = \"why\"".to_string()),
        "[ -~]{0,20}",
    ];
    proptest::collection::vec(line, 0..14).prop_map(|v| v.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn loader_never_panics_and_locates_errors(text in spec_text()) {
        match load_str("ports.toml", &text) {
            Ok(model) => {
                for u in &model.unresolved {
                    prop_assert!(u.loc.end as usize <= text.len());
                }
            }
            Err(LoadError::Invalid { errors, .. }) => {
                prop_assert!(!errors.is_empty());
                for e in errors {
                    if let Some(l) = e.loc {
                        prop_assert!(l.start as usize <= text.len(), "{} beyond the text", l.start);
                    }
                }
            }
            Err(e) => prop_assert!(false, "unexpected error kind {e}"),
        }
    }
}
