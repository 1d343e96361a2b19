//! The outline of a TOML document, enough to cut it into pieces that parse on their own and
//! merge into the same spec: its *segments* (the root keys before the first table header,
//! then one segment per `[table]` / `[[array]]` header with the key/value lines under it) and
//! the *entities* each segment touches.
//!
//! An entity is the smallest unit TOML lets two distant segments share, at the granularity the
//! merge of chunks understands: one entry of a name-keyed section (`services.S`, `hosts.H`, …),
//! one element of a top-level array of tables (`[[routes]]` and the sub-tables that follow it),
//! or a whole top-level key (`[spec]`, `[lint]`, or any section written in a form the merge
//! cannot split). Keys are decoded like the parser does (`"a"`, `'a'` and `a` are one key), and
//! dotted keys count (`[services]` + `S.port = 1` touches `services.S`), so every way TOML has
//! to re-open a table — a second header, `[[services.S.lint.allow]]`, a dotted key, a sub-table
//! of a dotted table — ties the segments involved to one chunk.

use std::borrow::Cow;
use std::collections::HashMap;

use toml_parser::Raw;
use toml_parser::lexer::{Token, TokenKind};

/// Top-level tables whose keys are names, each an independent entry.
const MAP_SECTIONS: [&str; 5] = ["services", "hosts", "projects", "networks", "environments"];

/// What one segment touches inside one top-level key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Part {
    /// Everything under the key (`spec = {…}`, `[lint]`, `[routes.x]` without `[[routes]]`).
    All,
    /// The section table itself (`[services]`, or a root dotted key `services.S.x = …` that
    /// defines it implicitly): two of them in one document clash.
    Section,
    /// One named entry of a map section (interned name).
    Entry(u32),
    /// One element of a top-level array of tables.
    Elem(u32),
}

/// A segment: where it starts and whether it holds only service entries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment {
    /// Byte offset of its header (0 for the root segment).
    pub offset: usize,
    /// Touches only entries of `services` (and the section is splittable).
    pub services_only: bool,
}

/// The segments of a document and, for each, whether a cut may be made right before it.
pub(crate) struct Outline {
    /// In file order; the first is the root segment at offset 0.
    pub segments: Vec<Segment>,
    /// `cuttable[i]`: no entity is touched both before segment `i` and from it on.
    pub cuttable: Vec<bool>,
}

/// Collects touches while scanning.
#[derive(Default)]
struct Touches<'a> {
    tops: Vec<Cow<'a, str>>,
    top_ids: HashMap<Cow<'a, str>, u32>,
    names: HashMap<Cow<'a, str>, u32>,
    /// (segment, top, part)
    list: Vec<(u32, u32, Part)>,
    /// Current `[[X]]` element per top-level key.
    elem: HashMap<u32, u32>,
    elems: u32,
}

impl<'a> Touches<'a> {
    fn top(&mut self, key: Cow<'a, str>) -> u32 {
        if let Some(&id) = self.top_ids.get(&key) {
            return id;
        }
        let id = u32::try_from(self.tops.len()).unwrap_or(u32::MAX);
        self.tops.push(key.clone());
        self.top_ids.insert(key, id);
        id
    }

    fn name(&mut self, key: Cow<'a, str>) -> u32 {
        let next = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        *self.names.entry(key).or_insert(next)
    }

    fn is_map(&self, top: u32) -> bool {
        self.tops
            .get(top as usize)
            .is_some_and(|k| MAP_SECTIONS.contains(&k.as_ref()))
    }

