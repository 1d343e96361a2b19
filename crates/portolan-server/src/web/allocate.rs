//! The allocation form: `GET /allocate` (a project to choose) and the form on each project
//! page (prefilled with the port and block of the free heatmap cell clicked, `?port=`)
//! both post to `POST /allocate`, which builds the API's
//! [`AllocRequest`] and calls
//! [`Store::allocate`](portolan_store::Store::allocate) — the CLI's policy, atomically.
//!
//! The POST needs a session of role `write` or `admin` and the session's CSRF token (403
//! otherwise). Sent by htmx (`HX-Request`), it answers 200 with the result fragment and,
//! from a project page, the refreshed heatmap as an out-of-band swap; a plain form post gets
//! the whole page back (409 when the range is full or the name taken, 422 for bad input).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};

use portolan_store::{AllocRequest, Allocated, Transport};

use super::login::Viewer;
use super::pages::project_view;
use super::render::{WebError, page, render};
use crate::AppState;

/// The form's fields (all optional on the wire; checked here).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct AllocForm {
    /// The session's CSRF token.
    #[serde(skip_serializing)]
    pub csrf: String,
    /// Project.
    pub project: String,
    /// Block (empty: the whole range).
    pub block: String,
    /// Service name.
    pub name: String,
    /// The port wished for (empty: the first free one): the free run nearest to it is
    /// taken. A free heatmap cell fills it in.
    pub port: String,
    /// Host (empty: none).
    pub host: String,
    /// `tcp` (default) or `udp`.
    pub transport: String,
    /// Lease length (`2h`; empty: permanent).
    pub lease: String,
    /// Why.
    pub why: String,
    /// `heatmap` when posted from a project page.
    pub view: String,
}

#[derive(Serialize)]
struct AllocView {
    service: String,
    ports: String,
    transport: &'static str,
    lease_until: Option<String>,
    displaced: Vec<String>,
}

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn request(form: &AllocForm, who: &str, now: i64) -> Result<AllocRequest, String> {
    let transport = match form.transport.trim() {
        "" | "tcp" => Transport::Tcp,
        "udp" => Transport::Udp,
        other => return Err(format!("invalid transport `{other}`: use tcp or udp")),
    };
    let lease = match opt(&form.lease) {
        Some(l) => Some(
            portolan_alloc::lease::parse_duration(&l).map_err(|e| format!("invalid lease: {e}"))?,
        ),
        None => None,
    };
    let near = match opt(&form.port) {
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("invalid port `{p}`: a port from 1 to 65535"))?,
        ),
        None => None,
    };
    let mut req = AllocRequest::new(form.project.trim(), form.name.trim(), who, now);
    req.near = near;
    req.block = opt(&form.block);
    req.host = opt(&form.host);
    req.transport = transport;
    req.lease = lease;
    req.why = opt(&form.why);
    Ok(req)
}

fn result_view(a: &Allocated) -> AllocView {
    AllocView {
        service: a.service.clone(),
        ports: if a.lo == a.hi {
            a.lo.to_string()
        } else {
            format!("{}-{}", a.lo, a.hi)
        },
        transport: match a.transport {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        },
        lease_until: a.lease_until.map(super::time),
        displaced: a.displaced.clone(),
    }
}

