//! The allocation policy: the lowest free port (or run of consecutive ports) of a block or
//! project range, or the one nearest to a wish. Pure and deterministic: the same model,
//! request, occupied set and clock give the same answer; nothing here reads files, the
//! environment or the clock.
//!
//! Ports are handed out once per spec, the way a hand-kept "Port Assignment Log" does: a
//! port bound by any service (on any host, with either transport, unless its lease has run
//! out) or held by any reservation (unless past its `until` date) is taken. The host only
//! decides which ephemeral range to avoid.

use std::collections::BTreeSet;

use portolan_model::error::did_you_mean;
use portolan_model::knowledge::{blocked_by, is_collision_port};
use portolan_model::{
    HostId, IMPLICIT_HOST, LINUX_EPHEMERAL, Model, PortRange, PortSet, ServiceId, Transport,
};

use crate::error::AllocError;

/// What to allocate.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// Project whose range the ports come from.
    pub project: &'a str,
    /// Block of the project (default: the whole range).
    pub block: Option<&'a str>,
    /// Host the service will run on; its ephemeral range is avoided (default: the implicit
    /// host's, Linux `32768-60999`).
    pub host: Option<&'a str>,
    /// Transport of the new binding. It does not widen the choice: a port bound with either
    /// transport is taken.
    pub transport: Transport,
    /// Number of consecutive ports (at least 1).
    pub count: u16,
    /// Prefer the free run starting nearest to this port (ties: the lower one).
    pub near: Option<u16>,
}

/// Ports known to be taken beyond what the spec says: live listeners on this machine, ports a
/// server has promised but not yet written. Counted for every transport.
#[derive(Clone, Debug, Default)]
pub struct Occupied {
    ports: BTreeSet<u16>,
}

impl Occupied {
    /// Nothing extra.
    pub fn new() -> Self {
        Self::default()
    }
    /// Marks `port` taken.
    pub fn insert(&mut self, port: u16) {
        self.ports.insert(port);
    }
    /// Whether `port` is taken.
    pub fn contains(&self, port: u16) -> bool {
        self.ports.contains(&port)
    }
}

impl FromIterator<u16> for Occupied {
    fn from_iter<I: IntoIterator<Item = u16>>(iter: I) -> Self {
        Self {
            ports: iter.into_iter().collect(),
        }
    }
}

/// Why a port of the pool cannot be handed out (the first reason that applies, in this order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unavailable {
    /// Bound by a service (on any host, with either transport).
    Bound,
    /// Held by a reservation.
    Reserved,
    /// On the well-known collision list (`knowledge::COLLISION_PORTS`).
    WellKnown,
    /// Refused by Chromium or Firefox.
    BrowserUnsafe,
    /// In the host's ephemeral range.
    Ephemeral,
    /// In the caller's occupied set.
    Occupied,
}

impl Unavailable {
    /// How the reason reads in the "range full" message.
    pub fn label(self) -> &'static str {
        match self {
            Unavailable::Bound => "bound",
            Unavailable::Reserved => "reserved",
            Unavailable::WellKnown => "well-known",
            Unavailable::BrowserUnsafe => "browser-unsafe",
            Unavailable::Ephemeral => "ephemeral",
            Unavailable::Occupied => "in use",
        }
    }
}

/// The answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allocation {
    /// The allocated port(s).
    pub ports: PortRange,
    /// The pool searched.
    pub pool: PortSet,
    /// Project name.
    pub project: String,
    /// Block name, if one was asked for.
    pub block: Option<String>,
    /// Host name, if one was asked for.
    pub host: Option<String>,
    /// Services with an expired lease on the allocated ports: the edit must remove them, or
    /// the spec would bind the port twice.
    pub displaced: Vec<ServiceId>,
}

/// Today's date (`YYYY-MM-DD`, UTC) at `now` (seconds since the epoch).
pub fn date_of(now: i64) -> String {
    let t = portolan_model::spec::Timestamp(now).to_string();
    t.get(..10).unwrap_or_default().to_string()
}

/// Whether a service's lease has run out at `now`.
pub fn lease_expired(model: &Model, id: ServiceId, now: i64) -> bool {
    model.service(id).lease_until.is_some_and(|t| t <= now)
}

