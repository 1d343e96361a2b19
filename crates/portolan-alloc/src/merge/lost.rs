//! What replacing the registry's spec with a file would lose: every entity the registry
//! has and the file lacks (a service with its ports and lease, a reservation, a host, a
//! project, a network, a route, a flow), and every entity both have that the file says
//! differently. The registry answers a stale `push` with this list and logs it, item by
//! item, when a `push --force` drops it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use toml_edit::DocumentMut;

use super::norm::{self, Norm};
use super::{MergeError, SETS, describe, parse};

/// One thing a replacement would lose.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Lost {
    /// `service`, `reservation`, `host`, `project`, `network`, `environment`, `route`,
    /// `flow`, `expect`, or `section` (`[spec]`, `[lint]`).
    pub kind: String,
    /// Its name (`search`), or how a set element reads (`ports "8010" why "demo"`).
    pub name: String,
    /// What it holds (`main 8003`, `lease-until 2026-05-01T12:00:00Z`), or for a changed
    /// entity which key differs (`bindings.http.port: 8001 here, 8000 in the file`).
    pub detail: String,
    /// Whether the file has it, written differently (else the file lacks it).
    pub changed: bool,
    /// The ports it holds (`8003`, `8000, 9100`; empty for what holds none).
    pub ports: String,
}

impl std::fmt::Display for Lost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.changed {
            write!(f, "{} `{}` differs: {}", self.kind, self.name, self.detail)
        } else if self.detail.is_empty() {
            write!(f, "{} `{}`", self.kind, self.name)
        } else {
            write!(f, "{} `{}` ({})", self.kind, self.name, self.detail)
        }
    }
}

fn kind_of(collection: &str) -> String {
    match collection {
        "services" => "service",
        "hosts" => "host",
        "projects" => "project",
        "networks" => "network",
        "environments" => "environment",
        "reservations" => "reservation",
        "routes" => "route",
        "flows" => "flow",
        other => other,
    }
    .to_string()
}

/// What a service holds, in a few words (`http 8000, metrics 9100; lease until …`), and
/// its ports (`8000, 9100`).
fn holds(n: &Norm) -> (String, String) {
    let Some(t) = n.as_table() else {
        return (n.short(), String::new());
    };
    let mut parts: Vec<String> = Vec::new();
    let mut ports: Vec<String> = Vec::new();
    if let Some(b) = t.get("bindings").and_then(Norm::as_table) {
        for (name, b) in b {
            let port = b
                .as_table()
                .and_then(|bt| bt.get("port"))
                .map_or_else(|| "?".into(), |p| p.short().trim_matches('"').to_string());
            parts.push(format!("{name} {port}"));
            ports.push(port);
        }
    }
    let mut s = parts.join(", ");
    for key in ["lease-until", "lease_until"] {
        if let Some(l) = t.get(key) {
            let _ = write!(s, "; lease until {}", l.short().trim_matches('"'));
        }
    }
    (s, ports.join(", "))
}

/// The first key (depth first, sorted) where two tables differ.
fn first_difference(path: &str, a: &Norm, b: &Norm) -> String {
    match (a, b) {
        (Norm::Table(x), Norm::Table(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let sub = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) if p == q => {}
                    (Some(p), Some(q)) => return first_difference(&sub, p, q),
                    (Some(p), None) => {
                        return format!("{sub}: {} here, absent in the file", p.short());
                    }
                    (None, Some(q)) => {
                        return format!("{sub}: absent here, {} in the file", q.short());
                    }
                    (None, None) => {}
                }
            }
            String::new()
        }
        _ => format!("{path}: {} here, {} in the file", a.short(), b.short()),
    }
}

/// A document's top-level keys, normalized.
type Root = BTreeMap<String, Norm>;

fn roots(registry: &str, file: &str) -> Result<(Root, Root), MergeError> {
    let r: DocumentMut = parse("the registry's spec", registry)?;
    let f: DocumentMut = parse("the file", file)?;
    Ok((norm::root(&r), norm::root(&f)))
}

/// What replacing `registry` with `file` would lose, sorted.
pub fn lost(registry: &str, file: &str) -> Result<Vec<Lost>, MergeError> {
    let (r, f) = roots(registry, file)?;
    let mut out = Vec::new();
    for (key, rv) in &r {
        let fv = f.get(key);
        if SETS.contains(&key.as_str()) {
            let fe = super::elements(key, fv);
            for e in super::elements(key, Some(rv)) {
                if !fe.contains(&e) {
                    let ports = e
                        .as_table()
                        .and_then(|t| t.get("ports"))
                        .map(|p| p.short().trim_matches('"').to_string())
                        .unwrap_or_default();
                    out.push(Lost {
                        kind: kind_of(key),
                        name: describe(&e),
                        detail: String::new(),
                        changed: false,
                        ports,
                    });
                }
            }
            continue;
        }
        let entities = rv
            .as_table()
            .filter(|t| t.values().all(|v| v.as_table().is_some()) && !t.is_empty());
        match (entities, fv) {
            // a collection: entity by entity
            (Some(rt), fv) => {
                let ft = fv.and_then(Norm::as_table);
                for (name, e) in rt {
                    let (held, ports) = if key == "services" {
                        holds(e)
                    } else {
                        (String::new(), String::new())
                    };
                    match ft.and_then(|t| t.get(name)) {
                        None => out.push(Lost {
                            kind: kind_of(key),
                            name: name.clone(),
                            detail: held,
                            changed: false,
                            ports,
                        }),
                        Some(fe) if fe != e => out.push(Lost {
                            kind: kind_of(key),
                            name: name.clone(),
                            detail: first_difference("", e, fe),
                            changed: true,
                            ports,
                        }),
                        Some(_) => {}
                    }
                }
            }
            (None, None) => out.push(Lost {
                kind: "section".into(),
                name: key.clone(),
                detail: String::new(),
                changed: false,
                ports: String::new(),
            }),
            (None, Some(fv)) if fv != rv => out.push(Lost {
                kind: "section".into(),
                name: key.clone(),
                detail: first_difference(key, rv, fv),
                changed: true,
                ports: String::new(),
            }),
            (None, Some(_)) => {}
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_what_the_file_lacks_or_says_differently() {
        let registry = "[projects.web]\nrange = \"8000-8099\"\n\n[services.search]\nproject = \"web\"\nlease-until = \"2026-05-01T12:00:00Z\"\n\n[services.search.bindings.main]\nport = 8003\n\n[services.api.bindings.http]\nport = 8001\n\n[[reservations]]\nports = 8010\nwhy = \"demo\"\n\n[lint]\nallow = [\"privileged-port\"]\n";
        let file = "[projects.web]\nrange = \"8000-8099\"\n[services.api]\nbindings.http = { port = 8000 }\n";
        let got: Vec<String> = lost(registry, file)
            .expect("lost")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            got,
            vec![
                "reservation `ports \"8010\" why \"demo\"`",
                "section `lint`",
                "service `api` differs: bindings.http.port: 8001 here, 8000 in the file",
                "service `search` (main 8003; lease until 2026-05-01T12:00:00Z)",
            ]
        );
        assert!(lost(registry, registry).expect("lost").is_empty());
    }
}
