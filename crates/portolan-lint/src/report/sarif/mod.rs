//! SARIF 2.1.0 output for GitHub/GitLab code scanning and IDE viewers, valid for the
//! Microsoft SARIF Multitool without errors or warnings:
//!
//! - one run; `tool.driver.rules` holds every rule with a human name, short and full
//!   descriptions, help (text and Markdown), a link to its section of `docs/rules.md`, its
//!   default level, tags and — for security rules — `security-severity`;
//! - locations are repository-relative URIs under `%SRCROOT%` (declared in
//!   `originalUriBaseIds` as the absolute root), whatever form the spec path had; a file
//!   outside the root is an error, not a silently unplaceable result;
//! - each result has `partialFingerprints` from its rule, subjects and message (positions
//!   taken out), so a finding keeps its identity when lines move, and `relatedLocations`
//!   with their labels;
//! - `invocations` records the exit code.
//!
//! [`write`] streams the log result by result.

mod root;

use std::collections::HashMap;
use std::io::Write;

use portolan_model::{FileId, Loc, SourceMap};
use serde::Serialize;
use serde_json::{Value, json};

pub use root::{SarifError, SarifRoot};

use crate::finding::{Finding, Severity};
use crate::report::pretty;
use crate::rules::about;
use crate::{Report, Rule};

/// The base id locations are relative to.
pub const SRCROOT: &str = "%SRCROOT%";
/// The key of portolan's fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "portolanFinding/v1";
/// The final SARIF 2.1.0 schema.
const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// What a SARIF log needs besides the findings.
#[derive(Clone, Debug)]
pub struct SarifOptions<'a> {
    /// Locations are relative to this directory.
    pub root: &'a SarifRoot,
    /// portolan's version.
    pub version: &'a str,
    /// The exit code of the run (recorded in `invocations`).
    pub exit_code: i32,
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Ends a sentence with a period (SARIF viewers show messages as prose).
fn sentence(s: &str) -> String {
    let t = s.trim_end();
    if t.ends_with(['.', '!', '?']) {
        t.to_string()
    } else {
        format!("{t}.")
    }
}

fn rule_descriptor(r: Rule) -> Value {
    let a = r.about();
    let mut properties = json!({
        "tags": a.tags,
        "precision": "very-high",
        "problem.severity": match r.default_severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "recommendation",
        },
    });
    if let Some(s) = a.security_severity {
        properties["security-severity"] = json!(s);
    }
    let mut v = json!({
        "id": r.id(),
        "shortDescription": {"text": sentence(r.description())},
        "fullDescription": {"text": sentence(if a.why.is_empty() { r.description() } else { a.why })},
        "help": {"text": about::help_text(r), "markdown": about::help_markdown(r)},
        "helpUri": r.help_uri(),
        "defaultConfiguration": {"level": level(r.default_severity())},
        "properties": properties,
    });
    if !a.name.is_empty() {
        v["name"] = json!(a.name);
    }
    v
}

/// A location's region, 1-based, end column exclusive, with the text it covers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
    end_line: usize,
    end_column: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    snippet: Option<Text>,
}

/// Whole lines around a region (the line before and after too), for viewers that show a
/// result in context.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContextRegion {
    start_line: usize,
    end_line: usize,
    snippet: Text,
}

/// Regions and context longer than this are given without their text.
const MAX_SNIPPET_BYTES: usize = 2048;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation<'a> {
    uri: &'a str,
    uri_base_id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation<'a> {
    artifact_location: ArtifactLocation<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context_region: Option<ContextRegion>,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultLocation<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Text>,
    physical_location: PhysicalLocation<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<ResultLocation<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<ResultLocation<'a>>,
    partial_fingerprints: HashMap<&'static str, String>,
    properties: ResultProperties<'a>,
}

#[derive(Serialize)]
struct ResultProperties<'a> {
    subjects: &'a [String],
}

/// The URI of every source file, computed once; `Err` for a file outside the root.
struct Uris(Vec<Result<String, SarifError>>);

impl Uris {
    fn new(sources: &SourceMap, root: &SarifRoot) -> Uris {
        Uris(
            sources
                .files()
                .iter()
                .map(|f| root.relative_uri(&f.path))
                .collect(),
        )
    }

