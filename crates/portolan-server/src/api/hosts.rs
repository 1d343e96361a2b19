//! `GET /api/v1/hosts`, `GET /api/v1/hosts/{name}`: the machines of the registry.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Auth, READ};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// A host.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Host {
    /// Name.
    pub name: String,
    /// Environment (`production`, `development`, …).
    pub environment: String,
    /// The spec's `[hosts.NAME]` table as JSON (addresses, networks, firewall, …).
    #[schema(value_type = Object)]
    pub doc: serde_json::Value,
}

impl From<portolan_store::HostInfo> for Host {
    fn from(h: portolan_store::HostInfo) -> Self {
        Host {
            name: h.name,
            environment: h.environment,
            doc: h.doc,
        }
    }
}

/// Every host, by name.
#[utoipa::path(get, path = "/api/v1/hosts", tag = "registry",
    responses((status = 200, description = "Hosts, by name", body = Vec<Host>)))]
pub async fn list(
    State(state): State<AppState>,
    _: Auth<READ>,
) -> Result<Json<Vec<Host>>, ApiError> {
    Ok(Json(
        state
            .store
            .hosts()
            .await?
            .into_iter()
            .map(Host::from)
            .collect(),
    ))
}

/// One host.
#[utoipa::path(get, path = "/api/v1/hosts/{name}", tag = "registry",
    params(("name" = String, Path, description = "Host name")),
    responses(
        (status = 200, description = "The host", body = Host),
        (status = 404, description = "No such host", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    _: Auth<READ>,
    Path(name): Path<String>,
) -> Result<Json<Host>, ApiError> {
    state
        .store
        .hosts()
        .await?
        .into_iter()
        .find(|h| h.name == name)
        .map(|h| Json(h.into()))
        .ok_or_else(|| ApiError::not_found("name", format!("host `{name}` not found")))
}
