//! The dashboard, through the whole router (no network): every page renders for an admin
//! and a read-only user, the read-only user sees no write controls and is refused on POST,
//! CSRF, login and logout, and the heatmap's cell states for a seeded registry (the
//! es-dashboards example imported into SQLite, plus an allocation, a lease, a reservation,
//! an agent report and a finding). `browser` drives the same in real headless Chromium.

mod browser;
mod timeline;

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{Request, StatusCode};
use tower::ServiceExt as _;

use portolan_server::AppState;
use portolan_server::proxy::TrustedProxies;
use portolan_server::web::CookiePolicy;
use portolan_store::{AllocRequest, Observation, ReserveRequest, Role, Store, StoredFinding};

pub const EXAMPLE: &str = include_str!("../../../../examples/es-dashboards-port-guide/ports.toml");

/// The seeded registry.
pub struct Seeded {
    pub store: Arc<dyn Store>,
    pub admin: String,
    pub reader: String,
    /// Port allocated to `web-alloc` (block websocket).
    pub allocated: u16,
    /// Port leased to `ci-lease` (block background).
    pub leased: u16,
    pub _dir: tempfile::TempDir,
}

pub fn now() -> i64 {
    portolan_model::clock::Clock::from_env()
        .expect("PORTOLAN_NOW")
        .now()
}

/// Imports the example into a fresh SQLite store and adds one of everything.
pub async fn seed() -> Seeded {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("portolan.db").display());
    let store: Arc<dyn Store> = Arc::from(portolan_store::open(&url).await.expect("open"));
    // es-inventory-hub's range steps around PostgreSQL's 5432, as the example's fix for its
    // mistake 1 would: a split range for the heatmap
    let split = EXAMPLE.replacen(
        r#"range = "5400-5499""#,
        r#"range = "5400-5431, 5433-5499""#,
        1,
    );
    assert_ne!(split, EXAMPLE, "the example's es-inventory-hub range moved");
    store.import_spec(&split).await.expect("import example");
    let now = now();
    let mut req = AllocRequest::new("dashboard", "web-alloc", "seed", now);
    req.block = Some("websocket".into());
    req.host = Some("es-host".into());
    let allocated = store.allocate(&req).await.expect("allocate").lo;
    let mut req = AllocRequest::new("dashboard", "ci-lease", "seed", now);
    req.block = Some("background".into());
    req.host = Some("es-host".into());
    req.lease = Some(3600);
    let leased = store.allocate(&req).await.expect("lease").lo;
    store
        .reserve(&ReserveRequest {
            ports: "5061-5062".into(),
            project: "dashboard".into(),
            why: "load tests <next quarter>".into(),
            host: None,
            until: None,
            who: "seed".into(),
            now,
        })
        .await
        .expect("reserve");
    store
        .put_observation(&Observation {
            host: "es-host".into(),
            listeners: serde_json::json!([
                {"transport": "tcp", "addr": "0.0.0.0", "port": 5000, "local": "0.0.0.0:5000",
                 "owners": [{"pid": 10, "name": "socat", "cmdline": "socat", "user": "root", "container": null}]},
                {"transport": "tcp", "addr": "127.0.0.1", "port": 5399},
                {"transport": "tcp", "addr": "0.0.0.0", "port": 5062},
                // IPv6, from an agent that sends the address alone, and from one that
                // writes `local` unbracketed
                {"transport": "tcp", "addr": "::1", "port": 18081},
                {"transport": "udp", "local": ":::18082", "port": 18082},
                {"transport": "tcp", "addr": "0.0.0.0", "port": 18080, "local": "0.0.0.0:18080",
                 "owners": [{"pid": 11, "name": "docker-proxy", "cmdline": "docker-proxy", "user": "root"}],
                 "container": {"engine": "docker", "id": "0123456789ab", "name": "shop-web-1",
                   "image": "shop/web:1", "project": "shop", "service": "web",
                   "published": {"target": 80, "inside": "nothing"}}},
            ]),
            at: now,
        })
        .await
        .expect("observation");
    store
        .put_findings(
            "lint",
            &[StoredFinding {
                rule: "well-known-collision".into(),
                severity: "warning".into(),
                message: "range 5400-5499 contains PostgreSQL's 5432".into(),
                doc: serde_json::json!({"subjects": ["es-inventory-hub", "postgres"]}),
            }],
            now,
        )
        .await
        .expect("findings");
    let admin = store
        .create_token(Role::Admin, "alice", None, now)
        .await
        .expect("token")
        .token;
    let reader = store
        .create_token(Role::Read, "rita", None, now)
        .await
        .expect("token")
        .token;
    Seeded {
        store,
        admin,
        reader,
        allocated,
        leased,
        _dir: dir,
    }
}