    fn get(&self, file: FileId) -> Option<&str> {
        self.0
            .get(file.0 as usize)
            .and_then(|r| r.as_ref().ok())
            .map(String::as_str)
    }

    /// The first file a finding points into that lies outside the root.
    fn check(&mut self, findings: &[Finding]) -> Result<(), SarifError> {
        for f in findings {
            for l in &f.labels {
                if let Some(r @ Err(_)) = self.0.get_mut(l.loc.file.0 as usize) {
                    let e = std::mem::replace(r, Ok(String::new()));
                    return e.map(|_| ());
                }
            }
        }
        Ok(())
    }
}

fn location<'a>(
    sources: &SourceMap,
    uris: &'a Uris,
    loc: Loc,
    message: Option<&str>,
    id: Option<usize>,
) -> ResultLocation<'a> {
    let p = sources.position(loc);
    let e = sources.position(Loc {
        start: loc.end,
        ..loc
    });
    let file = sources.file(loc.file);
    let snippet = file
        .and_then(|f| f.text.get(loc.range()))
        .filter(|t| !t.is_empty() && t.len() <= MAX_SNIPPET_BYTES)
        .map(|t| Text {
            text: t.to_string(),
        });
    let context_region = file.and_then(|f| {
        let (first, last) = (p.line.saturating_sub(1).max(1), e.line + 1);
        let text: Vec<&str> = (first..=last)
            .take_while(|l| *l <= f.line_count())
            .map(|l| f.line_text(l))
            .collect();
        let last = first + text.len().saturating_sub(1);
        let text = text.join("\n");
        // a context must be larger than the region it surrounds
        let wider = first < p.line || last > e.line;
        (wider && text.len() <= MAX_SNIPPET_BYTES).then_some(ContextRegion {
            start_line: first,
            end_line: last,
            snippet: Text { text },
        })
    });
    ResultLocation {
        id,
        message: message.map(|m| Text { text: sentence(m) }),
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation {
                uri: uris.get(loc.file).unwrap_or(""),
                uri_base_id: SRCROOT,
            },
            region: Some(Region {
                start_line: p.line,
                start_column: p.column,
                end_line: e.line,
                end_column: e.column.max(p.column + usize::from(e.line == p.line)),
                snippet,
            }),
            context_region,
        },
    }
}

/// FNV-1a, 64 bits: stable across builds and platforms.
fn fnv(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The message with every `FILE:LINE[:COL]` of a source file reduced to `FILE`, so the
/// fingerprint survives lines moving.
fn normalized(message: &str, names: &[&str]) -> String {
    let mut out = message.split_whitespace().collect::<Vec<_>>().join(" ");
    for name in names {
        let pat = format!("{name}:");
        let mut from = 0;
        while let Some(i) = out[from..].find(&pat).map(|i| i + from) {
            let digits_at = i + pat.len();
            let rest = &out[digits_at..];
            let n = rest.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                from = digits_at;
                continue;
            }
            let mut end = digits_at + n;
            if out[end..].starts_with(':') {
                let m = out[end + 1..]
                    .bytes()
                    .take_while(u8::is_ascii_digit)
                    .count();
                if m > 0 {
                    end += 1 + m;
                }
            }
            out.replace_range(i + name.len()..end, "");
            from = i + name.len();
        }
    }
    out
}

