//! Small text helpers every parser shares: byte offset → line/column, and port tokens.

use crate::evidence::Location;
use portolan_model::port::PortRange;

/// Maps byte offsets of one text to 1-based line/column [`Location`]s.
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    path: &'a str,
    text: &'a str,
    /// Byte offset where each line starts.
    starts: Vec<usize>,
    /// Whether the whole text is ASCII (then a column is a byte offset: no counting).
    ascii: bool,
}

impl<'a> LineIndex<'a> {
    /// Indexes `text`, which was read from `path`.
    pub fn new(path: &'a str, text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        LineIndex {
            path,
            text,
            starts,
            ascii: text.is_ascii(),
        }
    }

    /// The location of byte `offset` (clamped to the text; columns count chars).
    pub fn location(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.starts[line];
        // ASCII: one step; otherwise count the line's chars up to the offset
        let col = if self.ascii {
            offset - start
        } else {
            self.text
                .get(start..offset)
                .map_or(offset - start, |s| s.chars().count())
        };
        Location::new(
            self.path,
            u32::try_from(line + 1).unwrap_or(u32::MAX),
            u32::try_from(col + 1).unwrap_or(u32::MAX),
        )
    }

    /// The location of 1-based `line`, 1-based char column `col` (for parsers that count
    /// lines themselves).
    pub fn at(&self, line: usize, col: usize) -> Location {
        Location::new(
            self.path,
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(col).unwrap_or(u32::MAX),
        )
    }

    /// The byte offset of a location in this text (`None` past its end): the inverse of
    /// [`LineIndex::location`].
    pub fn offset(&self, line: u32, col: u32) -> Option<usize> {
        let start = *self.starts.get((line as usize).checked_sub(1)?)?;
        let rest = self.text.get(start..)?;
        let col = (col as usize).checked_sub(1)?;
        rest.char_indices()
            .map(|(b, _)| b)
            .chain(std::iter::once(rest.len()))
            .nth(col)
            .map(|b| start + b)
    }

    /// The byte offset where 1-based `line` starts.
    pub fn line_start(&self, line: u32) -> Option<usize> {
        self.starts.get((line as usize).checked_sub(1)?).copied()
    }

    /// At most about `max` bytes of 1-based `line` around 1-based char column `col`, cut at
    /// whitespace so no token (a `KEY=secret`) is shown in part, with `…` where it was cut.
    /// Long lines (one `EXPOSE` of 40,000 ports) cost the window, not the line.
    pub fn window(&self, line: usize, col: usize, max: usize) -> String {
        let text = self.line_text(line).trim();
        if text.len() <= max {
            return text.to_string();
        }
        let full = self.line_text(line);
        let lead = full.len() - full.trim_start().len();
        let at = if self.ascii {
            col.saturating_sub(1).saturating_sub(lead)
        } else {
            full.char_indices()
                .nth(col.saturating_sub(1))
                .map_or(full.len(), |(b, _)| b)
                .saturating_sub(lead)
        }
        .min(text.len());
        let floor = |mut i: usize| {
            while i > 0 && !text.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let mut a = floor(at.saturating_sub(max / 2));
        let mut b = floor((at + max / 2).min(text.len()));
        if b < text.len() {
            b = text[..b]
                .rfind(char::is_whitespace)
                .filter(|&i| i > at)
                .unwrap_or(b);
        }
        if a > 0 {
            a = text[a..at.max(a)]
                .find(char::is_whitespace)
                .map_or(a, |i| a + i + 1);
        }
        let mut out = String::with_capacity(b - a + 8);
        if a > 0 {
            out.push('…');
        }
        out.push_str(&text[a..b]);
        if b < text.len() {
            out.push('…');
        }
        out
    }

    /// The text of 1-based `line`, without its line break.
    pub fn line_text(&self, line: usize) -> &'a str {
        let Some(&start) = self.starts.get(line.wrapping_sub(1)) else {
            return "";
        };
        let end = self.starts.get(line).map_or(self.text.len(), |&e| e);
        self.text
            .get(start..end)
            .unwrap_or("")
            .trim_end_matches(['\n', '\r'])
    }

    /// The path this index was built for.
    pub fn path(&self) -> &'a str {
        self.path
    }
}

/// Parses a port token: `8080`, `8000-8010`; `None` for anything else (0, > 65535, text).
pub fn port_token(s: &str) -> Option<PortRange> {
    let s = s.trim();
    match s.split_once('-') {
        Some((a, b)) => PortRange::new(port_number(a)?, port_number(b)?).ok(),
        None => port_number(s).map(PortRange::single),
    }
}

/// Parses a single port number 1–65535.
pub fn port_number(s: &str) -> Option<u16> {
    let s = s.trim();
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u16>().ok().filter(|&p| p != 0)
}

/// Whether the bytes look like a binary file (a NUL in the first 8 KiB, like git and rg).
pub fn looks_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_one_based_and_count_chars() {
        let text = "a\nbé c\n";
        let ix = LineIndex::new("f", text);
        assert_eq!(ix.location(0).to_string(), "f:1:1");
        assert_eq!(ix.location(2).to_string(), "f:2:1");
        // "bé " is 4 bytes but 3 chars: the `c` is column 4.
        assert_eq!(ix.location(6).to_string(), "f:2:4");
        assert_eq!(ix.location(999).to_string(), "f:3:1");
        assert_eq!(ix.line_text(2), "bé c");
        assert_eq!(ix.line_text(9), "");
    }

    #[test]
    fn port_tokens() {
        assert_eq!(port_number("8080"), Some(8080));
        assert_eq!(port_number("0"), None);
        assert_eq!(port_number("65536"), None);
        assert_eq!(port_number("+80"), None);
        assert!(port_token("8000-8010").is_some());
        assert!(port_token("8010-8000").is_none());
    }
}

/// The directory part of a `/`-separated shown path (`""` for a file at the root).
pub fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

/// `rel` (as written in a file in `dir`) as a `/`-separated path relative to the walked
/// root: `.` and `..` resolved lexically. `None` for absolute paths and paths that climb
/// above the root, which no evidence of the walked tree can be tied to.
pub fn join_path(dir: &str, rel: &str) -> Option<String> {
    let rel = rel.trim();
    if rel.starts_with('/') || rel.starts_with('~') || rel.contains("://") {
        return None;
    }
    let mut parts: Vec<&str> = dir
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    for c in rel.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    // a root walked by absolute path keeps its leading `/`
    Some(if dir.starts_with('/') {
        format!("/{joined}")
    } else {
        joined
    })
}

/// Whether `path` is `dir` or lies inside it (both `/`-separated, relative).
pub fn is_within(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path == dir
        || (path.starts_with(dir) && path.as_bytes().get(dir.len()) == Some(&b'/'))
}

#[cfg(test)]
mod path_tests {
    use super::*;

    #[test]
    fn joins_resolve_dots_lexically() {
        assert_eq!(join_path("a/b", "./web").as_deref(), Some("a/b/web"));
        assert_eq!(
            join_path("dev", "../collector").as_deref(),
            Some("collector")
        );
        assert_eq!(join_path("", "web").as_deref(), Some("web"));
        assert_eq!(join_path("", "../x"), None);
        assert_eq!(
            join_path("x/../../t/s", "./web").as_deref(),
            Some("x/../../t/s/web")
        );
        assert_eq!(join_path("/r/s", "./web").as_deref(), Some("/r/s/web"));
        assert!(is_within("a/web/pkg.json", "a/web"));
        assert!(!is_within("a/webx/pkg.json", "a/web"));
    }
}
