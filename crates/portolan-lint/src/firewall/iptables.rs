//! `iptables-save` / `ip6tables-save` output → [`Ruleset`].
//!
//! Tables (`*filter`), chain headers (`:INPUT DROP [0:0]`), `-A CHAIN …` rules and `COMMIT`;
//! comments and blank lines are skipped. Of the matches, those reach depends on are kept
//! (`-s`, `-d`, `-p`, `--dport(s)`, `--ctorigdstport`, `-i`, `--ctstate`/`--state`,
//! `--comment`). Other matches (`-m limit …`) are skipped, so a rule narrowed only by one of
//! them reads wider than it is (drift then names its line); negated matches (`! -s`) are an
//! error rather than a silent misreading. Anything that is not iptables-save syntax is an
//! error with its line.

use portolan_model::{IpNet, PortRange, Transport};

use super::{FwRule, ParseError, Ruleset, Verdict};

/// Splits a line into words, honouring double quotes (`--comment "a b"`).
fn words(line: &str, n: usize) -> Result<Vec<String>, ParseError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            '\\' if quoted => {
                if let Some(d) = chars.next() {
                    cur.push(d);
                }
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if quoted {
        return Err(err(n, "unterminated quote"));
    }
    if any {
        out.push(cur);
    }
    Ok(out)
}

fn err(line: usize, reason: impl Into<String>) -> ParseError {
    ParseError {
        line,
        reason: reason.into(),
    }
}

fn net(s: &str, n: usize) -> Result<IpNet, ParseError> {
    s.parse()
        .map_err(|e| err(n, format!("`{s}` is not an address or network: {e}")))
}

fn port_range(s: &str, n: usize) -> Result<PortRange, ParseError> {
    let p = |x: &str| {
        x.parse::<u16>()
            .map_err(|_| err(n, format!("`{s}` is not a port or port range")))
    };
    let (lo, hi) = s.split_once(':').unwrap_or((s, s));
    PortRange::new(p(lo)?, p(hi)?).map_err(|e| err(n, format!("`{s}`: {e}")))
}

fn verdict(s: &str) -> Verdict {
    match s {
        "ACCEPT" => Verdict::Accept,
        "DROP" | "REJECT" => Verdict::Drop,
        "RETURN" => Verdict::Return,
        other => Verdict::Jump(other.to_string()),
    }
}

/// Parses an `iptables-save` dump.
///
/// # Errors
/// The first line that is not iptables-save syntax, with the reason.
pub fn parse(text: &str) -> Result<Ruleset, ParseError> {
    let mut rs = Ruleset::default();
    let mut table: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(t) = line.strip_prefix('*') {
            if t.is_empty() {
                return Err(err(n, "`*` without a table name"));
            }
            table = Some(t.to_string());
            continue;
        }
        let Some(tab) = table.clone() else {
            return Err(err(
                n,
                "rule or chain outside a table (expected `*filter` first)",
            ));
        };
        if line == "COMMIT" {
            table = None;
            continue;
        }
        if let Some(h) = line.strip_prefix(':') {
            let mut it = h.split_whitespace();
            let (Some(chain), Some(policy)) = (it.next(), it.next()) else {
                return Err(err(
                    n,
                    "chain header needs a name and a policy (`:INPUT DROP [0:0]`)",
                ));
            };
            if policy != "-" {
                rs.policies.push((tab, chain.to_string(), verdict(policy)));
            }
            continue;
        }
        let w = words(line, n)?;
        if w.first().map(String::as_str) != Some("-A") {
            return Err(err(
                n,
                format!("expected `*TABLE`, `:CHAIN`, `-A CHAIN …` or `COMMIT`, found `{line}`"),
            ));
        }
        rs.rules.push(rule(&w, tab, n)?);
    }
    if table.is_some() {
        return Err(err(text.lines().count(), "table not closed by `COMMIT`"));
    }
    Ok(rs)
}

