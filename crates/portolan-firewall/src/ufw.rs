//! `ufw status verbose` (or plain `ufw status`) output → [`Ruleset`].
//!
//! `Status: inactive` means no filtering. `Default: deny (incoming), …` gives the policy of
//! incoming traffic (without that line, ufw's own default, deny, is assumed). Each rule line
//! is `TO ACTION [DIRECTION] FROM [# comment]`: `TO` is `Anywhere`, an address, ports
//! (`22`, `22/tcp`, `80,443/tcp`, `6000:6007/tcp`) or both, or one of the common
//! application profiles (`OpenSSH`, `Nginx Full`, …: `portolan_model::knowledge::firewall`),
//! optionally with `on IFACE`; `(v6)` marks the IPv6 twin of a rule. `ACTION` is `ALLOW`, `DENY`, `REJECT` or `LIMIT` (a rate
//! limited allow). `OUT` rules do not concern inbound reach and `FWD` (routed) rules do not
//! apply to Docker-published ports, which Docker forwards before ufw's chains: both are
//! skipped. The rules become one `input` base chain, first match wins, as in ufw.

use portolan_model::{IpSet, PortRange, PortSet, Transport};

use portolan_model::knowledge::firewall::ufw_profile;

use crate::{Chain, FwRule, Hook, Iface, ParseError, Ruleset, Verdict, addr_set, all_v4, all_v6};

/// `22`, `22/tcp`, `80,443/tcp`, `6000:6007/udp`.
fn port_spec(s: &str) -> Option<(PortSet, Option<Transport>)> {
    let (ports, proto) = match s.split_once('/') {
        Some((p, "tcp")) => (p, Some(Transport::Tcp)),
        Some((p, "udp")) => (p, Some(Transport::Udp)),
        Some(_) => return None,
        None => (s, None),
    };
    let mut ranges = Vec::new();
    for part in ports.split(',') {
        let (lo, hi) = part.split_once(':').unwrap_or((part, part));
        ranges.push(PortRange::new(lo.parse().ok()?, hi.parse().ok()?).ok()?);
    }
    Some((PortSet::from_ranges(ranges), proto))
}

/// One side of a rule (`To` or `From`), as words with their columns.
struct Side {
    addr: Option<IpSet>,
    ports: Option<(PortSet, Option<Transport>)>,
    app: Option<String>,
    iface: Option<String>,
    v6: bool,
}

fn side(words: &[(&str, usize)], n: usize) -> Result<Side, ParseError> {
    let mut s = Side {
        addr: None,
        ports: None,
        app: None,
        iface: None,
        v6: false,
    };
    let mut app = Vec::new();
    let mut app_col = 0;
    let mut k = 0;
    while k < words.len() {
        let (w, col) = words[k];
        k += 1;
        match w {
            "(v6)" => s.v6 = true,
            "Anywhere" if app.is_empty() => {}
            "on" if k < words.len() => {
                s.iface = Some(words[k].0.to_string());
                k += 1;
            }
            _ if app.is_empty() && s.ports.is_none() && port_spec(w).is_some() => {
                s.ports = port_spec(w);
            }
            _ if app.is_empty()
                && s.addr.is_none()
                && w.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_hexdigit() || c == ':')
                && w.contains(['.', ':']) =>
            {
                let set = addr_set(w).map_err(|e| ParseError::new(n, col, e))?;
                s.v6 |= set.ipv4().is_empty();
                s.addr = Some(set);
            }
            _ => {
                if app.is_empty() {
                    app_col = col;
                }
                app.push(w);
            }
        }
    }
    if !app.is_empty() {
        let name = app.join(" ");
        let Some(profile) = ufw_profile(&name) else {
            return Err(ParseError::new(
                n,
                app_col,
                format!(
                    "`{name}` is neither an address, a port nor a known application profile (`ufw status` does not list a profile's ports; allow the ports themselves or see `ufw app info '{name}'`)"
                ),
            ));
        };
        s.ports = Some((
            PortSet::from_ranges(profile.ports.iter().map(|p| PortRange::single(*p))),
            profile.transport,
        ));
        s.app = Some(name);
    }
    Ok(s)
}

fn policy_of(word: &str) -> Option<Verdict> {
    match word {
        "allow" => Some(Verdict::Accept),
        "deny" | "reject" => Some(Verdict::Drop),
        _ => None,
    }
}

