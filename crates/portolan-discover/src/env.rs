//! `.env`-style files: `*_PORT=…` and URLs with ports; also the variable table compose
//! interpolation reads. Secrets are redacted before anything is kept.
//!
//! Syntax (what Docker Compose and python-dotenv accept): `KEY=value`, `export KEY=value`,
//! `#` comment lines, values in single quotes (literal), double quotes (`\n`, `\"`, `\\`
//! escapes; may span lines) or unquoted (trimmed; ` #` starts an inline comment); CRLF line
//! ends. Unquoted and double-quoted values may refer to earlier variables (`${A}`).
//!
//! What a line becomes:
//!
//! | line | use |
//! |---|---|
//! | `WEB_PORT=8000`, `PORT=8000`, `X_PORT_Y=8000` | [`Role::Listen`], medium confidence (the variable may be a client's), `service` guessed from the prefix (`web`; none for `PORT`) |
//! | `SMTP_PORT=1025`, `REDIS_PORT=6379` (a client's prefix: databases, caches, brokers, mail) | [`Role::Connect`], no peer unless a `*_HOST` says one |
//! | the same with a `WEB_HOST=db` beside it | [`Role::Connect`] to `peer` = the host (or [`Role::Listen`] with `bind` when the host is `0.0.0.0`/`::`) |
//! | a URL with a port anywhere in a value (`postgresql://u:p@db:5432/x`) | [`Role::Connect`], `peer` = host, high confidence |
//! | a URL without a port (`redis://cache/0`) | [`Role::Connect`] on the scheme's default port, medium confidence |
//! | `A=${B}` | nothing: a reference, not a port |

use std::collections::BTreeMap;

use portolan_model::knowledge::scheme_port;
use portolan_model::port::PortRange;

use crate::compose::interpolate::interpolate;
use crate::evidence::{Confidence, Context, FileReport, PortUse, Role, SourceKind};
use crate::redact::redact;
use crate::text::{LineIndex, port_number, port_token};

/// One `KEY=value` line.
#[derive(Debug)]
struct Entry<'t> {
    key: &'t str,
    /// The value with quotes and escapes resolved (no interpolation).
    value: String,
    /// File byte where the value's content starts (after a quote).
    value_at: usize,
    /// Whether `value` is the file's text verbatim from `value_at`.
    verbatim: bool,
    /// Single-quoted (never interpolated).
    literal: bool,
    /// File byte where the line starts.
    line_at: usize,
}

/// Reads the entries of a dotenv text, in order.
fn entries(text: &str) -> Vec<Entry<'_>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        let line = &text[pos..line_end];
        let line_at = pos;
        pos = line_end + 1;
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let body = trimmed
            .strip_prefix("export")
            .filter(|r| r.starts_with([' ', '\t']))
            .map_or(trimmed, str::trim_start);
        let Some((key, rest)) = body.split_once('=') else {
            continue;
        };
        let key = key.trim_end();
        let valid = key
            .bytes()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
            && key
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
        if !valid {
            continue;
        }
        let value_raw = rest.trim_start();
        let value_at = line_at + line.len() - value_raw.len();
        let v = value_of(text, value_at, line_end);
        if v.end > line_end {
            pos = text[v.end..]
                .find('\n')
                .map_or(text.len(), |i| v.end + i + 1);
        }
        out.push(Entry {
            key,
            value: v.text,
            value_at: v.start,
            verbatim: v.verbatim,
            literal: v.literal,
            line_at,
        });
    }
    out
}

/// A value as read.
struct Value {
    text: String,
    /// File byte where the content starts (after an opening quote).
    start: usize,
    verbatim: bool,
    literal: bool,
    /// File byte after the closing quote (the value's start when unquoted).
    end: usize,
}

