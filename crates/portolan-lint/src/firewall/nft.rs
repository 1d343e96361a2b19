//! `nft list ruleset` output → [`Ruleset`].
//!
//! Tables (`table inet NAME { … }`; `ip` tables see only IPv4, `ip6` only IPv6, `inet` both;
//! `arp`, `bridge` and `netdev` tables are read but do not filter), named sets with their
//! `elements` (addresses, networks, address ranges, ports, port ranges), and chains: the base
//! chain header (`type filter hook input priority filter; policy drop;`) and one rule per
//! line. Of a rule's expressions those reach depends on are kept: `ip saddr`/`ip6 saddr`
//! (and `daddr`) with `!=`, named (`@set`) and anonymous (`{ a, b }`) sets; `tcp`/`udp`/`th
//! dport` with single ports, ranges, sets and comparisons; `meta l4proto`, `ip protocol`,
//! `meta nfproto`; `iif`/`iifname`; `ct state`, `ct status dnat` and `ct original
//! proto-dst` (how a Docker-published port is matched after its DNAT); `comment`; and the
//! verdicts `accept`, `drop`, `reject`, `jump`, `goto`, `return`, `continue`. Statements
//! without a verdict (`counter`, `log`, `dnat`, `meta mark set`, …) continue to the next rule.
//! Anything else (`limit`, `tcp flags`, `fib`, …) is kept in [`FwRule::unmodelled`] and read
//! as matching. Only `type filter` chains on the `input` and `forward` hooks are base chains
//! for the evaluator.

use std::collections::HashMap;

use portolan_model::{IpSet, PortRange, PortSet, Transport};

use super::{Chain, FwRule, Hook, Iface, ParseError, Ruleset, Verdict, addr_set, all_v4, all_v6};

#[derive(Clone, Debug, PartialEq, Eq)]
enum T {
    Word(String),
    Str(String),
    Open,
    Close,
    Comma,
    Semi,
    Newline,
}

#[derive(Clone, Debug)]
struct Tok {
    t: T,
    line: usize,
    col: usize,
}

fn lex(text: &str) -> Result<Vec<Tok>, ParseError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let chars: Vec<char> = raw.chars().collect();
        let mut k = 0;
        while k < chars.len() {
            let c = chars[k];
            let col = k + 1;
            let single = match c {
                '{' => Some(T::Open),
                '}' => Some(T::Close),
                ',' => Some(T::Comma),
                ';' => Some(T::Semi),
                _ => None,
            };
            if let Some(t) = single {
                out.push(Tok { t, line, col });
                k += 1;
            } else if c.is_whitespace() {
                k += 1;
            } else if c == '#' {
                break;
            } else if c == '"' {
                let start = k;
                k += 1;
                let mut s = String::new();
                while k < chars.len() && chars[k] != '"' {
                    if chars[k] == '\\' && k + 1 < chars.len() {
                        k += 1;
                    }
                    s.push(chars[k]);
                    k += 1;
                }
                if k >= chars.len() {
                    return Err(ParseError::new(line, start + 1, "unterminated string"));
                }
                k += 1;
                out.push(Tok {
                    t: T::Str(s),
                    line,
                    col,
                });
            } else {
                let mut s = String::new();
                while k < chars.len()
                    && !chars[k].is_whitespace()
                    && !matches!(chars[k], '{' | '}' | ',' | ';' | '"' | '#')
                {
                    s.push(chars[k]);
                    k += 1;
                }
                out.push(Tok {
                    t: T::Word(s),
                    line,
                    col,
                });
            }
        }
        out.push(Tok {
            t: T::Newline,
            line,
            col: chars.len() + 1,
        });
    }
    Ok(out)
}

/// An element of a set or a value: text and position.
#[derive(Clone, Debug)]
struct Item {
    text: String,
    line: usize,
    col: usize,
}

struct P {
    toks: Vec<Tok>,
    pos: usize,
    end_line: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn eof_err(&self, what: &str) -> ParseError {
        ParseError::new(
            self.end_line.max(1),
            1,
            format!("unexpected end of input: {what}"),
        )
    }

