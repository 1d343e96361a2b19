//! The read-only pages: overview, project (heatmap), host (declared vs live, and the
//! listener timeline of `timeline.rs`), log (the findings page is `findings.rs`).

use std::collections::{BTreeSet, HashMap, HashSet};

use axum::extract::{Path, RawQuery, State};
use axum::response::Html;
use minijinja::{Value, context};
use serde::Serialize;

use portolan_model::PortSet;
use portolan_store::{BindingInfo, ObservedPorts, ProjectInfo, ServiceInfo};

use super::allocate::AllocForm;
use super::drift::{
    DriftCounts, Freshness, STALE_AFTER, drift_counts, freshness, freshness_at, host_drift,
};
use super::heatmap::{Heatmap, Registry, heatmap};
use super::login::Viewer;
use super::render::{WebError, page};
use super::timeline::{TimelineQuery, timeline};
use crate::AppState;

/// Log entries per page.
pub const LOG_PAGE: u32 = 50;

/// Findings per page of `/findings`.
pub const FINDINGS_PAGE: u32 = 200;

/// The value of `key` in a raw query string (the first one; malformed strings have none).
pub fn query_param(raw: Option<&str>, key: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw?).ok()?;
    pairs.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

#[derive(Serialize)]
struct ProjectRow {
    name: String,
    range: Option<String>,
    blocks: usize,
    size: u32,
    used: usize,
    percent: u32,
}

#[derive(Serialize)]
struct HostRow {
    name: String,
    environment: String,
    known: bool,
    bindings: usize,
    agent: Freshness,
    drift: DriftCounts,
}

fn project_row(p: &ProjectInfo, bindings: &[BindingInfo]) -> ProjectRow {
    let range: Option<PortSet> = p.range.as_deref().and_then(|r| r.parse().ok());
    let (size, used) = match &range {
        Some(set) => {
            let used: BTreeSet<u16> = bindings
                .iter()
                .flat_map(|b| b.lo..=b.hi)
                .filter(|&port| set.contains(port))
                .collect();
            (set.len(), used.len())
        }
        None => (0, 0),
    };
    let percent = if size == 0 {
        0
    } else {
        u32::try_from(used * 100 / size as usize).unwrap_or(100)
    };
    ProjectRow {
        name: p.name.clone(),
        range: p.range.clone(),
        blocks: p.blocks.len(),
        size,
        used,
        percent,
    }
}

