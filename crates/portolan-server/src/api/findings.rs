//! `GET /api/v1/findings`: the stored lint findings (computed at spec import) and drift
//! findings (computed at each agent report), by source.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use portolan_store::{FindingRecord, StoredFinding};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{page_limit, paged};
use crate::auth::{Auth, READ};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::state::AppState;

/// Most findings one source (one spec import, one host's drift) stores; past it, the first
/// ones are kept and one `findings-truncated` finding says how many of which rule were not.
pub const MAX_STORED_FINDINGS: usize = 10_000;

/// Paging of `GET /findings`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FindingsQuery {
    /// At most this many (1 to 10000, default 1000).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
    /// Where the previous page ended (its `X-Next-Cursor`).
    pub cursor: Option<String>,
    /// Only findings of this severity (`error`, `warning`, `info`).
    pub severity: Option<String>,
}

/// Stored findings, by source then order found, a page at a time.
#[utoipa::path(get, path = "/api/v1/findings", tag = "agents", params(FindingsQuery),
    responses((status = 200, description = "Findings; a next page is announced by `X-Next-Cursor` and `Link: <…>; rel=\"next\"`",
        body = Vec<FindingRecord>,
        headers(("X-Next-Cursor" = String, description = "Cursor of the next page, when there is one"),
                ("Link" = String, description = "`<URL>; rel=\"next\"` of the next page, when there is one")))))]
pub async fn list(
    State(state): State<AppState>,
    _: Auth<READ>,
    ApiQuery(q): ApiQuery<FindingsQuery>,
) -> Result<Response, ApiError> {
    let limit = page_limit(q.limit, 1000, 10_000)?;
    let page = state
        .store
        .findings_page(q.severity.as_deref(), q.cursor.as_deref(), limit)
        .await?;
    let mut query = vec![("limit", limit.to_string())];
    if let Some(s) = q.severity {
        query.push(("severity", s));
    }
    Ok(paged(
        &page.items,
        page.next.as_deref(),
        "/api/v1/findings",
        &query,
    ))
}

/// Lint or drift findings as stored: all of them up to [`MAX_STORED_FINDINGS`]; past it,
/// the first `MAX_STORED_FINDINGS - 1` (in the order found) and one `findings-truncated`
/// warning counting, per rule, those left out (which are never converted).
pub(crate) fn to_stored_capped(
    model: &portolan_model::Model,
    findings: &[portolan_lint::Finding],
) -> Vec<StoredFinding> {
    if findings.len() <= MAX_STORED_FINDINGS {
        return to_stored(model, findings);
    }
    let (kept, dropped) = findings.split_at(MAX_STORED_FINDINGS - 1);
    let mut out = to_stored(model, kept);
    let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for f in dropped {
        *by_rule.entry(f.rule.id()).or_default() += 1;
    }
    let counts: Vec<String> = by_rule.iter().map(|(r, n)| format!("{n} {r}")).collect();
    let message = format!(
        "{} findings; the first {} are stored, {} more are not ({})",
        findings.len(),
        kept.len(),
        dropped.len(),
        counts.join(", ")
    );
    let doc = serde_json::json!({
        "rule": "findings-truncated",
        "severity": "warning",
        "message": message,
        "total": findings.len(),
        "not_stored": by_rule,
    });
    out.push(StoredFinding {
        rule: "findings-truncated".into(),
        severity: "warning".into(),
        message,
        doc,
    });
    out
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