/// `GET /allocate`: the form with a project to choose.
pub async fn allocate_page(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, WebError> {
    if !viewer.session.can_write() {
        return Err(WebError::Forbidden(
            "Allocating needs a token with the write or admin role.",
        ));
    }
    let html = allocate_form_page(&state, &viewer, &AllocForm::default(), None, None).await?;
    Ok(html.into_response())
}

async fn allocate_form_page(
    state: &AppState,
    viewer: &Viewer,
    form: &AllocForm,
    result: Option<AllocView>,
    error: Option<String>,
) -> Result<Html<String>, WebError> {
    let projects = state.reads.projects(&*state.store).await?;
    let hosts = state.reads.hosts(&*state.store).await?;
    let (projects, hosts) = (&projects.items, &hosts.items);
    let mut blocks: Vec<String> = projects
        .iter()
        .flat_map(|p| p.blocks.iter().map(|b| b.name.clone()))
        .collect();
    blocks.sort();
    blocks.dedup();
    let ctx = context! {
        ..viewer.context(),
        ..context! {
            projects => projects,
            blocks => blocks,
            host_names => hosts.iter().map(|h| h.name.clone()).collect::<Vec<_>>(),
            form => form,
            result => result,
            error => error,
        }
    };
    page("allocate.html", &ctx)
}

/// `POST /allocate`.
pub async fn allocate(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let form: AllocForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    viewer.check_csrf(&form.csrf)?;
    if !viewer.session.can_write() {
        return Err(WebError::Forbidden(
            "Allocating needs a token with the write or admin role.",
        ));
    }
    let htmx = headers.contains_key("hx-request");
    let now = state.now();
    let (status, result, error) = match request(&form, &viewer.session.who(), now) {
        Err(message) => (StatusCode::UNPROCESSABLE_ENTITY, None, Some(message)),
        Ok(req) => match state.store.allocate(&req).await {
            Ok(a) => {
                tracing::info!(service = %a.service, port = a.lo, who = %req.who, "dashboard allocation");
                (StatusCode::OK, Some(result_view(&a)), None)
            }
            Err(e) => {
                let e = WebError::Store(e);
                let status = e.status();
                if status.is_server_error() {
                    return Err(e);
                }
                (status, None, Some(e.to_string()))
            }
        },
    };
    let from_project = form.view == "heatmap";
    if htmx {
        // htmx swaps only 2xx answers: errors are shown in the fragment with 200
        let heatmap = if from_project {
            project_view(&state, form.project.trim(), 0)
                .await
                .ok()
                .and_then(|v| v.heatmap)
        } else {
            None
        };
        let html = render(
            "alloc_partial.html",
            &context! {
                ..viewer.context(),
                ..context! { result => result, error => error, heatmap => heatmap, oob => true }
            },
        )?;
        return Ok(Html(html).into_response());
    }
    if from_project {
        let view = project_view(&state, form.project.trim(), 0).await?;
        let ctx = context! {
            ..viewer.context(),
            ..context! { result => result, error => error, form => &form },
            ..view.context
        };
        return Ok((status, page("project.html", &ctx)?).into_response());
    }
    let html = allocate_form_page(&state, &viewer, &form, result, error).await?;
    Ok((status, html).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_from_forms() {
        let form = AllocForm {
            project: " dashboard ".into(),
            block: "api".into(),
            name: "svc".into(),
            transport: "udp".into(),
            lease: "2h".into(),
            ..AllocForm::default()
        };
        let req = request(&form, "me", 10).expect("valid");
        assert_eq!(req.project, "dashboard");
        assert_eq!(req.block.as_deref(), Some("api"));
        assert_eq!(req.host, None);
        assert_eq!(req.transport, Transport::Udp);
        assert_eq!(req.lease, Some(7200));
        assert_eq!(req.binding, "main");
        let bad = AllocForm {
            transport: "sctp".into(),
            ..form.clone()
        };
        assert!(request(&bad, "me", 10).is_err());
        let bad = AllocForm {
            lease: "soon".into(),
            ..form.clone()
        };
        assert!(request(&bad, "me", 10).is_err());
        // a free heatmap cell's port is the wish
        let wish = AllocForm {
            port: " 20015 ".into(),
            ..form.clone()
        };
        assert_eq!(request(&wish, "me", 10).expect("valid").near, Some(20015));
        assert_eq!(req.near, None);
        for port in ["0", "65536", "http"] {
            let bad = AllocForm {
                port: port.into(),
                ..form.clone()
            };
            assert!(
                request(&bad, "me", 10).is_err_and(|e| e.contains("invalid port")),
                "{port}"
            );
        }
    }
}