/// Whether a reservation's `until` date lies before the date of `now`.
pub fn reservation_expired(until: Option<&str>, now: i64) -> bool {
    until.is_some_and(|u| u < date_of(now).as_str())
}

/// The ports a model holds at one instant — bound by live services, held by live
/// reservations, and those of expired leases (free again, but their services must go) —
/// computed once and reusable for any number of requests against the same model and
/// instant (a registry plans a whole batch of allocations against one; see
/// [`allocate_with`]).
#[derive(Clone, Debug)]
pub struct Taken {
    now: i64,
    /// Sorted, disjoint, not adjacent (as a `PortSet` holds them), kept so by [`Taken::bind`].
    bound: Vec<PortRange>,
    expired: Vec<(PortRange, ServiceId)>,
    reserved: PortSet,
}

impl Taken {
    /// What `model` holds at `now`.
    pub fn new(model: &Model, now: i64) -> Taken {
        let mut bound = Vec::new();
        let mut expired = Vec::new();
        for (i, s) in model.services.iter().enumerate() {
            let sid = ServiceId::from_index(i);
            let gone = s.lease_until.is_some_and(|t| t <= now);
            for b in &model.bindings[s.bindings.clone()] {
                if gone {
                    expired.push((b.ports, sid));
                } else {
                    bound.push(b.ports);
                }
            }
        }
        let reserved = PortSet::from_ranges(
            model
                .reservations
                .iter()
                .filter(|r| !reservation_expired(r.until.as_deref(), now))
                .flat_map(|r| r.ports.ranges().iter().copied()),
        );
        Taken {
            now,
            bound: PortSet::from_ranges(bound).ranges().to_vec(),
            expired,
            reserved,
        }
    }

    /// The instant it was computed for.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// Counts `ports` as bound from now on: a planner that hands them out and keeps
    /// planning on the same model (the registry, within a batch) marks them here.
    pub fn bind(&mut self, ports: PortRange) {
        // the ranges that touch or overlap `ports` merge with it
        let first = self
            .bound
            .partition_point(|r| u32::from(r.hi) + 1 < u32::from(ports.lo));
        let last = self
            .bound
            .partition_point(|r| u32::from(r.lo) <= u32::from(ports.hi) + 1);
        let mut merged = ports;
        if let Some(r) = self.bound.get(first..last) {
            if let (Some(a), Some(b)) = (r.first(), r.last()) {
                merged.lo = merged.lo.min(a.lo);
                merged.hi = merged.hi.max(b.hi);
            }
        }
        self.bound.splice(first..last, [merged]);
    }

    /// The last port of the bound run `port` is in, if it is bound.
    fn bound_until(&self, port: u16) -> Option<u16> {
        let i = self.bound.partition_point(|r| r.hi < port);
        self.bound.get(i).filter(|r| r.contains(port)).map(|r| r.hi)
    }
}

/// Everything the policy needs to judge one port of one request.
struct View<'t> {
    taken: &'t Taken,
    ephemeral: PortRange,
}

fn names<'a>(it: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = it.collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// Resolves a host name of the request.
pub fn find_host(model: &Model, name: &str) -> Result<HostId, AllocError> {
    model
        .host_named(name)
        .ok_or_else(|| AllocError::UnknownHost {
            name: name.into(),
            suggestion: did_you_mean(name, model.hosts.iter().map(|h| h.name.as_str()))
                .map(str::to_string),
            known: names(model.hosts.iter().map(|h| h.name.as_str())),
        })
}

