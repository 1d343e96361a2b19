//! The nftables lexer: `nft list ruleset` text → tokens (words, quoted strings, `{`, `}`,
//! `,`, `;` and line ends), each with its line and column. `#` starts a comment to the end
//! of the line.

use crate::ParseError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum T {
    Word(String),
    Str(String),
    Open,
    Close,
    Comma,
    Semi,
    Newline,
}

#[derive(Clone, Debug)]
pub(super) struct Tok {
    pub t: T,
    pub line: usize,
    pub col: usize,
}

pub(super) fn lex(text: &str) -> Result<Vec<Tok>, ParseError> {
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
