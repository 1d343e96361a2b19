//! The plan shared by the firewall targets (`nftables`, `iptables`, `ip6tables`, `ufw`): for
//! one host, which sources may reach which port, computed once from the reach analysis.
//!
//! What is allowed is the binding's declared reach (`allowed`: exposure plus inbound flows)
//! narrowed to what its bind address can be reached from at all (`bound`) — exactly what the
//! lint assumed for a spec-managed firewall. Containers on the host (declared through
//! `host-internal` or `internal`) come from the Docker bridge range `172.16.0.0/12`.
//! Loopback-only bindings need no rule (loopback is always accepted). Bindings published by
//! Docker, Podman or a `NodePort` are kept apart: their DNAT skips the INPUT chain, so each
//! target has to filter them where they take effect (or say it cannot).

use std::net::IpAddr;

use portolan_model::net::private_space;
use portolan_model::{
    FirewallPolicy, FlowEnd, HostId, IpNet, IpSet, Model, PortRange, Publisher, Status, Transport,
};

use crate::RenderContext;
use crate::common;

/// Sources of one address family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Src {
    /// The whole family.
    Any,
    /// These networks (minimal CIDRs, sorted).
    Nets(Vec<IpNet>),
}

/// One binding to let in.
#[derive(Clone, Debug)]
pub(crate) struct Allow {
    /// `service.binding`.
    pub label: String,
    /// Declared exposure as written.
    pub declared: String,
    /// Transport.
    pub transport: Transport,
    /// Host ports.
    pub ports: PortRange,
    /// Destination address when bound to one address.
    pub daddr: Option<IpAddr>,
    /// IPv4 sources (`None`: no IPv4 client may connect).
    pub v4: Option<Src>,
    /// IPv6 sources.
    pub v6: Option<Src>,
    /// Publisher, when it skips the INPUT chain.
    pub published: Option<Publisher>,
    /// Container-side ports.
    pub target: Option<PortRange>,
}

/// What one host's firewall must do.
pub(crate) struct Plan {
    /// Host name.
    pub host: String,
    /// Bindings to let in, sorted by port, transport, name.
    pub allows: Vec<Allow>,
    /// Bindings without a rule, and why (comment lines).
    pub skipped: Vec<String>,
    /// What may leave the host.
    pub outbound: Outbound,
}

/// One warning per `[[expect]]` that still fails for a binding of host `h` once the
/// generated ruleset is deployed: the host's firewall becomes the one generated from the
/// spec, and with `filters_published` (nftables' forward hook, iptables' `DOCKER-USER`)
/// published ports are filtered too. What breaks it and the layer that decides come from
/// `portolan_lint::expect`. A ruleset of one address `family` warns about that family only.
pub(crate) fn expectation_warnings(
    cx: &RenderContext<'_>,
    h: HostId,
    target: &str,
    filters_published: bool,
    family: Option<portolan_lint::trace::AddrFamily>,
) -> Vec<String> {
    let m = cx.model;
    if m.expectations.is_empty() {
        return Vec::new();
    }
    let generated = |b: &portolan_model::Binding| {
        b.host == h && filters_published && b.publisher.bypasses_input_firewall()
    };
    let changes = !matches!(m.host(h).firewall.policy, FirewallPolicy::FromSpec)
        || m.bindings.iter().any(generated);
    let owned;
    let (m, analysis) = if changes {
        let mut after = m.clone();
        after.hosts[h.index()].firewall.policy = FirewallPolicy::FromSpec;
        for b in after.bindings.iter_mut().filter(|b| generated(b)) {
            b.publisher = portolan_model::Publisher::Host;
        }
        let a = portolan_lint::Analysis::compute(&after);
        owned = (after, a);
        (&owned.0, &owned.1)
    } else {
        (m, cx.analysis)
    };
    let mut out = Vec::new();
    for o in portolan_lint::expect::evaluate(m, analysis) {
        let e = &m.expectations[o.expectation];
        let Some(f) = o.failures.iter().find(|f| {
            f.binding.is_some_and(|id| m.binding(id).host == h)
                && (family.is_none() || f.family.is_none() || f.family == family)
        }) else {
            continue;
        };
        let name = f
            .binding
            .map(|id| m.binding(id).qualified_name(m))
            .unwrap_or_default();
        let fam = f
            .family
            .map(|x| format!(" over {}", x.as_str()))
            .unwrap_or_default();
        out.push(format!(
            "{} (`reach = {}`) does not hold for {name}{fam} with this {target} ruleset either: {}{}",
            e.title(),
            e.reach,
            f.layer.map(|l| format!("{}: ", l.as_str())).unwrap_or_default(),
            f.why
        ));
    }
    out
}

