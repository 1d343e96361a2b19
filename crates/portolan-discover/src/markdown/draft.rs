//! What the import learns, before it is written out as a spec: networks, hosts and their
//! firewalls, projects with blocks, services with bindings (base and per environment),
//! routes, outbound flows, reservations, notes and the rows that were skipped (with why).
//! Everything is keyed and sorted so the output is stable.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use portolan_model::port::PortRange;
use portolan_model::spec::{Publisher, Transport};

/// Who a binding is meant for, as the document words it; networks are resolved when the
/// spec is written (a `LAN` the document never gives a CIDR for becomes `internal`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Audience {
    /// `localhost`.
    Localhost,
    /// `host-internal` (containers on the host).
    HostInternal,
    /// `internal`.
    Internal,
    /// `public`.
    Public,
    /// A network by its guessed name (`lan`, `vpn`, `pos-lan`).
    Network(String),
    /// Addresses written out (`10.44.0.0/24`).
    Cidr(String),
}

/// A binding, as far as the document says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BindingDraft {
    /// Host port(s).
    pub port: Option<PortRange>,
    /// Container port.
    pub target: Option<PortRange>,
    /// Bind address.
    pub bind: Option<IpAddr>,
    /// Transport, when said.
    pub transport: Option<Transport>,
    /// App protocol.
    pub app: Option<String>,
    /// Publisher, when not the process itself.
    pub publisher: Option<Publisher>,
    /// Declared audience.
    pub exposure: Vec<Audience>,
    /// `native` / `proxy`.
    pub tls: Option<&'static str>,
    /// Redirect-only (HTTP → HTTPS).
    pub redirect: bool,
    /// What this binding is for, when it differs from the service's purpose.
    pub purpose: Option<String>,
    /// Holds sensitive data or controls something (said for web UIs of monitoring and
    /// admin tools, which the app protocol alone does not reveal).
    pub sensitive: Option<bool>,
    /// Authentication required, when the document says (`Auth required: yes`).
    pub auth: Option<bool>,
    /// The document says it is reached through the proxy (`nginx only`, `via Caddy`,
    /// `behind nginx`): its exposure is the proxy's.
    pub via_proxy: bool,
    /// Lines it comes from.
    pub lines: BTreeSet<usize>,
}

/// A service.
#[derive(Debug, Clone, Default)]
pub struct ServiceDraft {
    /// The name as written.
    pub display: String,
    /// Owning project key.
    pub project: Option<String>,
    /// What it does.
    pub purpose: Option<String>,
    /// `reserved`, `deprecated`, `planned` (active is the default).
    pub status: Option<&'static str>,
    /// `YYYY-MM-DD`.
    pub since: Option<String>,
    /// Environment the document places it in (`None`: every environment).
    pub env: Option<String>,
    /// Program (from a command line).
    pub process: Option<String>,
    /// Base bindings by name.
    pub bindings: BTreeMap<String, BindingDraft>,
    /// Hosts the document places it on (keys of [`Draft::hosts`]); empty: not said.
    pub hosts: BTreeSet<String>,
    /// Per-environment binding changes (environment → binding → fields).
    pub overrides: BTreeMap<String, BTreeMap<String, BindingDraft>>,
    /// Lines it comes from.
    pub lines: BTreeSet<usize>,
}

/// A firewall rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDraft {
    /// `allow` / `deny`.
    pub action: &'static str,
    /// Ports (empty: every port).
    pub ports: Vec<PortRange>,
    /// Transport (`None`: both).
    pub transport: Option<Transport>,
    /// Source: a CIDR (resolved to a network name on output) or `None` for any.
    pub from: Option<String>,
    /// The command as written (redacted), plus the comment above it.
    pub comment: String,
    /// Line of the command.
    pub line: usize,
}

