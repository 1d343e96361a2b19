//! `portolan lint`: static checks of the spec, reported as human text, JSON or SARIF.

use portolan_lint::Report;
use portolan_lint::report::{Format, human, json, sarif};
use portolan_model::Model;

use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::{ReportSettings, Settings};

pub(crate) fn run(
    s: &Settings,
    report: ReportSettings,
    list_rules: bool,
) -> Result<Exit, CliError> {
    if list_rules {
        output::stdout(&human::rules_table())?;
        return Ok(Exit::Ok);
    }
    let model = s.load()?;
    let r = portolan_lint::lint(&model)?;
    print_report(s, &model, r, report)
}

/// Prints a report in the chosen format and picks the exit code.
pub(crate) fn print_report(
    s: &Settings,
    model: &Model,
    mut r: Report,
    report: ReportSettings,
) -> Result<Exit, CliError> {
    let text = match report.format {
        Format::Human => {
            if s.verbosity < 1 {
                for f in &mut r.findings {
                    f.notes.clear();
                }
            }
            let style = human::Style {
                color: s.color,
                width: 100,
            };
            match s.verbosity {
                i8::MIN..=-2 => String::new(),
                -1 => r
                    .findings
                    .iter()
                    .map(|f| human::finding(&model.sources, f, style) + "\n\n")
                    .collect(),
                _ => human::report(&model.sources, &r, style),
            }
        }
        Format::Json => pretty(&json::report(&model.sources, &r)),
        Format::Sarif => pretty(&sarif::report(
            &model.sources,
            &r,
            env!("CARGO_PKG_VERSION"),
        )),
    };
    output::stdout(&text)?;
    Ok(if report.fail_on.is_some_and(|t| r.fails(t)) {
        Exit::Findings
    } else {
        Exit::Ok
    })
}

fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
