//! The store's behaviour suite, written once and run against both real engines: each case
//! is two tests, `sqlite_<case>` (a file in a temp dir) and `postgres_<case>` (a database of
//! its own on the PostgreSQL 15 server this binary starts on first use, see
//! `portolan_testkit::PgServer`), so one case on one engine runs alone with
//! `cargo test -p portolan-store postgres_reserve_release_log`.
#![allow(clippy::doc_markdown)]

use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;
use std::time::Instant;

use portolan_alloc::AllocError;
use portolan_model::Model;
use portolan_store::{
    Action, AllocRequest, Backend, Entry, Observation, ObservedPorts, PushRequest, Report,
    ReportBody, ReserveRequest, Role, Store, StoreError, StoredFinding, TokenRejection, Transport,
    WebhookEvent,
};
use portolan_testkit::{Engine, engine_tests};

/// 2026-11-27T10:00:00Z
const NOW: i64 = 1_795_773_600;
const SQLISH: &str = "'; DROP TABLE services; --";

/// Where a case's database lives; a case may open it more than once.
#[derive(Clone, Debug)]
struct Fixture {
    url: String,
    backend: Backend,
}

impl Fixture {
    async fn open(&self) -> Box<dyn Store> {
        portolan_store::open(&self.url)
            .await
            .unwrap_or_else(|e| panic!("open {}: {e}", self.url))
    }
}

/// Runs `case` on a fresh database of `engine`, on a runtime of its own.
fn run<F: Future<Output = ()>>(engine: Engine, name: &str, case: impl FnOnce(Fixture) -> F) {
    let db = engine.database(name);
    let fixture = Fixture {
        url: db.url.clone(),
        backend: match engine {
            Engine::Sqlite => Backend::Sqlite,
            Engine::Postgres => Backend::Postgres,
        },
    };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(case(fixture));
}

engine_tests!(run;
    migrations_are_idempotent,
    examples_round_trip,
    invalid_import_changes_nothing,
    allocation_uses_the_cli_policy,
    concurrent_allocations_never_duplicate,
    expired_lease_is_reclaimed,
    tokens_verify_by_role,
    sql_ish_strings_are_stored_verbatim,
    reserve_release_log,
    observations_and_findings,
    reports_stored_before_masking_are_served_masked,
    duplicate_port_claims_violate_the_unique_key,
    model_cache_sees_other_writers,
    concurrent_allocations_batch_without_duplicates,
    a_batch_answers_each_request,
    generation_moves_with_spec_writes_only,
    announcements_are_claimed_once_across_servers_and_restarts,
    expectations_survive_import_and_export,
    unchanged_drift_findings_are_not_rewritten,
    reports_without_changes_do_not_rewrite_listeners,
    a_restart_stores_a_small_event_and_old_rows_still_read,
    observed_ports_read_listeners_as_the_dashboard_does,
    allocation_after_a_push_uses_the_pushed_spec,
    warming_the_allocator_changes_no_answer,
);

// ---------------------------------------------------------------------------- helpers

const SMALL: &str = r#"
[spec]
name = "small"

[networks]
lan = "192.168.1.0/24"

[hosts.app1]
environment = "production"
addresses = ["192.168.1.10"]
networks = ["lan"]

[hosts.app2]
environment = "staging"

[projects.dash]
range = "20000-20999"
blocks = { api = "20010-20019", tiny = "20100-20101" }

[projects.hub]
range = "21000-21009"

[services.existing]
project = "dash"
hosts = ["app1"]
bindings.http = { port = 20000, bind = "127.0.0.1", exposure = "localhost" }
"#;

fn examples() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("examples dir")
        .filter_map(|e| {
            let p = e.ok()?.path().join("ports.toml");
            p.exists().then_some(p)
        })
        .collect();
    v.sort();
    v
}

fn load(text: &str) -> Model {
    portolan_model::load_str("ports.toml", text)
        .unwrap_or_else(|e| panic!("exported spec does not load: {e}\n{text}"))
}

/// Everything the registry stores of a model, as comparable lines.
fn facts(m: &Model) -> Vec<String> {
    let mut out = Vec::new();
    out.push(format!(
        "meta {:?}",
        (&m.meta.name, &m.meta.description, &m.meta.owner)
    ));
    for n in m.networks.iter().filter(|n| !n.builtin) {
        out.push(format!(
            "network {} {:?} {:?}",
            n.name, n.cidrs, n.description
        ));
    }
    for e in &m.environments {
        out.push(format!("environment {} {:?}", e.name, e.description));
    }
    for h in &m.hosts {
        out.push(format!(
            "host {} env={} {:?} nets={:?} fw={:?} eph={} dual={} {:?} {:?}",
            h.name,
            m.environment(h.environment).name,
            h.addresses,
            h.networks
                .iter()
                .map(|n| m.network(*n).name.clone())
                .collect::<Vec<_>>(),
            h.firewall.kind,
            h.ephemeral,
            h.dual_stack,
            h.description,
            h.hostname()
        ));
    }
    for p in &m.projects {
        out.push(format!(
            "project {} {:?} {:?} {:?}",
            p.name,
            p.range.as_ref().map(ToString::to_string),
            p.description,
            p.owner
        ));
        for b in &p.blocks {
            out.push(format!("  block {} {} {:?}", b.name, b.ports, b.purpose));
        }
    }
    for s in &m.services {
        out.push(format!(
            "service {} project={:?} block={:?} {:?} {:?} {:?} since={:?} lease={:?} ev={:?} priv={} proc={:?} supp={}",
            s.name,
            s.project.map(|p| m.project(p).name.clone()),
            s.block,
            s.purpose,
            s.owner,
            s.status,
            s.since,
            s.lease_until,
            s.evidence,
            s.privileged,
            s.process,
            s.suppressions.len()
        ));
    }
    for b in &m.bindings {
        out.push(format!(
            "binding {} @{} {}/{} bind={} app={:?} target={:?} pub={:?} exp={} auth={:?} tls={:?} redirect={} health={:?} status={:?}",
            b.qualified_name(m),
            m.host(b.host).name,
            b.ports,
            b.transport.as_str(),
            b.bind,
            b.app,
            b.target,
            b.publisher,
            b.exposure_label(m),
            b.auth,
            b.tls,
            b.redirect,
            b.health,
            b.status
        ));
    }
    for r in &m.routes {
        out.push(format!(
            "route {} -> {} {:?} {:?}",
            m.binding(r.from).qualified_name(m),
            m.binding(r.to).qualified_name(m),
            r.host,
            r.path
        ));
    }
    for f in &m.flows {
        out.push(format!(
            "flow {:?} {:?} {:?}",
            f.label, f.transport, f.purpose
        ));
    }
    for r in &m.reservations {
        out.push(format!(
            "reservation {} {:?} {} {:?} {:?}",
            r.ports,
            r.project.map(|p| m.project(p).name.clone()),
            r.why,
            r.host.map(|h| m.host(h).name.clone()),
            r.until
        ));
    }
    out.push(format!(
        "lint {:?}",
        m.lint.allow.iter().map(|a| &a.0).collect::<Vec<_>>()
    ));
    out
}

/// A request on `app1` (SMALL declares two hosts: the registry never picks one of them).
fn alloc(project: &str, name: &str) -> AllocRequest {
    let mut r = AllocRequest::new(project, name, "tester", NOW);
    r.host = Some("app1".into());
    r
}

// ---------------------------------------------------------------------------- cases

async fn migrations_are_idempotent(f: Fixture) {
    let a = f.open().await;
    assert_eq!(a.backend(), f.backend);
    a.import_spec(SMALL).await.expect("import");
    let before = a.export_spec().await.expect("export");
    drop(a);
    // opening again applies nothing and loses nothing
    let b = f.open().await;
    let c = f.open().await;
    assert_eq!(b.export_spec().await.expect("export"), before);
    assert_eq!(c.services().await.expect("services").len(), 1);
}