/// One destination the host may open connections to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Out {
    /// Why (the flow, and the destination binding), for a comment.
    pub label: String,
    /// Transport.
    pub transport: Transport,
    /// Destination ports (`None`: every port).
    pub ports: Option<PortRange>,
    /// IPv4 destinations (`None`: none).
    pub v4: Option<Src>,
    /// IPv6 destinations.
    pub v6: Option<Src>,
}

impl Out {
    /// A short comment for the rule: the flow, in ASCII.
    pub(crate) fn comment(&self) -> String {
        self.label
            .split(" (")
            .next()
            .unwrap_or(&self.label)
            .replace('→', "->")
    }
}

/// Egress of one host.
///
/// The rule: a host's outbound traffic is filtered when, and only when, the spec declares
/// at least one **outbound flow** for it — a flow from a service on the host (or from a
/// service without bindings, whose placement is unknown, so it counts for every host) to a
/// network, a CIDR, `public`, an external name, or a binding on another host. A spec that
/// declares none says nothing about egress, and the output is left open (policy accept). When
/// filtered, what may leave is: loopback, replies to accepted connections, `ICMPv6`
/// neighbour discovery, DNS (when no flow to port 53 is declared: udp and tcp 53 to any
/// address, so names keep resolving; otherwise exactly the declared resolvers), and every
/// outbound flow to its addresses and ports. A flow to another service goes to the
/// addresses of the destination binding: its bind address, else its host's `addresses`,
/// else the `internal` networks of that host's environment (as the reach analysis reads a
/// service source). A flow to a name pattern (`*.stripe.com:443`) cannot be matched by an
/// address filter, and names are never resolved at generation time: it is widened to any
/// address on its ports, with a warning.
#[derive(Clone, Debug, Default)]
pub(crate) struct Outbound {
    /// Declared outbound flows (`from → to/transport`), sorted.
    pub flows: Vec<String>,
    /// Outbound flows to name patterns (`from → to/transport`).
    pub fqdn: Vec<String>,
    /// What may leave (empty unless filtered), sorted by label.
    pub allows: Vec<Out>,
}

impl Outbound {
    /// Whether the output is filtered (policy drop).
    pub(crate) fn filtered(&self) -> bool {
        !self.flows.is_empty()
    }
}

/// The part of `set` in the families a listener on `bind` accepts.
fn bind_families(set: &IpSet, bind: IpAddr, dual_stack: bool) -> IpSet {
    match bind {
        IpAddr::V4(_) => set.ipv4(),
        IpAddr::V6(_) if dual_stack && bind.is_unspecified() => set.clone(),
        IpAddr::V6(_) => set.ipv6(),
    }
}

/// Addresses a binding instance on another host is reached at (empty: unreachable).
fn binding_addresses(m: &Model, b: &portolan_model::Binding) -> IpSet {
    if b.bind.is_loopback() {
        return IpSet::empty();
    }
    if !b.bind.is_unspecified() {
        return IpSet::from_nets(&[IpNet::host(b.bind)]);
    }
    let host = m.host(b.host);
    let set = if host.addresses.is_empty() {
        let e = m.environment(host.environment);
        if e.internal.is_empty() {
            private_space().clone()
        } else {
            e.internal.clone()
        }
    } else {
        let nets: Vec<IpNet> = host.addresses.iter().map(|a| IpNet::host(*a)).collect();
        IpSet::from_nets(&nets)
    };
    bind_families(&set, b.bind, host.dual_stack)
}

fn out(label: String, transport: Transport, ports: Option<PortRange>, set: &IpSet) -> Out {
    let everything = IpSet::everything();
    Out {
        label,
        transport,
        ports,
        v4: family(&set.ipv4(), &everything.ipv4()),
        v6: family(&set.ipv6(), &everything.ipv6()),
    }
}

