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
//!
//! The shell-like splitting lives in `words`, the table of known programs and how each
//! takes its port in `tools`.

mod tools;
mod words;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use portolan_model::port::PortRange;
use portolan_model::spec::{Publisher, Transport};
use regex::Regex;

use crate::evidence::{Confidence, Location, PortUse, Role, SourceKind};
use crate::redact::redact;
use crate::text::LineIndex;

use tools::scan_command;
pub(crate) use tools::{host_port, normalize_host};
use words::{Word, exec_words, push_char, split};

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
    let mut em = Emitter::new(ix, source, vars_confidence);
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
    let mut em = Emitter::new(ix, source, vars_confidence);
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
    /// Where the container side is written: a range of `word.text`.
    target_at: Option<usize>,
    publisher: Option<Publisher>,
    confidence: Option<Confidence>,
}

impl<'i, 'a> Emitter<'i, 'a> {
    fn new(ix: &'i LineIndex<'a>, source: SourceKind, vars_confidence: Confidence) -> Self {
        Emitter {
            ix,
            source,
            vars_confidence,
            out: Vec::new(),
        }
    }

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
        let target_at = f
            .target_at
            .and_then(|i| word.offs.get(i))
            .map(|o| self.ix.location(*o));
        self.out.push(PortUse {
            role: f.role.unwrap_or(Role::Listen),
            target: f.target,
            target_at,
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
    let line = ix.window(loc.line as usize, loc.col as usize, 200);
    let (mut s, _) = redact(&line);
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

#[cfg(test)]
mod tests;