/// A firewall ruleset found in one section.
#[derive(Debug, Clone)]
pub struct FirewallDraft {
    /// `ufw`, `iptables`, …
    pub kind: &'static str,
    /// Environment of the section, if it names one.
    pub env: Option<String>,
    /// `allow` / `deny`, when the document sets the default.
    pub inbound: Option<&'static str>,
    /// Rules in order.
    pub rules: Vec<RuleDraft>,
    /// First line.
    pub line: usize,
    /// The heading it is under.
    pub heading: String,
    /// Whether the kind is a guess (an "open ports" list names no software).
    pub assumed: bool,
    /// Hosts it is on, when the document says (section or caption).
    pub hosts: Vec<String>,
}

/// A project.
#[derive(Debug, Clone, Default)]
pub struct ProjectDraft {
    /// The name as written.
    pub display: String,
    /// Its range.
    pub range: Vec<PortRange>,
    /// Blocks: name → (ports, purpose, line).
    pub blocks: BTreeMap<String, (Vec<PortRange>, String, usize)>,
    /// What it is.
    pub description: Option<String>,
    /// Lines it comes from.
    pub lines: BTreeSet<usize>,
}

/// A proxy route: the listener port and the upstream port (resolved to bindings on output).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteDraft {
    /// Port the proxy listens on.
    pub listen: u16,
    /// Upstream port.
    pub upstream: u16,
    /// `server_name`, when one is given.
    pub host: Option<String>,
    /// Line of the pass directive.
    pub line: usize,
    /// The proxy service (key), when known.
    pub proxy: Option<String>,
    /// The upstream's host as written (`127.0.0.1`, `10.5.0.21`, `gitea`).
    pub upstream_host: Option<String>,
}

/// A machine the document names (a hosts table, a `Host` column, `**web-1** — 10.0.0.5`).
#[derive(Debug, Clone, Default)]
pub struct HostDraft {
    /// The name as written.
    pub display: String,
    /// Addresses.
    pub addresses: BTreeSet<String>,
    /// Environment, when its section names one.
    pub env: Option<String>,
    /// What it is (role column, site).
    pub description: Option<String>,
    /// The document says it is (`Some(true)`) or is not (`Some(false)`) reachable from the
    /// Internet.
    pub public: Option<bool>,
    /// Made up by the import (the cluster network of `ClusterIP` services), not a machine
    /// the document names.
    pub synthetic: bool,
    /// Lines it comes from.
    pub lines: BTreeSet<usize>,
}

/// Where an outbound connection goes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum FlowTarget {
    /// A name or address outside the document's hosts (`api.stripe.com`, `10.1.2.3`).
    External(String),
    /// Something the document declares: resolved to the binding on `port` of the service
    /// whose name contains this (or any binding on the port) when the spec is written.
    Declared(String),
}

/// An outbound connection (a dependency table row, a URL the app connects to).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FlowDraft {
    /// The connecting service (key), when the document says which.
    pub from: Option<String>,
    /// Hosts it connects from, when the document says (for a source service it creates).
    pub from_hosts: BTreeSet<String>,
    /// Destination.
    pub to: FlowTarget,
    /// Port(s).
    pub port: PortRange,
    /// Transport, when said.
    pub transport: Option<Transport>,
    /// Why.
    pub purpose: Option<String>,
    /// Line.
    pub line: usize,
}

/// A held range (a "reserved"/"do not use" table row).
#[derive(Debug, Clone)]
pub struct ReservationDraft {
    /// The ports.
    pub ports: Vec<PortRange>,
    /// Project key.
    pub project: Option<String>,
    /// Why.
    pub why: String,
    /// Line.
    pub line: usize,
}

/// Running counts of what the draft holds that are not plain collection lengths, so that
/// what one part of the document added is measured in constant time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    /// Bindings created.
    pub bindings: usize,
    /// Existing bindings a later part confirmed or refined.
    pub refined: usize,
    /// Project blocks.
    pub blocks: usize,
    /// Firewall rules.
    pub rules: usize,
}

/// Where the bindings are, by port, and the services, by the words of their keys: lookups
/// a large document makes for every line stay logarithmic. Kept by [`Draft::service`] and
/// [`Draft::add_binding`], the only ways services and bindings are created.
#[derive(Debug, Clone, Default)]
struct Index {
    /// Single-port bindings by port: (service, binding).
    single: BTreeMap<u16, Vec<(String, String)>>,
    /// Port-range bindings, and bindings with only a container port.
    other: Vec<(String, String)>,
    /// Service keys by each word of the key.
    words: BTreeMap<String, BTreeSet<String>>,
    /// Flows already added: (from, to, port, transport).
    flows: BTreeSet<(Option<String>, FlowTarget, PortRange, Option<Transport>)>,
}

