//! Drift: the spec's bindings for one host against the listeners seen on it. Produces the
//! drift rules of DESIGN.md as lint findings — `undeclared-listener`,
//! `declared-not-listening`, `bind-wider-than-declared`, `unexpected-process`,
//! `publish-to-dead-port` — so they report through the same human/JSON/SARIF renderers as the
//! spec checks.
//!
//! Container publications are listeners here whoever holds the host socket (the merged view
//! of [`crate::merge`] links them, or stands in for them when NAT alone forwards): a publish
//! wider than declared is `bind-wider-than-declared`, an undeclared one
//! `undeclared-listener`, a declared one that is not published `declared-not-listening` (or,
//! when a plain host process holds the port instead, `unexpected-process`), and a publish
//! whose container port nothing listens on `publish-to-dead-port`. Sockets inside containers
//! (and `expose`) are never host listeners.

use std::collections::BTreeSet;
use std::net::IpAddr;

use portolan_lint::{Finding, Rule};
use portolan_model::{Binding, HostId, Model, Publisher, Status, Transport as SpecTransport};

use crate::listener::{Listener, Transport};

/// Programs that hold host sockets on behalf of containers (proxies, engines, forwarders).
pub const FORWARDERS: &[&str] = &[
    "docker-proxy",
    "dockerd",
    "rootlessport",
    "rootlesskit",
    "conmon",
    "podman",
    "slirp4netns",
    "pasta",
    "pasta.avx2",
];

pub(crate) fn same_transport(b: &Binding, l: &Listener) -> bool {
    matches!(
        (b.transport, l.transport),
        (SpecTransport::Tcp, Transport::Tcp) | (SpecTransport::Udp, Transport::Udp)
    )
}

/// How wide an address is: loopback < one address < every address of a family.
pub(crate) fn width(a: IpAddr) -> u8 {
    if a.is_loopback() {
        0
    } else if a.is_unspecified() {
        2
    } else {
        1
    }
}

/// Whether a live listener on `live` can be the declared bind `declared`.
pub(crate) fn addr_matches(declared: IpAddr, live: IpAddr) -> bool {
    declared == live
        || declared.is_unspecified()
        || live.is_unspecified()
        || (declared.is_loopback() && live.is_loopback())
}

/// Whether a container publication serves this listener.
fn published(l: &Listener) -> bool {
    l.container.as_ref().is_some_and(|c| c.published.is_some())
}

/// Whether the holder is visibly a plain host process (not a container's forwarder).
fn plain_process(l: &Listener) -> bool {
    l.container.is_none()
        && !l.owners.is_empty()
        && l.owners
            .iter()
            .all(|o| o.container.is_none() && !FORWARDERS.iter().any(|f| o.name == *f))
}

/// Whether the listener is visibly a container's publication (linked, or held by a proxy).
fn container_publication(l: &Listener) -> bool {
    published(l)
        || (l.container.is_none()
            && l.owners
                .iter()
                .any(|o| FORWARDERS.iter().any(|f| o.name == *f)))
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
            if matches!(b.publisher, Publisher::Docker | Publisher::Podman) {
                f = f.note(format!(
                    "declared published by {}: no running container publishes it (publications count whoever holds the host socket, when the engine can be asked)",
                    b.publisher.as_str()
                ));
            }
            out.push(f);
            continue;
        }
        let wider: Vec<&Listener> = live
            .iter()
            .copied()
            .filter(|l| width(l.addr) > width(b.bind))
            .collect();
        if let Some(first) = wider.first() {
            let any_published = wider.iter().any(|l| published(l));
            let mut f = Finding::new(
                Rule::BindWiderThanDeclared,
                format!(
                    "`{name}` {} {}, wider than the declared {}",
                    if any_published { "is published on" } else { "listens on" },
                    locals(&wider),
                    b.bind
                ),
            )
            .subject(name.clone())
            .at(
                b.bind_loc.unwrap_or(b.port_loc),
                format!("declared {}", b.bind),
            )
            .help(if any_published {
                format!(
                    "publish on {} only (`-p {}:{}:…`, or `ports: [\"{}:{}:…\"]` in compose), or declare the wider address and its exposure",
                    b.bind, b.bind, first.port, b.bind, first.port
                )
            } else {
                format!(
                    "bind the program to {} (or declare the wider address and its exposure)",
                    b.bind
                )
            });
            let mut notes: Vec<String> = wider.iter().map(|l| holder_note(l)).collect();
            notes.dedup();
            for n in notes {
                f = f.note(n);
            }
            out.push(f);
        }
        out.extend(publisher_drift(b, &name, &live));
        let service = model.service(b.service);
        if let Some(expected) = &service.process {
            for l in live
                .iter()
                .filter(|l| !l.owners.is_empty() || l.container.is_some())
            {
                if !runs(l, expected) {
                    out.push(
                        Finding::new(Rule::UnexpectedProcess, format!("{} is held by {}, not by `{expected}` as declared for `{name}`", l.local(), holder(l)))
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
                    "{}/{} {} on host `{host_name}` but no binding declares it ({})",
                    l.local(),
                    l.transport.as_str(),
                    if published(l) {
                        "is published"
                    } else {
                        "listens"
                    },
                    holder(l)
                ),
            )
            .subject(format!("{}:{}", l.transport.as_str(), l.port))
            .help("declare it in the spec (`portolan init --from-host` drafts it), or stop it"),
        );
    }
    out.extend(dead_publications(model, &mine, listeners));
    out
}