/// A cookie-keeping client on the router.
struct Client {
    app: axum::Router,
    cookies: HashMap<String, String>,
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    fn csrf(&self) -> String {
        hidden(&self.body, "csrf").unwrap_or_else(|| panic!("no csrf field in {}", self.body))
    }
    fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }
}

/// The value of the hidden field `name`.
fn hidden(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_string())
}

/// The opening tag of the heatmap cell of `port`.
fn cell_tag(html: &str, port: u16) -> &str {
    let at = html
        .find(&format!("data-port=\"{port}\""))
        .unwrap_or_else(|| panic!("no cell {port}"));
    let start = html[..at].rfind('<').expect("tag start");
    &html[start..at + html[at..].find('>').expect("tag end")]
}

/// `(port, state, title)` of every heatmap cell.
fn cells(html: &str) -> HashMap<u16, (String, String)> {
    let mut out = HashMap::new();
    for chunk in html.split("data-port=\"").skip(1) {
        let port: u16 = chunk[..chunk.find('"').expect("quote")]
            .parse()
            .expect("port");
        let attr = |name: &str| {
            let key = format!("{name}=\"");
            let at = chunk.find(&key).expect("attribute") + key.len();
            chunk[at..at + chunk[at..].find('"').expect("quote")].to_string()
        };
        out.insert(port, (attr("data-state"), attr("title")));
    }
    out
}

impl Client {
    fn new(state: &AppState) -> Self {
        Client {
            app: portolan_server::router(state.clone()),
            cookies: HashMap::new(),
        }
    }

    async fn send(&mut self, req: axum::http::request::Builder, body: Body) -> Answer {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let req = if cookie.is_empty() {
            req
        } else {
            req.header(COOKIE, cookie)
        };
        let res = self
            .app
            .clone()
            .oneshot(req.body(body).expect("request"))
            .await
            .expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        for c in headers.get_all(SET_COOKIE) {
            let c = c.to_str().expect("ascii");
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').expect("name=value");
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .expect("body");
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&mut self, path: &str) -> Answer {
        self.send(Request::get(path), Body::empty()).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.post_with(path, form, false).await
    }

    async fn post_with(&mut self, path: &str, form: &[(&str, &str)], htmx: bool) -> Answer {
        let body = serde_urlencoded::to_string(form).expect("form");
        let mut req =
            Request::post(path).header("content-type", "application/x-www-form-urlencoded");
        if htmx {
            req = req.header("hx-request", "true");
        }
        self.send(req, Body::from(body)).await
    }

    async fn login(&mut self, token: &str) -> Answer {
        let page = self.get("/login").await;
        assert_eq!(page.status, StatusCode::OK);
        let csrf = page.csrf();
        self.post("/login", &[("csrf", &csrf), ("token", token)])
            .await
    }
}

async fn logged_in(state: &AppState, token: &str) -> Client {
    let mut c = Client::new(state);
    let a = c.login(token).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location(), Some("/"));
    c
}

