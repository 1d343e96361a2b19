//! The reach computation: who *can* connect to each binding, and why.
//!
//! For every binding instance: the bind address (loopback, one interface, all interfaces of a
//! family, dual-stack `::`) × the networks of its host gives the raw reach; the host's INPUT
//! firewall narrows it — unless the port is published by Docker/Podman/a `NodePort`, whose DNAT
//! skips INPUT; then reverse-proxy routes add the reach of every listener in front, to a fixed
//! point. The declared side (exposure terms plus inbound flows) becomes the `allowed` set the
//! rules compare against. Sets are IP address sets, so "wider than" is set inclusion.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use portolan_model::net::private_space;
use portolan_model::{
    Action, Binding, BindingId, ExposureTerm, FirewallPolicy, FlowEnd, IpNet, IpSet, Model,
    Transport,
};

/// Who can reach something: containers on the host, and remote source addresses.
/// (The host itself can always connect.)
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReachSet {
    /// Containers on the same host (Docker bridges).
    pub host_internal: bool,
    /// Remote sources (shared: most bindings of a host have the same sets).
    pub sources: Arc<IpSet>,
}

impl ReachSet {
    /// Only the host itself.
    pub fn localhost() -> Self {
        Self::default()
    }

    /// Union.
    #[must_use]
    pub fn union(&self, o: &ReachSet) -> ReachSet {
        ReachSet {
            host_internal: self.host_internal || o.host_internal,
            sources: Arc::new(self.sources.union(&o.sources)),
        }
    }

    /// Whether everyone in `self` is also in `o`.
    pub fn is_subset(&self, o: &ReachSet) -> bool {
        (!self.host_internal || o.host_internal) && self.sources.is_subset(&o.sources)
    }

    /// Whether some source outside the private address space can connect.
    pub fn is_public(&self) -> bool {
        !self.sources.is_subset(private_space())
    }

    /// Whether anything beyond the host itself can connect.
    pub fn is_remote(&self) -> bool {
        !self.sources.is_empty()
    }

    /// Human description in terms of the model's network names.
    pub fn describe(&self, model: &Model) -> String {
        let mut parts = Vec::new();
        if self.sources.is_empty() {
            parts.push(if self.host_internal {
                "localhost and containers on the host".to_string()
            } else {
                "localhost only".to_string()
            });
            return parts.join(", ");
        }
        parts.push(describe_sources(model, &self.sources));
        parts.join(", ")
    }
}

/// Names a source set: `public`, `public except lan`, declared networks, or CIDRs.
pub fn describe_sources(model: &Model, set: &IpSet) -> String {
    let everything = IpSet::everything();
    if everything.is_subset(set) {
        return "public (anyone)".into();
    }
    if everything.ipv4().is_subset(set) {
        return "public (any IPv4 address)".into();
    }
    if everything.ipv6().is_subset(set) {
        return "public (any IPv6 address)".into();
    }
    if !set.is_subset(private_space()) {
        // mostly "the Internet minus something": name what is missing instead
        for (family, all) in [("IPv4", everything.ipv4()), ("IPv6", everything.ipv6())] {
            let missing = all.difference(set);
            let present = all.intersection(set);
            if !present.is_empty() && missing == private_space().intersection(&all) {
                return format!("public (any non-private {family} address)");
            }
            if !present.is_empty() && missing.to_nets().len() <= 8 && present.to_nets().len() > 8 {
                return format!(
                    "public (any {family} address except {})",
                    name_nets(model, &missing)
                );
            }
        }
    }
    name_nets(model, set)
}

fn name_nets(model: &Model, set: &IpSet) -> String {
    let mut names = Vec::new();
    let mut covered = IpSet::empty();
    for n in model.networks.iter().filter(|n| !n.builtin) {
        if n.set.is_subset(set) {
            names.push(n.name.clone());
            covered = covered.union(&n.set);
        }
    }
    let rest = set.difference(&covered).to_nets();
    names.extend(rest.iter().take(8).map(ToString::to_string));
    if rest.len() > 8 {
        names.push(format!("… ({} more networks)", rest.len() - 8));
    }
    names.join(", ")
}

