//! Lint configuration from the spec: `[lint] allow = [..]`, `[lint.severity]`, and
//! per-service `[[services.X.lint.allow]]` suppressions (each with a required reason).
//! An unknown rule id anywhere is a configuration error, with "did you mean".

use std::collections::HashMap;

use portolan_model::error::did_you_mean;
use portolan_model::{Level, Loc, Model, Position};

use crate::finding::{Finding, Severity};
use crate::rules::Rule;

/// A rule id in the configuration that does not exist.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{position}: unknown lint rule `{id}`{}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
pub struct ConfigError {
    /// Where.
    pub position: Position,
    /// Where, as a span.
    pub loc: Loc,
    /// The id written.
    pub id: String,
    /// The closest rule id.
    pub suggestion: Option<String>,
}

pub(crate) struct Config {
    level: HashMap<Rule, Level>,
}

fn rule(model: &Model, id: &str, loc: Loc) -> Result<Rule, ConfigError> {
    Rule::from_id(id).ok_or_else(|| ConfigError {
        position: model.sources.position(loc),
        loc,
        id: id.to_string(),
        suggestion: did_you_mean(id, Rule::ALL.iter().map(|r| r.id())).map(str::to_string),
    })
}

impl Config {
    pub(crate) fn from_model(model: &Model) -> Result<Config, ConfigError> {
        let mut level = HashMap::new();
        for (id, lvl, loc) in &model.lint.severity {
            level.insert(rule(model, id, *loc)?, *lvl);
        }
        for (id, loc) in &model.lint.allow {
            level.insert(rule(model, id, *loc)?, Level::Allow);
        }
        for s in &model.services {
            for sup in &s.suppressions {
                rule(model, &sup.rule, sup.loc)?;
            }
        }
        Ok(Config { level })
    }

    pub(crate) fn enabled(&self, r: Rule) -> bool {
        self.level.get(&r) != Some(&Level::Allow)
    }

    pub(crate) fn severity(&self, r: Rule) -> Severity {
        match self.level.get(&r) {
            Some(Level::Error) => Severity::Error,
            Some(Level::Warning) => Severity::Warning,
            Some(Level::Info) => Severity::Info,
            Some(Level::Allow) | None => r.default_severity(),
        }
    }

    /// The reason of the suppression that silences `f`, if any: a suppression of a service
    /// named among the finding's subjects (optionally limited to one of its bindings).
    pub(crate) fn suppressed_by(model: &Model, f: &Finding) -> Option<String> {
        f.subjects.iter().find_map(|subject| {
            let (svc, binding) = subject
                .split_once('.')
                .map_or((subject.as_str(), None), |(s, b)| (s, Some(b)));
            let service = model.service(model.service_named(svc)?);
            service
                .suppressions
                .iter()
                .find(|s| {
                    s.rule == f.rule.id() && s.binding.as_deref().is_none_or(|b| Some(b) == binding)
                })
                .map(|s| s.reason.clone())
        })
    }
}
