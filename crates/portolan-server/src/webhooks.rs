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

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use portolan_store::{
    DeliveryStatus, DeliveryUpdate, FindingRecord, Store, WebhookEvent, WebhookTarget,
};
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::error::ApiError;
use crate::state::AppState;

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

/// Why a webhook URL is refused (the message of a 422 naming `url`).
pub fn check_url(url: &str) -> Result<hyper::Uri, String> {
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| format!("url: `{}` is not a URL: {e}", url.escape_default()))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(
                "url: https is not supported by the delivery client yet: give an http:// URL (e.g. a relay on the same machine)"
                    .into(),
            );
        }
        _ => {
            return Err(format!(
                "url: `{}` is not an http:// URL",
                url.escape_default()
            ));
        }
    }
    match uri.authority() {
        Some(a) if !a.host().is_empty() && !a.as_str().contains('@') => Ok(uri),
        Some(_) => Err("url: a host, without user or password".into()),
        None => Err("url: names no host".into()),
    }
}

/// One POST of `body`: the receiver's status, or why there is none. Connect, send and the
/// answer's head are all bounded by the caller's timeout (the connection is dropped with
/// this future).
async fn post(
    target: &WebhookTarget,
    headers: &[(&str, String)],
    body: Bytes,
) -> Result<u16, String> {
    let uri = check_url(&target.url)?;
    let authority = uri.authority().ok_or("url: names no host")?.clone();
    let addr = format!(
        "{}:{}",
        authority.host(),
        authority.port_u16().unwrap_or(80)
    );
    let stream = tokio::net::TcpStream::connect(&addr)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake: {e}"))?;
    let path = uri
        .path_and_query()
        .map_or("/", hyper::http::uri::PathAndQuery::as_str);
    let mut req = hyper::Request::post(path)
        .header(hyper::header::HOST, authority.as_str())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(
            hyper::header::USER_AGENT,
            concat!("portolan/", env!("CARGO_PKG_VERSION")),
        );
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let req = req
        .body(Full::new(body))
        .map_err(|e| format!("request: {e}"))?;
    let response = sender.send_request(req);
    tokio::pin!(conn, response);
    let answer = tokio::select! {
        res = &mut response => res,
        end = &mut conn => match end {
            // the receiver closed after answering: the answer has been handed over by now
            Ok(()) => response.await,
            Err(e) => return Err(format!("HTTP: {e}")),
        },
    };
    answer
        .map(|r| r.status().as_u16())
        .map_err(|e| format!("HTTP: {e}"))
}

/// Delivers `body` to `target` (delivery `id`), recording every attempt.
async fn deliver(
    store: std::sync::Arc<dyn Store>,
    clock: Clock,
    settings: WebhookSettings,
    target: WebhookTarget,
    event: WebhookEvent,
    id: i64,
    body: Bytes,
) {
    let headers = [
        ("x-portolan-event", event.as_str().to_string()),
        ("x-portolan-delivery", id.to_string()),
        ("x-portolan-signature", signature(&target.secret, &body)),
    ];
    for attempt in 1..=settings.attempts.max(1) {
        let outcome = tokio::time::timeout(settings.timeout, post(&target, &headers, body.clone()))
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
    let store = state.store.clone();
    let clock = state.clock;
    let settings = state.webhooks;
    tokio::spawn(async move {
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
                .enqueue_delivery(&target.id, event, &payload, clock.now())
                .await
            {
                Ok(id) => {
                    tokio::spawn(deliver(
                        store.clone(),
                        clock,
                        settings,
                        target,
                        event,
                        id,
                        body.clone(),
                    ));
                }
                Err(e) => {
                    tracing::error!(webhook = %target.id, "cannot log a webhook delivery: {e}");
                }
            }
        }
    });
}

/// Stores a host's freshly computed drift (replacing its previous findings) and, when
/// webhooks exist, fires the events for what changed; the stored records, for the answer.
/// One step for every report path (`/reports`, `/observations`).
pub(crate) async fn record_drift(
    state: &AppState,
    host: &str,
    drift: Vec<portolan_store::StoredFinding>,
    now: i64,
) -> Result<Vec<FindingRecord>, ApiError> {
    let source = format!("drift:{host}");
    let before = drift_before(state, &source).await?;
    state.store.put_findings(&source, &drift, now).await?;
    let drift: Vec<FindingRecord> = drift
        .into_iter()
        .map(|f| FindingRecord::new(&source, now, f))
        .collect();
    if let Some(before) = before {
        drift_changed(state, host, now, &before, &drift);
    }
    Ok(drift)
}

