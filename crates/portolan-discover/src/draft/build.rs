//! Which evidence belongs together, and where it listens: the step from a flat list of
//! [`PortUse`]s to a [`Draft`].
//!
//! Uses are tied to an *owner* only by evidence: the compose service that declares them (and
//! the Dockerfile and code under its `build:` context, the nginx config it mounts, the
//! `env_file` it reads), the Kubernetes Service that selects a workload's pods, the Procfile
//! or systemd unit that runs a command, otherwise the directory of the file. Two owners with
//! the same short name stay two services, named by their compose project, namespace or
//! directory.
//!
//! Where a port is reachable decides its host: published ports and processes on the machine
//! are on `local`; a compose service's unpublished ports are on the container's own host
//! (`<project>-<service>`, no network: only other containers reach it); a Kubernetes
//! Service is its own address (`<namespace>-<service>`); `NodePort`s, `hostPort`s and the
//! Ingress controller are on `k8s-nodes`. A `containerPort` no Service selects, an
//! `EXPOSE` of an image nothing runs, and a `*_PORT` the app connects to are not listeners;
//! connections become flows, proxy passes become routes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;

use portolan_model::port::PortRange;
use portolan_model::spec::{Publisher, Transport};

use super::{
    Draft, DraftBinding, DraftFlow, DraftHost, DraftRoute, DraftService, bind_ip, name_bindings,
};

/// A route between two resolved bindings, before names are known.
struct RawRoute {
    from: BindingRef,
    to: BindingRef,
    host: Option<String>,
    path: Option<String>,
    at: Location,
}

/// A connection from an owner, before names are known.
struct RawFlow {
    from: usize,
    to: FlowTo,
    at: Location,
}
use crate::evidence::{FileReport, Location, PortUse, Role, RouteUse, SourceKind, Unit, UnitKind};
use crate::text::{is_within, parent_dir};
use crate::walk::sanitize;

/// The host every published port and host process is drafted on.
pub const LOCAL: &str = "local";
/// The host `NodePort`s, `hostPort`s and the Ingress controller are drafted on.
pub const K8S_NODES: &str = "k8s-nodes";

/// What kind of owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Compose,
    KubeService,
    Workload,
    /// A process on the host (Procfile entry, systemd unit, nginx, code run directly).
    Host,
    /// The Ingress controller the cluster's Ingress objects imply.
    Ingress,
}

/// One owner of evidence.
struct Owner<'r> {
    kind: Kind,
    /// Short name (compose service key, object name, process type, directory).
    base: String,
    /// What tells it apart from another owner of the same short name.
    qualifier: Option<String>,
    /// The host its unpublished ports are on.
    own_host: Option<String>,
    decl: Option<&'r Unit>,
    /// Further declarations of the same unit (a compose override file beside the base).
    extra: Vec<&'r Unit>,
    /// Bindings by (host, port, transport).
    bindings: BTreeMap<(String, PortRange, Transport), DraftBinding>,
    /// Whether something (a flow) needs it as a service even without bindings.
    needed: bool,
    /// Final service name.
    name: String,
}

impl Owner<'_> {
    fn new(kind: Kind, base: &str, qualifier: Option<String>) -> Self {
        Owner {
            kind,
            base: sanitize(base),
            qualifier,
            own_host: None,
            decl: None,
            extra: Vec::new(),
            bindings: BTreeMap::new(),
            needed: false,
            name: String::new(),
        }
    }

    fn project(&self) -> Option<&str> {
        self.decl.and_then(|d| d.scope.as_deref())
    }

    /// Every declaration of the unit (base file first as read, then overrides).
    fn decls(&self) -> impl Iterator<Item = &Unit> {
        self.decl.into_iter().chain(self.extra.iter().copied())
    }

    /// Whether a declaration bind-mounts `path` (or a directory holding it).
    fn mounts(&self, path: &str) -> bool {
        self.decls()
            .any(|d| d.mounts.iter().any(|m| is_within(path, m)))
    }

    /// The image it runs, from any declaration.
    fn image(&self) -> Option<&str> {
        self.decls().find_map(|d| d.image.as_deref())
    }
}

