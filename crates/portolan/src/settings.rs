//! Stage two of the configuration: the validated global settings every command reads.
//! Resolves the spec path (`--spec`, `$PORTOLAN_SPEC`, else `ports.toml` searched upward) and
//! the colour choice. Each command validates its own arguments in its module; nothing below
//! the commands sees clap types.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::cli::{Cli, ColorChoice};
use crate::error::CliError;

/// Validated global settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Explicit spec path, if any.
    pub spec: Option<PathBuf>,
    /// Colours on stdout.
    pub color: bool,
    /// Colours on stderr.
    pub color_stderr: bool,
    /// `--json`.
    pub json: bool,
    /// -1 quiet, 0 normal, 1+ verbose.
    pub verbosity: i8,
    /// Where "now" comes from: `PORTOLAN_NOW` read once here (malformed is a usage error,
    /// never a default), else the system clock.
    pub clock: portolan_model::clock::Clock,
}

fn color(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

impl Settings {
    /// Validates the global options of the parsed command line.
    pub fn from_cli(cli: &Cli) -> Result<Settings, CliError> {
        if let Some(p) = &cli.spec
            && p.as_os_str().is_empty()
        {
            return Err(CliError::Usage("--spec (or PORTOLAN_SPEC) is empty".into()));
        }
        let clock =
            portolan_model::clock::Clock::from_env().map_err(|e| CliError::Usage(e.to_string()))?;
        let verbosity = i8::try_from(cli.verbose).unwrap_or(i8::MAX)
            - i8::try_from(cli.quiet).unwrap_or(i8::MAX);
        Ok(Settings {
            spec: cli.spec.clone(),
            color: color(cli.color, std::io::stdout().is_terminal()),
            color_stderr: color(cli.color, std::io::stderr().is_terminal()),
            json: cli.json,
            verbosity,
            clock,
        })
    }

    /// The spec path: explicit, or `ports.toml` in the current directory or a parent.
    pub fn spec_path(&self) -> Result<PathBuf, CliError> {
        if let Some(p) = &self.spec {
            return Ok(p.clone());
        }
        let cwd = std::env::current_dir()
            .map_err(|e| CliError::io("cannot read the current directory", e))?;
        portolan_model::find_spec(&cwd).ok_or_else(|| {
            CliError::Usage(format!(
                "no {} found in {} or any parent directory\n  hint: pass --spec PATH, set PORTOLAN_SPEC, or run `portolan init`",
                portolan_model::SPEC_FILE,
                cwd.display()
            ))
        })
    }

    /// Loads the spec.
    pub fn load(&self) -> Result<portolan_model::Model, CliError> {
        Ok(portolan_model::load(&self.spec_path()?)?)
    }
}
