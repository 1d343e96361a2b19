//! Dashboard sessions: a token typed into the login form becomes a random session id in an
//! `HttpOnly; SameSite=Strict; Path=/` cookie. Sessions live in memory with an absolute
//! expiry ([`SESSION_TTL`], never past the token's own expiry); every request re-checks that
//! the token is neither revoked nor expired, so revoking a token ends its sessions.
//!
//! The cookies get `Secure` under the [`CookiePolicy`]: always (`serve --cookie-secure`, for
//! a dashboard only ever reached over TLS), or per request when it came through a trusted
//! TLS proxy: `X-Forwarded-Proto: https` set by a peer inside a `--trusted-proxy` range
//! ([`crate::proxy`]). The header from any other peer is ignored, since a client can send
//! whatever it likes.
//!
//! Each session carries its own CSRF token, which every form repeats in a hidden field
//! (compared in constant time, as every secret: `portolan_store::secrets`). The login form,
//! which has no session yet, uses a double-submit token: a short-lived `portolan_login`
//! cookie and the same value in the form.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use portolan_store::Role;
use portolan_store::secrets::{RandomError, random_hex};

use crate::proxy::ClientInfo;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "portolan_session";
/// Name of the login form's double-submit cookie.
pub const LOGIN_COOKIE: &str = "portolan_login";
/// How long a session lasts after login (seconds).
pub const SESSION_TTL: i64 = 8 * 3600;
/// How long the login form stays valid (seconds).
pub const LOGIN_TTL: i64 = 600;
/// Sessions kept at most; the oldest are dropped beyond it.
pub const MAX_SESSIONS: usize = 10_000;

/// A logged-in user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The id of the token used to log in (never its secret).
    pub token_id: String,
    /// The token's role.
    pub role: Role,
    /// The token's label (shown, and written to the log as who).
    pub label: String,
    /// The CSRF token of this session.
    pub csrf: String,
    /// When the session was created.
    pub created: i64,
    /// When it ends.
    pub expires: i64,
}

impl Session {
    /// Whether this user may allocate (role `write` or `admin`).
    pub fn can_write(&self) -> bool {
        self.role.allows(Role::Write)
    }

    /// Who, for the change log: the token's label, else its id.
    pub fn who(&self) -> String {
        if self.label.trim().is_empty() {
            format!("token:{}", self.token_id)
        } else {
            self.label.clone()
        }
    }
}

/// When the dashboard's cookies get the `Secure` attribute.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CookiePolicy {
    /// Always (`serve --cookie-secure`: the dashboard is only reached over TLS).
    pub always_secure: bool,
}

impl CookiePolicy {
    /// Whether a request from `client` came over TLS as far as can be trusted: always with
    /// `always_secure`; else when a trusted proxy said so (`X-Forwarded-Proto: https`, see
    /// [`crate::proxy`]).
    pub fn secure_for(&self, client: &ClientInfo) -> bool {
        self.always_secure || client.forwarded_https
    }
}

/// The in-memory session table.
#[derive(Default)]
pub struct Sessions {
    table: Mutex<HashMap<String, Session>>,
    /// When cookies get the `Secure` attribute.
    pub policy: CookiePolicy,
}

impl std::fmt::Debug for Sessions {
    // never print session ids
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.table.lock().map_or(0, |t| t.len());
        f.debug_struct("Sessions")
            .field("count", &n)
            .field("policy", &self.policy)
            .finish()
    }
}

impl Sessions {
    /// An empty table whose cookies follow `policy`.
    pub fn with_policy(policy: CookiePolicy) -> Self {
        Sessions {
            table: Mutex::default(),
            policy,
        }
    }

