//! Wording a reader trips over, pinned: plurals that agree with their numbers, articles
//! that agree with their nouns, no doubled words, errors that say what is wrong, and help
//! that fits the app it is given for.

use crate::harness::Case;

const SPEC: &str = r#"
[hosts.db1]
networks = ["public"]

[services.pg]
hosts = ["db1"]
bindings.sql = { port = 5432, app = "postgres", exposure = "public", auth = true }

[services.cache]
hosts = ["db1"]
bindings.redis = { port = 6379, publisher = "docker", target = 6379, exposure = "public", auth = true }

[services.site]
hosts = ["db1"]
bindings.http = { port = 8080, app = "http", exposure = "public" }

[services.mqtt]
hosts = ["db1"]
bindings.broker = { port = 18830, app = "custom-telemetry", exposure = "public", auth = true }

[services.flower]
hosts = ["db1"]
bindings.http = { port = 5555, bind = "127.0.0.1", exposure = "localhost" }
"#;

fn help_of(findings: &serde_json::Value, subject: &str) -> String {
    findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "public-without-tls" && f["subjects"][0] == subject)
        .unwrap_or_else(|| panic!("no public-without-tls for {subject}"))["help"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Bug: the help told a Postgres or a Redis to use a TLS proxy route.
#[test]
fn public_without_tls_help_fits_the_app() {
    let v = Case::new()
        .file("ports.toml", SPEC)
        .args(["lint", "--json"])
        .run()
        .json();
    let pg = help_of(&v, "pg.sql");
    assert!(pg.contains("does not belong on the Internet"), "{pg}");
    assert!(pg.contains("bind = \"127.0.0.1\""), "{pg}");
    assert!(!pg.contains("proxy route"), "{pg}");
    let redis = help_of(&v, "cache.redis");
    assert!(
        redis.contains("\"127.0.0.1:6379:6379\""),
        "docker publishes: {redis}"
    );
    assert!(!redis.contains("proxy route"), "{redis}");
    let http = help_of(&v, "site.http");
    assert!(
        http.contains("tls = \"native\"") && http.contains("TLS proxy route"),
        "{http}"
    );
    let other = help_of(&v, "mqtt.broker");
    assert!(other.contains("enable TLS in the server"), "{other}");
}

/// Bugs: "reachable from localhost only only"; "1 warnings" in the reference.
#[test]
fn the_reference_says_it_once_and_counts_right() {
    let out = Case::new()
        .file("ports.toml", SPEC)
        .args(["gen", "markdown"])
        .run()
        .success();
    assert!(!out.stdout.contains("only only"), "{}", out.stdout);
    assert!(
        out.stdout.contains("reachable from localhost only (verify"),
        "{}",
        out.stdout
    );
    for bad in ["1 errors", "1 warnings", " 1 rules"] {
        assert!(!out.stdout.contains(bad), "{bad}:\n{}", out.stdout);
    }
}

/// Bug: "`0s` is not a duration".
#[test]
fn a_zero_duration_is_out_of_range_not_malformed() {
    let spec = "[projects.dev]\nrange = \"20000-20099\"\n";
    Case::new()
        .file("ports.toml", spec)
        .args(["alloc", "dev", "--name", "ci", "--lease", "0s"])
        .run()
        .code(2)
        .stderr_has("`0s` is out of range: a duration is at least 1s");
    Case::new()
        .file("ports.toml", spec)
        .args(["alloc", "dev", "--name", "ci", "--lease", "2x"])
        .run()
        .code(2)
        .stderr_has("`2x` is not a duration");
}

/// Bugs: "1 hosts" after push; "a `admin` token" from the API.
#[cfg(feature = "registry")]
#[test]
fn registry_messages_agree_in_number_and_article() {
    use crate::registry::{serve, token};
    let c = Case::new().file(
        "ports.toml",
        "[hosts.only]\n[services.one]\nhosts = [\"only\"]\nbindings.http = { port = 20001, bind = \"127.0.0.1\", exposure = \"localhost\" }\n",
    );
    let db = format!("sqlite://{}", c.path().join("reg.db").display());
    let admin = token(c.path(), &db, "admin");
    let read = token(c.path(), &db, "read");
    let server = serve(c.path(), &db);
    let push = |t: &str| {
        c.command()
            .args(["push", "--server", &server.url])
            .env("PORTOLAN_TOKEN", t)
            .output()
            .expect("push")
    };
    let denied = push(&read);
    let err = String::from_utf8_lossy(&denied.stderr);
    assert!(err.contains("needs an `admin` token"), "{err}");
    let ok = push(&admin);
    let said = String::from_utf8_lossy(&ok.stdout);
    assert!(
        said.contains(": 0 projects, 1 host, 1 service, 1 binding, 0 reservations; "),
        "{said}"
    );
}
