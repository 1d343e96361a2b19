//! Turns parsed spec files into a [`Model`]: merges the files (a name defined twice is an
//! error naming both places), resolves names to ids (unknown names become `Unresolved`,
//! reported by the `dangling-reference` rule), applies per-environment overrides and expands
//! each binding onto every host it runs on.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};

use crate::error::{SpecError, did_you_mean_owned};
use crate::model::{
    Binding, Block, EnvId, Environment, ExposureTerm, Firewall, FirewallPolicy, FirewallRule, Flow,
    FlowEnd, Host, HostId, IdentityClaim, LintConfig, Model, NetId, Network, Project, RefKind,
    Reservation, Route, Service, ServiceId, Suppression, Unresolved,
};
use crate::net::{IpNet, IpSet};
use crate::port::PortRange;
use crate::source::{FileId, Loc};
use crate::spanned::{List, ShortOr, Sp};
use crate::spec::{
    BindingDef, FirewallKind, Name, OverrideDef, Publisher, ServiceDef, SpecFile, Status, Tls,
    Transport,
};

/// Linux's default `net.ipv4.ip_local_port_range`.
pub const LINUX_EPHEMERAL: PortRange = PortRange {
    lo: 32768,
    hi: 60999,
};

/// Names that mean something by themselves in exposure and flow positions.
pub const RESERVED_NAMES: [&str; 5] = ["public", "localhost", "internal", "host-internal", "any"];

/// The host that takes bindings of services that name no host.
pub const IMPLICIT_HOST: &str = "default";
/// The environment of hosts that name none.
pub const DEFAULT_ENV: &str = "default";

struct Entry<'a, T> {
    file: FileId,
    name: &'a Name,
    def: &'a T,
}

/// One chunk's resolved services: services, their bindings, dangling names (with, per
/// service, the end of its share of them), errors.
type Batch = (
    Vec<Service>,
    Vec<Binding>,
    (Vec<Unresolved>, Vec<usize>),
    Vec<SpecError>,
);
/// The resolver's name maps of networks and hosts.
type Ids = (HashMap<String, NetId>, HashMap<String, HostId>);
/// A batch whose services are moved out in order, each with its bindings and dangling names.
struct Drain {
    services: std::vec::IntoIter<Service>,
    bindings: std::vec::IntoIter<Binding>,
    /// Index in the batch of the next binding `bindings` yields.
    binding_at: usize,
    unresolved: std::vec::IntoIter<Unresolved>,
    /// Index in the batch of the next dangling name `unresolved` yields.
    unresolved_at: usize,
    /// After each service, how many dangling names the batch had.
    ends: Vec<usize>,
}

impl Drain {
    /// Steps to the bindings at `range` of the batch (ranges come in increasing order) and
    /// says how many to take.
    fn seek_bindings(&mut self, range: std::ops::Range<usize>) -> usize {
        let skip = range.start.saturating_sub(self.binding_at);
        if skip > 0 {
            self.bindings.nth(skip - 1);
        }
        self.binding_at = range.end.max(self.binding_at);
        range.len()
    }

    /// Steps to the dangling names recorded while the batch's service `si` resolved and says
    /// how many to take.
    fn seek_unresolved(&mut self, si: usize) -> usize {
        let from = si
            .checked_sub(1)
            .and_then(|i| self.ends.get(i))
            .copied()
            .unwrap_or(0);
        let to = self.ends.get(si).copied().unwrap_or(from).max(from);
        let skip = from.saturating_sub(self.unresolved_at);
        if skip > 0 {
            self.unresolved.nth(skip - 1);
        }
        self.unresolved_at = to.max(self.unresolved_at);
        to - from
    }
}

