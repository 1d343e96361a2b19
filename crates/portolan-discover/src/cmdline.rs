//! Port flags on command lines, shared by every format that carries one (Procfile,
//! Dockerfile `CMD`, compose `command:`, systemd `ExecStart=`, package.json scripts, shell
//! scripts): `gunicorn --bind 0.0.0.0:8000`, `uvicorn --port 8001`, `hypercorn -b`, `manage.py
//! runserver 0.0.0.0:8082`, `next dev -p 3000`, `vite --port 5173`, `docker run -p`, …
//!
//! The text is split like a shell would (quotes, `\` escapes and line continuations, `;`,
//! `&&`, `||`, `|` between commands, `#` comments, `sh -c "…"` scanned again) and each
//! command is matched against a table of known programs. `$PORT` / `${PORT:-8000}` are
//! expanded from their default (or from the variables the caller knows, e.g. a Dockerfile's
//! `ENV`): the use then names the variable and has [`Confidence::Medium`]. Explicit flags are
//! [`Confidence::High`]; a program's built-in default port when no flag is given (`flask run`
//! → 5000) is [`Confidence::Low`]. Unix sockets (`unix:/run/app.sock`) are not ports and give
//! nothing. Evidence points at the port token itself.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use portolan_model::port::PortRange;
use portolan_model::spec::{Publisher, Transport};
use regex::Regex;

use crate::evidence::{Confidence, Location, PortUse, Role, SourceKind};
use crate::redact::redact;
use crate::text::{LineIndex, port_number, port_token};

/// The ports a command line listens on (or publishes); `offset` is the byte offset of `cmd`
/// inside the text `ix` indexes, so evidence points at the port token.
pub fn scan(ix: &LineIndex<'_>, source: SourceKind, cmd: &str, offset: usize) -> Vec<PortUse> {
    scan_with(
        ix,
        source,
        cmd,
        offset,
        &BTreeMap::new(),
        Confidence::Medium,
    )
}

/// [`scan`] with variables the caller knows (a Dockerfile's `ARG`/`ENV`, a unit's
/// `Environment=`, Heroku's `PORT`): `$NAME` without a default takes its value from `vars`,
/// and a port that came from there gets `vars_confidence`.
pub fn scan_with(
    ix: &LineIndex<'_>,
    source: SourceKind,
    cmd: &str,
    offset: usize,
    vars: &BTreeMap<String, String>,
    vars_confidence: Confidence,
) -> Vec<PortUse> {
    let map: Vec<usize> = (0..=cmd.len()).map(|i| offset + i).collect();
    scan_mapped(ix, source, cmd, &map, vars, vars_confidence)
}

/// [`scan_with`] for a command whose bytes are not contiguous in the file (a JSON string
/// with escapes): `map[i]` is the offset in the indexed text of byte `i` of `cmd`.
pub fn scan_mapped(
    ix: &LineIndex<'_>,
    source: SourceKind,
    cmd: &str,
    map: &[usize],
    vars: &BTreeMap<String, String>,
    vars_confidence: Confidence,
) -> Vec<PortUse> {
    let mut em = Emitter {
        ix,
        source,
        vars_confidence,
        out: Vec::new(),
    };
    scan_text(&mut em, cmd, map, vars, 0);
    em.out
}

/// The ports of a Dockerfile/compose exec-form command (`["gunicorn", "-b", ":8000"]`);
/// `offset` is where `text` (starting at `[`) is in the indexed text. `None` when `text` is
/// not a JSON array of strings (the caller then treats it as a shell command).
pub fn scan_exec(
    ix: &LineIndex<'_>,
    source: SourceKind,
    text: &str,
    offset: usize,
    vars: &BTreeMap<String, String>,
    vars_confidence: Confidence,
) -> Option<Vec<PortUse>> {
    let words = exec_words(text, offset)?;
    let mut em = Emitter {
        ix,
        source,
        vars_confidence,
        out: Vec::new(),
    };
    // Exec form is not expanded by a shell, but `sh -c "…"` inside it is.
    scan_command(&mut em, &words, vars, 0);
    Some(em.out)
}

/// Whether `text` mentions any program this module knows (a fast prefilter for callers that
/// scan whole files, like shell scripts).
pub fn mentions_tool(text: &str) -> bool {
    static ANY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"gunicorn|uvicorn|hypercorn|daphne|runserver|flask|next|vite|http-server|http\.server|php|rails|docker|podman|socat|nc|netcat|redis-server|postgres|mongod|memcached|serve|streamlit|jupyter|hugo|mkdocs|webpack|ng |astro|nuxt",
        )
        .expect("static regex")
    });
    ANY.is_match(text)
}

/// A JSON string literal starting at byte `start` of `text` (at its `"`): its decoded value,
/// the offset in `text` of every byte of the value (plus one past the end), and the offset
/// just after the closing quote. `None` if it is not a terminated JSON string.
pub(crate) fn json_string(text: &str, start: usize) -> Option<(String, Vec<usize>, usize)> {
    let rest = text.get(start..)?;
    let mut chars = rest.char_indices();
    if chars.next()?.1 != '"' {
        return None;
    }
    let mut value = String::new();
    let mut map = Vec::new();
    while let Some((i, c)) = chars.next() {
        let at = start + i;
        match c {
            '"' => {
                map.push(at);
                return Some((value, map, at + 1));
            }
            '\\' => {
                let (_, e) = chars.next()?;
                let decoded = match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'u' => {
                        let mut code = 0u32;
                        for _ in 0..4 {
                            let (_, h) = chars.next()?;
                            code = code * 16 + h.to_digit(16)?;
                        }
                        char::from_u32(code).unwrap_or('\u{fffd}')
                    }
                    other => other,
                };
                push_char(&mut value, &mut map, decoded, at, false);
            }
            c => push_char(&mut value, &mut map, c, at, true),
        }
    }
    None
}

