//! Parsing a large spec in parallel with bounded memory: the file is cut at table headers
//! into chunks that are each a valid TOML document, and that never split one service (or
//! host, project, …) across two chunks; the chunks are parsed on all cores, each holding only
//! its own syntax tree, and merged in order. Spans are shifted back to whole-file offsets.
//! Small files take the plain path.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::spec::SpecFile;

/// A single file is cut into pieces of about this size once it is twice as large.
pub(crate) const CHUNK_BYTES: usize = 64 << 10;

mod outline;
#[cfg(test)]
mod reference;
mod scan;

/// A piece of the file that parses on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chunk {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// Holds nothing but `[services.…]` tables (so it can be resolved on its own).
    pub services_only: bool,
}

/// Cuts `text` into chunks of about `chunk_bytes` (one chunk when it is smaller than twice
/// that, or `chunk_bytes` is 0); a large text is outlined on up to `threads` threads.
pub(crate) fn plan(text: &str, chunk_bytes: usize, threads: usize) -> Vec<Chunk> {
    let whole = vec![Chunk {
        start: 0,
        end: text.len(),
        services_only: false,
    }];
    let wanted = text
        .len()
        .checked_div(chunk_bytes)
        .unwrap_or(1)
        .clamp(1, 1024);
    if wanted == 1 {
        return whole;
    }
    let outline = outline::outline(text, threads);
    crate::timings::phase("outline");
    let step = text.len() / wanted;
    let mut chunks = whole;
    for (segment, &cuttable) in outline.segments.iter().zip(&outline.cuttable) {
        let last = chunks.len() - 1;
        // the first chunk holds the root keys and is never services-only
        if cuttable && segment.offset >= chunks[last].start + step {
            chunks[last].end = segment.offset;
            chunks.push(Chunk {
                start: segment.offset,
                end: text.len(),
                services_only: segment.services_only,
            });
        } else if !segment.services_only {
            chunks[last].services_only = false;
        }
    }
    chunks
}

/// Byte offsets where chunks start (always 0 first).
#[cfg(test)]
pub(crate) fn split_points(text: &str) -> Vec<usize> {
    plan(text, CHUNK_BYTES, 1).iter().map(|c| c.start).collect()
}

/// A TOML error: message and whole-file span.
pub(crate) type ParseError = (String, Option<std::ops::Range<usize>>);

fn convert(e: &toml::de::Error, base: usize) -> ParseError {
    (
        e.message().trim().to_string(),
        e.span().map(|s| s.start + base..s.end + base),
    )
}

/// Parses `text[a..b]` with spans relative to the whole text.
pub(crate) fn parse_one(text: &str, a: usize, b: usize) -> Result<SpecFile, ParseError> {
    let chunk = text.get(a..b).unwrap_or("");
    crate::spanned::with_span_base(a, || toml::from_str::<SpecFile>(chunk))
        .map_err(|e| convert(&e, a))
}