/// The host a new service goes on — only ever one the spec declares, so no command makes
/// the implicit host `default` appear beside real ones:
///
/// - `given` (`--host`): it must be declared (and in `environment`, when that is given);
/// - else the one declared host (of `environment`, when given);
/// - else, when the spec declares no host at all, `None`: a spec without hosts places every
///   service on its one implicit host, and the new service goes where all the others are;
/// - else [`AllocError::HostRequired`], listing the candidates.
pub fn pick_host(
    model: &Model,
    given: Option<&str>,
    environment: Option<&str>,
) -> Result<Option<String>, AllocError> {
    let declared: Vec<&portolan_model::Host> =
        model.hosts.iter().filter(|h| h.loc.is_some()).collect();
    let env_of = |h: &portolan_model::Host| model.environment(h.environment).name.as_str();
    if let Some(e) = environment
        && !declared.iter().any(|h| env_of(h) == e)
    {
        let mut known: Vec<&str> = declared.iter().map(|h| env_of(h)).collect();
        known.sort_unstable();
        known.dedup();
        return Err(AllocError::UnknownEnvironment {
            name: e.into(),
            suggestion: did_you_mean(e, known.iter().copied()).map(str::to_string),
            known: names(known.into_iter()),
        });
    }
    if let Some(name) = given {
        let Some(h) = declared.iter().find(|h| h.name == name) else {
            return Err(AllocError::UnknownHost {
                name: name.into(),
                suggestion: did_you_mean(name, declared.iter().map(|h| h.name.as_str()))
                    .map(str::to_string),
                known: names(declared.iter().map(|h| h.name.as_str())),
            });
        };
        if let Some(e) = environment
            && env_of(h) != e
        {
            return Err(AllocError::HostNotInEnvironment {
                host: name.into(),
                environment: e.into(),
                actual: env_of(h).into(),
            });
        }
        return Ok(Some(name.to_string()));
    }
    let candidates: Vec<&&portolan_model::Host> = declared
        .iter()
        .filter(|h| environment.is_none_or(|e| env_of(h) == e))
        .collect();
    match candidates.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.name.clone())),
        many => Err(AllocError::HostRequired {
            count: many.len(),
            environment: environment.map(str::to_string),
            // a message, not a listing: a fleet of 1,000 hosts names the first few
            hosts: {
                const SHOWN: usize = 8;
                let mut names: Vec<String> = many
                    .iter()
                    .take(SHOWN)
                    .map(|h| format!("{} ({})", h.name, env_of(h)))
                    .collect();
                if many.len() > SHOWN {
                    names.push(format!("{} more", many.len() - SHOWN));
                }
                names.join(", ")
            },
        }),
    }
}

/// The pool of a request (block, else range) and how it reads in messages.
pub fn pool(
    model: &Model,
    project: &str,
    block: Option<&str>,
) -> Result<(PortSet, String), AllocError> {
    let pid = model
        .project_named(project)
        .ok_or_else(|| AllocError::UnknownProject {
            name: project.into(),
            suggestion: did_you_mean(project, model.projects.iter().map(|p| p.name.as_str()))
                .map(str::to_string),
            known: names(model.projects.iter().map(|p| p.name.as_str())),
        })?;
    let p = model.project(pid);
    if let Some(b) = block {
        let blk =
            p.blocks
                .iter()
                .find(|x| x.name == b)
                .ok_or_else(|| AllocError::UnknownBlock {
                    project: project.into(),
                    name: b.into(),
                    suggestion: did_you_mean(b, p.blocks.iter().map(|x| x.name.as_str()))
                        .map(str::to_string),
                    known: names(p.blocks.iter().map(|x| x.name.as_str())),
                })?;
        let label = format!("block `{b}` of project `{project}` ({})", blk.ports);
        return Ok((blk.ports.clone(), label));
    }
    let range = p.range.clone().ok_or_else(|| AllocError::NoRange {
        project: project.into(),
    })?;
    let label = format!("project `{project}` ({range})");
    Ok((range, label))
}

fn view<'t>(model: &Model, taken: &'t Taken, host: Option<HostId>) -> View<'t> {
    let ephemeral = match host {
        Some(h) => model.host(h).ephemeral,
        None => model
            .host_named(IMPLICIT_HOST)
            .map_or(LINUX_EPHEMERAL, |h| model.host(h).ephemeral),
    };
    View { taken, ephemeral }
}

impl View<'_> {
    fn unavailable(&self, port: u16, occupied: &Occupied) -> Option<Unavailable> {
        if self.taken.bound_until(port).is_some() {
            Some(Unavailable::Bound)
        } else if self.taken.reserved.contains(port) {
            Some(Unavailable::Reserved)
        } else if is_collision_port(port) {
            Some(Unavailable::WellKnown)
        } else if blocked_by(port).is_some() {
            Some(Unavailable::BrowserUnsafe)
        } else if self.ephemeral.contains(port) {
            Some(Unavailable::Ephemeral)
        } else if occupied.contains(port) {
            Some(Unavailable::Occupied)
        } else {
            None
        }
    }
}

