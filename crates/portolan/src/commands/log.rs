//! `portolan log`: the change log kept beside the spec (`ports.log.jsonl`), as a Markdown
//! table like a hand-kept "Port Assignment Log", or as JSON with `--json`.

use portolan_alloc::log;

use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

pub(crate) fn run(
    s: &Settings,
    project: Option<&str>,
    service: Option<&str>,
) -> Result<Exit, CliError> {
    let spec = s.spec_path()?;
    let path = log::path_for(&spec);
    let (mut entries, bad) = log::read(&path)?;
    for line in &bad {
        eprintln!(
            "warning: {}:{line}: not a log entry (skipped)",
            super::alloc::shown(&path)
        );
    }
    entries.retain(|e| {
        project.is_none_or(|p| e.project.as_deref() == Some(p))
            && service.is_none_or(|x| e.service.as_deref() == Some(x))
    });
    if s.json {
        let text = serde_json::to_string_pretty(&entries).unwrap_or_default();
        output::stdout(&(text + "\n"))?;
    } else if entries.is_empty() {
        if s.verbosity >= 0 {
            eprintln!(
                "the log is empty ({}): `portolan alloc`, `reserve`, `release` and `gc` write to it",
                super::alloc::shown(&path)
            );
        }
    } else {
        output::stdout(&log::table(&entries))?;
    }
    Ok(Exit::Ok)
}