#[tokio::test]
async fn every_page_renders_for_admin_and_reader() {
    let s = seed().await;
    let state = AppState::new(s.store.clone());
    for (token, admin) in [(&s.admin, true), (&s.reader, false)] {
        let mut c = logged_in(&state, token).await;
        let pages: &[(&str, &[&str])] = &[
            (
                "/",
                &[
                    "Overview",
                    "dashboard",
                    "es-inventory-hub",
                    "es-host",
                    "fresh",
                    "warnings 1",
                ],
            ),
            (
                "/projects/dashboard",
                &[
                    "Project dashboard",
                    "5000-5399",
                    "websocket",
                    "web-alloc",
                    "data-state=\"allocated\"",
                ],
            ),
            (
                "/projects/es-inventory-hub",
                &["5400-5431, 5433-5499", "es-api", "data-gap=\"5432\""],
            ),
            ("/projects/dashboard?offset=garbage", &["Project dashboard"]),
            (
                "/hosts/es-host",
                &[
                    "Host es-host",
                    "hub-dashboard",
                    "matching",
                    "missing",
                    "127.0.0.1:5399",
                    "0.0.0.0:5000 (socat)",
                    "<td class=\"mono\">[::1]:18081</td>",
                    "<td class=\"mono\">[::]:18082</td>",
                    "<td>shop-web-1 (shop&#x2f;web) → 80, nothing listens inside</td>",
                ],
            ),
            (
                "/findings",
                &[
                    "well-known-collision",
                    "es-inventory-hub, postgres",
                    "warning 1",
                ],
            ),
            (
                "/findings?severity=error",
                &["No findings match.", "0 of 1 findings"],
            ),
            (
                "/findings?q=postgresql&rule=well-known-collision",
                &[
                    "1 of 1 findings",
                    "es-inventory-hub, postgres",
                    "value=\"postgresql\"",
                ],
            ),
            ("/findings?host=es-host", &["No findings match."]),
            (
                "/log",
                &[
                    "web-alloc",
                    "ci-lease",
                    "load tests &lt;next quarter&gt;",
                    "seed",
                ],
            ),
            ("/log?after=99", &["No entries after #99"]),
        ];
        for (path, expected) in pages {
            let a = c.get(path).await;
            assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
            for e in *expected {
                assert!(a.body.contains(e), "{path} lacks {e:?}:\n{}", a.body);
            }
            let csp = a.headers.get(CONTENT_SECURITY_POLICY).expect("csp");
            assert!(csp.to_str().expect("ascii").contains("script-src 'self'"));
            assert_eq!(a.headers.get(CACHE_CONTROL).expect("cache"), "no-store");
            assert!(
                !a.body.contains("http://") && !a.body.contains("https://"),
                "{path} links out"
            );
        }
        let project = c.get("/projects/dashboard").await.body;
        assert_eq!(
            project.contains("id=\"alloc-form\""),
            admin,
            "allocation form"
        );
        assert_eq!(
            project.contains("href=\"/allocate\""),
            admin,
            "allocate link"
        );
        let a = c.get("/allocate").await;
        if admin {
            assert_eq!(a.status, StatusCode::OK);
            assert!(a.body.contains("Allocate a port"));
        } else {
            assert_eq!(a.status, StatusCode::FORBIDDEN);
        }
        for missing in ["/projects/nope", "/hosts/nope"] {
            assert_eq!(
                c.get(missing).await.status,
                StatusCode::NOT_FOUND,
                "{missing}"
            );
        }
    }
}

