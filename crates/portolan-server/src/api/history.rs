//! Listener history: `POST /api/v1/reports` (an agent's numbered report — every listener,
//! or a delta against the last report the server acknowledged; see
//! [`portolan_store::history`]), `GET /api/v1/hosts/{name}/history` (what opened, closed,
//! changed, and when), `GET /api/v1/hosts/{name}/state?at=` (its listeners then) and
//! `GET /api/v1/diff?host=&from=&to=` (a host's listeners at two
//! instants, compared).
//!
//! A report that does not continue the host's acknowledged sequence — a duplicate, an
//! out-of-order delta, a gap, a delta from an agent instance the server has no
//! acknowledged report of — is refused with 409 naming the field and the last acknowledged
//! number; nothing is changed and the agent sends a full report next. A report dated more
//! than [`MAX_CLOCK_SKEW`](portolan_store::history::MAX_CLOCK_SKEW) seconds ahead of the
//! server is refused with 422 (`at`); one for a host the registry does not declare, 404.
//! A report that changes the host's drift fires webhook events ([`crate::webhooks`]).

use axum::Json;
use axum::extract::{Path, State};
use portolan_model::spec::Timestamp;
use portolan_observe::Listener;
use portolan_store::{
    FindingRecord, HistoryQuery, HostHistory, HostState, ListenerChange, ListenerKey, Report,
    ReportBody,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::allocate::check_name;
use super::observations::ListenerReport;
use crate::auth::{Auth, READ, WRITE};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, check_text};
use crate::state::AppState;

/// Most listeners one report may hold (full, or added by a delta).
const MAX_LISTENERS: usize = 20_000;

/// Most events one history page holds.
const MAX_PAGE: u32 = 10_000;

/// An agent's numbered report: `listeners` (a full report) or `base` with `added` and
/// `removed` (a delta against report `base`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// Host name, as the registry knows it.
    pub host: String,
    /// The agent instance: a new random id each time the agent starts.
    pub agent: String,
    /// This report's number: 1 for the instance's first report, then one more each time.
    pub seq: i64,
    /// When the listeners were observed (seconds since the epoch, the agent's clock;
    /// default: the server's).
    #[serde(default)]
    pub at: Option<i64>,
    /// Every listener (a full report).
    #[serde(default)]
    pub listeners: Option<Vec<ListenerReport>>,
    /// The acknowledged report this delta applies to.
    #[serde(default)]
    pub base: Option<i64>,
    /// Listeners that opened or changed since `base`.
    #[serde(default)]
    pub added: Vec<ListenerReport>,
    /// Listeners that closed since `base`.
    #[serde(default)]
    pub removed: Vec<ListenerKey>,
}

/// What the server made of a report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportReceipt {
    /// Host.
    pub host: String,
    /// The sequence number now acknowledged: the next delta's `base`.
    pub seq: i64,
    /// The time recorded for the report's changes.
    pub at: i64,
    /// Listeners that opened.
    pub opened: usize,
    /// Listeners that closed.
    pub closed: usize,
    /// Listeners whose owners or details changed.
    pub changed: usize,
    /// Listeners of the host now.
    pub listeners: usize,
    /// Drift findings of the host now.
    pub drift: Vec<FindingRecord>,
}

fn check_listeners(field: &str, listeners: &[ListenerReport]) -> Result<(), ApiError> {
    if listeners.len() > MAX_LISTENERS {
        return Err(ApiError::invalid(
            field,
            format!("{field}: at most {MAX_LISTENERS} listeners"),
        ));
    }
    super::observations::check_listeners(field, listeners)
}

fn to_values(
    field: &str,
    listeners: &[ListenerReport],
) -> Result<Vec<serde_json::Value>, ApiError> {
    listeners
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()
        .map_err(|e| ApiError::internal(field, &e))
}

/// A removed listener's key as added listeners are stored: `tcp`/`udp`, the address
/// printed the standard way (`::`, not `0:0::0`).
fn canonical_key(i: usize, k: &ListenerKey) -> Result<ListenerKey, ApiError> {
    let transport = k.transport.to_ascii_lowercase();
    if transport != "tcp" && transport != "udp" {
        return Err(ApiError::invalid(
            &format!("removed[{i}].transport"),
            format!(
                "removed[{i}].transport: `tcp` or `udp`, not `{}`",
                k.transport
            ),
        ));
    }
    let addr: std::net::IpAddr = k.addr.parse().map_err(|_| {
        ApiError::invalid(
            &format!("removed[{i}].addr"),
            format!("removed[{i}].addr: `{}` is not an IP address", k.addr),
        )
    })?;
    Ok(ListenerKey {
        transport,
        addr: addr.to_string(),
        port: k.port,
    })
}