/// Declared publisher and container port against what holds the port: one finding per
/// kind of disagreement (the IPv4 and IPv6 sockets of one publish are one).
fn publisher_drift(b: &Binding, name: &str, live: &[&Listener]) -> Vec<Finding> {
    let mut out = Vec::new();
    let declared_container = matches!(b.publisher, Publisher::Docker | Publisher::Podman);
    let loc = b.publisher_loc.unwrap_or(b.port_loc);
    let plain: Vec<&Listener> = live.iter().copied().filter(|l| plain_process(l)).collect();
    if declared_container && !plain.is_empty() {
        out.push(
            Finding::new(
                Rule::UnexpectedProcess,
                format!(
                    "`{name}` is declared published by {}, but {} {} held by {}, not by a container publication",
                    b.publisher.as_str(),
                    locals(&plain),
                    if plain.len() == 1 { "is" } else { "are" },
                    holder(plain[0])
                ),
            )
            .subject(name.to_string())
            .at(loc, format!("publisher = \"{}\"", b.publisher.as_str()))
            .help("stop the host process and start the container, or declare `publisher = \"host\"`"),
        );
    }
    let boxed: Vec<&Listener> = live
        .iter()
        .copied()
        .filter(|l| container_publication(l))
        .collect();
    if b.publisher == Publisher::Host && !boxed.is_empty() {
        let link = boxed.iter().find_map(|l| l.container.as_ref());
        out.push(
            Finding::new(
                Rule::UnexpectedProcess,
                format!(
                    "`{name}` is declared as a host process, but {} {} a container publication ({})",
                    locals(&boxed),
                    if boxed.len() == 1 { "is" } else { "are" },
                    holder(boxed[0])
                ),
            )
            .subject(name.to_string())
            .at(loc, "no container publisher declared")
            .note("a published port skips the host's INPUT firewall rules, so the spec's reach for it is wrong")
            .help(format!(
                "declare `publisher = \"{}\"`{}",
                link.map_or("docker", |c| c.engine.as_str()),
                link.and_then(|c| c.published.as_ref())
                    .map(|p| format!(" and `target = {}`", p.target))
                    .unwrap_or_default()
            )),
        );
    }
    if let Some(target) = b.target {
        let mut seen = BTreeSet::new();
        for l in live {
            let Some((c, p)) = l
                .container
                .as_ref()
                .and_then(|c| c.published.as_ref().map(|p| (c, p)))
            else {
                continue;
            };
            if target.contains(p.target) || !seen.insert((c.id.clone(), p.target)) {
                continue;
            }
            let same: Vec<&Listener> = live
                .iter()
                .copied()
                .filter(|o| {
                    o.container.as_ref().is_some_and(|oc| {
                        oc.id == c.id
                            && oc
                                .published
                                .as_ref()
                                .is_some_and(|op| op.target == p.target)
                    })
                })
                .collect();
            out.push(
                Finding::new(
                    Rule::UnexpectedProcess,
                    format!(
                        "`{name}` is published to container port {}, not to the declared target {target} ({}: {})",
                        p.target,
                        locals(&same),
                        holder(l)
                    ),
                )
                .subject(name.to_string())
                .at(b.port_loc, format!("target {target}"))
                .help("fix the publish (`-p HOST:CONTAINER`) or the binding's `target`"),
            );
        }
    }
    out
}

/// `0.0.0.0:8000`, `0.0.0.0:8000 and [::]:8000`, `a, b and c`.
fn locals(ls: &[&Listener]) -> String {
    let mut v: Vec<String> = ls.iter().map(|l| l.local()).collect();
    v.dedup();
    match v.len() {
        0 => String::new(),
        1 => v.remove(0),
        n => format!("{} and {}", v[..n - 1].join(", "), v[n - 1]),
    }
}

/// Whether the listener's holder is the declared program: an owning process, or for a
/// container the container's name, image or compose service.
fn runs(l: &Listener, expected: &str) -> bool {
    l.owners
        .iter()
        .any(|o| o.name.contains(expected) || o.cmdline.contains(expected))
        || l.container.as_ref().is_some_and(|c| {
            c.name.contains(expected)
                || c.image.contains(expected)
                || c.service.as_deref().is_some_and(|s| s.contains(expected))
        })
}

