//! JavaScript / TypeScript: `.listen(3000)`, `.listen(3000, "127.0.0.1")`, `.listen({ port,
//! host })`, `.listen(PORT)` with `const PORT = 3000` (high, at the literal) or `const PORT =
//! process.env.PORT || 3000` / `?? 3000` (variable + default, medium), `new
//! WebSocketServer({ port: 8080 })`, and `server: { port: 5173 }` / `devServer: { port }` in
//! `vite.config.*`, `webpack.config.*` and friends.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::{Found, balanced};
use crate::cmdline::normalize_host;
use crate::evidence::{Confidence, FileReport, Role, SourceKind};
use crate::text::{LineIndex, port_number};

static PREFILTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"listen\(|PORT|port\s*:").expect("static regex"));

static ENV_DEFAULT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"process\.env\.([A-Za-z0-9_]*PORT[A-Za-z0-9_]*)\s*\)?\s*(?:\|\||\?\?)\s*["']?(\d{1,5})\b"#)
        .expect("static regex")
});

static CONST_NUM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?m)\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::\s*number\s*)?=\s*(\d{1,5})\s*;?\s*$",
    )
    .expect("static regex")
});

static LISTEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\.listen\s*\(").expect("static regex"));

static FIRST_ARG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*([A-Za-z_$][\w$.]*|\d{1,5})\s*(?:,\s*["']([^"']*)["'])?"#)
        .expect("static regex")
});

static OBJ_PORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bport\s*:\s*(\d{1,5})\b").expect("static regex"));

static OBJ_HOST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\bhost(?:name)?\s*:\s*(?:["']([^"']*)["']|(true))"#).expect("static regex")
});

static WS_SERVER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"new\s+(?:WebSocketServer|WebSocket\.Server|WSServer|ws\.Server)\s*\(")
        .expect("static regex")
});

