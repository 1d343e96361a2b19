//! `/metrics` in the Prometheus (OpenMetrics) text format, and the request middleware that
//! feeds it and writes one log line per request.
//!
//! Request latency is recorded as it happens (`portolan_http_request_duration_seconds`, by
//! route template, method and status). Everything else is read from the store at scrape
//! time, so it is never stale and costs nothing between scrapes:
//!
//! | metric | labels | meaning |
//! |---|---|---|
//! | `portolan_range_ports` | project, block (`""`: the whole range), state | ports `allocated` (bound by a service), `reserved`, `free` |
//! | `portolan_findings` | rule, severity | stored findings (lint and drift) |
//! | `portolan_host_declared_bindings` | host | binding instances the registry declares on the host |
//! | `portolan_host_observed_listeners` | host | listeners in the host's last agent report |
//! | `portolan_host_drift_findings` | host | drift findings of the last report |
//! | `portolan_agent_report_age_seconds` | host | seconds since the host's last report |
//! | `portolan_agent_stale` | host | 1 when that is more than [`STALE_AFTER`] seconds |
//!
//! `/metrics` needs a read token like the API (Prometheus: `authorization: {credentials_file: …}`):
//! it names every project and host.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use portolan_model::{PortRange, PortSet};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::auth::{Auth, READ};
use crate::error::ApiError;
use crate::state::AppState;

/// An agent whose last report is older than this many seconds is flagged stale.
pub const STALE_AFTER: i64 = 300;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

/// A request's method as a label: one of the methods the API knows, else `other` — never
/// the client's text, which could be anything (hyper accepts a method of 300 KB), so the
/// label set stays fixed however many distinct methods arrive.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The route label of a request: its route template, or `unmatched` for every path no
/// route matches (so a scan of random paths adds one label, not one per path).
fn route_label(req: &Request) -> String {
    req.extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_string(), |m| m.as_str().to_string())
}

/// The route label of requests no route matches.
pub const UNMATCHED: &str = "unmatched";

type HistogramFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
    ])
}

/// Metrics recorded as requests are served.
#[derive(Debug)]
pub struct Metrics {
    latency: HistogramFamily,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
        }
    }
}

/// Where the auth extractor leaves the caller's token id for the request log line.
#[derive(Debug, Clone, Default)]
pub struct TokenSlot(Arc<OnceLock<String>>);

impl TokenSlot {
    /// Records the token id (the public part; never the secret).
    pub fn set(&self, id: &str) {
        let _ = self.0.set(id.to_string());
    }
}

/// Middleware: times the request, records it by route template and status, and logs one
/// line (method, route, status, milliseconds, the client's address — behind a trusted
/// proxy, the client it forwarded for, see [`crate::proxy`] — and token id; never headers
/// or the query).
pub async fn track(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_label(req.method());
    let route = route_label(&req);
    let client = req
        .extensions()
        .get::<crate::proxy::ClientInfo>()
        .and_then(|c| c.addr)
        .map_or_else(|| "-".to_string(), |a| a.to_string());
    let slot = TokenSlot::default();
    req.extensions_mut().insert(slot.clone());
    let res = next.run(req).await;
    let elapsed = start.elapsed();
    let status = res.status().as_u16();
    state
        .metrics
        .latency
        .get_or_create(&RequestLabels {
            route: route.clone(),
            method,
            status,
        })
        .observe(elapsed.as_secs_f64());
    let ms = elapsed.as_secs_f64() * 1000.0;
    let token = slot.0.get().map_or("-", String::as_str);
    if res.status().is_server_error() {
        tracing::warn!(%method, %route, status, ms, %client, token, "request");
    } else {
        tracing::info!(%method, %route, status, ms, %client, token, "request");
    }
    res
}

