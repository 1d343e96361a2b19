//! A small line-based Markdown block scanner: ATX and setext headings, pipe tables (with or
//! without outer pipes), HTML `<table>`s, fenced code blocks (with their info string), list
//! items, definition lists (`Term` / `: definition`) and other text lines, each with its
//! 1-based line number. A fence that holds Markdown — info string `markdown`/`md`, or a
//! `text`/bare fence with a pipe table in it (documents pasted together) — is scanned as
//! Markdown too, its blocks marked with where they came from. Enough of `CommonMark` for port
//! documents; never fails.

use std::collections::BTreeSet;

/// One block of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// `## Title` (level 1–6).
    Heading {
        /// 1–6.
        level: u8,
        /// The title text (raw inline Markdown).
        text: String,
        /// Line of the heading.
        line: usize,
    },
    /// A pipe table.
    Table(Table),
    /// A fenced code block.
    Code(Code),
    /// A list item (`- x`, `* x`, `1. x`), continuation lines not included; or one
    /// definition of a definition list, with its term.
    Item {
        /// The text after the marker.
        text: String,
        /// Line of the item.
        line: usize,
        /// The term, for a definition (`Syncthing` / `: GUI on 8384`).
        term: Option<String>,
    },
    /// Any other non-blank line (paragraph text, block quote).
    Text {
        /// The line.
        text: String,
        /// Its number.
        line: usize,
    },
}

/// A table: the header cells and the body rows (cells as written, unescaped `\|`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Header cells.
    pub header: Vec<String>,
    /// Body rows: the cells and the line.
    pub rows: Vec<(Vec<String>, usize)>,
    /// Line of the header.
    pub line: usize,
    /// Last line.
    pub end: usize,
    /// `table`, `html table`, `table (in a markdown fence)`, …
    pub origin: String,
    /// Group titles between rows (an HTML row that is one cell across the table): (line,
    /// text).
    pub groups: Vec<(usize, String)>,
}

/// A fenced code block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// The info string, lowercased first word (`yaml`, `bash`, `nginx`, or empty).
    pub lang: String,
    /// Body lines with their numbers.
    pub lines: Vec<(String, usize)>,
    /// Line of the opening fence.
    pub line: usize,
    /// Line of the closing fence (or the last line).
    pub end: usize,
}

/// Splits one table row into cells (outer pipes optional, `\|` is a literal pipe, pipes
/// inside code spans count as separators as in GFM).
pub fn split_row(line: &str) -> Vec<String> {
    let t = line.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = if t.ends_with('|') && !t.ends_with("\\|") {
        &t[..t.len() - 1]
    } else {
        t
    };
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cur.push('|');
                chars.next();
            }
            '|' => cells.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(c),
        }
    }
    cells.push(cur.trim().to_string());
    cells
}

fn is_delimiter_row(line: &str) -> bool {
    let t = line.trim();
    if !t.contains('-') {
        return false;
    }
    let cells = split_row(t);
    !cells.is_empty()
        && cells.iter().all(|c| {
            let c = c.trim();
            !c.is_empty() && c.trim_matches(':').chars().all(|ch| ch == '-') && c.contains('-')
        })
}

fn fence(line: &str) -> Option<(char, usize, &str)> {
    let t = line.trim_start();
    let indent = line.len() - t.len();
    if indent > 3 {
        return None;
    }
    let c = t.chars().next()?;
    if c != '`' && c != '~' {
        return None;
    }
    let n = t.chars().take_while(|&x| x == c).count();
    if n < 3 {
        return None;
    }
    let info = &t[n..];
    if c == '`' && info.contains('`') {
        return None;
    }
    Some((c, n, info.trim()))
}

fn list_item(line: &str) -> Option<&str> {
    let t = line.trim_start();
    for m in ["- ", "* ", "+ "] {
        if let Some(rest) = t.strip_prefix(m) {
            return Some(rest.trim());
        }
    }
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && digits < 10 {
        let rest = &t[digits..];
        if let Some(r) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some(r.trim());
        }
    }
    None
}

/// Scans `text` into blocks, in document order.
pub fn scan(text: &str) -> Vec<Block> {
    scan_around(text, &BTreeSet::new())
}

/// Scans `text` into blocks, in document order; `gaps` are lines blanked because they were
/// not text (decoding), which a table's rows continue across instead of ending there.
pub fn scan_around(text: &str, gaps: &BTreeSet<usize>) -> Vec<Block> {
    let lines: Vec<(&str, usize)> = text.lines().enumerate().map(|(i, l)| (l, i + 1)).collect();
    let mut out = Vec::new();
    scan_lines(&lines, "", 0, gaps, &mut out);
    out
}