/// Reach of one binding instance.
#[derive(Clone, Debug, Default)]
pub struct BindingReach {
    /// From the bind address and the host's networks alone.
    pub bound: ReachSet,
    /// What the host INPUT firewall would let through (`None`: no filtering).
    pub input_filtered: Option<ReachSet>,
    /// Effective direct reach (firewall applied unless the publisher skips it).
    pub direct: ReachSet,
    /// Reach through proxy routes.
    pub proxied: ReachSet,
    /// Direct plus proxied.
    pub total: ReachSet,
    /// Declared: exposure plus inbound flows.
    pub allowed: ReachSet,
    /// Indices of `model.routes` whose upstream is this binding.
    pub via_routes: Vec<usize>,
}

/// Reach of every binding (indexed like `model.bindings`).
#[derive(Debug, Default)]
pub struct Analysis {
    /// Per binding.
    pub reach: Vec<BindingReach>,
}

/// The Docker bridge range (`172.16.0.0/12`): where containers on a host connect from.
pub fn docker_bridges() -> &'static IpSet {
    static SET: std::sync::LazyLock<IpSet> = std::sync::LazyLock::new(|| {
        IpSet::from_nets(&["172.16.0.0/12".parse::<IpNet>().unwrap_or(IpNet::ANY_V4)])
    });
    &SET
}

/// The sources a firewall generated from the spec lets in for binding `i` — what `portolan
/// gen` allows and what `check --firewall` holds a deployed ruleset to: the declared reach
/// within what the bind address can be reached from, plus the Docker bridges when containers
/// on the host are declared.
pub fn declared_sources(model: &Model, analysis: &Analysis, id: BindingId) -> IpSet {
    let b = model.binding(id);
    let r = analysis.of(id);
    let mut sources = r.allowed.sources.intersection(&r.bound.sources);
    let containers = b
        .exposure
        .iter()
        .any(|t| matches!(t, ExposureTerm::HostInternal | ExposureTerm::Internal));
    if containers
        && r.bound.host_internal
        && (b.bind.is_ipv4() || !r.bound.sources.ipv4().is_empty())
    {
        sources = sources.union(docker_bridges());
    }
    sources
}

/// Precomputed per host: the union of its networks.
struct HostNets {
    all: IpSet,
    names: String,
}

impl HostNets {
    fn of(model: &Model, h: &portolan_model::Host) -> HostNets {
        let all = h
            .networks
            .iter()
            .fold(IpSet::empty(), |a, n| a.union(&model.network(*n).set));
        let names = h
            .networks
            .iter()
            .map(|n| model.network(*n).name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        HostNets {
            all,
            names: if names.is_empty() {
                "no network".into()
            } else {
                names
            },
        }
    }
}

/// The union of the declared (non built-in) networks.
fn declared_nets(model: &Model) -> IpSet {
    model
        .networks
        .iter()
        .filter(|n| !n.builtin)
        .fold(IpSet::empty(), |a, n| a.union(&n.set))
}

impl Analysis {
    /// The reach of binding `id`.
    pub fn of(&self, id: BindingId) -> &BindingReach {
        &self.reach[id.index()]
    }

    /// Computes reach for every binding of `model`.
    pub fn compute(model: &Model) -> Analysis {
        let hosts: Vec<HostNets> = model.hosts.iter().map(|h| HostNets::of(model, h)).collect();
        let declared_nets = declared_nets(model);
        let flows_in = inbound_flows(model);
        let mut interner: HashMap<IpSet, Arc<IpSet>> = HashMap::new();
        let mut intern = |set: &mut ReachSet| {
            let canonical = interner
                .entry((*set.sources).clone())
                .or_insert_with(|| set.sources.clone());
            set.sources = canonical.clone();
        };
        let mut intern_all = |r: &mut BindingReach| {
            intern(&mut r.bound);
            if let Some(f) = &mut r.input_filtered {
                intern(f);
            }
            intern(&mut r.direct);
            intern(&mut r.proxied);
            intern(&mut r.total);
            intern(&mut r.allowed);
        };
        let mut reach: Vec<BindingReach> = Vec::with_capacity(model.bindings.len());
        for (i, b) in model.bindings.iter().enumerate() {
            let allowed = allowed(model, b, flows_in.get(i).map_or(&[][..], Vec::as_slice));
            let mut r = one(
                model,
                b,
                &hosts[b.host.index()],
                &declared_nets,
                allowed,
                &mut Why(None),
            );
            intern_all(&mut r);
            reach.push(r);
        }
        propagate_routes(model, &mut reach);
        for r in reach.iter_mut().filter(|r| !r.via_routes.is_empty()) {
            intern_all(r);
        }
        Analysis { reach }
    }
}

/// Collects reasons only when asked to (formatting them for every binding of a large spec
/// costs more than the reach computation itself).
struct Why(Option<Vec<String>>);

impl Why {
    fn add(&mut self, line: impl FnOnce() -> String) {
        if let Some(v) = &mut self.0 {
            v.push(line());
        }
    }

