//! `GET /api/v1/bindings[?service=S&host=H]`: where services listen, one row per binding
//! and host.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use portolan_store::BindingInfo;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Auth, READ};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::state::AppState;

/// Filters of `GET /bindings`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BindingQuery {
    /// Only this service's bindings.
    pub service: Option<String>,
    /// Only bindings on this host.
    pub host: Option<String>,
}

/// Binding instances, by service, binding name and host.
#[utoipa::path(get, path = "/api/v1/bindings", tag = "registry", params(BindingQuery),
    responses((status = 200, description = "Bindings", body = Vec<BindingInfo>)))]
pub async fn list(
    State(state): State<AppState>,
    _: Auth<READ>,
    ApiQuery(q): ApiQuery<BindingQuery>,
) -> Result<Response, ApiError> {
    let all = state.reads.bindings(&*state.store).await?;
    let candidates = match &q.service {
        None if q.host.is_none() => return Ok(all.response()),
        None => &all.items[..],
        Some(s) => all.get(s),
    };
    let picked: Vec<&BindingInfo> = candidates
        .iter()
        .filter(|b| q.host.as_ref().is_none_or(|h| *h == b.host))
        .collect();
    Ok(Json(picked).into_response())
}