/// Parses the given ranges of `text` on up to `threads` threads, results in order.
pub(crate) fn parse_ranges(
    text: &str,
    ranges: &[(usize, usize)],
    threads: usize,
) -> Result<Vec<SpecFile>, ParseError> {
    if threads <= 1 || ranges.len() <= 1 {
        return ranges.iter().map(|&(a, b)| parse_one(text, a, b)).collect();
    }
    let results: Vec<Mutex<Option<Result<SpecFile, ParseError>>>> =
        ranges.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads.min(ranges.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(a, b)) = ranges.get(i) else { break };
                    let r = parse_one(text, a, b);
                    let failed = r.is_err();
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(r);
                    }
                    if failed {
                        // stop handing out work; the first error is reported
                        next.store(usize::MAX / 2, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let mut out = Vec::with_capacity(results.len());
    for r in results {
        match r.into_inner().ok().flatten() {
            Some(Ok(s)) => out.push(s),
            Some(Err(e)) => return Err(e),
            None => {} // skipped after an earlier error
        }
    }
    Ok(out)
}

/// The parse errors of `text`, up to `limit`, once a parse has failed with `first`: the text
/// is cut before every table that stands on its own and each piece is parsed alone, so an
/// error in one table does not hide those of the others (the parser stops at its first).
/// `first` is always kept; the rest are in file order.
pub(crate) fn parse_errors(text: &str, first: ParseError, limit: usize) -> Vec<ParseError> {
    // only after a failed parse: one thread is plenty
    let outline = outline::outline(text, 1);
    let mut cuts: Vec<usize> = outline
        .segments
        .iter()
        .zip(&outline.cuttable)
        .filter(|&(s, &cuttable)| cuttable && s.offset > 0)
        .map(|(s, _)| s.offset)
        .collect();
    cuts.push(text.len());
    let mut errors = vec![first];
    let mut start = 0;
    for end in cuts {
        if errors.len() >= limit.max(1) {
            break;
        }
        if let Err(e) = parse_one(text, start, end)
            && !errors.iter().any(|x| x.1 == e.1)
        {
            errors.push(e);
        }
        start = end;
    }
    errors.sort_by_key(|e| e.1.as_ref().map_or(usize::MAX, |s| s.start));
    errors
}

/// Parses `text` chunk by chunk on up to `threads` threads; errors carry whole-file spans.
#[cfg(test)]
pub(crate) fn parse(text: &str, threads: usize) -> Result<Vec<SpecFile>, ParseError> {
    let ranges: Vec<(usize, usize)> = plan(text, CHUNK_BYTES, threads)
        .iter()
        .map(|c| (c.start, c.end))
        .collect();
    parse_ranges(text, &ranges, threads)
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    #[test]
    fn splits_only_between_distinct_tables() {
        let mut text = String::new();
        for i in 0..80_000 {
            let _ = write!(
                text,
                "[services.s{i}]\nbindings.http = {{ port = {} }}\n",
                1000 + i % 5000
            );
            if i == 20_000 {
                text.push_str("[[routes]]\nfrom = \"a\"\nto = \"b\"\n");
            }
            if i == 30_000 {
                // re-opens a table of ~1 MB earlier: nothing in between may be split off
                text.push_str("[services.s10000.bindings.extra]\nport = 1\n");
            }
        }
        let points = split_points(&text);
        assert!(points.len() > 2, "{points:?}");
        let (open, reopen) = (
            text.find("[services.s10000]").unwrap(),
            text.find("[services.s10000.bindings.extra]").unwrap(),
        );
        for p in &points[1..] {
            assert!(text[*p..].starts_with("[services.") || text[*p..].starts_with("[[routes]]"));
            assert!(
                *p <= open || *p > reopen,
                "split at {p} inside a re-opened table"
            );
        }
        let chunks = parse(&text, 2).unwrap();
        assert_eq!(
            chunks.iter().map(|c| c.services.len()).sum::<usize>(),
            80_000
        );
        assert_eq!(chunks.iter().map(|c| c.routes.len()).sum::<usize>(), 1);
    }

    #[test]
    fn errors_point_into_the_whole_file() {
        let mut text = String::new();
        for i in 0..60_000 {
            let _ = write!(text, "[services.s{i}]\nbindings.http = {{ port = 1000 }}\n");
        }
        let bad = text.len();
        text.push_str("[services.z]\nbindings.http = { port = 70000 }\n");
        let (msg, span) = parse(&text, 2).unwrap_err();
        assert!(msg.contains("70000"));
        assert_eq!(
            span.unwrap().start,
            bad + "[services.z]\nbindings.http = { port = ".len()
        );
    }

    /// Pieces of TOML, valid and not, that a line-based scanner could misread.
    fn piece() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            Just("[services.a]\n".to_string()),
            Just("[ services . \"b\" ]  # c\n".to_string()),
            Just("[[services.a.lint.allow]]\n".to_string()),
            Just("[[routes]]\n".to_string()),
            Just("[routes.x]\n".to_string()),
            Just("[services]\n".to_string()),
            Just("[hosts.'h1']\r\n".to_string()),
            Just("[\"services\".\"q\\u0062\"]\n".to_string()),
            Just("[lint]\n".to_string()),
            Just("a.b = 1\n".to_string()),
            Just("services.z.port = 2\n".to_string()),
            Just("\"k.x\" = { a = [1, 2], b = \"]\" }\n".to_string()),
            Just("s = \"\"\"\n[services.fake]\n\"\"\"\n".to_string()),
            Just("t = '''\n[[x]]\n'''\n".to_string()),
            Just("u = \"\"\"a\\\"\"\"\"\"\n".to_string()),
            Just("arr = [\n  1, # ]\n  [2],\n]\n".to_string()),
            Just("tab = {\n  x = 1,\n}\n".to_string()),
            Just("# [services.comment]\n".to_string()),
            Just("   [services.indented]\n".to_string()),
            Just("bad line ] [\n".to_string()),
            Just("= 3\n".to_string()),
            Just("x = \"unterminated\n".to_string()),
            Just("y = 'open\n".to_string()),
            Just("[unclosed\n".to_string()),
            Just("[[a]] [b]\n".to_string()),
            Just("\n".to_string()),
            "[a-z\\[\\]{}=.,\"' #\n]{0,12}",
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// The byte scanner outlines every text exactly like the lexer-based reference.
        #[test]
        fn byte_scanner_matches_the_lexer(pieces in proptest::collection::vec(piece(), 0..30)) {
            let text: String = pieces.concat();
            proptest::prop_assert_eq!(outline::outline(&text, 1), outline::reference_outline(&text), "{:?}", text);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]
        /// A second thread scanning from any point gives the one-thread outline: its reports
        /// are used when the first scan lands exactly there, dropped otherwise (a "header"
        /// inside a multi-line string or array, a point inside a line).
        #[test]
        fn a_scan_ahead_from_any_point_gives_the_same_outline(
            pieces in proptest::collection::vec(piece(), 0..30),
            at in 0usize..10_000,
            line_start in proptest::prelude::any::<bool>(),
        ) {
            let text: String = pieces.concat();
            // mostly where a line starts (where the loader splits, and where the first scan
            // can land), else anywhere
            let starts: Vec<usize> = text.match_indices('\n').map(|(i, _)| i + 1).collect();
            let split = match starts.len() {
                n if line_start && n > 0 => starts[at % n],
                _ => at % (text.len() + 1),
            };
            proptest::prop_assert_eq!(outline::outline_split_at(&text, split), outline::outline(&text, 1), "split at {} of {:?}", split, text);
        }
    }

    /// The split the loader picks, on a text where it falls inside a multi-line string and
    /// one where it starts a real header.
    #[test]
    fn a_scan_ahead_dropped_or_used_gives_the_same_outline() {
        let fake = "\n[services.fake]\n".repeat(64);
        let text = format!("[services.a]\nnote = \"\"\"{fake}\"\"\"\n[services.b]\nport = 1\n");
        let split = text.find("\n[services.fake]").expect("fake") + 1;
        assert_eq!(
            outline::outline_split_at(&text, split),
            outline::outline(&text, 1)
        );
        let real = text.find("\n[services.b]").expect("b") + 1;
        assert_eq!(
            outline::outline_split_at(&text, real),
            outline::outline(&text, 1)
        );
        assert_eq!(outline::outline(&text, 1).segments.len(), 3);
    }

    #[test]
    fn byte_scanner_matches_the_lexer_on_the_fixtures() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut n = 0;
        for dir in ["examples", "tests/fixtures/lint"] {
            for e in std::fs::read_dir(root.join(dir))
                .expect("dir")
                .filter_map(Result::ok)
            {
                if let Ok(text) = std::fs::read_to_string(e.path().join("ports.toml")) {
                    assert_eq!(
                        outline::outline(&text, 1),
                        outline::reference_outline(&text),
                        "{}",
                        e.path().display()
                    );
                    n += 1;
                }
            }
        }
        assert!(n > 10);
    }

    #[test]
    fn values_spanning_lines_are_not_headers() {
        let text = "a = [\n[1, 2],\n[3]\n]\n[services.x]\nbindings.h = { port = 1 }\ns = \"\"\"\n[not.a.header]\n\"\"\"\n";
        let o = outline::outline(text, 1);
        assert_eq!(o.segments.len(), 2);
        assert_eq!(o.segments[1].offset, text.find("[services.x]").unwrap());
        assert!(o.segments[1].services_only);
    }
}
