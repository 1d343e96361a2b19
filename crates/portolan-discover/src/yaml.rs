//! YAML with positions, shared by the compose and Kubernetes parsers: a stream split into
//! documents (so one malformed document does not hide the others), scalar text as written,
//! and saphyr's markers (1-based line, 0-based char column, char index) turned into file
//! [`crate::Location`]s and byte offsets.

use saphyr::{LoadableYamlNode, MarkedYaml, Marker, Scalar, YamlData};

use crate::evidence::{PortUse, Problem, SourceKind};
use crate::text::LineIndex;

/// A node of a loaded document.
pub(crate) type Node<'t> = MarkedYaml<'t>;

/// One document of a YAML stream and where its text sits in the file.
pub(crate) struct Doc<'t> {
    /// The document's root node.
    pub root: Node<'t>,
    /// The document's text (a slice of the file).
    text: &'t str,
    /// Byte offset of `text` in the file.
    base_byte: usize,
    /// Whether `text` is ASCII (char indices are byte offsets).
    ascii: bool,
}

/// Splits `text` into documents at `---` lines and loads each one; a document that does
/// not load becomes a [`Problem`] at the position saphyr reports.
pub(crate) fn documents<'t>(ix: &LineIndex<'_>, text: &'t str) -> Vec<Result<Doc<'t>, Problem>> {
    let mut out = Vec::new();
    for (base_byte, base_line, chunk) in chunks(text) {
        if let Some((line, col)) = too_deep(chunk) {
            out.push(Err(Problem {
                at: ix.at(base_line + line, col),
                reason: format!(
                    "YAML nested deeper than {MAX_DEPTH} levels: this document is not read"
                ),
            }));
            continue;
        }
        // straight from the text (`load_from_str` goes through a char iterator and a
        // buffer); scalars borrow from it
        match Node::load_from_parser(&mut saphyr_parser::Parser::new_from_str(chunk)) {
            Ok(roots) => {
                for root in roots {
                    out.push(Ok(Doc {
                        root,
                        text: chunk,
                        base_byte,
                        ascii: chunk.is_ascii(),
                    }));
                }
            }
            Err(e) => {
                let m = e.marker();
                out.push(Err(Problem {
                    at: ix.at(base_line + m.line().max(1), m.col() + 1),
                    reason: format!("malformed YAML: {}", e.info()),
                }));
            }
        }
    }
    out
}

/// How deep mappings, sequences and flow collections may nest in one document (compose
/// files and manifests use about ten levels). Deeper documents are refused before they
/// are loaded: the tree, and every walk over it, stays shallow.
pub(crate) const MAX_DEPTH: usize = 100;

/// Where a document first nests deeper than [`MAX_DEPTH`] (1-based line, 1-based column),
/// estimated in one pass without loading it: block indentation levels, `- ` items opened on
/// one line, and unclosed `[`/`{` outside quotes and comments.
fn too_deep(chunk: &str) -> Option<(usize, usize)> {
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    for (n, line) in chunk.lines().enumerate() {
        let body = line.trim_start_matches([' ', '\t']);
        let indent = line.len() - body.len();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        if flow == 0 {
            while indents.last().is_some_and(|&i| i >= indent) {
                indents.pop();
            }
            indents.push(indent);
        }
        let mut rest = body;
        let mut dashes = 0;
        while let Some(r) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("-\t")) {
            dashes += 1;
            rest = r.trim_start();
        }
        if indents.len() + dashes > MAX_DEPTH {
            return Some((n + 1, indent + 1));
        }
        let (mut single, mut double, mut prev_space) = (false, false, true);
        for (col, c) in line.char_indices().skip(line.len() - rest.len()) {
            match c {
                '\'' if !double => single = !single,
                '"' if !single => double = !double,
                '#' if !single && !double && prev_space => break,
                '[' | '{' if !single && !double => {
                    flow += 1;
                    if indents.len() + dashes + flow > MAX_DEPTH {
                        return Some((n + 1, col + 1));
                    }
                }
                ']' | '}' if !single && !double => flow = flow.saturating_sub(1),
                _ => {}
            }
            prev_space = c == ' ' || c == '\t';
        }
    }
    None
}

