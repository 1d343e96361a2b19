//! One error type for every API handler: [`ApiError`] renders as
//! `{"error": "…", "field": "…"}` with the status its cause calls for. Bad input is always a
//! 4xx — 400 (malformed), 401 (no or bad token), 403 (role), 404 (unknown name or id),
//! 409 (conflicts with the registry's state), 413 (too large), 422 (well-formed but
//! invalid), 429 (rate limited) — and only a failing database is a 500, whose details go to
//! the log, never to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portolan_alloc::AllocError;
use portolan_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// The JSON body of every error response.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for humans.
    pub error: String,
    /// The request field concerned (`name`, `count`, `authorization`, `body`…), when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error answer of the API.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Message.
    pub error: String,
    /// Field concerned.
    pub field: Option<String>,
    /// `Retry-After` seconds (429).
    pub retry_after: Option<u64>,
    /// `WWW-Authenticate` challenge (401).
    pub challenge: Option<&'static str>,
}

impl ApiError {
    /// An error with a status, a message and optionally a field.
    pub fn new(status: StatusCode, error: impl Into<String>, field: Option<&str>) -> Self {
        ApiError {
            status,
            error: error.into(),
            field: field.map(str::to_string),
            retry_after: None,
            challenge: None,
        }
    }

    /// 400 naming `field`.
    pub fn bad_request(field: &str, error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, Some(field))
    }

    /// 422 naming `field`.
    pub fn invalid(field: &str, error: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, error, Some(field))
    }

    /// 404 naming `field`.
    pub fn not_found(field: &str, error: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, error, Some(field))
    }

    /// 401 with a `WWW-Authenticate: Bearer` challenge.
    pub fn unauthorized(error: impl Into<String>, challenge: &'static str) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, error, Some("authorization"));
        e.challenge = Some(challenge);
        e
    }

    /// 500: the cause is logged, the client learns only that the server failed.
    pub fn internal(context: &str, cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "{context}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error (see the server log)",
            None,
        )
    }
}

/// The field an allocation error concerns.
fn alloc_field(e: &AllocError) -> (StatusCode, &'static str) {
    match e {
        AllocError::UnknownProject { .. } => (StatusCode::NOT_FOUND, "project"),
        AllocError::UnknownBlock { .. } => (StatusCode::NOT_FOUND, "block"),
        AllocError::UnknownHost { .. } => (StatusCode::NOT_FOUND, "host"),
        AllocError::HostRequired { .. } | AllocError::HostNotInEnvironment { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, "host")
        }
        AllocError::UnknownEnvironment { .. } => (StatusCode::NOT_FOUND, "environment"),
        AllocError::NoRange { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "project"),
        AllocError::Full { .. } => (StatusCode::CONFLICT, "project"),
        AllocError::ServiceExists(_) => (StatusCode::CONFLICT, "name"),
        AllocError::InvalidName(_) => (StatusCode::UNPROCESSABLE_ENTITY, "name"),
        AllocError::BadDuration(_) | AllocError::DurationOutOfRange(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "lease")
        }
        AllocError::BadPorts(_) => (StatusCode::UNPROCESSABLE_ENTITY, "ports"),
        AllocError::Overlap { .. } => (StatusCode::CONFLICT, "ports"),
        AllocError::NotReleasable(_) => (StatusCode::CONFLICT, "service"),
        AllocError::Load(_) => (StatusCode::UNPROCESSABLE_ENTITY, "spec"),
        AllocError::Edit { .. } | AllocError::Validate(_) | AllocError::Io { .. } => {
            (StatusCode::INTERNAL_SERVER_ERROR, "")
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match &e {
            StoreError::NotFound { entity, .. } => ApiError::not_found(entity, e.to_string()),
            StoreError::Invalid { field, .. } => ApiError::invalid(field, e.to_string()),
            StoreError::Spec(_) => ApiError::invalid("spec", e.to_string()),
            StoreError::Alloc(a) => match alloc_field(a) {
                (StatusCode::INTERNAL_SERVER_ERROR, _) => ApiError::internal("store", &e),
                (status, field) => ApiError::new(status, e.to_string(), Some(field)),
            },
            StoreError::Sequence { field, acked, .. } => ApiError::new(
                StatusCode::CONFLICT,
                format!("{e} (last acknowledged report: {acked})"),
                Some(field),
            ),
            StoreError::Contention { .. } | StoreError::Interrupted { .. } => {
                let mut err = ApiError::new(StatusCode::CONFLICT, e.to_string(), None);
                err.retry_after = Some(1);
                err
            }
            StoreError::Stale { .. } => {
                ApiError::new(StatusCode::CONFLICT, e.to_string(), Some("if-match"))
            }
            StoreError::Token(_) => ApiError::unauthorized(
                "invalid, expired or revoked token",
                "Bearer realm=\"portolan\", error=\"invalid_token\"",
            ),
            StoreError::BadUrl { .. }
            | StoreError::Open { .. }
            | StoreError::Migrate { .. }
            | StoreError::Database { .. }
            | StoreError::Corrupt(_)
            | StoreError::Random(_)
            | StoreError::Unreachable { .. } => ApiError::internal("store", &e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.error,
            field: self.field,
        };
        let mut res = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if let Some(c) = self.challenge {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a failing OS random generator (creating a token) answered 422 as if the
    /// caller had sent something wrong; it is the server's fault, a 500 that says nothing.
    #[test]
    fn a_failing_random_generator_is_a_server_error() {
        let e = ApiError::from(StoreError::Random(portolan_store::secrets::RandomError(
            getrandom::Error::UNSUPPORTED,
        )));
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.field, None);
        assert!(!e.error.contains("random"), "{}", e.error);
    }
}
