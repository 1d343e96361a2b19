//! The dashboard in real headless Chromium (Debian's `chromium` + `chromium-driver`),
//! driven over the W3C WebDriver protocol by a tiny blocking HTTP client (no crate): log in
//! through the form, allocate a port with the form (an htmx request), see the new port's
//! cell marked allocated in the heatmap (read from the DOM), allocate a free cell's port
//! from the form it prefills, read and filter a host's timeline, and save screenshots to
//! `<target>/test-artifacts/`. Missing Chromium fails the test: it never
//! skips. All traffic stays on loopback.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One HTTP/1.1 exchange with `Connection: close`; returns status and body.
fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(90)))
        .expect("timeout");
    let payload = body.map(Value::to_string).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
        payload.len()
    );
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(payload.as_bytes()))
        .expect("write");
    // chromedriver keeps connections open whatever the request says: read the headers, then
    // exactly Content-Length bytes (or chunks up to the last one)
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let split = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut buf).expect("read");
        assert!(
            n > 0,
            "{method} {path}: connection closed before the headers"
        );
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let mut body = raw[split + 4..].to_vec();
    let length = head.lines().find_map(|l| {
        l.strip_prefix("content-length:")
            .and_then(|v| v.trim().parse::<usize>().ok())
    });
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let done = match length {
            Some(n) => body.len() >= n,
            None if chunked => body.windows(5).any(|w| w == b"0\r\n\r\n"),
            None => false,
        };
        if done {
            break;
        }
        let n = stream.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    if chunked {
        body = dechunk(&body);
    }
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = std::str::from_utf8(&data[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[eol + 2 + size + 2..];
    }
}

/// A WebDriver session on a chromedriver this test started.
struct Driver {
    addr: SocketAddr,
    session: String,
    child: Child,
}