async fn examples_round_trip(f: Fixture) {
    let s = f.open().await;
    let paths = examples();
    assert!(
        paths.len() >= 3,
        "expected the three example specs, got {paths:?}"
    );
    for p in paths {
        let text = std::fs::read_to_string(&p).expect("read example");
        let original = load(&text);
        let summary = s.import_spec(&text).await.expect("import example");
        assert_eq!(summary.services, original.services.len(), "{}", p.display());
        assert_eq!(summary.bindings, original.bindings.len(), "{}", p.display());
        let exported = s.export_spec().await.expect("export");
        let reloaded = load(&exported);
        assert_eq!(
            facts(&original),
            facts(&reloaded),
            "{}: the exported spec differs",
            p.display()
        );
        // import(export(x)) == x, byte for byte on the second pass
        s.import_spec(&exported).await.expect("re-import");
        assert_eq!(
            s.export_spec().await.expect("export"),
            exported,
            "{}",
            p.display()
        );
        assert_eq!(
            s.bindings().await.expect("bindings").len(),
            original.bindings.len()
        );
        assert_eq!(
            s.reservations().await.expect("reservations").len(),
            original.reservations.len()
        );
    }
}

async fn invalid_import_changes_nothing(f: Fixture) {
    let s = f.open().await;
    s.import_spec(SMALL).await.expect("import");
    let before = s.export_spec().await.expect("export");
    let bad = SMALL.replace("port = 20000", "port = 70000");
    match s.import_spec(&bad).await {
        Err(StoreError::Spec(e)) => assert!(e.to_string().contains("ports.toml:"), "{e}"),
        other => panic!("expected a spec error, got {other:?}"),
    }
    match s.import_spec("[services.x]\nbogus = 1\n").await {
        Err(StoreError::Spec(e)) => assert!(e.to_string().contains("bogus"), "{e}"),
        other => panic!("expected a spec error, got {other:?}"),
    }
    assert_eq!(s.export_spec().await.expect("export"), before);
}

async fn allocation_uses_the_cli_policy(f: Fixture) {
    let s = f.open().await;
    s.import_spec(SMALL).await.expect("import");
    // what the CLI's policy says for the same spec
    let model = load(SMALL);
    let expect = portolan_alloc::allocate(
        &model,
        &portolan_alloc::Request {
            project: "dash",
            block: Some("api"),
            host: Some("app1"),
            transport: Transport::Tcp,
            count: 2,
            near: None,
        },
        &portolan_alloc::Occupied::new(),
        NOW,
    )
    .expect("policy");
    let mut req = alloc("dash", "web");
    req.block = Some("api".into());
    req.host = Some("app1".into());
    req.count = 2;
    req.why = Some("the web UI".into());
    let got = s.allocate(&req).await.expect("allocate");
    assert_eq!((got.lo, got.hi), (expect.ports.lo, expect.ports.hi));
    assert_eq!(got.attempts, 1);
    // the next one does not reuse them
    let got2 = s.allocate(&alloc("dash", "web2")).await.expect("allocate");
    assert!(
        got2.lo > 20000 && !(got.lo..=got.hi).contains(&got2.lo),
        "{got2:?}"
    );
    // the exported spec carries them and loads
    let m = load(&s.export_spec().await.expect("export"));
    let web = m.service_named("web").expect("web exported");
    let b = &m.bindings_of(web)[0];
    assert_eq!((b.ports.lo, b.ports.hi), (got.lo, got.hi));
    assert_eq!(m.host(b.host).name, "app1");
    assert_eq!(m.service(web).purpose.as_deref(), Some("the web UI"));
    let services = s.services().await.expect("services");
    assert!(services.iter().any(|x| x.name == "web" && x.allocated));
    assert!(
        services
            .iter()
            .any(|x| x.name == "existing" && !x.allocated)
    );
    // errors are typed and change nothing
    match s.allocate(&alloc("dash", "web")).await {
        Err(StoreError::Alloc(AllocError::ServiceExists(n))) => assert_eq!(n, "web"),
        other => panic!("expected ServiceExists, got {other:?}"),
    }
    match s.allocate(&alloc("dahs", "x")).await {
        Err(StoreError::Alloc(AllocError::UnknownProject { suggestion, .. })) => {
            assert_eq!(suggestion.as_deref(), Some("dash"));
        }
        other => panic!("expected UnknownProject, got {other:?}"),
    }
    match s.allocate(&alloc("dash", SQLISH)).await {
        Err(StoreError::Alloc(AllocError::InvalidName(n))) => assert_eq!(n, SQLISH),
        other => panic!("expected InvalidName, got {other:?}"),
    }
    let mut zero = alloc("dash", "z");
    zero.count = 0;
    assert!(matches!(
        s.allocate(&zero).await,
        Err(StoreError::Invalid { field: "count", .. })
    ));
    let mut tiny = alloc("dash", "t1");
    tiny.block = Some("tiny".into());
    tiny.count = 2;
    s.allocate(&tiny).await.expect("tiny block");
    tiny.name = "t2".into();
    tiny.count = 1;
    match s.allocate(&tiny).await {
        Err(e @ StoreError::Alloc(AllocError::Full { .. })) => assert!(e.is_conflict()),
        other => panic!("expected Full, got {other:?}"),
    }
    let log = s.log(0, 100).await.expect("log");
    let allocs: Vec<&portolan_store::LogEntry> = log
        .iter()
        .map(|r| &r.entry)
        .filter(|e| e.action == Action::Alloc)
        .collect();
    assert_eq!(allocs.len(), 3);
    assert_eq!(allocs[0].service.as_deref(), Some("web"));
    assert_eq!(allocs[0].ports, format!("{}-{}", got.lo, got.hi));
    assert_eq!(allocs[0].at, "2026-11-27T10:00:00Z");
}

async fn concurrent_allocations_never_duplicate(f: Fixture) {
    let a = f.open().await;
    a.import_spec(SMALL).await.expect("import");
    // two store instances (two pools): writers of both race through the database's locks
    let stores: Vec<std::sync::Arc<dyn Store>> = vec![
        std::sync::Arc::from(a),
        std::sync::Arc::from(f.open().await),
    ];
    let t = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..40 {
        let store = stores[task % 2].clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for i in 0..5 {
                let mut req = alloc("dash", &format!("svc-{task}-{i}"));
                if task % 3 == 0 {
                    req.host = Some("app2".into());
                }
                let r = store.allocate(&req).await.expect("allocate");
                got.push(r.lo);
            }
            got
        }));
    }
    let mut ports = Vec::new();
    for t in tasks {
        ports.extend(t.await.expect("task"));
    }
    let elapsed = t.elapsed();
    let unique: BTreeSet<u16> = ports.iter().copied().collect();
    assert_eq!(ports.len(), 200);
    assert_eq!(unique.len(), 200, "duplicate ports handed out");
    assert!(
        !unique.contains(&20000),
        "port of the declared service handed out"
    );
    eprintln!(
        "{}: 200 concurrent allocations in {:.2} s",
        f.backend.as_str(),
        elapsed.as_secs_f64()
    );
    let services = stores[1].services().await.expect("services");
    assert_eq!(services.iter().filter(|s| s.allocated).count(), 200);
    let m = load(&stores[0].export_spec().await.expect("export"));
    assert_eq!(m.services.len(), 201);
}

async fn expired_lease_is_reclaimed(f: Fixture) {
    let s = f.open().await;
    s.import_spec(SMALL).await.expect("import");
    let mut a = alloc("hub", "leased");
    a.lease = Some(3600);
    let leased = s.allocate(&a).await.expect("leased");
    assert_eq!(leased.lease_until, Some(NOW + 3600));
    // fill the rest of the 10-port range
    for i in 0..9 {
        s.allocate(&alloc("hub", &format!("perm{i}")))
            .await
            .expect("fill");
    }
    let leases = s.leases(NOW).await.expect("leases");
    assert_eq!(leases.len(), 1);
    assert_eq!(leases[0].service, "leased");
    assert!(!leases[0].expired);
    // still held before the end
    let mut early = alloc("hub", "early");
    early.now = NOW + 1800;
    assert!(matches!(
        s.allocate(&early).await,
        Err(StoreError::Alloc(AllocError::Full { .. }))
    ));
    // after it: the port goes to the new service, the leased one is gone
    let mut late = alloc("hub", "late");
    late.now = NOW + 3601;
    let got = s.allocate(&late).await.expect("reuse");
    assert_eq!(got.lo, leased.lo);
    assert_eq!(got.displaced, vec!["leased".to_string()]);
    let names: Vec<String> = s
        .services()
        .await
        .expect("services")
        .into_iter()
        .map(|x| x.name)
        .collect();
    assert!(!names.contains(&"leased".to_string()));
    let log = s.log(0, 1000).await.expect("log");
    assert!(
        log.iter()
            .any(|r| r.entry.action == Action::Gc && r.entry.service.as_deref() == Some("leased"))
    );
    // gc removes expired leases nobody reused
    let mut b = alloc("dash", "short");
    b.lease = Some(60);
    s.allocate(&b).await.expect("short lease");
    assert!(s.gc("gc", NOW + 30).await.expect("gc").is_empty());
    let removed = s.gc("gc", NOW + 61).await.expect("gc");
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].service.as_deref(), Some("short"));
    assert!(s.leases(NOW + 61).await.expect("leases").is_empty());
}

