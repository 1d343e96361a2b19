//! The one iptables option grammar: the options of a rule (`-s`, `-p`, `--dport`, `-m …`,
//! `-j`, with `!` negation) after its command and chain (`-A INPUT`), as `iptables-save`
//! writes them and as people type them (`iptables -A INPUT -p tcp --dport 22 -j ACCEPT`).
//! The dump importer ([`super::parse`]) and the command parser
//! ([`crate::command::iptables`]) both read rules through [`rule`].
//!
//! Of the matches, those reach depends on are kept: `-s`, `-d`, `-p`, `--dport(s)`,
//! `--ctorigdstport`, `-i`, `--ctstate`/`--state`, `--comment`, with `!` negation for
//! addresses, ports and interfaces. Other matches (`-m limit …`, `-o`) are recorded in
//! [`FwRule::unmodelled`] and read as always matching. A target (`-j`, `-g`) ends the rule:
//! the words after it are the target's own options.

use portolan_model::words::{self, Syntax};
use portolan_model::{IpSet, PortRange, PortSet, Transport};

use crate::{FwRule, Iface, ParseError, Verdict, addr_set};

/// A word and its 1-based column.
pub(crate) type Word = (String, usize);

/// Splits a line into words, honouring double quotes (`--comment "a b"`).
pub(crate) fn words(line: &str, n: usize) -> Result<Vec<Word>, ParseError> {
    let split = words::split(line, Syntax::DoubleQuoted);
    if let Some(at) = split.unterminated {
        let col = line.get(..at).map_or(at, |b| b.chars().count()) + 1;
        return Err(ParseError::new(n, col, "unterminated quote"));
    }
    Ok(split
        .words()
        .into_iter()
        .map(|w| {
            let col = w.column(line);
            (w.text, col)
        })
        .collect())
}

fn port_range(s: &str, n: usize, col: usize) -> Result<PortRange, ParseError> {
    let bad = || ParseError::new(n, col, format!("`{s}` is not a port or port range"));
    let p = |x: &str| x.parse::<u16>().map_err(|_| bad());
    let (lo, hi) = s.split_once(':').unwrap_or((s, s));
    let lo = if lo.is_empty() { 0 } else { p(lo)? };
    let hi = if hi.is_empty() { u16::MAX } else { p(hi)? };
    PortRange::new(lo, hi).map_err(|e| ParseError::new(n, col, format!("`{s}`: {e}")))
}

fn ports(s: &str, n: usize, col: usize) -> Result<PortSet, ParseError> {
    let v = s
        .split(',')
        .map(|p| port_range(p, n, col))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PortSet::from_ranges(v))
}

fn all_ports() -> PortSet {
    PortSet::from_ranges([PortRange {
        lo: 0,
        hi: u16::MAX,
    }])
}

/// A rule read from its option words.
pub(crate) struct Options {
    /// The rule.
    pub rule: FwRule,
    /// The `-s` value as written, and whether it was negated (`! -s`).
    pub source_text: Option<(String, bool)>,
    /// The `-j`/`-g` target as written (`ACCEPT`, `LOG`, a chain).
    pub target: Option<String>,
}

