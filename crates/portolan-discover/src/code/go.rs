//! Go: `http.ListenAndServe(":8080", …)`, `ListenAndServeTLS("0.0.0.0:8443", …)`,
//! `net.Listen("tcp", ":9000")`, `net.ListenPacket("udp", ":53")`, `Addr: ":8080"` in an
//! `http.Server{…}` (high; in a client `…Options{`/`…Config{` literal it is a
//! [`Role::Connect`]), `port := os.Getenv("PORT")` followed by `if port == "" { port =
//! "8080" }` or `cmp.Or(os.Getenv("PORT"), "8080")` (variable + default, medium), and
//! `flag.String("addr", ":8080", …)` / `flag.Int("port", 8080, …)` (medium).

use std::sync::LazyLock;

use portolan_model::spec::Transport;
use regex::Regex;

use super::Found;
use crate::cmdline::{host_port, normalize_host};
use crate::evidence::{Confidence, FileReport, Role, SourceKind};
use crate::text::{LineIndex, port_number};

static PREFILTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Listen|Addr|PORT|flag\.").expect("static regex"));

static SERVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\bListenAndServe(?:TLS)?\(\s*"([^"]*)""#).expect("static regex")
});

static NET_LISTEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"\b(?:net|tls|quic)\.(?:Listen|ListenPacket|ListenAddr)\(\s*"(\w+)"\s*,\s*"([^"]*)""#,
    )
    .expect("static regex")
});

static ADDR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\bAddr\s*:\s*"([^"]*)""#).expect("static regex"));

static GETENV: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(\w+)\s*:?=\s*os\.Getenv\(\s*"(\w*PORT\w*)"\s*\)"#).expect("static regex")
});

static ASSIGN_STR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(\w+)\s*=\s*":?(\d{1,5})""#).expect("static regex"));

static CMP_OR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"cmp\.Or\(\s*os\.Getenv\(\s*"(\w*PORT\w*)"\s*\)\s*,\s*":?(\d{1,5})""#)
        .expect("static regex")
});

static FLAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\bflag\.(?:String|Int|Uint)(?:Var)?\([^"]*"(\w*(?:port|addr|listen)\w*)"\s*,\s*"?([^",)]*)"?"#)
        .expect("static regex")
});

/// Reads one Go file.
pub(super) fn parse(path: &str, text: &str) -> FileReport {
    if !PREFILTER.is_match(text) {
        return FileReport::default();
    }
    let ix = LineIndex::new(path, text);
    let mut f = Found::new(&ix, SourceKind::Go);
    for c in SERVE.captures_iter(text) {
        if let Some(a) = c.get(1) {
            addr(
                &mut f,
                a.start(),
                a.as_str(),
                Role::Listen,
                Confidence::High,
                Transport::Tcp,
            );
        }
    }
    for c in NET_LISTEN.captures_iter(text) {
        let (Some(net), Some(a)) = (c.get(1), c.get(2)) else {
            continue;
        };
        let transport = if net.as_str().starts_with("udp") {
            Transport::Udp
        } else if net.as_str().starts_with("tcp") {
            Transport::Tcp
        } else {
            continue;
        };
        addr(
            &mut f,
            a.start(),
            a.as_str(),
            Role::Listen,
            Confidence::High,
            transport,
        );
    }
    for c in ADDR.captures_iter(text) {
        let Some(a) = c.get(1) else { continue };
        let (role, confidence) = addr_context(text, a.start());
        addr(
            &mut f,
            a.start(),
            a.as_str(),
            role,
            confidence,
            Transport::Tcp,
        );
    }
    for c in GETENV.captures_iter(text) {
        let (Some(var), Some(name), Some(m)) = (c.get(1), c.get(2), c.get(0)) else {
            continue;
        };
        let window_end = (m.end() + 300).min(text.len());
        let Some(window) = text.get(m.end()..window_end) else {
            continue;
        };
        let found = ASSIGN_STR
            .captures_iter(window)
            .find(|a| a.get(1).is_some_and(|v| v.as_str() == var.as_str()));
        if let Some(p) = found.and_then(|a| a.get(2))
            && let Some(port) = port_number(p.as_str())
        {
            f.add_var(m.end() + p.start(), name.as_str(), port);
        }
    }
    for c in CMP_OR.captures_iter(text) {
        let (Some(name), Some(p)) = (c.get(1), c.get(2)) else {
            continue;
        };
        if let Some(port) = port_number(p.as_str()) {
            f.add_var(p.start(), name.as_str(), port);
        }
    }
    for c in FLAG.captures_iter(text) {
        let Some(v) = c.get(2) else { continue };
        addr(
            &mut f,
            v.start(),
            v.as_str(),
            Role::Listen,
            Confidence::Medium,
            Transport::Tcp,
        );
    }
    f.finish()
}

/// Whether an `Addr:` belongs to a server (listen) or a client (connect).
fn addr_context(text: &str, at: usize) -> (Role, Confidence) {
    let mut from = at.saturating_sub(400);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    let before = text.get(from..at).unwrap_or("");
    let Some(brace) = before.rfind('{') else {
        return (Role::Listen, Confidence::Low);
    };
    let head = before[..brace].trim_end();
    let ty_start = head
        .char_indices()
        .rev()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let ty = &head[ty_start..];
    if ty.ends_with("Server") {
        (Role::Listen, Confidence::High)
    } else if ["Options", "Client", "Config", "Dialer", "Conn"]
        .iter()
        .any(|k| ty.contains(k))
    {
        (Role::Connect, Confidence::Medium)
    } else {
        (Role::Listen, Confidence::Low)
    }
}

/// One `host:port` string literal at byte `at`.
fn addr(
    f: &mut Found<'_, '_>,
    at: usize,
    s: &str,
    role: Role,
    confidence: Confidence,
    transport: Transport,
) {
    let Some((h, r)) = host_port(s) else { return };
    let Some(port) = port_number(&s[r.clone()]) else {
        return;
    };
    let u = f.add(at + r.start, role, port, confidence);
    u.transport = transport;
    let host = h.map(|h| normalize_host(h).to_string());
    if role == Role::Connect {
        u.peer = host;
    } else {
        u.bind = host;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::PortUse;

    fn run(text: &str) -> Vec<PortUse> {
        parse("main.go", text).uses
    }

    #[test]
    fn servers_and_listeners() {
        let u = run("func main() {\n\tlog.Fatal(http.ListenAndServe(\":8080\", nil))\n}\n");
        assert_eq!(u[0].port.lo, 8080);
        assert_eq!(u[0].bind, None);
        assert_eq!(u[0].at.to_string(), "main.go:2:34");
        let u = run("http.ListenAndServeTLS(\"0.0.0.0:8443\", c, k, nil)");
        assert_eq!(
            (u[0].port.lo, u[0].bind.as_deref()),
            (8443, Some("0.0.0.0"))
        );
        let u = run(
            "ln, _ := net.Listen(\"tcp\", \":9000\")\npc, _ := net.ListenPacket(\"udp\", \":53\")\nnet.Listen(\"unix\", \"/tmp/s\")\n",
        );
        assert_eq!(u.len(), 2);
        assert_eq!(u[1].transport, Transport::Udp);
        let u = run(
            "srv := &http.Server{\n\tAddr:    \":8081\",\n\tHandler: mux,\n}\nrdb := redis.NewClient(&redis.Options{Addr: \"localhost:6379\"})\n",
        );
        assert_eq!(
            (u[0].port.lo, u[0].role, u[0].confidence),
            (8081, Role::Listen, Confidence::High)
        );
        assert_eq!((u[1].port.lo, u[1].role), (6379, Role::Connect));
        assert_eq!(u[1].peer.as_deref(), Some("localhost"));
    }

    #[test]
    fn env_defaults_and_flags() {
        let u = run("port := os.Getenv(\"PORT\")\nif port == \"\" {\n\tport = \"8082\"\n}\n");
        assert_eq!((u[0].port.lo, u[0].confidence), (8082, Confidence::Medium));
        assert_eq!(u[0].variable.as_deref(), Some("PORT"));
        assert_eq!(u[0].at.to_string(), "main.go:3:10");
        let u = run("addr := cmp.Or(os.Getenv(\"PORT\"), \"8083\")");
        assert_eq!(u[0].port.lo, 8083);
        let u = run(
            "var addr = flag.String(\"addr\", \":8084\", \"listen address\")\nvar p = flag.Int(\"port\", 8085, \"port\")\n",
        );
        let ports: Vec<u16> = u.iter().map(|u| u.port.lo).collect();
        assert_eq!(ports, [8084, 8085]);
        assert!(run("fmt.Println(\"Listening\")").is_empty());
        // Found by fuzzing: a multi-byte character right before the `{`.
        assert_eq!(run("srv := a\u{60f}{Addr: \":8086\"}")[0].port.lo, 8086);
    }
}