    fn word(&mut self, what: &str) -> Result<(String, usize, usize), ParseError> {
        match self.next() {
            Some(Tok {
                t: T::Word(w) | T::Str(w),
                line,
                col,
            }) => Ok((w, line, col)),
            Some(t) => Err(ParseError::new(t.line, t.col, format!("expected {what}"))),
            None => Err(self.eof_err(&format!("expected {what}"))),
        }
    }

    fn expect_open(&mut self) -> Result<(), ParseError> {
        match self.next() {
            Some(Tok { t: T::Open, .. }) => Ok(()),
            Some(t) => Err(ParseError::new(t.line, t.col, "expected `{`")),
            None => Err(self.eof_err("expected `{`")),
        }
    }

    fn skip_blank(&mut self) {
        while matches!(
            self.peek(),
            Some(Tok {
                t: T::Newline | T::Semi,
                ..
            })
        ) {
            self.pos += 1;
        }
    }

    /// Skips a balanced `{ … }` whose `{` was just read.
    fn skip_block(&mut self, open: (usize, usize)) -> Result<(), ParseError> {
        let mut depth = 1;
        while depth > 0 {
            match self.next() {
                Some(Tok { t: T::Open, .. }) => depth += 1,
                Some(Tok { t: T::Close, .. }) => depth -= 1,
                Some(_) => {}
                None => {
                    return Err(ParseError::new(open.0, open.1, "`{` is never closed"));
                }
            }
        }
        Ok(())
    }

    /// Tokens of one statement: up to a newline or `;` outside braces, or the chain's `}`
    /// (not consumed).
    fn statement(&mut self) -> Result<Vec<Tok>, ParseError> {
        let mut out = Vec::new();
        let mut depth = 0usize;
        let mut open = (0, 0);
        loop {
            let Some(t) = self.peek().cloned() else {
                if depth > 0 {
                    return Err(ParseError::new(open.0, open.1, "`{` is never closed"));
                }
                return Ok(out);
            };
            match t.t {
                T::Newline | T::Semi if depth == 0 => {
                    self.pos += 1;
                    return Ok(out);
                }
                T::Newline => {
                    self.pos += 1;
                    continue;
                }
                T::Close if depth == 0 => return Ok(out),
                T::Close => depth -= 1,
                T::Open => {
                    if depth == 0 {
                        open = (t.line, t.col);
                    }
                    depth += 1;
                }
                _ => {}
            }
            self.pos += 1;
            out.push(t);
        }
    }
}

/// Parses `nft list ruleset` output.
///
/// # Errors
/// The first place that is not `nft list ruleset` syntax, or a rule that refers to an
/// undefined set or holds a malformed address or port.
pub fn parse(text: &str) -> Result<Ruleset, ParseError> {
    let toks = lex(text)?;
    let end_line = text.lines().count();
    let mut p = P {
        toks,
        pos: 0,
        end_line,
    };
    let mut rs = Ruleset {
        covered: IpSet::everything(),
        ..Ruleset::default()
    };
    let mut group = 0;
    loop {
        p.skip_blank();
        let Some(t) = p.next() else { break };
        match &t.t {
            T::Word(w) if w == "table" => {}
            T::Word(w) if matches!(w.as_str(), "flush" | "delete" | "add" | "destroy") => {
                // `nft -f` preambles (`flush ruleset`) are not part of a listing, but harmless
                while !matches!(
                    p.peek(),
                    None | Some(Tok {
                        t: T::Newline | T::Semi,
                        ..
                    })
                ) {
                    p.pos += 1;
                }
                continue;
            }
            _ => {
                return Err(ParseError::new(t.line, t.col, "expected `table`"));
            }
        }
        let (a, al, ac) = p.word("a table family or name")?;
        let (family, name) = if matches!(p.peek(), Some(Tok { t: T::Open, .. })) {
            ("ip".to_string(), a)
        } else {
            let (b, _, _) = p.word("a table name")?;
            if !matches!(
                a.as_str(),
                "ip" | "ip6" | "inet" | "arp" | "bridge" | "netdev"
            ) {
                return Err(ParseError::new(
                    al,
                    ac,
                    format!("`{a}` is not a table family (ip, ip6, inet, arp, bridge, netdev)"),
                ));
            }
            (a, b)
        };
        p.expect_open()?;
        table(&mut p, &mut rs, &family, &name, group)?;
        group += 1;
    }
    Ok(rs)
}

