//! rustc-style rendering: the offending spec lines with carets and labels, then notes and
//! help. Only the labelled lines are handed to the renderer — labels further apart than a
//! few lines become separate pieces joined by `...` like rustc's elision — so the cost of a
//! finding is proportional to what it shows, never to the text between its labels.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::ops::Range;

use annotate_snippets::renderer::DecorStyle;
use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use portolan_model::{FileId, Loc, SourceMap, SpecError};

use crate::finding::{Finding, Severity};
use crate::{Report, Rule};

/// Rendering options.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// ANSI colours.
    pub color: bool,
    /// Terminal width.
    pub width: usize,
}

impl Default for Style {
    fn default() -> Self {
        Self {
            color: false,
            width: 100,
        }
    }
}

fn renderer(style: Style) -> Renderer {
    let r = if style.color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    r.term_width(style.width).decor_style(DecorStyle::Ascii)
}

/// A label to draw: location, text, primary or not.
struct Mark<'a> {
    loc: Loc,
    text: Option<&'a str>,
    primary: bool,
}

/// Labels further apart than this many lines are shown as separate pieces with `...`
/// between them, like rustc; closer ones share one piece of source.
const GAP_LINES: usize = 4;
/// A label spanning more lines than this is drawn on its first line only.
const MAX_SPAN_LINES: usize = 8;

/// A mark placed in its file: lines and byte span (long spans cut to their first line).
struct Placed<'m, 'a> {
    first_line: usize,
    last_line: usize,
    start: usize,
    end: usize,
    mark: &'m Mark<'a>,
}

/// One piece of source to draw: its snippet, whether it continues the previous piece of the
/// same file (then `...` replaces its `:::` header), and where its header points.
struct Piece<'a> {
    snippet: Snippet<'a, annotate_snippets::Annotation<'a>>,
    continues: bool,
    has_primary: bool,
}

