//! `GET /api/v1/leases` (leased services, soonest end first) and `POST /api/v1/gc` (remove
//! expired leases and reservations).

use axum::Json;
use axum::extract::State;
use portolan_store::{Lease, LogEntry};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Auth, READ, WRITE};
use crate::error::ApiError;
use crate::state::AppState;

/// What a gc removed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GcResponse {
    /// One log entry per removed service or reservation.
    pub removed: Vec<LogEntry>,
}

/// Services with a lease, soonest end first.
#[utoipa::path(get, path = "/api/v1/leases", tag = "allocation",
    responses((status = 200, description = "Leases", body = Vec<Lease>)))]
pub async fn list(
    State(state): State<AppState>,
    _: Auth<READ>,
) -> Result<Json<Vec<Lease>>, ApiError> {
    Ok(Json(state.store.leases(state.now()).await?))
}

/// Removes services whose lease ran out and reservations past their date.
#[utoipa::path(post, path = "/api/v1/gc", tag = "allocation",
    responses((status = 200, description = "What was removed", body = GcResponse)))]
pub async fn gc(
    State(state): State<AppState>,
    Auth(caller): Auth<WRITE>,
) -> Result<Json<GcResponse>, ApiError> {
    let removed = state.store.gc(&caller.who(), state.now()).await?;
    Ok(Json(GcResponse { removed }))
}
