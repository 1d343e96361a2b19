//! # portolan-store
//!
//! The registry's persistence: one [`Store`] trait, implemented once ([`SqlStore`]) for two
//! engines with the same schema and the same semantics, opened by URL with [`open`]:
//!
//! - **SQLite** (`sqlite://portolan.db`, the default, [`DEFAULT_URL`]): one file, WAL
//!   journal, a 10 s busy timeout, foreign keys on. Writers take `BEGIN IMMEDIATE`, so two
//!   processes on one file serialize instead of failing at commit.
//! - **PostgreSQL** (`postgres://user@host:port/db`, tested with 15): writers run in a
//!   transaction holding a transaction-scoped advisory lock, so several servers on one
//!   database serialize their writes.
//!
//! Both are migrated on open from versioned, embedded migrations (`migrations/<backend>/`,
//! see [`migrate`](crate::migrate)); opening twice applies nothing the second time.
//!
//! ## Layout
//! Every query is written once, against sqlx's `Any` driver (one compiled copy for both
//! engines); `dialect` holds what differs (connecting, starting a write transaction, which
//! errors are retried) and `db` the one way to run a write transaction. One module per
//! concern: `spec` (import, export, the read lists; `spec::rows` turns a spec into rows
//! and back), `writer` (allocation with group commit), `ledger` (release, reservations,
//! leases, gc, the log), `tokens`, `observations` (agent reports and findings), and
//! [`secrets`] (random hex, SHA-256, HMAC, constant-time comparison: the server's sessions
//! and CSRF tokens use it too). Rows are
//! read into named structs (`sqlx::FromRow`); [`types`] are the API's records, which the
//! server serves as they are (with `utoipa` schemas behind the `openapi` feature).
//!
//! ## What is stored
//! The spec's entities — networks, hosts, projects (range, blocks), services, bindings
//! (expanded onto hosts), reservations — plus what only a registry has: allocations and
//! leases, observations (the listeners an agent last reported per host), findings, the
//! change log (the fields of `portolan_alloc::log::Entry`) and API tokens (SHA-256 of the
//! token only). [`Store::import_spec`] replaces the spec entities in one transaction from a
//! `ports.toml` (validated by `portolan_model` first; nothing changes when it does not load)
//! and [`Store::export_spec`] writes one back that loads and round-trips. Allocation
//! history (which services the registry handed out) is replaced by an import: an imported
//! service is declared, not allocated.
//!
//! ## Allocation
//! [`Store::allocate`] applies the CLI's policy ([`portolan_alloc::policy::allocate`], the
//! same code) to the registry's current spec inside a write transaction, removes services
//! whose expired lease it reuses, and inserts the new service, its binding, the allocation,
//! its log entry and one row per port into `allocated_ports`, whose primary key (host,
//! transport, port) makes a duplicate fail even if two writers ever raced; such a failure
//! (or SQLite `BUSY`, PostgreSQL serialization failure or deadlock) rolls back and retries,
//! up to [`MAX_ATTEMPTS`] times. Within one process, writers also queue on an async mutex,
//! so they wait without holding a connection or spinning in the busy handler.
//!
//! **Group commit.** Allocations are serialized by design (the policy hands out the lowest
//! free port of the whole registry), so each used to pay a commit — an fsync on a durable
//! PostgreSQL — of its own. Instead, `allocate` queues the request to one writer task per
//! store instance, which takes everything pending (up to [`MAX_BATCH`]), runs the requests
//! one after another, in arrival order, against the in-memory model inside ONE
//! transaction — its rows written with one multi-row `INSERT` per table — commits once,
//! and only then answers each: a successful `allocate` has committed, exactly as before. Each request gets its own answer: a refusal (name taken,
//! unknown project, range full…) is decided in memory before anything of it is written, so
//! it does not disturb the others, and is the answer a fresh export would give after the
//! batch's earlier allocations. A batch that fails as a whole (a database error, or
//! conflicts past every retry) is run again one request per transaction. A caller that
//! stops waiting (its client hung up) before its batch starts gets nothing allocated; once
//! the batch has started, the allocation may commit without anyone hearing of it, as a
//! crash between commit and answer always allowed.
//!
//! Times are seconds since the Unix epoch (UTC) passed in by the caller (`now`), so the
//! behaviour is deterministic under test.
#![deny(missing_docs)]
// product names (SQLite, PostgreSQL) read better unquoted in prose
#![allow(clippy::doc_markdown)]

