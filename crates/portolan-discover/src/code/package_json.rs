//! package.json: every `scripts` value through [`cmdline`](crate::cmdline) (`next dev -p
//! 3000`, `vite --port 5173`, `http-server -p 8080`), and `"proxy": "http://localhost:5000"`
//! (create-react-app's dev proxy: [`Role::Connect`], medium). The package `name` is the
//! service. The JSON is read with `serde_json`; each script string is then found in the text
//! (decoding its escapes) so evidence points at the port token. Invalid JSON is a problem.

use std::collections::BTreeMap;

use portolan_model::port::PortRange;
use serde_json::Value;

use crate::cmdline::{self, json_string, snippet};
use crate::evidence::{Confidence, FileReport, PortUse, Problem, Role, SourceKind};
use crate::text::{LineIndex, port_number};

/// Reads one package.json.
pub(super) fn parse(path: &str, text: &str) -> FileReport {
    let ix = LineIndex::new(path, text);
    let mut report = FileReport::default();
    let root: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            report.problems.push(Problem {
                at: ix.at(e.line().max(1), e.column().max(1)),
                reason: format!("invalid package.json: {e}"),
            });
            return report;
        }
    };
    let name = root.get("name").and_then(Value::as_str).map(str::to_string);
    let mut uses: Vec<PortUse> = Vec::new();
    if let Some(scripts) = root.get("scripts").and_then(Value::as_object) {
        let base = key_value(text, "scripts", 0).unwrap_or(0);
        for (key, value) in scripts {
            let Some(cmd) = value.as_str() else { continue };
            let found = key_value(text, key, base)
                .and_then(|at| json_string(text, at))
                .filter(|(v, _, _)| v == cmd);
            let vars = BTreeMap::new();
            let got = match found {
                Some((v, map, _)) => cmdline::scan_mapped(
                    &ix,
                    SourceKind::PackageJson,
                    &v,
                    &map,
                    &vars,
                    Confidence::Medium,
                ),
                None => cmdline::scan_with(
                    &ix,
                    SourceKind::PackageJson,
                    cmd,
                    base,
                    &vars,
                    Confidence::Medium,
                )
                .into_iter()
                .map(|u| PortUse {
                    at: ix.location(base),
                    snippet: snippet(&ix, &ix.location(base)),
                    ..u
                })
                .collect(),
            };
            uses.extend(got);
        }
    }
    if let Some(proxy) = root.get("proxy").and_then(Value::as_str)
        && let Some(u) = proxy_use(&ix, text, proxy)
    {
        uses.push(u);
    }
    uses.sort_by_key(|a| (a.at.line, a.at.col));
    report.uses = uses
        .into_iter()
        .map(|u| PortUse {
            service: name.clone(),
            ..u
        })
        .collect();
    report
}

/// `"proxy": "http://host:port"`.
fn proxy_use(ix: &LineIndex<'_>, text: &str, proxy: &str) -> Option<PortUse> {
    let rest = proxy.split_once("://").map_or(proxy, |(_, r)| r);
    let hostport = rest.split('/').next().unwrap_or(rest);
    let (host, port) = hostport.rsplit_once(':')?;
    let port = port_number(port)?;
    let at = key_value(text, "proxy", 0)
        .map_or(0, |at| at + 1 + proxy.len() - rest.len() + host.len() + 1);
    let loc = ix.location(at);
    Some(PortUse {
        peer: Some(host.trim_matches(['[', ']']).to_string()),
        confidence: Confidence::Medium,
        snippet: snippet(ix, &loc),
        ..PortUse::new(
            loc,
            SourceKind::PackageJson,
            Role::Connect,
            PortRange::single(port),
        )
    })
}

/// The offset of the value of `"key":` (its opening quote or first byte) at or after `from`.
fn key_value(text: &str, key: &str, from: usize) -> Option<usize> {
    let quoted = serde_json::to_string(key).ok()?;
    let mut search = from;
    while let Some(i) = text.get(search..)?.find(&quoted) {
        let after = search + i + quoted.len();
        let rest = text.get(after..)?;
        let trimmed = rest.trim_start();
        if let Some(v) = trimmed.strip_prefix(':') {
            let v_trim = v.trim_start();
            return Some(text.len() - v_trim.len());
        }
        search = after;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_proxy() {
        let text = r#"{
  "name": "web",
  "scripts": {
    "dev": "next dev -p 3000",
    "start": "next start --port \"3001\"",
    "lint": "eslint ."
  },
  "proxy": "http://localhost:5000"
}
"#;
        let r = parse("package.json", text);
        assert!(r.problems.is_empty());
        let u = &r.uses;
        assert_eq!(u.len(), 3);
        assert_eq!(u[0].port.lo, 3000);
        assert_eq!(u[0].at.to_string(), "package.json:4:25");
        assert_eq!(u[0].service.as_deref(), Some("web"));
        assert_eq!(u[1].port.lo, 3001);
        assert_eq!(u[1].at.to_string(), "package.json:5:35");
        assert_eq!((u[2].port.lo, u[2].role), (5000, Role::Connect));
        assert_eq!(u[2].peer.as_deref(), Some("localhost"));
        assert_eq!(u[2].at.to_string(), "package.json:8:30");
    }

    #[test]
    fn invalid_json_is_a_problem() {
        let r = parse("package.json", "{\n  \"scripts\": {\n");
        assert!(r.uses.is_empty());
        assert_eq!(r.problems.len(), 1);
        assert_eq!(r.problems[0].at.line, 3);
    }
}