impl Driver {
    fn start(profile: &std::path::Path) -> Driver {
        for exe in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(exe).exists(),
                "{exe} is missing: install the Debian packages chromium and chromium-driver \
                 (.ci/run does)"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        let mut driver = Driver {
            addr,
            session: String::new(),
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if TcpStream::connect(addr).is_ok() {
                let (status, body) = http(addr, "GET", "/status", None);
                if status == 200 && body.contains("\"ready\":true") {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,1024",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }}});
        let v = driver.call("POST", "/session", Some(&caps));
        driver.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        driver
    }

    /// A WebDriver command; returns its `value`, panics on a WebDriver error.
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let (status, text) = http(self.addr, method, path, body);
        let v: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"));
        assert_eq!(status, 200, "{method} {path}: {v}");
        v["value"].clone()
    }

    fn cmd(&self, method: &str, what: &str, body: Option<&Value>) -> Value {
        self.call(method, &format!("/session/{}/{what}", self.session), body)
    }

    fn goto(&self, url: &str) {
        self.cmd("POST", "url", Some(&json!({ "url": url })));
    }

    fn find(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "element",
            Some(&json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.cmd(
            "POST",
            &format!("element/{id}/value"),
            Some(&json!({ "text": text })),
        );
    }

    fn click(&self, css: &str) {
        let id = self.find(css);
        self.cmd("POST", &format!("element/{id}/click"), Some(&json!({})));
    }

    fn script(&self, js: &str) -> Value {
        self.cmd(
            "POST",
            "execute/sync",
            Some(&json!({"script": js, "args": []})),
        )
    }

    /// Polls `js` until it returns something other than null/false.
    fn wait_for(&self, js: &str, what: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let v = self.script(js);
            if !v.is_null() && v != Value::Bool(false) {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = http(
                self.addr,
                "DELETE",
                &format!("/session/{}", self.session),
                None,
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Standard base64 (the screenshot) to bytes.
fn base64(text: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for v in text.bytes().filter_map(val) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).expect("byte"));
        }
    }
    out
}

/// Saves a screenshot of the window as `<target>/test-artifacts/NAME` and checks it is a
/// non-trivial PNG.
fn screenshot(d: &Driver, name: &str) -> PathBuf {
    let png = base64(d.cmd("GET", "screenshot", None).as_str().expect("base64"));
    let path = artifacts().join(name);
    std::fs::write(&path, &png).expect("write screenshot");
    println!("screenshot: {}", path.display());
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(
        png.len() > 20_000,
        "a non-trivial screenshot: {} bytes",
        png.len()
    );
    path
}

/// `<target>/test-artifacts`, from this test binary's path (`<target>/debug/deps/…`).
fn artifacts() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let target = exe
        .ancestors()
        .nth(3)
        .map_or_else(|| PathBuf::from("target"), PathBuf::from);
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

#[test]
fn browser_logs_in_allocates_and_sees_the_heatmap() {
    // the server, in-process on a free loopback port, on its own runtime
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let seeded = super::seed().await;
            // drift findings of a host beside the seed's lint finding, for the filters
            seeded
                .store
                .put_findings(
                    "drift:es-host",
                    &[
                        portolan_store::StoredFinding {
                            rule: "undeclared-listener".into(),
                            severity: "warning".into(),
                            message: "`0.0.0.0:5000` (socat) listens with no declared binding"
                                .into(),
                            doc: json!({"subjects": ["es-host"]}),
                        },
                        portolan_store::StoredFinding {
                            rule: "bind-wider-than-declared".into(),
                            severity: "error".into(),
                            message: "`hub-dashboard.http` binds `0.0.0.0`, declared `127.0.0.1`"
                                .into(),
                            doc: json!({"subjects": ["hub-dashboard.http"]}),
                        },
                    ],
                    super::now(),
                )
                .await
                .expect("drift findings");
            // an agent's history for the host page's timeline: three listeners an hour
            // ago, one of them closed 23 min ago
            let now = super::now();
            let listener = |port: u16, name: &str, pid: u32| {
                json!({"transport": "tcp", "addr": "0.0.0.0", "port": port, "inode": pid,
                       "uid": 0, "owners": [{"pid": pid, "name": name, "cmdline": name, "user": "root"}]})
            };
            let report = |seq, at, body| portolan_store::Report {
                host: "es-host".into(),
                agent: "browser".into(),
                seq,
                at,
                body,
            };
            let full = portolan_store::ReportBody::Full {
                listeners: vec![
                    listener(5000, "socat", 10),
                    listener(5062, "nc", 12),
                    listener(5399, "python3", 4121),
                ],
            };
            let closed = portolan_store::ReportBody::Delta {
                base: 1,
                added: Vec::new(),
                removed: vec![portolan_store::ListenerKey {
                    transport: "tcp".into(),
                    addr: "0.0.0.0".into(),
                    port: 5399,
                }],
            };
            for (seq, at, body) in [(1, now - 3600, full), (2, now - 1380, closed)] {
                seeded
                    .store
                    .report(&report(seq, at, body), now)
                    .await
                    .expect("report");
            }
            let state = portolan_server::AppState::new(seeded.store.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("addr");
            tx.send((addr, seeded.admin.clone())).expect("send");
            let _keep = seeded;
            axum::serve(listener, portolan_server::router(state))
                .await
                .expect("serve");
        });
    });
    let (addr, admin) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("server started");
    let base = format!("http://{addr}");

    let profile = tempfile::tempdir().expect("profile dir");
    let d = Driver::start(profile.path());

    // log in through the form
    d.goto(&format!("{base}/"));
    d.wait_for(
        "return location.pathname === '/login' && document.querySelector('#token') !== null",
        "the login page",
    );
    d.type_into("#token", &admin);
    d.click("#login-submit");
    d.wait_for(
        "return location.pathname === '/' && document.querySelector('#projects') !== null",
        "the overview after login",
    );
    screenshot(&d, "overview.png");
    let cookie_visible = d.script("return document.cookie");
    assert_eq!(cookie_visible, json!(""), "the session cookie is HttpOnly");