/// `(byte offset, lines before, text)` of each document of a stream. A chunk holding only
/// comments or directives is kept with the document after it.
fn chunks(text: &str) -> Vec<(usize, usize, &str)> {
    let mut starts: Vec<(usize, usize)> = vec![(0, 0)];
    let mut offset = 0;
    let mut pending_only_header = true;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let is_marker = line.starts_with("---")
            && line[3..]
                .chars()
                .next()
                .is_none_or(|c| c == ' ' || c == '\t' || c == '\r' || c == '\n');
        if is_marker && n > 0 {
            if pending_only_header {
                // Only comments/directives so far: the marker belongs to the same chunk.
            } else {
                starts.push((offset, n));
            }
            pending_only_header = true;
        }
        let t = if is_marker { &line[3..] } else { line }.trim();
        if !(t.is_empty() || t.starts_with('#') || (!is_marker && t.starts_with('%'))) {
            pending_only_header = false;
        }
        offset += line.len();
    }
    let mut out = Vec::with_capacity(starts.len());
    for (i, &(start, line)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(text.len(), |&(s, _)| s);
        out.push((start, line, text.get(start..end).unwrap_or("")));
    }
    out
}

impl Doc<'_> {
    /// The file byte offset of a marker.
    pub fn byte(&self, m: Marker) -> usize {
        self.base_byte + self.to_byte(m.index())
    }

    /// The source text a node spans (empty when the span is unknown).
    pub fn source(&self, node: &Node) -> &str {
        let a = self.to_byte(node.span.start.index());
        let b = self.to_byte(node.span.end.index());
        self.text.get(a..b.max(a)).unwrap_or("")
    }

    /// A scalar's text as it was written: the string value of a quoted or plain string, the
    /// source text of a number or boolean (`0x50` stays `0x50`, `8080` stays `8080`); `None`
    /// for null and collections.
    pub fn scalar(&self, node: &Node) -> Option<String> {
        match &untag(node).data {
            YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
            YamlData::Value(Scalar::Integer(_) | Scalar::FloatingPoint(_) | Scalar::Boolean(_)) => {
                Some(self.source(untag(node)).trim().to_string())
            }
            _ => None,
        }
    }

    /// Where a scalar's content starts in the file (after an opening quote), and whether the
    /// value `value` is written there verbatim (so offsets inside it map to the file).
    pub fn content_start(&self, node: &Node, value: &str) -> (usize, bool) {
        let node = untag(node);
        let src = self.source(node);
        let mut start = self.byte(node.span.start);
        let mut body = src;
        if src.starts_with('"') || src.starts_with('\'') {
            start += 1;
            body = &src[1..];
        }
        (start, body.starts_with(value) && !value.contains('\n'))
    }
}

impl Doc<'_> {
    /// Byte offset of char `index` of the document (one step when it is ASCII).
    fn to_byte(&self, index: usize) -> usize {
        if self.ascii {
            index.min(self.text.len())
        } else {
            char_to_byte(self.text, index)
        }
    }
}

/// Byte offset of char `index` in `text` (clamped to its end).
fn char_to_byte(text: &str, index: usize) -> usize {
    if text.is_ascii() {
        return index.min(text.len());
    }
    text.char_indices()
        .nth(index)
        .map_or(text.len(), |(b, _)| b)
}

/// The node under any tags (`!reset`, `!override`, `!!map`).
pub(crate) fn untag<'n, 't>(mut node: &'n Node<'t>) -> &'n Node<'t> {
    while let YamlData::Tagged(_, inner) = &node.data {
        node = inner;
    }
    node
}

/// The entries of a mapping node whose keys are strings (empty for anything else).
pub(crate) fn entries<'n, 't>(node: &'n Node<'t>) -> impl Iterator<Item = (&'n str, &'n Node<'t>)> {
    let map = match &untag(node).data {
        YamlData::Mapping(m) => Some(m),
        _ => None,
    };
    map.into_iter().flat_map(|m| {
        m.iter().filter_map(|(k, v)| match &untag(k).data {
            YamlData::Value(Scalar::String(s)) => Some((s.as_ref(), v)),
            _ => None,
        })
    })
}

/// The value under `key` in a mapping node, or in what it merges with `<<: *anchor`.
pub(crate) fn get<'n, 't>(node: &'n Node<'t>, key: &str) -> Option<&'n Node<'t>> {
    get_in(node, key, 0)
}

/// [`get`] through at most [`MAX_DEPTH`] levels of merges.
fn get_in<'n, 't>(node: &'n Node<'t>, key: &str, depth: usize) -> Option<&'n Node<'t>> {
    if let Some((_, v)) = entries(node).find(|(k, _)| *k == key) {
        return Some(v);
    }
    if depth >= MAX_DEPTH {
        return None;
    }
    let (_, merged) = entries(node).find(|(k, _)| *k == "<<")?;
    if is_mapping(merged) {
        return get_in(merged, key, depth + 1);
    }
    items(merged).iter().find_map(|m| get_in(m, key, depth + 1))
}

/// The items of a sequence node (empty for anything else).
pub(crate) fn items<'n, 't>(node: &'n Node<'t>) -> &'n [Node<'t>] {
    match &untag(node).data {
        YamlData::Sequence(s) => s,
        _ => &[],
    }
}

