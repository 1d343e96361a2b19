//! `portolan lint`: static checks of the spec, reported as human text, JSON or SARIF.

use portolan_lint::report::human;

use super::Subcommand;
use super::common::{ReportSettings, print_report};
use crate::cli::ReportArgs;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan lint
  portolan lint --format json | jq '.findings[].rule'
  portolan lint --fail-on warning        # CI: fail on warnings too
  portolan lint --list-rules";

/// `portolan lint`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Report options.
    #[command(flatten)]
    pub report: ReportArgs,
    /// List every rule with its default severity, then exit.
    #[arg(long)]
    pub list_rules: bool,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        if self.list_rules {
            output::stdout(&human::rules_table())?;
            return Ok(Exit::Ok);
        }
        let report = ReportSettings::new(&self.report, s.json);
        let model = s.load()?;
        let r = portolan_lint::lint(&model)?;
        print_report(s, &model, r, report)
    }

    fn machine_output(&self) -> bool {
        self.report.machine_output()
    }
}
