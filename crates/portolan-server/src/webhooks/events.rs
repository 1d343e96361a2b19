//! The events an agent report fires: what changed between the host's stored state (its
//! drift findings and its listeners) and the report's, computed in the one step every
//! report path takes ([`record_drift`]).
//!
//! - `drift`: the host's drift findings changed (new and resolved ones listed).
//! - `undeclared-listener`: one per new `undeclared-listener` finding.
//! - `expectation-failed`: one per new `expectation-failed` finding of the host's drift —
//!   an `[[expect]]` that holds in the spec but not with the binds the report shows
//!   ([`portolan_observe::observed_reach`]; the server cannot probe, so this is the static
//!   evaluation against the new state).
//! - `exposure-widened`: one per report in which a listener became reachable from wider
//!   than before — a new listener beyond loopback (a port opened or newly published on an
//!   interface), or one whose bind widened (`127.0.0.1` → `0.0.0.0`), compared by
//!   [`portolan_observe::diff`] with the host's previous report — or a listener became
//!   wider than declared (a new `bind-wider-than-declared` finding). A host's first report
//!   has nothing before it: only the comparison with the spec applies.

use std::collections::BTreeSet;

use portolan_model::{HostId, Model, Status};
use portolan_observe::Listener;
use portolan_observe::diff::{Change, Exposure, diff};
use portolan_observe::snapshot::Snapshot;
use portolan_store::{FindingRecord, WebhookEvent};
use serde_json::{Value, json};

use super::fire;
use crate::api::observations::ListenerReport;
use crate::error::ApiError;
use crate::state::AppState;

/// A host's drift against `listeners`: the drift rules, and the expectations its live
/// binds break.
pub(crate) fn host_drift(
    model: &Model,
    host: HostId,
    listeners: &[Listener],
) -> Vec<portolan_lint::Finding> {
    let mut found = portolan_observe::drift::drift(model, host, listeners);
    found.extend(portolan_observe::observed_reach::expectations(
        model, host, listeners,
    ));
    found
}

/// The host's listeners before a report replaces them, when a webhook wants
/// `exposure-widened` and the host reported before (`None` otherwise: nothing to compare).
/// Read before the report is stored; stored listeners that no longer parse are left out.
pub(crate) async fn listeners_before(
    state: &AppState,
    host: &str,
) -> Result<Option<Vec<Listener>>, ApiError> {
    if state
        .store
        .webhook_targets(WebhookEvent::ExposureWidened)
        .await?
        .is_empty()
    {
        return Ok(None);
    }
    let Some(observation) = state.store.observation(host).await? else {
        return Ok(None);
    };
    let listeners = observation
        .listeners
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| serde_json::from_value::<ListenerReport>(v.clone()).ok())
                .map(|l| Listener::from(&l))
                .collect()
        })
        .unwrap_or_default();
    Ok(Some(listeners))
}

/// What a report brings: the host, its listeners before (see [`listeners_before`]) and
/// now, and its drift now.
pub(crate) struct Reported<'a> {
    /// The registry's model.
    pub model: &'a Model,
    /// The host.
    pub host: HostId,
    /// Its listeners before the report, when compared.
    pub before: Option<Vec<Listener>>,
    /// Its listeners now.
    pub after: &'a [Listener],
    /// Its drift now.
    pub drift: Vec<portolan_store::StoredFinding>,
    /// When.
    pub now: i64,
}