/// Builds the draft of `report`. `root_name` names the walked root (a compose file or
/// Procfile at the root takes it as its project).
#[allow(clippy::too_many_lines)]
pub fn draft(report: &FileReport, root_name: &str) -> Draft {
    let mut b = Builder {
        owners: Vec::new(),
        by_key: BTreeMap::new(),
        notes: BTreeSet::new(),
        root_name: sanitize(root_name),
    };
    b.declare_units(&report.units);
    let referenced: BTreeSet<&str> = report
        .uses
        .iter()
        .filter(|u| u.source != SourceKind::Env)
        .filter_map(|u| u.variable.as_deref())
        .collect();
    // publishes and host listeners first, so container-side uses fold into them
    // declarations before what refers to them: compose and Kubernetes, then the processes
    // that run commands, then code (which may fold into those), env files last
    let rank = |s: SourceKind| match s {
        SourceKind::Compose | SourceKind::Kubernetes => 0,
        SourceKind::Procfile | SourceKind::Systemd => 1,
        SourceKind::Nginx => 2,
        SourceKind::Env => 4,
        _ => 3,
    };
    let mut uses: Vec<&PortUse> = report.uses.iter().collect();
    uses.sort_by_key(|u| {
        (
            rank(u.source),
            u.role != Role::Publish,
            std::cmp::Reverse(u.confidence),
            &u.at,
        )
    });
    let mut connects: Vec<(usize, &PortUse)> = Vec::new();
    let mut pending_container: Vec<(usize, &PortUse)> = Vec::new();
    let mut workload_ports: Vec<(usize, &PortUse)> = Vec::new();
    for u in uses {
        for (owner, side) in b.owners_of(u, report) {
            match (u.role, side) {
                (Role::Connect, _) => connects.push((owner, u)),
                (_, Side::Workload) => workload_ports.push((owner, u)),
                (_, Side::Container) => pending_container.push((owner, u)),
                (_, Side::EnvListen) => {
                    if u.variable
                        .as_deref()
                        .is_some_and(|v| referenced.contains(v))
                    {
                        continue;
                    }
                    b.fold_env(owner, u);
                }
                (Role::Publish | Role::Listen, Side::Host(host)) => b.host_binding(owner, &host, u),
                (Role::Expose, Side::Host(host)) => b.service_port(owner, &host, u),
            }
        }
    }
    for (owner, u) in pending_container {
        b.container_port(owner, u);
    }
    b.workload_ports(&workload_ports);
    b.ingress(&report.routes);
    let mut routes = Vec::new();
    for r in &report.routes {
        if let Some(route) = b.route(r, report) {
            routes.push(route);
        }
    }
    let mut flows = Vec::new();
    for (owner, u) in connects {
        if let Some(f) = b.flow(owner, u) {
            flows.push(f);
        }
    }
    b.name_owners();
    b.finish(&routes, &flows)
}

/// Which side of an owner a use is on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Side {
    /// Reachable on this host (published, or a host process).
    Host(String),
    /// Inside the owner's container (folds into a publish, else the container's own host).
    Container,
    /// A workload's `containerPort`: counts only when a Service selects it.
    Workload,
    /// A `WEB_PORT=` of an env file: evidence for a listener that exists, never one itself.
    EnvListen,
}

/// A resolved route end (owner, binding key).
type BindingRef = (usize, (String, PortRange, Transport));

struct Builder<'r> {
    owners: Vec<Owner<'r>>,
    by_key: BTreeMap<String, usize>,
    notes: BTreeSet<String>,
    root_name: String,
}

impl<'r> Builder<'r> {
    fn owner(&mut self, key: String, make: impl FnOnce() -> Owner<'r>) -> usize {
        if let Some(&i) = self.by_key.get(&key) {
            return i;
        }
        self.owners.push(make());
        let i = self.owners.len() - 1;
        self.by_key.insert(key, i);
        i
    }

    fn declare_units(&mut self, units: &'r [Unit]) {
        for u in units {
            let (key, kind) = match u.kind {
                // files of one directory are one project (`compose.yml` + its override)
                UnitKind::ComposeService => (
                    format!("compose:{}:{}", parent_dir(&u.at.path), u.name),
                    Kind::Compose,
                ),
                UnitKind::KubeService => (
                    format!("k8s-svc:{}:{}", u.scope.as_deref().unwrap_or(""), u.name),
                    Kind::KubeService,
                ),
                UnitKind::Workload => (
                    format!("k8s-wl:{}:{}:{}", u.at.path, u.at.line, u.name),
                    Kind::Workload,
                ),
            };
            let scope = u
                .scope
                .clone()
                .or_else(|| dir_name(&u.at.path).map(str::to_string))
                .unwrap_or_else(|| self.root_name.clone());
            let own_host = match kind {
                Kind::Compose | Kind::KubeService => Some(sanitize(&format!("{scope}-{}", u.name))),
                _ => None,
            };
            let qualifier = Some(sanitize(&scope));
            let i = self.owner(key, || Owner::new(kind, &u.name, qualifier));
            if self.owners[i].decl.is_some() {
                self.owners[i].extra.push(u);
            } else {
                self.owners[i].decl = Some(u);
                self.owners[i].own_host = own_host;
            }
        }
    }

    /// The compose owner declared in `file` as `service`.
    fn compose_owner(&self, file: &str, service: &str) -> Option<usize> {
        self.by_key
            .get(&format!("compose:{}:{service}", parent_dir(file)))
            .copied()
    }

    /// The Kubernetes object of `kind` enclosing line `at` of its file (objects are read in
    /// file order, so it is the last one declared at or before the line).
    fn enclosing(&self, at: &Location, kind: Kind) -> Option<usize> {
        self.owners
            .iter()
            .enumerate()
            .filter(|(_, o)| o.kind == kind)
            .filter_map(|(i, o)| o.decl.map(|d| (i, d)))
            .filter(|(_, d)| d.at.path == at.path && d.at.line <= at.line)
            .max_by_key(|(_, d)| d.at.line)
            .map(|(i, _)| i)
    }

