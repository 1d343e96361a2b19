//! The dashboard: server-rendered HTML (minijinja templates embedded in the binary,
//! HTML-escaped by default) with a vendored, pinned htmx for the one partial update (the
//! allocation form refreshes the heatmap). No JavaScript build step, and pages load nothing
//! from any other origin.
//!
//! | route | page |
//! |---|---|
//! | `GET /` | overview: counts, projects with range use, hosts with agent freshness and drift counts |
//! | `GET /projects/{name}` | the project's range heatmap (one cell per port), blocks, services, allocation form (`?port=`, where a free cell leads, prefills it) |
//! | `GET /hosts/{name}` | declared bindings vs the agent's last report: matching, missing, undeclared; the listener timeline (`?port=`, `?before=`, [`timeline`]) |
//! | `GET /findings` | stored findings (`?severity=error`) |
//! | `GET /log` | the change log, paged (`?after=ID`) |
//! | `GET`/`POST /allocate` | the allocation form (role write or admin) |
//! | `GET`/`POST /login`, `POST /logout` | token login, session cookie |
//! | `GET /static/htmx.min.js`, `/static/dashboard.css`, `/static/favicon.svg` | assets, cached for a year |
//!
//! Security: a token logs in once and becomes a random session id in an
//! `HttpOnly; SameSite=Strict; Path=/` cookie ([`session`]), `Secure` when served over TLS
//! (`--cookie-secure`, or `X-Forwarded-Proto: https` from a `--trusted-proxy` peer); every form carries a CSRF token
//! bound to the session (403 without it); read-only users see no write controls and their
//! POSTs are refused (403); pages without a session redirect to `/login`. Every answer
//! carries a strict Content-Security-Policy (scripts and styles from this origin only, no
//! framing), `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, and pages
//! are `Cache-Control: no-store`.

pub mod allocate;
pub mod drift;
pub mod findings;
pub mod heatmap;
pub mod login;
pub mod pages;
pub mod render;
pub mod session;
pub mod timeline;
pub mod webhooks;

pub use session::{CookiePolicy, Sessions};

use std::sync::LazyLock;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::AppState;

/// The vendored htmx's version (`web/static/README.md` has its source and sha256).
pub const HTMX_VERSION: &str = "2.0.4";
/// htmx, minified, unmodified.
pub const HTMX_JS: &[u8] = include_bytes!("../../web/static/htmx.min.js");
/// The stylesheet.
pub const CSS: &[u8] = include_bytes!("../../web/static/dashboard.css");
/// The tab icon.
pub const FAVICON: &[u8] = include_bytes!("../../web/static/favicon.svg");
/// A short hash of the stylesheet, appended to its URL so the year-long cache is safe.
pub static CSS_VERSION: LazyLock<String> = LazyLock::new(|| format!("{:08x}", fnv1a(CSS)));

/// Largest form body accepted.
pub const MAX_FORM: usize = 16 * 1024;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The dashboard's routes, merged into the server's router.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::overview))
        .route("/projects/{name}", get(pages::project_page))
        .route("/hosts/{name}", get(pages::host_page))
        .route("/findings", get(findings::findings_page))
        .route("/log", get(pages::log_page))
        .route("/webhooks", get(webhooks::webhooks_page))
        .route(
            "/allocate",
            get(allocate::allocate_page).post(allocate::allocate),
        )
        .route("/login", get(login::login_page).post(login::login))
        .route("/logout", post(login::logout))
        .route("/static/htmx.min.js", get(htmx))
        .route("/static/dashboard.css", get(css))
        .route("/static/favicon.svg", get(favicon))
        .layer(DefaultBodyLimit::max(MAX_FORM))
        .layer(map_response(security_headers))
}

async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if !h.contains_key(CACHE_CONTROL) {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

fn asset(content_type: &'static str, body: &'static [u8]) -> Response {
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, content_type),
            (CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

async fn htmx() -> Response {
    asset("text/javascript; charset=utf-8", HTMX_JS)
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

async fn favicon() -> Response {
    asset("image/svg+xml", FAVICON)
}

/// Unix seconds as RFC 3339 (`2026-11-27T10:00:00Z`).
pub fn time(t: i64) -> String {
    portolan_model::spec::Timestamp(t).to_string()
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use sha2::Digest as _;

    #[test]
    fn htmx_is_the_pinned_file() {
        let digest = sha2::Sha256::digest(super::HTMX_JS);
        let hex = digest.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        });
        let readme = include_str!("../../web/static/README.md");
        assert!(
            readme.contains(&hex),
            "htmx.min.js sha256 {hex} is not the one in README.md"
        );
        assert!(readme.contains(&format!("htmx {}", super::HTMX_VERSION)));
    }
}
