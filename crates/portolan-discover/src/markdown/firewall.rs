//! Firewall commands as written in documents: `ufw allow 8069/tcp`, `ufw allow from
//! 192.168.1.0/24 to any port 8000 proto tcp`, `ufw deny 5432`, `ufw default deny
//! incoming`, and `iptables -A INPUT -p tcp --dport 5432 -s 10.0.0.0/8 -j ACCEPT`,
//! `iptables -P INPUT DROP`. Each becomes a [`Command`] in spec terms.

use portolan_model::port::PortRange;
use portolan_model::spec::Transport;

/// One rule in spec terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `allow` or `deny`.
    pub action: &'static str,
    /// Destination ports (empty: every port).
    pub ports: Vec<PortRange>,
    /// `None`: both transports.
    pub transport: Option<Transport>,
    /// Source CIDR or address (`None`: any).
    pub from: Option<String>,
    /// `ufw insert N` / `iptables -I INPUT N`: 1-based position (`Some(1)` for a bare `-I`).
    pub insert: Option<usize>,
}

/// What a firewall command does to the inbound ruleset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Adds a rule.
    Add(Rule),
    /// Removes a rule (`ufw delete allow 8069/tcp`).
    Delete(Rule),
    /// Sets the default inbound policy (`allow`/`deny`).
    Default(&'static str),
    /// Recognised, but says nothing about inbound rules (`ufw enable`, `ufw status`,
    /// loopback and conntrack rules, outbound rules, other chains).
    Other,
}

fn strip_prefixes(cmd: &str) -> &str {
    let mut c = cmd.trim();
    loop {
        let before = c;
        for p in ["sudo ", "$ ", "# ", "doas "] {
            if let Some(r) = c.strip_prefix(p) {
                c = r.trim_start();
            }
        }
        if c == before {
            return c;
        }
    }
}

fn ports_list(s: &str) -> Option<Vec<PortRange>> {
    s.split(',')
        .map(|p| p.trim().parse::<PortRange>().ok())
        .collect()
}

fn transport(s: &str) -> Option<Transport> {
    match s.to_ascii_lowercase().as_str() {
        "tcp" => Some(Transport::Tcp),
        "udp" => Some(Transport::Udp),
        _ => None,
    }
}

fn source(s: &str) -> Option<String> {
    match s.to_ascii_lowercase().as_str() {
        "any" | "anywhere" | "0.0.0.0/0" | "::/0" => None,
        _ => Some(s.to_string()),
    }
}

/// ufw application profiles and service names commonly used in documents.
fn ufw_app(name: &str) -> Option<Vec<PortRange>> {
    let ports: &[u16] = match name.to_ascii_lowercase().as_str() {
        "ssh" | "openssh" => &[22],
        "http" | "nginx http" | "apache" | "www" => &[80],
        "https" | "nginx https" | "apache secure" | "www secure" => &[443],
        "nginx full" | "apache full" | "www full" => &[80, 443],
        "postgresql" | "postgres" => &[5432],
        "mysql" => &[3306],
        "dns" | "domain" => &[53],
        "ntp" => &[123],
        _ => return None,
    };
    Some(ports.iter().map(|&p| PortRange::single(p)).collect())
}

