//! Spring Boot configuration: `server.port=8081` (listen, high), `management.server.port`
//! (listen, service `management`), `server.address` (the bind of `server.port`),
//! `${PORT:8080}` placeholders (variable + default, medium), other `*.port` keys
//! (`spring.data.redis.port`: connect, service `redis`) and `scheme://host:port` URLs in
//! values (`spring.datasource.url=jdbc:postgresql://db:5432/app`: connect, medium).
//!
//! `application.yml` is read with a simple indentation-aware scan (nested keys become dotted
//! keys; list items and multi-line values are skipped), not a YAML parser: it never fails,
//! and the offsets it reports are exact.

use std::sync::LazyLock;

use regex::Regex;

use super::Found;
use crate::evidence::{Confidence, FileReport, Role, SourceKind};
use crate::text::{LineIndex, port_number};

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"://(?:[^@/\s]*@)?([A-Za-z0-9.\-_]+|\[[0-9a-fA-F:]+\]):(\d{1,5})\b")
        .expect("static regex")
});

static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\$\{([A-Za-z0-9_.\-]+):(\d{1,5})\}$").expect("static regex"));

/// Reads one `application*.properties` / `.yml` file.
pub(super) fn parse(path: &str, text: &str) -> FileReport {
    if !text.contains("port") && !text.contains("://") {
        return FileReport::default();
    }
    let ix = LineIndex::new(path, text);
    let yaml = std::path::Path::new(path)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"));
    let entries = if yaml {
        yaml_entries(text)
    } else {
        properties(text)
    };
    let mut f = Found::new(&ix, SourceKind::Spring);
    let address = entries
        .iter()
        .find(|e| e.key == "server.address")
        .map(|e| e.value.clone());
    for e in &entries {
        let key = e.key.as_str();
        if key.rsplit('.').next() == Some("port") {
            let (port, variable, at) = if let Some(c) = PLACEHOLDER.captures(&e.value) {
                let (Some(n), Some(p)) = (c.get(1), c.get(2)) else {
                    continue;
                };
                (
                    port_number(p.as_str()),
                    Some(n.as_str().to_string()),
                    e.at + p.start(),
                )
            } else {
                (port_number(&e.value), None, e.at)
            };
            let Some(port) = port else { continue };
            let confidence = if variable.is_some() {
                Confidence::Medium
            } else {
                Confidence::High
            };
            let (role, service, bind) = match key {
                "server.port" => (Role::Listen, None, address.clone()),
                "management.server.port" | "management.port" => {
                    (Role::Listen, Some("management".to_string()), None)
                }
                _ => {
                    let mut parts = key.rsplit('.');
                    parts.next();
                    let svc = parts.next().filter(|s| !s.is_empty()).map(str::to_string);
                    (Role::Connect, svc, None)
                }
            };
            let u = f.add(at, role, port, confidence);
            u.variable = variable;
            u.service = service;
            u.bind = bind;
        } else if let Some(c) = URL.captures(&e.value) {
            let (Some(h), Some(p)) = (c.get(1), c.get(2)) else {
                continue;
            };
            if let Some(port) = port_number(p.as_str()) {
                f.add(e.at + p.start(), Role::Connect, port, Confidence::Medium)
                    .peer = Some(h.as_str().trim_matches(['[', ']']).to_string());
            }
        }
    }
    f.finish()
}

/// A `key = value` with the byte offset of the value.
struct Entry {
    key: String,
    value: String,
    at: usize,
}

/// Lines with their byte offsets.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut pos = 0;
    text.split_inclusive('\n').map(move |raw| {
        let start = pos;
        pos += raw.len();
        (start, raw.trim_end_matches(['\n', '\r']))
    })
}

