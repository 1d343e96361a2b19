//! Owns the default ports of URL schemes: the port a URL means when it writes none
//! (`https://api.example.com` → 443, `postgresql+asyncpg://db/app` → 5432).
//!
//! One table, read by discovery (`.env` URLs) and the Markdown import (URLs in prose,
//! tables and connection strings), so a URL means the same port everywhere.

/// Schemes (lower case) and the port they default to.
pub const SCHEME_PORTS: &[(&str, u16)] = &[
    ("ftp", 21),
    ("sftp", 22),
    ("smtp", 25),
    ("http", 80),
    ("ws", 80),
    ("ldap", 389),
    ("https", 443),
    ("wss", 443),
    ("smtps", 465),
    ("ldaps", 636),
    ("mqtt", 1883),
    ("mysql", 3306),
    ("mariadb", 3306),
    ("nats", 4222),
    ("postgres", 5432),
    ("postgresql", 5432),
    ("postgis", 5432),
    ("amqps", 5671),
    ("amqp", 5672),
    ("redis", 6379),
    ("mqtts", 8883),
    ("memcached", 11211),
    ("mongodb", 27017),
];

/// The default port of URL scheme `scheme` (any letter case; a driver suffix such as
/// `+asyncpg` or `+srv` is ignored): `https` → 443.
pub fn scheme_port(scheme: &str) -> Option<u16> {
    let base = scheme.split('+').next().unwrap_or(scheme);
    super::port_named(SCHEME_PORTS, base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_are_unique_lower_case_and_well_known() {
        for (i, (s, port)) in SCHEME_PORTS.iter().enumerate() {
            assert_eq!(s.to_ascii_lowercase(), *s);
            assert!(
                SCHEME_PORTS[i + 1..].iter().all(|(t, _)| t != s),
                "{s} twice"
            );
            assert!(
                !crate::knowledge::well_known::lookup(*port).is_empty(),
                "{s}: port {port} is not well known"
            );
        }
        assert_eq!(scheme_port("HTTPS"), Some(443));
        assert_eq!(scheme_port("postgresql+asyncpg"), Some(5432));
        assert_eq!(scheme_port("gopher"), None);
    }
}
