//! `init --from-host`: a draft spec of this machine as it is — its interfaces and the
//! networks they imply, and every listener as a service (grouped by owning program) with its
//! binding, bind address, transport, the program, and an exposure equal to what the machine
//! exposes today (so the draft lints clean against reality and the team narrows it).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

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

fn usable(a: &IfAddr) -> bool {
    !a.addr.is_loopback()
        && !matches!(a.addr, IpAddr::V6(v) if (v.segments()[0] & 0xffc0) == 0xfe80)
}

/// The draft spec text.
pub fn draft(hostname: &str, ifaces: &[IfAddr], listeners: &[Listener]) -> String {
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
        "# Draft spec of host `{hostname}`, written by `portolan init --from-host`."
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
            let list: Vec<String> = cidrs.iter().map(|c| format!("\"{c}\"")).collect();
            let _ = writeln!(out, "{name} = [{}]", list.join(", "));
        }
        out.push('\n');
    }
    let addrs: Vec<String> = ifaces
        .iter()
        .filter(|a| usable(a))
        .map(|a| format!("\"{}\"", a.addr))
        .collect();
    let _ = writeln!(out, "[hosts.{host}]");
    let _ = writeln!(out, "hostname = \"{hostname}\"");
    let _ = writeln!(out, "addresses = [{}]", addrs.join(", "));
    let _ = writeln!(
        out,
        "networks = [{}]\n",
        host_nets
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // services: one per owning program (disambiguated by lowest port), bindings per socket
    let mut groups: BTreeMap<String, Vec<&Listener>> = BTreeMap::new();
    for l in listeners {
        let program = l
            .owners
            .first()
            .map_or_else(|| format!("port-{}", l.port), |o| sanitize(&o.name));
        groups.entry(program).or_default().push(l);
    }
    for (program, ls) in &groups {
        let process = ls
            .iter()
            .find_map(|l| l.owners.first())
            .map(|o| o.name.clone());
        let mut bindings: BTreeMap<String, String> = BTreeMap::new();
        for l in ls {
            let known = portolan_model::knowledge::primary_use(l.port).map(|w| w.name);
            let mut name = format!("{}-{}", l.transport.as_str(), l.port);
            if bindings.contains_key(&name) {
                name = format!("{name}-{}", sanitize(&l.addr.to_string()));
            }
            let exposure = if l.addr.is_loopback() {
                "\"localhost\"".to_string()
            } else if l.addr.is_unspecified() {
                let mut v: Vec<String> = host_nets
                    .iter()
                    .filter(|n| {
                        l.addr.is_ipv6()
                            || *n == "public"
                            || nets
                                .get(*n)
                                .is_some_and(|c| c.iter().any(|x| !x.contains(':')))
                    })
                    .map(|n| format!("\"{n}\""))
                    .collect();
                if v.is_empty() {
                    v.push("\"host-internal\"".into());
                }
                format!("[{}]", v.join(", "))
            } else {
                let on: Vec<String> = ifaces
                    .iter()
                    .filter(|a| a.addr == l.addr)
                    .map(|a| format!("\"{}\"", sanitize(&a.iface)))
                    .collect();
                if on.is_empty() {
                    "\"host-internal\"".into()
                } else {
                    format!("[{}]", on.join(", "))
                }
            };
            let transport = if l.transport == Transport::Udp {
                ", transport = \"udp\""
            } else {
                ""
            };
            let app = known
                .map(|k| format!(", app = \"{k}\""))
                .unwrap_or_default();
            bindings.insert(
                name,
                format!(
                    "{{ port = {}, bind = \"{}\"{transport}{app}, exposure = {exposure} }}",
                    l.port, l.addr
                ),
            );
        }
        let _ = writeln!(out, "[services.{program}]");
        let _ = writeln!(out, "hosts = [\"{host}\"]");
        if let Some(p) = &process {
            let _ = writeln!(out, "process = \"{}\"", p.replace('"', "'"));
        }
        if ls.iter().any(|l| l.port < 1024) {
            let _ = writeln!(out, "privileged = true");
        }
        let cmd = ls
            .iter()
            .find_map(|l| l.owners.first())
            .map(|o| o.cmdline.replace(['"', '\\'], "'"));
        if let Some(c) = cmd.filter(|c| !c.is_empty()) {
            let _ = writeln!(
                out,
                "evidence = [\"observed on {hostname}: {}\"]",
                c.chars().take(120).collect::<String>()
            );
        }
        for (name, b) in &bindings {
            let _ = writeln!(out, "bindings.{name} = {b}");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listener::Owner;

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
            Listener {
                transport: Transport::Tcp,
                addr: "0.0.0.0".parse().unwrap(),
                port: 22,
                inode: 1,
                uid: 0,
                owners: vec![sshd],
            },
            Listener {
                transport: Transport::Tcp,
                addr: "127.0.0.1".parse().unwrap(),
                port: 5432,
                inode: 2,
                uid: 0,
                owners: vec![],
            },
        ];
        let text = draft("web-1.example", &ifs, &listeners);
        assert!(text.contains("eth0 = [\"192.168.1.0/24\"]"), "{text}");
        let model =
            portolan_model::load_str("ports.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(model.services.len(), 2);
        assert!(model.unresolved.is_empty(), "{:?}", model.unresolved);
    }
}