/// Writes the SARIF log of `r`, result by result.
pub fn write<W: Write + ?Sized>(
    out: &mut W,
    sources: &SourceMap,
    r: &Report,
    options: &SarifOptions<'_>,
) -> Result<(), SarifError> {
    let mut uris = Uris::new(sources, options.root);
    uris.check(&r.findings)?;
    let names: Vec<&str> = sources.files().iter().map(|f| f.display.as_str()).collect();
    let head = json!({
        "tool": {"driver": {
            "name": "portolan",
            "version": options.version,
            "semanticVersion": options.version,
            "informationUri": "https://github.com/portolan/portolan",
            "rules": Rule::ALL.iter().map(|r| rule_descriptor(*r)).collect::<Vec<_>>(),
        }},
        "originalUriBaseIds": {SRCROOT: {
            "uri": options.root.uri(),
            "description": {"text": "The repository root: result locations are relative to it."},
        }},
        "columnKind": "unicodeCodePoints",
        "invocations": [{
            "executionSuccessful": true,
            "exitCode": options.exit_code,
            "exitCodeDescription": match options.exit_code {
                0 => "no findings at or above --fail-on",
                1 => "findings at or above --fail-on",
                _ => "error",
            },
        }],
    });
    out.write_all(b"{\n")?;
    pretty::key(out, "$schema", 1)?;
    pretty::write(out, SCHEMA, 1)?;
    out.write_all(b",\n")?;
    pretty::key(out, "version", 1)?;
    pretty::write(out, "2.1.0", 1)?;
    out.write_all(b",\n")?;
    pretty::key(out, "runs", 1)?;
    out.write_all(b"[\n    {\n")?;
    // the run's fixed members, then the results streamed
    if let Value::Object(map) = head {
        for (k, v) in &map {
            pretty::key(out, k, 3)?;
            pretty::write(out, v, 3)?;
            out.write_all(b",\n")?;
        }
    }
    pretty::key(out, "results", 3)?;
    let mut seen: HashMap<u64, usize> = HashMap::new();
    let results = r.findings.iter().map(|f| {
        let subjects = f.subjects.join("\u{1f}");
        let hash = fnv(&[f.rule.id(), &subjects, &normalized(&f.message, &names)]);
        let n = seen.entry(hash).or_insert(0);
        *n += 1;
        let mut text = sentence(&f.message);
        if let Some(h) = &f.help {
            text.push_str("\nhelp: ");
            text.push_str(&sentence(h));
        }
        let mut labels = f.labels.iter();
        let locations = match labels.next() {
            Some(l) => vec![location(sources, &uris, l.loc, l.message.as_deref(), None)],
            // code scanning needs a place: a finding about live state sits on the spec
            None => uris
                .get(FileId(0))
                .map(|uri| ResultLocation {
                    id: None,
                    message: None,
                    physical_location: PhysicalLocation {
                        artifact_location: ArtifactLocation {
                            uri,
                            uri_base_id: SRCROOT,
                        },
                        region: None,
                        context_region: None,
                    },
                })
                .into_iter()
                .collect(),
        };
        SarifResult {
            rule_id: f.rule.id(),
            rule_index: Rule::ALL.iter().position(|x| *x == f.rule).unwrap_or(0),
            level: level(f.severity),
            message: Text { text },
            locations,
            related_locations: labels
                .enumerate()
                .map(|(i, l)| {
                    let m = l.message.as_deref().unwrap_or("related location");
                    location(sources, &uris, l.loc, Some(m), Some(i + 1))
                })
                .collect(),
            partial_fingerprints: HashMap::from([(FINGERPRINT_KEY, format!("{hash:016x}:{n}"))]),
            properties: ResultProperties {
                subjects: &f.subjects,
            },
        }
    });
    pretty::array(out, results, 3)?;
    out.write_all(b"\n    }\n  ]\n}\n")?;
    Ok(())
}

/// The SARIF log as a JSON value (the document [`write`] prints).
pub fn to_value(
    sources: &SourceMap,
    r: &Report,
    options: &SarifOptions<'_>,
) -> Result<Value, SarifError> {
    let mut out = Vec::new();
    write(&mut out, sources, r, options)?;
    serde_json::from_slice(&out).map_err(|e| SarifError::Io(std::io::Error::other(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_of_source_files_leave_the_fingerprint() {
        let names = ["ports.toml", "dir/ports.toml"];
        assert_eq!(
            normalized("first  at ports.toml:12:5 and dir/ports.toml:3", &names),
            "first at ports.toml and dir/ports.toml"
        );
        // ports in sockets are not positions
        assert_eq!(
            normalized("bound to 0.0.0.0:5432/tcp", &names),
            "bound to 0.0.0.0:5432/tcp"
        );
        assert_eq!(normalized("ports.toml:x", &names), "ports.toml:x");
    }

    #[test]
    fn messages_become_sentences() {
        assert_eq!(sentence("a b"), "a b.");
        assert_eq!(sentence("done."), "done.");
        assert_eq!(sentence("why? "), "why?");
    }
}
