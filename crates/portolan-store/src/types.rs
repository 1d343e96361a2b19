//! Requests and records of the [`Store`](crate::Store) API. Times are seconds since the Unix
//! epoch (UTC); the caller passes `now`, so behaviour is deterministic under test.

use serde::{Deserialize, Serialize};

pub use portolan_alloc::log::{Action, Entry};
pub use portolan_model::Transport;

/// Which engine a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

impl Backend {
    /// `sqlite` / `postgres`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// What [`Store::import_spec`](crate::Store::import_spec) stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Networks.
    pub networks: usize,
    /// Hosts.
    pub hosts: usize,
    /// Projects.
    pub projects: usize,
    /// Services.
    pub services: usize,
    /// Binding instances (one per service binding and host).
    pub bindings: usize,
    /// Reservations.
    pub reservations: usize,
}

/// The registry's spec and the generation it is at (every write that changes the spec —
/// import, push, allocate, release, reserve, gc — moves it on), from one consistent view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VersionedSpec {
    /// The spec, as [`Store::export_spec`](crate::Store::export_spec) writes it.
    pub text: String,
    /// The generation it is at.
    pub generation: i64,
}

/// A push: replace the registry's spec with `toml` — only if it is still at `expected`
/// (what the pusher last pulled), or whatever it is at when `expected` is `None` (a forced
/// push, which logs every item it drops).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushRequest {
    /// The spec.
    pub toml: String,
    /// The generation the pusher last saw (`None`: replace whatever is there).
    pub expected: Option<i64>,
    /// Who pushes (`token:LABEL`).
    pub who: String,
    /// The id of the pushing token (recorded in the log).
    pub token: String,
    /// The current time.
    pub now: i64,
}

/// Something the registry held that a push drops or replaces (see
/// `portolan_alloc::merge::lost`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = LostItem))]
pub struct LostItem {
    /// `service`, `reservation`, `host`, `project`, `network`, `environment`, `route`,
    /// `flow`, `expect` or `section`.
    pub kind: String,
    /// Its name, or how a reservation/route/flow reads.
    pub name: String,
    /// What it holds, or which key differs.
    pub detail: String,
    /// Whether the pushed spec has it, written differently (else it lacks it).
    pub changed: bool,
    /// The ports it holds (`8003`; empty for what holds none).
    pub ports: String,
    /// The whole item in words (``service `search` (main 8003)``).
    pub text: String,
}

impl From<portolan_alloc::merge::Lost> for LostItem {
    fn from(l: portolan_alloc::merge::Lost) -> Self {
        LostItem {
            text: l.to_string(),
            kind: l.kind,
            name: l.name,
            detail: l.detail,
            changed: l.changed,
            ports: l.ports,
        }
    }
}

/// What a push stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Pushed {
    /// What the import stored.
    pub summary: ImportSummary,
    /// The registry's generation after the push.
    pub generation: i64,
    /// What the registry held that the pushed spec lacks or says differently (logged item
    /// by item when the push was forced; what the pusher chose to remove otherwise).
    pub dropped: Vec<LostItem>,
}

/// An allocation request: the CLI's `portolan alloc PROJECT --name NAME …`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocRequest {
    /// Project whose range the ports come from.
    pub project: String,
    /// Block of the project (default: the whole range).
    pub block: Option<String>,
    /// Name of the new service.
    pub name: String,
    /// Name of its one binding (the CLI's default: `main`).
    pub binding: String,
    /// Host it runs on; by default the registry's only host (of `environment`), never an
    /// implicit one (see `portolan_alloc::policy::pick_host`).
    pub host: Option<String>,
    /// Environment whose one host it runs on, when `host` is not given.
    #[serde(default)]
    pub environment: Option<String>,
    /// Transport.
    pub transport: Transport,
    /// Consecutive ports (at least 1).
    pub count: u16,
    /// Prefer the free run nearest to this port.
    pub near: Option<u16>,
    /// Lease length in seconds (`None`: permanent).
    pub lease: Option<i64>,
    /// Why (the service's `purpose` and the log's `why`).
    pub why: Option<String>,
    /// Who asks (for the log).
    pub who: String,
    /// The current time.
    pub now: i64,
}

impl AllocRequest {
    /// One tcp port for `name` from `project`'s range, binding `main`, no host, no lease.
    pub fn new(project: &str, name: &str, who: &str, now: i64) -> Self {
        Self {
            project: project.into(),
            block: None,
            name: name.into(),
            binding: "main".into(),
            host: None,
            environment: None,
            transport: Transport::Tcp,
            count: 1,
            near: None,
            lease: None,
            why: None,
            who: who.into(),
            now,
        }
    }
}