    // allocate with the form on the project page (htmx, no page reload)
    d.goto(&format!("{base}/projects/dashboard"));
    assert_eq!(
        d.wait_for(
            "return typeof htmx === 'object' ? htmx.version : null",
            "htmx"
        ),
        json!("2.0.4")
    );
    d.script("window.__marker = 'same page'; return null");
    d.click("#block option[value='dev-testing']");
    d.type_into("#name", "browser-svc");
    d.click("#host option[value='es-host']");
    d.type_into("#why", "browser test");
    d.click("#alloc-submit");
    let port = d.wait_for(
        "const e = document.querySelector('#alloc-port'); return e ? e.textContent : null",
        "the allocation result",
    );
    let port: u16 = port.as_str().and_then(|p| p.parse().ok()).expect("port");
    assert!((5061..=5070).contains(&port), "dev-testing block: {port}");
    assert_eq!(
        d.script("return window.__marker || null"),
        json!("same page"),
        "htmx swapped a fragment"
    );
    let cell = d.wait_for(
        &format!(
            "const c = document.querySelector('#heatmap [data-port=\"{port}\"]'); \
             return c && c.dataset.state === 'allocated' \
               ? {{state: c.dataset.state, title: c.title, bg: getComputedStyle(c).backgroundColor}} : null"
        ),
        "the new port's cell",
    );
    assert!(
        cell["title"]
            .as_str()
            .is_some_and(|t| t.contains("browser-svc.main on es-host (tcp)")),
        "{cell}"
    );
    assert_eq!(
        cell["bg"],
        json!("rgb(59, 130, 246)"),
        "the stylesheet loaded"
    );
    screenshot(&d, "dashboard.png");

    // a reload shows it too (it is in the registry, not only in the page)
    d.goto(&format!("{base}/projects/dashboard"));
    let state = d.wait_for(
        &format!(
            "const c = document.querySelector('[data-port=\"{port}\"]'); \
             return c ? c.dataset.state : null"
        ),
        "the cell after reload",
    );
    assert_eq!(state, json!("allocated"));

    // the findings page: a search and a host filter, submitted as a form, narrow the table;
    // the form keeps what was asked, code spans are <code>
    d.goto(&format!("{base}/findings"));
    let rows = "return document.querySelectorAll('#findings tr.finding').length";
    assert_eq!(d.wait_for(rows, "the findings table"), json!(3));
    d.click("#host option[value='es-host']");
    d.type_into("#q", "SOCAT");
    d.click("#filter-submit");
    d.wait_for(
        "return location.search.includes('q=SOCAT') ? true : null",
        "the filtered page",
    );
    assert_eq!(d.script(rows), json!(1));
    assert_eq!(
        d.script(
            "const r = document.querySelector('#findings tr.finding'); \
             return [r.cells[1].textContent, r.querySelector('code').textContent, \
                     document.querySelector('#q').value, document.querySelector('#host').value, \
                     document.querySelector('#findings-count').textContent]"
        ),
        json!([
            "undeclared-listener",
            "0.0.0.0:5000",
            "SOCAT",
            "es-host",
            "1 of 3 findings"
        ])
    );
    screenshot(&d, "findings-filtered.png");
    // by rule and severity: the other drift finding; a search that matches nothing says so
    d.goto(&format!(
        "{base}/findings?rule=bind-wider-than-declared&severity=error"
    ));
    assert_eq!(d.wait_for(rows, "the rule filter"), json!(1));
    assert_eq!(
        d.script("return document.querySelectorAll('#findings tr.finding code').length"),
        json!(3)
    );
    d.goto(&format!("{base}/findings?q=no-such-thing"));
    assert_eq!(d.wait_for(rows, "an empty result"), json!(0));
    assert_eq!(
        d.script("return document.querySelector('#findings td.muted').textContent"),
        json!("No findings match.")
    );
    d.click("#filter-clear");
    d.wait_for(
        "return location.search === '' && location.pathname === '/findings' ? true : null",
        "the cleared filters",
    );
    assert_eq!(d.script(rows), json!(3));

