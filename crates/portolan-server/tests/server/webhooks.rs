//! Alerts through webhooks, on both engines, against real local HTTP receivers (a
//! `std::net` server per webhook, in this file): an agent report that opens an undeclared
//! listener is delivered as `undeclared-listener` and `drift`, signed with the webhook's
//! secret (the HMAC is recomputed here from SHA-256, independently of the server's code); a
//! receiver answering 500 twice gets the event on the third attempt; a receiver that never
//! answers times out on every attempt and ends `failed` in the delivery log while the
//! others are delivered; an agent that stops reporting fires `agent-stale` once per
//! silence, a lease close to its end `lease-expiring` once; the admin routes refuse other roles and bad input, and never show
//! a secret after creation.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portolan_server::webhooks::WebhookSettings;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{SPEC, TestServer, engine_tests, logs, run, unlimited};

engine_tests!(run;
    webhooks_deliver_signed_events_retry_and_time_out,
    webhook_admin_routes_refuse_other_roles_and_bad_input,
    agent_stale_fires_once_per_silence,
    lease_expiring_fires_once_per_lease_end,
    periodic_events_announced_once_by_replicas_and_restarts,
    exposure_widened_and_expectation_failed_follow_reports,
    https_receivers_are_verified_against_the_ca_bundle,
);

/// HMAC-SHA256 (RFC 2104) from SHA-256 alone.
fn hmac_sha256(key: &[u8], message: &[u8]) -> String {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    outer.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// How a receiver answers.
#[derive(Clone, Copy)]
enum Behaviour {
    /// 200 to everything.
    Ok,
    /// 500 to the first N requests, then 200.
    FailFirst(usize),
    /// Reads the request and never answers.
    Hang,
}

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// A local HTTP server recording every request.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
}

fn read_request(stream: &TcpStream) -> Option<Received> {
    read_from(BufReader::new(stream.try_clone().ok()?))
}

/// A POST request from `reader` (plain or TLS).
fn read_from(mut reader: impl BufRead) -> Option<Received> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    if !line.starts_with("POST ") {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))?
        .1
        .parse()
        .ok()?;
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).ok()?;
    Some(Received { headers, body })
}

