//! Python: `os.getenv("PORT", 5001)` / `os.environ.get("PORT", "8000")` (variable + default,
//! medium), `app.run(host=…, port=5001)` / `uvicorn.run(app, port=…)` / `web.run_app(…)`
//! (high), `runserver 0.0.0.0:8082` in strings and argument lists, gunicorn config
//! `bind = "0.0.0.0:8000"` / `bind = ["…", "…"]`, `sock.bind(("0.0.0.0", 9000))`.

use std::sync::LazyLock;

use portolan_model::spec::Transport;
use regex::Regex;

use super::{Found, balanced};
use crate::cmdline::{host_port, normalize_host};
use crate::evidence::{Confidence, FileReport, Role, SourceKind};
use crate::text::{LineIndex, port_number};

static PREFILTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"PORT|port\s*=|bind|runserver|listen\s*=").expect("static regex"));

static GETENV: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?:getenv|environ\.get|environ\.setdefault|env\.int|env)\(\s*["']([A-Za-z0-9_]*PORT[A-Za-z0-9_]*)["']\s*,\s*(?:default\s*=\s*)?["']?(\d{1,5})\b"#,
    )
    .expect("static regex")
});

static RUN_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:run|run_app|run_server|serve|make_server)\s*\(").expect("static regex")
});

static KW_PORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bport\s*=\s*(\d{1,5})\b").expect("static regex"));

static KW_HOST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\bhost\s*=\s*["']([^"']*)["']"#).expect("static regex"));

static KW_LISTEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\blisten\s*=\s*["']([^"']*)["']"#).expect("static regex"));

static RUNSERVER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"runserver(?:_plus)?["']?(?:\s*,\s*|\s+)["']?((?:[0-9A-Za-z.\-]+|\[[0-9a-fA-F:]+\]):)?(\d{1,5})\b"#,
    )
    .expect("static regex")
});

static GUNICORN_BIND: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^bind\s*=\s*(.+)$").expect("static regex"));

static STRING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"["']([^"']*)["']"#).expect("static regex"));

static SOCKET_BIND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\.bind\(\s*\(\s*["']([^"']*)["']\s*,\s*(\d{1,5})\s*\)"#).expect("static regex")
});

