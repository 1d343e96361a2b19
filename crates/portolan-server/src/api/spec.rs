//! `GET /api/v1/spec` (the registry as a `ports.toml`, deterministic, with its generation
//! as `ETag: "N"`) and `PUT /api/v1/spec` (replace the registry's spec entities with a
//! `ports.toml`, admin only), guarded by the generation: `If-Match: "N"` (the generation
//! the pusher last pulled) replaces only if the registry is still there — else 409 with
//! what it holds that the pushed spec lacks or says differently, and nothing changes;
//! `If-Match: *` replaces whatever is there and logs every item dropped; no `If-Match` is
//! 428. A spec that does not load changes nothing. Every push is a `push` log entry naming
//! the token. An import also re-runs the spec checks and stores their findings under the
//! source `lint`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portolan_store::{LostItem, PushRequest, StoreError};
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
    /// The registry's generation after the push (also the `ETag`).
    pub generation: i64,
    /// What the registry held that the pushed spec lacks or says differently: with
    /// `If-Match: *`, dropped and logged item by item; otherwise what the pusher removed.
    pub dropped: Vec<LostItem>,
}

/// The answer to a push based on an older generation (nothing changed).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaleBody {
    /// What happened, for humans.
    pub error: String,
    /// `if-match`.
    pub field: String,
    /// The registry's generation (also the `ETag`).
    pub generation: i64,
    /// What the registry has that the pushed spec lacks or says differently: what the push
    /// would have dropped.
    pub would_drop: Vec<LostItem>,
}

fn etag(generation: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{generation}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// `If-Match`: `*` (replace whatever is there) is `None`; `"N"` (weak or not) is `Some(N)`.
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "a push needs If-Match: the generation it last pulled (the ETag of GET /api/v1/spec, e.g. \"42\"), or * to replace whatever the registry holds",
            Some("if-match"),
        ));
    };
    let bad = || {
        ApiError::bad_request(
            "if-match",
            "If-Match: a generation as the ETag of GET /api/v1/spec gives it (\"42\"), or *",
        )
    };
    let text = v.to_str().map_err(|_| bad())?.trim();
    if text == "*" {
        return Ok(None);
    }
    let text = text.strip_prefix("W/").unwrap_or(text);
    text.trim_matches('"')
        .parse::<i64>()
        .ok()
        .filter(|g| *g >= 0)
        .map(Some)
        .ok_or_else(bad)
}

/// The registry as `ports.toml`, with its generation as `ETag`.
#[utoipa::path(get, path = "/api/v1/spec", tag = "spec",
    responses((status = 200, description = "The spec; `ETag: \"N\"` is the registry's generation", body = String, content_type = "application/toml")))]
pub async fn export(State(state): State<AppState>, _: Auth<READ>) -> Result<Response, ApiError> {
    let v = state.store.export_spec_versioned().await?;
    let mut res = v.text.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/toml; charset=utf-8"),
    );
    res.headers_mut().insert(header::ETAG, etag(v.generation));
    Ok(res)
}

/// Replaces the registry's spec with a `ports.toml`, if it is still at the generation
/// `If-Match` names (`*`: whatever it is at).
#[utoipa::path(put, path = "/api/v1/spec", tag = "spec",
    params(("If-Match" = String, Header, description = "The generation the spec was pulled at (`\"42\"`), or `*` to replace whatever the registry holds (each dropped item is logged)")),
    request_body(content = String, content_type = "text/plain", description = "A ports.toml (sent as text/plain or application/toml)"),
    responses(
        (status = 200, description = "Imported", body = ImportResponse),
        (status = 409, description = "The registry changed since that generation; nothing changed", body = StaleBody),
        (status = 422, description = "The spec does not load; nothing changed", body = ErrorBody),
        (status = 428, description = "No If-Match", body = ErrorBody)))]
pub async fn import(
    State(state): State<AppState>,
    Auth(caller): Auth<ADMIN>,
    headers: HeaderMap,
    ApiText(text): ApiText,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    let model = portolan_model::load_str("ports.toml", &text)
        .map_err(|e| ApiError::invalid("spec", format!("invalid spec: {e}")))?;
    let report = portolan_lint::lint(&model)
        .map_err(|e| ApiError::invalid("spec", format!("invalid spec: {e}")))?;
    let found = report.findings.len();
    let findings = super::findings::to_stored_capped(&model, &report.findings);
    let pushed = state
        .store
        .push_spec(&PushRequest {
            toml: text,
            expected,
            who: caller.who(),
            token: caller.id.clone(),
            now: state.now(),
        })
        .await;
    let p = match pushed {
        Ok(p) => p,
        Err(StoreError::Stale {
            expected,
            current,
            lost,
        }) => {
            let body = StaleBody {
                error: format!(
                    "the registry changed since generation {expected} (it is at {current}): pull and merge (`portolan push --merge`), or replace it with If-Match: * (`portolan push --force`)"
                ),
                field: "if-match".into(),
                generation: current,
                would_drop: lost,
            };
            let mut res = (StatusCode::CONFLICT, Json(body)).into_response();
            res.headers_mut().insert(header::ETAG, etag(current));
            return Ok(res);
        }
        Err(e) => return Err(e.into()),
    };
    state
        .store
        .put_findings("lint", &findings, state.now())
        .await?;
    let s = p.summary;
    let mut res = Json(ImportResponse {
        networks: s.networks,
        hosts: s.hosts,
        projects: s.projects,
        services: s.services,
        bindings: s.bindings,
        reservations: s.reservations,
        findings: found,
        findings_stored: findings.len(),
        generation: p.generation,
        dropped: p.dropped,
    })
    .into_response();
    res.headers_mut().insert(header::ETAG, etag(p.generation));
    Ok(res)
}
