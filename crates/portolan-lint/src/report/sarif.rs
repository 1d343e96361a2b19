//! SARIF 2.1.0 output (one run, the full rule table in `tool.driver.rules`, one result per
//! finding with physical and related locations), for GitHub code scanning and similar UIs.

use portolan_model::SourceMap;
use serde_json::{Value, json};

use crate::finding::Severity;
use crate::{Report, Rule};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn location(
    sources: &SourceMap,
    loc: portolan_model::Loc,
    message: Option<&str>,
    id: Option<usize>,
) -> Value {
    let p = sources.position(loc);
    let e = sources.position(portolan_model::Loc {
        start: loc.end,
        ..loc
    });
    let mut v = json!({
        "physicalLocation": {
            "artifactLocation": {"uri": p.file.replace('\\', "/")},
            "region": {"startLine": p.line, "startColumn": p.column, "endLine": e.line, "endColumn": e.column},
        }
    });
    if let Some(m) = message {
        v["message"] = json!({"text": m});
    }
    if let Some(i) = id {
        v["id"] = json!(i);
    }
    v
}

/// The report as a SARIF 2.1.0 log.
pub fn report(sources: &SourceMap, r: &Report, version: &str) -> Value {
    let rules: Vec<Value> = Rule::ALL
        .iter()
        .map(|r| {
            json!({
                "id": r.id(),
                "name": r.id(),
                "shortDescription": {"text": r.description()},
                "defaultConfiguration": {"level": level(r.default_severity())},
            })
        })
        .collect();
    let results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let mut text = f.message.clone();
            if let Some(h) = &f.help {
                text.push_str("\nhelp: ");
                text.push_str(h);
            }
            let mut v = json!({
                "ruleId": f.rule.id(),
                "ruleIndex": Rule::ALL.iter().position(|x| *x == f.rule).unwrap_or(0),
                "level": level(f.severity),
                "message": {"text": text},
                "locations": f.labels.first().map(|l| vec![location(sources, l.loc, l.message.as_deref(), None)]).unwrap_or_default(),
            });
            let related: Vec<Value> = f.labels.iter().enumerate().skip(1).map(|(i, l)| location(sources, l.loc, l.message.as_deref(), Some(i))).collect();
            if !related.is_empty() {
                v["relatedLocations"] = json!(related);
            }
            v
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "portolan",
                "version": version,
                "informationUri": "https://github.com/portolan/portolan",
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}
