//! The one span-keeping word splitter: command lines and argument lists as portolan reads
//! them in repositories and documents (discovery's shell commands, Dockerfile `ENV`,
//! systemd `Environment=`, `ufw`/`iptables`/`firewall-cmd` commands, `iptables-save`
//! dumps). Every byte of a word keeps its offset in the file, and every word its span as
//! written, so evidence and errors point at the token itself.
//!
//! It lives in the model crate because both `portolan-discover` and `portolan-firewall`
//! split words and the firewall crate sits below discovery; the model is the one crate
//! both depend on. The [`Syntax`] names the three dialects the callers need; they differ
//! on purpose (a `Dockerfile`'s `ENV a="b c"` has no `$` expansion, an `iptables-save`
//! comment has no single quotes), so one loop serves them with those differences as data.

use std::collections::BTreeMap;
use std::ops::Range;

/// Which quoting rules a text is split by.
#[derive(Debug, Clone, Copy)]
pub enum Syntax<'v> {
    /// Like a POSIX shell: `'…'` and `"…"` quotes, `\` escapes and line continuations,
    /// newline, `;`, `&`, `|` between commands, `(`, `)` and `` ` `` between words, `#`
    /// comments, and `$NAME`/`${NAME:-default}` expanded from `vars` (or from their written
    /// default).
    Shell {
        /// The variables whose values `$NAME` takes.
        vars: &'v BTreeMap<String, String>,
    },
    /// Whitespace-separated words where `'…'` and `"…"` quote spaces; `\`, `$` and `#` are
    /// ordinary characters (Dockerfile `ENV`, systemd `Environment=`, firewall commands as
    /// people write them).
    Quoted,
    /// `iptables-save`'s: only `"…"` quotes, inside which `\` takes the next character as it
    /// is (`--comment "a \"b\""`).
    DoubleQuoted,
}

/// One word after quote removal (and, in [`Syntax::Shell`], expansion).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Word {
    /// The word's value.
    pub text: String,
    /// Offset in the caller's text of each byte of `text` (see [`split_mapped`]).
    pub offs: Vec<usize>,
    /// Where the word stands in the split text as written, quotes included.
    pub raw: Range<usize>,
    /// Variables expanded into this word: name, byte range in `text`, whether the value was
    /// the variable's written default (`${PORT:-8000}`) rather than a known value.
    pub vars: Vec<(String, Range<usize>, bool)>,
}

impl Word {
    fn starting_at(at: usize) -> Self {
        Word {
            raw: at..at,
            ..Word::default()
        }
    }

    /// Appends `c` with its source offsets (`spread`: one offset per byte, else all bytes
    /// map to `at` — an expanded variable's value maps to the `$`).
    pub fn push(&mut self, c: char, at: usize, spread: bool) {
        push_char(&mut self.text, &mut self.offs, c, at, spread);
    }

    /// The 1-based column (in characters) where the word starts in `line`, the text it was
    /// split from.
    #[must_use]
    pub fn column(&self, line: &str) -> usize {
        line.get(..self.raw.start)
            .map_or(self.raw.start, |before| before.chars().count())
            + 1
    }
}

/// Appends `c` to `value` with its source offsets in `map` (`spread`: one offset per byte,
/// else all bytes map to `at`).
pub fn push_char(value: &mut String, map: &mut Vec<usize>, c: char, at: usize, spread: bool) {
    value.push(c);
    for k in 0..c.len_utf8() {
        map.push(if spread { at + k } else { at });
    }
}

/// The words of `text` (one line or argument list): [`Syntax::Quoted`] and
/// [`Syntax::DoubleQuoted`] have no command separators, so all words form one command.
/// Offsets are `text`'s own.
#[must_use]
pub fn split(text: &str, syntax: Syntax<'_>) -> Split {
    let map: Vec<usize> = (0..=text.len()).collect();
    split_mapped(text, &map, syntax)
}

/// The words of `text` as written (quotes kept) with their byte offsets, split by
/// [`Syntax::Quoted`]: `ENV A=1 B="x y"` → `A=1`, `B="x y"`.
#[must_use]
pub fn raw_words(text: &str) -> Vec<(&str, usize)> {
    split(text, Syntax::Quoted)
        .words()
        .into_iter()
        .map(|w| (text.get(w.raw.clone()).unwrap_or(""), w.raw.start))
        .collect()
}

/// What [`split`] found.
#[derive(Debug, Clone, Default)]
pub struct Split {
    /// The commands (one for the syntaxes without separators), each its words in order.
    pub commands: Vec<Vec<Word>>,
    /// Where a quote opened that never closed (the words then run to the end of the text).
    pub unterminated: Option<usize>,
}

impl Split {
    /// All words of all commands, in order.
    #[must_use]
    pub fn words(self) -> Vec<Word> {
        self.commands.into_iter().flatten().collect()
    }
}

