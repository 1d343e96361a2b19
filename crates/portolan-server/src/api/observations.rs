//! `POST /api/v1/observations` (an agent reports a host's listeners; the server computes
//! the host's drift against the registry with `portolan_observe::drift`, the code behind
//! `portolan check`, and stores it as the findings of source `drift:HOST`),
//! `GET /api/v1/observations` and `GET /api/v1/observations/{host}`.

use std::net::IpAddr;

use axum::Json;
use axum::extract::{Path, State};
use portolan_observe::{Listener, Owner, Transport};
use portolan_store::{FindingRecord, Observation};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::allocate::{TransportName, check_name};
use crate::auth::{Auth, READ, WRITE};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, check_text};
use crate::state::AppState;

/// Most listeners one report may hold.
const MAX_LISTENERS: usize = 20_000;

/// A process holding a socket.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ListenerOwner {
    /// Process id.
    pub pid: u32,
    /// Short name.
    pub name: String,
    /// Command line.
    #[serde(default)]
    pub cmdline: String,
    /// User.
    #[serde(default)]
    pub user: String,
    /// Container, if any.
    #[serde(default)]
    pub container: Option<String>,
}

/// A listening socket, as `portolan ls --json` prints it (extra fields are ignored).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ListenerReport {
    /// `tcp` / `udp`.
    pub transport: TransportName,
    /// Local address (`0.0.0.0`, `127.0.0.1`, `::`).
    #[schema(value_type = String, example = "0.0.0.0")]
    pub addr: IpAddr,
    /// Local port.
    pub port: u16,
    /// Socket inode.
    #[serde(default)]
    pub inode: u64,
    /// Owning uid.
    #[serde(default)]
    pub uid: u32,
    /// Owning processes, when seen.
    #[serde(default)]
    pub owners: Vec<ListenerOwner>,
}

impl From<&ListenerReport> for Listener {
    fn from(l: &ListenerReport) -> Self {
        Listener {
            transport: match l.transport {
                TransportName::Tcp => Transport::Tcp,
                TransportName::Udp => Transport::Udp,
            },
            addr: l.addr,
            port: l.port,
            inode: l.inode,
            uid: l.uid,
            owners: l
                .owners
                .iter()
                .map(|o| Owner {
                    pid: o.pid,
                    name: o.name.clone(),
                    cmdline: o.cmdline.clone(),
                    user: o.user.clone(),
                    container: o.container.clone(),
                })
                .collect(),
        }
    }
}

/// An agent's report.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservationBody {
    /// Host name, as the registry knows it.
    pub host: String,
    /// Every listener seen on it.
    pub listeners: Vec<ListenerReport>,
}

/// What the server made of a report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObservationReceipt {
    /// Host.
    pub host: String,
    /// When stored (seconds since the Unix epoch).
    pub at: i64,
    /// Listeners stored.
    pub listeners: usize,
    /// Drift findings of the host now (`undeclared-listener`, `declared-not-listening`, …).
    pub drift: Vec<FindingRecord>,
}

/// Stores a host's listeners and recomputes its drift.
#[utoipa::path(post, path = "/api/v1/observations", tag = "agents", request_body = ObservationBody,
    responses(
        (status = 200, description = "Stored; the host's drift", body = ObservationReceipt),
        (status = 404, description = "The host is not in the registry", body = ErrorBody)))]
pub async fn push(
    State(state): State<AppState>,
    _: Auth<WRITE>,
    ApiJson(body): ApiJson<ObservationBody>,
) -> Result<Json<ObservationReceipt>, ApiError> {
    check_name("host", &body.host)?;
    if body.listeners.len() > MAX_LISTENERS {
        return Err(ApiError::invalid(
            "listeners",
            format!("listeners: at most {MAX_LISTENERS}"),
        ));
    }
    for (i, l) in body.listeners.iter().enumerate() {
        for o in &l.owners {
            for (f, v) in [
                ("name", &o.name),
                ("cmdline", &o.cmdline),
                ("user", &o.user),
            ] {
                check_text(&format!("listeners[{i}].owners.{f}"), v, 4096)?;
            }
            if let Some(c) = &o.container {
                check_text(&format!("listeners[{i}].owners.container"), c, 4096)?;
            }
        }
    }
    let text = state.store.export_spec().await?;
    let model = portolan_model::load_str("ports.toml", &text)
        .map_err(|e| ApiError::internal("loading the registry's spec", &e))?;
    let Some(host) = model.host_named(&body.host) else {
        return Err(ApiError::not_found(
            "host",
            format!(
                "host `{}` is not in the registry (declare it in the spec and `portolan push`)",
                body.host
            ),
        ));
    };
    let listeners: Vec<Listener> = body.listeners.iter().map(Listener::from).collect();
    let now = state.now();
    let drift = super::findings::to_stored(
        &model,
        &portolan_observe::drift::drift(&model, host, &listeners),
    );
    let listeners_json = serde_json::to_value(&body.listeners)
        .map_err(|e| ApiError::internal("encoding listeners", &e))?;
    state
        .store
        .put_observation(&Observation {
            host: body.host.clone(),
            at: now,
            listeners: listeners_json,
        })
        .await?;
    let source = format!("drift:{}", body.host);
    state.store.put_findings(&source, &drift, now).await?;
    Ok(Json(ObservationReceipt {
        host: body.host,
        at: now,
        listeners: listeners.len(),
        drift: drift
            .into_iter()
            .map(|f| FindingRecord::new(&source, now, f))
            .collect(),
    }))
}

/// Every host's last report, by host.
#[utoipa::path(get, path = "/api/v1/observations", tag = "agents",
    responses((status = 200, description = "Reports", body = Vec<Observation>)))]
pub async fn list(
    State(state): State<AppState>,
    _: Auth<READ>,
) -> Result<Json<Vec<Observation>>, ApiError> {
    Ok(Json(state.store.observations().await?))
}

/// One host's last report.
#[utoipa::path(get, path = "/api/v1/observations/{host}", tag = "agents",
    params(("host" = String, Path, description = "Host name")),
    responses(
        (status = 200, description = "The report", body = Observation),
        (status = 404, description = "No report from that host", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    _: Auth<READ>,
    Path(host): Path<String>,
) -> Result<Json<Observation>, ApiError> {
    check_text("host", &host, 200)?;
    state
        .store
        .observation(&host)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("host", format!("no report from host `{host}`")))
}
