//! Stage two of the configuration: the validated global settings every command reads.
//! Resolves the spec path (`--spec`, `$PORTOLAN_SPEC`, else `ports.toml` searched upward;
//! `-` is standard input, read once, for the commands that only read the spec) and the
//! colour choice. Each command validates its own arguments in its module; nothing below
//! the commands sees clap types.

use std::io::{IsTerminal, Read as _};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::cli::{Cli, ColorChoice};
use crate::config::Config;
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
    /// Columns of the terminal stdout is, `None` when it is not one (a pipe or a file: no
    /// line is cut to fit).
    pub width: Option<usize>,
    /// Columns of the terminal stderr is, likewise.
    pub width_stderr: Option<usize>,
    /// The user's config file (flags and environment variables win over it).
    pub config: Config,
    /// Where "now" comes from: `PORTOLAN_NOW` read once here (malformed is a usage error,
    /// never a default), else the system clock.
    pub clock: portolan_model::clock::Clock,
}

/// The spec host this machine is, as the config file says (`host`), set once at start.
static CONFIGURED_HOST: OnceLock<Option<String>> = OnceLock::new();

/// The config file's `host`: which host of the spec this machine is, when it says.
pub fn configured_host() -> Option<&'static str> {
    CONFIGURED_HOST.get().and_then(Option::as_deref)
}

/// The width of the terminal `stream` is, `None` when it is not a terminal.
fn width_of(stream: &impl std::os::fd::AsFd, terminal: bool) -> Option<usize> {
    if !terminal {
        return None;
    }
    terminal_size::terminal_size_of(stream)
        .map(|(w, _)| usize::from(w.0))
        .or_else(|| std::env::var("COLUMNS").ok()?.parse().ok())
        .filter(|w| *w >= 20)
}

impl Settings {
    /// Width for text on stdout: the terminal's, or unlimited.
    pub fn stdout_width(&self) -> usize {
        self.width.unwrap_or(UNLIMITED)
    }

    /// Width for text on stderr: the terminal's, or unlimited.
    pub fn stderr_width(&self) -> usize {
        self.width_stderr.unwrap_or(UNLIMITED)
    }
}

/// The width of output that goes to a pipe or a file: nothing is cut.
pub const UNLIMITED: usize = 1 << 16;

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
        let (out, err) = (std::io::stdout(), std::io::stderr());
        let config = Config::load()?;
        let _ = CONFIGURED_HOST.set(config.host.clone());
        Ok(Settings {
            spec: cli.spec.clone(),
            color: color(cli.color, out.is_terminal()),
            color_stderr: color(cli.color, err.is_terminal()),
            json: cli.json,
            verbosity,
            width: width_of(&out, out.is_terminal()),
            width_stderr: width_of(&err, err.is_terminal()),
            config,
            clock,
        })
    }

    /// The same settings for another spec (`lint SPEC`).
    #[must_use]
    pub fn with_spec(&self, spec: PathBuf) -> Settings {
        Settings {
            spec: Some(spec),
            ..self.clone()
        }
    }

    /// Whether the spec is standard input (`--spec -`).
    pub fn spec_is_stdin(&self) -> bool {
        self.spec.as_deref().is_some_and(is_stdin)
    }

    /// The spec path: explicit, or `ports.toml` in the current directory or a parent. A
    /// spec on standard input has no path: commands that write the spec, or read files
    /// beside it, need a file.
    pub fn spec_path(&self) -> Result<PathBuf, CliError> {
        if self.spec_is_stdin() {
            return Err(CliError::Usage(
                "this command needs the spec as a file (it writes it, or reads files beside it): `--spec -` (standard input) is for commands that only read the spec".into(),
            ));
        }
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

    /// The spec's file, `None` when it comes from standard input.
    pub fn spec_file(&self) -> Result<Option<PathBuf>, CliError> {
        if self.spec_is_stdin() {
            Ok(None)
        } else {
            self.spec_path().map(Some)
        }
    }

    /// Loads the spec (from standard input for `--spec -`).
    pub fn load(&self) -> Result<portolan_model::Model, CliError> {
        if self.spec_is_stdin() {
            return Ok(portolan_model::load_str(STDIN_NAME, stdin_text()?)?);
        }
        Ok(portolan_model::load(&self.spec_path()?)?)
    }
}

/// How a spec read from standard input is named in messages.
pub const STDIN_NAME: &str = "<stdin>";

/// Whether a path argument means standard input.
pub fn is_stdin(p: &Path) -> bool {
    p.as_os_str() == "-"
}

/// Standard input as text, read once (a second reader gets the same text).
pub fn stdin_text() -> Result<&'static str, CliError> {
    /// Why standard input is unusable, kept to answer every reader alike (an
    /// `io::Error` is not `Clone`: its errno, or its kind and text, are kept instead).
    enum Unusable {
        Unreadable {
            errno: Option<i32>,
            kind: std::io::ErrorKind,
            text: String,
        },
        NotUtf8 {
            offset: usize,
        },
    }
    static TEXT: OnceLock<Result<String, Unusable>> = OnceLock::new();
    let text = TEXT.get_or_init(|| {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Unusable::Unreadable {
                errno: e.raw_os_error(),
                kind: e.kind(),
                text: e.to_string(),
            })?;
        String::from_utf8(bytes).map_err(|e| Unusable::NotUtf8 {
            offset: e.utf8_error().valid_up_to(),
        })
    });
    match text {
        Ok(t) => Ok(t),
        Err(Unusable::Unreadable { errno, kind, text }) => Err(CliError::io(
            "cannot read standard input",
            errno.map_or_else(
                || std::io::Error::new(*kind, text.clone()),
                std::io::Error::from_raw_os_error,
            ),
        )),
        Err(Unusable::NotUtf8 { offset }) => Err(CliError::Usage(format!(
            "standard input is not UTF-8 text (invalid byte at offset {offset})"
        ))),
    }
}
