//! `portolan completions SHELL`: a completion script generated from the clap definition.

use clap::CommandFactory;

use super::Subcommand;
use crate::cli::Cli;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan completions bash > /etc/bash_completion.d/portolan
  portolan completions zsh > ~/.zfunc/_portolan
  portolan completions fish > ~/.config/fish/completions/portolan.fish";

/// `portolan completions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

impl Subcommand for Args {
    fn run(self, _: &Settings) -> Result<Exit, CliError> {
        run(self.shell)
    }
}

fn run(shell: clap_complete::Shell) -> Result<Exit, CliError> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "portolan", &mut buf);
    output::stdout(&String::from_utf8_lossy(&buf))?;
    Ok(Exit::Ok)
}
