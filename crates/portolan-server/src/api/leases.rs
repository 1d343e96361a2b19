//! `GET /api/v1/leases` (leased services, soonest end first) and `POST /api/v1/gc` (remove
//! expired leases and reservations).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::LogEntry;
use crate::auth::{Auth, READ, WRITE};
use crate::error::ApiError;
use crate::state::AppState;

/// A leased service.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Lease {
    /// Service.
    pub service: String,
    /// Project.
    pub project: Option<String>,
    /// Ports held (`5021`, `5021-5023`), one entry per binding instance.
    pub ports: Vec<String>,
    /// Lease end (seconds since the Unix epoch).
    pub until: i64,
    /// Whether it has run out.
    pub expired: bool,
}

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
    Ok(Json(
        state
            .store
            .leases(state.now())
            .await?
            .into_iter()
            .map(|l| Lease {
                service: l.service,
                project: l.project,
                ports: l.ports,
                until: l.until,
                expired: l.expired,
            })
            .collect(),
    ))
}

/// Removes services whose lease ran out and reservations past their date.
#[utoipa::path(post, path = "/api/v1/gc", tag = "allocation",
    responses((status = 200, description = "What was removed", body = GcResponse)))]
pub async fn gc(
    State(state): State<AppState>,
    Auth(caller): Auth<WRITE>,
) -> Result<Json<GcResponse>, ApiError> {
    let removed = state.store.gc(&caller.who(), state.now()).await?;
    Ok(Json(GcResponse {
        removed: removed.into_iter().map(LogEntry::from).collect(),
    }))
}