/// The value starting at byte `at` of a line ending at `line_end`.
fn value_of(text: &str, at: usize, line_end: usize) -> Value {
    let rest = &text[at..];
    if let Some(inner) = rest.strip_prefix('\'')
        && let Some(end) = inner.find('\'')
    {
        return Value {
            text: inner[..end].to_string(),
            start: at + 1,
            verbatim: !inner[..end].contains('\n'),
            literal: true,
            end: at + 1 + end + 1,
        };
    }
    if let Some(inner) = rest.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = inner.char_indices();
        let mut escaped = false;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    escaped = true;
                    match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, 'r')) => value.push('\r'),
                        Some((_, 't')) => value.push('\t'),
                        Some((_, other)) => value.push(other),
                        None => break,
                    }
                }
                '"' => {
                    return Value {
                        verbatim: !escaped && !value.contains('\n'),
                        text: value.replace("\r\n", "\n"),
                        start: at + 1,
                        literal: false,
                        end: at + 1 + i + 1,
                    };
                }
                c => value.push(c),
            }
        }
        // No closing quote: read the line as an unquoted value.
    }
    let line = text[at..line_end].trim_end_matches('\r');
    let cut = line
        .char_indices()
        .find(|&(i, c)| c == '#' && (i == 0 || line[..i].ends_with([' ', '\t'])))
        .map_or(line.len(), |(i, _)| i);
    Value {
        text: line[..cut].trim_end().to_string(),
        start: at,
        verbatim: true,
        literal: false,
        end: at,
    }
}

/// The variables a `.env` file defines, as written (quotes and escapes resolved, a
/// single-quoted value's `$` escaped as `$$`), last definition wins. Nothing is expanded:
/// compose interpolation expands a value's references only when a file refers to it, with
/// depth and size caps.
pub fn raw_variables(text: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for e in entries(text) {
        let value = if e.literal {
            e.value.replace('$', "$$")
        } else {
            e.value
        };
        vars.insert(e.key.to_string(), value);
    }
    vars
}

/// The variables a `.env` file defines, each expanded (references to other variables
/// resolved, within the caps of compose interpolation); a value that cannot be expanded is
/// kept as written.
pub fn variables(text: &str) -> BTreeMap<String, String> {
    // earlier definitions only, as dotenv reads them; `shadow` holds them escaped so an
    // expanded value is never expanded twice
    let mut shadow: BTreeMap<String, String> = BTreeMap::new();
    let mut vars = BTreeMap::new();
    for e in entries(text) {
        let value = if e.literal || !e.value.contains('$') {
            e.value
        } else {
            interpolate(&e.value, &shadow).map_or(e.value, |i| i.text)
        };
        shadow.insert(e.key.to_string(), value.replace('$', "$$"));
        vars.insert(e.key.to_string(), value);
    }
    vars
}

/// Whether a variable name names a port (`PORT`, `WEB_PORT`, `DB_PORT_EXTERNAL`), and the
/// prefix before `_PORT`.
fn port_name(key: &str) -> Option<&str> {
    let up = key.to_ascii_uppercase();
    if up == "PORT" {
        return Some("");
    }
    if up.ends_with("_PORT") {
        return key.get(..key.len() - 5);
    }
    up.find("_PORT_").and_then(|i| key.get(..i))
}

/// One host of a URL.
struct UrlHost<'v> {
    scheme: &'v str,
    host: &'v str,
    /// Byte offset of the host in the value.
    host_at: usize,
    /// The explicit port and its byte offset.
    port: Option<(u16, usize)>,
}

/// Each host of each URL in `value`.
fn urls(value: &str) -> Vec<UrlHost<'_>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = value[from..].find("://") {
        let sep = from + i;
        from = sep + 3;
        let scheme_start = value[..sep]
            .char_indices()
            .rev()
            .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-')))
            .map_or(0, |(j, c)| j + c.len_utf8());
        let scheme = &value[scheme_start..sep];
        if !scheme.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        let auth_end = value[from..]
            .find(|c: char| matches!(c, '/' | '?' | '#' | '"' | '\'') || c.is_whitespace())
            .map_or(value.len(), |j| from + j);
        let authority = &value[from..auth_end];
        let hosts_at = authority.rfind('@').map_or(from, |j| from + j + 1);
        let mut at = hosts_at;
        for host in value[hosts_at..auth_end].split(',') {
            let here = at;
            at += host.len() + 1;
            let (name, port) = if let Some(v6) = host.strip_prefix('[') {
                match v6.split_once(']') {
                    Some((name, rest)) => (name, rest.strip_prefix(':')),
                    None => continue,
                }
            } else {
                match host.rsplit_once(':') {
                    Some((name, port)) => (name, Some(port)),
                    None => (host, None),
                }
            };
            let name_at = here + usize::from(host.starts_with('['));
            if name.is_empty() || name.contains(['$', '{', '}', '%']) {
                continue;
            }
            let port = match port {
                None => None,
                Some(p) => match port_number(p) {
                    Some(n) => Some((n, here + host.len() - p.len())),
                    None => continue,
                },
            };
            out.push(UrlHost {
                scheme,
                host: name,
                host_at: name_at,
                port,
            });
        }
        from = auth_end.max(from);
    }
    out
}

