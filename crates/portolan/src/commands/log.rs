//! `portolan log`: the change log kept beside the spec (`ports.log.jsonl`), as a Markdown
//! table like a hand-kept "Port Assignment Log", or as JSON with `--json`.

use portolan_alloc::log;

use super::Subcommand;
use super::common::shown;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan log                       # Markdown table, like a Port Assignment Log
  portolan log --project dashboard
  portolan log --json | jq '.[] | select(.action == \"alloc\")'";

/// `portolan log`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only entries of this project.
    #[arg(long, value_name = "P")]
    pub project: Option<String>,
    /// Only entries of this service.
    #[arg(long, value_name = "SVC")]
    pub service: Option<String>,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        run(s, self.project.as_deref(), self.service.as_deref())
    }
}

fn run(s: &Settings, project: Option<&str>, service: Option<&str>) -> Result<Exit, CliError> {
    let spec = s.spec_path()?;
    let path = log::path_for(&spec);
    let (mut entries, bad) = log::read(&path)?;
    for line in &bad {
        eprintln!(
            "warning: {}:{line}: not a log entry (skipped)",
            shown(&path)
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
                shown(&path)
            );
        }
    } else {
        output::stdout(&log::table(&entries))?;
    }
    Ok(Exit::Ok)
}
