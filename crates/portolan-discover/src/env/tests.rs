use super::*;

fn run(text: &str) -> FileReport {
    parse(".env", text, &Context::default())
}

#[test]
fn dotenv_syntax() {
    let text = "# comment\r\nexport A=1\r\nB = two words # inline\r\nC='single # kept $A'\r\nD=\"dq \\\"x\\\" ${A}\"\r\nE=${A}-${B}\r\nF=a#b\r\nG=\"multi\nline\"\r\nnot a line\r\nA=3\r\nH=\r\n";
    let v = variables(text);
    assert_eq!(v.get("A").map(String::as_str), Some("3"));
    assert_eq!(v.get("B").map(String::as_str), Some("two words"));
    assert_eq!(v.get("C").map(String::as_str), Some("single # kept $A"));
    assert_eq!(v.get("D").map(String::as_str), Some("dq \"x\" 1"));
    assert_eq!(v.get("E").map(String::as_str), Some("1-two words"));
    assert_eq!(v.get("F").map(String::as_str), Some("a#b"));
    assert_eq!(v.get("G").map(String::as_str), Some("multi\nline"));
    assert_eq!(v.get("H").map(String::as_str), Some(""));
    assert_eq!(v.len(), 8, "{v:?}");
}

#[test]
fn port_variables() {
    let r = run(
        "WEB_PORT=8000\nPORT=\"3000\"\nREDIS_PORT_EXTERNAL=6380\nSUPPORT=1\nDB_PORT=${X}\nAPI_PORT=abc\nRANGE_PORT=7000-7010\n",
    );
    let u = &r.uses;
    assert_eq!(u.len(), 4, "{u:?}");
    assert_eq!(u[0].port, PortRange::single(8000));
    assert_eq!(u[0].role, Role::Listen);
    assert_eq!(u[0].confidence, Confidence::Medium);
    assert_eq!(u[0].service.as_deref(), Some("web"));
    assert_eq!(u[0].variable.as_deref(), Some("WEB_PORT"));
    assert_eq!(u[0].at.to_string(), ".env:1:10");
    assert_eq!(u[1].service, None);
    assert_eq!(u[1].at.to_string(), ".env:2:7");
    assert_eq!(u[2].service.as_deref(), Some("redis"));
    assert_eq!(u[2].port, PortRange::single(6380));
    assert_eq!(u[3].port, PortRange::new(7000, 7010).expect("range"));
    assert_eq!(u[3].service.as_deref(), Some("range"));
}

#[test]
fn host_and_port_pairs() {
    let r = run("DB_HOST=db.internal\nDB_PORT=5432\nHOST=0.0.0.0\nPORT=8000\n");
    let u = &r.uses;
    assert_eq!(u.len(), 2);
    assert_eq!(u[0].role, Role::Connect);
    assert_eq!(u[0].peer.as_deref(), Some("db.internal"));
    assert_eq!(u[0].service.as_deref(), Some("db"));
    assert_eq!(u[1].role, Role::Listen);
    assert_eq!(u[1].bind.as_deref(), Some("0.0.0.0"));
}

#[test]
fn urls_with_and_without_ports() {
    let text = "DATABASE_URL=postgresql://app:s3cr3t@db:5432/app\nREDIS_URL=redis://:pw0rd@redis:6379/0\nAPI=http://localhost:8080/x\nMQ=amqp://guest:guest@rabbit/vhost\nMONGO=mongodb://a:27018,b/db\nDB=postgresql+psycopg2://u@pg/x\nWEB=https://[::1]/x\nODD=foo://h/x\nREF=postgresql://u:${PW}@db:${PORT}/x\n";
    let r = run(text);
    let got: Vec<_> = r
        .uses
        .iter()
        .map(|u| {
            (
                u.variable.clone().unwrap_or_default(),
                u.peer.clone().unwrap_or_default(),
                u.port.lo,
                u.confidence,
            )
        })
        .collect();
    let want = [
        ("DATABASE_URL", "db", 5432, Confidence::High),
        ("REDIS_URL", "redis", 6379, Confidence::High),
        ("API", "localhost", 8080, Confidence::High),
        ("MQ", "rabbit", 5672, Confidence::Medium),
        ("MONGO", "a", 27018, Confidence::High),
        ("MONGO", "b", 27017, Confidence::Medium),
        ("DB", "pg", 5432, Confidence::Medium),
        ("WEB", "::1", 443, Confidence::Medium),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), *c, *d))
        .collect();
    assert_eq!(got, want);
    assert!(r.uses.iter().all(|u| u.role == Role::Connect));
    assert_eq!(r.uses[0].at.to_string(), ".env:1:41");
    assert_eq!(r.uses[3].at.to_string(), ".env:4:23");
}

#[test]
fn secrets_are_redacted_and_located() {
    let text = "DATABASE_URL=\"postgresql://app:hunter2@db:5432/app\"\nPOSTGRES_PASSWORD=topsecret9\nREDIS_URL=redis://:s3cretpw@redis:6379/0\n";
    let r = run(text);
    let dump = format!("{r:?}");
    for secret in ["hunter2", "topsecret9", "s3cretpw"] {
        assert!(!dump.contains(secret), "{secret} leaked: {dump}");
    }
    assert_eq!(r.uses.len(), 2);
    assert!(r.uses[0].snippet.contains("***"), "{}", r.uses[0].snippet);
    let lines: Vec<_> = r.secrets.iter().map(|l| l.line).collect();
    assert_eq!(lines, vec![1, 2, 3]);
}

#[test]
fn non_ascii_before_a_scheme() {
    // Found by fuzzing: a multi-byte char right before `scheme://` used to split a char.
    let r = run("A=\u{e9}amqp://h:1 \u{749d}o://b\n");
    assert_eq!(r.uses.len(), 1, "{:?}", r.uses);
    assert_eq!(r.uses[0].port.lo, 1);
    assert_eq!(r.uses[0].peer.as_deref(), Some("h"));
}

#[test]
fn garbage_is_ignored() {
    let r = run("=\n==\n'\nA=\"unterminated\nB=://\nC=x://:@:\n\u{feff}\n");
    assert!(r.uses.is_empty(), "{:?}", r.uses);
}
