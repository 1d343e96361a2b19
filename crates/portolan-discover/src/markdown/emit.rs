//! Writing the draft as a spec (`ports.toml` text): hosts, networks and firewalls resolved,
//! names made unique, evidence comments (`# from FILE.md:12`), and the notes at the top.
//! Also the checks that need the whole document: `grep` patterns against the documented
//! ranges.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;

use portolan_model::port::{PortRange, PortSet};
use portolan_model::spec::{Publisher, Transport};

use super::cells;
use super::code::GrepCheck;
use super::draft::{Audience, BindingDraft, Draft, FirewallDraft};
use super::table;

use crate::draft::{port_value, quote as q};

fn ports_value(ps: &[PortRange]) -> String {
    match ps {
        [one] => port_value(*one),
        _ => format!(
            "[{}]",
            ps.iter()
                .map(|p| port_value(*p))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A CIDR with its host bits cleared (`172.20.0.1/16` → `172.20.0.0/16`); `None` if it is
/// not one.
pub fn cidr(s: &str) -> Option<String> {
    let (addr, len) = s.split_once('/').map_or((s, None), |(a, l)| (a, Some(l)));
    let ip: IpAddr = addr.parse().ok()?;
    let Some(len) = len else {
        return Some(ip.to_string());
    };
    let len: u32 = len.parse().ok()?;
    match ip {
        IpAddr::V4(v4) => {
            if len > 32 {
                return None;
            }
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            Some(format!(
                "{}/{len}",
                std::net::Ipv4Addr::from(u32::from(v4) & mask)
            ))
        }
        IpAddr::V6(v6) => {
            if len > 128 {
                return None;
            }
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            Some(format!(
                "{}/{len}",
                std::net::Ipv6Addr::from(u128::from(v6) & mask)
            ))
        }
    }
}

fn contains(cidr_text: &str, ip: &str) -> bool {
    let (Some((net, len)), Ok(ip)) = (cidr_text.split_once('/'), ip.parse::<IpAddr>()) else {
        return false;
    };
    let (Ok(IpAddr::V4(net)), Ok(len), IpAddr::V4(ip)) =
        (net.parse::<IpAddr>(), len.parse::<u32>(), ip)
    else {
        return false;
    };
    let mask = if len == 0 {
        0
    } else {
        u32::MAX.checked_shl(32 - len).unwrap_or(0)
    };
    u32::from(net) & mask == u32::from(ip) & mask
}

/// Evaluates the `grep` checks against the projects' ranges and the declared ports.
pub fn check_greps(draft: &mut Draft, greps: &[GrepCheck]) {
    let declared: BTreeSet<u16> = draft
        .services
        .values()
        .flat_map(|s| s.bindings.values())
        .flat_map(|b| b.port.into_iter().chain(b.target))
        .flat_map(|p| p.ports())
        .collect();
    for g in greps.iter().take(32) {
        let regexes: Option<Vec<regex::Regex>> = g
            .patterns
            .iter()
            .map(|p| regex::RegexBuilder::new(p).size_limit(1 << 20).build().ok())
            .collect();
        let Some(regexes) = regexes else { continue };
        let mut matched = Vec::new();
        let mut buf = String::new();
        for p in 1..=u16::MAX {
            buf.clear();
            let _ = write!(buf, "0.0.0.0:{p} ");
            if regexes.iter().all(|r| r.is_match(&buf)) {
                matched.push(PortRange::single(p));
            }
        }
        let set = PortSet::from_ranges(matched);
        if regexes.len() > 1 && set.is_empty() {
            draft.note(g.line, format!("the pipeline greps for {} patterns that no port matches at once: it always prints nothing", regexes.len()));
            continue;
        }
        if set.is_empty() {
            continue;
        }
        if let Some(pk) = draft.project_in(&g.comment) {
            if let Some(p) = draft.projects.get(&pk) {
                let range = PortSet::from_ranges(p.range.iter().copied());
                let short = range.bounds().is_some_and(|b| b.hi < 10000);
                let seen = if short {
                    set.intersection(&PortSet::from_ranges([PortRange { lo: 1, hi: 9999 }]))
                } else {
                    set.clone()
                };
                if !range.is_empty() && seen != range {
                    draft.note(
                        g.line,
                        format!(
                            "`grep` for \"{}\" matches ports {}, but project `{pk}`'s range is {}",
                            g.comment,
                            summary(&seen),
                            summary(&range)
                        ),
                    );
                    continue;
                }
            }
        }
        let plain = g
            .patterns
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_digit() || "|:() ".contains(c)));
        if plain {
            let literal: BTreeSet<u16> = g
                .patterns
                .iter()
                .flat_map(|p| p.split(['|', ':', '(', ')', ' ']))
                .filter_map(crate::text::port_number)
                .collect();
            let unknown: Vec<String> = literal
                .iter()
                .filter(|p| !declared.contains(p))
                .map(ToString::to_string)
                .collect();
            if !unknown.is_empty() {
                draft.note(
                    g.line,
                    format!(
                        "the `grep` checks port {}, which no service in the document declares",
                        unknown.join(", ")
                    ),
                );
            }
            if set.ranges().iter().any(|r| r.hi >= 10000) && literal.iter().all(|p| *p < 10000) {
                draft.note(
                    g.line,
                    format!(
                        "the `grep` pattern is not anchored: it also matches {}",
                        summary(&PortSet::from_ranges(set.ranges().iter().filter_map(|r| {
                            r.intersect(&PortRange {
                                lo: 10000,
                                hi: u16::MAX,
                            })
                        })))
                    ),
                );
            }
        }
    }
}

fn summary(set: &PortSet) -> String {
    let r = set.ranges();
    let mut parts: Vec<String> = r.iter().take(4).map(ToString::to_string).collect();
    if r.len() > 4 {
        parts.push(format!("… ({} ranges)", r.len()));
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

fn host_name(env: &str) -> String {
    match env {
        "production" => "prod".into(),
        "development" => "dev".into(),
        other => other.to_string(),
    }
}

fn network_name(
    draft: &Draft,
    taken: &BTreeMap<String, String>,
    from: &str,
    comment: &str,
) -> String {
    if let Some((n, _)) = draft.networks.iter().find(|(_, (c, _))| c == from) {
        return n.clone();
    }
    if let Some((n, _)) = taken.iter().find(|(_, c)| *c == from) {
        return n.clone();
    }
    let guess = table::audience(comment)
        .unwrap_or_default()
        .into_iter()
        .find_map(|a| match a {
            Audience::Network(n) => Some(n),
            _ => None,
        });
    let base = guess
        .unwrap_or_else(|| format!("net-{}", cells::slug(&from.replace(['.', '/', ':'], "-"))));
    let mut name = base.clone();
    let mut n = 2;
    while draft.networks.contains_key(&name) || taken.contains_key(&name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

/// Writes the spec.
pub fn spec(path: &str, draft: &mut Draft) -> String {
    // Firewall sources → named networks.
    let mut new_nets: BTreeMap<String, String> = BTreeMap::new();
    let mut rule_from: BTreeMap<(usize, usize), String> = BTreeMap::new();
    for (fi, fw) in draft.firewalls.iter().enumerate() {
        for (ri, r) in fw.rules.iter().enumerate() {
            let Some(from) = &r.from else { continue };
            let Some(c) = cidr(from) else {
                draft_note_later(&mut rule_from, fi, ri, String::new());
                continue;
            };
            if !c.contains('/') {
                rule_from.insert((fi, ri), c);
                continue;
            }
            let name = network_name(draft, &new_nets, &c, &r.comment);
            new_nets.entry(name.clone()).or_insert(c);
            rule_from.insert((fi, ri), name);
        }
    }
    let net_lines: BTreeMap<String, usize> = draft
        .firewalls
        .iter()
        .flat_map(|f| f.rules.iter())
        .filter_map(|r| Some((r.from.clone()?, r.line)))
        .fold(BTreeMap::new(), |mut m, (c, l)| {
            m.entry(cidr(&c).unwrap_or(c)).or_insert(l);
            m
        });
    for (n, c) in new_nets {
        let l = net_lines.get(&c).copied().unwrap_or(0);
        draft.networks.insert(n, (c, l));
    }

    // Hosts.
    let mut envs: BTreeSet<String> = draft.environments.clone();
    for s in draft.services.values() {
        envs.extend(s.env.clone());
        envs.extend(s.overrides.keys().cloned());
    }
    envs.extend(draft.firewalls.iter().filter_map(|f| f.env.clone()));
    let hosts: BTreeMap<String, Option<String>> = if envs.is_empty() {
        [("server".to_string(), None)].into()
    } else {
        envs.iter()
            .map(|e| (host_name(e), Some(e.clone())))
            .collect()
    };
    let all_hosts: Vec<String> = hosts.keys().cloned().collect();
    let host_of = |env: &str| host_name(env);

    let mut out = String::new();
    let _ = writeln!(out, "# Imported from {path} by `portolan import`.");
    let _ = writeln!(
        out,
        "# Every value is what the document says, mistakes included; `# from {path}:N` comments and"
    );
    let _ = writeln!(
        out,
        "# `evidence` point at the source lines. Review before relying on it."
    );
    let mut notes = draft.notes.clone();
    notes.sort();
    if !notes.is_empty() {
        let _ = writeln!(out, "#\n# Notes (what the spec cannot say):");
        for (l, n) in &notes {
            let _ = writeln!(out, "# - {path}:{l}: {}", n.replace('\n', " "));
        }
    }
    out.push('\n');
    let _ = writeln!(out, "[spec]");
    let _ = writeln!(out, "name = {}", q(draft.title.as_deref().unwrap_or(path)));
    let _ = writeln!(out, "description = {}", q(&format!("Imported from {path}")));

    if !draft.networks.is_empty() {
        let _ = writeln!(out, "\n[networks]");
        for (n, (c, l)) in &draft.networks {
            let c = cidr(c).unwrap_or_else(|| c.clone());
            let _ = writeln!(
                out,
                "{n} = {}{}",
                q(&c),
                if *l > 0 {
                    format!("   # from {path}:{l}")
                } else {
                    String::new()
                }
            );
        }
    }

    // Firewalls per host.
    let mut used = vec![false; draft.firewalls.len()];
    for (h, env) in &hosts {
        let _ = writeln!(out, "\n[hosts.{h}]");
        if let Some(e) = env {
            let _ = writeln!(out, "environment = {}", q(e));
        }
        if env.is_none() && !draft.addresses.is_empty() {
            let addrs: Vec<String> = draft.addresses.iter().map(|a| q(a)).collect();
            let _ = writeln!(out, "addresses = [{}]", addrs.join(", "));
            let nets: Vec<String> = draft
                .networks
                .iter()
                .filter(|(_, (c, _))| draft.addresses.iter().any(|a| contains(c, a)))
                .map(|(n, _)| q(n))
                .collect();
            if !nets.is_empty() {
                let _ = writeln!(out, "networks = [\"public\", {}]", nets.join(", "));
            }
        }
        let pick = draft
            .firewalls
            .iter()
            .enumerate()
            .find(|(i, f)| !used[*i] && (f.env == *env || hosts.len() == 1));
        if let Some((i, fw)) = pick {
            used[i] = true;
            write_firewall(&mut out, path, h, fw, i, &rule_from, false);
        }
    }
    let rest: Vec<usize> = (0..draft.firewalls.len()).filter(|i| !used[*i]).collect();
    if !rest.is_empty() {
        let _ = writeln!(
            out,
            "\n# Other firewall rulesets in the document. A host has one firewall, so these are not"
        );
        let _ = writeln!(
            out,
            "# attached (they are alternatives, or their environment is not said):"
        );
        for i in rest {
            let fw = &draft.firewalls[i];
            write_firewall(&mut out, path, "?", fw, i, &rule_from, true);
        }
    }

    // Projects (with any a service names but no table declared).
    let named: BTreeSet<String> = draft
        .services
        .values()
        .filter_map(|s| s.project.clone())
        .collect();
    for p in named {
        draft
            .projects
            .entry(p.clone())
            .or_insert_with(|| super::draft::ProjectDraft {
                display: p,
                ..Default::default()
            });
    }
    for (k, p) in &draft.projects {
        let _ = writeln!(out, "\n{}[projects.{k}]", from_comment(path, &p.lines));
        if let Some(d) = &p.description {
            let _ = writeln!(out, "description = {}", q(&format!("{}: {d}", p.display)));
        }
        if !p.range.is_empty() {
            let _ = writeln!(
                out,
                "range = {}",
                q(&p.range
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "))
            );
        }
        let range = PortSet::from_ranges(p.range.iter().copied());
        let mut blocks = String::new();
        for (b, (ports, purpose, line)) in &p.blocks {
            if !p.range.is_empty() && !ports.iter().all(|r| range.covers(r)) {
                continue;
            }
            let txt = ports
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                blocks,
                "{b} = {{ range = {}, purpose = {} }}   # from {path}:{line}",
                q(&txt),
                q(purpose)
            );
        }
        if !blocks.is_empty() {
            let _ = write!(out, "[projects.{k}.blocks]\n{blocks}");
        }
    }

    // Services.
    let mut svc_hosts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, s) in &draft.services {
        let hs = match &s.env {
            Some(e) => vec![host_of(e)],
            None => all_hosts.clone(),
        };
        svc_hosts.insert(k.clone(), hs.clone());
        let _ = writeln!(out, "\n{}[services.{k}]", from_comment(path, &s.lines));
        if let Some(p) = &s.project {
            let _ = writeln!(out, "project = {}", q(p));
        }
        let purpose = match &s.purpose {
            Some(p) => format!("{}: {p}", s.display),
            None => s.display.clone(),
        };
        let _ = writeln!(out, "purpose = {}", q(&purpose));
        if let Some(st) = s.status {
            let _ = writeln!(out, "status = {}", q(st));
        }
        if let Some(d) = &s.since {
            let _ = writeln!(out, "since = {d}");
        }
        if let Some(p) = &s.process {
            let _ = writeln!(out, "process = {}", q(p));
        }
        if privileged(s) {
            let _ = writeln!(
                out,
                "privileged = true   # the standard port of its protocol"
            );
        }
        let _ = writeln!(
            out,
            "hosts = [{}]",
            hs.iter().map(|h| q(h)).collect::<Vec<_>>().join(", ")
        );
        let ev: Vec<String> = s.lines.iter().map(|l| q(&format!("{path}:{l}"))).collect();
        let _ = writeln!(out, "evidence = [{}]", ev.join(", "));
        for (bn, b) in &s.bindings {
            if let Some(fields) = binding_fields(draft, b, true) {
                let _ = writeln!(out, "bindings.{bn} = {{ {fields} }}");
            }
        }
        for (e, bs) in &s.overrides {
            let mut body = String::new();
            for (bn, b) in bs {
                if !s.bindings.contains_key(bn) {
                    continue;
                }
                if let Some(fields) = binding_fields(draft, b, false) {
                    let _ = writeln!(
                        body,
                        "bindings.{bn} = {{ {fields} }}   {}",
                        from_comment(path, &b.lines).trim_end()
                    );
                }
            }
            if !body.is_empty() {
                let _ = write!(out, "[services.{k}.env.{e}]\n{body}");
            }
        }
    }

    // Routes.
    let mut notes = Vec::new();
    for r in &draft.routes {
        let listeners = draft.bindings_on(r.listen, false);
        let from = listeners
            .iter()
            .find(|(s, _)| {
                ["nginx", "proxy", "traefik", "haproxy", "caddy"]
                    .iter()
                    .any(|w| s.contains(w))
            })
            .or(listeners.first())
            .cloned();
        let to = draft
            .bindings_on(r.upstream, false)
            .into_iter()
            .find(|(s, _)| from.as_ref().is_none_or(|(f, _)| f != s));
        match (from, to) {
            (Some((fs, fb)), Some((ts, tb))) => {
                let _ = writeln!(out, "\n[[routes]]   # from {path}:{}", r.line);
                let _ = writeln!(out, "from = {}", q(&format!("{fs}.{fb}")));
                let _ = writeln!(out, "to = {}", q(&format!("{ts}.{tb}")));
                if let Some(h) = &r.host {
                    let _ = writeln!(out, "host = {}", q(h));
                }
            }
            (_, None) => notes.push((r.line, format!("the proxy on port {} passes to port {}, which no service in the document declares", r.listen, r.upstream))),
            (None, _) => {}
        }
    }
    for (l, n) in notes {
        draft.note(l, n);
    }

    for r in &draft.reservations {
        if r.ports.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n[[reservations]]   # from {path}:{}", r.line);
        let _ = writeln!(out, "ports = {}", ports_value(&r.ports));
        if let Some(p) = &r.project {
            let _ = writeln!(out, "project = {}", q(p));
        }
        let _ = writeln!(out, "why = {}", q(&r.why));
    }
    out
}

fn draft_note_later(m: &mut BTreeMap<(usize, usize), String>, fi: usize, ri: usize, v: String) {
    m.insert((fi, ri), v);
}

fn from_comment(path: &str, lines: &BTreeSet<usize>) -> String {
    match lines.first() {
        Some(l) => format!("# from {path}:{l}\n"),
        None => String::new(),
    }
}

fn write_firewall(
    out: &mut String,
    path: &str,
    host: &str,
    fw: &FirewallDraft,
    fi: usize,
    from: &BTreeMap<(usize, usize), String>,
    commented: bool,
) {
    let c = if commented { "# " } else { "" };
    let _ = writeln!(
        out,
        "{c}[hosts.{host}.firewall]   # from {path}:{} \"{}\"",
        fw.line,
        fw.heading.replace('"', "'")
    );
    let assumed = if fw.assumed {
        "   # the document names no firewall software; ufw assumed"
    } else {
        ""
    };
    let _ = writeln!(out, "{c}kind = {}{assumed}", q(fw.kind));
    match fw.inbound {
        Some(p) => {
            let _ = writeln!(out, "{c}inbound = {}", q(p));
        }
        None => {
            let _ = writeln!(
                out,
                "{c}inbound = \"deny\"   # not stated in the document; the usual default"
            );
        }
    }
    let _ = writeln!(out, "{c}rules = [");
    for (ri, r) in fw.rules.iter().enumerate() {
        let mut f = vec![format!("action = {}", q(r.action))];
        if !r.ports.is_empty() {
            f.push(format!("port = {}", ports_value(&r.ports)));
        }
        if let Some(t) = r.transport {
            f.push(format!("transport = {}", q(t.as_str())));
        }
        match from.get(&(fi, ri)) {
            Some(n) if !n.is_empty() => f.push(format!("from = {}", q(n))),
            Some(_) => continue,
            None => {}
        }
        f.push(format!(
            "comment = {}",
            q(&format!(":{} {}", r.line, r.comment))
        ));
        let _ = writeln!(out, "{c}  {{ {} }},", f.join(", "));
    }
    let _ = writeln!(out, "{c}]");
}

fn binding_fields(draft: &Draft, b: &BindingDraft, base: bool) -> Option<String> {
    let mut f = Vec::new();
    if base {
        f.push(format!("port = {}", port_value(b.port?)));
    }
    if let Some(t) = b.target {
        f.push(format!("target = {}", port_value(t)));
    }
    if let Some(p) = b.publisher {
        let p = match p {
            Publisher::Host => "host",
            Publisher::Docker => "docker",
            Publisher::Podman => "podman",
            Publisher::K8sNodeport => "k8s-nodeport",
        };
        f.push(format!("publisher = {}", q(p)));
    }
    if let Some(ip) = b.bind {
        f.push(format!("bind = {}", q(&ip.to_string())));
    }
    if b.transport == Some(Transport::Udp) {
        f.push("transport = \"udp\"".into());
    }
    if let Some(a) = &b.app {
        f.push(format!("app = {}", q(a)));
    }
    let mut terms: Vec<String> = Vec::new();
    for a in &b.exposure {
        let t = match a {
            Audience::Localhost => "localhost".to_string(),
            Audience::Internal => "internal".to_string(),
            Audience::Public => "public".to_string(),
            Audience::Network(n) if draft.networks.contains_key(n) => n.clone(),
            Audience::Network(_) => "internal".to_string(),
        };
        if !terms.contains(&t) {
            terms.push(t);
        }
    }
    match terms.as_slice() {
        [] => {}
        [one] => f.push(format!("exposure = {}", q(one))),
        many => f.push(format!(
            "exposure = [{}]",
            many.iter().map(|t| q(t)).collect::<Vec<_>>().join(", ")
        )),
    }
    if let Some(t) = b.tls {
        f.push(format!("tls = {}", q(t)));
    }
    if b.redirect {
        f.push("redirect = true".into());
    }
    if let Some(v) = b.sensitive {
        f.push(format!("sensitive = {v}"));
    }
    if f.is_empty() {
        return None;
    }
    Some(f.join(", "))
}

/// Whether every port below 1024 of the service is the standard port of its protocol
/// (nginx on 80/443, sshd on 22): then binding it is the point, not a mistake.
fn privileged(s: &super::draft::ServiceDraft) -> bool {
    let low: Vec<&BindingDraft> = s
        .bindings
        .values()
        .filter(|b| b.port.is_some_and(|p| p.lo < 1024))
        .collect();
    !low.is_empty()
        && low.iter().all(|b| {
            let (Some(p), Some(app)) = (b.port, b.app.as_deref()) else {
                return false;
            };
            portolan_model::knowledge::primary_use(p.lo).is_some_and(|w| w.name == app)
        })
}
