//! `GET /api/v1/bindings[?service=S&host=H]`: where services listen, one row per binding
//! and host.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Auth, READ};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::state::AppState;

/// A binding of a service on one host.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Binding {
    /// Service.
    pub service: String,
    /// Binding name.
    pub name: String,
    /// Host.
    pub host: String,
    /// Environment of the host.
    pub environment: String,
    /// `tcp` / `udp`.
    pub transport: String,
    /// First port.
    pub lo: u16,
    /// Last port (equal to `lo` for one port).
    pub hi: u16,
    /// Bind address.
    pub bind: String,
    /// App protocol (`http`, `postgres`, …).
    pub app: Option<String>,
    /// Publisher (`host`, `docker`, …).
    pub publisher: String,
    /// Declared exposure, comma-separated.
    pub exposure: String,
    /// Status in its environment.
    pub status: String,
}

impl From<portolan_store::BindingInfo> for Binding {
    fn from(b: portolan_store::BindingInfo) -> Self {
        Binding {
            service: b.service,
            name: b.name,
            host: b.host,
            environment: b.environment,
            transport: b.transport,
            lo: b.lo,
            hi: b.hi,
            bind: b.bind,
            app: b.app,
            publisher: b.publisher,
            exposure: b.exposure,
            status: b.status,
        }
    }
}

/// Filters of `GET /bindings`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BindingQuery {
    /// Only this service's bindings.
    pub service: Option<String>,
    /// Only bindings on this host.
    pub host: Option<String>,
}

/// Binding instances, by service, binding name and host.
#[utoipa::path(get, path = "/api/v1/bindings", tag = "registry", params(BindingQuery),
    responses((status = 200, description = "Bindings", body = Vec<Binding>)))]
pub async fn list(
    State(state): State<AppState>,
    _: Auth<READ>,
    ApiQuery(q): ApiQuery<BindingQuery>,
) -> Result<Json<Vec<Binding>>, ApiError> {
    Ok(Json(
        state
            .store
            .bindings()
            .await?
            .into_iter()
            .filter(|b| q.service.as_ref().is_none_or(|s| *s == b.service))
            .filter(|b| q.host.as_ref().is_none_or(|h| *h == b.host))
            .map(Binding::from)
            .collect(),
    ))
}
