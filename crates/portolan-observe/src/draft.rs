//! `init --from-host`: a draft spec of this machine as it is — its interfaces and the
//! networks they imply, and every listener as a service with its binding, bind address,
//! transport, the program, and an exposure equal to what the machine exposes today (so the
//! draft lints clean against reality and the team narrows it). Listeners are grouped by
//! owning program; container publications by compose service (else container name), with
//! `publisher`, `target` and the container and image as evidence. The host declares the
//! machine's host names and machine id, so commands run there recognise it without `--host`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use portolan_model::identity::HostName;
use portolan_model::toml_out::{self, InlineTable, string_array};

use crate::identity::Identity;
use crate::listener::{Listener, Transport};

/// One address of a network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    /// Interface name (`eth0`).
    pub iface: String,
    /// Address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
}

/// Parses `ip -o addr` output.
pub fn parse_ip_addr(text: &str) -> Vec<IfAddr> {
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let Some(i) = f.iter().position(|w| *w == "inet" || *w == "inet6") else {
            continue;
        };
        let (Some(iface), Some(cidr)) = (f.get(1), f.get(i + 1)) else {
            continue;
        };
        let Some((a, p)) = cidr.split_once('/') else {
            continue;
        };
        let (Ok(addr), Ok(prefix)) = (a.parse::<IpAddr>(), p.parse::<u8>()) else {
            continue;
        };
        out.push(IfAddr {
            iface: iface.trim_end_matches(':').to_string(),
            addr,
            prefix,
        });
    }
    out
}

/// This machine's addresses, from `ip -o addr` (empty when iproute2 is missing).
pub fn interfaces() -> Vec<IfAddr> {
    std::process::Command::new("ip")
        .args(["-o", "addr"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| parse_ip_addr(&String::from_utf8_lossy(&o.stdout)))
        .unwrap_or_default()
}

fn sanitize(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "unnamed".into()
    } else {
        out
    }
}

fn network_of(a: &IfAddr) -> String {
    let bits = if a.addr.is_ipv4() { 32 } else { 128 };
    let host_bits = u32::from(bits - a.prefix.min(bits));
    let raw = portolan_model::net::ip_to_u128(a.addr);
    let mask = if host_bits >= 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    let net = raw & !mask;
    let addr = if a.addr.is_ipv4() {
        IpAddr::from(u32::try_from(net).unwrap_or(0).to_be_bytes())
    } else {
        IpAddr::from(net.to_be_bytes())
    };
    format!("{addr}/{}", a.prefix)
}

