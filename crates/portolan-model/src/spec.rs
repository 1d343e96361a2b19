//! The raw spec as written in `ports.toml`: serde types that mirror the file one to one,
//! keep every value's span, reject unknown keys, and describe themselves as a JSON Schema.
//! Names and cross-references are checked later, by `resolve`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::identity::{HostName, MachineId};
use crate::net::IpNet;
use crate::port::{PortRange, PortSet};
use crate::spanned::{List, Pairs, ShortOr, Sp};

/// A name (of a service, host, project, network, binding …) with its span.
pub type Name = Sp<String>;

/// The whole spec file (`ports.toml`). Several files of a directory merge into one.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(title = "portolan spec (ports.toml)")]
pub struct SpecFile {
    /// Metadata about the whole spec.
    #[serde(default)]
    pub spec: Option<Meta>,
    /// Named networks: `lan = "192.168.1.0/24"`. `public` and `localhost` are built in.
    #[serde(default)]
    pub networks: BTreeMap<Name, Sp<NetworkDef>>,
    /// Environments (`development`, `production`, …). Hosts name theirs; declaring one here adds
    /// a description.
    #[serde(default)]
    pub environments: BTreeMap<Name, EnvironmentDef>,
    /// Machines (or container hosts).
    #[serde(default)]
    pub hosts: BTreeMap<Name, Sp<HostDef>>,
    /// Owners of port ranges.
    #[serde(default)]
    pub projects: BTreeMap<Name, Sp<ProjectDef>>,
    /// Things that listen.
    #[serde(default)]
    pub services: BTreeMap<Name, Sp<ServiceDef>>,
    /// Reverse-proxy edges: listener binding → upstream binding.
    #[serde(default)]
    pub routes: Vec<Sp<RouteDef>>,
    /// Allowed connections, inbound and outbound.
    #[serde(default)]
    pub flows: Vec<Sp<FlowDef>>,
    /// Ports held for a project without a service yet.
    #[serde(default)]
    pub reservations: Vec<Sp<ReservationDef>>,
    /// Reachability facts the spec promises (`[[expect]]`), checked by `lint` against the
    /// reach model and by `check --probe` live.
    #[serde(default)]
    pub expect: Vec<Sp<ExpectDef>>,
    /// Lint configuration.
    #[serde(default)]
    pub lint: Option<LintDef>,
}

/// `[spec]`: what this spec describes.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Meta {
    /// Title used by generated documents.
    pub name: Option<String>,
    /// A paragraph of context.
    pub description: Option<String>,
    /// Who maintains the spec.
    pub owner: Option<String>,
}

/// A network: a CIDR, a list of CIDRs, or a table with a description.
pub type NetworkDef = ShortOr<List<Sp<IpNet>>, NetworkTable>;

/// `[networks.NAME]` written as a table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NetworkTable {
    /// The CIDRs (IPv4 and/or IPv6).
    pub cidrs: List<Sp<IpNet>>,
    /// What the network is.
    pub description: Option<String>,
}

/// `[environments.NAME]`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EnvironmentDef {
    /// What the environment is for.
    pub description: Option<String>,
}

/// `[hosts.NAME]`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HostDef {
    /// Environment the host belongs to (default `default`).
    pub environment: Option<Name>,
    /// Addresses of the host.
    #[serde(default)]
    pub addresses: List<Sp<IpAddr>>,
    /// Networks the host is reachable from. Default `["public"]`: a host whose networks are not
    /// declared is assumed reachable from anywhere.
    pub networks: Option<Sp<List<Name>>>,
    /// The host firewall: a kind (`"ufw"`), or a table with the rules as deployed.
    pub firewall: Option<Sp<FirewallDef>>,
    /// Ephemeral (client) port range of the OS (default Linux `32768-60999`).
    pub ephemeral: Option<Sp<PortRange>>,
    /// Whether `::` also accepts IPv4 (Linux `bindv6only=0`, the default).
    pub dual_stack: Option<bool>,
    /// What the host is.
    pub description: Option<String>,
    /// A host name of the machine (`hostname` prints it): a one-name form of `hostnames`.
    /// Generators also use it to address the host when it declares no `addresses`.
    pub hostname: Option<Sp<HostName>>,
    /// Host names of the machine, short or fully qualified (`web-1`, `web-1.prod.example`):
    /// commands that act as "this host" (`check`, `agent`, `snapshot`, `ls`, …) recognise the
    /// machine by them when no `--host` is given.
    pub hostnames: Option<Sp<List<Sp<HostName>>>>,
    /// The machine's systemd machine id (`cat /etc/machine-id`, 32 lowercase hexadecimal
    /// digits): recognises the machine before any host name does, whatever it is called.
    pub machine_id: Option<Sp<MachineId>>,
}

