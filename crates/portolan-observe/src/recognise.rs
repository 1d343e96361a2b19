//! Which host of the spec this machine is, from its [`Identity`]: the rules in order, the
//! first that singles out one host decides.
//!
//! 1. **machine id** — a host whose `machine-id` is this machine's;
//! 2. **host name** — a host with this machine's host name (or its fully qualified name)
//!    among its `hostname`/`hostnames`, exactly;
//! 3. **short name** — the first label of this machine's host name equals, ignoring case,
//!    the first label of a host's declared name or the host's own name in the spec;
//! 4. **address** — an address of this machine's interfaces is among a host's `addresses`.
//!
//! A host that declares another machine id than this machine's is never picked by the later
//! rules: a machine id is the one identity that survives renaming, so a mismatch means
//! another machine (a clone, a reinstall) that only shares a name. Two hosts matched by the
//! deciding rule is an ambiguity, not a choice: the caller says which (`--host`).

use std::fmt::Write as _;
use std::net::IpAddr;

use portolan_model::identity::short_name;
use portolan_model::{HostId, Loc, Model};

use crate::identity::{Identity, IdentitySource};

/// The rule that recognised a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// The host's `machine-id` is this machine's.
    MachineId,
    /// A declared host name is this machine's, exactly.
    HostName,
    /// Short names are equal, ignoring case.
    ShortName,
    /// An address of the host is on this machine.
    Address,
}

impl Rule {
    /// `machine id`, `host name`, `short name`, `address`.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::MachineId => "machine id",
            Rule::HostName => "host name",
            Rule::ShortName => "short name",
            Rule::Address => "address",
        }
    }
}

/// One host a rule matched, and what of the host matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The host.
    pub host: HostId,
    /// What of the host matched, as a phrase: "its machine id", "its host name `web-1`",
    /// "its name", "its address 10.0.0.5".
    pub claim: String,
    /// Where the spec says so (`None` for the host's name, or an address list entry
    /// without its own span).
    pub loc: Option<Loc>,
}

/// The host this machine is, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recognised {
    /// The deciding rule.
    pub rule: Rule,
    /// The host and what matched.
    pub candidate: Candidate,
}

impl Recognised {
    /// The host.
    pub fn host(&self) -> HostId {
        self.candidate.host
    }

    /// One line for `-v`: `this machine is host `web-1` by machine id (its machine id at
    /// ports.toml:4:14)`.
    pub fn explain(&self, model: &Model) -> String {
        format!(
            "this machine is host `{}` by {} ({})",
            model.host(self.host()).name,
            self.rule.as_str(),
            describe(model, &self.candidate)
        )
    }
}

/// Why no host was picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotRecognised {
    /// The deciding rule matched several hosts.
    Ambiguous {
        /// The rule.
        rule: Rule,
        /// The hosts, in spec order.
        candidates: Vec<Candidate>,
        /// What this machine said.
        identity: Box<Identity>,
    },
    /// No rule matched.
    NoMatch {
        /// Hosts passed over because they declare another machine id (id, where).
        excluded: Vec<Candidate>,
        /// A host whose name or host name is close to this machine's, when one is.
        suggestion: Option<HostId>,
        /// What this machine said.
        identity: Box<Identity>,
    },
}

