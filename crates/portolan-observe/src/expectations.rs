//! `[[expect]]` checked live by `check --probe`: from where portolan runs, every expectation
//! whose source class contains this machine's source address (the one the kernel picks
//! for each destination, or `--source`) is probed with a TCP connect to each target
//! instance — at its bind address, or at each address of its host — and reported as
//! **held**, **failed** (an `expectation-failed` finding, located at the expectation) or
//! **not testable from here**, with the reason: the source is not in the class, UDP (no
//! answer to rely on), containers, a host without addresses, this machine is the target
//! host, or the instance is reached through a proxy route (a direct connect would not
//! test it).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Duration;

use portolan_lint::expect::class_of;
use portolan_lint::{Analysis, Finding, Rule};
use portolan_model::expect::{ExpectFrom, ExpectTo, Family};
use portolan_model::{BindingId, IpNet, IpSet, Model, Transport};
use rustix::net::{AddressFamily, SocketFlags, SocketType, bind, connect, socket_with, sockopt};

/// The live verdict of one expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Every probe agreed with the expectation.
    Held,
    /// Some probe contradicted it.
    Failed,
    /// Nothing could be probed from here (the reason).
    NotTestable(String),
}

impl Status {
    /// `held`, `failed`, `not-testable`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Held => "held",
            Status::Failed => "failed",
            Status::NotTestable(_) => "not-testable",
        }
    }
}

/// One connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// The target instance (`None`: a `host:port` target with nothing declared there).
    pub binding: Option<BindingId>,
    /// Local source address.
    pub from: IpAddr,
    /// Destination.
    pub to: SocketAddr,
    /// Whether the connect succeeded.
    pub connected: bool,
}

/// The live result of one expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Live {
    /// Index into `model.expectations`.
    pub expectation: usize,
    /// The verdict.
    pub status: Status,
    /// The connects made.
    pub probes: Vec<Probe>,
}

/// A destination to try, with the instance it belongs to.
struct Dest {
    binding: Option<BindingId>,
    to: SocketAddr,
}

fn family_ok(f: Family, ip: IpAddr) -> bool {
    match f {
        Family::V4 => ip.is_ipv4(),
        Family::V6 => ip.is_ipv6(),
        Family::Both => true,
    }
}

/// The source address the kernel uses towards `to` (no packet is sent).
fn route_source(to: SocketAddr) -> Option<IpAddr> {
    let any: SocketAddr = if to.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let s = UdpSocket::bind(any).ok()?;
    s.connect(to).ok()?;
    s.local_addr().ok().map(|a| a.ip())
}

/// A TCP connect from `from` to `to` within `timeout`.
fn tcp_connect(from: IpAddr, to: SocketAddr, timeout: Duration) -> bool {
    let fam = if to.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    let Ok(fd) = socket_with(fam, SocketType::STREAM, SocketFlags::CLOEXEC, None) else {
        return false;
    };
    if bind(&fd, &SocketAddr::new(from, 0)).is_err() {
        return false;
    }
    let _ = sockopt::set_socket_timeout(&fd, sockopt::Timeout::Send, Some(timeout));
    connect(&fd, &to).is_ok()
}

fn destinations(model: &Model, to: &ExpectTo, targets: &[BindingId]) -> Vec<Dest> {
    let mut out = Vec::new();
    if targets.is_empty() {
        if let ExpectTo::HostPort(h, ports) = to {
            for a in &model.host(*h).addresses {
                out.push(Dest {
                    binding: None,
                    to: SocketAddr::new(*a, ports.lo),
                });
            }
        }
        return out;
    }
    for &id in targets {
        let b = model.binding(id);
        let addrs: Vec<IpAddr> = if b.bind.is_unspecified() || b.bind.is_loopback() {
            model.host(b.host).addresses.clone()
        } else {
            vec![b.bind]
        };
        for a in addrs {
            out.push(Dest {
                binding: Some(id),
                to: SocketAddr::new(a, b.ports.lo),
            });
        }
    }
    out
}

