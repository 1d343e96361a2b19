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
use std::hash::{BuildHasherDefault, Hasher};

use toml_parser::Raw;
use toml_parser::decoder::Encoding;

/// A fast hash for short keys (`FxHash`): the outline interns one name per table header.
#[derive(Default)]
struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segment {
    /// Byte offset of its header (0 for the root segment).
    pub offset: usize,
    /// Touches only entries of `services` (and the section is splittable).
    pub services_only: bool,
}

/// The segments of a document and, for each, whether a cut may be made right before it.
#[derive(Debug, PartialEq, Eq)]
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
    /// `is_map[top]`: the top-level key is one of [`MAP_SECTIONS`].
    is_map: Vec<bool>,
    top_ids: FxMap<Cow<'a, str>, u32>,
    /// The top-level key the last header named (most headers of a spec repeat it).
    last_top: Option<(Cow<'a, str>, u32)>,
    names: FxMap<Cow<'a, str>, u32>,
    /// (segment, top, part)
    list: Vec<(u32, u32, Part)>,
    /// Current `[[X]]` element per top-level key.
    elem: FxMap<u32, u32>,
    elems: u32,
}

impl<'a> Touches<'a> {
    fn top(&mut self, key: Cow<'a, str>) -> u32 {
        if let Some((last, id)) = &self.last_top
            && *last == key
        {
            return *id;
        }
        let id = if let Some(&id) = self.top_ids.get(&key) {
            id
        } else {
            let id = u32::try_from(self.tops.len()).unwrap_or(u32::MAX);
            self.tops.push(key.clone());
            self.is_map.push(MAP_SECTIONS.contains(&key.as_ref()));
            self.top_ids.insert(key.clone(), id);
            id
        };
        self.last_top = Some((key, id));
        id
    }

    fn name(&mut self, key: Cow<'a, str>) -> u32 {
        let next = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        *self.names.entry(key).or_insert(next)
    }