/// The host firewall.
pub type FirewallDef = ShortOr<FirewallKind, FirewallTable>;

/// Firewall software on a host.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum FirewallKind {
    /// No host firewall: everything bound is reachable.
    None,
    /// Uncomplicated Firewall.
    Ufw,
    /// iptables / ip6tables.
    Iptables,
    /// nftables.
    Nftables,
    /// firewalld.
    Firewalld,
    /// A cloud security group in front of the host.
    Cloud,
}

impl FirewallKind {
    /// `ufw`, `iptables`, …
    pub fn as_str(self) -> &'static str {
        match self {
            FirewallKind::None => "none",
            FirewallKind::Ufw => "ufw",
            FirewallKind::Iptables => "iptables",
            FirewallKind::Nftables => "nftables",
            FirewallKind::Firewalld => "firewalld",
            FirewallKind::Cloud => "cloud",
        }
    }
}

/// `firewall = { kind = "ufw", inbound = "deny", rules = [...] }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FirewallTable {
    /// Firewall software.
    pub kind: Sp<FirewallKind>,
    /// Default inbound policy (default `deny`).
    pub inbound: Option<Sp<Action>>,
    /// The rules as deployed, first match wins. Without `rules`, the firewall is assumed to
    /// allow exactly the declared exposure (what `portolan gen` writes).
    pub rules: Option<Vec<Sp<FirewallRule>>>,
}

/// Allow or deny.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Let it through.
    Allow,
    /// Drop it.
    Deny,
}

/// One deployed firewall rule.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FirewallRule {
    /// allow or deny.
    pub action: Sp<Action>,
    /// Destination ports (default: every port).
    pub port: Option<Sp<PortSet>>,
    /// Transport (default: both).
    pub transport: Option<Sp<Transport>>,
    /// Source: a network name, a CIDR, `any` (default).
    pub from: Option<Name>,
    /// Why the rule exists, or where it was copied from.
    pub comment: Option<String>,
}

/// `[projects.NAME]`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProjectDef {
    /// The project's port range(s): `"5000-5399"` or `["5401-5431", "5433-5499"]`.
    pub range: Option<Sp<PortSet>>,
    /// Named sub-ranges: `blocks = { api = "5021-5030" }`.
    #[serde(default)]
    pub blocks: Pairs<Name, Sp<BlockDef>>,
    /// What the project is.
    pub description: Option<String>,
    /// Team or person.
    pub owner: Option<String>,
}

/// A block: a range, or a table with a purpose.
pub type BlockDef = ShortOr<PortSet, BlockTable>;

/// A block written as a table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BlockTable {
    /// The ports.
    pub range: Sp<PortSet>,
    /// What the block is for.
    pub purpose: Option<String>,
}

/// Lifecycle of a service.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Deserialize,
    Serialize,
    JsonSchema,
    Default,
)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Running.
    #[default]
    Active,
    /// Held, not running.
    Reserved,
    /// Still running, going away.
    Deprecated,
    /// Not running yet.
    Planned,
}

impl Status {
    /// `active`, `reserved`, `deprecated`, `planned`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Reserved => "reserved",
            Status::Deprecated => "deprecated",
            Status::Planned => "planned",
        }
    }
}

