//! Login, logout and the [`Viewer`] extractor every dashboard page takes.
//!
//! `GET /login` shows a form with a fresh double-submit token (also set as the
//! `portolan_login` cookie); `POST /login` checks both, then the token with
//! [`Store::verify_token`](portolan_store::Store::verify_token), and on success starts a
//! session and redirects to the overview. A refused token answers 401 after a short delay
//! (slowing down guessing). `POST /logout` (CSRF-checked) ends the session.
//!
//! [`Viewer`] reads the session cookie: without a live session, a `GET` is redirected to
//! `/login` and anything else is refused with 403. The token behind a session is re-checked
//! on every request, so revoking or expiring it ends the session.

use std::time::Duration;

use axum::extract::{FromRequestParts, State};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{AppendHeaders, Html, IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

use portolan_store::StoreError;
use portolan_store::secrets::{random_hex, same_secret};

use super::render::{WebError, page};
use super::session::{LOGIN_COOKIE, SESSION_COOKIE, SESSION_TTL, Session, cookie};
use crate::AppState;
use crate::proxy::{Client, ClientInfo};

/// How long a refused login waits before answering.
const REFUSAL_DELAY: Duration = Duration::from_millis(300);

/// The logged-in user of a request.
#[derive(Clone, Debug)]
pub struct Viewer {
    /// The session id (the cookie's value).
    pub id: String,
    /// The session.
    pub session: Session,
}

impl Viewer {
    /// What every page's template gets: `user` and `csrf`.
    pub fn context(&self) -> minijinja::Value {
        context! {
            user => context! {
                label => self.session.label.clone(),
                role => self.session.role.as_str(),
                can_write => self.session.can_write(),
            },
            csrf => self.session.csrf.clone(),
        }
    }

    /// Refuses (403) unless `csrf` is this session's token.
    pub fn check_csrf(&self, csrf: &str) -> Result<(), WebError> {
        if same_secret(csrf.as_bytes(), self.session.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(WebError::Forbidden(
                "The form's CSRF token is missing or wrong: reload the page and try again.",
            ))
        }
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let deny = |method: &Method| {
            if method == Method::GET || method == Method::HEAD {
                Redirect::to("/login").into_response()
            } else {
                WebError::Forbidden("You are not logged in (or your session ended).")
                    .into_response()
            }
        };
        let now = state.now();
        let Some(id) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(deny(&parts.method));
        };
        let Some(session) = state.sessions.get(id, now) else {
            return Err(deny(&parts.method));
        };
        let tokens = state
            .store
            .tokens()
            .await
            .map_err(|e| WebError::Store(e).into_response())?;
        let valid = tokens.iter().any(|t| {
            t.id == session.token_id && t.revoked.is_none() && t.expires.is_none_or(|e| e > now)
        });
        if !valid {
            state.sessions.remove_token(&session.token_id);
            return Err(deny(&parts.method));
        }
        Ok(Viewer {
            id: id.to_string(),
            session,
        })
    }
}

/// `GET /login`.
pub async fn login_page(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    if let Some(id) = cookie(&headers, SESSION_COOKIE)
        && state.sessions.get(id, state.now()).is_some()
    {
        return Ok(Redirect::to("/").into_response());
    }
    login_form(&state, &client, StatusCode::OK, None)
}

fn login_form(
    state: &AppState,
    client: &ClientInfo,
    status: StatusCode,
    error: Option<&str>,
) -> Result<Response, WebError> {
    let nonce = random_hex(16)?;
    let body: Html<String> = page("login.html", &context! { csrf => &nonce, error => error })?;
    Ok((
        status,
        AppendHeaders([(SET_COOKIE, state.sessions.login_cookie(&nonce, client))]),
        body,
    )
        .into_response())
}

/// The login form's fields.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    csrf: String,
    token: String,
}

/// `POST /login`.
pub async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let form: LoginForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if !same_secret(form.csrf.as_bytes(), expected.as_bytes()) {
        return login_form(
            &state,
            &client,
            StatusCode::FORBIDDEN,
            Some("The login form expired or was not sent by this page: try again."),
        );
    }
    let now = state.now();
    if state.auth_throttle.check(client.addr).is_err() {
        return login_form(
            &state,
            &client,
            StatusCode::TOO_MANY_REQUESTS,
            Some("Too many refused tokens from this address: wait a minute and try again."),
        );
    }
    let info = match state.store.verify_token(form.token.trim(), now).await {
        Ok(info) => info,
        Err(StoreError::Token(reason)) => {
            tracing::info!(%reason, "dashboard login refused");
            state.auth_throttle.failed(client.addr);
            tokio::time::sleep(REFUSAL_DELAY).await;
            return login_form(
                &state,
                &client,
                StatusCode::UNAUTHORIZED,
                Some("This token was not accepted."),
            );
        }
        Err(e) => return Err(e.into()),
    };
    let expires = info
        .expires
        .map_or(now + SESSION_TTL, |e| e.min(now + SESSION_TTL));
    let id = state.sessions.create(Session {
        token_id: info.id.clone(),
        role: info.role,
        label: info.label.clone(),
        csrf: String::new(),
        created: now,
        expires,
    })?;
    tracing::info!(token = %info.id, role = info.role.as_str(), "dashboard login");
    Ok((
        AppendHeaders([
            (
                SET_COOKIE,
                state
                    .sessions
                    .session_cookie(&id, expires.saturating_sub(now), &client),
            ),
            (SET_COOKIE, state.sessions.clear_login_cookie(&client)),
        ]),
        Redirect::to("/"),
    )
        .into_response())
}

/// A form with only the CSRF token.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /logout`.
pub async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    Client(client): Client,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let form: CsrfForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    viewer.check_csrf(&form.csrf)?;
    state.sessions.remove(&viewer.id);
    Ok((
        AppendHeaders([(SET_COOKIE, state.sessions.clear_session_cookie(&client))]),
        Redirect::to("/login"),
    )
        .into_response())
}
