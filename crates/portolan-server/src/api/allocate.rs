//! `POST /api/v1/allocate` (the next free port(s) of a project, with the CLI's policy, in
//! one database transaction) and `POST /api/v1/release` (remove a service, free its ports).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use portolan_store::{AllocRequest, LogEntry, Transport};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Auth, WRITE};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, check_text};
use crate::state::AppState;

/// Longest lease: ten years.
const MAX_LEASE: i64 = 10 * 366 * 86_400;

/// `tcp` / `udp`.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TransportName {
    /// TCP.
    #[default]
    Tcp,
    /// UDP.
    Udp,
}

impl From<TransportName> for Transport {
    fn from(t: TransportName) -> Self {
        match t {
            TransportName::Tcp => Transport::Tcp,
            TransportName::Udp => Transport::Udp,
        }
    }
}

/// What to allocate: `portolan alloc PROJECT --name NAME …`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocateBody {
    /// Project whose range the ports come from.
    pub project: String,
    /// Block of the project (default: the whole range).
    #[serde(default)]
    pub block: Option<String>,
    /// Name of the new service.
    pub name: String,
    /// Name of its binding (default `main`).
    #[serde(default)]
    pub binding: Option<String>,
    /// Host it runs on, one the spec declares (default: the only host, or the only host of
    /// `environment`; several hosts and neither given is a 422 listing them).
    #[serde(default)]
    pub host: Option<String>,
    /// Environment whose one host it runs on (when `host` is not given).
    #[serde(default)]
    pub environment: Option<String>,
    /// Transport (default `tcp`).
    #[serde(default)]
    pub transport: TransportName,
    /// Consecutive ports (1 to 1000, default 1).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1000)]
    pub count: Option<u16>,
    /// Prefer the free run nearest to this port.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 65535)]
    pub near: Option<u16>,
    /// Lease length in seconds (default: permanent).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 316_224_000)]
    pub lease: Option<i64>,
    /// Why (the service's purpose, and the log's).
    #[serde(default)]
    pub why: Option<String>,
}

/// The allocated port(s).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AllocateResponse {
    /// The new service.
    pub service: String,
    /// Project.
    pub project: String,
    /// Block.
    pub block: Option<String>,
    /// The host it was placed on (given, or the spec's only host; absent when the spec
    /// declares no host).
    pub host: Option<String>,
    /// Transport.
    pub transport: TransportName,
    /// Every port handed out.
    pub ports: Vec<u16>,
    /// First port.
    pub lo: u16,
    /// Last port.
    pub hi: u16,
    /// Lease end (seconds since the Unix epoch), if leased.
    pub lease_until: Option<i64>,
    /// Services with an expired lease whose ports were reused.
    pub displaced: Vec<String>,
}

pub(crate) fn check_name(field: &str, s: &str) -> Result<(), ApiError> {
    check_text(field, s, 200)?;
    if s.is_empty() {
        return Err(ApiError::invalid(
            field,
            format!("{field}: must not be empty"),
        ));
    }
    Ok(())
}

/// Allocates the next free port (or run of ports) of a project's range or block.
#[utoipa::path(post, path = "/api/v1/allocate", tag = "allocation", request_body = AllocateBody,
    responses(
        (status = 201, description = "Allocated", body = AllocateResponse),
        (status = 404, description = "Unknown project, block, host or environment", body = ErrorBody),
        (status = 409, description = "Range full, or the service exists", body = ErrorBody)))]
pub async fn allocate(
    State(state): State<AppState>,
    Auth(caller): Auth<WRITE>,
    ApiJson(body): ApiJson<AllocateBody>,
) -> Result<(StatusCode, Json<AllocateResponse>), ApiError> {
    check_name("project", &body.project)?;
    check_name("name", &body.name)?;
    for (field, v) in [
        ("block", &body.block),
        ("binding", &body.binding),
        ("host", &body.host),
        ("environment", &body.environment),
    ] {
        if let Some(v) = v {
            check_name(field, v)?;
        }
    }
    if let Some(w) = &body.why {
        check_text("why", w, 2000)?;
    }
    let count = body.count.unwrap_or(1);
    if !(1..=1000).contains(&count) {
        return Err(ApiError::invalid("count", "count: between 1 and 1000"));
    }
    if body.near == Some(0) {
        return Err(ApiError::invalid("near", "near: a port from 1 to 65535"));
    }
    if let Some(l) = body.lease
        && !(1..=MAX_LEASE).contains(&l)
    {
        return Err(ApiError::invalid(
            "lease",
            format!("lease: seconds from 1 to {MAX_LEASE}"),
        ));
    }
    let req = AllocRequest {
        project: body.project.clone(),
        block: body.block.clone(),
        name: body.name.clone(),
        binding: body.binding.clone().unwrap_or_else(|| "main".into()),
        host: body.host.clone(),
        environment: body.environment.clone(),
        transport: body.transport.into(),
        count,
        near: body.near,
        lease: body.lease,
        why: body.why.clone(),
        who: caller.who(),
        now: state.now(),
    };
    let got = state.store.allocate(&req).await?;
    Ok((
        StatusCode::CREATED,
        Json(AllocateResponse {
            service: got.service,
            project: body.project,
            block: body.block,
            host: got.host,
            transport: body.transport,
            ports: (got.lo..=got.hi).collect(),
            lo: got.lo,
            hi: got.hi,
            lease_until: got.lease_until,
            displaced: got.displaced,
        }),
    ))
}

/// What to release.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    /// The service to remove.
    pub service: String,
}

/// Removes a service (allocated or declared) and frees its ports.
#[utoipa::path(post, path = "/api/v1/release", tag = "allocation", request_body = ReleaseBody,
    responses(
        (status = 200, description = "Released; the log entry", body = LogEntry),
        (status = 404, description = "No such service", body = ErrorBody)))]
pub async fn release(
    State(state): State<AppState>,
    Auth(caller): Auth<WRITE>,
    ApiJson(body): ApiJson<ReleaseBody>,
) -> Result<Json<LogEntry>, ApiError> {
    check_name("service", &body.service)?;
    let entry = state
        .store
        .release(&body.service, &caller.who(), state.now())
        .await?;
    Ok(Json(entry))
}
