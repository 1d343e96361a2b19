//! `PUT /api/v1/spec` guarded by the registry's generation (issue 13): `GET` names the
//! generation as `ETag`; a push names the one it last pulled in `If-Match` and is refused
//! (409, nothing changed, what it would drop listed) once the registry has moved on; `*`
//! replaces whatever is there and logs each dropped item; no `If-Match` is 428. Every push
//! is a `push` log entry naming the token's id.

use serde_json::{Value, json};

use super::{Resp, SPEC, TestServer, agent, unlimited};

/// `PUT /api/v1/spec` as the admin, with `If-Match` when given.
fn put(s: &TestServer, if_match: Option<&str>, spec: &str) -> Resp {
    let mut rb = agent()
        .put(&format!("{}/api/v1/spec", s.base))
        .header("Authorization", &format!("Bearer {}", s.tokens.admin))
        .content_type("application/toml");
    if let Some(m) = if_match {
        rb = rb.header("If-Match", m);
    }
    let mut res = rb
        .send(spec)
        .unwrap_or_else(|e| panic!("PUT /api/v1/spec: {e}"));
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

/// The generation the `ETag` of a response names.
fn etag(r: &Resp) -> i64 {
    let tag = r
        .header("etag")
        .unwrap_or_else(|| panic!("no ETag: {} {}", r.status, r.body));
    tag.trim_matches('"')
        .parse()
        .unwrap_or_else(|_| panic!("ETag {tag:?} is not a quoted generation"))
}

/// The change log's entries, oldest first.
fn log(s: &TestServer) -> Vec<Value> {
    let v = s.get("/api/v1/log?limit=1000").json();
    v.as_array()
        .expect("log")
        .iter()
        .map(|r| r["entry"].clone())
        .collect()
}

fn alloc(s: &TestServer, name: &str) -> u64 {
    let r = s.post(
        "/api/v1/allocate",
        &json!({"project": "hub", "name": name, "host": "app1"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["lo"].as_u64().expect("port")
}

pub(super) fn spec_push_is_guarded_by_the_generation(url: &str) {
    let s = TestServer::start(url, unlimited());
    let token_id = &s.tokens.admin[4..20];
    // no If-Match: 428, and nothing is imported
    let r = put(&s, None, SPEC);
    assert_eq!(
        (r.status, r.json()["field"].clone()),
        (428, json!("if-match"))
    );
    assert!(
        s.get("/api/v1/hosts")
            .json()
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    // not a generation: 400
    for bad in ["latest", "\"-1\"", "\"1\", \"2\""] {
        let r = put(&s, Some(bad), SPEC);
        assert_eq!(
            (r.status, r.json()["field"].clone()),
            (400, json!("if-match")),
            "{bad}"
        );
    }
    // the first push, on the empty registry's generation
    let g0 = etag(&s.get("/api/v1/spec"));
    let r = put(&s, Some(&format!("\"{g0}\"")), SPEC);
    assert_eq!(r.status, 200, "{}", r.body);
    let g1 = etag(&r);
    assert!(g1 > g0);
    assert_eq!(r.json()["generation"], g1);
    assert_eq!(
        etag(&s.get("/api/v1/spec")),
        g1,
        "GET names what the push answered"
    );
    // an allocation moves the generation on: a push on g1 is now stale
    let port = alloc(&s, "search");
    let g2 = etag(&s.get("/api/v1/spec"));
    assert!(g2 > g1);
    let r = put(&s, Some(&format!("\"{g1}\"")), SPEC);
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(etag(&r), g2);
    let v = r.json();
    assert_eq!(
        (v["field"].clone(), v["generation"].clone()),
        (json!("if-match"), json!(g2))
    );
    let lost = v["would_drop"].as_array().expect("would_drop");
    assert_eq!(lost.len(), 1, "{v}");
    assert_eq!(
        (&lost[0]["kind"], &lost[0]["name"], &lost[0]["ports"]),
        (
            &json!("service"),
            &json!("search"),
            &json!(port.to_string())
        )
    );
    // nothing changed
    assert!(s.get("/api/v1/spec").body.contains("[services.search]"));
    assert_eq!(etag(&s.get("/api/v1/spec")), g2);
    // a weak tag of the current generation is the same generation; the pusher chose to
    // remove `search`: it is reported as dropped, not logged item by item
    let r = put(&s, Some(&format!("W/\"{g2}\"")), SPEC);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["dropped"][0]["name"], "search");
    assert!(!s.get("/api/v1/spec").body.contains("[services.search]"));
    // a forced push drops what it lacks and logs each item
    let kept = alloc(&s, "kpi");
    let r = put(&s, Some("*"), SPEC);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["dropped"][0]["ports"], kept.to_string());
    let entries = log(&s);
    let drops: Vec<&Value> = entries.iter().filter(|e| e["action"] == "drop").collect();
    assert_eq!(drops.len(), 1, "{drops:?}");
    assert_eq!(
        (&drops[0]["service"], &drops[0]["ports"]),
        (&json!("kpi"), &json!(kept.to_string()))
    );
    let pushes: Vec<&Value> = entries.iter().filter(|e| e["action"] == "push").collect();
    assert_eq!(
        pushes.len(),
        3,
        "every accepted push is logged, refused ones are not"
    );
    for p in &pushes {
        assert_eq!(p["who"], "token:admin");
        let why = p["why"].as_str().expect("why");
        assert!(why.contains(&format!("token id {token_id}")), "{why}");
    }
    assert!(
        pushes[2]["why"]
            .as_str()
            .is_some_and(|w| w.contains("push --force"))
    );
    // a spec that does not load changes nothing, whatever If-Match says
    let before = s.get("/api/v1/spec");
    let r = put(&s, Some("*"), "not = [toml");
    assert_eq!(r.status, 422, "{}", r.body);
    let after = s.get("/api/v1/spec");
    assert_eq!((etag(&after), after.body), (etag(&before), before.body));
}
