//! Writing the draft as a spec (`ports.toml` text): networks, hosts with their firewalls
//! ([`super::placement`]), projects, services, routes and flows ([`super::links`]),
//! reservations; evidence comments (`# from FILE.md:12`) and the notes at the top.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;

use portolan_model::port::{PortRange, PortSet};
use portolan_model::spec::{Publisher, Transport};

use super::Totals;
use super::cells;
use super::draft::{Audience, BindingDraft, Draft, FirewallDraft};
use super::{links, placement};

use portolan_model::toml_out::{self, InlineTable, comment_text as comment_safe, string as q};

use crate::draft::port_value;

fn ports_value(ps: &[PortRange]) -> String {
    match ps {
        [one] => port_value(*one),
        _ => toml_out::array(ps.iter().map(|p| port_value(*p))),
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

fn network_name(
    draft: &Draft,
    taken: &BTreeMap<String, String>,
    from: &str,
    comment: &str,
) -> String {
    if let Some((n, _)) = draft
        .networks
        .iter()
        .find(|(_, (c, _))| c.split(", ").any(|x| x == from))
    {
        return n.clone();
    }
    if let Some((n, _)) = taken.iter().find(|(_, c)| *c == from) {
        return n.clone();
    }
    let guess = super::intent::audience(draft, comment)
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

/// The service that stands for connections the document does not attribute to one.
const OUTBOUND_SOURCE: &str = "outbound";

/// Writes the spec, and counts what it declares.
#[allow(clippy::too_many_lines)]
pub fn spec(path: &str, draft: &mut Draft) -> (String, Totals) {
    let path = &comment_safe(path);
    // Firewall sources → named networks.
    let mut new_nets: BTreeMap<String, String> = BTreeMap::new();
    let mut rule_from: BTreeMap<(usize, usize), String> = BTreeMap::new();
    for (fi, fw) in draft.firewalls.iter().enumerate() {
        for (ri, r) in fw.rules.iter().enumerate() {
            let Some(from) = &r.from else { continue };
            let Some(c) = cidr(from) else {
                rule_from.insert((fi, ri), String::new());
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
        draft.networks.entry(n).or_insert((c, l));
    }

    let routes = links::routes(draft);
    // "localhost" said, no address given: it binds loopback
    for s in draft.services.values_mut() {
        for b in s.bindings.values_mut() {
            if b.bind.is_none() && b.publisher.is_none() && b.exposure == [Audience::Localhost] {
                b.bind = Some(IpAddr::from([127, 0, 0, 1]));
            }
        }
    }
    let (flows, needs_source) = links::flows(draft, OUTBOUND_SOURCE);
    if needs_source {
        let lines: Vec<usize> = draft
            .flows
            .iter()
            .filter(|f| f.from.is_none())
            .map(|f| f.line)
            .collect();
        let s = draft.service(OUTBOUND_SOURCE, "outbound connections");
        s.purpose.get_or_insert_with(|| {
            "connections the document lists without naming the service that makes them".into()
        });
        s.lines.extend(lines);
        let hosts: BTreeSet<String> = draft
            .flows
            .iter()
            .filter(|f| f.from.is_none())
            .flat_map(|f| f.from_hosts.iter().cloned())
            .collect();
        if let Some(s) = draft.services.get_mut(OUTBOUND_SOURCE) {
            s.hosts.extend(hosts);
        }
    }
    let plan = placement::plan(draft);

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
            let _ = writeln!(out, "# - {path}:{l}: {}", comment_safe(n));
        }
    }
    out.push('\n');
    let _ = writeln!(out, "[spec]");
    let _ = writeln!(out, "name = {}", q(draft.title.as_deref().unwrap_or(path)));
    let _ = writeln!(out, "description = {}", q(&format!("Imported from {path}")));

    if !draft.networks.is_empty() || plan.private_network {
        let _ = writeln!(out, "\n[networks]");
        for (n, (c, l)) in &draft.networks {
            let parts: Vec<String> = c.split(", ").filter_map(cidr).collect();
            let value = match parts.as_slice() {
                [] => continue,
                [one] => q(one),
                many => toml_out::string_array(many),
            };
            let _ = writeln!(
                out,
                "{} = {value}{}",
                toml_out::key(n),
                if *l > 0 {
                    format!("   # from {path}:{l}")
                } else {
                    String::new()
                }
            );
        }
        if plan.private_network && !draft.networks.contains_key("private") {
            let mut private = InlineTable::new();
            private
                .value("cidrs", toml_out::string_array(placement::PRIVATE))
                .string(
                    "description",
                    "the private address space: the document gives these hosts no public address",
                );
            let _ = writeln!(out, "private = {private}");
        }
    }

    for h in &plan.hosts {
        let _ = writeln!(
            out,
            "\n{}[hosts.{}]",
            from_comment(path, &h.lines),
            toml_out::key(&h.name)
        );
        if let Some(e) = &h.env {
            let _ = writeln!(out, "environment = {}", q(e));
        }
        if let Some(d) = &h.description {
            let _ = writeln!(out, "description = {}", q(d));
        }
        if !h.addresses.is_empty() {
            let _ = writeln!(out, "addresses = {}", toml_out::string_array(&h.addresses));
        }
        if let Some(nets) = &h.networks {
            let _ = writeln!(out, "networks = {}", toml_out::string_array(nets));
        }
        if let Some(i) = h.firewall {
            write_firewall(
                &mut out,
                path,
                &h.name,
                &draft.firewalls[i],
                i,
                &rule_from,
                false,
            );
        }
    }
    if !plan.unattached.is_empty() {
        let _ = writeln!(
            out,
            "\n# Other firewall rulesets in the document. A host has one firewall, so these are not"
        );
        let _ = writeln!(
            out,
            "# attached (they are alternatives, or their environment is not said):"
        );
        for &i in &plan.unattached {
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
        let _ = writeln!(
            out,
            "\n{}[projects.{}]",
            from_comment(path, &p.lines),
            toml_out::key(k)
        );
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
            let mut block = InlineTable::new();
            block.string("range", &txt).string("purpose", purpose);
            let _ = writeln!(
                blocks,
                "{} = {block}   # from {path}:{line}",
                toml_out::key(b)
            );
        }
        if !blocks.is_empty() {
            let _ = write!(out, "[projects.{}.blocks]\n{blocks}", toml_out::key(k));
        }
    }

    // Services.
    let mut totals = Totals {
        services: draft.services.len(),
        hosts: plan.hosts.len(),
        projects: draft.projects.len(),
        ..Totals::default()
    };
    for (k, s) in &draft.services {
        let hs = plan.service_hosts.get(k).cloned().unwrap_or_default();
        let _ = writeln!(
            out,
            "\n{}[services.{}]",
            from_comment(path, &s.lines),
            toml_out::key(k)
        );
        if let Some(p) = &s.project {
            let _ = writeln!(out, "project = {}", q(p));
        }
        let purpose = match &s.purpose {
            Some(p) if p != &s.display => format!("{}: {p}", s.display),
            _ => s.display.clone(),
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
        let _ = writeln!(out, "hosts = {}", toml_out::string_array(&hs));
        let ev = toml_out::string_array(s.lines.iter().map(|l| format!("{path}:{l}")));
        let _ = writeln!(out, "evidence = {ev}");
        for (bn, b) in &s.bindings {
            if let Some(fields) = binding_fields(draft, b, true) {
                let _ = writeln!(out, "bindings.{} = {fields}", toml_out::key(bn));
                totals.bindings += 1;
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
                        "bindings.{} = {fields}   {}",
                        toml_out::key(bn),
                        from_comment(path, &b.lines).trim_end()
                    );
                }
            }
            if !body.is_empty() {
                let _ = write!(
                    out,
                    "[services.{}.env.{}]\n{body}",
                    toml_out::key(k),
                    toml_out::key(e)
                );
            }
        }
    }

    for r in &routes {
        let _ = writeln!(out, "\n[[routes]]   # from {path}:{}", r.line);
        let _ = writeln!(out, "from = {}", q(&format!("{}.{}", r.from.0, r.from.1)));
        let _ = writeln!(out, "to = {}", q(&format!("{}.{}", r.to.0, r.to.1)));
        if let Some(h) = &r.host {
            let _ = writeln!(out, "host = {}", q(h));
        }
        totals.routes += 1;
    }

    for f in &flows {
        let _ = writeln!(out, "\n[[flows]]   # from {path}:{}", f.line);
        let _ = writeln!(out, "from = {}", q(&f.from));
        let _ = writeln!(out, "to = {}", q(&f.to));
        if f.udp {
            let _ = writeln!(out, "transport = {}", q("udp"));
        }
        if let Some(p) = &f.purpose {
            let _ = writeln!(out, "purpose = {}", q(p));
        }
        totals.flows += 1;
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
        totals.reservations += 1;
    }
    (out, totals)
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
    // a commented-out ruleset's host is the placeholder `?`, written as is
    let host = if commented {
        host.to_string()
    } else {
        toml_out::key(host)
    };
    let _ = writeln!(
        out,
        "{c}[hosts.{host}.firewall]   # from {path}:{} \"{}\"",
        fw.line,
        comment_safe(&fw.heading).replace('"', "'")
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
        let mut f = InlineTable::new();
        f.string("action", r.action);
        if !r.ports.is_empty() {
            f.value("port", ports_value(&r.ports));
        }
        if let Some(t) = r.transport {
            f.string("transport", t.as_str());
        }
        match from.get(&(fi, ri)) {
            Some(n) if !n.is_empty() => {
                f.string("from", n);
            }
            Some(_) => continue,
            None => {}
        }
        f.string("comment", &format!(":{} {}", r.line, r.comment));
        let _ = writeln!(out, "{c}  {f},");
    }
    let _ = writeln!(out, "{c}]");
}

fn binding_fields(draft: &Draft, b: &BindingDraft, base: bool) -> Option<InlineTable> {
    let mut f = InlineTable::new();
    if base {
        f.value("port", port_value(b.port?));
    }
    if let Some(t) = b.target {
        f.value("target", port_value(t));
    }
    if let Some(p) = b.publisher {
        let p = match p {
            Publisher::Host => "host",
            Publisher::Docker => "docker",
            Publisher::Podman => "podman",
            Publisher::K8sNodeport => "k8s-nodeport",
        };
        f.string("publisher", p);
    }
    if let Some(ip) = b.bind {
        f.string("bind", &ip.to_string());
    }
    if b.transport == Some(Transport::Udp) {
        f.string("transport", "udp");
    }
    if let Some(a) = &b.app {
        f.string("app", a);
    }
    let mut terms: Vec<String> = Vec::new();
    for a in &b.exposure {
        let t = match a {
            Audience::Localhost => "localhost".to_string(),
            Audience::Internal => "internal".to_string(),
            Audience::Public => "public".to_string(),
            Audience::Network(n) if draft.networks.contains_key(n) => n.clone(),
            Audience::Network(_) => "internal".to_string(),
            Audience::HostInternal => "host-internal".to_string(),
            Audience::Cidr(c) => c.clone(),
        };
        if !terms.contains(&t) {
            terms.push(t);
        }
    }
    match terms.as_slice() {
        [] => {}
        [one] => {
            f.string("exposure", one);
        }
        many => {
            f.value("exposure", toml_out::string_array(many));
        }
    }
    if let Some(t) = b.tls {
        f.string("tls", t);
    }
    if b.redirect {
        f.value("redirect", true);
    }
    if let Some(v) = b.auth {
        f.value("auth", v);
    }
    if let Some(v) = b.sensitive {
        f.value("sensitive", v);
    }
    if let Some(p) = b.purpose.as_ref().filter(|_| base) {
        f.string("purpose", p);
    }
    if f.is_empty() {
        return None;
    }
    Some(f)
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
