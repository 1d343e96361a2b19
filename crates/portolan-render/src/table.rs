//! A Markdown table builder that escapes cells and keeps column order.

use std::fmt::Write as _;

/// A GitHub-flavoured Markdown table, written row by row into one buffer (no table of
/// cells is kept: a 100,000-row table would be a million small strings).
#[derive(Debug, Default)]
pub struct Table {
    text: String,
    rows: usize,
}

/// Escapes spec text for Markdown prose: `<`, `>` and `&` become entities (Markdown
/// renderers pass raw HTML through, so a purpose of `<script>` would run in the page) and line
/// breaks become spaces (a newline in a title would end the heading and start a paragraph).
pub fn text(s: &str) -> std::borrow::Cow<'_, str> {
    if !s
        .bytes()
        .any(|b| matches!(b, b'<' | b'>' | b'&' | b'\n' | b'\r'))
    {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Escapes a cell: like [`text`], plus pipes (which would end the cell).
pub fn cell(s: &str) -> String {
    text(s).replace('|', "\\|")
}

impl Table {
    /// A table with these column names.
    pub fn new(header: &[&str]) -> Self {
        Self::with_capacity(header, 4096)
    }

    /// A table with these column names and room for `bytes` of text (a large table grows
    /// once instead of doubling, and copying, its buffer a dozen times).
    pub fn with_capacity(header: &[&str], bytes: usize) -> Self {
        let mut text = String::with_capacity(bytes);
        let _ = writeln!(text, "| {} |", header.join(" | "));
        text.push('|');
        for (i, _) in header.iter().enumerate() {
            text.push_str(if i == 0 { "---" } else { "|---" });
        }
        text.push_str("|\n");
        Self { text, rows: 0 }
    }

    /// Adds a row (cells are escaped).
    pub fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.text.push('|');
        for c in cells {
            let c = c.as_ref();
            self.text.push(' ');
            // a byte scan: `contains` with a char array was a fifth of the row cost
            if c.bytes()
                .any(|b| matches!(b, b'|' | b'\n' | b'\r' | b'<' | b'>' | b'&'))
            {
                self.text.push_str(&cell(c));
            } else {
                self.text.push_str(c);
            }
            self.text.push_str(" |");
        }
        self.text.push('\n');
        self.rows += 1;
    }

    /// Room for `bytes` more of text.
    pub fn reserve(&mut self, bytes: usize) {
        self.text.reserve(bytes);
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The table text, ending with a newline.
    pub fn render(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_pipes() {
        let mut t = Table::new(&["a", "b"]);
        t.row(["x|y", "1\n2"]);
        assert_eq!(t.render(), "| a | b |\n|---|---|\n| x\\|y | 1 2 |\n");
    }

    #[test]
    fn regression_spec_text_cannot_inject_html_or_break_lines() {
        // gen markdown wrote raw HTML and line breaks from spec text into PORTS.md
        let mut t = Table::new(&["purpose"]);
        t.row(["<script>alert(1)</script> & co\r\n| next"]);
        assert_eq!(
            t.render(),
            "| purpose |\n|---|\n| &lt;script&gt;alert(1)&lt;/script&gt; &amp; co \\| next |\n"
        );
        assert_eq!(text("# Ops\n<b>bold</b>"), "# Ops &lt;b&gt;bold&lt;/b&gt;");
        assert!(matches!(text("plain"), std::borrow::Cow::Borrowed("plain")));
    }
}
