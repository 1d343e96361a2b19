//! `GET /api/v1/findings`: the stored lint findings (computed at spec import) and drift
//! findings (computed at each agent report), by source.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Auth, READ};
use crate::error::ApiError;
use crate::state::AppState;

/// A finding with where it came from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Finding {
    /// `lint`, or `drift:HOST`.
    pub source: String,
    /// When stored (seconds since the Unix epoch).
    pub at: i64,
    /// Rule id (`duplicate-binding`, `undeclared-listener`, …).
    pub rule: String,
    /// `error`, `warning`, `info`.
    pub severity: String,
    /// Message.
    pub message: String,
    /// The whole finding (subjects, locations, help), as `portolan lint --format json`.
    #[schema(value_type = Object)]
    pub doc: serde_json::Value,
}

/// Every stored finding, by source.
#[utoipa::path(get, path = "/api/v1/findings", tag = "agents",
    responses((status = 200, description = "Findings", body = Vec<Finding>)))]
pub async fn list(
    State(state): State<AppState>,
    _: Auth<READ>,
) -> Result<Json<Vec<Finding>>, ApiError> {
    Ok(Json(
        state
            .store
            .findings()
            .await?
            .into_iter()
            .map(|f| Finding {
                source: f.source,
                at: f.at,
                rule: f.finding.rule,
                severity: f.finding.severity,
                message: f.finding.message,
                doc: f.finding.doc,
            })
            .collect(),
    ))
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