/// Whether the lines hold a pipe table (a row followed by a delimiter row).
fn has_pipe_table(lines: &[(String, usize)]) -> bool {
    lines
        .windows(2)
        .any(|w| w[0].0.contains('|') && is_delimiter_row(&w[1].0))
}

fn is_html_table_start(t: &str) -> bool {
    let l = t.trim_start().to_ascii_lowercase();
    l.starts_with("<table")
}

fn origin(base: &str, within: &str) -> String {
    if within.is_empty() {
        base.to_string()
    } else {
        format!("{base} {within}")
    }
}

#[allow(clippy::too_many_lines)]
fn scan_lines(
    lines: &[(&str, usize)],
    within: &str,
    depth: usize,
    gaps: &BTreeSet<usize>,
    out: &mut Vec<Block>,
) {
    let mut i = 0;
    while i < lines.len() {
        let (line, n) = lines[i];
        if let Some((c, len, info)) = fence(line) {
            let mut body = Vec::new();
            let mut j = i + 1;
            while j < lines.len() {
                if let Some((c2, len2, rest)) = fence(lines[j].0) {
                    if c2 == c && len2 >= len && rest.is_empty() {
                        break;
                    }
                }
                body.push((lines[j].0.to_string(), lines[j].1));
                j += 1;
            }
            let lang = info
                .split(|ch: char| ch.is_whitespace() || ch == '{' || ch == ',')
                .next()
                .unwrap_or("")
                .trim_start_matches('.')
                .to_ascii_lowercase();
            let end = lines
                .get(j)
                .map_or_else(|| body.last().map_or(n, |(_, l)| *l), |l| l.1);
            let markdown = matches!(lang.as_str(), "markdown" | "md" | "mdown" | "gfm");
            let texty = matches!(lang.as_str(), "" | "text" | "txt" | "plain" | "plaintext");
            if depth < 4 && (markdown || (texty && has_pipe_table(&body))) {
                let inner: Vec<(&str, usize)> =
                    body.iter().map(|(l, k)| (l.as_str(), *k)).collect();
                let label = if lang.is_empty() {
                    "(in a fence)".to_string()
                } else {
                    format!("(in a ```{lang} fence)")
                };
                scan_lines(&inner, &label, depth + 1, gaps, out);
            } else {
                out.push(Block::Code(Code {
                    lang,
                    lines: body,
                    line: n,
                    end,
                }));
            }
            i = j + 1;
            continue;
        }
        let t = line.trim();
        if t.is_empty() {
            i += 1;
            continue;
        }
        if is_html_table_start(t) {
            // up to the matching </table> (nested tables included)
            let mut depth_t = 0usize;
            let mut j = i;
            let mut body = Vec::new();
            while j < lines.len() {
                let l = lines[j].0;
                let low = l.to_ascii_lowercase();
                depth_t += low.matches("<table").count();
                depth_t = depth_t.saturating_sub(low.matches("</table").count());
                body.push((l.to_string(), lines[j].1));
                j += 1;
                if depth_t == 0 {
                    break;
                }
            }
            if let Some(table) = super::html::table(&body, &origin("html table", within)) {
                out.push(Block::Table(table));
            }
            i = j;
            continue;
        }
        if t.starts_with('#') && line.len() - line.trim_start().len() <= 3 {
            let level = t.chars().take_while(|&c| c == '#').count();
            let rest = &t[level..];
            if level <= 6 && (rest.is_empty() || rest.starts_with([' ', '\t'])) {
                let text = rest.trim().trim_end_matches('#').trim().to_string();
                out.push(Block::Heading {
                    level: u8::try_from(level).unwrap_or(6),
                    text,
                    line: n,
                });
                i += 1;
                continue;
            }
        }
        if t.contains('|') && i + 1 < lines.len() && is_delimiter_row(lines[i + 1].0) {
            let header = split_row(t);
            let mut rows = Vec::new();
            let mut j = i + 2;
            let mut end = lines[i + 1].1;
            while j < lines.len() {
                let r = lines[j].0.trim();
                if gaps.contains(&lines[j].1) {
                    // an unreadable line inside the table: the rows after it still belong
                    // to it (the line itself is listed by the decoder)
                    let next = lines[j..].iter().find(|(_, k)| !gaps.contains(k));
                    if next.is_some_and(|(l, _)| {
                        let l = l.trim();
                        l.contains('|') && fence(l).is_none()
                    }) {
                        j += 1;
                        continue;
                    }
                    break;
                }
                if r.is_empty() || !r.contains('|') || fence(r).is_some() {
                    break;
                }
                rows.push((split_row(r), lines[j].1));
                end = lines[j].1;
                j += 1;
            }
            out.push(Block::Table(Table {
                header,
                rows,
                line: n,
                end,
                origin: origin("table", within),
                groups: Vec::new(),
            }));
            i = j;
            continue;
        }
        // Setext heading: a text line followed by === or ---.
        if i + 1 < lines.len() && list_item(line).is_none() {
            let u = lines[i + 1].0.trim();
            if !u.is_empty()
                && (u.chars().all(|c| c == '=') || (u.len() >= 3 && u.chars().all(|c| c == '-')))
            {
                let level = if u.starts_with('=') { 1 } else { 2 };
                out.push(Block::Heading {
                    level,
                    text: t.to_string(),
                    line: n,
                });
                i += 2;
                continue;
            }
        }
        // Definition list: a term, then lines starting with `:`.
        if list_item(line).is_none()
            && i + 1 < lines.len()
            && definition(lines[i + 1].0).is_some()
            && definition(line).is_none()
        {
            let term = t.to_string();
            let mut j = i + 1;
            while j < lines.len() {
                let Some(d) = definition(lines[j].0) else {
                    break;
                };
                out.push(Block::Item {
                    text: d.to_string(),
                    line: lines[j].1,
                    term: Some(term.clone()),
                });
                j += 1;
            }
            i = j;
            continue;
        }
        if let Some(item) = list_item(line) {
            out.push(Block::Item {
                text: item.to_string(),
                line: n,
                term: None,
            });
        } else {
            out.push(Block::Text {
                text: t.trim_start_matches('>').trim().to_string(),
                line: n,
            });
        }
        i += 1;
    }
}

