use super::*;

fn ctx(vars: &[(&str, &str)]) -> Context {
    Context {
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn run(text: &str) -> FileReport {
    parse("docker-compose.yml", text, &ctx(&[("WEB_PORT", "8081")]))
}

fn range(lo: u16, hi: u16) -> PortRange {
    PortRange::new(lo, hi).expect("range")
}

#[test]
fn short_syntax_forms() {
    let text = r#"services:
  web:
    ports:
      - "8069"
      - "18069:8069"
      - "127.0.0.1:5432:5432"
      - "8000-8010:8000-8010"
      - "53:53/udp"
      - "[::1]:8080:80"
      - "::1:8081:81"
      - 22:22
      - 9000
      - '127.0.0.1::7000/tcp'
"#;
    let r = run(text);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let u = &r.uses;
    assert_eq!(u.len(), 10);
    assert!(u.iter().all(|u| u.role == Role::Publish
        && u.publisher == Some(Publisher::Docker)
        && u.service.as_deref() == Some("web")
        && u.source == SourceKind::Compose));
    // "8069": ephemeral host port, medium confidence, points at the token inside the quotes.
    assert_eq!(u[0].port, PortRange::single(8069));
    assert_eq!(u[0].target, Some(PortRange::single(8069)));
    assert_eq!(u[0].confidence, Confidence::Medium);
    assert!(u[0].snippet.contains("ephemeral"), "{}", u[0].snippet);
    assert_eq!(u[0].at.to_string(), "docker-compose.yml:4:10");
    // "18069:8069"
    assert_eq!(u[1].port, PortRange::single(18069));
    assert_eq!(u[1].target, Some(PortRange::single(8069)));
    assert_eq!(u[1].confidence, Confidence::High);
    assert_eq!(u[1].bind, None);
    assert_eq!(u[1].at.to_string(), "docker-compose.yml:5:10");
    // host IP, and the location is the host port token
    assert_eq!(u[2].bind.as_deref(), Some("127.0.0.1"));
    assert_eq!(u[2].at.to_string(), "docker-compose.yml:6:20");
    assert_eq!(u[2].snippet, r#"- "127.0.0.1:5432:5432""#);
    assert_eq!(u[3].port, range(8000, 8010));
    assert_eq!(u[3].target, Some(range(8000, 8010)));
    assert_eq!(u[4].transport, Transport::Udp);
    assert_eq!(u[4].port, PortRange::single(53));
    assert_eq!(u[5].bind.as_deref(), Some("::1"));
    assert_eq!(u[5].port, PortRange::single(8080));
    assert_eq!(u[5].target, Some(PortRange::single(80)));
    assert_eq!(u[6].bind.as_deref(), Some("::1"));
    assert_eq!(u[6].port, PortRange::single(8081));
    // unquoted 22:22 is the string "22:22", not base-60 1342
    assert_eq!(u[7].port, PortRange::single(22));
    assert_eq!(u[7].target, Some(PortRange::single(22)));
    assert_eq!(u[7].at.to_string(), "docker-compose.yml:11:9");
    assert_eq!(u[8].port, PortRange::single(9000));
    assert_eq!(u[8].confidence, Confidence::Medium);
    assert_eq!(u[9].bind.as_deref(), Some("127.0.0.1"));
    assert_eq!(u[9].port, PortRange::single(7000));
    assert_eq!(u[9].confidence, Confidence::Medium);
}

#[test]
fn long_syntax() {
    let text = r#"services:
  dns:
    ports:
      - target: 53
        published: "5353"
        host_ip: 127.0.0.1
        protocol: udp
        mode: host
      - target: 80
        published: 8000-8001
      - target: 443
      - target: "${WEB_PORT}"
        published: ${WEB_PORT}
        host_ip: "[::1]"
"#;
    let r = run(text);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let u = &r.uses;
    assert_eq!(u.len(), 4);
    assert_eq!(u[0].port, PortRange::single(5353));
    assert_eq!(u[0].target, Some(PortRange::single(53)));
    assert_eq!(u[0].bind.as_deref(), Some("127.0.0.1"));
    assert_eq!(u[0].transport, Transport::Udp);
    assert_eq!(u[0].at.to_string(), "docker-compose.yml:5:21");
    assert!(u[0].snippet.contains("mode: host"), "{}", u[0].snippet);
    assert_eq!(u[1].port, range(8000, 8001));
    assert_eq!(u[1].target, Some(PortRange::single(80)));
    assert_eq!(u[2].port, PortRange::single(443));
    assert_eq!(u[2].confidence, Confidence::Medium);
    assert_eq!(u[3].port, PortRange::single(8081));
    assert_eq!(u[3].variable.as_deref(), Some("WEB_PORT"));
    assert_eq!(u[3].bind.as_deref(), Some("::1"));
}

#[test]
fn bad_long_syntax_is_a_problem() {
    let text = "services:\n  a:\n    ports:\n      - published: 80\n      - target: x\n      - target: 1\n        protocol: sctp\n";
    let r = run(text);
    assert!(r.uses.is_empty(), "{:?}", r.uses);
    assert_eq!(r.problems.len(), 3, "{:?}", r.problems);
    assert_eq!(r.problems[1].at.to_string(), "docker-compose.yml:5:17");
}

#[test]
fn expose_and_host_network() {
    let text = r#"services:
  redis:
    expose:
      - "6379"
      - 7000-7001/udp
  metrics:
    network_mode: host
    ports:
      - "9100:9100"
    expose: [9200]
"#;
    let r = run(text);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let u = &r.uses;
    assert_eq!(u.len(), 4);
    assert_eq!(u[0].role, Role::Expose);
    assert_eq!(u[0].port, PortRange::single(6379));
    assert_eq!(u[0].publisher, None);
    assert_eq!(u[1].port, range(7000, 7001));
    assert_eq!(u[1].transport, Transport::Udp);
    assert_eq!(u[2].role, Role::Listen);
    assert_eq!(u[2].publisher, None);
    assert_eq!(u[2].port, PortRange::single(9100));
    assert_eq!(u[2].confidence, Confidence::Medium);
    assert!(
        u[2].snippet.contains("network_mode: host"),
        "{}",
        u[2].snippet
    );
    assert_eq!(u[2].at.to_string(), "docker-compose.yml:9:15");
    assert_eq!(u[3].role, Role::Listen);
    assert_eq!(u[3].service.as_deref(), Some("metrics"));
}

#[test]
fn interpolation() {
    let text = r#"services:
  web:
    ports:
      - "${WEB_PORT}:8000"
      - "${OTHER_PORT:-9000}:9000"
      - "127.0.0.1:$WEB_PORT:80"
      - "${MISSING}:80"
      - "${NEEDED:?set NEEDED in .env}:80"
      - "$$HOME:80"
"#;
    let r = run(text);
    let u = &r.uses;
    assert_eq!(u.len(), 3, "{u:?}");
    assert_eq!(u[0].port, PortRange::single(8081));
    assert_eq!(u[0].variable.as_deref(), Some("WEB_PORT"));
    assert_eq!(u[0].at.to_string(), "docker-compose.yml:4:10");
    assert_eq!(u[1].port, PortRange::single(9000));
    assert_eq!(u[1].variable.as_deref(), Some("OTHER_PORT"));
    assert_eq!(u[2].port, PortRange::single(8081));
    assert_eq!(u[2].bind.as_deref(), Some("127.0.0.1"));
    assert_eq!(u[2].variable.as_deref(), Some("WEB_PORT"));
    let reasons: Vec<_> = r.problems.iter().map(|p| p.reason.as_str()).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert_eq!(
        reasons[0],
        "`${MISSING}` is not set in .env beside the file"
    );
    assert_eq!(r.problems[0].at.to_string(), "docker-compose.yml:7:10");
    assert!(reasons[1].contains("set NEEDED in .env"), "{reasons:?}");
    // `$$HOME` is the literal text `$HOME`: not a port
    assert!(reasons[2].contains("$HOME"), "{reasons:?}");
}

#[test]
fn not_compose_and_malformed() {
    assert_eq!(run("name: x\nversion: '3'\n"), FileReport::default());
    assert_eq!(run(""), FileReport::default());
    assert_eq!(run("services: [a, b]\n"), FileReport::default());
    let r = run("services:\n  web:\n    ports: [\"80:80\"\n  db: {\n");
    assert!(r.uses.is_empty());
    assert_eq!(r.problems.len(), 1);
    assert!(
        r.problems[0].reason.starts_with("malformed YAML"),
        "{:?}",
        r.problems
    );
    assert!(r.problems[0].at.line >= 3, "{:?}", r.problems);
}

#[test]
fn tags_and_merge_keys() {
    let text = r"x-base: &base
  expose: ['5000']
services:
  a:
    <<: *base
    ports: !override
      - 8080:80
";
    let r = run(text);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let ports: Vec<_> = r.uses.iter().map(|u| (u.role, u.port.lo)).collect();
    assert_eq!(ports, vec![(Role::Publish, 8080), (Role::Expose, 5000)]);
}

#[test]
fn secrets_never_reach_the_report() {
    let text = "services:\n  db:\n    ports: [\"5432:5432\"] # postgresql://u:hunter2@db:5432/x\n";
    let r = run(text);
    assert_eq!(r.uses.len(), 1);
    assert!(!format!("{r:?}").contains("hunter2"));
    assert_eq!(r.secrets.len(), 1);
}
