//! The resolved model: the spec after merging files, resolving names to indices,
//! applying per-environment overrides and expanding every binding onto its hosts.
//! Everything downstream (lint, render, alloc, drift) reads this, never the raw TOML.

use std::net::IpAddr;

use crate::net::{IpNet, IpSet};
use crate::port::{PortRange, PortSet};
use crate::source::{Loc, SourceMap};
pub use crate::spec::{Action, FirewallKind, Level, Publisher, Status, Tls, Transport};

macro_rules! id_type {
    ($($(#[$m:meta])* $name:ident),*) => {$(
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);
        impl $name {
            /// The index into the model's vector.
            pub fn index(self) -> usize { self.0 as usize }
            /// The id of index `i`.
            pub fn from_index(i: usize) -> Self { Self(u32::try_from(i).unwrap_or(u32::MAX)) }
        }
    )*};
}

id_type!(
    /// Index of a [`Network`].
    NetId,
    /// Index of an [`Environment`].
    EnvId,
    /// Index of a [`Host`].
    HostId,
    /// Index of a [`Project`].
    ProjectId,
    /// Index of a [`Service`].
    ServiceId,
    /// Index of a [`Binding`].
    BindingId
);

/// The validated, resolved spec.
#[derive(Debug, Default, Clone)]
pub struct Model {
    /// The files it came from.
    pub sources: SourceMap,
    /// `[spec]` metadata.
    pub meta: Meta,
    /// Declared networks, sorted by name.
    pub networks: Vec<Network>,
    /// Environments, sorted by name.
    pub environments: Vec<Environment>,
    /// Hosts, sorted by name.
    pub hosts: Vec<Host>,
    /// Projects, sorted by name.
    pub projects: Vec<Project>,
    /// Services, sorted by name.
    pub services: Vec<Service>,
    /// Every binding on every host, grouped by service (in service order), then binding name,
    /// then host.
    pub bindings: Vec<Binding>,
    /// Proxy edges between binding instances.
    pub routes: Vec<Route>,
    /// Allowed connections.
    pub flows: Vec<Flow>,
    /// Held ports.
    pub reservations: Vec<Reservation>,
    /// Reachability expectations (`[[expect]]`), in spec order.
    pub expectations: Vec<crate::expect::Expectation>,
    /// `[lint]`.
    pub lint: LintConfig,
    /// Names that refer to nothing (reported by the `dangling-reference` rule).
    pub unresolved: Vec<Unresolved>,
}

/// `[spec]`.
#[derive(Debug, Default, Clone)]
pub struct Meta {
    /// Title.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Maintainer.
    pub owner: Option<String>,
}

/// A named set of addresses.
#[derive(Debug, Clone)]
pub struct Network {
    /// Name.
    pub name: String,
    /// Where declared (`None` for built-ins).
    pub loc: Option<Loc>,
    /// CIDRs as written.
    pub cidrs: Vec<IpNet>,
    /// Their union.
    pub set: IpSet,
    /// Description.
    pub description: Option<String>,
    /// Whether this is the built-in `public` network.
    pub builtin: bool,
}

/// An environment.
#[derive(Debug, Clone)]
pub struct Environment {
    /// Name.
    pub name: String,
    /// Where declared, if it was.
    pub loc: Option<Loc>,
    /// Description.
    pub description: Option<String>,
    /// Its hosts.
    pub hosts: Vec<HostId>,
    /// `internal` for this environment: the union of its hosts' non-public networks.
    pub internal: IpSet,
}

/// A machine.
#[derive(Debug, Clone)]
pub struct Host {
    /// Name.
    pub name: String,
    /// Where declared (`None` for the implicit host of unplaced services).
    pub loc: Option<Loc>,
    /// Environment.
    pub environment: EnvId,
    /// Addresses.
    pub addresses: Vec<IpAddr>,
    /// Networks it is reachable from.
    pub networks: Vec<NetId>,
    /// Where `networks` was written.
    pub networks_loc: Option<Loc>,
    /// Firewall.
    pub firewall: Firewall,
    /// OS ephemeral port range.
    pub ephemeral: PortRange,
    /// Where `ephemeral` was written.
    pub ephemeral_loc: Option<Loc>,
    /// `::` accepts IPv4 too.
    pub dual_stack: bool,
    /// Description.
    pub description: Option<String>,
    /// Host names the machine answers to (`hostname`, then `hostnames`, as written).
    pub hostnames: Vec<IdentityClaim>,
    /// The machine's systemd machine id.
    pub machine_id: Option<IdentityClaim>,
}

