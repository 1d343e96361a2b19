//! `duplicate-binding`: two bindings on one host and transport whose ports overlap and whose
//! bind addresses overlap (`0.0.0.0` covers every IPv4 address, `::` every IPv6 one and, on a
//! dual-stack host, every IPv4 one too). A sweep over bindings sorted by port per
//! (host, transport): O(n log n) plus the pairs reported.

use std::collections::HashMap;
use std::net::IpAddr;

use portolan_model::{Binding, HostId, Model, Transport};

use crate::Context;
use crate::finding::Finding;
use crate::rules::{Rule, socket};

/// Whether two bind addresses on one host conflict.
pub(crate) fn binds_overlap(a: IpAddr, b: IpAddr, dual_stack: bool) -> bool {
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

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let model = cx.model;
    let mut groups: HashMap<(HostId, Transport), Vec<usize>> = HashMap::new();
    for (i, b) in model.bindings.iter().enumerate() {
        groups.entry((b.host, b.transport)).or_default().push(i);
    }
    let mut keys: Vec<_> = groups.keys().copied().collect();
    keys.sort();
    for key in keys {
        let mut idx = groups.remove(&key).unwrap_or_default();
        idx.sort_by_key(|&i| (model.bindings[i].ports.lo, i));
        let dual = model.host(key.0).dual_stack;
        let mut active: Vec<usize> = Vec::new();
        for &i in &idx {
            let b = &model.bindings[i];
            active.retain(|&j| model.bindings[j].ports.hi >= b.ports.lo);
            for &j in &active {
                let a = &model.bindings[j];
                if binds_overlap(a.bind, b.bind, dual) {
                    out.push(finding(model, a, b));
                }
            }
            active.push(i);
        }
    }
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
    use super::binds_overlap;

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
