//! From findings to a spec: the services a repository's ports imply ([`services`]), a
//! starter `ports.toml` from them (`init --from-discover`), the TOML of one service or
//! binding (`discover --write` adds those the spec lacks), and the comparison both ways
//! (`discover --diff`).
//!
//! A drafted binding says what the code does today — a compose port published without an
//! address is drafted `bind = "0.0.0.0"`, `exposure = "public"`, so `portolan lint` shows
//! the problem instead of the draft hiding it; an upstream behind a public TLS route is
//! `exposure = "public", tls = "proxy"`. Which evidence belongs to which service, and on
//! which host it listens, is decided in `build` (see there).

mod build;

use std::fmt::Write as _;
use std::net::IpAddr;

use portolan_model::port::PortRange;
use portolan_model::spec::{Publisher, Transport};
use portolan_model::toml_out::{self, InlineTable, string as quote};
use serde::Serialize;

use crate::evidence::{Confidence, FileReport, Location, PortUse, Role};
use crate::walk::sanitize;

pub use build::{K8S_NODES, LOCAL};

/// A service as the repository implies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DraftService {
    /// Spec-safe name.
    pub name: String,
    /// The host it runs on (its first binding's; `local` without bindings).
    pub host: String,
    /// Its bindings, by host and port.
    pub bindings: Vec<DraftBinding>,
}

/// A binding as the repository implies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DraftBinding {
    /// Binding name (`http`, `postgres`, `tcp-9000`).
    pub name: String,
    /// The host it is reachable on (`local`, a container's or Service's own host).
    pub host: String,
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
    /// `localhost`, `public`, `host-internal`, `internal`, or `None` (the spec default).
    pub exposure: Option<&'static str>,
    /// `native` for a TLS listener, `proxy` behind a TLS route.
    pub tls: Option<&'static str>,
    /// The listener only redirects to HTTPS.
    pub redirect: bool,
    /// A database or admin interface spoken over a generic protocol (`ClickHouse` over http).
    pub sensitive: bool,
    /// The application protocol the evidence names (program, image, framework, port name);
    /// never guessed from the port number.
    pub app: Option<String>,
    /// Every place that says so (`file:line:col`), best evidence first.
    pub evidence: Vec<Location>,
    /// The strongest evidence's confidence.
    pub confidence: Confidence,
}

/// A host the draft places services on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DraftHost {
    /// Spec-safe name.
    pub name: String,
    /// What it is.
    pub description: String,
    /// Its networks (`Some(vec![])`: none, only itself and its neighbours reach it).
    pub networks: Option<Vec<String>>,
}

/// A proxy route between two drafted bindings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DraftRoute {
    /// The listener, `service.binding`.
    pub from: String,
    /// The upstream, `service.binding`.
    pub to: String,
    /// Host match (`server_name`, Ingress host).
    pub host: Option<String>,
    /// Path prefix.
    pub path: Option<String>,
    /// Where the route is written.
    pub at: Location,
}

/// A connection a drafted service makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DraftFlow {
    /// The service that connects.
    pub from: String,
    /// `service.binding`, or an external `fqdn:port` / `cidr:port`.
    pub to: String,
    /// Where the connection is written.
    pub at: Location,
}

/// Everything a repository implies, ready to write as a spec.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Draft {
    /// Hosts, by name.
    pub hosts: Vec<DraftHost>,
    /// Services, by name.
    pub services: Vec<DraftService>,
    /// Proxy routes.
    pub routes: Vec<DraftRoute>,
    /// Connections.
    pub flows: Vec<DraftFlow>,
    /// What was seen and deliberately not drafted (an unselected `containerPort`, a route
    /// to an upstream outside the repository), one line each.
    pub notes: Vec<String>,
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

/// The draft of a repository's findings: services tied together by evidence, their hosts,
/// routes and flows ([`build`] says how). `root_name` names the walked root.
pub fn draft(report: &FileReport, root_name: &str) -> Draft {
    build::draft(report, root_name)
}

/// The services the uses of `report` imply, sorted by name.
pub fn services(report: &FileReport) -> Vec<DraftService> {
    draft(report, "repository").services
}

/// Names bindings after their application (`postgres`, `http`), else `tcp-8000`; when
/// several share an application, the first keeps the plain name and the others get their
/// port appended (`http`, `http-8080`).
fn name_bindings(bindings: &mut [DraftBinding]) {
    let mut taken: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for b in bindings.iter_mut() {
        let base = b
            .app
            .as_deref()
            .map_or_else(|| b.transport.as_str().to_string(), sanitize);
        let plain = b.app.is_some() && !taken.contains(&base);
        b.name = if plain {
            base.clone()
        } else {
            format!("{base}-{}", b.port.lo)
        };
        let mut n = 2;
        while taken.contains(&b.name) {
            b.name = format!("{base}-{}-{n}", b.port.lo);
            n += 1;
        }
        taken.insert(b.name.clone());
        taken.insert(base);
    }
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
    binding_toml_on(b, None)
}

