//! `gen nginx`: upstreams and server blocks for the routes configured on one host, as an
//! `http`-context file (`/etc/nginx/conf.d/portolan.conf`).
//!
//! Routes are grouped by listener binding, `server_name` (route `host`, else `_`) and
//! location (route `path`, else `/`); the upstream instances of a group become one
//! `upstream` block (several instances: load-balanced). An upstream on the listener's host is
//! reached on its bind address (`127.0.0.1` for a wildcard bind); one on another host on that
//! host's first address, or its `hostname`. An upstream that cannot be addressed is left out
//! with a warning (nginx would refuse an unresolvable name). A TLS listener (`tls = native`)
//! gets `listen … ssl` with `ssl/<service>_<binding>.crt|.key`, relative to nginx's
//! configuration directory. Redirect-only bindings (`redirect = true`) of a route listener's
//! service get an HTTP → HTTPS `return 301` server.
//!
//! An nginx that itself runs in a container (its listener binding has `publisher = "docker"`
//! or `"podman"`) cannot use `127.0.0.1` — inside its container that is nginx itself. An
//! upstream that is also a container on that host is addressed by its compose service name
//! (the spec's service name, as `init --from-host` and `discover` name them) on its
//! container port (`target`); an upstream that is a host process through
//! `host.docker.internal` (which needs `extra_hosts: ["host.docker.internal:host-gateway"]`),
//! unless it listens on loopback only, where no container reaches it. The file says so.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use portolan_model::{Binding, Model, Publisher, Status, Tls};

use crate::common::{self, ident};
use crate::fw::the_host;
use crate::{Generator, RenderContext, RenderError, Rendered};

/// The nginx generator.
pub struct Nginx;

/// The `listen` argument: the bind address and port, or for nginx in a container the
/// container port on every address (the publish decides the host address).
fn listen(b: &Binding, port: u16) -> String {
    if in_container(b) {
        return b.target.map_or(port, |t| t.lo).to_string();
    }
    match b.bind {
        ip if ip.is_unspecified() && ip.is_ipv4() => port.to_string(),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
        IpAddr::V4(a) => format!("{a}:{port}"),
    }
}

fn in_container(b: &Binding) -> bool {
    matches!(b.publisher, Publisher::Docker | Publisher::Podman)
}

/// How nginx in a container reaches an upstream on its own host.
fn from_container(m: &Model, u: &Binding, from: &Binding) -> Result<String, String> {
    if in_container(u) {
        let service = &m.service(u.service).name;
        let port = u.target.map_or(u.ports.lo, |t| t.lo);
        return Ok(format!("{service}:{port}"));
    }
    if u.bind.is_loopback() {
        return Err(format!(
            "{} listens on {} of the host, which nginx in its container (publisher = \"{}\") cannot reach",
            u.qualified_name(m),
            u.bind,
            from.publisher.as_str()
        ));
    }
    Ok(format!("host.docker.internal:{}", u.ports.lo))
}

/// `ADDR:PORT` of an upstream instance seen from `from_host`, or why not.
fn server(m: &Model, u: &Binding, from: &Binding) -> Result<String, String> {
    let port = u.ports.lo;
    let same = u.host == from.host;
    if same && in_container(from) {
        return from_container(m, u, from);
    }
    let a = if same {
        match u.bind {
            IpAddr::V4(a) if a.is_unspecified() => "127.0.0.1".to_string(),
            IpAddr::V6(a) if a.is_unspecified() => "[::1]".to_string(),
            IpAddr::V6(a) => format!("[{a}]"),
            IpAddr::V4(a) => a.to_string(),
        }
    } else if u.bind.is_loopback() {
        return Err(format!(
            "{} listens on {} of host `{}`: not reachable from `{}`",
            u.qualified_name(m),
            u.bind,
            m.host(u.host).name,
            m.host(from.host).name
        ));
    } else if !u.bind.is_unspecified() {
        match u.bind {
            IpAddr::V6(a) => format!("[{a}]"),
            IpAddr::V4(a) => a.to_string(),
        }
    } else {
        let h = m.host(u.host);
        match (h.addresses.first(), h.hostname()) {
            (Some(IpAddr::V6(a)), _) => format!("[{a}]"),
            (Some(IpAddr::V4(a)), _) => a.to_string(),
            (None, Some(n)) => n.to_string(),
            (None, None) => {
                return Err(format!(
                    "{} is on host `{}`, which declares no `addresses` or `hostname`",
                    u.qualified_name(m),
                    h.name
                ));
            }
        }
    };
    Ok(format!("{a}:{port}"))
}

/// The generators this file defines (collected by `build.rs` into [`crate::generators`]).
pub(crate) const GENERATORS: &[&dyn Generator] = &[&Nginx];

