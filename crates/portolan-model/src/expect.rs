//! Reachability expectations (`[[expect]]`): the raw definitions resolved into
//! [`Expectation`]s — a source class, a target, the promised verdict and its scope
//! (environment, transport, address family).
//!
//! Names resolve in a fixed order so a spec reads one way: for `from`, `public`/`internet`,
//! `any` and `host-internal` first, then networks, hosts, services, and finally a CIDR; for
//! `to`, `service.binding`, a service, a project, then `host:port`. A prefix (`host:db`,
//! `service:db`, `project:shop`) picks the kind when a name is ambiguous. A name that
//! resolves to nothing is a dangling reference (reported by lint with a suggestion); a
//! source that has no address (a host without `addresses`) and a pair of expectations that
//! promise opposite verdicts for the same source, target and scope are load errors.

use std::collections::HashMap;

use crate::error::{SpecError, did_you_mean};
use crate::model::{
    BindingId, EnvId, HostId, Model, NetId, ProjectId, RefKind, ServiceId, Transport, Unresolved,
};
use crate::net::IpNet;
use crate::port::PortRange;
use crate::source::{FileId, Loc};
use crate::spanned::Sp;
use crate::spec::{ExpectDef, SpecFile};

pub use crate::spec::Family;

/// Who an expectation is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExpectFrom {
    /// Addresses on the Internet: everything outside the private ranges and loopback
    /// (`public`, `internet`).
    Internet,
    /// Every address (`any`).
    Any,
    /// Containers on the target's host (`host-internal`).
    HostInternal,
    /// A declared network.
    Network(NetId),
    /// The addresses of a host.
    Host(HostId),
    /// The addresses of the hosts a service runs on.
    Service(ServiceId),
    /// A literal network.
    Cidr(IpNet),
}

/// What an expectation is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExpectTo {
    /// One named binding of a service, on every host it is expanded onto.
    Binding(ServiceId, String),
    /// Every binding of a service.
    Service(ServiceId),
    /// Whatever the spec declares on a host's ports (nothing declared: nothing listens).
    HostPort(HostId, PortRange),
    /// Every binding of every service of a project.
    Project(ProjectId),
}

/// One resolved `[[expect]]`.
#[derive(Clone, Debug)]
pub struct Expectation {
    /// 1-based number in spec order (`expect #3`).
    pub index: usize,
    /// Who connects.
    pub from: ExpectFrom,
    /// To what.
    pub to: ExpectTo,
    /// Whether `from` can connect (`true`) or must not (`false`).
    pub reach: bool,
    /// Only instances in this environment.
    pub env: Option<EnvId>,
    /// Only bindings of this transport.
    pub transport: Option<Transport>,
    /// The address families the fact is about.
    pub family: Family,
    /// Why it must hold.
    pub reason: Option<String>,
    /// The whole `[[expect]]` table.
    pub loc: Loc,
    /// The `from` value.
    pub from_loc: Loc,
    /// The `to` value.
    pub to_loc: Loc,
    /// The `reach` value.
    pub reach_loc: Loc,
    /// `from` / `to` as written.
    pub label: (String, String),
}

impl Expectation {
    /// The binding instances the expectation is about: the target's bindings, restricted
    /// to its environment and transport.
    pub fn targets(&self, model: &Model) -> Vec<BindingId> {
        self.to.instances(model, self.env, self.transport)
    }

    /// `expect #3 (public → postgres.db)`.
    pub fn title(&self) -> String {
        format!(
            "expect #{} ({} → {})",
            self.index, self.label.0, self.label.1
        )
    }
}

