//! Caddyfiles: the global options block (`admin localhost:2019`, `http_port`,
//! `https_port`), site addresses (`shop.example.com` → 443 with TLS and 80 redirecting,
//! `http://status.example.com:8081` → 8081 in cleartext, `:9180` → 9180, `localhost:2015`),
//! and `reverse_proxy` upstreams (inline, with a path matcher, or in a block's `to`) as
//! routes from every port of the site.

use std::net::IpAddr;

use portolan_model::port::PortRange;

use super::Section;
use super::blocks::Code;
use super::draft::{Audience, Draft, RouteDraft};
use super::mentions::{self, Listener, Mode};

/// One listening address of a site.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SitePort {
    port: u16,
    tls: bool,
    redirect: bool,
    public_name: Option<String>,
    bind: Option<IpAddr>,
}

fn site_ports(addr: &str, http_port: u16, https_port: u16) -> Vec<SitePort> {
    let a = addr.trim().trim_end_matches(',');
    if a.is_empty() {
        return Vec::new();
    }
    let (scheme, rest) = match a.split_once("://") {
        Some((s, r)) => (Some(s.to_ascii_lowercase()), r),
        None => (None, a),
    };
    let hostport = rest.split('/').next().unwrap_or("");
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if crate::text::port_number(p).is_some() => (h, crate::text::port_number(p)),
        _ => (hostport, None),
    };
    let ip = host.trim_matches(['[', ']']).parse::<IpAddr>().ok();
    let named = !host.is_empty() && ip.is_none() && host != "localhost";
    let public_name = (named && host.contains('.')).then(|| host.to_string());
    match (scheme.as_deref(), port) {
        (Some("http"), p) => vec![SitePort {
            port: p.unwrap_or(http_port),
            tls: false,
            redirect: false,
            public_name,
            bind: ip,
        }],
        (Some("https"), p) => vec![SitePort {
            port: p.unwrap_or(https_port),
            tls: true,
            redirect: false,
            public_name,
            bind: ip,
        }],
        (_, Some(p)) if host.is_empty() => vec![SitePort {
            port: p,
            tls: false,
            redirect: false,
            public_name: None,
            bind: None,
        }],
        (_, Some(p)) => vec![SitePort {
            port: p,
            tls: true,
            redirect: false,
            public_name,
            bind: ip,
        }],
        (_, None) => vec![
            SitePort {
                port: https_port,
                tls: true,
                redirect: false,
                public_name: public_name.clone(),
                bind: ip,
            },
            SitePort {
                port: http_port,
                tls: false,
                redirect: true,
                public_name,
                bind: ip,
            },
        ],
    }
}

/// Whether a block reads like a Caddyfile.
pub fn looks_like(code: &Code) -> bool {
    matches!(code.lang.as_str(), "caddy" | "caddyfile")
        || code.lines.iter().any(|(l, _)| {
            let t = l.trim_start();
            t.starts_with("reverse_proxy ")
                || t.starts_with("file_server")
                || t.starts_with("php_fastcgi ")
        })
}

/// A `reverse_proxy` of a site: the site's ports, upstream host and port, line, and the
/// site's server name.
type SiteRoute = (Vec<u16>, String, u16, usize, Option<String>);