fn gauge_family<L>() -> Family<L, Gauge>
where
    L: Clone + std::hash::Hash + Eq + EncodeLabelSet + std::fmt::Debug + Send + Sync + 'static,
{
    Family::default()
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RangeLabels {
    project: String,
    block: String,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FindingLabels {
    rule: String,
    severity: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HostLabels {
    host: String,
}

fn set_of(text: &str) -> PortSet {
    text.parse::<PortSet>().unwrap_or_default()
}

/// `GET /metrics`.
pub async fn metrics(
    State(state): State<AppState>,
    Auth(_): Auth<READ>,
) -> Result<Response, ApiError> {
    let store = &state.store;
    let now = state.now();
    let reads = &state.reads;
    let (projects, bindings, reservations, findings, observations) = (
        reads.projects(&**store).await?,
        reads.bindings(&**store).await?,
        reads.reservations(&**store).await?,
        store.findings().await?,
        store.observations().await?,
    );
    let (projects, bindings, reservations) =
        (&projects.items, &bindings.items, &reservations.items);
    let mut registry = Registry::default();

    // ranges: allocated / reserved / free
    let used = PortSet::from_ranges(
        bindings
            .iter()
            .filter_map(|b| PortRange::new(b.lo, b.hi).ok()),
    );
    let reserved = PortSet::from_ranges(
        reservations
            .iter()
            .flat_map(|r| set_of(&r.ports).ranges().to_vec()),
    );
    let ranges = gauge_family::<RangeLabels>();
    let put = |project: &str, block: &str, pool: &PortSet| {
        let allocated = pool.intersection(&used);
        let held = pool.intersection(&reserved).difference(&allocated);
        let free = pool.difference(&used).difference(&reserved);
        for (state, set) in [
            ("allocated", &allocated),
            ("reserved", &held),
            ("free", &free),
        ] {
            ranges
                .get_or_create(&RangeLabels {
                    project: project.to_string(),
                    block: block.to_string(),
                    state,
                })
                .set(i64::from(set.len()));
        }
    };
    for p in projects {
        if let Some(r) = &p.range {
            put(&p.name, "", &set_of(r));
        }
        for b in &p.blocks {
            put(&p.name, &b.name, &set_of(&b.ports));
        }
    }
    registry.register(
        "portolan_range_ports",
        "Ports of a project's range or block, by state (allocated, reserved, free)",
        ranges,
    );

    // findings by rule and severity; drift findings by host
    let by_rule = gauge_family::<FindingLabels>();
    let drift = gauge_family::<HostLabels>();
    let mut drift_counts: BTreeMap<String, i64> = BTreeMap::new();
    for f in &findings {
        by_rule
            .get_or_create(&FindingLabels {
                rule: f.rule.clone(),
                severity: f.severity.clone(),
            })
            .inc();
        if let Some(h) = f.source.strip_prefix("drift:") {
            *drift_counts.entry(h.to_string()).or_default() += 1;
        }
    }
    registry.register(
        "portolan_findings",
        "Stored findings (lint and drift) by rule and severity",
        by_rule,
    );

    // declared vs observed per host, agent freshness
    let declared = gauge_family::<HostLabels>();
    let mut hosts: BTreeSet<String> = reads
        .hosts(&**store)
        .await?
        .items
        .iter()
        .map(|h| h.name.clone())
        .collect();
    let mut declared_counts: BTreeMap<&str, i64> = BTreeMap::new();
    for b in bindings {
        *declared_counts.entry(b.host.as_str()).or_default() += 1;
    }
    hosts.extend(observations.iter().map(|o| o.host.clone()));
    for h in &hosts {
        let label = HostLabels { host: h.clone() };
        declared
            .get_or_create(&label)
            .set(declared_counts.get(h.as_str()).copied().unwrap_or(0));
        drift
            .get_or_create(&label)
            .set(drift_counts.get(h).copied().unwrap_or(0));
    }
    let observed = gauge_family::<HostLabels>();
    let age = gauge_family::<HostLabels>();
    let stale = gauge_family::<HostLabels>();
    for o in &observations {
        let label = HostLabels {
            host: o.host.clone(),
        };
        let n = o.listeners.as_array().map_or(0, Vec::len);
        observed
            .get_or_create(&label)
            .set(i64::try_from(n).unwrap_or(i64::MAX));
        let a = now.saturating_sub(o.at).max(0);
        age.get_or_create(&label).set(a);
        stale.get_or_create(&label).set(i64::from(a > STALE_AFTER));
    }
    registry.register(
        "portolan_host_declared_bindings",
        "Binding instances the registry declares on a host",
        declared,
    );
    registry.register(
        "portolan_host_observed_listeners",
        "Listeners in the host's last agent report",
        observed,
    );
    registry.register(
        "portolan_host_drift_findings",
        "Drift findings of the host's last agent report",
        drift,
    );
    registry.register(
        "portolan_agent_report_age_seconds",
        "Seconds since the host's agent last reported",
        age,
    );
    registry.register(
        "portolan_agent_stale",
        "1 when the host's agent has not reported for more than 300 seconds",
        stale,
    );
    registry.register(
        "portolan_http_request_duration_seconds",
        "API request latency by route template, method and status",
        state.metrics.latency.clone(),
    );
    let mut text = String::new();
    encode(&mut text, &registry).map_err(|e| ApiError::internal("encoding metrics", &e))?;
    let mut res = text.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    Ok(res)
}
