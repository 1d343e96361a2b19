//! `portolan check`: lint plus drift on this machine — the spec's bindings for this host
//! (`--host`, or recognised by hostname) against the live listeners.

use portolan_model::error::did_you_mean;

use super::observe::{listeners, this_host};
use crate::error::CliError;
use crate::exit::Exit;
use crate::settings::{ReportSettings, Settings};

pub(crate) fn run(
    s: &Settings,
    report: ReportSettings,
    host: Option<&str>,
) -> Result<Exit, CliError> {
    let model = s.load()?;
    let host_id = match host {
        Some(h) => Some(model.host_named(h).ok_or_else(|| {
            let names: Vec<&str> = model.hosts.iter().map(|h| h.name.as_str()).collect();
            let hint = did_you_mean(h, names.iter().copied())
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            CliError::Usage(format!(
                "host `{h}` is not in the spec{hint}; hosts: {}",
                names.join(", ")
            ))
        })?),
        None => this_host(&model),
    };
    let mut r = portolan_lint::lint(&model)?;
    let human = report.format == portolan_lint::report::Format::Human;
    match host_id {
        Some(h) => {
            let (live, note) = listeners(true)?;
            r.findings
                .extend(portolan_observe::drift::drift(&model, h, &live));
            portolan_lint::sort(&model, &mut r.findings);
            if let Some(n) = note
                && s.verbosity >= 0
                && human
            {
                eprintln!("note: {n}");
            }
        }
        None if s.verbosity >= 0 && human => {
            eprintln!(
                "note: this machine is none of the spec's hosts (by hostname): pass --host NAME to check drift; running the spec checks only"
            );
        }
        None => {}
    }
    super::print_report(s, &model, r, report)
}