/// Why `port` cannot be allocated for `req` (`None`: it is free). The same judgement
/// [`allocate`] makes, for one port; pool membership is not checked.
pub fn unavailable(
    model: &Model,
    req: &Request<'_>,
    occupied: &Occupied,
    now: i64,
    port: u16,
) -> Result<Option<Unavailable>, AllocError> {
    let host = req.host.map(|h| find_host(model, h)).transpose()?;
    let taken = Taken::new(model, now);
    Ok(view(model, &taken, host).unavailable(port, occupied))
}

/// Picks the port(s) for `req`: the lowest free run of `req.count` consecutive ports of the
/// pool, or with `near`, the free run whose start is closest to it (ties: the lower).
pub fn allocate(
    model: &Model,
    req: &Request<'_>,
    occupied: &Occupied,
    now: i64,
) -> Result<Allocation, AllocError> {
    allocate_with(model, &Taken::new(model, now), req, occupied)
}

/// [`allocate`] at the instant of `taken`, which must have been computed from `model`
/// ([`Taken::new`]): the same answer, without recomputing what the model holds.
pub fn allocate_with(
    model: &Model,
    taken: &Taken,
    req: &Request<'_>,
    occupied: &Occupied,
) -> Result<Allocation, AllocError> {
    let (pool, label) = pool(model, req.project, req.block)?;
    let host = req.host.map(|h| find_host(model, h)).transpose()?;
    let v = view(model, taken, host);
    let count = u32::from(req.count.max(1));
    let mut best: Option<PortRange> = None;
    let mut usage = std::collections::BTreeMap::<Unavailable, u32>::new();
    'pool: for r in pool.ranges() {
        let mut run_start: Option<u16> = None;
        let mut next = Some(r.lo);
        while let Some(p) = next.filter(|p| *p <= r.hi) {
            next = p.checked_add(1);
            // without a wish, the first run found is the lowest: the rest cannot beat it
            // (the tally of unavailable ports only matters when nothing is found)
            if best.is_some() && req.near.is_none() {
                break 'pool;
            }
            // a bound run is skipped whole (bound is the first reason, so the tally is exact)
            if let Some(end) = taken.bound_until(p) {
                let end = end.min(r.hi);
                *usage.entry(Unavailable::Bound).or_default() += u32::from(end - p) + 1;
                run_start = None;
                next = end.checked_add(1);
                continue;
            }
            if let Some(why) = v.unavailable(p, occupied) {
                *usage.entry(why).or_default() += 1;
                run_start = None;
                continue;
            }
            let start = *run_start.get_or_insert(p);
            if u32::from(p) - u32::from(start) + 1 < count {
                continue;
            }
            // a run of `count` free ports ends at `p`
            let lo = u16::try_from(u32::from(p) + 1 - count).unwrap_or(start);
            let cand = PortRange { lo, hi: p };
            best = match (best, req.near) {
                (None, _) => Some(cand),
                (Some(b), None) => Some(b),
                (Some(b), Some(n)) => {
                    let d = |x: &PortRange| (i32::from(x.lo) - i32::from(n)).unsigned_abs();
                    Some(if d(&cand) < d(&b) { cand } else { b })
                }
            };
        }
    }
    let Some(ports) = best else {
        return Err(AllocError::Full {
            pool: match req.host {
                Some(h) => format!("{label} on host `{h}`"),
                None => label,
            },
            count: req.count.max(1),
            total: pool.len(),
            usage: usage
                .into_iter()
                .map(|(k, n)| (k.label().to_string(), n))
                .collect(),
        });
    };
    let mut displaced: Vec<ServiceId> = taken
        .expired
        .iter()
        .filter(|(r, _)| r.overlaps(&ports))
        .map(|(_, s)| *s)
        .collect();
    displaced.sort_unstable();
    displaced.dedup();
    Ok(Allocation {
        ports,
        pool,
        project: req.project.to_string(),
        block: req.block.map(str::to_string),
        host: req.host.map(str::to_string),
        displaced,
    })
}

/// Whether `name` is a valid spec name (letters, digits, `-`, `_`; starts alphanumeric).
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
