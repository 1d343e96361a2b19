//! Firewall rulesets documents quote that are not one-command-per-rule ufw/iptables:
//! `iptables-save` dumps (`*filter`, `:INPUT DROP [0:0]`, `-A INPUT … -j ACCEPT`, read rule
//! by rule with [`portolan_firewall::command::iptables`]) and firewalld — `firewall-cmd` commands
//! (`--zone`, `--add-port=8080/tcp`, `--add-service=https`, `--add-source=CIDR`,
//! `--add-rich-rule='rule … source address=… port port=… accept'`, `--set-default-zone`)
//! and zone files (`<zone><source address=…/><service name=…/><port …/></zone>`).
//!
//! A firewalld zone with sources allows its ports and services from those sources; the
//! default zone (and a zone without sources the document puts interfaces in) allows them
//! from anywhere; inbound is denied otherwise. Each block becomes one ruleset.

use std::collections::BTreeMap;

use portolan_model::knowledge::firewall::firewalld_service_ports;
use portolan_model::port::PortRange;
use portolan_model::spec::Transport;

use super::Section;
use super::blocks::Code;
use super::draft::{Draft, FirewallDraft, RuleDraft};
use portolan_firewall::command::{self as firewall, Command};

/// Whether a block is an `iptables-save` dump.
pub fn is_iptables_save(code: &Code) -> bool {
    code.lines.iter().any(|(l, _)| {
        let t = l.trim();
        t == "*filter" || t.starts_with(":INPUT ") || t.starts_with("-A INPUT ")
    }) && !code
        .lines
        .iter()
        .any(|(l, _)| l.trim_start().starts_with("iptables "))
}

fn new_ruleset(draft: &mut Draft, kind: &'static str, section: &Section, line: usize) -> usize {
    draft.firewalls.push(FirewallDraft {
        kind,
        env: section.environment(),
        inbound: None,
        rules: Vec::new(),
        line,
        heading: section.innermost(),
        assumed: false,
        hosts: section.hosts(),
    });
    draft.firewalls.len() - 1
}

/// Reads an `iptables-save` dump (the filter table's INPUT chain).
pub fn iptables_save(draft: &mut Draft, section: &Section, code: &Code) -> bool {
    let idx = new_ruleset(draft, "iptables", section, code.line);
    let mut table = "filter".to_string();
    for (l, n) in &code.lines {
        let t = l.trim();
        if let Some(tb) = t.strip_prefix('*') {
            table = tb.trim().to_string();
            continue;
        }
        if table != "filter" || t.is_empty() || t.starts_with('#') || t == "COMMIT" {
            continue;
        }
        if let Some(rest) = t.strip_prefix(':') {
            let mut w = rest.split_whitespace();
            if w.next() == Some("INPUT") {
                draft.firewalls[idx].inbound = match w.next() {
                    Some("DROP" | "REJECT") => Some("deny"),
                    Some("ACCEPT") => Some("allow"),
                    _ => None,
                };
            }
            continue;
        }
        if !t.starts_with("-A ") && !t.starts_with("-I ") {
            continue;
        }
        // ICMP, ESP, GRE…: no ports, nothing for a port's reach
        let proto = t
            .split_whitespace()
            .skip_while(|w| *w != "-p" && *w != "--protocol")
            .nth(1)
            .unwrap_or("");
        if !proto.is_empty() && !matches!(proto, "tcp" | "udp" | "all") {
            continue;
        }
        match firewall::iptables(&format!("iptables {t}")) {
            Some(Command::Add(r)) => {
                let rule = RuleDraft {
                    action: r.action,
                    ports: r.ports,
                    transport: r.transport,
                    from: r.from,
                    comment: t.to_string(),
                    line: *n,
                };
                draft.firewalls[idx].rules.push(rule);
                draft.counts.rules += 1;
            }
            Some(Command::Default(p)) => draft.firewalls[idx].inbound = Some(p),
            Some(_) => {}
            None => draft.note(*n, format!("iptables rule not understood: `{t}`")),
        }
    }
    if draft.firewalls[idx].rules.is_empty() && draft.firewalls[idx].inbound.is_none() {
        draft.firewalls.pop();
        return false;
    }
    true
}

/// The ports of a firewalld service name (`ssh`, `https`, `cockpit`).
fn service_ports(name: &str) -> Vec<(PortRange, Option<Transport>)> {
    firewalld_service_ports(name)
        .into_iter()
        .map(|(p, t)| (PortRange::single(p), t))
        .collect()
}

