//! Exit codes scripts can rely on (DESIGN.md): 0 nothing at or above `--fail-on`, 1 findings
//! at or above it, 2 usage error or unreadable/malformed input.

/// The process outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Nothing to report at or above the threshold.
    Ok = 0,
    /// Findings at or above the threshold.
    Findings = 1,
    /// Usage error or bad input — including input that cannot be read: a file or stream
    /// that fails, an external program (`nft`, `iptables-save`…) that fails, a machine
    /// that cannot be observed ([`CliError::exit`](crate::error::CliError::exit)).
    Input = 2,
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e as u8)
    }
}