/// Egress of host `h` (see [`Outbound`]).
pub(crate) fn outbound(m: &Model, h: HostId) -> Outbound {
    let env = m.host(h).environment;
    let mut o = Outbound::default();
    for f in &m.flows {
        let src = match &f.from {
            FlowEnd::Service(s) | FlowEnd::Binding(s, _) => *s,
            _ => continue,
        };
        let instances = m.bindings_of(src);
        if !(instances.is_empty() || instances.iter().any(|b| b.host == h)) {
            continue;
        }
        let to = match (&f.to, f.to_ports) {
            (FlowEnd::External { .. }, _) | (_, None) => common::flow_end(m, &f.to),
            (_, Some(p)) => format!("{}:{p}", common::flow_end(m, &f.to)),
        };
        let text = format!(
            "{} → {to}/{}",
            common::flow_end(m, &f.from),
            f.transport.as_str()
        );
        let flow = format!("flow {text}");
        let before = o.allows.len();
        match &f.to {
            FlowEnd::Public => {
                o.allows
                    .push(out(flow, f.transport, f.to_ports, &IpSet::everything()));
            }
            FlowEnd::Network(n) => {
                o.allows
                    .push(out(flow, f.transport, f.to_ports, &m.network(*n).set));
            }
            FlowEnd::Cidr(c) => {
                o.allows
                    .push(out(flow, f.transport, f.to_ports, &IpSet::from_nets(&[*c])));
            }
            FlowEnd::External { ports, .. } => {
                let to = ports.map_or_else(|| "every port".to_string(), |p| format!("port {p}"));
                o.allows.push(out(
                    format!("{flow} (a name pattern: widened to any address on {to})"),
                    f.transport,
                    *ports,
                    &IpSet::everything(),
                ));
                o.fqdn.push(text.clone());
            }
            FlowEnd::Service(t) | FlowEnd::Binding(t, _) => {
                let only = match &f.to {
                    FlowEnd::Binding(_, name) => Some(name.as_str()),
                    _ => None,
                };
                for d in m.bindings_of(*t) {
                    if d.host == h
                        || d.environment != env
                        || d.status == Status::Reserved
                        || only.is_some_and(|n| n != d.name)
                        || (f.transport != d.transport && f.transport != Transport::Tcp)
                    {
                        continue;
                    }
                    let set = binding_addresses(m, d);
                    if set.is_empty() {
                        continue;
                    }
                    o.allows.push(out(
                        format!(
                            "{flow} ({} {}/{} on {})",
                            d.qualified_name(m),
                            d.ports,
                            d.transport.as_str(),
                            m.host(d.host).name
                        ),
                        d.transport,
                        Some(d.ports),
                        &set,
                    ));
                }
            }
        }
        if o.allows.len() > before {
            o.flows.push(text);
        }
    }
    if o.flows.is_empty() {
        return o;
    }
    let dns = o
        .allows
        .iter()
        .any(|a| a.ports.is_none_or(|p| p.contains(53)));
    if !dns {
        for t in [Transport::Udp, Transport::Tcp] {
            o.allows.push(out(
                "DNS: the spec declares no flow to port 53, so any resolver".into(),
                t,
                Some(PortRange { lo: 53, hi: 53 }),
                &IpSet::everything(),
            ));
        }
    }
    o.flows.sort();
    o.flows.dedup();
    o.fqdn.sort();
    o.fqdn.dedup();
    o.allows
        .sort_by(|a, b| (&a.label, a.transport, a.ports).cmp(&(&b.label, b.transport, b.ports)));
    o.allows.dedup();
    o
}

fn family(set: &IpSet, all: &IpSet) -> Option<Src> {
    if set.is_empty() {
        None
    } else if all.is_subset(set) {
        Some(Src::Any)
    } else {
        Some(Src::Nets(set.to_nets()))
    }
}

