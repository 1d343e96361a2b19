//! nginx blocks in a document: `server` blocks (listen ports, TLS, `server_name`,
//! redirect-only servers) and `upstream` groups, read line by line, plus the routes
//! `crate::nginx` reports. Listeners become bindings of the proxy service, passes become
//! routes.

use std::collections::BTreeMap;
use std::net::IpAddr;

use portolan_model::port::PortRange;

use super::blocks::Code;
use super::cells;
use super::code::parse_block;
use super::draft::{Audience, BindingDraft, Draft, RouteDraft};
use crate::evidence::{Context, FileReport};
use crate::text::port_number;

#[derive(Debug, Default)]
struct Server {
    listens: Vec<(u16, bool, Option<IpAddr>)>,
    names: Vec<String>,
    redirect: bool,
    passes: Vec<(String, Option<u16>, usize)>,
    line: usize,
}

/// Applies one nginx block.
pub fn apply(
    draft: &mut Draft,
    report: &mut FileReport,
    path: &str,
    code: &Code,
    hosts: &[String],
) {
    let found = parse_block(code, |t| crate::nginx::parse(path, t, &Context::default()));
    report.problems.extend(found.problems);
    let mut servers: Vec<Server> = Vec::new();
    let mut upstreams: BTreeMap<String, u16> = BTreeMap::new();
    let mut stack: Vec<Option<usize>> = Vec::new();
    let mut upstream: Option<String> = None;
    for (raw, n) in &code.lines {
        let t = raw.split('#').next().unwrap_or("").trim();
        if t.is_empty() {
            continue;
        }
        let words: Vec<&str> = t.trim_end_matches(['{', ';']).split_whitespace().collect();
        if t.ends_with('{') {
            if words.first() == Some(&"server") {
                servers.push(Server {
                    line: *n,
                    ..Server::default()
                });
                stack.push(Some(servers.len() - 1));
            } else {
                if words.first() == Some(&"upstream") {
                    upstream = words.get(1).map(|s| (*s).to_string());
                }
                stack.push(None);
            }
            continue;
        }
        if t.starts_with('}') {
            if stack.pop().is_none() {
                continue;
            }
            if !stack.iter().any(Option::is_some) {
                upstream = None;
            }
            continue;
        }
        let cur = stack.iter().rev().find_map(|s| *s);
        match (words.first().copied(), cur) {
            (Some("server"), None) => {
                if let (Some(u), Some(addr)) = (&upstream, words.get(1)) {
                    if let Some(p) = addr.rsplit_once(':').and_then(|(_, p)| port_number(p)) {
                        upstreams.entry(u.clone()).or_insert(p);
                    }
                }
            }
            (Some("listen"), Some(si)) => {
                let Some(spec) = words.get(1) else { continue };
                let (bind, port) = cells::split_bind(spec);
                if let Some(p) = port_number(port) {
                    servers[si].listens.push((
                        p,
                        words.contains(&"ssl") || words.contains(&"http2") && p == 443,
                        bind,
                    ));
                }
            }
            (Some("server_name"), Some(si)) => servers[si]
                .names
                .extend(words[1..].iter().map(|s| (*s).to_string())),
            (Some("return"), Some(si)) if words.get(1).is_some_and(|c| c.starts_with("30")) => {
                servers[si].redirect = true;
            }
            (Some("proxy_pass" | "uwsgi_pass" | "grpc_pass" | "fastcgi_pass"), Some(si)) => {
                let Some(target) = words.get(1) else { continue };
                let hostport = target
                    .split("://")
                    .nth(1)
                    .unwrap_or(target)
                    .split('/')
                    .next()
                    .unwrap_or("");
                let (host, port) = match hostport.rsplit_once(':') {
                    Some((h, p)) => (h.to_string(), port_number(p)),
                    None => (hostport.to_string(), None),
                };
                servers[si].passes.push((host, port, *n));
            }
            _ => {}
        }
    }
    for r in found.routes {
        for &l in &r.listen {
            if let Some(p) = r.port {
                draft.routes.insert(RouteDraft {
                    listen: l,
                    upstream: p,
                    host: r.server_names.first().cloned(),
                    line: r.at.line as usize,
                    proxy: None,
                    upstream_host: Some(r.upstream.clone()),
                });
            }
        }
    }
    let key = draft
        .services
        .keys()
        .find(|k| k.contains("nginx"))
        .cloned()
        .unwrap_or_else(|| "nginx".to_string());
    for s in &servers {
        for &(port, ssl, bind) in &s.listens {
            let redirect_only = s.redirect && s.passes.is_empty();
            let app = if ssl { "https" } else { "http" };
            let name = draft.binding_name(&key, Some(app), Some(PortRange::single(port)));
            let svc = draft.service(&key, "nginx");
            svc.lines.insert(s.line);
            svc.hosts.extend(hosts.iter().cloned());
            svc.process.get_or_insert_with(|| "nginx".into());
            let existing = svc
                .bindings
                .values_mut()
                .find(|b| b.port == Some(PortRange::single(port)));
            if let Some(b) = existing {
                b.lines.insert(s.line);
                // One server on the port proxies: the port is not redirect-only.
                b.redirect = b.redirect && redirect_only;
                draft.counts.refined += 1;
            } else {
                let exposure = if bind.is_some_and(|b| b.is_loopback()) {
                    vec![Audience::Localhost]
                } else {
                    vec![Audience::Public]
                };
                draft.add_binding(
                    &key,
                    name,
                    BindingDraft {
                        port: Some(PortRange::single(port)),
                        bind,
                        app: Some(app.into()),
                        tls: ssl.then_some("native"),
                        redirect: redirect_only && !ssl,
                        exposure,
                        lines: [s.line].into(),
                        ..BindingDraft::default()
                    },
                );
            }
            for (host, up, line) in &s.passes {
                let up = up.or_else(|| upstreams.get(host).copied());
                match up {
                    Some(u) => {
                        draft.routes.insert(RouteDraft {
                            listen: port,
                            upstream: u,
                            host: s.names.first().filter(|n| *n != "_").cloned(),
                            line: *line,
                            proxy: Some(key.clone()),
                            upstream_host: Some(host.clone()),
                        });
                    }
                    None => draft.note(
                        *line,
                        format!("nginx passes to `{host}`, whose port the document does not give"),
                    ),
                }
            }
        }
    }
}
