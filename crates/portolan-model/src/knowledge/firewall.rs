//! Owns the names firewall tools accept in place of port numbers: ufw application profiles
//! (`ufw allow 'Nginx Full'`, shown as `Nginx Full` by `ufw status`), firewalld services
//! (`firewall-cmd --add-service=cockpit`) and the service names of `/etc/services` that ufw
//! and nft resolve (`ufw allow ssh`, `tcp dport https`).
//!
//! One table each, read by the `ufw status` importer, the nftables importer and the parsers
//! of firewall commands in documents, so a name means the same ports everywhere.

use crate::knowledge::KnownTransport;
use crate::spec::Transport;

/// A name a firewall tool gives a set of ports: a ufw application profile or a firewalld
/// service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamedPorts {
    /// The name (`OpenSSH`, `Nginx Full`, `cockpit`); ufw and firewalld match it
    /// case-sensitively.
    pub name: &'static str,
    /// Its ports.
    pub ports: &'static [u16],
    /// Its transport (`None`: both).
    pub transport: Option<Transport>,
}

/// One ufw application profile: its name as ufw prints it, its ports and its transport.
pub type UfwProfile = NamedPorts;

const TCP: Option<Transport> = Some(Transport::Tcp);
const UDP: Option<Transport> = Some(Transport::Udp);

const fn profile(
    name: &'static str,
    ports: &'static [u16],
    transport: Option<Transport>,
) -> NamedPorts {
    NamedPorts {
        name,
        ports,
        transport,
    }
}

/// The application profiles ufw ships or common Debian/Ubuntu packages install in
/// `/etc/ufw/applications.d` (profiles that mix transports on different ports, such as
/// Samba's, are left out: a rule cannot be read from their name alone).
pub const UFW_PROFILES: &[UfwProfile] = &[
    profile("OpenSSH", &[22], TCP),
    profile("Nginx Full", &[80, 443], TCP),
    profile("Apache Full", &[80, 443], TCP),
    profile("WWW Full", &[80, 443], TCP),
    profile("Nginx HTTP", &[80], TCP),
    profile("Apache", &[80], TCP),
    profile("WWW", &[80], TCP),
    profile("Nginx HTTPS", &[443], TCP),
    profile("Apache Secure", &[443], TCP),
    profile("WWW Secure", &[443], TCP),
    profile("Postfix", &[25], TCP),
    profile("SMTP", &[25], TCP),
    profile("Postfix SMTPS", &[465], TCP),
    profile("Postfix Submission", &[587], TCP),
    profile("Dovecot IMAP", &[143], TCP),
    profile("Dovecot Secure IMAP", &[993], TCP),
    profile("Dovecot POP3", &[110], TCP),
    profile("Dovecot Secure POP3", &[995], TCP),
    profile("Bind9", &[53], None),
];

/// The services firewalld ships (`/usr/lib/firewalld/services`) that documents open by
/// name; a name not here is looked up in the well-known table
/// ([`firewalld_service_ports`]).
pub const FIREWALLD_SERVICES: &[NamedPorts] = &[
    profile("ssh", &[22], TCP),
    profile("http", &[80], TCP),
    profile("https", &[443], TCP),
    profile("http3", &[443], UDP),
    profile("cockpit", &[9090], TCP),
    profile("dns", &[53], None),
    profile("dhcp", &[67], UDP),
    profile("dhcpv6", &[547], UDP),
    profile("ntp", &[123], UDP),
    profile("postgresql", &[5432], TCP),
    profile("mysql", &[3306], TCP),
    profile("redis", &[6379], TCP),
    profile("smtp", &[25], TCP),
    profile("smtps", &[465], TCP),
    profile("smtp-submission", &[587], TCP),
    profile("imap", &[143], TCP),
    profile("imaps", &[993], TCP),
    profile("pop3", &[110], TCP),
    profile("pop3s", &[995], TCP),
    profile("ldap", &[389], TCP),
    profile("ldaps", &[636], TCP),
    profile("syslog", &[514], UDP),
    profile("snmp", &[161], UDP),
    profile("ftp", &[21], TCP),
    profile("tftp", &[69], UDP),
    profile("samba", &[139, 445], TCP),
    profile("nfs", &[2049], TCP),
    profile("mosquitto", &[1883], TCP),
    profile("vnc-server", &[5900], TCP),
    profile("rdp", &[3389], TCP),
    profile("wireguard", &[51820], UDP),
    profile("openvpn", &[1194], UDP),
    profile("kube-apiserver", &[6443], TCP),
    profile("kubelet", &[10250], TCP),
    profile("etcd-client", &[2379], TCP),
    profile("etcd-server", &[2380], TCP),
    profile("prometheus", &[9090], TCP),
    profile("grafana", &[3000], TCP),
];

