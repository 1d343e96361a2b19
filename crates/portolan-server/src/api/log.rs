//! `GET /api/v1/log?after=ID&limit=N`: the change log, oldest first, paged by id.

use axum::Json;
use axum::extract::State;
use portolan_store::LogRecord;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Auth, READ};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::state::AppState;

/// Paging of `GET /log`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// Entries with an id above this (default 0: from the start).
    pub after: Option<i64>,
    /// At most this many (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Log entries, oldest first.
#[utoipa::path(get, path = "/api/v1/log", tag = "allocation", params(LogQuery),
    responses((status = 200, description = "Log entries", body = Vec<LogRecord>)))]
pub async fn list(
    State(state): State<AppState>,
    _: Auth<READ>,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<Json<Vec<LogRecord>>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit", "limit: between 1 and 1000"));
    }
    Ok(Json(state.store.log(q.after.unwrap_or(0), limit).await?))
}
