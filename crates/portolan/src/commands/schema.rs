//! `portolan schema`: the JSON Schema of `ports.toml`, for editors (taplo, VS Code).

use super::Subcommand;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan schema > ports.schema.json
  # then, in ports.toml for taplo/Even Better TOML:
  #:schema ./ports.schema.json";

/// `portolan schema`.
#[derive(Debug, clap::Args)]
pub struct Args {}

impl Subcommand for Args {
    fn run(self, _: &Settings) -> Result<Exit, CliError> {
        run()
    }
}

fn run() -> Result<Exit, CliError> {
    let mut s = portolan_model::json_schema();
    s.push('\n');
    output::stdout(&s)?;
    Ok(Exit::Ok)
}