impl NotRecognised {
    /// The message (without the way out, which depends on the command): what was read, the
    /// candidates and their claims, a "did you mean".
    pub fn message(&self, model: &Model) -> String {
        match self {
            NotRecognised::Ambiguous {
                rule,
                candidates,
                identity,
            } => format!(
                "this machine ({}) is {} hosts of the spec by {}: {}",
                identity.describe(),
                candidates.len(),
                rule.as_str(),
                candidates
                    .iter()
                    .map(|c| format!("`{}` ({})", model.host(c.host).name, describe(model, c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            NotRecognised::NoMatch {
                excluded,
                suggestion,
                identity,
            } => {
                let mut m = format!(
                    "this machine ({}) is none of the spec's hosts ({})",
                    identity.describe(),
                    host_list(model)
                );
                for c in excluded {
                    let _ = write!(
                        m,
                        "; host `{}` is named like this machine but {}",
                        model.host(c.host).name,
                        describe(model, c)
                    );
                }
                if let Some(h) = suggestion {
                    let _ = write!(m, " (did you mean `{}`?)", model.host(*h).name);
                }
                m
            }
        }
    }
}

/// Hosts shown by name in a message; the rest are counted.
const SHOWN: usize = 8;

/// `app1, app2, … 3 more`, or `it declares none`.
fn host_list(model: &Model) -> String {
    if model.hosts.is_empty() {
        return "it declares none".into();
    }
    let mut names: Vec<String> = model
        .hosts
        .iter()
        .take(SHOWN)
        .map(|h| h.name.clone())
        .collect();
    let more = model.hosts.len().saturating_sub(SHOWN);
    if more > 0 {
        names.push(format!("{more} more"));
    }
    names.join(", ")
}

/// `its machine id at ports.toml:4:14`.
fn describe(model: &Model, c: &Candidate) -> String {
    match c.loc {
        Some(loc) => format!("{} at {}", c.claim, model.sources.position(loc)),
        None => c.claim.clone(),
    }
}

/// Matches `source`'s identity to a host of `model` (addresses are asked for only when no
/// name or id decides).
pub fn recognise(model: &Model, source: &dyn IdentitySource) -> Result<Recognised, NotRecognised> {
    let identity = source.identity();
    let live_id = identity.machine_id.as_ref().map(|(id, _)| id.as_str());
    // a host that declares another machine id is another machine
    let (excluded, eligible): (Vec<HostId>, Vec<HostId>) = (0..model.hosts.len())
        .map(HostId::from_index)
        .partition(|h| {
            live_id.is_some_and(|id| {
                model
                    .host(*h)
                    .machine_id
                    .as_ref()
                    .is_some_and(|m| m.value != id)
            })
        });
    let by_id: Vec<Candidate> = (0..model.hosts.len())
        .map(HostId::from_index)
        .filter_map(|h| {
            let m = model.host(h).machine_id.as_ref()?;
            (Some(m.value.as_str()) == live_id).then(|| Candidate {
                host: h,
                claim: "its machine id".to_string(),
                loc: m.loc,
            })
        })
        .collect();
    let names: Vec<&str> = identity.names().collect();
    let by_name = matches(&eligible, |h| {
        let host = model.host(h);
        let c = host
            .hostnames
            .iter()
            .find(|c| names.contains(&c.value.as_str()))?;
        Some((format!("its host name `{}`", c.value), c.loc))
    });
    let short = short_name(&identity.hostname);
    let by_short = matches(&eligible, |h| {
        let host = model.host(h);
        if short.is_empty() {
            return None;
        }
        if let Some(c) = host
            .hostnames
            .iter()
            .find(|c| short_name(&c.value).eq_ignore_ascii_case(short))
        {
            return Some((format!("its host name `{}`", c.value), c.loc));
        }
        short_name(&host.name)
            .eq_ignore_ascii_case(short)
            .then(|| ("its name".to_string(), host.loc))
    });
    for (rule, found) in [
        (Rule::MachineId, by_id),
        (Rule::HostName, by_name),
        (Rule::ShortName, by_short),
    ] {
        if let Some(r) = decide(rule, found, &identity)? {
            return Ok(r);
        }
    }
    let addresses: Vec<IpAddr> = source.addresses();
    let by_address = matches(&eligible, |h| {
        let host = model.host(h);
        let a = host.addresses.iter().find(|a| addresses.contains(a))?;
        Some((format!("its address {a}"), None))
    });
    if let Some(r) = decide(Rule::Address, by_address, &identity)? {
        return Ok(r);
    }
    // what would have matched by name, but declares another machine id
    let excluded: Vec<Candidate> = excluded
        .into_iter()
        .filter(|h| {
            let host = model.host(*h);
            let named = |n: &str| !short.is_empty() && short_name(n).eq_ignore_ascii_case(short);
            named(&host.name) || host.hostnames.iter().any(|c| named(&c.value))
        })
        .filter_map(|h| {
            let m = model.host(h).machine_id.as_ref()?;
            Some(Candidate {
                host: h,
                claim: format!("declares machine id {}", m.value),
                loc: m.loc,
            })
        })
        .collect();
    // a host named like this machine but vetoed by its machine id is already named
    let suggestion = if short.is_empty() || !excluded.is_empty() {
        None
    } else {
        let mut known: Vec<(String, HostId)> = Vec::new();
        for (i, h) in model.hosts.iter().enumerate() {
            known.push((short_name(&h.name).to_string(), HostId::from_index(i)));
            for c in &h.hostnames {
                known.push((short_name(&c.value).to_string(), HostId::from_index(i)));
            }
        }
        portolan_model::error::did_you_mean(short, known.iter().map(|(n, _)| n.as_str()))
            .and_then(|n| known.iter().find(|(k, _)| k == n))
            .map(|(_, h)| *h)
    };
    Err(NotRecognised::NoMatch {
        excluded,
        suggestion,
        identity: Box::new(identity),
    })
}

/// The eligible hosts `claim` accepts, with what matched.
fn matches(
    eligible: &[HostId],
    claim: impl Fn(HostId) -> Option<(String, Option<Loc>)>,
) -> Vec<Candidate> {
    eligible
        .iter()
        .filter_map(|h| {
            claim(*h).map(|(claim, loc)| Candidate {
                host: *h,
                claim,
                loc,
            })
        })
        .collect()
}

/// One candidate decides; several are an ambiguity; none passes to the next rule.
fn decide(
    rule: Rule,
    mut found: Vec<Candidate>,
    identity: &Identity,
) -> Result<Option<Recognised>, NotRecognised> {
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop().map(|candidate| Recognised { rule, candidate })),
        _ => Err(NotRecognised::Ambiguous {
            rule,
            candidates: found,
            identity: Box::new(identity.clone()),
        }),
    }
}

#[cfg(test)]
#[path = "recognise_tests.rs"]
mod tests;
