//! Issue 12's reproducers for discovery: nesting that overflowed the stack, expansion that
//! exhausted memory, reads that blocked or left the scanned tree, secrets that reached
//! warnings and routes, and inputs that took super-linear time (their counts here; their
//! timing in `bench/adversarial-discover.sh`). Each is a located problem now, never a crash.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use portolan_discover::walk::{self, WalkOptions};
use portolan_discover::{Context, compose, dockerfile, kubernetes, nginx};

fn discover(root: &Path) -> walk::Discovery {
    walk::discover(&[root.to_path_buf()], &WalkOptions::default())
}

/// Runs `f` on its own thread and fails if it has not finished within `secs` (a blocked
/// open would otherwise hang the suite instead of failing it).
fn finishes<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .expect("still running: blocked")
}

/// Regression: `http {` nested 3,036 levels (21 KB) overflowed the stack.
#[test]
fn deeply_nested_nginx_blocks_are_a_located_problem() {
    let n = 3036;
    let text = format!("{}listen 80;{}", "http {\n".repeat(n), "}\n".repeat(n));
    let r = nginx::parse("nginx.conf", &text, &Context::default());
    let p = r
        .problems
        .iter()
        .find(|p| p.reason.contains("nested deeper than"))
        .expect("depth problem");
    // 64 levels are read; the 65th `{` is where it stops
    assert_eq!((p.at.line, p.at.col), (65, 6), "{p:?}");
}

/// Regression: `${A:-${A:-…}}` 5,941 levels (36 KB) in a compose port overflowed the stack.
#[test]
fn deeply_nested_compose_defaults_are_a_located_problem() {
    let n = 5941;
    let port = format!("{}8080{}", "${A:-".repeat(n), "}".repeat(n));
    let text = format!("services:\n  web:\n    ports:\n      - \"{port}:80\"\n");
    let r = compose::parse("docker-compose.yml", &text, &Context::default());
    assert!(r.uses.is_empty());
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert_eq!(r.problems[0].at.line, 4);
    assert!(
        r.problems[0].reason.contains("nest deeper"),
        "{:?}",
        r.problems
    );
}

/// Regression: a compose file of mappings nested ~1,900 levels (1.8 MB) overflowed the stack;
/// so did flow collections.
#[test]
fn deeply_nested_yaml_is_a_located_problem() {
    let mut block = String::from("services:\n");
    for i in 1..1900 {
        block.push_str(&" ".repeat(i));
        block.push_str("a:\n");
    }
    let flow = format!("services: {}{}\n", "{a: ".repeat(5000), "}".repeat(5000));
    let seq = format!("services:\n  x:\n    {}a\n", "- ".repeat(5000));
    for text in [block, flow, seq] {
        let r = finishes(20, move || {
            compose::parse("docker-compose.yml", &text, &Context::default())
        });
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
        assert!(
            r.problems[0].reason.contains("nested deeper than 100"),
            "{:?}",
            r.problems
        );
        assert!(r.problems[0].at.line >= 1);
    }
}

/// Regression: 648 bytes of `.env` beside any compose file expanded eagerly to 4.6 GB.
#[test]
fn exponential_env_is_expanded_lazily_and_capped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = String::from("V0=xxxxxxxxxxxxxxxx\n");
    for i in 1..40 {
        let _ = writeln!(env, "V{i}=${{V{}}}${{V{}}}", i - 1, i - 1);
    }
    assert!(env.len() < 700);
    std::fs::write(dir.path().join(".env"), &env).expect("env");
    // one compose file refers to nothing, one to the deepest variable
    std::fs::write(
        dir.path().join("docker-compose.yml"),
        "services:\n  a:\n    ports: [\"8080:80\"]\n  b:\n    ports: [\"${V39}:81\"]\n",
    )
    .expect("compose");
    let root = dir.path().to_path_buf();
    let found = finishes(10, move || discover(&root));
    let ports: Vec<u16> = found.report.uses.iter().map(|u| u.port.lo).collect();
    assert!(ports.contains(&8080), "{ports:?}");
    assert!(
        found.report.problems.iter().any(|p| p.at.line == 5
            && (p.reason.contains("more than 65536 bytes") || p.reason.contains("deeper"))),
        "{:?}",
        found.report.problems
    );
}

