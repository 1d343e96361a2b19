//! The one merged view: host sockets and container publications joined. Each publication the
//! engine reports is matched to the host socket that serves it — whoever holds it
//! (`docker-proxy`, `dockerd` with the userland proxy off, `rootlessport`, `conmon`) — and
//! that listener gets a [`ContainerLink`]: container, image, compose project and service, the
//! container port and what listens on it inside. A publication no host socket serves (NAT
//! rules only) becomes a listener of its own with no owner, so every publication is seen
//! exactly once and drift counts it whoever forwards it. Host sockets held by a process of a
//! container on the host's network are linked to that container without a publication.
//! In-container sockets stay in the scan: `expose` and listeners inside are never host
//! exposure.

use crate::container::{Container, ContainerScan, Publication};
use crate::listener::{ContainerLink, Inside, Listener, Published};

fn link(c: &Container, published: Option<Published>) -> ContainerLink {
    ContainerLink {
        engine: c.engine,
        id: c.id.clone(),
        name: c.name.clone(),
        image: c.image.clone(),
        project: c.compose.as_ref().map(|x| x.project.clone()),
        service: c.compose.as_ref().map(|x| x.service.clone()),
        published,
    }
}

/// What listens on `p`'s container port inside `c`.
pub fn inside(scan: &ContainerScan, c: &Container, p: &Publication) -> Published {
    let Some(ns) = scan.namespace_of(&c.id) else {
        return Published {
            target: p.container_port,
            inside: Inside::Unknown,
            inside_local: Vec::new(),
        };
    };
    let there: Vec<&Listener> = ns
        .listeners
        .iter()
        .filter(|l| l.transport == p.transport && l.port == p.container_port)
        .collect();
    let state = if there.is_empty() {
        Inside::Nothing
    } else if there.iter().all(|l| l.addr.is_loopback()) {
        Inside::LoopbackOnly
    } else {
        Inside::Listening
    };
    let mut local: Vec<String> = there.iter().map(|l| l.local()).collect();
    local.sort();
    local.dedup();
    Published {
        target: p.container_port,
        inside: state,
        inside_local: local,
    }
}

