//! The server's integration tests: the real server, in process on 127.0.0.1:0, spoken to
//! over HTTP. Each API case runs on both engines as two tests, `sqlite_<case>` (a file in a
//! temp dir) and `postgres_<case>` (a database of its own on the PostgreSQL 15 server this
//! binary starts on first use; it fails, never skips, when it cannot — see
//! `portolan_testkit`): the auth matrix, bad input, 1,000 concurrent allocations, the rate
//! limit, drift and metrics, webhooks against real local receivers; plus logs without secrets and schemathesis against the OpenAPI
//! document.
#![allow(clippy::doc_markdown, clippy::cast_precision_loss)]

mod history;
mod proxy;
mod push;
mod web;
mod webhooks;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use portolan_server::auth::AuthThrottle;
use portolan_server::listen::ConnLimits;
use portolan_server::{AppState, Clock, Limits};
use portolan_store::{Role, Store};
use portolan_testkit::{Engine, engine_tests};
use push::spec_push_is_guarded_by_the_generation;
use serde_json::{Value, json};

const SQLISH: &str = "'; DROP TABLE services; --";

pub const SPEC: &str = r#"
[spec]
name = "team"

[networks]
lan = "192.168.1.0/24"

[hosts.app1]
environment = "production"
addresses = ["192.168.1.10"]
networks = ["lan"]

[hosts.dev]
environment = "development"

[projects.dash]
range = "20000-22999"
blocks = { api = "20010-20019", tiny = "20100-20101" }

[projects.hub]
range = "23000-23009"

[services.web]
project = "dash"
hosts = ["app1"]
bindings.http = { port = 20000, bind = "127.0.0.1", exposure = "localhost" }
"#;

// ------------------------------------------------------------------------- log capture

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line of every server of this binary (one global subscriber).
fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let c = Captured::default();
        let writer = c.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        c
    })
}

// ---------------------------------------------------------------------------- server

struct Tokens {
    admin: String,
    write: String,
    read: String,
    revoked: String,
    expired: String,
}

struct TestServer {
    base: String,
    tokens: Tokens,
    store: Arc<dyn Store>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    rt: Option<tokio::runtime::Runtime>,
}

fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs(),
    )
    .expect("time")
}

impl TestServer {
    fn start(url: &str, limits: Limits) -> TestServer {
        Self::start_with(
            url,
            limits,
            portolan_server::webhooks::WebhookSettings::default(),
        )
    }

    /// A server delivering webhooks with `webhooks`.
    fn start_with(
        url: &str,
        limits: Limits,
        webhooks: portolan_server::webhooks::WebhookSettings,
    ) -> TestServer {
        Self::start_with_tls(
            url,
            limits,
            webhooks,
            portolan_server::webhooks::WebhookTls::default(),
        )
    }

