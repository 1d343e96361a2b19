//! Lists and paragraph lines: "cards" of `**Key:** value` items under a heading
//! (`**Port:** 8082, 8083`, `**Binding:** 0.0.0.0`, `**Access:** https://… (via nginx)`),
//! port-led items (`**80** - HTTP (nginx)` under a firewall heading → allow rules;
//! `**5021-5030**: API services` under a project's heading → blocks), and the server's
//! addresses (`**Server IP:** 192.168.0.104`, `Subnet: 192.168.0.0/24`). Everything else —
//! `name → port` items, sentences, outbound mentions — goes to [`super::mentions`].

use std::net::IpAddr;

use portolan_model::port::PortRange;

use super::Section;
use super::cells;
use super::draft::{BindingDraft, Draft, FirewallDraft, RuleDraft};
use super::table;

/// `Key: value` pairs collected under one heading.
#[derive(Debug, Default)]
pub struct Card {
    /// (lowercased key, value, line).
    pub pairs: Vec<(String, String, usize)>,
    /// The heading they are under.
    pub heading: String,
    /// Heading line.
    pub line: usize,
}

/// Splits `**Key:** value` / `Key: value` (short keys only).
pub fn key_value(text: &str) -> Option<(String, String)> {
    let t = cells::clean(text);
    let (k, v) = t.split_once(':')?;
    let k = k.trim();
    if k.is_empty()
        || k.len() > 24
        || k.split_whitespace().count() > 3
        || !k.chars().next()?.is_alphabetic()
    {
        return None;
    }
    if v.starts_with("//") {
        return None;
    }
    Some((k.to_lowercase(), v.trim().to_string()))
}

/// `**80** - HTTP (nginx)` / `**5002-5010**: text` → (ports, text).
pub fn port_led(text: &str) -> Option<(Vec<PortRange>, String)> {
    let t = cells::clean(text);
    let end =
        t.find(|c: char| !(c.is_ascii_digit() || c == '-' || c == ',' || c == ' ' || c == '–'))?;
    let (head, tail) = t.split_at(end);
    let tail = tail.trim_start_matches([':', ' ', '-', '–', '—']).trim();
    let head = head.trim().trim_end_matches(['-', '–']).trim();
    if head.is_empty() || tail.is_empty() {
        return None;
    }
    let ports = cells::ports(head).ok()?;
    if ports.is_empty() {
        return None;
    }
    Some((
        ports.into_iter().map(|p| p.port).collect(),
        tail.to_string(),
    ))
}

/// Card keys: their values describe the service the heading names.
pub const CARD_KEYS: &[&str] = &[
    "port",
    "ports",
    "listen port",
    "access",
    "url",
    "binding",
    "bind",
    "bind address",
    "listen",
    "host",
    "proxy",
    "ssl",
    "tls",
    "process",
    "connection",
    "exposure",
    "visibility",
    "config",
    "date",
    "owner",
    "status",
];

/// Handles one list item or text line.
pub fn line(
    draft: &mut Draft,
    card: &mut Card,
    section: &Section,
    text: &str,
    term: Option<&str>,
    line: usize,
) {
    let outbound_section = section
        .headings()
        .last()
        .is_some_and(|h| super::direction::outbound_heading(h));
    if outbound_section {
        // never listeners under an outbound heading
        super::mentions::outbound(draft, section, text, line, true);
        return;
    }
    if term.is_some() {
        super::mentions::item(draft, section, text, term, line);
        return;
    }
    if let Some((ports, rest)) = port_led(text) {
        if firewall_item(draft, section, &ports, &rest, line)
            || block_item(draft, section, &ports, &rest, line)
        {
            return;
        }
    }
    if super::mentions::item(draft, section, text, None, line) {
        return;
    }
    if let Some((k, v)) = key_value(text) {
        if matches!(
            k.as_str(),
            "server ip" | "main ip" | "ip address" | "ip" | "host ip" | "public ip"
        ) {
            if let Some(ip) = v
                .split(|c: char| c.is_whitespace() || c == '(')
                .next()
                .and_then(|w| w.parse::<IpAddr>().ok())
            {
                draft.addresses.insert(ip.to_string());
            }
            return;
        }
        if matches!(k.as_str(), "subnet" | "network" | "lan") {
            if let Some(cidr) = v
                .split_whitespace()
                .next()
                .map(|w| w.trim_end_matches([',', ';', '.']))
                .filter(|w| w.contains('/'))
                .and_then(super::emit::cidr)
            {
                draft.networks.entry("lan".into()).or_insert((cidr, line));
            }
            return;
        }
        if CARD_KEYS.contains(&k.as_str()) {
            card.pairs.push((k, v, line));
            return;
        }
        let original = cells::clean(text);
        let key = original.split_once(':').map_or("", |(a, _)| a);
        if super::mentions::named_port(draft, section, key, &v, line)
            || super::mentions::outbound(draft, section, &v, line, false)
            || super::mentions::sentences(draft, section, &v, line)
        {
            return;
        }
        card.pairs.push((k, v, line));
        return;
    }
    if !super::mentions::outbound(draft, section, text, line, false) {
        super::mentions::sentences(draft, section, text, line);
    }
}

