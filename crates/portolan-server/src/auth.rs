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
//! - more requests than the token's bucket holds → 429 with `Retry-After`;
//! - from a client address that presented too many refused tokens lately (API or dashboard
//!   login: [`AuthThrottle`], by default a burst of 20 then one every 3 s) → 429 with
//!   `Retry-After`, before the token is even looked up — guessing tokens does not scale.
//!   The address is the socket peer, or behind a trusted reverse proxy the client the
//!   proxy forwarded for ([`crate::proxy`]): each client behind it has its own bucket.
//!   A token this server has checked successfully in the last seconds still passes.
//!
//! The token itself is never logged: requests are logged with the token's public id.
//!
//! ## Verification cache
//! Checking a token costs a database query and a SHA-256 on every request. Successful
//! checks are remembered in this process ([`TokenCache`], keyed by the token's SHA-256,
//! holding its record) for [`TOKEN_CACHE_TTL`], and never past the token's expiry. Refused
//! tokens are never cached. A revocation through this server (`DELETE /api/v1/tokens/{id}`)
//! drops the token from the cache at once, so its next request is a 401; a revocation made
//! elsewhere — another server process on the same database, or `portolan token revoke` on
//! the database file — takes effect here within [`TOKEN_CACHE_TTL`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use portolan_store::{Role, StoreError, TokenInfo};

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
        let now = state.now();
        let peer = client_addr(parts);
        let info = if let Some(info) = state.tokens.get(token, now) {
            Ok(info)
        } else {
            state.auth_throttle.check(peer)?;
            let epoch = state.tokens.epoch();
            let checked = state.store.verify_token(token, now).await;
            if let Ok(info) = &checked {
                state.tokens.put(token, info, epoch);
            }
            checked
        };
        let info = match info {
            Ok(info) => info,
            Err(StoreError::Token(why)) => {
                tracing::info!(reason = %why, "token refused");
                state.auth_throttle.failed(peer);
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

/// The client's address, when the connection recorded it (see [`crate::listen`]): the
/// socket peer, or behind a trusted reverse proxy the client it forwarded for
/// ([`crate::proxy`]).
pub fn client_addr(parts: &Parts) -> Option<IpAddr> {
    crate::proxy::client_of(parts).addr
}

/// Refused tokens per client address: a token bucket of failures per address (see the
/// module docs). Addresses are forgotten once their bucket is full again, and the table is
/// bounded ([`AuthThrottle::MAX_ADDRESSES`]).
#[derive(Debug)]
pub struct AuthThrottle {
    /// Failures allowed at once (0: the throttle is off).
    burst: f64,
    /// Failures forgiven per second.
    refill: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl Default for AuthThrottle {
    /// A burst of 20 refused tokens, then one every 3 s.
    fn default() -> Self {
        Self::new(20, 20)
    }
}

impl AuthThrottle {
    /// Most addresses tracked; past that, the table starts over.
    pub const MAX_ADDRESSES: usize = 65_536;

    /// `burst` refused tokens at once, then `per_minute` a minute (`burst` 0: off).
    pub fn new(burst: u32, per_minute: u32) -> Self {
        AuthThrottle {
            burst: f64::from(burst),
            refill: f64::from(per_minute) / 60.0,
            buckets: Mutex::default(),
        }
    }

    /// No throttling.
    pub fn off() -> Self {
        Self::new(0, 0)
    }

    fn level(&self, tokens: f64, since: Instant, now: Instant) -> f64 {
        (tokens + now.duration_since(since).as_secs_f64() * self.refill).min(self.burst)
    }

    /// 429 when `peer` has no refusal left.
    pub fn check(&self, peer: Option<IpAddr>) -> Result<(), ApiError> {
        let (Some(peer), true) = (peer, self.burst > 0.0) else {
            return Ok(());
        };
        let now = Instant::now();
        let buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let Some((tokens, since)) = buckets.get(&peer).copied() else {
            return Ok(());
        };
        let level = self.level(tokens, since, now);
        if level >= 1.0 {
            return Ok(());
        }
        let wait = if self.refill > 0.0 {
            ((1.0 - level) / self.refill).ceil()
        } else {
            60.0
        };
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many refused tokens from this address; retry later",
            Some("authorization"),
        );
        // a whole number of seconds, at least one
        e.retry_after = Some(format!("{wait:.0}").parse::<u64>().unwrap_or(1).max(1));
        Err(e)
    }

    /// Counts a refused token from `peer`.
    pub fn failed(&self, peer: Option<IpAddr>) {
        let (Some(peer), true) = (peer, self.burst > 0.0) else {
            return;
        };
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= Self::MAX_ADDRESSES && !buckets.contains_key(&peer) {
            // forget the addresses that are back to a full bucket; if that frees nothing,
            // start over
            buckets.retain(|_, (t, s)| self.level(*t, *s, now) < self.burst);
            if buckets.len() >= Self::MAX_ADDRESSES {
                buckets.clear();
            }
        }
        let (tokens, since) = buckets.get(&peer).copied().unwrap_or((self.burst, now));
        let level = self.level(tokens, since, now);
        buckets.insert(peer, ((level - 1.0).max(0.0), now));
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
                "this needs {} `{}` token; this one is `{}`",
                if needed.as_str().starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                },
                needed.as_str(),
                caller.role.as_str()
            ),
            Some("authorization"),
        ))
    }
}