/// `application.properties` entries (`key=value`, `key: value`, `key value`).
fn properties(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for (start, line) in lines(text) {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') || t.starts_with('!') {
            continue;
        }
        let lead = line.len() - t.len();
        let Some(sep) = t.find(['=', ':', ' ', '\t']) else {
            continue;
        };
        let key = t[..sep].trim();
        let rest = &t[sep..];
        let rest = rest.trim_start_matches([' ', '\t']);
        let rest = rest
            .strip_prefix(['=', ':'])
            .unwrap_or(rest)
            .trim_start_matches([' ', '\t']);
        let value = rest.trim_end();
        out.push(Entry {
            key: key.to_string(),
            value: value.to_string(),
            at: start + lead + (t.len() - rest.len()),
        });
    }
    out
}

/// `application.yml` entries, nested keys joined with dots.
fn yaml_entries(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    for (start, line) in lines(text) {
        let t = line.trim_start();
        if t.starts_with("---") {
            stack.clear();
            continue;
        }
        if t.is_empty() || t.starts_with('#') || t.starts_with('-') {
            continue;
        }
        let indent = line.len() - t.len();
        let Some(colon) = t.find(':') else { continue };
        let after = &t[colon + 1..];
        if !(after.is_empty() || after.starts_with([' ', '\t'])) {
            continue;
        }
        let key = t[..colon].trim().trim_matches(['"', '\'']);
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        let value_raw = after.trim_start();
        let value_raw = value_raw
            .find(" #")
            .map_or(value_raw, |i| &value_raw[..i])
            .trim_end();
        if value_raw.is_empty() {
            stack.push((indent, key.to_string()));
            continue;
        }
        let quoted = value_raw.starts_with(['"', '\'']);
        let value = value_raw.trim_matches(['"', '\'']);
        let mut full = stack
            .iter()
            .map(|(_, k)| k.as_str())
            .collect::<Vec<_>>()
            .join(".");
        if !full.is_empty() {
            full.push('.');
        }
        full.push_str(key);
        out.push(Entry {
            key: full,
            value: value.to_string(),
            at: start
                + indent
                + colon
                + 1
                + (after.len() - after.trim_start().len())
                + usize::from(quoted),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::PortUse;

    fn run(path: &str, text: &str) -> Vec<PortUse> {
        parse(path, text).uses
    }

    #[test]
    fn properties_files() {
        let u = run(
            "application.properties",
            "# server.port=1111\nspring.application.name=billing\nserver.port=8081\nserver.address=127.0.0.1\nmanagement.server.port = 9091\nspring.datasource.url=jdbc:postgresql://db:5432/billing\nspring.data.redis.port: 6379\n",
        );
        let ports: Vec<u16> = u.iter().map(|u| u.port.lo).collect();
        assert_eq!(ports, [8081, 9091, 5432, 6379]);
        assert_eq!(u[0].at.to_string(), "application.properties:3:13");
        assert_eq!(u[0].bind.as_deref(), Some("127.0.0.1"));
        assert_eq!(u[1].service.as_deref(), Some("management"));
        assert_eq!(u[1].at.col, 26);
        assert_eq!(
            (u[2].role, u[2].peer.as_deref()),
            (Role::Connect, Some("db"))
        );
        assert_eq!(
            (u[3].role, u[3].service.as_deref()),
            (Role::Connect, Some("redis"))
        );
        let u = run("application.properties", "server.port=${PORT:8088}\n");
        assert_eq!((u[0].port.lo, u[0].confidence), (8088, Confidence::Medium));
        assert_eq!(u[0].variable.as_deref(), Some("PORT"));
        assert_eq!(u[0].at.col, 20);
    }

    #[test]
    fn yaml_files() {
        let u = run(
            "application.yml",
            "spring:\n  application:\n    name: x\nserver:\n  # port: 1\n  port: 8082\nmanagement:\n  server:\n    port: \"9092\"\n---\nport: 7\n",
        );
        let ports: Vec<u16> = u.iter().map(|u| u.port.lo).collect();
        assert_eq!(ports, [8082, 9092, 7]);
        assert_eq!(u[0].at.to_string(), "application.yml:6:9");
        assert_eq!(u[1].at.to_string(), "application.yml:9:12");
        assert_eq!(u[1].service.as_deref(), Some("management"));
    }
}