/// The connections a value names (URLs, with or without an explicit port): `(host, port,
/// byte offset of the port or host in `value`, confidence)`.
pub(crate) fn url_connects(value: &str) -> Vec<(String, u16, usize, Confidence)> {
    urls(value)
        .into_iter()
        .filter_map(|u| match u.port {
            Some((p, offset)) => Some((u.host.to_string(), p, offset, Confidence::High)),
            None => scheme_port(u.scheme)
                .map(|p| (u.host.to_string(), p, u.host_at, Confidence::Medium)),
        })
        .collect()
}

/// Reads one `.env` file.
pub fn parse(path: &str, text: &str, ctx: &Context) -> FileReport {
    let _ = ctx;
    let ix = LineIndex::new(path, text);
    let mut report = FileReport::default();
    let entries = entries(text);
    let by_key: BTreeMap<&str, &Entry<'_>> = entries.iter().map(|e| (e.key, e)).collect();
    for e in &entries {
        let line = ix.location(e.line_at);
        let (snippet, secret) = redact(ix.line_text(line.line as usize).trim());
        if secret {
            report.secrets.push(line.clone());
        }
        let value = e.value.trim();
        let is_reference = value.starts_with('$');
        let at = |offset: usize| {
            if e.verbatim {
                ix.location(e.value_at + offset)
            } else {
                ix.location(e.value_at)
            }
        };
        if let (Some(prefix), false) = (port_name(e.key), is_reference)
            && let Some(port) = port_token(value)
        {
            let lead = e.value.len() - e.value.trim_start().len();
            // `SMTP_PORT`, `REDIS_PORT`: a port the app connects to, not one it serves
            let (role, _) = crate::code::role_for_var(e.key);
            let mut u = PortUse {
                service: Some(prefix.to_ascii_lowercase().replace('_', "-"))
                    .filter(|s| !s.is_empty()),
                variable: Some(e.key.to_string()),
                confidence: Confidence::Medium,
                snippet: snippet.clone(),
                ..PortUse::new(at(lead), SourceKind::Env, role, port)
            };
            let host_key = if prefix.is_empty() {
                "HOST".to_string()
            } else {
                format!("{prefix}_HOST")
            };
            if let Some(host) = by_key.get(host_key.as_str()).map(|h| h.value.trim()) {
                if matches!(host, "0.0.0.0" | "::" | "[::]") {
                    u.role = Role::Listen;
                    u.bind = Some(host.trim_matches(['[', ']']).to_string());
                } else if !host.is_empty() && !host.starts_with('$') {
                    u.role = Role::Connect;
                    u.peer = Some(host.to_string());
                }
            }
            report.uses.push(u);
            continue;
        }
        for UrlHost {
            scheme,
            host,
            host_at,
            port,
        } in urls(&e.value)
        {
            let (port, offset, confidence) = match port {
                Some((p, offset)) => (p, offset, Confidence::High),
                None => match scheme_port(scheme) {
                    Some(p) => (p, host_at, Confidence::Medium),
                    None => continue,
                },
            };
            report.uses.push(PortUse {
                peer: Some(host.to_string()),
                variable: Some(e.key.to_string()),
                confidence,
                snippet: snippet.clone(),
                ..PortUse::new(
                    at(offset),
                    SourceKind::Env,
                    Role::Connect,
                    PortRange::single(port),
                )
            });
        }
    }
    report
}

#[cfg(test)]
mod tests;
