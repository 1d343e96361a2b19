//! Templates and error pages. The minijinja templates under `web/templates/` are embedded
//! in the binary (`include_str!`) and HTML-escaped by default (auto-escape by the `.html`
//! name). Two filters: `time` (Unix seconds → RFC 3339) and `ago` (seconds → `3 min ago`).

use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Environment, Value, context};

use portolan_store::StoreError;

use portolan_store::secrets::RandomError;

/// The embedded templates, by name.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../web/templates/base.html")),
    ("login.html", include_str!("../../web/templates/login.html")),
    ("error.html", include_str!("../../web/templates/error.html")),
    (
        "overview.html",
        include_str!("../../web/templates/overview.html"),
    ),
    (
        "project.html",
        include_str!("../../web/templates/project.html"),
    ),
    (
        "heatmap.html",
        include_str!("../../web/templates/heatmap.html"),
    ),
    (
        "alloc_form.html",
        include_str!("../../web/templates/alloc_form.html"),
    ),
    (
        "alloc_result.html",
        include_str!("../../web/templates/alloc_result.html"),
    ),
    (
        "alloc_partial.html",
        include_str!("../../web/templates/alloc_partial.html"),
    ),
    (
        "allocate.html",
        include_str!("../../web/templates/allocate.html"),
    ),
    ("host.html", include_str!("../../web/templates/host.html")),
    (
        "findings.html",
        include_str!("../../web/templates/findings.html"),
    ),
    ("log.html", include_str!("../../web/templates/log.html")),
    (
        "webhooks.html",
        include_str!("../../web/templates/webhooks.html"),
    ),
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        if let Err(e) = env.add_template(name, source) {
            // a broken template fails every render of it (a 500), and the unit test
            // `templates_parse` catches it before release
            tracing::error!(template = name, error = %e, "dashboard template does not parse");
        }
    }
    env.add_filter("time", |t: i64| super::time(t));
    env.add_filter("ago", |s: i64| ago(s));
    env.add_filter("inline_code", |text: &str| {
        minijinja::Value::from_safe_string(inline_code(text))
    });
    env.add_global("css_version", super::CSS_VERSION.as_str());
    env.add_global("htmx_version", super::HTMX_VERSION);
    env
});

/// The template environment.
pub fn env() -> &'static Environment<'static> {
    &ENV
}

/// `125` → `2 min ago`.
pub fn ago(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} d ago", s / 86_400),
    }
}

/// Escapes `text` for HTML and shows its Markdown code spans (`` `x` ``) as `<code>x</code>`;
/// a backtick without its pair stays a backtick.
pub fn inline_code(text: &str) -> String {
    fn escape(s: &str, out: &mut String) {
        for c in s.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#x27;"),
                c => out.push(c),
            }
        }
    }
    let segments: Vec<&str> = text.split('`').collect();
    let mut out = String::with_capacity(text.len() + 16);
    for (i, segment) in segments.iter().enumerate() {
        if i % 2 == 0 {
            escape(segment, &mut out);
        } else if i + 1 < segments.len() {
            out.push_str("<code>");
            escape(segment, &mut out);
            out.push_str("</code>");
        } else {
            out.push('`');
            escape(segment, &mut out);
        }
    }
    out
}

/// Renders template `name` with `ctx`.
pub fn render(name: &str, ctx: &Value) -> Result<String, WebError> {
    env()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(WebError::Render)
}

/// Renders a whole page.
pub fn page(name: &str, ctx: &Value) -> Result<Html<String>, WebError> {
    render(name, ctx).map(Html)
}

/// Why a page could not be served.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No such project or host.
    #[error("{0}")]
    NotFound(String),
    /// A query parameter that is not what it should be (the message names it).
    #[error("{0}")]
    Invalid(String),
    /// Not allowed (missing or wrong CSRF token, read-only user writing, no session).
    #[error("{0}")]
    Forbidden(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A template failed to render (a bug).
    #[error("template error: {0}")]
    Render(minijinja::Error),
    /// No randomness for a session id.
    #[error(transparent)]
    Random(#[from] RandomError),
}

impl WebError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::Store(e) if e.is_conflict() => StatusCode::CONFLICT,
            WebError::Store(e) if e.is_bad_request() => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = if status.is_server_error() {
            tracing::error!(error = %self, "dashboard request failed");
            "The server could not answer this request; the details are in its log.".to_string()
        } else {
            self.to_string()
        };
        let ctx = context! { status => status.as_u16(), message => message };
        match render("error.html", &ctx) {
            Ok(body) => (status, Html(body)).into_response(),
            Err(_) => (status, message).into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse() {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn output_is_escaped() {
        let html = render(
            "error.html",
            &context! { status => 404, message => "<script>x</script>" },
        )
        .expect("renders");
        assert!(html.contains("&lt;script&gt;x&lt;"), "{html}");
        assert!(!html.contains("<script>x"));
    }

    #[test]
    fn code_spans_become_code_and_the_rest_is_escaped() {
        assert_eq!(
            inline_code("`a<b>` binds `0.0.0.0` & more"),
            "<code>a&lt;b&gt;</code> binds <code>0.0.0.0</code> &amp; more"
        );
        assert_eq!(inline_code("one ` alone"), "one ` alone");
        assert_eq!(inline_code("`x` and ` y"), "<code>x</code> and ` y");
        assert_eq!(inline_code("<script>"), "&lt;script&gt;");
    }

    #[test]
    fn ages() {
        assert_eq!(ago(5), "5 s ago");
        assert_eq!(ago(125), "2 min ago");
        assert_eq!(ago(7200), "2 h ago");
        assert_eq!(ago(200_000), "2 d ago");
    }
}