/// [`binding_toml`], with `host = …` when the binding is not on `service_host`.
fn binding_toml_on(b: &DraftBinding, service_host: Option<&str>) -> String {
    let mut t = InlineTable::new();
    t.value("port", port_value(b.port));
    if service_host.is_some_and(|h| h != b.host) {
        t.string("host", &b.host);
    }
    if let Some(p) = b.target {
        t.value("target", port_value(p));
    }
    if b.transport != Transport::Tcp {
        t.string("transport", b.transport.as_str());
    }
    if let Some(p) = b.publisher {
        t.string("publisher", p.as_str());
    }
    if let Some(ip) = b.bind {
        t.string("bind", &ip.to_string());
    }
    if let Some(a) = &b.app {
        t.string("app", a);
    }
    if b.sensitive {
        t.value("sensitive", true);
    }
    if b.redirect {
        t.value("redirect", true);
    }
    if let Some(v) = b.tls {
        t.string("tls", v);
    }
    if let Some(e) = b.exposure {
        t.string("exposure", e);
    }
    t.to_string()
}

/// `[services.NAME]` with its bindings and evidence, as TOML text. `host` places it (a
/// binding on another host than the service's says so).
pub fn service_toml(s: &DraftService, host: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "[services.{}]", toml_out::key(&s.name));
    if let Some(h) = host {
        let _ = writeln!(out, "hosts = {}", toml_out::string_array([h]));
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
        let _ = writeln!(
            out,
            "bindings.{} = {}",
            toml_out::key(&b.name),
            binding_toml_on(b, host)
        );
    }
    out
}