/// `[services.NAME]`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServiceDef {
    /// Owning project.
    pub project: Option<Name>,
    /// Block of the project the service's ports come from.
    pub block: Option<Name>,
    /// What it does.
    pub purpose: Option<String>,
    /// Team or person responsible.
    pub owner: Option<String>,
    /// `active` (default), `reserved`, `deprecated`, `planned`.
    pub status: Option<Sp<Status>>,
    /// Since when (`2025-09-22`).
    pub since: Option<Sp<Date>>,
    /// Where the facts come from: `file:line`.
    #[serde(default)]
    pub evidence: List<String>,
    /// Hosts the service runs on (each binding may name its own `host`).
    pub hosts: Option<Sp<List<Name>>>,
    /// The service binds ports below 1024 on purpose.
    #[serde(default)]
    pub privileged: bool,
    /// Program expected to own the listeners (e.g. `gunicorn`).
    pub process: Option<String>,
    /// Where it listens, by binding name (`http`, `metrics`, …).
    #[serde(default)]
    pub bindings: Pairs<Name, Sp<BindingDef>>,
    /// Per-environment overrides: `[services.NAME.env.production]`.
    #[serde(default)]
    pub env: Pairs<Name, Sp<OverrideDef>>,
    /// Suppressions for this service.
    pub lint: Option<ServiceLintDef>,
    /// End of a lease (`2026-11-27T10:00:00Z`): the service was allocated for a while (dev, CI)
    /// by `portolan alloc --lease`; after this instant its ports count as free and
    /// `portolan gc` removes it.
    pub lease_until: Option<Sp<Timestamp>>,
}

/// An instant, written as a TOML offset date-time or an RFC 3339 string
/// (`2026-11-27T10:00:00Z`, `2026-11-27T12:00:00+02:00`); kept as seconds since the Unix
/// epoch, UTC. Displays as `YYYY-MM-DDTHH:MM:SSZ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema)]
#[schemars(
    description = "An instant with a UTC offset, RFC 3339 (2026-11-27T10:00:00Z)",
    with = "String"
)]
pub struct Timestamp(pub i64);

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

impl Timestamp {
    /// Parses RFC 3339 with a mandatory offset (`Z`, `+02:00`); fractional seconds are
    /// dropped.
    pub fn parse(text: &str) -> Result<Timestamp, String> {
        let bad = || format!("`{text}` is not an instant like 2026-11-27T10:00:00Z");
        let dt: toml::value::Datetime = text.trim().parse().map_err(|_| bad())?;
        Timestamp::from_datetime(&dt).ok_or_else(bad)
    }