/// Whether a node is a mapping.
pub(crate) fn is_mapping(node: &Node) -> bool {
    matches!(untag(node).data, YamlData::Mapping(_))
}

/// A command written as a string or a list of strings, joined by spaces, and where each
/// piece sits in the file, so ports found in the joined text point at their token.
#[derive(Default)]
pub(crate) struct Command {
    /// The joined text.
    pub text: String,
    /// `(start in text, end in text, file byte of the piece's first char, verbatim)`.
    pieces: Vec<(usize, usize, usize, bool)>,
}

impl Command {
    /// Appends a scalar node's value (a string, or each string of a list).
    pub fn push(&mut self, doc: &Doc<'_>, node: &Node) {
        let list = items(node);
        if list.is_empty() {
            if let Some(value) = doc.scalar(node) {
                self.push_piece(doc, node, &value);
            }
        } else {
            for item in list {
                if let Some(value) = doc.scalar(item) {
                    self.push_piece(doc, item, &value);
                }
            }
        }
    }

    fn push_piece(&mut self, doc: &Doc<'_>, node: &Node, value: &str) {
        if !self.text.is_empty() {
            self.text.push(' ');
        }
        let (file, verbatim) = doc.content_start(node, value);
        let start = self.text.len();
        self.text.push_str(value);
        self.pieces.push((start, self.text.len(), file, verbatim));
    }

    /// Runs [`crate::cmdline::scan`] over the joined text and points each use back into the
    /// file (at the token when the piece is written verbatim, else at the piece's start).
    pub fn scan(&self, ix: &LineIndex<'_>, source: SourceKind) -> Vec<PortUse> {
        if self.text.trim().is_empty() {
            return Vec::new();
        }
        let local = LineIndex::new(ix.path(), &self.text);
        let mut uses = crate::cmdline::scan(&local, source, &self.text, 0);
        for u in &mut uses {
            let pos = byte_at(&self.text, u.at.line, u.at.col);
            let piece = self
                .pieces
                .iter()
                .find(|p| p.0 <= pos && pos < p.1.max(p.0 + 1))
                .or_else(|| self.pieces.last());
            if let Some(&(start, _, file, verbatim)) = piece {
                let offset = if verbatim {
                    file + (pos.saturating_sub(start))
                } else {
                    file
                };
                u.at = ix.location(offset);
            }
        }
        uses
    }
}

/// The byte offset of 1-based `line`, 1-based char `col` in `text`.
fn byte_at(text: &str, line: u32, col: u32) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let skip = usize::try_from(col.saturating_sub(1)).unwrap_or(usize::MAX);
    text[start..]
        .char_indices()
        .nth(skip)
        .map_or(text.len(), |(b, _)| start + b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_split_and_positions_are_file_relative() {
        let text = "# c\n---\na: 1\n---\nb: [x\n---\nc: \"q\"\n";
        let ix = LineIndex::new("f", text);
        let docs = documents(&ix, text);
        assert_eq!(docs.len(), 3);
        let Err(p) = &docs[1] else {
            panic!("second document is malformed")
        };
        // saphyr reports an unclosed `[` where the document ends.
        assert_eq!(p.at.line, 6, "{p:?}");
        let Ok(d) = &docs[2] else { panic!() };
        let c = get(&d.root, "c").expect("c");
        assert_eq!(ix.location(d.byte(c.span.start)).to_string(), "f:7:4");
        let (b, verbatim) = d.content_start(c, "q");
        assert!(verbatim);
        assert_eq!(ix.location(b).to_string(), "f:7:5");
        let Ok(d) = &docs[0] else { panic!() };
        assert_eq!(
            d.scalar(get(&d.root, "a").expect("a")).as_deref(),
            Some("1")
        );
    }

    #[test]
    fn scalars_keep_their_written_text() {
        let text = "a: 0x50\nb: 22:22\nc: 'x'\nd:\ne: é1.50\nf: 1.50\n";
        let ix = LineIndex::new("f", text);
        let docs = documents(&ix, text);
        let Ok(d) = &docs[0] else { panic!() };
        let s = |k| d.scalar(get(&d.root, k).expect(k));
        assert_eq!(s("a").as_deref(), Some("0x50"));
        assert_eq!(s("b").as_deref(), Some("22:22"));
        assert_eq!(s("c").as_deref(), Some("x"));
        assert_eq!(s("d"), None);
        assert_eq!(s("f").as_deref(), Some("1.50"));
    }

    #[test]
    fn byte_at_counts_chars() {
        assert_eq!(byte_at("ab\néc", 2, 2), 5);
        assert_eq!(byte_at("ab", 9, 1), 2);
    }
}