    /// A server delivering webhooks with `webhooks`, verifying `https://` receivers with
    /// `tls`.
    fn start_with_tls(
        url: &str,
        limits: Limits,
        webhooks: portolan_server::webhooks::WebhookSettings,
        tls: portolan_server::webhooks::WebhookTls,
    ) -> TestServer {
        logs();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let store: Arc<dyn Store> = Arc::from(
            rt.block_on(portolan_store::open(url))
                .unwrap_or_else(|e| panic!("open {url}: {e}")),
        );
        let t = now();
        let mk = |role, label: &str, expires: Option<i64>, at: i64| {
            rt.block_on(store.create_token(role, label, expires, at))
                .expect("create token")
                .token
        };
        let tokens = Tokens {
            admin: mk(Role::Admin, "admin", None, t),
            write: mk(Role::Write, "ci", None, t),
            read: mk(Role::Read, "viewer", None, t),
            revoked: mk(Role::Admin, "gone", None, t),
            expired: mk(Role::Admin, "old", Some(t - 60), t - 3600),
        };
        let revoked_id = tokens.revoked[4..20].to_string();
        rt.block_on(store.revoke_token(&revoked_id, t))
            .expect("revoke");
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        // the failed-auth throttle has a test of its own: the auth matrix refuses on purpose
        let state = AppState::with_limits(store.clone(), limits)
            .with_auth_throttle(AuthThrottle::off())
            .with_webhooks(webhooks)
            .with_webhook_tls(tls);
        rt.spawn(portolan_server::webhooks::watch_periodic_events(
            state.clone(),
        ));
        rt.spawn(portolan_server::serve_on(listener, state, async move {
            let _ = rx.await;
        }));
        TestServer {
            base: format!("http://{addr}"),
            tokens,
            store,
            shutdown: Some(tx),
            rt: Some(rt),
        }
    }

    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.as_ref().expect("runtime").block_on(f)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

struct Resp {
    status: u16,
    body: String,
    headers: Vec<(String, String)>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn call(
    agent: &ureq::Agent,
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Resp {
    let url = format!("{base}{path}");
    let auth = token.map(|t| format!("Bearer {t}"));
    macro_rules! with_auth {
        ($rb:expr) => {{
            let rb = $rb;
            match &auth {
                Some(a) => rb.header("Authorization", a),
                None => rb,
            }
        }};
    }
    let res = match method {
        "GET" => with_auth!(agent.get(&url)).call(),
        "DELETE" => with_auth!(agent.delete(&url)).call(),
        "POST" => with_auth!(agent.post(&url))
            .content_type("application/json")
            .send(body.unwrap_or("")),
        // these cases replace the spec wholesale: `*` (the generation guard has its own
        // case, `push`)
        "PUT" => with_auth!(agent.put(&url))
            .content_type("application/toml")
            .header("If-Match", "*")
            .send(body.unwrap_or("")),
        other => panic!("method {other}"),
    };
    let mut res = res.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let headers = res
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    Resp {
        status: res.status().as_u16(),
        headers,
        body: res.body_mut().read_to_string().unwrap_or_default(),
    }
}

impl TestServer {
    fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> Resp {
        call(&agent(), &self.base, method, path, token, body)
    }
    fn get(&self, path: &str) -> Resp {
        self.call("GET", path, Some(&self.tokens.read), None)
    }
    fn post(&self, path: &str, body: &Value) -> Resp {
        self.call(
            "POST",
            path,
            Some(&self.tokens.write),
            Some(&body.to_string()),
        )
    }
    fn import(&self, spec: &str) {
        let r = self.call("PUT", "/api/v1/spec", Some(&self.tokens.admin), Some(spec));
        assert_eq!(r.status, 200, "import: {}", r.body);
    }
}

// ---------------------------------------------------------------------------- suite

/// Runs `case` on a fresh database of `engine`.
fn run(engine: Engine, name: &str, case: fn(&str)) {
    let db = engine.database(name);
    case(&db.url);
}

engine_tests!(run;
    public_routes_and_openapi,
    auth_matrix,
    api_round_trip,
    bad_input_is_4xx_json_naming_the_field,
    concurrent_allocations_never_duplicate,
    rate_limit_answers_429,
    observations_drift_and_metrics,
    agent_command_lines_are_stored_without_secrets,
    cached_reads_follow_every_writer,
    findings_are_capped_and_paged,
    spec_push_is_guarded_by_the_generation,
);

fn unlimited() -> Limits {
    Limits {
        rate: 0.0,
        ..Limits::default()
    }
}

// ---------------------------------------------------------------------------- cases

fn public_routes_and_openapi(url: &str) {
    let s = TestServer::start(url, Limits::default());
    let r = s.call("GET", "/healthz", None, None);
    assert_eq!((r.status, r.body.as_str()), (200, "ok\n"));
    let r = s.call("GET", "/api/v1/openapi.json", None, None);
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let paths: BTreeSet<&str> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    for p in [
        "/api/v1/projects",
        "/api/v1/projects/{name}",
        "/api/v1/hosts",
        "/api/v1/services",
        "/api/v1/bindings",
        "/api/v1/allocate",
        "/api/v1/release",
        "/api/v1/reserve",
        "/api/v1/reservations",
        "/api/v1/leases",
        "/api/v1/gc",
        "/api/v1/observations",
        "/api/v1/findings",
        "/api/v1/log",
        "/api/v1/spec",
        "/api/v1/tokens",
        "/api/v1/tokens/{id}",
    ] {
        assert!(paths.contains(p), "{p} missing from the OpenAPI document");
    }
    // every operation documents the JSON errors
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            for code in ["401", "403", "422", "429"] {
                assert!(
                    op["responses"].get(code).is_some(),
                    "{method} {path} does not document {code}"
                );
            }
        }
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    // regression: query parameters were documented as required path parameters (so
    // clients and schemathesis could not send them)
    for (path, params) in [
        ("/api/v1/bindings", &["service", "host"][..]),
        ("/api/v1/log", &["after", "cursor", "limit"][..]),
        ("/api/v1/findings", &["limit", "cursor", "severity"][..]),
        ("/api/v1/observations", &["limit", "cursor"][..]),
    ] {
        let documented = doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{path} has no parameters"));
        for name in params {
            let p = documented
                .iter()
                .find(|p| p["name"] == *name)
                .unwrap_or_else(|| panic!("{path}: no parameter {name}"));
            assert_eq!(p["in"], "query", "{path} {name}");
            assert_ne!(p["required"], true, "{path} {name}");
        }
    }
    for (path, op) in doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(p, i)| {
            i.as_object()
                .expect("item")
                .values()
                .map(move |op| (p.clone(), op.clone()))
        })
    {
        for p in op["parameters"].as_array().into_iter().flatten() {
            if p["in"] == "path" {
                let name = p["name"].as_str().expect("name");
                assert!(
                    path.contains(&format!("{{{name}}}")),
                    "{path}: path parameter {name}"
                );
            }
        }
    }
    // unknown routes and wrong methods answer JSON too
    let r = s.call("GET", "/api/v1/nope", Some(&s.tokens.read), None);
    assert_eq!(r.status, 404);
    assert!(r.json()["error"].is_string());
    let r = s.call("DELETE", "/api/v1/projects", Some(&s.tokens.admin), None);
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(r.json()["field"], "method");
}

/// The OpenAPI document, whole: a change to any route, parameter or schema shows up as a
/// snapshot diff to review.
#[test]
fn openapi_document_snapshot() {
    insta::assert_json_snapshot!("openapi", portolan_server::openapi());
}

/// (method, path, body, least role: 0 read, 1 write, 2 admin)
fn routes() -> Vec<(&'static str, String, Option<String>, u8)> {
    let alloc = json!({"project": "hub", "name": "matrix", "host": "app1"}).to_string();
    vec![
        ("GET", "/api/v1/projects".into(), None, 0),
        ("GET", "/api/v1/projects/dash".into(), None, 0),
        ("GET", "/api/v1/hosts".into(), None, 0),
        ("GET", "/api/v1/hosts/app1".into(), None, 0),
        ("GET", "/api/v1/services".into(), None, 0),
        ("GET", "/api/v1/services/web".into(), None, 0),
        ("GET", "/api/v1/bindings".into(), None, 0),
        ("GET", "/api/v1/reservations".into(), None, 0),
        ("GET", "/api/v1/leases".into(), None, 0),
        ("GET", "/api/v1/observations".into(), None, 0),
        ("GET", "/api/v1/observations/app1".into(), None, 0),
        ("GET", "/api/v1/findings".into(), None, 0),
        ("GET", "/api/v1/log".into(), None, 0),
        ("GET", "/api/v1/spec".into(), None, 0),
        ("GET", "/metrics".into(), None, 0),
        ("POST", "/api/v1/allocate".into(), Some(alloc), 1),
        (
            "POST",
            "/api/v1/release".into(),
            Some(json!({"service": "nothing-here"}).to_string()),
            1,
        ),
        (
            "POST",
            "/api/v1/reserve".into(),
            Some(json!({"ports": "23009", "project": "hub", "why": "matrix"}).to_string()),
            1,
        ),
        ("POST", "/api/v1/gc".into(), Some(String::new()), 1),
        (
            "POST",
            "/api/v1/observations".into(),
            Some(json!({"host": "app1", "listeners": []}).to_string()),
            1,
        ),
        ("PUT", "/api/v1/spec".into(), Some(SPEC.into()), 2),
        ("GET", "/api/v1/tokens".into(), None, 2),
        (
            "POST",
            "/api/v1/tokens".into(),
            Some(json!({"role": "read"}).to_string()),
            2,
        ),
        ("DELETE", "/api/v1/tokens/0000000000000000".into(), None, 2),
        ("GET", "/api/v1/webhooks".into(), None, 2),
        (
            "POST",
            "/api/v1/webhooks".into(),
            Some(
                json!({"url": "http://127.0.0.1:9/matrix", "events": ["lease-expiring"]})
                    .to_string(),
            ),
            2,
        ),
        (
            "DELETE",
            "/api/v1/webhooks/0000000000000000".into(),
            None,
            2,
        ),
        (
            "GET",
            "/api/v1/webhooks/0000000000000000/deliveries".into(),
            None,
            2,
        ),
    ]
}

fn auth_matrix(url: &str) {
    let s = TestServer::start(url, unlimited());
    s.import(SPEC);
    let t = &s.tokens;
    let bogus = format!("ptk_{}_{}", "0".repeat(16), "f".repeat(64));
    let callers: [(&str, Option<&str>, Option<u8>); 7] = [
        ("none", None, None),
        ("malformed", Some("not-a-token"), None),
        ("unknown", Some(&bogus), None),
        ("revoked", Some(&t.revoked), None),
        ("expired", Some(&t.expired), None),
        ("read", Some(&t.read), Some(0)),
        ("write", Some(&t.write), Some(1)),
    ];
    let mut failures = Vec::new();
    let admin = [("admin", Some(t.admin.as_str()), Some(2u8))];
    for (method, path, body, need) in routes() {
        for (who, token, role) in callers.iter().chain(admin.iter()) {
            let r = s.call(method, &path, *token, body.as_deref());
            let allowed = role.is_some_and(|r| r >= need);
            let ok = match role {
                None => {
                    r.status == 401
                        && r.header("www-authenticate")
                            .is_some_and(|h| h.starts_with("Bearer"))
                }
                Some(_) if !allowed => r.status == 403,
                Some(_) => r.status < 500 && r.status != 401 && r.status != 403,
            };
            let json_ok = r.status < 400 || serde_json::from_str::<Value>(&r.body).is_ok();
            if !ok || !json_ok {
                failures.push(format!("{method} {path} as {who}: {} {}", r.status, r.body));
            }
        }
    }
    assert!(failures.is_empty(), "auth matrix:\n{}", failures.join("\n"));
}

fn api_round_trip(url: &str) {
    let s = TestServer::start(url, unlimited());
    s.import(SPEC);
    let projects = s.get("/api/v1/projects").json();
    assert_eq!(projects[0]["name"], "dash");
    assert_eq!(projects[0]["range"], "20000-22999");
    assert_eq!(s.get("/api/v1/projects/hub").json()["range"], "23000-23009");
    assert_eq!(
        s.get("/api/v1/hosts").json().as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(s.get("/api/v1/services/web").json()["allocated"], false);

    let r = s.post(
        "/api/v1/allocate",
        &json!({"project": "dash", "block": "api", "name": "hub-api", "host": "app1", "why": "the hub"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let a = r.json();
    assert_eq!(a["ports"], json!([20010]));
    assert_eq!(a["transport"], "tcp");
    let r = s.post(
        "/api/v1/allocate",
        &json!({"project": "dash", "block": "api", "name": "grpc", "host": "app1", "count": 3, "transport": "udp", "lease": 3600}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let a = r.json();
    assert_eq!(a["ports"].as_array().map(Vec::len), Some(3));
    assert!(a["lease_until"].as_i64().is_some());
    // the same name again: 409 naming the field
    let r = s.post(
        "/api/v1/allocate",
        &json!({"project": "dash", "name": "grpc", "host": "app1"}),
    );
    assert_eq!((r.status, r.json()["field"].clone()), (409, json!("name")));
    // a full block: 409
    for name in ["t1", "t2"] {
        let r = s.post(
            "/api/v1/allocate",
            &json!({"project": "dash", "block": "tiny", "name": name, "host": "app1"}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = s.post(
        "/api/v1/allocate",
        &json!({"project": "dash", "block": "tiny", "name": "t3", "host": "app1"}),
    );
    assert_eq!(r.status, 409, "{}", r.body);

    let bindings = s.get("/api/v1/bindings?service=hub-api").json();
    assert_eq!(bindings.as_array().map(Vec::len), Some(1));
    assert_eq!(bindings[0]["lo"], 20010);
    assert_eq!(bindings[0]["host"], "app1");
    let leases = s.get("/api/v1/leases").json();
    assert_eq!(leases[0]["service"], "grpc");

    let r = s.post("/api/v1/release", &json!({"service": "t1"}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["action"], "release");
    assert_eq!(r.json()["who"], "token:ci");
    let r = s.post("/api/v1/release", &json!({"service": "t1"}));
    assert_eq!(
        (r.status, r.json()["field"].clone()),
        (404, json!("service"))
    );

    let r = s.post(
        "/api/v1/reserve",
        &json!({"ports": "23005-23006", "project": "hub", "why": "demo", "until": "2099-01-01"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["ports"], "23005-23006");
    let r = s.post(
        "/api/v1/reserve",
        &json!({"ports": "23006", "project": "hub", "why": "again"}),
    );
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(s.get("/api/v1/reservations").json()[0]["why"], "demo");

    let r = s.post("/api/v1/gc", &json!({}));
    assert_eq!(r.status, 200, "{}", r.body);

    let log = s.get("/api/v1/log?limit=2").json();
    assert_eq!(log.as_array().map(Vec::len), Some(2));
    let after = log[1]["id"].as_i64().expect("id");
    let rest = s
        .get(&format!("/api/v1/log?after={after}&limit=1000"))
        .json();
    assert!(rest.as_array().is_some_and(|v| !v.is_empty()));
    assert!(
        rest.as_array()
            .expect("log")
            .iter()
            .all(|e| e["id"].as_i64() > Some(after))
    );

    // export round-trips through the model and carries the allocations
    let r = s.get("/api/v1/spec");
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/toml"))
    );
    let model = portolan_model::load_str("ports.toml", &r.body).expect("exported spec loads");
    assert!(model.service_named("hub-api").is_some());
    assert!(model.service_named("t1").is_none());

    // tokens: create, use, list, revoke
    let r = s.call(
        "POST",
        "/api/v1/tokens",
        Some(&s.tokens.admin),
        Some(&json!({"role": "write", "label": "robot", "expires_in": 3600}).to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let created = r.json();
    let token = created["token"].as_str().expect("token").to_string();
    let id = created["id"].as_str().expect("id").to_string();
    let r = s.call(
        "POST",
        "/api/v1/allocate",
        Some(&token),
        Some(&json!({"project": "hub", "name": "robot-svc", "host": "app1"}).to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let list = s.call("GET", "/api/v1/tokens", Some(&s.tokens.admin), None);
    assert!(
        list.body.contains(&id) && !list.body.contains(&token[21..]),
        "list shows ids, never secrets"
    );
    let r = s.call(
        "DELETE",
        &format!("/api/v1/tokens/{id}"),
        Some(&s.tokens.admin),
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let r = s.call("GET", "/api/v1/projects", Some(&token), None);
    assert_eq!(r.status, 401);
}

fn bad_input_is_4xx_json_naming_the_field(url: &str) {
    let s = TestServer::start(
        url,
        Limits {
            max_body: 64 * 1024,
            ..unlimited()
        },
    );
    s.import(SPEC);
    let w = s.tokens.write.clone();
    let a = s.tokens.admin.clone();
    let huge = format!(
        r#"{{"project": "dash", "name": "{}"}}"#,
        "x".repeat(100 * 1024)
    );
    let nul = json!({"project": "dash", "name": "ok", "why": "a\u{0}b"}).to_string();
    // (method, path, token, body, expected status, expected field)
    let cases: Vec<(&str, String, &str, String, u16, &str)> = vec![
        (
            "POST",
            "/api/v1/allocate".into(),
            &w,
            "{not json".into(),
            400,
            "body",
        ),
        (
            "POST",
            "/api/v1/allocate".into(),
            &w,
            String::new(),
            400,
            "body",
        ),
        (
            "POST",
            "/api/v1/allocate".into(),
            &w,
            "[1,2]".into(),
            422,
            "body",
        ),
        (
            "POST",
            "/api/v1/allocate".into(),
            &w,
            r#"{"project": "dash"}"#.into(),
            422,
            "name",
        ),
        (
            "POST",
            "/api/v1/allocate".into(),
            &w,
            r#"{"project": 5, "name": "x"}"#.into(),
            422,
            "project",
        ),
        (
            "POST",
            "/api/v1/allocate".into(),
            &w,
            r#"{"project": "dash", "name": "x", "count": "three"}"#.into(),
            422,
            "count",
        ),
        (
            "POST",
            "/api/v1/allocate".into(),
            &w,
            r#"{"project": "dash", "name": "x", "count": 70000}"#.into(),
            422,
            "count",
        ),
        (
            "POST",
            "/api/v1/allocate".into(),
            &w,
            r#"{"project": "dash", "name": "x", "count": 0}"#.into(),
            422,
            "count",
        ),
        (
            "POST",
            "/api/v1/allocate".into(),
            &w,
            r#"{"project": "dash", "name": "x", "lease": -5}"#.into(),
            422,
            "lease",
        ),
        (
            "POST",
            "/api/v1/allocate".into(),
            &w,
            r#"{"project": "dash", "name": "x", "transport": "sctp"}"#.into(),
            422,
            "transport",
        ),
        (
            "POST",
            "/api/v1/allocate".into(),
            &w,
            r#"{"project": "dash", "name": "x", "colour": "red"}"#.into(),
            422,
            "colour",
        ),
        (
            "POST",
            "/api/v1/allocate".into(),
            &w,
            json!({"project": "nope", "name": "x"}).to_string(),
            404,
            "project",
        ),
        (
            "POST",
            "/api/v1/allocate".into(),
            &w,
            json!({"project": "dash", "block": "nope", "name": "x"}).to_string(),
            404,
            "block",
        ),
        (
            "POST",
            "/api/v1/allocate".into(),
            &w,
            json!({"project": "dash", "host": "nope", "name": "x"}).to_string(),
            404,
            "host",
        ),
        // two hosts and neither named: the registry never picks one (issue 13)
        (
            "POST",
            "/api/v1/allocate".into(),
            &w,
            json!({"project": "dash", "name": "x"}).to_string(),
            422,
            "host",
        ),
        (
            "POST",
            "/api/v1/allocate".into(),
            &w,
            json!({"project": "dash", "name": SQLISH}).to_string(),
            422,
            "name",
        ),
        (
            "POST",
            "/api/v1/allocate".into(),
            &w,
            json!({"project": SQLISH, "name": "x"}).to_string(),
            404,
            "project",
        ),
        ("POST", "/api/v1/allocate".into(), &w, nul, 422, "why"),
        ("POST", "/api/v1/allocate".into(), &w, huge, 413, "body"),
        (
            "POST",
            "/api/v1/release".into(),
            &w,
            json!({"service": SQLISH}).to_string(),
            404,
            "service",
        ),
        (
            "POST",
            "/api/v1/reserve".into(),
            &w,
            json!({"ports": "abc", "project": "hub", "why": "x"}).to_string(),
            422,
            "ports",
        ),
        (
            "POST",
            "/api/v1/reserve".into(),
            &w,
            json!({"ports": "23001", "project": "hub", "why": " "}).to_string(),
            422,
            "why",
        ),
        (
            "POST",
            "/api/v1/reserve".into(),
            &w,
            json!({"ports": "23001", "project": "hub", "why": "x", "until": "soon"}).to_string(),
            422,
            "until",
        ),
        (
            "POST",
            "/api/v1/observations".into(),
            &w,
            json!({"host": "nope", "listeners": []}).to_string(),
            404,
            "host",
        ),
        (
            "POST",
            "/api/v1/observations".into(),
            &w,
            json!({"host": "app1", "listeners": [{"transport": "tcp", "addr": "nope", "port": 1}]})
                .to_string(),
            422,
            "listeners[0].addr",
        ),
        (
            "GET",
            "/api/v1/projects/nope".into(),
            &w,
            String::new(),
            404,
            "name",
        ),
        (
            "GET",
            format!(
                "/api/v1/services/{}",
                "%27%3B%20DROP%20TABLE%20services%3B%20--"
            ),
            &w,
            String::new(),
            404,
            "name",
        ),
        (
            "GET",
            "/api/v1/observations/nope".into(),
            &w,
            String::new(),
            404,
            "host",
        ),
        (
            "GET",
            "/api/v1/log?limit=abc".into(),
            &w,
            String::new(),
            400,
            "limit",
        ),
        (
            "GET",
            "/api/v1/log?limit=0".into(),
            &w,
            String::new(),
            400,
            "limit",
        ),
        (
            "GET",
            "/api/v1/log?after=1&bogus=2".into(),
            &w,
            String::new(),
            400,
            "bogus",
        ),
        (
            "PUT",
            "/api/v1/spec".into(),
            &a,
            "[projects.x]\nrange = \"nonsense\"\n".into(),
            422,
            "spec",
        ),
        (
            "PUT",
            "/api/v1/spec".into(),
            &a,
            "not = [toml".into(),
            422,
            "spec",
        ),
        (
            "POST",
            "/api/v1/tokens".into(),
            &a,
            json!({"role": "root"}).to_string(),
            422,
            "role",
        ),
        (
            "POST",
            "/api/v1/tokens".into(),
            &a,
            json!({"role": "read", "expires_in": 0}).to_string(),
            422,
            "expires_in",
        ),
        (
            "DELETE",
            "/api/v1/tokens/nope".into(),
            &a,
            String::new(),
            404,
            "id",
        ),
        (
            "DELETE",
            "/api/v1/tokens/00000000deadbeef".into(),
            &a,
            String::new(),
            404,
            "token",
        ),
    ];
    let mut failures = Vec::new();
    for (method, path, token, body, status, field) in cases {
        let r = s.call(method, &path, Some(token), Some(&body));
        let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        if r.status != status || v["field"] != field || !v["error"].is_string() {
            failures.push(format!(
                "{method} {path} {:.60}: want {status} field {field}, got {} {}",
                body, r.status, r.body
            ));
        }
    }
    assert!(failures.is_empty(), "bad input:\n{}", failures.join("\n"));
    // nothing of that reached the registry
    let names: Vec<String> = s
        .block_on(s.store.services())
        .expect("services")
        .into_iter()
        .map(|x| x.name)
        .collect();
    assert_eq!(names, ["web"]);
}

fn concurrent_allocations_never_duplicate(url: &str) {
    const TOTAL: usize = 1000;
    const IN_FLIGHT: usize = 64;
    let s = TestServer::start(url, unlimited());
    s.import(SPEC);
    let next = AtomicUsize::new(0);
    let got: Mutex<Vec<(String, u16)>> = Mutex::new(Vec::new());
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let t = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..IN_FLIGHT {
            scope.spawn(|| {
                let agent = agent();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= TOTAL {
                        break;
                    }
                    let name = format!("load-{i}");
                    let body = json!({"project": "dash", "name": name, "host": "app1"}).to_string();
                    let r = call(
                        &agent,
                        &s.base,
                        "POST",
                        "/api/v1/allocate",
                        Some(&s.tokens.write),
                        Some(&body),
                    );
                    if r.status == 201 {
                        let port = r.json()["lo"]
                            .as_u64()
                            .and_then(|p| u16::try_from(p).ok())
                            .expect("port");
                        got.lock().expect("lock").push((name, port));
                    } else {
                        errors
                            .lock()
                            .expect("lock")
                            .push(format!("{}: {}", r.status, r.body));
                    }
                }
            });
        }
    });
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "  {TOTAL} allocations, {IN_FLIGHT} in flight: {secs:.2} s ({:.0}/s)",
        TOTAL as f64 / secs
    );
    let errors = errors.into_inner().expect("lock");
    assert!(
        errors.is_empty(),
        "{} failed, e.g. {:?}",
        errors.len(),
        errors.first()
    );
    let got = got.into_inner().expect("lock");
    assert_eq!(got.len(), TOTAL);
    let ports: BTreeSet<u16> = got.iter().map(|(_, p)| *p).collect();
    assert_eq!(ports.len(), TOTAL, "duplicate ports handed out");
    let bindings = s.get("/api/v1/bindings").json();
    let listed: BTreeSet<(String, u16)> = bindings
        .as_array()
        .expect("bindings")
        .iter()
        .map(|b| {
            (
                b["service"].as_str().unwrap_or_default().to_string(),
                u16::try_from(b["lo"].as_u64().unwrap_or(0)).unwrap_or(0),
            )
        })
        .collect();
    for g in &got {
        assert!(
            listed.contains(g),
            "{g:?} answered 201 but is not in GET /bindings"
        );
    }
}

fn rate_limit_answers_429(url: &str) {
    let s = TestServer::start(
        url,
        Limits {
            rate: 1.0,
            burst: 5.0,
            ..Limits::default()
        },
    );
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(s.get("/api/v1/projects").status);
    }
    assert_eq!(&statuses[..5], &[200; 5], "{statuses:?}");
    let r = s.get("/api/v1/projects");
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(
        r.header("retry-after")
            .is_some_and(|v| v.parse::<u64>().is_ok_and(|n| n >= 1))
    );
    assert_eq!(r.json()["field"], "authorization");
    // another token has its own bucket
    let r = s.call("GET", "/api/v1/projects", Some(&s.tokens.write), None);
    assert_eq!(r.status, 200);
}

fn observations_drift_and_metrics(url: &str) {
    let s = TestServer::start(url, unlimited());
    s.import(SPEC);
    let listeners = json!([
        {"transport": "tcp", "addr": "127.0.0.1", "port": 20000, "inode": 1, "uid": 0,
         "owners": [{"pid": 10, "name": "web", "cmdline": "web --port 20000", "user": "www", "container": null}],
         "local": "127.0.0.1:20000", "declared": ["web.http"]},
        {"transport": "tcp", "addr": "0.0.0.0", "port": 6379, "inode": 2, "uid": 0, "owners": []}
    ]);
    let r = s.post(
        "/api/v1/observations",
        &json!({"host": "app1", "listeners": listeners}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let receipt = r.json();
    assert_eq!(receipt["listeners"], 2);
    let rules: Vec<&str> = receipt["drift"]
        .as_array()
        .expect("drift")
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert_eq!(rules, ["undeclared-listener"], "{}", r.body);
    let stored = s.get("/api/v1/observations/app1").json();
    assert_eq!(stored["listeners"].as_array().map(Vec::len), Some(2));
    let findings = s.get("/api/v1/findings").json();
    assert!(
        findings
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["source"] == "drift:app1")
    );
    // an allocation, so the range has something allocated
    assert_eq!(
        s.post(
            "/api/v1/allocate",
            &json!({"project": "hub", "name": "m1", "host": "dev"})
        )
        .status,
        201
    );
    let r = s.get("/metrics");
    assert_eq!(r.status, 200);
    let text = &r.body;
    for needle in [
        "portolan_range_ports{project=\"hub\",block=\"\",state=\"allocated\"} 1",
        "portolan_range_ports{project=\"hub\",block=\"\",state=\"free\"} 9",
        "portolan_range_ports{project=\"dash\",block=\"api\",state=\"free\"} 10",
        "portolan_findings{rule=\"undeclared-listener\",severity=\"warning\"} 1",
        "portolan_host_declared_bindings{host=\"app1\"} 1",
        "portolan_host_observed_listeners{host=\"app1\"} 2",
        "portolan_host_drift_findings{host=\"app1\"} 1",
        "portolan_agent_stale{host=\"app1\"} 0",
        "portolan_agent_report_age_seconds{host=\"app1\"}",
        "portolan_http_request_duration_seconds_bucket{",
        "route=\"/api/v1/allocate\",method=\"POST\",status=\"201\"",
    ] {
        assert!(text.contains(needle), "metrics lack `{needle}`:\n{text}");
    }
    assert_eq!(s.call("GET", "/metrics", None, None).status, 401);
    // a container publication (no host socket: NAT only) that nothing listens on inside
    let web = json!({"transport": "tcp", "addr": "127.0.0.1", "port": 20000, "inode": 1,
        "uid": 0, "owners": [{"pid": 10, "name": "web"}]});
    let published = json!({"transport": "tcp", "addr": "0.0.0.0", "port": 18080, "inode": 0,
        "uid": 0, "owners": [],
        "container": {"engine": "docker", "id": "0123456789ab", "name": "shop-web-1",
            "image": "shop/web:1", "project": "shop", "service": "web",
            "published": {"target": 80, "inside": "nothing"}}});
    let r = s.post(
        "/api/v1/observations",
        &json!({"host": "app1", "listeners": [web, published]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let mut rules: Vec<String> = r.json()["drift"]
        .as_array()
        .expect("drift")
        .iter()
        .filter_map(|f| f["rule"].as_str().map(str::to_string))
        .collect();
    rules.sort();
    assert_eq!(
        rules,
        ["publish-to-dead-port", "undeclared-listener"],
        "{}",
        r.body
    );
    let stored = s.get("/api/v1/observations/app1").json();
    // stored in listener order (transport, address, port), as history keys them
    assert_eq!(stored["listeners"][0]["port"], 18080);
    assert_eq!(stored["listeners"][0]["container"]["service"], "web");
    assert_eq!(
        stored["listeners"][0]["container"]["published"]["inside"],
        "nothing"
    );
    let mut bad = published.clone();
    bad["container"]["name"] = json!("shop\u{1b}[31m");
    let r = s.post(
        "/api/v1/observations",
        &json!({"host": "app1", "listeners": [bad]}),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.json()["field"], "listeners[0].container.name");
    let mut bad = published;
    bad["container"]["engine"] = json!("lxc");
    let r = s.post(
        "/api/v1/observations",
        &json!({"host": "app1", "listeners": [bad]}),
    );
    assert!((400..500).contains(&r.status), "{}: {}", r.status, r.body);
}

/// Regression (secrets): `agent` uploads full command lines (`--password=…`, DSNs), and any
/// read token could read them back. They are stored and served with the secrets masked;
/// the rest of the command line stays.
fn agent_command_lines_are_stored_without_secrets(url: &str) {
    let s = TestServer::start(url, unlimited());
    s.import(SPEC);
    let commands = [
        "/srv/web --port 20000 --password=Zq1secretA",
        "/srv/web --port 20000 --password Zq1secretB",
        "redis-server *:6379 --requirepass Zq1secretC",
        "java -Dspring.datasource.password=Zq1secretD -jar web.jar",
        "worker --db=postgres://app:Zq1secretE@db1:5432/x",
        "worker postgres://app:Zq1/secretF@db1/x",
        "worker postgres://app:Zq1@secretG@db1/x",
        "worker postgres://app@db1/x?sslmode=require&password=Zq1secretH",
        "env PGPASSWORD=Zq1secretI psql -h db1",
        "mysql -uroot -pZq1secretJ db",
        "redis-cli -a Zq1secretK monitor",
        "curl -H Authorization: Bearer Zq1secretL http://x",
        "web --api-key=Zq1secretM --client_secret Zq1secretN",
        "amqp-worker amqp://guest:Zq1secretO@mq:5672/",
    ];
    let owners: Vec<serde_json::Value> = commands
        .iter()
        .enumerate()
        .map(|(i, c)| json!({"pid": 100 + i, "name": "web", "cmdline": c, "user": "www"}))
        .collect();
    let listeners = json!([
        {"transport": "tcp", "addr": "127.0.0.1", "port": 20000, "inode": 1, "uid": 0,
         "owners": owners}
    ]);
    let r = s.post(
        "/api/v1/observations",
        &json!({"host": "app1", "listeners": listeners}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains("Zq1"), "{}", r.body);
    let one = s.get("/api/v1/observations/app1");
    let all = s.get("/api/v1/observations");
    for r in [&one, &all] {
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(!r.body.contains("Zq1"), "a secret was served: {}", r.body);
    }
    let stored: Vec<String> = one.json()["listeners"][0]["owners"]
        .as_array()
        .expect("owners")
        .iter()
        .filter_map(|o| o["cmdline"].as_str().map(str::to_string))
        .collect();
    assert_eq!(stored.len(), commands.len());
    assert_eq!(stored[0], "/srv/web --port 20000 --password=***");
    assert_eq!(stored[4], "worker --db=postgres://app:***@db1:5432/x");
    assert_eq!(
        stored[7],
        "worker postgres://app@db1/x?sslmode=require&password=***"
    );
    assert_eq!(stored[9], "mysql -uroot -p*** db");
}

// ---------------------------------------------------------------------------- single tests

#[test]
fn logs_never_contain_tokens() {
    let dir = tempfile::tempdir().expect("temp dir");
    let s = TestServer::start(
        &format!("sqlite://{}", dir.path().join("logs.db").display()),
        unlimited(),
    );
    s.import(SPEC);
    let secret_of = |t: &str| t[21..].to_string();
    let bogus = format!("ptk_{}_{}", "1".repeat(16), "abcdef0123456789".repeat(4));
    for token in [
        &s.tokens.admin,
        &s.tokens.write,
        &s.tokens.read,
        &s.tokens.revoked,
        &bogus,
    ] {
        s.call("GET", "/api/v1/projects", Some(token), None);
        s.call(
            "POST",
            "/api/v1/allocate",
            Some(token),
            Some(&json!({"project": "hub", "name": "log-test", "host": "app1"}).to_string()),
        );
        s.call("GET", "/api/v1/log?after=0", Some(token), None);
    }
    let r = s.call(
        "POST",
        "/api/v1/tokens",
        Some(&s.tokens.admin),
        Some(&json!({"role": "read"}).to_string()),
    );
    let fresh = r.json()["token"].as_str().expect("token").to_string();
    std::thread::sleep(Duration::from_millis(200));
    let text = String::from_utf8_lossy(&logs().0.lock().expect("lock")).into_owned();
    let admin_id = &s.tokens.admin[4..20];
    assert!(
        text.contains("request") && text.contains(admin_id),
        "the request log is there:\n{text}"
    );
    for t in [
        &s.tokens.admin,
        &s.tokens.write,
        &s.tokens.read,
        &s.tokens.revoked,
        &bogus,
        &fresh,
    ] {
        assert!(
            !text.contains(&secret_of(t)),
            "a token secret is in the log"
        );
    }
    assert!(
        !text.to_lowercase().contains("bearer ptk_"),
        "an Authorization header is in the log"
    );
}

/// The read lists are cached per store generation: a write through this server shows in
/// the next read, and one through another store on the same database (another server)
/// within the generation's 25 ms.
fn cached_reads_follow_every_writer(url: &str) {
    let s = TestServer::start(url, unlimited());
    s.import(SPEC);
    let names = |s: &TestServer| -> Vec<String> {
        s.get("/api/v1/projects")
            .json()
            .as_array()
            .expect("projects")
            .iter()
            .map(|p| p["name"].as_str().expect("name").to_string())
            .collect()
    };
    assert_eq!(names(&s), ["dash", "hub"]);
    let r = s.post(
        "/api/v1/allocate",
        &json!({"project": "hub", "name": "fresh", "host": "app1"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let b = s.get("/api/v1/bindings?service=fresh").json();
    assert_eq!(b[0]["lo"], 23000, "{b}");
    assert_eq!(s.get("/api/v1/services/fresh").json()["allocated"], true);
    // another writer on the same database
    let other = s.block_on(portolan_store::open(url)).expect("open");
    let spec = format!("{SPEC}\n[projects.extra]\nrange = \"24000-24009\"\n");
    s.block_on(other.import_spec(&spec))
        .expect("import elsewhere");
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(names(&s), ["dash", "extra", "hub"]);
    assert_eq!(
        s.get("/api/v1/projects/extra").json()["range"],
        "24000-24009"
    );
    assert_eq!(
        s.get("/api/v1/services/fresh").status,
        404,
        "the import dropped it"
    );
    assert!(s.get("/api/v1/spec").body.contains("[projects.extra]"));
}

/// Regression (hostile input): an import or a report with more findings than a page, or
/// than the store keeps, stored 500,500 findings and made `/findings` 283 MB. A report of
/// 10,050 undeclared listeners now stores 9,999 findings and one `findings-truncated`
/// summary, and `/findings` serves them a page at a time (`limit`, `X-Next-Cursor`,
/// `Link`); the log and the reports page the same way.
fn findings_are_capped_and_paged(url: &str) {
    let s = TestServer::start(url, unlimited());
    s.import(SPEC);
    let listeners: Vec<Value> = (0..10_050u32)
        .map(|i| json!({"transport": "tcp", "addr": "0.0.0.0", "port": 30_000 + i}))
        .collect();
    let r = s.post(
        "/api/v1/observations",
        &json!({"host": "app1", "listeners": listeners}),
    );
    assert_eq!(r.status, 200, "{}", &r.body[..r.body.len().min(300)]);
    let drift = r.json()["drift"].as_array().expect("drift").clone();
    assert_eq!(drift.len(), 10_000);
    let last = drift.last().expect("summary");
    assert_eq!(last["rule"], "findings-truncated");
    assert!(
        last["message"].as_str().is_some_and(
            |m| m.contains("the first 9999 are stored") && m.contains("undeclared-listener")
        ),
        "{last}"
    );
    // every page but the last is full and announces the next one
    let mut seen = 0;
    let mut pages = 0;
    let mut path = "/api/v1/findings?limit=3000".to_string();
    loop {
        let r = s.get(&path);
        assert_eq!(r.status, 200, "{}", r.body);
        let n = r.json().as_array().expect("page").len();
        seen += n;
        pages += 1;
        let Some(cursor) = r.header("x-next-cursor").map(str::to_string) else {
            assert!(r.header("link").is_none());
            break;
        };
        assert_eq!(n, 3000);
        let link = r.header("link").expect("link").to_string();
        assert!(link.ends_with("; rel=\"next\""), "{link}");
        path = format!("/api/v1/findings?limit=3000&cursor={cursor}");
        assert!(pages < 10, "no end to the pages");
    }
    let lint = s
        .get("/api/v1/findings?limit=10000")
        .json()
        .as_array()
        .map_or(0, |a| a.iter().filter(|f| f["source"] == "lint").count());
    assert_eq!(seen, 10_000 + lint);
    assert_eq!(
        s.get("/api/v1/findings").json().as_array().map(Vec::len),
        Some(1000),
        "the default page"
    );
    let r = s.get("/api/v1/findings?limit=10001");
    assert_eq!((r.status, r.json()["field"].clone()), (400, json!("limit")));
    let r = s.get("/api/v1/findings?cursor=zz");
    assert_eq!(
        (r.status, r.json()["field"].clone()),
        (422, json!("cursor"))
    );
    let warnings = s
        .get("/api/v1/findings?severity=warning&limit=10000")
        .json();
    assert!(
        warnings
            .as_array()
            .expect("findings")
            .iter()
            .all(|f| f["severity"] == "warning")
    );
    // reports: two hosts, one a page
    let r = s.post(
        "/api/v1/observations",
        &json!({"host": "dev", "listeners": []}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s.get("/api/v1/observations?limit=1");
    assert_eq!(r.json()[0]["host"], "app1");
    let next = r
        .header("x-next-cursor")
        .expect("a second page")
        .to_string();
    let r = s.get(&format!("/api/v1/observations?limit=1&cursor={next}"));
    assert_eq!(r.json()[0]["host"], "dev");
    assert!(r.header("x-next-cursor").is_none() || r.json().as_array().map(Vec::len) == Some(1));
    // the log: cursor = the last id of the page
    for name in ["l1", "l2", "l3"] {
        let r = s.post(
            "/api/v1/allocate",
            &json!({"project": "hub", "name": name, "host": "app1"}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    }
    // the import's `push` entry, l1, l2 | l3
    let r = s.get("/api/v1/log?limit=3");
    let next = r.header("x-next-cursor").expect("next").to_string();
    assert_eq!(
        r.json()[2]["id"].as_i64().map(|i| i.to_string()),
        Some(next.clone())
    );
    let r = s.get(&format!("/api/v1/log?limit=3&cursor={next}"));
    assert_eq!(r.json()[0]["entry"]["service"], "l3");
}

/// Regression (hostile input): every request's method became a permanent metrics label
/// (20,000 requests with unique 8 KB methods made a 2.6 GB scrape; the test sends exactly
/// that). Methods outside the
/// API's are `other`, and paths no route matches are one `unmatched` label.
#[test]
fn metrics_labels_come_from_a_fixed_set() {
    let dir = tempfile::tempdir().expect("temp dir");
    let s = TestServer::start(
        &format!("sqlite://{}", dir.path().join("m.db").display()),
        unlimited(),
    );
    let addr = s.base.trim_start_matches("http://").to_string();
    // the reproducer as reported: 20,000 requests with unique 8 KB methods (8 keep-alive
    // connections, one request after another on each)
    let senders: Vec<_> = (0..8)
        .map(|t| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let stream = std::net::TcpStream::connect(&addr).expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                let mut c = std::io::BufReader::new(stream);
                for i in (t..20_000).step_by(8) {
                    let method = format!("M{i:05}{}", "X".repeat(8 * 1024 - 6));
                    let request = format!("{method} /api/v1/nope-{i} HTTP/1.1\r\nHost: x\r\n\r\n");
                    c.get_mut().write_all(request.as_bytes()).expect("send");
                    let status = read_response(&mut c);
                    assert!(status.starts_with("HTTP/1.1 4"), "{i}: {status}");
                }
            })
        })
        .collect();
    for t in senders {
        t.join().expect("sender");
    }
    for i in 0..100 {
        s.call(
            "GET",
            &format!("/api/v1/random/{i}"),
            Some(&s.tokens.read),
            None,
        );
    }
    let r = s.get("/metrics");
    assert_eq!(r.status, 200);
    // 2.6 GB before
    eprintln!(
        "/metrics after 20,000 unique 8 KB methods: {} bytes",
        r.body.len()
    );
    assert!(r.body.len() < 64 * 1024, "{} bytes", r.body.len());
    let methods: BTreeSet<&str> = r
        .body
        .lines()
        .filter(|l| l.starts_with("portolan_http_request_duration_seconds_count"))
        .filter_map(|l| l.split("method=\"").nth(1)?.split('"').next())
        .collect();
    assert!(methods.contains("other"), "{methods:?}");
    assert!(
        methods.iter().all(|m| [
            "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"
        ]
        .contains(m)),
        "{methods:?}"
    );
    let routes: BTreeSet<&str> = r
        .body
        .lines()
        .filter(|l| l.starts_with("portolan_http_request_duration_seconds_count"))
        .filter_map(|l| l.split("route=\"").nth(1)?.split('"').next())
        .collect();
    assert!(routes.contains("unmatched"), "{routes:?}");
    assert!(
        routes
            .iter()
            .all(|r| !r.contains("nope") && !r.contains("random")),
        "{routes:?}"
    );
}

/// `n` header lines `X-H0: v` … `X-H{n-1}: v`.
fn numbered_headers(n: usize) -> String {
    (0..n).fold(String::new(), |mut out, i| {
        let _ = std::fmt::Write::write_fmt(&mut out, format_args!("X-H{i}: v\r\n"));
        out
    })
}

/// Reads one HTTP/1.1 response (head and `Content-Length` body) from `c`; its status line.
fn read_response(c: &mut impl std::io::BufRead) -> String {
    let mut status = String::new();
    c.read_line(&mut status).expect("status line");
    let mut length = 0;
    loop {
        let mut line = String::new();
        c.read_line(&mut line).expect("header");
        if line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().expect("content-length");
        }
    }
    let mut body = vec![0; length];
    c.read_exact(&mut body).expect("body");
    status
}

/// A server with `conn` limits and a throttle, on a fresh SQLite file.
fn server_with(conn: ConnLimits, throttle: AuthThrottle) -> (TestServer, tempfile::TempDir) {
    server_behind(
        conn,
        throttle,
        portolan_server::proxy::TrustedProxies::default(),
    )
}

/// [`server_with`], believing the forwarding headers of peers inside `proxies`.
fn server_behind(
    conn: ConnLimits,
    throttle: AuthThrottle,
    proxies: portolan_server::proxy::TrustedProxies,
) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    let mut s = TestServer::start(&url, unlimited());
    // restart on the same store with the limits under test
    if let Some(tx) = s.shutdown.take() {
        let _ = tx.send(());
    }
    let listener = s
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    s.base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let state = AppState::with_limits(s.store.clone(), unlimited())
        .with_conn_limits(conn)
        .with_auth_throttle(throttle)
        .with_trusted_proxies(proxies);
    s.rt.as_ref()
        .expect("runtime")
        .spawn(portolan_server::serve_on(listener, state, async move {
            let _ = rx.await;
        }));
    s.shutdown = Some(tx);
    (s, dir)
}

/// Regression (hostile neighbours): no header-read or idle timeout — 300 idle sockets
/// exhausted a 256-fd server, and a client sending its headers a byte at a time held a
/// connection forever. Idle and slow connections are now closed after the header read
/// timeout, and the server keeps answering while more connections than it serves at once
/// sit idle.
#[test]
fn idle_and_slow_connections_are_dropped() {
    let (s, _dir) = server_with(
        ConnLimits {
            header_read: Duration::from_millis(800),
            max_connections: 16,
            ..ConnLimits::default()
        },
        AuthThrottle::off(),
    );
    let addr = s.base.trim_start_matches("http://").to_string();
    // more idle sockets than the server serves at once
    let idle: Vec<std::net::TcpStream> = (0..40)
        .map(|_| std::net::TcpStream::connect(&addr).expect("connect"))
        .collect();
    // one slowloris: a byte of its request head every 200 ms
    let slow = std::thread::spawn({
        let addr = addr.clone();
        move || {
            let mut c = std::net::TcpStream::connect(&addr).expect("connect");
            let head =
                b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
            let start = Instant::now();
            for b in head {
                if c.write_all(&[*b]).is_err() {
                    return Some(start.elapsed());
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            None
        }
    });
    // the server still answers: the idle ones are closed after the timeout
    let t = Instant::now();
    let r = s.call("GET", "/healthz", None, None);
    assert_eq!(r.status, 200);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    for mut c in idle {
        c.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut buf = [0u8; 256];
        let n = std::io::Read::read(&mut c, &mut buf);
        // closed by the server (EOF, or reset), possibly after a 408
        assert!(
            n.is_ok()
                || n.as_ref()
                    .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
            "{n:?}"
        );
        if let Ok(n) = n {
            let text = String::from_utf8_lossy(&buf[..n]);
            assert!(n == 0 || text.starts_with("HTTP/1.1 408"), "{text}");
        }
    }
    let cut = slow.join().expect("slow client");
    assert!(
        cut.is_some_and(|d| d < Duration::from_secs(5)),
        "the slow client was not cut off: {cut:?}"
    );
}

/// Regression (hostile neighbours): the header timeout does not cover a body, so a client
/// announcing a body and sending it a byte at a time held a handler forever; and hyper read
/// request heads up to ~400 KiB (a 300 KB method was accepted). A request now has a time
/// limit from head to answer (408), and a head more than 64 KiB or 100 headers long is 431.
#[test]
fn slow_bodies_and_huge_heads_are_cut_off() {
    let (s, _dir) = server_with(
        ConnLimits {
            request: Duration::from_millis(1500),
            ..ConnLimits::default()
        },
        AuthThrottle::off(),
    );
    let addr = s.base.trim_start_matches("http://").to_string();
    let connect = || {
        let c = std::net::TcpStream::connect(&addr).expect("connect");
        c.set_nodelay(true).expect("nodelay");
        c.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        c
    };
    // a body a byte every 100 ms, 400 bytes announced: 40 s if nothing cuts it
    let mut slow = connect();
    let head = format!(
        "POST /api/v1/allocate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 400\r\n\r\n{{",
        s.tokens.write
    );
    slow.write_all(head.as_bytes()).expect("head");
    let started = Instant::now();
    let trickle = std::thread::spawn({
        let mut w = slow.try_clone().expect("clone");
        move || {
            for _ in 0..399 {
                if w.write_all(b" ").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    });
    let status = read_response(&mut std::io::BufReader::new(&slow));
    assert!(status.starts_with("HTTP/1.1 408"), "{status}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    drop(slow);
    let _ = trickle.join();
    // heads too large: a long method, a long header, too many headers
    for (what, request) in [
        (
            "method",
            format!(
                "{} /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                "M".repeat(300_000)
            ),
        ),
        (
            "header",
            format!(
                "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
                "a".repeat(70 * 1024)
            ),
        ),
        (
            "headers",
            format!(
                "GET /healthz HTTP/1.1\r\nHost: x\r\n{}\r\n",
                numbered_headers(101)
            ),
        ),
    ] {
        let mut c = connect();
        // the server may answer and close before the whole head is written
        let _ = c.write_all(request.as_bytes());
        let mut answer = String::new();
        let _ = std::io::Read::read_to_string(&mut c, &mut answer);
        assert!(answer.starts_with("HTTP/1.1 431"), "{what}: {answer:.200}");
    }
    // a head within the limits is served
    let mut c = connect();
    let ok = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n{}Connection: close\r\n\r\n",
        "a".repeat(60 * 1024),
        numbered_headers(90)
    );
    c.write_all(ok.as_bytes()).expect("send");
    assert!(read_response(&mut std::io::BufReader::new(&c)).starts_with("HTTP/1.1 200"));
}

/// Regression (hostile input): invalid tokens were never throttled. After a burst of
/// refused tokens from one address, its next attempts are 429 with Retry-After — before
/// any lookup — while a token this server recently accepted still works.
#[test]
fn refused_tokens_are_throttled_per_address() {
    let (s, _dir) = server_with(ConnLimits::default(), AuthThrottle::new(5, 6));
    // the admin token is checked (and remembered) before the guessing starts
    assert_eq!(s.get("/api/v1/projects").status, 200);
    let bogus = format!("ptk_{}_{}", "1".repeat(16), "f".repeat(64));
    for i in 0..5 {
        let r = s.call("GET", "/api/v1/projects", Some(&bogus), None);
        assert_eq!(r.status, 401, "attempt {i}: {}", r.body);
    }
    let r = s.call("GET", "/api/v1/projects", Some(&bogus), None);
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.json()["field"], "authorization");
    assert!(
        r.header("retry-after")
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|v| (1..=10).contains(&v)),
        "{:?}",
        r.header("retry-after")
    );
    // a token not checked lately waits too (guessing must not go on with real ids)
    let r = s.call("GET", "/api/v1/projects", Some(&s.tokens.write), None);
    assert_eq!(r.status, 429);
    // the remembered one is not a guess
    assert_eq!(s.get("/api/v1/projects").status, 200);
}

/// Regression (hostile input): JSON was accepted as `text/plain`, and a port-0 listener was
/// stored. A body in another media type is 415 naming `content-type`; port 0 is 422
/// naming the listener.
#[test]
fn bodies_say_what_they_are_and_ports_are_real() {
    let dir = tempfile::tempdir().expect("temp dir");
    let s = TestServer::start(
        &format!("sqlite://{}", dir.path().join("ct.db").display()),
        unlimited(),
    );
    s.import(SPEC);
    let body = json!({"project": "hub", "name": "typed", "host": "app1"}).to_string();
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/jsonx",
    ] {
        let r = ureq_call(&s, "POST", "/api/v1/allocate", &s.tokens.write, ct, &body);
        assert_eq!(
            (r.status, r.json()["field"].clone()),
            (415, json!("content-type")),
            "{ct}: {}",
            r.body
        );
    }
    let r = ureq_call(
        &s,
        "POST",
        "/api/v1/allocate",
        &s.tokens.write,
        "application/json; charset=utf-8",
        &body,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = ureq_call(
        &s,
        "PUT",
        "/api/v1/spec",
        &s.tokens.admin,
        "application/json",
        SPEC,
    );
    assert_eq!(
        (r.status, r.json()["field"].clone()),
        (415, json!("content-type"))
    );
    let r = ureq_call(
        &s,
        "PUT",
        "/api/v1/spec",
        &s.tokens.admin,
        "text/plain",
        SPEC,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s.post(
        "/api/v1/observations",
        &json!({"host": "app1", "listeners": [
            {"transport": "tcp", "addr": "0.0.0.0", "port": 22},
            {"transport": "tcp", "addr": "0.0.0.0", "port": 0}]}),
    );
    assert_eq!(
        (r.status, r.json()["field"].clone()),
        (422, json!("listeners[1].port")),
        "{}",
        r.body
    );
    assert_eq!(
        s.get("/api/v1/observations/app1").status,
        404,
        "nothing stored"
    );
}

/// A request with an explicit Content-Type.
fn ureq_call(s: &TestServer, method: &str, path: &str, token: &str, ct: &str, body: &str) -> Resp {
    let url = format!("{}{path}", s.base);
    let a = agent();
    let req = match method {
        "POST" => a.post(&url),
        // a wholesale replace (the generation guard has its own case, `push`)
        "PUT" => a.put(&url).header("If-Match", "*"),
        other => panic!("method {other}"),
    };
    let mut res = req
        .header("Authorization", &format!("Bearer {token}"))
        .content_type(ct)
        .send(body)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let headers = res
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    Resp {
        status: res.status().as_u16(),
        headers,
        body: res.body_mut().read_to_string().unwrap_or_default(),
    }
}

/// The clock is the state's (read once at start), not the environment's on each request:
/// a token expiring at T works at T-1 and is refused at T on a server pinned to each.
#[test]
fn token_expiry_follows_the_injected_clock() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("clock.db").display());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let store: Arc<dyn Store> = Arc::from(rt.block_on(portolan_store::open(&url)).expect("open"));
    let t = 1_795_773_600;
    let token = rt
        .block_on(store.create_token(Role::Read, "soon", Some(t + 60), t))
        .expect("token")
        .token;
    for (at, status) in [(t + 59, 200), (t + 60, 401)] {
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let state = AppState::new(store.clone()).with_clock(Clock::Fixed(at));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = rt.spawn(portolan_server::serve_on(listener, state, async move {
            let _ = rx.await;
        }));
        let r = call(
            &agent(),
            &base,
            "GET",
            "/api/v1/projects",
            Some(&token),
            None,
        );
        assert_eq!(r.status, status, "at {at}: {}", r.body);
        let _ = tx.send(());
        rt.block_on(server).expect("join").expect("serve");
    }
}

/// schemathesis (PyPI) generates requests from the OpenAPI document, positive and negative,
/// with an admin token, and fails on any 5xx. `.ci/run` installs it; missing, this fails.
#[test]
fn schemathesis_finds_no_server_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let s = TestServer::start(
        &format!("sqlite://{}", dir.path().join("st.db").display()),
        unlimited(),
    );
    s.import(SPEC);
    let bin = std::env::var("SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".into());
    let examples = std::env::var("SCHEMATHESIS_MAX_EXAMPLES").unwrap_or_else(|_| "25".into());
    let report = dir.path().join("schemathesis.txt");
    let out = std::process::Command::new(&bin)
        .args([
            "run",
            &format!("{}/api/v1/openapi.json", s.base),
            "--checks",
            "not_a_server_error",
            "--max-examples",
            &examples,
            "--request-timeout",
            "10",
            "--header",
            &format!("Authorization: Bearer {}", s.tokens.admin),
            "--exclude-path",
            "/api/v1/tokens/{id}",
            "--no-color",
        ])
        .env("SCHEMATHESIS_HOOKS", "")
        // its example cache goes to the temp dir, not into the source tree
        .current_dir(dir.path())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {bin} ({e}): pip install schemathesis (.ci/run does)")
        });
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::File::create(&report).and_then(|mut f| f.write_all(text.as_bytes()));
    eprintln!("{text}");
    assert!(out.status.success(), "schemathesis found failures:\n{text}");
}
