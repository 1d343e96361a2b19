//! `portolan snapshot [-o FILE]`: this host's live state — every listener with its owners
//! and container — as stable JSON, to keep and compare later with `portolan diff`.

use std::path::PathBuf;

use portolan_observe::snapshot::Snapshot;

use super::Subcommand;
use super::live::{listeners, short_hostname, this_host};
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  sudo portolan snapshot -o before.json     # root sees every owner
  sudo portolan snapshot -o after.json && portolan diff before.json after.json
  portolan snapshot --host app1 | jq '.listeners[] | select(.addr == \"0.0.0.0\")'

The JSON is byte-stable for the same state (sorted; no socket inodes), so files diff
cleanly. The host is the spec's host this machine is, else its host name.";

/// `portolan snapshot`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write to FILE (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Name the host NAME in the snapshot.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        let now = s.clock.now();
        let host = self.host.unwrap_or_else(|| {
            s.spec_path()
                .ok()
                .and_then(|p| portolan_model::load(&p).ok())
                .and_then(|m| this_host(&m).map(|h| m.host(h).name.clone()))
                .unwrap_or_else(short_hostname)
        });
        let (live, note) = listeners(true)?;
        let snap = Snapshot::live(&host, now, &live, note.into_iter().collect());
        let text = snap.to_json();
        match &self.output {
            Some(p) => {
                output::atomic_write(p, &text)?;
                if s.verbosity >= 0 {
                    errln!(
                        "wrote {} ({} of host `{host}`)",
                        p.display(),
                        super::common::count(snap.listeners.len() as u64, "listener", None)
                    );
                }
            }
            None => output::stdout(&text)?,
        }
        Ok(Exit::Ok)
    }
}