/// Parses one `ufw …` command (with or without `sudo`). `None`: not a ufw command, or one
/// whose ports cannot be read (`ufw allow NEW_PORT/tcp`).
pub fn ufw(cmd: &str) -> Option<Command> {
    let c = strip_prefixes(cmd);
    let rest = c.strip_prefix("ufw ")?;
    let quoted = rest.contains(['\'', '"']);
    let words: Vec<String> = if quoted {
        split_quoted(rest)
    } else {
        rest.split_whitespace().map(str::to_string).collect()
    };
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
                rule.ports = ufw_app(w.get(i + 1)?)?;
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
        rule.ports = match ports_list(&p) {
            Some(v) => v,
            None => ufw_app(&spec)?,
        };
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

/// Splits a command line into words, honouring single and double quotes.
pub fn split_quoted(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Parses one `iptables …` / `ip6tables …` command on the INPUT chain. `None`: not an
/// iptables command or one that cannot be read.
pub fn iptables(cmd: &str) -> Option<Command> {
    let c = strip_prefixes(cmd);
    let rest = c
        .strip_prefix("iptables ")
        .or_else(|| c.strip_prefix("ip6tables "))?;
    let w: Vec<&str> = rest.split_whitespace().collect();
    let mut chain_ok = false;
    let mut insert = None;
    let mut rule = Rule {
        action: "allow",
        ports: Vec::new(),
        transport: None,
        from: None,
        insert: None,
    };
    let mut target = None;
    let mut i = 0;
    while i < w.len() {
        let next = w.get(i + 1).copied();
        match w[i] {
            "-P" | "--policy" => {
                if next? != "INPUT" {
                    return Some(Command::Other);
                }
                return Some(match w.get(i + 2).copied()? {
                    "ACCEPT" => Command::Default("allow"),
                    "DROP" | "REJECT" => Command::Default("deny"),
                    _ => return None,
                });
            }
            "-A" | "--append" | "-D" | "--delete" => {
                chain_ok = next? == "INPUT";
                i += 1;
            }
            "-I" | "--insert" => {
                chain_ok = next? == "INPUT";
                i += 1;
                insert = Some(1);
                if let Some(n) = w.get(i + 1).and_then(|n| n.parse::<usize>().ok()) {
                    insert = Some(n);
                    i += 1;
                }
            }
            "-F" | "--flush" | "-X" | "-Z" | "-L" | "--list" | "-S" | "-N" => {
                return Some(Command::Other);
            }
            "-i" | "--in-interface" => {
                if next.is_some_and(|n| n == "lo") {
                    return Some(Command::Other);
                }
                i += 1;
            }
            "--state" | "--ctstate" => return Some(Command::Other),
            "-p" | "--protocol" => {
                rule.transport = transport(next?);
                i += 1;
            }
            "--dport" | "--destination-port" | "--dports" => {
                rule.ports = ports_list(next?)?;
                i += 1;
            }
            "-s" | "--source" | "--src" => {
                rule.from = source(next?);
                i += 1;
            }
            "-j" | "--jump" => {
                target = next;
                i += 1;
            }
            "-m" | "--match" | "-t" | "--table" | "-o" | "-d" | "--comment" => i += 1,
            _ => {}
        }
        i += 1;
    }
    if !chain_ok {
        return Some(Command::Other);
    }
    rule.action = match target? {
        "ACCEPT" => "allow",
        "DROP" | "REJECT" => "deny",
        _ => return Some(Command::Other),
    };
    rule.insert = insert;
    Some(if w.first() == Some(&"-D") {
        Command::Delete(rule)
    } else {
        Command::Add(rule)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ufw_forms() {
        let Some(Command::Add(r)) =
            ufw("sudo ufw allow from 192.168.1.0/24 to any port 8000 proto tcp")
        else {
            panic!()
        };
        assert_eq!(
            (r.from.as_deref(), r.ports[0].lo, r.transport),
            (Some("192.168.1.0/24"), 8000, Some(Transport::Tcp))
        );
        let Some(Command::Add(r)) = ufw("ufw allow 5000:5399/tcp") else {
            panic!()
        };
        assert_eq!((r.ports[0].lo, r.ports[0].hi), (5000, 5399));
        assert_eq!(
            ufw("ufw default deny incoming"),
            Some(Command::Default("deny"))
        );
        assert_eq!(ufw("ufw default allow outgoing"), Some(Command::Other));
        assert!(matches!(
            ufw("ufw deny 5432"),
            Some(Command::Add(Rule { action: "deny", .. }))
        ));
        assert!(matches!(
            ufw("ufw delete allow 8069/tcp"),
            Some(Command::Delete(_))
        ));
        assert_eq!(ufw("ufw allow NEW_PORT/tcp"), None);
        assert!(
            matches!(ufw("ufw allow 'Nginx Full'"), Some(Command::Add(r)) if r.ports.len() == 2)
        );
    }

    #[test]
    fn iptables_forms() {
        let Some(Command::Add(r)) =
            iptables("iptables -A INPUT -p tcp --dport 5432 -s 10.0.0.0/8 -j ACCEPT")
        else {
            panic!()
        };
        assert_eq!(
            (r.from.as_deref(), r.ports[0].lo),
            (Some("10.0.0.0/8"), 5432)
        );
        assert_eq!(
            iptables("iptables -P INPUT DROP"),
            Some(Command::Default("deny"))
        );
        assert_eq!(
            iptables("iptables -A INPUT -i lo -j ACCEPT"),
            Some(Command::Other)
        );
        assert_eq!(
            iptables("iptables -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT"),
            Some(Command::Other)
        );
    }
}
