//! `POST /api/v1/tokens` (create; the token is shown once), `GET /api/v1/tokens` (records,
//! never secrets) and `DELETE /api/v1/tokens/{id}` (revoke). Admin only.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use portolan_store::{Role, TokenInfo};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{ADMIN, Auth};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, check_text};
use crate::state::AppState;

/// Longest token life: ten years.
const MAX_EXPIRES: i64 = 10 * 366 * 86_400;

/// A token to create.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// Role.
    pub role: Role,
    /// Who or what it is for.
    #[serde(default)]
    pub label: Option<String>,
    /// Lifetime in seconds (default: no expiry).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 316_224_000)]
    pub expires_in: Option<i64>,
}

/// A new token: the bearer token is in this answer only.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NewTokenResponse {
    /// The bearer token (`ptk_ID_SECRET`): store it now, it is not shown again.
    pub token: String,
    /// Its record.
    #[serde(flatten)]
    pub info: TokenInfo,
}

/// Creates a token.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "admin", request_body = TokenBody,
    responses((status = 201, description = "Created", body = NewTokenResponse)))]
pub async fn create(
    State(state): State<AppState>,
    _: Auth<ADMIN>,
    ApiJson(body): ApiJson<TokenBody>,
) -> Result<(StatusCode, Json<NewTokenResponse>), ApiError> {
    let label = body.label.unwrap_or_default();
    check_text("label", &label, 200)?;
    let now = state.now();
    let expires = match body.expires_in {
        Some(s) if (1..=MAX_EXPIRES).contains(&s) => Some(now.saturating_add(s)),
        Some(_) => {
            return Err(ApiError::invalid(
                "expires_in",
                format!("expires_in: seconds from 1 to {MAX_EXPIRES}"),
            ));
        }
        None => None,
    };
    let t = state
        .store
        .create_token(body.role, &label, expires, now)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewTokenResponse {
            token: t.token,
            info: t.info,
        }),
    ))
}

/// Every token (never the secrets), oldest first.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "admin",
    responses((status = 200, description = "Tokens", body = Vec<TokenInfo>)))]
pub async fn list(
    State(state): State<AppState>,
    _: Auth<ADMIN>,
) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    Ok(Json(state.store.tokens().await?))
}

/// Revokes a token.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "admin",
    params(("id" = String, Path, description = "Token id (16 hex digits)")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such token", body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    _: Auth<ADMIN>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::not_found(
            "id",
            format!("token `{}` not found", id.escape_default()),
        ));
    }
    state.store.revoke_token(&id, state.now()).await?;
    // effective at once through this server (elsewhere within the cache's TTL)
    state.tokens.forget(&id);
    Ok(StatusCode::NO_CONTENT)
}