/// The pieces of source for `marks`: per file (in order of first appearance), the labelled
/// lines in clusters, so the work is proportional to the labelled lines, never to the text
/// between far-apart labels.
fn pieces<'a>(sources: &'a SourceMap, marks: &[Mark<'a>]) -> Vec<Piece<'a>> {
    let mut by_file: BTreeMap<FileId, Vec<&Mark<'a>>> = BTreeMap::new();
    let mut order: Vec<FileId> = Vec::new();
    for m in marks {
        if !order.contains(&m.loc.file) {
            order.push(m.loc.file);
        }
        by_file.entry(m.loc.file).or_default().push(m);
    }
    let mut out = Vec::new();
    for fid in order {
        let Some(file) = sources.file(fid) else {
            continue;
        };
        let text = file.text.as_str();
        // long spans cut to their first line
        let mut spans: Vec<Placed<'_, 'a>> = by_file[&fid]
            .iter()
            .map(|m| {
                let s = floor_char(text, m.loc.start as usize);
                let mut e = ceil_char(text, (m.loc.end as usize).max(s));
                let (l0, _) = file.line_col(s);
                let (mut l1, _) = file.line_col(e);
                if l1 > l0 + MAX_SPAN_LINES {
                    e = text[s..].find('\n').map_or(text.len(), |i| s + i);
                    l1 = l0;
                }
                Placed {
                    first_line: l0,
                    last_line: l1,
                    start: s,
                    end: e,
                    mark: m,
                }
            })
            .collect();
        spans.sort_by_key(|x| (x.first_line, x.start));
        let mut clusters: Vec<Vec<Placed<'_, 'a>>> = Vec::new();
        for sp in spans {
            match clusters.last_mut() {
                Some(c)
                    if sp.first_line
                        <= c.iter().map(|x| x.last_line).max().unwrap_or(0) + GAP_LINES =>
                {
                    c.push(sp);
                }
                _ => clusters.push(vec![sp]),
            }
        }
        for (ci, c) in clusters.iter().enumerate() {
            let lo = c.iter().map(|x| x.start).min().unwrap_or(0);
            let hi = c.iter().map(|x| x.end).max().unwrap_or(0);
            let start = text[..lo].rfind('\n').map_or(0, |i| i + 1);
            let end = text[hi..].find('\n').map_or(text.len(), |i| hi + i);
            let (line, _) = file.line_col(start);
            let mut sn = Snippet::source(&text[start..end])
                .line_start(line)
                .path(file.display.as_str())
                .fold(true);
            for p in c {
                let m = p.mark;
                let (s, e) = (
                    p.start.clamp(start, end) - start,
                    p.end.clamp(start, end) - start,
                );
                let span: Range<usize> = if e > s { s..e } else { s..s };
                let kind = if m.primary {
                    AnnotationKind::Primary
                } else {
                    AnnotationKind::Context
                };
                let mut a = kind.span(span);
                if let Some(t) = m.text {
                    a = a.label(t);
                }
                sn = sn.annotation(a);
            }
            out.push(Piece {
                snippet: sn,
                continues: ci > 0,
                has_primary: c.iter().any(|x| x.mark.primary),
            });
        }
    }
    out
}

/// Text without ANSI escape sequences.
fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// How to post-process a rendered group (see [`render_pieces`]).
struct Layout {
    continues: Vec<bool>,
    primary: Option<String>,
}

/// Adds the pieces of source for `marks` to `group`.
fn add_pieces<'a>(
    sources: &'a SourceMap,
    mut group: Group<'a>,
    marks: &[Mark<'a>],
) -> (Group<'a>, Layout) {
    let ps = pieces(sources, marks);
    let continues: Vec<bool> = ps.iter().map(|p| p.continues).collect();
    // the `-->` header names the first piece; point it at the primary label when that
    // sits in a later piece of the same file
    let primary = match (ps.first(), marks.iter().find(|m| m.primary)) {
        (Some(first), Some(m)) if !first.has_primary => Some(sources.position(m.loc).to_string()),
        _ => None,
    };
    for p in ps {
        group = group.element(p.snippet);
    }
    (group, Layout { continues, primary })
}

/// Renders a group whose pieces were made by [`pieces`]: the `:::` header of a piece that
/// continues the same file becomes `...`, and the `-->` header points at the primary label
/// even when an earlier piece of the file comes first.
fn render_pieces(style: Style, group: Group<'_>, layout: &Layout) -> String {
    let (continues, primary) = (&layout.continues, layout.primary.as_deref());
    let rendered = renderer(style).render(&[group]);
    if continues.iter().all(|c| !c) && primary.is_none() {
        return rendered;
    }
    let lines: Vec<&str> = rendered.split('\n').collect();
    let mut keep = vec![true; lines.len()];
    let mut replace: Vec<Option<String>> = vec![None; lines.len()];
    let mut piece = 0;
    let mut header_done = false;
    for (i, line) in lines.iter().enumerate() {
        let p = plain(line);
        let t = p.trim_start();
        if !header_done && t.starts_with("--> ") {
            header_done = true;
            if let Some(want) = primary
                && let Some(shown) = t.strip_prefix("--> ")
                && let Some(at) = line.find(shown)
            {
                replace[i] = Some(format!(
                    "{}{want}{}",
                    &line[..at],
                    &line[at + shown.len()..]
                ));
            }
        } else if t.starts_with("::: ") {
            piece += 1;
            if continues.get(piece).copied().unwrap_or(false) {
                replace[i] = Some("...".to_string());
                for j in [i.wrapping_sub(1), i + 1] {
                    if lines.get(j).is_some_and(|l| plain(l).trim() == "|") {
                        keep[j] = false;
                    }
                }
            }
        }
    }
    lines
        .iter()
        .enumerate()
        .filter(|(i, _)| keep[*i])
        .map(|(i, line)| replace[i].as_deref().unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The nearest char boundary at or before `i` (spans may point into replaced invalid UTF-8).
fn floor_char(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The nearest char boundary at or after `i`.
fn ceil_char(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

fn level(sev: Severity) -> Level<'static> {
    match sev {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info => Level::INFO,
    }
}

/// Renders one finding.
pub fn finding(sources: &SourceMap, f: &Finding, style: Style) -> String {
    let marks: Vec<Mark<'_>> = f
        .labels
        .iter()
        .enumerate()
        .map(|(i, l)| Mark {
            loc: l.loc,
            text: l.message.as_deref(),
            primary: i == 0,
        })
        .collect();
    let title = Group::with_title(
        level(f.severity)
            .primary_title(f.message.as_str())
            .id(f.rule.id()),
    );
    let (mut group, layout) = add_pieces(sources, title, &marks);
    for n in &f.notes {
        group = group.element(Level::NOTE.message(n.as_str()));
    }
    if let Some(h) = &f.help {
        group = group.element(Level::HELP.message(h.as_str()));
    }
    render_pieces(style, group, &layout)
}

/// Writes every finding, each followed by a blank line, as it is rendered.
pub fn write_findings<W: Write + ?Sized>(
    out: &mut W,
    sources: &SourceMap,
    r: &Report,
    style: Style,
) -> io::Result<()> {
    for f in &r.findings {
        out.write_all(finding(sources, f, style).as_bytes())?;
        out.write_all(b"\n\n")?;
    }
    Ok(())
}

/// Writes the findings and the summary line.
pub fn write<W: Write + ?Sized>(
    out: &mut W,
    sources: &SourceMap,
    r: &Report,
    style: Style,
) -> io::Result<()> {
    write_findings(out, sources, r, style)?;
    writeln!(out, "{}", summary(r))
}

/// Renders a whole report with a summary line.
pub fn report(sources: &SourceMap, r: &Report, style: Style) -> String {
    let mut out = Vec::new();
    // writing into memory cannot fail
    let _ = write(&mut out, sources, r, style);
    String::from_utf8(out).unwrap_or_default()
}

/// `3 errors, 1 warning, 0 infos (2 suppressed)` or `no findings`.
pub fn summary(r: &Report) -> String {
    let (e, w, i) = (
        r.count(Severity::Error),
        r.count(Severity::Warning),
        r.count(Severity::Info),
    );
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut s = if r.findings.is_empty() {
        "no findings".to_string()
    } else {
        format!("{}, {}, {i} info", plural(e, "error"), plural(w, "warning"))
    };
    if !r.suppressed.is_empty() {
        let _ = write!(s, " ({} suppressed)", r.suppressed.len());
    }
    s
}

/// Renders load errors (syntax, types, unknown keys) the same way.
pub fn spec_errors(sources: &SourceMap, errors: &[SpecError], style: Style) -> String {
    let mut out = String::new();
    for e in errors {
        let mut group = Group::with_title(Level::ERROR.primary_title(e.message.as_str()));
        let mut layout = Layout {
            continues: Vec::new(),
            primary: None,
        };
        if let Some(loc) = e.loc {
            let mut marks = vec![Mark {
                loc,
                text: None,
                primary: true,
            }];
            marks.extend(e.related.iter().map(|(l, m)| Mark {
                loc: *l,
                text: Some(m.as_str()),
                primary: false,
            }));
            (group, layout) = add_pieces(sources, group, &marks);
        }
        if let Some(h) = &e.help {
            group = group.element(Level::HELP.message(h.as_str()));
        }
        out.push_str(&render_pieces(style, group, &layout));
        out.push_str("\n\n");
    }
    out
}

/// The rule table (`portolan lint --list-rules`).
pub fn rules_table() -> String {
    let mut out = String::new();
    for r in Rule::ALL {
        let _ = writeln!(
            out,
            "{:<26} {:<8} {}{}",
            r.id(),
            r.default_severity().as_str(),
            r.description(),
            if r.spec_only() {
                ""
            } else {
                " (needs live data)"
            }
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    /// Issue 15, item 2: a snippet used to span every line between a finding's first and last
    /// label (38,694 lines per finding on a 100k-service spec, so `lint` was quadratic).
    #[test]
    fn far_apart_labels_are_elided_like_rustc() {
        let mut text = String::from("[hosts.a]\n");
        for i in 0..20_000 {
            let _ = writeln!(
                text,
                "[services.s{i}]\nhosts = [\"a\"]\nbindings.http = {{ port = {}, bind = \"127.0.0.1\" }}",
                10_000 + i
            );
        }
        text.push_str("[services.late]\nhosts = [\"a\"]\nbindings.http = { port = 10000, bind = \"0.0.0.0\" }\n");
        let model = portolan_model::load_str("ports.toml", &text).expect("loads");
        let report = crate::lint(&model).expect("lint");
        let dup = report
            .findings
            .iter()
            .find(|f| f.rule == Rule::DuplicateBinding)
            .expect("the duplicate is found");
        let out = finding(&model.sources, dup, Style::default());
        assert!(out.lines().count() < 20, "{out}");
        assert!(out.lines().any(|l| l == "..."), "{out}");
        // the header points at the primary label, whichever comes first in the file
        let primary = model.sources.position(dup.labels[0].loc).to_string();
        assert!(out.contains(&format!("--> {primary}")), "{out}");
        // every label's line is shown with its number
        for l in &dup.labels {
            let line = model.sources.position(l.loc).line;
            assert!(
                out.contains(&format!("{line} |")),
                "line {line} missing:\n{out}"
            );
        }
    }

    #[test]
    fn close_labels_share_one_piece_of_source() {
        let text = "[hosts.a]\n[services.x]\nhosts = [\"a\"]\nbindings.a = { port = 80, bind = \"0.0.0.0\" }\nbindings.b = { port = 80, bind = \"0.0.0.0\" }\n";
        let model = portolan_model::load_str("ports.toml", text).expect("loads");
        let report = crate::lint(&model).expect("lint");
        let dup = report
            .findings
            .iter()
            .find(|f| f.rule == Rule::DuplicateBinding)
            .expect("duplicate");
        let out = finding(&model.sources, dup, Style::default());
        assert!(!out.contains("...") && !out.contains(":::"), "{out}");
    }
}