    fn enabled(&self) -> bool {
        self.0.is_some()
    }
}

impl Analysis {
    /// The chain of reasons behind binding `i`'s reach (bind address, networks, publisher,
    /// firewall rules, routes), recomputed on demand.
    pub fn explain(&self, model: &Model, id: BindingId) -> Vec<String> {
        let b = model.binding(id);
        let hn = HostNets::of(model, model.host(b.host));
        let declared_nets = declared_nets(model);
        let mut why = Why(Some(Vec::new()));
        let _ = one(
            model,
            b,
            &hn,
            &declared_nets,
            self.of(id).allowed.clone(),
            &mut why,
        );
        let mut lines = why.0.unwrap_or_default();
        for &ri in &self.of(id).via_routes {
            let route = &model.routes[ri];
            let l = model.binding(route.from);
            lines.push(format!(
                "proxied by route {} → {} ({}), whose listener is reachable from: {}",
                l.qualified_name(model),
                b.qualified_name(model),
                model.sources.position(route.loc),
                self.reach[route.from.index()].total.describe(model)
            ));
        }
        lines
    }
}

fn one(
    model: &Model,
    b: &Binding,
    hn: &HostNets,
    declared_nets: &IpSet,
    allowed: ReachSet,
    why: &mut Why,
) -> BindingReach {
    let host = model.host(b.host);
    let bound = match b.bind {
        ip if ip.is_loopback() => {
            why.add(|| format!("bound to {ip}: loopback only"));
            ReachSet::localhost()
        }
        IpAddr::V4(ip) if ip.is_unspecified() => {
            why.add(|| {
                format!(
                    "bound to 0.0.0.0 (every IPv4 interface) on host `{}`, which is on: {}",
                    host.name, hn.names
                )
            });
            ReachSet {
                host_internal: true,
                sources: Arc::new(hn.all.ipv4()),
            }
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            let sources = if host.dual_stack {
                hn.all.clone()
            } else {
                hn.all.ipv6()
            };
            why.add(|| {
                format!(
                    "bound to :: (every {} interface) on host `{}`, which is on: {}",
                    if host.dual_stack {
                        "IPv6 and, dual-stack, IPv4"
                    } else {
                        "IPv6"
                    },
                    host.name,
                    hn.names
                )
            });
            ReachSet {
                host_internal: true,
                sources: Arc::new(sources),
            }
        }
        ip => {
            if docker_bridges().contains(ip) && !declared_nets.contains(ip) {
                why.add(|| {
                    format!("bound to {ip}, a container bridge address: containers on the host")
                });
                ReachSet {
                    host_internal: true,
                    sources: Arc::new(IpSet::empty()),
                }
            } else {
                let mut sources = IpSet::empty();
                let mut names = Vec::new();
                for n in &host.networks {
                    let net = model.network(*n);
                    if net.builtin {
                        if !private_space().contains(ip) {
                            sources = sources.union(&net.set);
                            names.push(net.name.as_str());
                        }
                    } else if net.set.contains(ip) {
                        sources = sources.union(&net.set);
                        names.push(net.name.as_str());
                    }
                }
                if names.is_empty() {
                    sources = hn.all.clone();
                    why.add(|| format!("bound to {ip}, in none of host `{}`'s networks: assumed reachable from all of them ({})", host.name, hn.names));
                } else {
                    why.add(|| format!("bound to {ip}, on network {}", names.join(", ")));
                }
                let sources = if ip.is_ipv4() {
                    sources.ipv4()
                } else {
                    sources.ipv6()
                };
                ReachSet {
                    host_internal: true,
                    sources: Arc::new(sources),
                }
            }
        }
    };
    let input_filtered = filter(model, b, &bound, &allowed, why);
    let bypass = b.publisher.bypasses_input_firewall();
    let direct = match (&input_filtered, bypass) {
        (Some(f), false) => f.clone(),
        (Some(_), true) => {
            why.add(|| format!(
                "published by {}: its DNAT happens before the host INPUT chain, so the {} firewall does not apply",
                b.publisher.as_str(),
                host.firewall.kind.as_str()
            ));
            bound.clone()
        }
        (None, _) => bound.clone(),
    };
    BindingReach {
        bound,
        input_filtered,
        total: direct.clone(),
        direct,
        proxied: ReachSet::localhost(),
        allowed,
        via_routes: Vec::new(),
    }
}

/// What the host's INPUT firewall lets through; `None` when it does not filter.
fn filter(
    model: &Model,
    b: &Binding,
    bound: &ReachSet,
    allowed: &ReachSet,
    why: &mut Why,
) -> Option<ReachSet> {
    let host = model.host(b.host);
    let fw = &host.firewall;
    match &fw.policy {
        FirewallPolicy::Open => None,
        FirewallPolicy::FromSpec => {
            let r = ReachSet {
                host_internal: bound.host_internal && allowed.host_internal,
                sources: Arc::new(bound.sources.intersection(&allowed.sources)),
            };
            if !b.publisher.bypasses_input_firewall() && r != *bound {
                why.add(|| format!("host firewall ({}, generated from the spec) narrows it to the declared exposure", fw.kind.as_str()));
            }
            Some(r)
        }
        FirewallPolicy::Rules { inbound, rules } => {
            let bridges = docker_bridges();
            let remaining = if bound.host_internal {
                bound.sources.union(bridges)
            } else {
                (*bound.sources).clone()
            };
            let decisions = rule_decisions(rules, *inbound, b, remaining);
            let mut accepted = IpSet::empty();
            let mut used = Vec::new();
            for d in &decisions {
                if d.allow {
                    accepted = accepted.union(&d.sources);
                }
                if let Some(k) = d.rule
                    && why.enabled()
                {
                    let r = &rules[k];
                    used.push(format!(
                        "{} from {} ({})",
                        if d.allow { "allow" } else { "deny" },
                        r.from_label,
                        model.sources.position(r.loc)
                    ));
                }
            }
            let r = ReachSet {
                host_internal: bound.host_internal && accepted.intersects(bridges),
                sources: Arc::new(bound.sources.intersection(&accepted)),
            };
            let policy = if *inbound == Action::Allow {
                "allow"
            } else {
                "deny"
            };
            if used.is_empty() {
                why.add(|| {
                    format!(
                        "host firewall ({}): no rule matches port {}/{}, default {policy}",
                        fw.kind.as_str(),
                        b.ports,
                        b.transport.as_str()
                    )
                });
            } else {
                why.add(|| {
                    format!(
                        "host firewall ({}): {}; default {policy}",
                        fw.kind.as_str(),
                        used.join("; ")
                    )
                });
            }
            Some(r)
        }
    }
}

/// What one rule (or the default policy) of a deployed spec firewall does with some sources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleDecision {
    /// The sources it decides about.
    pub sources: IpSet,
    /// The rule (index into the host's `rules`); `None`: the default `inbound` policy.
    pub rule: Option<usize>,
    /// Let in (`true`) or dropped.
    pub allow: bool,
}