impl Host {
    /// The host name to address the host by: the first one declared.
    pub fn hostname(&self) -> Option<&str> {
        self.hostnames.first().map(|c| c.value.as_str())
    }
}

/// A host name or machine id a host claims, and where the spec says so: two hosts claiming
/// one is a lint finding, and the claim that recognised a machine is named when asked why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityClaim {
    /// The name or id, as written.
    pub value: String,
    /// Where.
    pub loc: Option<Loc>,
}

/// A host firewall and what it is known to do.
#[derive(Debug, Clone)]
pub struct Firewall {
    /// Software.
    pub kind: FirewallKind,
    /// What it lets in.
    pub policy: FirewallPolicy,
    /// Where declared.
    pub loc: Option<Loc>,
}

/// How a firewall's behaviour is known.
#[derive(Debug, Clone)]
pub enum FirewallPolicy {
    /// No filtering.
    Open,
    /// Assumed to allow exactly the declared exposure (portolan generates it).
    FromSpec,
    /// The rules as deployed (first match wins), then the default.
    Rules {
        /// Default inbound action.
        inbound: Action,
        /// Rules in order.
        rules: Vec<FirewallRule>,
    },
}

/// A deployed firewall rule.
#[derive(Debug, Clone)]
pub struct FirewallRule {
    /// allow / deny.
    pub action: Action,
    /// Ports (`None` = all).
    pub ports: Option<PortSet>,
    /// Transport (`None` = both).
    pub transport: Option<Transport>,
    /// Sources.
    pub from: IpSet,
    /// Sources as written.
    pub from_label: String,
    /// Where written.
    pub loc: Loc,
}

/// A project.
#[derive(Debug, Clone)]
pub struct Project {
    /// Name.
    pub name: String,
    /// Where declared.
    pub loc: Loc,
    /// Range.
    pub range: Option<PortSet>,
    /// Where the range was written.
    pub range_loc: Option<Loc>,
    /// Blocks, sorted by name.
    pub blocks: Vec<Block>,
    /// Description.
    pub description: Option<String>,
    /// Owner.
    pub owner: Option<String>,
}

/// A named sub-range of a project.
#[derive(Debug, Clone)]
pub struct Block {
    /// Name.
    pub name: String,
    /// Where written.
    pub loc: Loc,
    /// Ports.
    pub ports: PortSet,
    /// Purpose.
    pub purpose: Option<String>,
}

/// A service.
#[derive(Debug, Clone)]
pub struct Service {
    /// Name.
    pub name: String,
    /// Where declared (the table).
    pub loc: Loc,
    /// Owning project.
    pub project: Option<ProjectId>,
    /// Block (index into the project's blocks).
    pub block: Option<usize>,
    /// Where `block` was written.
    pub block_loc: Option<Loc>,
    /// Purpose.
    pub purpose: Option<String>,
    /// Owner.
    pub owner: Option<String>,
    /// Status (base; bindings carry the per-environment one).
    pub status: Status,
    /// Since.
    pub since: Option<String>,
    /// Evidence.
    pub evidence: Vec<String>,
    /// Runs privileged on purpose.
    pub privileged: bool,
    /// Expected program.
    pub process: Option<String>,
    /// Suppressions.
    pub suppressions: Vec<Suppression>,
    /// Names of its bindings as declared (base and per-environment), sorted.
    pub binding_names: Vec<String>,
    /// Its binding instances (a range of `Model::bindings`).
    pub bindings: std::ops::Range<usize>,
    /// End of its lease (seconds since the Unix epoch, UTC), for `alloc --lease` services.
    pub lease_until: Option<i64>,
}

/// A `[services.S.lint] allow` entry.
#[derive(Debug, Clone)]
pub struct Suppression {
    /// Rule id.
    pub rule: String,
    /// Reason.
    pub reason: String,
    /// Only this binding.
    pub binding: Option<String>,
    /// Where written.
    pub loc: Loc,
}

