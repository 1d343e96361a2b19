//! The nftables parser: tokens → tables, named sets, chains (base chain headers with hook,
//! priority and policy) and rule statements. What a statement *means* is the mapping's
//! ([`super::mapping`]); this module knows the block structure and how values are written
//! (`!= { a, b }`, `@set`, `>= 1024`, `established,related`).

use std::collections::HashMap;

use portolan_model::IpSet;

use super::lexer::{T, Tok, lex};
use super::mapping::rule;
use crate::{Chain, Hook, ParseError, Ruleset, Verdict, all_v4, all_v6};

/// Named sets of a table, by name.
pub(super) type Sets = HashMap<String, Vec<Item>>;

/// An element of a set or a value: text and position.
#[derive(Clone, Debug)]
pub(super) struct Item {
    pub text: String,
    pub line: usize,
    pub col: usize,
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
        // `table inet t` without a block: an `nft -f` script declaring the table
        let declaration = |p: &P| {
            matches!(
                p.peek(),
                None | Some(Tok {
                    t: T::Newline | T::Semi,
                    ..
                })
            )
        };
        if declaration(&p) {
            continue;
        }
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
        if declaration(&p) {
            continue;
        }
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
    let mut sets: Sets = HashMap::new();
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
pub(super) struct Value {
    pub items: Vec<Item>,
    pub set: Option<Item>,
    pub negated: bool,
    pub cmp: Option<String>,
}

/// Reads `[op] value` at `k`; returns the value and the index after it.
pub(super) fn value(st: &[Tok], mut k: usize) -> Result<(Value, usize), ParseError> {
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
    sets: &Sets,
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
