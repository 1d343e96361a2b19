//! Application code and its config: Python (Flask/uvicorn `app.run(port=…)`,
//! `os.getenv('PORT', 5001)`, Django `runserver`, gunicorn config, `socket.bind`), Node
//! (`.listen(3000)`, `process.env.PORT || 3000`, `WebSocketServer({ port })`, vite/webpack
//! `server.port`), Go (`ListenAndServe(":8080")`, `net.Listen`, `Addr:`), Spring
//! (`server.port` in `application.properties`/`.yml`), package.json (`scripts` through
//! [`cmdline`](crate::cmdline), `proxy`), and shell scripts (`docker run -p`, the programs
//! [`cmdline`](crate::cmdline) knows; firewall commands are left to import).
//!
//! Every language starts with one cheap [`regex`] literal prefilter (SIMD substring search),
//! so a file without any keyword costs one pass over its bytes and no allocation; the
//! idiom regexes are compiled once ([`LazyLock`](std::sync::LazyLock)).
//!
//! Confidence: a literal port in a recognised call is high; the default of an environment
//! lookup (`os.getenv("PORT", 5001)`, `process.env.PORT || 3000`) is medium and names the
//! variable; anything guessed is low. `X_PORT` variables whose prefix names a client
//! (`DB_PORT`, `REDIS_PORT`) are [`Role::Connect`]; the rest are [`Role::Listen`] with the
//! prefix as service. Evidence points at the port token.

mod go;
mod node;
mod package_json;
mod python;
mod spring;

use portolan_model::port::PortRange;

use crate::cmdline::{self, snippet};
use crate::evidence::{Confidence, Context, FileReport, PortUse, Role, SourceKind};
use crate::text::LineIndex;

/// Which code parser reads `path` (by file name), or `None` when it is not a code file this
/// module knows: `package.json` → [`SourceKind::PackageJson`];
/// `application*.properties|yml|yaml`, `bootstrap*.…` → [`SourceKind::Spring`]; `*.py` →
/// [`SourceKind::Python`]; `*.js|mjs|cjs|jsx|ts|mts|cts|tsx` (not `*.d.ts`, `*.min.js`) →
/// [`SourceKind::Node`]; `*.go` → [`SourceKind::Go`]; `*.sh|bash` → [`SourceKind::Shell`].
pub fn kind_for(path: &str) -> Option<SourceKind> {
    let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
    if file == "package.json" {
        return Some(SourceKind::PackageJson);
    }
    let (stem, ext) = file.rsplit_once('.')?;
    if (stem.starts_with("application") || stem.starts_with("bootstrap"))
        && matches!(ext, "properties" | "yml" | "yaml")
    {
        return Some(SourceKind::Spring);
    }
    match ext {
        "py" => Some(SourceKind::Python),
        "js" | "mjs" | "cjs" | "jsx" | "ts" | "mts" | "cts" | "tsx"
            if !file.ends_with(".d.ts") && !file.ends_with(".min.js") =>
        {
            Some(SourceKind::Node)
        }
        "go" => Some(SourceKind::Go),
        "sh" | "bash" => Some(SourceKind::Shell),
        _ => None,
    }
}

/// Reads one file, dispatching on [`kind_for`]; a path no parser claims is read by all of
/// them (so fuzzing and ad-hoc callers exercise every language).
pub fn parse(path: &str, text: &str, ctx: &Context) -> FileReport {
    let _ = ctx;
    let mut report = parse_any(path, text);
    // a gRPC server's listener: `net.Listen` in a Go file that imports grpc
    let grpc = text.contains("google.golang.org/grpc");
    for u in report
        .uses
        .iter_mut()
        .filter(|u| u.app.is_none() && u.role == Role::Listen)
    {
        u.app = http_idiom(u.source, &u.snippet).map(str::to_string);
        if u.app.is_none() && grpc && u.source == SourceKind::Go && u.snippet.contains("net.Listen")
        {
            u.app = Some("grpc".into());
        }
    }
    report
}

