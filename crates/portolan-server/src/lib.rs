//! # portolan-server
//!
//! The team registry behind `portolan serve`: a REST API under `/api/v1` (with its OpenAPI
//! document), bearer-token auth with roles, a server-rendered dashboard, `/metrics` in the
//! Prometheus text format — all on one [`portolan_store::Store`] (SQLite by default,
//! PostgreSQL for fleets). Binds to loopback unless told otherwise; shuts down gracefully.
//!
//! ## Routes and who may call them
//! - `GET /healthz`, `GET /api/v1/openapi.json`: public.
//! - every other `/api/v1` route and `GET /metrics`: a bearer token (`portolan token
//!   create`), reads with any role, writes (`allocate`, `release`, `reserve`, `gc`,
//!   `observations`, `reports`) with `write`; spec import, tokens and webhooks with `admin`
//!   (see [`auth`]).
//!
//! ## Limits
//! Request bodies above [`Limits::max_body`] (1 MiB) are refused with 413, bodies in
//! another media type than the route reads with 415; each token may make [`Limits::rate`]
//! requests per second on average (bursts of [`Limits::burst`]), then gets 429 with
//! `Retry-After`, and an address that presented too many refused tokens gets 429 before
//! any lookup ([`auth::AuthThrottle`]). A client has 10 s to send a request head — which is
//! also how long an idle keep-alive connection stays open — of at most 64 KiB and 100
//! headers (431 beyond), a request may take 60 s from head to answer (a body trickled in
//! gets 408), and at most 512 connections are served at once ([`listen::ConnLimits`]). Long lists (`/findings`, `/observations`,
//! `/log`) come a page at a time (`limit`, `cursor`; the next page in `X-Next-Cursor` and
//! `Link`), and one source stores at most 10,000 findings. Metrics labels come from a fixed
//! set. Every API error is JSON (`{"error", "field"}`), including the ones axum produces
//! itself (unknown route, wrong method); a panic in a handler is caught and answered with
//! 500.
//!
//! ## Reads
//! The read lists and the spec are cached per store generation ([`reads`]): what a read
//! costs does not grow with the registry.
//!
//! ## Alerts
//! Agent reports that change a host's drift fire webhook events (`drift`; for each new
//! undeclared listener `undeclared-listener`; `exposure-widened` when a listener became
//! reachable from wider than before or than declared; `expectation-failed` for each
//! `[[expect]]` the live binds break), and an agent silent for 5 min fires `agent-stale`,
//! a lease ending within the hour `lease-expiring` (announced once per database, across
//! restarts and replicas); all delivered signed, over HTTP or HTTPS, with retries, in the
//! background ([`webhooks`]).
//!
//! ## Behind a reverse proxy
//! With trusted proxy ranges ([`proxy`]), a request from inside one is attributed to the
//! client its `Forwarded`/`X-Forwarded-For` names (the rightmost hop outside the ranges);
//! from anywhere else, those headers are ignored.
//!
//! ## Logs
//! One `tracing` event per request: method, route template, status, milliseconds, the
//! client's address ([`proxy`]) and the token's public id. Never headers, bodies or query strings, so never a token.
#![deny(missing_docs)]
// product names (OpenAPI, SQLite, PostgreSQL) read better unquoted in prose
#![allow(clippy::doc_markdown)]

pub mod api;
pub mod auth;
pub mod clock;
pub mod error;
pub mod extract;
pub mod listen;
pub mod metrics;
pub mod proxy;
pub mod reads;
pub mod state;
pub mod web;
pub mod webhooks;

pub use clock::Clock;
pub use state::{AppState, Limits};

use std::net::SocketAddr;

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::ApiError;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Database URL (`sqlite://portolan.db`, `postgres://…`).
    pub db: String,
    /// Listen address (default `127.0.0.1:7878`).
    pub listen: SocketAddr,
    /// Request limits.
    pub limits: Limits,
    /// How long listener history is kept before compaction folds it into a baseline
    /// (seconds; `None`: forever).
    pub history_retention: Option<u64>,
    /// When the dashboard's cookies get `Secure`.
    pub cookies: web::CookiePolicy,
    /// Reverse proxies whose forwarding headers name the client ([`proxy`]).
    pub trusted_proxies: proxy::TrustedProxies,
    /// A PEM bundle of CA certificates trusted for `https://` webhook receivers, besides
    /// Mozilla's roots (`serve --webhook-ca`).
    pub webhook_ca: Option<std::path::PathBuf>,
}