impl ExpectTo {
    /// The binding instances of the target, in model order, restricted to an environment and
    /// a transport when given.
    pub fn instances(
        &self,
        model: &Model,
        env: Option<EnvId>,
        transport: Option<Transport>,
    ) -> Vec<BindingId> {
        let keep = |i: &usize| {
            let b = &model.bindings[*i];
            env.is_none_or(|e| b.environment == e) && transport.is_none_or(|t| b.transport == t)
        };
        let of_service = |s: ServiceId| model.service(s).bindings.clone();
        let all: Vec<usize> = match self {
            ExpectTo::Binding(s, name) => of_service(*s)
                .filter(|i| model.bindings[*i].name == *name)
                .collect(),
            ExpectTo::Service(s) => of_service(*s).collect(),
            ExpectTo::Project(p) => model
                .services
                .iter()
                .enumerate()
                .filter(|(_, s)| s.project == Some(*p))
                .flat_map(|(si, _)| of_service(ServiceId::from_index(si)))
                .collect(),
            ExpectTo::HostPort(h, ports) => model
                .bindings
                .iter()
                .enumerate()
                .filter(|(_, b)| b.host == *h && b.ports.overlaps(ports))
                .map(|(i, _)| i)
                .collect(),
        };
        all.into_iter()
            .filter(keep)
            .map(BindingId::from_index)
            .collect()
    }
}

/// Resolves every `[[expect]]` of `files` into `model.expectations`; dangling names go to
/// `model.unresolved`, errors to `errors`.
pub(crate) fn resolve(
    files: &[(FileId, SpecFile)],
    model: &mut Model,
    errors: &mut Vec<SpecError>,
) {
    let mut index = 0;
    for (f, spec) in files {
        for e in &spec.expect {
            index += 1;
            let referrer = format!("expect #{index}");
            let from_loc = Loc::new(*f, &e.from.span);
            let to_loc = Loc::new(*f, &e.to.span);
            let from = match parse_source(model, &e.from) {
                Ok(x) => Some(x),
                Err(err) => {
                    report(model, errors, err, from_loc, &referrer);
                    None
                }
            };
            let to = match parse_target(model, &e.to) {
                Ok(x) => Some(x),
                Err(err) => {
                    report(model, errors, err, to_loc, &referrer);
                    None
                }
            };
            let env = match &e.env {
                None => Some(None),
                Some(n) => environment(model, n, *f, &referrer).map(Some),
            };
            let (Some(from), Some(to), Some(env)) = (from, to, env) else {
                continue;
            };
            model
                .expectations
                .push(expectation(index, e, *f, from, to, env));
        }
    }
    contradictions(model, errors);
}

fn expectation(
    index: usize,
    e: &Sp<ExpectDef>,
    f: FileId,
    from: ExpectFrom,
    to: ExpectTo,
    env: Option<EnvId>,
) -> Expectation {
    Expectation {
        index,
        from,
        to,
        reach: e.reach.value,
        env,
        transport: e.transport.as_ref().map(|t| t.value),
        family: e.family.as_ref().map_or(Family::Both, |x| x.value),
        reason: e.reason.clone(),
        loc: Loc::new(f, &e.span),
        from_loc: Loc::new(f, &e.from.span),
        to_loc: Loc::new(f, &e.to.span),
        reach_loc: Loc::new(f, &e.reach.span),
        label: (e.from.value.clone(), e.to.value.clone()),
    }
}

/// Why a source or target name does not resolve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameError {
    /// It names nothing of the kind it should be.
    Dangling {
        /// What it should have been.
        kind: RefKind,
        /// The name.
        name: String,
        /// The closest existing name.
        suggestion: Option<String>,
    },
    /// It names something that cannot be used here (a host without addresses as a source).
    Unusable {
        /// What is wrong.
        message: String,
        /// How to fix it.
        help: String,
    },
}

impl std::fmt::Display for NameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameError::Dangling {
                kind,
                name,
                suggestion,
            } => {
                write!(f, "no {} named `{name}`", kind.noun())?;
                if let Some(s) = suggestion {
                    write!(f, " (did you mean `{s}`?)")?;
                }
                Ok(())
            }
            NameError::Unusable { message, help } => write!(f, "{message} ({help})"),
        }
    }
}