    /// Starts a session; returns its id.
    pub fn create(&self, mut session: Session) -> Result<String, RandomError> {
        let id = random_hex(32)?;
        session.csrf = random_hex(32)?;
        let mut table = self.lock();
        let now = session.created;
        table.retain(|_, s| s.expires > now);
        while table.len() >= MAX_SESSIONS {
            let oldest = table
                .iter()
                .min_by_key(|(_, s)| s.created)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => table.remove(&k),
                None => break,
            };
        }
        table.insert(id.clone(), session);
        Ok(id)
    }

    /// The live session with this id (an expired one is removed).
    pub fn get(&self, id: &str, now: i64) -> Option<Session> {
        let mut table = self.lock();
        match table.get(id) {
            Some(s) if s.expires > now => Some(s.clone()),
            Some(_) => {
                table.remove(id);
                None
            }
            None => None,
        }
    }

    /// Ends a session.
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Ends every session opened with this token.
    pub fn remove_token(&self, token_id: &str) {
        self.lock().retain(|_, s| s.token_id != token_id);
    }

    /// How many sessions are open.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // a panic while holding the lock cannot leave the map half-updated
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Set-Cookie` value for a new session, for a request from `client` (which decides
    /// `Secure`, see [`CookiePolicy::secure_for`]).
    pub fn session_cookie(&self, id: &str, max_age: i64, client: &ClientInfo) -> String {
        let secure = self.policy.secure_for(client);
        cookie_header(SESSION_COOKIE, id, "/", max_age, secure)
    }

    /// `Set-Cookie` value that deletes the session cookie.
    pub fn clear_session_cookie(&self, client: &ClientInfo) -> String {
        let secure = self.policy.secure_for(client);
        cookie_header(SESSION_COOKIE, "", "/", 0, secure)
    }

    /// `Set-Cookie` value for the login form's double-submit token.
    pub fn login_cookie(&self, value: &str, client: &ClientInfo) -> String {
        let secure = self.policy.secure_for(client);
        cookie_header(LOGIN_COOKIE, value, "/login", LOGIN_TTL, secure)
    }

    /// `Set-Cookie` value that deletes the login cookie.
    pub fn clear_login_cookie(&self, client: &ClientInfo) -> String {
        let secure = self.policy.secure_for(client);
        cookie_header(LOGIN_COOKIE, "", "/login", 0, secure)
    }
}

fn cookie_header(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> String {
    let mut c =
        format!("{name}={value}; HttpOnly; SameSite=Strict; Path={path}; Max-Age={max_age}");
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(now: i64) -> Session {
        Session {
            token_id: "abc".into(),
            role: Role::Read,
            label: String::new(),
            csrf: String::new(),
            created: now,
            expires: now + 10,
        }
    }

    #[test]
    fn sessions_expire_and_get_fresh_csrf() {
        let s = Sessions::default();
        let id = s.create(session(100)).expect("random");
        assert_eq!(id.len(), 64);
        let got = s.get(&id, 105).expect("live");
        assert_eq!(got.csrf.len(), 64);
        assert_ne!(got.csrf, id);
        assert_eq!(got.who(), "token:abc");
        assert!(s.get(&id, 110).is_none());
        assert!(s.is_empty());
        let id = s.create(session(100)).expect("random");
        s.remove_token("abc");
        assert!(s.get(&id, 100).is_none());
    }

    #[test]
    fn cookies_parse_and_carry_attributes() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            "a=1; portolan_session=xyz ; b=".parse().expect("header"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "b"), None);
        assert_eq!(cookie(&h, "c"), None);
        let s = Sessions::default();
        let plain = ClientInfo::default();
        let c = s.session_cookie("id", 60, &plain);
        assert!(c.contains("HttpOnly; SameSite=Strict; Path=/;"), "{c}");
        assert!(!c.contains("Secure"));
        let proxied = ClientInfo {
            forwarded_https: true,
            ..ClientInfo::default()
        };
        assert!(s.login_cookie("n", &proxied).ends_with("; Secure"));
        let s = Sessions::with_policy(CookiePolicy {
            always_secure: true,
        });
        assert!(
            s.clear_session_cookie(&plain)
                .ends_with("Max-Age=0; Secure")
        );
    }
}
