//! `firewall-drift`: a deployed ruleset (read and evaluated by `portolan-firewall`) against
//! the spec, per binding of one host.
//!
//! For each binding the spec says should listen, the sources the dump lets in
//! ([`portolan_firewall::eval`] on the `input` path, or the `forward` path for Docker-published
//! ports) are compared with the declared sources — exactly what `portolan gen` would allow:
//! the declared reach (exposure plus inbound flows) within what the bind address can be
//! reached from at all, plus the Docker bridge range when containers are declared. Only the
//! address families the dump covers are compared (an `iptables-save` dump says nothing about
//! IPv6). Three kinds of finding:
//!
//! - **allowed but not declared**: the binding is declared for nobody beyond the host and the
//!   firewall lets someone in, or a rule opens ports no binding of the host declares (one
//!   finding per rule: [`crate::firewall_undeclared`]);
//! - **allowed from wider sources**: the firewall lets in sources outside the declared ones;
//! - **declared but blocked**: declared sources the firewall drops.
//!
//! Each names the binding, both address sets, and the rules (dump `file:line`) responsible.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use portolan_firewall::eval::{Decision, Evaluator, Packet};
use portolan_firewall::{Hook, Kind, Ruleset, Verdict, all_v4, all_v6};
use portolan_model::{Binding, FileId, HostId, IpNet, IpSet, Loc, Model};

use crate::finding::Finding;
use crate::reach::{Analysis, declared_sources, describe_sources, docker_bridges};
use crate::rules::{Rule, exposure_label, listens, socket};

/// An imported dump: its syntax, parsed rules and, for locations, its text in the model's
/// source map.
pub struct Dump<'a> {
    /// Syntax.
    pub kind: Kind,
    /// The parsed rules.
    pub ruleset: &'a Ruleset,
    /// Its file in `model.sources`, when added there (findings then point into it).
    pub file: Option<FileId>,
    /// Its text.
    pub text: &'a str,
    /// How to name it in messages (`rules.nft`, `iptables-save`).
    pub name: &'a str,
    /// Byte offset of each line (so a location is a lookup, not a scan).
    line_starts: Vec<usize>,
}

impl<'a> Dump<'a> {
    /// A dump of `kind` read from `text` (named `name`; in the source map as `file`).
    pub fn new(
        kind: Kind,
        ruleset: &'a Ruleset,
        file: Option<FileId>,
        text: &'a str,
        name: &'a str,
    ) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(line_ends(text));
        Dump {
            kind,
            ruleset,
            file,
            text,
            name,
            line_starts,
        }
    }

    /// The location of a whole line (trimmed) of the dump.
    pub fn line_loc(&self, line: usize) -> Option<Loc> {
        let file = self.file?;
        let start = *self.line_starts.get(line.checked_sub(1)?)?;
        if start >= self.text.len() && line > 1 {
            return None;
        }
        let end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        let body = self.text.get(start..end)?.trim_end();
        let indent = body.len() - body.trim_start().len();
        Some(Loc::new(file, &(start + indent..start + body.len())))
    }
}

/// Offsets just after each `\n`.
fn line_ends(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i + 1)
}

/// A set as CIDRs, short: `0.0.0.0/0`, `192.168.1.0/24, 10.8.0.0/24`, `0.0.0.0/0 except
/// 192.168.1.0/24`.
pub fn show(set: &IpSet) -> String {
    if set.is_empty() {
        return "nobody".into();
    }
    let list = |nets: &[IpNet]| {
        let mut s = nets
            .iter()
            .take(6)
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        if nets.len() > 6 {
            let _ = write!(s, ", … ({} more)", nets.len() - 6);
        }
        s
    };
    let nets = set.to_nets();
    if nets.len() <= 6 {
        return list(&nets);
    }
    let mut families = Vec::new();
    if !set.ipv4().is_empty() {
        families.push(all_v4());
    }
    if !set.ipv6().is_empty() {
        families.push(all_v6());
    }
    let whole = families.iter().fold(IpSet::empty(), |a, f| a.union(f));
    let missing = whole.difference(set).to_nets();
    if missing.len() <= 6 {
        let wholes = whole.to_nets();
        return format!("{} except {}", list(&wholes), list(&missing));
    }
    list(&nets)
}