fn table(
    p: &mut P,
    rs: &mut Ruleset,
    family: &str,
    name: &str,
    group: usize,
) -> Result<(), ParseError> {
    let scope = match family {
        "ip" => all_v4(),
        "ip6" => all_v6(),
        _ => IpSet::everything(),
    };
    let filters = matches!(family, "ip" | "ip6" | "inet");
    let mut sets: HashMap<String, Vec<Item>> = HashMap::new();
    loop {
        p.skip_blank();
        let Some(t) = p.next() else {
            return Err(p.eof_err(&format!("table `{name}` is not closed by `}}`")));
        };
        match t.t {
            T::Close => return Ok(()),
            T::Word(ref w) if w == "set" || w == "map" => {
                let (set, _, _) = p.word("a set name")?;
                p.expect_open()?;
                let elems = set_body(p, (t.line, t.col))?;
                sets.insert(set, elems);
            }
            T::Word(ref w) if w == "chain" => {
                let (chain, _, _) = p.word("a chain name")?;
                p.expect_open()?;
                let c = chain_body(
                    p, &sets, family, name, &chain, group, t.line, &scope, filters,
                )?;
                rs.chains.push(c);
            }
            _ => {
                // flags, flowtables, counters, quotas, ct helpers, …: skip
                loop {
                    match p.next() {
                        None => {
                            return Err(p.eof_err(&format!("table `{name}` is not closed by `}}`")));
                        }
                        Some(Tok {
                            t: T::Newline | T::Semi,
                            ..
                        }) => break,
                        Some(Tok {
                            t: T::Open,
                            line,
                            col,
                        }) => {
                            p.skip_block((line, col))?;
                            break;
                        }
                        Some(Tok { t: T::Close, .. }) => {
                            p.pos -= 1;
                            break;
                        }
                        Some(_) => {}
                    }
                }
            }
        }
    }
}

fn set_body(p: &mut P, open: (usize, usize)) -> Result<Vec<Item>, ParseError> {
    let mut elems = Vec::new();
    loop {
        p.skip_blank();
        let Some(t) = p.next() else {
            return Err(ParseError::new(open.0, open.1, "set is not closed by `}`"));
        };
        match t.t {
            T::Close => return Ok(elems),
            T::Word(ref w) if w == "elements" => {
                match p.next() {
                    Some(Tok { t: T::Word(eq), .. }) if eq == "=" => {}
                    Some(t) => {
                        return Err(ParseError::new(
                            t.line,
                            t.col,
                            "expected `=` after `elements`",
                        ));
                    }
                    None => return Err(p.eof_err("expected `=` after `elements`")),
                }
                let st = p.statement()?;
                let (items, rest) = value(&st, 0)?;
                if let Some(t) = st.get(rest) {
                    return Err(ParseError::new(
                        t.line,
                        t.col,
                        "unexpected token after the elements",
                    ));
                }
                elems.extend(items.items);
            }
            T::Open => return Err(ParseError::new(t.line, t.col, "unexpected `{`")),
            _ => {
                p.pos -= 1;
                let _ = p.statement()?;
            }
        }
    }
}

/// A parsed value: items, or a reference to a named set, with an operator.
struct Value {
    items: Vec<Item>,
    set: Option<Item>,
    negated: bool,
    cmp: Option<String>,
}

