//! Webhooks and their delivery log: the rows of `webhooks` (URL, events, secret) and
//! `webhook_deliveries` (one per event sent to a webhook: status, attempts, last HTTP
//! status, last error). The secret is kept because signing needs it; it leaves the store
//! only through [`targets`] (for the delivery worker), never in a [`WebhookInfo`].

use serde::{Deserialize, Serialize};

use crate::db::{Db, during};
use crate::error::StoreError;
use crate::secrets::random_hex;
use crate::spec::rows::no_nul;

/// An event a webhook can subscribe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum WebhookEvent {
    /// A host reported a listener the spec does not declare.
    UndeclaredListener,
    /// A host's drift findings changed.
    Drift,
    /// A listener's exposure widened (e.g. from localhost to every address).
    ExposureWidened,
    /// An agent stopped reporting.
    AgentStale,
    /// A lease is about to expire.
    LeaseExpiring,
    /// An expectation failed.
    ExpectationFailed,
}

impl WebhookEvent {
    /// Every event, in name order.
    pub const ALL: [WebhookEvent; 6] = [
        WebhookEvent::AgentStale,
        WebhookEvent::Drift,
        WebhookEvent::ExpectationFailed,
        WebhookEvent::ExposureWidened,
        WebhookEvent::LeaseExpiring,
        WebhookEvent::UndeclaredListener,
    ];

    /// The event's name (`undeclared-listener`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::UndeclaredListener => "undeclared-listener",
            WebhookEvent::Drift => "drift",
            WebhookEvent::ExposureWidened => "exposure-widened",
            WebhookEvent::AgentStale => "agent-stale",
            WebhookEvent::LeaseExpiring => "lease-expiring",
            WebhookEvent::ExpectationFailed => "expectation-failed",
        }
    }

    /// The event named `name`.
    pub fn parse(name: &str) -> Option<WebhookEvent> {
        Self::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

/// A webhook to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewWebhook {
    /// Where events are POSTed (`http://…`, `https://…`).
    pub url: String,
    /// The events it receives (at least one).
    pub events: Vec<WebhookEvent>,
    /// The signing secret; `None`: the store draws one.
    pub secret: Option<String>,
    /// Who or what it is for.
    pub label: String,
}

// never its secret
/// A webhook's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Webhook))]
pub struct WebhookInfo {
    /// Id (16 hex digits).
    pub id: String,
    /// Where events are POSTed.
    pub url: String,
    /// The events it receives, by name.
    pub events: Vec<WebhookEvent>,
    /// Who or what it is for.
    pub label: String,
    /// When created (seconds since the Unix epoch).
    pub created: i64,
}

/// A created webhook with its secret (shown this once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedWebhook {
    /// The record.
    pub info: WebhookInfo,
    /// The signing secret.
    pub secret: String,
}

/// Where and how to deliver an event: a subscribed webhook with its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    /// Webhook id.
    pub id: String,
    /// URL.
    pub url: String,
    /// Signing secret.
    pub secret: String,
}

impl std::fmt::Debug for WebhookTarget {
    // the secret stays out of every log line
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("id", &self.id)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not yet delivered; attempts remain.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed.
    Failed,
}

impl DeliveryStatus {
    /// Its name, as stored and served (`pending`, `delivered`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// One event sent (or being sent) to one webhook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Delivery))]
pub struct DeliveryRecord {
    /// Delivery id (increasing).
    pub id: i64,
    /// Webhook id.
    pub webhook: String,
    /// Event name.
    pub event: String,
    /// When the event happened (seconds since the Unix epoch).
    pub created: i64,
    /// When the delivery last changed.
    pub updated: i64,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: i64,
    /// The receiver's last HTTP status, if it answered.
    pub response: Option<i64>,
    /// The last attempt's error (`HTTP 500`, `timed out after 10s`, …).
    pub error: Option<String>,
    /// The JSON body sent.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub body: serde_json::Value,
}

/// The outcome of one attempt, as the delivery log records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryUpdate {
    /// Where the delivery stands now.
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: i64,
    /// The receiver's HTTP status, if it answered.
    pub response: Option<i64>,
    /// The error, if the attempt failed.
    pub error: Option<String>,
    /// When.
    pub at: i64,
}