#[tokio::test]
async fn reader_posts_are_refused() {
    let s = seed().await;
    let state = AppState::new(s.store.clone());
    let mut c = logged_in(&state, &s.reader).await;
    let csrf = c.get("/").await.csrf();
    let before = s.store.services().await.expect("services").len();
    let a = c
        .post(
            "/allocate",
            &[
                ("csrf", &csrf),
                ("project", "dashboard"),
                ("name", "sneaky"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    assert_eq!(s.store.services().await.expect("services").len(), before);
    // logging out is allowed to everyone
    let a = c.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.location(), Some("/login"));
    assert_eq!(c.get("/").await.location(), Some("/login"));
}

#[tokio::test]
async fn forms_need_the_sessions_csrf_token() {
    let s = seed().await;
    let state = AppState::new(s.store.clone());
    let mut c = logged_in(&state, &s.admin).await;
    let mut other = logged_in(&state, &s.admin).await;
    let theirs = other.get("/").await.csrf();
    let mine = c.get("/").await.csrf();
    assert_ne!(mine, theirs, "each session has its own token");
    let before = s.store.services().await.expect("services").len();
    for csrf in ["", "0000", theirs.as_str()] {
        let f = [
            ("csrf", csrf),
            ("project", "dashboard"),
            ("name", "csrf-test"),
        ];
        let a = c.post("/allocate", &f).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "csrf {csrf:?}: {}", a.body);
        assert!(a.body.contains("CSRF"));
    }
    let a = c
        .post("/allocate", &[("project", "dashboard"), ("name", "x")])
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(c.post("/logout", &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(s.store.services().await.expect("services").len(), before);
    // the login form's double-submit token
    let mut fresh = Client::new(&state);
    let a = fresh
        .post("/login", &[("csrf", "x"), ("token", &s.admin)])
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(!fresh.cookies.contains_key("portolan_session"));
}

/// Issue 18: the webhook delivery log was served by the admin API only; the dashboard
/// shows it to admins — status, attempts, the receiver's answer or error — and never more
/// of a receiver's URL than its origin (the path and query often hold a token).
#[tokio::test]
async fn admins_see_the_webhook_delivery_log_and_never_the_url_s_token() {
    let s = seed().await;
    let created = s
        .store
        .create_webhook(
            &portolan_store::NewWebhook {
                url: "https://hooks.example:8443/services/T0/B0/tok3nInPath?key=q5ecret".into(),
                events: vec![portolan_store::WebhookEvent::Drift],
                secret: None,
                label: "ops <pager>".into(),
            },
            now(),
        )
        .await
        .expect("webhook");
    let body = serde_json::json!({"event": "drift"});
    let failed = s
        .store
        .enqueue_delivery(
            &created.info.id,
            portolan_store::WebhookEvent::Drift,
            &body,
            now(),
        )
        .await
        .expect("enqueue");
    s.store
        .update_delivery(
            failed,
            &portolan_store::DeliveryUpdate {
                status: portolan_store::DeliveryStatus::Failed,
                attempts: 6,
                response: Some(503),
                error: Some("HTTP 503".into()),
                at: now(),
            },
        )
        .await
        .expect("update");
    s.store
        .enqueue_delivery(
            &created.info.id,
            portolan_store::WebhookEvent::Drift,
            &body,
            now(),
        )
        .await
        .expect("enqueue");
    let state = AppState::new(s.store.clone());
    let mut admin = logged_in(&state, &s.admin).await;
    let page = admin.get("/webhooks").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for expected in [
        "ops &lt;pager&gt;",
        // minijinja escapes `/` in HTML
        "https:&#x2f;&#x2f;hooks.example:8443",
        "drift",
        "failed",
        "HTTP 503",
        "pending",
        "href=\"/webhooks\"",
    ] {
        assert!(
            page.body.contains(expected),
            "lacks {expected:?}:\n{}",
            page.body
        );
    }
    for secret in ["tok3nInPath", "q5ecret", &created.secret] {
        assert!(!page.body.contains(secret), "shows {secret:?}");
    }
    // newest first
    let failed_at = page.body.find("failed").expect("failed row");
    let pending_at = page.body.find("pending").expect("pending row");
    assert!(pending_at < failed_at, "newest first");
    let mut reader = logged_in(&state, &s.reader).await;
    assert_eq!(reader.get("/webhooks").await.status, StatusCode::FORBIDDEN);
    assert!(!reader.get("/").await.body.contains("href=\"/webhooks\""));
    let mut nobody = Client::new(&state);
    assert_eq!(nobody.get("/webhooks").await.location(), Some("/login"));
}

#[tokio::test]
async fn unauthenticated_requests_go_to_login() {
    let s = seed().await;
    let state = AppState::new(s.store.clone());
    let mut c = Client::new(&state);
    for path in [
        "/",
        "/projects/dashboard",
        "/hosts/es-host",
        "/findings",
        "/log",
        "/allocate",
    ] {
        let a = c.get(path).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(a.location(), Some("/login"), "{path}");
    }
    let a = c
        .post("/allocate", &[("project", "dashboard"), ("name", "x")])
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    c.cookies.insert("portolan_session".into(), "f".repeat(64));
    assert_eq!(c.get("/").await.location(), Some("/login"));
    // the login page and the assets need no session
    let a = c.get("/login").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("type=\"password\""));
    let js = c.get("/static/htmx.min.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert_eq!(
        js.body.as_bytes(),
        include_bytes!("../../web/static/htmx.min.js")
    );
    let cache = js
        .headers
        .get(CACHE_CONTROL)
        .expect("cache")
        .to_str()
        .expect("ascii");
    assert!(cache.contains("max-age=31536000"), "{cache}");
    let css = c.get("/static/dashboard.css").await;
    assert!(css.body.contains(".s-conflict"));
}

#[tokio::test]
async fn login_sets_a_strict_session_cookie_and_bad_tokens_fail() {
    let s = seed().await;
    let state = AppState::new(s.store.clone());
    let mut c = Client::new(&state);
    for bad in ["", "ptk_nope_nope", "not a token", &format!("{}x", s.admin)] {
        let a = c.login(bad).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{bad:?}");
        assert!(a.body.contains("not accepted"));
        assert!(!c.cookies.contains_key("portolan_session"));
    }
    let page = c.get("/login").await;
    let a = c
        .post("/login", &[("csrf", &page.csrf()), ("token", &s.admin)])
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let set: Vec<&str> = a
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let session = set
        .iter()
        .find(|c| c.starts_with("portolan_session="))
        .expect("session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/;"] {
        assert!(session.contains(attr), "{session}");
    }
    assert!(!session.contains("Secure"), "plain HTTP here: {session}");
    assert!(!session.contains(&s.admin), "the token is not the cookie");
    assert_eq!(c.get("/").await.status, StatusCode::OK);
    assert_eq!(c.get("/login").await.location(), Some("/"));
    // revoking the token ends its sessions
    let id = s
        .store
        .tokens()
        .await
        .expect("tokens")
        .into_iter()
        .find(|t| t.label == "alice")
        .expect("alice")
        .id;
    s.store.revoke_token(&id, now()).await.expect("revoke");
    assert_eq!(c.get("/").await.location(), Some("/login"));
}

#[tokio::test]
async fn cookie_secure_marks_every_dashboard_cookie() {
    let s = seed().await;
    let state = AppState::new(s.store.clone()).with_cookie_policy(CookiePolicy {
        always_secure: true,
    });
    let mut c = Client::new(&state);
    let set = |a: &Answer| -> Vec<String> {
        a.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    };
    let page = c.get("/login").await;
    let mut cookies = set(&page);
    let a = c
        .post("/login", &[("csrf", &page.csrf()), ("token", &s.reader)])
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    cookies.extend(set(&a));
    let home = c.get("/").await;
    let a = c.post("/logout", &[("csrf", &home.csrf())]).await;
    assert_eq!(a.location(), Some("/login"));
    cookies.extend(set(&a));
    // login cookie, session cookie, login cookie cleared, session cookie cleared
    assert_eq!(cookies.len(), 4, "{cookies:?}");
    for cookie in &cookies {
        assert!(cookie.ends_with("; Secure"), "{cookie}");
    }
}

/// Regression (issue 12): dashboard logins were throttled by the socket peer, so behind a
/// reverse proxy one client's refused tokens locked every client out. From a trusted
/// proxy, each forwarded client has its own bucket; a header from another peer counts for
/// that peer.
#[tokio::test]
async fn dashboard_logins_are_throttled_per_forwarded_client() {
    let s = seed().await;
    let state = AppState::new(s.store.clone())
        .with_auth_throttle(portolan_server::auth::AuthThrottle::new(2, 6))
        .with_trusted_proxies(TrustedProxies::parse(&["10.0.0.0/8"]).expect("range"));
    let app = portolan_server::router(state);
    let login = |peer: &str, forwarded_for: &str| {
        let app = app.clone();
        let peer: std::net::SocketAddr = peer.parse().expect("socket address");
        let forwarded_for = forwarded_for.to_string();
        async move {
            let request = |req: axum::http::request::Builder| {
                req.header("x-forwarded-for", forwarded_for.as_str())
                    .extension(axum::extract::ConnectInfo(peer))
            };
            let page = app
                .clone()
                .oneshot(
                    request(Request::get("/login"))
                        .body(Body::empty())
                        .expect("request"),
                )
                .await
                .expect("answer");
            let cookie = page
                .headers()
                .get(SET_COOKIE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .expect("login cookie")
                .to_string();
            let nonce = cookie.split_once('=').expect("pair").1.to_string();
            let form =
                serde_urlencoded::to_string([("csrf", nonce.as_str()), ("token", "ptk_wrong")])
                    .expect("form");
            let a = app
                .oneshot(
                    request(Request::post("/login"))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .header(COOKIE, cookie)
                        .body(Body::from(form))
                        .expect("request"),
                )
                .await
                .expect("answer");
            a.status()
        }
    };
    for i in 0..2 {
        let status = login("10.0.0.2:4000", "198.51.100.1").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "client A, attempt {i}");
    }
    assert_eq!(
        login("10.0.0.2:4000", "198.51.100.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login("10.0.0.3:4000", "198.51.100.2").await,
        StatusCode::UNAUTHORIZED,
        "client B behind another proxy of the range"
    );
    // not a proxy: its header names nobody, and it is throttled as itself
    for _ in 0..2 {
        login("192.0.2.9:4000", "198.51.100.3").await;
    }
    assert_eq!(
        login("192.0.2.9:4000", "198.51.100.4").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn forwarded_https_from_an_unknown_peer_is_not_believed() {
    let s = seed().await;
    let state = AppState::new(s.store.clone())
        .with_cookie_policy(CookiePolicy {
            always_secure: false,
        })
        .with_trusted_proxies(TrustedProxies::parse(&["127.0.0.1"]).expect("ip"));
    let app = portolan_server::router(state);
    // no connection address recorded: not a trusted proxy
    let a = app
        .oneshot(
            Request::get("/login")
                .header("x-forwarded-proto", "https")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("answer");
    let cookie = a.headers().get(SET_COOKIE).expect("cookie");
    assert!(
        !cookie.to_str().expect("ascii").contains("Secure"),
        "{cookie:?}"
    );
}

#[tokio::test]
async fn heatmap_states_of_a_seeded_registry() {
    let s = seed().await;
    let state = AppState::new(s.store.clone());
    let mut c = logged_in(&state, &s.reader).await;
    let page = c.get("/projects/dashboard").await;
    let cells = cells(&page.body);
    assert_eq!(cells.len(), 400, "one cell per port of 5000-5399");
    let state_of = |p: u16| cells.get(&p).map(|(s, _)| s.as_str());
    assert_eq!(state_of(s.allocated), Some("allocated"));
    assert_eq!(state_of(s.leased), Some("leased"));
    assert_eq!(state_of(5061), Some("reserved"));
    assert_eq!(
        state_of(5062),
        Some("conflict"),
        "undeclared listener on a reserved port"
    );
    assert_eq!(state_of(5000), Some("listening"));
    assert_eq!(state_of(5399), Some("listening"));
    assert_eq!(state_of(5002), Some("allocated"), "declared, not observed");
    assert_eq!(state_of(5070), Some("free"));
    let title = |p: u16| cells.get(&p).map(|(_, t)| t.as_str()).unwrap_or_default();
    assert!(
        title(s.allocated).contains("web-alloc.main on es-host (tcp)"),
        "{}",
        title(s.allocated)
    );
    assert!(
        title(s.leased).contains("lease until"),
        "{}",
        title(s.leased)
    );
    assert!(
        title(5061).contains("reserved for dashboard: load tests &lt;next quarter&gt;"),
        "{}",
        title(5061)
    );
    assert!(
        title(5000).contains("listening on es-host: 0.0.0.0:5000 tcp (socat)"),
        "{}",
        title(5000)
    );
    assert!(title(5399).contains("undeclared"), "{}", title(5399));
    assert!(title(5070).contains("block dev-testing"), "{}", title(5070));
}

#[tokio::test]
async fn heatmap_cells_link_and_mark_block_boundaries() {
    let s = seed().await;
    let state = AppState::new(s.store.clone());
    let mut reader = logged_in(&state, &s.reader).await;
    let page = reader.get("/projects/dashboard").await.body;
    let web_alloc = cell_tag(&page, s.allocated);
    assert!(
        web_alloc.starts_with("<a href=\"#service-web-alloc\""),
        "{web_alloc}"
    );
    assert!(
        page.contains("<tr id=\"service-web-alloc\">"),
        "the link's target exists"
    );
    let undeclared = cell_tag(&page, 5399);
    assert!(
        undeclared.starts_with("<a href=\"/hosts/es-host\""),
        "{undeclared}"
    );
    assert!(
        cell_tag(&page, 5061).starts_with("<span"),
        "a reserved port leads nowhere"
    );
    assert!(
        cell_tag(&page, 5070).starts_with("<span"),
        "readers get no allocation link"
    );
    for (port, edge) in [
        (5031, true),
        (5032, false),
        (5040, false),
        (5041, true),
        (5011, true),
    ] {
        assert_eq!(
            cell_tag(&page, port).contains("boundary"),
            edge,
            "{port}: {}",
            cell_tag(&page, port)
        );
    }
    assert!(cell_tag(&page, 5031).contains("data-block=\"websocket\""));
    assert!(
        page.contains("<span class=\"cell boundary\"></span>block boundary</li>"),
        "the legend explains the mark"
    );
    let mut admin = logged_in(&state, &s.admin).await;
    let page = admin.get("/projects/dashboard").await.body;
    let free = cell_tag(&page, 5070);
    assert!(
        free.starts_with("<a href=\"?port=5070#alloc-form\""),
        "{free}"
    );
    assert!(page.contains("id=\"alloc-form\""));
    // the link prefills the form: the port, and the block holding it
    let prefilled = admin.get("/projects/dashboard?port=5070").await;
    assert_eq!(prefilled.status, StatusCode::OK);
    assert!(
        prefilled
            .body
            .contains("name=\"port\" type=\"number\" min=\"1\" max=\"65535\" value=\"5070\""),
        "{}",
        prefilled.body
    );
    assert!(
        prefilled
            .body
            .contains("<option value=\"dev-testing\" selected>"),
        "the block of 5070"
    );
    let bad = admin.get("/projects/dashboard?port=http").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains("port: `http` is not a port"),
        "{}",
        bad.body
    );
}

/// Regression: a split range's rows were cut every 50 ports of the range, so the row
/// labelled 5400 held 5400-5431 and then 5433-5450, and the gap at 5432 was not shown.
#[tokio::test]
async fn split_ranges_show_as_labelled_segments_with_their_gap() {
    let s = seed().await;
    let state = AppState::new(s.store.clone());
    let mut c = logged_in(&state, &s.reader).await;
    let page = c.get("/projects/es-inventory-hub").await.body;
    let segments: Vec<&str> = page
        .split("data-segment=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').expect("quote")])
        .collect();
    assert_eq!(segments, ["5400-5431", "5433-5499"]);
    assert!(
        page.contains("data-gap=\"5432\">gap: 5432 (1 port outside the range)"),
        "{page}"
    );
    let labels: Vec<&str> = page
        .split("<span class=\"label\">")
        .skip(1)
        .map(|s| &s[..s.find('<').expect("end")])
        .collect();
    assert_eq!(labels, ["5400", "5433", "5483"]);
    assert_eq!(cells(&page).len(), 99);
    assert!(!cells(&page).contains_key(&5432));
    // monitoring is `5431, 5433-5440`: marked where it begins on each side of the gap
    for port in [5431, 5433, 5441] {
        assert!(cell_tag(&page, port).contains("boundary"), "{port}");
    }
    assert!(!cell_tag(&page, 5434).contains("boundary"));
}

#[tokio::test]
async fn the_form_allocates() {
    let s = seed().await;
    let state = AppState::new(s.store.clone());
    let mut c = logged_in(&state, &s.admin).await;
    let csrf = c.get("/projects/dashboard").await.csrf();
    // a plain form post from the project page: the page again, with the result
    let a = c
        .post(
            "/allocate",
            &[
                ("csrf", &csrf),
                ("project", "dashboard"),
                ("view", "heatmap"),
                ("block", "monitoring"),
                ("name", "form-svc"),
                ("host", "es-host"),
                ("transport", "tcp"),
                ("why", "<b>metrics</b>"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let port = hidden_port(&a.body);
    assert!((5051..=5060).contains(&port), "{port}");
    assert_eq!(
        cells(&a.body).get(&port).map(|(s, _)| s.as_str()),
        Some("allocated")
    );
    // the same via htmx: a fragment with the heatmap swapped out of band
    let a = c
        .post_with(
            "/allocate",
            &[
                ("csrf", &csrf),
                ("project", "dashboard"),
                ("view", "heatmap"),
                ("block", "monitoring"),
                ("name", "htmx-svc"),
                ("lease", "2h"),
            ],
            true,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(!a.body.contains("<html"), "a fragment");
    assert!(a.body.contains("hx-swap-oob=\"true\""));
    let port = hidden_port(&a.body);
    assert_eq!(
        cells(&a.body).get(&port).map(|(s, _)| s.as_str()),
        Some("leased")
    );
    // errors: a taken name (409), a bad lease (422), an unknown project; htmx gets them as 200
    let taken = [
        ("csrf", csrf.as_str()),
        ("project", "dashboard"),
        ("name", "form-svc"),
    ];
    let a = c.post("/allocate", &taken).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    assert!(a.body.contains("id=\"alloc-error\""));
    let a = c.post_with("/allocate", &taken, true).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("id=\"alloc-error\""));
    let a = c
        .post(
            "/allocate",
            &[
                ("csrf", &csrf),
                ("project", "dashboard"),
                ("name", "l"),
                ("lease", "soon"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    let a = c
        .post(
            "/allocate",
            &[("csrf", &csrf), ("project", "nope"), ("name", "n")],
        )
        .await;
    assert!(a.status.is_client_error(), "{}", a.status);
    // who and why are in the log, escaped
    let log = c.get("/log").await.body;
    assert!(log.contains("form-svc") && log.contains("alice"), "{log}");
    assert!(log.contains("&lt;b&gt;metrics&lt;"), "{log}");
}

fn hidden_port(html: &str) -> u16 {
    let at = html
        .find("id=\"alloc-port\">")
        .unwrap_or_else(|| panic!("no result in {html}"));
    let rest = &html[at + 16..];
    rest[..rest.find('<').expect("tag")].parse().expect("port")
}

/// Regression (hostile input): the findings page listed every stored finding at once. It
/// shows 200 a page, with a link to the next, and the counts of all.
#[tokio::test]
async fn the_findings_page_is_paged() {
    let s = seed().await;
    let many: Vec<portolan_store::StoredFinding> = (0..450)
        .map(|i| portolan_store::StoredFinding {
            rule: "undeclared-listener".into(),
            severity: "warning".into(),
            message: format!("listener {i}"),
            doc: serde_json::json!({"subjects": [format!("h:{i}")]}),
        })
        .collect();
    s.store
        .put_findings("drift:many", &many, now())
        .await
        .expect("findings");
    let state = AppState::new(s.store.clone());
    let mut c = logged_in(&state, &s.admin).await;
    let mut rows = 0;
    let mut path = "/findings?severity=warning".to_string();
    for page in 0.. {
        let a = c.get(&path).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert!(
            a.body.contains("warning 45"),
            "the counts are of all findings"
        );
        let n = a.body.matches("<td><span class=\"badge warning\">").count();
        rows += n;
        let Some(at) = a.body.find("id=\"findings-next\"") else {
            break;
        };
        assert_eq!(n, 200, "page {page}");
        let start = a.body[..at].rfind("href=\"").expect("link") + 6;
        let end = start + a.body[start..].find('"').expect("end");
        path = a.body[start..end].replace("&amp;", "&");
        assert!(page < 5, "no end to the pages");
    }
    let warnings = s
        .store
        .finding_counts()
        .await
        .expect("counts")
        .into_iter()
        .find(|(sev, _)| sev == "warning")
        .map_or(0, |(_, n)| n);
    assert_eq!(rows as u64, warnings);
    let a = c.get("/findings?cursor=nonsense").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}