/// `publish-to-dead-port`: once per (container, container port, transport), on the binding
/// that declares it when there is one.
fn dead_publications(model: &Model, mine: &[&Binding], listeners: &[Listener]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut done = BTreeSet::new();
    for l in listeners {
        let Some(c) = &l.container else { continue };
        let Some(p) = c.published.as_ref().filter(|p| p.inside.dead()) else {
            continue;
        };
        if !done.insert((c.id.clone(), p.target, l.transport)) {
            continue;
        }
        let hosts: Vec<String> = listeners
            .iter()
            .filter(|o| {
                o.transport == l.transport
                    && o.container.as_ref().is_some_and(|oc| {
                        oc.id == c.id
                            && oc
                                .published
                                .as_ref()
                                .is_some_and(|op| op.target == p.target)
                    })
            })
            .map(Listener::local)
            .collect();
        let why = if p.inside_local.is_empty() {
            format!(
                "nothing listens on {}/{} inside",
                p.target,
                l.transport.as_str()
            )
        } else {
            format!(
                "inside, only {} listens, which forwarded traffic cannot reach",
                p.inside_local.join(", ")
            )
        };
        let declared: Vec<&&Binding> = mine
            .iter()
            .filter(|b| same_transport(b, l) && b.ports.contains(l.port))
            .collect();
        let mut f = Finding::new(
            Rule::PublishToDeadPort,
            format!(
                "container `{}` ({}) publishes {} to port {}/{}, but {why}",
                c.name,
                c.label(),
                hosts.join(" and "),
                p.target,
                l.transport.as_str()
            ),
        )
        .help(if p.inside_local.is_empty() {
            "start the program inside the container, or publish the port it really listens on (`-p HOST:CONTAINER`)".to_string()
        } else {
            "make the program listen on 0.0.0.0 (or ::) inside the container".to_string()
        });
        match declared.first() {
            Some(b) => {
                f = f
                    .subject(b.qualified_name(model))
                    .at(b.port_loc, "declared here");
            }
            None => f = f.subject(c.name.clone()),
        }
        out.push(f);
    }
    out
}

/// Who holds a listener, for messages: owners, and the container behind it.
fn holder(l: &Listener) -> String {
    let owners = if l.owners.is_empty() {
        None
    } else {
        let mut v: Vec<String> = l
            .owners
            .iter()
            .map(|o| format!("{} (pid {})", o.name, o.pid))
            .collect();
        v.dedup();
        Some(v.join(", "))
    };
    match (&l.container, owners) {
        (Some(c), owners) => {
            let what = match &c.published {
                Some(p) => format!(
                    "published by {} container `{}`{} → {}/{}",
                    c.engine.as_str(),
                    c.name,
                    c.service
                        .as_ref()
                        .map(|_| format!(" (compose {})", c.label()))
                        .unwrap_or_default(),
                    p.target,
                    l.transport.as_str()
                ),
                None => format!("{} container `{}`", c.engine.as_str(), c.name),
            };
            match owners {
                Some(o) => format!("{what}; held by {o}"),
                None if c.published.is_some() => format!("{what}; no host process holds it"),
                None => what,
            }
        }
        (None, Some(o)) => o,
        (None, None) => "owner not visible".into(),
    }
}

