//! Owns the names firewall tools accept in place of port numbers: ufw application profiles
//! (`ufw allow 'Nginx Full'`, shown as `Nginx Full` by `ufw status`) and the service names
//! of `/etc/services` that ufw and nft resolve (`ufw allow ssh`, `tcp dport https`).
//!
//! One table each, read by the `ufw status` importer, the nftables importer and the parsers
//! of firewall commands in documents, so a name means the same ports everywhere.

use crate::spec::Transport;

/// One ufw application profile: its name as ufw prints it, its ports and its transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UfwProfile {
    /// The profile name (`OpenSSH`, `Nginx Full`); ufw matches it case-sensitively.
    pub name: &'static str,
    /// Its ports.
    pub ports: &'static [u16],
    /// Its transport (`None`: both).
    pub transport: Option<Transport>,
}

const TCP: Option<Transport> = Some(Transport::Tcp);

const fn profile(
    name: &'static str,
    ports: &'static [u16],
    transport: Option<Transport>,
) -> UfwProfile {
    UfwProfile {
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
    SERVICE_NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, p)| *p)
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
        assert_eq!(service_port("gopher"), None);
    }
}