/// A successful allocation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Allocated {
    /// The new service.
    pub service: String,
    /// First port.
    pub lo: u16,
    /// Last port (equal to `lo` for one port).
    pub hi: u16,
    /// Transport.
    pub transport: Transport,
    /// The host it was placed on (the one given, or the registry's only host; none when
    /// the registry declares no host).
    pub host: Option<String>,
    /// Lease end, if leased.
    pub lease_until: Option<i64>,
    /// Services with an expired lease whose ports were reused (removed in the same
    /// transaction).
    pub displaced: Vec<String>,
    /// How many attempts it took (1 unless concurrent writers conflicted).
    pub attempts: u32,
    /// How many allocations were committed in the same transaction as this one (group
    /// commit; 1 when it ran alone).
    pub batch: u32,
}

/// A reservation request: `portolan reserve PORTS --project P --why TEXT`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReserveRequest {
    /// Ports (`5050`, `5050-5059`, `5050-5052, 5060`).
    pub ports: String,
    /// Project holding them.
    pub project: String,
    /// Why (required, free text).
    pub why: String,
    /// Only on this host.
    pub host: Option<String>,
    /// Until (`YYYY-MM-DD`).
    pub until: Option<String>,
    /// Who asks.
    pub who: String,
    /// The current time.
    pub now: i64,
}

/// A reservation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reservation {
    /// Id.
    pub id: i64,
    /// Ports, canonical (`5050-5052, 5060`).
    pub ports: String,
    /// Project.
    pub project: Option<String>,
    /// Host.
    pub host: Option<String>,
    /// Why.
    pub why: String,
    /// Until (`YYYY-MM-DD`).
    #[sqlx(rename = "until_date")]
    pub until: Option<String>,
}

// with its range and blocks
/// A project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Project))]
pub struct ProjectInfo {
    /// Name.
    pub name: String,
    /// Range (`5000-5399`), if any.
    pub range: Option<String>,
    /// Blocks, by name.
    pub blocks: Vec<BlockInfo>,
}

/// A block of a project's range.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Block))]
pub struct BlockInfo {
    /// Name.
    pub name: String,
    /// Ports (`5021-5030`).
    pub ports: String,
    /// Purpose.
    pub purpose: Option<String>,
}

/// A host.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Host))]
pub struct HostInfo {
    /// Name.
    pub name: String,
    /// Environment (`production`, `development`, …).
    pub environment: String,
    /// The spec's `[hosts.NAME]` table as JSON (addresses, networks, firewall, …).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub doc: serde_json::Value,
}

/// A service.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Service))]
pub struct ServiceInfo {
    /// Name.
    pub name: String,
    /// Project.
    pub project: Option<String>,
    /// Block.
    pub block: Option<String>,
    /// `active`, `reserved`, `deprecated`, `planned`.
    pub status: String,
    /// Lease end (seconds since the Unix epoch).
    pub lease_until: Option<i64>,
    /// Whether the registry allocated it (rather than a spec import declaring it).
    pub allocated: bool,
    /// The spec's `[services.NAME]` table as JSON.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub doc: serde_json::Value,
}

// the spec's bindings expanded onto hosts: one per binding and host
/// A binding of a service on one host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Binding))]
pub struct BindingInfo {
    /// Service.
    pub service: String,
    /// Binding name.
    pub name: String,
    /// Host.
    pub host: String,
    /// Environment of the host.
    pub environment: String,
    /// `tcp` / `udp`.
    pub transport: String,
    /// First port.
    pub lo: u16,
    /// Last port (equal to `lo` for one port).
    pub hi: u16,
    /// Bind address.
    pub bind: String,
    /// App protocol (`http`, `postgres`, …).
    pub app: Option<String>,
    /// Publisher (`host`, `docker`, …).
    pub publisher: String,
    /// Declared exposure, comma-separated.
    pub exposure: String,
    /// Status in its environment.
    pub status: String,
}

/// A leased service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Lease {
    /// Service.
    pub service: String,
    /// Project.
    pub project: Option<String>,
    /// Ports held (`5021`, `5021-5023`), one entry per binding instance.
    pub ports: Vec<String>,
    /// Lease end (seconds since the Unix epoch).
    pub until: i64,
    /// Whether it has run out.
    pub expired: bool,
}

/// A log line with its id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogRecord {
    /// Id (increasing; pass the last one as `after` for the next page).
    pub id: i64,
    /// The entry.
    pub entry: LogEntry,
}