/// Reads `[op] value` at `k`; returns the value and the index after it.
fn value(st: &[Tok], mut k: usize) -> Result<(Value, usize), ParseError> {
    let mut v = Value {
        items: Vec::new(),
        set: None,
        negated: false,
        cmp: None,
    };
    if let Some(Tok { t: T::Word(w), .. }) = st.get(k) {
        match w.as_str() {
            "!=" | "ne" => {
                v.negated = true;
                k += 1;
            }
            "==" | "eq" => k += 1,
            "<" | ">" | "<=" | ">=" | "lt" | "gt" | "le" | "ge" => {
                v.cmp = Some(w.clone());
                k += 1;
            }
            _ => {}
        }
    }
    let Some(t) = st.get(k) else {
        let (line, col) = st.last().map_or((1, 1), |t| (t.line, t.col));
        return Err(ParseError::new(line, col, "expected a value"));
    };
    match &t.t {
        T::Open => {
            k += 1;
            let mut cur: Option<Item> = None;
            loop {
                let Some(t) = st.get(k) else {
                    return Err(ParseError::new(t.line, t.col, "`{` is never closed"));
                };
                k += 1;
                match &t.t {
                    T::Close => break,
                    T::Comma => {
                        if let Some(i) = cur.take() {
                            v.items.push(i);
                        }
                    }
                    T::Word(w) | T::Str(w) => match &mut cur {
                        // annotations after an element (`timeout 1h`, `counter packets 0`)
                        Some(i) if w == "." => i.text.push_str(" ."),
                        Some(i) if i.text.ends_with(" .") => {
                            i.text.push(' ');
                            i.text.push_str(w);
                        }
                        Some(_) => {}
                        None => {
                            cur = Some(Item {
                                text: w.clone(),
                                line: t.line,
                                col: t.col,
                            });
                        }
                    },
                    T::Open => return Err(ParseError::new(t.line, t.col, "nested `{` in a set")),
                    T::Newline | T::Semi => {}
                }
            }
            if let Some(i) = cur.take() {
                v.items.push(i);
            }
        }
        T::Word(w) if w.starts_with('@') => {
            v.set = Some(Item {
                text: w[1..].to_string(),
                line: t.line,
                col: t.col,
            });
            k += 1;
        }
        T::Word(w) | T::Str(w) => {
            v.items.push(Item {
                text: w.clone(),
                line: t.line,
                col: t.col,
            });
            k += 1;
            // flag lists: `established,related`
            while let (Some(Tok { t: T::Comma, .. }), Some(n)) = (st.get(k), st.get(k + 1)) {
                let (T::Word(w) | T::Str(w)) = &n.t else {
                    break;
                };
                v.items.push(Item {
                    text: w.clone(),
                    line: n.line,
                    col: n.col,
                });
                k += 2;
            }
        }
        _ => return Err(ParseError::new(t.line, t.col, "expected a value")),
    }
    Ok((v, k))
}

fn resolve<'a>(
    v: &'a Value,
    sets: &'a HashMap<String, Vec<Item>>,
) -> Result<&'a [Item], ParseError> {
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

fn addrs(
    v: &Value,
    sets: &HashMap<String, Vec<Item>>,
    family: &IpSet,
) -> Result<IpSet, ParseError> {
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
    s.parse().ok().or(match s {
        "ssh" => Some(22),
        "smtp" => Some(25),
        "domain" => Some(53),
        "http" => Some(80),
        "ntp" => Some(123),
        "https" => Some(443),
        _ => None,
    })
}