/// Appends `c` to `value` with its source offsets (`spread`: one offset per byte, else all
/// bytes map to `at`).
fn push_char(value: &mut String, map: &mut Vec<usize>, c: char, at: usize, spread: bool) {
    value.push(c);
    for k in 0..c.len_utf8() {
        map.push(if spread { at + k } else { at });
    }
}

/// The words of an exec-form array, or `None` if `text` is not one.
fn exec_words(text: &str, offset: usize) -> Option<Vec<Word>> {
    let b = text.as_bytes();
    let skip_ws = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    let mut i = skip_ws(0);
    if b.get(i) != Some(&b'[') {
        return None;
    }
    i = skip_ws(i + 1);
    let mut words = Vec::new();
    if b.get(i) == Some(&b']') {
        return Some(words);
    }
    loop {
        let (value, map, end) = json_string(text, i)?;
        words.push(Word {
            offs: map.iter().map(|m| m + offset).collect(),
            text: value,
            vars: Vec::new(),
        });
        i = skip_ws(end);
        match b.get(i) {
            Some(b',') => i = skip_ws(i + 1),
            Some(b']') => return Some(words),
            _ => return None,
        }
    }
}

/// One shell word after quote removal and expansion.
#[derive(Debug, Clone, Default)]
struct Word {
    text: String,
    /// Offset in the indexed text of each byte of `text` (and one past the end).
    offs: Vec<usize>,
    /// Variables expanded into this word: name, byte range in `text`, whether the value was
    /// the variable's written default (`${PORT:-8000}`) rather than a known value.
    vars: Vec<(String, std::ops::Range<usize>, bool)>,
}

impl Word {
    fn push(&mut self, c: char, at: usize, spread: bool) {
        push_char(&mut self.text, &mut self.offs, c, at, spread);
    }
}

/// Collects uses.
struct Emitter<'i, 'a> {
    ix: &'i LineIndex<'a>,
    source: SourceKind,
    vars_confidence: Confidence,
    out: Vec<PortUse>,
}

/// What one port token is for.
#[derive(Clone, Default)]
struct Found {
    role: Option<Role>,
    bind: Option<String>,
    transport: Option<Transport>,
    target: Option<PortRange>,
    publisher: Option<Publisher>,
    confidence: Option<Confidence>,
}

impl Emitter<'_, '_> {
    /// Reports the port written in `word.text[range]`.
    fn emit(&mut self, word: &Word, range: std::ops::Range<usize>, port: PortRange, f: Found) {
        let at = word
            .offs
            .get(range.start)
            .or(word.offs.first())
            .copied()
            .unwrap_or(0);
        let var = word
            .vars
            .iter()
            .find(|(_, r, _)| r.start < range.end.max(range.start + 1) && range.start < r.end);
        let confidence = match (f.confidence, var) {
            (Some(c), _) => c,
            (None, Some((_, _, true))) => Confidence::Medium,
            (None, Some(_)) => self.vars_confidence,
            (None, None) => Confidence::High,
        };
        let loc = self.ix.location(at);
        let snippet = snippet(self.ix, &loc);
        self.out.push(PortUse {
            role: f.role.unwrap_or(Role::Listen),
            target: f.target,
            transport: f.transport.unwrap_or(Transport::Tcp),
            bind: f.bind,
            publisher: f.publisher,
            variable: var.map(|(n, _, _)| n.clone()),
            confidence,
            snippet,
            ..PortUse::new(loc, self.source, Role::Listen, port)
        });
    }
}

/// The line at `loc`, trimmed, redacted and cut to a readable length.
pub(crate) fn snippet(ix: &LineIndex<'_>, loc: &Location) -> String {
    let line = ix.line_text(loc.line as usize).trim();
    let (mut s, _) = redact(line);
    if s.chars().count() > 200 {
        s = s.chars().take(199).collect::<String>() + "…";
    }
    s
}

/// Recursion limit for `sh -c "…"` inside `sh -c "…"`.
const MAX_DEPTH: usize = 4;

/// Splits `cmd` into commands of words and scans each.
fn scan_text(
    em: &mut Emitter<'_, '_>,
    cmd: &str,
    map: &[usize],
    vars: &BTreeMap<String, String>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    for command in split(cmd, map, vars) {
        scan_command(em, &command, vars, depth);
    }
}

