//! `portolan check`: lint plus drift against this machine. Until live observation lands it
//! runs the lint and says so; `--host` is validated against the spec already.

use portolan_model::error::did_you_mean;

use crate::error::CliError;
use crate::exit::Exit;
use crate::settings::{ReportSettings, Settings};

pub(crate) fn run(
    s: &Settings,
    report: ReportSettings,
    host: Option<&str>,
) -> Result<Exit, CliError> {
    let model = s.load()?;
    if let Some(h) = host
        && model.host_named(h).is_none()
    {
        let names: Vec<&str> = model.hosts.iter().map(|h| h.name.as_str()).collect();
        let hint = did_you_mean(h, names.iter().copied())
            .map(|n| format!(" (did you mean `{n}`?)"))
            .unwrap_or_default();
        return Err(CliError::Usage(format!(
            "host `{h}` is not in the spec{hint}; hosts: {}",
            names.join(", ")
        )));
    }
    if s.verbosity >= 0 && report.format == portolan_lint::report::Format::Human {
        eprintln!(
            "note: drift rules need live observation, which this build does not have yet; running the spec checks only"
        );
    }
    let r = portolan_lint::lint(&model)?;
    super::print_report(s, &model, r, report)
}
