//! A byte scanner that reads what the outline needs from a TOML document — table headers with
//! their keys, and the keys of key/value lines where they matter — and steps over everything
//! else. It cuts tokens exactly like the TOML lexer (`toml_parser`'s: strings of the four
//! kinds with their escapes and closing quote runs, comments, CR/LF newlines, atoms that run
//! to the next delimiter, quotes included) but builds none, and decodes a key only where the
//! outline needs it. The lexer-based reference (`reference.rs`) is what tests hold it to.

use toml_parser::decoder::Encoding;

use super::outline::{Path, Sink};

/// What a token is, as far as the outline cares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dot,
    Equals,
    LeftBracket,
    RightBracket,
    LeftBrace,
    RightBrace,
    Blank,
    Comment,
    Newline,
    /// A one-line basic string.
    Basic,
    /// A one-line literal string.
    Literal,
    /// A multi-line string.
    MultiLine,
    Atom,
    /// `,`.
    Other,
}

/// Bytes that start a token of their own; an atom runs until one of them.
fn token_start(b: u8) -> bool {
    matches!(
        b,
        b'.' | b'=' | b',' | b'[' | b']' | b'{' | b'}' | b' ' | b'\t' | b'#' | b'\r' | b'\n'
    )
}

/// The first of `a`/`b`/`c` in `hay`, by position.
fn find3(hay: &[u8], a: u8, b: u8, c: u8) -> Option<usize> {
    memchr::memchr3(a, b, c, hay)
}

/// The token at `i` (not at the end): its kind and where it ends.
fn token(s: &[u8], i: usize) -> (Kind, usize) {
    let rest = &s[i..];
    match rest[0] {
        b'.' => (Kind::Dot, i + 1),
        b'=' => (Kind::Equals, i + 1),
        b',' => (Kind::Other, i + 1),
        b'[' => (Kind::LeftBracket, i + 1),
        b']' => (Kind::RightBracket, i + 1),
        b'{' => (Kind::LeftBrace, i + 1),
        b'}' => (Kind::RightBrace, i + 1),
        b' ' | b'\t' => {
            let n = rest
                .iter()
                .take_while(|b| matches!(b, b' ' | b'\t'))
                .count();
            (Kind::Blank, i + n)
        }
        b'#' => {
            let n = memchr::memchr2(b'\r', b'\n', rest).unwrap_or(rest.len());
            (Kind::Comment, i + n)
        }
        b'\r' => (
            Kind::Newline,
            i + if rest.get(1) == Some(&b'\n') { 2 } else { 1 },
        ),
        b'\n' => (Kind::Newline, i + 1),
        q @ (b'\'' | b'"') if rest.starts_with(&[q, q, q]) => (Kind::MultiLine, ml_end(s, i, q)),
        b'\'' => {
            let end = match find3(&rest[1..], b'\'', b'\n', b'\n') {
                Some(n) if rest[1 + n] == b'\'' => i + n + 2,
                Some(n) => i + n + 1,
                None => s.len(),
            };
            (Kind::Literal, end)
        }
        b'"' => {
            let mut j = i + 1;
            loop {
                match find3(&s[j..], b'"', b'\\', b'\n') {
                    Some(n) if s[j + n] == b'"' => break (Kind::Basic, j + n + 1),
                    Some(n) if s[j + n] == b'\\' => {
                        j += n + 1;
                        if matches!(s.get(j), Some(b'\\' | b'"')) {
                            j += 1;
                        }
                    }
                    Some(n) => break (Kind::Basic, j + n),
                    None => break (Kind::Basic, s.len()),
                }
            }
        }
        _ => {
            let n = rest
                .iter()
                .position(|b| token_start(*b))
                .unwrap_or(rest.len());
            (Kind::Atom, i + n)
        }
    }
}

/// The end of a multi-line string of quote `q` opening at `i`: past its closing delimiter and
/// up to two more quotes (escapes only in basic strings).
fn ml_end(s: &[u8], i: usize, q: u8) -> usize {
    let mut j = i + 3;
    let close = loop {
        let rest = &s[j..];
        let next = if q == b'"' {
            memchr::memchr2(q, b'\\', rest)
        } else {
            memchr::memchr(q, rest)
        };
        match next {
            None => return s.len(),
            Some(n) if s[j + n] == b'\\' => {
                j += n + 1;
                if matches!(s.get(j), Some(b'\\' | b'"')) {
                    j += 1;
                }
            }
            Some(n) if s[j + n..].starts_with(&[q, q, q]) => break j + n + 3,
            Some(n) => j += n + 1,
        }
    };
    let extra = s[close..].iter().take(2).take_while(|b| **b == q).count();
    close + extra
}

fn push<'a>(path: &mut Path<'a>, text: &'a str, kind: Kind, a: usize, b: usize) {
    let encoding = match kind {
        Kind::Basic => Some(Encoding::BasicString),
        Kind::Literal => Some(Encoding::LiteralString),
        _ => None,
    };
    path.push(text.get(a..b).unwrap_or(""), encoding);
}

