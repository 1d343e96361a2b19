//! The nftables mapping: one rule statement (tokens) → [`FwRule`]. Of a rule's expressions
//! those reach depends on are kept (addresses, transports, destination ports, interfaces,
//! conntrack state and original destination port, comment, verdict); statements without a
//! verdict continue; anything else is kept in [`FwRule::unmodelled`]. Port names are the
//! service names of `portolan_model::knowledge::firewall`.

use portolan_model::knowledge::firewall::service_port;
use portolan_model::{IpSet, PortRange, PortSet, Transport};

use super::lexer::{T, Tok};
use super::parser::{Item, Sets, Value, value};
use crate::{FwRule, Iface, ParseError, Verdict, addr_set, all_v4, all_v6};

fn resolve<'a>(v: &'a Value, sets: &'a Sets) -> Result<&'a [Item], ParseError> {
    match &v.set {
        Some(s) => sets.get(&s.text).map(Vec::as_slice).ok_or_else(|| {
            ParseError::new(
                s.line,
                s.col,
                format!("set `@{}` is not defined in this table", s.text),
            )
        }),
        None => Ok(&v.items),
    }
}

fn addrs(v: &Value, sets: &Sets, family: &IpSet) -> Result<IpSet, ParseError> {
    let mut set = IpSet::empty();
    for i in resolve(v, sets)? {
        set = set.union(&addr_set(&i.text).map_err(|e| ParseError::new(i.line, i.col, e))?);
    }
    if v.cmp.is_some() {
        return Err(ParseError::new(
            v.items.first().map_or(1, |i| i.line),
            v.items.first().map_or(1, |i| i.col),
            "address comparisons (`<`, `>`) are not supported",
        ));
    }
    Ok(if v.negated {
        family.difference(&set)
    } else {
        set.intersection(family)
    })
}

fn port_number(s: &str) -> Option<u16> {
    s.parse().ok().or_else(|| service_port(s))
}

fn port_set(v: &Value, sets: &Sets) -> Result<PortSet, ParseError> {
    let mut ranges = Vec::new();
    for i in resolve(v, sets)? {
        let bad = || {
            ParseError::new(
                i.line,
                i.col,
                format!("`{}` is not a port or port range", i.text),
            )
        };
        let (a, b) = i.text.split_once('-').unwrap_or((&i.text, &i.text));
        let (lo, hi) = (
            port_number(a).ok_or_else(bad)?,
            port_number(b).ok_or_else(bad)?,
        );
        let (lo, hi) = match v.cmp.as_deref() {
            Some("<" | "lt") if lo > 0 => (0, lo - 1),
            Some("<=" | "le") => (0, lo),
            Some(">" | "gt") if hi < u16::MAX => (hi + 1, u16::MAX),
            Some(">=" | "ge") => (hi, u16::MAX),
            Some(_) => continue,
            None => (lo, hi),
        };
        ranges.push(
            PortRange::new(lo, hi).map_err(|e| ParseError::new(i.line, i.col, e.to_string()))?,
        );
    }
    let set = PortSet::from_ranges(ranges);
    Ok(if v.negated {
        PortSet::from_ranges([PortRange {
            lo: 0,
            hi: u16::MAX,
        }])
        .difference(&set)
    } else {
        set
    })
}

fn texts(v: &Value, sets: &Sets) -> Result<Vec<String>, ParseError> {
    Ok(resolve(v, sets)?.iter().map(|i| i.text.clone()).collect())
}

const HEADS: &[&str] = &[
    "ip",
    "ip6",
    "tcp",
    "udp",
    "th",
    "sctp",
    "udplite",
    "meta",
    "ct",
    "iif",
    "iifname",
    "oif",
    "oifname",
    "icmp",
    "icmpv6",
    "icmpx",
    "counter",
    "log",
    "limit",
    "comment",
    "accept",
    "drop",
    "reject",
    "return",
    "jump",
    "goto",
    "continue",
    "queue",
    "dnat",
    "snat",
    "masquerade",
    "redirect",
    "notrack",
    "fib",
    "l4proto",
    "nfproto",
];