/// Reads one Python file.
pub(super) fn parse(path: &str, text: &str) -> FileReport {
    if !PREFILTER.is_match(text) {
        return FileReport::default();
    }
    let ix = LineIndex::new(path, text);
    let mut f = Found::new(&ix, SourceKind::Python);
    // Hosts of run(...) calls, to attach to env defaults inside them.
    let mut calls: Vec<(std::ops::Range<usize>, Option<String>)> = Vec::new();
    for m in RUN_CALL.find_iter(text) {
        let Some((start, args)) = balanced(text, m.end() - 1, 2000) else {
            continue;
        };
        let host = KW_HOST
            .captures(args)
            .and_then(|c| c.get(1))
            .map(|h| normalize_host(h.as_str()).to_string())
            .filter(|h| !h.is_empty());
        for c in KW_PORT.captures_iter(args) {
            let Some(p) = c.get(1) else { continue };
            if let Some(port) = port_number(p.as_str()) {
                f.add(start + p.start(), Role::Listen, port, Confidence::High)
                    .bind
                    .clone_from(&host);
            }
        }
        for c in KW_LISTEN.captures_iter(args) {
            let Some(v) = c.get(1) else { continue };
            for part in v.as_str().split_whitespace() {
                let off = part.as_ptr() as usize - v.as_str().as_ptr() as usize;
                if let Some((h, r)) = host_port(part)
                    && let Some(port) = port_number(&part[r.clone()])
                {
                    f.add(
                        start + v.start() + off + r.start,
                        Role::Listen,
                        port,
                        Confidence::High,
                    )
                    .bind = h.map(|h| normalize_host(h).to_string());
                }
            }
        }
        calls.push((start..start + args.len(), host));
    }
    for c in GETENV.captures_iter(text) {
        let (Some(name), Some(p)) = (c.get(1), c.get(2)) else {
            continue;
        };
        let Some(port) = port_number(p.as_str()) else {
            continue;
        };
        let host = calls
            .iter()
            .find(|(r, _)| r.contains(&p.start()))
            .and_then(|(_, h)| h.clone());
        let u = f.add_var(p.start(), name.as_str(), port);
        if u.role == Role::Listen {
            u.bind = host;
        }
    }
    for c in RUNSERVER.captures_iter(text) {
        let Some(p) = c.get(2) else { continue };
        let Some(port) = port_number(p.as_str()) else {
            continue;
        };
        let host = c
            .get(1)
            .map(|h| normalize_host(h.as_str().trim_end_matches(':')).to_string());
        f.add(p.start(), Role::Listen, port, Confidence::High).bind = host;
    }
    for c in GUNICORN_BIND.captures_iter(text) {
        let Some(v) = c.get(1) else { continue };
        for s in STRING.captures_iter(v.as_str()) {
            let Some(addr) = s.get(1) else { continue };
            let Some((h, r)) = host_port(addr.as_str()) else {
                continue;
            };
            let Some(port) = port_number(&addr.as_str()[r.clone()]) else {
                continue;
            };
            f.add(
                v.start() + addr.start() + r.start,
                Role::Listen,
                port,
                Confidence::High,
            )
            .bind = h.map(|h| normalize_host(h).to_string());
        }
    }
    let udp = text.contains("SOCK_DGRAM") && !text.contains("SOCK_STREAM");
    for c in SOCKET_BIND.captures_iter(text) {
        let (Some(h), Some(p)) = (c.get(1), c.get(2)) else {
            continue;
        };
        let Some(port) = port_number(p.as_str()) else {
            continue;
        };
        let u = f.add(p.start(), Role::Listen, port, Confidence::High);
        u.bind = Some(normalize_host(h.as_str()).to_string()).filter(|h| !h.is_empty());
        if udp {
            u.transport = Transport::Udp;
        }
    }
    f.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::PortUse;

    fn run(text: &str) -> Vec<PortUse> {
        parse("app.py", text).uses
    }

    #[test]
    fn flask_and_getenv() {
        let u = run(
            "import os\nfrom flask import Flask\napp = Flask(__name__)\nif __name__ == '__main__':\n    app.run(host='0.0.0.0', port=int(os.getenv('PORT', 5001)))\n",
        );
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].port.lo, 5001);
        assert_eq!(u[0].variable.as_deref(), Some("PORT"));
        assert_eq!(u[0].confidence, Confidence::Medium);
        assert_eq!(u[0].bind.as_deref(), Some("0.0.0.0"));
        assert_eq!(u[0].at.to_string(), "app.py:5:56");
        let u = run("app.run(debug=True, port=5002, host=\"127.0.0.1\")");
        assert_eq!((u[0].port.lo, u[0].confidence), (5002, Confidence::High));
        assert_eq!(u[0].bind.as_deref(), Some("127.0.0.1"));
        let u = run(
            "PORT = os.environ.get(\"PORT\", \"8000\")\nDB = os.environ.get('DB_PORT', 5432)\n",
        );
        assert_eq!(u.len(), 2);
        assert_eq!(u[1].role, Role::Connect);
        assert_eq!(u[1].service.as_deref(), Some("DB"));
        assert!(run("timeout = os.getenv('TIMEOUT', 3000)").is_empty());
    }

    #[test]
    fn uvicorn_django_gunicorn_socket() {
        let u = run("uvicorn.run(\"main:app\", host=\"0.0.0.0\", port=8001, reload=True)");
        assert_eq!(
            (u[0].port.lo, u[0].bind.as_deref()),
            (8001, Some("0.0.0.0"))
        );
        let u = run("execute_from_command_line(['manage.py', 'runserver', '0.0.0.0:8082'])");
        assert_eq!(
            (u[0].port.lo, u[0].bind.as_deref()),
            (8082, Some("0.0.0.0"))
        );
        let u = run("cmd = \"python manage.py runserver 8003\"");
        assert_eq!(u[0].port.lo, 8003);
        let u =
            run("workers = 4\nbind = [\"127.0.0.1:8004\", \"unix:/tmp/g.sock\", \"[::1]:8005\"]\n");
        let ports: Vec<u16> = u.iter().map(|u| u.port.lo).collect();
        assert_eq!(ports, [8004, 8005]);
        assert_eq!(u[1].bind.as_deref(), Some("::1"));
        let u = run(
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(('0.0.0.0', 9000))\n",
        );
        assert_eq!((u[0].port.lo, u[0].transport), (9000, Transport::Udp));
        assert_eq!(u[0].at.to_string(), "app.py:2:20");
        let u = run("serve(app, listen='*:8080')");
        assert_eq!(
            (u[0].port.lo, u[0].bind.as_deref()),
            (8080, Some("0.0.0.0"))
        );
    }

    #[test]
    fn nothing_in_plain_code() {
        assert!(run("import os\nprint('hello 8080')\n").is_empty());
        assert!(run("x = subprocess.run(['ls'])").is_empty());
    }
}
