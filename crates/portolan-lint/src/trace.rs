//! The layer-by-layer trace of who reaches one binding, per address family: the bind
//! address, the host's networks, the publisher (Docker/Podman/`NodePort` DNAT before INPUT),
//! the host firewall (the spec's rules, a spec-managed firewall, or a deployed ruleset read
//! by `portolan-firewall` with its `file:line`), then the proxy routes in front (whose
//! listeners' reach is already at its fixed point in the [`Analysis`]).
//!
//! Each layer keeps the part of the traced sources that gets past it, what decided, and
//! where that is written, so `portolan why` can print it and an `[[expect]]` that fails can
//! name the layer that decides. Without a deployed ruleset, the direct reach of the last
//! layer equals the analysis' `direct` reach (a test holds the two together).

use std::fmt::Write as _;

use portolan_firewall::eval;
use portolan_firewall::{Hook, all_v4, all_v6};
use portolan_model::{Binding, BindingId, FirewallPolicy, IpSet, Loc, Model};

use crate::firewall_drift::{Dump, show};
use crate::reach::{Analysis, describe_sources, docker_bridges, rule_decisions};

/// An IP address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddrFamily {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl AddrFamily {
    /// `IPv4` / `IPv6`.
    pub fn as_str(self) -> &'static str {
        match self {
            AddrFamily::V4 => "IPv4",
            AddrFamily::V6 => "IPv6",
        }
    }

    /// Every address of the family.
    pub fn all(self) -> IpSet {
        match self {
            AddrFamily::V4 => all_v4(),
            AddrFamily::V6 => all_v6(),
        }
    }

    /// The families `f` names (`both`: IPv4 then IPv6).
    pub fn of(f: portolan_model::expect::Family) -> &'static [AddrFamily] {
        match f {
            portolan_model::expect::Family::V4 => &[AddrFamily::V4],
            portolan_model::expect::Family::V6 => &[AddrFamily::V6],
            portolan_model::expect::Family::Both => &[AddrFamily::V4, AddrFamily::V6],
        }
    }
}

/// A layer of the path to a binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// The bind address.
    Bind,
    /// The networks of the host.
    Networks,
    /// Who opens the port (host, or a DNAT by Docker/Podman/a `NodePort`).
    Publish,
    /// The host firewall.
    Firewall,
    /// A reverse-proxy route in front.
    Route,
}

impl Layer {
    /// `bind`, `networks`, `publish`, `firewall`, `route`.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Bind => "bind",
            Layer::Networks => "networks",
            Layer::Publish => "publish",
            Layer::Firewall => "firewall",
            Layer::Route => "route",
        }
    }
}

/// Who is traced: remote addresses, or the containers on the binding's host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The addresses (for containers: the Docker bridge range).
    pub set: IpSet,
    /// Containers on the host (they reach non-loopback binds through the bridge, whatever
    /// networks the host is on).
    pub containers: bool,
}

impl Source {
    /// Remote addresses.
    pub fn addresses(set: IpSet) -> Self {
        Source {
            set,
            containers: false,
        }
    }

    /// The containers on the host.
    pub fn containers() -> Self {
        Source {
            set: docker_bridges().clone(),
            containers: true,
        }
    }
}

/// What one firewall rule (or policy) did with some of the traced sources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The sources it decided about.
    pub sources: IpSet,
    /// Let in (`false`: dropped, or returned).
    pub allow: bool,
    /// Returned to the calling chain: neither let in nor dropped here, the caller decides.
    pub returned: bool,
    /// The rule as a phrase (`allow 5432/tcp from lan`, `policy drop of chain input`).
    pub what: String,
    /// Where it is written (the spec, or the dump when it is in the source map).
    pub at: Option<Loc>,
    /// Where, when the dump is not in the source map (`rules.nft:12`).
    pub at_text: Option<String>,
}

/// One layer's effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Which layer.
    pub layer: Layer,
    /// The traced sources that get past it (and all layers before it).
    pub passes: IpSet,
    /// What the layer is, in a sentence.
    pub detail: String,
    /// Where the layer is written in the spec.
    pub at: Option<Loc>,
    /// For the firewall: which rule decided which sources, in order.
    pub decisions: Vec<Decision>,
}