async fn tokens_verify_by_role(f: Fixture) {
    let s = f.open().await;
    let mut made = Vec::new();
    for role in [Role::Read, Role::Write, Role::Admin] {
        let t = s
            .create_token(role, &format!("{} bot", role.as_str()), None, NOW)
            .await
            .expect("create");
        assert!(t.token.starts_with("ptk_"));
        assert!(
            !format!("{t:?}").contains(&t.token),
            "Debug shows the secret"
        );
        made.push(t);
    }
    for t in &made {
        let info = s.verify_token(&t.token, NOW).await.expect("verify");
        assert_eq!(info, t.info);
    }
    assert!(made[2].info.role.allows(Role::Write));
    assert!(!made[0].info.role.allows(Role::Write));
    // wrong secret, same id
    let mut wrong = made[1].token.clone();
    let last = wrong.pop().expect("non-empty");
    wrong.push(if last == '0' { '1' } else { '0' });
    let reject = |r: Result<_, StoreError>| match r {
        Err(StoreError::Token(why)) => why,
        other => panic!("expected a token rejection, got {other:?}"),
    };
    assert_eq!(
        reject(s.verify_token(&wrong, NOW).await),
        TokenRejection::Unknown
    );
    assert_eq!(
        reject(s.verify_token("nonsense", NOW).await),
        TokenRejection::Malformed
    );
    assert_eq!(
        reject(s.verify_token("", NOW).await),
        TokenRejection::Malformed
    );
    let unknown = format!("ptk_{}_{}", "0".repeat(16), "0".repeat(64));
    assert_eq!(
        reject(s.verify_token(&unknown, NOW).await),
        TokenRejection::Unknown
    );
    // revoked
    s.revoke_token(&made[1].info.id, NOW + 1)
        .await
        .expect("revoke");
    assert_eq!(
        reject(s.verify_token(&made[1].token, NOW + 2).await),
        TokenRejection::Revoked
    );
    assert!(matches!(
        s.revoke_token("feedfeedfeedfeed", NOW).await,
        Err(StoreError::NotFound {
            entity: "token",
            ..
        })
    ));
    // expired
    let short = s
        .create_token(Role::Write, "ci", Some(NOW + 60), NOW)
        .await
        .expect("create");
    s.verify_token(&short.token, NOW + 59)
        .await
        .expect("still valid");
    assert_eq!(
        reject(s.verify_token(&short.token, NOW + 60).await),
        TokenRejection::Expired
    );
    assert!(matches!(
        s.create_token(Role::Read, "past", Some(NOW - 1), NOW).await,
        Err(StoreError::Invalid {
            field: "expires",
            ..
        })
    ));
    let list = s.tokens().await.expect("list");
    assert_eq!(list.len(), 4);
    let revoked = list
        .iter()
        .find(|t| t.id == made[1].info.id)
        .expect("listed");
    assert_eq!(revoked.revoked, Some(NOW + 1));
    assert_eq!(list.iter().filter(|t| t.revoked.is_some()).count(), 1);
    // only hashes are stored: no clear token in an export of the list
    let shown = format!("{list:?}");
    for t in &made {
        assert!(!shown.contains(&t.token));
    }
}

async fn sql_ish_strings_are_stored_verbatim(f: Fixture) {
    let s = f.open().await;
    let nasty = format!("{SQLISH} Robert'); DROP TABLE tokens;-- \"quoted\" \\ ü ☃ \u{0}");
    let nasty_toml = nasty
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\u{0}', "\\u0000");
    let spec = format!(
        "{SMALL}\n[projects.dash2]\ndescription = \"{nasty_toml}\"\n\n[services.other]\npurpose = \"{nasty_toml}\"\nbindings.x = {{ port = 9999, bind = \"127.0.0.1\", exposure = \"localhost\" }}\n"
    );
    s.import_spec(&spec).await.expect("import");
    let m = load(&s.export_spec().await.expect("export"));
    let other = m.service_named("other").expect("other");
    assert_eq!(m.service(other).purpose.as_deref(), Some(nasty.as_str()));
    let dash2 = m.project_named("dash2").expect("dash2");
    assert_eq!(
        m.project(dash2).description.as_deref(),
        Some(nasty.as_str())
    );
    // free-text fields of every other table (NUL aside: PostgreSQL text cannot hold it, so
    // both backends refuse it alike)
    let mut req = alloc("dash", "svc");
    req.why = Some(nasty.clone());
    assert!(matches!(
        s.allocate(&req).await,
        Err(StoreError::Invalid { field: "why", .. })
    ));
    let nasty = nasty.replace('\u{0}', "");
    req.why = Some(nasty.clone());
    req.who = nasty.clone();
    s.allocate(&req).await.expect("allocate");
    let r = s
        .reserve(&ReserveRequest {
            ports: "20500-20509".into(),
            project: "dash".into(),
            why: nasty.clone(),
            host: None,
            until: None,
            who: SQLISH.into(),
            now: NOW,
        })
        .await
        .expect("reserve");
    assert_eq!(r.why, nasty);
    s.put_observation(&Observation {
        host: SQLISH.into(),
        listeners: serde_json::json!([{ "process": nasty }]),
        at: NOW,
    })
    .await
    .expect("observation");
    let o = s.observation(SQLISH).await.expect("read").expect("present");
    assert_eq!(o.listeners[0]["process"], serde_json::json!(nasty));
    let t = s
        .create_token(Role::Read, &nasty, None, NOW)
        .await
        .expect("token");
    assert_eq!(
        s.verify_token(&t.token, NOW).await.expect("verify").label,
        nasty
    );
    let log = s.log(0, 100).await.expect("log");
    assert!(
        log.iter()
            .any(|r| r.entry.who == nasty && r.entry.why.as_deref() == Some(nasty.as_str()))
    );
    assert!(log.iter().any(|r| r.entry.who == SQLISH));
    let svc = s.services().await.expect("services");
    assert!(
        svc.iter()
            .any(|x| x.name == "svc" && x.doc["purpose"] == serde_json::json!(nasty))
    );
    // every table is still there
    assert_eq!(svc.len(), 3);
    assert_eq!(s.tokens().await.expect("tokens").len(), 1);
    // a name that is not a spec name is refused, not stored
    assert!(matches!(
        s.release(SQLISH, "x", NOW).await,
        Err(StoreError::NotFound {
            entity: "service",
            ..
        })
    ));
}

