//! Findings: what a rule reports (rule id, severity, message, subjects, locations, help),
//! in the shape DESIGN.md fixes for JSON output.

use portolan_model::{Loc, SourceMap};
use serde::Serialize;

use crate::rules::Rule;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Probably wrong.
    Warning,
    /// Wrong.
    Error,
}

impl Severity {
    /// `error` / `warning` / `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A place a finding points at, with an optional label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub loc: Loc,
    /// What is there.
    pub message: Option<String>,
}

/// One result of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule.
    pub rule: Rule,
    /// Severity after configuration.
    pub severity: Severity,
    /// One sentence.
    pub message: String,
    /// Names of what it is about (`service`, `service.binding`, `project`, `host`).
    pub subjects: Vec<String>,
    /// Locations, the primary one first.
    pub labels: Vec<Label>,
    /// How to fix it.
    pub help: Option<String>,
    /// Extra lines (the reach chain, …).
    pub notes: Vec<String>,
}

impl Finding {
    /// A finding of `rule` at its default severity.
    pub fn new(rule: Rule, message: impl Into<String>) -> Self {
        Self {
            rule,
            severity: rule.default_severity(),
            message: message.into(),
            subjects: Vec::new(),
            labels: Vec::new(),
            help: None,
            notes: Vec::new(),
        }
    }

    /// Adds a subject.
    #[must_use]
    pub fn subject(mut self, s: impl Into<String>) -> Self {
        self.subjects.push(s.into());
        self
    }

    /// Adds a location.
    #[must_use]
    pub fn at(mut self, loc: Loc, message: impl Into<String>) -> Self {
        let m: String = message.into();
        self.labels.push(Label {
            loc,
            message: (!m.is_empty()).then_some(m),
        });
        self
    }

    /// Sets the help line.
    #[must_use]
    pub fn help(mut self, h: impl Into<String>) -> Self {
        self.help = Some(h.into());
        self
    }

    /// Adds a note line.
    #[must_use]
    pub fn note(mut self, n: impl Into<String>) -> Self {
        self.notes.push(n.into());
        self
    }

    /// The JSON shape of DESIGN.md.
    pub fn to_json(&self, sources: &SourceMap) -> serde_json::Value {
        let locations: Vec<serde_json::Value> = self
            .labels
            .iter()
            .map(|l| {
                let p = sources.position(l.loc);
                let end = sources.position(portolan_model::Loc {
                    start: l.loc.end,
                    ..l.loc
                });
                let mut v = serde_json::json!({
                    "file": p.file, "line": p.line, "column": p.column,
                    "end_line": end.line, "end_column": end.column,
                });
                if let Some(m) = &l.message {
                    v["label"] = serde_json::Value::String(m.clone());
                }
                v
            })
            .collect();
        let mut v = serde_json::json!({
            "rule": self.rule.id(),
            "severity": self.severity,
            "message": self.message,
            "subjects": self.subjects,
            "locations": locations,
            "help": self.help,
        });
        if !self.notes.is_empty() {
            v["notes"] = serde_json::json!(self.notes);
        }
        v
    }
}