/// A proxy route that brings some of the traced sources in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteStep {
    /// Index into `model.routes`.
    pub route: usize,
    /// The listener.
    pub listener: BindingId,
    /// The traced sources that reach the listener, and so the binding.
    pub passes: IpSet,
    /// The route as a sentence.
    pub detail: String,
    /// Where it is written.
    pub at: Loc,
}

/// The trace of one address family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FamilyTrace {
    /// The family.
    pub family: AddrFamily,
    /// The traced sources of this family.
    pub sources: IpSet,
    /// Bind, networks, publish, firewall: the direct path.
    pub steps: Vec<Step>,
    /// Who connects directly.
    pub direct: IpSet,
    /// Routes that bring some of the sources in.
    pub routes: Vec<RouteStep>,
    /// Who reaches the binding at all.
    pub reached: IpSet,
}

impl FamilyTrace {
    /// The first layer of the direct path that drops some of `set`.
    pub fn first_drop(&self, set: &IpSet) -> Option<&Step> {
        self.steps
            .iter()
            .find(|s| !set.difference(&s.passes).is_empty())
    }
}

/// The sources `b`'s bind address accepts at all (before networks).
pub fn bind_scope(model: &Model, b: &Binding) -> IpSet {
    match b.bind {
        ip if ip.is_loopback() => IpSet::empty(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            if model.host(b.host).dual_stack {
                IpSet::everything()
            } else {
                all_v6()
            }
        }
        ip if ip.is_ipv4() => all_v4(),
        _ => all_v6(),
    }
}

fn bind_step(model: &Model, b: &Binding, src: &Source, set: &IpSet) -> Step {
    let host = model.host(b.host);
    let scope = bind_scope(model, b);
    let (passes, detail) = if b.bind.is_loopback() {
        (
            IpSet::empty(),
            format!("bound to {}: loopback only", b.bind),
        )
    } else if src.containers {
        (
            set.clone(),
            format!(
                "bound to {}: containers on host `{}` connect through the bridge",
                b.bind, host.name
            ),
        )
    } else {
        let what = match b.bind {
            std::net::IpAddr::V4(ip) if ip.is_unspecified() => "every IPv4 interface".to_string(),
            std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
                if host.dual_stack {
                    "every interface, IPv6 and (dual-stack) IPv4".to_string()
                } else {
                    "every IPv6 interface (not dual-stack)".to_string()
                }
            }
            ip => format!("one {} address", if ip.is_ipv4() { "IPv4" } else { "IPv6" }),
        };
        (
            set.intersection(&scope),
            format!("bound to {}: {what}", b.bind),
        )
    };
    Step {
        layer: Layer::Bind,
        passes,
        detail: if b.bind_loc.is_none() {
            format!("{detail} (no `bind`: the default)")
        } else {
            detail
        },
        at: Some(b.bind_loc.unwrap_or(b.port_loc)),
        decisions: Vec::new(),
    }
}

fn networks_step(
    model: &Model,
    analysis: &Analysis,
    id: BindingId,
    src: &Source,
    prev: &IpSet,
) -> Step {
    let b = model.binding(id);
    let host = model.host(b.host);
    let bound = &analysis.of(id).bound;
    let names: Vec<&str> = host
        .networks
        .iter()
        .map(|n| model.network(*n).name.as_str())
        .collect();
    let (passes, detail) = if src.containers {
        if bound.host_internal {
            (
                prev.clone(),
                format!("containers are on host `{}` itself", host.name),
            )
        } else {
            (IpSet::empty(), "no container reaches it".to_string())
        }
    } else {
        (
            prev.intersection(&bound.sources),
            format!(
                "host `{}` is on: {}",
                host.name,
                if names.is_empty() {
                    "no network".to_string()
                } else {
                    names.join(", ")
                }
            ),
        )
    };
    Step {
        layer: Layer::Networks,
        passes,
        detail,
        at: host.networks_loc.or(host.loc),
        decisions: Vec::new(),
    }
}

