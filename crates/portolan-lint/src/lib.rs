//! # portolan-lint
//!
//! Static checks of a resolved spec: the rule registry ([`Rule`], one file per rule), the
//! exposure/reach computation ([`reach`]), configuration (`[lint] allow`, severity
//! overrides, per-service suppressions with a reason), the report formats
//! (`human` rustc-style with carets, `json`, `sarif`), and `firewall-drift`
//! ([`firewall_drift`]: a deployed ruleset, read and evaluated by `portolan-firewall`,
//! against the spec).
#![deny(missing_docs)]

mod config;
pub mod expect;
pub mod finding;
pub mod firewall_drift;
mod firewall_undeclared;
pub mod reach;
pub mod report;
pub mod rules;
pub mod trace;

use portolan_model::Model;

pub use config::ConfigError;
pub use finding::{Finding, Label, Severity};
pub use reach::{Analysis, BindingReach, ReachSet};
pub use rules::Rule;

/// What the checks read: the model and its reach analysis.
pub struct Context<'m> {
    /// The spec.
    pub model: &'m Model,
    /// Reach of every binding.
    pub analysis: &'m Analysis,
}

/// The result of a lint run.
#[derive(Debug, Default)]
pub struct Report {
    /// Findings, sorted by location, then rule.
    pub findings: Vec<Finding>,
    /// Findings dropped by suppressions, with the reason.
    pub suppressed: Vec<(Finding, String)>,
}

impl Report {
    /// Number of findings at `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// Whether some finding is at or above `threshold`.
    pub fn fails(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= threshold)
    }
}

/// Runs every spec-only rule on `model`.
///
/// Fails only when the `[lint]` configuration itself is wrong (an unknown rule id).
pub fn lint(model: &Model) -> Result<Report, ConfigError> {
    let analysis = Analysis::compute(model);
    portolan_model::timings::phase("reach");
    lint_with(model, &analysis)
}

/// Like [`lint`], with a reach analysis the caller already has.
pub fn lint_with(model: &Model, analysis: &Analysis) -> Result<Report, ConfigError> {
    let config = config::Config::from_model(model)?;
    let cx = Context { model, analysis };
    let mut raw = Vec::new();
    for (rule, check) in rules::CHECKS {
        if config.enabled(*rule) {
            let start = raw.len();
            check(&cx, &mut raw);
            portolan_model::timings::phase(rule.id());
            for f in &mut raw[start..] {
                f.severity = config.severity(f.rule);
            }
        }
    }
    let mut report = Report::default();
    for f in raw {
        match config::Config::suppressed_by(model, &f) {
            Some(reason) => report.suppressed.push((f, reason)),
            None => report.findings.push(f),
        }
    }
    sort(model, &mut report.findings);
    Ok(report)
}

/// Sorts findings by primary location (those without one last), then rule, then message.
pub fn sort(model: &Model, findings: &mut [Finding]) {
    findings.sort_by_cached_key(|f| {
        let pos = f
            .labels
            .first()
            .map(|l| (model.sources.position(l.loc), l.loc.start));
        // findings without a place in the spec (live observations) come last
        (pos.is_none(), pos, f.rule, f.message.clone())
    });
}
