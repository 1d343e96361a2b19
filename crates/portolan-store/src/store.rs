//! [`SqlStore`], the one implementation of [`Store`]: each method hands over to the module
//! that owns its concern ([`spec`](crate::spec), [`writer`](crate::writer),
//! [`ledger`](crate::ledger), [`tokens`](crate::tokens),
//! [`observations`](crate::observations), [`webhooks`](crate::webhooks)), on either engine.

use async_trait::async_trait;

use crate::db::Db;
use crate::history::{
    Compaction, HistoryQuery, HostHistory, HostState, Report, ReportBody, ReportOutcome,
};
use crate::types::{
    AllocRequest, Allocated, Backend, BindingInfo, Entry, FindingRecord, HostInfo, ImportSummary,
    Lease, LogEntry, LogRecord, NewToken, Observation, ObservedPorts, Page, ProjectInfo,
    PushRequest, Pushed, Reservation, ReserveRequest, Role, ServiceInfo, StoredFinding, TokenInfo,
    VersionedSpec,
};
use crate::webhooks::{
    CreatedWebhook, DeliveryRecord, DeliveryUpdate, NewWebhook, WebhookEvent, WebhookInfo,
    WebhookTarget,
};
use crate::writer::Allocator;
use crate::{
    OpenOptions, Store, StoreError, history, ledger, observations, spec, tokens, webhooks,
};

/// The registry on SQLite or PostgreSQL (see the crate docs).
#[derive(Debug)]
pub struct SqlStore {
    db: Db,
    allocator: Allocator,
}

