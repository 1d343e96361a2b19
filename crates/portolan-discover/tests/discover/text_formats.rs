//! nginx, Dockerfile, systemd, Procfile and application-code parsers: arbitrary text never
//! panics; generated nginx configs and Dockerfile `EXPOSE` lines round-trip to the expected
//! uses; the fixture trees say what they should.

use std::fmt::Write as _;
use std::path::Path;

use portolan_discover::{
    Context, FileReport, ProxyKind, Role, SourceKind, cmdline, code, dockerfile, nginx, procfile,
    systemd,
};
use portolan_model::spec::Transport;
use proptest::prelude::*;

fn fixture(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/discover")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ports(r: &FileReport) -> Vec<u16> {
    r.uses.iter().map(|u| u.port.lo).collect()
}

/// Text made of the characters the parsers care about, so random inputs hit their paths.
fn syntaxy() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("server".to_string()),
            Just("listen".to_string()),
            Just("proxy_pass".to_string()),
            Just("upstream".to_string()),
            Just("EXPOSE".to_string()),
            Just("CMD".to_string()),
            Just("ListenStream=".to_string()),
            Just("web:".to_string()),
            Just("gunicorn -b".to_string()),
            Just("docker run -p".to_string()),
            Just(".listen(".to_string()),
            Just("ListenAndServe(\"".to_string()),
            Just("os.getenv('PORT',".to_string()),
            Just("process.env.PORT ||".to_string()),
            Just("${PORT:-".to_string()),
            Just("[::1]:".to_string()),
            Just("unix:".to_string()),
            "[0-9]{1,6}",
            "[ \\t\\n;{}:\"'#\\\\$\\[\\]()=,/-]{1,3}",
            "\\PC{0,4}",
        ],
        0..40,
    )
    .prop_map(|v| v.join(""))
}

fn all_parsers(text: &str) {
    let ctx = Context::default();
    let _ = nginx::parse("x.conf", text, &ctx);
    let _ = nginx::looks_like(text);
    let _ = dockerfile::parse("Dockerfile", text, &ctx);
    let _ = systemd::parse("x.service", text, &ctx);
    let _ = procfile::parse("Procfile", text, &ctx);
    for path in [
        "fuzz",
        "a.py",
        "a.js",
        "vite.config.ts",
        "a.go",
        "application.properties",
        "application.yml",
        "package.json",
        "a.sh",
    ] {
        let _ = code::parse(path, text, &ctx);
    }
    let ix = portolan_discover::text::LineIndex::new("x", text);
    let _ = cmdline::scan(&ix, SourceKind::Shell, text, 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        all_parsers(&text);
    }

    #[test]
    fn syntax_soup_never_panics(text in syntaxy()) {
        all_parsers(&text);
    }

    #[test]
    fn generated_nginx_configs_round_trip(
        servers in proptest::collection::vec(
            (
                proptest::collection::vec((prop_oneof![Just(""), Just("127.0.0.1:"), Just("[::]:"), Just("*:")], 1u16..=65535, any::<bool>()), 0..3),
                proptest::collection::vec((1u16..=65535, prop_oneof![Just("proxy_pass http://"), Just("grpc_pass grpc://"), Just("fastcgi_pass ")]), 0..3),
            ),
            1..4,
        )
    ) {
        let mut text = String::from("http {\n");
        let mut want_listen = Vec::new();
        let mut want_routes = Vec::new();
        for (listens, passes) in &servers {
            text.push_str("  server {\n");
            let mut server_ports: Vec<u16> = Vec::new();
            for (host, port, quic) in listens {
                let extra = if *quic { " quic" } else { " default_server" };
                let _ = writeln!(text, "    listen {host}{port}{extra}; # listen 1;");
                want_listen.push((*port, *quic));
                if !server_ports.contains(port) {
                    server_ports.push(*port);
                }
            }
            if server_ports.is_empty() {
                server_ports.push(80);
            }
            for (i, (port, directive)) in passes.iter().enumerate() {
                let _ = writeln!(text, "    location /p{i} {{\n      {directive}10.0.0.{i}:{port};\n    }}");
                want_routes.push((server_ports.clone(), format!("/p{i}"), format!("10.0.0.{i}"), *port));
            }
            text.push_str("  }\n");
        }
        text.push_str("}\n");
        let r = nginx::parse("gen.conf", &text, &Context::default());
        prop_assert!(r.problems.is_empty(), "{:?}", r.problems);
        let listen: Vec<(u16, bool)> = r
            .uses
            .iter()
            .filter(|u| u.role == Role::Listen)
            .map(|u| (u.port.lo, u.transport == Transport::Udp))
            .collect();
        prop_assert_eq!(listen, want_listen);
        let routes: Vec<(Vec<u16>, String, String, u16)> = r
            .routes
            .iter()
            .map(|x| (x.listen.clone(), x.path.clone().unwrap_or_default(), x.upstream.clone(), x.port.unwrap_or(0)))
            .collect();
        prop_assert_eq!(routes, want_routes.clone());
        let connects = r.uses.iter().filter(|u| u.role == Role::Connect).count();
        prop_assert_eq!(connects, want_routes.len());
    }

    #[test]
    fn generated_expose_lines_round_trip(
        items in proptest::collection::vec((1u16..=65535, prop_oneof![Just(""), Just("/tcp"), Just("/udp")]), 1..6),
        lower in any::<bool>(),
    ) {
        let kw = if lower { "expose" } else { "EXPOSE" };
        let list: Vec<String> = items.iter().map(|(p, t)| format!("{p}{t}")).collect();
        let text = format!("FROM x\n# EXPOSE 1\n{kw} {}\n", list.join(" "));
        let r = dockerfile::parse("Dockerfile", &text, &Context::default());
        let got: Vec<(u16, bool)> = r.uses.iter().map(|u| (u.port.lo, u.transport == Transport::Udp)).collect();
        let want: Vec<(u16, bool)> = items.iter().map(|(p, t)| (*p, *t == "/udp")).collect();
        prop_assert_eq!(got, want);
        // Each use points at its own token.
        let mut col = kw.len() + 2;
        for (u, s) in r.uses.iter().zip(&list) {
            prop_assert_eq!(u.at.line, 3);
            prop_assert_eq!(u.at.col as usize, col);
            col += s.len() + 1;
        }
    }
}