fn holder_note(l: &Listener) -> String {
    if l.container.is_some() {
        holder(l)
    } else {
        format!("held by {}", holder(l))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::Engine;
    use crate::listener::{ContainerLink, Inside, Owner, Published};

    fn listener(addr: &str, port: u16, name: &str) -> Listener {
        let owner = Owner {
            pid: 10,
            name: name.into(),
            cmdline: name.into(),
            user: "root".into(),
            container: None,
        };
        Listener::tcp(addr, port, vec![owner])
    }

    fn publication(addr: &str, port: u16, holder: &str, target: u16, inside: Inside) -> Listener {
        let mut l = listener(addr, port, holder);
        if holder.is_empty() {
            l.owners.clear();
        }
        l.container = Some(ContainerLink {
            engine: Engine::Docker,
            id: "f".repeat(64),
            name: "shop-api-1".into(),
            image: "shop/api:1".into(),
            project: Some("shop".into()),
            service: Some("api".into()),
            published: Some(Published {
                target,
                inside,
                inside_local: if inside == Inside::LoopbackOnly {
                    vec![format!("127.0.0.1:{target}")]
                } else {
                    Vec::new()
                },
            }),
        });
        l
    }

    fn rules(f: &[Finding]) -> Vec<&'static str> {
        f.iter().map(|x| x.rule.id()).collect()
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
        assert_eq!(
            rules(&f),
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

    const PUBLISHED: &str = r#"
[hosts.app1]
networks = []
[services.api]
hosts = ["app1"]
process = "api"
bindings.http = { port = 8000, bind = "127.0.0.1", publisher = "docker", target = 80, exposure = "localhost" }
"#;

    #[test]
    fn publications_count_whoever_holds_the_host_socket() {
        let m = portolan_model::load_str("p.toml", PUBLISHED).unwrap();
        let h = m.host_named("app1").unwrap();
        for holder in ["docker-proxy", "dockerd", "rootlessport", ""] {
            let ok = [publication(
                "127.0.0.1",
                8000,
                holder,
                80,
                Inside::Listening,
            )];
            assert!(
                drift(&m, h, &ok).is_empty(),
                "{holder}: {:#?}",
                drift(&m, h, &ok)
            );
            let wide = [publication("0.0.0.0", 8000, holder, 80, Inside::Listening)];
            let f = drift(&m, h, &wide);
            assert_eq!(rules(&f), ["bind-wider-than-declared"], "{holder}");
            assert!(
                f[0].message.contains("is published on 0.0.0.0:8000"),
                "{}",
                f[0].message
            );
        }
        // published but undeclared
        let extra = [
            publication("127.0.0.1", 8000, "docker-proxy", 80, Inside::Listening),
            publication("0.0.0.0", 9000, "", 9000, Inside::Listening),
        ];
        let f = drift(&m, h, &extra);
        assert_eq!(rules(&f), ["undeclared-listener"]);
        assert!(
            f[0].message.contains("published by docker container `shop-api-1` (compose shop/api) → 9000/tcp; no host process holds it"),
            "{}",
            f[0].message
        );
        // declared published, but a host process holds the port
        let f = drift(&m, h, &[listener("127.0.0.1", 8000, "api")]);
        assert_eq!(rules(&f), ["unexpected-process"], "{f:#?}");
        assert!(f[0].message.contains("not by a container publication"));
        // declared published, nothing at all
        let f = drift(&m, h, &[]);
        assert_eq!(rules(&f), ["declared-not-listening"]);
        // published to another container port
        let f = drift(
            &m,
            h,
            &[publication(
                "127.0.0.1",
                8000,
                "docker-proxy",
                8080,
                Inside::Listening,
            )],
        );
        assert_eq!(rules(&f), ["unexpected-process"]);
        assert!(
            f[0].message
                .contains("container port 8080, not to the declared target 80")
        );
    }

    #[test]
    fn a_host_binding_served_by_a_container_and_dead_publications() {
        let spec = r#"
[hosts.app1]
networks = []
[services.api]
hosts = ["app1"]
bindings.http = { port = 8000, bind = "127.0.0.1", exposure = "localhost" }
"#;
        let m = portolan_model::load_str("p.toml", spec).unwrap();
        let h = m.host_named("app1").unwrap();
        let f = drift(
            &m,
            h,
            &[publication(
                "127.0.0.1",
                8000,
                "docker-proxy",
                80,
                Inside::Listening,
            )],
        );
        assert_eq!(rules(&f), ["unexpected-process"]);
        assert!(
            f[0].help
                .as_deref()
                .unwrap()
                .contains("publisher = \"docker\"` and `target = 80`")
        );
        // without the engine, docker-proxy still tells it is a publication
        let f = drift(&m, h, &[listener("127.0.0.1", 8000, "docker-proxy")]);
        assert_eq!(rules(&f), ["unexpected-process"]);

        let m = portolan_model::load_str("p.toml", PUBLISHED).unwrap();
        let dead = [
            publication("127.0.0.1", 8000, "docker-proxy", 80, Inside::Nothing),
            publication("0.0.0.0", 8001, "docker-proxy", 81, Inside::LoopbackOnly),
            publication("::", 8001, "docker-proxy", 81, Inside::LoopbackOnly),
            publication("0.0.0.0", 8002, "docker-proxy", 82, Inside::Unknown),
        ];
        let f = drift(&m, h, &dead);
        let dead: Vec<&Finding> = f
            .iter()
            .filter(|x| x.rule == Rule::PublishToDeadPort)
            .collect();
        assert_eq!(dead.len(), 2, "{f:#?}");
        assert!(
            dead[0].message.contains(
                "publishes 127.0.0.1:8000 to port 80/tcp, but nothing listens on 80/tcp inside"
            ),
            "{}",
            dead[0].message
        );
        assert_eq!(dead[0].subjects, ["api.http"]);
        assert!(dead[1].message.contains("publishes 0.0.0.0:8001 and [::]:8001 to port 81/tcp, but inside, only 127.0.0.1:81 listens"), "{}", dead[1].message);
        assert_eq!(dead[1].subjects, ["shop-api-1"]);
    }
}
