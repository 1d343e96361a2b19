//! Routes and flows resolved to bindings, once every service is known.
//!
//! A route's listener is the proxy's binding on the listen port (on the route's host when
//! the document says), its upstream the binding on the upstream port (`127.0.0.1:8010`
//! means the proxy's own host; `10.5.0.21:5432` the host with that address). An upstream
//! the document places nowhere goes on the proxy's host. An upstream on loopback (or with
//! no bind address) whose audience the document leaves unsaid, or says is "the proxy"
//! (`nginx only`, `behind Apache`), is meant to be reached through the proxy: it gets the
//! proxy listener's exposure and `tls = "proxy"` when the listener terminates TLS — the
//! document configured that route, so reach through it is intended. An upstream said to be
//! narrower (`internal only`), or bound wider than loopback, keeps its exposure, and lint
//! reports the reach the document did not intend.
//!
//! A flow goes to `host:port` for an outside name or address, to `service.binding` for
//! something the document declares.

use std::collections::BTreeSet;
use std::net::IpAddr;

use portolan_model::spec::Transport;

use super::draft::{Audience, Draft, FlowTarget};

/// A route between two bindings: (service, binding) → (service, binding).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    /// Listener.
    pub from: (String, String),
    /// Upstream.
    pub to: (String, String),
    /// `server_name`.
    pub host: Option<String>,
    /// Line.
    pub line: usize,
}

/// A flow as written in the spec.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Flow {
    /// `from`.
    pub from: String,
    /// `to`.
    pub to: String,
    /// UDP.
    pub udp: bool,
    /// Why.
    pub purpose: Option<String>,
    /// Line.
    pub line: usize,
}

const PROXIES: [&str; 7] = [
    "nginx", "proxy", "traefik", "haproxy", "caddy", "apache", "envoy",
];