    /// Compose owners whose build context holds `path`, the deepest context first.
    fn built_from(&self, path: &str) -> Vec<usize> {
        let mut best: Option<usize> = None;
        let mut out = Vec::new();
        for (i, o) in self.owners.iter().enumerate() {
            let Some(ctx) = o
                .decls()
                .filter_map(|d| d.build.as_deref())
                .filter(|c| is_within(path, c))
                .max_by_key(|c| c.len())
            else {
                continue;
            };
            match best {
                Some(len) if ctx.len() < len => {}
                Some(len) if ctx.len() == len => out.push(i),
                _ => {
                    best = Some(ctx.len());
                    out = vec![i];
                }
            }
        }
        out
    }

    /// The owners of a use and the side it is on.
    fn owners_of(&mut self, u: &PortUse, report: &FileReport) -> Vec<(usize, Side)> {
        let path = u.at.path.as_str();
        let dir = parent_dir(path);
        match u.source {
            SourceKind::Compose => {
                let Some(owner) = u
                    .service
                    .as_deref()
                    .and_then(|s| self.compose_owner(path, s))
                else {
                    return Vec::new();
                };
                let side = match u.role {
                    Role::Publish => Side::Host(LOCAL.into()),
                    Role::Listen if u.snippet.contains("network_mode: host") => {
                        Side::Host(LOCAL.into())
                    }
                    _ => Side::Container,
                };
                vec![(owner, side)]
            }
            SourceKind::Kubernetes => {
                if u.snippet.contains("NetworkPolicy") || u.role == Role::Connect {
                    return Vec::new();
                }
                match u.role {
                    Role::Expose => self
                        .enclosing(&u.at, Kind::KubeService)
                        .map(|o| (o, Side::Host(String::new())))
                        .into_iter()
                        .collect(),
                    Role::Publish => {
                        // a nodePort (in a Service) or a hostPort (in a workload)
                        let svc = self.enclosing(&u.at, Kind::KubeService);
                        let wl = self.enclosing(&u.at, Kind::Workload);
                        let line = |o: Option<usize>| {
                            o.and_then(|i| self.owners[i].decl).map_or(0, |d| d.at.line)
                        };
                        let owner = if line(svc) >= line(wl) { svc } else { wl };
                        owner
                            .map(|o| (o, Side::Host(K8S_NODES.into())))
                            .into_iter()
                            .collect()
                    }
                    // `hostNetwork: true`: the pod listens on the node itself
                    _ if u.snippet.contains("hostNetwork") => self
                        .enclosing(&u.at, Kind::Workload)
                        .map(|o| (o, Side::Host(K8S_NODES.into())))
                        .into_iter()
                        .collect(),
                    _ => self
                        .enclosing(&u.at, Kind::Workload)
                        .map(|o| (o, Side::Workload))
                        .into_iter()
                        .collect(),
                }
            }
            SourceKind::Nginx => {
                let mounted = self.owners.iter().position(|o| o.mounts(path));
                if u.role == Role::Connect {
                    // proxy passes are routes; upstream members are the proxy's, not flows
                    return Vec::new();
                }
                if let Some(o) = mounted {
                    vec![(o, Side::Container)]
                } else {
                    let q = dir_name(path).map(sanitize);
                    let o = self.owner("host:nginx".into(), || Owner::new(Kind::Host, "nginx", q));
                    vec![(o, Side::Host(LOCAL.into()))]
                }
            }
            SourceKind::Procfile | SourceKind::Systemd => {
                let name = u
                    .service
                    .clone()
                    .unwrap_or_else(|| crate::walk::service_name(u));
                let q = dir_name(path).map_or_else(|| self.root_name.clone(), sanitize);
                let key = format!("proc:{dir}:{name}");
                let o = self.owner(key, || Owner::new(Kind::Host, &name, Some(q)));
                vec![(o, Side::Host(LOCAL.into()))]
            }
            SourceKind::Env => {
                let readers = self.env_readers(path, dir, report);
                let side = if u.role == Role::Connect {
                    Side::Container
                } else {
                    Side::EnvListen
                };
                readers.into_iter().map(|o| (o, side.clone())).collect()
            }
            SourceKind::Markdown => Vec::new(),
            SourceKind::Dockerfile
            | SourceKind::Python
            | SourceKind::Node
            | SourceKind::PackageJson
            | SourceKind::Go
            | SourceKind::Spring
            | SourceKind::Shell => {
                let built = self.built_from(path);
                if !built.is_empty() {
                    let pick: Vec<usize> = if built.len() == 1 {
                        built
                    } else {
                        // several services built from one context: the one using this port
                        built
                            .into_iter()
                            .filter(|&o| {
                                self.owners[o].bindings.values().any(|b| {
                                    b.target.is_some_and(|t| t.covers(&u.port)) || b.port == u.port
                                })
                            })
                            .take(1)
                            .collect()
                    };
                    return pick.into_iter().map(|o| (o, Side::Container)).collect();
                }
                if u.source == SourceKind::Dockerfile {
                    if u.role != Role::Connect {
                        self.notes.insert(format!(
                            "{} {}/{} in {}: an image's port; nothing in the repository runs the image, so it is no listener",
                            u.role.as_str(),
                            u.port,
                            u.transport.as_str(),
                            u.at
                        ));
                    }
                    return Vec::new();
                }
                // code run by a Procfile or unit of an enclosing directory
                let procs: Vec<usize> = self
                    .by_key
                    .iter()
                    .filter(|(k, _)| {
                        k.strip_prefix("proc:")
                            .and_then(|r| r.rsplit_once(':'))
                            .is_some_and(|(d, _)| is_within(path, d))
                    })
                    .map(|(_, &i)| i)
                    .collect();
                if u.role == Role::Connect && !procs.is_empty() {
                    return procs.into_iter().map(|o| (o, Side::Container)).collect();
                }
                if let Some(&o) = procs.iter().find(|&&o| {
                    self.owners[o]
                        .bindings
                        .keys()
                        .any(|(_, p, t)| p.covers(&u.port) && *t == u.transport)
                }) {
                    return vec![(o, Side::Host(LOCAL.into()))];
                }
                let name = crate::walk::service_name(u);
                let q = dir_name(dir).map(sanitize);
                let key = format!("code:{name}");
                let o = self.owner(key, || Owner::new(Kind::Host, &name, q));
                let side = if u.role == Role::Connect {
                    Side::Container
                } else {
                    Side::Host(LOCAL.into())
                };
                vec![(o, side)]
            }
        }
    }

