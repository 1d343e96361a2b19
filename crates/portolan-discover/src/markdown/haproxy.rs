//! `haproxy.cfg` blocks: `frontend`/`listen` sections' `bind` lines (`*:443 ssl crt …`,
//! `10.5.0.10:5000`, `:8404`, `ipv6@:443`, several addresses on one line) become listeners
//! of `HAProxy` (TLS when `ssl`, app from the section's or the defaults' `mode`), and each
//! frontend's `default_backend`/`use_backend` — or a `listen` section's own `server`s —
//! become routes to the backend servers' ports (`server pg1 10.5.0.21:5432 check`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use portolan_model::port::PortRange;

use super::Section;
use super::blocks::Code;
use super::draft::{Draft, RouteDraft};
use super::mentions::{self, Listener, Mode};

#[derive(Debug, Default)]
struct Part {
    kind: String,
    name: String,
    binds: Vec<(Option<IpAddr>, u16, bool, usize)>,
    backends: Vec<(String, usize)>,
    servers: Vec<(String, u16, usize)>,
    mode: Option<String>,
    stats: bool,
}

/// Whether a block reads like an `HAProxy` configuration.
pub fn looks_like(code: &Code) -> bool {
    code.lang == "haproxy"
        || (code.lines.iter().any(|(l, _)| {
            let t = l.trim_start();
            t.starts_with("frontend ") || t.starts_with("backend ") || t.starts_with("listen ")
        }) && code
            .lines
            .iter()
            .any(|(l, _)| l.trim_start().starts_with("bind ")))
}

fn bind_addrs(spec: &str) -> Vec<(Option<IpAddr>, u16)> {
    spec.split(',')
        .filter_map(|a| {
            let a = a.trim();
            let a = a.rsplit_once('@').map_or(a, |(_, r)| r);
            let (h, p) = a.rsplit_once(':')?;
            let p = crate::text::port_number(p)?;
            let h = h.trim_matches(['[', ']']);
            let bind = match h {
                "" | "*" => None,
                _ => h.parse().ok(),
            };
            Some((bind.or(Some(IpAddr::from([0, 0, 0, 0]))), p))
        })
        .collect()
}

/// Reads an `HAProxy` configuration block.
pub fn apply(draft: &mut Draft, section: &Section, code: &Code) -> bool {
    let mut parts: Vec<Part> = Vec::new();
    let mut default_mode: Option<String> = None;
    for (raw, n) in &code.lines {
        let t = raw.split('#').next().unwrap_or("").trim();
        if t.is_empty() {
            continue;
        }
        let words: Vec<&str> = t.split_whitespace().collect();
        match words[0] {
            "global" | "defaults" | "frontend" | "backend" | "listen" | "peers" | "resolvers"
            | "userlist" | "program" => {
                parts.push(Part {
                    kind: words[0].to_string(),
                    name: words.get(1).map(|s| (*s).to_string()).unwrap_or_default(),
                    ..Part::default()
                });
                // `listen NAME ADDR:PORT` (old style)
                if words[0] == "listen" {
                    if let Some(a) = words.get(2) {
                        for (b, p) in bind_addrs(a) {
                            if let Some(part) = parts.last_mut() {
                                part.binds.push((b, p, false, *n));
                            }
                        }
                    }
                }
                continue;
            }
            _ => {}
        }
        let Some(part) = parts.last_mut() else {
            continue;
        };
        match words[0] {
            "bind" => {
                let ssl = words.contains(&"ssl");
                for (b, p) in bind_addrs(words.get(1).copied().unwrap_or("")) {
                    part.binds.push((b, p, ssl, *n));
                }
            }
            "mode" => {
                let m = words.get(1).map(|s| (*s).to_string());
                if part.kind == "defaults" {
                    default_mode.clone_from(&m);
                }
                part.mode = m;
            }
            "default_backend" | "use_backend" => {
                if let Some(b) = words.get(1) {
                    part.backends.push(((*b).to_string(), *n));
                }
            }
            "server" => {
                if let Some((h, p)) = words.get(2).and_then(|a| a.rsplit_once(':')) {
                    if let Some(p) = crate::text::port_number(p) {
                        part.servers.push((h.to_string(), p, *n));
                    }
                }
            }
            "stats" if words.get(1) == Some(&"enable") || words.get(1) == Some(&"uri") => {
                part.stats = true;
            }
            _ => {}
        }
    }
    let servers: BTreeMap<String, Vec<(String, u16, usize)>> = parts
        .iter()
        .filter(|p| p.kind == "backend")
        .map(|p| (p.name.clone(), p.servers.clone()))
        .collect();
    let mut any = false;
    for part in &parts {
        if !matches!(part.kind.as_str(), "frontend" | "listen") {
            continue;
        }
        let mode = part.mode.clone().or_else(|| default_mode.clone());
        for (bind, port, ssl, line) in &part.binds {
            let app = match (mode.as_deref(), ssl) {
                (Some("http"), true) => Some("https".to_string()),
                (Some("http"), false) => Some("http".to_string()),
                (_, true) => Some("tls".to_string()),
                _ => None,
            };
            any |= mentions::add(
                draft,
                section,
                &Listener {
                    name: "haproxy".into(),
                    purpose: Some(if part.stats {
                        format!("{} (statistics page)", part.name)
                    } else {
                        part.name.clone()
                    }),
                    ports: vec![(PortRange::single(*port), None)],
                    bind: *bind,
                    app,
                    tls: *ssl,
                    line: *line,
                    mode: Mode::Config,
                    ..Listener::default()
                },
            );
            let mut targets: Vec<(String, u16, usize)> = part.servers.clone();
            for (b, _) in &part.backends {
                targets.extend(servers.get(b).cloned().unwrap_or_default());
            }
            let proxy = mentions::service_on(draft, "haproxy", *port);
            for (h, up, l) in targets {
                draft.routes.insert(RouteDraft {
                    listen: *port,
                    upstream: up,
                    host: None,
                    line: l,
                    proxy: proxy.clone(),
                    upstream_host: Some(h),
                });
            }
        }
    }
    any
}
