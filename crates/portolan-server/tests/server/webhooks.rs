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
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
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
    let mut reader = BufReader::new(stream.try_clone().ok()?);
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
    assert_eq!(statuses(&s, &good_id), ["delivered", "delivered"]);

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
            json!({"url": "https://hooks.example/x", "events": ["drift"]}),
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
    assert_eq!(statuses(&s, &id), ["delivered", "delivered"]);
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