    /// Who reads an env file: compose services naming it in `env_file`, else the Procfile
    /// processes of its directory. A `.env` only beside a compose file is read for
    /// interpolation, by nobody at run time.
    fn env_readers(&self, path: &str, dir: &str, report: &FileReport) -> Vec<usize> {
        let by_env_file: Vec<usize> = self
            .owners
            .iter()
            .enumerate()
            .filter(|(_, o)| o.decls().any(|d| d.env_files.iter().any(|e| e == path)))
            .map(|(i, _)| i)
            .collect();
        if !by_env_file.is_empty() {
            return by_env_file;
        }
        let _ = report;
        self.by_key
            .iter()
            .filter(|(k, _)| {
                k.strip_prefix("proc:")
                    .and_then(|r| r.rsplit_once(':'))
                    .is_some_and(|(d, _)| d == dir)
            })
            .map(|(_, &i)| i)
            .collect()
    }

    fn new_binding(u: &PortUse, host: &str) -> DraftBinding {
        DraftBinding {
            name: String::new(),
            host: host.to_string(),
            port: u.port,
            target: None,
            transport: u.transport,
            bind: None,
            publisher: None,
            exposure: None,
            tls: None,
            redirect: u.redirect,
            sensitive: false,
            app: u.app.clone(),
            evidence: vec![u.at.clone()],
            confidence: u.confidence,
        }
    }

    fn add_evidence(b: &mut DraftBinding, u: &PortUse) {
        if !b.evidence.contains(&u.at) {
            b.evidence.push(u.at.clone());
        }
        if b.app.is_none() {
            b.app.clone_from(&u.app);
        }
        b.redirect |= u.redirect;
        b.confidence = b.confidence.max(u.confidence);
    }

    /// A published port or a host process's listener.
    fn host_binding(&mut self, owner: usize, host: &str, u: &PortUse) {
        let key = (host.to_string(), u.port, u.transport);
        if let Some(b) = self.owners[owner].bindings.get_mut(&key) {
            Self::add_evidence(b, u);
            if b.bind.is_some_and(|ip| ip.is_loopback())
                && let Some(ip) = u.bind.as_deref().and_then(bind_ip)
                && !ip.is_loopback()
            {
                // the wider of two binds of one port is what is reachable
                b.bind = Some(ip);
            }
            return;
        }
        let mut b = Self::new_binding(u, host);
        b.bind = Some(
            u.bind
                .as_deref()
                .and_then(bind_ip)
                .unwrap_or(IpAddr::from([0, 0, 0, 0])),
        );
        if u.role == Role::Publish {
            b.target = u.target;
            b.publisher = u.publisher.filter(|p| *p != Publisher::Host);
        }
        self.owners[owner].bindings.insert(key, b);
    }

    /// A Kubernetes Service port (its own cluster address).
    fn service_port(&mut self, owner: usize, _host: &str, u: &PortUse) {
        let Some(host) = self.owners[owner].own_host.clone() else {
            return;
        };
        let key = (host.clone(), u.port, u.transport);
        if let Some(b) = self.owners[owner].bindings.get_mut(&key) {
            Self::add_evidence(b, u);
            return;
        }
        let mut b = Self::new_binding(u, &host);
        b.target = u.target;
        self.owners[owner].bindings.insert(key, b);
    }

    /// A compose service's port inside its container: folds into the publish that maps to
    /// it, else is a listener on the container's own host.
    fn container_port(&mut self, owner: usize, u: &PortUse) {
        let o = &mut self.owners[owner];
        if let Some(b) = o.bindings.values_mut().find(|b| {
            b.transport == u.transport
                && (b.target.is_some_and(|t| t.covers(&u.port))
                    || (b.target.is_none() && b.port.covers(&u.port)))
        }) {
            Self::add_evidence(b, u);
            return;
        }
        let Some(host) = o.own_host.clone() else {
            return;
        };
        if o.kind != Kind::Compose {
            return;
        }
        let key = (host.clone(), u.port, u.transport);
        if let Some(b) = o.bindings.get_mut(&key) {
            Self::add_evidence(b, u);
            return;
        }
        o.bindings.insert(key, Self::new_binding(u, &host));
    }