/// Regression: a `.env` that is a FIFO blocked `discover` forever.
#[test]
fn a_fifo_env_is_refused_without_blocking() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join(".env");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo (coreutils) runs");
    assert!(status.success(), "mkfifo");
    std::fs::write(
        dir.path().join("docker-compose.yml"),
        "services:\n  a:\n    ports: [\"8080:80\"]\n",
    )
    .expect("compose");
    let root = dir.path().to_path_buf();
    let found = finishes(10, move || discover(&root));
    assert_eq!(found.report.uses.len(), 1);
    assert!(
        found
            .report
            .problems
            .iter()
            .any(|p| p.at.path.rsplit('/').next() == Some(".env")
                && p.reason.contains("not a regular file")),
        "{:?}",
        found.report.problems
    );
    // given as a root itself, the FIFO is refused too
    let fifo2 = fifo.clone();
    let r = finishes(10, move || walk::read_regular(&fifo2, 1024));
    assert!(r.is_err());
}

/// Regression: `.env -> /dev/zero` read 4.2 GB and exited 0 silently; a `.env` symlinked to
/// a file outside the repository printed it.
#[test]
fn env_symlinks_leaving_the_tree_are_reported_not_followed() {
    let outside = tempfile::tempdir().expect("tempdir");
    let secret = outside.path().join("credentials");
    std::fs::write(&secret, "AWS_SECRET=Sup3rSecretKey\nWEB_PORT=9999\n").expect("secret");
    for target in [secret.as_path(), Path::new("/dev/zero")] {
        let dir = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink(target, dir.path().join(".env")).expect("symlink");
        std::fs::write(
            dir.path().join("docker-compose.yml"),
            "services:\n  a:\n    ports: [\"${WEB_PORT:-8080}:80\"]\n",
        )
        .expect("compose");
        let root = dir.path().to_path_buf();
        let found = finishes(10, move || discover(&root));
        assert_eq!(
            found.report.uses[0].port.lo, 8080,
            "the default, not the outside value"
        );
        assert!(
            found
                .report
                .problems
                .iter()
                .any(|p| p.reason.contains("outside the scanned tree")),
            "{:?}",
            found.report.problems
        );
        let json = serde_json::to_string(&found).expect("json");
        assert!(!json.contains("Sup3rSecretKey") && !json.contains("9999"));
    }
    assert!(walk::read_regular(Path::new("/dev/zero"), 1 << 20).is_err());
}

/// Regression: `.env` values interpolated into `ports` were echoed in warnings
/// ("`PwA1Secret` is not a host port").
#[test]
fn interpolated_values_never_reach_warnings() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join(".env"),
        "DB_PASSWORD=PwA1Secret\nPORTISH=PwA1Secret\n",
    )
    .expect("env");
    std::fs::write(
        dir.path().join("docker-compose.yml"),
        "services:\n  db:\n    ports:\n      - \"${DB_PASSWORD}:5432\"\n      - target: 5432\n        published: ${PORTISH}\n    expose: [\"${PORTISH}\"]\n",
    )
    .expect("compose");
    let found = discover(dir.path());
    assert_eq!(
        found.report.problems.len(),
        3,
        "{:?}",
        found.report.problems
    );
    let json = serde_json::to_string(&found).expect("json");
    assert!(!json.contains("PwA1Secret"), "{json}");
}

/// Regression: `proxy_pass http://user:PW@…` was shown as a route.
#[test]
fn proxy_pass_credentials_are_not_kept() {
    let text = "server {\n  listen 80;\n  location / { proxy_pass http://admin:Pr0xyPw@backend:8080/; }\n}\n";
    let r = nginx::parse("site.conf", text, &Context::default());
    assert_eq!(r.routes[0].upstream, "backend");
    assert_eq!(r.routes[0].port, Some(8080));
    assert_eq!(r.secrets.len(), 1);
    let json = serde_json::to_string(&r).expect("json");
    assert!(!json.contains("Pr0xyPw"), "{json}");
}

/// One `EXPOSE` with 40,000 ports and a Service with 100,000 ports are read in full (their
/// time is measured by `bench/adversarial-discover.sh`).
#[test]
fn huge_port_lists_are_read_in_full() {
    let ports: Vec<String> = (20000..60000).map(|p| p.to_string()).collect();
    let text = format!("FROM scratch\nEXPOSE {}\n", ports.join(" "));
    let r = dockerfile::parse("Dockerfile", &text, &Context::default());
    assert_eq!(r.uses.len(), 40000);
    assert!(
        r.uses.iter().all(|u| u.snippet.len() <= 240),
        "snippets stay short"
    );
    let mut svc =
        String::from("apiVersion: v1\nkind: Service\nmetadata: {name: big}\nspec:\n  ports:\n");
    for i in 0..100_000u32 {
        let _ = writeln!(svc, "    - port: {}", 1 + i % 65535);
    }
    let r = kubernetes::parse("svc.yaml", &svc, &Context::default());
    assert_eq!(r.uses.len(), 100_000);
}
