//! `portolan import FILE.md`: a hand-written Markdown port document → a spec, printed or
//! written (atomically; never over an existing file without `--force`). Secrets seen in the
//! document are redacted in the spec and reported here; parts that could not be read are
//! warnings.

use std::path::Path;

use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

pub(crate) fn run(
    s: &Settings,
    file: &Path,
    out: Option<&Path>,
    force: bool,
) -> Result<Exit, CliError> {
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