/// Shell-like word splitting (see the module docs).
fn split(cmd: &str, map: &[usize], vars: &BTreeMap<String, String>) -> Vec<Vec<Word>> {
    let abs = |i: usize| map.get(i).or(map.last()).copied().unwrap_or(0);
    let mut commands = Vec::new();
    let mut words: Vec<Word> = Vec::new();
    let mut cur: Option<Word> = None;
    let mut it = cmd.char_indices().peekable();
    macro_rules! finish_word {
        () => {
            if let Some(w) = cur.take() {
                words.push(w);
            }
        };
    }
    macro_rules! finish_command {
        () => {
            finish_word!();
            if !words.is_empty() {
                commands.push(std::mem::take(&mut words));
            }
        };
    }
    while let Some((i, c)) = it.next() {
        match c {
            '\n' => {
                finish_command!();
            }
            c if c.is_whitespace() => finish_word!(),
            '\\' => match it.peek().copied() {
                Some((_, '\n')) => {
                    it.next();
                }
                Some((_, '\r')) => {
                    it.next();
                    if it.peek().is_some_and(|&(_, c)| c == '\n') {
                        it.next();
                    }
                }
                Some((j, e)) => {
                    it.next();
                    cur.get_or_insert_with(Word::default).push(e, abs(j), true);
                }
                None => {}
            },
            '\'' => {
                let w = cur.get_or_insert_with(Word::default);
                for (j, c) in it.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    w.push(c, abs(j), true);
                }
            }
            '"' => {
                let w = cur.get_or_insert_with(Word::default);
                while let Some((j, c)) = it.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some((k, e)) = it.next() {
                                if !matches!(e, '"' | '\\' | '$' | '`' | '\n') {
                                    w.push('\\', abs(j), true);
                                }
                                if e != '\n' {
                                    w.push(e, abs(k), true);
                                }
                            }
                        }
                        '$' => expand(w, cmd, j, &mut it, &abs, vars),
                        c => w.push(c, abs(j), true),
                    }
                }
            }
            '$' => {
                let w = cur.get_or_insert_with(Word::default);
                expand(w, cmd, i, &mut it, &abs, vars);
            }
            ';' | '&' | '|' => {
                finish_command!();
            }
            '(' | ')' | '`' => finish_word!(),
            '#' if cur.is_none() => {
                while it.peek().is_some_and(|&(_, c)| c != '\n') {
                    it.next();
                }
            }
            c => cur.get_or_insert_with(Word::default).push(c, abs(i), true),
        }
    }
    finish_command!();
    commands
}

/// Expands `$NAME`, `${NAME}`, `${NAME:-default}` (the `$` is at byte `at`).
fn expand(
    w: &mut Word,
    cmd: &str,
    at: usize,
    it: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    abs: &dyn Fn(usize) -> usize,
    vars: &BTreeMap<String, String>,
) {
    let Some(&(j, next)) = it.peek() else {
        w.push('$', abs(at), true);
        return;
    };
    if next == '{' {
        let Some(close) = cmd.get(j..).and_then(|r| r.find('}')).map(|k| j + k) else {
            w.push('$', abs(at), true);
            return;
        };
        let inner = cmd.get(j + 1..close).unwrap_or("");
        while it.peek().is_some_and(|&(k, _)| k <= close) {
            it.next();
        }
        let name_len = inner
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(inner.len());
        let name = &inner[..name_len];
        let rest = &inner[name_len..];
        let start = w.text.len();
        let default = ["-", ":-", "=", ":="]
            .iter()
            .filter_map(|op| rest.strip_prefix(op).map(|d| (op.len(), d)))
            .max_by_key(|(n, _)| *n);
        let from_default = default.is_some();
        if let Some((op_len, d)) = default {
            let base = j + 1 + name_len + op_len;
            for (k, c) in d.char_indices() {
                w.push(c, abs(base + k), true);
            }
        } else if let Some(v) = vars.get(name) {
            for c in v.chars() {
                w.push(c, abs(at), false);
            }
        } else {
            for (k, c) in cmd.get(at..=close).unwrap_or("").char_indices() {
                w.push(c, abs(at + k), true);
            }
            return;
        }
        if !name.is_empty() {
            w.vars
                .push((name.to_string(), start..w.text.len(), from_default));
        }
    } else if next.is_ascii_alphabetic() || next == '_' {
        let mut end = j;
        while let Some(&(k, c)) = it.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                end = k + 1;
                it.next();
            } else {
                break;
            }
        }
        let name = cmd.get(j..end).unwrap_or("");
        if let Some(v) = vars.get(name) {
            let start = w.text.len();
            for c in v.chars() {
                w.push(c, abs(at), false);
            }
            w.vars.push((name.to_string(), start..w.text.len(), false));
        } else {
            for (k, c) in cmd.get(at..end).unwrap_or("").char_indices() {
                w.push(c, abs(at + k), true);
            }
        }
    } else {
        w.push('$', abs(at), true);
    }
}

/// The file name of a program path (`/usr/bin/gunicorn` → `gunicorn`).
fn base(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// How a known program takes its port.
struct Tool {
    names: &'static [&'static str],
    /// A subcommand that must follow (`flask run`, `next dev`); empty: none needed.
    subcommands: &'static [&'static str],
    /// Options whose value is a port.
    port: &'static [&'static str],
    /// Options whose value is a bind address.
    host: &'static [&'static str],
    /// Options whose value is `HOST:PORT` (or a port, or `unix:…`).
    addr: &'static [&'static str],
    /// Options whose value is `HOST:PORT` on UDP.
    udp_addr: &'static [&'static str],
    /// A positional `[HOST:]PORT` right after the subcommand (`runserver 0:8000`).
    positional: bool,
    /// The built-in default port and bind when nothing is given.
    default: Option<(u16, Option<&'static str>)>,
}

const fn tool(names: &'static [&'static str]) -> Tool {
    Tool {
        names,
        subcommands: &[],
        port: &[],
        host: &[],
        addr: &[],
        udp_addr: &[],
        positional: false,
        default: None,
    }
}