/// Resolves a spec of one huge file chunk by chunk: the chunks holding anything but services
/// are parsed first and give the hosts, projects and networks; then every services-only chunk
/// is parsed *and* resolved on a worker thread, so its raw form is freed (into the same
/// thread's heap) before the next chunk is read. Peak memory stays near the resolved model.
pub(crate) fn resolve_chunked(
    text: &str,
    file: FileId,
    plan: &[crate::chunk::Chunk],
    threads: usize,
    model: &mut Model,
) -> Result<Vec<SpecError>, crate::chunk::ParseError> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let mixed: Vec<(usize, usize)> = plan
        .iter()
        .filter(|c| !c.services_only)
        .map(|c| (c.start, c.end))
        .collect();
    let only: Vec<(usize, usize)> = plan
        .iter()
        .filter(|c| c.services_only)
        .map(|c| (c.start, c.end))
        .collect();
    let mut files: Vec<(FileId, SpecFile)> = crate::chunk::parse_ranges(text, &mixed, threads)?
        .into_iter()
        .map(|s| (file, s))
        .collect();
    crate::timings::phase("parse (non-service chunks)");
    let mut r = Resolver {
        model,
        errors: Vec::new(),
        net_ids: HashMap::new(),
        host_ids: HashMap::new(),
        unresolved_ends: Vec::new(),
    };
    let head_services = {
        let mut all = Vec::new();
        for (f, spec) in &mut files {
            all.extend(
                std::mem::take(&mut spec.services)
                    .into_iter()
                    .map(|(k, v)| (*f, k, v)),
            );
        }
        all
    };
    r.head(&files, true);
    // A worker resolves with its own copy of the head (hosts, projects, networks).
    let head = Model {
        networks: r.model.networks.clone(),
        environments: r.model.environments.clone(),
        hosts: r.model.hosts.clone(),
        projects: r.model.projects.clone(),
        ..Model::default()
    };
    let ids = (r.net_ids.clone(), r.host_ids.clone());
    // the name maps are only read while services resolve: each thread clones them once and
    // lends them to batch after batch (a clone per batch was 1,000 host names × 500 chunks)
    let resolve_batch = |entries: Vec<(FileId, Name, Sp<ServiceDef>)>,
                         scratch: &mut Model,
                         ids: &mut Ids|
     -> Batch {
        let mut w = Resolver {
            model: scratch,
            errors: Vec::new(),
            net_ids: std::mem::take(&mut ids.0),
            host_ids: std::mem::take(&mut ids.1),
            unresolved_ends: Vec::new(),
        };
        let entries = w.check_service_names(entries);
        w.services(entries);
        ids.0 = std::mem::take(&mut w.net_ids);
        ids.1 = std::mem::take(&mut w.host_ids);
        let errors = std::mem::take(&mut w.errors);
        let ends = std::mem::take(&mut w.unresolved_ends);
        (
            std::mem::take(&mut scratch.services),
            std::mem::take(&mut scratch.bindings),
            (std::mem::take(&mut scratch.unresolved), ends),
            errors,
        )
    };
    let mut batches: Vec<Option<Batch>> = Vec::with_capacity(only.len() + 1);
    {
        let mut scratch = Model {
            networks: head.networks.clone(),
            environments: head.environments.clone(),
            hosts: head.hosts.clone(),
            projects: head.projects.clone(),
            ..Model::default()
        };
        batches.push(Some(resolve_batch(
            head_services,
            &mut scratch,
            &mut ids.clone(),
        )));
    }
    let slots: Vec<Mutex<Option<Result<Batch, crate::chunk::ParseError>>>> =
        only.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, only.len().max(1)) {
            scope.spawn(|| {
                let mut scratch = Model {
                    networks: head.networks.clone(),
                    environments: head.environments.clone(),
                    hosts: head.hosts.clone(),
                    projects: head.projects.clone(),
                    ..Model::default()
                };
                let mut ids = ids.clone();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(a, b)) = only.get(i) else { break };
                    let parsed = crate::chunk::parse_one(text, a, b);
                    let out = parsed.map(|mut spec| {
                        let entries: Vec<_> = std::mem::take(&mut spec.services)
                            .into_iter()
                            .map(|(k, v)| (file, k, v))
                            .collect();
                        drop(spec);
                        resolve_batch(entries, &mut scratch, &mut ids)
                    });
                    let failed = out.is_err();
                    if let Ok(mut slot) = slots[i].lock() {
                        *slot = Some(out);
                    }
                    if failed {
                        next.store(usize::MAX / 2, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    for slot in slots {
        match slot.into_inner().ok().flatten() {
            Some(Ok(b)) => batches.push(Some(b)),
            Some(Err(e)) => return Err(e),
            None => {}
        }
    }
    crate::timings::phase("parse and resolve services");
    // Merge: services sorted by name across batches (ties in file order), ids reassigned,
    // and their dangling names in the same order as a one-piece resolve gives them.
    let mut batches: Vec<Batch> = batches.into_iter().flatten().collect();
    for b in &mut batches {
        r.errors.append(&mut b.3);
    }
    let total: usize = batches.iter().map(|b| b.1.len()).sum();
    r.model.bindings.reserve(total);
    r.model
        .services
        .reserve(batches.iter().map(|b| b.0.len()).sum());
    let names = batches
        .iter()
        .flat_map(|b| b.0.iter().map(|s| s.name.as_str()));
    let sorted = names.clone().zip(names.skip(1)).all(|(a, b)| a < b);
    if sorted {
        // the usual case (a file written in name order): append batch after batch
        for (svcs, binds, (mut unresolved, _), _) in batches {
            r.model.unresolved.append(&mut unresolved);
            let (s0, b0) = (r.model.services.len(), r.model.bindings.len());
            r.model.bindings.extend(binds.into_iter().map(|mut b| {
                b.service = ServiceId::from_index(b.service.index() + s0);
                b
            }));
            r.model.services.extend(svcs.into_iter().map(|mut s| {
                s.bindings = s.bindings.start + b0..s.bindings.end + b0;
                s
            }));
        }
    } else {
        let order = merge_order(&batches);
        // each batch is read front to back in that order, so its services, bindings and
        // dangling names are moved straight out of it (no copy of the whole model into
        // `Option` slots first)
        let mut parts: Vec<Drain> = batches
            .into_iter()
            .map(|(services, bindings, (unresolved, ends), _)| Drain {
                services: services.into_iter(),
                bindings: bindings.into_iter(),
                binding_at: 0,
                unresolved: unresolved.into_iter(),
                unresolved_at: 0,
                ends,
            })
            .collect();
        for (bi, si) in order {
            let Some(part) = parts.get_mut(bi) else {
                continue;
            };
            let Some(mut svc) = part.services.next() else {
                continue;
            };
            let own = part.seek_bindings(svc.bindings.clone());
            let dangling = part.seek_unresolved(si);
            if let Some(prev) = r.model.services.last()
                && prev.name == svc.name
            {
                let mut e = SpecError::new(
                    Some(svc.loc),
                    format!("service `{}` is defined twice", svc.name),
                );
                e.related.push((prev.loc, "first defined here".into()));
                r.errors.push(e);
                part.bindings.by_ref().take(own).for_each(drop);
                part.unresolved.by_ref().take(dangling).for_each(drop);
                continue;
            }
            let sid = ServiceId::from_index(r.model.services.len());
            let start = r.model.bindings.len();
            r.model
                .bindings
                .extend(part.bindings.by_ref().take(own).map(|mut b| {
                    b.service = sid;
                    b
                }));
            svc.bindings = start..r.model.bindings.len();
            r.model.services.push(svc);
            r.model
                .unresolved
                .extend(part.unresolved.by_ref().take(dangling));
        }
    }
    r.tail(&files);
    Ok(r.errors)
}

/// The order in which the services of all batches go into the model: by name, ties in batch
/// order. Each batch is already sorted by name (`check_service_names`), so this is a k-way
/// merge — n log k comparisons, reading each batch front to back — instead of sorting all n
/// services again through two indirections (at 1M services the sort was a third of the
/// serial merge, and grew faster than the spec).
fn merge_order(batches: &[Batch]) -> Vec<(usize, usize)> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    use std::collections::binary_heap::PeekMut;

    debug_assert!(
        batches
            .iter()
            .all(|b| b.0.windows(2).all(|w| w[0].name < w[1].name)),
        "every batch comes sorted out of check_service_names"
    );
    let mut order = Vec::with_capacity(batches.iter().map(|b| b.0.len()).sum());
    let mut heads: BinaryHeap<Reverse<(&str, usize, usize)>> = batches
        .iter()
        .enumerate()
        .filter_map(|(bi, b)| Some(Reverse((b.0.first()?.name.as_str(), bi, 0))))
        .collect();
    while let Some(mut head) = heads.peek_mut() {
        let Reverse((_, bi, si)) = *head;
        order.push((bi, si));
        match batches[bi].0.get(si + 1) {
            Some(next) => *head = Reverse((next.name.as_str(), bi, si + 1)),
            None => {
                PeekMut::pop(head);
            }
        }
    }
    order
}

pub(crate) fn resolve(files: &mut [(FileId, SpecFile)], model: &mut Model) -> Vec<SpecError> {
    let mut r = Resolver {
        model,
        errors: Vec::new(),
        net_ids: HashMap::new(),
        host_ids: HashMap::new(),
        unresolved_ends: Vec::new(),
    };
    r.run(files);
    r.errors
}

struct Resolver<'m> {
    model: &'m mut Model,
    errors: Vec<SpecError>,
    net_ids: HashMap<String, NetId>,
    host_ids: HashMap<String, HostId>,
    /// After each service resolved, how many dangling names there are (chunk merging).
    unresolved_ends: Vec<usize>,
}

fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Location of an item of a `List`, falling back to the whole value when the shorthand
/// (a single scalar) carried no span of its own.
fn item_loc<T>(file: FileId, item: &Sp<T>, outer: &std::ops::Range<usize>) -> Loc {
    if item.span.is_empty() {
        Loc::new(file, outer)
    } else {
        Loc::new(file, &item.span)
    }
}

/// A host's `hostname` then its `hostnames`, each where it was written.
fn host_names(file: FileId, def: &crate::spec::HostDef) -> Vec<IdentityClaim> {
    let one = def.hostname.iter().map(|n| (n, &n.span));
    let list = def
        .hostnames
        .iter()
        .flat_map(|l| l.value.iter().map(move |n| (n, &l.span)));
    one.chain(list)
        .map(|(n, outer)| IdentityClaim {
            value: n.value.to_string(),
            loc: Some(item_loc(file, n, outer)),
        })
        .collect()
}

impl Resolver<'_> {
    /// Collects a map section from every file, reporting duplicates and bad names.
    fn collect<'a, T>(
        &mut self,
        files: &'a [(FileId, SpecFile)],
        what: &str,
        section: impl Fn(&'a SpecFile) -> &'a BTreeMap<Name, T>,
    ) -> Vec<Entry<'a, T>> {
        let mut seen: BTreeMap<&str, Entry<'a, T>> = BTreeMap::new();
        for (file, spec) in files {
            for (name, def) in section(spec) {
                let loc = Loc::new(*file, &name.span);
                if !valid_name(name) {
                    self.errors.push(
                        SpecError::new(Some(loc), format!("invalid {what} name `{}`", name.value))
                            .with_help("names start with a letter or digit and contain only letters, digits, `-` and `_`"),
                    );
                    continue;
                }
                if let Some(first) = seen.get(name.as_str()) {
                    let mut e = SpecError::new(
                        Some(loc),
                        format!("{what} `{}` is defined twice", name.value),
                    );
                    e.related.push((
                        Loc::new(first.file, &first.name.span),
                        "first defined here".into(),
                    ));
                    self.errors.push(e);
                    continue;
                }
                seen.insert(
                    name.as_str(),
                    Entry {
                        file: *file,
                        name,
                        def,
                    },
                );
            }
        }
        seen.into_values().collect()
    }

    fn unresolved(
        &mut self,
        kind: RefKind,
        name: &str,
        loc: Loc,
        referrer: String,
        suggestion: Option<String>,
    ) {
        self.model.unresolved.push(Unresolved {
            kind,
            name: name.to_string(),
            loc,
            referrer,
            suggestion,
        });
    }

    fn run(&mut self, files: &mut [(FileId, SpecFile)]) {
        // Services are taken out of the raw spec and consumed one by one, so the raw and the
        // resolved forms of a large spec never coexist in full.
        let services = self.take_services(files);
        let needs_implicit = services
            .iter()
            .any(|(_, _, d)| d.hosts.is_none() && d.bindings.values().any(|b| b.host.is_none()));
        let files: &[(FileId, SpecFile)] = files;
        self.head(files, needs_implicit);
        self.services(services);
        self.tail(files);
    }

    /// Everything services refer to: metadata, networks, environments, hosts, projects.
    fn head(&mut self, files: &[(FileId, SpecFile)], needs_implicit: bool) {
        for (_, f) in files {
            if let Some(m) = &f.spec {
                let meta = &mut self.model.meta;
                meta.name = meta.name.take().or_else(|| m.name.clone());
                meta.description = meta.description.take().or_else(|| m.description.clone());
                meta.owner = meta.owner.take().or_else(|| m.owner.clone());
            }
        }
        self.networks(files);
        self.hosts(files, needs_implicit);
        self.projects(files);
    }

    /// Everything that refers to services: routes, flows, reservations; then lint settings
    /// and per-environment derived data.
    fn tail(&mut self, files: &[(FileId, SpecFile)]) {
        self.routes(files);
        self.flows(files);
        crate::expect::resolve(files, self.model, &mut self.errors);
        self.reservations(files);
        self.lint(files);
        self.drop_unused_implicit_host();
        self.environment_internal();
    }

    /// The implicit host (and its `default` environment) is created up front when a large spec
    /// is resolved in chunks; drop it again when no binding landed on it.
    fn drop_unused_implicit_host(&mut self) {
        let m = &mut *self.model;
        let Some(hi) = m
            .hosts
            .iter()
            .position(|h| h.name == IMPLICIT_HOST && h.loc.is_none())
        else {
            return;
        };
        if m.bindings.iter().any(|b| b.host.index() == hi)
            || m.reservations
                .iter()
                .any(|r| r.host.is_some_and(|h| h.index() == hi))
        {
            return;
        }
        let env = m.hosts[hi].environment;
        m.hosts.remove(hi);
        let shift = |h: HostId| {
            if h.index() > hi {
                HostId::from_index(h.index() - 1)
            } else {
                h
            }
        };
        for b in &mut m.bindings {
            b.host = shift(b.host);
        }
        for r in &mut m.reservations {
            r.host = r.host.map(shift);
        }
        for e in &mut m.environments {
            e.hosts.retain(|h| h.index() != hi);
            for h in &mut e.hosts {
                *h = shift(*h);
            }
        }
        self.host_ids = m
            .hosts
            .iter()
            .enumerate()
            .map(|(i, h)| (h.name.clone(), HostId::from_index(i)))
            .collect();
        let ei = env.index();
        if m.environments[ei].hosts.is_empty()
            && m.environments[ei].loc.is_none()
            && m.bindings.iter().all(|b| b.environment != env)
        {
            m.environments.remove(ei);
            let eshift = |e: EnvId| {
                if e.index() > ei {
                    EnvId::from_index(e.index() - 1)
                } else {
                    e
                }
            };
            for h in &mut m.hosts {
                h.environment = eshift(h.environment);
            }
            for b in &mut m.bindings {
                b.environment = eshift(b.environment);
            }
        }
    }

    fn networks(&mut self, files: &[(FileId, SpecFile)]) {
        let entries = self.collect(files, "network", |f| &f.networks);
        let mut nets = vec![Network {
            name: "public".into(),
            loc: None,
            cidrs: vec![IpNet::ANY_V4, IpNet::ANY_V6],
            set: IpSet::everything(),
            description: Some("anyone (built in)".into()),
            builtin: true,
        }];
        for e in entries {
            let loc = Loc::new(e.file, &e.name.span);
            if RESERVED_NAMES.contains(&e.name.as_str()) {
                self.errors.push(SpecError::new(
                    Some(loc),
                    format!(
                        "`{}` is a built-in name and cannot be redefined",
                        e.name.value
                    ),
                ));
                continue;
            }
            let (cidrs, description) = match &e.def.value {
                ShortOr::Short(list) => (list, None),
                ShortOr::Table(t) => (&t.cidrs, t.description.clone()),
            };
            let cidrs: Vec<IpNet> = cidrs.iter().map(|c| c.value).collect();
            if cidrs.is_empty() {
                self.errors.push(SpecError::new(
                    Some(Loc::new(e.file, &e.def.span)),
                    format!("network `{}` has no CIDR", e.name.value),
                ));
                continue;
            }
            nets.push(Network {
                name: e.name.value.clone(),
                loc: Some(loc),
                set: IpSet::from_nets(&cidrs),
                cidrs,
                description,
                builtin: false,
            });
        }
        nets.sort_by(|a, b| a.name.cmp(&b.name));
        self.net_ids = nets
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.clone(), NetId::from_index(i)))
            .collect();
        self.model.networks = nets;
    }

    fn network_names(&self) -> Vec<&str> {
        self.model
            .networks
            .iter()
            .map(|n| n.name.as_str())
            .collect()
    }

    fn hosts(&mut self, files: &[(FileId, SpecFile)], needs_implicit: bool) {
        let envs_declared = self.collect(files, "environment", |f| &f.environments);
        let entries = self.collect(files, "host", |f| &f.hosts);
        // Environments: declared ones plus those hosts name.
        let mut env_names: BTreeMap<String, (Option<Loc>, Option<String>)> = BTreeMap::new();
        for e in &envs_declared {
            env_names.insert(
                e.name.value.clone(),
                (
                    Some(Loc::new(e.file, &e.name.span)),
                    e.def.description.clone(),
                ),
            );
        }
        for h in &entries {
            let env = h
                .def
                .environment
                .as_ref()
                .map_or(DEFAULT_ENV, |e| e.as_str());
            env_names.entry(env.to_string()).or_default();
        }
        let implicit = needs_implicit && !entries.iter().any(|h| h.name.as_str() == IMPLICIT_HOST);
        if implicit {
            env_names.entry(DEFAULT_ENV.to_string()).or_default();
        }
        self.model.environments = env_names
            .into_iter()
            .map(|(name, (loc, description))| Environment {
                name,
                loc,
                description,
                hosts: Vec::new(),
                internal: IpSet::empty(),
            })
            .collect();
        let env_id = |m: &Model, name: &str| {
            EnvId::from_index(
                m.environments
                    .binary_search_by(|e| e.name.as_str().cmp(name))
                    .unwrap_or(0),
            )
        };
        let mut hosts = Vec::new();
        for h in &entries {
            let f = h.file;
            let def = &h.def.value;
            let environment = env_id(
                self.model,
                def.environment.as_ref().map_or(DEFAULT_ENV, |e| e.as_str()),
            );
            let mut networks = Vec::new();
            let networks_loc = def.networks.as_ref().map(|n| Loc::new(f, &n.span));
            match &def.networks {
                None => networks.extend(self.net_ids.get("public").copied()),
                Some(list) => {
                    for n in list.iter() {
                        let loc = item_loc(f, n, &list.span);
                        if let Some(id) = self.net_ids.get(n.as_str()) {
                            networks.push(*id);
                        } else {
                            let suggestion = did_you_mean_owned(n, self.network_names());
                            self.unresolved(
                                RefKind::Network,
                                n,
                                loc,
                                format!("host `{}`", h.name.value),
                                suggestion,
                            );
                        }
                    }
                }
            }
            networks.sort();
            networks.dedup();
            let firewall = self.firewall(f, def.firewall.as_ref(), &h.name.value);
            hosts.push(Host {
                name: h.name.value.clone(),
                loc: Some(Loc::new(f, &h.name.span)),
                environment,
                addresses: def.addresses.iter().map(|a| a.value).collect(),
                networks,
                networks_loc,
                firewall,
                ephemeral: def.ephemeral.as_ref().map_or(LINUX_EPHEMERAL, |e| e.value),
                ephemeral_loc: def.ephemeral.as_ref().map(|e| Loc::new(f, &e.span)),
                dual_stack: def.dual_stack.unwrap_or(true),
                description: def.description.clone(),
                hostnames: host_names(f, def),
                machine_id: def.machine_id.as_ref().map(|m| IdentityClaim {
                    value: m.value.to_string(),
                    loc: Some(Loc::new(f, &m.span)),
                }),
            });
        }
        if implicit {
            hosts.push(Host {
                name: IMPLICIT_HOST.into(),
                loc: None,
                environment: env_id(self.model, DEFAULT_ENV),
                addresses: Vec::new(),
                networks: self.net_ids.get("public").copied().into_iter().collect(),
                networks_loc: None,
                firewall: Firewall {
                    kind: FirewallKind::None,
                    policy: FirewallPolicy::Open,
                    loc: None,
                },
                ephemeral: LINUX_EPHEMERAL,
                ephemeral_loc: None,
                dual_stack: true,
                description: Some("implicit host of services that name no host".into()),
                hostnames: Vec::new(),
                machine_id: None,
            });
            hosts.sort_by(|a, b| a.name.cmp(&b.name));
        }
        for (i, h) in hosts.iter().enumerate() {
            self.host_ids.insert(h.name.clone(), HostId::from_index(i));
            self.model.environments[h.environment.index()]
                .hosts
                .push(HostId::from_index(i));
        }
        self.model.hosts = hosts;
    }

    fn firewall(
        &mut self,
        f: FileId,
        def: Option<&Sp<crate::spec::FirewallDef>>,
        host: &str,
    ) -> Firewall {
        let Some(def) = def else {
            return Firewall {
                kind: FirewallKind::None,
                policy: FirewallPolicy::Open,
                loc: None,
            };
        };
        let loc = Some(Loc::new(f, &def.span));
        match &def.value {
            ShortOr::Short(FirewallKind::None) => Firewall {
                kind: FirewallKind::None,
                policy: FirewallPolicy::Open,
                loc,
            },
            ShortOr::Short(kind) => Firewall {
                kind: *kind,
                policy: FirewallPolicy::FromSpec,
                loc,
            },
            ShortOr::Table(t) => {
                let kind = t.kind.value;
                let policy = match (&t.rules, kind) {
                    (_, FirewallKind::None) => FirewallPolicy::Open,
                    (None, _) => FirewallPolicy::FromSpec,
                    (Some(rules), _) => {
                        let mut out = Vec::new();
                        for r in rules {
                            let rloc = Loc::new(f, &r.span);
                            let (from, label) = match &r.from {
                                None => (IpSet::everything(), "any".to_string()),
                                Some(n) => {
                                    let set = self.source_set(
                                        n,
                                        Loc::new(f, &n.span),
                                        &format!("firewall of host `{host}`"),
                                    );
                                    (set, n.value.clone())
                                }
                            };
                            out.push(FirewallRule {
                                action: r.action.value,
                                ports: r.port.as_ref().map(|p| p.value.clone()),
                                transport: r.transport.as_ref().map(|t| t.value),
                                from,
                                from_label: label,
                                loc: rloc,
                            });
                        }
                        FirewallPolicy::Rules {
                            inbound: t
                                .inbound
                                .as_ref()
                                .map_or(crate::spec::Action::Deny, |a| a.value),
                            rules: out,
                        }
                    }
                };
                Firewall { kind, policy, loc }
            }
        }
    }

    /// A source written as `any`/`public`, a network name, or a CIDR.
    fn source_set(&mut self, n: &Name, loc: Loc, referrer: &str) -> IpSet {
        match n.as_str() {
            "any" | "public" => IpSet::everything(),
            name => {
                if let Some(id) = self.net_ids.get(name) {
                    return self.model.networks[id.index()].set.clone();
                }
                match name.parse::<IpNet>() {
                    Ok(net) => IpSet::from_nets(&[net]),
                    Err(crate::net::NetError::HostBits { suggestion, .. }) => {
                        self.errors.push(
                            SpecError::new(Some(loc), format!("`{name}` has host bits set"))
                                .with_help(format!("did you mean {suggestion}?")),
                        );
                        IpSet::empty()
                    }
                    Err(_) => {
                        let suggestion = did_you_mean_owned(name, self.network_names());
                        self.unresolved(
                            RefKind::Network,
                            name,
                            loc,
                            referrer.to_string(),
                            suggestion,
                        );
                        IpSet::empty()
                    }
                }
            }
        }
    }

    fn projects(&mut self, files: &[(FileId, SpecFile)]) {
        let entries = self.collect(files, "project", |f| &f.projects);
        let mut projects = Vec::new();
        for p in entries {
            let f = p.file;
            let mut blocks = Vec::new();
            for (name, def) in &p.def.blocks {
                if !valid_name(name) {
                    self.errors.push(SpecError::new(
                        Some(Loc::new(f, &name.span)),
                        format!("invalid block name `{}`", name.value),
                    ));
                    continue;
                }
                let (ports, purpose) = match &def.value {
                    ShortOr::Short(s) => (s.clone(), None),
                    ShortOr::Table(t) => (t.range.value.clone(), t.purpose.clone()),
                };
                blocks.push(Block {
                    name: name.value.clone(),
                    loc: Loc::new(f, &def.span),
                    ports,
                    purpose,
                });
            }
            projects.push(Project {
                name: p.name.value.clone(),
                loc: Loc::new(f, &p.name.span),
                range: p.def.range.as_ref().map(|r| r.value.clone()),
                range_loc: p.def.range.as_ref().map(|r| Loc::new(f, &r.span)),
                blocks,
                description: p.def.description.clone(),
                owner: p.def.owner.clone(),
            });
        }
        self.model.projects = projects;
    }

    fn host_ref(&mut self, n: &Name, loc: Loc, referrer: &str) -> Option<HostId> {
        if let Some(id) = self.host_ids.get(n.as_str()) {
            return Some(*id);
        }
        let suggestion = did_you_mean_owned(n, self.model.hosts.iter().map(|h| h.name.as_str()));
        self.unresolved(RefKind::Host, n, loc, referrer.to_string(), suggestion);
        None
    }

    fn host_list(&mut self, f: FileId, list: &Sp<List<Name>>, referrer: &str) -> Vec<HostId> {
        let mut out = Vec::new();
        for h in list.iter() {
            let loc = item_loc(f, h, &list.span);
            if let Some(id) = self.host_ref(h, loc, referrer) {
                out.push(id);
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Moves every service out of the files, sorted by name, dropping (and reporting)
    /// duplicates and invalid names.
    fn take_services(
        &mut self,
        files: &mut [(FileId, SpecFile)],
    ) -> Vec<(FileId, Name, Sp<ServiceDef>)> {
        let mut all: Vec<(FileId, Name, Sp<ServiceDef>)> = Vec::new();
        for (f, spec) in files.iter_mut() {
            all.extend(
                std::mem::take(&mut spec.services)
                    .into_iter()
                    .map(|(k, v)| (*f, k, v)),
            );
        }
        self.check_service_names(all)
    }

    /// Sorts services by name, dropping (and reporting) invalid names and duplicates.
    fn check_service_names(
        &mut self,
        mut all: Vec<(FileId, Name, Sp<ServiceDef>)>,
    ) -> Vec<(FileId, Name, Sp<ServiceDef>)> {
        all.sort_by(|a, b| a.1.value.cmp(&b.1.value));
        let mut out: Vec<(FileId, Name, Sp<ServiceDef>)> = Vec::with_capacity(all.len());
        for (file, name, def) in all {
            let loc = Loc::new(file, &name.span);
            if !valid_name(&name) {
                self.errors.push(
                    SpecError::new(Some(loc), format!("invalid service name `{}`", name.value))
                        .with_help("names start with a letter or digit and contain only letters, digits, `-` and `_`"),
                );
                continue;
            }
            if let Some((pf, pn, _)) = out.last()
                && pn.value == name.value
            {
                let mut e = SpecError::new(
                    Some(loc),
                    format!("service `{}` is defined twice", name.value),
                );
                e.related
                    .push((Loc::new(*pf, &pn.span), "first defined here".into()));
                self.errors.push(e);
                continue;
            }
            out.push((file, name, def));
        }
        out
    }

    fn services(&mut self, entries: Vec<(FileId, Name, Sp<ServiceDef>)>) {
        for (i, (file, name, def)) in entries.into_iter().enumerate() {
            let s = &Entry {
                file,
                name: &name,
                def: &def,
            };
            let sid = ServiceId::from_index(i);
            let f = s.file;
            let def = &s.def.value;
            let referrer = format!("service `{}`", s.name.value);
            let project = def.project.as_ref().and_then(|p| {
                let found = self.model.project_named(p);
                if found.is_none() {
                    let suggestion =
                        did_you_mean_owned(p, self.model.projects.iter().map(|p| p.name.as_str()));
                    self.unresolved(
                        RefKind::Project,
                        p,
                        Loc::new(f, &p.span),
                        referrer.clone(),
                        suggestion,
                    );
                }
                found
            });
            let block = def.block.as_ref().and_then(|b| {
                let loc = Loc::new(f, &b.span);
                let Some(pid) = project else {
                    if def.project.is_none() {
                        self.errors.push(
                            SpecError::new(Some(loc), "`block` needs a `project`")
                                .with_help("add `project = \"…\"` to the service"),
                        );
                    }
                    return None;
                };
                let blocks = &self.model.projects[pid.index()].blocks;
                let found = blocks.iter().position(|x| x.name == b.value);
                if found.is_none() {
                    let suggestion = did_you_mean_owned(b, blocks.iter().map(|x| x.name.as_str()));
                    self.unresolved(RefKind::Block, b, loc, referrer.clone(), suggestion);
                }
                found
            });
            let mut suppressions = Vec::new();
            if let Some(l) = &def.lint {
                for a in &l.allow {
                    if a.reason.trim().is_empty() {
                        self.errors.push(SpecError::new(
                            Some(Loc::new(f, &a.span)),
                            "a suppression needs a non-empty `reason`",
                        ));
                    }
                    suppressions.push(Suppression {
                        rule: a.rule.value.clone(),
                        reason: a.reason.clone(),
                        binding: a.binding.as_ref().map(|b| b.value.clone()),
                        loc: Loc::new(f, &a.rule.span),
                    });
                }
            }
            let start = self.model.bindings.len();
            self.expand_bindings(sid, s, &referrer);
            let end = self.model.bindings.len();
            self.model.services.push(Service {
                name: s.name.value.clone(),
                loc: Loc::new(f, &s.name.span),
                project,
                block,
                block_loc: def.block.as_ref().map(|b| Loc::new(f, &b.span)),
                purpose: def.purpose.clone(),
                owner: def.owner.clone(),
                status: def.status.as_ref().map_or(Status::Active, |s| s.value),
                since: def.since.as_ref().map(|d| d.value.0.clone()),
                evidence: def.evidence.0.clone(),
                privileged: def.privileged,
                process: def.process.clone(),
                suppressions,
                binding_names: {
                    let mut names: BTreeSet<String> =
                        def.bindings.keys().map(|k| k.value.clone()).collect();
                    names.extend(
                        def.env
                            .values()
                            .flat_map(|o| o.bindings.keys().map(|k| k.value.clone())),
                    );
                    names.into_iter().collect()
                },
                bindings: start..end,
                lease_until: def.lease_until.as_ref().map(|t| t.value.0),
            });
            self.unresolved_ends.push(self.model.unresolved.len());
        }
    }

    /// Places every binding of a service on its hosts, per environment.
    fn expand_bindings(&mut self, sid: ServiceId, s: &Entry<'_, Sp<ServiceDef>>, referrer: &str) {
        let f = s.file;
        let def = &s.def.value;
        let base_hosts: Vec<HostId> = match &def.hosts {
            Some(list) => self.host_list(f, list, referrer),
            None => self
                .host_ids
                .get(IMPLICIT_HOST)
                .copied()
                .into_iter()
                .collect(),
        };
        // Resolve overrides by environment.
        let mut overrides: BTreeMap<EnvId, &Sp<OverrideDef>> = BTreeMap::new();
        for (env, o) in &def.env {
            if let Ok(i) = self
                .model
                .environments
                .binary_search_by(|e| e.name.as_str().cmp(env.as_str()))
            {
                overrides.insert(EnvId::from_index(i), o);
            } else {
                let suggestion = did_you_mean_owned(
                    env,
                    self.model.environments.iter().map(|e| e.name.as_str()),
                );
                self.unresolved(
                    RefKind::Environment,
                    env,
                    Loc::new(f, &env.span),
                    referrer.to_string(),
                    suggestion,
                );
            }
        }
        // Hosts per environment.
        let mut placement: BTreeMap<EnvId, Vec<HostId>> = BTreeMap::new();
        for h in &base_hosts {
            placement
                .entry(self.model.hosts[h.index()].environment)
                .or_default()
                .push(*h);
        }
        for (env, o) in &overrides {
            if let Some(list) = &o.hosts {
                let hosts = self.host_list(f, list, referrer);
                placement.insert(*env, hosts);
            } else {
                placement.entry(*env).or_default();
            }
        }
        // Bindings pinned to one host: resolve each name once, and make sure that host's
        // environment is visited even when the service lists no host there.
        let mut pinned: HashMap<String, Option<HostId>> = HashMap::new();
        let pins = def
            .bindings
            .values()
            .chain(overrides.values().flat_map(|o| o.bindings.values()));
        for b in pins {
            if let Some(h) = &b.host
                && !pinned.contains_key(h.as_str())
            {
                let id = self.host_ref(h, Loc::new(f, &h.span), referrer);
                if let Some(id) = id {
                    placement
                        .entry(self.model.hosts[id.index()].environment)
                        .or_default();
                }
                pinned.insert(h.value.clone(), id);
            }
        }
        // Binding names: base plus those only an override adds.
        let mut names: BTreeSet<&Name> = def.bindings.keys().collect();
        for o in overrides.values() {
            names.extend(o.bindings.keys());
        }
        let mut out: Vec<Binding> = Vec::new();
        for name in names {
            if !valid_name(name) {
                self.errors.push(SpecError::new(
                    Some(Loc::new(f, &name.span)),
                    format!("invalid binding name `{}`", name.value),
                ));
                continue;
            }
            for (env, hosts) in &placement {
                let over = overrides.get(env);
                let base = def.bindings.get(name.as_str());
                let extra = over.and_then(|o| o.bindings.get(name.as_str()));
                let merged = match (base, extra) {
                    (Some(b), Some(x)) => merge(&b.value, &x.value),
                    (Some(b), None) => b.value.clone(),
                    (None, Some(x)) => x.value.clone(),
                    (None, None) => continue,
                };
                let loc = Loc::new(
                    f,
                    &extra.or(base).map_or(name.span.clone(), |b| b.span.clone()),
                );
                let status = over
                    .and_then(|o| o.status.as_ref())
                    .or(def.status.as_ref())
                    .map_or(Status::Active, |s| s.value);
                let Some(port) = merged.port.clone() else {
                    self.errors.push(
                        SpecError::new(
                            Some(loc),
                            format!("binding `{}.{}` has no `port`", s.name.value, name.value),
                        )
                        .with_help("add `port = …` (a port or a range like \"8000-8010\")"),
                    );
                    continue;
                };
                let on_hosts: Vec<HostId> = match &merged.host {
                    Some(h) => pinned
                        .get(h.as_str())
                        .copied()
                        .flatten()
                        .into_iter()
                        .collect(),
                    None => hosts.clone(),
                };
                for host in on_hosts {
                    if self.model.hosts[host.index()].environment != *env {
                        continue;
                    }
                    let b = self.binding(
                        sid, name, &merged, host, *env, loc, &port, f, status, referrer,
                    );
                    out.push(b);
                }
            }
        }
        self.model.bindings.extend(out);
    }

    #[allow(clippy::too_many_arguments)]
    fn binding(
        &mut self,
        sid: ServiceId,
        name: &Name,
        d: &BindingDef,
        host: HostId,
        env: EnvId,
        loc: Loc,
        port: &Sp<PortRange>,
        f: FileId,
        status: Status,
        referrer: &str,
    ) -> Binding {
        let publisher = d.publisher.as_ref().map_or(Publisher::Host, |p| p.value);
        let exposure = match &d.exposure {
            None => vec![ExposureTerm::Internal],
            Some(list) => {
                let mut terms = Vec::new();
                for t in list.iter() {
                    let tloc = item_loc(f, t, &list.span);
                    let term = match t.as_str() {
                        "localhost" => Some(ExposureTerm::Localhost),
                        "host-internal" => Some(ExposureTerm::HostInternal),
                        "internal" => Some(ExposureTerm::Internal),
                        "public" | "any" => Some(ExposureTerm::Public),
                        n => match self.net_ids.get(n) {
                            Some(id) => Some(ExposureTerm::Network(*id)),
                            None => {
                                if let Ok(net) = n.parse::<IpNet>() {
                                    Some(ExposureTerm::Cidr(net))
                                } else {
                                    let suggestion = did_you_mean_owned(
                                        n,
                                        RESERVED_NAMES.iter().copied().chain(
                                            self.model.networks.iter().map(|n| n.name.as_str()),
                                        ),
                                    );
                                    self.unresolved(
                                        RefKind::Network,
                                        n,
                                        tloc,
                                        format!("{referrer}, binding `{}` exposure", name.value),
                                        suggestion,
                                    );
                                    None
                                }
                            }
                        },
                    };
                    if let Some(term) = term
                        && !terms.contains(&term)
                    {
                        terms.push(term);
                    }
                }
                terms
            }
        };
        Binding {
            service: sid,
            name: name.value.clone(),
            host,
            environment: env,
            loc,
            ports: port.value,
            port_loc: if port.span.is_empty() {
                loc
            } else {
                Loc::new(f, &port.span)
            },
            bind: d
                .bind
                .as_ref()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |b| b.value),
            bind_loc: d.bind.as_ref().map(|b| Loc::new(f, &b.span)),
            transport: d.transport.as_ref().map_or(Transport::Tcp, |t| t.value),
            app: d.app.as_ref().map(|a| a.value.to_ascii_lowercase()),
            target: d.target.as_ref().map(|t| t.value),
            publisher,
            publisher_loc: d.publisher.as_ref().map(|p| Loc::new(f, &p.span)),
            exposure,
            exposure_loc: d.exposure.as_ref().map(|e| Loc::new(f, &e.span)),
            auth: d.auth.as_ref().map(|a| a.value),
            auth_loc: d.auth.as_ref().map(|a| Loc::new(f, &a.span)),
            tls: d.tls.as_ref().map_or(Tls::None, |t| t.value),
            tls_loc: d.tls.as_ref().map(|t| Loc::new(f, &t.span)),
            redirect: d.redirect.unwrap_or(false),
            health: d.health.clone(),
            sensitive: d.sensitive,
            browser: d.browser,
            purpose: d.purpose.clone(),
            status,
        }
    }

    /// `service.binding` or `service` (when it has one binding name) → the binding instances.
    fn binding_ref(&mut self, n: &Name, loc: Loc, referrer: &str) -> Option<(ServiceId, String)> {
        let (svc, bname) = match n.split_once('.') {
            Some((s, b)) => (s, Some(b)),
            None => (n.as_str(), None),
        };
        let Some(sid) = self.model.service_named(svc) else {
            let suggestion =
                did_you_mean_owned(svc, self.model.services.iter().map(|s| s.name.as_str()));
            self.unresolved(RefKind::Service, svc, loc, referrer.to_string(), suggestion);
            return None;
        };
        let mut bnames: Vec<String> = self.model.service(sid).binding_names.clone();
        match bname {
            Some(b) if bnames.iter().any(|x| x == b) => Some((sid, b.to_string())),
            Some(b) => {
                let given = format!("{svc}.{b}");
                let suggestion =
                    did_you_mean_owned(&given, bnames.iter().map(|n| format!("{svc}.{n}")));
                self.unresolved(
                    RefKind::Binding,
                    &given,
                    loc,
                    referrer.to_string(),
                    suggestion,
                );
                None
            }
            None if bnames.len() == 1 => Some((sid, bnames.remove(0))),
            None => {
                self.errors.push(
                    SpecError::new(
                        Some(loc),
                        format!(
                            "service `{svc}` has {} bindings; say which one",
                            bnames.len()
                        ),
                    )
                    .with_help(format!(
                        "write `{svc}.{}`",
                        bnames.first().map_or("NAME", String::as_str)
                    )),
                );
                None
            }
        }
    }

    fn routes(&mut self, files: &[(FileId, SpecFile)]) {
        // numbered per file (the chunks of one large file share its id and count on)
        let mut index = (FileId(u32::MAX), 0);
        for (f, spec) in files {
            if index.0 != *f {
                index = (*f, 0);
            }
            for r in &spec.routes {
                index.1 += 1;
                let loc = Loc::new(*f, &r.span);
                let referrer = format!("route #{}", index.1);
                let from = self.binding_ref(&r.from, Loc::new(*f, &r.from.span), &referrer);
                let to = self.binding_ref(&r.to, Loc::new(*f, &r.to.span), &referrer);
                let on =
                    r.on.as_ref()
                        .and_then(|h| self.host_ref(h, Loc::new(*f, &h.span), &referrer));
                let (Some((fs, fb)), Some((ts, tb))) = (from, to) else {
                    continue;
                };
                let ids = |m: &Model, s: ServiceId, b: &str| -> Vec<usize> {
                    m.service(s)
                        .bindings
                        .clone()
                        .filter(|i| m.bindings[*i].name == b)
                        .collect()
                };
                let (froms, tos) = (ids(self.model, fs, &fb), ids(self.model, ts, &tb));
                for &l in &froms {
                    let lhost = self.model.bindings[l].host;
                    if on.is_some_and(|h| h != lhost) {
                        continue;
                    }
                    let same_host: Vec<usize> = tos
                        .iter()
                        .copied()
                        .filter(|u| self.model.bindings[*u].host == lhost)
                        .collect();
                    let targets = if same_host.is_empty() {
                        tos.clone()
                    } else {
                        same_host
                    };
                    for u in targets {
                        self.model.routes.push(Route {
                            from: crate::model::BindingId::from_index(l),
                            to: crate::model::BindingId::from_index(u),
                            host: r.host.clone(),
                            path: r.path.clone(),
                            loc,
                        });
                    }
                }
            }
        }
    }

    fn flow_end(
        &mut self,
        n: &Name,
        loc: Loc,
        referrer: &str,
        is_to: bool,
    ) -> Option<(FlowEnd, Option<PortRange>)> {
        let s = n.as_str();
        if s == "public" || s == "any" {
            return Some((FlowEnd::Public, None));
        }
        if let Some(id) = self.net_ids.get(s) {
            return Some((FlowEnd::Network(*id), None));
        }
        let svc = s.split_once('.').map_or(s, |(a, _)| a);
        if self.model.service_named(svc).is_some() {
            return self
                .binding_ref_or_service(n, loc, referrer)
                .map(|e| (e, None));
        }
        if let Ok(net) = s.parse::<IpNet>() {
            return Some((FlowEnd::Cidr(net), None));
        }
        // `pattern:port`, `[v6]:port`, `network:port`, `cidr:port`
        if let Some((left, right)) = s.rsplit_once(':')
            && let Ok(ports) = right.parse::<PortRange>()
        {
            let left = left.trim_start_matches('[').trim_end_matches(']');
            if let Some(id) = self.net_ids.get(left) {
                return Some((FlowEnd::Network(*id), Some(ports)));
            }
            if left == "public" || left == "any" {
                return Some((FlowEnd::Public, Some(ports)));
            }
            if let Ok(net) = left.parse::<IpNet>() {
                return Some((FlowEnd::Cidr(net), Some(ports)));
            }
            if left.contains('.') || left.starts_with('*') {
                return Some((
                    FlowEnd::External {
                        pattern: left.to_string(),
                        ports: Some(ports),
                    },
                    Some(ports),
                ));
            }
        }
        // an external name without a port must look like one (a wildcard or a real FQDN),
        // so a typo such as `odo.http` is reported instead of becoming an egress rule
        if is_to && !valid_name(s) && (s.starts_with("*.") || s.matches('.').count() >= 2) {
            return Some((
                FlowEnd::External {
                    pattern: s.to_string(),
                    ports: None,
                },
                None,
            ));
        }
        let svc = if s.contains('.') && !s.contains(':') {
            s
        } else {
            svc
        };
        // `name:port` can only mean a network (or an external name, which has a dot)
        let left = s
            .rsplit_once(':')
            .filter(|(_, p)| p.parse::<PortRange>().is_ok())
            .map(|(left, _)| left);
        let given = left.unwrap_or(svc);
        let m = &*self.model;
        let names = m
            .services
            .iter()
            .map(|x| std::borrow::Cow::Borrowed(x.name.as_str()))
            .chain(
                m.networks
                    .iter()
                    .map(|x| std::borrow::Cow::Borrowed(x.name.as_str())),
            );
        let suggestion = if s.contains('.') {
            // qualified binding names too, built only while they are compared
            did_you_mean_owned(
                given,
                names.chain(m.services.iter().flat_map(|sv| {
                    sv.binding_names
                        .iter()
                        .map(|b| std::borrow::Cow::Owned(format!("{}.{b}", sv.name)))
                })),
            )
        } else {
            did_you_mean_owned(given, names)
        };
        let kind = if left.is_some() {
            RefKind::Network
        } else {
            RefKind::Service
        };
        self.unresolved(kind, given, loc, referrer.to_string(), suggestion);
        None
    }

    fn binding_ref_or_service(&mut self, n: &Name, loc: Loc, referrer: &str) -> Option<FlowEnd> {
        if n.contains('.') {
            self.binding_ref(n, loc, referrer)
                .map(|(s, b)| FlowEnd::Binding(s, b))
        } else {
            self.model.service_named(n).map(FlowEnd::Service)
        }
    }

    fn flows(&mut self, files: &[(FileId, SpecFile)]) {
        let mut index = 0;
        for (f, spec) in files {
            for fl in &spec.flows {
                index += 1;
                let referrer = format!("flow #{index}");
                let from = self.flow_end(&fl.from, Loc::new(*f, &fl.from.span), &referrer, false);
                let to = self.flow_end(&fl.to, Loc::new(*f, &fl.to.span), &referrer, true);
                let (Some((from, _)), Some((to, to_ports))) = (from, to) else {
                    continue;
                };
                self.model.flows.push(Flow {
                    from,
                    to,
                    to_ports,
                    transport: fl.transport.as_ref().map_or(Transport::Tcp, |t| t.value),
                    purpose: fl.purpose.clone(),
                    loc: Loc::new(*f, &fl.span),
                    label: (fl.from.value.clone(), fl.to.value.clone()),
                });
            }
        }
    }

    fn reservations(&mut self, files: &[(FileId, SpecFile)]) {
        for (f, spec) in files {
            for r in &spec.reservations {
                let referrer = "reservation".to_string();
                let project = r.project.as_ref().and_then(|p| {
                    let found = self.model.project_named(p);
                    if found.is_none() {
                        let suggestion = did_you_mean_owned(
                            p,
                            self.model.projects.iter().map(|p| p.name.as_str()),
                        );
                        self.unresolved(
                            RefKind::Project,
                            p,
                            Loc::new(*f, &p.span),
                            referrer.clone(),
                            suggestion,
                        );
                    }
                    found
                });
                let host = r
                    .host
                    .as_ref()
                    .and_then(|h| self.host_ref(h, Loc::new(*f, &h.span), &referrer));
                self.model.reservations.push(Reservation {
                    ports: r.ports.value.clone(),
                    project,
                    why: r.why.clone(),
                    host,
                    until: r.until.as_ref().map(|u| u.value.0.clone()),
                    loc: Loc::new(*f, &r.span),
                });
            }
        }
    }

    fn lint(&mut self, files: &[(FileId, SpecFile)]) {
        let mut cfg = LintConfig::default();
        for (f, spec) in files {
            if let Some(l) = &spec.lint {
                cfg.allow.extend(
                    l.allow
                        .iter()
                        .map(|a| (a.value.clone(), Loc::new(*f, &a.span))),
                );
                cfg.severity.extend(
                    l.severity
                        .iter()
                        .map(|(k, v)| (k.value.clone(), v.value, Loc::new(*f, &k.span))),
                );
            }
        }
        self.model.lint = cfg;
    }

    fn environment_internal(&mut self) {
        for env in &mut self.model.environments {
            let mut set = IpSet::empty();
            for h in &env.hosts {
                for n in &self.model.hosts[h.index()].networks {
                    let net = &self.model.networks[n.index()];
                    if !net.builtin {
                        set = set.union(&net.set);
                    }
                }
            }
            env.internal = set;
        }
    }
}

/// Field-wise merge of an override over a base binding.
fn merge(base: &BindingDef, over: &BindingDef) -> BindingDef {
    macro_rules! pick {
        ($($f:ident),*) => { BindingDef { $($f: over.$f.clone().or_else(|| base.$f.clone()),)* } };
    }
    pick!(
        port, host, bind, transport, app, target, publisher, exposure, auth, tls, redirect, health,
        sensitive, browser, purpose
    )
}
