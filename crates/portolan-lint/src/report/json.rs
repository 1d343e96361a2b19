//! JSON output: `{"findings": [...], "suppressed": [...], "summary": {...}}`, each finding in
//! DESIGN.md's shape.

use portolan_model::SourceMap;

use crate::Report;
use crate::finding::Severity;

/// The report as a JSON value.
pub fn report(sources: &SourceMap, r: &Report) -> serde_json::Value {
    let suppressed: Vec<serde_json::Value> = r
        .suppressed
        .iter()
        .map(|(f, reason)| {
            let mut v = f.to_json(sources);
            v["suppressed"] = serde_json::Value::String(reason.clone());
            v
        })
        .collect();
    serde_json::json!({
        "findings": r.findings.iter().map(|f| f.to_json(sources)).collect::<Vec<_>>(),
        "suppressed": suppressed,
        "summary": {
            "error": r.count(Severity::Error),
            "warning": r.count(Severity::Warning),
            "info": r.count(Severity::Info),
            "suppressed": r.suppressed.len(),
        },
    })
}
