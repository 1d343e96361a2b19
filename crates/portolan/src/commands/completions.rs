//! `portolan completions SHELL`: a completion script generated from the clap definition.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;

pub(crate) fn run(shell: clap_complete::Shell) -> Result<Exit, CliError> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "portolan", &mut buf);
    output::stdout(&String::from_utf8_lossy(&buf))?;
    Ok(Exit::Ok)
}
