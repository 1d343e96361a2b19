//! `gen compose`: a `docker-compose.override.yml` whose `ports:` publish every Docker/Podman
//! binding of one host only as widely as its declared exposure.
//!
//! The host address of each port: the binding's own bind address when it names one;
//! otherwise `127.0.0.1` (`[::1]`) when nothing beyond the host is declared, the host's
//! addresses inside the declared networks when the exposure is narrower than the bind
//! (LAN-only on a host with a LAN address), or the bind address as is when the exposure is
//! at least as wide. When a narrower exposure cannot be expressed as an address (the host
//! has no address in the declared networks), the entry keeps the bind address and a
//! warning says to filter it with `gen iptables`/`gen nftables` instead. Each `ports:` list
//! carries the `!override` tag (Compose ≥ 2.24.4): without it Compose *appends* the
//! override's ports to the base file's, and the wide base entry would stay. Compose service
//! names are taken to be the spec's service names.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use portolan_model::{Publisher, Status, Transport};

use crate::common;
use crate::fw::the_host;
use crate::{Generator, RenderContext, RenderError, Rendered};

/// The Compose generator.
pub struct Compose;

fn addr(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    }
}

/// The generators this file defines (collected by `build.rs` into [`crate::generators`]).
pub(crate) const GENERATORS: &[&dyn Generator] = &[&Compose];

impl Generator for Compose {
    fn extension(&self) -> &'static str {
        "yml"
    }

    fn name(&self) -> &'static str {
        "compose"
    }

    fn description(&self) -> &'static str {
        "a docker-compose.override.yml `ports:` section honouring declared exposure (one host)"
    }

    fn per_host(&self) -> bool {
        true
    }

    fn render(&self, cx: &RenderContext<'_>) -> Result<Rendered, RenderError> {
        let m = cx.model;
        let h = the_host(cx, "compose")?;
        let host = m.host(h);
        let mut warnings = Vec::new();
        // service → entries (comment, port strings)
        let mut services: BTreeMap<String, Vec<(String, Vec<String>)>> = BTreeMap::new();
        for (id, b) in cx.bindings().filter(|(_, b)| b.host == h) {
            if !matches!(b.publisher, Publisher::Docker | Publisher::Podman)
                || b.status == Status::Reserved
            {
                continue;
            }
            let r = cx.analysis.of(id);
            let label = b.qualified_name(m);
            let mut note = format!(
                "{label} {}/{} — declared: {}",
                b.ports,
                b.transport.as_str(),
                common::declared(m, b)
            );
            let hosts: Vec<IpAddr> = if !b.bind.is_unspecified() {
                vec![b.bind]
            } else if !r.allowed.is_remote() {
                let lo = if b.bind.is_ipv4() {
                    IpAddr::from([127, 0, 0, 1])
                } else {
                    IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
                };
                let _ = write!(note, "; spec binds {}, narrowed to {lo}", b.bind);
                vec![lo]
            } else if r.bound.sources.is_subset(&r.allowed.sources) {
                vec![b.bind]
            } else {
                let inside: Vec<IpAddr> = host
                    .addresses
                    .iter()
                    .copied()
                    .filter(|a| {
                        a.is_ipv4() == b.bind.is_ipv4() || (b.bind.is_ipv6() && host.dual_stack)
                    })
                    .filter(|a| r.allowed.sources.contains(*a))
                    .collect();
                if inside.is_empty() {
                    let w = format!(
                        "{label} {}/{} is declared for {} but host `{}` has no address there: published on {} (wider than declared); filter it with `portolan gen iptables` (DOCKER-USER) or `portolan gen nftables`",
                        b.ports,
                        b.transport.as_str(),
                        common::declared(m, b),
                        host.name,
                        b.bind
                    );
                    warnings.push(w);
                    vec![b.bind]
                } else {
                    let _ = write!(
                        note,
                        "; spec binds {}, narrowed to the host's address(es) there",
                        b.bind
                    );
                    inside
                }
            };
            let target = b.target.unwrap_or(b.ports);
            let suffix = if b.transport == Transport::Udp {
                "/udp"
            } else {
                ""
            };
            let entries = hosts
                .into_iter()
                .map(|a| format!("\"{}:{}:{target}{suffix}\"", addr(a), b.ports))
                .collect();
            services
                .entry(m.service(b.service).name.clone())
                .or_default()
                .push((note, entries));
        }
        let mut out = common::header(
            cx,
            "#",
            &format!("docker-compose.override.yml for host `{}`", host.name),
        );
        out.push_str("# Use: docker compose -f docker-compose.yml -f THIS_FILE up -d\n# `!override` (Compose >= 2.24.4) replaces the base file's ports instead of adding to them.\n");
        out.push_str(&common::warnings_block("#", &warnings));
        if services.is_empty() {
            out.push_str(
                "# No binding of this host is published by Docker or Podman.\nservices: {}\n",
            );
        } else {
            out.push_str("services:\n");
            for (s, entries) in services {
                let _ = writeln!(out, "  \"{s}\":\n    ports: !override");
                for (note, ports) in entries {
                    let _ = writeln!(out, "      # {note}");
                    for p in ports {
                        let _ = writeln!(out, "      - {p}");
                    }
                }
            }
        }
        Ok(Rendered {
            text: out,
            warnings,
        })
    }
}