/// Parses `ufw status verbose` output.
///
/// # Errors
/// The first line that is not part of `ufw status` output.
pub fn parse(text: &str) -> Result<Ruleset, ParseError> {
    let mut chain = Chain {
        table: "ufw".into(),
        group: 0,
        name: "ufw-user-input".into(),
        line: 1,
        hook: Some(Hook::Input),
        priority: 0,
        policy: None,
        scope: IpSet::everything(),
        rules: Vec::new(),
    };
    let mut status: Option<bool> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let (body, comment) = match raw.split_once(" # ") {
            Some((b, c)) => (b, Some(c.trim().to_string())),
            None => (raw, None),
        };
        let line = body.trim();
        let indent = body.chars().take_while(|c| c.is_whitespace()).count();
        if line.is_empty() || line.chars().all(|c| c == '-' || c.is_whitespace()) {
            continue;
        }
        if let Some(s) = line.strip_prefix("Status:") {
            status = Some(s.trim() == "active");
            chain.line = n;
            continue;
        }
        if let Some(d) = line.strip_prefix("Default:") {
            for part in d.split(',') {
                let mut it = part.split_whitespace();
                if let (Some(p), Some("(incoming)")) = (it.next(), it.next()) {
                    let v = policy_of(p).ok_or_else(|| {
                        ParseError::new(
                            n,
                            indent + 1,
                            format!("`{p}` is not an incoming policy (allow, deny, reject)"),
                        )
                    })?;
                    chain.policy = Some((v, n));
                }
            }
            continue;
        }
        if ["Logging:", "New profiles:"]
            .iter()
            .any(|p| line.starts_with(p))
            || line.split_whitespace().collect::<Vec<_>>() == ["To", "Action", "From"]
        {
            continue;
        }
        // words with 1-based columns
        let mut words: Vec<(&str, usize)> = Vec::new();
        let mut start = None;
        for (ci, (bi, c)) in body.char_indices().enumerate() {
            if c.is_whitespace() {
                if let Some((sb, sc)) = start.take() {
                    words.push((&body[sb..bi], sc));
                }
            } else if start.is_none() {
                start = Some((bi, ci + 1));
            }
        }
        if let Some((sb, sc)) = start {
            words.push((&body[sb..], sc));
        }
        let Some(a) = words
            .iter()
            .position(|(w, _)| matches!(*w, "ALLOW" | "DENY" | "REJECT" | "LIMIT"))
        else {
            return Err(ParseError::new(
                n,
                indent + 1,
                format!(
                    "expected a rule `TO ACTION FROM` (ALLOW, DENY, REJECT or LIMIT), found `{line}`"
                ),
            ));
        };
        if status.is_none() {
            return Err(ParseError::new(
                n,
                indent + 1,
                "a rule before the `Status:` line",
            ));
        }
        let mut from_at = a + 1;
        let dir = match words.get(a + 1).map(|w| w.0) {
            Some(d @ ("IN" | "OUT" | "FWD")) => {
                from_at += 1;
                d
            }
            _ => "IN",
        };
        if a == 0 {
            return Err(ParseError::new(
                n,
                words[a].1,
                "the rule has no `To` column",
            ));
        }
        if from_at >= words.len() {
            return Err(ParseError::new(
                n,
                body.chars().count() + 1,
                "the rule has no `From` column",
            ));
        }
        let to = side(&words[..a], n)?;
        let from = side(&words[from_at..], n)?;
        if dir != "IN" {
            continue;
        }
        let mut r = FwRule::new(n);
        let v6 = to.v6 || from.v6;
        let family = if v6 { all_v6() } else { all_v4() };
        r.restrict_source(&family);
        if let Some(s) = &from.addr {
            r.restrict_source(s);
        }
        if from.ports.is_some() || from.app.is_some() {
            r.unmodelled.push("source port".into());
        }
        r.destination = to.addr;
        if let Some((p, t)) = to.ports {
            r.dports = Some(p);
            r.transport = t;
        }
        r.in_iface = to.iface.or(from.iface).map(|i| Iface {
            names: vec![i],
            negated: false,
        });
        r.verdict = match words[a].0 {
            "ALLOW" => Verdict::Accept,
            "LIMIT" => {
                r.unmodelled.push("LIMIT (rate limited)".into());
                Verdict::Accept
            }
            _ => Verdict::Drop,
        };
        r.comment = comment;
        chain.rules.push(r);
    }
    let Some(active) = status else {
        return Err(ParseError::new(
            1,
            1,
            "no `Status:` line: not `ufw status` output",
        ));
    };
    if !active {
        return Ok(Ruleset {
            chains: Vec::new(),
            covered: IpSet::everything(),
            inactive: true,
        });
    }
    if chain.policy.is_none() {
        chain.policy = Some((Verdict::Drop, chain.line));
    }
    Ok(Ruleset {
        chains: vec![chain],
        covered: IpSet::everything(),
        inactive: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::set;

    const STATUS: &str = "Status: active
Logging: on (low)
Default: deny (incoming), allow (outgoing), disabled (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
22/tcp                     LIMIT IN    Anywhere
8069/tcp                   ALLOW IN    Anywhere
8000/tcp                   ALLOW IN    192.168.1.0/24             # kkt
6000:6007/tcp              DENY IN     Anywhere
80,443/tcp                 REJECT IN   10.0.0.0/8
Anywhere on eth1           ALLOW IN    Anywhere
192.168.1.10 5432/tcp      ALLOW IN    10.8.0.0/24
Nginx Full                 ALLOW IN    Anywhere
53                         ALLOW OUT   Anywhere
22/tcp (v6)                LIMIT IN    Anywhere (v6)
8069/tcp (v6)              ALLOW IN    Anywhere (v6)
8000/tcp                   ALLOW IN    2001:db8::/32
";

    #[test]
    fn reads_status_verbose() {
        let rs = parse(STATUS).unwrap();
        let c = &rs.chains[0];
        assert_eq!(c.policy, Some((Verdict::Drop, 3)));
        assert_eq!(c.rules.len(), 11, "the OUT rule is skipped");
        let r = &c.rules[0];
        assert_eq!(
            (r.line, r.verdict.clone(), r.transport),
            (8, Verdict::Accept, Some(Transport::Tcp))
        );
        assert_eq!(r.source, Some(all_v4()));
        assert_eq!(c.rules[2].source, Some(set(&["192.168.1.0/24"])));
        assert_eq!(c.rules[2].comment.as_deref(), Some("kkt"));
        let range = c.rules[3].dports.as_ref().unwrap();
        assert_eq!(
            (range.len(), c.rules[3].verdict.clone()),
            (8, Verdict::Drop)
        );
        assert_eq!(c.rules[4].dports.as_ref().unwrap().len(), 2);
        assert_eq!(c.rules[5].in_iface.as_ref().unwrap().names, ["eth1"]);
        assert_eq!(c.rules[5].dports, None);
        assert_eq!(c.rules[6].destination, Some(set(&["192.168.1.10/32"])));
        assert_eq!(c.rules[7].dports.as_ref().unwrap().len(), 2);
        assert_eq!(c.rules[8].source, Some(all_v6()));
        assert_eq!(c.rules[10].source, Some(set(&["2001:db8::/32"])));
    }

    #[test]
    fn inactive_and_plain_status() {
        let rs = parse("Status: inactive\n").unwrap();
        assert!(rs.inactive && rs.chains.is_empty());
        let rs =
            parse("Status: active\n\nTo Action From\n-- ------ ----\n22 ALLOW Anywhere\n").unwrap();
        assert_eq!(rs.chains[0].policy, Some((Verdict::Drop, 1)));
        assert_eq!(rs.chains[0].rules[0].transport, None);
    }

    #[test]
    fn errors_name_the_line_column_and_reason() {
        let e = parse("Status: active\n22/tcp  ALLOW IN  10.0.0.300\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 19));
        let e = parse("Status: active\nMy App  ALLOW IN  Anywhere\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 1));
        assert!(e.reason.contains("My App"), "{e}");
        let e = parse("Status: active\nhello world\n").unwrap_err();
        assert!(e.reason.contains("hello world"), "{e}");
        let e = parse("22/tcp ALLOW IN Anywhere\n").unwrap_err();
        assert!(e.reason.contains("Status"), "{e}");
        let e = parse("").unwrap_err();
        assert!(e.reason.contains("Status"), "{e}");
        let e = parse("Status: active\nDefault: maybe (incoming)\n").unwrap_err();
        assert!(e.reason.contains("maybe"), "{e}");
        let e = parse("Status: active\n22/tcp ALLOW IN\n").unwrap_err();
        assert!(e.reason.contains("From"), "{e}");
    }
}