impl Plan {
    /// The plan of host `h`.
    pub(crate) fn of(cx: &RenderContext<'_>, h: HostId) -> Plan {
        let m = cx.model;
        let mut allows = Vec::new();
        let mut skipped = Vec::new();
        for (id, b) in cx.bindings().filter(|(_, b)| b.host == h) {
            let label = b.qualified_name(m);
            let what = format!("{label} {}/{}", b.ports, b.transport.as_str());
            if b.status == Status::Reserved {
                skipped.push(format!(
                    "{what}: status reserved (held, not running) — no rule"
                ));
                continue;
            }
            // the same sources `check --firewall` holds a deployed ruleset to
            let sources = portolan_lint::reach::declared_sources(m, cx.analysis, id);
            let everything = IpSet::everything();
            let (v4, v6) = (
                family(&sources.ipv4(), &everything.ipv4()),
                family(&sources.ipv6(), &everything.ipv6()),
            );
            if v4.is_none() && v6.is_none() {
                skipped.push(if b.bind.is_loopback() {
                    format!(
                        "{what}: bound to {} — loopback only, no rule needed",
                        b.bind
                    )
                } else {
                    format!(
                        "{what}: declared {} — nothing beyond the host itself, no rule",
                        common::declared(m, b)
                    )
                });
                continue;
            }
            allows.push(Allow {
                label,
                declared: common::declared(m, b),
                transport: b.transport,
                ports: b.ports,
                daddr: (!b.bind.is_unspecified()).then_some(b.bind),
                v4,
                v6,
                published: b.publisher.bypasses_input_firewall().then_some(b.publisher),
                target: b.target,
            });
        }
        allows.sort_by(|a, b| {
            (a.ports, a.transport, &a.label, a.daddr).cmp(&(
                b.ports,
                b.transport,
                &b.label,
                b.daddr,
            ))
        });
        skipped.sort();
        Plan {
            host: m.host(h).name.clone(),
            allows,
            skipped,
            outbound: outbound(m, h),
        }
    }

    /// Warnings for outbound flows to names (which an address-based firewall cannot match),
    /// in `target`'s words.
    pub(crate) fn fqdn_warnings(&self, target: &str) -> Vec<String> {
        self.outbound
            .fqdn
            .iter()
            .map(|e| {
                format!(
                    "flow {e} names a host pattern; {target} matches addresses, not names (and portolan never resolves them), so it cannot be expressed: it is widened to any address on its port"
                )
            })
            .collect()
    }

    /// Comment lines (without prefix) about outbound traffic.
    pub(crate) fn egress_notes(&self) -> Vec<String> {
        let o = &self.outbound;
        if !o.filtered() {
            return vec![
                "Outbound traffic is not filtered (policy accept): the spec declares no outbound flow"
                    .into(),
                "for this host.".into(),
            ];
        }
        let mut v = vec![
            "Outbound traffic is filtered (policy drop) because the spec declares outbound flows for".to_string(),
            "this host: only loopback, replies, IPv6 neighbour discovery, DNS and the flows below".into(),
            "may leave. Declare every other outbound connection (package mirrors, NTP, …) as a".into(),
            "flow, or it will be dropped. Declared outbound flows from this host:".into(),
        ];
        v.extend(o.flows.iter().map(|e| format!("  {e}")));
        v
    }
}

