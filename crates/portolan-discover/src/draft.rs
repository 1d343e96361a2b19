//! From findings to a spec: the services a repository's ports imply ([`services`]), a
//! starter `ports.toml` from them (`init --from-discover`), the TOML of one service or
//! binding (`discover --write` adds those the spec lacks), and the comparison both ways
//! (`discover --diff`).
//!
//! A drafted binding says what the code does today — a compose port published without an
//! address is drafted `bind = "0.0.0.0"`, `exposure = "public"`, so `portolan lint` shows
//! the problem instead of the draft hiding it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use portolan_model::port::PortRange;
use portolan_model::spec::{Publisher, Transport};
use serde::Serialize;

use crate::evidence::{Confidence, FileReport, Location, PortUse, Role};
use crate::walk::{sanitize, service_name};

/// A service as the repository implies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DraftService {
    /// Spec-safe name.
    pub name: String,
    /// Its bindings, by port.
    pub bindings: Vec<DraftBinding>,
}

/// A binding as the repository implies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DraftBinding {
    /// Binding name (`http`, `postgres`, `tcp-9000`).
    pub name: String,
    /// Host-side port(s).
    pub port: PortRange,
    /// Container-side port(s), when published.
    pub target: Option<PortRange>,
    /// Transport.
    pub transport: Transport,
    /// Bind address, when one was written and is an IP address (`localhost` → 127.0.0.1).
    pub bind: Option<IpAddr>,
    /// Publisher, when not the process itself.
    pub publisher: Option<Publisher>,
    /// `localhost`, `public`, `host-internal`, or `None` (the spec default, `internal`).
    pub exposure: Option<&'static str>,
    /// Well-known application on that port (`postgres`).
    pub app: Option<&'static str>,
    /// Every place that says so (`file:line:col`), best evidence first.
    pub evidence: Vec<Location>,
    /// The strongest evidence's confidence.
    pub confidence: Confidence,
}

/// Whether a use declares a port something listens on (rather than connects to).
fn declares(u: &PortUse) -> bool {
    matches!(u.role, Role::Listen | Role::Publish | Role::Expose)
}

/// `localhost` → loopback; an IP as itself; `*`, empty, hostnames → none.
pub fn bind_ip(bind: &str) -> Option<IpAddr> {
    let b = bind.trim().trim_start_matches('[').trim_end_matches(']');
    match b {
        "localhost" => Some(IpAddr::from([127, 0, 0, 1])),
        "*" | "" => Some(IpAddr::from([0, 0, 0, 0])),
        _ => b.parse().ok(),
    }
}

/// The services the uses of `report` imply, sorted by name; each binding keyed by
/// (port, transport). A container port that a publish of the same service maps to is the
/// same binding, not a second one.
pub fn services(report: &FileReport) -> Vec<DraftService> {
    let mut by: BTreeMap<String, BTreeMap<(PortRange, Transport), DraftBinding>> = BTreeMap::new();
    // publishes first, so container-side uses fold into them
    let mut uses: Vec<&PortUse> = report.uses.iter().filter(|u| declares(u)).collect();
    uses.sort_by_key(|u| {
        (
            u.role != Role::Publish,
            std::cmp::Reverse(u.confidence),
            &u.at,
        )
    });
    for u in uses {
        let service = service_name(u);
        let bindings = by.entry(service).or_default();
        if u.role != Role::Publish
            && let Some(b) = bindings
                .values_mut()
                .find(|b| b.target == Some(u.port) && b.transport == u.transport)
        {
            b.evidence.push(u.at.clone());
            continue;
        }
        let key = (u.port, u.transport);
        if let Some(b) = bindings.get_mut(&key) {
            b.evidence.push(u.at.clone());
            continue;
        }
        let bind = u.bind.as_deref().and_then(bind_ip);
        let exposure = match (u.role, bind) {
            (_, Some(ip)) if ip.is_loopback() => Some("localhost"),
            (Role::Expose, _) => Some("host-internal"),
            (Role::Publish, None) => Some("public"),
            (Role::Publish, Some(ip)) if ip.is_unspecified() => Some("public"),
            _ => None,
        };
        let bind = match (u.role, bind) {
            (Role::Publish, None) => Some(IpAddr::from([0, 0, 0, 0])),
            (_, b) => b,
        };
        // only the major users of a port name it: 5001 is "iperf2" to IANA, not to a Flask app
        let app = portolan_model::knowledge::well_known::lookup(u.port.lo)
            .iter()
            .find(|w| w.major)
            .map(|w| w.name);
        bindings.insert(
            key,
            DraftBinding {
                name: String::new(),
                port: u.port,
                target: u.target.filter(|t| *t != u.port || u.role == Role::Publish),
                transport: u.transport,
                bind,
                publisher: u.publisher.filter(|p| *p != Publisher::Host),
                exposure,
                app,
                evidence: vec![u.at.clone()],
                confidence: u.confidence,
            },
        );
    }
    by.into_iter()
        .map(|(name, bindings)| {
            let mut bindings: Vec<DraftBinding> = bindings.into_values().collect();
            name_bindings(&mut bindings);
            DraftService { name, bindings }
        })
        .collect()
}

