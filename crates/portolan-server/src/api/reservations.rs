//! `POST /api/v1/reserve` (hold ports for a project) and `GET /api/v1/reservations`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use portolan_store::{Reservation, ReserveRequest};
use serde::Deserialize;
use utoipa::ToSchema;

use super::allocate::check_name;
use crate::auth::{Auth, READ, WRITE};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, check_text};
use crate::state::AppState;

/// What to reserve: `portolan reserve PORTS --project P --why TEXT`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReserveBody {
    /// Ports (`5050`, `5050-5059`, `5050-5052, 5060`).
    pub ports: String,
    /// Project holding them.
    pub project: String,
    /// Why (required).
    pub why: String,
    /// Only on this host.
    #[serde(default)]
    pub host: Option<String>,
    /// Until (`YYYY-MM-DD`).
    #[serde(default)]
    pub until: Option<String>,
}

/// Holds ports for a project without a service.
#[utoipa::path(post, path = "/api/v1/reserve", tag = "allocation", request_body = ReserveBody,
    responses(
        (status = 201, description = "Reserved", body = Reservation),
        (status = 404, description = "Unknown project or host", body = ErrorBody),
        (status = 409, description = "A service binds or a reservation holds one of the ports", body = ErrorBody)))]
pub async fn reserve(
    State(state): State<AppState>,
    Auth(caller): Auth<WRITE>,
    ApiJson(body): ApiJson<ReserveBody>,
) -> Result<(StatusCode, Json<Reservation>), ApiError> {
    check_text("ports", &body.ports, 2000)?;
    check_name("project", &body.project)?;
    check_text("why", &body.why, 2000)?;
    if let Some(h) = &body.host {
        check_name("host", h)?;
    }
    if let Some(u) = &body.until {
        check_text("until", u, 20)?;
    }
    let r = state
        .store
        .reserve(&ReserveRequest {
            ports: body.ports,
            project: body.project,
            why: body.why,
            host: body.host,
            until: body.until,
            who: caller.who(),
            now: state.now(),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// Reservations, in the order they were made.
#[utoipa::path(get, path = "/api/v1/reservations", tag = "allocation",
    responses((status = 200, description = "Reservations", body = Vec<Reservation>)))]
pub async fn list(State(state): State<AppState>, _: Auth<READ>) -> Result<Response, ApiError> {
    Ok(state.reads.reservations(&*state.store).await?.response())
}