async fn reserve_release_log(f: Fixture) {
    let s = f.open().await;
    s.import_spec(SMALL).await.expect("import");
    let req = |ports: &str, until: Option<&str>| ReserveRequest {
        ports: ports.into(),
        project: "dash".into(),
        why: "future API".into(),
        host: None,
        until: until.map(Into::into),
        who: "tester".into(),
        now: NOW,
    };
    let r = s.reserve(&req("20200-20209", None)).await.expect("reserve");
    assert_eq!(r.ports, "20200-20209");
    // overlaps a reservation, a service; bad input
    for (ports, why) in [("20205", "reservation"), ("20000", "existing")] {
        match s.reserve(&req(ports, None)).await {
            Err(e @ StoreError::Alloc(AllocError::Overlap { .. })) => {
                assert!(e.to_string().contains(why), "{e}");
                assert!(e.is_conflict());
            }
            other => panic!("expected Overlap, got {other:?}"),
        }
    }
    assert!(matches!(
        s.reserve(&req("nope", None)).await,
        Err(StoreError::Invalid { field: "ports", .. })
    ));
    assert!(matches!(
        s.reserve(&req("20300", Some("2026-13-01"))).await,
        Err(StoreError::Invalid { field: "until", .. })
    ));
    let mut unknown = req("20300", None);
    unknown.project = "nope".into();
    assert!(matches!(
        s.reserve(&unknown).await,
        Err(StoreError::Alloc(AllocError::UnknownProject { .. }))
    ));
    // a reservation ending yesterday is collected
    s.reserve(&req("20400", Some("2026-11-26")))
        .await
        .expect("reserve");
    assert_eq!(s.reservations().await.expect("list").len(), 2);
    // allocation skips reserved ports and the exported spec keeps them
    let m = load(&s.export_spec().await.expect("export"));
    assert_eq!(m.reservations.len(), 2);
    let gone = s.gc("gc", NOW).await.expect("gc");
    assert_eq!(gone.len(), 1);
    assert_eq!(s.reservations().await.expect("list").len(), 1);
    // release
    let e = s.release("existing", "tester", NOW).await.expect("release");
    assert_eq!(e.ports, "20000");
    assert_eq!(e.project.as_deref(), Some("dash"));
    assert!(matches!(
        s.release("existing", "tester", NOW).await,
        Err(StoreError::NotFound {
            entity: "service",
            ..
        })
    ));
    assert!(s.bindings().await.expect("bindings").is_empty());
    // the freed port is handed out again
    assert_eq!(
        s.allocate(&alloc("dash", "again")).await.expect("alloc").lo,
        20000
    );
    // log: ids increase, paging works, appended entries come back as written
    let id = s
        .append_log(&Entry {
            at: "2026-11-27T11:00:00Z".into(),
            who: "someone".into(),
            action: Action::Move,
            service: Some("x".into()),
            project: None,
            block: None,
            host: Some("app1".into()),
            transport: Some("udp".into()),
            ports: "1-2".into(),
            lease_until: None,
            why: Some("because".into()),
        })
        .await
        .expect("append");
    let all = s.log(0, 1000).await.expect("log");
    let actions: Vec<Action> = all.iter().map(|r| r.entry.action).collect();
    assert_eq!(
        actions,
        [
            Action::Reserve,
            Action::Reserve,
            Action::Gc,
            Action::Release,
            Action::Alloc,
            Action::Move
        ]
    );
    assert_eq!(all.last().map(|r| r.id), Some(id));
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    let page = s.log(all[1].id, 2).await.expect("page");
    assert_eq!(page.len(), 2);
    assert_eq!(page[0].id, all[2].id);
}

async fn observations_and_findings(f: Fixture) {
    let s = f.open().await;
    assert!(s.observation("app1").await.expect("read").is_none());
    for (at, port) in [(NOW, 22), (NOW + 30, 443)] {
        s.put_observation(&Observation {
            host: "app1".into(),
            listeners: serde_json::json!([{ "port": port, "transport": "tcp" }]),
            at,
        })
        .await
        .expect("put");
    }
    s.put_observation(&Observation {
        host: "app0".into(),
        listeners: serde_json::json!([]),
        at: NOW,
    })
    .await
    .expect("put");
    let o = s.observation("app1").await.expect("read").expect("present");
    assert_eq!(o.at, NOW + 30);
    assert_eq!(o.listeners[0]["port"], 443);
    let all = s.observations().await.expect("all");
    assert_eq!(
        all.iter().map(|o| o.host.as_str()).collect::<Vec<_>>(),
        ["app0", "app1"]
    );
    assert!(matches!(
        s.put_observation(&Observation {
            host: "x".into(),
            listeners: serde_json::json!({"not": "a list"}),
            at: NOW
        })
        .await,
        Err(StoreError::Invalid {
            field: "listeners",
            ..
        })
    ));
    let finding = |rule: &str| StoredFinding {
        rule: rule.into(),
        severity: "error".into(),
        message: format!("{rule} fired"),
        doc: serde_json::json!({ "rule": rule, "subjects": ["a"] }),
    };
    s.put_findings(
        "lint",
        &[finding("duplicate-binding"), finding("out-of-range")],
        NOW,
    )
    .await
    .expect("put");
    s.put_findings("drift:app1", &[finding("undeclared-listener")], NOW)
        .await
        .expect("put");
    s.put_findings("lint", &[finding("public-without-tls")], NOW + 1)
        .await
        .expect("replace");
    let got = s.findings().await.expect("findings");
    let rules: Vec<(&str, &str)> = got
        .iter()
        .map(|r| (r.source.as_str(), r.rule.as_str()))
        .collect();
    assert_eq!(
        rules,
        [
            ("drift:app1", "undeclared-listener"),
            ("lint", "public-without-tls")
        ]
    );
    assert_eq!(got[1].doc["subjects"][0], "a");
}

/// Regression (secrets): agents' command lines were stored as reported. A report written
/// before masking existed (raw in the table) is served with its secrets masked, and a new
/// one is masked before it is stored.
async fn reports_stored_before_masking_are_served_masked(f: Fixture) {
    let raw = portolan_store::SqlStore::open(&f.url).await.expect("open");
    let old = serde_json::json!([{"port": 5432, "owners": [
        {"pid": 1, "name": "pg", "cmdline": "pgbouncer postgres://u:Zq1old@db/x"}]}]);
    sqlx::query("INSERT INTO observations (host, listeners, at) VALUES ($1, $2, $3)")
        .bind("old")
        .bind(old.to_string())
        .bind(NOW)
        .execute(raw.pool())
        .await
        .expect("raw insert");
    let s = f.open().await;
    s.put_observation(&Observation {
        host: "new".into(),
        listeners: serde_json::json!([{"port": 80, "owners": [
            {"pid": 2, "name": "web", "cmdline": "web --password=Zq1new --port 80"}]}]),
        at: NOW,
    })
    .await
    .expect("put");
    let o = s.observation("old").await.expect("read").expect("present");
    assert_eq!(
        o.listeners[0]["owners"][0]["cmdline"],
        "pgbouncer postgres://u:***@db/x"
    );
    let all = serde_json::to_string(&s.observations().await.expect("all")).expect("json");
    assert!(!all.contains("Zq1"), "{all}");
    let stored: (String,) = sqlx::query_as("SELECT listeners FROM observations WHERE host = $1")
        .bind("new")
        .fetch_one(raw.pool())
        .await
        .expect("raw read");
    assert!(
        stored.0.contains("web --password=*** --port 80"),
        "{}",
        stored.0
    );
}

async fn duplicate_port_claims_violate_the_unique_key(f: Fixture) {
    let s = f.open().await;
    s.import_spec(SMALL).await.expect("import");
    let got = s.allocate(&alloc("dash", "first")).await.expect("allocate");
    // a second claim of the same (host, transport, port), as a racing writer would insert it
    let sql = "INSERT INTO allocated_ports (host, transport, port, allocation) \
               SELECT host, transport, port, allocation FROM allocated_ports";
    let raw = portolan_store::SqlStore::open(&f.url).await.expect("open");
    let err = sqlx::query(sql)
        .execute(raw.pool())
        .await
        .expect_err("duplicate accepted");
    let kind = err
        .as_database_error()
        .map(sqlx::error::DatabaseError::kind);
    assert!(
        matches!(kind, Some(sqlx::error::ErrorKind::UniqueViolation)),
        "{err}"
    );
    assert_eq!(got.lo, 20001);
}