    /// `WEB_PORT=8000` in an env file its owner reads: evidence for that owner's listener
    /// on 8000, if it has one.
    fn fold_env(&mut self, owner: usize, u: &PortUse) {
        if let Some(b) = self.owners[owner]
            .bindings
            .values_mut()
            .find(|b| b.transport == u.transport && (b.port == u.port || b.target == Some(u.port)))
        {
            Self::add_evidence(b, u);
        }
    }

    /// Workload container ports: evidence for the Service that selects the pod and targets
    /// the port; a port no Service selects is no listener.
    fn workload_ports(&mut self, ports: &[(usize, &PortUse)]) {
        for &(wl, u) in ports {
            let Some(wdecl) = self.owners[wl].decl else {
                continue;
            };
            let mut selected = false;
            for s in 0..self.owners.len() {
                let o = &self.owners[s];
                let Some(sdecl) = o.decl.filter(|_| o.kind == Kind::KubeService) else {
                    continue;
                };
                if sdecl.scope != wdecl.scope
                    || sdecl.labels.is_empty()
                    || !sdecl.labels.iter().all(|l| wdecl.labels.contains(l))
                {
                    continue;
                }
                for b in self.owners[s].bindings.values_mut() {
                    // a named targetPort is resolved by the port it names being the
                    // Service's own port number (the usual case); a numeric one exactly
                    let targets = match b.target {
                        Some(t) => t.covers(&u.port),
                        None => b.port.covers(&u.port),
                    };
                    if targets && b.transport == u.transport {
                        selected = true;
                        Self::add_evidence(b, u);
                    }
                }
            }
            if !selected {
                self.notes.insert(format!(
                    "containerPort {}/{} of `{}` ({}): no Service selects it, so it is no listener",
                    u.port,
                    u.transport.as_str(),
                    wdecl.name,
                    u.at
                ));
            }
        }
        // a Service's bindings on its own address carry no target (it is not a publish)
        for o in &mut self.owners {
            if o.kind == Kind::KubeService {
                for b in o.bindings.values_mut() {
                    if b.publisher.is_none() {
                        b.target = None;
                    }
                }
            }
        }
    }

    /// The Ingress controller: 80 (a redirect when the Ingress has TLS) and 443.
    fn ingress(&mut self, routes: &[RouteUse]) {
        for r in routes.iter().filter(|r| r.source == SourceKind::Kubernetes) {
            let o = self.owner("ingress".into(), || {
                Owner::new(Kind::Ingress, "ingress", None)
            });
            let tls = r.listen.contains(&443);
            for &port in &r.listen {
                let key = (
                    K8S_NODES.to_string(),
                    PortRange::single(port),
                    Transport::Tcp,
                );
                let b = self.owners[o]
                    .bindings
                    .entry(key)
                    .or_insert_with(|| DraftBinding {
                        name: String::new(),
                        host: K8S_NODES.into(),
                        port: PortRange::single(port),
                        target: None,
                        transport: Transport::Tcp,
                        bind: Some(IpAddr::from([0, 0, 0, 0])),
                        publisher: None,
                        exposure: None,
                        tls: None,
                        redirect: false,
                        sensitive: false,
                        app: Some(if port == 443 { "https" } else { "http" }.into()),
                        evidence: Vec::new(),
                        confidence: crate::Confidence::Medium,
                    });
                if !b.evidence.contains(&r.at) {
                    b.evidence.push(r.at.clone());
                }
                b.redirect = port == 80 && tls;
            }
        }
    }

    /// The binding of `owner` a connection or route to `port` reaches: its container side
    /// or its own port.
    fn binding_for(&self, owner: usize, port: u16, t: Transport) -> Option<BindingRef> {
        let p = PortRange::single(port);
        let o = &self.owners[owner];
        let mut hits: Vec<_> = o
            .bindings
            .iter()
            .filter(|(_, b)| b.transport == t)
            .filter(|(_, b)| b.target.is_some_and(|x| x.covers(&p)) || b.port.covers(&p))
            .collect();
        // the container's own address before a publish of the same port
        hits.sort_by_key(|(k, _)| k.0 == LOCAL);
        hits.first().map(|(k, _)| (owner, (*k).clone()))
    }

    /// The compose service `name` of `project`: its binding for `port`, created on its own
    /// host when nothing declared it (the connection is the evidence).
    fn compose_peer(
        &mut self,
        project: Option<&str>,
        name: &str,
        u: &PortUse,
    ) -> Option<BindingRef> {
        let peer = self.owners.iter().position(|o| {
            o.kind == Kind::Compose
                && o.decl.is_some_and(|d| d.name == name)
                && (project.is_none() || o.project() == project)
        })?;
        if let Some(r) = self.binding_for(peer, u.port.lo, u.transport) {
            return Some(r);
        }
        let host = self.owners[peer].own_host.clone()?;
        let mut b = Self::new_binding(u, &host);
        b.confidence = crate::Confidence::Medium;
        let key = (host, u.port, u.transport);
        self.owners[peer].bindings.insert(key.clone(), b);
        Some((peer, key))
    }