/// Who is meant to reach a binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExposureTerm {
    /// The host itself.
    Localhost,
    /// Containers on the host.
    HostInternal,
    /// The environment's private networks.
    Internal,
    /// Anyone.
    Public,
    /// A named network.
    Network(NetId),
    /// A literal CIDR.
    Cidr(IpNet),
}

/// One binding of a service on one host.
#[derive(Debug, Clone)]
pub struct Binding {
    /// Owning service.
    pub service: ServiceId,
    /// Binding name (`http`, `metrics`, …).
    pub name: String,
    /// Host.
    pub host: HostId,
    /// Environment of the host.
    pub environment: EnvId,
    /// Where the binding was written (the override's when one applies).
    pub loc: Loc,
    /// Host port(s).
    pub ports: PortRange,
    /// Where `port` was written.
    pub port_loc: Loc,
    /// Bind address.
    pub bind: IpAddr,
    /// Where `bind` was written (`None` = defaulted).
    pub bind_loc: Option<Loc>,
    /// Transport.
    pub transport: Transport,
    /// App protocol, lowercased.
    pub app: Option<String>,
    /// Container port.
    pub target: Option<PortRange>,
    /// Publisher.
    pub publisher: Publisher,
    /// Where `publisher` was written.
    pub publisher_loc: Option<Loc>,
    /// Declared exposure.
    pub exposure: Vec<ExposureTerm>,
    /// Where `exposure` was written (`None` = defaulted to `internal`).
    pub exposure_loc: Option<Loc>,
    /// Auth required (`None` = not declared).
    pub auth: Option<bool>,
    /// Where `auth` was written.
    pub auth_loc: Option<Loc>,
    /// TLS.
    pub tls: Tls,
    /// Where `tls` was written.
    pub tls_loc: Option<Loc>,
    /// Redirect-only.
    pub redirect: bool,
    /// Health path.
    pub health: Option<String>,
    /// Declared sensitivity.
    pub sensitive: Option<bool>,
    /// Declared browser use.
    pub browser: Option<bool>,
    /// Purpose.
    pub purpose: Option<String>,
    /// Status in this environment.
    pub status: Status,
}

impl ExposureTerm {
    /// The term as written in the spec (`localhost`, `lan`, `10.0.0.0/8`).
    pub fn label(&self, model: &Model) -> String {
        match self {
            ExposureTerm::Localhost => "localhost".into(),
            ExposureTerm::HostInternal => "host-internal".into(),
            ExposureTerm::Internal => "internal".into(),
            ExposureTerm::Public => "public".into(),
            ExposureTerm::Network(id) => model.network(*id).name.clone(),
            ExposureTerm::Cidr(c) => c.to_string(),
        }
    }
}

impl Binding {
    /// The declared exposure terms, as written.
    pub fn exposure_terms(&self, model: &Model) -> Vec<String> {
        self.exposure.iter().map(|t| t.label(model)).collect()
    }

    /// The declared exposure as written, comma-separated (`lan, vpn`).
    pub fn exposure_label(&self, model: &Model) -> String {
        self.exposure_terms(model).join(", ")
    }

    /// `service.binding`.
    pub fn qualified_name(&self, model: &Model) -> String {
        format!("{}.{}", model.service(self.service).name, self.name)
    }
}

/// A proxy edge between two binding instances.
#[derive(Debug, Clone)]
pub struct Route {
    /// Listener.
    pub from: BindingId,
    /// Upstream.
    pub to: BindingId,
    /// Host match.
    pub host: Option<String>,
    /// Path match.
    pub path: Option<String>,
    /// Where written.
    pub loc: Loc,
}

/// One end of a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowEnd {
    /// A service (all its bindings).
    Service(ServiceId),
    /// One named binding of a service.
    Binding(ServiceId, String),
    /// A named network.
    Network(NetId),
    /// A literal network.
    Cidr(IpNet),
    /// Anyone.
    Public,
    /// Something outside the spec: an FQDN pattern (`*.stripe.com`), with an optional port.
    External {
        /// The name or pattern.
        pattern: String,
        /// Port(s).
        ports: Option<PortRange>,
    },
}