/// A push hands the allocator the pushed model with the push's generation, so the first
/// allocation after it does not export and re-parse the registry (bench/serve.py: p99 at 64
/// in flight 325 ms -> 24 ms on a 10,000-service spec). That model must be the pushed one:
/// a cache primed with the spec from before the push would hand out a port of the old range.
async fn allocation_after_a_push_uses_the_pushed_spec(f: Fixture) {
    let a = f.open().await;
    a.import_spec(SMALL).await.expect("import");
    // warm the cache on the spec before the push
    assert_eq!(a.allocate(&alloc("hub", "a1")).await.expect("a1").lo, 21000);
    let generation = a.generation().await.expect("generation");
    // the pushed spec moves `hub` and takes the first port of its new range
    let pushed = SMALL.replace("21000-21009", "22000-22009")
        + "\n[services.taken]\nproject = \"hub\"\nhosts = [\"app1\"]\nbindings.http = { port = 22000 }\n";
    a.push_spec(&PushRequest {
        toml: pushed,
        expected: Some(generation),
        who: "token:tester".into(),
        token: "t1".into(),
        now: NOW,
    })
    .await
    .expect("push");
    assert_eq!(a.allocate(&alloc("hub", "a2")).await.expect("a2").lo, 22001);
    // another instance, which starts from a fresh export, agrees
    let fresh = f.open().await;
    assert_eq!(
        fresh.allocate(&alloc("hub", "b1")).await.expect("b1").lo,
        22002
    );
    assert_eq!(a.allocate(&alloc("hub", "a3")).await.expect("a3").lo, 22003);
}

/// A server warms its allocator when it starts (`Store::warm_allocator`): the answers are
/// those of a cold instance, also when another instance writes between the warm-up and
/// the allocation, and warming an empty registry is no error.
async fn warming_the_allocator_changes_no_answer(f: Fixture) {
    let empty = f.open().await;
    empty
        .warm_allocator()
        .await
        .expect("warm an empty registry");
    let a = f.open().await;
    a.import_spec(SMALL).await.expect("import");
    let b = f.open().await;
    b.warm_allocator().await.expect("warm");
    assert_eq!(b.allocate(&alloc("hub", "b1")).await.expect("b1").lo, 21000);
    // warmed, then another instance takes the next port
    b.warm_allocator().await.expect("warm again");
    assert_eq!(a.allocate(&alloc("hub", "a1")).await.expect("a1").lo, 21001);
    assert_eq!(b.allocate(&alloc("hub", "b2")).await.expect("b2").lo, 21002);
    let cold = f.open().await;
    assert_eq!(
        cold.allocate(&alloc("hub", "c1")).await.expect("c1").lo,
        21003
    );
    // the empty instance warmed before the import: its view is stale, not used
    assert_eq!(
        empty.allocate(&alloc("hub", "e1")).await.expect("e1").lo,
        21004
    );
}

/// The allocation model cache of one store instance must notice writes made through another
/// (another process or server on the same database): a reservation, a release, an import,
/// an allocation there changes what the next allocation here hands out.
async fn model_cache_sees_other_writers(f: Fixture) {
    let a = f.open().await;
    let b = f.open().await;
    a.import_spec(SMALL).await.expect("import");
    let hub = |name: &str| alloc("hub", name);
    // warm a's cache: 21000, 21001
    assert_eq!(a.allocate(&hub("a1")).await.expect("a1").lo, 21000);
    assert_eq!(a.allocate(&hub("a2")).await.expect("a2").lo, 21001);
    // b reserves the port a would take next
    b.reserve(&ReserveRequest {
        ports: "21002".into(),
        project: "hub".into(),
        why: "held elsewhere".into(),
        host: None,
        until: None,
        who: "tester".into(),
        now: NOW,
    })
    .await
    .expect("reserve");
    assert_eq!(a.allocate(&hub("a3")).await.expect("a3").lo, 21003);
    // b allocates; a must not hand the same port out
    assert_eq!(b.allocate(&hub("b1")).await.expect("b1").lo, 21004);
    assert_eq!(a.allocate(&hub("a4")).await.expect("a4").lo, 21005);
    // b releases a1: a reuses it
    b.release("a1", "tester", NOW).await.expect("release");
    assert_eq!(a.allocate(&hub("a5")).await.expect("a5").lo, 21000);
    // a leased allocation that runs out frees its port for the cache too
    let mut leased = hub("lease");
    leased.lease = Some(60);
    assert_eq!(a.allocate(&leased).await.expect("lease").lo, 21006);
    let mut later = hub("after");
    later.now = NOW + 120;
    let got = a.allocate(&later).await.expect("after");
    assert_eq!(
        (got.lo, got.displaced.clone()),
        (21006, vec!["lease".to_string()])
    );
    // a full range reports the same as on a fresh export
    let mut n = 0;
    let err = loop {
        n += 1;
        match a
            .allocate(&AllocRequest {
                now: NOW + 120,
                ..alloc("hub", &format!("fill{n}"))
            })
            .await
        {
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    let fresh = f.open().await;
    let again = fresh
        .allocate(&AllocRequest {
            now: NOW + 120,
            ..alloc("hub", "one-more")
        })
        .await
        .expect_err("full");
    assert_eq!(err.to_string(), again.to_string());
}

/// 500 allocations at once through two store instances: each instance's writer task
/// commits them in batches (group commit), the database's locks serialize the two; every
/// port is handed out once, every allocation is a service with a log entry.
async fn concurrent_allocations_batch_without_duplicates(f: Fixture) {
    const TOTAL: usize = 500;
    let a = f.open().await;
    a.import_spec(SMALL).await.expect("import");
    let stores: Vec<std::sync::Arc<dyn Store>> = vec![
        std::sync::Arc::from(a),
        std::sync::Arc::from(f.open().await),
    ];
    let t = Instant::now();
    let tasks: Vec<_> = (0..TOTAL)
        .map(|i| {
            let store = stores[i % 2].clone();
            tokio::spawn(async move {
                store
                    .allocate(&alloc("dash", &format!("many-{i}")))
                    .await
                    .expect("allocate")
            })
        })
        .collect();
    let mut got = Vec::new();
    for task in tasks {
        got.push(task.await.expect("task"));
    }
    let elapsed = t.elapsed();
    let ports: BTreeSet<u16> = got.iter().map(|g| g.lo).collect();
    assert_eq!(ports.len(), TOTAL, "duplicate ports handed out");
    assert!(
        !ports.contains(&20000),
        "port of the declared service handed out"
    );
    let largest = got.iter().map(|g| g.batch).max().unwrap_or(0);
    assert!(largest > 1, "no two allocations were committed together");
    assert!(
        largest <= u32::try_from(portolan_store::MAX_BATCH).unwrap_or(u32::MAX),
        "a batch larger than MAX_BATCH: {largest}"
    );
    eprintln!(
        "{}: {TOTAL} concurrent allocations in {:.2} s, largest batch {largest}",
        f.backend.as_str(),
        elapsed.as_secs_f64()
    );
    // lowest free first: with nothing released, the 500 are the pool's first 500 free ports
    let next = stores[0]
        .allocate(&alloc("dash", "after"))
        .await
        .expect("after");
    assert!(
        ports.iter().all(|p| *p < next.lo),
        "a lower port was left free"
    );
    let services = stores[1].services().await.expect("services");
    assert_eq!(services.iter().filter(|s| s.allocated).count(), TOTAL + 1);
    let log = stores[0].log(0, 10_000).await.expect("log");
    assert_eq!(
        log.iter()
            .filter(|r| r.entry.action == Action::Alloc)
            .count(),
        TOTAL + 1
    );
    let m = load(&stores[0].export_spec().await.expect("export"));
    assert_eq!(m.services.len(), TOTAL + 2);
}

/// The requests of [`a_batch_answers_each_request`]: valid ones mixed with refusals of
/// every kind (unknown project, block, host; a name taken in the registry or earlier in the
/// batch; a full block; too many ports).
fn mixed_batch() -> Vec<AllocRequest> {
    let with = |project: &str, name: &str, edit: &dyn Fn(&mut AllocRequest)| {
        let mut r = alloc(project, name);
        edit(&mut r);
        r
    };
    vec![
        alloc("hub", "m1"),
        alloc("nope", "lost"),
        with("dash", "t1", &|r| r.block = Some("tiny".into())),
        with("dash", "t2", &|r| r.block = Some("tiny".into())),
        with("dash", "t3", &|r| r.block = Some("tiny".into())),
        alloc("hub", "m1"),
        with("hub", "ghost", &|r| r.host = Some("ghost".into())),
        alloc("dash", "existing"),
        with("dash", "nob", &|r| r.block = Some("nob".into())),
        alloc("hub", "m2"),
        with("hub", "wide", &|r| r.count = 20),
        with("dash", "a1", &|r| {
            r.block = Some("api".into());
            r.count = 3;
        }),
        with("hub", "leased", &|r| r.lease = Some(60)),
        // two hosts, none named (issue 13: never an implicit host)
        with("hub", "nowhere", &|r| r.host = None),
    ]
}

fn answer(r: &Result<portolan_store::Allocated, StoreError>) -> String {
    match r {
        Ok(g) => format!("ok {}-{} {:?}", g.lo, g.hi, g.displaced),
        Err(e) => format!("err {e}"),
    }
}

/// One batch mixing valid and invalid requests: each gets its own answer — the one the same
/// requests get one at a time — and only the valid ones are written.
async fn a_batch_answers_each_request(f: Fixture) {
    let reqs = mixed_batch();
    // the oracle: the same requests one at a time, on an in-memory SQLite registry
    let oracle = portolan_store::open("sqlite::memory:")
        .await
        .expect("open memory");
    oracle.import_spec(SMALL).await.expect("import");
    let mut expect = Vec::new();
    for r in &reqs {
        expect.push(answer(&oracle.allocate(r).await));
    }
    // the batch: on a current-thread runtime, every request is queued before the writer
    // task first runs, so they all land in one transaction
    let url = f.url.clone();
    let batch = reqs.clone();
    let got = tokio::task::spawn_blocking(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let s = portolan_store::open(&url).await.expect("open");
            s.import_spec(SMALL).await.expect("import");
            let tasks: Vec<_> = {
                let s: std::sync::Arc<dyn Store> = std::sync::Arc::from(s);
                batch
                    .into_iter()
                    .map(|r| {
                        let s = s.clone();
                        tokio::spawn(async move { s.allocate(&r).await })
                    })
                    .collect()
            };
            let mut got = Vec::new();
            for t in tasks {
                got.push(t.await.expect("task"));
            }
            got
        })
    })
    .await
    .expect("batch thread");
    let answers: Vec<String> = got.iter().map(answer).collect();
    assert_eq!(answers, expect);
    let ok: Vec<_> = got.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(ok.len(), 6, "{answers:#?}");
    assert!(
        ok.iter().all(|g| g.batch == 14),
        "not one batch: {:?}",
        ok.iter().map(|g| g.batch).collect::<Vec<_>>()
    );
    assert!(matches!(
        got[1],
        Err(StoreError::Alloc(AllocError::UnknownProject { .. }))
    ));
    assert!(matches!(
        got[4],
        Err(StoreError::Alloc(AllocError::Full { .. }))
    ));
    assert!(matches!(
        got[5],
        Err(StoreError::Alloc(AllocError::ServiceExists(_)))
    ));
    assert!(matches!(
        got[7],
        Err(StoreError::Alloc(AllocError::ServiceExists(_)))
    ));
    assert!(matches!(
        got[13],
        Err(StoreError::Alloc(AllocError::HostRequired { count: 2, .. }))
    ));
    // only the valid ones were written, each with its log entry
    let s = f.open().await;
    let mut allocated: Vec<String> = s
        .services()
        .await
        .expect("services")
        .into_iter()
        .filter(|x| x.allocated)
        .map(|x| x.name)
        .collect();
    allocated.sort();
    assert_eq!(allocated, ["a1", "leased", "m1", "m2", "t1", "t2"]);
    let logged: Vec<String> = s
        .log(0, 1000)
        .await
        .expect("log")
        .into_iter()
        .filter(|r| r.entry.action == Action::Alloc)
        .filter_map(|r| r.entry.service)
        .collect();
    assert_eq!(logged, ["m1", "t1", "t2", "m2", "a1", "leased"]);
    // the model cache the batch left is right: the next allocation takes the next port
    assert_eq!(
        s.allocate(&alloc("hub", "m3")).await.expect("m3").lo,
        oracle.allocate(&alloc("hub", "m3")).await.expect("m3").lo
    );
}

