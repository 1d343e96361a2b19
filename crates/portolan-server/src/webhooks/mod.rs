//! Webhook delivery: turns what an agent report changed into events, and POSTs each event
//! to every webhook subscribed to it, signed, with bounded retries, off the request path.
//!
//! A delivery is a JSON body POSTed with `Content-Type: application/json`,
//! `X-Portolan-Event: NAME`, `X-Portolan-Delivery: ID` and `X-Portolan-Signature:
//! sha256=HEX`, the hex HMAC-SHA256 of the exact body bytes keyed with the webhook's
//! secret. A 2xx answer delivers it; anything else (another status, a refused connection,
//! no answer within [`WebhookSettings::timeout`]) is retried after
//! [`WebhookSettings::backoff`], doubling each time up to [`WebhookSettings::max_backoff`],
//! until [`WebhookSettings::attempts`] attempts have been made. Every delivery runs in a
//! task of its own, so a receiver that hangs delays only its own deliveries; each attempt
//! is recorded in the store's delivery log. Secrets and URLs stay out of the server log
//! (URLs often carry a token): log lines name the webhook and delivery ids.
//!
//! Which events a report fires is `events.rs`; how one attempt reaches an `http://` or
//! `https://` receiver (and which certificates it trusts) is `client.rs`; the periodic
//! events (`agent-stale`, `lease-expiring`) are [`watch_periodic_events`], announced once
//! per database through [`Store::claim_announcement`].

use std::collections::BTreeMap;
use std::time::Duration;

use hyper::body::Bytes;
use portolan_store::{DeliveryStatus, DeliveryUpdate, Store, WebhookEvent, WebhookTarget};
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::state::AppState;

mod client;
mod events;

pub use client::{WebhookCaError, WebhookTls, check_url};
pub(crate) use events::{Reported, host_drift, listeners_before, record_drift};

/// How deliveries are attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Longest wait for one attempt: connect, send, and the answer's status line
    /// (default 10 s).
    pub timeout: Duration,
    /// Attempts per delivery, the first included (default 6).
    pub attempts: u32,
    /// Wait before the first retry; doubled for each further one (default 2 s).
    pub backoff: Duration,
    /// Longest wait between two attempts (default 5 min).
    pub max_backoff: Duration,
    /// A host whose agent has not reported for this long fires `agent-stale` (default
    /// 300 s, as the `portolan_agent_stale` metric).
    pub stale_after: Duration,
    /// How often agents' last reports and leases are checked (default 30 s).
    pub stale_check: Duration,
    /// A lease ending within this fires `lease-expiring` (default 1 h).
    pub lease_warning: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            timeout: Duration::from_secs(10),
            attempts: 6,
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
            stale_after: Duration::from_secs(300),
            stale_check: Duration::from_secs(30),
            lease_warning: Duration::from_secs(3600),
        }
    }
}

impl WebhookSettings {
    /// The wait after failed attempt `attempt` (1-based).
    fn wait_after(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.backoff
            .checked_mul(factor)
            .map_or(self.max_backoff, |d| d.min(self.max_backoff))
    }
}

/// `sha256=HEX`: the signature header's value for `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        portolan_store::secrets::hmac_sha256_hex(secret.as_bytes(), body)
    )
}

/// What every delivery of a server needs: where to log it, the clock, and how to attempt it.
#[derive(Clone)]
struct Courier {
    store: std::sync::Arc<dyn Store>,
    clock: Clock,
    settings: WebhookSettings,
    tls: WebhookTls,
}

/// Delivers `body` to `target` (delivery `id`), recording every attempt.
async fn deliver(c: Courier, target: WebhookTarget, event: WebhookEvent, id: i64, body: Bytes) {
    let Courier {
        store,
        clock,
        settings,
        tls,
    } = c;
    let headers = [
        ("x-portolan-event", event.as_str().to_string()),
        ("x-portolan-delivery", id.to_string()),
        ("x-portolan-signature", signature(&target.secret, &body)),
    ];
    for attempt in 1..=settings.attempts.max(1) {
        let outcome = tokio::time::timeout(
            settings.timeout,
            client::post(&tls, &target.url, &headers, body.clone()),
        )
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "no answer within {} ms",
                settings.timeout.as_millis()
            ))
        });
        let (status, response, error) = match outcome {
            Ok(code) if (200..300).contains(&code) => (DeliveryStatus::Delivered, Some(code), None),
            Ok(code) => (
                DeliveryStatus::Pending,
                Some(code),
                Some(format!("HTTP {code}")),
            ),
            Err(e) => (DeliveryStatus::Pending, None, Some(e)),
        };
        let last = attempt >= settings.attempts;
        let status = if status == DeliveryStatus::Pending && last {
            DeliveryStatus::Failed
        } else {
            status
        };
        if let Some(e) = &error {
            tracing::warn!(webhook = %target.id, delivery = id, attempt, "webhook delivery failed: {e}");
        }
        let update = DeliveryUpdate {
            status,
            attempts: i64::from(attempt),
            response: response.map(i64::from),
            error,
            at: clock.now(),
        };
        if let Err(e) = store.update_delivery(id, &update).await {
            tracing::error!(delivery = id, "cannot log a webhook delivery: {e}");
        }
        if status != DeliveryStatus::Pending {
            return;
        }
        tokio::time::sleep(settings.wait_after(attempt)).await;
    }
}

