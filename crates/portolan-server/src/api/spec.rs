//! `GET /api/v1/spec` (the registry as a `ports.toml`, deterministic) and `PUT
//! /api/v1/spec` (replace the registry's spec entities with a `ports.toml`, admin only; a
//! spec that does not load changes nothing). An import also re-runs the spec checks and
//! stores their findings under the source `lint`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{ADMIN, Auth, READ};
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiText;
use crate::state::AppState;

/// What an import stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportResponse {
    /// Networks.
    pub networks: usize,
    /// Hosts.
    pub hosts: usize,
    /// Projects.
    pub projects: usize,
    /// Services.
    pub services: usize,
    /// Binding instances.
    pub bindings: usize,
    /// Reservations.
    pub reservations: usize,
    /// Lint findings of the imported spec.
    pub findings: usize,
    /// Of those, how many are stored (see `GET /findings`): all, up to 10,000; past that
    /// the first 9,999 and one `findings-truncated` summary.
    pub findings_stored: usize,
}

/// The registry as `ports.toml`.
#[utoipa::path(get, path = "/api/v1/spec", tag = "spec",
    responses((status = 200, description = "The spec", body = String, content_type = "application/toml")))]
pub async fn export(State(state): State<AppState>, _: Auth<READ>) -> Result<Response, ApiError> {
    let mut res = state.reads.spec_text(&*state.store).await?.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/toml; charset=utf-8"),
    );
    Ok(res)
}

/// Replaces the registry's spec with a `ports.toml`.
#[utoipa::path(put, path = "/api/v1/spec", tag = "spec",
    request_body(content = String, content_type = "text/plain", description = "A ports.toml (sent as text/plain or application/toml)"),
    responses(
        (status = 200, description = "Imported", body = ImportResponse),
        (status = 422, description = "The spec does not load; nothing changed", body = ErrorBody)))]
pub async fn import(
    State(state): State<AppState>,
    _: Auth<ADMIN>,
    ApiText(text): ApiText,
) -> Result<Json<ImportResponse>, ApiError> {
    let model = portolan_model::load_str("ports.toml", &text)
        .map_err(|e| ApiError::invalid("spec", format!("invalid spec: {e}")))?;
    let report = portolan_lint::lint(&model)
        .map_err(|e| ApiError::invalid("spec", format!("invalid spec: {e}")))?;
    let found = report.findings.len();
    let findings = super::findings::to_stored_capped(&model, &report.findings);
    let s = state.store.import_spec(&text).await?;
    state
        .store
        .put_findings("lint", &findings, state.now())
        .await?;
    Ok(Json(ImportResponse {
        networks: s.networks,
        hosts: s.hosts,
        projects: s.projects,
        services: s.services,
        bindings: s.bindings,
        reservations: s.reservations,
        findings: found,
        findings_stored: findings.len(),
    }))
}