/// The firewall step from the spec (rules as deployed, spec-managed, or none).
fn spec_firewall_step(
    model: &Model,
    analysis: &Analysis,
    id: BindingId,
    src: &Source,
    prev: &IpSet,
) -> Step {
    let b = model.binding(id);
    let host = model.host(b.host);
    let fw = &host.firewall;
    let r = analysis.of(id);
    let at = fw.loc.or(host.loc);
    match &fw.policy {
        FirewallPolicy::Open => Step {
            layer: Layer::Firewall,
            passes: prev.clone(),
            detail: format!("host `{}` has no firewall: nothing is filtered", host.name),
            at,
            decisions: Vec::new(),
        },
        FirewallPolicy::FromSpec => {
            let passes = if src.containers {
                if r.allowed.host_internal {
                    prev.clone()
                } else {
                    IpSet::empty()
                }
            } else {
                prev.intersection(&r.allowed.sources)
            };
            let declared = crate::rules::exposure_label(model, b);
            Step {
                layer: Layer::Firewall,
                passes,
                detail: format!(
                    "{} firewall generated from the spec: lets in the declared exposure ({declared}) and inbound flows",
                    fw.kind.as_str()
                ),
                at: b.exposure_loc.or(at),
                decisions: Vec::new(),
            }
        }
        FirewallPolicy::Rules { inbound, rules } => {
            let decisions = rule_decisions(rules, *inbound, b, prev.clone());
            let mut passes = IpSet::empty();
            let mut out = Vec::new();
            for d in decisions {
                if d.allow {
                    passes = passes.union(&d.sources);
                }
                let (what, loc) = match d.rule {
                    Some(k) => {
                        let rule = &rules[k];
                        let ports = rule
                            .ports
                            .as_ref()
                            .map_or_else(|| "every port".to_string(), ToString::to_string);
                        let transport =
                            rule.transport.map_or("", portolan_model::Transport::as_str);
                        (
                            format!(
                                "{} {ports}{}{transport} from {}",
                                if d.allow { "allow" } else { "deny" },
                                if transport.is_empty() { "" } else { "/" },
                                rule.from_label
                            ),
                            Some(rule.loc),
                        )
                    }
                    None => (
                        format!("default inbound {}", if d.allow { "allow" } else { "deny" }),
                        at,
                    ),
                };
                out.push(Decision {
                    sources: d.sources,
                    allow: d.allow,
                    returned: false,
                    what,
                    at: loc,
                    at_text: None,
                });
            }
            Step {
                layer: Layer::Firewall,
                passes,
                detail: format!(
                    "{} rules as deployed (first match wins, then `inbound`)",
                    fw.kind.as_str()
                ),
                at,
                decisions: out,
            }
        }
    }
}

/// The firewall step from a deployed ruleset (`--firewall` with a dump).
fn dump_firewall_step(model: &Model, b: &Binding, dump: &Dump<'_>, prev: &IpSet) -> Step {
    let rs = dump.ruleset;
    let hook = if b.publisher.bypasses_input_firewall() {
        Hook::Forward
    } else {
        Hook::Input
    };
    let mut accepted = IpSet::empty();
    let mut decisions: Vec<Decision> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let ev = eval::Evaluator::new(rs);
    for p in crate::firewall_drift::probe_ports(b, &ev) {
        let o = ev.evaluate(&crate::firewall_drift::packet(b, hook, p));
        accepted = accepted.union(&o.accepted);
        for d in o.decisions {
            let part = d.sources.intersection(prev);
            if part.is_empty() || !seen.insert((d.line, d.accepted)) {
                continue;
            }
            let what = if d.returned {
                let c = d
                    .comment
                    .as_deref()
                    .map(|c| format!(" (\"{c}\")"))
                    .unwrap_or_default();
                format!("return from chain `{}`{c}, decided further on", d.chain)
            } else if d.policy {
                format!(
                    "policy {} of chain `{}`",
                    if d.accepted { "accept" } else { "drop" },
                    d.chain
                )
            } else {
                let c = d
                    .comment
                    .as_deref()
                    .map(|c| format!(" (\"{c}\")"))
                    .unwrap_or_default();
                format!(
                    "{} in chain `{}`{c}",
                    if d.accepted { "accept" } else { "drop" },
                    d.chain
                )
            };
            decisions.push(Decision {
                sources: part,
                allow: d.accepted && !d.returned,
                returned: d.returned,
                what,
                at: dump.line_loc(d.line),
                at_text: Some(format!("{}:{}", dump.name, d.line)),
            });
        }
    }
    // families the dump does not speak for are not filtered by it
    let uncovered = IpSet::everything().difference(&rs.covered);
    let passes = prev.intersection(&accepted.union(&uncovered));
    let mut detail = format!(
        "{} ruleset {} ({} path{})",
        dump.kind.as_str(),
        dump.name,
        match hook {
            Hook::Input => "input",
            Hook::Forward => "forward",
        },
        if hook == Hook::Forward {
            ": published ports are filtered after their DNAT"
        } else {
            ""
        }
    );
    if !uncovered.intersection(prev).is_empty() {
        let _ = write!(
            detail,
            "; it does not cover {}, which passes unfiltered",
            show(&uncovered.intersection(prev))
        );
    }
    let _ = model;
    Step {
        layer: Layer::Firewall,
        passes,
        detail,
        at: None,
        decisions,
    }
}

