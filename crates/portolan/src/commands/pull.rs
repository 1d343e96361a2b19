//! `portolan pull`: the registry's spec (`GET /api/v1/spec`) as `ports.toml`, printed or
//! written atomically with `-o`.

use std::path::{Path, PathBuf};

use super::Subcommand;
use super::client::{Client, Remote};
use crate::cli::RemoteArgs;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan pull                      # print the registry's spec
  portolan pull -o ports.toml        # write it (atomically)
  portolan pull --server http://127.0.0.1:7878 --token ptk_… -o ports.toml";

/// `portolan pull`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The registry.
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Write the spec to FILE (atomically) instead of printing it.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        run(s, &Remote::required(self.remote)?, self.output.as_deref())
    }
}

fn run(s: &Settings, remote: &Remote, out: Option<&Path>) -> Result<Exit, CliError> {
    let text = Client::new(remote).send("GET", "/api/v1/spec", None)?;
    match out {
        Some(path) => {
            output::atomic_write(path, &text)?;
            if s.verbosity >= 0 {
                eprintln!("wrote {} from {}", path.display(), remote.server);
            }
        }
        None => output::stdout(&text)?,
    }
    Ok(Exit::Ok)
}