/// [`split`] for a text whose bytes are not contiguous in the file (a JSON string with
/// escapes, a Dockerfile instruction with its continuations blanked): `map[i]` is the
/// offset in the caller's text of byte `i` of `cmd`, and [`Word::offs`] are such offsets.
/// [`Word::raw`] stays in `cmd`'s own offsets.
#[must_use]
pub fn split_mapped(cmd: &str, map: &[usize], syntax: Syntax<'_>) -> Split {
    let no_vars = BTreeMap::new();
    let (shell, single_quotes, vars) = match syntax {
        Syntax::Shell { vars } => (true, true, vars),
        Syntax::Quoted => (false, true, &no_vars),
        Syntax::DoubleQuoted => (false, false, &no_vars),
    };
    let abs = |i: usize| map.get(i).or(map.last()).copied().unwrap_or(0);
    let mut out = Split::default();
    let mut words: Vec<Word> = Vec::new();
    let mut cur: Option<Word> = None;
    let mut it = cmd.char_indices().peekable();
    macro_rules! word {
        ($at:expr) => {
            cur.get_or_insert_with(|| Word::starting_at($at))
        };
    }
    macro_rules! finish_word {
        ($end:expr) => {
            if let Some(mut w) = cur.take() {
                w.raw.end = $end;
                words.push(w);
            }
        };
    }
    macro_rules! finish_command {
        ($end:expr) => {
            finish_word!($end);
            if !words.is_empty() {
                out.commands.push(std::mem::take(&mut words));
            }
        };
    }
    while let Some((i, c)) = it.next() {
        match c {
            '\n' if shell => {
                finish_command!(i);
            }
            c if c.is_whitespace() => finish_word!(i),
            '\\' if shell => match it.peek().copied() {
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
                    word!(i).push(e, abs(j), true);
                }
                None => {}
            },
            '\'' if single_quotes => {
                let w = word!(i);
                let mut closed = false;
                for (j, c) in it.by_ref() {
                    if c == '\'' {
                        closed = true;
                        break;
                    }
                    w.push(c, abs(j), true);
                }
                if !closed {
                    out.unterminated = Some(i);
                }
            }
            '"' => {
                let w = word!(i);
                let mut closed = false;
                while let Some((j, c)) = it.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' if shell => {
                            if let Some((k, e)) = it.next() {
                                if !matches!(e, '"' | '\\' | '$' | '`' | '\n') {
                                    w.push('\\', abs(j), true);
                                }
                                if e != '\n' {
                                    w.push(e, abs(k), true);
                                }
                            }
                        }
                        '\\' if matches!(syntax, Syntax::DoubleQuoted) => {
                            if let Some((k, e)) = it.next() {
                                w.push(e, abs(k), true);
                            }
                        }
                        '$' if shell => expand(w, cmd, j, &mut it, &abs, vars),
                        c => w.push(c, abs(j), true),
                    }
                }
                if !closed {
                    out.unterminated = Some(i);
                }
            }
            '$' if shell => {
                let w = word!(i);
                expand(w, cmd, i, &mut it, &abs, vars);
            }
            ';' | '&' | '|' if shell => {
                finish_command!(i);
            }
            '(' | ')' | '`' if shell => finish_word!(i),
            '#' if shell && cur.is_none() => {
                while it.peek().is_some_and(|&(_, c)| c != '\n') {
                    it.next();
                }
            }
            c => word!(i).push(c, abs(i), true),
        }
    }
    finish_command!(cmd.len());
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str, syntax: Syntax<'_>) -> Vec<Vec<String>> {
        split(s, syntax)
            .commands
            .into_iter()
            .map(|c| c.into_iter().map(|w| w.text).collect())
            .collect()
    }

    #[test]
    fn shell_splits_commands_and_expands_variables() {
        let vars = BTreeMap::from([("PORT".to_string(), "8000".to_string())]);
        let shell = Syntax::Shell { vars: &vars };
        assert_eq!(
            texts("a 'b c' \"d $PORT\" && e ${X:-1} # f\ng", shell),
            [vec!["a", "b c", "d 8000"], vec!["e", "1"], vec!["g"]]
        );
        let w = &split("run ${PORT}", shell).commands[0][1];
        assert_eq!(w.vars, [("PORT".to_string(), 0..4, false)]);
        assert_eq!(w.raw, 4..11);
    }

    #[test]
    fn quoted_keeps_backslashes_dollars_and_spans() {
        let s = r#"A="b c" D=$e\f 'g'h"#;
        let words = split(s, Syntax::Quoted).words();
        let raw: Vec<&str> = words.iter().map(|w| &s[w.raw.clone()]).collect();
        assert_eq!(raw, [r#"A="b c""#, r"D=$e\f", "'g'h"]);
        assert_eq!(words[0].text, "A=b c");
        assert_eq!(words[2].text, "gh");
        assert_eq!(words[2].column(s), 16);
    }

    #[test]
    fn double_quoted_has_no_single_quotes_and_reports_an_open_quote() {
        let s = r#"--comment "a \"b\"" it's"#;
        let split = split(s, Syntax::DoubleQuoted);
        assert_eq!(split.unterminated, None);
        let words = split.words();
        assert_eq!(words[1].text, r#"a "b""#);
        assert_eq!(words[2].text, "it's");
        assert_eq!(
            super::split("a \"b", Syntax::DoubleQuoted).unterminated,
            Some(2)
        );
    }

    #[test]
    fn columns_count_characters() {
        let s = "é 'x y'";
        let w = split(s, Syntax::Quoted).words();
        assert_eq!(w[1].column(s), 3);
    }
}