/// Links `host` listeners to the containers of `scan` and adds a listener for each
/// publication no host socket serves. Sorted like [`crate::observe`].
pub fn merge(host: &mut Vec<Listener>, scan: &ContainerScan) {
    let mut pending: Vec<(&Container, &Publication)> = Vec::new();
    // exact address first, so `0.0.0.0` and `::` publications find their own sockets
    for c in &scan.containers {
        for p in &c.publications {
            let exact = host.iter_mut().find(|l| {
                l.container.is_none()
                    && l.transport == p.transport
                    && l.port == p.host_port
                    && l.addr == p.host_ip
            });
            match exact {
                Some(l) => l.container = Some(link(c, Some(inside(scan, c, p)))),
                None => pending.push((c, p)),
            }
        }
    }
    // then a wildcard publication served by a wildcard socket of the other family
    // (a dual-stack `[::]` socket serves `0.0.0.0`)
    for (c, p) in pending {
        let relaxed = host.iter_mut().find(|l| {
            l.container.is_none()
                && l.transport == p.transport
                && l.port == p.host_port
                && l.addr.is_unspecified()
                && p.host_ip.is_unspecified()
        });
        match relaxed {
            Some(l) => l.container = Some(link(c, Some(inside(scan, c, p)))),
            None => host.push(Listener {
                transport: p.transport,
                addr: p.host_ip,
                port: p.host_port,
                inode: 0,
                uid: 0,
                owners: Vec::new(),
                container: Some(link(c, Some(inside(scan, c, p)))),
            }),
        }
    }
    // a container's own process on the host's network
    for l in host.iter_mut().filter(|l| l.container.is_none()) {
        if let Some(c) = l
            .owners
            .iter()
            .find_map(|o| o.container.as_deref().and_then(|t| scan.by_tag(t)))
        {
            l.container = Some(link(c, None));
        }
    }
    host.sort_by_key(|l| (l.transport, l.port, l.addr, l.inode));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::{Engine, Namespace};
    use crate::listener::{Owner, Transport};

    fn sock(addr: &str, port: u16, inode: u64, owner: Option<(&str, Option<&str>)>) -> Listener {
        Listener {
            transport: Transport::Tcp,
            addr: addr.parse().unwrap(),
            port,
            inode,
            uid: 0,
            owners: owner
                .map(|(name, container)| Owner {
                    pid: 100 + u32::try_from(inode).unwrap(),
                    name: name.into(),
                    cmdline: name.into(),
                    user: "root".into(),
                    container: container.map(str::to_string),
                })
                .into_iter()
                .collect(),
            container: None,
        }
    }

    fn container(id: char, name: &str, pubs: &[(&str, u16, u16)]) -> Container {
        Container {
            engine: Engine::Docker,
            endpoint: "unix:///d.sock".into(),
            id: std::iter::repeat_n(id, 64).collect(),
            name: name.into(),
            image: "img".into(),
            compose: None,
            network_mode: None,
            networks: Vec::new(),
            publications: pubs
                .iter()
                .map(|(ip, hp, cp)| Publication {
                    host_ip: ip.parse().unwrap(),
                    host_port: *hp,
                    container_port: *cp,
                    transport: Transport::Tcp,
                })
                .collect(),
            exposed: Vec::new(),
            pid: None,
            netns: None,
        }
    }

    #[test]
    fn publications_meet_their_host_sockets_whoever_holds_them() {
        let web = container('a', "web", &[("0.0.0.0", 8080, 80), ("::", 8080, 80)]);
        let dead = container('b', "dead", &[("127.0.0.1", 9090, 9000)]);
        let lo = container('c', "lo", &[("0.0.0.0", 7070, 7000)]);
        let hostnet = container('d', "hostnet", &[]);
        let unseen = container('e', "unseen", &[("0.0.0.0", 6060, 6000)]);
        let scan = ContainerScan {
            containers: vec![web, dead, lo, hostnet, unseen],
            namespaces: vec![
                Namespace {
                    key: 1,
                    containers: vec!["a".repeat(64)],
                    listeners: vec![sock("::", 80, 50, None)],
                },
                Namespace {
                    key: 2,
                    containers: vec!["b".repeat(64)],
                    listeners: vec![sock("0.0.0.0", 9001, 51, None)],
                },
                Namespace {
                    key: 3,
                    containers: vec!["c".repeat(64)],
                    listeners: vec![sock("127.0.0.1", 7000, 52, None)],
                },
            ],
            unseen: vec!["e".repeat(64)],
            ..ContainerScan::default()
        };
        let mut host = vec![
            sock("0.0.0.0", 8080, 1, Some(("docker-proxy", None))),
            sock("::", 8080, 2, Some(("docker-proxy", None))),
            sock("127.0.0.1", 9090, 3, Some(("dockerd", None))),
            sock("0.0.0.0", 22, 4, Some(("sshd", None))),
            sock(
                "0.0.0.0",
                5000,
                5,
                Some(("app", Some("docker:dddddddddddd"))),
            ),
        ];
        merge(&mut host, &scan);
        let view: Vec<String> = host
            .iter()
            .map(|l| {
                let c = l.container.as_ref();
                format!(
                    "{} {} {} {}",
                    l.local(),
                    l.owners.first().map_or("-", |o| o.name.as_str()),
                    c.map_or("-", |c| c.name.as_str()),
                    c.and_then(|c| c.published.as_ref())
                        .map_or("-".into(), |p| format!(
                            "{}:{}",
                            p.target,
                            p.inside.as_str()
                        ))
                )
            })
            .collect();
        assert_eq!(
            view,
            [
                "0.0.0.0:22 sshd - -",
                "0.0.0.0:5000 app hostnet -",
                "0.0.0.0:6060 - unseen 6000:unknown",
                "0.0.0.0:7070 - lo 7000:loopback-only",
                "0.0.0.0:8080 docker-proxy web 80:listening",
                "[::]:8080 docker-proxy web 80:listening",
                "127.0.0.1:9090 dockerd dead 9000:nothing",
            ]
        );
    }

    #[test]
    fn a_dual_stack_socket_serves_an_ipv4_wildcard_publication() {
        let scan = ContainerScan {
            containers: vec![container('a', "web", &[("0.0.0.0", 8080, 80)])],
            ..ContainerScan::default()
        };
        let mut host = vec![sock("::", 8080, 1, Some(("rootlessport", None)))];
        merge(&mut host, &scan);
        assert_eq!(host.len(), 1);
        assert_eq!(host[0].container.as_ref().unwrap().name, "web");
    }
}