/// Applies an agent's report, records what changed, recomputes the host's drift.
#[utoipa::path(post, path = "/api/v1/reports", tag = "agents", request_body = ReportRequest,
    responses(
        (status = 200, description = "Acknowledged; what changed and the host's drift", body = ReportReceipt),
        (status = 404, description = "The host is not in the registry", body = ErrorBody),
        (status = 409, description = "Not the next report of the acknowledged sequence (duplicate, out of order, gap): send a full report", body = ErrorBody)))]
pub async fn report(
    State(state): State<AppState>,
    _: Auth<WRITE>,
    ApiJson(body): ApiJson<ReportRequest>,
) -> Result<Json<ReportReceipt>, ApiError> {
    check_name("host", &body.host)?;
    check_name("agent", &body.agent)?;
    if body.seq < 1 {
        return Err(ApiError::invalid("seq", "seq: must be 1 or more"));
    }
    let report_body = match (&body.listeners, body.base) {
        (Some(listeners), None) => {
            if !body.added.is_empty() || !body.removed.is_empty() {
                return Err(ApiError::invalid(
                    "listeners",
                    "listeners: a full report has no `added` or `removed`",
                ));
            }
            check_listeners("listeners", listeners)?;
            ReportBody::Full {
                listeners: to_values("listeners", listeners)?,
            }
        }
        (None, Some(base)) => {
            check_listeners("added", &body.added)?;
            if body.removed.len() > MAX_LISTENERS {
                return Err(ApiError::invalid(
                    "removed",
                    format!("removed: at most {MAX_LISTENERS} listeners"),
                ));
            }
            let removed = body
                .removed
                .iter()
                .enumerate()
                .map(|(i, k)| canonical_key(i, k))
                .collect::<Result<_, _>>()?;
            ReportBody::Delta {
                base,
                added: to_values("added", &body.added)?,
                removed,
            }
        }
        (Some(_), Some(_)) | (None, None) => {
            return Err(ApiError::invalid(
                "listeners",
                "send `listeners` (a full report) or `base` with `added`/`removed` (a delta), not both or neither",
            ));
        }
    };
    let model = state.reads.model(&*state.store).await?;
    let Some(host) = model.host_named(&body.host) else {
        return Err(ApiError::not_found(
            "host",
            format!(
                "host `{}` is not in the registry (declare it in the spec and `portolan push`)",
                body.host
            ),
        ));
    };
    let now = state.now();
    let before = crate::webhooks::listeners_before(&state, &body.host).await?;
    let outcome = state
        .store
        .report(
            &Report {
                host: body.host.clone(),
                agent: body.agent.clone(),
                seq: body.seq,
                at: body.at.unwrap_or(now),
                body: report_body,
            },
            now,
        )
        .await?;
    let listeners: Vec<Listener> = outcome
        .listeners
        .iter()
        .filter_map(|v| serde_json::from_value::<ListenerReport>(v.clone()).ok())
        .map(|l| Listener::from(&l))
        .collect();
    let drift = super::findings::to_stored(
        &model,
        &crate::webhooks::host_drift(&model, host, &listeners),
    );
    let drift = crate::webhooks::record_drift(
        &state,
        crate::webhooks::Reported {
            model: &model,
            host,
            before,
            after: &listeners,
            drift,
            now,
        },
    )
    .await?;
    Ok(Json(ReportReceipt {
        host: outcome.host,
        seq: outcome.seq,
        at: outcome.at,
        opened: outcome.opened,
        closed: outcome.closed,
        changed: outcome.changed,
        listeners: outcome.listeners.len(),
        drift,
    }))
}

/// An instant in a query: seconds since the epoch, or RFC 3339 (`2026-12-04T12:03:00Z`).
fn instant(field: &str, text: &str) -> Result<i64, ApiError> {
    if let Ok(n) = text.parse::<i64>() {
        return Ok(n);
    }
    Timestamp::parse(text).map(|t| t.0).map_err(|e| {
        ApiError::bad_request(
            field,
            format!("{field}: `{text}` is not an instant (seconds since the epoch, or RFC 3339 like 2026-12-04T12:03:00Z): {e}"),
        )
    })
}

/// 404 unless `host` is declared in the registry or has history.
async fn known_host(state: &AppState, field: &str, host: &str) -> Result<(), ApiError> {
    check_text(field, host, 200)?;
    if state.store.hosts().await?.iter().any(|h| h.name == host)
        || state.store.observation(host).await?.is_some()
    {
        Ok(())
    } else {
        Err(ApiError::not_found(
            field,
            format!("host `{host}` is not in the registry and never reported"),
        ))
    }
}

/// Which events to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    /// Events at or after this instant (epoch seconds or RFC 3339).
    pub since: Option<String>,
    /// Events at or before this instant.
    pub until: Option<String>,
    /// Events with an id above this one (the last id of the previous page).
    pub after: Option<i64>,
    /// At most this many events (default and maximum 10000).
    pub limit: Option<u32>,
}