/// The generation readers cache by: every write that changes what the read lists return
/// moves it (in this instance at once, from another instance within 25 ms); tokens,
/// observations, findings and the log do not.
async fn generation_moves_with_spec_writes_only(f: Fixture) {
    let a = f.open().await;
    let b = f.open().await;
    let g0 = a.generation().await.expect("generation");
    a.import_spec(SMALL).await.expect("import");
    let g1 = a.generation().await.expect("generation");
    assert!(g1 > g0, "import: {g0} -> {g1}");
    a.allocate(&alloc("hub", "one")).await.expect("allocate");
    let g2 = a.generation().await.expect("generation");
    assert!(g2 > g1, "allocate: {g1} -> {g2}");
    a.create_token(Role::Read, "r", None, NOW)
        .await
        .expect("token");
    a.put_observation(&Observation {
        host: "app1".into(),
        at: NOW,
        listeners: serde_json::json!([]),
    })
    .await
    .expect("observation");
    a.put_findings("lint", &[], NOW).await.expect("findings");
    assert_eq!(a.generation().await.expect("generation"), g2);
    // another instance (another server on the database) writes: seen within the TTL
    b.release("one", "tester", NOW).await.expect("release");
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let g3 = a.generation().await.expect("generation");
    assert!(g3 > g2, "release elsewhere: {g2} -> {g3}");
    assert_eq!(b.generation().await.expect("generation"), g3);
}

/// Regression (hostile neighbours): the registry database was created world-readable
/// (token hashes, the network map). A new file is 0600, and so is its WAL.
#[test]
fn a_new_database_file_is_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = portolan_testkit::temp_dir();
    let path = dir.path().join("fresh.db");
    let url = format!("sqlite://{}", path.display());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let s = rt.block_on(portolan_store::open(&url)).expect("open");
    rt.block_on(s.import_spec(SMALL)).expect("import");
    for file in [path.clone(), dir.path().join("fresh.db-wal")] {
        let mode = std::fs::metadata(&file)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{}: {mode:o}", file.display());
    }
    // an existing file keeps the mode its owner gave it
    let shared = dir.path().join("shared.db");
    std::fs::write(&shared, b"").expect("create");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    rt.block_on(portolan_store::open(&format!(
        "sqlite://{}",
        shared.display()
    )))
    .expect("open existing");
    let mode = std::fs::metadata(&shared)
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
}

/// Regression (hostile neighbours): an unreachable PostgreSQL gave 60 s of silence. A
/// server that accepts the connection and never answers (the worst case: no refusal to
/// notice) fails the open within the connect timeout, with a message naming the database
/// and what to check. A refused connection fails at once, saying so.
#[test]
fn an_unreachable_postgres_fails_fast_with_a_clear_message() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // a listening socket nobody serves: the kernel completes the handshake, then silence
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let url = format!("postgres://portolan:secret@127.0.0.1:{port}/registry");
    let options = portolan_store::OpenOptions {
        connect_timeout: std::time::Duration::from_millis(700),
    };
    let t = Instant::now();
    let err = rt
        .block_on(portolan_store::open_with(&url, &options))
        .expect_err("nothing answers");
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        t.elapsed()
    );
    let text = err.to_string();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{text}");
    assert!(
        text.contains(&format!("127.0.0.1:{port}/registry")),
        "{text}"
    );
    assert!(text.contains("no answer within 0.7 s"), "{text}");
    assert!(!text.contains("secret"), "{text}");
    drop(silent);
    // a refused connection is said at once (the pool alone retried it until its timeout)
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let url = format!("postgres://portolan:p@ss@127.0.0.1:{port}/registry");
    let t = Instant::now();
    let err = rt
        .block_on(portolan_store::open_with(&url, &options))
        .expect_err("refused");
    let text = err.to_string();
    assert!(
        t.elapsed() < std::time::Duration::from_millis(600),
        "{:?}: {text}",
        t.elapsed()
    );
    assert!(matches!(err, StoreError::Open { .. }), "{text}");
    assert!(text.contains("refused"), "{text}");
    assert!(!text.contains("p@ss"), "{text}");
}