/// `GET /`: projects, hosts, counts, findings, agents' freshness.
pub async fn overview(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Html<String>, WebError> {
    let store = &state.store;
    let now = state.now();
    let reads = &state.reads;
    let (projects, hosts, services, bindings, reservations) = (
        reads.projects(&**store).await?,
        reads.hosts(&**store).await?,
        reads.services(&**store).await?,
        reads.bindings(&**store).await?,
        reads.reservations(&**store).await?,
    );
    let (projects, hosts, services, bindings, reservations) = (
        &projects.items,
        &hosts.items,
        &services.items,
        &bindings.items,
        &reservations.items,
    );
    let leases = store.leases(now).await?;
    let observed = store.observed_ports().await?;
    let finding_counts = store.finding_counts().await?;

    let project_rows: Vec<ProjectRow> = projects.iter().map(|p| project_row(p, bindings)).collect();
    // one pass over the bindings and reports, not one per host, and reports reduced to
    // their ports: at 5,000 hosts of 40 listeners and 170,000 bindings the page took 15 s
    // (issue 18's fleet benchmark)
    let mut bindings_of: HashMap<&str, Vec<&BindingInfo>> = HashMap::new();
    for b in bindings {
        bindings_of.entry(b.host.as_str()).or_default().push(b);
    }
    let report_of: HashMap<&str, &ObservedPorts> =
        observed.iter().map(|o| (o.host.as_str(), o)).collect();
    let declared: HashSet<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
    let mine = |host: &str| bindings_of.get(host).map_or(&[][..], Vec::as_slice);
    let row = |name: &str, o: Option<&ObservedPorts>| {
        (
            freshness_at(o.map(|o| o.at), now),
            drift_counts(mine(name), o.map(|o| o.ports.as_slice())),
        )
    };
    let mut host_rows: Vec<HostRow> = hosts
        .iter()
        .map(|h| {
            let (agent, drift) = row(&h.name, report_of.get(h.name.as_str()).copied());
            HostRow {
                name: h.name.clone(),
                environment: h.environment.clone(),
                known: true,
                bindings: mine(&h.name).len(),
                agent,
                drift,
            }
        })
        .collect();
    for o in &observed {
        if !declared.contains(o.host.as_str()) {
            let (agent, drift) = row(&o.host, Some(o));
            host_rows.push(HostRow {
                name: o.host.clone(),
                environment: "—".into(),
                known: false,
                bindings: 0,
                agent,
                drift,
            });
        }
    }
    let severity = |s: &str| {
        finding_counts
            .iter()
            .filter(|(severity, _)| severity == s)
            .map(|(_, n)| *n)
            .sum::<u64>()
    };
    let ctx = context! {
        ..viewer.context(),
        ..context! {
            projects => project_rows,
            hosts => host_rows,
            backend => store.backend().as_str(),
            stale_after => STALE_AFTER,
            counts => context! {
                projects => projects.len(),
                hosts => hosts.len(),
                services => services.len(),
                bindings => bindings.len(),
                reservations => reservations.len(),
                leases => leases.iter().filter(|l| !l.expired).count(),
                findings => finding_counts.iter().map(|(_, n)| n).sum::<u64>(),
                errors => severity("error"),
                warnings => severity("warning"),
            },
        }
    };
    page("overview.html", &ctx)
}

#[derive(Serialize)]
struct ServiceRow {
    name: String,
    status: String,
    allocated: bool,
    lease_until: Option<i64>,
    ports: String,
}

fn service_rows(
    project: &str,
    services: &[ServiceInfo],
    bindings: &[BindingInfo],
) -> Vec<ServiceRow> {
    services
        .iter()
        .filter(|s| s.project.as_deref() == Some(project))
        .map(|s| {
            let ports: Vec<String> = bindings
                .iter()
                .filter(|b| b.service == s.name)
                .map(|b| {
                    let ports = if b.lo == b.hi {
                        b.lo.to_string()
                    } else {
                        format!("{}-{}", b.lo, b.hi)
                    };
                    format!("{ports}/{} on {}", b.transport, b.host)
                })
                .collect();
            ServiceRow {
                name: s.name.clone(),
                status: s.status.clone(),
                allocated: s.allocated,
                lease_until: s.lease_until,
                ports: ports.join(", "),
            }
        })
        .collect()
}

/// What the project page shows, also used to re-render it after an allocation.
pub struct ProjectView {
    /// The project.
    pub project: ProjectInfo,
    /// Its heatmap (none without a range).
    pub heatmap: Option<Heatmap>,
    /// Page context (without the viewer's part).
    pub context: Value,
}

/// Loads the project page's data; `NotFound` for an unknown project.
pub async fn project_view(
    state: &AppState,
    name: &str,
    offset: u32,
) -> Result<ProjectView, WebError> {
    let store = &state.store;
    let reads = &state.reads;
    let Some(project) = reads.projects(&**store).await?.get(name).first().cloned() else {
        return Err(WebError::NotFound(format!("There is no project `{name}`.")));
    };
    let (services, bindings, reservations, hosts) = (
        reads.services(&**store).await?,
        reads.bindings(&**store).await?,
        reads.reservations(&**store).await?,
        reads.hosts(&**store).await?,
    );
    let (services, bindings, reservations, hosts) = (
        &services.items,
        &bindings.items,
        &reservations.items,
        &hosts.items,
    );
    let observations = store.observations().await?;
    let reg = Registry {
        services,
        bindings,
        reservations,
        observations: &observations,
    };
    let heatmap = heatmap(&project, reg, offset, state.now());
    let context = context! {
        project => &project,
        fixed_project => &project,
        heatmap => &heatmap,
        services => service_rows(&project.name, services, bindings),
        host_names => hosts.iter().map(|h| h.name.clone()).collect::<Vec<_>>(),
    };
    Ok(ProjectView {
        project,
        heatmap,
        context,
    })
}

/// `GET /projects/{name}?offset=N&port=P`: the range heatmap, blocks, services, allocation
/// form (prefilled with port `P` and its block).
pub async fn project_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Html<String>, WebError> {
    let offset = query_param(query.as_deref(), "offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    // a free heatmap cell links here with its port: the allocation form asks for it, in
    // the block holding it
    let wish = match query_param(query.as_deref(), "port").filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => Some(
            p.trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| WebError::Invalid(format!("port: `{p}` is not a port (1-65535)")))?,
        ),
    };
    let view = project_view(&state, &name, offset).await?;
    let form = wish.map_or_else(AllocForm::default, |port| AllocForm {
        port: port.to_string(),
        block: view
            .project
            .blocks
            .iter()
            .find(|b| {
                b.ports
                    .parse::<PortSet>()
                    .is_ok_and(|set| set.contains(port))
            })
            .map(|b| b.name.clone())
            .unwrap_or_default(),
        ..AllocForm::default()
    });
    let ctx = context! { ..viewer.context(), ..view.context, ..context! { form => form } };
    page("project.html", &ctx)
}