/// The OpenAPI document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::router().1
}

/// The whole application: API, dashboard and metrics on one state.
pub fn router(state: AppState) -> axum::Router {
    let (api, doc) = api::router();
    let doc = std::sync::Arc::new(doc);
    let max_body = state.limits.max_body;
    let api = api
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .route("/metrics", get(metrics::metrics))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such route", Some("path")) })
        .layer(tower_http::limit::RequestBodyLimitLayer::new(max_body))
        .layer(axum::middleware::from_fn(json_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ));
    axum::Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        // the dashboard's pages; anything no route matches falls to the API's JSON 404
        .merge(web::router())
        .merge(api)
        // who the client is (behind trusted proxies), before auth and the request log
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            proxy::identify,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                tracing::error!("a handler panicked");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error (see the server log)",
                    None,
                )
                .into_response()
            },
        ))
        .with_state(state)
}

/// Turns the error answers axum and tower-http produce themselves (405, 413, 415, a bad
/// path parameter) into the API's JSON error body.
async fn json_errors(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let field = match status {
        StatusCode::PAYLOAD_TOO_LARGE => Some("body"),
        StatusCode::METHOD_NOT_ALLOWED => Some("method"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Some("content-type"),
        _ => None,
    };
    let mut out = ApiError::new(status, message, field).into_response();
    for (k, v) in &parts.headers {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}

/// Reads the clock (`PORTOLAN_NOW`, see [`Clock`]), opens the store, binds, serves until
/// SIGINT/SIGTERM, then drains in-flight requests. `ready` receives the bound address (port
/// 0 picks a free one).
pub async fn serve(
    config: ServeConfig,
    ready: impl FnOnce(SocketAddr) + Send,
) -> Result<(), ServeError> {
    let clock = Clock::from_env()?;
    let tls = match &config.webhook_ca {
        Some(path) => webhooks::WebhookTls::with_ca_bundle(path)?,
        None => webhooks::WebhookTls::default(),
    };
    let store = portolan_store::open(&config.db).await?;
    let state = AppState::with_limits(std::sync::Arc::from(store), config.limits)
        .with_clock(clock)
        .with_cookie_policy(config.cookies.clone())
        .with_trusted_proxies(config.trusted_proxies.clone())
        .with_webhook_tls(tls);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| ServeError::Bind(config.listen, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServeError::Bind(config.listen, e))?;
    ready(addr);
    // the first allocation would otherwise export and parse the whole registry (seconds
    // on a large one) while every request of its batch waits
    let warm = state.store.clone();
    tokio::spawn(async move {
        if let Err(e) = warm.warm_allocator().await {
            tracing::warn!("could not read the registry ahead of the first allocation: {e}");
        }
    });
    if let Some(retention) = config.history_retention {
        tokio::spawn(api::history::compact_periodically(state.clone(), retention));
    }
    tokio::spawn(webhooks::watch_periodic_events(state.clone()));
    serve_on(listener, state, shutdown_signal()).await
}

/// Serves `state` on an already bound listener until `shutdown` completes (tests use this
/// with port 0 and their own shutdown).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let limits = state.conn;
    listen::run(listener, router(state), limits, shutdown).await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// `PORTOLAN_NOW` is set to something that is not an instant.
    #[error(transparent)]
    Clock(#[from] clock::ClockError),
    /// The CA bundle for webhook receivers cannot be used.
    #[error(transparent)]
    WebhookCa(#[from] webhooks::WebhookCaError),
    /// The store could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] portolan_store::StoreError),
    /// The listen address could not be bound.
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    /// Serving failed.
    #[error("server error: {0}")]
    Io(std::io::Error),
}
