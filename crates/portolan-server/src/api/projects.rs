//! `GET /api/v1/projects`, `GET /api/v1/projects/{name}`: projects with their ranges and
//! blocks.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Auth, READ};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// A project.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Project {
    /// Name.
    pub name: String,
    /// Range (`5000-5399`), if any.
    pub range: Option<String>,
    /// Blocks, by name.
    pub blocks: Vec<Block>,
}

/// A block of a project's range.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Block {
    /// Name.
    pub name: String,
    /// Ports (`5021-5030`).
    pub ports: String,
    /// Purpose.
    pub purpose: Option<String>,
}

impl From<portolan_store::ProjectInfo> for Project {
    fn from(p: portolan_store::ProjectInfo) -> Self {
        Project {
            name: p.name,
            range: p.range,
            blocks: p
                .blocks
                .into_iter()
                .map(|b| Block {
                    name: b.name,
                    ports: b.ports,
                    purpose: b.purpose,
                })
                .collect(),
        }
    }
}

/// Every project, by name.
#[utoipa::path(get, path = "/api/v1/projects", tag = "registry",
    responses((status = 200, description = "Projects, by name", body = Vec<Project>)))]
pub async fn list(
    State(state): State<AppState>,
    _: Auth<READ>,
) -> Result<Json<Vec<Project>>, ApiError> {
    Ok(Json(
        state
            .store
            .projects()
            .await?
            .into_iter()
            .map(Project::from)
            .collect(),
    ))
}

/// One project.
#[utoipa::path(get, path = "/api/v1/projects/{name}", tag = "registry",
    params(("name" = String, Path, description = "Project name")),
    responses(
        (status = 200, description = "The project", body = Project),
        (status = 404, description = "No such project", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    _: Auth<READ>,
    Path(name): Path<String>,
) -> Result<Json<Project>, ApiError> {
    state
        .store
        .projects()
        .await?
        .into_iter()
        .find(|p| p.name == name)
        .map(|p| Json(p.into()))
        .ok_or_else(|| ApiError::not_found("name", format!("project `{name}` not found")))
}
