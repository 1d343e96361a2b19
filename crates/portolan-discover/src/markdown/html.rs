//! HTML tables inside a Markdown document (Confluence and wiki exports): `<table>` …
//! `</table>` spanning any number of lines, `<thead>`/`<tbody>`, `<th>`/`<td>` with
//! `rowspan` and `colspan` expanded into a plain grid, `<br>` kept as a separator inside a
//! cell, other tags dropped and entities decoded. A row that is one cell spanning the whole
//! table (a group title) is not a data row. Never fails: unclosed tags end at the table.

use super::blocks::Table;

#[derive(Debug)]
struct Cell {
    text: String,
    header: bool,
    rowspan: usize,
    colspan: usize,
}

#[derive(Debug, Default)]
struct Row {
    cells: Vec<Cell>,
    line: usize,
    in_head: bool,
}

/// The value of attribute `name` in a tag's text (`td rowspan="2"`).
fn attr(tag: &str, name: &str) -> Option<usize> {
    let lower = tag.to_ascii_lowercase();
    let i = lower.find(name)?;
    let rest = lower[i + name.len()..].trim_start().strip_prefix('=')?;
    let v: String = rest
        .trim_start()
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    v.parse().ok().filter(|n| *n > 0 && *n <= 64)
}

/// Parses the lines of one `<table>` (with their line numbers) into a [`Table`].
pub fn table(lines: &[(String, usize)], origin: &str) -> Option<Table> {
    let mut rows: Vec<Row> = Vec::new();
    let mut cur: Option<Cell> = None;
    let mut in_head = false;
    let mut depth = 0usize;
    for (text, n) in lines {
        let mut rest = text.as_str();
        while !rest.is_empty() {
            let Some(lt) = rest.find('<') else {
                if let Some(c) = cur.as_mut() {
                    c.text.push_str(rest);
                    c.text.push(' ');
                }
                break;
            };
            if let Some(c) = cur.as_mut() {
                c.text.push_str(&rest[..lt]);
            }
            let after = &rest[lt + 1..];
            let Some(gt) = after.find('>') else {
                break;
            };
            let tag = after[..gt].trim();
            rest = &after[gt + 1..];
            let closing = tag.starts_with('/');
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_lowercase();
            match (name.as_str(), closing) {
                ("table", false) => depth += 1,
                ("table", true) => depth = depth.saturating_sub(1),
                ("thead", c) => in_head = !c,
                ("tr", false) if depth <= 1 => {
                    if let Some(c) = cur.take() {
                        if let Some(r) = rows.last_mut() {
                            r.cells.push(c);
                        }
                    }
                    rows.push(Row {
                        line: *n,
                        in_head,
                        ..Row::default()
                    });
                }
                ("td" | "th", false) if depth <= 1 => {
                    if let Some(c) = cur.take() {
                        if let Some(r) = rows.last_mut() {
                            r.cells.push(c);
                        }
                    }
                    if rows.is_empty() {
                        rows.push(Row {
                            line: *n,
                            in_head,
                            ..Row::default()
                        });
                    }
                    cur = Some(Cell {
                        text: String::new(),
                        header: name == "th",
                        rowspan: attr(tag, "rowspan").unwrap_or(1),
                        colspan: attr(tag, "colspan").unwrap_or(1),
                    });
                }
                ("td" | "th" | "tr", true) if depth <= 1 => {
                    if let Some(c) = cur.take() {
                        if let Some(r) = rows.last_mut() {
                            r.cells.push(c);
                        }
                    }
                }
                ("br", _) => {
                    if let Some(c) = cur.as_mut() {
                        c.text.push_str("<br>");
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(c) = cur.take() {
        if let Some(r) = rows.last_mut() {
            r.cells.push(c);
        }
    }
    rows.retain(|r| !r.cells.is_empty());
    if rows.is_empty() {
        return None;
    }
    // Expand rowspan/colspan into a grid; remember which grid cells a single full-width
    // cell produced (group rows).
    let width = rows
        .iter()
        .map(|r| r.cells.iter().map(|c| c.colspan).sum::<usize>())
        .max()
        .unwrap_or(0)
        .min(64);
    let mut grid: Vec<Vec<Option<String>>> = Vec::new();
    let mut group: Vec<bool> = Vec::new();
    for (ri, r) in rows.iter().enumerate() {
        while grid.len() <= ri {
            grid.push(vec![None; width]);
            group.push(false);
        }
        let mut col = 0usize;
        if r.cells.len() == 1 && r.cells[0].colspan >= width && width > 1 {
            group[ri] = true;
        }
        for c in &r.cells {
            while col < width && grid[ri][col].is_some() {
                col += 1;
            }
            let text = super::repair::entities(&c.text)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            for dr in 0..c.rowspan {
                let rr = ri + dr;
                if rr >= rows.len() {
                    break;
                }
                while grid.len() <= rr {
                    grid.push(vec![None; width]);
                    group.push(false);
                }
                for dc in 0..c.colspan {
                    if col + dc < width {
                        grid[rr][col + dc] = Some(text.clone());
                    }
                }
            }
            col += c.colspan;
        }
    }
    let header_row = rows
        .iter()
        .position(|r| r.in_head || r.cells.iter().all(|c| c.header))
        .unwrap_or(0);
    let header: Vec<String> = grid[header_row]
        .iter()
        .map(|c| c.clone().unwrap_or_default())
        .collect();
    let mut body = Vec::new();
    let mut groups = Vec::new();
    for (ri, r) in rows.iter().enumerate() {
        if ri <= header_row {
            continue;
        }
        let cells: Vec<String> = grid[ri]
            .iter()
            .map(|c| c.clone().unwrap_or_default())
            .collect();
        if group[ri] {
            groups.push((r.line, cells.first().cloned().unwrap_or_default()));
            continue;
        }
        body.push((cells, r.line));
    }
    let first = lines.first().map_or(0, |(_, n)| *n);
    let last = lines.last().map_or(first, |(_, n)| *n);
    Some(Table {
        header,
        rows: body,
        line: first,
        end: last,
        origin: origin.to_string(),
        groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<(String, usize)> {
        s.lines()
            .enumerate()
            .map(|(i, l)| (l.to_string(), i + 1))
            .collect()
    }

    #[test]
    fn rowspan_and_colspan_expand() {
        let t = table(
            &lines(
                "<table>\n<thead><tr><th>Host</th><th>Port</th><th>Use</th></tr></thead>\n<tr><td colspan=\"3\"><b>Bench 1</b></td></tr>\n<tr><td rowspan=\"2\">gw<br>(10.0.0.1)</td><td>22</td><td>SSH</td></tr>\n<tr><td>67</td><td>DHCP &amp; more</td></tr>\n</table>",
            ),
            "html table",
        )
        .expect("table");
        assert_eq!(t.header, ["Host", "Port", "Use"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].0, ["gw<br>(10.0.0.1)", "22", "SSH"]);
        assert_eq!(t.rows[1].0, ["gw<br>(10.0.0.1)", "67", "DHCP & more"]);
        assert_eq!((t.rows[0].1, t.rows[1].1), (4, 5));
        assert_eq!(t.groups, [(3, "Bench 1".to_string())]);
    }

    #[test]
    fn junk_never_fails() {
        for s in [
            "<table",
            "<table><tr><td rowspan=999999>x",
            "</td></tr>",
            "<table><td>",
        ] {
            let _ = table(&lines(s), "html table");
        }
    }
}