/// A starter spec: the drafted hosts (`local`, on the public network so drafted exposures
/// mean what they say; a container's or Service's own address, on no network), every
/// drafted service, the routes and flows between them, and what was left out as comments.
pub fn starter_spec(name: &str, draft: &Draft) -> String {
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
    for h in &draft.hosts {
        let _ = writeln!(out, "[hosts.{}]", toml_out::key(&h.name));
        let _ = writeln!(out, "description = {}", quote(&h.description));
        if let Some(n) = &h.networks {
            let _ = writeln!(out, "networks = {}", toml_out::string_array(n));
        }
        out.push('\n');
    }
    for s in &draft.services {
        out.push_str(&service_toml(s, Some(&s.host)));
        out.push('\n');
    }
    for r in &draft.routes {
        // a path is a comment here: a newline in it must not end the comment
        let _ = writeln!(
            out,
            "[[routes]]  # {}",
            toml_out::comment_text(&r.at.to_string())
        );
        let _ = writeln!(out, "from = {}", quote(&r.from));
        let _ = writeln!(out, "to = {}", quote(&r.to));
        if let Some(h) = &r.host {
            let _ = writeln!(out, "host = {}", quote(h));
        }
        if let Some(p) = &r.path {
            let _ = writeln!(out, "path = {}", quote(p));
        }
        out.push('\n');
    }
    for f in &draft.flows {
        let _ = writeln!(
            out,
            "[[flows]]  # {}",
            toml_out::comment_text(&f.at.to_string())
        );
        let _ = writeln!(out, "from = {}", quote(&f.from));
        let _ = writeln!(out, "to = {}\n", quote(&f.to));
    }
    if !draft.notes.is_empty() {
        let _ = writeln!(out, "# Seen and not drafted:");
        for n in &draft.notes {
            let _ = writeln!(out, "# - {}", toml_out::comment_text(n));
        }
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

    fn compose_unit(name: &str, build: Option<&str>) -> crate::Unit {
        crate::Unit {
            at: Location::new("docker-compose.yml", 2, 3),
            kind: crate::UnitKind::ComposeService,
            name: name.into(),
            scope: Some("shop".into()),
            image: None,
            build: build.map(str::to_string),
            env_files: Vec::new(),
            mounts: Vec::new(),
            labels: Vec::new(),
            named_ports: Vec::new(),
        }
    }

    #[test]
    fn publishes_absorb_their_container_side() {
        let mut report = FileReport {
            units: vec![compose_unit("db", Some("db"))],
            ..FileReport::default()
        };
        let mut p = u("docker-compose.yml", Role::Publish, 15432);
        p.service = Some("db".into());
        p.target = Some(PortRange::single(5432));
        p.publisher = Some(Publisher::Docker);
        let mut e = u("db/Dockerfile", Role::Expose, 5432);
        e.source = SourceKind::Dockerfile;
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
    fn expose_only_ports_are_on_the_container_not_the_host() {
        let mut report = FileReport {
            units: vec![compose_unit("cache", None)],
            ..FileReport::default()
        };
        let mut e = u("docker-compose.yml", Role::Expose, 6379);
        e.service = Some("cache".into());
        report.uses = vec![e];
        let d = draft(&report, "shop");
        let b = &d.services[0].bindings[0];
        assert_eq!(b.host, "shop-cache");
        assert_eq!(b.exposure, Some("host-internal"));
        assert!(d.hosts.iter().all(|h| h.name != LOCAL));
    }

    #[test]
    fn loopback_binds_are_localhost_and_connects_are_not_services() {
        let mut report = FileReport::default();
        let mut l = u("api/app.py", Role::Listen, 5001);
        l.source = SourceKind::Python;
        l.bind = Some("localhost".into());
        let mut c = u(".env", Role::Connect, 5432);
        c.source = SourceKind::Env;
        report.uses = vec![l, c];
        let s = services(&report);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].name, "api");
        assert_eq!(s[0].bindings[0].exposure, Some("localhost"));
        assert_eq!(s[0].bindings[0].name, "tcp-5001");
    }

    /// Regression: a route's or flow's `file:line:col` comment carried the file name as
    /// written, so a path with a newline in it ended the comment and its rest became TOML.
    #[test]
    fn a_newline_in_a_path_stays_inside_the_comment() {
        let at = Location::new("deploy/evil\n[hosts.x]\nsite.conf", 1, 1);
        let d = Draft {
            routes: vec![DraftRoute {
                from: "web.https".into(),
                to: "api.http".into(),
                host: None,
                path: None,
                at: at.clone(),
            }],
            flows: vec![DraftFlow {
                from: "api".into(),
                to: "db.pg".into(),
                at,
            }],
            notes: vec!["odd\nnote".into()],
            ..Draft::default()
        };
        let text = starter_spec("shop", &d);
        let doc: toml::Table = toml::from_str(&text).expect("the draft is TOML");
        assert!(!doc.contains_key("hosts"), "{text}");
        assert!(
            text.contains("[[routes]]  # deploy/evil?[hosts.x]?site.conf:1:1"),
            "{text}"
        );
        assert!(text.contains("# - odd?note"), "{text}");
    }

    /// `compose.yml` and its override beside it describe one project: the override's ports
    /// and the base's image belong to the same service.
    #[test]
    fn a_compose_override_is_the_same_service() {
        let mut base = compose_unit("db", None);
        base.image = Some("postgres:16".into());
        let mut over = compose_unit("db", None);
        over.at = Location::new("docker-compose.override.yml", 2, 3);
        let mut p = u("docker-compose.override.yml", Role::Publish, 5432);
        p.service = Some("db".into());
        p.target = Some(PortRange::single(5432));
        let report = FileReport {
            units: vec![over, base],
            uses: vec![p],
            ..FileReport::default()
        };
        let d = draft(&report, "shop");
        assert_eq!(d.services.len(), 1);
        assert_eq!(d.services[0].name, "db");
        assert_eq!(d.services[0].bindings[0].app.as_deref(), Some("postgres"));
    }

    /// `proxy_pass http://app;` through `upstream app { server 127.0.0.1:8000; }` is a route
    /// to the process on 8000, and makes it public behind TLS.
    #[test]
    fn routes_through_upstream_groups_reach_their_member() {
        let ctx = crate::Context::default();
        let mut report = crate::nginx::parse(
            "deploy/nginx/site.conf",
            "upstream app { server 127.0.0.1:8000; }\nserver { listen 443 ssl; location / { proxy_pass http://app; } }\n",
            &ctx,
        );
        report.extend(crate::procfile::parse(
            "Procfile",
            "web: gunicorn shop.wsgi --bind 127.0.0.1:8000\n",
            &ctx,
        ));
        let d = draft(&report, "shop");
        assert_eq!(d.routes.len(), 1, "{d:?}");
        assert_eq!(
            (d.routes[0].from.as_str(), d.routes[0].to.as_str()),
            ("nginx.https", "web.http")
        );
        let web = d.services.iter().find(|s| s.name == "web").expect("web");
        assert_eq!(web.bindings[0].exposure, Some("public"));
        assert_eq!(web.bindings[0].tls, Some("proxy"));
    }

    #[test]
    fn the_same_short_name_in_unrelated_places_stays_apart() {
        let mut docs = compose_unit("web", None);
        docs.at = Location::new("docs/docker-compose.yml", 2, 3);
        docs.scope = Some("docs".into());
        let mut report = FileReport {
            units: vec![docs],
            ..FileReport::default()
        };
        let mut p = u("docs/docker-compose.yml", Role::Publish, 8088);
        p.service = Some("web".into());
        p.target = Some(PortRange::single(80));
        let mut proc_web = u("Procfile", Role::Listen, 8083);
        proc_web.source = SourceKind::Procfile;
        proc_web.service = Some("web".into());
        report.uses = vec![p, proc_web];
        let names: Vec<String> = draft(&report, "shop")
            .services
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["docs-web", "shop-web"]);
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
                host: s.host.clone(),
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
            // a published binding's `bind` is the publish address: the process inside the
            // container binding 0.0.0.0 is not a disagreement, only the publish is compared
            .filter(|b| {
                u.role == Role::Publish
                    || !matches!(b.publisher, Publisher::Docker | Publisher::Podman)
            })
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