/// A host's drift findings before a report replaces them, when any webhook could want to
/// know what changed (`None`: no webhook, nothing to compare).
pub(crate) async fn drift_before(
    state: &AppState,
    source: &str,
) -> Result<Option<Vec<FindingRecord>>, ApiError> {
    if state.store.webhooks().await?.is_empty() {
        return Ok(None);
    }
    Ok(Some(state.store.findings_of(source).await?))
}

fn finding_json(f: &FindingRecord) -> Value {
    json!({"rule": f.rule, "severity": f.severity, "message": f.message, "finding": f.doc})
}

/// Fires `drift` when a host's drift findings changed, and `undeclared-listener` for each
/// new undeclared listener among them.
pub(crate) fn drift_changed(
    state: &AppState,
    host: &str,
    at: i64,
    before: &[FindingRecord],
    after: &[FindingRecord],
) {
    let key = |f: &FindingRecord| (f.rule.clone(), f.message.clone());
    let old: BTreeSet<_> = before.iter().map(key).collect();
    let new: BTreeSet<_> = after.iter().map(key).collect();
    let appeared: Vec<&FindingRecord> = after.iter().filter(|f| !old.contains(&key(f))).collect();
    let resolved: Vec<&FindingRecord> = before.iter().filter(|f| !new.contains(&key(f))).collect();
    if appeared.is_empty() && resolved.is_empty() {
        return;
    }
    for f in appeared.iter().filter(|f| f.rule == "undeclared-listener") {
        fire(
            state,
            WebhookEvent::UndeclaredListener,
            json!({"event": "undeclared-listener", "at": at, "host": host,
                   "finding": finding_json(f)}),
        );
    }
    fire(
        state,
        WebhookEvent::Drift,
        json!({"event": "drift", "at": at, "host": host,
               "findings": after.iter().map(finding_json).collect::<Vec<_>>(),
               "new": appeared.iter().map(|f| finding_json(f)).collect::<Vec<_>>(),
               "resolved": resolved.iter().map(|f| finding_json(f)).collect::<Vec<_>>()}),
    );
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

/// The periodic events, checked every [`WebhookSettings::stale_check`]: `agent-stale`
/// once for each host whose last report is older than [`WebhookSettings::stale_after`]
/// (a host that reports again may fire again later), and `lease-expiring` once for each
/// lease ending within [`WebhookSettings::lease_warning`] (a renewed lease may fire again).
/// Each check is skipped while no webhook wants its event. What was announced is kept in
/// memory: a restarted server announces a still-silent host or an expiring lease once more.
pub async fn watch_periodic_events(state: AppState) {
    let stale_after = i64::try_from(state.webhooks.stale_after.as_secs()).unwrap_or(i64::MAX);
    let warning = i64::try_from(state.webhooks.lease_warning.as_secs()).unwrap_or(i64::MAX);
    // host → the report time it was announced stale at
    let mut silent: BTreeMap<String, i64> = BTreeMap::new();
    // service → the lease end announced
    let mut expiring: BTreeMap<String, i64> = BTreeMap::new();
    loop {
        tokio::time::sleep(state.webhooks.stale_check).await;
        if wanted(&state, WebhookEvent::AgentStale).await {
            match state.store.observations().await {
                Ok(observations) => {
                    let now = state.now();
                    silent.retain(|host, at| {
                        observations.iter().any(|o| &o.host == host && o.at == *at)
                    });
                    for o in observations {
                        let quiet = now.saturating_sub(o.at);
                        if quiet > stale_after && silent.get(&o.host) != Some(&o.at) {
                            fire(
                                &state,
                                WebhookEvent::AgentStale,
                                json!({"event": "agent-stale", "at": now, "host": o.host,
                                       "last_report": o.at, "silent_for": quiet}),
                            );
                            silent.insert(o.host, o.at);
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
                    expiring.retain(|service, until| {
                        leases
                            .iter()
                            .any(|l| &l.service == service && l.until == *until)
                    });
                    for l in leases {
                        let left = l.until.saturating_sub(now);
                        if !l.expired
                            && left <= warning
                            && expiring.get(&l.service) != Some(&l.until)
                        {
                            expiring.insert(l.service.clone(), l.until);
                            fire(
                                &state,
                                WebhookEvent::LeaseExpiring,
                                json!({"event": "lease-expiring", "at": now,
                                       "service": l.service, "project": l.project,
                                       "ports": l.ports, "until": l.until, "left": left}),
                            );
                        }
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

    #[test]
    fn only_plain_http_urls_with_a_host_are_accepted() {
        assert!(check_url("http://127.0.0.1:9000/hook?x=1").is_ok());
        assert!(
            check_url("https://example.com/")
                .unwrap_err()
                .contains("https")
        );
        assert!(check_url("ftp://example.com/").is_err());
        assert!(check_url("http://user:pw@example.com/").is_err());
        assert!(check_url("not a url").is_err());
        assert!(check_url("/relative").is_err());
    }
}