/// Reads a Caddyfile block.
#[allow(clippy::too_many_lines)]
pub fn apply(draft: &mut Draft, section: &Section, code: &Code) -> bool {
    let mut http_port = 80u16;
    let mut https_port = 443u16;
    let mut depth = 0usize;
    let mut site: Vec<SitePort> = Vec::new();
    let mut in_global = false;
    let mut in_proxy_block = false;
    let mut any = false;
    let mut listeners: Vec<(SitePort, usize)> = Vec::new();
    let mut routes: Vec<SiteRoute> = Vec::new();
    let mut admin: Option<(Option<IpAddr>, u16, usize)> =
        Some((Some(IpAddr::from([127, 0, 0, 1])), 2019, 0));
    let mut admin_said = false;
    for (raw, n) in &code.lines {
        let t = raw.split(" #").next().unwrap_or(raw).trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let opens = t.ends_with('{');
        let closes = t == "}" || t.starts_with('}');
        if depth == 0 && opens {
            let head = t.trim_end_matches('{').trim();
            if head.is_empty() {
                in_global = true;
            } else if !head.starts_with('(') {
                site = head
                    .split([' ', ','])
                    .flat_map(|a| site_ports(a, http_port, https_port))
                    .collect();
                for sp in &site {
                    listeners.push((sp.clone(), *n));
                }
            }
            depth = 1;
            continue;
        }
        if closes {
            depth = depth.saturating_sub(1);
            if depth <= 1 {
                in_proxy_block = false;
            }
            if depth == 0 {
                in_global = false;
                site.clear();
            }
            if !opens {
                continue;
            }
        }
        if opens {
            depth += 1;
        }
        let words: Vec<&str> = t.trim_end_matches('{').split_whitespace().collect();
        let Some(first) = words.first() else { continue };
        if in_global {
            match *first {
                "admin" => {
                    admin_said = true;
                    admin = match words.get(1) {
                        Some(&"off") => None,
                        Some(a) => super::configs::addr_port(a).map(|(b, p)| (b, p, *n)),
                        None => admin,
                    };
                }
                "http_port" => {
                    http_port = words
                        .get(1)
                        .and_then(|p| crate::text::port_number(p))
                        .unwrap_or(http_port);
                }
                "https_port" => {
                    https_port = words
                        .get(1)
                        .and_then(|p| crate::text::port_number(p))
                        .unwrap_or(https_port);
                }
                _ => {}
            }
            continue;
        }
        let ports: Vec<u16> = site
            .iter()
            .filter(|s| !s.redirect)
            .map(|s| s.port)
            .collect();
        let server_name = site.iter().find_map(|s| s.public_name.clone());
        let upstreams: Vec<&str> = match *first {
            "reverse_proxy" => {
                if opens {
                    in_proxy_block = true;
                }
                words[1..]
                    .iter()
                    .copied()
                    .filter(|w| !w.starts_with('/') && !w.starts_with('@') && *w != "*")
                    .collect()
            }
            "to" if in_proxy_block => words[1..].to_vec(),
            _ => Vec::new(),
        };
        for u in upstreams {
            let u = u.split("://").nth(1).unwrap_or(u);
            let Some((h, p)) = u.rsplit_once(':') else {
                continue;
            };
            let Some(p) = crate::text::port_number(p) else {
                continue;
            };
            routes.push((ports.clone(), h.to_string(), p, *n, server_name.clone()));
        }
    }
    for (sp, line) in &listeners {
        let exposure = if sp.public_name.is_some() {
            "public"
        } else {
            ""
        };
        any |= mentions::add(
            draft,
            section,
            &Listener {
                name: "caddy".into(),
                ports: vec![(PortRange::single(sp.port), None)],
                bind: sp.bind,
                app: Some(if sp.tls { "https" } else { "http" }.into()),
                tls: sp.tls,
                redirect: sp.redirect,
                audience: exposure.into(),
                line: *line,
                mode: Mode::Config,
                ..Listener::default()
            },
        );
        // a site with a public name is meant for everyone, whatever the table left unsaid
        if sp.public_name.is_some() {
            if let Some(k) = mentions::service_on(draft, "caddy", sp.port) {
                if let Some(b) = draft.services.get_mut(&k).and_then(|s| {
                    s.bindings
                        .values_mut()
                        .find(|b| b.port == Some(PortRange::single(sp.port)))
                }) {
                    if b.exposure.is_empty() {
                        b.exposure = vec![Audience::Public];
                    }
                    if sp.tls {
                        b.tls = Some("native");
                    }
                    if sp.redirect {
                        b.redirect = true;
                    }
                }
            }
        }
    }
    if let Some((bind, port, line)) = admin.filter(|_| admin_said) {
        let line = if line == 0 { code.line } else { line };
        any |= mentions::add(
            draft,
            section,
            &Listener {
                name: "caddy".into(),
                purpose: Some("admin API".into()),
                ports: vec![(PortRange::single(port), None)],
                bind,
                app: Some("http".into()),
                line,
                mode: Mode::Config,
                ..Listener::default()
            },
        );
    }
    for (ports, host, up, line, server_name) in routes {
        for p in ports {
            let proxy = mentions::service_on(draft, "caddy", p);
            draft.routes.insert(RouteDraft {
                listen: p,
                upstream: up,
                host: server_name.clone(),
                line,
                proxy,
                upstream_host: Some(host.clone()),
            });
            any = true;
        }
    }
    any
}