/// A bridge or veth a container engine made: its addresses are the containers' side of the
/// host (`host-internal`), not a network the host is on.
fn container_bridge(iface: &str) -> bool {
    let hex_suffix = |p: &str| {
        iface
            .strip_prefix(p)
            .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    iface == "docker0"
        || iface == "cni0"
        || iface.starts_with("veth")
        || hex_suffix("br-")
        || iface
            .strip_prefix("podman")
            .or_else(|| iface.strip_prefix("cni-podman"))
            .is_some_and(|r| r.bytes().all(|b| b.is_ascii_digit()))
}

fn usable(a: &IfAddr) -> bool {
    !a.addr.is_loopback()
        && !matches!(a.addr, IpAddr::V6(v) if (v.segments()[0] & 0xffc0) == 0xfe80)
        && !container_bridge(&a.iface)
}

/// The draft spec text of the machine `me` (its host is named after its host name, and
/// declares its valid host names and machine id, so the draft recognises the machine).
pub fn draft(me: &Identity, ifaces: &[IfAddr], listeners: &[Listener]) -> String {
    let hostname = if me.hostname.is_empty() {
        "this-host"
    } else {
        me.hostname.as_str()
    };
    let host = sanitize(hostname);
    let mut nets: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in ifaces.iter().filter(|a| usable(a)) {
        let v = nets.entry(sanitize(&a.iface)).or_default();
        let n = network_of(a);
        if !v.contains(&n) {
            v.push(n);
        }
    }
    let public = ifaces
        .iter()
        .filter(|a| usable(a))
        .any(|a| !portolan_model::net::private_space().contains(a.addr));
    let mut host_nets: Vec<String> = nets.keys().cloned().collect();
    if public {
        host_nets.push("public".into());
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Draft spec of host `{}`, written by `portolan init --from-host`.",
        toml_out::comment_text(hostname)
    );
    let _ = writeln!(
        out,
        "# Every exposure below is what the machine exposes TODAY: narrow each to what is"
    );
    let _ = writeln!(
        out,
        "# intended, name services and projects, then run `portolan lint` and `portolan check`.\n"
    );
    if !nets.is_empty() {
        let _ = writeln!(out, "[networks]");
        for (name, cidrs) in &nets {
            let _ = writeln!(out, "{} = {}", toml_out::key(name), string_array(cidrs));
        }
        out.push('\n');
    }
    let addrs = string_array(
        ifaces
            .iter()
            .filter(|a| usable(a))
            .map(|a| a.addr.to_string()),
    );
    let _ = writeln!(out, "[hosts.{}]", toml_out::key(&host));
    // a kernel host name may hold what a spec's may not: such a name is left out
    let names: Vec<String> = me
        .names()
        .filter(|n| HostName::parse(n).is_ok())
        .map(str::to_string)
        .collect();
    if !names.is_empty() {
        let _ = writeln!(out, "hostnames = {}", string_array(&names));
    }
    if let Some((id, from)) = &me.machine_id {
        let _ = writeln!(
            out,
            "machine-id = {}   # {}",
            toml_out::string(&id.to_string()),
            toml_out::comment_text(from)
        );
    }
    let _ = writeln!(out, "addresses = {addrs}");
    let _ = writeln!(out, "networks = {}\n", string_array(&host_nets));
    let places = Places {
        ifaces,
        nets: &nets,
        host_nets: &host_nets,
    };
    // services: one per compose service or container, then one per owning program
    // (disambiguated by lowest port), bindings per socket
    let mut containers: BTreeMap<String, Vec<&Listener>> = BTreeMap::new();
    let mut groups: BTreeMap<String, Vec<&Listener>> = BTreeMap::new();
    for l in listeners {
        if let Some(c) = &l.container {
            containers
                .entry(sanitize(c.service.as_deref().unwrap_or(&c.name)))
                .or_default()
                .push(l);
            continue;
        }
        let program = l
            .owners
            .first()
            .map_or_else(|| format!("port-{}", l.port), |o| sanitize(&o.name));
        groups.entry(program).or_default().push(l);
    }
    for (name, ls) in &containers {
        container_service(&mut out, hostname, &host, name, ls, &places);
    }
    for (program, ls) in &groups {
        let name = if containers.contains_key(program) {
            format!("{program}-host")
        } else {
            program.clone()
        };
        let process = ls
            .iter()
            .find_map(|l| l.owners.first())
            .map(|o| o.name.clone());
        let mut bindings: BTreeMap<String, String> = BTreeMap::new();
        for l in ls {
            let known = portolan_model::knowledge::primary_use(l.port).map(|w| w.name);
            let mut bname = format!("{}-{}", l.transport.as_str(), l.port);
            if bindings.contains_key(&bname) {
                bname = format!("{bname}-{}", sanitize(&l.addr.to_string()));
            }
            let mut b = InlineTable::new();
            b.value("port", l.port).string("bind", &l.addr.to_string());
            if l.transport == Transport::Udp {
                b.string("transport", "udp");
            }
            if let Some(k) = known {
                b.string("app", k);
            }
            b.value("exposure", places.exposure(l.addr));
            bindings.insert(bname, b.to_string());
        }
        let _ = writeln!(out, "[services.{}]", toml_out::key(&name));
        let _ = writeln!(out, "hosts = {}", string_array([&host]));
        if let Some(p) = &process {
            let _ = writeln!(out, "process = {}", toml_out::string(p));
        }
        if ls.iter().any(|l| l.port < 1024) {
            let _ = writeln!(out, "privileged = true");
        }
        let cmd = ls
            .iter()
            .find_map(|l| l.owners.first())
            .map(|o| o.cmdline.as_str());
        if let Some(c) = cmd.filter(|c| !c.is_empty()) {
            // cut before escaping, on a character boundary: the string stays whole
            let seen = format!(
                "observed on {hostname}: {}",
                toml_out::truncate(c, CMDLINE_CHARS)
            );
            let _ = writeln!(out, "evidence = {}", string_array([seen]));
        }
        for (name, b) in &bindings {
            let _ = writeln!(out, "bindings.{} = {b}", toml_out::key(name));
        }
        out.push('\n');
    }
    out
}

/// How much of a command line a service's evidence quotes, in characters.
const CMDLINE_CHARS: usize = 120;

/// The machine's networks, to say who reaches an address today.
struct Places<'a> {
    ifaces: &'a [IfAddr],
    nets: &'a BTreeMap<String, Vec<String>>,
    host_nets: &'a [String],
}