static DEV_SERVER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:server|devServer|preview)\s*:\s*\{").expect("static regex"));

/// Whether `path` is a dev-server config (`vite.config.ts`, `webpack.config.js`, …).
fn is_dev_config(path: &str) -> bool {
    let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
    [
        "vite.config.",
        "vitest.config.",
        "webpack.config.",
        "vue.config.",
        "nuxt.config.",
        "astro.config.",
        "svelte.config.",
        "angular.json",
    ]
    .iter()
    .any(|p| file.starts_with(p))
}

/// Reads one JS/TS file.
pub(super) fn parse(path: &str, text: &str) -> FileReport {
    if !PREFILTER.is_match(text) {
        return FileReport::default();
    }
    let ix = LineIndex::new(path, text);
    let mut f = Found::new(&ix, SourceKind::Node);
    // Identifiers bound to a literal port or an env default.
    let mut consts: BTreeMap<&str, (usize, u16)> = BTreeMap::new();
    for c in CONST_NUM.captures_iter(text) {
        let (Some(name), Some(p)) = (c.get(1), c.get(2)) else {
            continue;
        };
        if let Some(port) = port_number(p.as_str()) {
            consts.insert(name.as_str(), (p.start(), port));
        }
    }
    for c in ENV_DEFAULT.captures_iter(text) {
        let (Some(name), Some(p)) = (c.get(1), c.get(2)) else {
            continue;
        };
        if let Some(port) = port_number(p.as_str()) {
            f.add_var(p.start(), name.as_str(), port);
        }
    }
    for m in LISTEN.find_iter(text) {
        let Some((start, args)) = balanced(text, m.end() - 1, 4000) else {
            continue;
        };
        if args.trim_start().starts_with('{') {
            object_port(&mut f, text, start + args.find('{').unwrap_or(0));
            continue;
        }
        let Some(c) = FIRST_ARG.captures(args) else {
            continue;
        };
        let Some(a) = c.get(1) else { continue };
        let host = c
            .get(2)
            .map(|h| normalize_host(h.as_str()).to_string())
            .filter(|h| !h.is_empty());
        if let Some(port) = port_number(a.as_str()) {
            f.add(start + a.start(), Role::Listen, port, Confidence::High)
                .bind = host;
        } else if let Some(&(at, port)) = consts.get(a.as_str())
            && !f.has(at)
        {
            f.add(at, Role::Listen, port, Confidence::High).bind = host;
        }
    }
    for m in WS_SERVER.find_iter(text) {
        if let Some((start, args)) = balanced(text, m.end() - 1, 2000)
            && let Some(brace) = args.find('{')
        {
            object_port(&mut f, text, start + brace);
        }
    }
    if is_dev_config(path) {
        for m in DEV_SERVER.find_iter(text) {
            object_port(&mut f, text, m.end() - 1);
        }
    }
    f.finish()
}

/// `{ port: 8080, host: "0.0.0.0" }` at byte `open` (its `{`); nested objects are searched
/// too (only the first `port:` counts).
fn object_port(f: &mut Found<'_, '_>, text: &str, open: usize) {
    let Some((start, body)) = balanced(text, open, 4000) else {
        return;
    };
    let Some(p) = OBJ_PORT.captures(body).and_then(|c| c.get(1)) else {
        return;
    };
    let Some(port) = port_number(p.as_str()) else {
        return;
    };
    let host = OBJ_HOST.captures(body).and_then(|c| {
        c.get(1)
            .map(|h| normalize_host(h.as_str()).to_string())
            .or_else(|| c.get(2).map(|_| "0.0.0.0".to_string()))
    });
    f.add(start + p.start(), Role::Listen, port, Confidence::High)
        .bind = host;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::PortUse;

    fn run(path: &str, text: &str) -> Vec<PortUse> {
        parse(path, text).uses
    }

    #[test]
    fn listen_forms() {
        let u = run("s.js", "const app = express();\napp.listen(4000);\n");
        assert_eq!(u[0].port.lo, 4000);
        assert_eq!(u[0].at.to_string(), "s.js:2:12");
        let u = run("s.js", "server.listen(3001, \"127.0.0.1\", () => {})");
        assert_eq!(
            (u[0].port.lo, u[0].bind.as_deref()),
            (3001, Some("127.0.0.1"))
        );
        let u = run("s.ts", "http.createServer(handler).listen(3002)");
        assert_eq!(u[0].port.lo, 3002);
        let u = run(
            "s.ts",
            "await fastify.listen({ port: 3003, host: '0.0.0.0' })",
        );
        assert_eq!(
            (u[0].port.lo, u[0].bind.as_deref()),
            (3003, Some("0.0.0.0"))
        );
        let u = run(
            "s.js",
            "const port = 3004;\napp.listen(port, () => console.log(port));\n",
        );
        assert_eq!(
            (u[0].port.lo, u[0].at.line, u[0].confidence),
            (3004, 1, Confidence::High)
        );
        // A const not used by listen is not a port.
        assert!(run("s.js", "const retries = 3;\n").is_empty());
    }

    #[test]
    fn env_defaults() {
        let u = run(
            "s.js",
            "const PORT = process.env.PORT || 3000;\napp.listen(PORT);\n",
        );
        assert_eq!(u.len(), 1);
        assert_eq!((u[0].port.lo, u[0].confidence), (3000, Confidence::Medium));
        assert_eq!(u[0].variable.as_deref(), Some("PORT"));
        assert_eq!(u[0].at.to_string(), "s.js:1:34");
        let u = run("s.ts", "const port = Number(process.env.PORT) ?? 8081;");
        assert_eq!(u[0].port.lo, 8081);
        let u = run("s.ts", "const db = process.env.DB_PORT || '5432'");
        assert_eq!(u[0].role, Role::Connect);
    }

    #[test]
    fn websocket_and_dev_configs() {
        let u = run("ws.js", "const wss = new WebSocketServer({ port: 8080 });");
        assert_eq!(u[0].port.lo, 8080);
        let cfg = "export default defineConfig({\n  server: {\n    host: true,\n    port: 5175,\n    proxy: { '/api': 'http://localhost:5000' },\n  },\n});\n";
        let u = run("vite.config.ts", cfg);
        assert_eq!(u.len(), 1);
        assert_eq!(
            (u[0].port.lo, u[0].bind.as_deref()),
            (5175, Some("0.0.0.0"))
        );
        assert_eq!(u[0].at.to_string(), "vite.config.ts:4:11");
        // The same text in ordinary code is not a dev server.
        assert!(run("src/x.ts", cfg).is_empty());
    }
}
