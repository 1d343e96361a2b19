//! `GET /api/v1/hosts`, `GET /api/v1/hosts/{name}`: the machines of the registry.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use portolan_store::HostInfo;

use crate::auth::{Auth, READ};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Every host, by name.
#[utoipa::path(get, path = "/api/v1/hosts", tag = "registry",
    responses((status = 200, description = "Hosts, by name", body = Vec<HostInfo>)))]
pub async fn list(State(state): State<AppState>, _: Auth<READ>) -> Result<Response, ApiError> {
    Ok(state.reads.hosts(&*state.store).await?.response())
}

/// One host.
#[utoipa::path(get, path = "/api/v1/hosts/{name}", tag = "registry",
    params(("name" = String, Path, description = "Host name")),
    responses(
        (status = 200, description = "The host", body = HostInfo),
        (status = 404, description = "No such host", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    _: Auth<READ>,
    Path(name): Path<String>,
) -> Result<Json<HostInfo>, ApiError> {
    state
        .reads
        .hosts(&*state.store)
        .await?
        .get(&name)
        .first()
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found("name", format!("host `{name}` not found")))
}
