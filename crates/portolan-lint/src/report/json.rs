//! JSON output: `{"findings": [...], "suppressed": [...], "summary": {...}}`, each finding in
//! DESIGN.md's shape. [`write`] streams it finding by finding (nothing but the current finding
//! is held as JSON); [`report`] builds the same document as a value.

use std::io::{self, Write};

use portolan_model::{Loc, SourceMap};
use serde::Serialize;

use crate::Report;
use crate::finding::{Finding, Severity};
use crate::report::pretty;

/// A location as JSON (keys in the order `serde_json` sorts them).
#[derive(Serialize)]
struct JsonLoc<'a> {
    column: usize,
    end_column: usize,
    end_line: usize,
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
    line: usize,
}

/// A finding as JSON.
#[derive(Serialize)]
struct JsonFinding<'a> {
    help: Option<&'a str>,
    locations: Vec<JsonLoc<'a>>,
    message: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
    rule: &'a str,
    severity: Severity,
    subjects: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressed: Option<&'a str>,
}

fn finding<'a>(
    sources: &SourceMap,
    f: &'a Finding,
    suppressed: Option<&'a str>,
) -> JsonFinding<'a> {
    JsonFinding {
        help: f.help.as_deref(),
        locations: f
            .labels
            .iter()
            .map(|l| {
                let p = sources.position(l.loc);
                let end = sources.position(Loc {
                    start: l.loc.end,
                    ..l.loc
                });
                JsonLoc {
                    column: p.column,
                    end_column: end.column,
                    end_line: end.line,
                    file: p.file,
                    label: l.message.as_deref(),
                    line: p.line,
                }
            })
            .collect(),
        message: &f.message,
        notes: &f.notes,
        rule: f.rule.id(),
        severity: f.severity,
        subjects: &f.subjects,
        suppressed,
    }
}

/// `{"error": n, …}`.
#[derive(Serialize)]
struct Summary {
    error: usize,
    info: usize,
    suppressed: usize,
    warning: usize,
}

fn summary(r: &Report) -> Summary {
    Summary {
        error: r.count(Severity::Error),
        info: r.count(Severity::Info),
        suppressed: r.suppressed.len(),
        warning: r.count(Severity::Warning),
    }
}

/// Writes the report, pretty-printed, finding by finding.
pub fn write<W: Write + ?Sized>(out: &mut W, sources: &SourceMap, r: &Report) -> io::Result<()> {
    out.write_all(b"{\n")?;
    pretty::key(out, "findings", 1)?;
    pretty::array(out, r.findings.iter().map(|f| finding(sources, f, None)), 1)?;
    out.write_all(b",\n")?;
    pretty::key(out, "summary", 1)?;
    pretty::write(out, &summary(r), 1)?;
    out.write_all(b",\n")?;
    pretty::key(out, "suppressed", 1)?;
    pretty::array(
        out,
        r.suppressed
            .iter()
            .map(|(f, reason)| finding(sources, f, Some(reason))),
        1,
    )?;
    out.write_all(b"\n}\n")
}

/// The report as a JSON value (the document [`write`] prints).
pub fn report(sources: &SourceMap, r: &Report) -> serde_json::Value {
    let mut out = Vec::new();
    // writing into memory cannot fail
    let _ = write(&mut out, sources, r);
    serde_json::from_slice(&out).unwrap_or_default()
}