/// Issue 18: which stale agents and expiring leases were announced was kept in each
/// server's memory, so a restart announced everything again and two servers on one
/// database announced twice. The claim is a row: of many concurrent claims from two store
/// instances exactly one wins, a reopened store finds it, an older mark loses to a newer
/// one, and the subject's next mark is a new announcement.
async fn announcements_are_claimed_once_across_servers_and_restarts(f: Fixture) {
    let a: std::sync::Arc<dyn Store> = std::sync::Arc::from(f.open().await);
    let b: std::sync::Arc<dyn Store> = std::sync::Arc::from(f.open().await);
    let stale = WebhookEvent::AgentStale;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            s.claim_announcement(stale, "app1", NOW - 600, NOW).await
        }));
    }
    let mut won = 0;
    for t in tasks {
        if t.await.expect("task").expect("claim") {
            won += 1;
        }
    }
    assert_eq!(won, 1, "exactly one of 16 concurrent claims wins");
    drop((a, b));
    // a restarted server finds the claim
    let s = f.open().await;
    assert!(
        !s.claim_announcement(stale, "app1", NOW - 600, NOW + 30)
            .await
            .expect("claim")
    );
    // another host, another event about the same subject: claims of their own
    assert!(
        s.claim_announcement(stale, "app2", NOW - 600, NOW)
            .await
            .expect("claim")
    );
    let lease = WebhookEvent::LeaseExpiring;
    assert!(
        s.claim_announcement(lease, "app1", NOW - 600, NOW)
            .await
            .expect("claim")
    );
    // the host reported again and fell silent again: a new announcement; the old silence
    // cannot be announced any more by a server that read an older state
    assert!(
        s.claim_announcement(stale, "app1", NOW - 60, NOW)
            .await
            .expect("claim")
    );
    assert!(
        !s.claim_announcement(stale, "app1", NOW - 600, NOW)
            .await
            .expect("claim")
    );
    assert!(
        !s.claim_announcement(stale, "app1", NOW - 60, NOW)
            .await
            .expect("claim")
    );
    // a subject with SQL in it is a subject like any other; NUL is refused
    assert!(
        s.claim_announcement(lease, SQLISH, NOW + 3600, NOW)
            .await
            .expect("claim")
    );
    assert!(
        !s.claim_announcement(lease, SQLISH, NOW + 3600, NOW)
            .await
            .expect("claim")
    );
    assert!(s.claim_announcement(lease, "a\0b", NOW, NOW).await.is_err());
    // ended leases are forgotten; agent-stale claims are not touched by that
    assert_eq!(s.prune_announcements(lease, NOW).await.expect("prune"), 1);
    assert!(
        s.claim_announcement(lease, "app1", NOW - 600, NOW)
            .await
            .expect("claim")
    );
    assert!(
        !s.claim_announcement(stale, "app1", NOW - 60, NOW)
            .await
            .expect("claim")
    );
}

/// Issue 18: the registry kept `[[expect]]` nowhere, so a pushed spec came back without its
/// expectations and the server could not evaluate them.
async fn expectations_survive_import_and_export(f: Fixture) {
    let s = f.open().await;
    let text = format!(
        "{SMALL}\n[[expect]]\nfrom = \"lan\"\nto = \"existing.http\"\nreach = false\nreason = \"{SQLISH}\"\n"
    );
    let original = load(&text);
    assert_eq!(original.expectations.len(), 1);
    s.import_spec(&text).await.expect("import");
    let exported = s.export_spec().await.expect("export");
    let back = load(&exported);
    assert_eq!(back.expectations.len(), 1, "{exported}");
    assert!(!back.expectations[0].reach);
    assert_eq!(
        back.expectations[0].reason.as_deref(),
        Some(SQLISH),
        "{exported}"
    );
}

/// Creates `{name}_writes` and a trigger adding a row to it for each `event` (`UPDATE OF
/// listeners`, `DELETE`) on `table`; the count of those rows.
async fn count_writes(
    f: &Fixture,
    raw: &portolan_store::SqlStore,
    name: &str,
    event: &str,
    table: &str,
) {
    let ddl: Vec<String> = match f.backend {
        Backend::Sqlite => vec![
            format!("CREATE TABLE {name}_writes (n INTEGER)"),
            format!(
                "CREATE TRIGGER {name} AFTER {event} ON {table} \
                 BEGIN INSERT INTO {name}_writes VALUES (1); END"
            ),
        ],
        Backend::Postgres => vec![
            format!("CREATE TABLE {name}_writes (n INTEGER)"),
            format!(
                "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN INSERT INTO {name}_writes VALUES (1); RETURN NULL; END $$"
            ),
            format!(
                "CREATE TRIGGER {name} AFTER {event} ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION {name}()"
            ),
        ],
    };
    for sql in &ddl {
        sqlx::query(sql).execute(raw.pool()).await.expect(sql);
    }
}

async fn writes(raw: &portolan_store::SqlStore, name: &str) -> i64 {
    let n: (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {name}_writes"))
        .fetch_one(raw.pool())
        .await
        .expect("count");
    n.0
}

/// Regression (issue 18, fleet benchmark): every agent report deleted and re-inserted its
/// host's drift findings even when they had not changed, so a PostgreSQL registry of 5,000
/// agents grew by gigabytes a day of dead rows. Unchanged findings keep their rows (only
/// the time moves; a trigger counts the deletions); changed ones are replaced.
async fn unchanged_drift_findings_are_not_rewritten(f: Fixture) {
    let s = f.open().await;
    let raw = portolan_store::SqlStore::open(&f.url).await.expect("open");
    count_writes(&f, &raw, "finding_deletes", "DELETE", "findings").await;
    let finding = |rule: &str, port: u16| StoredFinding {
        rule: rule.into(),
        severity: "warning".into(),
        message: format!("{rule} on {port}"),
        doc: serde_json::json!({ "rule": rule, "subjects": [port] }),
    };
    let drift = [
        finding("undeclared-listener", 8030),
        finding("undeclared-listener", 9000),
    ];
    s.put_findings("drift:app1", &drift, NOW)
        .await
        .expect("put");
    s.put_findings("drift:app1", &drift, NOW + 30)
        .await
        .expect("put again");
    assert_eq!(writes(&raw, "finding_deletes").await, 0, "rewritten");
    let got = s.findings_of("drift:app1").await.expect("findings");
    let messages: Vec<&str> = got.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        messages,
        ["undeclared-listener on 8030", "undeclared-listener on 9000"]
    );
    assert!(got.iter().all(|f| f.at == NOW + 30), "{got:?}");
    // a different drift (one resolved) replaces the rows
    s.put_findings("drift:app1", &drift[..1], NOW + 60)
        .await
        .expect("replace");
    assert_eq!(writes(&raw, "finding_deletes").await, 2);
    assert_eq!(
        s.findings_of("drift:app1").await.expect("findings").len(),
        1
    );
    // so does the same message with another document
    let mut doc_changed = finding("undeclared-listener", 8030);
    doc_changed.doc["help"] = serde_json::json!("stop it");
    s.put_findings("drift:app1", &[doc_changed], NOW + 90)
        .await
        .expect("replace the doc");
    let got = s.findings_of("drift:app1").await.expect("findings");
    assert_eq!(
        (got.len(), &got[0].doc["help"]),
        (1, &serde_json::json!("stop it"))
    );
    assert_eq!(writes(&raw, "finding_deletes").await, 3);
    // no findings stays no findings, without error; other sources are untouched
    s.put_findings("drift:quiet", &[], NOW)
        .await
        .expect("empty");
    s.put_findings("drift:quiet", &[], NOW + 30)
        .await
        .expect("empty again");
    assert!(s.findings_of("drift:quiet").await.expect("none").is_empty());
    assert_eq!(s.findings_of("drift:app1").await.expect("kept").len(), 1);
}

