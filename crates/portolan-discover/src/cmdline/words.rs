//! Word splitting for [`super`]: shell commands through the one splitter
//! ([`portolan_model::words`]: quotes, escapes, line continuations, command separators,
//! `$VAR`/`${VAR:-default}` expansion remembering which bytes came from which variable), and
//! JSON exec-form arrays — every byte keeping its offset in the file.

use std::collections::BTreeMap;

use portolan_model::words::Syntax;
pub(super) use portolan_model::words::{Word, push_char};

use super::json_string;

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
            raw: i..end,
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

/// Shell-like word splitting (see [`portolan_model::words::Syntax::Shell`]).
pub(super) fn split(cmd: &str, map: &[usize], vars: &BTreeMap<String, String>) -> Vec<Vec<Word>> {
    portolan_model::words::split_mapped(cmd, map, Syntax::Shell { vars }).commands
}

/// The file name of a program path (`/usr/bin/gunicorn` → `gunicorn`).
pub(super) fn base(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}