/// The one host a per-host target renders: `--host`, or the only host in scope.
pub(crate) fn the_host(
    cx: &RenderContext<'_>,
    target: &'static str,
) -> Result<HostId, crate::RenderError> {
    let hosts = cx.hosts();
    match hosts.as_slice() {
        [h] => Ok(*h),
        [] => Err(crate::RenderError::Unsupported {
            target,
            message: "no host in scope (check --env and --host)".into(),
        }),
        many => Err(crate::RenderError::Unsupported {
            target,
            message: format!(
                "renders one machine's configuration; pass --host (hosts in scope: {})",
                many.iter()
                    .map(|h| cx.model.host(*h).name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use portolan_model::{HostId, Transport};

    use super::{Src, outbound};

    const SPEC: &str = r#"
[networks]
lan = "192.168.1.0/24"
[hosts.app]
addresses = ["192.168.1.5", "fd00::5"]
networks = ["lan"]
[hosts.db]
addresses = ["192.168.1.6"]
networks = ["lan"]
[services.api]
hosts = ["app"]
bindings.http = { port = 8080, exposure = "lan" }
[services.pg]
hosts = ["db"]
bindings.pg = { port = 5432, exposure = "lan" }
bindings.local = { port = 5433, bind = "127.0.0.1" }
[[flows]]
from = "api"
to = "pg"
[[flows]]
from = "api"
to = "10.9.0.0/16:443"
"#;

    fn host(m: &portolan_model::Model, name: &str) -> HostId {
        HostId::from_index(m.hosts.iter().position(|h| h.name == name).expect("host"))
    }

    #[test]
    fn egress_is_filtered_only_for_hosts_with_outbound_flows() {
        let m = portolan_model::load_str("ports.toml", SPEC).expect("spec");
        let app = outbound(&m, host(&m, "app"));
        assert!(app.filtered());
        assert_eq!(
            app.flows,
            ["api → 10.9.0.0/16:443/tcp", "api → pg/tcp"],
            "{app:?}"
        );
        let labels: Vec<&str> = app.allows.iter().map(|a| a.label.as_str()).collect();
        // the loopback-bound binding of pg is not reachable from app: no rule
        assert_eq!(
            labels,
            [
                "DNS: the spec declares no flow to port 53, so any resolver",
                "DNS: the spec declares no flow to port 53, so any resolver",
                "flow api → 10.9.0.0/16:443/tcp",
                "flow api → pg/tcp (pg.pg 5432/tcp on db)",
            ]
        );
        let pg = &app.allows[3];
        assert_eq!(pg.transport, Transport::Tcp);
        assert_eq!(
            pg.v4,
            Some(Src::Nets(vec!["192.168.1.6/32".parse().expect("net")]))
        );
        assert_eq!(pg.v6, None);
        assert_eq!(app.allows[2].v6, None);
        // db declares no outbound flow: its output is not filtered
        let db = outbound(&m, host(&m, "db"));
        assert!(!db.filtered() && db.allows.is_empty());
    }

    #[test]
    fn declared_resolvers_replace_the_dns_default_and_names_are_widened() {
        let spec = format!(
            "{SPEC}\n[[flows]]\nfrom = \"api\"\nto = \"192.168.1.1:53\"\ntransport = \"udp\"\n[[flows]]\nfrom = \"api\"\nto = \"*.stripe.com:443\"\n"
        );
        let m = portolan_model::load_str("ports.toml", &spec).expect("spec");
        let app = outbound(&m, host(&m, "app"));
        assert!(app.allows.iter().all(|a| !a.label.starts_with("DNS")));
        assert_eq!(app.fqdn, ["api → *.stripe.com:443/tcp"]);
        let stripe = app
            .allows
            .iter()
            .find(|a| a.label.contains("stripe"))
            .expect("widened");
        assert_eq!(
            (stripe.v4.clone(), stripe.v6.clone()),
            (Some(Src::Any), Some(Src::Any))
        );
        assert!(stripe.label.contains("widened to any address on port 443"));
    }
}

/// Generated firewalls read back by portolan-firewall's importers: for every host of every
/// example, the nftables and iptables output lets in exactly what the spec declares
/// (`firewall-drift` finds nothing), so generator and importer agree on every rule.
#[cfg(test)]
mod read_back {
    use portolan_firewall::Kind;
    use portolan_lint::firewall_drift::{Dump, drift};

    use crate::RenderContext;
    use crate::testutil::{EXAMPLES, example};

    #[test]
    fn generated_firewalls_read_back_without_drift() {
        let mut checked = 0;
        for name in EXAMPLES {
            let model = example(name);
            let analysis = portolan_lint::Analysis::compute(&model);
            let report = portolan_lint::Report::default();
            for (h, host) in model.hosts.iter().enumerate() {
                let cx = RenderContext {
                    model: &model,
                    analysis: &analysis,
                    report: &report,
                    environment: None,
                    host: Some(&host.name),
                    change_log: None,
                };
                for (target, kind) in [("nftables", Kind::Nftables), ("iptables", Kind::Iptables)] {
                    let mut text = crate::generator(target)
                        .expect("target")
                        .render(&cx)
                        .expect("renders")
                        .text;
                    if kind == Kind::Iptables && text.contains(":DOCKER-USER") {
                        // the file fills DOCKER-USER; Docker's own FORWARD chain calls it,
                        // then accepts what it publishes
                        text = text.replacen(
                            ":DOCKER-USER - [0:0]\n",
                            ":FORWARD DROP [0:0]\n:DOCKER-USER - [0:0]\n-A FORWARD -j DOCKER-USER\n-A FORWARD -j ACCEPT\n",
                            1,
                        );
                    }
                    let ruleset = kind
                        .parse(&text)
                        .unwrap_or_else(|e| panic!("{name} {target} {}: {e}\n{text}", host.name));
                    let dump = Dump::new(kind, &ruleset, None, &text, target);
                    let findings = drift(
                        &model,
                        &analysis,
                        portolan_model::HostId::from_index(h),
                        &dump,
                    );
                    assert!(
                        findings.is_empty(),
                        "{name} {target} {}: {:#?}",
                        host.name,
                        findings.iter().map(|f| &f.message).collect::<Vec<_>>()
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked >= 10, "only {checked} hosts checked");
    }
}