/// Names bindings after their application (`postgres`, `http`), else `tcp-8000`; repeats
/// get the port appended.
fn name_bindings(bindings: &mut [DraftBinding]) {
    let mut taken: BTreeMap<String, usize> = BTreeMap::new();
    for b in bindings.iter() {
        if let Some(a) = b.app {
            *taken.entry(sanitize(a)).or_default() += 1;
        }
    }
    for b in bindings.iter_mut() {
        b.name = match b.app.map(sanitize) {
            Some(a) if taken.get(&a) == Some(&1) => a,
            _ => format!("{}-{}", b.transport.as_str(), b.port),
        };
    }
}

/// A TOML basic string.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A port as a TOML value: `8000`, or `"8000-8010"` for a range.
pub fn port_value(r: PortRange) -> String {
    if r.lo == r.hi {
        r.lo.to_string()
    } else {
        quote(&r.to_string())
    }
}

/// The inline table of one binding (`{ port = 8000, bind = "127.0.0.1", … }`).
pub fn binding_toml(b: &DraftBinding) -> String {
    let mut parts = vec![format!("port = {}", port_value(b.port))];
    if let Some(t) = b.target {
        parts.push(format!("target = {}", port_value(t)));
    }
    if b.transport != Transport::Tcp {
        parts.push(format!("transport = {}", quote(b.transport.as_str())));
    }
    if let Some(p) = b.publisher {
        parts.push(format!("publisher = {}", quote(p.as_str())));
    }
    if let Some(ip) = b.bind {
        parts.push(format!("bind = {}", quote(&ip.to_string())));
    }
    if let Some(a) = b.app {
        parts.push(format!("app = {}", quote(a)));
    }
    if let Some(e) = b.exposure {
        parts.push(format!("exposure = {}", quote(e)));
    }
    format!("{{ {} }}", parts.join(", "))
}

/// `[services.NAME]` with its bindings and evidence, as TOML text. `host` places it.
pub fn service_toml(s: &DraftService, host: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "[services.{}]", s.name);
    if let Some(h) = host {
        let _ = writeln!(out, "hosts = [{}]", quote(h));
    }
    if s.bindings.iter().any(|b| b.port.lo < 1024) {
        let _ = writeln!(out, "privileged = true");
    }
    let mut evidence: Vec<String> = s
        .bindings
        .iter()
        .flat_map(|b| b.evidence.iter().map(ToString::to_string))
        .collect();
    evidence.sort();
    evidence.dedup();
    if !evidence.is_empty() {
        let _ = writeln!(out, "evidence = [");
        for e in &evidence {
            let _ = writeln!(out, "  {},", quote(e));
        }
        let _ = writeln!(out, "]");
    }
    for b in &s.bindings {
        let _ = writeln!(out, "bindings.{} = {}", b.name, binding_toml(b));
    }
    out
}

/// A starter spec: one host (`local`, on the public network so drafted exposures mean what
/// they say) and every drafted service on it.
pub fn starter_spec(name: &str, services: &[DraftService]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Draft spec written by `portolan init --from-discover` from what the code uses."
    );
    let _ = writeln!(
        out,
        "# Exposures say what the code exposes TODAY: narrow each to what is intended, name"
    );
    let _ = writeln!(out, "# projects and ranges, then run `portolan lint`.\n");
    let _ = writeln!(out, "[spec]\nname = {}\n", quote(name));
    let _ = writeln!(
        out,
        "[hosts.local]\ndescription = \"the machine the repository's services run on\"\nnetworks = [\"public\"]\n"
    );
    for s in services {
        out.push_str(&service_toml(s, Some("local")));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SourceKind;

    fn u(path: &str, role: Role, port: u16) -> PortUse {
        PortUse::new(
            Location::new(path, 3, 5),
            SourceKind::Compose,
            role,
            PortRange::single(port),
        )
    }

    #[test]
    fn publishes_absorb_their_container_side() {
        let mut report = FileReport::default();
        let mut p = u("docker-compose.yml", Role::Publish, 15432);
        p.service = Some("db".into());
        p.target = Some(PortRange::single(5432));
        p.publisher = Some(Publisher::Docker);
        let mut e = u("Dockerfile", Role::Expose, 5432);
        e.service = Some("db".into());
        report.uses = vec![e, p];
        let s = services(&report);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].bindings.len(), 1);
        let b = &s[0].bindings[0];
        assert_eq!(b.port, PortRange::single(15432));
        assert_eq!(b.exposure, Some("public"));
        assert_eq!(b.evidence.len(), 2);
        assert_eq!(
            binding_toml(b),
            r#"{ port = 15432, target = 5432, publisher = "docker", bind = "0.0.0.0", exposure = "public" }"#
        );
    }

    #[test]
    fn loopback_binds_are_localhost_and_connects_are_not_services() {
        let mut report = FileReport::default();
        let mut l = u("app.py", Role::Listen, 5001);
        l.bind = Some("localhost".into());
        l.service = Some("api".into());
        report.uses = vec![l, u(".env", Role::Connect, 5432)];
        let s = services(&report);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].bindings[0].exposure, Some("localhost"));
        assert_eq!(s[0].bindings[0].name, "tcp-5001");
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(quote("a\"b\\c\n"), r#""a\"b\\c\n""#);
    }
}