/// The trace of `source` to binding `id`, per address family (containers: IPv4 only). With
/// `dump`, the host firewall is that deployed ruleset (and published ports take its forward
/// path) instead of what the spec says.
pub fn trace(
    model: &Model,
    analysis: &Analysis,
    id: BindingId,
    source: &Source,
    dump: Option<&Dump<'_>>,
) -> Vec<FamilyTrace> {
    let b = model.binding(id);
    let r = analysis.of(id);
    let families: &[AddrFamily] = if source.containers {
        &[AddrFamily::V4]
    } else {
        &[AddrFamily::V4, AddrFamily::V6]
    };
    let mut out = Vec::new();
    for &family in families {
        let set = source.set.intersection(&family.all());
        if set.is_empty() {
            continue;
        }
        let mut steps = Vec::new();
        let bind = bind_step(model, b, source, &set);
        let nets = networks_step(model, analysis, id, source, &bind.passes);
        let after_nets = nets.passes.clone();
        steps.push(bind);
        steps.push(nets);
        let bypass = b.publisher.bypasses_input_firewall();
        steps.push(Step {
            layer: Layer::Publish,
            passes: after_nets.clone(),
            detail: if bypass {
                format!(
                    "published by {}: its DNAT happens before the INPUT chain{}",
                    b.publisher.as_str(),
                    if dump.is_some() {
                        ", so the forward path filters it"
                    } else {
                        ", so the host firewall does not apply"
                    }
                )
            } else {
                "opened by the host itself: the INPUT chain applies".to_string()
            },
            at: b.publisher_loc.or(Some(b.port_loc)),
            decisions: Vec::new(),
        });
        let fw = match dump {
            Some(d) => dump_firewall_step(model, b, d, &after_nets),
            None if bypass => Step {
                layer: Layer::Firewall,
                passes: after_nets.clone(),
                detail: format!(
                    "the {} firewall of host `{}` is skipped for published ports",
                    model.host(b.host).firewall.kind.as_str(),
                    model.host(b.host).name
                ),
                at: model.host(b.host).firewall.loc,
                decisions: Vec::new(),
            },
            None => spec_firewall_step(model, analysis, id, source, &after_nets),
        };
        let direct = fw.passes.clone();
        steps.push(fw);
        let mut routes = Vec::new();
        let mut reached = direct.clone();
        for &ri in &r.via_routes {
            let route = &model.routes[ri];
            let l = route.from;
            let lt = &analysis.of(l).total;
            let passes = if source.containers {
                if lt.host_internal {
                    set.clone()
                } else {
                    IpSet::empty()
                }
            } else {
                set.intersection(&lt.sources)
            };
            reached = reached.union(&passes);
            let lb = model.binding(l);
            routes.push(RouteStep {
                route: ri,
                listener: l,
                detail: format!(
                    "proxied by route {} → {}: the listener on host `{}` is reachable from {}",
                    lb.qualified_name(model),
                    b.qualified_name(model),
                    model.host(lb.host).name,
                    lt.describe(model)
                ),
                passes,
                at: route.loc,
            });
        }
        out.push(FamilyTrace {
            family,
            sources: set,
            steps,
            direct,
            routes,
            reached,
        });
    }
    out
}

/// `192.168.1.0/24 (lan)`: a set with the names of the networks it covers.
pub fn name_set(model: &Model, set: &IpSet) -> String {
    if set.is_empty() {
        return "nobody".into();
    }
    let names = describe_sources(model, set);
    let cidrs = show(set);
    if names == cidrs {
        cidrs
    } else {
        format!("{names} ({cidrs})")
    }
}