/// `8080/tcp`, `8000-8010/udp`.
fn port_proto(s: &str) -> Option<(PortRange, Option<Transport>)> {
    let (p, t) = s.split_once('/').unwrap_or((s, "tcp"));
    let range = p.trim().parse::<PortRange>().ok()?;
    let t = match t.trim().to_ascii_lowercase().as_str() {
        "udp" => Some(Transport::Udp),
        "tcp" => Some(Transport::Tcp),
        _ => None,
    };
    Some((range, t))
}

/// A firewalld rich rule: action, source, port, transport, line and the rule as written.
type RichRule = (
    String,
    Option<String>,
    PortRange,
    Option<Transport>,
    usize,
    String,
);

#[derive(Debug, Default, Clone)]
struct Zone {
    sources: Vec<String>,
    allows: Vec<(PortRange, Option<Transport>, usize, String)>,
    rich: Vec<RichRule>,
    interfaces: bool,
}

/// firewalld state built from commands or a zone file, in one block.
#[derive(Debug, Default)]
pub struct Firewalld {
    zones: BTreeMap<String, Zone>,
    default_zone: Option<String>,
    first: usize,
}

fn attr<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let i = text.find(&format!("{name}="))?;
    let rest = &text[i + name.len() + 1..];
    let q = rest.chars().next()?;
    if q == '"' || q == '\'' {
        let end = rest[1..].find(q)?;
        Some(&rest[1..=end])
    } else {
        rest.split_whitespace().next()
    }
}

impl Firewalld {
    /// Reads one `firewall-cmd` command; `false` when it is not one.
    pub fn command(&mut self, cmd: &str, line: usize) -> bool {
        let words = firewall::split_quoted(cmd);
        let Some(at) = words.iter().position(|w| w == "firewall-cmd") else {
            return false;
        };
        if self.first == 0 {
            self.first = line;
        }
        let mut zone: Option<String> = None;
        let mut actions: Vec<(String, String)> = Vec::new();
        let mut i = at + 1;
        while i < words.len() {
            let w = &words[i];
            let (flag, val) = match w.split_once('=') {
                Some((f, v)) => (f.to_string(), Some(v.to_string())),
                None => (w.clone(), words.get(i + 1).cloned()),
            };
            let takes = !w.contains('=');
            match flag.as_str() {
                "--zone" => zone = val,
                "--set-default-zone" => self.default_zone = val,
                "--add-port" | "--add-service" | "--add-source" | "--add-rich-rule"
                | "--add-interface" | "--remove-port" | "--remove-service" => {
                    if let Some(v) = val {
                        actions.push((flag.clone(), v));
                    }
                }
                _ => {
                    i += 1;
                    continue;
                }
            }
            i += if takes { 2 } else { 1 };
        }
        let zone = zone
            .or_else(|| self.default_zone.clone())
            .unwrap_or_else(|| "public".to_string());
        let z = self.zones.entry(zone).or_default();
        for (flag, v) in actions {
            match flag.as_str() {
                "--add-port" => {
                    if let Some((p, t)) = port_proto(&v) {
                        z.allows.push((p, t, line, cmd.to_string()));
                    }
                }
                "--add-service" => {
                    for (p, t) in service_ports(&v) {
                        z.allows.push((p, t, line, cmd.to_string()));
                    }
                }
                "--remove-port" => {
                    if let Some((p, _)) = port_proto(&v) {
                        z.allows.retain(|a| a.0 != p);
                    }
                }
                "--remove-service" => {
                    let ps: Vec<PortRange> = service_ports(&v).into_iter().map(|x| x.0).collect();
                    z.allows.retain(|a| !ps.contains(&a.0));
                }
                "--add-source" => z.sources.push(v),
                "--add-interface" => z.interfaces = true,
                "--add-rich-rule" => {
                    let action = if v.contains(" accept") || v.ends_with("accept") {
                        "allow"
                    } else if v.contains("drop") || v.contains("reject") {
                        "deny"
                    } else {
                        continue;
                    };
                    let src = attr(&v, "address").map(str::to_string);
                    let port = v
                        .find("port port=")
                        .and_then(|i| attr(&v[i + 5..], "port"))
                        .and_then(|p| p.parse::<PortRange>().ok());
                    let t = attr(&v, "protocol").and_then(|p| match p {
                        "udp" => Some(Transport::Udp),
                        "tcp" => Some(Transport::Tcp),
                        _ => None,
                    });
                    if let Some(p) = port {
                        z.rich
                            .push((action.to_string(), src, p, t, line, cmd.to_string()));
                    }
                }
                _ => {}
            }
        }
        true
    }

