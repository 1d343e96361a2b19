//! `GET /api/v1/services`, `GET /api/v1/services/{name}`: declared and allocated services.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use portolan_store::ServiceInfo;

use crate::auth::{Auth, READ};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Every service, by name.
#[utoipa::path(get, path = "/api/v1/services", tag = "registry",
    responses((status = 200, description = "Services, by name", body = Vec<ServiceInfo>)))]
pub async fn list(State(state): State<AppState>, _: Auth<READ>) -> Result<Response, ApiError> {
    Ok(state.reads.services(&*state.store).await?.response())
}

/// One service.
#[utoipa::path(get, path = "/api/v1/services/{name}", tag = "registry",
    params(("name" = String, Path, description = "Service name")),
    responses(
        (status = 200, description = "The service", body = ServiceInfo),
        (status = 404, description = "No such service", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    _: Auth<READ>,
    Path(name): Path<String>,
) -> Result<Json<ServiceInfo>, ApiError> {
    state
        .reads
        .services(&*state.store)
        .await?
        .get(&name)
        .first()
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found("name", format!("service `{name}` not found")))
}
