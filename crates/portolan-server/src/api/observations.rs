//! `POST /api/v1/observations` (an agent reports a host's listeners; the server computes
//! the host's drift against the registry with `portolan_observe::drift`, the code behind
//! `portolan check`, and stores it as the findings of source `drift:HOST`),
//! `GET /api/v1/observations` and `GET /api/v1/observations/{host}`.
//!
//! A listener may carry the container behind it (`container`: engine, name, image, compose
//! project and service, and for a publication the container port and what listens on it
//! inside), as `portolan ls --json` prints it; reports without it (older agents) mean the
//! same as before, and older servers ignore it. Drift then counts publications whoever
//! holds the host socket, and `publish-to-dead-port` is computed here too.

use std::net::IpAddr;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use portolan_observe::container::Engine;
use portolan_observe::{ContainerLink, Inside, Listener, Owner, Published, Transport};
use portolan_store::{FindingRecord, Observation};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::allocate::{TransportName, check_name};
use crate::auth::{Auth, READ, WRITE};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, check_text};
use crate::state::AppState;

/// Most listeners one report may hold.
const MAX_LISTENERS: usize = 20_000;

/// A process holding a socket.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ListenerOwner {
    /// Process id.
    pub pid: u32,
    /// Short name.
    pub name: String,
    /// Command line.
    #[serde(default)]
    pub cmdline: String,
    /// User.
    #[serde(default)]
    pub user: String,
    /// Container, if any.
    #[serde(default)]
    pub container: Option<String>,
}

/// A container engine.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EngineName {
    /// Docker.
    Docker,
    /// Podman.
    Podman,
}

/// What listens on a published port inside its container.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum InsideState {
    /// Something listens on a wildcard or the container's address.
    Listening,
    /// Only on loopback inside (unreachable through the publication).
    LoopbackOnly,
    /// Nothing.
    Nothing,
    /// Not seen.
    Unknown,
}

/// The publication a host socket serves.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct PublishedReport {
    /// Container port.
    pub target: u16,
    /// What listens on it inside.
    pub inside: InsideState,
    /// The in-container sockets on it (`[::]:80`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inside_local: Vec<String>,
}

/// The container behind a host socket.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ContainerReport {
    /// Engine.
    pub engine: EngineName,
    /// Container id.
    pub id: String,
    /// Container name.
    pub name: String,
    /// Image.
    #[serde(default)]
    pub image: String,
    /// Compose project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Compose service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The publication, when the socket serves one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<PublishedReport>,
}

impl From<&ContainerReport> for ContainerLink {
    fn from(c: &ContainerReport) -> Self {
        ContainerLink {
            engine: match c.engine {
                EngineName::Docker => Engine::Docker,
                EngineName::Podman => Engine::Podman,
            },
            id: c.id.clone(),
            name: c.name.clone(),
            image: c.image.clone(),
            project: c.project.clone(),
            service: c.service.clone(),
            published: c.published.as_ref().map(|p| Published {
                target: p.target,
                inside: match p.inside {
                    InsideState::Listening => Inside::Listening,
                    InsideState::LoopbackOnly => Inside::LoopbackOnly,
                    InsideState::Nothing => Inside::Nothing,
                    InsideState::Unknown => Inside::Unknown,
                },
                inside_local: p.inside_local.clone(),
            }),
        }
    }
}

/// A listening socket, as `portolan ls --json` prints it (extra fields are ignored).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ListenerReport {
    /// `tcp` / `udp`.
    pub transport: TransportName,
    /// Local address (`0.0.0.0`, `127.0.0.1`, `::`).
    #[schema(value_type = String, example = "0.0.0.0")]
    pub addr: IpAddr,
    /// Local port (1 to 65535).
    #[schema(minimum = 1, maximum = 65535)]
    pub port: u16,
    /// Socket inode.
    #[serde(default)]
    pub inode: u64,
    /// Owning uid.
    #[serde(default)]
    pub uid: u32,
    /// Owning processes, when seen.
    #[serde(default)]
    pub owners: Vec<ListenerOwner>,
    /// The container behind it, when the agent saw one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerReport>,
}

impl From<&ListenerReport> for Listener {
    fn from(l: &ListenerReport) -> Self {
        Listener {
            transport: match l.transport {
                TransportName::Tcp => Transport::Tcp,
                TransportName::Udp => Transport::Udp,
            },
            addr: l.addr,
            port: l.port,
            inode: l.inode,
            uid: l.uid,
            owners: l
                .owners
                .iter()
                .map(|o| Owner {
                    pid: o.pid,
                    name: o.name.clone(),
                    cmdline: o.cmdline.clone(),
                    user: o.user.clone(),
                    container: o.container.clone(),
                })
                .collect(),
            container: l.container.as_ref().map(ContainerLink::from),
        }
    }
}

/// An agent's report.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservationBody {
    /// Host name, as the registry knows it.
    pub host: String,
    /// Every listener seen on it.
    pub listeners: Vec<ListenerReport>,
}

/// What the server made of a report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObservationReceipt {
    /// Host.
    pub host: String,
    /// When stored (seconds since the Unix epoch).
    pub at: i64,
    /// Listeners stored.
    pub listeners: usize,
    /// Drift findings of the host now (`undeclared-listener`, `declared-not-listening`, …).
    pub drift: Vec<FindingRecord>,
}

