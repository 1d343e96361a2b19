//! Listener history over the API, on both engines: numbered reports (full and deltas)
//! become events, `history` lists them, `diff` compares two instants; every kind of bad
//! report is a clear 4xx that changes nothing; compaction keeps the state it folds away;
//! agents of many hosts report concurrently without losing an event.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{TestServer, engine_tests, now, run, unlimited};

engine_tests!(run;
    history_records_changes_and_diffs_instants,
    bad_reports_are_refused_and_lose_nothing,
    compaction_keeps_the_state_it_folds,
    concurrent_agents_of_many_hosts_lose_no_event,
);

fn listener(port: u16, addr: &str, owner: &str, pid: u32) -> Value {
    json!({"transport": "tcp", "addr": addr, "port": port, "inode": u64::from(pid) * 10,
           "uid": 1000, "owners": [{"pid": pid, "name": owner, "cmdline": owner, "user": "app"}]})
}

fn full(host: &str, agent: &str, seq: i64, at: i64, listeners: &[Value]) -> Value {
    json!({"host": host, "agent": agent, "seq": seq, "at": at, "listeners": listeners})
}

fn delta(host: &str, agent: &str, seq: i64, at: i64, added: &[Value], removed: &[Value]) -> Value {
    json!({"host": host, "agent": agent, "seq": seq, "base": seq - 1, "at": at,
           "added": added, "removed": removed})
}

fn key(port: u16, addr: &str) -> Value {
    json!({"transport": "tcp", "addr": addr, "port": port})
}

/// `(change, port)` of each event, in order.
fn events(s: &TestServer, host: &str, query: &str) -> Vec<(String, u64, i64)> {
    let r = s.get(&format!("/api/v1/hosts/{host}/history{query}"));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["change"].as_str().expect("change").to_string(),
                e["port"].as_u64().expect("port"),
                e["at"].as_i64().expect("at"),
            )
        })
        .collect()
}

fn ports_of(v: &Value) -> Vec<(String, u64)> {
    v["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["change"].as_str().expect("change").to_string(),
                c["port"].as_u64().expect("port"),
            )
        })
        .collect()
}

