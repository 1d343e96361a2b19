//! What portolan knows about ports without being told: assigned and de-facto well-known
//! ports, the ports browsers refuse, OS ephemeral ranges, the names firewall tools give
//! ports (ufw profiles, service names), the default ports of URL schemes, and what an
//! application protocol implies (encrypted? sensitive? opened by browsers?).

pub mod browser;
pub mod firewall;
pub mod schemes;
pub mod well_known;

pub use browser::{BrowserBlock, blocked_by, blocked_in};
pub use schemes::scheme_port;
pub use well_known::{KnownTransport, PortCategory, WellKnownPort};

use crate::port::PortRange;

/// The port `name` has in a `(name, port)` table of lower-case names, in any letter case.
fn port_named(table: &[(&str, u16)], name: &str) -> Option<u16> {
    table
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, p)| *p)
}

/// Ephemeral (client) port ranges by OS.
pub mod ephemeral {
    use super::PortRange;
    /// Linux default (`net.ipv4.ip_local_port_range`).
    pub const LINUX: PortRange = PortRange {
        lo: 32768,
        hi: 60999,
    };
    /// IANA suggestion, used by Windows (Vista+), macOS and FreeBSD.
    pub const IANA: PortRange = PortRange {
        lo: 49152,
        hi: 65535,
    };
}

/// What an application protocol implies, for the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppTraits {
    /// Encrypted by itself (no TLS needed in front).
    pub encrypted: bool,
    /// Holds data or controls a system (databases, caches, brokers, metrics, admin UIs).
    pub sensitive: bool,
    /// Opened by web browsers.
    pub browser: bool,
    /// Fine in cleartext on the Internet by nature (DNS, NTP, …).
    pub public_cleartext_ok: bool,
    /// What kind of software it is, when the well-known table knows (database, cache, …).
    pub category: Option<PortCategory>,
}

const ENCRYPTED: &[&str] = &[
    "https",
    "ssh",
    "tls",
    "grpcs",
    "wss",
    "imaps",
    "pop3s",
    "smtps",
    "ldaps",
    "ftps",
    "wireguard",
    "openvpn",
    "ipsec",
    "mqtts",
    "amqps",
    "rdp",
    "sftp",
    "h2",
    "h3",
    "quic",
    "dot",
    "doh",
];
const BROWSER: &[&str] = &["http", "https", "ws", "wss", "h2", "h3"];
const PUBLIC_CLEARTEXT_OK: &[&str] = &[
    "dns", "ntp", "dhcp", "stun", "turn", "acme", "bootp", "mdns",
];
const SENSITIVE_CATEGORIES: &[PortCategory] = &[
    PortCategory::Database,
    PortCategory::Cache,
    PortCategory::Queue,
    PortCategory::Metrics,
    PortCategory::Admin,
];
const SENSITIVE_APPS: &[&str] = &[
    "postgres",
    "postgresql",
    "mysql",
    "mariadb",
    "redis",
    "mongodb",
    "memcached",
    "elasticsearch",
    "opensearch",
    "cassandra",
    "clickhouse",
    "couchdb",
    "neo4j",
    "influxdb",
    "etcd",
    "consul",
    "zookeeper",
    "kafka",
    "amqp",
    "rabbitmq",
    "nats",
    "mqtt",
    "prometheus",
    "metrics",
    "node-exporter",
    "grafana",
    "flower",
    "admin",
    "debug",
    "pprof",
    "jupyter",
    "docker",
    "kubelet",
    "kubernetes",
    "vault",
    "mssql",
    "oracle",
    "pgbouncer",
    "minio",
    "rsync",
    "smb",
    "nfs",
    "vnc",
    "x11",
    "telnet",
];

/// Canonical name of an app protocol (`postgresql` → `postgres`) for table look-ups.
pub fn canonical_app(app: &str) -> &str {
    match app {
        "postgresql" | "pg" | "psql" => "postgres",
        "mariadb" => "mysql",
        "rabbitmq" => "amqp",
        "clickhouse" => "clickhouse-native",
        "kubernetes" | "k8s" => "kube-apiserver",
        "opensearch" => "elasticsearch",
        "mongo" => "mongodb",
        other => other,
    }
}

/// Traits of `app` (lowercase), falling back to the well-known use of `port` when `app` is
/// unknown or absent.
pub fn app_traits(app: Option<&str>, port: u16) -> AppTraits {
    let known = well_known::lookup(port)
        .iter()
        .find(|w| w.major)
        .or_else(|| well_known::lookup(port).first());
    let guess = app.or_else(|| known.map(|k| k.name));
    let by_name = app.map(canonical_app).and_then(well_known::by_name);
    let name = guess.unwrap_or("");
    let category = by_name
        .or(if app.is_none() { known } else { None })
        .map(|w| w.category);
    AppTraits {
        encrypted: ENCRYPTED.contains(&name)
            || by_name.is_some_and(|w| w.encrypted)
            || (app.is_none() && known.is_some_and(|k| k.encrypted)),
        sensitive: SENSITIVE_APPS.contains(&name)
            || category.is_some_and(|c| SENSITIVE_CATEGORIES.contains(&c)),
        browser: BROWSER.contains(&name),
        public_cleartext_ok: PUBLIC_CLEARTEXT_OK.contains(&name),
        category,
    }
}

/// Ports of server software so widely deployed next to applications that an application on
/// them — or a project range containing them — is a real collision: something else will
/// expect that port (databases, caches, brokers, directory, mail, remote access, monitoring,
/// orchestration). Curated and short on purpose: `well_known` is a naming table, this is the
/// "do not take" list behind the `well-known-collision` rule.
pub const COLLISION_PORTS: &[u16] = &[
    21, 22, 23, 25, 53, 110, 111, 123, 143, 161, 389, 445, 465, 514, 587, 636, 873, 993, 995, 1433,
    1521, 1883, 2049, 2181, 2375, 2376, 2379, 2380, 3306, 3389, 4222, 4369, 5432, 5672, 5900, 5984,
    6379, 6432, 6443, 7687, 8200, 8500, 8883, 9042, 9090, 9092, 9093, 9100, 9200, 9300, 10250,
    11211, 15672, 26257, 27017,
];

/// Whether `port` is on the [`COLLISION_PORTS`] list.
pub fn is_collision_port(port: u16) -> bool {
    COLLISION_PORTS.binary_search(&port).is_ok()
}

/// The most prominent well-known use of `port`, if any.
pub fn primary_use(port: u16) -> Option<&'static WellKnownPort> {
    let entries = well_known::lookup(port);
    entries.iter().find(|w| w.major).or_else(|| entries.first())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collision_ports_are_sorted_and_named() {
        assert!(COLLISION_PORTS.windows(2).all(|w| w[0] < w[1]));
        for p in COLLISION_PORTS {
            assert!(
                primary_use(*p).is_some(),
                "port {p} has no name in the table"
            );
        }
    }

    #[test]
    fn traits_follow_app_then_port() {
        assert!(app_traits(Some("postgres"), 6000).sensitive);
        assert!(app_traits(None, 5432).sensitive);
        assert!(app_traits(Some("https"), 443).encrypted);
        assert!(!app_traits(Some("http"), 443).encrypted);
        assert!(app_traits(Some("http"), 8069).browser);
        assert!(app_traits(Some("dns"), 53).public_cleartext_ok);
    }
}