/// Host ports of `b` at which the verdict may change (rule port boundaries), from the
/// evaluator's index of edges.
pub(crate) fn probe_ports(b: &Binding, ev: &Evaluator<'_>) -> Vec<u16> {
    let (lo, hi) = (b.ports.lo, b.ports.hi);
    let mut cuts = BTreeSet::from([lo]);
    // destination ports are the container's for a published binding
    let target_lo = b.target.map_or(lo, |t| t.lo);
    let span = u32::from(hi - lo);
    let (dlo, dhi) = if b.target.is_some() {
        (u32::from(target_lo), u32::from(target_lo) + span + 1)
    } else {
        (u32::from(lo), u32::from(hi) + 1)
    };
    for &edge in ev.index().edges(false, dlo, dhi) {
        let h = i64::from(edge) - i64::from(dlo) + i64::from(lo);
        if let Ok(h) = u16::try_from(h)
            && (lo..=hi).contains(&h)
        {
            cuts.insert(h);
        }
    }
    for &edge in ev.index().edges(true, u32::from(lo), u32::from(hi) + 1) {
        if let Ok(h) = u16::try_from(edge)
            && (lo..=hi).contains(&h)
        {
            cuts.insert(h);
        }
    }
    cuts.into_iter().collect()
}

pub(crate) fn packet(b: &Binding, hook: Hook, host_port: u16) -> Packet {
    let port = match (hook, b.target) {
        (Hook::Forward, Some(t)) => {
            let off = host_port - b.ports.lo;
            t.lo.saturating_add(off)
        }
        _ => host_port,
    };
    Packet {
        hook,
        transport: b.transport,
        port,
        orig_port: host_port,
        dest: (!b.bind.is_unspecified()).then_some(b.bind),
    }
}

/// Decisions about `set` (let in when `accepted`), one per line.
fn responsible<'d>(decisions: &'d [Decision], set: &IpSet, accepted: bool) -> Vec<&'d Decision> {
    let mut seen = BTreeSet::new();
    decisions
        .iter()
        .filter(|d| d.accepted == accepted && d.sources.intersects(set) && seen.insert(d.line))
        .collect()
}

fn describe_decision(d: &Decision, set: &IpSet) -> String {
    let part = show(&d.sources.intersection(set));
    let what = if d.policy {
        format!(
            "policy {} of chain `{}`: {} {part}",
            if d.accepted { "accept" } else { "drop" },
            d.chain,
            if d.accepted { "lets in" } else { "drops" },
        )
    } else if d.returned {
        format!(
            "returns {} from `{}`, to be accepted further on",
            show(&d.sources),
            d.chain
        )
    } else if d.accepted {
        format!("lets in {}", show(&d.sources))
    } else {
        format!("drops {part}")
    };
    match &d.comment {
        Some(c) => format!("{what} (\"{c}\")"),
        None => what,
    }
}

pub(crate) fn attach(mut f: Finding, dump: &Dump<'_>, ds: &[&Decision], set: &IpSet) -> Finding {
    for d in ds.iter().take(4) {
        let text = describe_decision(d, set);
        match dump.line_loc(d.line) {
            Some(loc) => f = f.at(loc, text),
            None => f = f.note(format!("{}:{}: {text}", dump.name, d.line)),
        }
        for a in &d.assumed {
            f = f.note(format!("{}:{}: {a}", dump.name, d.line));
        }
    }
    if ds.len() > 4 {
        f = f.note(format!("… and {} more rules", ds.len() - 4));
    }
    f
}

