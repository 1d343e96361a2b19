//! `GET /api/v1/services`, `GET /api/v1/services/{name}`: declared and allocated services.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Auth, READ};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// A service.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Service {
    /// Name.
    pub name: String,
    /// Project.
    pub project: Option<String>,
    /// Block.
    pub block: Option<String>,
    /// `active`, `reserved`, `deprecated`, `planned`.
    pub status: String,
    /// Lease end (seconds since the Unix epoch).
    pub lease_until: Option<i64>,
    /// Whether the registry allocated it (rather than a spec import declaring it).
    pub allocated: bool,
    /// The spec's `[services.NAME]` table as JSON.
    #[schema(value_type = Object)]
    pub doc: serde_json::Value,
}

impl From<portolan_store::ServiceInfo> for Service {
    fn from(s: portolan_store::ServiceInfo) -> Self {
        Service {
            name: s.name,
            project: s.project,
            block: s.block,
            status: s.status,
            lease_until: s.lease_until,
            allocated: s.allocated,
            doc: s.doc,
        }
    }
}

/// Every service, by name.
#[utoipa::path(get, path = "/api/v1/services", tag = "registry",
    responses((status = 200, description = "Services, by name", body = Vec<Service>)))]
pub async fn list(
    State(state): State<AppState>,
    _: Auth<READ>,
) -> Result<Json<Vec<Service>>, ApiError> {
    Ok(Json(
        state
            .store
            .services()
            .await?
            .into_iter()
            .map(Service::from)
            .collect(),
    ))
}

/// One service.
#[utoipa::path(get, path = "/api/v1/services/{name}", tag = "registry",
    params(("name" = String, Path, description = "Service name")),
    responses(
        (status = 200, description = "The service", body = Service),
        (status = 404, description = "No such service", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    _: Auth<READ>,
    Path(name): Path<String>,
) -> Result<Json<Service>, ApiError> {
    state
        .store
        .services()
        .await?
        .into_iter()
        .find(|s| s.name == name)
        .map(|s| Json(s.into()))
        .ok_or_else(|| ApiError::not_found("name", format!("service `{name}` not found")))
}