impl Generator for Nginx {
    fn extension(&self) -> &'static str {
        "conf"
    }

    fn name(&self) -> &'static str {
        "nginx"
    }

    fn description(&self) -> &'static str {
        "nginx upstreams and server blocks from the routes of one host (conf.d file)"
    }

    fn per_host(&self) -> bool {
        true
    }

    fn render(&self, cx: &RenderContext<'_>) -> Result<Rendered, RenderError> {
        let m = cx.model;
        let h = the_host(cx, "nginx")?;
        let mut warnings = Vec::new();
        let mut conflicts: BTreeMap<(String, String, String, String), Vec<String>> =
            BTreeMap::new();
        // (listener, server_name) → path → upstream instances
        let mut servers: BTreeMap<(usize, String), BTreeMap<String, Vec<usize>>> = BTreeMap::new();
        for r in &m.routes {
            let l = m.binding(r.from);
            if l.host != h || l.status == Status::Reserved {
                continue;
            }
            let name = r.host.clone().unwrap_or_else(|| "_".into());
            let path = r.path.clone().unwrap_or_else(|| "/".into());
            let ups = servers
                .entry((r.from.index(), name.clone()))
                .or_default()
                .entry(path.clone())
                .or_default();
            let to = m.binding(r.to);
            match ups.first().map(|u| &m.bindings[*u]) {
                Some(first) if first.service != to.service || first.name != to.name => {
                    let left = conflicts
                        .entry((l.qualified_name(m), name, path, first.qualified_name(m)))
                        .or_default();
                    if !left.contains(&to.qualified_name(m)) {
                        left.push(to.qualified_name(m));
                    }
                }
                _ if ups.contains(&r.to.index()) => {}
                _ => ups.push(r.to.index()),
            }
        }
        for ((l, name, path, first), left) in conflicts {
            warnings.push(format!(
                "routes from {l} with server_name `{name}` and location `{path}` go to {} different upstreams; only {first} is rendered, left out: {} (give the routes distinct `host` or `path`)",
                left.len() + 1,
                left.join(", ")
            ));
        }
        let mut upstreams: BTreeMap<Vec<usize>, (String, Vec<String>)> = BTreeMap::new();
        let mut used_names: Vec<String> = Vec::new();
        let mut blocks = String::new();
        for ((li, name), locations) in &servers {
            let l = &m.bindings[*li];
            let tls = l.tls == Tls::Native;
            let _ = writeln!(
                blocks,
                "# {} ({}/{}) on host `{}`",
                l.qualified_name(m),
                l.ports,
                l.transport.as_str(),
                m.host(h).name
            );
            blocks.push_str("server {\n");
            let _ = writeln!(
                blocks,
                "    listen {}{};",
                listen(l, l.ports.lo),
                if tls { " ssl" } else { "" }
            );
            let _ = writeln!(
                blocks,
                "    server_name {};",
                common::safe_text(name).replace(' ', "_")
            );
            if tls {
                let cert = ident(&l.qualified_name(m));
                let _ = writeln!(
                    blocks,
                    "    ssl_certificate ssl/{cert}.crt;\n    ssl_certificate_key ssl/{cert}.key;"
                );
            }
            for (path, ups) in locations {
                let mut ups = ups.clone();
                ups.sort_unstable();
                let mut addrs = Vec::new();
                for &u in &ups {
                    match server(m, &m.bindings[u], l) {
                        Ok(a) => addrs.push(a),
                        Err(e) => warnings.push(format!(
                            "route {} → upstream left out: {e}",
                            l.qualified_name(m)
                        )),
                    }
                }
                let path = common::safe_text(path).replace(' ', "%20");
                let _ = writeln!(blocks, "\n    location {path} {{");
                if addrs.is_empty() {
                    let _ = writeln!(
                        blocks,
                        "        # no upstream instance can be addressed (see the warnings above)\n        return 502;\n    }}"
                    );
                    continue;
                }
                let first = &m.bindings[ups[0]];
                let uname = if let Some((n, _)) = upstreams.get(&ups) {
                    n.clone()
                } else {
                    let base = ident(&first.qualified_name(m));
                    let mut n = base.clone();
                    let mut k = 2;
                    while used_names.contains(&n) {
                        n = format!("{base}_{k}");
                        k += 1;
                    }
                    used_names.push(n.clone());
                    upstreams.insert(ups.clone(), (n.clone(), addrs));
                    n
                };
                let scheme = if first.tls == Tls::Native || first.app.as_deref() == Some("https") {
                    "https"
                } else {
                    "http"
                };
                let _ = writeln!(
                    blocks,
                    "        proxy_pass {scheme}://{uname};\n        proxy_http_version 1.1;\n        proxy_set_header Host $host;\n        proxy_set_header X-Real-IP $remote_addr;\n        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n        proxy_set_header X-Forwarded-Proto $scheme;\n    }}"
                );
            }
            blocks.push_str("}\n\n");
        }
        // HTTP → HTTPS redirects of the listener services
        let listener_services: Vec<_> = servers
            .keys()
            .map(|(li, _)| m.bindings[*li].service)
            .collect();
        let listeners: Vec<usize> = servers.keys().map(|(li, _)| *li).collect();
        let mut redirects = String::new();
        for (_, b) in cx.bindings().filter(|(id, b)| {
            b.host == h
                && b.redirect
                && listener_services.contains(&b.service)
                && !listeners.contains(&id.index())
        }) {
            let _ = writeln!(
                redirects,
                "# {} ({}/{}): redirect only\nserver {{\n    listen {};\n    server_name _;\n    return 301 https://$host$request_uri;\n}}\n",
                b.qualified_name(m),
                b.ports,
                b.transport.as_str(),
                listen(b, b.ports.lo)
            );
        }
        let containerised: Vec<String> = servers
            .keys()
            .map(|(li, _)| &m.bindings[*li])
            .filter(|l| in_container(l))
            .map(|l| l.qualified_name(m))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if !containerised.is_empty()
            && upstreams
                .values()
                .any(|(_, a)| a.iter().any(|x| x.starts_with("host.docker.internal:")))
        {
            warnings.push("nginx runs in a container and proxies to a host process: give its container `extra_hosts: [\"host.docker.internal:host-gateway\"]`".into());
        }
        warnings.sort();
        warnings.dedup();
        let mut out = common::header(
            cx,
            "#",
            &format!("nginx configuration for host `{}`", m.host(h).name),
        );
        out.push_str("# Include in the http block (e.g. /etc/nginx/conf.d/portolan.conf); check with `nginx -t`.\n# TLS certificates are read from ssl/ in nginx's configuration directory.\n");
        if !containerised.is_empty() {
            let _ = writeln!(
                out,
                "# nginx runs in a container ({}): upstreams in containers are addressed by compose\n# service name and container port (127.0.0.1 would be nginx's own container), host\n# processes through host.docker.internal (extra_hosts: [\"host.docker.internal:host-gateway\"]).",
                containerised.join(", ")
            );
        }
        out.push_str(&common::warnings_block("#", &warnings));
        if servers.is_empty() {
            out.push_str("# No route of the spec has its listener on this host.\n");
        }
        out.push('\n');
        for (name, addrs) in upstreams.values() {
            let _ = writeln!(out, "upstream {name} {{");
            for a in addrs {
                let _ = writeln!(out, "    server {a};");
            }
            out.push_str("}\n\n");
        }
        out.push_str(&blocks);
        out.push_str(&redirects);
        while out.ends_with("\n\n") {
            out.pop();
        }
        Ok(Rendered {
            text: out,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::render_str;

    const COMPOSE: &str = r#"
[hosts.app1]
addresses = ["192.168.1.10"]
[services.nginx]
hosts = ["app1"]
bindings.http = { port = 8080, bind = "127.0.0.1", publisher = "docker", target = 80, app = "http", exposure = "localhost" }
[services.api]
hosts = ["app1"]
bindings.http = { port = 18000, bind = "127.0.0.1", publisher = "docker", target = 8000, app = "http", exposure = "localhost" }
[services.metrics]
hosts = ["app1"]
bindings.http = { port = 9100, bind = "0.0.0.0", app = "http", exposure = "internal" }
[services.admin]
hosts = ["app1"]
bindings.http = { port = 9200, bind = "127.0.0.1", app = "http", exposure = "localhost" }
[[routes]]
from = "nginx.http"
to = "api.http"
path = "/api/"
[[routes]]
from = "nginx.http"
to = "metrics.http"
path = "/metrics"
[[routes]]
from = "nginx.http"
to = "admin.http"
path = "/admin/"
"#;

    #[test]
    fn nginx_in_compose_reaches_upstreams_by_service_name() {
        let r = render_str(COMPOSE, "nginx");
        let t = &r.text;
        assert!(t.contains("    server api:8000;"), "{t}");
        assert!(!t.contains("127.0.0.1:18000"), "{t}");
        assert!(t.contains("    server host.docker.internal:9100;"), "{t}");
        assert!(
            t.contains("    listen 80;"),
            "nginx listens on its container port: {t}"
        );
        assert!(
            t.contains("# nginx runs in a container (nginx.http)"),
            "{t}"
        );
        assert!(
            r.warnings
                .iter()
                .any(|w| w.contains("admin.http listens on 127.0.0.1 of the host")),
            "{:?}",
            r.warnings
        );
        assert!(
            r.warnings.iter().any(|w| w.contains("extra_hosts")),
            "{:?}",
            r.warnings
        );
        // the same routes from an nginx on the host use the published addresses
        let host = COMPOSE.replacen(
            r#"port = 8080, bind = "127.0.0.1", publisher = "docker", target = 80"#,
            r#"port = 8080, bind = "127.0.0.1""#,
            1,
        );
        let t = render_str(&host, "nginx").text;
        assert!(t.contains("    server 127.0.0.1:18000;"), "{t}");
        assert!(t.contains("    listen 127.0.0.1:8080;"), "{t}");
        assert!(!t.contains("runs in a container"), "{t}");
    }
}