/// Reads the options `w[start..]` of a rule at line `n` into a [`FwRule`]. `chains` are the
/// chains a `-j`/`-g` can continue in (any other target is a target without a verdict);
/// `v6` is set from the first address when the family is not known yet.
pub(crate) fn rule(
    w: &[Word],
    start: usize,
    n: usize,
    chains: &[String],
    v6: &mut Option<bool>,
) -> Result<Options, ParseError> {
    let mut r = FwRule::new(n);
    let mut source_text = None;
    let mut target = None;
    let mut k = start;
    let mut family = |set: &IpSet| {
        if v6.is_none() {
            *v6 = Some(set.ipv4().is_empty());
        }
    };
    while k < w.len() {
        let negated = w[k].0 == "!";
        if negated {
            k += 1;
        }
        let Some((opt, col)) = w.get(k) else {
            return Err(ParseError::new(n, w[k - 1].1, "`!` at the end of the rule"));
        };
        let opt = opt.as_str();
        let val = |k: usize| {
            w.get(k + 1)
                .map(|(s, c)| (s.as_str(), *c))
                .ok_or_else(|| ParseError::new(n, *col, format!("`{opt}` needs a value")))
        };
        match opt {
            "-s" | "--source" | "--src" | "-d" | "--destination" | "--dst" => {
                let (v, c) = val(k)?;
                let mut set = IpSet::empty();
                for part in v.split(',') {
                    set = set.union(&addr_set(part).map_err(|e| ParseError::new(n, c, e))?);
                }
                family(&set);
                if negated {
                    set = IpSet::everything().difference(&set);
                }
                if matches!(opt, "-s" | "--source" | "--src") {
                    source_text = Some((v.to_string(), negated));
                    r.restrict_source(&set);
                } else {
                    r.destination = Some(set);
                }
            }
            "-i" | "--in-interface" => {
                r.in_iface = Some(Iface {
                    names: vec![val(k)?.0.to_string()],
                    negated,
                });
            }
            "-p" | "--protocol" => {
                let (v, _) = val(k)?;
                if negated {
                    r.unmodelled.push(format!("! -p {v}"));
                } else {
                    match v.to_ascii_lowercase().as_str() {
                        "tcp" | "6" => r.transport = Some(Transport::Tcp),
                        "udp" | "17" => r.transport = Some(Transport::Udp),
                        "all" | "0" => {}
                        other => r.other_protocol = Some(other.to_string()),
                    }
                }
            }
            "--dport" | "--destination-port" | "--dports" | "--destination-ports" => {
                let (v, c) = val(k)?;
                let mut p = ports(v, n, c)?;
                if negated {
                    p = all_ports().difference(&p);
                }
                r.dports = Some(p);
            }
            "--ctorigdstport" => {
                let (v, c) = val(k)?;
                let mut p = ports(v, n, c)?;
                if negated {
                    p = all_ports().difference(&p);
                }
                r.orig_dports = Some(p);
            }
            "--ctstate" | "--state" => {
                let (v, _) = val(k)?;
                if negated {
                    r.unmodelled.push(format!("! {opt} {v}"));
                } else {
                    r.ct_states = v.split(',').map(str::to_uppercase).collect();
                }
            }
            "--comment" => r.comment = Some(val(k)?.0.to_string()),
            "-j" | "--jump" | "-g" | "--goto" => {
                let (v, _) = val(k)?;
                target = Some(v.to_string());
                r.verdict = match v {
                    "ACCEPT" => Verdict::Accept,
                    "DROP" | "REJECT" => Verdict::Drop,
                    "RETURN" => Verdict::Return,
                    c if chains.iter().any(|x| x == c) => {
                        if opt.starts_with("-g") || opt == "--goto" {
                            Verdict::Goto(c.to_string())
                        } else {
                            Verdict::Jump(c.to_string())
                        }
                    }
                    _ => Verdict::Continue,
                };
                // the target's own options follow; nothing after them matters
                break;
            }
            "-m" | "--match" => {
                // the module's own options follow and are read as options
            }
            o if o.starts_with('-') => {
                // another match option: keep it as unmodelled, skip its value(s)
                let mut text = if negated {
                    format!("! {o}")
                } else {
                    o.to_string()
                };
                k += 1;
                while k < w.len() && !w[k].0.starts_with('-') && w[k].0 != "!" {
                    text.push(' ');
                    text.push_str(&w[k].0);
                    k += 1;
                }
                if !matches!(o, "-o" | "--out-interface") || negated {
                    r.unmodelled.push(text);
                }
                continue;
            }
            other => {
                return Err(ParseError::new(
                    n,
                    *col,
                    format!("unexpected word `{other}`"),
                ));
            }
        }
        k += 2;
    }
    Ok(Options {
        rule: r,
        source_text,
        target,
    })
}
