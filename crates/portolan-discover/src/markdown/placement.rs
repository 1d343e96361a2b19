//! Where things run: the hosts of the spec, the networks each is on, which services run on
//! which host, and which firewall ruleset belongs to which host.
//!
//! Hosts are the machines the document names (a hosts table, a `Host` column, `**web-1**
//! — 10.0.0.5`); a document that names none gets one host per environment it names, or one
//! host `server`. A service goes where the document puts it (its row, its section's
//! heading, the proxy that reaches it over loopback), else on the only host, else on every
//! host of its environment — said in a note.
//!
//! A host is on `public` when the document gives it a public address, says so, or declares
//! something on it public *and* gives its firewall (the firewall then decides what is
//! reachable). A host with only private addresses — or, when it has none, in a document
//! that says its machines are not on the Internet, or whose addresses are all private — is
//! on the private networks that contain its addresses (or the private address space); so
//! is a host without addresses whose document mentions only private addresses and gives
//! it no firewall. A host the document says nothing about keeps the spec's default,
//! `public`: unknown means widest.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::draft::{Audience, Draft};

/// A host as the spec will have it.
#[derive(Debug, Clone, Default)]
pub struct HostOut {
    /// Key.
    pub name: String,
    /// Environment.
    pub env: Option<String>,
    /// Addresses.
    pub addresses: Vec<String>,
    /// Networks (`None`: not written, so the spec's default `public` holds).
    pub networks: Option<Vec<String>>,
    /// What it is.
    pub description: Option<String>,
    /// Firewall rulesets attached (indexes into `Draft::firewalls`; the first is used).
    pub firewall: Option<usize>,
    /// Lines it comes from.
    pub lines: BTreeSet<usize>,
}

/// Where everything runs.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Hosts, by name.
    pub hosts: Vec<HostOut>,
    /// Service key → its hosts.
    pub service_hosts: BTreeMap<String, Vec<String>>,
    /// Whether a host uses the made-up `private` network.
    pub private_network: bool,
    /// Firewalls attached to no host.
    pub unattached: Vec<usize>,
}

/// The private address space, for hosts the document puts on no named network.
pub const PRIVATE: &[&str] = &[
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
];

fn host_name(env: &str) -> String {
    match env {
        "production" => "prod".into(),
        "development" => "dev".into(),
        other => other.to_string(),
    }
}

/// Whether the network text (`10.0.0.0/8` or `a, b`) contains `ip`.
fn net_contains(cidrs: &str, ip: &str) -> bool {
    let Ok(ip) = ip.parse::<IpAddr>() else {
        return false;
    };
    cidrs.split(", ").any(|c| {
        let (net, len) = c.split_once('/').unwrap_or((c, ""));
        let Ok(net) = net.parse::<IpAddr>() else {
            return false;
        };
        match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                let len: u32 = len.parse().unwrap_or(32).min(32);
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                u32::from(n) & mask == u32::from(i) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => {
                let len: u32 = len.parse().unwrap_or(128).min(128);
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                u128::from(n) & mask == u128::from(i) & mask
            }
            _ => false,
        }
    })
}