/// `GET /hosts/{name}?port=&before=&limit=`: declared bindings vs the last report's
/// listeners, and a page of the listener timeline ([`super::timeline`]).
pub async fn host_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Html<String>, WebError> {
    let wanted = TimelineQuery::parse(query.as_deref())?;
    let store = &state.store;
    let host = state
        .reads
        .hosts(&**store)
        .await?
        .get(&name)
        .first()
        .cloned();
    let obs = store.observation(&name).await?;
    if host.is_none() && obs.is_none() {
        return Err(WebError::NotFound(format!("There is no host `{name}`.")));
    }
    let bindings = state.reads.bindings(&**store).await?;
    let bindings = &bindings.items;
    let addresses: Vec<String> = host
        .as_ref()
        .and_then(|h| h.doc.get("addresses"))
        .and_then(|a| a.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let timeline = timeline(&state, &name, wanted).await?;
    let ctx = context! {
        ..viewer.context(),
        ..context! {
            timeline => timeline,
            name => &name,
            host => &host,
            addresses => addresses,
            agent => freshness(obs.as_ref(), state.now()),
            drift => host_drift(&name, bindings, obs.as_ref()),
        }
    };
    page("host.html", &ctx)
}

/// `GET /log?after=ID`: the change log, oldest first, [`LOG_PAGE`] entries a page.
pub async fn log_page(
    State(state): State<AppState>,
    viewer: Viewer,
    RawQuery(query): RawQuery,
) -> Result<Html<String>, WebError> {
    let after: i64 = query_param(query.as_deref(), "after")
        .and_then(|a| a.parse().ok())
        .filter(|a| *a >= 0)
        .unwrap_or(0);
    let records = state.store.log(after, LOG_PAGE).await?;
    let next = (records.len() == LOG_PAGE as usize)
        .then(|| records.last().map(|r| r.id))
        .flatten();
    let ctx = context! {
        ..viewer.context(),
        ..context! { records => records, after => after, next => next }
    };
    page("log.html", &ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params() {
        assert_eq!(
            query_param(Some("a=1&offset=50"), "offset").as_deref(),
            Some("50")
        );
        assert_eq!(
            query_param(Some("severity=a%20b"), "severity").as_deref(),
            Some("a b")
        );
        assert_eq!(query_param(Some("a=1"), "offset"), None);
        assert_eq!(query_param(None, "offset"), None);
    }
}