/// `firewall-drift` findings for `host` given its deployed ruleset.
pub fn drift(model: &Model, analysis: &Analysis, host: HostId, dump: &Dump<'_>) -> Vec<Finding> {
    let rs = dump.ruleset;
    let ev = Evaluator::new(rs);
    let kind = dump.kind.as_str();
    let mut out = Vec::new();
    let host_name = &model.host(host).name;
    for (id, b) in model.binding_ids() {
        if b.host != host || !listens(b) {
            continue;
        }
        let r = analysis.of(id);
        let mut universe = (*r.bound.sources).clone();
        if r.bound.host_internal {
            universe = universe.union(docker_bridges());
        }
        universe = universe.intersection(&rs.covered);
        let hook = if b.publisher.bypasses_input_firewall() {
            Hook::Forward
        } else {
            Hook::Input
        };
        // bound to loopback: nobody connects today, but a rule that opens the port
        // contradicts the spec (and exposes it the day the bind address changes)
        let dormant = universe.is_empty();
        if dormant {
            if hook == Hook::Forward || !b.bind.is_loopback() {
                continue;
            }
            universe = rs.covered.clone();
        }
        let declared = declared_sources(model, analysis, id).intersection(&universe);
        let mut any = IpSet::empty();
        let mut all = universe.clone();
        let mut decisions = Vec::new();
        for p in probe_ports(b, &ev) {
            let o = ev.evaluate(&packet(b, hook, p));
            any = any.union(&o.accepted);
            all = all.intersection(&o.accepted);
            decisions.extend(o.decisions);
        }
        let any = any.intersection(&universe);
        let all = all.intersection(&universe);
        let name = b.qualified_name(model);
        let exposure = exposure_label(model, b);
        let path = match hook {
            Hook::Input => String::new(),
            Hook::Forward => format!(
                " (published by {}: the forward path applies)",
                b.publisher.as_str()
            ),
        };
        let excess = any.difference(&declared);
        if !excess.is_empty() {
            let (what, help) = if declared.is_empty() {
                (
                    "allowed but not declared",
                    "remove or narrow the rule, or declare the exposure in the spec",
                )
            } else {
                (
                    "allowed from wider sources",
                    "narrow the rule to the declared sources, or widen the declared exposure",
                )
            };
            let mut f = Finding::new(
                Rule::FirewallDrift,
                format!(
                    "{what}: `{name}` {} on host `{host_name}` is let in from {} by the {kind} ruleset{path}, but declared for {exposure} ({})",
                    socket(b),
                    show(&any),
                    show(&declared),
                ),
            )
            .subject(name.clone())
            .at(b.port_loc, format!("declared {exposure}"))
            .note(format!(
                "not declared: {} ({})",
                show(&excess),
                describe_sources(model, &excess)
            ));
            if rs.inactive {
                f = f.note("the firewall is inactive: nothing is filtered");
            }
            if dormant {
                f = f.note(format!(
                    "bound to {}, so nothing connects today; the rule opens the port as soon as the bind address changes",
                    b.bind
                ));
            }
            let ds = responsible(&decisions, &excess, true);
            f = attach(f, dump, &ds, &excess);
            out.push(f.help(format!("{help}; `portolan gen {kind} --host {host_name}` emits exactly the declared ruleset")));
        }
        let missing = declared.difference(&all);
        if !missing.is_empty() {
            let mut f = Finding::new(
                Rule::FirewallDrift,
                format!(
                    "declared but blocked: `{name}` {} on host `{host_name}` is declared for {exposure} ({}), but the {kind} ruleset{path} drops {}",
                    socket(b),
                    show(&declared),
                    show(&missing),
                ),
            )
            .subject(name.clone())
            .at(b.port_loc, format!("declared {exposure}"));
            let ds = responsible(&decisions, &missing, false);
            f = attach(f, dump, &ds, &missing);
            out.push(f.help(format!("add a rule for the declared sources (`portolan gen {kind} --host {host_name}` emits them), or narrow the declared exposure")));
        }
    }
    out.extend(crate::firewall_undeclared::undeclared_ports(
        model, host, dump, &ev,
    ));
    out
}

/// `shadowed-rule` findings of a deployed ruleset: rules no packet reaches, each located at
/// its dump line with the earlier rules that decide first.
pub fn shadowed_rules(model: &Model, host: HostId, dump: &Dump<'_>) -> Vec<Finding> {
    let rs = dump.ruleset;
    let host_name = &model.host(host).name;
    let mut out = Vec::new();
    for s in portolan_firewall::shadow::shadowed(rs) {
        let c = &rs.chains[s.chain];
        let r = &c.rules[s.rule];
        let conflict = s.by.iter().any(|j| {
            matches!(
                (&c.rules[*j].verdict, &r.verdict),
                (Verdict::Accept, Verdict::Drop) | (Verdict::Drop, Verdict::Accept)
            )
        });
        let mut f = Finding::new(
            Rule::ShadowedRule,
            format!(
                "{}:{}: a rule of chain `{}` ({} ruleset of host `{host_name}`) is never reached: earlier rules decide every packet it matches{}",
                dump.name,
                r.line,
                c.name,
                dump.kind.as_str(),
                if conflict {
                    ", some of them the other way"
                } else {
                    ""
                }
            ),
        )
        .subject(host_name.clone());
        match dump.line_loc(r.line) {
            Some(loc) => f = f.at(loc, "never reached"),
            None => f = f.note(format!("{}:{}: never reached", dump.name, r.line)),
        }
        for j in &s.by {
            let line = c.rules[*j].line;
            match dump.line_loc(line) {
                Some(loc) => f = f.at(loc, "decides first"),
                None => f = f.note(format!("{}:{line}: decides first", dump.name)),
            }
        }
        out.push(f.help(if conflict {
            "move the rule above the rules that decide first, or remove it: as written it has no effect"
        } else {
            "remove the rule: it has no effect"
        }));
    }
    out
}