    /// Records what a header (`array` for `[[…]]`) in segment `seg` touches.
    fn header(&mut self, seg: u32, keys: &[Cow<'a, str>], len: usize, array: bool) -> Option<u32> {
        let first = keys.first()?;
        let top = self.top(first.clone());
        let part = if self.is_map(top) {
            match (len, keys.get(1)) {
                (1, _) if array => Part::All,
                (1, _) => Part::Section,
                (_, Some(name)) => Part::Entry(self.name(name.clone())),
                _ => Part::All,
            }
        } else if len == 1 && array {
            self.elems += 1;
            self.elem.insert(top, self.elems);
            Part::Elem(self.elems)
        } else if len > 1
            && let Some(&e) = self.elem.get(&top)
        {
            // a sub-table of the last element
            Part::Elem(e)
        } else {
            Part::All
        };
        self.list.push((seg, top, part));
        Some(top)
    }

    /// Records a key/value line of segment `seg` whose absolute key path starts with `keys`
    /// (`len` components in all).
    fn root_key(&mut self, seg: u32, keys: &[Cow<'a, str>], len: usize) {
        let Some(first) = keys.first() else { return };
        let top = self.top(first.clone());
        if self.is_map(top)
            && len >= 2
            && let Some(name) = keys.get(1)
        {
            // `services.S.x = …` / `services.S = {…}` define `services` as a dotted table
            let name = self.name(name.clone());
            self.list.push((seg, top, Part::Section));
            self.list.push((seg, top, Part::Entry(name)));
        } else {
            self.list.push((seg, top, Part::All));
        }
    }

    /// A key/value line under a one-key header `[X]` (`sub` is its first key).
    fn section_key(&mut self, seg: u32, top: u32, sub: Cow<'a, str>) {
        if self.is_map(top) {
            let name = self.name(sub);
            self.list.push((seg, top, Part::Entry(name)));
        }
        // otherwise the header already touched `All` (or its `[[X]]` element)
    }
}

/// The key path being read (first two components kept, all counted).
#[derive(Default)]
struct Path<'a> {
    keys: Vec<Cow<'a, str>>,
    len: usize,
}

impl<'a> Path<'a> {
    fn push(&mut self, text: &'a str, tok: &Token) {
        let span = tok.span();
        let encoding = match tok.kind() {
            TokenKind::BasicString => Some(toml_parser::decoder::Encoding::BasicString),
            TokenKind::LiteralString => Some(toml_parser::decoder::Encoding::LiteralString),
            _ => None,
        };
        if self.keys.len() < 2 {
            let raw = text.get(span.start()..span.end()).unwrap_or("");
            let mut out: Cow<'a, str> = Cow::Borrowed("");
            Raw::new_unchecked(raw, encoding, span).decode_key(&mut out, &mut ());
            self.keys.push(out);
        }
        self.len += 1;
    }
}

enum State<'a> {
    /// At the start of a line (or after whitespace/comments there).
    LineStart,
    /// Inside `[…]` or `[[…]]`.
    Header {
        offset: usize,
        brackets: u8,
        path: Path<'a>,
        closed: bool,
    },
    /// Reading a key before `=`.
    Key { path: Path<'a> },
    /// Reading a value; `depth` counts open `[` and `{`.
    Value { depth: u32 },
    /// After a malformed line: skip to the next newline at depth 0.
    Skip,
}

/// The header that opened the current segment.
struct Current {
    seg: u32,
    top: Option<u32>,
    header_len: usize,
}

/// Scans `text` with the TOML lexer (strings, comments and multi-line values are tokens, so
/// nothing inside them is mistaken for a header).
pub(crate) fn outline(text: &str) -> Outline {
    let mut touches = Touches::default();
    let mut segments = vec![Segment {
        offset: 0,
        services_only: false,
    }];
    let mut cur = Current {
        seg: 0,
        top: None,
        header_len: 0,
    };
    let mut state = State::LineStart;
    for tok in toml_parser::Source::new(text).lex() {
        let kind = tok.kind();
        state = match (state, kind) {
            (s, TokenKind::Eof) => s,
            (State::LineStart, TokenKind::Whitespace | TokenKind::Comment | TokenKind::Newline) => {
                State::LineStart
            }
            (State::LineStart, TokenKind::LeftSquareBracket) => State::Header {
                offset: tok.span().start(),
                brackets: 1,
                path: Path::default(),
                closed: false,
            },
            (
                State::LineStart,
                TokenKind::Atom | TokenKind::BasicString | TokenKind::LiteralString,
            ) => {
                let mut path = Path::default();
                path.push(text, &tok);
                State::Key { path }
            }
            (State::LineStart, _) => State::Skip,
            (
                State::Header {
                    offset,
                    brackets,
                    path,
                    closed: false,
                },
                TokenKind::LeftSquareBracket,
            ) if path.len == 0 && brackets == 1 => State::Header {
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
                TokenKind::Atom | TokenKind::BasicString | TokenKind::LiteralString,
            ) => {
                path.push(text, &tok);
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
                cur = open_segment(&mut touches, &mut segments, offset, brackets, &path);
                State::LineStart
            }
            (s @ State::Header { .. }, _) => s,
            (
                State::Key { mut path },
                TokenKind::Atom | TokenKind::BasicString | TokenKind::LiteralString,
            ) => {
                path.push(text, &tok);
                State::Key { path }
            }
            (s @ State::Key { .. }, TokenKind::Dot | TokenKind::Whitespace) => s,
            (State::Key { path }, TokenKind::Equals) => {
                match (cur.seg, cur.header_len, cur.top) {
                    (0, _, _) => touches.root_key(0, &path.keys, path.len),
                    (seg, 1, Some(top)) => {
                        if let Some(sub) = path.keys.into_iter().next() {
                            touches.section_key(seg, top, sub);
                        }
                    }
                    _ => {} // inside the header's own entity
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
        // a header on the last line, without a newline
        open_segment(&mut touches, &mut segments, *offset, *brackets, path);
    }
    let cuttable = resolve_entities(&touches, &mut segments);
    Outline { segments, cuttable }
}

/// Records a header and starts its segment.
fn open_segment<'a>(
    touches: &mut Touches<'a>,
    segments: &mut Vec<Segment>,
    offset: usize,
    brackets: u8,
    path: &Path<'a>,
) -> Current {
    let seg = u32::try_from(segments.len()).unwrap_or(u32::MAX);
    let top = touches.header(seg, &path.keys, path.len, brackets == 2);
    segments.push(Segment {
        offset,
        services_only: false,
    });
    Current {
        seg,
        top,
        header_len: path.len,
    }
}

/// Maps every touch to its entity, marks the services-only segments and computes where a
/// cut keeps every entity whole.
fn resolve_entities(touches: &Touches<'_>, segments: &mut [Segment]) -> Vec<bool> {
    // A top-level key touched as a whole (or a map section written as `[[X]]`) is one entity.
    let mut whole = vec![false; touches.tops.len()];
    for (_, top, part) in &touches.list {
        if *part == Part::All
            && let Some(w) = whole.get_mut(*top as usize)
        {
            *w = true;
        }
    }
    let services = touches.top_ids.get("services").copied();
    let mut span: HashMap<(u32, Part), (u32, u32)> = HashMap::new();
    let mut service_entry = vec![None::<bool>; segments.len()];
    for (seg, top, part) in &touches.list {
        let is_whole = whole.get(*top as usize).copied().unwrap_or(true);
        let key = if is_whole {
            (*top, Part::All)
        } else {
            (*top, part.clone())
        };
        let entry_of_services =
            Some(*top) == services && !is_whole && matches!(part, Part::Entry(_));
        if let Some(s) = service_entry.get_mut(*seg as usize) {
            *s = Some(s.unwrap_or(true) && entry_of_services);
        }
        span.entry(key)
            .and_modify(|e| e.1 = *seg)
            .or_insert((*seg, *seg));
    }
    for (segment, only) in segments.iter_mut().zip(&service_entry).skip(1) {
        segment.services_only = only.unwrap_or(false);
    }
    // cover[i] > 0: some entity is touched before segment i and at or after it
    let mut cover = vec![0i64; segments.len() + 1];
    for &(first, last) in span.values() {
        if first < last {
            cover[first as usize + 1] += 1;
            cover[last as usize + 1] -= 1;
        }
    }
    let mut depth = 0;
    let mut cuttable = Vec::with_capacity(segments.len());
    for (i, c) in cover.iter().take(segments.len()).enumerate() {
        depth += c;
        cuttable.push(i > 0 && depth == 0);
    }
    cuttable
}
