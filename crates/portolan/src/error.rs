//! The binary's error type: every failure maps to an exit code and a message, and load
//! errors keep their sources so they render with carets.

use portolan_model::LoadError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments or environment.
    #[error("{0}")]
    Usage(String),
    /// The spec could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// `[lint]` names an unknown rule.
    #[error(transparent)]
    Config(#[from] portolan_lint::ConfigError),
    /// Writing output failed.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The reader of our output went away (`portolan lint | head`): not an error.
    #[error("broken pipe")]
    BrokenPipe,
    /// An allocation, reservation or release was refused or failed.
    #[error(transparent)]
    Alloc(portolan_alloc::AllocError),
    /// The registry refused a request (`status` is its HTTP status, 0 when it could not be
    /// reached).
    #[error("{message}")]
    Remote {
        /// HTTP status (0: no answer).
        status: u16,
        /// The server's error message, with the field it names.
        message: String,
    },
    /// A generator cannot express the spec.
    #[error(transparent)]
    Render(#[from] portolan_render::RenderError),
    /// An external program (`nft`, `ufw`, `docker`, …) could not be run or failed.
    #[error("{}", external_message(cmd, *status, stderr))]
    External {
        /// The command line as shown to the user.
        cmd: String,
        /// Its exit status (`None`: it could not be started, or a signal ended it).
        status: Option<i32>,
        /// Its standard error, trimmed (or why it could not be started).
        stderr: String,
    },
}

fn external_message(cmd: &str, status: Option<i32>, stderr: &str) -> String {
    match status {
        Some(code) if stderr.is_empty() => format!("`{cmd}` failed with exit status {code}"),
        Some(code) => format!("`{cmd}` failed with exit status {code}: {stderr}"),
        None => format!("`{cmd}`: {stderr}"),
    }
}

impl From<portolan_alloc::AllocError> for CliError {
    fn from(e: portolan_alloc::AllocError) -> Self {
        match e {
            // keep the sources so the error renders with a caret
            portolan_alloc::AllocError::Load(l) => CliError::Load(l),
            other => CliError::Alloc(other),
        }
    }
}

impl CliError {
    /// The exit code: 1 when a change conflicts with the spec's (or the registry's) state
    /// (range full, ports taken), else 2.
    pub fn exit(&self) -> crate::exit::Exit {
        match self {
            CliError::Alloc(a) if a.is_conflict() => crate::exit::Exit::Findings,
            CliError::Remote { status: 409, .. } => crate::exit::Exit::Findings,
            CliError::BrokenPipe => crate::exit::Exit::Ok,
            _ => crate::exit::Exit::Input,
        }
    }

    /// An I/O error with context; a broken pipe becomes [`CliError::BrokenPipe`].
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::BrokenPipe {
            CliError::BrokenPipe
        } else {
            CliError::Io {
                context: context.into(),
                source,
            }
        }
    }
}
