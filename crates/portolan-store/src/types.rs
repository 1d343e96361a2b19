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
    /// Host it runs on.
    pub host: Option<String>,
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

/// A stored reservation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
    pub until: Option<String>,
}

/// A project with its range and blocks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProjectInfo {
    /// Name.
    pub name: String,
    /// Range (`5000-5399`), if any.
    pub range: Option<String>,
    /// Blocks, by name.
    pub blocks: Vec<BlockInfo>,
}

/// A block of a project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BlockInfo {
    /// Name.
    pub name: String,
    /// Ports.
    pub ports: String,
    /// Purpose.
    pub purpose: Option<String>,
}

/// A host.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HostInfo {
    /// Name.
    pub name: String,
    /// Environment.
    pub environment: String,
    /// The `[hosts.NAME]` table as JSON.
    pub doc: serde_json::Value,
}

/// A service.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceInfo {
    /// Name.
    pub name: String,
    /// Project.
    pub project: Option<String>,
    /// Block.
    pub block: Option<String>,
    /// Status (`active`, …).
    pub status: String,
    /// Lease end.
    pub lease_until: Option<i64>,
    /// Whether the registry allocated it (rather than a spec import declaring it).
    pub allocated: bool,
    /// The `[services.NAME]` table as JSON.
    pub doc: serde_json::Value,
}

/// One binding of a service on one host (the spec's bindings expanded onto hosts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
    /// Last port.
    pub hi: u16,
    /// Bind address.
    pub bind: String,
    /// App protocol.
    pub app: Option<String>,
    /// Publisher.
    pub publisher: String,
    /// Declared exposure, comma-separated.
    pub exposure: String,
    /// Status in its environment.
    pub status: String,
}

/// A leased service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Lease {
    /// Service.
    pub service: String,
    /// Project.
    pub project: Option<String>,
    /// Ports held (one entry per binding instance, `5021` or `5021-5023`).
    pub ports: Vec<String>,
    /// Lease end.
    pub until: i64,
    /// Whether it has run out at the `now` given.
    pub expired: bool,
}

/// A log line with its id (ids increase; page with `after`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogRecord {
    /// Id.
    pub id: i64,
    /// The entry.
    pub entry: Entry,
}

/// The live listeners of one host, as an agent last reported them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Host name (as the agent reports it).
    pub host: String,
    /// Listeners (a JSON array, as `portolan ls --json` prints them).
    pub listeners: serde_json::Value,
    /// When observed.
    pub at: i64,
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

/// A finding with where it came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FindingRecord {
    /// Source (`lint`, `drift:HOST`).
    pub source: String,
    /// When stored.
    pub at: i64,
    /// The finding.
    pub finding: StoredFinding,
}

/// What a token may do. Each role includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read everything.
    Read,
    /// Also allocate, release, reserve, push observations.
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

/// A token's record (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// Public id (the `ID` of `ptk_ID_SECRET`).
    pub id: String,
    /// Role.
    pub role: Role,
    /// Label (who or what it is for).
    pub label: String,
    /// Created.
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