/// Checks the text fields and ports of reported listeners; `prefix` names the list in
/// errors (`listeners`, `added`).
pub(crate) fn check_listeners(prefix: &str, listeners: &[ListenerReport]) -> Result<(), ApiError> {
    for (i, l) in listeners.iter().enumerate() {
        if l.port == 0 {
            let field = format!("{prefix}[{i}].port");
            return Err(ApiError::invalid(
                &field,
                format!("{field}: a port from 1 to 65535 (nothing listens on port 0)"),
            ));
        }
        for o in &l.owners {
            for (f, v) in [
                ("name", &o.name),
                ("cmdline", &o.cmdline),
                ("user", &o.user),
            ] {
                check_text(&format!("{prefix}[{i}].owners.{f}"), v, 4096)?;
            }
            if let Some(c) = &o.container {
                check_text(&format!("{prefix}[{i}].owners.container"), c, 4096)?;
            }
        }
        if let Some(c) = &l.container {
            let field = |f: &str| format!("{prefix}[{i}].container.{f}");
            check_text(&field("id"), &c.id, 200)?;
            check_text(&field("name"), &c.name, 4096)?;
            check_text(&field("image"), &c.image, 4096)?;
            for (f, v) in [("project", &c.project), ("service", &c.service)] {
                if let Some(v) = v {
                    check_text(&field(f), v, 4096)?;
                }
            }
            if let Some(p) = &c.published {
                if p.inside_local.len() > 64 {
                    return Err(ApiError::invalid(
                        &field("published.inside_local"),
                        format!("{}: at most 64", field("published.inside_local")),
                    ));
                }
                for a in &p.inside_local {
                    check_text(&field("published.inside_local"), a, 200)?;
                }
            }
        }
    }
    Ok(())
}

/// Stores a host's listeners and recomputes its drift.
#[utoipa::path(post, path = "/api/v1/observations", tag = "agents", request_body = ObservationBody,
    responses(
        (status = 200, description = "Stored; the host's drift", body = ObservationReceipt),
        (status = 404, description = "The host is not in the registry", body = ErrorBody)))]
pub async fn push(
    State(state): State<AppState>,
    _: Auth<WRITE>,
    ApiJson(body): ApiJson<ObservationBody>,
) -> Result<Json<ObservationReceipt>, ApiError> {
    check_name("host", &body.host)?;
    if body.listeners.len() > MAX_LISTENERS {
        return Err(ApiError::invalid(
            "listeners",
            format!("listeners: at most {MAX_LISTENERS}"),
        ));
    }
    check_listeners("listeners", &body.listeners)?;
    let model = state.reads.model(&*state.store).await?;
    let Some(host) = model.host_named(&body.host) else {
        return Err(ApiError::not_found(
            "host",
            format!(
                "host `{}` is not in the registry (declare it in the spec and `portolan push`)",
                body.host
            ),
        ));
    };
    let listeners: Vec<Listener> = body.listeners.iter().map(Listener::from).collect();
    let now = state.now();
    let drift = super::findings::to_stored_capped(
        &model,
        &crate::webhooks::host_drift(&model, host, &listeners),
    );
    let listeners_json = serde_json::to_value(&body.listeners)
        .map_err(|e| ApiError::internal("encoding listeners", &e))?;
    let before = crate::webhooks::listeners_before(&state, &body.host).await?;
    state
        .store
        .put_observation(&Observation {
            host: body.host.clone(),
            at: now,
            listeners: listeners_json,
        })
        .await?;
    let drift = crate::webhooks::record_drift(
        &state,
        crate::webhooks::Reported {
            model: &model,
            host,
            before,
            after: &listeners,
            drift,
            now,
        },
    )
    .await?;
    Ok(Json(ObservationReceipt {
        host: body.host,
        at: now,
        listeners: listeners.len(),
        drift,
    }))
}

/// Paging of `GET /observations`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ObservationsQuery {
    /// At most this many hosts' reports (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Where the previous page ended (its `X-Next-Cursor`).
    pub cursor: Option<String>,
}

/// Every host's last report, by host, a page at a time.
#[utoipa::path(get, path = "/api/v1/observations", tag = "agents", params(ObservationsQuery),
    responses((status = 200, description = "Reports; a next page is announced by `X-Next-Cursor` and `Link: <…>; rel=\"next\"`",
        body = Vec<Observation>,
        headers(("X-Next-Cursor" = String, description = "Cursor of the next page, when there is one"),
                ("Link" = String, description = "`<URL>; rel=\"next\"` of the next page, when there is one")))))]
pub async fn list(
    State(state): State<AppState>,
    _: Auth<READ>,
    ApiQuery(q): ApiQuery<ObservationsQuery>,
) -> Result<Response, ApiError> {
    let limit = super::page_limit(q.limit, 100, 1000)?;
    let page = state
        .store
        .observations_page(q.cursor.as_deref(), limit)
        .await?;
    Ok(super::paged(
        &page.items,
        page.next.as_deref(),
        "/api/v1/observations",
        &[("limit", limit.to_string())],
    ))
}

/// One host's last report.
#[utoipa::path(get, path = "/api/v1/observations/{host}", tag = "agents",
    params(("host" = String, Path, description = "Host name")),
    responses(
        (status = 200, description = "The report", body = Observation),
        (status = 404, description = "No report from that host", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    _: Auth<READ>,
    Path(host): Path<String>,
) -> Result<Json<Observation>, ApiError> {
    check_text("host", &host, 200)?;
    state
        .store
        .observation(&host)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("host", format!("no report from host `{host}`")))
}
