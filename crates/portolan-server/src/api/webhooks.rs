//! `POST /api/v1/webhooks` (register a URL for events; the signing secret is shown once),
//! `GET /api/v1/webhooks` (records, never secrets), `DELETE /api/v1/webhooks/{id}` and
//! `GET /api/v1/webhooks/{id}/deliveries` (the delivery log: status, attempts, last HTTP
//! status, last error). Admin only. Delivery itself is [`crate::webhooks`].

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use portolan_store::{DeliveryRecord, NewWebhook, WebhookEvent, WebhookInfo};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{ADMIN, Auth};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, check_text};
use crate::state::AppState;

/// Longest webhook URL.
const MAX_URL: usize = 2048;

/// Most deliveries one answer lists.
const MAX_DELIVERIES: u32 = 1000;

/// A webhook to register.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    /// Where events are POSTed: an `http://` or `https://` URL.
    pub url: String,
    /// The events it receives (at least one): `undeclared-listener`, `drift`, …
    pub events: Vec<WebhookEvent>,
    /// The signing secret (16 to 200 characters; default: a random one, in the answer).
    #[serde(default)]
    pub secret: Option<String>,
    /// Who or what it is for.
    #[serde(default)]
    pub label: Option<String>,
}

/// A new webhook: the secret is in this answer only.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NewWebhookResponse {
    /// The key of the `X-Portolan-Signature` HMAC: store it now, it is not shown again.
    pub secret: String,
    /// Its record.
    #[serde(flatten)]
    pub info: WebhookInfo,
}

/// Registers a webhook.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "admin", request_body = WebhookBody,
    responses((status = 201, description = "Created", body = NewWebhookResponse)))]
pub async fn create(
    State(state): State<AppState>,
    _: Auth<ADMIN>,
    ApiJson(body): ApiJson<WebhookBody>,
) -> Result<(StatusCode, Json<NewWebhookResponse>), ApiError> {
    check_text("url", &body.url, MAX_URL)?;
    crate::webhooks::check_url(&body.url).map_err(|e| ApiError::invalid("url", e))?;
    if body.events.is_empty() {
        return Err(ApiError::invalid(
            "events",
            format!(
                "events: at least one of {}",
                WebhookEvent::ALL.map(WebhookEvent::as_str).join(", ")
            ),
        ));
    }
    if let Some(secret) = &body.secret {
        check_text("secret", secret, 200)?;
        if secret.chars().count() < 16 {
            return Err(ApiError::invalid(
                "secret",
                "secret: at least 16 characters",
            ));
        }
    }
    let label = body.label.unwrap_or_default();
    check_text("label", &label, 200)?;
    let created = state
        .store
        .create_webhook(
            &NewWebhook {
                url: body.url,
                events: body.events,
                secret: body.secret,
                label,
            },
            state.now(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewWebhookResponse {
            secret: created.secret,
            info: created.info,
        }),
    ))
}

/// Every webhook (never the secrets), oldest first.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "admin",
    responses((status = 200, description = "Webhooks", body = Vec<WebhookInfo>)))]
pub async fn list(
    State(state): State<AppState>,
    _: Auth<ADMIN>,
) -> Result<Json<Vec<WebhookInfo>>, ApiError> {
    Ok(Json(state.store.webhooks().await?))
}

fn check_id(id: &str) -> Result<(), ApiError> {
    if id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(ApiError::not_found(
            "id",
            format!("webhook `{}` not found", id.escape_default()),
        ))
    }
}

/// Deletes a webhook and its delivery log (deliveries under way finish their attempt).
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "admin",
    params(("id" = String, Path, description = "Webhook id (16 hex digits)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such webhook", body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    _: Auth<ADMIN>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    check_id(&id)?;
    state.store.delete_webhook(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Paging of the delivery log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// At most this many deliveries, newest first (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// A webhook's deliveries, newest first: status, attempts, last HTTP status, last error.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "admin",
    params(("id" = String, Path, description = "Webhook id (16 hex digits)"), DeliveriesQuery),
    responses(
        (status = 200, description = "Deliveries", body = Vec<DeliveryRecord>),
        (status = 404, description = "No such webhook", body = ErrorBody)))]
pub async fn deliveries(
    State(state): State<AppState>,
    _: Auth<ADMIN>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<DeliveriesQuery>,
) -> Result<Json<Vec<DeliveryRecord>>, ApiError> {
    check_id(&id)?;
    let limit = super::page_limit(query.limit, 100, MAX_DELIVERIES)?;
    Ok(Json(state.store.deliveries(&id, limit).await?))
}