#[test]
fn webapp_nginx_fixture() {
    let r = nginx::parse(
        "nginx/site.conf",
        &fixture("webapp/nginx/site.conf"),
        &Context::default(),
    );
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let listens: Vec<(u16, Option<&str>)> = r
        .uses
        .iter()
        .filter(|u| u.role == Role::Listen)
        .map(|u| (u.port.lo, u.bind.as_deref()))
        .collect();
    assert_eq!(
        listens,
        [(80, None), (80, Some("::")), (443, None), (443, Some("::"))]
    );
    assert_eq!(r.routes.len(), 2);
    assert_eq!(r.routes[0].path.as_deref(), Some("/ws"));
    assert_eq!(r.routes[0].upstream, "websockets");
    assert_eq!(r.routes[0].port, None);
    assert_eq!(r.routes[1].path.as_deref(), Some("/"));
    assert_eq!(
        (r.routes[1].upstream.as_str(), r.routes[1].port),
        ("127.0.0.1", Some(8000))
    );
    assert_eq!(r.routes[1].listen, [443]);
    assert_eq!(r.routes[1].kind, ProxyKind::Http);
    assert_eq!(r.routes[1].server_names, ["example.com"]);
    let connects: Vec<(u16, Option<&str>)> = r
        .uses
        .iter()
        .filter(|u| u.role == Role::Connect)
        .map(|u| (u.port.lo, u.service.as_deref()))
        .collect();
    assert_eq!(connects, [(8001, Some("websockets")), (8000, None)]);
}

#[test]
fn webapp_dockerfile_fixture() {
    let r = dockerfile::parse(
        "Dockerfile",
        &fixture("webapp/Dockerfile"),
        &Context::default(),
    );
    let got: Vec<(u16, Role, String)> = r
        .uses
        .iter()
        .map(|u| (u.port.lo, u.role, u.at.to_string()))
        .collect();
    assert_eq!(
        got,
        [
            (8000, Role::Expose, "Dockerfile:6:8".to_string()),
            (8000, Role::Listen, "Dockerfile:7:33".to_string()),
        ]
    );
}

type Parser = fn(&str, &str, &Context) -> FileReport;

#[test]
fn monorepo_files_each_say_their_port() {
    let ctx = Context::default();
    let cases: [(&str, Parser, &[u16], Role); 9] = [
        ("services/api/app.py", code::parse, &[5001], Role::Listen),
        (
            "services/admin/Procfile",
            procfile::parse,
            &[8082],
            Role::Listen,
        ),
        (
            "services/gateway/main.go",
            code::parse,
            &[8080],
            Role::Listen,
        ),
        (
            "services/web/package.json",
            code::parse,
            &[3000],
            Role::Listen,
        ),
        ("services/web/server.js", code::parse, &[4000], Role::Listen),
        (
            "services/billing/src/main/resources/application.properties",
            code::parse,
            &[8081],
            Role::Listen,
        ),
        ("deploy/app.socket", systemd::parse, &[9000], Role::Listen),
        ("scripts/run.sh", code::parse, &[6379], Role::Publish),
        ("build/ignored.js", code::parse, &[9999], Role::Listen),
    ];
    for (rel, parse, want, role) in cases {
        let r = parse(rel, &fixture(&format!("monorepo/{rel}")), &ctx);
        assert_eq!(ports(&r), want, "{rel}");
        assert!(r.uses.iter().all(|u| u.role == role), "{rel}: {:?}", r.uses);
    }
    let api = code::parse(
        "services/api/app.py",
        &fixture("monorepo/services/api/app.py"),
        &ctx,
    );
    assert_eq!(api.uses[0].variable.as_deref(), Some("PORT"));
    let admin = procfile::parse(
        "Procfile",
        &fixture("monorepo/services/admin/Procfile"),
        &ctx,
    );
    assert_eq!(admin.uses[0].service.as_deref(), Some("admin"));
    let web = code::parse(
        "package.json",
        &fixture("monorepo/services/web/package.json"),
        &ctx,
    );
    assert_eq!(web.uses[0].service.as_deref(), Some("web"));
    let sock = systemd::parse(
        "deploy/app.socket",
        &fixture("monorepo/deploy/app.socket"),
        &ctx,
    );
    assert_eq!(sock.uses[0].service.as_deref(), Some("app"));
}