    fn from_datetime(dt: &toml::value::Datetime) -> Option<Timestamp> {
        let (date, time, offset) = (dt.date?, dt.time?, dt.offset?);
        let offset_minutes = match offset {
            toml::value::Offset::Z => 0,
            toml::value::Offset::Custom { minutes } => i64::from(minutes),
        };
        let days = days_from_civil(
            i64::from(date.year),
            i64::from(date.month),
            i64::from(date.day),
        );
        let secs = days * 86_400
            + i64::from(time.hour) * 3600
            + i64::from(time.minute) * 60
            + i64::from(time.second.unwrap_or(0))
            - offset_minutes * 60;
        Some(Timestamp(secs))
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, m, d) = civil_from_days(self.0.div_euclid(86_400));
        let s = self.0.rem_euclid(86_400);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            s / 3600,
            s / 60 % 60,
            s % 60
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an instant like 2026-11-27T10:00:00Z")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse(v).map_err(E::custom)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Timestamp, A::Error> {
                let dt = toml::value::Datetime::deserialize(
                    serde::de::value::MapAccessDeserializer::new(map),
                )?;
                Timestamp::from_datetime(&dt).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "`{dt}` is not an instant: write a date, a time and an offset, like 2026-11-27T10:00:00Z"
                    ))
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// A calendar date, written as a TOML date or a string `YYYY-MM-DD`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[schemars(
    description = "A date, YYYY-MM-DD (TOML date or string)",
    with = "String"
)]
pub struct Date(pub String);

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Date;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a date YYYY-MM-DD")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Date, E> {
                let ok = v.len() == 10
                    && v.bytes().enumerate().all(|(i, b)| {
                        if i == 4 || i == 7 {
                            b == b'-'
                        } else {
                            b.is_ascii_digit()
                        }
                    });
                let month = v.get(5..7).and_then(|m| m.parse::<u8>().ok()).unwrap_or(0);
                let day = v.get(8..10).and_then(|m| m.parse::<u8>().ok()).unwrap_or(0);
                let year = v.get(0..4).and_then(|y| y.parse::<u32>().ok()).unwrap_or(0);
                let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
                let days = match month {
                    2 if leap => 29,
                    2 => 28,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                };
                if ok && (1..=12).contains(&month) && (1..=days).contains(&day) {
                    Ok(Date(v.to_string()))
                } else {
                    Err(E::custom(format!("`{v}` is not a date YYYY-MM-DD")))
                }
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Date, A::Error> {
                // a TOML date arrives as toml's one-field datetime struct holding its text
                // (already validated and in canonical form): read the text, not a `Datetime`
                // (parsing and formatting it again cost more than the rest of the service)
                let Some(_field) = map.next_key::<std::borrow::Cow<'de, str>>()? else {
                    return Err(serde::de::Error::custom("expected a date"));
                };
                let text = map.next_value::<std::borrow::Cow<'de, str>>()?;
                if text.len() == 10 {
                    self.visit_str(&text)
                } else {
                    Err(serde::de::Error::custom("expected a date without time"))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// `[services.S.bindings.NAME]`: where a service listens.
#[derive(Debug, Default, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BindingDef {
    /// Port or port range on the host.
    pub port: Option<Sp<PortRange>>,
    /// Host, when the binding is on one host only (default: the service's hosts).
    pub host: Option<Name>,
    /// Bind address (default `0.0.0.0`, the widest: say what you bind).
    pub bind: Option<Sp<IpAddr>>,
    /// `tcp` (default) or `udp`.
    pub transport: Option<Sp<Transport>>,
    /// Application protocol: `http`, `https`, `grpc`, `postgres`, `redis`, …
    pub app: Option<Sp<String>>,
    /// Container-side port, when published from a container.
    pub target: Option<Sp<PortRange>>,
    /// Who publishes the port: `host` (default), `docker`, `podman`, `k8s-nodeport`.
    pub publisher: Option<Sp<Publisher>>,
    /// Who is meant to reach it: `localhost`, `host-internal`, `internal`, network names,
    /// CIDRs, `public` (default `internal`).
    pub exposure: Option<Sp<List<Name>>>,
    /// Whether clients must authenticate.
    pub auth: Option<Sp<bool>>,
    /// TLS: `none` (default), `native`, or `proxy` (terminated by a route in front).
    pub tls: Option<Sp<Tls>>,
    /// The binding only redirects (HTTP → HTTPS).
    pub redirect: Option<bool>,
    /// Health-check path for probes (`/health`).
    pub health: Option<String>,
    /// Holds sensitive data or controls (overrides the guess from `app`).
    pub sensitive: Option<bool>,
    /// Opened by web browsers (default: when `app` is http or https).
    pub browser: Option<bool>,
    /// What this binding is for.
    pub purpose: Option<String>,
}

/// Transport protocol.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Deserialize,
    Serialize,
    JsonSchema,
    Default,
)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// TCP.
    #[default]
    Tcp,
    /// UDP.
    Udp,
}

impl Transport {
    /// `tcp` / `udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

/// Who publishes a port.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Deserialize,
    Serialize,
    JsonSchema,
    Default,
)]
#[serde(rename_all = "kebab-case")]
pub enum Publisher {
    /// The process listens on the host itself.
    #[default]
    Host,
    /// Docker `-p`/`ports:` (DNAT in PREROUTING: bypasses the INPUT chain).
    Docker,
    /// Podman (rootful: like Docker).
    Podman,
    /// Kubernetes `NodePort` (kube-proxy DNAT: bypasses the INPUT chain).
    K8sNodeport,
}

impl Publisher {
    /// Whether traffic to the port skips the host's INPUT firewall chain.
    pub fn bypasses_input_firewall(self) -> bool {
        !matches!(self, Publisher::Host)
    }

    /// `host`, `docker`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Publisher::Host => "host",
            Publisher::Docker => "docker",
            Publisher::Podman => "podman",
            Publisher::K8sNodeport => "k8s-nodeport",
        }
    }
}

/// TLS on a binding.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Deserialize,
    Serialize,
    JsonSchema,
    Default,
)]
#[serde(rename_all = "kebab-case")]
pub enum Tls {
    /// Cleartext.
    #[default]
    None,
    /// The service speaks TLS itself.
    Native,
    /// A proxy in front terminates TLS (a route).
    Proxy,
}

impl Tls {
    /// `none` / `native` / `proxy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tls::None => "none",
            Tls::Native => "native",
            Tls::Proxy => "proxy",
        }
    }
}

