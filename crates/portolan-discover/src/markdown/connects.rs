//! Connections a configuration block shows an application making: URLs in values
//! (`DATABASE_URL: postgresql://…@db:5432/x`, `PAYMENT_API=https://api.adyen.com/v71`),
//! and `*_HOST` + `*_PORT` pairs (`CLOUD_MQTT_HOST=mqtt.example` with `CLOUD_MQTT_PORT=8883`)
//! in `.env` files, compose `environment:`, Kubernetes `env:` and INI/TOML settings. Each
//! becomes a flow — to `host:port` for an outside name, to the declared service for one
//! the document declares (a compose service, a host, a table row) — never a listener.
//! Loopback targets (`localhost`, `127.0.0.1`) are the same machine: not a flow.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use portolan_model::knowledge::scheme_port;
use portolan_model::port::PortRange;
use regex::Regex;

use super::Section;
use super::blocks::Code;
use super::draft::{Draft, FlowDraft, FlowTarget};

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?P<scheme>[a-z][a-z0-9+.\-]*)://(?:[^\s@/'\x22]*@)?(?P<host>\[[0-9a-f:]+\]|[A-Za-z0-9][A-Za-z0-9.\-_]*)(?::(?P<port>\d{1,5}))?")
        .expect("static regex")
});

static PAIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*(?:-\s*)?(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*[=:]\s*["']?(?P<val>[^"'\s#]+)"#)
        .expect("static regex")
});

/// Words of a setting's name that say it names this application, not something it calls
/// (`CSRF_TRUSTED_ORIGINS`, `ALLOWED_HOSTS`, `PUBLIC_URL`; `DATABASE_URL` is a connection).
const SELF_WORDS: &[&str] = &[
    "ORIGIN", "ALLOWED", "CORS", "CALLBACK", "REDIRECT", "TRUSTED", "DOMAIN", "HOMEPAGE", "WEBSITE",
];
const SELF_PAIRS: &[&str] = &[
    "PUBLIC_URL",
    "BASE_URL",
    "SITE_URL",
    "EXTERNAL_URL",
    "SERVER_NAME",
    "ROOT_URL",
    "APP_URL",
    "FRONTEND_URL",
];

fn names_self(key: &str) -> bool {
    let parts: Vec<&str> = key.split(['_', '-', '.']).collect();
    parts
        .iter()
        .any(|p| SELF_WORDS.iter().any(|w| p.starts_with(w)))
        || parts
            .windows(2)
            .any(|w| SELF_PAIRS.contains(&format!("{}_{}", w[0], w[1]).as_str()))
}

fn loopback(h: &str) -> bool {
    let h = h.trim_matches(['[', ']']);
    h == "localhost" || h == "0.0.0.0" || h.starts_with("127.") || h == "::1" || h == "::"
}

fn target(draft: &Draft, host: &str, local_names: &[String]) -> FlowTarget {
    let h = host.trim_matches(['[', ']']).to_lowercase();
    if local_names.contains(&h) || draft.hosts.contains_key(&h) || draft.services.contains_key(&h) {
        FlowTarget::Declared(h)
    } else if h.contains('.') || h.contains(':') {
        FlowTarget::External(h)
    } else {
        FlowTarget::Declared(h)
    }
}

/// Reads the connections of a block; `from_of(line)` names the service a line belongs to
/// (a compose service), when known. Returns how many flows were added.
pub fn apply(
    draft: &mut Draft,
    section: &Section,
    code: &Code,
    local_names: &[String],
    from_of: &dyn Fn(usize) -> Option<String>,
) -> usize {
    let mut added = 0;
    let mut hosts: BTreeMap<String, (String, usize)> = BTreeMap::new();
    let mut ports: BTreeMap<String, (u16, usize)> = BTreeMap::new();
    for (l, n) in &code.lines {
        let t = l.trim();
        if t.starts_with('#') || t.starts_with("//") {
            continue;
        }
        // only a value of a setting names a connection; `CSRF_TRUSTED_ORIGINS=https://…`,
        // `PUBLIC_URL`, `ALLOWED_HOSTS` name this application itself
        let Some(kv) = PAIR.captures(l) else { continue };
        let key = kv["key"].to_ascii_uppercase();
        if names_self(&key) {
            continue;
        }
        for c in URL.captures_iter(l) {
            let scheme = c["scheme"].to_ascii_lowercase();
            let host = &c["host"];
            if loopback(host) || matches!(scheme.as_str(), "file" | "unix" | "jdbc") {
                continue;
            }
            let Some(port) = c
                .name("port")
                .and_then(|p| crate::text::port_number(p.as_str()))
                .or_else(|| scheme_port(&scheme))
            else {
                continue;
            };
            let from = from_of(*n);
            let to = target(draft, host, local_names);
            draft.flow(FlowDraft {
                from,
                from_hosts: section.hosts().into_iter().collect(),
                to,
                port: PortRange::single(port),
                transport: None,
                purpose: None,
                line: *n,
            });
            added += 1;
        }
        // `jdbc:sqlserver://host:1433;…` (a scheme inside a scheme)
        if let Some(i) = l.find("jdbc:") {
            if let Some(c) = URL.captures(&l[i + 5..]) {
                if let Some(p) = c
                    .name("port")
                    .and_then(|p| crate::text::port_number(p.as_str()))
                {
                    let host = c["host"].to_string();
                    if !loopback(&host) {
                        let to = target(draft, &host, local_names);
                        draft.flow(FlowDraft {
                            from: from_of(*n),
                            from_hosts: section.hosts().into_iter().collect(),
                            to,
                            port: PortRange::single(p),
                            transport: None,
                            purpose: None,
                            line: *n,
                        });
                        added += 1;
                    }
                }
            }
        }
        if let Some(c) = PAIR.captures(l) {
            let key = c["key"].to_ascii_uppercase();
            let val = c["val"].to_string();
            if let Some(stem) = key
                .strip_suffix("_HOST")
                .or_else(|| key.strip_suffix("_HOSTNAME"))
                .or_else(|| key.strip_suffix("_ADDR"))
            {
                if !val.contains("://") && !val.starts_with('$') {
                    hosts.insert(stem.to_string(), (val, *n));
                }
            } else if let Some(stem) = key.strip_suffix("_PORT") {
                if let Some(p) = crate::text::port_number(&val) {
                    ports.insert(stem.to_string(), (p, *n));
                }
            }
        }
    }
    for (stem, (host, line)) in &hosts {
        let Some((port, _)) = ports.get(stem) else {
            continue;
        };
        if loopback(host) {
            continue;
        }
        let to = target(draft, host, local_names);
        draft.flow(FlowDraft {
            from: from_of(*line),
            from_hosts: section.hosts().into_iter().collect(),
            to,
            port: PortRange::single(*port),
            transport: None,
            purpose: Some(format!("{stem}_HOST / {stem}_PORT")),
            line: *line,
        });
        added += 1;
    }
    added
}