fn history_records_changes_and_diffs_instants(url: &str) {
    let s = TestServer::start(url, unlimited());
    s.import(super::SPEC);
    let t0 = now() - 3600;
    let r = s.post(
        "/api/v1/reports",
        &full(
            "app1",
            "a1",
            1,
            t0,
            &[
                listener(22, "0.0.0.0", "sshd", 900),
                listener(20000, "127.0.0.1", "web", 1200),
            ],
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let receipt = r.json();
    assert_eq!(
        (receipt["seq"].as_i64(), receipt["opened"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(receipt["listeners"], 2);
    // 8030 opens (python3), web's process restarts (a change), at +60 s
    let r = s.post(
        "/api/v1/reports",
        &delta(
            "app1",
            "a1",
            2,
            t0 + 60,
            &[
                listener(8030, "0.0.0.0", "python3", 4121),
                listener(20000, "127.0.0.1", "web", 1300),
            ],
            &[],
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let receipt = r.json();
    assert_eq!(
        (receipt["opened"].as_u64(), receipt["changed"].as_u64()),
        (Some(1), Some(1))
    );
    // an undeclared listener on 8030 is drift
    assert!(
        receipt["drift"]
            .as_array()
            .expect("drift")
            .iter()
            .any(|f| f["rule"] == "undeclared-listener"
                && f["message"].as_str().unwrap_or("").contains("8030")),
        "{receipt}"
    );
    // 8030 closes at +2400 s; the IPv6 form of an address the agent sends is the stored one
    let r = s.post(
        "/api/v1/reports",
        &delta(
            "app1",
            "a1",
            3,
            t0 + 2400,
            &[listener(9000, "::", "api", 77)],
            &[key(8030, "0.0.0.0")],
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s.post(
        "/api/v1/reports",
        &delta("app1", "a1", 4, t0 + 2500, &[], &[key(9000, "0:0::0")]),
    );
    assert_eq!(r.status, 200, "removing `0:0::0` removes `::`: {}", r.body);

    let all = events(&s, "app1", "");
    // one report's changes come in listener order
    let expected: Vec<(String, u64, i64)> = [
        ("opened", 22, t0),
        ("opened", 20000, t0),
        ("opened", 8030, t0 + 60),
        ("changed", 20000, t0 + 60),
        ("closed", 8030, t0 + 2400),
        ("opened", 9000, t0 + 2400),
        ("closed", 9000, t0 + 2500),
    ]
    .into_iter()
    .map(|(c, p, t)| (c.to_string(), p, t))
    .collect();
    assert_eq!(all, expected);
    let r = s.get("/api/v1/hosts/app1/history");
    let h = r.json();
    let opened = &h["events"][2];
    assert_eq!(opened["listener"]["owners"][0]["name"], "python3");
    assert_eq!(opened["listener"]["owners"][0]["pid"], 4121);
    assert_eq!(h["events"][3]["previous"]["owners"][0]["pid"], 1200);
    assert_eq!(h["events"][3]["listener"]["owners"][0]["pid"], 1300);
    // the restart is stored as a patch (issue 18); the API still answers whole documents
    // (as ingested: an owner without a container gets `"container": null`)
    let whole = |port: u16, addr: &str, owner: &str, pid: u32| {
        let mut l = listener(port, addr, owner, pid);
        l["owners"][0]["container"] = Value::Null;
        l
    };
    assert_eq!(
        h["events"][3]["previous"],
        whole(20000, "127.0.0.1", "web", 1200)
    );
    assert_eq!(
        h["events"][3]["listener"],
        whole(20000, "127.0.0.1", "web", 1300)
    );
    assert_eq!(opened["listener"], whole(8030, "0.0.0.0", "python3", 4121));
    assert!(h["retained_from"].is_null());
    // since/until (RFC 3339 too) and paging
    let window = events(
        &s,
        "app1",
        &format!("?since={}&until={}", t0 + 1, t0 + 2400),
    );
    assert_eq!(window.len(), 4, "{window:?}");
    let first_id = h["events"][0]["id"].as_i64().expect("id");
    let page = events(&s, "app1", &format!("?after={first_id}&limit=2"));
    assert_eq!(page, expected[1..3].to_vec());

    // the diff of two instants: 8030 opened between t0 and t0+60, gone again by the end
    let r = s.get(&format!("/api/v1/diff?host=app1&from={t0}&to={}", t0 + 60));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        ports_of(&r.json()),
        vec![("opened".into(), 8030), ("changed".into(), 20000)]
    );
    let r = s.get(&format!("/api/v1/diff?host=app1&from={}", t0 + 60));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ports_of(&r.json()), vec![("closed".into(), 8030)]);
    let r = s.get(&format!(
        "/api/v1/diff?host=app1&from={}&to={}",
        t0 - 10,
        t0 + 3000
    ));
    assert_eq!(
        ports_of(&r.json()),
        vec![("opened".into(), 22), ("opened".into(), 20000)]
    );
    // the legacy full report records history too
    let r = s.post(
        "/api/v1/observations",
        &json!({"host": "app1", "listeners": [listener(22, "0.0.0.0", "sshd", 900)]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let last = events(&s, "app1", "");
    assert_eq!(
        last[last.len() - 1].0,
        "closed",
        "20000 closed by the unsequenced report: {last:?}"
    );
    // an unknown host has no history
    for path in [
        "/api/v1/hosts/ghost/history",
        "/api/v1/diff?host=ghost&from=0",
    ] {
        let r = s.get(path);
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }
}

/// POSTs `body` over a plain socket, reading the answer while the body is still being
/// sent: the server refuses an oversized body from its `Content-Length` and closes, which
/// an HTTP client that writes the whole body first reports as a broken pipe.
fn post_raw(base: &str, token: &str, path: &str, body: &[u8]) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("send the head");
    let mut writer = stream.try_clone().expect("clone");
    let body = body.to_vec();
    let sender = std::thread::spawn(move || {
        // refused mid-way: the broken pipe is expected
        let _ = writer.write_all(&body);
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
        let text = String::from_utf8_lossy(&answer);
        if let Some((_, rest)) = text.split_once("\r\n\r\n")
            && rest.ends_with('}')
        {
            break;
        }
    }
    drop(stream);
    let _ = sender.join();
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    (status, text)
}

fn status_field(r: &super::Resp) -> (u16, Option<String>) {
    let field = serde_json::from_str::<Value>(&r.body)
        .ok()
        .and_then(|v| v["field"].as_str().map(str::to_string));
    (r.status, field)
}

fn bad_reports_are_refused_and_lose_nothing(url: &str) {
    let s = TestServer::start(url, unlimited());
    s.import(super::SPEC);
    let t0 = now() - 600;
    let l = |p| listener(p, "0.0.0.0", "svc", u32::from(p));
    assert_eq!(
        s.post("/api/v1/reports", &full("app1", "a1", 1, t0, &[l(1000)]))
            .status,
        200
    );
    let ok = s.post(
        "/api/v1/reports",
        &delta("app1", "a1", 2, t0 + 10, &[l(1001)], &[]),
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    let before = events(&s, "app1", "");
    let refused = [
        // the same delta again (its answer was lost): a duplicate
        (
            "duplicate",
            delta("app1", "a1", 2, t0 + 10, &[l(1001)], &[]),
            409,
            "seq",
        ),
        // an older report arriving late
        (
            "out of order",
            full("app1", "a1", 1, t0, &[l(1000)]),
            409,
            "seq",
        ),
        // report 4 against 3, which never arrived
        (
            "gap",
            delta("app1", "a1", 4, t0 + 30, &[l(1002)], &[]),
            409,
            "base",
        ),
        // a delta from a restarted agent the server has no full report of
        (
            "unknown agent",
            delta("app1", "a2", 2, t0 + 30, &[l(1002)], &[]),
            409,
            "agent",
        ),
        // removing what the server never had: the agent's view diverged
        (
            "diverged",
            delta("app1", "a1", 3, t0 + 30, &[], &[key(4444, "0.0.0.0")]),
            409,
            "removed",
        ),
        (
            "future clock",
            delta("app1", "a1", 3, now() + 3600, &[l(1002)], &[]),
            422,
            "at",
        ),
        (
            "unknown host",
            full("nowhere", "a1", 1, t0, &[l(1000)]),
            404,
            "host",
        ),
        (
            "both kinds",
            json!({"host": "app1", "agent": "a1", "seq": 3, "base": 2, "listeners": []}),
            422,
            "listeners",
        ),
        (
            "seq zero",
            full("app1", "a9", 0, t0, &[l(1000)]),
            422,
            "seq",
        ),
        (
            "bad removed address",
            delta("app1", "a1", 3, t0 + 30, &[], &[key(1000, "not-an-ip")]),
            422,
            "removed[0].addr",
        ),
    ];
    for (what, body, status, field) in refused {
        let r = s.post("/api/v1/reports", &body);
        assert_eq!(
            status_field(&r),
            (status, Some(field.to_string())),
            "{what}: {}",
            r.body
        );
        if status == 409 {
            assert!(
                r.body.contains("last acknowledged report: 2"),
                "{what}: {}",
                r.body
            );
        }
    }
    // a 10 MB report: 413 before anything is parsed
    let big = format!(
        "{{\"host\":\"app1\",\"agent\":\"a1\",\"seq\":3,\"listeners\":[],\"pad\":\"{}\"}}",
        "x".repeat(10 << 20)
    );
    let (status, body) = post_raw(&s.base, &s.tokens.write, "/api/v1/reports", big.as_bytes());
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("\"field\":\"body\""), "{body}");
    assert_eq!(events(&s, "app1", ""), before, "a refusal changed history");
    // the agent resynchronizes with a full report: exactly the difference is recorded
    let r = s.post(
        "/api/v1/reports",
        &full("app1", "a2", 1, t0 + 40, &[l(1001), l(1002)]),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let after = events(&s, "app1", "");
    assert_eq!(after.len(), before.len() + 2, "{after:?}");
    assert_eq!(
        after[before.len()..],
        [
            ("closed".to_string(), 1000, t0 + 40),
            ("opened".to_string(), 1002, t0 + 40)
        ]
    );
    // and continues with deltas of its new sequence
    let r = s.post(
        "/api/v1/reports",
        &delta("app1", "a2", 2, t0 + 50, &[], &[key(1001, "0.0.0.0")]),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

fn compaction_keeps_the_state_it_folds(url: &str) {
    let s = TestServer::start(url, unlimited());
    s.import(super::SPEC);
    let t0 = now() - 10_000;
    let l = |p| listener(p, "0.0.0.0", "svc", u32::from(p));
    let mut seq = 1;
    assert_eq!(
        s.post(
            "/api/v1/reports",
            &full("app1", "a", seq, t0, &[l(1), l(2)])
        )
        .status,
        200
    );
    // churn: port 100+i opens at t0+100*i, the previous one closes
    for i in 1..=20u16 {
        seq += 1;
        let removed = if i > 1 {
            vec![key(99 + i, "0.0.0.0")]
        } else {
            vec![]
        };
        let r = s.post(
            "/api/v1/reports",
            &delta(
                "app1",
                "a",
                seq,
                t0 + 100 * i64::from(i),
                &[l(100 + i)],
                &removed,
            ),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let state_at = |t: i64| {
        let r = s.get(&format!("/api/v1/diff?host=app1&from={}&to={t}", t0 - 1));
        assert_eq!(r.status, 200, "{}", r.body);
        ports_of(&r.json())
    };
    let at_1050 = s
        .get(&format!(
            "/api/v1/diff?host=app1&from={}&to={}",
            t0 + 1050,
            t0 + 1500
        ))
        .json();
    let before_all = state_at(t0 + 5000);
    let total = events(&s, "app1", "").len();
    let cutoff = t0 + 1000;
    let done = s
        .block_on(s.store.compact_history(cutoff))
        .expect("compact");
    assert_eq!(done.hosts, 1);
    // 2 opened at t0, then 10 opened and 9 closed up to t0+1000
    assert_eq!(done.events, 21);
    let h = s.get("/api/v1/hosts/app1/history").json();
    assert_eq!(h["retained_from"], cutoff);
    assert_eq!(
        h["events"].as_array().map(Vec::len),
        Some(total - 21),
        "{h}"
    );
    // the same answers after compaction for instants it kept
    let after = s
        .get(&format!(
            "/api/v1/diff?host=app1&from={}&to={}",
            t0 + 1050,
            t0 + 1500
        ))
        .json();
    assert_eq!(after["changes"], at_1050["changes"]);
    let r = s.get(&format!(
        "/api/v1/diff?host=app1&from={cutoff}&to={}",
        t0 + 5000
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        ports_of(&r.json()),
        vec![("opened".into(), 120), ("closed".into(), 110)]
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
    );
    // an instant before the retained history is refused, naming it
    let r = s.get(&format!("/api/v1/diff?host=app1&from={}", t0 + 10));
    assert_eq!(status_field(&r), (422, Some("from".into())), "{}", r.body);
    // compacting again to the same cutoff has nothing to do; reports go on
    let again = s
        .block_on(s.store.compact_history(cutoff))
        .expect("compact");
    assert_eq!((again.hosts, again.events), (0, 0));
    let r = s.post(
        "/api/v1/reports",
        &delta("app1", "a", seq + 1, t0 + 5000, &[], &[key(1, "0.0.0.0")]),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(before_all.len(), 3, "{before_all:?}");
}

fn concurrent_agents_of_many_hosts_lose_no_event(url: &str) {
    let s = TestServer::start(url, unlimited());
    let hosts = 24;
    let reports = 15;
    let mut spec = String::from("[spec]\nname = \"fleet\"\n");
    for h in 0..hosts {
        let _ = write!(spec, "\n[hosts.node{h:02}]\nenvironment = \"production\"\n");
    }
    s.import(&spec);
    let t0 = now() - 3600;
    std::thread::scope(|scope| {
        for h in 0..hosts {
            let s = &s;
            scope.spawn(move || {
                let host = format!("node{h:02}");
                let agent = super::agent();
                let post = |body: &Value| {
                    super::call(
                        &agent,
                        &s.base,
                        "POST",
                        "/api/v1/reports",
                        Some(&s.tokens.write),
                        Some(&body.to_string()),
                    )
                };
                let r = post(&full(&host, "x", 1, t0, &[listener(11, "0.0.0.0", "a", 1)]));
                assert_eq!(r.status, 200, "{host}: {}", r.body);
                for i in 2..=reports {
                    let port = u16::try_from(i).expect("port") + 10;
                    let r = post(&delta(
                        &host,
                        "x",
                        i,
                        t0 + i,
                        &[listener(port, "0.0.0.0", "a", 1)],
                        &[key(port - 1, "0.0.0.0")],
                    ));
                    assert_eq!(r.status, 200, "{host} #{i}: {}", r.body);
                }
            });
        }
    });
    for h in 0..hosts {
        let ev = events(&s, &format!("node{h:02}"), "");
        // one opened, then each delta: one closed, one opened
        assert_eq!(
            ev.len(),
            1 + 2 * (usize::try_from(reports).expect("count") - 1),
            "node{h:02}: {ev:?}"
        );
        let r = s.get(&format!("/api/v1/observations/node{h:02}")).json();
        assert_eq!(r["listeners"].as_array().map(Vec::len), Some(1));
        assert_eq!(r["listeners"][0]["port"], 10 + reports);
    }
}