fn rule(w: &[String], table: String, n: usize) -> Result<FwRule, ParseError> {
    let chain = w.get(1).ok_or_else(|| err(n, "`-A` without a chain"))?;
    let mut r = FwRule {
        line: n,
        table,
        chain: chain.clone(),
        source: None,
        destination: None,
        transport: None,
        other_protocol: None,
        dports: None,
        orig_dport: None,
        in_iface: None,
        ct_states: Vec::new(),
        comment: None,
        verdict: Verdict::Return,
    };
    let mut verdict_seen = false;
    let mut k = 2;
    while k < w.len() {
        let opt = w[k].as_str();
        let val = |k: usize| {
            w.get(k + 1)
                .map(String::as_str)
                .ok_or_else(|| err(n, format!("`{opt}` needs a value")))
        };
        if opt == "!" {
            // `! -s X`: a negated match narrows the rule in a way the model does not keep
            return Err(err(
                n,
                format!(
                    "negated match `! {}` is not supported",
                    w.get(k + 1).map_or("", String::as_str)
                ),
            ));
        }
        match opt {
            "-s" | "--source" => r.source = Some(net(val(k)?, n)?),
            "-d" | "--destination" => r.destination = Some(net(val(k)?, n)?),
            "-i" | "--in-interface" => r.in_iface = Some(val(k)?.to_string()),
            "-p" | "--protocol" => {
                r.transport = match val(k)? {
                    "tcp" | "6" => Some(Transport::Tcp),
                    "udp" | "17" => Some(Transport::Udp),
                    "all" => None,
                    other => {
                        // icmp and friends: no port to reach
                        r.other_protocol = Some(other.to_string());
                        None
                    }
                };
            }
            "--dport" | "--destination-port" => {
                r.dports = Some(vec![port_range(val(k)?, n)?]);
            }
            "--dports" | "--destination-ports" => {
                r.dports = Some(
                    val(k)?
                        .split(',')
                        .map(|p| port_range(p, n))
                        .collect::<Result<_, _>>()?,
                );
            }
            "--ctorigdstport" => r.orig_dport = Some(port_range(val(k)?, n)?),
            "--ctstate" | "--state" => {
                r.ct_states = val(k)?.split(',').map(str::to_uppercase).collect();
            }
            "--comment" => r.comment = Some(val(k)?.to_string()),
            "-j" | "--jump" | "-g" | "--goto" => {
                r.verdict = verdict(val(k)?);
                verdict_seen = true;
            }
            o if o.starts_with('-') => {
                // another match or target option: skip its value(s)
                k += 1;
                while k < w.len() && !w[k].starts_with('-') && w[k] != "!" {
                    k += 1;
                }
                continue;
            }
            other => return Err(err(n, format!("unexpected word `{other}`"))),
        }
        k += 2;
    }
    if !verdict_seen {
        r.verdict = Verdict::Jump(String::new());
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/firewall")
            .join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn reads_a_real_dump_with_docker_user_and_nat() {
        let rs = parse(&fixture("opticserp-port-reference-dev.iptables-save")).unwrap();
        assert!(
            rs.policies
                .contains(&("filter".into(), "INPUT".into(), Verdict::Drop))
        );
        let ssh = rs
            .rules
            .iter()
            .find(|r| r.comment.as_deref() == Some("ssh.ssh"))
            .unwrap();
        assert_eq!(ssh.chain, "INPUT");
        assert_eq!(ssh.source, Some("10.8.0.0/24".parse().unwrap()));
        assert_eq!(ssh.transport, Some(Transport::Tcp));
        assert_eq!(ssh.dports, Some(vec![PortRange::single(22)]));
        assert_eq!(ssh.verdict, Verdict::Accept);
        let kkt: Vec<_> = rs
            .rules
            .iter()
            .filter(|r| r.chain == "DOCKER-USER" && r.orig_dport == Some(PortRange::single(8000)))
            .collect();
        assert_eq!(kkt.len(), 3);
        assert_eq!(kkt[2].verdict, Verdict::Drop);
        assert!(kkt[0].ct_states.contains(&"DNAT".to_string()));
        let dnat = rs.rules.iter().find(|r| r.table == "nat").unwrap();
        assert_eq!(dnat.dports.as_ref().map(Vec::len), Some(3));
        assert_eq!(dnat.verdict, Verdict::Jump("DNAT".into()));
    }

    #[test]
    fn reads_every_captured_dump() {
        for f in [
            "business-platform-network-server.iptables-save",
            "es-dashboards-port-guide-es-host.iptables-save",
            "opticserp-port-reference-db1.iptables-save",
            "opticserp-port-reference-dev.iptables-save",
        ] {
            let rs = parse(&fixture(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert!(rs.rules.iter().any(|r| r.verdict == Verdict::Accept), "{f}");
        }
    }

    #[test]
    fn errors_name_the_line_and_the_reason() {
        let e = parse("*filter\n:INPUT DROP [0:0]\n-A INPUT -s 10.0.0.300/8 -j ACCEPT\nCOMMIT\n")
            .unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.reason.contains("10.0.0.300/8"), "{e}");
        let e = parse("-A INPUT -j ACCEPT\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.reason.contains("outside a table"), "{e}");
        let e = parse("*filter\nhello\nCOMMIT\n").unwrap_err();
        assert_eq!((e.line, e.reason.contains("hello")), (2, true));
        let e = parse("*filter\n-A INPUT -p tcp --dport 99999 -j ACCEPT\nCOMMIT\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse("*filter\n-A INPUT -m comment --comment \"open -j ACCEPT\n").unwrap_err();
        assert!(e.reason.contains("quote"), "{e}");
        let e = parse("*filter\n:INPUT DROP [0:0]\n").unwrap_err();
        assert!(e.reason.contains("COMMIT"), "{e}");
        let e = parse("*filter\n-A INPUT ! -s 10.0.0.0/8 -j ACCEPT\nCOMMIT\n").unwrap_err();
        assert!(e.reason.contains("negated"), "{e}");
        let rs =
            parse("*filter\n-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 135 -j ACCEPT\nCOMMIT\n")
                .unwrap();
        assert_eq!(rs.rules[0].other_protocol.as_deref(), Some("ipv6-icmp"));
    }
}