/// `**80** - HTTP (nginx)` under a firewall heading: an allow rule.
fn firewall_item(
    draft: &mut Draft,
    section: &Section,
    ports: &[PortRange],
    rest: &str,
    line: usize,
) -> bool {
    let path = section.headings().join(" / ").to_lowercase();
    let inner = section.innermost().to_lowercase();
    if !(path.contains("firewall")
        && (inner.contains("open") || inner.contains("allow") || inner.contains("firewall")))
    {
        return false;
    }
    let env = section.environment();
    let heading = section.innermost();
    if !draft
        .firewalls
        .iter()
        .rev()
        .take(8)
        .any(|f| f.heading == heading && f.assumed)
    {
        draft.firewalls.push(FirewallDraft {
            kind: "ufw",
            env,
            inbound: None,
            rules: Vec::new(),
            line,
            heading: heading.clone(),
            assumed: true,
            hosts: section.hosts(),
        });
    }
    let Some(fw) = draft
        .firewalls
        .iter_mut()
        .rev()
        .find(|f| f.heading == heading && f.assumed)
    else {
        return true;
    };
    fw.rules.push(RuleDraft {
        action: "allow",
        ports: ports.to_vec(),
        transport: Some(portolan_model::spec::Transport::Tcp),
        from: None,
        comment: rest.to_string(),
        line,
    });
    draft.counts.rules += 1;
    true
}

/// `**5021-5030**: API services` under a project's heading: a block.
fn block_item(
    draft: &mut Draft,
    section: &Section,
    ports: &[PortRange],
    rest: &str,
    line: usize,
) -> bool {
    let Some(pk) = section
        .headings()
        .iter()
        .rev()
        .find_map(|h| draft.project_in(h))
    else {
        return false;
    };
    let Some(p) = draft.projects.get_mut(&pk) else {
        return false;
    };
    if p.range.len() == ports.len() && p.range.iter().zip(ports).all(|(a, b)| a == b) {
        return true;
    }
    let mut name = block_name(rest);
    if name.is_empty() {
        name = format!("block-{}", ports[0].lo);
    }
    if p.blocks.contains_key(&name) {
        name = format!("{name}-{}", ports[0].lo);
    }
    p.blocks
        .insert(name, (ports.to_vec(), rest.to_string(), line));
    draft.counts.blocks += 1;
    true
}

fn block_name(purpose: &str) -> String {
    const STOP: [&str; 14] = [
        "and",
        "or",
        "for",
        "of",
        "the",
        "a",
        "an",
        "services",
        "service",
        "ports",
        "port",
        "to",
        "with",
        "additional",
    ];
    let s = cells::slug(purpose);
    let words: Vec<&str> = s.split('-').filter(|w| !STOP.contains(w)).take(4).collect();
    words.join("-")
}