/// Sends `payload` as event `event` to every webhook subscribed to it, in the background.
pub fn fire(state: &AppState, event: WebhookEvent, payload: Value) {
    let courier = Courier {
        store: state.store.clone(),
        clock: state.clock,
        settings: state.webhooks,
        tls: state.webhook_tls.clone(),
    };
    tokio::spawn(async move {
        let store = courier.store.clone();
        let targets = match store.webhook_targets(event).await {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(event = event.as_str(), "cannot read webhooks: {e}");
                return;
            }
        };
        let body = Bytes::from(payload.to_string());
        for target in targets {
            match store
                .enqueue_delivery(&target.id, event, &payload, courier.clock.now())
                .await
            {
                Ok(id) => {
                    tokio::spawn(deliver(courier.clone(), target, event, id, body.clone()));
                }
                Err(e) => {
                    tracing::error!(webhook = %target.id, "cannot log a webhook delivery: {e}");
                }
            }
        }
    });
}

/// Whether any webhook wants `event` (a store error says no, and is logged).
async fn wanted(state: &AppState, event: WebhookEvent) -> bool {
    match state.store.webhook_targets(event).await {
        Ok(t) => !t.is_empty(),
        Err(e) => {
            tracing::warn!("cannot read webhooks: {e}");
            false
        }
    }
}

/// How long after a lease's end its `lease-expiring` claim is kept (seconds).
const LEASE_CLAIM_KEPT: i64 = 86_400;

/// Claims the announcement of `event` about `subject` at `mark` in the store (see
/// [`Store::claim_announcement`]); `known` remembers the marks this server already claimed
/// or saw claimed, so a mark costs one query per server, not one per check.
async fn claim(
    state: &AppState,
    known: &mut BTreeMap<String, i64>,
    event: WebhookEvent,
    subject: &str,
    mark: i64,
    now: i64,
) -> bool {
    if known.get(subject) == Some(&mark) {
        return false;
    }
    match state
        .store
        .claim_announcement(event, subject, mark, now)
        .await
    {
        Ok(won) => {
            known.insert(subject.to_string(), mark);
            won
        }
        Err(e) => {
            // not remembered: the next check tries again
            tracing::warn!(event = event.as_str(), "cannot claim an announcement: {e}");
            false
        }
    }
}

/// The periodic events, checked every [`WebhookSettings::stale_check`]: `agent-stale`
/// once for each host whose last report is older than [`WebhookSettings::stale_after`]
/// (a host that reports again may fire again later), and `lease-expiring` once for each
/// lease ending within [`WebhookSettings::lease_warning`] (a renewed lease may fire again).
/// Each check is skipped while no webhook wants its event. What was announced is claimed in
/// the store (`webhook_announcements`), so a restarted server does not announce a silence
/// or a lease end again, and of several servers on one database exactly one announces each.
pub async fn watch_periodic_events(state: AppState) {
    let stale_after = i64::try_from(state.webhooks.stale_after.as_secs()).unwrap_or(i64::MAX);
    let warning = i64::try_from(state.webhooks.lease_warning.as_secs()).unwrap_or(i64::MAX);
    // host → the last report time claimed; service → the lease end claimed
    let mut silent: BTreeMap<String, i64> = BTreeMap::new();
    let mut expiring: BTreeMap<String, i64> = BTreeMap::new();
    loop {
        tokio::time::sleep(state.webhooks.stale_check).await;
        if wanted(&state, WebhookEvent::AgentStale).await {
            match state.store.observations().await {
                Ok(observations) => {
                    let now = state.now();
                    for o in observations {
                        let quiet = now.saturating_sub(o.at);
                        if quiet > stale_after
                            && claim(
                                &state,
                                &mut silent,
                                WebhookEvent::AgentStale,
                                &o.host,
                                o.at,
                                now,
                            )
                            .await
                        {
                            fire(
                                &state,
                                WebhookEvent::AgentStale,
                                json!({"event": "agent-stale", "at": now, "host": o.host,
                                       "last_report": o.at, "silent_for": quiet}),
                            );
                        }
                    }
                }
                Err(e) => tracing::warn!("cannot read agents' reports: {e}"),
            }
        }
        if wanted(&state, WebhookEvent::LeaseExpiring).await {
            let now = state.now();
            match state.store.leases(now).await {
                Ok(leases) => {
                    for l in leases {
                        let left = l.until.saturating_sub(now);
                        if !l.expired
                            && left <= warning
                            && claim(
                                &state,
                                &mut expiring,
                                WebhookEvent::LeaseExpiring,
                                &l.service,
                                l.until,
                                now,
                            )
                            .await
                        {
                            fire(
                                &state,
                                WebhookEvent::LeaseExpiring,
                                json!({"event": "lease-expiring", "at": now,
                                       "service": l.service, "project": l.project,
                                       "ports": l.ports, "until": l.until, "left": left}),
                            );
                        }
                    }
                    // an ended lease is never announced again: its claim can go (a day
                    // later, so that no server whose clock lags sees it unclaimed)
                    let ended = now.saturating_sub(LEASE_CLAIM_KEPT);
                    expiring.retain(|_, until| *until >= ended);
                    if let Err(e) = state
                        .store
                        .prune_announcements(WebhookEvent::LeaseExpiring, ended)
                        .await
                    {
                        tracing::warn!("cannot prune announcements: {e}");
                    }
                }
                Err(e) => tracing::warn!("cannot read leases: {e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_rfc_4231_hmac_sha256() {
        // RFC 4231, test case 2
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let s = WebhookSettings {
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(10),
            ..WebhookSettings::default()
        };
        let waits: Vec<u64> = (1..=5).map(|a| s.wait_after(a).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 10, 10]);
        assert_eq!(s.wait_after(200), Duration::from_secs(10));
    }
}