    // a split range: one labelled segment per piece, the gap between them drawn as its own
    // line, block boundaries marked, a free cell leads to the allocation form
    d.goto(&format!("{base}/projects/es-inventory-hub"));
    let layout = d.wait_for(
        "const segs = [...document.querySelectorAll('#heatmap .segment')]; \
         const gap = document.querySelector('#heatmap .gap'); \
         if (segs.length < 2 || !gap) return null; \
         const box = e => e.getBoundingClientRect(); \
         const edge = document.querySelector('[data-port=\"5433\"]'); \
         return {labels: segs.map(s => s.querySelector('.segment-label').textContent), \
                 gap: gap.textContent, \
                 ordered: box(segs[0]).bottom <= box(gap).top && box(gap).bottom <= box(segs[1]).top, \
                 gapHeight: box(gap).height, \
                 edge: getComputedStyle(edge).boxShadow, \
                 inner: getComputedStyle(document.querySelector('[data-port=\"5434\"]')).boxShadow}",
        "the split heatmap",
    );
    assert_eq!(
        layout["labels"],
        json!(["5400-5431", "5433-5499"]),
        "{layout}"
    );
    assert_eq!(layout["gap"], json!("gap: 5432 (1 port outside the range)"));
    assert_eq!(
        layout["ordered"],
        json!(true),
        "segment, gap, segment: {layout}"
    );
    assert!(
        layout["gapHeight"].as_f64().is_some_and(|h| h > 5.0),
        "{layout}"
    );
    assert!(
        layout["edge"].as_str().is_some_and(|b| b.contains("inset")),
        "{layout}"
    );
    assert_eq!(layout["inner"], json!("none"));
    screenshot(&d, "heatmap-split.png");
    // a free cell prefills the allocation form with its port and block; allocating then
    // hands out exactly that port
    let wish = d.script(
        "const c = document.querySelector(\"#heatmap a[data-state='free']\"); \
         return [c.dataset.port, c.dataset.block || '']",
    );
    d.click("#heatmap a[data-state='free']");
    d.wait_for(
        "return location.hash === '#alloc-form' && location.search.includes('port=') ? true : null",
        "the allocation form after a free cell's click",
    );
    assert_eq!(
        d.script(
            "return [document.querySelector('#port').value, document.querySelector('#block').value, \
                     document.querySelector('#alloc-form input[name=project]').value]"
        ),
        json!([wish[0], wish[1], "es-inventory-hub"]),
        "the form asks for the clicked port"
    );
    d.type_into("#name", "browser-wish");
    d.click("#host option[value='es-host']");
    d.click("#alloc-submit");
    let got = d.wait_for(
        "const e = document.querySelector('#alloc-port'); return e ? e.textContent : null",
        "the wished-for allocation",
    );
    assert_eq!(got, wish[0], "the clicked port was allocated");

    // the host page's timeline: intervals newest first, a filter by port
    d.goto(&format!("{base}/hosts/es-host"));
    let intervals = "const r = [...document.querySelectorAll('#timeline tr.interval')]; \
                     return r.length ? r.map(e => [e.dataset.port, e.dataset.state]) : null";
    assert_eq!(
        d.wait_for(intervals, "the timeline"),
        json!([["5399", "closed"], ["5062", "open"], ["5000", "open"]])
    );
    let closed = d.script(
        "const r = document.querySelector('#timeline tr[data-port=\"5399\"]'); \
         return [r.innerText, [...r.querySelectorAll('time')].map(t => t.dateTime)]",
    );
    let text = closed[0].as_str().unwrap_or_default();
    for part in [
        "0.0.0.0:5399/tcp",
        "by python3 (pid 4121)",
        "37 min",
        "(23 min ago)",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    let times = closed[1].as_array().cloned().unwrap_or_default();
    assert_eq!(times.len(), 2, "opened and closed: {closed}");
    assert!(
        times.iter().all(|t| t
            .as_str()
            .is_some_and(|t| t.len() == 20 && t.ends_with('Z'))),
        "UTC ISO times: {closed}"
    );
    d.script("document.querySelector('#timeline-heading').scrollIntoView(); return null");
    screenshot(&d, "host-timeline.png");
    d.type_into("#timeline-port", "5000");
    d.click("#timeline-submit");
    d.wait_for(
        "return location.search.includes('port=5000') ? true : null",
        "the port filter",
    );
    assert_eq!(
        d.wait_for(intervals, "the filtered timeline"),
        json!([["5000", "open"]])
    );
    assert_eq!(
        d.script("return document.querySelector('#timeline-port').value"),
        json!("5000")
    );
    d.click("#timeline-clear");
    d.wait_for(
        "return location.search === '' && location.pathname === '/hosts/es-host' ? true : null",
        "the cleared filter",
    );
    assert_eq!(
        d.wait_for(intervals, "every port again")
            .as_array()
            .map(Vec::len),
        Some(3)
    );

    // no script error, no CSP violation, no failed load in the console on any page (the
    // probe shows the console is captured)
    d.script("console.warn('portolan-probe'); return null");
    let logs = d.cmd("POST", "se/log", Some(&json!({"type": "browser"})));
    assert!(
        logs.to_string().contains("portolan-probe"),
        "console not captured: {logs}"
    );
    let severe: Vec<&Value> = logs
        .as_array()
        .map(|a| a.iter().filter(|e| e["level"] == "SEVERE").collect())
        .unwrap_or_default();
    assert!(severe.is_empty(), "console errors: {severe:?}");
}