fn events_text(events: &[WebhookEvent]) -> String {
    let mut names: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names.join(" ")
}

fn events_of(text: &str) -> Vec<WebhookEvent> {
    let mut events: Vec<WebhookEvent> = text
        .split_ascii_whitespace()
        .filter_map(WebhookEvent::parse)
        .collect();
    events.sort_unstable_by_key(|e| e.as_str());
    events
}

/// Creates a webhook; its secret is returned this once.
pub(crate) async fn create(
    db: &Db,
    new: &NewWebhook,
    now: i64,
) -> Result<CreatedWebhook, StoreError> {
    if new.events.is_empty() {
        return Err(StoreError::Invalid {
            field: "events",
            message: "events: at least one".into(),
        });
    }
    no_nul("url", &new.url)?;
    no_nul("label", &new.label)?;
    let secret = match &new.secret {
        Some(s) => {
            no_nul("secret", s)?;
            s.clone()
        }
        None => format!("whsec_{}", random_hex(32)?),
    };
    let id = random_hex(8)?;
    let events = events_text(&new.events);
    sqlx::query(
        "INSERT INTO webhooks (id, url, events, secret, label, created) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(&new.url)
    .bind(&events)
    .bind(&secret)
    .bind(&new.label)
    .bind(now)
    .execute(&db.pool)
    .await
    .map_err(during("creating a webhook"))?;
    Ok(CreatedWebhook {
        info: WebhookInfo {
            id,
            url: new.url.clone(),
            events: events_of(&events),
            label: new.label.clone(),
            created: now,
        },
        secret,
    })
}

/// Every webhook (never the secrets), by creation time.
pub(crate) async fn list(db: &Db) -> Result<Vec<WebhookInfo>, StoreError> {
    let rows: Vec<(String, String, String, String, i64)> =
        sqlx::query_as("SELECT id, url, events, label, created FROM webhooks ORDER BY created, id")
            .fetch_all(&db.pool)
            .await
            .map_err(during("reading webhooks"))?;
    Ok(rows
        .into_iter()
        .map(|(id, url, events, label, created)| WebhookInfo {
            id,
            url,
            events: events_of(&events),
            label,
            created,
        })
        .collect())
}

/// Deletes a webhook and its delivery log.
pub(crate) async fn delete(db: &Db, id: &str) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM webhooks WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .map_err(during("deleting a webhook"))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound {
            entity: "webhook",
            name: id.to_string(),
        });
    }
    sqlx::query("DELETE FROM webhook_deliveries WHERE webhook = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .map_err(during("deleting a webhook's deliveries"))?;
    Ok(())
}

/// The webhooks subscribed to `event`, with their secrets, by id.
pub(crate) async fn targets(
    db: &Db,
    event: WebhookEvent,
) -> Result<Vec<WebhookTarget>, StoreError> {
    let rows: Vec<(String, String, String, String)> =
        sqlx::query_as("SELECT id, url, events, secret FROM webhooks ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .map_err(during("reading webhooks"))?;
    Ok(rows
        .into_iter()
        .filter(|(_, _, events, _)| events_of(events).contains(&event))
        .map(|(id, url, _, secret)| WebhookTarget { id, url, secret })
        .collect())
}

/// Logs a pending delivery of `body` to `webhook`; its id.
pub(crate) async fn enqueue(
    db: &Db,
    webhook: &str,
    event: WebhookEvent,
    body: &serde_json::Value,
    now: i64,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO webhook_deliveries \
         (webhook, event, body, created, updated, status, attempts, response, error) \
         VALUES ($1, $2, $3, $4, $4, 'pending', 0, NULL, NULL) RETURNING id",
    )
    .bind(webhook)
    .bind(event.as_str())
    .bind(body.to_string())
    .bind(now)
    .fetch_one(&db.pool)
    .await
    .map_err(during("logging a webhook delivery"))?;
    Ok(id)
}

