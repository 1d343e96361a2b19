//! nginx blocks in a document: `server` blocks (listen ports, TLS, `server_name`,
//! redirect-only servers) and `upstream` groups, read from the directive tree of the
//! repository parser (`crate::nginx`), plus the routes it reports. Listeners become
//! bindings of the proxy service, passes become routes.

use std::collections::BTreeMap;
use std::net::IpAddr;

use portolan_model::port::PortRange;

use super::blocks::Code;
use super::cells;
use super::code::{body, parse_block};
use super::draft::{Audience, BindingDraft, Draft, RouteDraft};
use crate::evidence::{Context, FileReport};
use crate::nginx::Directive;
use crate::text::{LineIndex, port_number};

#[derive(Debug, Default)]
struct Server {
    listens: Vec<(u16, bool, Option<IpAddr>)>,
    names: Vec<String>,
    redirect: bool,
    passes: Vec<(String, Option<u16>, usize)>,
    line: usize,
}

/// What the `server` and `upstream` blocks of a document's nginx block say.
#[derive(Default)]
struct Blocks {
    servers: Vec<Server>,
    /// Each upstream group's port (its first member's).
    upstreams: BTreeMap<String, u16>,
}

impl Blocks {
    /// Reads `items` (the directive tree of [`crate::nginx::directives`]); `server` is the
    /// index of the innermost enclosing `server` block, `upstream` the enclosing group's
    /// name, `line` turns a byte offset into a document line.
    fn read(
        &mut self,
        items: &[Directive],
        server: Option<usize>,
        upstream: Option<&str>,
        line: &dyn Fn(usize) -> usize,
    ) {
        for d in items {
            let name = d.name.text.as_str();
            if let Some(children) = &d.block {
                if name == "server" {
                    self.servers.push(Server {
                        line: line(d.name.at),
                        ..Server::default()
                    });
                    let si = self.servers.len() - 1;
                    self.read(children, Some(si), upstream, line);
                } else {
                    let group = if name == "upstream" {
                        d.arg(0)
                    } else {
                        upstream
                    };
                    self.read(children, server, group, line);
                }
                continue;
            }
            let Some(si) = server else {
                if let (Some(u), "server", Some(addr)) = (upstream, name, d.arg(0)) {
                    if let Some(p) = addr.rsplit_once(':').and_then(|(_, p)| port_number(p)) {
                        self.upstreams.entry(u.to_string()).or_insert(p);
                    }
                }
                continue;
            };
            let s = &mut self.servers[si];
            match name {
                "listen" => {
                    let Some(spec) = d.arg(0) else { continue };
                    let (bind, port) = cells::split_bind(spec);
                    if let Some(p) = port_number(port) {
                        let ssl = d.has_arg("ssl") || d.has_arg("http2") && p == 443;
                        s.listens.push((p, ssl, bind));
                    }
                }
                "server_name" => s.names.extend(d.args.iter().map(|a| a.text.clone())),
                "return" if d.arg(0).is_some_and(|c| c.starts_with("30")) => s.redirect = true,
                "proxy_pass" | "uwsgi_pass" | "grpc_pass" | "fastcgi_pass" => {
                    let Some(target) = d.arg(0) else { continue };
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
                    s.passes.push((host, port, line(d.name.at)));
                }
                _ => {}
            }
        }
    }
}

/// Applies one nginx block: the routes [`crate::nginx::parse`] finds, and the proxy's
/// bindings and passes read from the same directive tree.
pub fn apply(
    draft: &mut Draft,
    report: &mut FileReport,
    path: &str,
    code: &Code,
    hosts: &[String],
) {
    let found = parse_block(code, |t| crate::nginx::parse(path, t, &Context::default()));
    report.problems.extend(found.problems);
    let (text, before) = body(code);
    let ix = LineIndex::new(path, &text);
    let (tree, _) = crate::nginx::directives(&text);
    let mut blocks = Blocks::default();
    blocks.read(&tree, None, None, &|at| {
        ix.location(at).line as usize + before
    });
    let Blocks { servers, upstreams } = blocks;
    draft.add_found_routes(&found.routes);
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

#[cfg(test)]
mod tests {
    /// The block is read from the nginx parser's directive tree, not line by line: a
    /// one-line `server { … }` (with its nested `location`) and a `{` on the line after
    /// `server` are servers too (the line reader saw neither).
    #[test]
    fn server_blocks_are_read_from_the_directive_tree() {
        let doc = "# Proxy\n\n```nginx\nserver { listen 8443 ssl; server_name \"shop.example.com\"; location / { proxy_pass http://127.0.0.1:9000; } }\nserver\n{\n    listen 127.0.0.1:8081;\n}\n```\n";
        let imp = crate::markdown::import("d.md", doc);
        assert!(imp.spec.contains("port = 8443"), "{}", imp.spec);
        assert!(imp.spec.contains("tls = \"native\""), "{}", imp.spec);
        assert!(imp.spec.contains("port = 8081"), "{}", imp.spec);
        assert!(imp.spec.contains("bind = \"127.0.0.1\""), "{}", imp.spec);
        // the pass inside the one-line `location` block is read too
        assert!(
            imp.spec.contains("proxy on port 8443 passes to port 9000"),
            "{}",
            imp.spec
        );
    }
}
