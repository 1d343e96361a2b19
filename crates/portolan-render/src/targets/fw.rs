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

use portolan_model::{ExposureTerm, HostId, IpNet, IpSet, PortRange, Publisher, Status, Transport};

use crate::RenderContext;
use crate::targets::common::{self, Egress};

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
    /// Outbound flows from this host.
    pub egress: Vec<Egress>,
}

fn docker_bridges() -> IpSet {
    IpSet::from_nets(&["172.16.0.0/12".parse::<IpNet>().unwrap_or(IpNet::ANY_V4)])
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
        for (i, b) in cx.bindings().filter(|(_, b)| b.host == h) {
            let label = b.qualified_name(m);
            let what = format!("{label} {}/{}", b.ports, b.transport.as_str());
            if b.status == Status::Reserved {
                skipped.push(format!(
                    "{what}: status reserved (held, not running) — no rule"
                ));
                continue;
            }
            let r = &cx.analysis.reach[i];
            let mut sources = r.allowed.sources.intersection(&r.bound.sources);
            let containers = b
                .exposure
                .iter()
                .any(|t| matches!(t, ExposureTerm::HostInternal | ExposureTerm::Internal));
            if containers
                && r.bound.host_internal
                && (b.bind.is_ipv4() || !r.bound.sources.ipv4().is_empty())
            {
                sources = sources.union(&docker_bridges());
            }
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
            egress: common::egress(m, h),
        }
    }

    /// Warnings for outbound flows to names (which an address-based firewall cannot match),
    /// in `target`'s words.
    pub(crate) fn fqdn_warnings(&self, target: &str) -> Vec<String> {
        self.egress
            .iter()
            .filter(|e| e.fqdn)
            .map(|e| {
                format!(
                    "flow {} names a host pattern; {target} matches addresses, not names, so it cannot be expressed (outbound traffic is left open)",
                    e.text
                )
            })
            .collect()
    }

    /// Comment lines (without prefix) about outbound traffic.
    pub(crate) fn egress_notes(&self) -> Vec<String> {
        let mut v =
            vec!["Outbound traffic is not filtered by this ruleset (policy accept).".to_string()];
        if !self.egress.is_empty() {
            v.push("Declared outbound flows from this host:".into());
            v.extend(self.egress.iter().map(|e| format!("  {}", e.text)));
        }
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