/// Records an attempt's outcome.
pub(crate) async fn update(db: &Db, id: i64, u: &DeliveryUpdate) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $2, attempts = $3, response = $4, error = $5, \
         updated = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(u.status.as_str())
    .bind(u.attempts)
    .bind(u.response)
    .bind(u.error.as_deref())
    .bind(u.at)
    .execute(&db.pool)
    .await
    .map_err(during("logging a webhook delivery"))?;
    Ok(())
}

/// A delivery's row.
type DeliveryRow = (
    i64,
    String,
    String,
    String,
    i64,
    i64,
    String,
    i64,
    Option<i64>,
    Option<String>,
);

/// A webhook's deliveries, newest first, at most `limit`; 404 for an unknown webhook.
pub(crate) async fn deliveries(
    db: &Db,
    webhook: &str,
    limit: u32,
) -> Result<Vec<DeliveryRecord>, StoreError> {
    let exists: Option<(String,)> = sqlx::query_as("SELECT id FROM webhooks WHERE id = $1")
        .bind(webhook)
        .fetch_optional(&db.pool)
        .await
        .map_err(during("reading webhooks"))?;
    if exists.is_none() {
        return Err(StoreError::NotFound {
            entity: "webhook",
            name: webhook.to_string(),
        });
    }
    let rows: Vec<DeliveryRow> = sqlx::query_as(
        "SELECT id, webhook, event, body, created, updated, status, attempts, response, error \
         FROM webhook_deliveries WHERE webhook = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(webhook)
    .bind(i64::from(limit))
    .fetch_all(&db.pool)
    .await
    .map_err(during("reading webhook deliveries"))?;
    Ok(rows
        .into_iter()
        .map(
            |(id, webhook, event, body, created, updated, status, attempts, response, error)| {
                DeliveryRecord {
                    id,
                    webhook,
                    event,
                    created,
                    updated,
                    status: match status.as_str() {
                        "delivered" => DeliveryStatus::Delivered,
                        "failed" => DeliveryStatus::Failed,
                        _ => DeliveryStatus::Pending,
                    },
                    attempts,
                    response,
                    error,
                    body: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
                }
            },
        )
        .collect())
}

/// Claims the announcement of `event` about `subject` (a host, a leased service) at `mark`
/// (the host's last report time, the lease's end): `true` when this call made the claim and
/// the caller announces, `false` when it was made before — by this server before a restart,
/// or by another server on the same database — or a later mark of the subject was claimed
/// already (a server reading an older state). The row's primary key makes the claim atomic
/// on both engines; a successful claim drops the subject's older marks, which can no longer
/// be announced.
pub(crate) async fn claim(
    db: &Db,
    event: WebhookEvent,
    subject: &str,
    mark: i64,
    now: i64,
) -> Result<bool, StoreError> {
    no_nul("subject", subject)?;
    let done = sqlx::query(
        "INSERT INTO webhook_announcements (event, subject, mark, at) \
         SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM webhook_announcements \
         WHERE event = $1 AND subject = $2 AND mark >= $3) \
         ON CONFLICT (event, subject, mark) DO NOTHING",
    )
    .bind(event.as_str())
    .bind(subject)
    .bind(mark)
    .bind(now)
    .execute(&db.pool)
    .await
    .map_err(during("claiming a webhook announcement"))?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "DELETE FROM webhook_announcements WHERE event = $1 AND subject = $2 AND mark < $3",
    )
    .bind(event.as_str())
    .bind(subject)
    .bind(mark)
    .execute(&db.pool)
    .await
    .map_err(during("pruning webhook announcements"))?;
    Ok(true)
}

/// Forgets the announcements of `event` whose mark is before `before` (leases that ended);
/// how many.
pub(crate) async fn prune(db: &Db, event: WebhookEvent, before: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM webhook_announcements WHERE event = $1 AND mark < $2")
        .bind(event.as_str())
        .bind(before)
        .execute(&db.pool)
        .await
        .map_err(during("pruning webhook announcements"))?;
    Ok(done.rows_affected())
}
