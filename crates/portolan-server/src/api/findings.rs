//! `GET /api/v1/findings`: the stored lint findings (computed at spec import) and drift
//! findings (computed at each agent report), by source.

use axum::Json;
use axum::extract::State;
use portolan_store::FindingRecord;

use crate::auth::{Auth, READ};
use crate::error::ApiError;
use crate::state::AppState;

/// Every stored finding, by source.
#[utoipa::path(get, path = "/api/v1/findings", tag = "agents",
    responses((status = 200, description = "Findings", body = Vec<FindingRecord>)))]
pub async fn list(
    State(state): State<AppState>,
    _: Auth<READ>,
) -> Result<Json<Vec<FindingRecord>>, ApiError> {
    Ok(Json(state.store.findings().await?))
}

/// Lint or drift findings in the store's shape (the JSON `portolan lint` prints).
pub(crate) fn to_stored(
    model: &portolan_model::Model,
    findings: &[portolan_lint::Finding],
) -> Vec<portolan_store::StoredFinding> {
    findings
        .iter()
        .map(|f| {
            let doc = f.to_json(&model.sources);
            let text = |k: &str| {
                doc.get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            portolan_store::StoredFinding {
                rule: text("rule"),
                severity: text("severity"),
                message: text("message"),
                doc: doc.clone(),
            }
        })
        .collect()
}
