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
    /// `[lint]` names an unknown rule; the sources of the spec it is in come along, so the
    /// error renders with a caret without loading the spec again.
    #[error("{error}")]
    Config {
        /// The error.
        error: portolan_lint::ConfigError,
        /// The spec's sources.
        sources: Box<portolan_model::SourceMap>,
    },
    /// Reading or writing a file, standard input or standard output failed.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing, naming the file (`cannot read dump.nft`, `cannot write to
        /// stdout`).
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
    /// Observing this machine's sockets, processes or containers failed (the cause keeps
    /// the path or the kernel's errno).
    #[error(transparent)]
    Observe(#[from] portolan_observe::ObserveError),
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
    /// (range full, ports taken); 2 for every other failure — bad usage or input, and the
    /// environment failing the command (a file or stream that cannot be read or written,
    /// an external program that fails, the machine that cannot be observed), which DESIGN.md
    /// counts as unreadable input. Every variant is listed: a new one picks its code here.
    pub fn exit(&self) -> crate::exit::Exit {
        use crate::exit::Exit;
        match self {
            CliError::Alloc(a) if a.is_conflict() => Exit::Findings,
            CliError::Remote { status: 409, .. } => Exit::Findings,
            CliError::BrokenPipe => Exit::Ok,
            // bad usage or input
            CliError::Usage(_)
            | CliError::Load(_)
            | CliError::Config { .. }
            | CliError::Alloc(_)
            | CliError::Remote { .. }
            | CliError::Render(_) => Exit::Input,
            // the environment failed the command: input that cannot be read
            CliError::Io { .. } | CliError::External { .. } | CliError::Observe(_) => Exit::Input,
        }
    }

    /// A `[lint]` configuration error of `model` (see [`CliError::Config`]).
    pub fn config(
        model: &portolan_model::Model,
    ) -> impl FnOnce(portolan_lint::ConfigError) -> Self {
        |error| CliError::Config {
            error,
            sources: Box::new(model.sources.clone()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Exit;

    /// Regression: a firewall dump that could not be read, standard input that failed and
    /// a netlink failure were `Usage` errors with their cause flattened to text; they are
    /// typed now and keep exit code 2 (DESIGN.md: unreadable input).
    #[test]
    fn environment_failures_are_typed_and_exit_2() {
        let io = CliError::io("cannot read dump.nft", std::io::Error::from_raw_os_error(2));
        assert!(matches!(&io, CliError::Io { source, .. } if source.raw_os_error() == Some(2)));
        assert_eq!(
            io.to_string(),
            "cannot read dump.nft: No such file or directory (os error 2)"
        );
        assert_eq!(io.exit(), Exit::Input);
        let external = CliError::External {
            cmd: "nft list ruleset".into(),
            status: Some(1),
            stderr: "Operation not permitted".into(),
        };
        assert_eq!(
            external.to_string(),
            "`nft list ruleset` failed with exit status 1: Operation not permitted"
        );
        assert_eq!(external.exit(), Exit::Input);
        let observe = CliError::from(portolan_observe::ObserveError::Netlink {
            step: "setns",
            source: std::io::Error::from_raw_os_error(1),
        });
        assert_eq!(observe.exit(), Exit::Input);
        assert!(
            observe
                .to_string()
                .starts_with("netlink sock_diag: setns: "),
            "{observe}"
        );
        let pipe = CliError::io(
            "cannot write to stdout",
            std::io::ErrorKind::BrokenPipe.into(),
        );
        assert!(matches!(pipe, CliError::BrokenPipe));
        assert_eq!(pipe.exit(), Exit::Ok);
    }
}