static TOOLS: &[Tool] = &[
    Tool {
        addr: &["--bind", "-b"],
        ..tool(&["gunicorn"])
    },
    Tool {
        addr: &["--bind", "-b", "--insecure-bind"],
        udp_addr: &["--quic-bind"],
        ..tool(&["hypercorn"])
    },
    Tool {
        port: &["--port"],
        host: &["--host"],
        default: Some((8000, Some("127.0.0.1"))),
        ..tool(&["uvicorn"])
    },
    Tool {
        port: &["--port", "-p"],
        host: &["--bind", "-b"],
        ..tool(&["daphne"])
    },
    Tool {
        subcommands: &["run"],
        port: &["--port", "-p"],
        host: &["--host", "-h"],
        default: Some((5000, Some("127.0.0.1"))),
        ..tool(&["flask"])
    },
    Tool {
        subcommands: &["runserver", "runserver_plus"],
        positional: true,
        default: Some((8000, Some("127.0.0.1"))),
        ..tool(&["manage.py", "django-admin", "django-admin.py"])
    },
    Tool {
        subcommands: &["dev", "start"],
        port: &["--port", "-p"],
        host: &["--hostname", "-H"],
        default: Some((3000, None)),
        ..tool(&["next"])
    },
    Tool {
        port: &["--port"],
        host: &["--host"],
        default: Some((5173, Some("localhost"))),
        ..tool(&["vite"])
    },
    Tool {
        port: &["--port", "-p"],
        host: &["-a"],
        default: Some((8080, None)),
        ..tool(&["http-server"])
    },
    Tool {
        host: &["--bind", "-b"],
        positional: true,
        default: Some((8000, None)),
        ..tool(&["http.server", "SimpleHTTPServer"])
    },
    Tool {
        addr: &["-S"],
        ..tool(&["php"])
    },
    Tool {
        subcommands: &["serve"],
        port: &["--port"],
        host: &["--host"],
        default: Some((8000, Some("127.0.0.1"))),
        ..tool(&["artisan"])
    },
    Tool {
        subcommands: &["s", "server"],
        port: &["--port", "-p"],
        host: &["--binding", "-b"],
        default: Some((3000, Some("localhost"))),
        ..tool(&["rails"])
    },
    Tool {
        port: &["--port"],
        host: &["--bind"],
        ..tool(&["redis-server"])
    },
    Tool {
        port: &["-p"],
        ..tool(&["postgres", "postmaster"])
    },
    Tool {
        port: &["--port"],
        host: &["--bind_ip"],
        ..tool(&["mongod", "mongos"])
    },
    Tool {
        port: &["--port"],
        host: &["--bind-address"],
        ..tool(&["mysqld", "mariadbd"])
    },
    Tool {
        port: &["--port", "-p"],
        host: &["--listen", "-l"],
        ..tool(&["memcached"])
    },
    Tool {
        port: &["--server.port"],
        host: &["--server.address"],
        ..tool(&["streamlit"])
    },
    Tool {
        port: &["--port"],
        host: &["--ip"],
        ..tool(&["jupyter", "jupyter-lab", "jupyter-notebook"])
    },
    Tool {
        subcommands: &["server", "serve"],
        port: &["--port", "-p"],
        host: &["--bind"],
        ..tool(&["hugo"])
    },
    Tool {
        subcommands: &["serve"],
        addr: &["--dev-addr", "-a"],
        ..tool(&["mkdocs"])
    },
    Tool {
        port: &["--port"],
        host: &["--host"],
        ..tool(&[
            "webpack-dev-server",
            "webpack",
            "ng",
            "astro",
            "nuxt",
            "nuxi",
        ])
    },
    Tool {
        addr: &["--listen", "-l"],
        port: &["-p", "--port"],
        ..tool(&["serve"])
    },
];

/// Scans one command (its words).
fn scan_command(
    em: &mut Emitter<'_, '_>,
    words: &[Word],
    vars: &BTreeMap<String, String>,
    depth: usize,
) {
    for (i, w) in words.iter().enumerate() {
        let name = base(&w.text);
        let rest = &words[i + 1..];
        match name {
            "sh" | "bash" | "dash" | "zsh" | "ash" => {
                if let Some(pos) = rest.iter().position(|w| w.text == "-c" || w.text == "-lc") {
                    if let Some(script) = rest.get(pos + 1) {
                        scan_text(em, &script.text, &script.offs, vars, depth + 1);
                    }
                    return;
                }
            }
            "docker" | "podman" => {
                let publisher = if name == "docker" {
                    Publisher::Docker
                } else {
                    Publisher::Podman
                };
                docker(em, rest, publisher, vars, depth);
                return;
            }
            "socat" => {
                socat(em, rest);
                return;
            }
            "nc" | "ncat" | "netcat" => {
                netcat(em, rest);
                return;
            }
            _ => {}
        }
        if let Some(tool) = TOOLS.iter().find(|t| t.names.contains(&name)) {
            if name == "php" && !rest.iter().any(|w| w.text.starts_with("-S")) {
                continue;
            }
            if run_tool(em, tool, w, rest) {
                return;
            }
        }
    }
}

/// Whether `w` is option `opt` (`--port`, `--port=80`, `-p80`); the value's word and its
/// byte offset inside that word.
fn option_value<'w>(words: &'w [Word], i: usize, opt: &str) -> Option<(&'w Word, usize)> {
    let w = words.get(i)?;
    if w.text == opt {
        return words.get(i + 1).map(|v| (v, 0));
    }
    if let Some(v) = w.text.strip_prefix(opt) {
        if opt.starts_with("--") && v.starts_with('=') {
            return Some((w, opt.len() + 1));
        }
        if !opt.starts_with("--") && opt.len() == 2 && !v.is_empty() {
            let skip = usize::from(v.starts_with('='));
            return Some((w, opt.len() + skip));
        }
    }
    None
}

