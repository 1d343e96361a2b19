//! Fitting text to the terminal: finding messages word-wrapped under their heading, table
//! columns aligned and, on a terminal narrower than the table, the widest flexible columns
//! cut with `…`. Output to a pipe or a file is never cut or wrapped (the width is then
//! [`crate::settings::UNLIMITED`] or `None`): `grep` and `less -S` want whole lines.

use portolan_lint::Finding;

/// A column is never narrowed below this many characters.
const MIN_COLUMN: usize = 8;

/// Word-wraps `text` to `width` columns (existing line breaks kept; a word longer than a
/// line stays whole).
pub fn wrap(text: &str, width: usize) -> String {
    let width = width.max(MIN_COLUMN);
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut col = 0;
        for word in line.split(' ') {
            let w = word.chars().count();
            if col > 0 && col + 1 + w > width {
                out.push('\n');
                col = 0;
            } else if col > 0 {
                out.push(' ');
                col += 1;
            }
            out.push_str(word);
            col += w;
        }
    }
    out
}

/// Wraps a finding's message, help and notes so that, with the prefixes the report puts
/// before them (`error[rule-id]: `, ` = help: ` after a gutter as wide as the largest line
/// number shown, `last_line`), no line is wider than `width`.
pub fn finding(f: &mut Finding, width: usize, last_line: usize) {
    let title = f.severity.as_str().len() + f.rule.id().len() + 4;
    f.message = wrap(&f.message, width.saturating_sub(title));
    let element = last_line.max(1).to_string().len() + 1 + "= help: ".len();
    if let Some(h) = &mut f.help {
        *h = wrap(h, width.saturating_sub(element));
    }
    for n in &mut f.notes {
        *n = wrap(n, width.saturating_sub(element));
    }
}

/// Column widths narrowed until a row fits `width` (`gap` spaces between columns): the
/// columns of `give_way` in that order, each down to [`MIN_COLUMN`] before the next is
/// touched (the last column, being free text, may vanish altogether); the others keep their
/// width (a row that still does not fit stays wide).
pub fn shrink(widths: &mut [usize], width: usize, gap: usize, give_way: &[usize]) {
    let last = widths.len().saturating_sub(1);
    let total = |w: &[usize]| {
        let shown = w.iter().filter(|x| **x > 0).count();
        w.iter().sum::<usize>() + gap * shown.saturating_sub(1)
    };
    for &i in give_way {
        if i >= widths.len() {
            continue;
        }
        let over = total(widths).saturating_sub(width);
        if over == 0 {
            return;
        }
        let floor = MIN_COLUMN.min(widths[i]);
        if i == last && widths[i] - floor < over {
            // narrowing the free-text column is not enough: it goes (a few characters of
            // it say nothing)
            widths[i] = 0;
        } else {
            widths[i] -= over.min(widths[i] - floor);
        }
    }
}

/// `text` cut to `width` characters, the last one `…` when something was cut.
pub fn cell(text: &str, width: usize) -> std::borrow::Cow<'_, str> {
    if text.chars().count() <= width {
        return text.into();
    }
    if width == 0 {
        return "".into();
    }
    let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
    s.push('…');
    s.into()
}

/// `text` cut to `width` characters from the front (`…compose.yml:19:10`): for paths with a
/// line number, whose end says the most.
pub fn tail(text: &str, width: usize) -> std::borrow::Cow<'_, str> {
    let n = text.chars().count();
    if n <= width {
        return text.into();
    }
    if width == 0 {
        return "".into();
    }
    let mut s = String::from('…');
    s.extend(text.chars().skip(n + 1 - width));
    s.into()
}

/// Rows as a table: columns padded to their widest cell (the last not padded) and one space
/// apart; with a terminal `width`, narrowed to fit it by the columns of `give_way`, in that
/// order (addresses and ports are never among them).
pub fn table(rows: &[Vec<String>], width: Option<usize>, give_way: &[usize]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    if let Some(w) = width {
        shrink(&mut widths, w, 1, give_way);
    }
    let mut t = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            let c = cell(c, widths[i]);
            line.push_str(&c);
            if i + 1 < r.len() {
                let pad = widths[i].saturating_sub(c.chars().count());
                line.extend(std::iter::repeat_n(' ', pad + 1));
            }
        }
        t.push_str(line.trim_end());
        t.push('\n');
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_words_and_keeps_long_ones() {
        assert_eq!(wrap("aaa bbb ccc ddd", 8), "aaa bbb\nccc ddd");
        assert_eq!(
            wrap("x https://a-very-long-url.example/path y", 10),
            "x\nhttps://a-very-long-url.example/path\ny"
        );
        assert_eq!(wrap("one\ntwo three", 9), "one\ntwo three");
    }

    #[test]
    fn tables_fit_a_terminal_and_not_a_pipe() {
        let rows = vec![
            vec!["PROTO".into(), "LOCAL".into(), "PROCESS".into()],
            vec![
                "tcp".into(),
                "[2001:db8::1]:8080".into(),
                "1234/a-process-with-a-very-long-name --and --many --flags".into(),
            ],
        ];
        let piped = table(&rows, None, &[2]);
        assert!(piped.contains("--many --flags"), "{piped}");
        let fitted = table(&rows, Some(40), &[2]);
        for line in fitted.lines() {
            assert!(line.chars().count() <= 40, "{line:?}");
        }
        assert!(
            fitted.contains("[2001:db8::1]:8080"),
            "fixed column kept: {fitted}"
        );
        assert!(fitted.contains('…'), "{fitted}");
    }

    #[test]
    fn cells_cut_at_either_end() {
        assert_eq!(cell("abcdef", 4), "abc…");
        assert_eq!(tail("web/compose.yml:19:10", 12), "…e.yml:19:10");
        assert_eq!(tail("abc", 3), "abc");
        assert_eq!(cell("abc", 0), "");
    }
}
