//! `ufw …` commands: `allow`/`deny`/`reject`/`limit` in the simple form (`ufw allow
//! 8069/tcp`, `ufw allow 'Nginx Full'`) and the full form (`ufw allow proto tcp from
//! 10.0.0.0/8 to any port 80,443`), `delete`, `insert N`, `prepend`, `default … incoming`;
//! commands that change nothing inbound (`enable`, `status`, `route`, `… out …`) are
//! [`Command::Other`].

use portolan_model::knowledge::firewall::{service_port, ufw_profile_ignore_case};
use portolan_model::port::PortRange;
use portolan_model::spec::Transport;

use super::{Command, Rule, source, split_quoted, strip_prefixes, transport};

fn ports_list(s: &str) -> Option<Vec<PortRange>> {
    s.split(',')
        .map(|p| p.trim().parse::<PortRange>().ok())
        .collect()
}

/// An application profile (`Nginx Full`, any letter case) or a service name (`ssh`): its
/// ports, and the profile's transport.
fn app(name: &str) -> Option<(Vec<PortRange>, Option<Transport>)> {
    if let Some(p) = ufw_profile_ignore_case(name) {
        return Some((
            p.ports.iter().map(|&p| PortRange::single(p)).collect(),
            p.transport,
        ));
    }
    service_port(name).map(|p| (vec![PortRange::single(p)], None))
}

/// Parses one `ufw …` command (with or without `sudo`). `None`: not a ufw command, or one
/// whose ports cannot be read (`ufw allow NEW_PORT/tcp`).
pub fn ufw(cmd: &str) -> Option<Command> {
    let c = strip_prefixes(cmd);
    let rest = c.strip_prefix("ufw ")?;
    let words = split_quoted(rest);
    let mut w: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|t| !t.starts_with("--") && *t != "-f")
        .collect();
    if let Some(i) = w.iter().position(|t| *t == "comment") {
        w.truncate(i);
    }
    let mut i = 0;
    let first = *w.first()?;
    match first {
        "enable" | "disable" | "status" | "reload" | "reset" | "logging" | "app" | "show"
        | "version" | "route" => {
            return Some(Command::Other);
        }
        "default" => {
            let policy = match w.get(1).map(|s| s.to_ascii_lowercase()).as_deref() {
                Some("allow") => "allow",
                Some("deny" | "reject") => "deny",
                _ => return None,
            };
            return Some(match w.get(2).copied() {
                None | Some("incoming") => Command::Default(policy),
                Some(_) => Command::Other,
            });
        }
        _ => {}
    }
    let mut delete = false;
    let mut insert = None;
    if w[i] == "delete" {
        delete = true;
        i += 1;
    } else if w[i] == "insert" {
        insert = w.get(i + 1).and_then(|n| n.parse().ok());
        i += 2;
    } else if w[i] == "prepend" {
        insert = Some(1);
        i += 1;
    }
    let action = match *w.get(i)? {
        "allow" | "limit" => "allow",
        "deny" | "reject" => "deny",
        _ => return None,
    };
    i += 1;
    let mut rule = Rule {
        action,
        ports: Vec::new(),
        transport: None,
        from: None,
        insert,
    };
    let mut full = false;
    let mut simple: Vec<&str> = Vec::new();
    while i < w.len() {
        match w[i] {
            "in" => {}
            "out" => return Some(Command::Other),
            "on" => i += 1,
            "log" | "log-all" => {}
            "proto" => {
                rule.transport = transport(w.get(i + 1)?);
                i += 1;
                full = true;
            }
            "from" => {
                rule.from = source(w.get(i + 1)?);
                i += 1;
                full = true;
            }
            "to" => {
                i += 1;
                full = true;
            }
            "port" => {
                rule.ports = ports_list(w.get(i + 1)?)?;
                i += 1;
                full = true;
            }
            "app" => {
                let (ports, t) = app(w.get(i + 1)?)?;
                rule.ports = ports;
                rule.transport = rule.transport.or(t);
                i += 1;
                full = true;
            }
            other => simple.push(other),
        }
        i += 1;
    }
    if !full || !simple.is_empty() {
        if simple.is_empty() {
            return None;
        }
        let spec = simple.join(" ");
        let (p, t) = match spec.rsplit_once('/') {
            Some((p, t)) if transport(t).is_some() => (p.to_string(), transport(t)),
            _ => (spec.clone(), None),
        };
        if let Some(v) = ports_list(&p) {
            rule.ports = v;
        } else {
            let (ports, app_transport) = app(&spec)?;
            rule.ports = ports;
            rule.transport = rule.transport.or(app_transport);
        }
        if t.is_some() {
            rule.transport = t;
        }
    }
    Some(if delete {
        Command::Delete(rule)
    } else {
        Command::Add(rule)
    })
}