/// Everything learnt from one document.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// Running counts (see [`Counts`]).
    pub counts: Counts,
    index: Index,
    /// The document's title.
    pub title: Option<String>,
    /// Networks: name → (CIDR, line).
    pub networks: BTreeMap<String, (String, usize)>,
    /// Addresses of the (single) server the document describes.
    pub addresses: BTreeSet<String>,
    /// Machines the document names, by key.
    pub hosts: BTreeMap<String, HostDraft>,
    /// Every IP address the document mentions, and whether it is private.
    pub mentioned: BTreeMap<String, bool>,
    /// The document says its machines are not reachable from the Internet.
    pub says_private: bool,
    /// Outbound connections.
    pub flows: Vec<FlowDraft>,
    /// Rows and lines read but not used: (line, why).
    pub skipped: Vec<(usize, String)>,
    /// Environments seen (sorted).
    pub environments: BTreeSet<String>,
    /// Firewalls in document order.
    pub firewalls: Vec<FirewallDraft>,
    /// Projects by key.
    pub projects: BTreeMap<String, ProjectDraft>,
    /// Services by key.
    pub services: BTreeMap<String, ServiceDraft>,
    /// Routes.
    pub routes: BTreeSet<RouteDraft>,
    /// Reservations.
    pub reservations: Vec<ReservationDraft>,
    /// Notes for the reader: (line, text). Also reported as problems.
    pub notes: Vec<(usize, String)>,
}

impl Draft {
    /// The service `key`, created with `display` if new.
    pub fn service(&mut self, key: &str, display: &str) -> &mut ServiceDraft {
        if !self.services.contains_key(key) {
            for w in key.split('-').filter(|w| !w.is_empty()) {
                self.index
                    .words
                    .entry(w.to_string())
                    .or_default()
                    .insert(key.to_string());
            }
        }
        self.services
            .entry(key.to_string())
            .or_insert_with(|| ServiceDraft {
                display: display.to_string(),
                ..ServiceDraft::default()
            })
    }

    /// Adds binding `name` to service `key` (which must exist; [`Draft::service`] creates
    /// it), replacing one of that name.
    pub fn add_binding(&mut self, key: &str, name: String, b: BindingDraft) {
        let entry = (key.to_string(), name.clone());
        match b.port {
            Some(p) if p.lo == p.hi => self.index.single.entry(p.lo).or_default().push(entry),
            _ => self.index.other.push(entry),
        }
        if let Some(s) = self.services.get_mut(key) {
            s.bindings.insert(name, b);
            self.counts.bindings += 1;
        }
    }

    /// Service keys that share a word with `key`.
    pub fn services_sharing_words(&self, key: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for w in key.split('-').filter(|w| !w.is_empty()) {
            if let Some(keys) = self.index.words.get(w) {
                out.extend(keys.iter().cloned());
            }
        }
        out
    }