/// How long a successful token check is remembered (see the module docs).
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(2);

/// Most tokens the cache holds; past that, it starts over.
const TOKEN_CACHE_MAX: usize = 4096;

/// Successful token checks of this process, by the token's SHA-256 (see the module docs).
#[derive(Debug)]
pub struct TokenCache {
    ttl: Duration,
    inner: Mutex<CacheInner>,
}

#[derive(Debug, Default)]
struct CacheInner {
    /// Moves on at every [`TokenCache::forget`]: a check that started before a revocation
    /// must not store what it read.
    epoch: u64,
    entries: HashMap<[u8; 32], (TokenInfo, Instant)>,
}

fn digest(token: &str) -> [u8; 32] {
    portolan_store::secrets::sha256(token.as_bytes())
}

impl TokenCache {
    /// A cache remembering checks for `ttl` (zero: never).
    pub fn new(ttl: Duration) -> Self {
        TokenCache {
            ttl,
            inner: Mutex::new(CacheInner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The record of `token` if it was checked less than the TTL ago and has not expired by
    /// `now` (seconds since the Unix epoch).
    pub fn get(&self, token: &str, now: i64) -> Option<TokenInfo> {
        let key = digest(token);
        let mut inner = self.lock();
        let (info, at) = inner.entries.get(&key)?;
        if at.elapsed() < self.ttl && info.expires.is_none_or(|e| e > now) {
            return Some(info.clone());
        }
        inner.entries.remove(&key);
        None
    }

    /// Where the cache stands; pass it to [`put`](Self::put) after checking a token.
    pub fn epoch(&self) -> u64 {
        self.lock().epoch
    }

    /// Remembers a successful check of `token` that started at `epoch` — unless a token
    /// was revoked through this server since.
    pub fn put(&self, token: &str, info: &TokenInfo, epoch: u64) {
        if self.ttl.is_zero() || info.revoked.is_some() {
            return;
        }
        let key = digest(token);
        let mut inner = self.lock();
        if inner.epoch != epoch {
            return;
        }
        if inner.entries.len() >= TOKEN_CACHE_MAX {
            let ttl = self.ttl;
            inner.entries.retain(|_, (_, at)| at.elapsed() < ttl);
            if inner.entries.len() >= TOKEN_CACHE_MAX {
                inner.entries.clear();
            }
        }
        inner.entries.insert(key, (info.clone(), Instant::now()));
    }

    /// Drops the token with public id `id` (revoked): its next request is checked again.
    pub fn forget(&self, id: &str) {
        let mut inner = self.lock();
        inner.epoch = inner.epoch.wrapping_add(1);
        inner.entries.retain(|_, (info, _)| info.id != id);
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
    use std::time::Duration;

    use portolan_store::{Role, TokenInfo};

    use super::{RateLimiter, TokenCache};

    fn info(id: &str, expires: Option<i64>) -> TokenInfo {
        TokenInfo {
            id: id.into(),
            role: Role::Read,
            label: String::new(),
            created: 0,
            expires,
            revoked: None,
        }
    }

    #[test]
    fn token_cache_remembers_until_ttl_expiry_or_revocation() {
        let c = TokenCache::new(Duration::from_secs(60));
        let e = c.epoch();
        c.put("ptk_a", &info("a", None), e);
        c.put("ptk_b", &info("b", Some(100)), e);
        assert_eq!(c.get("ptk_a", 50).map(|i| i.id), Some("a".into()));
        assert!(c.get("ptk_other", 50).is_none(), "keyed by the token");
        assert!(c.get("ptk_b", 99).is_some());
        assert!(c.get("ptk_b", 100).is_none(), "never past the expiry");
        c.forget("a");
        assert!(c.get("ptk_a", 50).is_none(), "revoked here: gone at once");
        // a check that began before the revocation does not store its stale answer
        let before = c.epoch();
        c.forget("zzz");
        c.put("ptk_a", &info("a", None), before);
        assert!(c.get("ptk_a", 50).is_none());
        let short = TokenCache::new(Duration::from_millis(20));
        short.put("ptk_a", &info("a", None), short.epoch());
        assert!(short.get("ptk_a", 0).is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert!(short.get("ptk_a", 0).is_none(), "TTL");
        let off = TokenCache::new(Duration::ZERO);
        off.put("ptk_a", &info("a", None), off.epoch());
        assert!(off.get("ptk_a", 0).is_none());
    }

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
