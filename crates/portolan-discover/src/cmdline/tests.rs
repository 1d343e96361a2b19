//! Unit tests of the command-line scanner.

use super::*;

type Row = (
    u16,
    Option<String>,
    Role,
    String,
    Option<String>,
    Confidence,
);

fn uses(cmd: &str) -> Vec<Row> {
    let ix = LineIndex::new("f", cmd);
    scan(&ix, SourceKind::Shell, cmd, 0)
        .into_iter()
        .map(|u| {
            (
                u.port.lo,
                u.bind,
                u.role,
                format!("{}:{}", u.at.line, u.at.col),
                u.variable,
                u.confidence,
            )
        })
        .collect()
}

fn ports(cmd: &str) -> Vec<u16> {
    uses(cmd).into_iter().map(|u| u.0).collect()
}

#[test]
fn gunicorn_bind_forms() {
    let u = uses("gunicorn app:app --bind 0.0.0.0:8000 -w 4");
    assert_eq!(u.len(), 1);
    assert_eq!(u[0].0, 8000);
    assert_eq!(u[0].1.as_deref(), Some("0.0.0.0"));
    assert_eq!(u[0].3, "1:33");
    assert_eq!(u[0].5, Confidence::High);
    assert_eq!(ports("gunicorn -b :8001 -b [::1]:8002 app"), [8001, 8002]);
    assert_eq!(
        uses("gunicorn -b [::1]:8002 app")[0].1.as_deref(),
        Some("::1")
    );
    assert_eq!(ports("gunicorn --bind=127.0.0.1:9000 app"), [9000]);
    assert!(ports("gunicorn --bind unix:/run/app.sock app").is_empty());
    // No bind flag: gunicorn may read gunicorn.conf.py; nothing guessed.
    assert!(ports("gunicorn app:app").is_empty());
}

#[test]
fn uvicorn_host_and_port_in_any_order() {
    let u = uses("uvicorn main:app --port 8001 --host 127.0.0.1");
    assert_eq!((u[0].0, u[0].1.as_deref()), (8001, Some("127.0.0.1")));
    assert_eq!(ports("python -m uvicorn main:app --port=8002"), [8002]);
    assert_eq!(
        ports("poetry run uvicorn app:app --uds /tmp/x.sock"),
        [] as [u16; 0]
    );
    let d = uses("uvicorn main:app");
    assert_eq!((d[0].0, d[0].5), (8000, Confidence::Low));
    assert_eq!(
        ports("hypercorn -b 0.0.0.0:8443 --quic-bind 0.0.0.0:8443 app"),
        [8443, 8443]
    );
    assert_eq!(
        ports("daphne -b 0.0.0.0 -p 8001 proj.asgi:application"),
        [8001]
    );
}

#[test]
fn django_flask_next_vite_and_friends() {
    let u = uses("python manage.py runserver 0.0.0.0:8082");
    assert_eq!((u[0].0, u[0].1.as_deref()), (8082, Some("0.0.0.0")));
    assert_eq!(u[0].3, "1:36");
    assert_eq!(ports("./manage.py runserver 8001"), [8001]);
    assert_eq!(
        uses("django-admin runserver 0:8000")[0].1.as_deref(),
        Some("0.0.0.0")
    );
    assert_eq!(uses("python manage.py runserver")[0].5, Confidence::Low);
    assert!(ports("python manage.py migrate").is_empty());
    assert_eq!(ports("flask run --host=0.0.0.0 --port 5001"), [5001]);
    assert_eq!(ports("flask --app hello run -p 5002"), [5002]);
    assert_eq!(ports("next dev -p 3000"), [3000]);
    assert_eq!(ports("next start --port 3001"), [3001]);
    assert!(ports("next build").is_empty());
    assert_eq!(ports("vite --port 5174 --host"), [5174]);
    assert_eq!(
        uses("vite --port 5174 --host")[0].1.as_deref(),
        Some("0.0.0.0")
    );
    assert_eq!(ports("npx http-server ./dist -p 8081"), [8081]);
    assert_eq!(
        ports("python3 -m http.server 9001 --bind 127.0.0.1"),
        [9001]
    );
    assert_eq!(ports("python -m http.server -d site 9002"), [9002]);
    assert_eq!(ports("php -S localhost:8088 -t public"), [8088]);
    assert!(ports("php artisan migrate").is_empty());
    assert_eq!(ports("bundle exec rails s -p 3002 -b 0.0.0.0"), [3002]);
    assert_eq!(ports("redis-server --port 6380"), [6380]);
}

