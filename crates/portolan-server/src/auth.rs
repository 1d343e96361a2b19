//! Bearer-token auth and the per-token rate limit.
//!
//! Every `/api/v1` route but `openapi.json` needs `Authorization: Bearer ptk_…` (reads
//! too: a registry maps a team's whole network, which is not for anonymous eyes), checked
//! with [`Store::verify_token`](portolan_store::Store::verify_token). Roles nest —
//! `read` < `write` < `admin` — and a handler states the least it needs by taking
//! [`Auth<READ>`](Auth), [`Auth<WRITE>`](Auth) or [`Auth<ADMIN>`](Auth):
//!
//! - no `Authorization` header, another scheme, or a malformed, unknown, expired or revoked
//!   token → 401 with `WWW-Authenticate: Bearer`;
//! - a valid token of a lower role → 403;
//! - more requests than the token's bucket holds → 429 with `Retry-After`.
//!
//! The token itself is never logged: requests are logged with the token's public id.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use portolan_store::{Role, StoreError};

use crate::error::ApiError;
use crate::state::AppState;

/// [`Auth`] parameter: read access.
pub const READ: u8 = 0;
/// [`Auth`] parameter: write access.
pub const WRITE: u8 = 1;
/// [`Auth`] parameter: admin access.
pub const ADMIN: u8 = 2;

fn role_of(level: u8) -> Role {
    match level {
        0 => Role::Read,
        1 => Role::Write,
        _ => Role::Admin,
    }
}

/// Who is calling: the token's public record.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Token id (public).
    pub id: String,
    /// Its role.
    pub role: Role,
    /// Its label.
    pub label: String,
}

impl Caller {
    /// How the caller is named in the change log: `token:LABEL` (or the id without a label).
    pub fn who(&self) -> String {
        if self.label.is_empty() {
            format!("token:{}", self.id)
        } else {
            format!("token:{}", self.label)
        }
    }
}

/// A caller holding at least the role `LEVEL` ([`READ`], [`WRITE`], [`ADMIN`]).
#[derive(Debug, Clone)]
pub struct Auth<const LEVEL: u8>(pub Caller);

const CHALLENGE: &str = "Bearer realm=\"portolan\"";

/// The bearer token of a request, or the 401 to answer.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
        return Err(ApiError::unauthorized(
            "this endpoint needs `Authorization: Bearer TOKEN` (create one with `portolan token create`)",
            CHALLENGE,
        ));
    };
    let text = value.to_str().unwrap_or_default().trim();
    match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        _ => Err(ApiError::unauthorized(
            "the Authorization header must be `Bearer TOKEN`",
            CHALLENGE,
        )),
    }
}

impl<const LEVEL: u8> FromRequestParts<AppState> for Auth<LEVEL> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(c) = parts.extensions.get::<Caller>() {
            return check_role::<LEVEL>(c.clone());
        }
        let token = bearer(parts)?;
        let info = match state.store.verify_token(token, state.now()).await {
            Ok(info) => info,
            Err(StoreError::Token(why)) => {
                tracing::info!(reason = %why, "token refused");
                return Err(ApiError::unauthorized(
                    "invalid, expired or revoked token",
                    "Bearer realm=\"portolan\", error=\"invalid_token\"",
                ));
            }
            Err(e) => return Err(e.into()),
        };
        if let Err(wait) = state.limiter.check(&info.id) {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate limit of this token exceeded; retry later",
                Some("authorization"),
            );
            e.retry_after = Some(wait.as_secs().max(1));
            return Err(e);
        }
        let caller = Caller {
            id: info.id,
            role: info.role,
            label: info.label,
        };
        parts.extensions.insert(caller.clone());
        if let Some(slot) = parts.extensions.get::<crate::metrics::TokenSlot>() {
            slot.set(&caller.id);
        }
        check_role::<LEVEL>(caller)
    }
}

fn check_role<const LEVEL: u8>(caller: Caller) -> Result<Auth<LEVEL>, ApiError> {
    let needed = role_of(LEVEL);
    if caller.role.allows(needed) {
        Ok(Auth(caller))
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "this needs a `{}` token; this one is `{}`",
                needed.as_str(),
                caller.role.as_str()
            ),
            Some("authorization"),
        ))
    }
}

/// A token bucket per token id: `rate` requests per second on average, bursts up to
/// `burst`. A rate of 0 disables the limit.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter; `rate == 0` never limits.
    pub fn new(rate: f64, burst: f64) -> Self {
        RateLimiter {
            rate: rate.max(0.0),
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `key`'s bucket, or says how long to wait.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (tokens, last) = buckets.entry(key.to_string()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RateLimiter;

    #[test]
    fn bucket_allows_the_burst_then_refuses() {
        let l = RateLimiter::new(1.0, 3.0);
        for _ in 0..3 {
            assert!(l.check("a").is_ok());
        }
        assert!(l.check("a").is_err());
        assert!(l.check("b").is_ok(), "buckets are per token");
        let off = RateLimiter::new(0.0, 1.0);
        for _ in 0..100 {
            assert!(off.check("a").is_ok());
        }
    }
}