impl Places<'_> {
    /// The exposure a socket on `addr` has today (TOML value).
    fn exposure(&self, addr: IpAddr) -> String {
        if addr.is_loopback() {
            toml_out::string("localhost")
        } else if addr.is_unspecified() {
            let mut v: Vec<String> = self
                .host_nets
                .iter()
                .filter(|n| {
                    addr.is_ipv6()
                        || *n == "public"
                        || self
                            .nets
                            .get(*n)
                            .is_some_and(|c| c.iter().any(|x| !x.contains(':')))
                })
                .cloned()
                .collect();
            if v.is_empty() {
                v.push("host-internal".into());
            }
            string_array(&v)
        } else {
            let on: Vec<String> = self
                .ifaces
                .iter()
                .filter(|a| a.addr == addr)
                .map(|a| sanitize(&a.iface))
                .collect();
            if on.is_empty() {
                toml_out::string("host-internal")
            } else {
                string_array(&on)
            }
        }
    }
}

/// One service for a compose service (or a container): a binding per publication (the
/// IPv4 and IPv6 wildcard sockets of one publish are one binding), with `publisher`,
/// `target`, `bind` and the container and image as evidence. A container on the host's
/// network gets plain bindings.
fn container_service(
    out: &mut String,
    hostname: &str,
    host: &str,
    name: &str,
    ls: &[&Listener],
    places: &Places<'_>,
) {
    let mut bindings: BTreeMap<String, String> = BTreeMap::new();
    let mut evidence: Vec<String> = Vec::new();
    let mut seen: Vec<(u16, Transport, Option<u16>, bool)> = Vec::new();
    for l in ls {
        let Some(c) = &l.container else { continue };
        let target = c.published.as_ref().map(|p| p.target);
        let key = (l.port, l.transport, target, l.addr.is_unspecified());
        if l.addr.is_unspecified() && seen.contains(&key) {
            continue; // the `::` twin of a `0.0.0.0` publish
        }
        seen.push(key);
        let bind = if l.addr.is_unspecified() {
            IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
        } else {
            l.addr
        };
        let mut bname = format!("{}-{}", l.transport.as_str(), l.port);
        if bindings.contains_key(&bname) {
            bname = format!("{bname}-{}", sanitize(&bind.to_string()));
        }
        let mut b = InlineTable::new();
        b.value("port", l.port).string("bind", &bind.to_string());
        if l.transport == Transport::Udp {
            b.string("transport", "udp");
        }
        if let Some(t) = target {
            b.string("publisher", c.engine.as_str()).value("target", t);
        }
        if let Some(k) = portolan_model::knowledge::primary_use(target.unwrap_or(l.port)) {
            b.string("app", k.name);
        }
        b.value("exposure", places.exposure(bind));
        bindings.insert(bname, b.to_string());
        let what = format!(
            "observed on {hostname}: {} container `{}` (image {}{})",
            c.engine.as_str(),
            c.name,
            c.image,
            match (&c.project, &c.service) {
                (Some(p), Some(s)) => format!(", compose project `{p}`, service `{s}`"),
                _ => String::new(),
            }
        );
        if !evidence.contains(&what) {
            evidence.push(what);
        }
    }
    let _ = writeln!(out, "[services.{}]", toml_out::key(name));
    let _ = writeln!(out, "hosts = {}", string_array([host]));
    if ls.iter().any(|l| l.port < 1024) {
        let _ = writeln!(out, "privileged = true");
    }
    let _ = writeln!(out, "evidence = {}", string_array(&evidence));
    for (b, v) in &bindings {
        let _ = writeln!(out, "bindings.{} = {v}", toml_out::key(b));
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listener::Owner;

    fn named(hostname: &str) -> Identity {
        Identity {
            hostname: hostname.into(),
            ..Identity::default()
        }
    }

    #[test]
    fn the_host_declares_the_machine_s_names_and_id() {
        let me = Identity {
            hostname: "web-1".into(),
            fqdn: Some("web-1.prod.example".into()),
            machine_id: Some((
                portolan_model::identity::MachineId::parse("0123456789abcdef0123456789abcdef")
                    .unwrap(),
                "/etc/machine-id".into(),
            )),
            machine_id_notes: Vec::new(),
        };
        let text = draft(&me, &[], &[]);
        assert!(
            text.contains("[hosts.web-1]\nhostnames = [\"web-1\", \"web-1.prod.example\"]\nmachine-id = \"0123456789abcdef0123456789abcdef\"   # /etc/machine-id\n"),
            "{text}"
        );
        let model =
            portolan_model::load_str("ports.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let r = crate::recognise::recognise(&model, &me).unwrap();
        assert_eq!(r.rule, crate::recognise::Rule::MachineId);
        // a kernel host name a spec cannot hold is left out, and the draft still loads
        let text = draft(&named("web 1"), &[], &[]);
        assert!(!text.contains("hostnames"), "{text}");
        portolan_model::load_str("ports.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    }

    #[test]
    fn parses_ip_addr_and_drafts_a_spec_that_loads() {
        let ip = "1: lo    inet 127.0.0.1/8 scope host lo\\\n4: eth0    inet 192.168.1.10/24 brd 192.168.1.255 scope global eth0\\\n4: eth0    inet6 fe80::1/64 scope link \\\n";
        let ifs = parse_ip_addr(ip);
        assert_eq!(ifs.len(), 3);
        let sshd = Owner {
            pid: 10,
            name: "sshd".into(),
            cmdline: "sshd -D".into(),
            user: "root".into(),
            container: None,
        };
        let listeners = [
            Listener::tcp("0.0.0.0", 22, vec![sshd]),
            Listener::tcp("127.0.0.1", 5432, vec![]),
        ];
        let text = draft(&named("web-1.example"), &ifs, &listeners);
        assert!(text.contains("eth0 = [\"192.168.1.0/24\"]"), "{text}");
        let model =
            portolan_model::load_str("ports.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(model.services.len(), 2);
        assert!(model.unresolved.is_empty(), "{:?}", model.unresolved);
    }

    /// Regression: the host draft turned `"` and `\` in a process command line into `'`
    /// (and could cut the line inside an escape); the evidence must read back as the
    /// command line itself, cut to 120 characters on a character boundary.
    #[test]
    fn host_draft_turned_quotes_and_backslashes_in_command_lines_into_apostrophes() {
        // 119 characters, then a two-byte one at the cut, quotes and backslashes either side
        let quoted = "sh -c \"echo \\\"hi\\\" > C:\\tmp\\out\" ".repeat(3);
        let pad = "x".repeat(119 - quoted.chars().count());
        let cmdline = format!("{quoted}{pad}é\"\\ after the cut");
        assert_eq!(cmdline.chars().position(|c| c == 'é'), Some(119));
        let owner = Owner {
            pid: 7,
            name: "sh \"q\"".into(),
            cmdline: cmdline.clone(),
            user: "root".into(),
            container: None,
        };
        let text = draft(
            &named("h1"),
            &[],
            &[Listener::tcp("127.0.0.1", 8080, vec![owner])],
        );
        let doc: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let service = doc["services"]["sh-q"].as_table().expect("the service");
        let cut: String = cmdline.chars().take(120).collect();
        assert!(cut.ends_with('é') && cut.contains('"') && cut.contains('\\'));
        assert_eq!(
            service["evidence"][0].as_str(),
            Some(format!("observed on h1: {cut}").as_str())
        );
        assert_eq!(service["process"].as_str(), Some("sh \"q\""));
        portolan_model::load_str("ports.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    }

    #[test]
    fn container_bridges_are_not_networks_of_the_host() {
        let ip = "3: docker0    inet 172.17.0.1/16 scope global docker0\\\n5: br-c82d9361d0a4    inet 172.18.0.1/16 scope global br-c82d9361d0a4\\\n6: podman0    inet 10.88.0.1/16 scope global podman0\\\n7: br-lan    inet 192.168.5.1/24 scope global br-lan\\\n";
        let text = draft(&named("h"), &parse_ip_addr(ip), &[]);
        assert!(
            !text.contains("172.17") && !text.contains("172.18") && !text.contains("10.88"),
            "{text}"
        );
        assert!(text.contains("br-lan = [\"192.168.5.0/24\"]"), "{text}");
    }

    #[test]
    fn containers_become_services_named_after_compose_services() {
        use crate::container::Engine;
        use crate::listener::{ContainerLink, Inside, Published};
        let ifs = parse_ip_addr("4: eth0    inet 192.168.1.10/24 scope global eth0\\\n");
        let proxy = Owner {
            pid: 10,
            name: "docker-proxy".into(),
            cmdline: "/usr/sbin/docker-proxy -proto tcp".into(),
            user: "root".into(),
            container: None,
        };
        let link = |name: &str, service: Option<&str>, target: Option<u16>| ContainerLink {
            engine: Engine::Docker,
            id: "a".repeat(64),
            name: name.into(),
            image: "shop/web:1.2".into(),
            project: service.map(|_| "shop".to_string()),
            service: service.map(str::to_string),
            published: target.map(|t| Published {
                target: t,
                inside: Inside::Listening,
                inside_local: Vec::new(),
            }),
        };
        let l = |addr: &str, port: u16, owners: Vec<Owner>, c: ContainerLink| Listener {
            container: Some(c),
            ..Listener::tcp(addr, port, owners)
        };
        let listeners = [
            l(
                "0.0.0.0",
                8080,
                vec![proxy.clone()],
                link("shop-web-1", Some("web"), Some(80)),
            ),
            l(
                "::",
                8080,
                vec![proxy.clone()],
                link("shop-web-1", Some("web"), Some(80)),
            ),
            l(
                "127.0.0.1",
                8443,
                vec![],
                link("shop-web-1", Some("web"), Some(443)),
            ),
            l("0.0.0.0", 9100, vec![], link("node_exporter", None, None)),
        ];
        let text = draft(&named("app1"), &ifs, &listeners);
        assert!(text.contains("[services.web]"), "{text}");
        assert!(
            text.contains("bindings.tcp-8080 = { port = 8080, bind = \"0.0.0.0\", publisher = \"docker\", target = 80, app = \"http\", exposure = [\"eth0\"] }"),
            "{text}"
        );
        assert!(text.contains("bindings.tcp-8443 = { port = 8443, bind = \"127.0.0.1\", publisher = \"docker\", target = 443, app = \"https\", exposure = \"localhost\" }"), "{text}");
        assert!(text.contains("evidence = [\"observed on app1: docker container `shop-web-1` (image shop/web:1.2, compose project `shop`, service `web`)\"]"), "{text}");
        assert!(text.contains("[services.node_exporter]"), "{text}");
        assert!(!text.contains("docker-proxy"), "{text}");
        let model =
            portolan_model::load_str("ports.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(model.services.len(), 2);
        let web = model.service_named("web").unwrap();
        assert_eq!(model.bindings_of(web).len(), 2);
    }
}
