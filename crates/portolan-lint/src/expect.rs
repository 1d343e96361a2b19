//! Evaluating `[[expect]]` against the reach model: for every target instance and address
//! family in scope, the addresses of the source class either all connect (`reach = true`) or
//! none does (`reach = false`). A failure names the layer that decides ([`crate::trace`]) —
//! the bind address, the host's networks, the publisher, the firewall rule with its line, a
//! proxy route — and the smallest change that would make the expectation hold.
//!
//! Source classes: `public`/`internet` are the addresses outside the private ranges and
//! loopback; a host (or a service's hosts) its addresses — and a host always reaches its own
//! ports; `host-internal` the containers on the target's host. A network or CIDR reaches
//! when every address of it (in the family) connects; a host or a service's host reaches
//! when one of its addresses does (the machine connects from the one its route picks).

use std::sync::LazyLock;

use portolan_model::expect::{ExpectFrom, Expectation};
use portolan_model::net::private_space;
use portolan_model::{Binding, BindingId, FirewallPolicy, IpNet, IpSet, Loc, Model};

use crate::reach::{Analysis, rule_decisions};
use crate::rules::{exposure_label, listens};
use crate::trace::{self, AddrFamily, FamilyTrace, Layer, Source};

/// The Internet as an expectation source: every address outside the private ranges and
/// loopback.
pub fn internet() -> &'static IpSet {
    static SET: LazyLock<IpSet> = LazyLock::new(|| {
        let loopback: Vec<IpNet> = ["127.0.0.0/8", "::1/128"]
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        IpSet::everything()
            .difference(private_space())
            .difference(&IpSet::from_nets(&loopback))
    });
    &SET
}

/// Who an expectation's source class is, seen from one target instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Class {
    /// Remote addresses or containers.
    pub source: Source,
    /// The source is (also) the target's own host, which always connects.
    pub same_host: bool,
}

/// The source class of `e` for target binding `b`.
pub fn class(model: &Model, e: &Expectation, b: &Binding) -> Class {
    class_of(model, &e.from, b)
}

/// The source class `from` for target binding `b`.
pub fn class_of(model: &Model, from: &ExpectFrom, b: &Binding) -> Class {
    let addrs = |h: portolan_model::HostId| {
        let nets: Vec<IpNet> = model
            .host(h)
            .addresses
            .iter()
            .map(|a| IpNet::host(*a))
            .collect();
        IpSet::from_nets(&nets)
    };
    let (set, same_host) = match from {
        ExpectFrom::Internet => (internet().clone(), false),
        ExpectFrom::Any => (IpSet::everything(), false),
        ExpectFrom::HostInternal => {
            return Class {
                source: Source::containers(),
                same_host: false,
            };
        }
        ExpectFrom::Network(id) => (model.network(*id).set.clone(), false),
        ExpectFrom::Cidr(n) => (IpSet::from_nets(&[*n]), false),
        ExpectFrom::Host(h) if *h == b.host => (IpSet::empty(), true),
        ExpectFrom::Host(h) => (addrs(*h), false),
        ExpectFrom::Service(s) => {
            let mut hosts: Vec<_> = model.bindings_of(*s).iter().map(|x| x.host).collect();
            hosts.sort_unstable();
            hosts.dedup();
            let same = hosts.contains(&b.host);
            let set = hosts
                .into_iter()
                .filter(|h| *h != b.host)
                .fold(IpSet::empty(), |a, h| a.union(&addrs(h)));
            (set, same)
        }
    };
    Class {
        source: Source::addresses(set),
        same_host,
    }
}

/// Why one target instance (in one family) breaks an expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The instance (`None`: the target has no instance in scope).
    pub binding: Option<BindingId>,
    /// The family (`None`: not about one family).
    pub family: Option<AddrFamily>,
    /// The sources that break it: those that connect (`reach = false`) or do not
    /// (`reach = true`).
    pub part: IpSet,
    /// `part` is every address of the source class in this family.
    pub whole: bool,
    /// The layer that decides.
    pub layer: Option<Layer>,
    /// Where that layer is written (the spec, or a dump in the source map).
    pub at: Option<Loc>,
    /// What decides, in a sentence.
    pub why: String,
    /// The smallest change that would make the expectation hold here.
    pub change: String,
}

/// The result of one expectation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Index into `model.expectations`.
    pub expectation: usize,
    /// Instance × family pairs that were evaluated.
    pub checked: usize,
    /// What breaks it (empty: it holds).
    pub failures: Vec<Failure>,
}