fn dangling(kind: RefKind, name: &str, candidates: &[String]) -> NameError {
    NameError::Dangling {
        kind,
        name: name.to_string(),
        suggestion: did_you_mean(name, candidates.iter().map(String::as_str)).map(str::to_string),
    }
}

fn names<T>(items: &[T], name: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|x| name(x).to_string()).collect()
}

/// A host as a source: it needs addresses.
fn host_source(model: &Model, h: HostId) -> Result<(), NameError> {
    let host = model.host(h);
    if host.addresses.is_empty() {
        return Err(NameError::Unusable {
            message: format!(
                "host `{}` has no `addresses`, so it cannot be the source of an expectation",
                host.name
            ),
            help: format!(
                "give host `{}` its addresses (`addresses = [\"…\"]`)",
                host.name
            ),
        });
    }
    Ok(())
}

/// Resolves a source class as `[[expect]] from` (and `portolan why --from`) write it.
pub fn parse_source(model: &Model, s: &str) -> Result<ExpectFrom, NameError> {
    let (kind, name) = match s.split_once(':') {
        Some((k @ ("network" | "host" | "service"), rest)) => (Some(k), rest),
        _ => (None, s),
    };
    if kind.is_none() {
        match s {
            "public" | "internet" => return Ok(ExpectFrom::Internet),
            "any" => return Ok(ExpectFrom::Any),
            "host-internal" => return Ok(ExpectFrom::HostInternal),
            _ => {}
        }
    }
    if matches!(kind, None | Some("network"))
        && let Some(id) = model.network_named(name)
        && !model.network(id).builtin
    {
        return Ok(ExpectFrom::Network(id));
    }
    if matches!(kind, None | Some("host"))
        && let Some(h) = model.host_named(name)
    {
        host_source(model, h)?;
        return Ok(ExpectFrom::Host(h));
    }
    if matches!(kind, None | Some("service"))
        && let Some(sid) = model.service_named(name)
    {
        let mut hosts: Vec<HostId> = model.bindings_of(sid).iter().map(|b| b.host).collect();
        hosts.sort_unstable();
        hosts.dedup();
        if hosts.is_empty() {
            return Err(NameError::Unusable {
                message: format!(
                    "service `{name}` has no bindings, so the spec does not say which host it runs on"
                ),
                help: "name the host or network it connects from instead".into(),
            });
        }
        for h in hosts {
            host_source(model, h)?;
        }
        return Ok(ExpectFrom::Service(sid));
    }
    if kind.is_none()
        && let Ok(net) = s.parse::<IpNet>()
    {
        return Ok(ExpectFrom::Cidr(net));
    }
    let mut candidates: Vec<String> = ["public", "internet", "any", "host-internal"]
        .iter()
        .map(ToString::to_string)
        .collect();
    let rk = match kind {
        Some("host") => {
            candidates = names(&model.hosts, |h| &h.name);
            RefKind::Host
        }
        Some("service") => {
            candidates = names(&model.services, |x| &x.name);
            RefKind::Service
        }
        _ => {
            candidates.extend(
                model
                    .networks
                    .iter()
                    .filter(|n| !n.builtin)
                    .map(|n| n.name.clone()),
            );
            candidates.extend(names(&model.hosts, |h| &h.name));
            candidates.extend(names(&model.services, |x| &x.name));
            RefKind::Network
        }
    };
    Err(dangling(rk, name, &candidates))
}

