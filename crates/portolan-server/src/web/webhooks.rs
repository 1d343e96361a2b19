//! The webhooks page (admins only): each webhook's events and receiver, and its delivery
//! log — status, attempts, the receiver's last answer or the last error — newest first.
//!
//! A webhook URL often carries a token in its path or query (chat and incident services
//! put the credential there), so the page shows only the receiver's origin
//! (`https://hooks.example:8443`), never the rest; the full URL stays in the admin API.

use axum::extract::State;
use axum::response::Html;
use minijinja::context;
use portolan_store::{DeliveryRecord, Role, WebhookInfo};
use serde::Serialize;

use super::login::Viewer;
use super::render::{WebError, page};
use crate::state::AppState;

/// Deliveries shown per webhook (the newest).
pub const DELIVERIES_SHOWN: u32 = 20;

/// One webhook as the page shows it.
#[derive(Debug, Serialize)]
struct WebhookView {
    id: String,
    label: String,
    events: String,
    origin: String,
    created: String,
    deliveries: Vec<DeliveryView>,
}

/// One delivery as the page shows it.
#[derive(Debug, Serialize)]
struct DeliveryView {
    id: i64,
    event: String,
    created: String,
    updated: String,
    status: &'static str,
    attempts: i64,
    response: Option<i64>,
    error: Option<String>,
}

/// `scheme://host[:port]` of a webhook URL: what the page may show of it.
pub fn origin(url: &str) -> String {
    match url.parse::<axum::http::Uri>() {
        Ok(uri) => match (uri.scheme_str(), uri.authority()) {
            // userinfo never reaches here: URLs with a user are refused at creation, and
            // `host()` and `port()` leave it out regardless
            (Some(scheme), Some(a)) => match a.port_u16() {
                Some(port) => format!("{scheme}://{}:{port}", a.host()),
                None => format!("{scheme}://{}", a.host()),
            },
            _ => "(not a URL)".into(),
        },
        Err(_) => "(not a URL)".into(),
    }
}

fn delivery(d: DeliveryRecord) -> DeliveryView {
    DeliveryView {
        id: d.id,
        event: d.event,
        created: super::time(d.created),
        updated: super::time(d.updated),
        status: d.status.as_str(),
        attempts: d.attempts,
        response: d.response,
        error: d.error,
    }
}

async fn view(state: &AppState, w: WebhookInfo) -> Result<WebhookView, WebError> {
    let deliveries = state
        .store
        .deliveries(&w.id, DELIVERIES_SHOWN)
        .await?
        .into_iter()
        .map(delivery)
        .collect();
    Ok(WebhookView {
        events: w
            .events
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        origin: origin(&w.url),
        created: super::time(w.created),
        id: w.id,
        label: w.label,
        deliveries,
    })
}

/// `GET /webhooks`: every webhook with its newest deliveries (403 below admin).
pub async fn webhooks_page(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Html<String>, WebError> {
    if !viewer.session.role.allows(Role::Admin) {
        return Err(WebError::Forbidden(
            "the webhooks and their delivery log are for admin tokens",
        ));
    }
    let mut hooks = Vec::new();
    for w in state.store.webhooks().await? {
        hooks.push(view(&state, w).await?);
    }
    let ctx = context! {
        ..viewer.context(),
        ..context! { webhooks => hooks, shown => DELIVERIES_SHOWN }
    };
    page("webhooks.html", &ctx)
}

#[cfg(test)]
mod tests {
    use super::origin;

    #[test]
    fn only_the_origin_of_a_url_is_shown() {
        assert_eq!(
            origin("https://hooks.example/services/T000/B000/s3cr3t?token=x"),
            "https://hooks.example"
        );
        assert_eq!(
            origin("http://127.0.0.1:9000/hook"),
            "http://127.0.0.1:9000"
        );
        assert_eq!(origin("not a url"), "(not a URL)");
    }
}