/// The ports (and transport, `None`: both) of firewalld service `name`: its entry in
/// [`FIREWALLD_SERVICES`], else the well-known port of that name; empty when unknown.
pub fn firewalld_service_ports(name: &str) -> Vec<(u16, Option<Transport>)> {
    if let Some(s) = FIREWALLD_SERVICES.iter().find(|s| s.name == name) {
        return s.ports.iter().map(|p| (*p, s.transport)).collect();
    }
    crate::knowledge::well_known::by_name(name)
        .map(|w| {
            let t = match w.transport {
                KnownTransport::Tcp => TCP,
                KnownTransport::Udp => UDP,
                KnownTransport::Both => None,
            };
            vec![(w.port, t)]
        })
        .unwrap_or_default()
}

/// Service names of `/etc/services` that firewall commands and rulesets use for ports, with
/// the aliases documents write (`postgres`, `dns`). Lower case.
pub const SERVICE_NAMES: &[(&str, u16)] = &[
    ("ssh", 22),
    ("smtp", 25),
    ("domain", 53),
    ("dns", 53),
    ("http", 80),
    ("ntp", 123),
    ("https", 443),
    ("mysql", 3306),
    ("postgresql", 5432),
    ("postgres", 5432),
];

/// The ufw profile called exactly `name` (as `ufw status` prints it).
pub fn ufw_profile(name: &str) -> Option<&'static UfwProfile> {
    UFW_PROFILES.iter().find(|p| p.name == name)
}

/// The ufw profile whose name is `name` in any letter case (documents write `nginx full`).
pub fn ufw_profile_ignore_case(name: &str) -> Option<&'static UfwProfile> {
    UFW_PROFILES
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
}

/// The port of service name `name` (any letter case): `ssh` → 22.
pub fn service_port(name: &str) -> Option<u16> {
    crate::knowledge::port_named(SERVICE_NAMES, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_agree_with_the_well_known_table() {
        for (i, p) in UFW_PROFILES.iter().enumerate() {
            assert!(
                UFW_PROFILES[i + 1..]
                    .iter()
                    .all(|q| !q.name.eq_ignore_ascii_case(p.name)),
                "{} twice",
                p.name
            );
            assert!(!p.ports.is_empty());
        }
        for (name, port) in SERVICE_NAMES {
            assert_eq!(name.to_ascii_lowercase(), *name);
            assert!(
                !crate::knowledge::well_known::lookup(*port).is_empty(),
                "{name}: port {port} is not well known"
            );
        }
        assert_eq!(ufw_profile("OpenSSH").map(|p| p.ports), Some(&[22][..]));
        assert_eq!(ufw_profile("openssh"), None);
        assert_eq!(
            ufw_profile_ignore_case("nginx full").map(|p| p.ports),
            Some(&[80, 443][..])
        );
        assert_eq!(service_port("HTTPS"), Some(443));
        assert_eq!(firewalld_service_ports("samba"), [(139, TCP), (445, TCP)]);
        assert_eq!(firewalld_service_ports("http3"), [(443, UDP)]);
        assert_eq!(firewalld_service_ports("gopher"), [(70, TCP)]);
        assert!(firewalld_service_ports("no-such-service").is_empty());
        for s in FIREWALLD_SERVICES {
            assert_eq!(
                FIREWALLD_SERVICES
                    .iter()
                    .filter(|t| t.name == s.name)
                    .count(),
                1,
                "{} twice",
                s.name
            );
        }
        assert_eq!(service_port("gopher"), None);
    }
}