/// `[services.S.env.ENV]`: what differs in one environment.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OverrideDef {
    /// Hosts in this environment.
    pub hosts: Option<Sp<List<Name>>>,
    /// Status in this environment.
    pub status: Option<Sp<Status>>,
    /// Binding fields that differ (merged over the base binding of the same name; a new name
    /// adds a binding in this environment only).
    #[serde(default)]
    pub bindings: Pairs<Name, Sp<BindingDef>>,
}

/// `[services.S.lint]`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServiceLintDef {
    /// Rules not to report for this service, each with the reason why.
    #[serde(default)]
    pub allow: Vec<Sp<Suppression>>,
}

/// A suppression: `{ rule = "internal-exposed", reason = "..." }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Suppression {
    /// Rule id.
    pub rule: Name,
    /// Why (required).
    pub reason: String,
    /// Only this binding of the service.
    pub binding: Option<Name>,
}

/// `[[routes]]`: a proxy edge.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RouteDef {
    /// Listener: `service.binding` (or `service` with one binding).
    pub from: Name,
    /// Upstream: `service.binding`.
    pub to: Name,
    /// Host match (`server_name`).
    pub host: Option<String>,
    /// Path prefix match.
    pub path: Option<String>,
    /// Host the route is configured on, when the listener runs on several.
    pub on: Option<Name>,
}

/// `[[flows]]`: an allowed connection.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FlowDef {
    /// Source: a service, `service.binding`, a network name, a CIDR, or `public`.
    pub from: Name,
    /// Destination: `service.binding`, a service, or an external `fqdn-pattern:port`
    /// (`*.stripe.com:443`), `cidr:port`, `network:port`.
    pub to: Name,
    /// Transport when `to` is external (default tcp).
    pub transport: Option<Sp<Transport>>,
    /// Why the flow exists.
    pub purpose: Option<String>,
}

/// `[[reservations]]`: ports held without a service.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReservationDef {
    /// The ports.
    pub ports: Sp<PortSet>,
    /// Project holding them.
    pub project: Option<Name>,
    /// Why (required).
    pub why: String,
    /// Host, when only on one host.
    pub host: Option<Name>,
    /// Until when (`YYYY-MM-DD`).
    pub until: Option<Sp<Date>>,
}

/// `[[expect]]`: who can (or must not) connect to what — a fact the spec promises, checked
/// by `portolan lint` against the reach model and by `portolan check --probe` live.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ExpectDef {
    /// Who connects: `public` or `internet` (addresses outside the private ranges), `any`
    /// (every address), a network, a host, a service, a CIDR, or `host-internal` (containers
    /// on the target's host). `network:NAME`, `host:NAME`, `service:NAME` say which kind a
    /// name is when it is ambiguous.
    pub from: Name,
    /// What it connects to: `service.binding`, a service (each of its bindings), `host:port`
    /// (whatever the spec declares there), or a project (each binding of its services).
    /// `service:NAME` and `project:NAME` say which kind a name is.
    pub to: Name,
    /// Whether every address of `from` can connect (`true`) or none may (`false`).
    pub reach: Sp<bool>,
    /// Only the target's instances in this environment.
    pub env: Option<Name>,
    /// Only bindings of this transport.
    pub transport: Option<Sp<Transport>>,
    /// Address family the fact is about (default `both`).
    pub family: Option<Sp<Family>>,
    /// Why it must hold (shown when it does not).
    pub reason: Option<String>,
}

/// An IP address family, or both.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
    /// IPv4 and IPv6.
    Both,
}

impl Family {
    /// `v4`, `v6`, `both`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::V4 => "v4",
            Family::V6 => "v6",
            Family::Both => "both",
        }
    }

    /// Whether `self` and `other` have a family in common.
    pub fn overlaps(self, other: Family) -> bool {
        self == other || self == Family::Both || other == Family::Both
    }
}

/// `[lint]`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LintDef {
    /// Rule ids never reported.
    #[serde(default)]
    pub allow: Vec<Name>,
    /// Severity per rule id: `error`, `warning`, `info` or `allow`.
    #[serde(default)]
    pub severity: Pairs<Name, Sp<Level>>,
}

/// A configured severity.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// Not reported.
    Allow,
    /// Informational.
    Info,
    /// Warning.
    Warning,
    /// Error.
    Error,
}