impl Receiver {
    fn start(behaviour: Behaviour) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a receiver");
        let url = format!(
            "http://{}/hooks/portolan?from=test",
            listener.local_addr().expect("addr")
        );
        listener.set_nonblocking(true).expect("nonblocking");
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicUsize::new(0));
        let (got2, stop2) = (got.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let (got, stop, answered) = (got2.clone(), stop2.clone(), answered.clone());
                std::thread::spawn(move || {
                    let _ = stream.set_nonblocking(false);
                    let Some(req) = read_request(&stream) else {
                        return;
                    };
                    got.lock().expect("lock").push(req);
                    let n = answered.fetch_add(1, Ordering::SeqCst);
                    let status = match behaviour {
                        Behaviour::Ok => "200 OK",
                        Behaviour::FailFirst(k) if n < k => "500 Internal Server Error",
                        Behaviour::FailFirst(_) => "200 OK",
                        Behaviour::Hang => {
                            // hold the connection open, silent, until the test ends
                            while !stop.load(Ordering::SeqCst) {
                                std::thread::sleep(Duration::from_millis(20));
                            }
                            return;
                        }
                    };
                    let mut stream = stream;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                    );
                });
            }
        });
        Receiver { url, got, stop }
    }

    fn requests(&self) -> Vec<Received> {
        self.got.lock().expect("lock").clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Polls `cond` every 50 ms for up to 60 s (a loaded CI machine), panicking with `what`.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn create(s: &TestServer, url: &str, events: &[&str], secret: Option<&str>) -> (String, String) {
    let mut body = json!({"url": url, "events": events, "label": "test receiver"});
    if let Some(secret) = secret {
        body["secret"] = json!(secret);
    }
    let r = s.call(
        "POST",
        "/api/v1/webhooks",
        Some(&s.tokens.admin),
        Some(&body.to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let v = r.json();
    (
        v["id"].as_str().expect("id").to_string(),
        v["secret"].as_str().expect("secret").to_string(),
    )
}

fn deliveries(s: &TestServer, id: &str) -> Vec<Value> {
    let r = s.call(
        "GET",
        &format!("/api/v1/webhooks/{id}/deliveries"),
        Some(&s.tokens.admin),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json().as_array().expect("deliveries").clone()
}

fn statuses(s: &TestServer, id: &str) -> Vec<String> {
    deliveries(s, id)
        .iter()
        .map(|d| d["status"].as_str().expect("status").to_string())
        .collect()
}

fn listener(port: u16, addr: &str, owner: &str) -> Value {
    json!({"transport": "tcp", "addr": addr, "port": port, "inode": u64::from(port) * 7,
           "uid": 1000, "owners": [{"pid": 4121, "name": owner, "cmdline": owner, "user": "app"}]})
}

/// Every request `r` got verifies against `secret` and names its event and delivery.
fn assert_signed(r: &Receiver, secret: &str) {
    for req in r.requests() {
        let expected = format!("sha256={}", hmac_sha256(secret.as_bytes(), &req.body));
        assert_eq!(req.header("x-portolan-signature"), Some(expected.as_str()));
        assert_ne!(
            req.header("x-portolan-signature"),
            Some(format!("sha256={}", hmac_sha256(b"another secret", &req.body)).as_str())
        );
        assert_eq!(req.header("content-type"), Some("application/json"));
        assert_eq!(
            req.header("x-portolan-event"),
            req.json()["event"].as_str(),
            "event header and body agree"
        );
        assert!(
            req.header("x-portolan-delivery")
                .is_some_and(|d| d.parse::<i64>().is_ok())
        );
    }
}

fn webhooks_deliver_signed_events_retry_and_time_out(url: &str) {
    let settings = WebhookSettings {
        timeout: Duration::from_secs(3),
        attempts: 3,
        backoff: Duration::from_millis(200),
        max_backoff: Duration::from_secs(1),
        ..WebhookSettings::default()
    };
    let s = TestServer::start_with(url, unlimited(), settings);
    s.import(SPEC);
    let good = Receiver::start(Behaviour::Ok);
    let flaky = Receiver::start(Behaviour::FailFirst(2));
    let hang = Receiver::start(Behaviour::Hang);
    let chosen = "a secret chosen by the admin, 42";
    let (good_id, good_secret) = create(
        &s,
        &good.url,
        &["undeclared-listener", "drift"],
        Some(chosen),
    );
    assert_eq!(good_secret, chosen);
    let (flaky_id, flaky_secret) = create(&s, &flaky.url, &["undeclared-listener"], None);
    assert!(
        flaky_secret.starts_with("whsec_") && flaky_secret.len() == 70,
        "{flaky_secret}"
    );
    let (hang_id, hang_secret) = create(&s, &hang.url, &["drift", "undeclared-listener"], None);

    // app1 declares 127.0.0.1:20000; python3 on 0.0.0.0:8030 is nobody's
    let r = s.post(
        "/api/v1/reports",
        &json!({"host": "app1", "agent": "a1", "seq": 1, "listeners": [
            listener(20000, "127.0.0.1", "web"), listener(8030, "0.0.0.0", "python3")]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);

    wait_for("the good receiver's two events", || {
        good.requests().len() >= 2
    });
    wait_for("the flaky receiver's third attempt", || {
        let st = statuses(&s, &flaky_id);
        assert!(st.len() <= 1, "{:#?}", deliveries(&s, &flaky_id));
        st == ["delivered"]
    });
    // the hanging receiver holds its connection: its delivery is still being attempted
    // while the others are done
    let hanging = deliveries(&s, &hang_id);
    assert_eq!(hanging.len(), 2, "{hanging:?}");
    assert!(
        hanging.iter().all(|d| d["status"] == "pending"),
        "{hanging:?}"
    );

    let mut events: Vec<Value> = good.requests().iter().map(Received::json).collect();
    events.sort_by_key(|e| e["event"].as_str().map(str::to_string));
    assert_eq!(events[0]["event"], "drift");
    assert_eq!(events[0]["host"], "app1");
    assert_eq!(
        events[0]["new"].as_array().map(Vec::len),
        Some(1),
        "{}",
        events[0]
    );
    assert_eq!(events[0]["resolved"], json!([]));
    assert_eq!(events[1]["event"], "undeclared-listener");
    assert_eq!(events[1]["finding"]["rule"], "undeclared-listener");
    let message = events[1]["finding"]["message"].as_str().expect("message");
    assert!(message.contains("8030"), "{message}");
    assert_signed(&good, &good_secret);
    // the receiver has the requests before the server has read its answers and logged
    // them: wait for the log (regression: failed under load with "pending")
    wait_for("two logged deliveries", || {
        statuses(&s, &good_id) == ["delivered", "delivered"]
    });

    // flaky: 500, 500, then 200 — three signed requests of one delivery
    let flaky_got = flaky.requests();
    assert_eq!(flaky_got.len(), 3);
    assert_signed(&flaky, &flaky_secret);
    let ids: Vec<_> = flaky_got
        .iter()
        .map(|r| r.header("x-portolan-delivery").map(str::to_string))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    let d = &deliveries(&s, &flaky_id)[0];
    assert_eq!(d["attempts"], 3, "{d}");
    assert_eq!(d["response"], 200, "{d}");
    assert_eq!(d["event"], "undeclared-listener");
    assert_eq!(d["body"], flaky_got[2].json());

    // the hanging receiver: every attempt times out, the delivery ends failed
    wait_for("the hanging deliveries to fail", || {
        statuses(&s, &hang_id) == ["failed", "failed"]
    });
    for d in deliveries(&s, &hang_id) {
        assert_eq!(d["attempts"], 3, "{d}");
        assert_eq!(d["response"], Value::Null, "{d}");
        assert!(
            d["error"]
                .as_str()
                .is_some_and(|e| e.contains("no answer within 3000 ms")),
            "{d}"
        );
    }
    assert_eq!(hang.requests().len(), 6, "three attempts of two deliveries");
    assert_signed(&hang, &hang_secret);

    // the same listeners again: drift unchanged, nothing sent; then 8030 closes: `drift`
    // with the finding resolved, and no `undeclared-listener`
    let r = s.post(
        "/api/v1/reports",
        &json!({"host": "app1", "agent": "a1", "seq": 2, "base": 1, "added": [], "removed": []}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s.post(
        "/api/v1/reports",
        &json!({"host": "app1", "agent": "a1", "seq": 3, "base": 2, "added": [],
                "removed": [{"transport": "tcp", "addr": "0.0.0.0", "port": 8030}]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    wait_for("the resolving drift event", || good.requests().len() >= 3);
    let got = good.requests();
    let last = got[2].json();
    assert_eq!(last["event"], "drift", "{last}");
    assert_eq!(last["new"], json!([]), "{last}");
    assert_eq!(last["resolved"].as_array().map(Vec::len), Some(1), "{last}");
    assert_eq!(last["findings"], json!([]), "{last}");

    // `POST /observations` fires too: a new undeclared listener on 9999
    let r = s.post(
        "/api/v1/observations",
        &json!({"host": "app1", "listeners": [listener(9999, "::", "nc")]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    wait_for("the observation's events", || good.requests().len() >= 5);
    assert!(
        good.requests()
            .iter()
            .any(|r| r.json()["finding"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("9999"))),
        "no undeclared-listener for 9999"
    );
    assert_signed(&good, &good_secret);

    // no secret in any answer after creation, nor in the server log
    let list = s.call("GET", "/api/v1/webhooks", Some(&s.tokens.admin), None);
    assert_eq!(list.status, 200);
    for secret in [&good_secret, &flaky_secret, &hang_secret] {
        assert!(!list.body.contains(secret.as_str()));
        for id in [&good_id, &flaky_id, &hang_id] {
            let d = s.call(
                "GET",
                &format!("/api/v1/webhooks/{id}/deliveries"),
                Some(&s.tokens.admin),
                None,
            );
            assert!(!d.body.contains(secret.as_str()));
        }
        let log = String::from_utf8_lossy(&logs().0.lock().expect("lock")).to_string();
        assert!(!log.contains(secret.as_str()), "a secret in the log");
    }
    let list = list.json();
    let ids: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|w| w["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 3);
    for id in [&good_id, &flaky_id, &hang_id] {
        assert!(ids.contains(&id.as_str()));
    }

    // deleting a webhook removes it and its log
    let r = s.call(
        "DELETE",
        &format!("/api/v1/webhooks/{hang_id}"),
        Some(&s.tokens.admin),
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let r = s.call(
        "DELETE",
        &format!("/api/v1/webhooks/{hang_id}"),
        Some(&s.tokens.admin),
        None,
    );
    assert_eq!(r.status, 404, "{}", r.body);
    let r = s.call(
        "GET",
        &format!("/api/v1/webhooks/{hang_id}/deliveries"),
        Some(&s.tokens.admin),
        None,
    );
    assert_eq!(r.status, 404, "{}", r.body);
}

fn webhook_admin_routes_refuse_other_roles_and_bad_input(url: &str) {
    let s = TestServer::start(url, unlimited());
    let t = &s.tokens;
    let body = json!({"url": "http://127.0.0.1:9/x", "events": ["drift"]}).to_string();
    for token in [&t.read, &t.write] {
        for (method, path, body) in [
            ("POST", "/api/v1/webhooks", Some(body.as_str())),
            ("GET", "/api/v1/webhooks", None),
            ("DELETE", "/api/v1/webhooks/0123456789abcdef", None),
            ("GET", "/api/v1/webhooks/0123456789abcdef/deliveries", None),
        ] {
            let r = s.call(method, path, Some(token), body);
            assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
        }
    }
    let admin = |body: Value| {
        s.call(
            "POST",
            "/api/v1/webhooks",
            Some(&t.admin),
            Some(&body.to_string()),
        )
    };
    let bad = [
        (
            json!({"url": "https://token@hooks.example/x", "events": ["drift"]}),
            422,
            "url",
        ),
        (
            json!({"url": "ftp://hooks.example/x", "events": ["drift"]}),
            422,
            "url",
        ),
        (
            json!({"url": "http://user:pw@hooks.example/x", "events": ["drift"]}),
            422,
            "url",
        ),
        (
            json!({"url": "no url at all", "events": ["drift"]}),
            422,
            "url",
        ),
        (
            json!({"url": "http://127.0.0.1:9/x", "events": []}),
            422,
            "events",
        ),
        (
            json!({"url": "http://127.0.0.1:9/x", "events": ["port-opened"]}),
            422,
            "events[0]",
        ),
        (
            json!({"url": "http://127.0.0.1:9/x", "events": ["drift"], "secret": "short"}),
            422,
            "secret",
        ),
        (json!({"url": "http://127.0.0.1:9/x"}), 422, "events"),
        (
            json!({"url": "http://127.0.0.1:9/x", "events": ["drift"], "color": "red"}),
            422,
            "color",
        ),
    ];
    let mut failures = Vec::new();
    for (body, status, field) in bad {
        let r = admin(body.clone());
        let got_field = serde_json::from_str::<Value>(&r.body)
            .ok()
            .and_then(|v| v["field"].as_str().map(str::to_string));
        if r.status != status || got_field.as_deref() != Some(field) {
            failures.push(format!("{body}: {} {}", r.status, r.body));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for path in [
        "/api/v1/webhooks/nothex",
        "/api/v1/webhooks/0123456789abcdef",
    ] {
        let r = s.call("DELETE", path, Some(&t.admin), None);
        assert_eq!(r.status, 404, "{path}: {}", r.body);
        let r = s.call("GET", &format!("{path}/deliveries"), Some(&t.admin), None);
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }
    let r = s.call("GET", "/api/v1/webhooks", Some(&t.admin), None);
    assert_eq!(r.json(), json!([]), "nothing bad was stored");
}

fn agent_stale_fires_once_per_silence(url: &str) {
    let settings = WebhookSettings {
        stale_after: Duration::from_secs(2),
        stale_check: Duration::from_millis(100),
        ..WebhookSettings::default()
    };
    let s = TestServer::start_with(url, unlimited(), settings);
    s.import(SPEC);
    let rx = Receiver::start(Behaviour::Ok);
    let (id, secret) = create(&s, &rx.url, &["agent-stale"], None);
    let at = super::now() - 60;
    let r = s.post(
        "/api/v1/reports",
        &json!({"host": "app1", "agent": "a1", "seq": 1, "at": at,
                "listeners": [listener(20000, "127.0.0.1", "web")]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    wait_for("agent-stale", || !rx.requests().is_empty());
    let event = rx.requests()[0].json();
    assert_eq!(event["event"], "agent-stale", "{event}");
    assert_eq!(event["host"], "app1", "{event}");
    assert_eq!(event["last_report"], at, "{event}");
    assert!(
        event["silent_for"].as_i64().is_some_and(|s| s >= 60),
        "{event}"
    );
    // ten more checks of the same silence: no second event
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(rx.requests().len(), 1);
    // the agent reports again, then falls silent again: a second event
    let r = s.post(
        "/api/v1/reports",
        &json!({"host": "app1", "agent": "a1", "seq": 2, "base": 1, "added": [], "removed": []}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    wait_for("a second agent-stale", || rx.requests().len() >= 2);
    let second = rx.requests()[1].json();
    assert_eq!(second["host"], "app1");
    assert!(second["last_report"].as_i64() > Some(at), "{second}");
    assert_signed(&rx, &secret);
    // the receiver has the requests before the server has read its answers and logged
    // them: wait for the log (regression: failed under load with "pending")
    wait_for("two logged deliveries", || {
        statuses(&s, &id) == ["delivered", "delivered"]
    });
}

fn lease_expiring_fires_once_per_lease_end(url: &str) {
    let settings = WebhookSettings {
        stale_check: Duration::from_millis(100),
        lease_warning: Duration::from_secs(7200),
        ..WebhookSettings::default()
    };
    let s = TestServer::start_with(url, unlimited(), settings);
    s.import(SPEC);
    let rx = Receiver::start(Behaviour::Ok);
    let (_, secret) = create(&s, &rx.url, &["lease-expiring"], None);
    // ends in an hour: within the warning; the other one in a day: not
    for (name, lease) in [("soon", 3600), ("later", 86_400)] {
        let r = s.post(
            "/api/v1/allocate",
            &json!({"project": "dash", "name": name, "host": "app1", "lease": lease}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    }
    wait_for("lease-expiring", || !rx.requests().is_empty());
    std::thread::sleep(Duration::from_secs(1));
    let got = rx.requests();
    assert_eq!(got.len(), 1, "one event, once: {got:?}");
    let event = got[0].json();
    assert_eq!(event["event"], "lease-expiring", "{event}");
    assert_eq!(event["service"], "soon", "{event}");
    assert!(
        event["left"]
            .as_i64()
            .is_some_and(|l| (3000..=3600).contains(&l)),
        "{event}"
    );
    assert_eq!(event["ports"].as_array().map(Vec::len), Some(1), "{event}");
    assert_signed(&rx, &secret);
}

/// Issue 18: the announced stale agents and expiring leases were kept in each server's
/// memory, so two servers on one database announced each twice and a restarted server
/// announced everything again. Two replicas check every 100 ms for 2 s: one event each;
/// both stop, a third server starts on the same database: still one; the agent reports
/// and falls silent again: the new server announces that.
fn periodic_events_announced_once_by_replicas_and_restarts(url: &str) {
    let settings = WebhookSettings {
        stale_after: Duration::from_secs(2),
        stale_check: Duration::from_millis(100),
        lease_warning: Duration::from_secs(7200),
        ..WebhookSettings::default()
    };
    let a = TestServer::start_with(url, unlimited(), settings);
    let b = TestServer::start_with(url, unlimited(), settings);
    a.import(SPEC);
    let rx = Receiver::start(Behaviour::Ok);
    create(&a, &rx.url, &["agent-stale", "lease-expiring"], None);
    let at = super::now() - 60;
    let r = b.post(
        "/api/v1/reports",
        &json!({"host": "app1", "agent": "a1", "seq": 1, "at": at,
                "listeners": [listener(20000, "127.0.0.1", "web")]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = a.post(
        "/api/v1/allocate",
        &json!({"project": "dash", "name": "soon", "host": "app1", "lease": 3600}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let events = |rx: &Receiver| {
        let mut names: Vec<String> = rx
            .requests()
            .iter()
            .map(|r| r.json()["event"].as_str().unwrap_or_default().to_string())
            .collect();
        names.sort();
        names
    };
    wait_for("both events", || events(&rx).len() >= 2);
    // twenty checks of each replica
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(events(&rx), ["agent-stale", "lease-expiring"]);
    drop((a, b));

    let c = TestServer::start_with(url, unlimited(), settings);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        events(&rx),
        ["agent-stale", "lease-expiring"],
        "a restarted server announced again"
    );
    // a new silence is a new announcement, made by the new server
    let r = c.post(
        "/api/v1/reports",
        &json!({"host": "app1", "agent": "a2", "seq": 1, "at": at + 30,
                "listeners": [listener(20000, "127.0.0.1", "web")]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    wait_for("the second silence", || events(&rx).len() >= 3);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        events(&rx),
        ["agent-stale", "agent-stale", "lease-expiring"]
    );
    let last = rx
        .requests()
        .iter()
        .map(Received::json)
        .filter(|e| e["event"] == "agent-stale")
        .filter_map(|e| e["last_report"].as_i64())
        .max();
    assert_eq!(last, Some(at + 30));
}

/// `SPEC` with an expectation about `web.http`: the LAN does not reach it (it is bound to
/// loopback).
const SPEC_EXPECT: &str = r#"
[[expect]]
from = "lan"
to = "web.http"
reach = false
reason = "the dashboard is reached through the proxy only"
"#;

/// The events `rx` got of `name`, in arrival order.
fn got(rx: &Receiver, name: &str) -> Vec<Value> {
    rx.requests()
        .iter()
        .map(Received::json)
        .filter(|e| e["event"] == name)
        .collect()
}

fn exposure_widened_and_expectation_failed_follow_reports(url: &str) {
    let s = TestServer::start(url, unlimited());
    s.import(&format!("{SPEC}{SPEC_EXPECT}"));
    let rx = Receiver::start(Behaviour::Ok);
    let (_, secret) = create(
        &s,
        &rx.url,
        &["exposure-widened", "expectation-failed"],
        None,
    );
    let report = |seq: i64, body: Value| {
        let mut body = body;
        body["host"] = json!("app1");
        body["agent"] = json!("a1");
        body["seq"] = json!(seq);
        if seq > 1 {
            body["base"] = json!(seq - 1);
        }
        let r = s.post("/api/v1/reports", &body);
        assert_eq!(r.status, 200, "{}", r.body);
    };
    let key = |port: u16, addr: &str| json!({"transport": "tcp", "addr": addr, "port": port});
    let settle = |widened: usize, failed: usize| {
        wait_for("the report's events", || {
            got(&rx, "exposure-widened").len() >= widened
                && got(&rx, "expectation-failed").len() >= failed
        });
        // and nothing more than that
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(
            got(&rx, "exposure-widened").len(),
            widened,
            "{:#?}",
            rx.requests()
        );
        assert_eq!(
            got(&rx, "expectation-failed").len(),
            failed,
            "{:#?}",
            rx.requests()
        );
    };

    // 1. the first report: nothing to compare with but the spec, which `web` (0.0.0.0)
    // exceeds; with that bind the LAN reaches it, against the expectation
    report(
        1,
        json!({"listeners": [listener(20000, "0.0.0.0", "web"), listener(8030, "127.0.0.1", "python3")]}),
    );
    settle(1, 1);
    let e = &got(&rx, "exposure-widened")[0];
    assert_eq!(e["host"], "app1", "{e}");
    assert_eq!(e["changes"], json!([]), "{e}");
    assert_eq!(e["findings"][0]["rule"], "bind-wider-than-declared", "{e}");
    let f = &got(&rx, "expectation-failed")[0];
    assert_eq!(f["host"], "app1", "{f}");
    assert_eq!(f["finding"]["rule"], "expectation-failed", "{f}");
    let message = f["finding"]["message"].as_str().expect("message");
    assert!(message.starts_with("expect #1 does not hold"), "{message}");
    assert!(message.contains("web.http"), "{message}");
    let notes = f["finding"]["finding"]["notes"].to_string();
    assert!(
        notes.contains("listens on 0.0.0.0, the spec declares 127.0.0.1"),
        "{notes}"
    );

    // 2. `web` back on loopback: narrower, the expectation holds again: no event
    report(
        2,
        json!({"added": [listener(20000, "127.0.0.1", "web")], "removed": [key(20000, "0.0.0.0")]}),
    );
    settle(1, 1);

    // 3. an undeclared listener moves from loopback to every address: wider than before
    report(
        3,
        json!({"added": [listener(8030, "0.0.0.0", "python3")], "removed": [key(8030, "127.0.0.1")]}),
    );
    settle(2, 1);
    let e = &got(&rx, "exposure-widened")[1];
    assert_eq!(e["findings"], json!([]), "{e}");
    let changes = e["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 1, "{e}");
    assert_eq!(changes[0]["change"], "changed", "{e}");
    assert_eq!(changes[0]["port"], 8030, "{e}");
    assert_eq!(changes[0]["widened"], true, "{e}");
    assert_eq!(changes[0]["before"]["exposure"], "localhost", "{e}");
    assert_eq!(changes[0]["after"]["exposure"], "all-interfaces", "{e}");
    assert_eq!(changes[0]["declared"], Value::Null, "{e}");

    // 4. `web` widens again: wider than before and than declared, and the expectation
    // fails again
    report(
        4,
        json!({"added": [listener(20000, "0.0.0.0", "web")], "removed": [key(20000, "127.0.0.1")]}),
    );
    settle(3, 2);
    let e = &got(&rx, "exposure-widened")[2];
    assert_eq!(e["changes"][0]["port"], 20000, "{e}");
    assert_eq!(e["changes"][0]["declared"]["binding"], "web.http", "{e}");
    assert_eq!(e["changes"][0]["declared"]["bind"], "127.0.0.1", "{e}");
    assert_eq!(
        e["changes"][0]["declared"]["exposure"],
        json!(["localhost"]),
        "{e}"
    );
    assert_eq!(e["findings"][0]["rule"], "bind-wider-than-declared", "{e}");

    // 5. a new loopback listener widens nothing; a new publication on every address does
    let mut published = listener(8443, "0.0.0.0", "docker-proxy");
    published["container"] = json!({"engine": "docker", "id": "f".repeat(64), "name": "shop-api-1",
        "image": "shop/api:1", "published": {"target": 443, "inside": "listening"}});
    report(
        5,
        json!({"added": [listener(9000, "127.0.0.1", "redis"), published], "removed": []}),
    );
    settle(4, 2);
    let e = &got(&rx, "exposure-widened")[3];
    let changes = e["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 1, "{e}");
    assert_eq!(changes[0]["change"], "added", "{e}");
    assert_eq!(changes[0]["port"], 8443, "{e}");
    assert_eq!(changes[0]["after"]["container"], "docker:shop-api-1", "{e}");

    // 6. the same state again: nothing
    report(6, json!({"added": [], "removed": []}));
    settle(4, 2);
    assert_signed(&rx, &secret);
}

/// Makes a CA and a certificate for 127.0.0.1 signed by it, with the openssl command, in
/// `dir`: (CA certificate, leaf certificate, leaf key) paths.
fn make_certificates(dir: &std::path::Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let path = |f: &str| dir.join(format!("{name}-{f}"));
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("this test needs the openssl command (apt-get install openssl)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let (ca, ca_key, leaf, leaf_key) = (
        path("ca.pem"),
        path("ca.key"),
        path("leaf.pem"),
        path("leaf.key"),
    );
    let s = |p: &PathBuf| p.to_str().expect("utf-8 path").to_string();
    let subject = format!("/CN=portolan test CA {name}");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &s(&ca_key),
        "-out",
        &s(&ca),
        "-days",
        "2",
        "-subj",
        &subject,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    openssl(&[
        "req",
        "-x509",
        "-CA",
        &s(&ca),
        "-CAkey",
        &s(&ca_key),
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &s(&leaf_key),
        "-out",
        &s(&leaf),
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        "extendedKeyUsage=serverAuth",
    ]);
    (ca, leaf, leaf_key)
}

/// A local HTTPS server (rustls) answering 200 to every POST and recording it.
struct TlsReceiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
}

impl TlsReceiver {
    fn start(cert: &std::path::Path, key: &std::path::Path) -> TlsReceiver {
        use rustls::pki_types::pem::PemObject as _;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .expect("cert file")
            .collect::<Result<_, _>>()
            .expect("certs");
        let key = PrivateKeyDer::from_pem_file(key).expect("key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a receiver");
        let url = format!(
            "https://{}/hooks/portolan",
            listener.local_addr().expect("addr")
        );
        listener.set_nonblocking(true).expect("nonblocking");
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (got2, stop2) = (got.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let (got, config) = (got2.clone(), config.clone());
                std::thread::spawn(move || {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
                    let Ok(conn) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    let mut tls = rustls::StreamOwned::new(conn, stream);
                    // an untrusting client aborts the handshake here: nothing is read
                    let Some(req) = read_from(BufReader::new(&mut tls)) else {
                        return;
                    };
                    got.lock().expect("lock").push(req);
                    let _ = write!(
                        tls,
                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                    );
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                });
            }
        });
        TlsReceiver { url, got, stop }
    }

    fn requests(&self) -> Vec<Received> {
        self.got.lock().expect("lock").clone()
    }
}

impl Drop for TlsReceiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Issue 18: HTTPS webhooks were refused at creation. A receiver whose certificate a
/// private CA signed gets the event when `--webhook-ca` names that CA; one signed by
/// another CA never sees a request, and its delivery ends `failed` naming the certificate.
fn https_receivers_are_verified_against_the_ca_bundle(url: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, leaf, key) = make_certificates(dir.path(), "trusted");
    let (_, other_leaf, other_key) = make_certificates(dir.path(), "unknown");
    let tls = portolan_server::webhooks::WebhookTls::with_ca_bundle(&ca).expect("CA bundle");
    let settings = WebhookSettings {
        timeout: Duration::from_secs(5),
        attempts: 2,
        backoff: Duration::from_millis(100),
        ..WebhookSettings::default()
    };
    let s = TestServer::start_with_tls(url, unlimited(), settings, tls);
    s.import(SPEC);
    let trusted = TlsReceiver::start(&leaf, &key);
    let untrusted = TlsReceiver::start(&other_leaf, &other_key);
    let (trusted_id, secret) = create(&s, &trusted.url, &["undeclared-listener"], None);
    let (untrusted_id, _) = create(&s, &untrusted.url, &["undeclared-listener"], None);
    let r = s.post(
        "/api/v1/observations",
        &json!({"host": "app1", "listeners": [listener(8030, "0.0.0.0", "python3")]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);

    wait_for("the HTTPS delivery", || {
        statuses(&s, &trusted_id) == ["delivered"]
    });
    let got = trusted.requests();
    assert_eq!(got.len(), 1);
    let expected = format!("sha256={}", hmac_sha256(secret.as_bytes(), &got[0].body));
    assert_eq!(
        got[0].header("x-portolan-signature"),
        Some(expected.as_str())
    );
    assert_eq!(got[0].json()["event"], "undeclared-listener");

    wait_for("the untrusted delivery to fail", || {
        statuses(&s, &untrusted_id) == ["failed"]
    });
    let d = &deliveries(&s, &untrusted_id)[0];
    assert_eq!(d["attempts"], 2, "{d}");
    assert_eq!(d["response"], Value::Null, "{d}");
    let error = d["error"].as_str().expect("error");
    assert!(
        error.contains("TLS handshake with 127.0.0.1")
            && error.contains("invalid peer certificate")
            && error.contains("UnknownIssuer"),
        "{error}"
    );
    assert!(
        untrusted.requests().is_empty(),
        "a request over an untrusted connection"
    );
}
