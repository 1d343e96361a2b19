//! `portolan snapshot [-o FILE]`: this host's live state — every listener with its owners
//! and container — as stable JSON, to keep and compare later with `portolan diff`.

use std::path::PathBuf;

use portolan_observe::snapshot::Snapshot;

use super::Subcommand;
use super::live::{NotHere, listeners, recognise, short_hostname};
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
cleanly. The host is the spec's host this machine is (by machine id, host name or
address; -v says which), else its host name.";

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
        let host = match self.host {
            Some(h) => h,
            None => snapshot_host(s)?,
        };
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

/// The host a snapshot is of: the spec's host this machine is, else (no spec, or none of its
/// hosts) this machine's short host name. A spec that claims this machine for several hosts
/// is an error: a snapshot named after a guess would be compared with the wrong host.
fn snapshot_host(s: &Settings) -> Result<String, CliError> {
    let Some(model) = s
        .spec_path()
        .ok()
        .and_then(|p| portolan_model::load(&p).ok())
    else {
        return Ok(short_hostname());
    };
    match recognise(s, &model) {
        Ok(h) => Ok(model.host(h).name.clone()),
        Err(NotHere::Unknown(m)) => {
            let name = short_hostname();
            if s.verbosity > 0 {
                errln!("note: {m}; the snapshot is named after this machine's host name `{name}`");
            }
            Ok(name)
        }
        Err(NotHere::Ambiguous(m)) => Err(CliError::Usage(format!(
            "{m}: pass --host NAME; {}",
            super::live::DECLARE
        ))),
    }
}
