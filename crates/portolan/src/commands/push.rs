//! `portolan push`: upload the local spec into the registry (`PUT /api/v1/spec`, admin
//! token). The server validates it as `portolan lint` loads it; a spec that does not load
//! changes nothing there.

use super::Subcommand;
use super::client::{Client, Remote};
use super::common::shown;
use crate::cli::RemoteArgs;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  export PORTOLAN_SERVER=http://127.0.0.1:7878 PORTOLAN_TOKEN=ptk_…
  portolan push                      # ./ports.toml (searched upward) into the registry
  portolan --spec infra/ports.toml push --server https://ports.example.org

Needs an admin token. A spec that does not load is refused and the registry is unchanged.";

/// `portolan push`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The registry.
    #[command(flatten)]
    pub remote: RemoteArgs,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        run(s, &Remote::required(self.remote)?)
    }
}

fn run(s: &Settings, remote: &Remote) -> Result<Exit, CliError> {
    let spec = s.spec_path()?;
    if spec.is_dir() {
        return Err(CliError::Usage(format!(
            "{} is a directory: push needs one ports.toml (the registry stores a single file)",
            spec.display()
        )));
    }
    // load first: errors render with carets here rather than as a server message
    s.load()?;
    let text = std::fs::read_to_string(&spec)
        .map_err(|e| CliError::io(format!("cannot read {}", spec.display()), e))?;
    let answer =
        Client::new(remote).send("PUT", "/api/v1/spec", Some(("application/toml", &text)))?;
    if s.json {
        output::stdout(&(answer.trim().to_string() + "\n"))?;
    } else if s.verbosity >= 0 {
        let v: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
        output::stdout(&format!(
            "pushed {} to {}: {} projects, {} hosts, {} services, {} bindings, {} reservations; {} lint findings\n",
            shown(&spec),
            remote.server,
            v["projects"],
            v["hosts"],
            v["services"],
            v["bindings"],
            v["reservations"],
            v["findings"]
        ))?;
    }
    Ok(Exit::Ok)
}
