//! The host page's timeline on both engines: a history with a compacted start, a changed
//! listener, a closed and reopened one, paired into intervals newest first — still open,
//! closed (opened before history began), paged by `?before=`, filtered by `?port=`,
//! escaped, and bad parameters refused with 422 naming them.

use std::sync::Arc;

use axum::http::StatusCode;
use portolan_store::{ListenerKey, Report, ReportBody, Role, Store};
use portolan_testkit::{Engine, engine_tests};
use serde_json::{Value, json};

use super::logged_in;
use portolan_server::AppState;

engine_tests!(run; timeline_pairs_pages_and_filters_history);

fn run(engine: Engine, name: &str, case: fn(&str)) {
    let db = engine.database(name);
    case(&db.url);
}

fn listener(port: u16, owner: &str, pid: u32) -> Value {
    json!({"transport": "tcp", "addr": "0.0.0.0", "port": port, "inode": pid * 10, "uid": 0,
           "owners": [{"pid": pid, "name": owner, "cmdline": owner, "user": "root"}]})
}

fn key(port: u16) -> ListenerKey {
    ListenerKey {
        transport: "tcp".into(),
        addr: "0.0.0.0".into(),
        port,
    }
}

/// `(port, state, row text)` of each timeline row, in page order.
fn rows(html: &str) -> Vec<(u16, String, String)> {
    html.split("<tr class=\"interval ")
        .skip(1)
        .map(|row| {
            let row = &row[..row.find("</tr>").expect("row end")];
            let attr = |name: &str| {
                let at = row.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
                row[at..at + row[at..].find('"').expect("quote")].to_string()
            };
            (
                attr("data-port").parse().expect("port"),
                attr("data-state"),
                row.to_string(),
            )
        })
        .collect()
}

/// The `href` of the element with `id`.
fn link(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\" href=\""))? + id.len() + 12;
    Some(html[at..at + html[at..].find('"')?].replace("&amp;", "&"))
}

fn iso(t: i64) -> String {
    portolan_model::spec::Timestamp(t).to_string()
}