/// Decides hosts, placement, networks and firewalls.
#[allow(clippy::too_many_lines)]
pub fn plan(draft: &mut Draft) -> Plan {
    let mut plan = Plan::default();
    let named: Vec<String> = draft
        .hosts
        .iter()
        .filter(|(_, h)| !h.synthetic)
        .map(|(k, _)| k.clone())
        .collect();
    // environments the services and firewalls name
    let mut envs: BTreeSet<String> = draft.environments.clone();
    for s in draft.services.values() {
        envs.extend(s.env.clone());
        envs.extend(s.overrides.keys().cloned());
    }
    envs.extend(draft.firewalls.iter().filter_map(|f| f.env.clone()));
    let mut hosts: BTreeMap<String, HostOut> = BTreeMap::new();
    if named.is_empty() {
        if envs.is_empty() {
            hosts.insert(
                "server".into(),
                HostOut {
                    name: "server".into(),
                    addresses: draft.addresses.iter().cloned().collect(),
                    ..HostOut::default()
                },
            );
        } else {
            for e in &envs {
                hosts.insert(
                    host_name(e),
                    HostOut {
                        name: host_name(e),
                        env: Some(e.clone()),
                        ..HostOut::default()
                    },
                );
            }
        }
    }
    for (k, h) in &draft.hosts {
        hosts.insert(
            k.clone(),
            HostOut {
                name: k.clone(),
                env: h.env.clone(),
                addresses: h.addresses.iter().cloned().collect(),
                description: h.description.clone(),
                lines: h.lines.clone(),
                ..HostOut::default()
            },
        );
    }
    let machines: Vec<String> = hosts
        .keys()
        .filter(|k| draft.hosts.get(*k).is_none_or(|h| !h.synthetic))
        .cloned()
        .collect();
    // services → hosts
    let mut unplaced = Vec::new();
    for (k, s) in &draft.services {
        let mut hs: Vec<String> = s
            .hosts
            .iter()
            .filter(|h| hosts.contains_key(*h))
            .cloned()
            .collect();
        if hs.is_empty() {
            hs = if machines.len() == 1 {
                machines.clone()
            } else if let Some(e) = &s.env {
                let by_env: Vec<String> = hosts
                    .values()
                    .filter(|h| h.env.as_ref() == Some(e))
                    .map(|h| h.name.clone())
                    .collect();
                if by_env.is_empty() {
                    machines.clone()
                } else {
                    by_env
                }
            } else {
                if !named.is_empty() && !s.bindings.is_empty() {
                    unplaced.push((k.clone(), s.lines.first().copied().unwrap_or(0)));
                }
                machines.clone()
            };
        }
        if hs.is_empty() {
            hs = hosts.keys().cloned().collect();
        }
        plan.service_hosts.insert(k.clone(), hs);
    }
    if !unplaced.is_empty() && machines.len() > 1 {
        for (k, line) in unplaced {
            draft.note(
                line,
                format!(
                    "the document does not say which host runs `{k}`: it is placed on every host ({})",
                    machines.join(", ")
                ),
            );
        }
    }
    // firewalls → hosts
    for (i, fw) in draft.firewalls.iter().enumerate() {
        let targets: Vec<String> = if fw.hosts.iter().any(|h| hosts.contains_key(h)) {
            fw.hosts
                .iter()
                .filter(|h| hosts.contains_key(*h))
                .cloned()
                .collect()
        } else if machines.len() == 1 {
            machines.clone()
        } else if fw.env.is_some() {
            hosts
                .values()
                .filter(|h| h.env == fw.env)
                .map(|h| h.name.clone())
                .collect()
        } else {
            Vec::new()
        };
        let mut attached = false;
        for t in targets {
            if let Some(h) = hosts.get_mut(&t) {
                if h.firewall.is_none() {
                    h.firewall = Some(i);
                    attached = true;
                }
            }
        }
        if !attached {
            plan.unattached.push(i);
        }
    }
    // hosts with something declared public on them
    let mut public_declared: BTreeSet<String> = BTreeSet::new();
    for (k, s) in &draft.services {
        if s.bindings
            .values()
            .any(|b| b.exposure.contains(&Audience::Public))
        {
            public_declared.extend(plan.service_hosts.get(k).into_iter().flatten().cloned());
        }
    }
    // networks
    let all_private = !draft.mentioned.is_empty() && draft.mentioned.values().all(|p| *p);
    for h in hosts.values_mut() {
        let hd = draft.hosts.get(&h.name);
        let nets = most_specific(draft, &h.addresses);
        let public_addr = h.addresses.iter().any(|a| {
            a.parse::<IpAddr>()
                .is_ok_and(|ip| !super::facts::is_private(&ip))
        });
        let declared_public = public_declared.contains(&h.name);
        let public = match hd.and_then(|x| x.public) {
            Some(p) => Some(p),
            None if public_addr => Some(true),
            None if declared_public && h.firewall.is_some() => Some(true),
            None if !h.addresses.is_empty() => Some(false),
            None if draft.says_private => Some(false),
            // every address the document mentions is private, and it gives no firewall
            // whose rules would say otherwise
            None if all_private && h.firewall.is_none() => Some(false),
            None => None,
        };
        h.networks = match public {
            // public, and nothing else known: the spec's default says the same
            Some(true) if h.addresses.is_empty() && nets.is_empty() => None,
            Some(true) => {
                let mut v = vec!["public".to_string()];
                v.extend(nets);
                Some(v)
            }
            Some(false) => {
                let v = if !nets.is_empty() {
                    nets
                } else if h.addresses.is_empty() && !draft.networks.is_empty() {
                    draft.networks.keys().cloned().collect()
                } else {
                    plan.private_network = true;
                    vec!["private".to_string()]
                };
                Some(v)
            }
            None => None,
        };
    }
    front_doors(draft, &hosts, &plan);
    plan.hosts = hosts.into_values().collect();
    plan
}