fn is_head(t: Option<&Tok>) -> bool {
    matches!(t, Some(Tok { t: T::Word(w), .. }) if HEADS.contains(&w.as_str()))
}

fn word_at(st: &[Tok], k: usize) -> Option<&str> {
    match st.get(k) {
        Some(Tok { t: T::Word(w), .. }) => Some(w.as_str()),
        _ => None,
    }
}

fn text_of(st: &[Tok], from: usize, to: usize) -> String {
    st[from..to.min(st.len())]
        .iter()
        .map(|t| match &t.t {
            T::Word(w) => w.clone(),
            T::Str(s) => format!("\"{s}\""),
            T::Open => "{".into(),
            T::Close => "}".into(),
            T::Comma => ",".into(),
            T::Semi => ";".into(),
            T::Newline => String::new(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn transport_of(items: &[String]) -> (Option<Transport>, Option<String>) {
    let mut tcp = false;
    let mut udp = false;
    let mut other = None;
    for i in items {
        match i.as_str() {
            "tcp" | "6" => tcp = true,
            "udp" | "17" => udp = true,
            o => other = Some(o.to_string()),
        }
    }
    match (tcp, udp) {
        (true, false) => (Some(Transport::Tcp), None),
        (false, true) => (Some(Transport::Udp), None),
        (true, true) => (None, None),
        (false, false) => (None, other),
    }
}

pub(super) fn rule(st: &[Tok], sets: &Sets) -> Result<FwRule, ParseError> {
    let line = st.first().map_or(0, |t| t.line);
    let mut r = FwRule::new(line);
    let mut k = 0;
    while k < st.len() {
        let t = &st[k];
        let w = match &t.t {
            T::Word(w) => w.as_str(),
            _ => {
                return Err(ParseError::new(
                    t.line,
                    t.col,
                    "expected an expression or a verdict",
                ));
            }
        };
        let start = k;
        k += 1;
        match w {
            "ip" | "ip6" => {
                let fam = if w == "ip" { all_v4() } else { all_v6() };
                let field = word_at(st, k).unwrap_or_default();
                k += 1;
                let (v, nk) = value(st, k)?;
                k = nk;
                match field {
                    "saddr" => {
                        let s = addrs(&v, sets, &fam)?;
                        r.restrict_source(&s);
                    }
                    "daddr" => r.destination = Some(addrs(&v, sets, &fam)?),
                    "protocol" | "nexthdr" if !v.negated => {
                        r.restrict_source(&fam);
                        let (tr, other) = transport_of(&texts(&v, sets)?);
                        r.transport = tr;
                        r.other_protocol = other;
                    }
                    _ => {
                        r.restrict_source(&fam);
                        r.unmodelled.push(text_of(st, start, k));
                    }
                }
            }
            "tcp" | "udp" | "th" | "sctp" | "udplite" => {
                match w {
                    "tcp" => r.transport = Some(Transport::Tcp),
                    "udp" => r.transport = Some(Transport::Udp),
                    "th" => {}
                    o => r.other_protocol = Some(o.to_string()),
                }
                let field = word_at(st, k).unwrap_or_default();
                if field == "dport" {
                    let (v, nk) = value(st, k + 1)?;
                    k = nk;
                    r.dports = Some(port_set(&v, sets)?);
                } else {
                    k += 1;
                    while k < st.len() && !is_head(st.get(k)) {
                        k += 1;
                    }
                    r.unmodelled.push(text_of(st, start, k));
                }
            }
            "meta" | "iif" | "iifname" | "oif" | "oifname" | "l4proto" | "nfproto" => {
                let key = if w == "meta" {
                    k += 1;
                    word_at(st, k - 1).unwrap_or_default()
                } else {
                    w
                };
                let (v, nk) = value(st, k)?;
                k = nk;
                match key {
                    "l4proto" if !v.negated => {
                        let (tr, other) = transport_of(&texts(&v, sets)?);
                        r.transport = tr;
                        r.other_protocol = other;
                    }
                    "nfproto" => {
                        let mut fam = IpSet::empty();
                        for f in texts(&v, sets)? {
                            match f.as_str() {
                                "ipv4" => fam = fam.union(&all_v4()),
                                "ipv6" => fam = fam.union(&all_v6()),
                                _ => {}
                            }
                        }
                        if v.negated {
                            fam = IpSet::everything().difference(&fam);
                        }
                        r.restrict_source(&fam);
                    }
                    "iif" | "iifname" => {
                        r.in_iface = Some(Iface {
                            names: texts(&v, sets)?,
                            negated: v.negated,
                        });
                    }
                    "oif" | "oifname" => {}
                    _ => r.unmodelled.push(text_of(st, start, k)),
                }
            }
            "ct" => {
                let key = word_at(st, k).unwrap_or_default();
                k += 1;
                if matches!(key, "original" | "reply") {
                    let mut field = word_at(st, k).unwrap_or_default();
                    k += 1;
                    if matches!(field, "ip" | "ip6") {
                        field = word_at(st, k).unwrap_or_default();
                        k += 1;
                    }
                    let (v, nk) = value(st, k)?;
                    k = nk;
                    if key == "original" && field == "proto-dst" {
                        r.orig_dports = Some(port_set(&v, sets)?);
                    } else {
                        r.unmodelled.push(text_of(st, start, k));
                    }
                    continue;
                }
                let (v, nk) = value(st, k)?;
                k = nk;
                match key {
                    "state" if !v.negated => {
                        r.ct_states = texts(&v, sets)?.iter().map(|s| s.to_uppercase()).collect();
                    }
                    "status" if !v.negated && texts(&v, sets)?.iter().any(|s| s == "dnat") => {
                        r.ct_states.push("DNAT".into());
                    }
                    _ => r.unmodelled.push(text_of(st, start, k)),
                }
            }
            "icmp" | "icmpv6" | "icmpx" | "igmp" => {
                r.other_protocol = Some(w.to_string());
                if !is_head(st.get(k)) && k < st.len() {
                    k += 1;
                    let (_, nk) = value(st, k)?;
                    k = nk;
                }
            }
            "counter" | "log" => {
                while k < st.len() && !is_head(st.get(k)) {
                    k += 1;
                }
            }
            "comment" => {
                match st.get(k) {
                    Some(Tok {
                        t: T::Str(s) | T::Word(s),
                        ..
                    }) => r.comment = Some(s.clone()),
                    _ => return Err(ParseError::new(t.line, t.col, "`comment` needs a string")),
                }
                k += 1;
            }
            "accept" => r.verdict = Verdict::Accept,
            "drop" => r.verdict = Verdict::Drop,
            "reject" => {
                r.verdict = Verdict::Drop;
                while k < st.len() && word_at(st, k) != Some("comment") {
                    k += 1;
                }
            }
            "return" => r.verdict = Verdict::Return,
            "continue" => r.verdict = Verdict::Continue,
            "jump" | "goto" => {
                let Some(target) = word_at(st, k) else {
                    return Err(ParseError::new(
                        t.line,
                        t.col,
                        format!("`{w}` needs a chain name"),
                    ));
                };
                r.verdict = if w == "jump" {
                    Verdict::Jump(target.to_string())
                } else {
                    Verdict::Goto(target.to_string())
                };
                k += 1;
            }
            "dnat" | "snat" | "masquerade" | "redirect" | "notrack" | "queue" => {
                while k < st.len() && word_at(st, k) != Some("comment") {
                    k += 1;
                }
                if w == "queue" {
                    r.unmodelled.push("queue".into());
                }
            }
            _ => {
                while k < st.len() && !is_head(st.get(k)) {
                    k += 1;
                }
                r.unmodelled.push(text_of(st, start, k));
            }
        }
    }
    Ok(r)
}