/// What opened, closed and changed on a host, oldest first.
#[utoipa::path(get, path = "/api/v1/hosts/{name}/history", tag = "agents",
    params(("name" = String, Path, description = "Host name"), HistoryParams),
    responses(
        (status = 200, description = "The host's events", body = HostHistory),
        (status = 404, description = "No such host", body = ErrorBody)))]
pub async fn history(
    State(state): State<AppState>,
    _: Auth<READ>,
    Path(name): Path<String>,
    ApiQuery(q): ApiQuery<HistoryParams>,
) -> Result<Json<HostHistory>, ApiError> {
    known_host(&state, "name", &name).await?;
    let query = HistoryQuery {
        since: q
            .since
            .as_deref()
            .map(|t| instant("since", t))
            .transpose()?,
        until: q
            .until
            .as_deref()
            .map(|t| instant("until", t))
            .transpose()?,
        after: q.after.unwrap_or(0),
        limit: q.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE),
    };
    Ok(Json(state.store.history(&name, query).await?))
}

/// Which instant.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StateParams {
    /// The instant (epoch seconds or RFC 3339; default: now).
    pub at: Option<String>,
}

/// A host's listeners at one instant, rebuilt from its history (`portolan diff
/// registry:HOST@TIME`).
#[utoipa::path(get, path = "/api/v1/hosts/{name}/state", tag = "agents",
    params(("name" = String, Path, description = "Host name"), StateParams),
    responses(
        (status = 200, description = "The listeners then", body = HostState),
        (status = 404, description = "No such host", body = ErrorBody)))]
pub async fn state_at(
    State(state): State<AppState>,
    _: Auth<READ>,
    Path(name): Path<String>,
    ApiQuery(q): ApiQuery<StateParams>,
) -> Result<Json<HostState>, ApiError> {
    known_host(&state, "name", &name).await?;
    let at = match &q.at {
        Some(t) => instant("at", t)?,
        None => state.now(),
    };
    state
        .store
        .state_at(&name, at)
        .await?
        .map(Json)
        .ok_or_else(|| {
            ApiError::invalid(
                "at",
                format!("at: {at} is before the host's retained history (compacted)"),
            )
        })
}

/// Which host, between which instants.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DiffParams {
    /// Host name.
    pub host: String,
    /// The earlier instant (epoch seconds or RFC 3339).
    pub from: String,
    /// The later instant (default: now).
    pub to: Option<String>,
}

/// A host's listeners at two instants, compared.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryDiff {
    /// Host.
    pub host: String,
    /// The earlier instant.
    pub from: i64,
    /// The later instant.
    pub to: i64,
    /// Listeners that opened, closed or changed between them, by listener.
    pub changes: Vec<ListenerChange>,
}

/// What changed on a host between two instants.
#[utoipa::path(get, path = "/api/v1/diff", tag = "agents", params(DiffParams),
    responses(
        (status = 200, description = "The changes", body = HistoryDiff),
        (status = 404, description = "No such host", body = ErrorBody)))]
pub async fn diff(
    State(state): State<AppState>,
    _: Auth<READ>,
    ApiQuery(q): ApiQuery<DiffParams>,
) -> Result<Json<HistoryDiff>, ApiError> {
    known_host(&state, "host", &q.host).await?;
    let from = instant("from", &q.from)?;
    let to = match &q.to {
        Some(t) => instant("to", t)?,
        None => state.now(),
    };
    if from > to {
        return Err(ApiError::invalid(
            "from",
            format!("from: {from} is after to ({to})"),
        ));
    }
    let gone = |field: &str, at: i64| {
        ApiError::invalid(
            field,
            format!("{field}: {at} is before the host's retained history (compacted)"),
        )
    };
    let a = state
        .store
        .state_at(&q.host, from)
        .await?
        .ok_or_else(|| gone("from", from))?;
    let b = state
        .store
        .state_at(&q.host, to)
        .await?
        .ok_or_else(|| gone("to", to))?;
    let changes = portolan_store::history::changes(
        &portolan_store::history::state_map(&a)?,
        &portolan_store::history::state_map(&b)?,
    );
    Ok(Json(HistoryDiff {
        host: q.host,
        from,
        to,
        changes,
    }))
}

/// Compacts history older than `retention` seconds now and then every tenth of it (at
/// least every second, at most every hour), for as long as the server runs. Several
/// servers on one database may all do it: compacting to a cutoff already passed is a no-op.
pub async fn compact_periodically(state: AppState, retention: u64) {
    let every = std::time::Duration::from_secs((retention / 10).clamp(1, 3600));
    let retention = i64::try_from(retention).unwrap_or(i64::MAX);
    loop {
        let cutoff = state.now().saturating_sub(retention);
        match state.store.compact_history(cutoff).await {
            Ok(done) if done.events > 0 => tracing::info!(
                hosts = done.hosts,
                events = done.events,
                cutoff,
                "history compacted"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "history compaction failed; retrying later"),
        }
        tokio::time::sleep(every).await;
    }
}