    fn is_map(&self, top: u32) -> bool {
        self.is_map.get(top as usize).copied().unwrap_or(false)
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

/// A key path as read: its first two components (decoded), and how many there are.
#[derive(Default, Clone)]
pub(super) struct Path<'a> {
    keys: [Cow<'a, str>; 2],
    len: usize,
}

impl<'a> Path<'a> {
    /// Adds a key as written (`raw` includes the quotes of a quoted key).
    pub(super) fn push(&mut self, raw: &'a str, encoding: Option<Encoding>) {
        if self.len < 2 {
            let key = if encoding.is_none() {
                Cow::Borrowed(raw)
            } else {
                let mut out: Cow<'a, str> = Cow::Borrowed("");
                let span = toml_parser::Span::new_unchecked(0, raw.len());
                Raw::new_unchecked(raw, encoding, span).decode_key(&mut out, &mut ());
                out
            };
            self.keys[self.len] = key;
        }
        self.len += 1;
    }

    fn keys(&self) -> &[Cow<'a, str>] {
        &self.keys[..self.len.min(2)]
    }

    /// Whether no key was read.
    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Turns what a scanner reads (headers, keys of key/value lines) into an [`Outline`].
pub(super) struct Builder<'a> {
    touches: Touches<'a>,
    segments: Vec<Segment>,
    /// The current segment, the top-level key of its header, the header's length.
    seg: u32,
    top: Option<u32>,
    header_len: usize,
}

impl<'a> Builder<'a> {
    pub(super) fn new() -> Self {
        Builder {
            touches: Touches::default(),
            segments: vec![Segment {
                offset: 0,
                services_only: false,
            }],
            seg: 0,
            top: None,
            header_len: 0,
        }
    }

    /// A header at `offset` (`array`: `[[…]]`) starts a segment.
    pub(super) fn header(&mut self, offset: usize, path: &Path<'a>, array: bool) {
        let seg = u32::try_from(self.segments.len()).unwrap_or(u32::MAX);
        self.top = self.touches.header(seg, path.keys(), path.len, array);
        self.seg = seg;
        self.header_len = path.len;
        self.segments.push(Segment {
            offset,
            services_only: false,
        });
    }

    /// Whether the keys of key/value lines matter here (at the root, or under a one-key
    /// header like `[services]`); elsewhere they stay inside the header's entity.
    pub(super) fn wants_keys(&self) -> bool {
        self.seg == 0 || self.header_len == 1
    }

    /// A key/value line with key path `path`.
    pub(super) fn key(&mut self, path: Path<'a>) {
        match (self.seg, self.header_len, self.top) {
            (0, _, _) => self.touches.root_key(0, path.keys(), path.len),
            (seg, 1, Some(top)) => {
                let [sub, _] = path.keys;
                if path.len > 0 {
                    self.touches.section_key(seg, top, sub);
                }
            }
            _ => {}
        }
    }

    pub(super) fn finish(mut self) -> Outline {
        let cuttable = resolve_entities(&self.touches, &mut self.segments);
        Outline {
            segments: self.segments,
            cuttable,
        }
    }
}

/// What a scanner reports, in text order: table headers, and the keys of key/value lines
/// where [`Sink::wants_keys`] says they matter.
pub(super) trait Sink<'a> {
    /// A header at `offset` (`array`: `[[…]]`).
    fn header(&mut self, offset: usize, path: &Path<'a>, array: bool);
    /// Whether the keys of the coming key/value lines matter.
    fn wants_keys(&self) -> bool;
    /// A key/value line with key path `path`.
    fn key(&mut self, path: Path<'a>);
}

impl<'a> Sink<'a> for Builder<'a> {
    fn header(&mut self, offset: usize, path: &Path<'a>, array: bool) {
        Builder::header(self, offset, path, array);
    }
    fn wants_keys(&self) -> bool {
        Builder::wants_keys(self)
    }
    fn key(&mut self, path: Path<'a>) {
        Builder::key(self, path);
    }
}

/// What a scanner reports.
enum Event<'a> {
    Header(usize, Path<'a>, bool),
    Key(Path<'a>),
}

/// The reports of a part of the text scanned ahead on another thread, handed to the
/// [`Builder`] in order once the scan of the text before has reached the part's start.
#[derive(Default)]
struct Recorder<'a> {
    events: Vec<Event<'a>>,
    /// Components of the last header (keys matter under one-key headers, as for `Builder`).
    header_len: Option<usize>,
}

impl<'a> Sink<'a> for Recorder<'a> {
    fn header(&mut self, offset: usize, path: &Path<'a>, array: bool) {
        self.header_len = Some(path.len);
        self.events.push(Event::Header(offset, path.clone(), array));
    }
    fn wants_keys(&self) -> bool {
        self.header_len.is_none_or(|n| n == 1)
    }
    fn key(&mut self, path: Path<'a>) {
        self.events.push(Event::Key(path));
    }
}

impl<'a> Recorder<'a> {
    fn replay(self, b: &mut Builder<'a>) {
        for e in self.events {
            match e {
                Event::Header(offset, path, array) => b.header(offset, &path, array),
                Event::Key(path) => b.key(path),
            }
        }
    }
}

/// Texts of at least this many bytes are scanned in two parts at once.
const PARALLEL_BYTES: usize = 8 << 20;

/// The outline of `text` (see [`super::scan`]), on up to two of `threads` threads.
pub(crate) fn outline(text: &str, threads: usize) -> Outline {
    outline_from(
        text,
        (threads > 1 && text.len() >= PARALLEL_BYTES)
            .then(|| second_part(text))
            .flatten(),
    )
}

/// Where a second thread may start scanning: the first header-looking line after a third of
/// the text. Not the middle: the first part also builds the outline as it goes, which costs
/// about as much again as scanning (the second part's reports are replayed after), and the
/// parts finish together near a third (profiled on the 1M-service benchmark spec).
fn second_part(text: &str) -> Option<usize> {
    let mid = text.len() / 3;
    memchr::memmem::find(text.as_bytes().get(mid..)?, b"\n[").map(|n| mid + n + 1)
}

/// The outline of `text`, the part from `split` on scanned on a second thread meanwhile.
///
/// The second scan assumes that `split` starts a line outside any value, which only the
/// scan of the text before can tell (a multi-line string or array may hold a line that
/// looks like a header). Scanning is deterministic from such a position, so when the first
/// scan stops exactly at `split` the second scan's reports are the ones a single scan would
/// have made; otherwise they are dropped and the first scan goes on to the end.
fn outline_from(text: &str, split: Option<usize>) -> Outline {
    let mut b = Builder::new();
    // about one named entry per 400 bytes in real specs: sized up front, the name table is
    // not rehashed (and its pages faulted in again) a dozen times on a large file
    b.touches.names.reserve(text.len() / 400);
    match split.filter(|&p| p > 0 && p < text.len()) {
        None => {
            super::scan::scan(text, 0, text.len(), &mut b);
        }
        Some(split) => std::thread::scope(|scope| {
            let ahead = scope.spawn(|| {
                let mut r = Recorder::default();
                super::scan::scan(text, split, text.len(), &mut r);
                r
            });
            let reached = super::scan::scan(text, 0, split, &mut b);
            match ahead.join() {
                Ok(r) if reached == split => r.replay(&mut b),
                _ => {
                    super::scan::scan(text, reached, text.len(), &mut b);
                }
            }
        }),
    }
    b.finish()
}

/// [`outline_from`] with a chosen split (tests).
#[cfg(test)]
pub(crate) fn outline_split_at(text: &str, split: usize) -> Outline {
    outline_from(text, Some(split))
}

/// The outline by the reference scanner on the TOML lexer's tokens (tests).
#[cfg(test)]
pub(crate) fn reference_outline(text: &str) -> Outline {
    let mut b = Builder::new();
    super::reference::scan(text, &mut b);
    b.finish()
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
    let mut span: FxMap<(u32, Part), (u32, u32)> = FxMap::default();
    span.reserve(touches.names.len() + touches.elems as usize + touches.tops.len());
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