fn loopback(h: &str) -> bool {
    h == "localhost"
        || h.parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

/// The host an address or name in a pass directive means, among the document's hosts.
fn host_of(draft: &Draft, upstream: &str) -> Option<String> {
    let u = upstream.trim_matches(['[', ']']).to_lowercase();
    draft
        .hosts
        .iter()
        .find(|(k, h)| **k == u || h.addresses.contains(&u))
        .map(|(k, _)| k.clone())
}

/// Resolves the routes; adjusts upstream placement and exposure as described above.
/// Routes that cannot be resolved become notes.
pub fn routes(draft: &mut Draft) -> Vec<Route> {
    let mut out = BTreeSet::new();
    let routes: Vec<_> = draft.routes.iter().cloned().collect();
    for r in routes {
        let listeners = draft.bindings_on(r.listen, false);
        let from = r
            .proxy
            .as_ref()
            .and_then(|p| listeners.iter().find(|(s, _)| s == p))
            .or_else(|| {
                listeners
                    .iter()
                    .find(|(s, _)| PROXIES.iter().any(|w| s.contains(w)))
            })
            .or(listeners.first())
            .cloned();
        let Some((fs, fb)) = from else {
            draft.note(
                r.line,
                format!(
                    "a proxy route from port {} to {}, but nothing in the document listens on {}",
                    r.listen, r.upstream, r.listen
                ),
            );
            continue;
        };
        let proxy_hosts: BTreeSet<String> = draft
            .services
            .get(&fs)
            .map(|s| s.hosts.clone())
            .unwrap_or_default();
        let up_host = r.upstream_host.as_deref();
        let local = up_host.is_none_or(loopback);
        let target_host = up_host.and_then(|h| host_of(draft, h));
        let candidates = draft.bindings_on(r.upstream, false);
        let to = candidates
            .iter()
            .filter(|(s, _)| *s != fs)
            .find(|(s, _)| {
                let hs = draft.services.get(s).map(|x| &x.hosts);
                match (&target_host, hs) {
                    (Some(t), Some(hs)) if !hs.is_empty() => hs.contains(t),
                    _ => true,
                }
            })
            .or_else(|| {
                // a service named like the upstream (`proxy_pass http://gitea:3000`)
                candidates
                    .iter()
                    .find(|(s, _)| up_host.is_some_and(|h| s.contains(&super::cells::slug(h))))
            })
            .cloned();
        let Some((ts, tb)) = to else {
            draft.note(
                r.line,
                format!(
                    "the proxy on port {} passes to port {}, which no service in the document declares",
                    r.listen, r.upstream
                ),
            );
            continue;
        };
        // placement: a loopback upstream runs where the proxy runs
        if local {
            if let Some(s) = draft.services.get_mut(&ts) {
                if s.hosts.is_empty() {
                    s.hosts.clone_from(&proxy_hosts);
                }
            }
        } else if let Some(t) = &target_host {
            if let Some(s) = draft.services.get_mut(&ts) {
                if s.hosts.is_empty() {
                    s.hosts.insert(t.clone());
                }
            }
        }
        // exposure: reached through the proxy, as the proxy is
        let listener = draft
            .services
            .get(&fs)
            .and_then(|s| s.bindings.get(&fb))
            .cloned();
        if let (Some(l), Some(up)) = (
            listener,
            draft
                .services
                .get_mut(&ts)
                .and_then(|s| s.bindings.get_mut(&tb)),
        ) {
            let unsaid = up.exposure.is_empty();
            // an upstream the document binds wider than loopback was not made for the
            // proxy alone: it keeps what it says, and lint shows the direct reach
            let behind = up.bind.is_none_or(|b| b.is_loopback());
            if (unsaid || up.via_proxy) && behind {
                let mut e = l.exposure.clone();
                if e.is_empty() {
                    e.push(Audience::Internal);
                }
                up.exposure = e;
                if l.tls.is_some() || l.app.as_deref() == Some("https") {
                    up.tls = Some("proxy");
                }
                if up.bind.is_none() && local {
                    up.bind = Some(IpAddr::from([127, 0, 0, 1]));
                }
            }
        }
        out.insert(Route {
            from: (fs, fb),
            to: (ts, tb),
            host: r.host.clone(),
            line: r.line,
        });
    }
    out.into_iter().collect()
}

/// The binding a flow to something declared goes to: a service whose key contains the
/// name (or a host of that name) with a binding on the port, else the one binding on the
/// port.
fn declared_target(draft: &Draft, name: &str, port: u16) -> Option<String> {
    let slug = super::cells::slug(name);
    let on_port = draft.bindings_on(port, true);
    let by_name = on_port.iter().find(|(s, _)| {
        !slug.is_empty() && s.contains(&slug)
            || draft
                .services
                .get(s)
                .is_some_and(|x| x.hosts.contains(&slug))
    });
    let pick = by_name.or_else(|| (on_port.len() == 1).then(|| &on_port[0]))?;
    Some(format!("{}.{}", pick.0, pick.1))
}

/// The flows as written in the spec; `source` is the service that stands for connections
/// the document does not attribute (created by the caller when any flow needs it).
pub fn flows(draft: &mut Draft, source: &str) -> (Vec<Flow>, bool) {
    let mut out = BTreeSet::new();
    let mut needs_source = false;
    let flows = draft.flows.clone();
    for f in flows {
        let port = if f.port.lo == f.port.hi {
            f.port.lo.to_string()
        } else {
            format!("{}-{}", f.port.lo, f.port.hi)
        };
        let to = match &f.to {
            FlowTarget::External(h) => {
                let h = if h.contains(':') && h.parse::<std::net::Ipv6Addr>().is_ok() {
                    format!("[{h}]")
                } else {
                    h.clone()
                };
                format!("{h}:{port}")
            }
            FlowTarget::Declared(n) => match declared_target(draft, n, f.port.lo) {
                Some(t) => t,
                None if n.contains('.') => format!("{n}:{port}"),
                None => {
                    draft.note(
                        f.line,
                        format!("a connection to `{n}` on {port}, which no service in the document declares"),
                    );
                    continue;
                }
            },
        };
        let from = match &f.from {
            Some(s) if draft.services.contains_key(s) => s.clone(),
            _ => {
                needs_source = true;
                source.to_string()
            }
        };
        // a service does not "flow" to itself
        if to.split('.').next() == Some(from.as_str()) {
            continue;
        }
        out.insert(Flow {
            from,
            to,
            udp: f.transport == Some(Transport::Udp),
            purpose: f.purpose.clone(),
            line: f.line,
        });
    }
    (out.into_iter().collect(), needs_source)
}