/// Scans a known program's arguments; `false` if it was not the program after all (a
/// required subcommand is missing).
fn run_tool(em: &mut Emitter<'_, '_>, tool: &Tool, prog: &Word, rest: &[Word]) -> bool {
    let mut args = rest;
    if !tool.subcommands.is_empty() {
        match rest
            .iter()
            .position(|w| tool.subcommands.contains(&w.text.as_str()))
        {
            Some(p) if p <= 2 => args = &rest[p + 1..],
            _ => return false,
        }
    }
    let mut host: Option<String> = None;
    let mut ports: Vec<(&Word, usize, PortRange)> = Vec::new();
    let mut found_any = false;
    let mut positional_done = !tool.positional;
    let mut i = 0;
    while i < args.len() {
        let w = &args[i];
        if matches!(w.text.as_str(), "--uds" | "--fd" | "-u" | "--unix-socket") {
            // A unix socket or an inherited descriptor: no default port.
            found_any = true;
        }
        if i + 1 == args.len() && tool.host.contains(&w.text.as_str()) {
            // `vite --host` alone: all addresses.
            host = Some("0.0.0.0".to_string());
            i += 1;
            continue;
        }
        if let Some((vw, at)) = tool.port.iter().find_map(|o| option_value(args, i, o)) {
            if let Some(p) = vw.text.get(at..).and_then(port_number) {
                ports.push((vw, at, PortRange::single(p)));
            }
            found_any = true;
            i += if std::ptr::eq(vw, w) { 1 } else { 2 };
            continue;
        }
        if let Some((vw, at)) = tool.host.iter().find_map(|o| option_value(args, i, o)) {
            let v = vw.text.get(at..).unwrap_or("");
            if std::ptr::eq(vw, w) || !v.starts_with('-') {
                host = Some(strip_brackets(v).to_string());
                i += if std::ptr::eq(vw, w) { 1 } else { 2 };
            } else {
                // `vite --host` alone: all addresses.
                host = Some("0.0.0.0".to_string());
                i += 1;
            }
            continue;
        }
        let addr = tool
            .addr
            .iter()
            .find_map(|o| option_value(args, i, o))
            .map(|v| (v, Transport::Tcp))
            .or_else(|| {
                tool.udp_addr
                    .iter()
                    .find_map(|o| option_value(args, i, o))
                    .map(|v| (v, Transport::Udp))
            });
        if let Some(((vw, at), transport)) = addr {
            found_any = true;
            let v = vw.text.get(at..).unwrap_or("");
            if let Some((h, range)) = host_port(v) {
                if let Some(p) = port_number(&v[range.clone()]) {
                    let f = Found {
                        bind: h.map(|h| normalize_host(h).to_string()),
                        transport: Some(transport),
                        ..Found::default()
                    };
                    em.emit(
                        vw,
                        at + range.start..at + range.end,
                        PortRange::single(p),
                        f,
                    );
                }
            }
            i += if std::ptr::eq(vw, w) { 1 } else { 2 };
            continue;
        }
        if !positional_done && !w.text.starts_with('-') {
            positional_done = true;
            if let Some((h, range)) = host_port(&w.text) {
                if let Some(p) = port_number(&w.text[range.clone()]) {
                    if let Some(h) = h {
                        host = Some(normalize_host(h).to_string());
                    }
                    ports.push((w, range.start, PortRange::single(p)));
                }
            }
        } else if w.text.starts_with('-') && matches!(w.text.as_str(), "-d" | "--directory") {
            i += 1;
        }
        i += 1;
    }
    for (w, at, port) in &ports {
        let f = Found {
            bind: host.clone(),
            ..Found::default()
        };
        em.emit(w, *at..*at + w.text.len().saturating_sub(*at), *port, f);
    }
    if ports.is_empty() && !found_any {
        if let Some((p, bind)) = tool.default {
            let f = Found {
                bind: host.or(bind.map(str::to_string)),
                confidence: Some(Confidence::Low),
                ..Found::default()
            };
            em.emit(prog, 0..prog.text.len(), PortRange::single(p), f);
        }
    }
    true
}

/// `[v6]` → `v6`.
fn strip_brackets(h: &str) -> &str {
    h.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(h)
}

/// A bind address as reported: brackets removed, `*` and `0` (Django's shorthand) as
/// `0.0.0.0`.
pub(crate) fn normalize_host(h: &str) -> &str {
    match strip_brackets(h) {
        "*" | "0" => "0.0.0.0",
        h => h,
    }
}

/// Splits `HOST:PORT`, `[V6]:PORT`, `:PORT`, `PORT` (also `tcp://HOST:PORT`): the host (if
/// written) and the byte range of the port part. `None` for unix sockets, file descriptors
/// and anything without a port.
pub(crate) fn host_port(s: &str) -> Option<(Option<&str>, std::ops::Range<usize>)> {
    if s.starts_with("unix:") || s.starts_with('/') || s.starts_with("fd:") || s.is_empty() {
        return None;
    }
    let skip = ["tcp://", "http://", "https://", "tcp:"]
        .iter()
        .find(|p| s.starts_with(**p))
        .map_or(0, |p| p.len());
    let body = &s[skip..];
    let body = body.split('/').next().unwrap_or(body);
    if body.bytes().all(|b| b.is_ascii_digit()) {
        return Some((None, skip..skip + body.len()));
    }
    if body.starts_with('[') {
        let close = body.find(']')?;
        let after = body.get(close + 1..)?.strip_prefix(':')?;
        let start = skip + close + 2;
        return Some((Some(&body[..=close]), start..start + after.len()));
    }
    let (h, p) = body.rsplit_once(':')?;
    if h.contains(':') {
        // A bare IPv6 address: no port.
        return None;
    }
    let start = skip + h.len() + 1;
    Some(((!h.is_empty()).then_some(h), start..start + p.len()))
}