fn port_set(v: &Value, sets: &HashMap<String, Vec<Item>>) -> Result<PortSet, ParseError> {
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

fn texts(v: &Value, sets: &HashMap<String, Vec<Item>>) -> Result<Vec<String>, ParseError> {
    Ok(resolve(v, sets)?.iter().map(|i| i.text.clone()).collect())
}

/// Named base priorities (`priority filter - 1`).
fn priority(words: &[String]) -> i64 {
    let mut it = words.iter();
    let base = match it.next().map(String::as_str) {
        Some("raw") => -300,
        Some("mangle") => -150,
        Some("dstnat") => -100,
        Some("filter") => 0,
        Some("security") => 50,
        Some("srcnat") => 100,
        Some(n) => n.parse().unwrap_or(0),
        None => 0,
    };
    match (
        it.next().map(String::as_str),
        it.next().and_then(|n| n.parse::<i64>().ok()),
    ) {
        (Some("+"), Some(n)) => base + n,
        (Some("-"), Some(n)) => base - n,
        _ => base,
    }
}

#[allow(clippy::too_many_arguments)]
fn chain_body(
    p: &mut P,
    sets: &HashMap<String, Vec<Item>>,
    family: &str,
    table: &str,
    name: &str,
    group: usize,
    line: usize,
    scope: &IpSet,
    filters: bool,
) -> Result<Chain, ParseError> {
    let mut c = Chain {
        table: format!("{family} {table}"),
        group,
        name: name.to_string(),
        line,
        hook: None,
        priority: 0,
        policy: None,
        scope: scope.clone(),
        rules: Vec::new(),
    };
    loop {
        p.skip_blank();
        match p.peek() {
            None => return Err(p.eof_err(&format!("chain `{name}` is not closed by `}}`"))),
            Some(Tok { t: T::Close, .. }) => {
                p.pos += 1;
                return Ok(c);
            }
            _ => {}
        }
        let st = p.statement()?;
        let Some(first) = st.first() else { continue };
        let words: Vec<String> = st
            .iter()
            .filter_map(|t| match &t.t {
                T::Word(w) | T::Str(w) => Some(w.clone()),
                _ => None,
            })
            .collect();
        match words.first().map(String::as_str) {
            Some("type") => {
                let kind = words.get(1).map(String::as_str);
                let hook = words
                    .iter()
                    .position(|w| w == "hook")
                    .and_then(|i| words.get(i + 1))
                    .map(String::as_str);
                if let Some(i) = words.iter().position(|w| w == "priority") {
                    c.priority = priority(&words[i + 1..]);
                }
                if filters && kind == Some("filter") {
                    c.hook = match hook {
                        Some("input") => Some(Hook::Input),
                        Some("forward") => Some(Hook::Forward),
                        _ => None,
                    };
                }
                // a base chain accepts by default
                c.policy.get_or_insert((Verdict::Accept, first.line));
            }
            Some("policy") => {
                let v = match words.get(1).map(String::as_str) {
                    Some("accept") => Verdict::Accept,
                    Some("drop") => Verdict::Drop,
                    _ => {
                        return Err(ParseError::new(
                            first.line,
                            first.col,
                            "`policy` must be `accept` or `drop`",
                        ));
                    }
                };
                c.policy = Some((v, first.line));
            }
            Some("comment" | "devices" | "device") if st.len() <= 4 => {}
            _ => c.rules.push(rule(&st, sets)?),
        }
    }
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

fn rule(st: &[Tok], sets: &HashMap<String, Vec<Item>>) -> Result<FwRule, ParseError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use portolan_model::IpNet;

    fn fixture(name: &str) -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/firewall")
            .join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    fn set(nets: &[&str]) -> IpSet {
        let v: Vec<IpNet> = nets.iter().map(|n| n.parse().unwrap()).collect();
        IpSet::from_nets(&v)
    }

    fn ports(p: &[u16]) -> PortSet {
        PortSet::from_ranges(p.iter().map(|p| PortRange::single(*p)))
    }

    #[test]
    fn reads_the_captured_docker_dump() {
        let rs = parse(&fixture("opticserp-port-reference-dev.nft")).unwrap();
        assert_eq!(rs.chains.len(), 3);
        let pre = &rs.chains[0];
        assert_eq!(
            (pre.table.as_str(), pre.hook, pre.priority),
            ("ip dockersim", None, -100)
        );
        assert_eq!(pre.scope, all_v4());
        let input = &rs.chains[1];
        assert_eq!(input.hook, Some(Hook::Input));
        assert_eq!(input.policy, Some((Verdict::Drop, 15)));
        assert!(input.rules[0].in_iface.as_ref().unwrap().loopback_only());
        assert_eq!(input.rules[1].ct_states, ["ESTABLISHED", "RELATED"]);
        assert_eq!(input.rules[3].other_protocol.as_deref(), Some("icmpv6"));
        let ssh = &input.rules[4];
        assert_eq!(ssh.line, 20);
        assert_eq!(ssh.source, Some(set(&["10.8.0.0/24"])));
        assert_eq!(
            (ssh.transport, ssh.dports.clone()),
            (Some(Transport::Tcp), Some(ports(&[22])))
        );
        assert_eq!(ssh.comment.as_deref(), Some("ssh.ssh"));
        let fwd = &rs.chains[2];
        assert_eq!((fwd.hook, fwd.priority), (Some(Hook::Forward), -1));
        let kkt = &fwd.rules[1];
        assert_eq!(
            kkt.source,
            Some(set(&["192.168.1.0/24", "192.168.10.0/24"]))
        );
        assert_eq!(kkt.orig_dports, Some(ports(&[8000])));
        assert_eq!(kkt.ct_states, ["DNAT"]);
        assert_eq!(kkt.transport, Some(Transport::Tcp));
        assert_eq!(fwd.rules[3].source, Some(all_v4()));
        assert_eq!(fwd.rules[2].verdict, Verdict::Drop);
    }

    #[test]
    fn reads_every_captured_dump() {
        for f in [
            "business-platform-network-server.nft",
            "es-dashboards-port-guide-es-host.nft",
            "opticserp-port-reference-db1.nft",
            "opticserp-port-reference-dev.nft",
        ] {
            let rs = parse(&fixture(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert!(rs.rules().any(|(_, r)| r.verdict == Verdict::Accept), "{f}");
            assert!(
                rs.rules().all(|(_, r)| r.unmodelled.is_empty()),
                "{f}: {rs:?}"
            );
        }
    }

    #[test]
    fn reads_sets_ranges_negation_jumps_and_unknown_expressions() {
        let text = r#"table ip filter {
	set ports {
		type inet_service
		flags interval
		elements = { 22, 8000-8010 }
	}
	chain INPUT {
		type filter hook input priority filter; policy accept;
		iifname != "lo" ip saddr != { 10.0.0.0/8, 192.168.1.1-192.168.1.3 } tcp dport @ports counter packets 3 bytes 180 drop
		th dport >= 1024 meta l4proto { tcp, udp } limit rate 10/second accept comment "hi"
		tcp flags syn / fin,syn,rst,ack jump extra # handle 4
		reject with icmp port-unreachable
	}
	chain extra {
		ct state new log prefix "new: " level info return
		goto other
	}
}
"#;
        let rs = parse(text).unwrap();
        let input = &rs.chains[0];
        let r0 = &input.rules[0];
        assert!(r0.in_iface.as_ref().unwrap().all_remote());
        let src = r0.source.as_ref().unwrap();
        assert!(!src.contains("10.1.1.1".parse().unwrap()));
        assert!(!src.contains("192.168.1.2".parse().unwrap()));
        assert!(src.contains("192.168.1.4".parse().unwrap()));
        assert!(!src.contains("::1".parse().unwrap()));
        let dp = r0.dports.as_ref().unwrap();
        assert!(dp.contains(22) && dp.contains(8005) && !dp.contains(8011));
        assert_eq!(r0.verdict, Verdict::Drop);
        let r1 = &input.rules[1];
        assert_eq!(r1.transport, None);
        assert!(
            r1.dports.as_ref().unwrap().contains(1024)
                && !r1.dports.as_ref().unwrap().contains(1023)
        );
        assert_eq!(r1.unmodelled, ["limit rate 10/second"]);
        assert_eq!(r1.comment.as_deref(), Some("hi"));
        assert_eq!(input.rules[2].verdict, Verdict::Jump("extra".into()));
        assert_eq!(input.rules[3].verdict, Verdict::Drop);
        assert_eq!(rs.chains[1].rules[0].ct_states, ["NEW"]);
        assert_eq!(rs.chains[1].rules[0].verdict, Verdict::Return);
        assert_eq!(rs.chains[1].rules[1].verdict, Verdict::Goto("other".into()));
    }

    #[test]
    fn errors_name_the_line_column_and_reason() {
        let e = parse("table inet t {\n\tchain c {\n\t\tip saddr 10.0.0.300 accept\n\t}\n}\n")
            .unwrap_err();
        assert_eq!((e.line, e.column), (3, 12));
        assert!(e.reason.contains("10.0.0.300"), "{e}");
        let e =
            parse("table inet t {\n\tchain c {\n\t\tip saddr @nope accept\n\t}\n}\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 12));
        assert!(e.reason.contains("@nope"), "{e}");
        let e = parse("table inet t {\n\tchain c {\n\t\ttcp dport 70000 accept\n").unwrap_err();
        assert_eq!(e.line, 3);
        let e = parse("table inet t {\n\tchain c {\n\t\taccept\n").unwrap_err();
        assert!(e.reason.contains("not closed"), "{e}");
        let e = parse("hello\n").unwrap_err();
        assert_eq!(
            (e.line, e.column, e.reason.as_str()),
            (1, 1, "expected `table`")
        );
        let e = parse("table inet t {\n\tchain c {\n\t\tcomment \"open\n").unwrap_err();
        assert!(e.reason.contains("unterminated"), "{e}");
        let e = parse("table foo t {\n}\n").unwrap_err();
        assert!(e.reason.contains("family"), "{e}");
    }
}