/// `http` when the listening call itself is an HTTP server's (Flask's `app.run`, Go's
/// `ListenAndServe`, Spring's `server.port`, a Node `.listen` of an HTTP framework).
fn http_idiom(source: SourceKind, snippet: &str) -> Option<&'static str> {
    let http = match source {
        SourceKind::Python => ["app.run(", "uvicorn.run(", "web.run_app(", "run_simple("]
            .iter()
            .any(|k| snippet.contains(k)),
        SourceKind::Go => snippet.contains("ListenAndServe") || snippet.contains("http.Server"),
        SourceKind::Spring => snippet.contains("server.port") || snippet.contains("port:"),
        SourceKind::Node => snippet.contains(".listen(") || snippet.contains("port:"),
        _ => false,
    };
    http.then_some("http")
}

fn parse_any(path: &str, text: &str) -> FileReport {
    match kind_for(path) {
        Some(SourceKind::PackageJson) => package_json::parse(path, text),
        Some(SourceKind::Spring) => spring::parse(path, text),
        Some(SourceKind::Python) => python::parse(path, text),
        Some(SourceKind::Node) => node::parse(path, text),
        Some(SourceKind::Go) => go::parse(path, text),
        Some(SourceKind::Shell) => shell(path, text),
        _ => {
            let mut r = python::parse(path, text);
            r.extend(node::parse(path, text));
            r.extend(go::parse(path, text));
            r.extend(spring::parse(path, text));
            r.extend(shell(path, text));
            r
        }
    }
}

/// A shell script: every command line it runs.
fn shell(path: &str, text: &str) -> FileReport {
    if !cmdline::mentions_tool(text) {
        return FileReport::default();
    }
    let ix = LineIndex::new(path, text);
    FileReport {
        uses: cmdline::scan(&ix, SourceKind::Shell, text, 0),
        ..FileReport::default()
    }
}

/// Client-side prefixes of `X_PORT` variables: a port something connects to.
const CLIENT_PREFIXES: &[&str] = &[
    "DB",
    "DATABASE",
    "POSTGRES",
    "PG",
    "MYSQL",
    "MARIADB",
    "REDIS",
    "MONGO",
    "RABBIT",
    "AMQP",
    "SMTP",
    "MAIL",
    "EMAIL",
    "ELASTIC",
    "ES",
    "KAFKA",
    "MEMCACHE",
    "CACHE",
    "NATS",
    "MQTT",
    "LDAP",
    "MINIO",
    "S3",
    "CLICKHOUSE",
    "INFLUX",
    "ZOOKEEPER",
    "CONSUL",
    "VAULT",
    "ETCD",
    "SENTRY",
    "OTEL",
    "JAEGER",
    "STATSD",
];

/// The role and service an environment variable name suggests: `PORT` → listen, no
/// service; `ADMIN_PORT` → listen, `ADMIN`; `DB_PORT` → connect, `DB`.
pub(crate) fn role_for_var(name: &str) -> (Role, Option<String>) {
    let up = name.to_ascii_uppercase();
    let prefix = up
        .strip_suffix("_PORT")
        .or_else(|| up.strip_suffix("PORT"))
        .unwrap_or(&up)
        .trim_end_matches('_');
    if prefix.is_empty() {
        return (Role::Listen, None);
    }
    let service = name.get(..prefix.len()).map(str::to_string);
    if CLIENT_PREFIXES.iter().any(|p| prefix.starts_with(p)) {
        (Role::Connect, service)
    } else {
        (Role::Listen, service)
    }
}

/// Uses collected with their byte offsets, reported in source order (one per offset).
pub(crate) struct Found<'i, 'a> {
    pub ix: &'i LineIndex<'a>,
    pub source: SourceKind,
    pub uses: Vec<(usize, PortUse)>,
}

impl<'i, 'a> Found<'i, 'a> {
    pub fn new(ix: &'i LineIndex<'a>, source: SourceKind) -> Self {
        Found {
            ix,
            source,
            uses: Vec::new(),
        }
    }