#[test]
fn docker_publish() {
    let ix = LineIndex::new("f", "docker run -d -p 127.0.0.1:6379:6379 --name r redis");
    let u = scan(&ix, SourceKind::Shell, ix.line_text(1), 0);
    assert_eq!(u.len(), 1);
    assert_eq!(u[0].role, Role::Publish);
    assert_eq!(u[0].publisher, Some(Publisher::Docker));
    assert_eq!(u[0].bind.as_deref(), Some("127.0.0.1"));
    assert_eq!(u[0].target, Some(PortRange::single(6379)));
    assert_eq!(u[0].at.col, 28);
    assert_eq!(
        ports("docker run -p 8080:80 -p 5353:53/udp nginx"),
        [8080, 5353]
    );
    let ix = LineIndex::new("f", "podman run -p [::1]:8443:443/udp img");
    let u = scan(&ix, SourceKind::Shell, ix.line_text(1), 0);
    assert_eq!(u[0].transport, Transport::Udp);
    assert_eq!(u[0].bind.as_deref(), Some("::1"));
    assert_eq!(u[0].publisher, Some(Publisher::Podman));
    assert!(ports("docker run -p 80 nginx").is_empty());
    assert_eq!(ports("docker run -p 8000-8010:8000-8010 img"), [8000]);
    // The container's command is scanned too.
    assert_eq!(
        ports("docker run -e X=1 -p 9000:8000 img gunicorn -b 0.0.0.0:8000"),
        [9000, 8000]
    );
    assert!(ports("docker build -t x .").is_empty());
}

#[test]
fn socat_and_netcat() {
    assert_eq!(
        ports("socat TCP-LISTEN:8080,fork,reuseaddr TCP:db:5432"),
        [8080]
    );
    assert_eq!(
        uses("socat tcp-listen:8081,bind=127.0.0.1 -")[0]
            .1
            .as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(ports("nc -l 1234"), [1234]);
    assert_eq!(ports("nc -lvnp 4444"), [4444]);
    assert_eq!(ports("nc -l -p 4445"), [4445]);
    assert!(ports("nc db 5432").is_empty());
}

#[test]
fn variables_and_defaults() {
    let u = uses("gunicorn -b 0.0.0.0:${PORT:-8000} app");
    assert_eq!(u[0].0, 8000);
    assert_eq!(u[0].4.as_deref(), Some("PORT"));
    assert_eq!(u[0].5, Confidence::Medium);
    assert_eq!(u[0].3, "1:29");
    // No default and no known value: no port.
    assert!(ports("gunicorn -b 0.0.0.0:$PORT app").is_empty());
    let mut vars = BTreeMap::new();
    vars.insert("PORT".to_string(), "5000".to_string());
    let cmd = "web: gunicorn -b \"0.0.0.0:$PORT\" app";
    let ix = LineIndex::new("f", cmd);
    let u = scan_with(&ix, SourceKind::Procfile, cmd, 0, &vars, Confidence::Low);
    assert_eq!(u[0].port.lo, 5000);
    assert_eq!(u[0].confidence, Confidence::Low);
    assert_eq!(u[0].variable.as_deref(), Some("PORT"));
    assert_eq!(u[0].at.col, 27);
}

#[test]
fn quoting_continuations_and_separators() {
    assert_eq!(
        ports("cd app && 'gunicorn' \"--bind\" '0.0.0.0:8000' x"),
        [8000]
    );
    let u = uses("gunicorn app \\\n  --bind 0.0.0.0:8000");
    assert_eq!(u[0].3, "2:18");
    assert_eq!(ports("uvicorn a:b --port 1; flask run -p 2 | cat"), [1, 2]);
    assert!(ports("# gunicorn -b :8000\necho hi").is_empty());
    assert_eq!(ports("sh -c \"flask run -p 5005\""), [5005]);
    assert_eq!(uses("sh -c \"flask run -p 5005\"")[0].3, "1:21");
    assert!(ports("echo gunicorn").is_empty());
    assert_eq!(ports("npx serve -l 3005"), [3005]);
    assert!(ports("mkdocs build").is_empty());
    assert_eq!(ports("mkdocs serve -a 127.0.0.1:8001"), [8001]);
}

#[test]
fn exec_form() {
    let text = r#"CMD ["gunicorn", "-b", "0.0.0.0:8000", "app:app"]"#;
    let ix = LineIndex::new("f", text);
    let u = scan_exec(
        &ix,
        SourceKind::Dockerfile,
        &text[4..],
        4,
        &BTreeMap::new(),
        Confidence::Medium,
    )
    .expect("exec form");
    assert_eq!(u[0].port.lo, 8000);
    assert_eq!(u[0].at.col, 33);
    assert!(
        scan_exec(
            &ix,
            SourceKind::Dockerfile,
            "gunicorn -b :1",
            0,
            &BTreeMap::new(),
            Confidence::Medium
        )
        .is_none()
    );
    let text = r#"["sh", "-c", "uvicorn a:b --port \"9000\""]"#;
    let ix = LineIndex::new("f", text);
    let u = scan_exec(
        &ix,
        SourceKind::Dockerfile,
        text,
        0,
        &BTreeMap::new(),
        Confidence::Medium,
    )
    .expect("exec form");
    assert_eq!(u[0].port.lo, 9000);
    assert_eq!(u[0].at.col, 36);
}

#[test]
fn host_port_forms() {
    assert_eq!(host_port("8000"), Some((None, 0..4)));
    assert_eq!(host_port(":8000"), Some((None, 1..5)));
    assert_eq!(host_port("[::]:443"), Some((Some("[::]"), 5..8)));
    assert_eq!(
        host_port("tcp://0.0.0.0:1"),
        Some((Some("0.0.0.0"), 14..15))
    );
    assert_eq!(host_port("unix:/x"), None);
    assert_eq!(host_port("::1"), None);
}
