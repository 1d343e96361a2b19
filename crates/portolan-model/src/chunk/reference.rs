//! The first outline scanner, on the TOML lexer's tokens: slower, kept as the reference the
//! byte scanner ([`super::scan`]) is tested against.

use toml_parser::decoder::Encoding;
use toml_parser::lexer::TokenKind;

use super::outline::{Builder, Path};

enum State<'a> {
    LineStart,
    Header {
        offset: usize,
        brackets: u8,
        path: Path<'a>,
        closed: bool,
    },
    Key {
        path: Path<'a>,
    },
    Value {
        depth: u32,
    },
    Skip,
}

fn push<'a>(path: &mut Path<'a>, text: &'a str, kind: TokenKind, span: toml_parser::Span) {
    let encoding = match kind {
        TokenKind::BasicString => Some(Encoding::BasicString),
        TokenKind::LiteralString => Some(Encoding::LiteralString),
        _ => None,
    };
    path.push(text.get(span.start()..span.end()).unwrap_or(""), encoding);
}

pub(super) fn scan<'a>(text: &'a str, out: &mut Builder<'a>) {
    let mut state = State::LineStart;
    for tok in toml_parser::Source::new(text).lex() {
        let (kind, span) = (tok.kind(), tok.span());
        let key_token = matches!(
            kind,
            TokenKind::Atom | TokenKind::BasicString | TokenKind::LiteralString
        );
        state = match (state, kind) {
            (s, TokenKind::Eof) => s,
            (State::LineStart, TokenKind::Whitespace | TokenKind::Comment | TokenKind::Newline) => {
                State::LineStart
            }
            (State::LineStart, TokenKind::LeftSquareBracket) => State::Header {
                offset: span.start(),
                brackets: 1,
                path: Path::default(),
                closed: false,
            },
            (State::LineStart, _) if key_token => {
                let mut path = Path::default();
                push(&mut path, text, kind, span);
                State::Key { path }
            }
            (State::LineStart, _) => State::Skip,
            (
                State::Header {
                    offset,
                    brackets: 1,
                    path,
                    closed: false,
                },
                TokenKind::LeftSquareBracket,
            ) if path.is_empty() => State::Header {
                offset,
                brackets: 2,
                path,
                closed: false,
            },
            (
                State::Header {
                    offset,
                    brackets,
                    mut path,
                    closed: false,
                },
                _,
            ) if key_token => {
                push(&mut path, text, kind, span);
                State::Header {
                    offset,
                    brackets,
                    path,
                    closed: false,
                }
            }
            (
                State::Header {
                    offset,
                    brackets,
                    path,
                    ..
                },
                TokenKind::RightSquareBracket,
            ) => State::Header {
                offset,
                brackets,
                path,
                closed: true,
            },
            (
                State::Header {
                    offset,
                    brackets,
                    path,
                    ..
                },
                TokenKind::Newline,
            ) => {
                out.header(offset, &path, brackets == 2);
                State::LineStart
            }
            (s @ State::Header { .. }, _) => s,
            (State::Key { mut path }, _) if key_token => {
                push(&mut path, text, kind, span);
                State::Key { path }
            }
            (s @ State::Key { .. }, TokenKind::Dot | TokenKind::Whitespace) => s,
            (State::Key { path }, TokenKind::Equals) => {
                if out.wants_keys() {
                    out.key(path);
                }
                State::Value { depth: 0 }
            }
            (State::Key { .. }, TokenKind::Newline) => State::LineStart,
            (State::Key { .. }, _) => State::Skip,
            (
                State::Value { depth },
                TokenKind::LeftSquareBracket | TokenKind::LeftCurlyBracket,
            ) => State::Value { depth: depth + 1 },
            (
                State::Value { depth },
                TokenKind::RightSquareBracket | TokenKind::RightCurlyBracket,
            ) => State::Value {
                depth: depth.saturating_sub(1),
            },
            (State::Value { depth: 0 }, TokenKind::Newline) => State::LineStart,
            (s @ State::Value { .. }, _) => s,
            (State::Skip, TokenKind::Newline) => State::LineStart,
            (State::Skip, _) => State::Skip,
        };
    }
    if let State::Header {
        offset,
        brackets,
        path,
        ..
    } = &state
    {
        out.header(*offset, path, *brackets == 2);
    }
}
