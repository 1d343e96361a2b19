//! compose, .env and Kubernetes parsers.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use portolan_discover::{Context, Role, compose, env, kubernetes};
use portolan_model::port::PortRange;
use portolan_model::spec::{Publisher, Transport};
use proptest::prelude::*;

fn ctx(vars: &BTreeMap<String, String>) -> Context {
    Context { vars: vars.clone() }
}

/// A port or a range, and how it is written.
fn port_part() -> impl Strategy<Value = (PortRange, String)> {
    prop_oneof![
        (1u16..=65535).prop_map(|p| (PortRange::single(p), p.to_string())),
        (1u16..=65000, 0u16..=20).prop_map(|(lo, n)| {
            let r = PortRange::new(lo, lo + n).expect("range");
            (r, format!("{lo}-{}", lo + n))
        }),
    ]
}

fn host_ip() -> impl Strategy<Value = Option<(String, String)>> {
    // (as written, as reported)
    prop_oneof![
        Just(None),
        Just(Some(("127.0.0.1".to_string(), "127.0.0.1".to_string()))),
        Just(Some(("0.0.0.0".to_string(), "0.0.0.0".to_string()))),
        Just(Some(("[::1]".to_string(), "::1".to_string()))),
        Just(Some(("::1".to_string(), "::1".to_string()))),
        Just(Some(("[fe80::2]".to_string(), "fe80::2".to_string()))),
        (0u8..=255, 0u8..=255).prop_map(|(a, b)| {
            let ip = format!("10.{a}.{b}.1");
            Some((ip.clone(), ip))
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any short-syntax entry built from parts parses back to the same parts.
    #[test]
    fn short_syntax_round_trips(
        ip in host_ip(),
        published in proptest::option::of(port_part()),
        target in port_part(),
        proto in prop_oneof![Just(None), Just(Some("tcp")), Just(Some("udp"))],
        quoted in any::<bool>(),
    ) {
        // A range target needs a range of the same length on the host side.
        let published = published.map(|(r, s)| {
            if target.0.len() > 1 { (target.0, target.1.clone()) } else { (r, s) }
        });
        let mut entry = String::new();
        if let Some((written, _)) = &ip {
            entry.push_str(written);
            entry.push(':');
        }
        if let Some((_, s)) = &published {
            entry.push_str(s);
            entry.push(':');
        } else if ip.is_some() {
            entry.push(':');
        }
        entry.push_str(&target.1);
        if let Some(p) = proto {
            entry.push('/');
            entry.push_str(p);
        }
        let item = if quoted || ip.is_some() { format!("\"{entry}\"") } else { entry.clone() };
        let text = format!("services:\n  svc:\n    ports:\n      - {item}\n");
        let r = compose::parse("c.yml", &text, &Context::default());
        prop_assert!(r.problems.is_empty(), "{entry}: {:?}", r.problems);
        prop_assert_eq!(r.uses.len(), 1, "{}", entry);
        let u = &r.uses[0];
        prop_assert_eq!(u.role, Role::Publish);
        prop_assert_eq!(u.publisher, Some(Publisher::Docker));
        prop_assert_eq!(u.service.as_deref(), Some("svc"));
        prop_assert_eq!(u.target, Some(target.0));
        prop_assert_eq!(u.port, published.map_or(target.0, |p| p.0));
        prop_assert_eq!(u.bind.as_deref(), ip.as_ref().map(|i| i.1.as_str()));
        let want = if proto == Some("udp") { Transport::Udp } else { Transport::Tcp };
        prop_assert_eq!(u.transport, want);
        prop_assert_eq!(u.at.line, 4);
    }

    /// Interpolation (here through the `.env` variable table, which expands references to
    /// earlier variables) equals a direct implementation over the template's pieces.
    #[test]
    fn interpolation_matches_a_simple_model(
        vars in proptest::collection::btree_map("[A-C]", "[a-z0-9]{0,3}", 0..3),
        pieces in proptest::collection::vec(
            prop_oneof![
                "[a-z0-9:./-]{1,4}".prop_map(Piece::Lit),
                Just(Piece::Dollar),
                "[A-D]".prop_map(Piece::Plain),
                "[A-D]".prop_map(Piece::Braced),
                ("[A-D]", "[a-z0-9]{0,3}", any::<bool>()).prop_map(|(v, d, c)| Piece::Default(v, d, c)),
            ],
            1..6,
        ),
    ) {
        let mut template = String::new();
        let mut want = Some(String::new());
        for (i, p) in pieces.iter().enumerate() {
            // `$A` followed by a letter or digit would read a longer name: keep them apart.
            let next_is_word = matches!(pieces.get(i + 1), Some(Piece::Lit(l)) if l.starts_with(|c: char| c.is_ascii_alphanumeric()));
            let (written, value) = match p {
                Piece::Lit(l) => (l.clone(), Some(l.clone())),
                Piece::Dollar => ("$$".to_string(), Some("$".to_string())),
                Piece::Plain(v) if !next_is_word => (format!("${v}"), vars.get(v).cloned()),
                Piece::Plain(v) | Piece::Braced(v) => (format!("${{{v}}}"), vars.get(v).cloned()),
                Piece::Default(v, d, colon) => {
                    let set = vars.get(v);
                    let value = match set {
                        Some(x) if !(*colon && x.is_empty()) => x.clone(),
                        _ => d.clone(),
                    };
                    (format!("${{{v}{}-{d}}}", if *colon { ":" } else { "" }), Some(value))
                }
            };
            template.push_str(&written);
            want = want.zip(value).map(|(mut w, v)| { w.push_str(&v); w });
        }
        let mut text = String::new();
        for (k, v) in &vars {
            let _ = writeln!(text, "{k}={v}");
        }
        let _ = writeln!(text, "OUT={template}");
        let got = env::variables(&text);
        // Unresolvable templates are kept as written.
        let want = want.unwrap_or(template.clone());
        prop_assert_eq!(got.get("OUT"), Some(&want), "template {}", template);

        // The same template as a compose host port: the port comes from the model's text.
        let compose_text = format!("services:\n  s:\n    ports: [\"{template}:80\"]\n");
        let r = compose::parse("c.yml", &compose_text, &ctx(&vars));
        let parsed = portolan_discover::text::port_token(&want);
        if let (Some(port), false) = (parsed, want.contains([':', '/'])) {
            prop_assert!(r.problems.is_empty(), "{} → {:?}", template, r.problems);
            prop_assert_eq!(r.uses.len(), 1, "{}", template);
            prop_assert_eq!(r.uses[0].port, port);
        }
    }

    /// No text makes any of the three parsers panic.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let c = Context::default();
        let _ = compose::parse("c.yml", &text, &c);
        let _ = env::parse(".env", &text, &c);
        let _ = env::variables(&text);
        let _ = kubernetes::parse("k.yaml", &text, &c);
    }

    /// YAML-shaped noise (the structure the parsers look for, with random values) never
    /// panics either, and every location is inside the text.
    #[test]
    fn yaml_shaped_noise_never_panics(
        lines in proptest::collection::vec(
            (0usize..4, prop_oneof![
                Just("services:"), Just("ports:"), Just("expose:"), Just("- "),
                Just("kind: Service"), Just("spec:"), Just("containers:"), Just("---"),
                Just("target:"), Just("published:"), Just("containerPort:"), Just("items:"),
                Just("command:"), Just("kind: List"), Just("network_mode: host"), Just("- port:"),
            ], "[ -~]{0,12}"),
            0..20,
        ),
    ) {
        let mut text = String::new();
        for (indent, key, value) in &lines {
            let _ = writeln!(text, "{}{key} {value}", "  ".repeat(*indent));
        }
        let c = Context::default();
        let lines_in_text = u32::try_from(text.lines().count() + 1).unwrap_or(u32::MAX);
        for r in [
            compose::parse("c.yml", &text, &c),
            env::parse(".env", &text, &c),
            kubernetes::parse("k.yaml", &text, &c),
        ] {
            for at in r.uses.iter().map(|u| &u.at).chain(r.problems.iter().map(|p| &p.at)) {
                prop_assert!(at.line >= 1 && at.line <= lines_in_text, "{at} in {text:?}");
                prop_assert!(at.col >= 1);
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Piece {
    Lit(String),
    Dollar,
    Plain(String),
    Braced(String),
    Default(String, String, bool),
}

#[test]
fn fixture_webapp_compose_and_env() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/discover/webapp");
    let env_text = std::fs::read_to_string(root.join(".env")).expect(".env");
    let vars = env::variables(&env_text);
    assert_eq!(vars.get("WEB_PORT").map(String::as_str), Some("8000"));
    let text = std::fs::read_to_string(root.join("docker-compose.yml")).expect("compose");
    let r = compose::parse("docker-compose.yml", &text, &ctx(&vars));
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let web = r
        .uses
        .iter()
        .find(|u| u.service.as_deref() == Some("web") && u.role == Role::Publish)
        .expect("web publish");
    assert_eq!(web.port, PortRange::single(8000));
    assert_eq!(web.bind.as_deref(), Some("127.0.0.1"));
    assert_eq!(web.variable.as_deref(), Some("WEB_PORT"));
    let db = r
        .uses
        .iter()
        .find(|u| u.service.as_deref() == Some("db"))
        .expect("db");
    assert_eq!(db.port, PortRange::single(5432));
    assert_eq!(db.bind, None, "published on every interface");
    assert!(
        r.uses
            .iter()
            .any(|u| u.service.as_deref() == Some("redis") && u.role == Role::Expose)
    );
    assert!(r.uses.iter().any(|u| u.transport == Transport::Udp));

    let e = env::parse(".env", &env_text, &Context::default());
    assert!(!format!("{e:?}").contains("secret@"), "{e:?}");
    assert!(
        e.uses
            .iter()
            .any(|u| u.peer.as_deref() == Some("db") && u.port.lo == 5432)
    );
    assert!(
        e.uses
            .iter()
            .any(|u| u.peer.as_deref() == Some("redis") && u.port.lo == 6379)
    );
    assert!(!e.secrets.is_empty());
}

#[test]
fn fixture_k8s_app() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/discover/k8s-app");
    let text = std::fs::read_to_string(root.join("app.yaml")).expect("app.yaml");
    assert!(kubernetes::looks_like(&text));
    let r = kubernetes::parse("app.yaml", &text, &Context::default());
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert!(
        r.uses
            .iter()
            .any(|u| u.role == Role::Publish && u.publisher == Some(Publisher::K8sNodeport))
    );
    assert!(r.routes.iter().any(|r| r.listen.contains(&443)));
    let text = std::fs::read_to_string(root.join("extra.yaml")).expect("extra.yaml");
    let r = kubernetes::parse("extra.yaml", &text, &Context::default());
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert!(!r.uses.is_empty(), "the good documents are still read");
}
