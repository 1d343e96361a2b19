//! `portolan lint [SPEC…]`: static checks of the spec, reported as human text, JSON or
//! SARIF. Specs given as arguments (a pre-commit hook passes the changed files; `-` is
//! standard input) are linted one after the other into one report; the exit code is the
//! worst of them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use portolan_lint::Rule;
use portolan_lint::report::{Format, human};

use super::Subcommand;
use super::common::{ReportSettings, pretty, render_report, verdict};
use crate::cli::ReportArgs;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::{Settings, is_stdin};

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan lint
  portolan lint infra/ports.toml         # same as --spec infra/ports.toml
  portolan lint --format json | jq '.findings[].rule'
  portolan lint --fail-on warning        # CI: fail on warnings too
  portolan gen compose | portolan lint - # a spec on standard input
  portolan lint --list-rules [--json]";

/// `portolan lint`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Specs to lint (files or directories of *.toml; `-`: standard input). Default:
    /// --spec, else ./ports.toml searched upward.
    #[arg(value_name = "SPEC")]
    pub specs: Vec<PathBuf>,
    /// Report options.
    #[command(flatten)]
    pub report: ReportArgs,
    /// List every rule with its default severity, then exit.
    #[arg(long)]
    pub list_rules: bool,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        let report = ReportSettings::new(&self.report, s.json);
        if self.list_rules {
            return list_rules(report.format);
        }
        if self.specs.iter().filter(|p| is_stdin(p)).count() > 1 {
            return Err(CliError::Usage(
                "`-` (standard input) can be given once".into(),
            ));
        }
        if self.specs.len() <= 1 {
            let s = match self.specs.first() {
                Some(p) => &s.with_spec(p.clone()),
                None => s,
            };
            let model = s.load()?;
            let r = portolan_lint::lint(&model).map_err(CliError::config(&model))?;
            let exit = super::common::print_report(s, &model, r, &report);
            // the process ends here: freeing a large model piece by piece costs ~5 % of a run
            std::mem::forget(model);
            return exit;
        }
        lint_many(s, &self.specs, &report)
    }

    fn machine_output(&self) -> bool {
        self.report.machine_output()
    }
}

/// Several specs: one report. Human text is each spec's report in turn; JSON merges the
/// findings (their locations name the files) and sums the summary; SARIF is one run
/// with every spec's results. A spec that does not load stops the run (exit 2), like one.
fn lint_many(s: &Settings, specs: &[PathBuf], report: &ReportSettings) -> Result<Exit, CliError> {
    // one SARIF run needs one root: the repository (or directory) holding every spec, so
    // each result's URI says which spec it is in
    let mut report = report.clone();
    if report.format == Format::Sarif && report.sarif_root.is_none() {
        report.sarif_root = Some(common_root(specs));
    }
    let report = &report;
    let mut exit = Exit::Ok;
    let mut merged: Option<serde_json::Value> = None;
    let mut text = String::new();
    for spec in specs {
        let one = s.with_spec(spec.clone());
        let model = one.load()?;
        let r = portolan_lint::lint(&model).map_err(CliError::config(&model))?;
        if verdict(&r, report) == Exit::Findings {
            exit = Exit::Findings;
        }
        let rendered = render_report(&one, &model, r, report)?;
        match report.format {
            Format::Human => {
                if s.verbosity >= 0 {
                    let _ = writeln!(text, "==> {} <==", spec.display());
                }
                text.push_str(&rendered);
                text.push('\n');
            }
            Format::Json | Format::Sarif => {
                let v: serde_json::Value = serde_json::from_str(&rendered).unwrap_or_default();
                merged = Some(match merged {
                    None => v,
                    Some(acc) => merge(acc, &v, report.format),
                });
            }
        }
    }
    if let Some(v) = merged {
        text = pretty(&v);
    }
    output::stdout(&text)?;
    Ok(exit)
}

/// Adds report `b` to `a` (JSON: findings, suppressed, summary counts; SARIF: results).
fn merge(mut a: serde_json::Value, b: &serde_json::Value, format: Format) -> serde_json::Value {
    let append = |to: &mut serde_json::Value, from: &serde_json::Value| {
        if let (Some(to), Some(from)) = (to.as_array_mut(), from.as_array()) {
            to.extend(from.iter().cloned());
        }
    };
    if format == Format::Sarif {
        append(&mut a["runs"][0]["results"], &b["runs"][0]["results"]);
        return a;
    }
    append(&mut a["findings"], &b["findings"]);
    append(&mut a["suppressed"], &b["suppressed"]);
    if let Some(sum) = a["summary"].as_object_mut() {
        for (k, v) in sum.iter_mut() {
            *v = (v.as_u64().unwrap_or(0) + b["summary"][k].as_u64().unwrap_or(0)).into();
        }
    }
    a
}

/// `--list-rules`: a table, or with `--json`/`--format json` one object per rule.
fn list_rules(format: Format) -> Result<Exit, CliError> {
    if format == Format::Human {
        output::stdout(&human::rules_table())?;
        return Ok(Exit::Ok);
    }
    let rules: Vec<serde_json::Value> = Rule::ALL
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id(),
                "severity": r.default_severity().as_str(),
                "description": r.description(),
                "needs_live_data": !r.spec_only(),
            })
        })
        .collect();
    output::stdout(&pretty(&serde_json::Value::Array(rules)))?;
    Ok(Exit::Ok)
}

/// The repository holding every spec (as `SarifRoot::discover` finds one for a single spec),
/// starting from their deepest common directory; standard input counts as the current one.
fn common_root(specs: &[PathBuf]) -> PathBuf {
    let dirs: Vec<PathBuf> = specs
        .iter()
        .map(|p| {
            let p = if is_stdin(p) {
                Path::new(".")
            } else {
                p.as_path()
            };
            let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
            if abs.is_dir() {
                abs
            } else {
                abs.parent().map_or(abs.clone(), Path::to_path_buf)
            }
        })
        .collect();
    let mut common = dirs.first().cloned().unwrap_or_default();
    for d in dirs.iter().skip(1) {
        while !d.starts_with(&common) {
            if !common.pop() {
                break;
            }
        }
    }
    portolan_lint::report::sarif::SarifRoot::discover(&common)
        .dir()
        .to_path_buf()
}