    /// Reads a zone file (`<zone>…</zone>`); the zone's name is its `<short>`, else
    /// `internal` when it has sources, else `public`.
    pub fn zone_file(&mut self, code: &Code) -> bool {
        let mut z = Zone::default();
        let mut name: Option<String> = None;
        let mut seen = false;
        for (l, n) in &code.lines {
            let t = l.trim();
            if t.starts_with("<zone") {
                seen = true;
                if self.first == 0 {
                    self.first = *n;
                }
            }
            if let Some(s) = t.strip_prefix("<short>") {
                name = Some(s.trim_end_matches("</short>").trim().to_lowercase());
            }
            if t.starts_with("<source") {
                if let Some(a) = attr(t, "address") {
                    z.sources.push(a.to_string());
                }
            } else if t.starts_with("<service") {
                if let Some(s) = attr(t, "name") {
                    for (p, tr) in service_ports(s) {
                        z.allows.push((p, tr, *n, t.to_string()));
                    }
                }
            } else if t.starts_with("<port") {
                let p = attr(t, "port").and_then(|p| p.parse::<PortRange>().ok());
                let tr = attr(t, "protocol").and_then(|p| match p {
                    "udp" => Some(Transport::Udp),
                    "tcp" => Some(Transport::Tcp),
                    _ => None,
                });
                if let Some(p) = p {
                    z.allows.push((p, tr, *n, t.to_string()));
                }
            } else if t.starts_with("<interface") {
                z.interfaces = true;
            }
        }
        if !seen {
            return false;
        }
        let name = name.unwrap_or_else(|| {
            if z.sources.is_empty() {
                "public".into()
            } else {
                "internal".into()
            }
        });
        self.zones.insert(name, z);
        true
    }

    /// The ruleset, if the block said anything.
    pub fn finish(self, draft: &mut Draft, section: &Section) -> bool {
        if self.zones.is_empty() {
            return false;
        }
        let default_zone = self.default_zone.clone().unwrap_or_else(|| "public".into());
        let idx = new_ruleset(draft, "firewalld", section, self.first);
        let mut rules: Vec<RuleDraft> = Vec::new();
        for (name, z) in &self.zones {
            for (action, src, p, t, line, cmd) in &z.rich {
                rules.push(RuleDraft {
                    action: if action == "allow" { "allow" } else { "deny" },
                    ports: vec![*p],
                    transport: *t,
                    from: src.clone(),
                    comment: format!("{cmd}  # zone {name}"),
                    line: *line,
                });
            }
            let open_to_all = z.sources.is_empty() && (*name == default_zone || z.interfaces);
            if z.sources.is_empty() && !open_to_all {
                if !z.allows.is_empty() {
                    draft.note(
                        z.allows[0].2,
                        format!("firewalld zone `{name}` has no sources and is not the default zone: its rules are not attached to any traffic"),
                    );
                }
                continue;
            }
            let sources: Vec<Option<String>> = if open_to_all {
                vec![None]
            } else {
                z.sources.iter().cloned().map(Some).collect()
            };
            for src in sources {
                for (p, t, line, cmd) in &z.allows {
                    rules.push(RuleDraft {
                        action: "allow",
                        ports: vec![*p],
                        transport: *t,
                        from: src.clone(),
                        comment: format!("{cmd}  # zone {name}"),
                        line: *line,
                    });
                }
            }
        }
        rules.sort_by_key(|r| r.line);
        draft.counts.rules += rules.len();
        let fw = &mut draft.firewalls[idx];
        fw.rules = rules;
        fw.inbound = Some("deny");
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firewall_cmd_zones() {
        let mut f = Firewalld::default();
        assert!(f.command(
            "firewall-cmd --permanent --zone=internal --add-source=10.30.0.0/16",
            1
        ));
        assert!(f.command(
            "firewall-cmd --permanent --zone=internal --add-port=4242/tcp",
            2
        ));
        assert!(f.command(
            "sudo firewall-cmd --zone=public --add-service=https --permanent",
            3
        ));
        assert!(f.command(
            "firewall-cmd --add-rich-rule='rule family=\"ipv4\" source address=\"10.1.0.0/24\" port port=\"5432\" protocol=\"tcp\" accept'",
            4
        ));
        assert!(!f.command("echo hi", 5));
        let mut d = Draft::default();
        assert!(f.finish(&mut d, &Section::default()));
        let r = &d.firewalls[0].rules;
        assert_eq!(r.len(), 3);
        assert_eq!(
            (r[0].ports[0].lo, r[0].from.as_deref()),
            (4242, Some("10.30.0.0/16"))
        );
        assert_eq!((r[1].ports[0].lo, r[1].from.as_deref()), (443, None));
        assert_eq!(
            (r[2].ports[0].lo, r[2].from.as_deref()),
            (5432, Some("10.1.0.0/24"))
        );
    }
}
