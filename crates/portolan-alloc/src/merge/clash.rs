//! Ports a merge would give to two holders: key by key the merge can be clean while each
//! side handed 8003 to another service, or reserved a port the other allocated. A clash
//! counts only when neither side had it before the merge (specs that already bind one
//! port twice are `lint`'s business), and holders are counted the way `alloc` counts
//! them: a service's bindings on any host and either transport, unless its lease has run
//! out; a reservation, unless past its `until` date.

use std::collections::BTreeSet;

use portolan_model::{Model, PortRange};

use crate::policy::reservation_expired;

/// One port (or run) held by two holders in the merged spec and by neither pair before.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Clash {
    /// The ports both hold.
    pub ports: PortRange,
    /// The two holders (``service `search` ``, `reservation 8010 (vendor demo)`), sorted.
    pub holders: (String, String),
}

impl std::fmt::Display for Clash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "port {} would be held by {} and by {}",
            self.ports, self.holders.0, self.holders.1
        )
    }
}

fn holders(model: &Model, now: i64) -> Vec<(PortRange, String)> {
    let mut out = Vec::new();
    for s in &model.services {
        if s.lease_until.is_some_and(|t| t <= now) {
            continue;
        }
        for b in &model.bindings[s.bindings.clone()] {
            out.push((b.ports, format!("service `{}`", s.name)));
        }
    }
    for r in &model.reservations {
        if reservation_expired(r.until.as_deref(), now) {
            continue;
        }
        for p in r.ports.ranges() {
            out.push((*p, format!("reservation {} ({})", r.ports, r.why)));
        }
    }
    out
}

/// Every overlapping pair of distinct holders.
fn pairs(model: &Model, now: i64) -> BTreeSet<Clash> {
    let mut hs = holders(model, now);
    hs.sort_by_key(|(r, _)| (r.lo, r.hi));
    let mut out = BTreeSet::new();
    let mut active: Vec<(PortRange, &str)> = Vec::new();
    for (r, h) in &hs {
        active.retain(|(a, _)| a.hi >= r.lo);
        for (a, other) in &active {
            if other != h
                && let Some(both) = a.intersect(r)
            {
                let (x, y) = if *other < h.as_str() {
                    (other.to_string(), h.clone())
                } else {
                    (h.clone(), other.to_string())
                };
                out.insert(Clash {
                    ports: both,
                    holders: (x, y),
                });
            }
        }
        active.push((*r, h));
    }
    out
}

/// Clashes of `merged` that neither `local` nor `registry` had (texts that do not load
/// contribute nothing: the caller reports those).
pub fn clashes(local: &str, registry: &str, merged: &str, now: i64) -> Vec<Clash> {
    let load = |t: &str| portolan_model::load_str("ports.toml", t).ok();
    let Some(m) = load(merged) else {
        return Vec::new();
    };
    let before: BTreeSet<(String, String)> = [local, registry]
        .iter()
        .filter_map(|t| load(t))
        .flat_map(|m| pairs(&m, now))
        .map(|c| c.holders)
        .collect();
    pairs(&m, now)
        .into_iter()
        .filter(|c| !before.contains(&c.holders))
        .collect()
}