/// Stores a host's freshly computed drift (replacing its previous findings) and, when
/// webhooks exist, fires the events for what changed; the stored records, for the answer.
/// One step for every report path (`/reports`, `/observations`).
pub(crate) async fn record_drift(
    state: &AppState,
    r: Reported<'_>,
) -> Result<Vec<FindingRecord>, ApiError> {
    let host = r.model.host(r.host).name.clone();
    let source = format!("drift:{host}");
    let before = drift_before(state, &source).await?;
    state.store.put_findings(&source, &r.drift, r.now).await?;
    let drift: Vec<FindingRecord> = r
        .drift
        .into_iter()
        .map(|f| FindingRecord::new(&source, r.now, f))
        .collect();
    if let Some(before) = before {
        drift_changed(state, &host, r.now, &before, &drift);
        let widened = widened(r.model, r.host, r.before.as_deref(), r.after);
        let new_wider = appeared(&before, &drift)
            .into_iter()
            .filter(|f| f.rule == "bind-wider-than-declared")
            .map(finding_json)
            .collect::<Vec<_>>();
        if !widened.is_empty() || !new_wider.is_empty() {
            fire(
                state,
                WebhookEvent::ExposureWidened,
                json!({"event": "exposure-widened", "at": r.now, "host": host,
                       "changes": widened, "findings": new_wider}),
            );
        }
    }
    Ok(drift)
}

/// A host's drift findings before a report replaces them, when any webhook could want to
/// know what changed (`None`: no webhook, nothing to compare).
async fn drift_before(
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

fn key(f: &FindingRecord) -> (String, String) {
    (f.rule.clone(), f.message.clone())
}

/// The findings of `after` that `before` did not have.
fn appeared<'a>(before: &[FindingRecord], after: &'a [FindingRecord]) -> Vec<&'a FindingRecord> {
    let old: BTreeSet<_> = before.iter().map(key).collect();
    after.iter().filter(|f| !old.contains(&key(f))).collect()
}

/// Fires `drift` when a host's drift findings changed, and `undeclared-listener` and
/// `expectation-failed` for each new finding of those rules.
fn drift_changed(
    state: &AppState,
    host: &str,
    at: i64,
    before: &[FindingRecord],
    after: &[FindingRecord],
) {
    let appeared = appeared(before, after);
    let resolved = self::appeared(after, before);
    if appeared.is_empty() && resolved.is_empty() {
        return;
    }
    for (rule, event) in [
        ("undeclared-listener", WebhookEvent::UndeclaredListener),
        ("expectation-failed", WebhookEvent::ExpectationFailed),
    ] {
        for f in appeared.iter().filter(|f| f.rule == rule) {
            fire(
                state,
                event,
                json!({"event": event.as_str(), "at": at, "host": host,
                       "finding": finding_json(f)}),
            );
        }
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

/// The listeners reachable from wider than before, as [`portolan_observe::diff`] changes
/// (`opened` beyond loopback, or `changed` with `widened`), each with the binding the spec
/// declares there (`declared`: its name, bind and exposure; `null` when none). Empty when
/// there is no earlier state.
fn widened(
    model: &Model,
    host: HostId,
    before: Option<&[Listener]>,
    after: &[Listener],
) -> Vec<Value> {
    let Some(before) = before else {
        return Vec::new();
    };
    let name = &model.host(host).name;
    let d = diff(
        &Snapshot::live(name, 0, before, Vec::new()),
        &Snapshot::live(name, 0, after, Vec::new()),
    );
    d.changes
        .iter()
        .filter(|c| match c {
            Change::Added { after, .. } => after.exposure > Exposure::Localhost,
            Change::Changed { widened, .. } => *widened,
            Change::Removed { .. } => false,
        })
        .map(|c| {
            let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
            let k = c.key();
            let declared = model
                .bindings
                .iter()
                .find(|b| {
                    b.host == host
                        && matches!(b.status, Status::Active | Status::Deprecated)
                        && b.transport.as_str() == k.transport.as_str()
                        && b.ports.contains(k.port)
                })
                .map_or(Value::Null, |b| {
                    json!({"binding": b.qualified_name(model), "bind": b.bind.to_string(),
                           "exposure": b.exposure.iter().map(|e| e.label(model)).collect::<Vec<_>>()})
                });
            if let Value::Object(m) = &mut v {
                m.insert("declared".into(), declared);
            }
            v
        })
        .collect()
}
