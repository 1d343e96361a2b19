//! `GET /api/v1/projects`, `GET /api/v1/projects/{name}`: projects with their ranges and
//! blocks.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use portolan_store::ProjectInfo;

use crate::auth::{Auth, READ};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Every project, by name.
#[utoipa::path(get, path = "/api/v1/projects", tag = "registry",
    responses((status = 200, description = "Projects, by name", body = Vec<ProjectInfo>)))]
pub async fn list(State(state): State<AppState>, _: Auth<READ>) -> Result<Response, ApiError> {
    Ok(state.reads.projects(&*state.store).await?.response())
}

/// One project.
#[utoipa::path(get, path = "/api/v1/projects/{name}", tag = "registry",
    params(("name" = String, Path, description = "Project name")),
    responses(
        (status = 200, description = "The project", body = ProjectInfo),
        (status = 404, description = "No such project", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    _: Auth<READ>,
    Path(name): Path<String>,
) -> Result<Json<ProjectInfo>, ApiError> {
    state
        .reads
        .projects(&*state.store)
        .await?
        .get(&name)
        .first()
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found("name", format!("project `{name}` not found")))
}