/// Turns the collected card into a service, when it names a port.
pub fn flush(draft: &mut Draft, card: &mut Card, section: &Section) {
    let section_env = section.environment();
    let section_hosts = section.hosts();
    let pairs = std::mem::take(&mut card.pairs);
    let get = |k: &[&str]| {
        pairs
            .iter()
            .find(|(key, _, _)| k.contains(&key.as_str()))
            .map(|(_, v, l)| (v.as_str(), *l))
    };
    let Some((port_text, port_line)) = get(&["port", "ports", "listen port"]) else {
        return;
    };
    let ports = match cells::ports(port_text) {
        Ok(v) if !v.is_empty() => v,
        Ok(_) => return,
        Err(e) => {
            draft.note(port_line, format!("port not read: {e}"));
            return;
        }
    };
    let display = strip_parens(&cells::clean(&card.heading));
    let key = cells::slug(&display);
    if key.is_empty() {
        return;
    }
    let access = get(&["access", "url"]);
    let access_line = access.map_or(port_line, |(_, l)| l);
    let (scheme, access_port, via) = access.map_or((None, None, false), |(v, _)| url_parts(v));
    let mut exposure = Vec::new();
    for k in [
        &["connection", "exposure", "visibility"][..],
        &["access", "url"],
    ] {
        if let Some((v, _)) = get(k) {
            if let Some(a) = super::intent::audience(draft, v) {
                if exposure.is_empty() {
                    exposure = a;
                }
            }
        }
    }
    let bind = get(&["binding", "bind", "host", "listen", "bind address"]).and_then(|(v, _)| {
        let w = v
            .split(|c: char| c.is_whitespace() || c == '(')
            .next()
            .unwrap_or("");
        if w == "localhost" {
            Some(IpAddr::from([127, 0, 0, 1]))
        } else {
            w.parse().ok()
        }
    });
    let tls_on = get(&["ssl", "tls"]).is_some_and(|(v, _)| {
        v.to_lowercase().starts_with("enabled") || v.to_lowercase().starts_with("yes")
    });
    let proxied = via || get(&["proxy"]).is_some();
    if let (Some(ap), Some(first)) = (access_port, ports.first()) {
        let al = access_line;
        if !ports.iter().any(|p| p.port.contains(ap)) && ![80, 443].contains(&ap) {
            draft.note(al, format!("`{display}`: the access URL uses port {ap}, but the document gives port {} (:{port_line})", first.port));
        }
    }
    let mut lines: Vec<usize> = pairs.iter().map(|(_, _, l)| *l).collect();
    lines.push(card.line);
    for pc in &ports {
        let app = match scheme.as_deref() {
            Some("https") if proxied => Some("http".to_string()),
            Some(s) => Some(s.to_string()),
            None => table::app_for(pc.port.lo, None, true),
        };
        let tls = if proxied && (tls_on || scheme.as_deref() == Some("https")) {
            Some("proxy")
        } else if app.as_deref() == Some("https") {
            Some("native")
        } else {
            None
        };
        let name = draft.binding_name(&key, app.as_deref(), Some(pc.port));
        let s = draft.service(&key, &display);
        if s.bindings.values().any(|b| b.port == Some(pc.port)) {
            continue;
        }
        draft.add_binding(
            &key,
            name,
            BindingDraft {
                port: Some(pc.port),
                bind: pc.bind.or(bind),
                app,
                tls,
                exposure: exposure.clone(),
                lines: lines.iter().copied().collect(),
                ..BindingDraft::default()
            },
        );
    }
    let s = draft.service(&key, &display);
    s.lines.extend(lines);
    s.hosts.extend(section_hosts);
    if s.env.is_none() {
        s.env = section_env;
    }
    if let Some((p, _)) = get(&["process"]) {
        s.process
            .get_or_insert_with(|| p.split_whitespace().next().unwrap_or(p).to_lowercase());
    }
}

fn strip_parens(s: &str) -> String {
    match s.find('(') {
        Some(i) if i > 0 => s[..i].trim().to_string(),
        _ => s.to_string(),
    }
}

/// Scheme, port and "via proxy" of an access text (`https://192.168.0.104 (via nginx)`,
/// `http://localhost:8006 (internal)`).
fn url_parts(v: &str) -> (Option<String>, Option<u16>, bool) {
    let via = v.to_lowercase().contains("via ") || v.to_lowercase().contains("proxy");
    let Some((scheme, rest)) = v.split_once("://") else {
        return (None, None, via);
    };
    let scheme = scheme
        .rsplit(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_lowercase();
    let hostport = rest.split(['/', ' ', ')']).next().unwrap_or("");
    let port = hostport
        .rsplit_once(':')
        .and_then(|(_, p)| crate::text::port_number(p));
    let scheme = matches!(scheme.as_str(), "http" | "https").then_some(scheme);
    (scheme, port, via)
}