/// Regression (issue 18, fleet benchmark): every agent report rewrote the host's whole
/// listener set (kilobytes) in `observations`, even a delta that changed nothing. A trigger
/// counts the writes of the `listeners` column: a report that changes nothing moves only
/// the report's time.
async fn reports_without_changes_do_not_rewrite_listeners(f: Fixture) {
    let s = f.open().await;
    s.import_spec(SMALL).await.expect("import");
    let raw = portolan_store::SqlStore::open(&f.url).await.expect("open");
    count_writes(
        &f,
        &raw,
        "listener_writes",
        "UPDATE OF listeners",
        "observations",
    )
    .await;
    let listener = |port: u16, pid: u32| {
        serde_json::json!({"transport": "tcp", "addr": "0.0.0.0", "port": port,
                           "owners": [{"pid": pid, "name": "web", "cmdline": "web"}]})
    };
    let report = |seq: i64, body: ReportBody| Report {
        host: "app1".into(),
        agent: "a1".into(),
        seq,
        at: NOW + seq * 30,
        body,
    };
    let full = ReportBody::Full {
        listeners: vec![listener(22, 900), listener(8080, 1000)],
    };
    s.report(&report(1, full), NOW + 30).await.expect("full");
    let nothing = ReportBody::Delta {
        base: 1,
        added: vec![],
        removed: vec![],
    };
    let got = s
        .report(&report(2, nothing), NOW + 60)
        .await
        .expect("empty delta");
    assert_eq!((got.opened, got.closed, got.changed), (0, 0, 0));
    assert_eq!(got.listeners.len(), 2);
    let o = s.observation("app1").await.expect("read").expect("stored");
    assert_eq!(o.at, NOW + 60, "the report's time is stored");
    assert_eq!(o.listeners.as_array().map(Vec::len), Some(2));
    assert_eq!(
        writes(&raw, "listener_writes").await,
        0,
        "an empty delta rewrote the listeners"
    );
    // a restart (same socket, new pid) is a change: written
    let restart = ReportBody::Delta {
        base: 2,
        added: vec![listener(8080, 1001)],
        removed: vec![],
    };
    let got = s
        .report(&report(3, restart), NOW + 90)
        .await
        .expect("change");
    assert_eq!(got.changed, 1);
    assert_eq!(writes(&raw, "listener_writes").await, 1);
    let o = s.observation("app1").await.expect("read").expect("stored");
    assert_eq!(o.listeners[1]["owners"][0]["pid"], 1001);
    // a full report equal to the stored state (a resync) writes nothing either
    let resync = ReportBody::Full {
        listeners: vec![listener(22, 900), listener(8080, 1001)],
    };
    let again = Report {
        agent: "a2".into(),
        seq: 1,
        ..report(4, resync)
    };
    let got = s.report(&again, NOW + 120).await.expect("resync");
    assert_eq!((got.opened, got.closed, got.changed), (0, 0, 0));
    assert_eq!(writes(&raw, "listener_writes").await, 1);
    assert_eq!(
        s.observation("app1")
            .await
            .expect("read")
            .expect("stored")
            .at,
        NOW + 120
    );
}

/// `observed_ports` (the dashboard overview's fast path, issue 18) reads the stored
/// listener arrays the way the dashboard reads listeners: transport lowercased, `tcp`
/// when absent, entries without a valid port (or not objects) left out; a row that is not
/// an array is a host without listeners; hosts in name order.
async fn observed_ports_read_listeners_as_the_dashboard_does(f: Fixture) {
    let s = f.open().await;
    let raw = portolan_store::SqlStore::open(&f.url).await.expect("open");
    s.put_observation(&Observation {
        host: "b".into(),
        listeners: serde_json::json!([
            {"transport": "UDP", "addr": "0.0.0.0", "port": 53, "owners": [
                {"pid": 1, "name": "dns", "cmdline": "dns --password=x"}]},
            {"addr": "::", "port": 8080, "extra": {"nested": [1, 2, {"port": 9}]}},
            {"transport": 7, "port": 22},
            {"transport": "tcp", "port": 70000},
            {"transport": "tcp", "port": -1},
            {"transport": "tcp"},
            "junk",
            [1, 2],
            null,
        ]),
        at: NOW,
    })
    .await
    .expect("put");
    sqlx::query("INSERT INTO observations (host, listeners, at) VALUES ($1, $2, $3)")
        .bind("a")
        .bind(r#"{"not": "a list"}"#)
        .bind(NOW - 5)
        .execute(raw.pool())
        .await
        .expect("raw insert");
    let got = s.observed_ports().await.expect("observed ports");
    let ports = |list: &[(&str, u16)]| -> Vec<(String, u16)> {
        list.iter().map(|(t, p)| ((*t).to_string(), *p)).collect()
    };
    assert_eq!(
        got,
        [
            ObservedPorts {
                host: "a".into(),
                at: NOW - 5,
                ports: vec![],
            },
            ObservedPorts {
                host: "b".into(),
                at: NOW,
                ports: ports(&[("udp", 53), ("tcp", 8080), ("tcp", 22)]),
            },
        ]
    );
}

/// Regression (issue 18, fleet benchmark: history 107 MB/day on PostgreSQL, 499 B/event): a
/// `changed` event stored the whole previous listener document next to the new one, so a
/// restart repeated the command line to change a pid. The stored row now holds a patch
/// (`previous`) and the document without its key columns (`listener`); the history still
/// shows both documents whole, the state at an instant and compaction still replay it, and
/// rows in the old format (whole documents) still read.
async fn a_restart_stores_a_small_event_and_old_rows_still_read(f: Fixture) {
    let s = f.open().await;
    let raw = portolan_store::SqlStore::open(&f.url).await.expect("open");
    let cmdline = "/usr/bin/java -Xmx4g -jar /opt/app/app.jar --spring.profiles.active=prod";
    let listener = |pid: u32| {
        serde_json::json!({"transport": "tcp", "addr": "0.0.0.0", "port": 8080, "uid": 1000,
                           "owners": [{"pid": pid, "name": "java", "cmdline": cmdline, "user": "app"}]})
    };
    let report = |seq: i64, body: ReportBody| Report {
        host: "app1".into(),
        agent: "a1".into(),
        seq,
        at: NOW + seq * 30,
        body,
    };
    let full = ReportBody::Full {
        listeners: vec![listener(1000)],
    };
    s.report(&report(1, full), NOW + 30).await.expect("full");
    let restart = ReportBody::Delta {
        base: 1,
        added: vec![listener(1001)],
        removed: vec![],
    };
    let got = s
        .report(&report(2, restart), NOW + 60)
        .await
        .expect("restart");
    assert_eq!(got.changed, 1);
    let (listener_text, previous_text): (String, Option<String>) =
        sqlx::query_as("SELECT listener, previous FROM history_events WHERE change = 'changed'")
            .fetch_one(raw.pool())
            .await
            .expect("the changed row");
    assert_eq!(
        previous_text.as_deref(),
        Some(r#"[[["owners",0,"pid"],1000]]"#),
        "a restart stores only the old pid"
    );
    assert!(
        !listener_text.contains("\"port\"") && listener_text.contains(cmdline),
        "{listener_text}"
    );
    let query = portolan_store::HistoryQuery {
        limit: 100,
        ..Default::default()
    };
    let h = s.history("app1", query).await.expect("history");
    let changed: Vec<_> = h
        .events
        .iter()
        .filter(|e| e.change.change == portolan_store::Change::Changed)
        .collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].change.listener, listener(1001));
    assert_eq!(changed[0].change.previous, Some(listener(1000)));
    assert_eq!(
        h.events[0].change.listener,
        listener(1000),
        "the opened event"
    );
    // a row in the format written before (whole documents) reads as it was stored
    sqlx::query(
        "INSERT INTO history_events (host, at, change, transport, addr, port, listener, previous) \
         VALUES ('app1', $1, 'changed', 'tcp', '0.0.0.0', 8080, $2, $3)",
    )
    .bind(NOW + 90)
    .bind(listener(1002).to_string())
    .bind(listener(1001).to_string())
    .execute(raw.pool())
    .await
    .expect("an old-format row");
    let h = s.history("app1", query).await.expect("history");
    let last = h.events.last().expect("the old-format event");
    assert_eq!(last.change.listener, listener(1002));
    assert_eq!(last.change.previous, Some(listener(1001)));
    let state = |at: i64| {
        let s = &s;
        async move {
            s.state_at("app1", at)
                .await
                .expect("state")
                .expect("retained")
                .listeners
        }
    };
    assert_eq!(state(NOW + 60).await, vec![listener(1001)]);
    assert_eq!(state(NOW + 90).await, vec![listener(1002)]);
    // compaction folds both formats into the baseline
    let done = s.compact_history(NOW + 60).await.expect("compact");
    assert_eq!(done.events, 2);
    assert_eq!(state(NOW + 60).await, vec![listener(1001)]);
    assert_eq!(state(NOW + 90).await, vec![listener(1002)]);
}