use async_trait::async_trait;

mod db;
mod dialect;
pub mod error;
pub mod history;
mod ledger;
pub mod migrate;
mod observations;
/// The one redaction module (its own crate, shared with discovery and import).
pub use portolan_redact as redact;
pub mod secrets;
mod spec;
mod store;
mod tokens;
pub mod types;
pub mod webhooks;
mod writer;

pub use error::{StoreError, TokenRejection};
pub use history::{
    Change, Compaction, HistoryEvent, HistoryQuery, HostHistory, HostState, ListenerChange,
    ListenerKey, Report, ReportBody, ReportOutcome,
};
pub use store::SqlStore;
pub use types::*;
pub use webhooks::{
    CreatedWebhook, DeliveryRecord, DeliveryStatus, DeliveryUpdate, NewWebhook, WebhookEvent,
    WebhookInfo, WebhookTarget,
};

/// The database `portolan serve` uses when given none: `portolan.db` in the current
/// directory.
pub const DEFAULT_URL: &str = "sqlite://portolan.db";

/// How many times a write transaction is attempted when concurrent writers conflict.
pub const MAX_ATTEMPTS: u32 = 8;

/// The most allocations one group-commit transaction takes (see the crate docs).
pub const MAX_BATCH: usize = 64;

/// The registry. Every method is one transaction; writes are atomic.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Which engine this is.
    fn backend(&self) -> Backend;

    /// Replaces the spec entities (networks, hosts, projects, services, bindings,
    /// reservations and the `[spec]`, `[environments]`, `[[routes]]`, `[[flows]]`,
    /// `[lint]` sections) with those of `toml`, in one transaction. A spec that does not load
    /// is refused with [`StoreError::Spec`] and nothing changes.
    async fn import_spec(&self, toml: &str) -> Result<ImportSummary, StoreError>;

    /// The registry as a `ports.toml` (deterministic: sorted by name).
    async fn export_spec(&self) -> Result<String, StoreError>;

    /// The registry as a `ports.toml` and the generation it is at, from one view.
    async fn export_spec_versioned(&self) -> Result<VersionedSpec, StoreError>;

    /// Replaces the spec like [`Store::import_spec`], only if the registry is still at
    /// `req.expected` (else [`StoreError::Stale`] with what it holds that the spec lacks,
    /// and nothing changes); `expected: None` replaces whatever is there and logs one
    /// `drop` entry per item lost. Logs one `push` entry either way.
    async fn push_spec(&self, req: &PushRequest) -> Result<Pushed, StoreError>;

    /// The store generation: a counter every write that changes the spec entities moves on
    /// (import, allocate, release, reserve, gc — from any process on the database). What
    /// `export_spec`, `projects`, `hosts`, `services`, `bindings` and `reservations` return
    /// changes only when it does, so readers may cache by it. Tokens, observations, findings
    /// and the log do not move it. This instance's own writes show at once; another
    /// process's within 25 ms (the value is re-read from the database at most that often).
    async fn generation(&self) -> Result<i64, StoreError>;

    /// Reads the registry's model for this instance's allocator ahead of the first
    /// allocation (a server calls it in the background when it starts), so that allocation
    /// does not pay for exporting and parsing the whole registry. Allocations answer the
    /// same with or without it: a write in between just makes the next one export again.
    async fn warm_allocator(&self) -> Result<(), StoreError>;

    /// Projects with their ranges and blocks, by name.
    async fn projects(&self) -> Result<Vec<ProjectInfo>, StoreError>;

    /// Hosts, by name.
    async fn hosts(&self) -> Result<Vec<HostInfo>, StoreError>;

    /// Services, by name.
    async fn services(&self) -> Result<Vec<ServiceInfo>, StoreError>;

    /// Binding instances, by service, binding name and host.
    async fn bindings(&self) -> Result<Vec<BindingInfo>, StoreError>;

    /// Hands out the next free port(s) with the CLI's policy and records the new service.
    async fn allocate(&self, req: &AllocRequest) -> Result<Allocated, StoreError>;

    /// Removes a service (allocated or declared) and frees its ports; returns the log entry.
    async fn release(&self, service: &str, who: &str, now: i64) -> Result<LogEntry, StoreError>;

    /// Holds ports for a project; refused when a live service binds one of them or a
    /// reservation already holds it.
    async fn reserve(&self, req: &ReserveRequest) -> Result<Reservation, StoreError>;

    /// Reservations, in the order they were made.
    async fn reservations(&self) -> Result<Vec<Reservation>, StoreError>;

    /// Services with a lease, soonest end first.
    async fn leases(&self, now: i64) -> Result<Vec<Lease>, StoreError>;

    /// Removes services whose lease has run out and reservations past their `until` date;
    /// returns the log entries written.
    async fn gc(&self, who: &str, now: i64) -> Result<Vec<LogEntry>, StoreError>;

    /// Appends a log entry; returns its id.
    async fn append_log(&self, entry: &Entry) -> Result<i64, StoreError>;

    /// Log entries with an id above `after`, oldest first, at most `limit`.
    async fn log(&self, after: i64, limit: u32) -> Result<Vec<LogRecord>, StoreError>;

    /// Stores the listeners an agent reported for a host (replacing the previous report),
    /// recording what changed in its history as an unsequenced full report.
    async fn put_observation(&self, observation: &Observation) -> Result<(), StoreError>;

    /// The last report of one host.
    async fn observation(&self, host: &str) -> Result<Option<Observation>, StoreError>;

    /// The last report of every host, by host.
    async fn observations(&self) -> Result<Vec<Observation>, StoreError>;

    /// The last report of every host, by host, reduced to its time and each listener's
    /// transport and port (what a binding matches): for counting at thousands of hosts,
    /// without building every listener's document.
    async fn observed_ports(&self) -> Result<Vec<ObservedPorts>, StoreError>;

    /// Applies an agent report (full, or a delta against the last acknowledged one) and
    /// records what changed in the host's history (see [`history`]); `now` is the server's
    /// clock, which the report's time may not run ahead of.
    async fn report(&self, report: &Report, now: i64) -> Result<ReportOutcome, StoreError>;

    /// The recorded changes of one host's listeners.
    async fn history(&self, host: &str, query: HistoryQuery) -> Result<HostHistory, StoreError>;

    /// The listeners of one host at `at`, rebuilt from its history; `None` when `at` is
    /// before the retained history.
    async fn state_at(&self, host: &str, at: i64) -> Result<Option<HostState>, StoreError>;

    /// Folds history at or before `cutoff` into one baseline per host and deletes it.
    async fn compact_history(&self, cutoff: i64) -> Result<Compaction, StoreError>;
    /// At most `limit` reports, by host, after the page `cursor` ended (none: from the
    /// first). An unreadable cursor is [`StoreError::Invalid`] naming `cursor`.
    async fn observations_page(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Observation>, StoreError>;

    /// Replaces the findings of one source (`lint`, `drift:HOST`).
    async fn put_findings(
        &self,
        source: &str,
        findings: &[StoredFinding],
        at: i64,
    ) -> Result<(), StoreError>;

    /// Every stored finding, by source then insertion order.
    async fn findings(&self) -> Result<Vec<FindingRecord>, StoreError>;

    /// The findings of one source (`lint`, `drift:HOST`), in insertion order.
    async fn findings_of(&self, source: &str) -> Result<Vec<FindingRecord>, StoreError>;

    /// At most `limit` findings in that order, after the page `cursor` ended (none: from
    /// the first), optionally only those of one `severity`.
    async fn findings_page(
        &self,
        severity: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<FindingRecord>, StoreError>;

    /// How many findings are stored per severity, by severity.
    async fn finding_counts(&self) -> Result<Vec<(String, u64)>, StoreError>;

    /// Creates an API token; the clear token is returned this once.
    async fn create_token(
        &self,
        role: Role,
        label: &str,
        expires: Option<i64>,
        now: i64,
    ) -> Result<NewToken, StoreError>;

    /// Checks a bearer token: its record when valid, else [`StoreError::Token`].
    async fn verify_token(&self, token: &str, now: i64) -> Result<TokenInfo, StoreError>;

    /// Revokes a token by id.
    async fn revoke_token(&self, id: &str, now: i64) -> Result<(), StoreError>;

    /// Every token (never the secrets), by creation time.
    async fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError>;

    /// Creates a webhook; its secret is in this answer only.
    async fn create_webhook(
        &self,
        new: &NewWebhook,
        now: i64,
    ) -> Result<CreatedWebhook, StoreError>;

    /// Every webhook (never the secrets), by creation time.
    async fn webhooks(&self) -> Result<Vec<WebhookInfo>, StoreError>;

    /// Deletes a webhook and its delivery log.
    async fn delete_webhook(&self, id: &str) -> Result<(), StoreError>;

    /// The webhooks subscribed to `event`, with their secrets (for the delivery worker).
    async fn webhook_targets(&self, event: WebhookEvent) -> Result<Vec<WebhookTarget>, StoreError>;

    /// Logs a pending delivery of `body` to webhook `webhook`; its id.
    async fn enqueue_delivery(
        &self,
        webhook: &str,
        event: WebhookEvent,
        body: &serde_json::Value,
        now: i64,
    ) -> Result<i64, StoreError>;

    /// Records the outcome of an attempt of delivery `id`.
    async fn update_delivery(&self, id: i64, update: &DeliveryUpdate) -> Result<(), StoreError>;

    /// A webhook's deliveries, newest first, at most `limit`.
    async fn deliveries(
        &self,
        webhook: &str,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, StoreError>;

    /// Claims the announcement of a periodic `event` (`agent-stale`, `lease-expiring`)
    /// about `subject` (a host, a leased service) at `mark` (the host's last report time,
    /// the lease's end): `true` when this call claimed it and the caller announces it;
    /// `false` when it was claimed before — by this server before a restart, or by another
    /// server on the same database — or a later mark of the subject was. Atomic on both
    /// engines: of several servers claiming at once, exactly one gets `true`.
    async fn claim_announcement(
        &self,
        event: WebhookEvent,
        subject: &str,
        mark: i64,
        now: i64,
    ) -> Result<bool, StoreError>;

    /// Forgets the claims of `event` whose mark is before `before` (leases that ended);
    /// how many.
    async fn prune_announcements(
        &self,
        event: WebhookEvent,
        before: i64,
    ) -> Result<u64, StoreError>;
}

/// The file a `sqlite:` URL names, as SQLite will open it (`None` for `:memory:`, a
/// PostgreSQL URL or a malformed one): lets a caller say whether opening creates it.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    use std::str::FromStr as _;
    if !url.starts_with("sqlite:") || url.contains(":memory:") {
        return None;
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    Some(options.get_filename().to_path_buf())
}

/// Opens (creating and migrating as needed) the store at `url`: `sqlite://PATH`,
/// `sqlite::memory:`, or `postgres://…` / `postgresql://…`.
pub async fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    open_with(url, &OpenOptions::default()).await
}

/// [`open`] with `options`.
pub async fn open_with(url: &str, options: &OpenOptions) -> Result<Box<dyn Store>, StoreError> {
    Ok(Box::new(SqlStore::open_with(url, options).await?))
}

/// How to open a store.
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    /// How long the first connection to a PostgreSQL server may take before opening fails
    /// with [`StoreError::Unreachable`] (default 10 s).
    pub connect_timeout: std::time::Duration,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            connect_timeout: std::time::Duration::from_secs(10),
        }
    }
}