/// How a host's deployed spec rules decide `sources` for binding `b`, in order: for each
/// source the first rule whose transport matches and whose ports overlap the binding's
/// decides (a `deny` only when it covers all the binding's ports); the rest get `inbound`.
pub fn rule_decisions(
    rules: &[portolan_model::FirewallRule],
    inbound: Action,
    b: &Binding,
    sources: IpSet,
) -> Vec<RuleDecision> {
    let mut remaining = sources;
    let mut out = Vec::new();
    for (k, r) in rules.iter().enumerate() {
        if remaining.is_empty() {
            break;
        }
        if r.transport.is_some_and(|t| t != b.transport) {
            continue;
        }
        let (overlaps, covers) = match &r.ports {
            None => (true, true),
            Some(p) => (p.overlaps(&b.ports), p.covers(&b.ports)),
        };
        if !overlaps || (r.action == Action::Deny && !covers) {
            continue;
        }
        let matched = remaining.intersection(&r.from);
        if matched.is_empty() {
            continue;
        }
        remaining = remaining.difference(&matched);
        out.push(RuleDecision {
            sources: matched,
            rule: Some(k),
            allow: r.action == Action::Allow,
        });
    }
    if !remaining.is_empty() {
        out.push(RuleDecision {
            sources: remaining,
            rule: None,
            allow: inbound == Action::Allow,
        });
    }
    out
}