// the fields of `Entry` (the CLI's `ports.log.jsonl` line) as the registry stores and serves
// them: every one present (`null` when unset)
/// One line of the change log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogEntry {
    /// When (`2026-11-27T10:00:00Z`).
    pub at: String,
    /// Who (`token:LABEL`, or a user name for changes made with the CLI).
    pub who: String,
    /// `alloc`, `release`, `reserve`, `gc`, `move`, `discover`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub action: Action,
    /// Service concerned.
    pub service: Option<String>,
    /// Project concerned.
    pub project: Option<String>,
    /// Block.
    pub block: Option<String>,
    /// Host.
    pub host: Option<String>,
    /// `tcp` / `udp` (absent for reservations).
    pub transport: Option<String>,
    /// Ports (`5021`, `5021-5023`).
    pub ports: String,
    /// Lease end.
    pub lease_until: Option<String>,
    /// Why.
    pub why: Option<String>,
}

impl From<Entry> for LogEntry {
    fn from(e: Entry) -> Self {
        LogEntry {
            at: e.at,
            who: e.who,
            action: e.action,
            service: e.service,
            project: e.project,
            block: e.block,
            host: e.host,
            transport: e.transport,
            ports: e.ports,
            lease_until: e.lease_until,
            why: e.why,
        }
    }
}

// the live listeners of one host, as its agent last reported them
/// A host's last report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ObservationRecord))]
pub struct Observation {
    /// Host.
    pub host: String,
    /// When observed (seconds since the Unix epoch).
    pub at: i64,
    // a JSON array, as `portolan ls --json` prints them
    /// Listeners.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub listeners: serde_json::Value,
}

/// A finding stored for the dashboard (lint or drift).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredFinding {
    /// Rule id.
    pub rule: String,
    /// `error`, `warning`, `info`.
    pub severity: String,
    /// Message.
    pub message: String,
    /// The whole finding as JSON (subjects, locations, help).
    pub doc: serde_json::Value,
}

/// A host's last report as counted at fleet scale ([`Store::observed_ports`](crate::Store::observed_ports)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedPorts {
    /// Host name.
    pub host: String,
    /// When reported (seconds since the Unix epoch).
    pub at: i64,
    /// `(transport, port)` of each listener, as stored: the transport lowercased, `tcp`
    /// when the report has none; entries without a valid port are left out.
    pub ports: Vec<(String, u16)>,
}

/// A finding with where it came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Finding))]
pub struct FindingRecord {
    /// `lint`, or `drift:HOST`.
    pub source: String,
    /// When stored (seconds since the Unix epoch).
    pub at: i64,
    /// Rule id (`duplicate-binding`, `undeclared-listener`, …).
    pub rule: String,
    /// `error`, `warning`, `info`.
    pub severity: String,
    /// Message.
    pub message: String,
    /// The whole finding (subjects, locations, help), as `portolan lint --format json`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub doc: serde_json::Value,
}

impl FindingRecord {
    /// `finding` as stored from `source` at `at`.
    pub fn new(source: &str, at: i64, finding: StoredFinding) -> Self {
        FindingRecord {
            source: source.to_string(),
            at,
            rule: finding.rule,
            severity: finding.severity,
            message: finding.message,
            doc: finding.doc,
        }
    }
}

/// One page of a long list: its records, and the cursor of the next page (none: this is
/// the last).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Page<T> {
    /// The records.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page.
    pub next: Option<String>,
}

// what a token may do; each role includes the ones before it
/// A role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = RoleName))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read everything.
    Read,
    /// Also allocate, release, reserve, report observations.
    Write,
    /// Also import specs and manage tokens.
    Admin,
}

impl Role {
    /// `read` / `write` / `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }

    /// Whether this role may do what `needed` may.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

// stored as its name (`tokens.role`)
impl sqlx::Type<sqlx::Any> for Role {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <String as sqlx::Type<sqlx::Any>>::type_info()
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Any> for Role {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let name = <String as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
        name.parse()
            .map_err(|_| format!("token role `{name}` is not a role").into())
    }
}

impl std::str::FromStr for Role {
    type Err = crate::StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Role::Read),
            "write" => Ok(Role::Write),
            "admin" => Ok(Role::Admin),
            _ => Err(crate::StoreError::Invalid {
                field: "role",
                message: format!("`{s}` is not a role: use read, write or admin"),
            }),
        }
    }
}

// never its secret
/// A token's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TokenRecord))]
pub struct TokenInfo {
    /// Public id.
    pub id: String,
    /// Role.
    pub role: Role,
    /// Label.
    pub label: String,
    /// Created (seconds since the Unix epoch).
    pub created: i64,
    /// Expiry.
    pub expires: Option<i64>,
    /// Revoked when.
    pub revoked: Option<i64>,
}

/// A token just created: the clear token is shown this once and never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct NewToken {
    /// The record.
    pub info: TokenInfo,
    /// The bearer token (`ptk_ID_SECRET`).
    pub token: String,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken")
            .field("info", &self.info)
            .field("token", &"***")
            .finish()
    }
}