/// An allowed connection.
#[derive(Debug, Clone)]
pub struct Flow {
    /// Source.
    pub from: FlowEnd,
    /// Destination.
    pub to: FlowEnd,
    /// Destination ports when the destination is a network or CIDR.
    pub to_ports: Option<PortRange>,
    /// Transport.
    pub transport: Transport,
    /// Purpose.
    pub purpose: Option<String>,
    /// Where written.
    pub loc: Loc,
    /// `from` / `to` as written.
    pub label: (String, String),
}

/// Ports held without a service.
#[derive(Debug, Clone)]
pub struct Reservation {
    /// Ports.
    pub ports: PortSet,
    /// Project.
    pub project: Option<ProjectId>,
    /// Why.
    pub why: String,
    /// Host.
    pub host: Option<HostId>,
    /// Until.
    pub until: Option<String>,
    /// Where written.
    pub loc: Loc,
}

/// `[lint]`.
#[derive(Debug, Clone, Default)]
pub struct LintConfig {
    /// Rule ids never reported.
    pub allow: Vec<(String, Loc)>,
    /// Severity overrides.
    pub severity: Vec<(String, Level, Loc)>,
}

/// What kind of thing a dangling name was meant to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RefKind {
    /// A host.
    Host,
    /// A project.
    Project,
    /// A block of a project.
    Block,
    /// A network.
    Network,
    /// An environment.
    Environment,
    /// A service.
    Service,
    /// A binding of a service.
    Binding,
}

impl RefKind {
    /// Lowercase noun.
    pub fn noun(self) -> &'static str {
        match self {
            RefKind::Host => "host",
            RefKind::Project => "project",
            RefKind::Block => "block",
            RefKind::Network => "network",
            RefKind::Environment => "environment",
            RefKind::Service => "service",
            RefKind::Binding => "binding",
        }
    }
}

/// A name that refers to nothing.
#[derive(Debug, Clone)]
pub struct Unresolved {
    /// What it should have been.
    pub kind: RefKind,
    /// The name.
    pub name: String,
    /// Where written.
    pub loc: Loc,
    /// Who refers (`service odoo`, `route #2`).
    pub referrer: String,
    /// The closest existing name.
    pub suggestion: Option<String>,
}

impl Model {
    /// The service behind `id`.
    pub fn service(&self, id: ServiceId) -> &Service {
        &self.services[id.index()]
    }
    /// The host behind `id`.
    pub fn host(&self, id: HostId) -> &Host {
        &self.hosts[id.index()]
    }
    /// The project behind `id`.
    pub fn project(&self, id: ProjectId) -> &Project {
        &self.projects[id.index()]
    }
    /// The environment behind `id`.
    pub fn environment(&self, id: EnvId) -> &Environment {
        &self.environments[id.index()]
    }
    /// The network behind `id`.
    pub fn network(&self, id: NetId) -> &Network {
        &self.networks[id.index()]
    }
    /// The binding behind `id`.
    pub fn binding(&self, id: BindingId) -> &Binding {
        &self.bindings[id.index()]
    }
    /// Every binding instance with its id, in model order.
    pub fn binding_ids(&self) -> impl Iterator<Item = (BindingId, &Binding)> {
        self.bindings
            .iter()
            .enumerate()
            .map(|(i, b)| (BindingId::from_index(i), b))
    }
    /// Bindings of a service.
    pub fn bindings_of(&self, id: ServiceId) -> &[Binding] {
        &self.bindings[self.service(id).bindings.clone()]
    }
    /// Finds a service by name.
    pub fn service_named(&self, name: &str) -> Option<ServiceId> {
        self.services
            .binary_search_by(|s| s.name.as_str().cmp(name))
            .ok()
            .map(ServiceId::from_index)
    }
    /// Finds a project by name.
    pub fn project_named(&self, name: &str) -> Option<ProjectId> {
        self.projects
            .binary_search_by(|s| s.name.as_str().cmp(name))
            .ok()
            .map(ProjectId::from_index)
    }
    /// Finds a host by name.
    pub fn host_named(&self, name: &str) -> Option<HostId> {
        self.hosts
            .binary_search_by(|s| s.name.as_str().cmp(name))
            .ok()
            .map(HostId::from_index)
    }
    /// Finds a network by name.
    pub fn network_named(&self, name: &str) -> Option<NetId> {
        self.networks
            .binary_search_by(|s| s.name.as_str().cmp(name))
            .ok()
            .map(NetId::from_index)
    }
}