/// A declared binding the repository no longer mentions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unused {
    /// `service.binding`.
    pub binding: String,
    /// Its port(s).
    pub port: PortRange,
    /// Its transport.
    pub transport: Transport,
    /// Where the spec declares it (`ports.toml:12:1`).
    pub declared_at: String,
}

/// Code and spec disagree about a port both mention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disagreement {
    /// `service.binding` of the spec.
    pub binding: String,
    /// The port.
    pub port: PortRange,
    /// What differs, in words (`bind: spec 127.0.0.1, code 0.0.0.0`).
    pub what: String,
    /// Where the code says so.
    pub at: Location,
}

/// `discover --diff`: both directions, plus disagreements.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// Services (with only the bindings the spec lacks) the code uses and the spec does not
    /// declare.
    pub undeclared: Vec<DraftService>,
    /// Declared bindings nothing in the code uses.
    pub unused: Vec<Unused>,
    /// Ports both mention, described differently.
    pub disagreements: Vec<Disagreement>,
}

impl Diff {
    /// Whether code and spec agree.
    pub fn is_empty(&self) -> bool {
        self.undeclared.is_empty() && self.unused.is_empty() && self.disagreements.is_empty()
    }
}

/// Compares what the code uses with what `model` declares. A port matches a binding with the
/// same port and transport on the host side, or a published binding's container side.
pub fn diff(model: &portolan_model::Model, report: &FileReport) -> Diff {
    let declared: Vec<&portolan_model::model::Binding> = {
        let mut seen = std::collections::BTreeSet::new();
        model
            .bindings
            .iter()
            .filter(|b| seen.insert((b.service, b.name.as_str(), b.ports, b.transport)))
            .collect()
    };
    let matches = |b: &portolan_model::model::Binding, port: PortRange, t: Transport| {
        b.transport == t && (b.ports.covers(&port) || b.target.is_some_and(|x| x.covers(&port)))
    };
    let mut out = Diff::default();
    for s in services(report) {
        let missing: Vec<DraftBinding> = s
            .bindings
            .iter()
            .filter(|d| !declared.iter().any(|b| matches(b, d.port, d.transport)))
            .cloned()
            .collect();
        if !missing.is_empty() {
            out.undeclared.push(DraftService {
                name: s.name.clone(),
                bindings: missing,
            });
        }
    }
    for b in &declared {
        let used = report.uses.iter().any(|u| {
            matches(b, u.port, u.transport) || u.target.is_some_and(|t| matches(b, t, u.transport))
        });
        if !used {
            out.unused.push(Unused {
                binding: b.qualified_name(model),
                port: b.ports,
                transport: b.transport,
                declared_at: {
                    let p = model.sources.position(b.port_loc);
                    format!("{}:{}:{}", p.file, p.line, p.column)
                },
            });
        }
    }
    // disagreements: the code binds wider (or elsewhere) than the spec says
    for u in report.uses.iter().filter(|u| declares(u)) {
        let Some(code_bind) = u.bind.as_deref().and_then(bind_ip).or(match u.role {
            Role::Publish => Some(IpAddr::from([0, 0, 0, 0])),
            _ => None,
        }) else {
            continue;
        };
        for b in declared
            .iter()
            .filter(|b| b.transport == u.transport && b.ports.covers(&u.port))
        {
            if b.bind != code_bind && !(b.bind.is_unspecified() && code_bind.is_unspecified()) {
                out.disagreements.push(Disagreement {
                    binding: b.qualified_name(model),
                    port: u.port,
                    what: format!("bind: spec {}, code {code_bind}", b.bind),
                    at: u.at.clone(),
                });
            }
        }
    }
    out.unused
        .sort_by(|a, b| (&a.binding, a.port).cmp(&(&b.binding, b.port)));
    out.disagreements
        .sort_by(|a, b| (&a.at, &a.binding).cmp(&(&b.at, &b.binding)));
    out.disagreements.dedup();
    out
}
