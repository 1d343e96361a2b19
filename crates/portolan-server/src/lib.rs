//! # portolan-server
//!
//! The team registry behind `portolan serve`: a REST API under `/api/v1` (with its OpenAPI
//! document), bearer-token auth with roles, a server-rendered dashboard, `/metrics` in the
//! Prometheus text format — all on one [`portolan_store::Store`] (SQLite by default,
//! PostgreSQL for fleets). Binds to loopback unless told otherwise; shuts down gracefully.
#![deny(missing_docs)]
// product names (OpenAPI, SQLite, PostgreSQL) read better unquoted in prose
#![allow(clippy::doc_markdown)]

pub mod state;
pub mod web;

pub use state::AppState;

use std::net::SocketAddr;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Database URL (`sqlite://portolan.db`, `postgres://…`).
    pub db: String,
    /// Listen address (default `127.0.0.1:7878`).
    pub listen: SocketAddr,
}

/// The whole application: API, dashboard and metrics on one state.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok\n" }))
        .merge(web::router())
        .with_state(state)
}

/// Opens the store, binds, serves until SIGINT/SIGTERM, then drains in-flight requests.
/// `ready` receives the bound address (port 0 picks a free one).
pub async fn serve(
    config: ServeConfig,
    ready: impl FnOnce(SocketAddr) + Send,
) -> Result<(), ServeError> {
    let store = portolan_store::open(&config.db).await?;
    let state = AppState::new(std::sync::Arc::from(store));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| ServeError::Bind(config.listen, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServeError::Bind(config.listen, e))?;
    ready(addr);
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(ServeError::Io)
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
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
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
