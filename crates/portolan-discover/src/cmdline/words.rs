//! Shell-like word splitting for [`super`]: quotes, escapes, line continuations, command
//! separators, `$VAR`/`${VAR:-default}` expansion (remembering which bytes came from which
//! variable), and JSON exec-form arrays — every byte keeping its offset in the file.

use std::collections::BTreeMap;

use super::json_string;

/// Appends `c` to `value` with its source offsets (`spread`: one offset per byte, else all
/// bytes map to `at`).
pub(super) fn push_char(
    value: &mut String,
    map: &mut Vec<usize>,
    c: char,
    at: usize,
    spread: bool,
) {
    value.push(c);
    for k in 0..c.len_utf8() {
        map.push(if spread { at + k } else { at });
    }
}

/// The words of an exec-form array, or `None` if `text` is not one.
pub(super) fn exec_words(text: &str, offset: usize) -> Option<Vec<Word>> {
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
pub(super) struct Word {
    pub(super) text: String,
    /// Offset in the indexed text of each byte of `text` (and one past the end).
    pub(super) offs: Vec<usize>,
    /// Variables expanded into this word: name, byte range in `text`, whether the value was
    /// the variable's written default (`${PORT:-8000}`) rather than a known value.
    pub(super) vars: Vec<(String, std::ops::Range<usize>, bool)>,
}

impl Word {
    pub(super) fn push(&mut self, c: char, at: usize, spread: bool) {
        push_char(&mut self.text, &mut self.offs, c, at, spread);
    }
}

/// Shell-like word splitting (see the module docs).
pub(super) fn split(cmd: &str, map: &[usize], vars: &BTreeMap<String, String>) -> Vec<Vec<Word>> {
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
pub(super) fn expand(
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
pub(super) fn base(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}
