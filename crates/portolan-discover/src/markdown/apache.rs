//! Apache httpd configuration blocks: `Listen [ADDR:]PORT`, `<VirtualHost ADDR:PORT>` with
//! `SSLEngine on` (TLS), `ServerName`, `Redirect`/`RewriteRule … [R…]` (redirect-only), and
//! `ProxyPass PATH http://127.0.0.1:8081/…` / `ajp://…:8009/…` as routes from the virtual
//! host's port.

use std::net::IpAddr;

use portolan_model::port::PortRange;

use super::Section;
use super::blocks::Code;
use super::draft::{Draft, RouteDraft};
use super::mentions::{self, Listener, Mode};

/// Whether a block reads like Apache httpd configuration.
pub fn looks_like(code: &Code) -> bool {
    matches!(
        code.lang.as_str(),
        "apache" | "apacheconf" | "httpd" | "apache2"
    ) || code.lines.iter().any(|(l, _)| {
        let t = l.trim_start();
        t.starts_with("<VirtualHost") || t.starts_with("ProxyPass ")
    })
}

#[derive(Debug, Default)]
struct VHost {
    port: Option<u16>,
    ssl: bool,
    name: Option<String>,
    redirect: bool,
    passes: Vec<(String, u16, usize)>,
    line: usize,
}

/// Reads an Apache configuration block.
pub fn apply(draft: &mut Draft, section: &Section, code: &Code) -> bool {
    let mut listens: Vec<(Option<IpAddr>, u16, usize)> = Vec::new();
    let mut vhosts: Vec<VHost> = Vec::new();
    let mut cur: Option<VHost> = None;
    for (raw, n) in &code.lines {
        let t = raw.split('#').next().unwrap_or("").trim();
        let words: Vec<&str> = t.split_whitespace().collect();
        let Some(first) = words.first() else { continue };
        let lower = first.to_ascii_lowercase();
        match lower.as_str() {
            "listen" => {
                if let Some((b, p)) = words.get(1).and_then(|a| super::configs::addr_port(a)) {
                    listens.push((b, p, *n));
                }
            }
            "<virtualhost" => {
                let addr = words.get(1).map_or("", |a| a.trim_end_matches('>'));
                cur = Some(VHost {
                    port: addr
                        .rsplit_once(':')
                        .and_then(|(_, p)| crate::text::port_number(p)),
                    line: *n,
                    ..VHost::default()
                });
            }
            "</virtualhost>" => vhosts.extend(cur.take()),
            "sslengine" => {
                if let Some(v) = cur.as_mut() {
                    v.ssl = words.get(1).is_some_and(|w| w.eq_ignore_ascii_case("on"));
                }
            }
            "servername" => {
                if let Some(v) = cur.as_mut() {
                    v.name = words.get(1).map(|s| (*s).to_string());
                }
            }
            "redirect" | "redirectmatch" | "redirectpermanent" => {
                if let Some(v) = cur.as_mut() {
                    v.redirect = true;
                }
            }
            "proxypass" => {
                let Some(url) = words.get(2) else { continue };
                let Some((_, rest)) = url.split_once("://") else {
                    continue;
                };
                let hostport = rest.split('/').next().unwrap_or("");
                let Some((h, p)) = hostport.rsplit_once(':') else {
                    continue;
                };
                let Some(p) = crate::text::port_number(p) else {
                    continue;
                };
                if let Some(v) = cur.as_mut() {
                    v.passes.push((h.to_string(), p, *n));
                }
            }
            _ => {}
        }
    }
    vhosts.extend(cur.take());
    let mut any = false;
    for (bind, port, line) in &listens {
        let ssl = vhosts.iter().any(|v| v.port == Some(*port) && v.ssl) || *port == 443;
        any |= mentions::add(
            draft,
            section,
            &Listener {
                name: "apache".into(),
                ports: vec![(PortRange::single(*port), None)],
                bind: *bind,
                app: Some(if ssl { "https" } else { "http" }.into()),
                tls: ssl,
                line: *line,
                mode: Mode::Config,
                ..Listener::default()
            },
        );
    }
    for v in &vhosts {
        let Some(port) = v.port else { continue };
        if !listens.iter().any(|(_, p, _)| *p == port) {
            any |= mentions::add(
                draft,
                section,
                &Listener {
                    name: "apache".into(),
                    ports: vec![(PortRange::single(port), None)],
                    app: Some(if v.ssl { "https" } else { "http" }.into()),
                    tls: v.ssl,
                    redirect: v.redirect && v.passes.is_empty(),
                    line: v.line,
                    mode: Mode::Config,
                    ..Listener::default()
                },
            );
        }
        let proxy = mentions::service_on(draft, "apache", port);
        for (h, up, line) in &v.passes {
            draft.routes.insert(RouteDraft {
                listen: port,
                upstream: *up,
                host: v.name.clone(),
                line: *line,
                proxy: proxy.clone(),
                upstream_host: Some(h.clone()),
            });
            any = true;
        }
    }
    any
}
