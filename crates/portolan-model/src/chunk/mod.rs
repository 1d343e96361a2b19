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
/// that, or `chunk_bytes` is 0).
pub(crate) fn plan(text: &str, chunk_bytes: usize) -> Vec<Chunk> {
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
    let outline = outline::outline(text);
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
    plan(text, CHUNK_BYTES).iter().map(|c| c.start).collect()
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

/// Parses `text` chunk by chunk on up to `threads` threads; errors carry whole-file spans.
#[cfg(test)]
pub(crate) fn parse(text: &str, threads: usize) -> Result<Vec<SpecFile>, ParseError> {
    let ranges: Vec<(usize, usize)> = plan(text, CHUNK_BYTES)
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

    #[test]
    fn values_spanning_lines_are_not_headers() {
        let text = "a = [\n[1, 2],\n[3]\n]\n[services.x]\nbindings.h = { port = 1 }\ns = \"\"\"\n[not.a.header]\n\"\"\"\n";
        let o = outline::outline(text);
        assert_eq!(o.segments.len(), 2);
        assert_eq!(o.segments[1].offset, text.find("[services.x]").unwrap());
        assert!(o.segments[1].services_only);
    }
}
