//! `GET /api/v1/log?after=ID&limit=N`: the change log, oldest first, paged by id.

use axum::extract::State;
use axum::response::Response;
use portolan_store::LogRecord;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Auth, READ};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::state::AppState;

/// Paging of `GET /log`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// Entries with an id above this (default 0: from the start).
    pub after: Option<i64>,
    /// Where the previous page ended (its `X-Next-Cursor`; the same as `after` with the
    /// last id of that page).
    pub cursor: Option<String>,
    /// At most this many (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Log entries, oldest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/log", tag = "allocation", params(LogQuery),
    responses((status = 200, description = "Log entries; a next page is announced by `X-Next-Cursor` and `Link: <…>; rel=\"next\"`",
        body = Vec<LogRecord>,
        headers(("X-Next-Cursor" = String, description = "Cursor of the next page, when there is one"),
                ("Link" = String, description = "`<URL>; rel=\"next\"` of the next page, when there is one")))))]
pub async fn list(
    State(state): State<AppState>,
    _: Auth<READ>,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<Response, ApiError> {
    let limit = super::page_limit(q.limit, 100, 1000)?;
    let after = match &q.cursor {
        Some(c) => c.parse::<i64>().map_err(|_| {
            ApiError::bad_request(
                "cursor",
                format!(
                    "cursor: `{}` is not a cursor this server gave out",
                    c.escape_default()
                ),
            )
        })?,
        None => q.after.unwrap_or(0),
    };
    let records = state.store.log(after, limit).await?;
    let next = records
        .last()
        .filter(|_| records.len() == limit as usize)
        .map(|r| r.id.to_string());
    Ok(super::paged(
        &records,
        next.as_deref(),
        "/api/v1/log",
        &[("limit", limit.to_string())],
    ))
}