/// Resolves a target as `[[expect]] to` (and `portolan why TARGET`) write it.
pub fn parse_target(model: &Model, s: &str) -> Result<ExpectTo, NameError> {
    if let Some(name) = s.strip_prefix("project:") {
        return model
            .project_named(name)
            .map(ExpectTo::Project)
            .ok_or_else(|| dangling(RefKind::Project, name, &names(&model.projects, |p| &p.name)));
    }
    let plain = s.strip_prefix("service:");
    let s = plain.unwrap_or(s);
    if let Some((svc, b)) = s.split_once('.')
        && let Some(sid) = model.service_named(svc)
    {
        if model.service(sid).binding_names.iter().any(|x| x == b) {
            return Ok(ExpectTo::Binding(sid, b.to_string()));
        }
        let full: Vec<String> = model
            .service(sid)
            .binding_names
            .iter()
            .map(|x| format!("{svc}.{x}"))
            .collect();
        return Err(dangling(RefKind::Binding, s, &full));
    }
    if let Some(sid) = model.service_named(s) {
        return Ok(ExpectTo::Service(sid));
    }
    if plain.is_none() {
        if let Some(p) = model.project_named(s) {
            return Ok(ExpectTo::Project(p));
        }
        if let Some((h, port)) = s.rsplit_once(':')
            && let Ok(ports) = port.parse::<PortRange>()
        {
            return model
                .host_named(h)
                .map(|hid| ExpectTo::HostPort(hid, ports))
                .ok_or_else(|| dangling(RefKind::Host, h, &names(&model.hosts, |x| &x.name)));
        }
    }
    let mut list = names(&model.services, |x| &x.name);
    if plain.is_none() {
        list.extend(names(&model.projects, |p| &p.name));
    }
    if s.contains('.') {
        for sv in &model.services {
            list.extend(sv.binding_names.iter().map(|b| format!("{}.{b}", sv.name)));
        }
    }
    let kind = if s.contains('.') {
        RefKind::Binding
    } else {
        RefKind::Service
    };
    Err(dangling(kind, s, &list))
}

/// Records a name error of expectation `referrer` at `loc`.
fn report(model: &mut Model, errors: &mut Vec<SpecError>, e: NameError, loc: Loc, referrer: &str) {
    match e {
        NameError::Dangling {
            kind,
            name,
            suggestion,
        } => model.unresolved.push(Unresolved {
            kind,
            name,
            loc,
            referrer: referrer.to_string(),
            suggestion,
        }),
        NameError::Unusable { message, help } => {
            errors
                .push(SpecError::new(Some(loc), format!("{referrer}: {message}")).with_help(help));
        }
    }
}

fn environment(model: &mut Model, n: &Sp<String>, f: FileId, referrer: &str) -> Option<EnvId> {
    if let Some(i) = model.environments.iter().position(|e| e.name == n.value) {
        return Some(EnvId::from_index(i));
    }
    let list = names(&model.environments, |e| &e.name);
    let err = dangling(RefKind::Environment, n, &list);
    report(model, &mut Vec::new(), err, Loc::new(f, &n.span), referrer);
    None
}

/// Two expectations with the same source and target whose scopes overlap but whose verdicts
/// differ cannot both hold: an error at each.
fn contradictions(model: &Model, errors: &mut Vec<SpecError>) {
    let mut seen: HashMap<(&ExpectFrom, &ExpectTo), Vec<&Expectation>> = HashMap::new();
    for e in &model.expectations {
        let earlier = seen.entry((&e.from, &e.to)).or_default();
        for o in earlier.iter() {
            let overlap = o.reach != e.reach
                && o.family.overlaps(e.family)
                && (o.env.is_none() || e.env.is_none() || o.env == e.env)
                && (o.transport.is_none() || e.transport.is_none() || o.transport == e.transport);
            if !overlap {
                continue;
            }
            for (here, there) in [(e, *o), (*o, e)] {
                let mut err = SpecError::new(
                    Some(here.reach_loc),
                    format!(
                        "{} says `reach = {}`, but {} says `reach = {}` for the same source and target",
                        here.title(),
                        here.reach,
                        there.title(),
                        there.reach
                    ),
                )
                .with_help("keep one of them, or narrow one with `env`, `transport` or `family`");
                err.related.push((
                    there.reach_loc,
                    format!("contradicted by expect #{}", there.index),
                ));
                errors.push(err);
            }
        }
        earlier.push(e);
    }
}