/// Declared exposure of a binding as a reach set, plus sources of inbound flows.
fn allowed(model: &Model, b: &Binding, flows: &[usize]) -> ReachSet {
    let env = model.environment(b.environment);
    let internal = if env.internal.is_empty() {
        private_space().clone()
    } else {
        env.internal.clone()
    };
    let mut r = ReachSet::localhost();
    for t in &b.exposure {
        match t {
            ExposureTerm::Localhost => {}
            ExposureTerm::HostInternal => r.host_internal = true,
            ExposureTerm::Internal => {
                r = r.union(&ReachSet {
                    host_internal: true,
                    sources: Arc::new(internal.clone()),
                });
            }
            ExposureTerm::Public => {
                r = r.union(&ReachSet {
                    host_internal: true,
                    sources: Arc::new(IpSet::everything()),
                });
            }
            ExposureTerm::Network(id) => {
                r = r.union(&ReachSet {
                    host_internal: true,
                    sources: Arc::new(model.network(*id).set.clone()),
                });
            }
            ExposureTerm::Cidr(n) => {
                r = r.union(&ReachSet {
                    host_internal: true,
                    sources: Arc::new(IpSet::from_nets(&[*n])),
                });
            }
        }
    }
    for &f in flows {
        let flow = &model.flows[f];
        let sources = match &flow.from {
            FlowEnd::Public => IpSet::everything(),
            FlowEnd::Network(id) => model.network(*id).set.clone(),
            FlowEnd::Cidr(n) => IpSet::from_nets(&[*n]),
            FlowEnd::Service(s) | FlowEnd::Binding(s, _) => {
                let mut set = IpSet::empty();
                for src in model.bindings_of(*s) {
                    if src.host == b.host {
                        continue;
                    }
                    let h = model.host(src.host);
                    if h.addresses.is_empty() {
                        let e = model.environment(h.environment);
                        set = set.union(if e.internal.is_empty() {
                            &internal
                        } else {
                            &e.internal
                        });
                    } else {
                        let nets: Vec<IpNet> =
                            h.addresses.iter().map(|a| IpNet::host(*a)).collect();
                        set = set.union(&IpSet::from_nets(&nets));
                    }
                }
                set
            }
            FlowEnd::External { .. } => IpSet::empty(),
        };
        r = r.union(&ReachSet {
            host_internal: r.host_internal,
            sources: Arc::new(sources),
        });
    }
    r
}

/// For each binding index, the flows whose destination is it.
fn inbound_flows(model: &Model) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); model.bindings.len()];
    for (i, f) in model.flows.iter().enumerate() {
        let (svc, name) = match &f.to {
            FlowEnd::Service(s) => (*s, None),
            FlowEnd::Binding(s, n) => (*s, Some(n.as_str())),
            _ => continue,
        };
        for bi in model.service(svc).bindings.clone() {
            let b = &model.bindings[bi];
            if name.is_none_or(|n| n == b.name)
                && (f.transport == b.transport || matches!(f.transport, Transport::Tcp))
            {
                out[bi].push(i);
            }
        }
    }
    out
}

fn propagate_routes(model: &Model, reach: &mut [BindingReach]) {
    for (i, r) in model.routes.iter().enumerate() {
        reach[r.to.index()].via_routes.push(i);
    }
    // Monotone fixed point: a route makes its upstream reachable from wherever its listener is.
    let mut changed = true;
    let mut rounds = 0;
    while changed && rounds <= model.routes.len() + 1 {
        changed = false;
        rounds += 1;
        for r in &model.routes {
            let from = reach[r.from.index()].total.clone();
            let to = &mut reach[r.to.index()];
            if !from.is_subset(&to.total) {
                to.proxied = to.proxied.union(&from);
                to.total = to.total.union(&from);
                changed = true;
            }
        }
    }
}