impl Outcome {
    /// Whether the expectation holds.
    pub fn holds(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The `expectation-failed` finding of an outcome that does not hold (`None` when it
/// holds), as `lint` reports it: located at the expectation, naming the deciding layer.
pub fn finding(model: &Model, o: &Outcome) -> Option<crate::Finding> {
    crate::rules::expectation_failed::finding(model, o)
}

/// Every expectation of `model`, evaluated against `analysis`.
pub fn evaluate(model: &Model, analysis: &Analysis) -> Vec<Outcome> {
    (0..model.expectations.len())
        .map(|k| evaluate_one(model, analysis, k))
        .collect()
}

/// Expectation `k` (index into `model.expectations`).
pub fn evaluate_one(model: &Model, analysis: &Analysis, k: usize) -> Outcome {
    let e = &model.expectations[k];
    let mut out = Outcome {
        expectation: k,
        ..Outcome::default()
    };
    let targets = e.targets(model);
    let live: Vec<BindingId> = targets
        .iter()
        .copied()
        .filter(|id| listens(model.binding(*id)))
        .collect();
    if live.is_empty() {
        if e.reach {
            let why = if targets.is_empty() {
                "the spec declares nothing there".to_string()
            } else {
                "every binding there is `reserved` (not running)".to_string()
            };
            out.failures.push(Failure {
                binding: None,
                family: None,
                part: IpSet::empty(),
                whole: true,
                layer: None,
                at: Some(e.to_loc),
                why,
                change: "declare the binding (or point `to` at one that exists)".into(),
            });
        }
        return out;
    }
    for id in live {
        let b = model.binding(id);
        let c = class(model, e, b);
        if c.same_host {
            out.checked += 1;
            if !e.reach {
                out.failures.push(Failure {
                    binding: Some(id),
                    family: None,
                    part: IpSet::empty(),
                    whole: true,
                    layer: None,
                    at: Some(e.from_loc),
                    why: format!(
                        "`{}` runs on host `{}` itself, and a host always reaches its own ports",
                        e.label.0,
                        model.host(b.host).name
                    ),
                    change: "state the expectation for the other hosts only".into(),
                });
            }
        }
        if c.source.set.is_empty() {
            continue;
        }
        for ft in trace::trace(model, analysis, id, &c.source, None) {
            if !c.source.containers && !AddrFamily::of(e.family).contains(&ft.family) {
                continue;
            }
            out.checked += 1;
            if e.reach {
                let missing = match source_hosts(model, e, b) {
                    // a machine reaches when one of its addresses does (it connects from the
                    // one its route picks)
                    Some(groups) => groups
                        .iter()
                        .map(|g| g.intersection(&ft.sources))
                        .filter(|g| !g.is_empty() && !g.intersects(&ft.reached))
                        .fold(IpSet::empty(), |a, g| a.union(&g)),
                    None => ft.sources.difference(&ft.reached),
                };
                if !missing.is_empty() {
                    out.failures
                        .push(blocked(model, analysis, id, &c, &ft, &missing, e));
                }
            } else if !ft.reached.is_empty() {
                out.failures.push(let_in(model, id, &ft, &ft.reached, e));
            }
        }
    }
    if out.checked == 0 {
        out.failures.push(Failure {
            binding: None,
            family: None,
            part: IpSet::empty(),
            whole: true,
            layer: None,
            at: Some(e.from_loc),
            why: format!(
                "`{}` has no {} address, so the expectation says nothing",
                e.label.0,
                match e.family {
                    portolan_model::expect::Family::V4 => "IPv4",
                    portolan_model::expect::Family::V6 => "IPv6",
                    portolan_model::expect::Family::Both => "",
                }
            ),
            change: "pick the family the source has (`family = \"v4\"` or `\"v6\"`)".into(),
        });
    }
    out
}

/// For a host or service source: the addresses of each source machine (other than the
/// target's host), one set per machine.
fn source_hosts(model: &Model, e: &Expectation, b: &Binding) -> Option<Vec<IpSet>> {
    let hosts: Vec<portolan_model::HostId> = match &e.from {
        ExpectFrom::Host(h) => vec![*h],
        ExpectFrom::Service(s) => {
            let mut v: Vec<_> = model.bindings_of(*s).iter().map(|x| x.host).collect();
            v.sort_unstable();
            v.dedup();
            v
        }
        _ => return None,
    };
    Some(
        hosts
            .into_iter()
            .filter(|h| *h != b.host)
            .map(|h| {
                let nets: Vec<IpNet> = model
                    .host(h)
                    .addresses
                    .iter()
                    .map(|a| IpNet::host(*a))
                    .collect();
                IpSet::from_nets(&nets)
            })
            .collect(),
    )
}

fn who(e: &Expectation) -> String {
    format!("`{}`", e.label.0)
}

/// `reach = false` broken: `part` connects. The layer that lets it in decides.
fn let_in(
    model: &Model,
    id: BindingId,
    ft: &FamilyTrace,
    part: &IpSet,
    e: &Expectation,
) -> Failure {
    let b = model.binding(id);
    let host = model.host(b.host);
    let name = b.qualified_name(model);
    let direct = part.intersection(&ft.direct);
    let fail = |layer, at, why: String, change: String| Failure {
        binding: Some(id),
        family: Some(ft.family),
        part: part.clone(),
        whole: *part == ft.sources,
        layer: Some(layer),
        at,
        why,
        change,
    };
    if direct.is_empty() {
        let r = ft
            .routes
            .iter()
            .find(|r| r.passes.intersects(part))
            .or(ft.routes.first());
        let Some(r) = r else {
            return fail(Layer::Route, None, "a proxy route".into(), String::new());
        };
        let l = model.binding(r.listener).qualified_name(model);
        return fail(
            Layer::Route,
            Some(r.at),
            r.detail.clone(),
            format!("remove the route {l} → {name}, or narrow the reach of `{l}`"),
        );
    }
    if b.publisher.bypasses_input_firewall() {
        return fail(
            Layer::Publish,
            b.publisher_loc.or(Some(b.port_loc)),
            format!(
                "published by {} on {}: its DNAT skips the {} firewall of host `{}`",
                b.publisher.as_str(),
                b.bind,
                host.firewall.kind.as_str(),
                host.name
            ),
            format!(
                "publish `{name}` on 127.0.0.1 or a private address (`bind`), or filter it in DOCKER-USER (`portolan gen iptables --host {}` emits it)",
                host.name
            ),
        );
    }
    let fw_step = ft.steps.iter().find(|s| s.layer == Layer::Firewall);
    match &host.firewall.policy {
        FirewallPolicy::Open => fail(
            Layer::Bind,
            Some(b.bind_loc.unwrap_or(b.port_loc)),
            format!(
                "bound to {} on host `{}`, which has no firewall",
                b.bind, host.name
            ),
            format!(
                "bind `{name}` to 127.0.0.1 or to an address on a network {} is not on, or give host `{}` a firewall",
                who(e),
                host.name
            ),
        ),
        FirewallPolicy::FromSpec => fail(
            Layer::Firewall,
            b.exposure_loc.or(Some(b.port_loc)),
            format!(
                "the spec-managed {} firewall lets in the declared exposure ({}) and inbound flows, which include {}",
                host.firewall.kind.as_str(),
                exposure_label(model, b),
                who(e)
            ),
            format!(
                "narrow `exposure` of `{name}` (or the inbound flows to it) so it excludes {}",
                who(e)
            ),
        ),
        FirewallPolicy::Rules { .. } => {
            let d = fw_step.and_then(|s| {
                s.decisions
                    .iter()
                    .find(|d| d.allow && d.sources.intersects(&direct))
            });
            match d {
                Some(d) if d.what.starts_with("default") => fail(
                    Layer::Firewall,
                    d.at,
                    format!(
                        "no rule of host `{}`'s firewall matches, and the default is `inbound = \"allow\"`",
                        host.name
                    ),
                    format!(
                        "set `inbound = \"deny\"` on host `{}` (or add a `deny` rule for {})",
                        host.name,
                        who(e)
                    ),
                ),
                Some(d) => fail(
                    Layer::Firewall,
                    d.at,
                    format!("the firewall rule `{}` lets them in", d.what),
                    format!(
                        "narrow that rule's `from`, or put a `deny` for {} before it",
                        who(e)
                    ),
                ),
                None => fail(
                    Layer::Firewall,
                    host.firewall.loc,
                    "the host firewall lets them in".into(),
                    format!("add a `deny` rule for {}", who(e)),
                ),
            }
        }
    }
}

/// `reach = true` broken: `missing` does not connect. The first layer that drops it decides;
/// the change lists every layer that would still drop it.
fn blocked(
    model: &Model,
    analysis: &Analysis,
    id: BindingId,
    c: &Class,
    ft: &FamilyTrace,
    missing: &IpSet,
    e: &Expectation,
) -> Failure {
    let b = model.binding(id);
    let host = model.host(b.host);
    let name = b.qualified_name(model);
    let mut changes: Vec<(Layer, Option<Loc>, String, String)> = Vec::new();
    // bind
    let scope = if c.source.containers {
        if b.bind.is_loopback() {
            IpSet::empty()
        } else {
            IpSet::everything()
        }
    } else {
        trace::bind_scope(model, b)
    };
    if !missing.difference(&scope).is_empty() {
        let (why, change) = if b.bind.is_loopback() {
            (
                format!("bound to {}: only the host itself connects", b.bind),
                format!(
                    "bind `{name}` to {}",
                    if ft.family == AddrFamily::V6 {
                        "`::`"
                    } else {
                        "0.0.0.0 (or an address on the source's network)"
                    }
                ),
            )
        } else if ft.family == AddrFamily::V6 {
            (
                format!("bound to {}, which accepts no IPv6", b.bind),
                format!("bind `{name}` to `::` (dual-stack: both families)"),
            )
        } else {
            (
                format!(
                    "bound to {}, which accepts no IPv4{}",
                    b.bind,
                    if b.bind.is_unspecified() {
                        " (host not dual-stack)"
                    } else {
                        ""
                    }
                ),
                format!(
                    "bind `{name}` to 0.0.0.0 (or make host `{}` dual-stack)",
                    host.name
                ),
            )
        };
        changes.push((
            Layer::Bind,
            Some(b.bind_loc.unwrap_or(b.port_loc)),
            why,
            change,
        ));
    }
    // networks
    if !c.source.containers {
        let nets = host
            .networks
            .iter()
            .fold(IpSet::empty(), |a, n| a.union(&model.network(*n).set));
        if !missing.difference(&nets).is_empty() {
            changes.push((
                Layer::Networks,
                host.networks_loc.or(host.loc),
                format!("host `{}` is not on the networks of {}", host.name, who(e)),
                format!(
                    "add {}'s network to `networks` of host `{}`",
                    who(e),
                    host.name
                ),
            ));
        }
    }
    // firewall (not for published ports: the INPUT chain never sees them)
    if !b.publisher.bypasses_input_firewall() {
        match &host.firewall.policy {
            FirewallPolicy::Open => {}
            FirewallPolicy::FromSpec => {
                let r = analysis.of(id);
                let dropped = if c.source.containers {
                    !r.allowed.host_internal
                } else {
                    !missing.difference(&r.allowed.sources).is_empty()
                };
                if dropped {
                    changes.push((
                        Layer::Firewall,
                        b.exposure_loc.or(Some(b.port_loc)),
                        format!(
                            "the spec-managed {} firewall lets in only the declared exposure ({})",
                            host.firewall.kind.as_str(),
                            exposure_label(model, b)
                        ),
                        format!("add `{}` to `exposure` of `{name}`", e.label.0),
                    ));
                }
            }
            FirewallPolicy::Rules { inbound, rules } => {
                let ds = rule_decisions(rules, *inbound, b, missing.clone());
                if let Some(d) = ds.iter().find(|d| !d.allow) {
                    match d.rule {
                        Some(k) => changes.push((
                            Layer::Firewall,
                            Some(rules[k].loc),
                            format!(
                                "the firewall rule `deny` from {} drops them",
                                rules[k].from_label
                            ),
                            "remove that rule or narrow its `from`".to_string(),
                        )),
                        None => changes.push((
                            Layer::Firewall,
                            host.firewall.loc,
                            format!(
                                "no rule of host `{}`'s firewall lets them in (default `inbound = \"deny\"`)",
                                host.name
                            ),
                            format!(
                                "add `{{ action = \"allow\", port = {}, transport = \"{}\", from = \"{}\" }}` to the rules of host `{}`",
                                if b.ports.lo == b.ports.hi {
                                    b.ports.lo.to_string()
                                } else {
                                    format!("\"{}\"", b.ports)
                                },
                                b.transport.as_str(),
                                e.label.0,
                                host.name
                            ),
                        )),
                    }
                }
            }
        }
    }
    let Some((layer, at, why, _)) = changes.first().cloned() else {
        return Failure {
            binding: Some(id),
            family: Some(ft.family),
            part: missing.clone(),
            whole: *missing == ft.sources,
            layer: ft.first_drop(missing).map(|s| s.layer),
            at: ft.first_drop(missing).and_then(|s| s.at),
            why: "they do not get through".into(),
            change: String::new(),
        };
    };
    let change = changes
        .iter()
        .map(|c| c.3.clone())
        .collect::<Vec<_>>()
        .join(", and ");
    Failure {
        binding: Some(id),
        family: Some(ft.family),
        part: missing.clone(),
        whole: *missing == ft.sources,
        layer: Some(layer),
        at,
        why,
        change,
    }
}