    /// A host-side binding of `port` (loopback connections, ports named without a host).
    fn local_binding(&self, port: u16, t: Transport) -> Option<BindingRef> {
        let p = PortRange::single(port);
        let hits: Vec<BindingRef> = self
            .owners
            .iter()
            .enumerate()
            .flat_map(|(i, o)| o.bindings.keys().map(move |k| (i, k.clone())))
            .filter(|(_, k)| k.0 == LOCAL && k.1.covers(&p) && k.2 == t)
            .collect();
        (hits.len() == 1).then(|| hits[0].clone())
    }

    fn route(&mut self, r: &RouteUse, report: &FileReport) -> Option<RawRoute> {
        // `proxy_pass http://app;` to `upstream app { server 127.0.0.1:8000; }`: the group's
        // first member, from the same file
        let member = (r.port.is_none() && r.source == SourceKind::Nginx)
            .then(|| {
                report.uses.iter().find(|u| {
                    u.source == SourceKind::Nginx
                        && u.role == Role::Connect
                        && u.at.path == r.at.path
                        && u.service.as_deref() == Some(r.upstream.as_str())
                })
            })
            .flatten();
        let (upstream, port) = match member {
            Some(m) => (m.peer.clone().unwrap_or_default(), Some(m.port.lo)),
            None => (r.upstream.clone(), r.port),
        };
        let (proxy, from) = if r.source == SourceKind::Kubernetes {
            let o = *self.by_key.get("ingress")?;
            let port = if r.listen.contains(&443) { 443 } else { 80 };
            (
                o,
                (
                    K8S_NODES.to_string(),
                    PortRange::single(port),
                    Transport::Tcp,
                ),
            )
        } else {
            let path = r.at.path.as_str();
            let mounted = self.owners.iter().position(|o| o.mounts(path));
            let proxy = mounted.or_else(|| self.by_key.get("host:nginx").copied())?;
            // prefer the TLS listener of the server block
            let mut listen = r.listen.clone();
            listen.sort_by_key(|p| *p != 443);
            let from = listen
                .iter()
                .find_map(|&p| self.binding_for(proxy, p, Transport::Tcp))
                .map(|(_, k)| k)?;
            (proxy, from)
        };
        let upstream = upstream.as_str();
        let loopback = matches!(upstream, "127.0.0.1" | "localhost" | "::1" | "[::1]");
        let to = match (self.owners[proxy].kind, port) {
            (Kind::Ingress, p) => {
                let svc = self.owners.iter().position(|o| {
                    o.kind == Kind::KubeService && o.decl.is_some_and(|d| d.name == upstream)
                })?;
                match p {
                    Some(p) => self.binding_for(svc, p, Transport::Tcp),
                    None => self.owners[svc]
                        .bindings
                        .keys()
                        .next()
                        .map(|k| (svc, k.clone())),
                }
            }
            (Kind::Host, Some(p)) if loopback => self.local_binding(p, Transport::Tcp),
            (Kind::Compose, Some(p)) => {
                let project = self.owners[proxy].project().map(str::to_string);
                let u = PortUse {
                    app: Some("http".into()),
                    ..PortUse::new(r.at.clone(), r.source, Role::Connect, PortRange::single(p))
                };
                self.compose_peer(project.as_deref(), upstream, &u)
            }
            _ => None,
        };
        let Some(to) = to else {
            self.notes.insert(format!(
                "route :{} {} -> {}{} ({}): the upstream is not a listener of this draft",
                r.listen
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
                r.path.as_deref().unwrap_or("/"),
                upstream,
                port.map(|p| format!(":{p}")).unwrap_or_default(),
                r.at
            ));
            return None;
        };
        Some(RawRoute {
            from: (proxy, from),
            to,
            host: r.server_names.first().cloned(),
            path: r.path.clone().filter(|p| p != "/"),
            at: r.at.clone(),
        })
    }

    fn flow(&mut self, owner: usize, u: &PortUse) -> Option<RawFlow> {
        let peer = u.peer.as_deref();
        let loopback =
            peer.is_none_or(|p| matches!(p, "127.0.0.1" | "localhost" | "::1" | "0.0.0.0"));
        let in_container = matches!(self.owners[owner].kind, Kind::Compose);
        let to = if loopback && !in_container {
            self.local_binding(u.port.lo, u.transport)
                .map(FlowTo::Binding)
        } else if let Some(p) = peer.filter(|_| !loopback) {
            let project = self.owners[owner].project().map(str::to_string);
            let is_compose_name = self
                .owners
                .iter()
                .any(|o| o.kind == Kind::Compose && o.decl.is_some_and(|d| d.name == p));
            if is_compose_name {
                let scope = if in_container {
                    project.as_deref()
                } else {
                    None
                };
                self.compose_peer(scope, p, u).map(FlowTo::Binding)
            } else if let Ok(ip) = p.parse::<IpAddr>() {
                let len = if ip.is_ipv4() { 32 } else { 128 };
                Some(FlowTo::External(format!("{ip}/{len}:{}", u.port)))
            } else if p.contains('.') && !p.contains(['$', '{', '%']) {
                Some(FlowTo::External(format!("{p}:{}", u.port)))
            } else {
                None
            }
        } else {
            None
        };
        let Some(to) = to else {
            self.notes.insert(format!(
                "connection to {}:{} ({}): no listener of this draft matches",
                peer.unwrap_or("?"),
                u.port,
                u.at
            ));
            return None;
        };
        if matches!(&to, FlowTo::Binding((o, _)) if *o == owner) {
            return None;
        }
        self.owners[owner].needed = true;
        Some(RawFlow {
            from: owner,
            to,
            at: u.at.clone(),
        })
    }

