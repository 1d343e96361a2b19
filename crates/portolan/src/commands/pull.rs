//! `portolan pull`: the registry's spec (`GET /api/v1/spec`) merged into the spec file —
//! a three-way merge against what the file last received from that registry, written as a
//! lossless edit (comments, order and formatting of everything the registry did not change
//! stay byte for byte). Local edits since the last pull that the registry did not touch
//! survive; keys both changed differently are refused unless `--force` (the registry's
//! win). `-o NEW` writes the registry's spec as a fresh file instead (`-o -`: stdout).
//! The generation pulled is recorded (outside the working tree) for the next `push`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use portolan_alloc::merge::OnConflict;
use portolan_alloc::sidecar::SpecLock;

use super::Subcommand;
use super::client::{Client, Remote};
use super::common::shown;
use super::sync;
use crate::cli::RemoteArgs;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan pull                      # merge the registry's spec into ./ports.toml
  portolan pull --force              # the same, the registry's values win conflicts
  portolan pull -o fresh.toml        # the registry's spec as a new file
  portolan pull -o -                 # print it

A pull keeps comments and formatting: only what the registry changed is written. Edits made
here since the last pull survive unless the registry changed the same key (then the pull is
refused, nothing written, unless --force). Exit codes: 0 pulled, 1 refused, 2 bad input.";

/// `portolan pull`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The registry.
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Write the registry's spec to FILE as a new file (`-` prints it) instead of merging it
    /// into the spec.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Take the registry's value where both changed a key (merging), or overwrite an
    /// existing FILE (`-o`).
    #[arg(long)]
    pub force: bool,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        let remote = Remote::required(self.remote, &s.config)?;
        match self.output.as_deref() {
            Some(p) if p == Path::new("-") => {
                let got = sync::fetch(&Client::new(&remote), &remote)?;
                output::stdout(&got.text)?;
                Ok(Exit::Ok)
            }
            Some(p) => fresh(s, &remote, p, self.force),
            None => merge_into_spec(s, &remote, self.force),
        }
    }
}

/// `pull -o NEW`: the registry's spec, as it exports it, in a new file.
fn fresh(s: &Settings, remote: &Remote, path: &Path, force: bool) -> Result<Exit, CliError> {
    if path.exists() && !force {
        return Err(CliError::Usage(format!(
            "{} exists; pass --force to overwrite it, or merge the registry's spec into it with `portolan --spec {} pull`",
            path.display(),
            path.display()
        )));
    }
    let _lock = SpecLock::acquire(path)?;
    let got = sync::fetch(&Client::new(remote), remote)?;
    portolan_alloc::txn::write_atomic(path, &got.text)?;
    sync::record(path, remote, got.generation, &got.text)?;
    if s.json {
        let v = serde_json::json!({
            "server": remote.server,
            "generation": got.generation,
            "file": shown(path),
            "written": true,
        });
        output::stdout(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"))?;
    } else if s.verbosity >= 0 {
        errln!(
            "wrote {} from {} (generation {})",
            shown(path),
            remote.server,
            got.generation
        );
    }
    Ok(Exit::Ok)
}

/// `pull`: the three-way merge into the spec file.
fn merge_into_spec(s: &Settings, remote: &Remote, force: bool) -> Result<Exit, CliError> {
    let spec = s.spec_path().map_err(|e| match e {
        CliError::Usage(m) => CliError::Usage(format!(
            "{m}\n  hint: `portolan pull -o ports.toml` writes the registry's spec as a new file"
        )),
        other => other,
    })?;
    if spec.is_dir() {
        return Err(CliError::Usage(format!(
            "{} is a directory: pull merges into one file; pass --spec FILE, or -o NEW",
            spec.display()
        )));
    }
    let _lock = SpecLock::acquire(&spec)?;
    let local = match std::fs::read_to_string(&spec) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(CliError::io(format!("cannot read {}", spec.display()), e)),
    };
    let client = Client::new(remote);
    let got = sync::fetch(&client, remote)?;
    let base = portolan_alloc::pulled::read(&spec, &remote.server);
    let on_conflict = if force {
        OnConflict::TakeRegistry
    } else {
        OnConflict::Refuse
    };
    let m = sync::merge_checked(
        &spec,
        base.as_ref(),
        &local,
        &got,
        on_conflict,
        "pull",
        s.clock.now(),
    )?;
    let written = m.changes_file(&local);
    if written {
        portolan_alloc::txn::write_atomic(&spec, &m.text)?;
    }
    // the base is what the registry has at this generation; local edits stay edits
    sync::record(&spec, remote, got.generation, &got.text)?;
    if s.json {
        let v = serde_json::json!({
            "server": remote.server,
            "generation": got.generation,
            "file": shown(&spec),
            "written": written,
            "taken": m.taken,
            "kept": m.kept,
            "overwritten": m.overwritten.iter().map(ToString::to_string).collect::<Vec<_>>(),
        });
        output::stdout(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"))?;
    } else if s.verbosity >= 0 {
        let mut line = format!(
            "pulled generation {} from {} into {}: ",
            got.generation,
            remote.server,
            shown(&spec)
        );
        if m.taken.is_empty() {
            line.push_str("already up to date");
        } else {
            let _ = write!(
                line,
                "{} from the registry ({})",
                super::common::count(m.taken.len() as u64, "change", None),
                sync::keys(&m.taken)
            );
        }
        if !m.kept.is_empty() {
            let _ = write!(
                line,
                "; kept {} ({})",
                super::common::count(m.kept.len() as u64, "local change", None),
                sync::keys(&m.kept)
            );
        }
        line.push('\n');
        for c in &m.overwritten {
            let _ = writeln!(line, "  overwritten by --force: {c}");
        }
        output::stdout(&line)?;
    }
    Ok(Exit::Ok)
}