/// `:   definition` (a definition-list line).
fn definition(line: &str) -> Option<&str> {
    let t = line.trim_start();
    if line.len() - t.len() > 3 {
        return None;
    }
    let rest = t.strip_prefix(':')?;
    rest.starts_with([' ', '\t']).then(|| rest.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_blocks() {
        let doc = "# T\n\n| A | B |\n|---|:-:|\n| 1 | 2 \\| 3 |\n\n```yaml title\nx: 1\n```\n- item\ntext\n";
        let b = scan(doc);
        assert!(matches!(&b[0], Block::Heading { level: 1, text, line: 1 } if text == "T"));
        let Block::Table(t) = &b[1] else {
            panic!("{b:?}")
        };
        assert_eq!(t.rows[0].0, vec!["1", "2 | 3"]);
        assert_eq!(t.rows[0].1, 5);
        let Block::Code(c) = &b[2] else { panic!() };
        assert_eq!((c.lang.as_str(), c.lines[0].1), ("yaml", 8));
        assert!(matches!(
            &b[3],
            Block::Item {
                line: 10,
                term: None,
                ..
            }
        ));
        assert!(matches!(&b[4], Block::Text { line: 11, .. }));
    }

    #[test]
    fn tables_in_fences_and_html_and_definitions() {
        let doc = "==> a.md <==\n```markdown\n## In\n\n| A | B |\n|---|---|\n| x | 80 |\n```\n```\nPort | Use\n-----|----\n22 | ssh\n```\n<table><tr><th>P</th></tr>\n<tr><td>9</td></tr></table>\nTerm\n:   def one\n:   def two\n```bash\necho | grep x\n```\n";
        let b = scan(doc);
        let tables: Vec<&Table> = b
            .iter()
            .filter_map(|x| {
                if let Block::Table(t) = x {
                    Some(t)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(tables.len(), 3, "{b:?}");
        assert_eq!(tables[0].origin, "table (in a ```markdown fence)");
        assert_eq!((tables[0].line, tables[0].rows[0].1), (5, 7));
        assert_eq!(tables[1].origin, "table (in a fence)");
        assert_eq!(tables[1].header, ["Port", "Use"]);
        assert_eq!(tables[2].origin, "html table");
        assert!(
            b.iter()
                .any(|x| matches!(x, Block::Heading { text, line: 3, .. } if text == "In"))
        );
        let defs: Vec<(&str, Option<&str>)> = b
            .iter()
            .filter_map(|x| match x {
                Block::Item { text, term, .. } => Some((text.as_str(), term.as_deref())),
                _ => None,
            })
            .collect();
        assert_eq!(defs, [("def one", Some("Term")), ("def two", Some("Term"))]);
        assert!(
            b.iter()
                .any(|x| matches!(x, Block::Code(c) if c.lang == "bash" && c.end == 21))
        );
    }

    #[test]
    fn unclosed_fence_runs_to_the_end() {
        let b = scan("```\na\nb");
        assert!(matches!(&b[0], Block::Code(c) if c.lines.len() == 2));
    }
}