    /// Services with a base binding on `port` (container side matched too when
    /// `or_target`): (service key, binding name), sorted.
    pub fn bindings_on(&self, port: u16, or_target: bool) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let candidates = self
            .index
            .single
            .get(&port)
            .into_iter()
            .flatten()
            .chain(self.index.other.iter());
        for (sk, bk) in candidates {
            let Some(b) = self.services.get(sk).and_then(|s| s.bindings.get(bk)) else {
                continue;
            };
            let hit = b.port.is_some_and(|p| p.contains(port))
                || (or_target && b.target.is_some_and(|t| t.contains(port)) && b.port.is_none());
            if hit {
                out.push((sk.clone(), bk.clone()));
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The project whose name (or range) `text` mentions.
    pub fn project_in(&self, text: &str) -> Option<String> {
        let t = super::cells::slug(text);
        let mut best: Option<(usize, String)> = None;
        for (k, p) in &self.projects {
            let name = super::cells::slug(&p.display);
            if !name.is_empty()
                && t.contains(&name)
                && best.as_ref().is_none_or(|(l, _)| name.len() > *l)
            {
                best = Some((name.len(), k.clone()));
            }
        }
        if best.is_none() {
            for (k, p) in &self.projects {
                if p.range
                    .iter()
                    .any(|r| text.contains(&r.to_string()) && r.lo != r.hi)
                {
                    return Some(k.clone());
                }
            }
        }
        best.map(|(_, k)| k)
    }

    /// Adds a note.
    pub fn note(&mut self, line: usize, text: impl Into<String>) {
        let text = text.into();
        if !self
            .notes
            .iter()
            .rev()
            .take(64)
            .any(|(l, t)| *l == line && *t == text)
        {
            self.notes.push((line, text));
        }
    }

    /// Notes what a parser could not read.
    pub fn note_problems(&mut self, problems: &[crate::evidence::Problem]) {
        for p in problems {
            self.note(p.at.line as usize, p.reason.clone());
        }
    }

    /// Adds the routes a file parser found in a block (nginx passes, Kubernetes Ingress
    /// backends): one per listening port of each route whose upstream port is known, with
    /// no proxy service named yet. `true` if it added any.
    pub fn add_found_routes(&mut self, routes: &[crate::evidence::RouteUse]) -> bool {
        let mut any = false;
        for r in routes {
            let Some(up) = r.port else { continue };
            for &l in &r.listen {
                self.routes.insert(RouteDraft {
                    listen: l,
                    upstream: up,
                    host: r.server_names.first().cloned(),
                    line: r.at.line as usize,
                    proxy: None,
                    upstream_host: Some(r.upstream.clone()),
                });
                any = true;
            }
        }
        any
    }

    /// Records a row or line that was read and not used.
    pub fn skip(&mut self, line: usize, why: impl Into<String>) {
        self.skipped.push((line, why.into()));
    }

    /// The host `key`, created with `display` if new.
    pub fn host(&mut self, key: &str, display: &str) -> &mut HostDraft {
        self.hosts
            .entry(key.to_string())
            .or_insert_with(|| HostDraft {
                display: display.to_string(),
                ..HostDraft::default()
            })
    }

    /// The hosts `text` names (whole words: `api-1, api-2`, `pg1 (10.5.0.21)`, `lab-gw`).
    pub fn hosts_in(&self, text: &str) -> Vec<String> {
        if self.hosts.is_empty() {
            return Vec::new();
        }
        let t = text.to_lowercase();
        let mut out: Vec<String> = Vec::new();
        for w in t
            .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '.' || c == '_'))
            .map(|w| w.trim_matches('.'))
            .filter(|w| !w.is_empty())
        {
            let key = if self.hosts.contains_key(w) {
                w.to_string()
            } else {
                let s = super::cells::slug(w);
                if !self.hosts.contains_key(&s) {
                    continue;
                }
                s
            };
            if !out.contains(&key) {
                out.push(key);
            }
        }
        out.sort();
        out
    }

    /// Adds an outbound flow (once).
    pub fn flow(&mut self, f: FlowDraft) {
        let key = (f.from.clone(), f.to.clone(), f.port, f.transport);
        if self.index.flows.insert(key) {
            self.flows.push(f);
        }
    }

    /// A fresh binding name for `port`/`app` in service `key`.
    pub fn binding_name(&self, key: &str, app: Option<&str>, port: Option<PortRange>) -> String {
        let base = app
            .map(super::cells::slug)
            .filter(|s| !s.is_empty())
            .or_else(|| port.map(|p| format!("port-{}", p.lo)))
            .unwrap_or_else(|| "main".to_string());
        let Some(s) = self.services.get(key) else {
            return base;
        };
        if !s.bindings.contains_key(&base) {
            return base;
        }
        let with_port = port.map_or_else(|| format!("{base}-2"), |p| format!("{base}-{}", p.lo));
        let mut name = with_port.clone();
        let mut n = 2;
        while s.bindings.contains_key(&name) {
            name = format!("{with_port}-{n}");
            n += 1;
        }
        name
    }
}