/// `docker run` / `podman run` options that take a value (so the image can be found).
const DOCKER_VALUE_OPTS: &[&str] = &[
    "-e",
    "--env",
    "-v",
    "--volume",
    "--name",
    "-w",
    "--workdir",
    "--network",
    "--net",
    "-u",
    "--user",
    "--env-file",
    "--entrypoint",
    "-l",
    "--label",
    "--mount",
    "--restart",
    "-h",
    "--hostname",
    "-m",
    "--memory",
    "--cpus",
    "--add-host",
    "--log-driver",
    "--log-opt",
    "--platform",
    "--pull",
    "--ulimit",
    "--device",
    "--cap-add",
    "--cap-drop",
    "--security-opt",
    "--dns",
    "--tmpfs",
    "--shm-size",
    "--gpus",
    "--expose",
    "--link",
    "--pod",
];

/// `docker run … -p [ip:]host:container[/proto] … IMAGE [COMMAND…]`.
fn docker(
    em: &mut Emitter<'_, '_>,
    words: &[Word],
    publisher: Publisher,
    vars: &BTreeMap<String, String>,
    depth: usize,
) {
    let Some(run) = words
        .iter()
        .take(3)
        .position(|w| matches!(w.text.as_str(), "run" | "create"))
    else {
        return;
    };
    let args = &words[run + 1..];
    let mut i = 0;
    while i < args.len() {
        let w = &args[i];
        if let Some((vw, at)) = ["--publish", "-p"]
            .iter()
            .find_map(|o| option_value(args, i, o))
        {
            publish(em, vw, at, publisher);
            i += if std::ptr::eq(vw, w) { 1 } else { 2 };
            continue;
        }
        if !w.text.starts_with('-') {
            // The image; what follows is the container's command.
            scan_command(em, &args[i + 1..], vars, depth + 1);
            return;
        }
        if DOCKER_VALUE_OPTS.contains(&w.text.as_str()) {
            i += 1;
        }
        i += 1;
    }
}

/// One `-p` value.
fn publish(em: &mut Emitter<'_, '_>, w: &Word, at: usize, publisher: Publisher) {
    let v = w.text.get(at..).unwrap_or("");
    let (spec, proto) = v.split_once('/').unwrap_or((v, "tcp"));
    let transport = if proto.eq_ignore_ascii_case("udp") {
        Transport::Udp
    } else {
        Transport::Tcp
    };
    let (ip, rest, rest_at) = if let Some(inner) = spec.strip_prefix('[') {
        let Some(close) = inner.find("]:") else {
            return;
        };
        (Some(&inner[..close]), &inner[close + 2..], close + 3)
    } else {
        let parts: Vec<&str> = spec.split(':').collect();
        if parts.len() == 3 {
            let ip_len = parts[0].len() + 1;
            (Some(parts[0]), &spec[ip_len..], ip_len)
        } else {
            (None, spec, 0)
        }
    };
    let Some((host, container)) = rest.split_once(':') else {
        return;
    };
    let (Some(hp), Some(cp)) = (port_token(host), port_token(container)) else {
        return;
    };
    let start = at + rest_at;
    let f = Found {
        role: Some(Role::Publish),
        bind: ip.filter(|i| !i.is_empty()).map(str::to_string),
        transport: Some(transport),
        target: Some(cp),
        publisher: Some(publisher),
        confidence: None,
    };
    em.emit(w, start..start + host.len(), hp, f);
}

/// `socat TCP-LISTEN:8080,fork,bind=127.0.0.1 …`.
fn socat(em: &mut Emitter<'_, '_>, words: &[Word]) {
    for w in words {
        let upper = w.text.to_ascii_uppercase();
        let Some((kind, rest)) = upper.split_once(':') else {
            continue;
        };
        let transport = match kind {
            "TCP-LISTEN" | "TCP4-LISTEN" | "TCP6-LISTEN" | "TCP-L" | "TCP4-L" | "TCP6-L" => {
                Transport::Tcp
            }
            "UDP-LISTEN" | "UDP4-LISTEN" | "UDP6-LISTEN" | "UDP-L" | "UDP-RECV" | "UDP4-RECV" => {
                Transport::Udp
            }
            _ => continue,
        };
        let port_len = rest.find(',').unwrap_or(rest.len());
        let start = kind.len() + 1;
        let Some(p) = port_number(&rest[..port_len]) else {
            continue;
        };
        let bind = w
            .text
            .split(',')
            .find_map(|o| o.strip_prefix("bind="))
            .map(str::to_string);
        let f = Found {
            bind,
            transport: Some(transport),
            ..Found::default()
        };
        em.emit(w, start..start + port_len, PortRange::single(p), f);
    }
}

