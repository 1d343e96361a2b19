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
}

impl<'a> LineIndex<'a> {
    /// Indexes `text`, which was read from `path`.
    pub fn new(path: &'a str, text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        LineIndex { path, text, starts }
    }

    /// The location of byte `offset` (clamped to the text; columns count chars).
    pub fn location(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.starts[line];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
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