/// Probes every expectation of `model` that can be tested from here (from `source`, or the
/// address the kernel picks per destination); each connect waits at most `timeout`.
pub fn verify(
    model: &Model,
    analysis: &Analysis,
    source: Option<IpAddr>,
    timeout: Duration,
) -> Vec<Live> {
    let mut out = Vec::new();
    for (k, e) in model.expectations.iter().enumerate() {
        let targets: Vec<BindingId> = e
            .targets(model)
            .into_iter()
            .filter(|id| model.binding(*id).status != portolan_model::Status::Reserved)
            .collect();
        let not = |why: &str| Live {
            expectation: k,
            status: Status::NotTestable(why.to_string()),
            probes: Vec::new(),
        };
        if matches!(e.from, ExpectFrom::HostInternal) {
            out.push(not("the source is the containers on the host"));
            continue;
        }
        if e.transport == Some(Transport::Udp)
            || (!targets.is_empty()
                && targets
                    .iter()
                    .all(|id| model.binding(*id).transport == Transport::Udp))
        {
            out.push(not("UDP gives no answer to rely on"));
            continue;
        }
        let dests = destinations(model, &e.to, &targets);
        if dests.is_empty() {
            out.push(not("no address to probe (the host declares none)"));
            continue;
        }
        let mut why_not = "no destination in the expectation's address family";
        let mut jobs: Vec<(Option<BindingId>, IpAddr, SocketAddr)> = Vec::new();
        for d in dests {
            if !family_ok(e.family, d.to.ip()) {
                continue;
            }
            if let Some(id) = d.binding
                && model.binding(id).transport == Transport::Udp
            {
                continue;
            }
            let from = match source {
                Some(s) if s.is_ipv4() == d.to.is_ipv4() => s,
                Some(_) => {
                    why_not = "--source is of the other address family";
                    continue;
                }
                None => {
                    let Some(s) = route_source(d.to) else {
                        why_not = "no route to the target from here";
                        continue;
                    };
                    s
                }
            };
            if from.is_loopback() || from == d.to.ip() {
                why_not = "this machine is the target host";
                continue;
            }
            let net = IpSet::from_nets(&[IpNet::host(from)]);
            let in_class = match d.binding {
                Some(id) => {
                    let c = class_of(model, &e.from, model.binding(id));
                    c.source.set.intersects(&net)
                }
                None => match &e.from {
                    ExpectFrom::Internet => portolan_lint::expect::internet().intersects(&net),
                    ExpectFrom::Any => true,
                    ExpectFrom::Network(id) => model.network(*id).set.intersects(&net),
                    ExpectFrom::Cidr(n) => n.contains(from),
                    ExpectFrom::Host(h) => model.host(*h).addresses.contains(&from),
                    ExpectFrom::Service(_) | ExpectFrom::HostInternal => false,
                },
            };
            if !in_class {
                why_not = "this machine's address is not in the source class";
                continue;
            }
            if let Some(id) = d.binding
                && analysis.of(id).proxied.sources.intersects(&net)
            {
                why_not =
                    "it is reached through a proxy route: connect to the route's listener instead";
                continue;
            }
            jobs.push((d.binding, from, d.to));
        }
        if jobs.is_empty() {
            out.push(not(why_not));
            continue;
        }
        let probes: Vec<Probe> = std::thread::scope(|sc| {
            let handles: Vec<_> = jobs
                .iter()
                .map(|&(binding, from, to)| {
                    sc.spawn(move || Probe {
                        binding,
                        from,
                        to,
                        connected: tcp_connect(from, to, timeout),
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        let held = probes.iter().all(|p| p.connected == e.reach);
        out.push(Live {
            expectation: k,
            status: if held { Status::Held } else { Status::Failed },
            probes,
        });
    }
    out
}

/// The `expectation-failed` finding of a live result that failed.
pub fn finding(model: &Model, live: &Live) -> Option<Finding> {
    if live.status != Status::Failed {
        return None;
    }
    let e = &model.expectations[live.expectation];
    let bad: Vec<&Probe> = live
        .probes
        .iter()
        .filter(|p| p.connected != e.reach)
        .collect();
    let first = bad.first()?;
    let what = first.binding.map_or_else(
        || e.label.1.clone(),
        |id| model.binding(id).qualified_name(model),
    );
    let mut f = Finding::new(
        Rule::ExpectationFailed,
        format!(
            "expect #{} does not hold live: from {} (here) {} `{what}` at {}, but the spec promises `reach = {}`",
            e.index,
            first.from,
            if first.connected {
                "connected to"
            } else {
                "could not connect to"
            },
            first.to,
            e.reach
        ),
    )
    .subject(e.title())
    .subject(what)
    .at(e.reach_loc, format!("reach = {}", e.reach));
    for p in bad.iter().skip(1) {
        f = f.note(format!(
            "also {} {}",
            if p.connected {
                "connected to"
            } else {
                "could not connect to"
            },
            p.to
        ));
    }
    Some(f.help(format!(
        "`portolan why {} --from {}` shows which layer the spec thinks decides; the live host disagrees where it differs",
        e.label.1, e.label.0
    )))
}