/// `nc -l [-p] PORT`, `nc -lvnp 4444`, `nc -u -l 5353`.
fn netcat(em: &mut Emitter<'_, '_>, words: &[Word]) {
    let mut listen = false;
    let mut udp = false;
    let mut port: Option<(&Word, usize)> = None;
    let mut host: Option<&str> = None;
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        if let Some(flags) = w.text.strip_prefix('-').filter(|f| !f.starts_with('-')) {
            listen |= flags.contains('l');
            udp |= flags.contains('u');
            if let Some(p) = flags.find('p') {
                if p + 1 == flags.len() {
                    port = words.get(i + 1).map(|v| (v, 0));
                    i += 1;
                } else {
                    port = Some((w, p + 2));
                }
            }
        } else if port_number(&w.text).is_some() {
            port = Some((w, 0));
        } else if !w.text.starts_with('-') {
            host = Some(&w.text);
        }
        i += 1;
    }
    if !listen {
        return;
    }
    if let Some((w, at)) = port {
        if let Some(p) = w.text.get(at..).and_then(port_number) {
            let f = Found {
                bind: host.map(str::to_string),
                transport: Some(if udp { Transport::Udp } else { Transport::Tcp }),
                ..Found::default()
            };
            em.emit(w, at..w.text.len(), PortRange::single(p), f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Row = (
        u16,
        Option<String>,
        Role,
        String,
        Option<String>,
        Confidence,
    );

    fn uses(cmd: &str) -> Vec<Row> {
        let ix = LineIndex::new("f", cmd);
        scan(&ix, SourceKind::Shell, cmd, 0)
            .into_iter()
            .map(|u| {
                (
                    u.port.lo,
                    u.bind,
                    u.role,
                    format!("{}:{}", u.at.line, u.at.col),
                    u.variable,
                    u.confidence,
                )
            })
            .collect()
    }

    fn ports(cmd: &str) -> Vec<u16> {
        uses(cmd).into_iter().map(|u| u.0).collect()
    }

    #[test]
    fn gunicorn_bind_forms() {
        let u = uses("gunicorn app:app --bind 0.0.0.0:8000 -w 4");
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].0, 8000);
        assert_eq!(u[0].1.as_deref(), Some("0.0.0.0"));
        assert_eq!(u[0].3, "1:33");
        assert_eq!(u[0].5, Confidence::High);
        assert_eq!(ports("gunicorn -b :8001 -b [::1]:8002 app"), [8001, 8002]);
        assert_eq!(
            uses("gunicorn -b [::1]:8002 app")[0].1.as_deref(),
            Some("::1")
        );
        assert_eq!(ports("gunicorn --bind=127.0.0.1:9000 app"), [9000]);
        assert!(ports("gunicorn --bind unix:/run/app.sock app").is_empty());
        // No bind flag: gunicorn may read gunicorn.conf.py; nothing guessed.
        assert!(ports("gunicorn app:app").is_empty());
    }

    #[test]
    fn uvicorn_host_and_port_in_any_order() {
        let u = uses("uvicorn main:app --port 8001 --host 127.0.0.1");
        assert_eq!((u[0].0, u[0].1.as_deref()), (8001, Some("127.0.0.1")));
        assert_eq!(ports("python -m uvicorn main:app --port=8002"), [8002]);
        assert_eq!(
            ports("poetry run uvicorn app:app --uds /tmp/x.sock"),
            [] as [u16; 0]
        );
        let d = uses("uvicorn main:app");
        assert_eq!((d[0].0, d[0].5), (8000, Confidence::Low));
        assert_eq!(
            ports("hypercorn -b 0.0.0.0:8443 --quic-bind 0.0.0.0:8443 app"),
            [8443, 8443]
        );
        assert_eq!(
            ports("daphne -b 0.0.0.0 -p 8001 proj.asgi:application"),
            [8001]
        );
    }

    #[test]
    fn django_flask_next_vite_and_friends() {
        let u = uses("python manage.py runserver 0.0.0.0:8082");
        assert_eq!((u[0].0, u[0].1.as_deref()), (8082, Some("0.0.0.0")));
        assert_eq!(u[0].3, "1:36");
        assert_eq!(ports("./manage.py runserver 8001"), [8001]);
        assert_eq!(
            uses("django-admin runserver 0:8000")[0].1.as_deref(),
            Some("0.0.0.0")
        );
        assert_eq!(uses("python manage.py runserver")[0].5, Confidence::Low);
        assert!(ports("python manage.py migrate").is_empty());
        assert_eq!(ports("flask run --host=0.0.0.0 --port 5001"), [5001]);
        assert_eq!(ports("flask --app hello run -p 5002"), [5002]);
        assert_eq!(ports("next dev -p 3000"), [3000]);
        assert_eq!(ports("next start --port 3001"), [3001]);
        assert!(ports("next build").is_empty());
        assert_eq!(ports("vite --port 5174 --host"), [5174]);
        assert_eq!(
            uses("vite --port 5174 --host")[0].1.as_deref(),
            Some("0.0.0.0")
        );
        assert_eq!(ports("npx http-server ./dist -p 8081"), [8081]);
        assert_eq!(
            ports("python3 -m http.server 9001 --bind 127.0.0.1"),
            [9001]
        );
        assert_eq!(ports("python -m http.server -d site 9002"), [9002]);
        assert_eq!(ports("php -S localhost:8088 -t public"), [8088]);
        assert!(ports("php artisan migrate").is_empty());
        assert_eq!(ports("bundle exec rails s -p 3002 -b 0.0.0.0"), [3002]);
        assert_eq!(ports("redis-server --port 6380"), [6380]);
    }

    #[test]
    fn docker_publish() {
        let ix = LineIndex::new("f", "docker run -d -p 127.0.0.1:6379:6379 --name r redis");
        let u = scan(&ix, SourceKind::Shell, ix.line_text(1), 0);
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].role, Role::Publish);
        assert_eq!(u[0].publisher, Some(Publisher::Docker));
        assert_eq!(u[0].bind.as_deref(), Some("127.0.0.1"));
        assert_eq!(u[0].target, Some(PortRange::single(6379)));
        assert_eq!(u[0].at.col, 28);
        assert_eq!(
            ports("docker run -p 8080:80 -p 5353:53/udp nginx"),
            [8080, 5353]
        );
        let ix = LineIndex::new("f", "podman run -p [::1]:8443:443/udp img");
        let u = scan(&ix, SourceKind::Shell, ix.line_text(1), 0);
        assert_eq!(u[0].transport, Transport::Udp);
        assert_eq!(u[0].bind.as_deref(), Some("::1"));
        assert_eq!(u[0].publisher, Some(Publisher::Podman));
        assert!(ports("docker run -p 80 nginx").is_empty());
        assert_eq!(ports("docker run -p 8000-8010:8000-8010 img"), [8000]);
        // The container's command is scanned too.
        assert_eq!(
            ports("docker run -e X=1 -p 9000:8000 img gunicorn -b 0.0.0.0:8000"),
            [9000, 8000]
        );
        assert!(ports("docker build -t x .").is_empty());
    }

    #[test]
    fn socat_and_netcat() {
        assert_eq!(
            ports("socat TCP-LISTEN:8080,fork,reuseaddr TCP:db:5432"),
            [8080]
        );
        assert_eq!(
            uses("socat tcp-listen:8081,bind=127.0.0.1 -")[0]
                .1
                .as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(ports("nc -l 1234"), [1234]);
        assert_eq!(ports("nc -lvnp 4444"), [4444]);
        assert_eq!(ports("nc -l -p 4445"), [4445]);
        assert!(ports("nc db 5432").is_empty());
    }

    #[test]
    fn variables_and_defaults() {
        let u = uses("gunicorn -b 0.0.0.0:${PORT:-8000} app");
        assert_eq!(u[0].0, 8000);
        assert_eq!(u[0].4.as_deref(), Some("PORT"));
        assert_eq!(u[0].5, Confidence::Medium);
        assert_eq!(u[0].3, "1:29");
        // No default and no known value: no port.
        assert!(ports("gunicorn -b 0.0.0.0:$PORT app").is_empty());
        let mut vars = BTreeMap::new();
        vars.insert("PORT".to_string(), "5000".to_string());
        let cmd = "web: gunicorn -b \"0.0.0.0:$PORT\" app";
        let ix = LineIndex::new("f", cmd);
        let u = scan_with(&ix, SourceKind::Procfile, cmd, 0, &vars, Confidence::Low);
        assert_eq!(u[0].port.lo, 5000);
        assert_eq!(u[0].confidence, Confidence::Low);
        assert_eq!(u[0].variable.as_deref(), Some("PORT"));
        assert_eq!(u[0].at.col, 27);
    }

    #[test]
    fn quoting_continuations_and_separators() {
        assert_eq!(
            ports("cd app && 'gunicorn' \"--bind\" '0.0.0.0:8000' x"),
            [8000]
        );
        let u = uses("gunicorn app \\\n  --bind 0.0.0.0:8000");
        assert_eq!(u[0].3, "2:18");
        assert_eq!(ports("uvicorn a:b --port 1; flask run -p 2 | cat"), [1, 2]);
        assert!(ports("# gunicorn -b :8000\necho hi").is_empty());
        assert_eq!(ports("sh -c \"flask run -p 5005\""), [5005]);
        assert_eq!(uses("sh -c \"flask run -p 5005\"")[0].3, "1:21");
        assert!(ports("echo gunicorn").is_empty());
        assert_eq!(ports("npx serve -l 3005"), [3005]);
        assert!(ports("mkdocs build").is_empty());
        assert_eq!(ports("mkdocs serve -a 127.0.0.1:8001"), [8001]);
    }

    #[test]
    fn exec_form() {
        let text = r#"CMD ["gunicorn", "-b", "0.0.0.0:8000", "app:app"]"#;
        let ix = LineIndex::new("f", text);
        let u = scan_exec(
            &ix,
            SourceKind::Dockerfile,
            &text[4..],
            4,
            &BTreeMap::new(),
            Confidence::Medium,
        )
        .expect("exec form");
        assert_eq!(u[0].port.lo, 8000);
        assert_eq!(u[0].at.col, 33);
        assert!(
            scan_exec(
                &ix,
                SourceKind::Dockerfile,
                "gunicorn -b :1",
                0,
                &BTreeMap::new(),
                Confidence::Medium
            )
            .is_none()
        );
        let text = r#"["sh", "-c", "uvicorn a:b --port \"9000\""]"#;
        let ix = LineIndex::new("f", text);
        let u = scan_exec(
            &ix,
            SourceKind::Dockerfile,
            text,
            0,
            &BTreeMap::new(),
            Confidence::Medium,
        )
        .expect("exec form");
        assert_eq!(u[0].port.lo, 9000);
        assert_eq!(u[0].at.col, 36);
    }

    #[test]
    fn host_port_forms() {
        assert_eq!(host_port("8000"), Some((None, 0..4)));
        assert_eq!(host_port(":8000"), Some((None, 1..5)));
        assert_eq!(host_port("[::]:443"), Some((Some("[::]"), 5..8)));
        assert_eq!(
            host_port("tcp://0.0.0.0:1"),
            Some((Some("0.0.0.0"), 14..15))
        );
        assert_eq!(host_port("unix:/x"), None);
        assert_eq!(host_port("::1"), None);
    }
}
