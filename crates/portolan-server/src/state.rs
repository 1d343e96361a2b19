//! What every handler shares: the store, the clock (read once at start, see
//! [`Clock`]), the per-token rate limiter, the token check cache, the request metrics, the
//! webhook delivery settings and the trusted reverse proxies.

use std::sync::Arc;

use portolan_store::Store;

use crate::auth::{AuthThrottle, RateLimiter, TOKEN_CACHE_TTL, TokenCache};
use crate::clock::Clock;
use crate::listen::ConnLimits;
use crate::metrics::Metrics;
use crate::proxy::TrustedProxies;
use crate::reads::Reads;
use crate::webhooks::{WebhookSettings, WebhookTls};

/// Limits applied to API requests.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body, in bytes (default 1 MiB).
    pub max_body: usize,
    /// Requests per second per token, on average (0: unlimited; default 200).
    pub rate: f64,
    /// Burst per token (default 400).
    pub burst: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 1 << 20,
            rate: 200.0,
            burst: 400.0,
        }
    }
}

/// Shared application state (cheap to clone).
#[derive(Clone, Debug)]
pub struct AppState {
    /// The registry.
    pub store: Arc<dyn Store>,
    /// The dashboard's login sessions (in memory; a restart logs everyone out).
    pub sessions: Arc<crate::web::Sessions>,
    /// Request limits.
    pub limits: Limits,
    /// Per-token rate limiter.
    pub limiter: Arc<RateLimiter>,
    /// Successful token checks, for [`TOKEN_CACHE_TTL`](crate::auth::TOKEN_CACHE_TTL).
    pub tokens: Arc<TokenCache>,
    /// Request metrics.
    pub metrics: Arc<Metrics>,
    /// Where "now" comes from.
    pub clock: Clock,
    /// The read endpoints' answers, per store generation.
    pub reads: Arc<Reads>,
    /// Connection limits (header read timeout, open connections).
    pub conn: ConnLimits,
    /// Refused tokens per client address.
    pub auth_throttle: Arc<AuthThrottle>,
    /// How webhook deliveries are attempted.
    pub webhooks: WebhookSettings,
    /// Reverse proxies whose forwarding headers name the client.
    pub proxies: TrustedProxies,
    /// Which certificates `https://` webhook receivers are verified against.
    pub webhook_tls: WebhookTls,
}

impl AppState {
    /// State over `store` with the default [`Limits`].
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self::with_limits(store, Limits::default())
    }

    /// State over `store` with `limits`, on the system clock.
    pub fn with_limits(store: Arc<dyn Store>, limits: Limits) -> Self {
        AppState {
            store,
            sessions: Arc::default(),
            limits,
            limiter: Arc::new(RateLimiter::new(limits.rate, limits.burst)),
            tokens: Arc::new(TokenCache::new(TOKEN_CACHE_TTL)),
            metrics: Arc::new(Metrics::default()),
            clock: Clock::System,
            reads: Arc::default(),
            conn: ConnLimits::default(),
            auth_throttle: Arc::default(),
            webhooks: WebhookSettings::default(),
            proxies: TrustedProxies::default(),
            webhook_tls: WebhookTls::default(),
        }
    }

    /// This state with connection limits `conn`.
    #[must_use]
    pub fn with_conn_limits(mut self, conn: ConnLimits) -> Self {
        self.conn = conn;
        self
    }

    /// This state with `throttle` for refused tokens.
    #[must_use]
    pub fn with_auth_throttle(mut self, throttle: AuthThrottle) -> Self {
        self.auth_throttle = Arc::new(throttle);
        self
    }

    /// This state with fresh sessions whose cookies follow `policy`.
    #[must_use]
    pub fn with_cookie_policy(mut self, policy: crate::web::CookiePolicy) -> Self {
        self.sessions = Arc::new(crate::web::Sessions::with_policy(policy));
        self
    }

    /// This state believing the forwarding headers of peers inside `proxies`.
    #[must_use]
    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.proxies = proxies;
        self
    }

    /// This state delivering webhooks with `settings`.
    #[must_use]
    pub fn with_webhooks(mut self, settings: WebhookSettings) -> Self {
        self.webhooks = settings;
        self
    }

    /// This state verifying `https://` webhook receivers with `tls`.
    #[must_use]
    pub fn with_webhook_tls(mut self, tls: WebhookTls) -> Self {
        self.webhook_tls = tls;
        self
    }

    /// This state on `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Seconds since the Unix epoch, by [`AppState::clock`].
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}