    /// A use of `port` written at byte `at` (snippet filled in); returns it for tweaks.
    pub fn add(
        &mut self,
        at: usize,
        role: Role,
        port: u16,
        confidence: Confidence,
    ) -> &mut PortUse {
        let loc = self.ix.location(at);
        let u = PortUse {
            confidence,
            snippet: snippet(self.ix, &loc),
            ..PortUse::new(loc, self.source, role, PortRange::single(port))
        };
        self.uses.push((at, u));
        let last = self.uses.len() - 1;
        &mut self.uses[last].1
    }

    /// A use for an environment-variable default (`PORT` → listen, `DB_PORT` → connect).
    pub fn add_var(&mut self, at: usize, name: &str, port: u16) -> &mut PortUse {
        let (role, service) = role_for_var(name);
        let u = self.add(at, role, port, Confidence::Medium);
        u.variable = Some(name.to_string());
        u.service = service;
        u
    }

    /// Whether a use was already recorded at `at`.
    pub fn has(&self, at: usize) -> bool {
        self.uses.iter().any(|(o, _)| *o == at)
    }

    /// The report, uses in source order, one per offset.
    pub fn finish(mut self) -> FileReport {
        self.uses.sort_by_key(|(o, _)| *o);
        self.uses.dedup_by_key(|(o, _)| *o);
        FileReport {
            uses: self.uses.into_iter().map(|(_, u)| u).collect(),
            ..FileReport::default()
        }
    }
}

/// The text between the `(` (or `{`) at byte `open` and its matching close, at most `limit`
/// bytes; quotes are not tracked (good enough for argument lists).
pub(crate) fn balanced(text: &str, open: usize, limit: usize) -> Option<(usize, &str)> {
    let bytes = text.as_bytes();
    let (o, c) = match bytes.get(open)? {
        b'(' => (b'(', b')'),
        b'{' => (b'{', b'}'),
        _ => return None,
    };
    let mut depth = 0usize;
    for (i, &b) in bytes.iter().enumerate().skip(open).take(limit) {
        if b == o {
            depth += 1;
        } else if b == c {
            depth -= 1;
            if depth == 0 {
                return text.get(open + 1..i).map(|s| (open + 1, s));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_name() {
        assert_eq!(kind_for("web/package.json"), Some(SourceKind::PackageJson));
        assert_eq!(
            kind_for("src/main/resources/application-prod.yml"),
            Some(SourceKind::Spring)
        );
        assert_eq!(kind_for("app.py"), Some(SourceKind::Python));
        assert_eq!(kind_for("a/server.ts"), Some(SourceKind::Node));
        assert_eq!(kind_for("types.d.ts"), None);
        assert_eq!(kind_for("main.go"), Some(SourceKind::Go));
        assert_eq!(kind_for("scripts/run.sh"), Some(SourceKind::Shell));
        assert_eq!(kind_for("README.md"), None);
        assert_eq!(kind_for("Makefile"), None);
    }

    #[test]
    fn variable_roles() {
        assert_eq!(role_for_var("PORT"), (Role::Listen, None));
        assert_eq!(
            role_for_var("ADMIN_PORT"),
            (Role::Listen, Some("ADMIN".into()))
        );
        assert_eq!(role_for_var("DB_PORT"), (Role::Connect, Some("DB".into())));
        assert_eq!(
            role_for_var("REDIS_PORT"),
            (Role::Connect, Some("REDIS".into()))
        );
    }

    #[test]
    fn unknown_paths_try_every_language() {
        let r = parse(
            "fuzz",
            "app.listen(3000)\nhttp.ListenAndServe(\":8080\", nil)\n",
            &Context::default(),
        );
        let ports: Vec<u16> = r.uses.iter().map(|u| u.port.lo).collect();
        assert_eq!(ports, [3000, 8080]);
    }

    #[test]
    fn shell_scripts() {
        let r = parse(
            "scripts/run.sh",
            "#!/bin/sh\n# docker run -p 1:1 x\nufw allow 8069/tcp\ndocker run -d -p 127.0.0.1:6379:6379 redis\n",
            &Context::default(),
        );
        assert_eq!(r.uses.len(), 1);
        assert_eq!(r.uses[0].source, SourceKind::Shell);
        assert_eq!(r.uses[0].role, Role::Publish);
        assert_eq!(r.uses[0].at.to_string(), "scripts/run.sh:4:28");
    }
}