impl SqlStore {
    /// Opens (creating and migrating as needed) the store at `url`: `sqlite://PATH`,
    /// `sqlite::memory:`, or `postgres://…` / `postgresql://…`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, &OpenOptions::default()).await
    }

    /// [`SqlStore::open`] with `options`.
    pub async fn open_with(url: &str, options: &OpenOptions) -> Result<Self, StoreError> {
        Ok(SqlStore {
            db: Db::open(url, options).await?,
            allocator: Allocator::default(),
        })
    }

    /// The connection pool (for tests and tools that need raw SQL).
    pub fn pool(&self) -> &sqlx::AnyPool {
        &self.db.pool
    }
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> Backend {
        self.db.dialect.backend()
    }

    async fn import_spec(&self, toml: &str) -> Result<ImportSummary, StoreError> {
        let (summary, model, generation) = spec::import(&self.db, toml).await?;
        self.allocator.prime(generation, model);
        Ok(summary)
    }

    async fn generation(&self) -> Result<i64, StoreError> {
        self.db.generation().await
    }

    async fn warm_allocator(&self) -> Result<(), StoreError> {
        let warmed = self
            .db
            .read("reading the spec", |tx| {
                Box::pin(async move {
                    let text = spec::export_in(tx).await?;
                    if text.trim().is_empty() {
                        // nothing imported yet: nothing to read ahead
                        return Ok(None);
                    }
                    let model = portolan_model::load_str(spec::rows::SPEC_NAME, &text)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    let generation = spec::push::generation_in(tx).await?;
                    Ok(Some((model, generation)))
                })
            })
            .await?;
        if let Some((model, generation)) = warmed {
            self.allocator.prime(generation, model);
        }
        Ok(())
    }

    async fn export_spec(&self) -> Result<String, StoreError> {
        spec::export(&self.db).await
    }

    async fn export_spec_versioned(&self) -> Result<VersionedSpec, StoreError> {
        spec::push::export_versioned(&self.db).await
    }

    async fn push_spec(&self, req: &PushRequest) -> Result<Pushed, StoreError> {
        let (pushed, model, generation) = spec::push::push(&self.db, req).await?;
        self.allocator.prime(generation, model);
        Ok(pushed)
    }

    async fn projects(&self) -> Result<Vec<ProjectInfo>, StoreError> {
        spec::projects(&self.db).await
    }

    async fn hosts(&self) -> Result<Vec<HostInfo>, StoreError> {
        spec::hosts(&self.db).await
    }

    async fn services(&self) -> Result<Vec<ServiceInfo>, StoreError> {
        spec::services(&self.db).await
    }

    async fn bindings(&self) -> Result<Vec<BindingInfo>, StoreError> {
        spec::bindings(&self.db).await
    }

    async fn allocate(&self, req: &AllocRequest) -> Result<Allocated, StoreError> {
        self.allocator.allocate(&self.db, req).await
    }

    async fn release(&self, service: &str, who: &str, now: i64) -> Result<LogEntry, StoreError> {
        ledger::release(&self.db, service, who, now).await
    }

    async fn reserve(&self, req: &ReserveRequest) -> Result<Reservation, StoreError> {
        ledger::reserve(&self.db, req).await
    }

    async fn reservations(&self) -> Result<Vec<Reservation>, StoreError> {
        ledger::reservations(&self.db).await
    }

    async fn leases(&self, now: i64) -> Result<Vec<Lease>, StoreError> {
        ledger::leases(&self.db, now).await
    }

    async fn gc(&self, who: &str, now: i64) -> Result<Vec<LogEntry>, StoreError> {
        ledger::gc(&self.db, who, now).await
    }

    async fn append_log(&self, entry: &Entry) -> Result<i64, StoreError> {
        ledger::append_log(&self.db, entry).await
    }

    async fn log(&self, after: i64, limit: u32) -> Result<Vec<LogRecord>, StoreError> {
        ledger::log(&self.db, after, limit).await
    }

    async fn put_observation(&self, observation: &Observation) -> Result<(), StoreError> {
        // history needs listeners it can tell apart (transport, addr, port); the store takes
        // any JSON list, as it always did, and keeps other shapes without history
        let Some(listeners) = observation
            .listeners
            .as_array()
            .filter(|l| history::by_key(l, "listeners").is_ok())
        else {
            return observations::put(&self.db, observation).await;
        };
        let report = Report {
            host: observation.host.clone(),
            agent: String::new(),
            seq: 0,
            at: observation.at,
            body: ReportBody::Full {
                listeners: listeners.clone(),
            },
        };
        history::ingest(&self.db, &report, observation.at).await?;
        Ok(())
    }

    async fn report(&self, report: &Report, now: i64) -> Result<ReportOutcome, StoreError> {
        history::ingest(&self.db, report, now).await
    }

    async fn history(&self, host: &str, query: HistoryQuery) -> Result<HostHistory, StoreError> {
        history::events(&self.db, host, query).await
    }

    async fn state_at(&self, host: &str, at: i64) -> Result<Option<HostState>, StoreError> {
        history::state_at(&self.db, host, at).await
    }

    async fn compact_history(&self, cutoff: i64) -> Result<Compaction, StoreError> {
        history::compact(&self.db, cutoff).await
    }

    async fn observation(&self, host: &str) -> Result<Option<Observation>, StoreError> {
        observations::get(&self.db, host).await
    }

    async fn observations(&self) -> Result<Vec<Observation>, StoreError> {
        observations::list(&self.db).await
    }

    async fn observed_ports(&self) -> Result<Vec<ObservedPorts>, StoreError> {
        observations::observed_ports(&self.db).await
    }

    async fn observations_page(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Observation>, StoreError> {
        observations::page(&self.db, cursor, limit).await
    }

    async fn put_findings(
        &self,
        source: &str,
        findings: &[StoredFinding],
        at: i64,
    ) -> Result<(), StoreError> {
        observations::put_findings(&self.db, source, findings, at).await
    }

    async fn findings(&self) -> Result<Vec<FindingRecord>, StoreError> {
        observations::findings(&self.db).await
    }

    async fn findings_of(&self, source: &str) -> Result<Vec<FindingRecord>, StoreError> {
        observations::findings_of(&self.db, source).await
    }

    async fn findings_page(
        &self,
        severity: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<FindingRecord>, StoreError> {
        observations::findings_page(&self.db, severity, cursor, limit).await
    }

    async fn finding_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        observations::finding_counts(&self.db).await
    }

    async fn create_token(
        &self,
        role: Role,
        label: &str,
        expires: Option<i64>,
        now: i64,
    ) -> Result<NewToken, StoreError> {
        tokens::create(&self.db, role, label, expires, now).await
    }

    async fn verify_token(&self, token: &str, now: i64) -> Result<TokenInfo, StoreError> {
        tokens::verify(&self.db, token, now).await
    }

    async fn revoke_token(&self, id: &str, now: i64) -> Result<(), StoreError> {
        tokens::revoke(&self.db, id, now).await
    }

    async fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        tokens::list(&self.db).await
    }

    async fn create_webhook(
        &self,
        new: &NewWebhook,
        now: i64,
    ) -> Result<CreatedWebhook, StoreError> {
        webhooks::create(&self.db, new, now).await
    }

    async fn webhooks(&self) -> Result<Vec<WebhookInfo>, StoreError> {
        webhooks::list(&self.db).await
    }

    async fn delete_webhook(&self, id: &str) -> Result<(), StoreError> {
        webhooks::delete(&self.db, id).await
    }

    async fn webhook_targets(&self, event: WebhookEvent) -> Result<Vec<WebhookTarget>, StoreError> {
        webhooks::targets(&self.db, event).await
    }

    async fn enqueue_delivery(
        &self,
        webhook: &str,
        event: WebhookEvent,
        body: &serde_json::Value,
        now: i64,
    ) -> Result<i64, StoreError> {
        webhooks::enqueue(&self.db, webhook, event, body, now).await
    }

    async fn update_delivery(&self, id: i64, update: &DeliveryUpdate) -> Result<(), StoreError> {
        webhooks::update(&self.db, id, update).await
    }

    async fn deliveries(
        &self,
        webhook: &str,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        webhooks::deliveries(&self.db, webhook, limit).await
    }

    async fn claim_announcement(
        &self,
        event: WebhookEvent,
        subject: &str,
        mark: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        webhooks::claim(&self.db, event, subject, mark, now).await
    }

    async fn prune_announcements(
        &self,
        event: WebhookEvent,
        before: i64,
    ) -> Result<u64, StoreError> {
        webhooks::prune(&self.db, event, before).await
    }
}