fn is_key(kind: Kind) -> bool {
    matches!(kind, Kind::Atom | Kind::Basic | Kind::Literal)
}

/// A header line from its `[`: its keys until the closing `]`, then anything up to the
/// newline (which ends it, as does the end of the text).
fn header<'a>(text: &'a str, start: usize, out: &mut impl Sink<'a>) -> usize {
    let s = text.as_bytes();
    let (mut i, mut array, mut closed) = (start + 1, false, false);
    let mut path = Path::default();
    while i < s.len() {
        let (kind, end) = token(s, i);
        match kind {
            Kind::Newline => {
                out.header(start, &path, array);
                return end;
            }
            Kind::LeftBracket if !array && !closed && path.is_empty() => array = true,
            Kind::RightBracket => closed = true,
            k if is_key(k) && !closed => push(&mut path, text, k, i, end),
            _ => {}
        }
        i = end;
    }
    out.header(start, &path, array);
    s.len()
}

/// A line that starts with a key: the keys up to `=` (kept where the outline wants them),
/// then the value.
fn key_line<'a>(text: &'a str, start: usize, out: &mut impl Sink<'a>) -> usize {
    let s = text.as_bytes();
    if !out.wants_keys() {
        return skip_keys(s, start);
    }
    let mut path = Path::default();
    let mut i = start;
    while i < s.len() {
        let (kind, end) = token(s, i);
        match kind {
            k if is_key(k) => push(&mut path, text, k, i, end),
            Kind::Dot | Kind::Blank => {}
            Kind::Equals => {
                out.key(path);
                return skip_value(s, end);
            }
            Kind::Newline => return end,
            _ => return skip_line(s, i),
        }
        i = end;
    }
    s.len()
}

/// [`key_line`] where the keys do not matter: the same transitions, without tokens for the
/// bytes of bare keys.
fn skip_keys(s: &[u8], mut i: usize) -> usize {
    let mut token_begins = true;
    while i < s.len() {
        let b = s[i];
        match b {
            b'=' => return skip_value(s, i + 1),
            b'.' | b' ' | b'\t' => token_begins = true,
            b'"' | b'\'' if token_begins => {
                let (kind, end) = token(s, i);
                if kind == Kind::MultiLine {
                    return skip_line(s, i);
                }
                i = end;
                continue;
            }
            b'\n' | b'\r' => return token(s, i).1,
            b',' | b'[' | b']' | b'{' | b'}' | b'#' => return skip_line(s, i),
            _ => token_begins = false,
        }
        i += 1;
    }
    s.len()
}

/// From `i` to past the newline token that ends the line.
fn skip_line(s: &[u8], mut i: usize) -> usize {
    while i < s.len() {
        let (kind, end) = token(s, i);
        if kind == Kind::Newline {
            return end;
        }
        i = end;
    }
    s.len()
}

/// Bytes a value scan can step over without looking: not a quote, `#`, bracket, brace or
/// line end.
const PLAIN: [bool; 256] = {
    let mut t = [true; 256];
    let mut k = 0;
    let special = *b"\"'#[]{}\r\n";
    while k < special.len() {
        t[special[k] as usize] = false;
        k += 1;
    }
    t
};

/// A value from `i`: past the newline that ends it outside brackets. This is where most of a
/// spec's bytes are, so plain bytes are stepped over in a tight loop; a quote opens a string
/// only where a token starts (inside an atom it is part of the atom, as for the lexer).
fn skip_value(s: &[u8], mut i: usize) -> usize {
    let mut depth = 0u32;
    // where the last token ended that the byte before cannot tell (a string)
    let mut boundary = i;
    while i < s.len() {
        while i < s.len() && PLAIN[s[i] as usize] {
            i += 1;
        }
        let Some(&b) = s.get(i) else { break };
        match b {
            b'"' | b'\'' => {
                if i == boundary || token_start(s[i - 1]) {
                    i = token(s, i).1;
                    boundary = i;
                } else {
                    i += 1;
                }
            }
            b'#' => i = token(s, i).1,
            b'[' | b'{' => {
                depth += 1;
                i += 1;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => {
                // `\n` or `\r`
                i = token(s, i).1;
                if depth == 0 {
                    return i;
                }
            }
        }
    }
    s.len()
}

/// Reads `text` into `out`, line by line (the transitions of the reference scanner), from
/// `from` (the start of a line outside any value) until a line starts at or after `to`;
/// returns where that line starts (or the end of the text).
pub(super) fn scan<'a>(text: &'a str, from: usize, to: usize, out: &mut impl Sink<'a>) -> usize {
    let s = text.as_bytes();
    let mut i = from;
    while i < to.min(s.len()) {
        let (kind, end) = token(s, i);
        i = match kind {
            Kind::Blank | Kind::Comment | Kind::Newline => end,
            Kind::LeftBracket => header(text, i, out),
            k if is_key(k) => key_line(text, i, out),
            _ => skip_line(s, i),
        };
    }
    i
}
