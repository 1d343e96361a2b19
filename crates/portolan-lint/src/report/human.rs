//! rustc-style rendering: the offending spec lines with carets and labels, then notes and
//! help. Only the lines around the labels are handed to the renderer, so the cost does not
//! grow with the size of the spec.

use std::collections::BTreeMap;
use std::fmt::Write as _;
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

/// Marks of one file further apart than this many lines get snippets of their own: the
/// lines between are folded away in the output anyway, but rendering them costs time in
/// proportion (a finding marking line 2 and line 40,000 of a dump rendered 40,000 lines,
/// 45,000 such findings took a minute).
const SPLIT_LINES: usize = 1000;

/// One snippet per file, with only the lines the marks touch (plus the lines between them
/// when they are close; marks far apart in one file get a snippet each).
fn snippets<'a>(
    sources: &'a SourceMap,
    marks: &[Mark<'a>],
) -> Vec<Snippet<'a, annotate_snippets::Annotation<'a>>> {
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
        let mut ms = by_file[&fid].clone();
        ms.sort_by_key(|m| m.loc.start);
        // clusters of marks whose lines are close, the one holding the primary mark first
        let mut clusters: Vec<Vec<&Mark<'a>>> = Vec::new();
        let mut last_line = 0;
        for m in ms {
            let (line, _) = file.line_col((m.loc.start as usize).min(text.len()));
            match clusters.last_mut() {
                Some(c) if line.saturating_sub(last_line) <= SPLIT_LINES => c.push(m),
                _ => clusters.push(vec![m]),
            }
            let (end_line, _) = file.line_col((m.loc.end as usize).min(text.len()));
            last_line = last_line.max(end_line).max(line);
        }
        clusters.sort_by_key(|c| !c.iter().any(|m| m.primary));
        for ms in clusters {
            out.push(snippet(file, &ms));
        }
    }
    out
}

/// A snippet of `file` from the first line to the last that `ms` touch.
fn snippet<'a>(
    file: &'a portolan_model::source::SourceFile,
    ms: &[&Mark<'a>],
) -> Snippet<'a, annotate_snippets::Annotation<'a>> {
    let text = file.text.as_str();
    let lo = ms
        .iter()
        .map(|m| (m.loc.start as usize).min(text.len()))
        .min()
        .unwrap_or(0);
    let hi = ms
        .iter()
        .map(|m| (m.loc.end as usize).min(text.len()))
        .max()
        .unwrap_or(0);
    let start = text[..lo].rfind('\n').map_or(0, |i| i + 1);
    let end = text[hi..].find('\n').map_or(text.len(), |i| hi + i);
    let (line, _) = file.line_col(start);
    let slice = &text[start..end];
    let mut sn = Snippet::source(slice)
        .line_start(line)
        .path(file.display.as_str())
        .fold(true);
    for m in ms {
        let s = floor_char(text, (m.loc.start as usize).clamp(start, end)) - start;
        let e = ceil_char(text, (m.loc.end as usize).clamp(start, end)).min(end) - start;
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
    sn
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
    let mut group = Group::with_title(
        level(f.severity)
            .primary_title(f.message.as_str())
            .id(f.rule.id()),
    );
    for s in snippets(sources, &marks) {
        group = group.element(s);
    }
    for n in &f.notes {
        group = group.element(Level::NOTE.message(n.as_str()));
    }
    if let Some(h) = &f.help {
        group = group.element(Level::HELP.message(h.as_str()));
    }
    let report: &[Group<'_>] = &[group];
    renderer(style).render(report)
}

/// Renders a whole report with a summary line.
pub fn report(sources: &SourceMap, r: &Report, style: Style) -> String {
    let mut out = String::new();
    for f in &r.findings {
        out.push_str(&finding(sources, f, style));
        out.push_str("\n\n");
    }
    out.push_str(&summary(r));
    out.push('\n');
    out
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
            for s in snippets(sources, &marks) {
                group = group.element(s);
            }
        }
        if let Some(h) = &e.help {
            group = group.element(Level::HELP.message(h.as_str()));
        }
        let report: &[Group<'_>] = &[group];
        out.push_str(&renderer(style).render(report));
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
