//! `portolan import FILE.md`: a hand-written Markdown port document → a spec, printed or
//! written (atomically; never over an existing file without `--force`). Secrets seen in the
//! document are redacted in the spec and reported here; parts that could not be read are
//! warnings.

use std::path::{Path, PathBuf};

use super::Subcommand;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan import docs/PORTS.md                  # print the spec
  portolan import docs/PORTS.md -o ports.toml    # write it (refuses to overwrite without --force)
  portolan import docs/PORTS.md -o ports.toml && portolan lint

Secrets in the document are redacted and reported on stderr.";

/// `portolan import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Markdown document.
    #[arg(value_name = "FILE.md")]
    pub file: PathBuf,
    /// Write the spec here instead of printing it.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite --output if it exists.
    #[arg(long, requires = "output")]
    pub force: bool,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        run(s, &self.file, self.output.as_deref(), self.force)
    }
}

fn run(s: &Settings, file: &Path, out: Option<&Path>, force: bool) -> Result<Exit, CliError> {
    let bytes = std::fs::read(file)
        .map_err(|e| CliError::io(format!("cannot read {}", file.display()), e))?;
    if portolan_discover::text::looks_binary(&bytes) {
        return Err(CliError::Usage(format!(
            "{}: binary content, not a Markdown document",
            file.display()
        )));
    }
    let text = String::from_utf8_lossy(&bytes);
    let shown = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let imported = portolan_discover::markdown::import(&shown, &text);
    if s.verbosity >= 0 {
        for p in &imported.report.problems {
            eprintln!("warning: {}: {}", p.at, p.reason);
        }
        for at in &imported.report.secrets {
            eprintln!("warning: {at}: a secret in the document (redacted in the spec; rotate it)");
        }
    }
    match out {
        None => output::stdout(&imported.spec)?,
        Some(path) => {
            if path.exists() && !force {
                return Err(CliError::Usage(format!(
                    "{} already exists (use --force to overwrite)",
                    path.display()
                )));
            }
            output::atomic_write(path, &imported.spec)?;
            if s.verbosity >= 0 {
                eprintln!(
                    "wrote {}; next: `portolan --spec {} lint`",
                    path.display(),
                    path.display()
                );
            }
        }
    }
    Ok(Exit::Ok)
}
