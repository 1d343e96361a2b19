//! Request extractors whose rejections are [`ApiError`]s naming the field: a JSON body
//! ([`ApiJson`]), a query string ([`ApiQuery`]) and a UTF-8 text body ([`ApiText`]).
//! Syntax errors are 400, well-formed JSON of the wrong shape is 422, and an oversized body
//! is 413 — all with the JSON error body.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The field a serde message names (`missing field `name``, `unknown field `x``).
fn quoted_field(message: &str) -> Option<String> {
    for key in ["missing field `", "unknown field `"] {
        if let Some(rest) = message.split_once(key).map(|(_, r)| r) {
            return rest.split_once('`').map(|(f, _)| f.to_string());
        }
    }
    None
}

fn field_of(path: &serde_path_to_error::Path, message: &str) -> String {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = path.iter().collect();
    if matches!(segments.first(), Some(Segment::Seq { .. })) {
        // a JSON array where an object belongs
        return "body".into();
    }
    let p = path.to_string();
    match quoted_field(message) {
        Some(f) if p == "." => f,
        Some(f) if matches!(segments.last(), Some(Segment::Map { key }) if *key == f) => p,
        Some(f) => format!("{p}.{f}"),
        None if p == "." => "body".into(),
        None => p,
    }
}

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|r| {
        let status = r.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(status, "request body too large", Some("body"))
        } else {
            ApiError::new(status, r.body_text(), Some("body"))
        }
    })
}

/// The media type of a request (`application/json`), lowercased, without parameters.
fn media_type(req: &Request) -> Option<String> {
    let value = req.headers().get(axum::http::header::CONTENT_TYPE)?;
    let text = value.to_str().ok()?;
    let essence = text.split(';').next().unwrap_or_default().trim();
    Some(essence.to_ascii_lowercase())
}

/// 415 unless the request's media type is one of `accepted`.
fn expect_media_type(req: &Request, accepted: &[&str]) -> Result<(), ApiError> {
    match media_type(req) {
        Some(m) if accepted.contains(&m.as_str()) => Ok(()),
        got => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Content-Type must be {}{}",
                accepted.join(" or "),
                got.map_or_else(|| " (none was given)".to_string(), |m| format!(", not {m}"))
            ),
            Some("content-type"),
        )),
    }
}

/// A JSON body deserialized into `T`; the request must say `Content-Type: application/json`
/// (415 otherwise: a body sent as `text/plain` is not taken for JSON).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        expect_media_type(&req, &["application/json"])?;
        let bytes = body_bytes(req, state).await?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let message = e.inner().to_string();
            let field = field_of(e.path(), &message);
            if e.inner().is_data() {
                ApiError::invalid(&field, format!("{field}: {message}"))
            } else {
                ApiError::bad_request("body", format!("malformed JSON: {message}"))
            }
        })?;
        de.end()
            .map_err(|e| ApiError::bad_request("body", format!("malformed JSON: {e}")))?;
        Ok(ApiJson(value))
    }
}

/// A query string deserialized into `T`.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(q));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let message = e.inner().to_string();
                let field = field_of(e.path(), &message);
                let field = if field == "body" {
                    "query".into()
                } else {
                    field
                };
                ApiError::bad_request(&field, format!("{field}: {message}"))
            })
    }
}

fn form_urlencoded_parse(q: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(q.as_bytes())
}

/// A UTF-8 text body (a TOML spec), sent as `application/toml` or `text/plain` (415
/// otherwise).
#[derive(Debug)]
pub struct ApiText(pub String);

impl<S: Send + Sync> FromRequest<S> for ApiText {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        expect_media_type(&req, &["application/toml", "text/plain"])?;
        let bytes = body_bytes(req, state).await?;
        String::from_utf8(bytes.to_vec())
            .map(ApiText)
            .map_err(|e| ApiError::bad_request("body", format!("the body is not UTF-8: {e}")))
    }
}

/// Rejects strings no name or text field may hold (NUL and other control characters but
/// tab and newlines), and overlong ones.
pub fn check_text(field: &str, s: &str, max: usize) -> Result<(), ApiError> {
    if s.len() > max {
        return Err(ApiError::invalid(
            field,
            format!("{field}: longer than {max} bytes"),
        ));
    }
    if s.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(ApiError::invalid(
            field,
            format!("{field}: control characters are not allowed"),
        ));
    }
    Ok(())
}