    /// Names every owner that ended up with something: its short name, or its qualified
    /// name when another owner has the same short name.
    fn name_owners(&mut self) {
        let live: Vec<usize> = (0..self.owners.len())
            .filter(|&i| !self.owners[i].bindings.is_empty() || self.owners[i].needed)
            .collect();
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for &i in &live {
            *count.entry(self.owners[i].base.as_str()).or_default() += 1;
        }
        let mut names: Vec<(usize, String)> = live
            .iter()
            .map(|&i| {
                let o = &self.owners[i];
                let name = match (&o.qualifier, count.get(o.base.as_str())) {
                    (Some(q), Some(n)) if *n > 1 && q != &o.base => {
                        sanitize(&format!("{q}-{}", o.base))
                    }
                    _ => o.base.clone(),
                };
                (i, name)
            })
            .collect();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (_, name) in &mut names {
            let n = seen.entry(name.clone()).or_default();
            *n += 1;
            if *n > 1 {
                let _ = write!(name, "-{n}");
            }
        }
        for (i, name) in names {
            self.owners[i].name = name;
        }
    }

    #[allow(clippy::too_many_lines)]
    fn finish(mut self, routes: &[RawRoute], flows: &[RawFlow]) -> Draft {
        // exposure: what the code exposes today
        for o in &mut self.owners {
            let kind = o.kind;
            let image = o.image().map(str::to_string);
            for b in o.bindings.values_mut() {
                b.exposure = if b.host == LOCAL || b.host == K8S_NODES {
                    match b.bind {
                        Some(ip) if ip.is_loopback() => Some("localhost"),
                        Some(ip) if ip.is_unspecified() => Some("public"),
                        None => Some("public"),
                        Some(_) => None,
                    }
                } else if kind == Kind::KubeService {
                    Some("internal")
                } else {
                    Some("host-internal")
                };
                if b.app.is_none() {
                    b.app = image
                        .as_deref()
                        .and_then(|img| image_app(img, b.target.unwrap_or(b.port).lo))
                        .map(|(a, _)| a.to_string());
                }
                b.sensitive = image
                    .as_deref()
                    .and_then(|img| image_app(img, b.target.unwrap_or(b.port).lo))
                    .is_some_and(|(_, s)| s);
                if b.app.as_deref() == Some("https") {
                    b.tls = Some("native");
                }
            }
        }
        // reach through routes: an upstream behind a public proxy is public
        for r in routes {
            let (po, pk) = &r.from;
            let Some(listener) = self.owners[*po].bindings.get(pk) else {
                continue;
            };
            let public = listener.exposure == Some("public");
            let tls = listener.tls.is_some();
            let (uo, uk) = &r.to;
            if let Some(up) = self.owners[*uo].bindings.get_mut(uk) {
                let direct_public = up.exposure == Some("public");
                if public && !direct_public {
                    up.exposure = Some("public");
                    if tls {
                        up.tls = Some("proxy");
                    }
                }
            }
        }
        let mut services: Vec<DraftService> = Vec::new();
        let mut hosts: BTreeMap<String, DraftHost> = BTreeMap::new();
        let mut binding_names: BTreeMap<(usize, (String, PortRange, Transport)), String> =
            BTreeMap::new();
        for (i, o) in self.owners.iter().enumerate() {
            if o.name.is_empty() {
                continue;
            }
            let mut bindings: Vec<DraftBinding> = o.bindings.values().cloned().collect();
            // local first, then by port
            bindings.sort_by(|a, b| {
                (a.host != LOCAL, &a.host, a.port, a.transport).cmp(&(
                    b.host != LOCAL,
                    &b.host,
                    b.port,
                    b.transport,
                ))
            });
            name_bindings(&mut bindings);
            for b in &bindings {
                binding_names.insert((i, (b.host.clone(), b.port, b.transport)), b.name.clone());
                hosts
                    .entry(b.host.clone())
                    .or_insert_with(|| host_for(&b.host, o));
            }
            let host = bindings
                .first()
                .map_or_else(|| LOCAL.to_string(), |b| b.host.clone());
            hosts
                .entry(host.clone())
                .or_insert_with(|| host_for(&host, o));
            services.push(DraftService {
                name: o.name.clone(),
                host,
                bindings,
            });
        }
        services.sort_by(|a, b| a.name.cmp(&b.name));
        let qualified = |r: &BindingRef| {
            binding_names
                .get(r)
                .map(|b| format!("{}.{b}", self.owners[r.0].name))
        };
        let mut out_routes: Vec<DraftRoute> = routes
            .iter()
            .filter_map(|r| {
                Some(DraftRoute {
                    from: qualified(&r.from)?,
                    to: qualified(&r.to)?,
                    host: r.host.clone(),
                    path: r.path.clone(),
                    at: r.at.clone(),
                })
            })
            .collect();
        out_routes.sort_by(|a, b| (&a.from, &a.to, &a.path).cmp(&(&b.from, &b.to, &b.path)));
        out_routes.dedup_by(|a, b| {
            (&a.from, &a.to, &a.path, &a.host) == (&b.from, &b.to, &b.path, &b.host)
        });
        let mut out_flows: Vec<DraftFlow> = flows
            .iter()
            .filter_map(|f| {
                let to = match &f.to {
                    FlowTo::Binding(r) => qualified(r)?,
                    FlowTo::External(e) => e.clone(),
                };
                Some(DraftFlow {
                    from: self.owners[f.from].name.clone(),
                    to,
                    at: f.at.clone(),
                })
            })
            .collect();
        out_flows.sort_by(|a, b| (&a.from, &a.to, &a.at).cmp(&(&b.from, &b.to, &b.at)));
        out_flows.dedup_by(|a, b| (&a.from, &a.to) == (&b.from, &b.to));
        Draft {
            hosts: hosts.into_values().collect(),
            services,
            routes: out_routes,
            flows: out_flows,
            notes: self.notes.into_iter().collect(),
        }
    }
}