/// For each address, the declared networks that contain it with the longest prefix: a
/// host in `10.77.3.0/24` is on that VLAN, not on every wider range that contains it.
fn most_specific(draft: &Draft, addresses: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in addresses {
        let mut best: Option<(u32, Vec<String>)> = None;
        for (n, (c, _)) in &draft.networks {
            for cidr in c.split(", ") {
                if !net_contains(cidr, a) {
                    continue;
                }
                let len: u32 = cidr
                    .split_once('/')
                    .and_then(|(_, l)| l.parse().ok())
                    .unwrap_or(128);
                match &mut best {
                    Some((b, names)) if len == *b => {
                        if !names.contains(n) {
                            names.push(n.clone());
                        }
                    }
                    Some((b, _)) if len < *b => {}
                    _ => best = Some((len, vec![n.clone()])),
                }
            }
        }
        for n in best.map(|(_, v)| v).unwrap_or_default() {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out.sort();
    out
}

/// Protocols that face the Internet by nature: web and mail.
const FRONT_DOORS: &[&str] = &[
    "http",
    "https",
    "smtp",
    "submission",
    "smtps",
    "imap",
    "imaps",
    "pop3",
    "pop3s",
    "h2",
    "h3",
    "quic",
];

/// A web or mail binding whose audience the document leaves unsaid, on a host with a
/// public address whose firewall allows its port from anywhere, is meant for everyone: the
/// rule says so. (A cache or database opened the same way is not assumed to be meant.)
fn front_doors(draft: &mut Draft, hosts: &BTreeMap<String, HostOut>, plan: &Plan) {
    for h in hosts.values() {
        let public_addr = h.addresses.iter().any(|a| {
            a.parse::<IpAddr>()
                .is_ok_and(|ip| !super::facts::is_private(&ip))
        });
        let Some(fw) = h.firewall.and_then(|i| draft.firewalls.get(i)) else {
            continue;
        };
        if !public_addr {
            continue;
        }
        let open: Vec<(
            portolan_model::port::PortRange,
            Option<portolan_model::spec::Transport>,
        )> = fw
            .rules
            .iter()
            .filter(|r| r.action == "allow" && r.from.is_none())
            .flat_map(|r| r.ports.iter().map(move |p| (*p, r.transport)))
            .collect();
        let line = fw.line;
        let mut opened = Vec::new();
        let on_host: Vec<String> = plan
            .service_hosts
            .iter()
            .filter(|(_, hs)| hs.contains(&h.name))
            .map(|(k, _)| k.clone())
            .collect();
        for k in on_host {
            let Some(s) = draft.services.get_mut(&k) else {
                continue;
            };
            for b in s.bindings.values_mut() {
                let Some(p) = b.port else { continue };
                let udp = b.transport == Some(portolan_model::spec::Transport::Udp);
                let allowed = open.iter().any(|(r, t)| {
                    r.covers(&p)
                        && t.is_none_or(|t| (t == portolan_model::spec::Transport::Udp) == udp)
                });
                let front_door = b.app.as_deref().is_some_and(|a| FRONT_DOORS.contains(&a));
                if allowed && front_door && b.exposure.is_empty() && !b.via_proxy {
                    b.exposure = vec![Audience::Public];
                    opened.push(p.to_string());
                }
            }
        }
        if !opened.is_empty() {
            draft.note(
                line,
                format!(
                    "host `{}` has a public address and its firewall allows {} from anywhere: declared `public`",
                    h.name,
                    opened.join(", ")
                ),
            );
        }
    }
}
