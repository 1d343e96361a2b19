//! The REST API under `/api/v1`, one file per resource, and its OpenAPI 3 document
//! (`GET /api/v1/openapi.json`, generated from the handlers by utoipa, so it cannot drift
//! from the routes). Every route needs a bearer token (see [`crate::auth`]); the document
//! itself is public. Every error is a JSON [`ErrorBody`](crate::error::ErrorBody).
//!
//! Records are served as the store returns them ([`portolan_store::types`], whose
//! `utoipa` schemas carry the names this document uses: `Project`, `Host`, `Service`,
//! `Binding`, `Reservation`, `Lease`, `LogEntry`, `ObservationRecord`, `Finding`,
//! `TokenRecord`, `Webhook`, `Delivery`); the files here hold only the request bodies and the responses the API
//! composes itself.

pub mod allocate;
pub mod bindings;
pub mod findings;
pub mod history;
pub mod hosts;
pub mod leases;
pub mod log;
pub mod observations;
pub mod projects;
pub mod reservations;
pub mod services;
pub mod spec;
pub mod tokens;
pub mod webhooks;

use std::collections::BTreeMap;

use axum::Router;
use axum::http::HeaderValue;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Doc, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// The answer of a paged list: the page as a JSON array, and when there is a next page,
/// its cursor in `X-Next-Cursor` and its address in `Link: <…>; rel="next"`.
pub(crate) fn paged<T: Serialize>(
    items: &[T],
    next: Option<&str>,
    path: &str,
    query: &[(&str, String)],
) -> axum::response::Response {
    let mut res = axum::Json(items).into_response();
    if let Some(cursor) = next {
        let mut link = form_urlencoded::Serializer::new(String::new());
        for (k, v) in query {
            link.append_pair(k, v);
        }
        link.append_pair("cursor", cursor);
        let link = format!("<{path}?{}>; rel=\"next\"", link.finish());
        for (name, value) in [("x-next-cursor", cursor.to_string()), ("link", link)] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                res.headers_mut().insert(name, v);
            }
        }
    }
    res
}

/// A page size from the query: `default` when absent, else 1 to `max` (400 naming `limit`).
pub(crate) fn page_limit(limit: Option<u32>, default: u32, max: u32) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::bad_request(
            "limit",
            format!("limit: between 1 and {max}"),
        ))
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "portolan registry",
        description = "Network ports as code, team mode: one shared allocator and live picture. \
            Every route needs `Authorization: Bearer ptk_…` (roles read < write < admin).",
        license(name = "MIT OR Apache-2.0")
    ),
    components(schemas(ErrorBody)),
    tags(
        (name = "registry", description = "Projects, hosts, services, bindings"),
        (name = "allocation", description = "Allocate, release, reserve, leases, gc"),
        (name = "agents", description = "Observations and findings"),
        (name = "spec", description = "The registry as ports.toml"),
        (name = "admin", description = "Tokens and webhooks")
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Doc) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        doc.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

/// Adds the errors every route can answer (400, 401, 403, 413, 422, 429, 500) to every
/// operation, next to the route-specific ones its handler documents.
struct StandardErrors;

fn error_response(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                Content::new(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "ErrorBody",
                )))),
            )
            .build(),
    )
}

impl Modify for StandardErrors {
    fn modify(&self, doc: &mut Doc) {
        let standard: BTreeMap<&str, &str> = [
            (
                "400",
                "Malformed request (bad JSON, bad query); `field` names what",
            ),
            ("401", "No token, or an invalid, expired or revoked one"),
            ("403", "The token's role is too low"),
            ("413", "Request body too large"),
            (
                "415",
                "The body's Content-Type is not the one the route reads",
            ),
            ("422", "Well-formed but invalid request; `field` names what"),
            ("429", "Rate limit of the token exceeded; see Retry-After"),
            ("500", "The database failed (details in the server log)"),
        ]
        .into_iter()
        .collect();
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                for (code, description) in &standard {
                    op.responses
                        .responses
                        .entry((*code).to_string())
                        .or_insert_with(|| error_response(description));
                }
            }
        }
    }
}

/// The API routes (under `/api/v1`) and their OpenAPI document.
pub fn router() -> (Router<AppState>, Doc) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(projects::list))
        .routes(routes!(projects::get))
        .routes(routes!(hosts::list))
        .routes(routes!(hosts::get))
        .routes(routes!(services::list))
        .routes(routes!(services::get))
        .routes(routes!(bindings::list))
        .routes(routes!(allocate::allocate))
        .routes(routes!(allocate::release))
        .routes(routes!(reservations::reserve))
        .routes(routes!(reservations::list))
        .routes(routes!(leases::list))
        .routes(routes!(leases::gc))
        .routes(routes!(observations::list, observations::push))
        .routes(routes!(observations::get))
        .routes(routes!(findings::list))
        .routes(routes!(history::report))
        .routes(routes!(history::history))
        .routes(routes!(history::state_at))
        .routes(routes!(history::diff))
        .routes(routes!(log::list))
        .routes(routes!(spec::export, spec::import))
        .routes(routes!(tokens::create, tokens::list))
        .routes(routes!(tokens::revoke))
        .routes(routes!(webhooks::create, webhooks::list))
        .routes(routes!(webhooks::delete))
        .routes(routes!(webhooks::deliveries))
        .split_for_parts();
    // the document's own modifiers ran before the routes were added
    Security.modify(&mut doc);
    StandardErrors.modify(&mut doc);
    (router, doc)
}