/// Where a flow goes.
#[derive(Debug, Clone)]
pub(super) enum FlowTo {
    Binding(BindingRef),
    External(String),
}

/// The description and networks of a drafted host.
fn host_for(name: &str, o: &Owner<'_>) -> DraftHost {
    match name {
        LOCAL => DraftHost {
            name: LOCAL.into(),
            description: "the machine the repository's services run on".into(),
            networks: Some(vec!["public".into()]),
        },
        K8S_NODES => DraftHost {
            name: K8S_NODES.into(),
            description: "every node of the cluster (NodePorts, hostPorts, the Ingress controller)"
                .into(),
            networks: Some(vec!["public".into()]),
        },
        _ => {
            let what = match o.kind {
                Kind::KubeService => format!(
                    "the address of Kubernetes Service `{}`{}",
                    o.decl.map_or("", |d| d.name.as_str()),
                    o.project()
                        .map(|p| format!(" (namespace {p})"))
                        .unwrap_or_default()
                ),
                _ => format!(
                    "the container of compose service `{}`{}: only other containers reach it",
                    o.decl.map_or("", |d| d.name.as_str()),
                    o.project()
                        .map(|p| format!(" (project {p})"))
                        .unwrap_or_default()
                ),
            };
            DraftHost {
                name: name.into(),
                description: what,
                networks: Some(Vec::new()),
            }
        }
    }
}

/// The last directory name of a path's parent (`None` at the root).
fn dir_name(path: &str) -> Option<&str> {
    parent_dir(path)
        .rsplit('/')
        .next()
        .filter(|d| !d.is_empty())
}

/// The protocol an image serves on a port, and whether it is a database or admin
/// interface: the image is the evidence (`postgres:16` on 5432 is `PostgreSQL`).
pub(super) fn image_app(image: &str, port: u16) -> Option<(&'static str, bool)> {
    const TABLE: &[(&[&str], u16, &str, bool)] = &[
        (
            &["postgres", "postgis", "timescaledb"],
            5432,
            "postgres",
            true,
        ),
        (&["mysql", "mariadb", "percona"], 3306, "mysql", true),
        (
            &["redis", "valkey", "keydb", "redis-stack"],
            6379,
            "redis",
            true,
        ),
        (&["mongo", "mongodb"], 27017, "mongodb", true),
        (&["memcached"], 11211, "memcached", true),
        (&["rabbitmq"], 5672, "amqp", true),
        (&["rabbitmq"], 15672, "http", true),
        (
            &["elasticsearch", "opensearch"],
            9200,
            "elasticsearch",
            true,
        ),
        (&["clickhouse-server", "clickhouse"], 8123, "http", true),
        (
            &["clickhouse-server", "clickhouse"],
            9000,
            "clickhouse-native",
            true,
        ),
        (&["mailhog", "mailpit", "maildev"], 1025, "smtp", false),
        (&["mailhog", "mailpit"], 8025, "http", false),
        (&["maildev"], 1080, "http", false),
        (
            &["nginx", "httpd", "caddy", "traefik", "haproxy", "apache"],
            80,
            "http",
            false,
        ),
        (
            &["nginx", "httpd", "caddy", "traefik", "haproxy", "apache"],
            443,
            "https",
            false,
        ),
        (&["nginx", "httpd", "caddy", "traefik"], 8080, "http", false),
        (&["grafana"], 3000, "http", false),
        (&["prometheus"], 9090, "prometheus", true),
        (&["minio"], 9000, "http", true),
        (&["minio"], 9001, "http", true),
        (&["adminer", "pgadmin4", "phpmyadmin"], 80, "http", true),
        (&["adminer"], 8080, "http", true),
    ];
    let base = image
        .rsplit('/')
        .next()
        .unwrap_or(image)
        .split([':', '@'])
        .next()
        .unwrap_or(image)
        .to_ascii_lowercase();
    TABLE
        .iter()
        .find(|(names, p, _, _)| *p == port && names.contains(&base.as_str()))
        .map(|(_, _, app, sensitive)| (*app, *sensitive))
}