/// Regression (issue 18): the host page showed only the last report; it now shows the
/// history as intervals, pairing what can be paired and saying what cannot.
fn timeline_pairs_pages_and_filters_history(url: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store: Arc<dyn Store> = Arc::from(portolan_store::open(url).await.expect("open"));
        let now = super::now();
        let t0 = now - 7200;
        let report = |seq: i64, at: i64, body: ReportBody| Report {
            host: "app1".into(),
            agent: "a1".into(),
            seq,
            at,
            body,
        };
        let delta = |seq: i64, added: Vec<Value>, removed: Vec<ListenerKey>| ReportBody::Delta {
            base: seq - 1,
            added,
            removed,
        };
        let full = ReportBody::Full {
            listeners: vec![
                listener(8030, "python3", 4121),
                listener(22, "sshd", 700),
                listener(5432, "postgres", 900),
            ],
        };
        store.report(&report(1, t0, full), now).await.expect("full");
        // the retention folds the first report away: 22 and 8030 were open before history
        store.compact_history(t0 + 10).await.expect("compact");
        let evil = "<script>alert(1)</script>";
        let steps = [
            (
                600,
                delta(2, vec![listener(9000, evil, 5000)], vec![key(22)]),
            ),
            (
                1200,
                delta(3, vec![listener(8030, "python3", 4188)], vec![]),
            ),
            (2400, delta(4, vec![], vec![key(9000)])),
            (3000, delta(5, vec![listener(9000, "node", 5001)], vec![])),
        ];
        for (seq, (offset, body)) in (2..).zip(steps) {
            store
                .report(&report(seq, t0 + offset, body), now)
                .await
                .expect("delta");
        }
        let reader = store
            .create_token(Role::Read, "rita", None, now)
            .await
            .expect("token")
            .token;
        let state = AppState::new(store.clone());
        let mut c = logged_in(&state, &reader).await;

        let page = c.get("/hosts/app1").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let got = rows(&page.body);
        let shape: Vec<(u16, &str)> = got.iter().map(|(p, s, _)| (*p, s.as_str())).collect();
        assert_eq!(
            shape,
            [
                (9000, "open"),
                (8030, "open"),
                (9000, "closed"),
                (22, "closed")
            ],
            "newest first"
        );
        let text = |i: usize| got[i].2.as_str();
        // open without a close: still open, since when and by whom
        assert!(text(0).contains("still open"), "{}", text(0));
        assert!(text(0).contains(&iso(t0 + 3000)), "{}", text(0));
        assert!(text(0).contains("by node (pid 5001)"), "{}", text(0));
        assert!(
            text(0).contains("(1 h ago)"),
            "a relative hint: {}",
            text(0)
        );
        // open since before history began, with its change
        assert!(text(1).contains("before history began"), "{}", text(1));
        assert!(text(1).contains("still open"), "{}", text(1));
        assert!(
            text(1).contains("python3 (pid 4121) → python3 (pid 4188)"),
            "{}",
            text(1)
        );
        // opened and closed: paired, with how long, the owner's name escaped
        assert!(text(2).contains(&iso(t0 + 600)), "{}", text(2));
        assert!(text(2).contains(&iso(t0 + 2400)), "{}", text(2));
        assert!(text(2).contains("<td>30 min</td>"), "{}", text(2));
        assert!(
            text(2).contains("by &lt;script&gt;alert(1)&lt;&#x2f;script&gt; (pid 5000)"),
            "{}",
            text(2)
        );
        assert!(!page.body.contains(evil), "escaped");
        // a close without a recorded open
        assert!(
            text(3).contains("(opened before history began)"),
            "{}",
            text(3)
        );
        assert!(text(3).contains(&iso(t0 + 600)), "{}", text(3));
        assert!(
            page.body
                .contains(&format!("History before {} was compacted", iso(t0 + 10))),
            "the retention is named"
        );
        assert_eq!(link(&page.body, "timeline-older"), None, "one page");

        // pages of two: the cursor leads to the rest, and back to the newest
        let first = c.get("/hosts/app1?limit=2").await;
        let ports: Vec<u16> = rows(&first.body).iter().map(|r| r.0).collect();
        assert_eq!(ports, [9000, 8030]);
        let older = link(&first.body, "timeline-older").expect("an older page");
        assert!(older.contains("limit=2"), "{older}");
        let second = c.get(&older).await;
        assert_eq!(second.status, StatusCode::OK);
        let shape: Vec<(u16, String)> = rows(&second.body)
            .into_iter()
            .map(|(p, s, _)| (p, s))
            .collect();
        assert_eq!(shape, [(9000, "closed".into()), (22, "closed".into())]);
        assert_eq!(link(&second.body, "timeline-older"), None);
        assert!(link(&second.body, "timeline-newest").is_some());

        // one port
        let port = c.get("/hosts/app1?port=9000").await;
        let shape: Vec<(u16, String)> = rows(&port.body)
            .into_iter()
            .map(|(p, s, _)| (p, s))
            .collect();
        assert_eq!(shape, [(9000, "open".into()), (9000, "closed".into())]);
        assert!(port.body.contains("value=\"9000\""), "the filter is kept");
        let none = c.get("/hosts/app1?port=1").await;
        assert!(rows(&none.body).is_empty());
        assert!(none.body.contains("No recorded change of port 1."));

        // bad parameters: 422 naming them, escaped
        for (query, field) in [
            ("port=%3Cscript%3E", "port:"),
            ("port=0", "port:"),
            ("before=soon", "before:"),
            ("limit=100000", "limit:"),
        ] {
            let a = c.get(&format!("/hosts/app1?{query}")).await;
            assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
            assert!(a.body.contains(field), "{query}: {}", a.body);
            assert!(!a.body.contains("<script>"), "{query}");
        }
    });
}
