//! Drift: the spec's bindings for one host against the listeners seen on it. Produces the
//! four drift rules of DESIGN.md as lint findings — `undeclared-listener`,
//! `declared-not-listening`, `bind-wider-than-declared`, `unexpected-process` — so they report
//! through the same human/JSON/SARIF renderers as the spec checks.

use std::net::IpAddr;

use portolan_lint::{Finding, Rule};
use portolan_model::{Binding, HostId, Model, Publisher, Status, Transport as SpecTransport};

use crate::listener::{Listener, Transport};

fn same_transport(b: &Binding, l: &Listener) -> bool {
    matches!(
        (b.transport, l.transport),
        (SpecTransport::Tcp, Transport::Tcp) | (SpecTransport::Udp, Transport::Udp)
    )
}

/// How wide an address is: loopback < one address < every address of a family.
fn width(a: IpAddr) -> u8 {
    if a.is_loopback() {
        0
    } else if a.is_unspecified() {
        2
    } else {
        1
    }
}

/// Whether a live listener on `live` can be the declared bind `declared`.
fn addr_matches(declared: IpAddr, live: IpAddr) -> bool {
    declared == live
        || declared.is_unspecified()
        || live.is_unspecified()
        || (declared.is_loopback() && live.is_loopback())
}

/// Drift findings for `host` given what listens there.
pub fn drift(model: &Model, host: HostId, listeners: &[Listener]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mine: Vec<&Binding> = model.bindings.iter().filter(|b| b.host == host).collect();
    let host_name = &model.host(host).name;
    for b in mine
        .iter()
        .filter(|b| matches!(b.status, Status::Active | Status::Deprecated))
    {
        let live: Vec<&Listener> = listeners
            .iter()
            .filter(|l| {
                same_transport(b, l) && b.ports.contains(l.port) && addr_matches(b.bind, l.addr)
            })
            .collect();
        let name = b.qualified_name(model);
        if live.is_empty() {
            let mut f = Finding::new(Rule::DeclaredNotListening, format!("`{name}` should listen on {}:{}/{} on host `{host_name}`, but nothing does", b.bind, b.ports, b.transport.as_str()))
                .subject(name.clone())
                .at(b.port_loc, "declared here")
                .help("start the service, or mark it `status = \"planned\"` / `\"deprecated\"`, or remove the binding");
            if b.publisher != Publisher::Host {
                f = f.note(format!("published by {}: with Docker's userland proxy disabled a published port has no listener on the host", b.publisher.as_str()));
            }
            out.push(f);
            continue;
        }
        for l in &live {
            if width(l.addr) > width(b.bind) {
                out.push(
                    Finding::new(
                        Rule::BindWiderThanDeclared,
                        format!(
                            "`{name}` listens on {}, wider than the declared {}",
                            l.local(),
                            b.bind
                        ),
                    )
                    .subject(name.clone())
                    .at(
                        b.bind_loc.unwrap_or(b.port_loc),
                        format!("declared {}", b.bind),
                    )
                    .note(owners_note(l))
                    .help(format!(
                        "bind the program to {} (or declare the wider address and its exposure)",
                        b.bind
                    )),
                );
            }
        }
        let service = model.service(b.service);
        if let Some(expected) = &service.process {
            for l in live.iter().filter(|l| !l.owners.is_empty()) {
                if !l.owners.iter().any(|o| {
                    o.name.contains(expected.as_str()) || o.cmdline.contains(expected.as_str())
                }) {
                    out.push(
                        Finding::new(Rule::UnexpectedProcess, format!("{} is held by {}, not by `{expected}` as declared for `{name}`", l.local(), owner_names(l)))
                            .subject(name.clone())
                            .at(b.port_loc, format!("expects `{expected}`"))
                            .help("another program took the port: stop it (`portolan kill`) or fix `process`"),
                    );
                }
            }
        }
    }
    for l in listeners {
        let declared = mine
            .iter()
            .any(|b| same_transport(b, l) && b.ports.contains(l.port));
        let reserved = model
            .reservations
            .iter()
            .any(|r| r.host.is_none_or(|h| h == host) && r.ports.contains(l.port));
        if declared || reserved {
            continue;
        }
        out.push(
            Finding::new(
                Rule::UndeclaredListener,
                format!(
                    "{}/{} listens on host `{host_name}` but no binding declares it ({})",
                    l.local(),
                    l.transport.as_str(),
                    owner_names(l)
                ),
            )
            .subject(format!("{}:{}", l.transport.as_str(), l.port))
            .help("declare it in the spec (`portolan init --from-host` drafts it), or stop it"),
        );
    }
    out
}

fn owner_names(l: &Listener) -> String {
    if l.owners.is_empty() {
        return "owner not visible".into();
    }
    let mut v: Vec<String> = l
        .owners
        .iter()
        .map(|o| format!("{} (pid {})", o.name, o.pid))
        .collect();
    v.dedup();
    v.join(", ")
}

fn owners_note(l: &Listener) -> String {
    format!("held by {}", owner_names(l))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listener::Owner;

    fn listener(addr: &str, port: u16, name: &str) -> Listener {
        Listener {
            transport: Transport::Tcp,
            addr: addr.parse().unwrap(),
            port,
            inode: u64::from(port),
            uid: 0,
            owners: vec![Owner {
                pid: 10,
                name: name.into(),
                cmdline: name.into(),
                user: "root".into(),
                container: None,
            }],
        }
    }

    #[test]
    fn the_four_drift_rules() {
        let spec = r#"
[hosts.app1]
networks = []
[services.odoo]
hosts = ["app1"]
process = "odoo"
bindings.http = { port = 8069, bind = "127.0.0.1", exposure = "localhost" }
[services.redis]
hosts = ["app1"]
bindings.redis = { port = 6379, bind = "127.0.0.1", exposure = "localhost", auth = true }
[services.grafana]
hosts = ["app1"]
bindings.http = { port = 3000, bind = "127.0.0.1", exposure = "localhost" }
"#;
        let m = portolan_model::load_str("p.toml", spec).unwrap();
        let h = m.host_named("app1").unwrap();
        let live = [
            listener("0.0.0.0", 8069, "python3"),
            listener("127.0.0.1", 3000, "grafana"),
            listener("0.0.0.0", 22, "sshd"),
        ];
        let f = drift(&m, h, &live);
        let rules: Vec<&str> = f.iter().map(|x| x.rule.id()).collect();
        assert_eq!(
            rules,
            [
                "bind-wider-than-declared",
                "unexpected-process",
                "declared-not-listening",
                "undeclared-listener"
            ],
            "{f:#?}"
        );
        assert!(f[3].message.contains("0.0.0.0:22/tcp"));
        // a matching world has no drift
        let ok = [
            listener("127.0.0.1", 8069, "odoo"),
            listener("127.0.0.1", 6379, "redis-server"),
            listener("127.0.0.1", 3000, "grafana"),
        ];
        assert!(drift(&m, h, &ok).is_empty());
    }
}
