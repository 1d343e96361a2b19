//! Writing results: stdout with broken-pipe tolerance, and atomic file writes (temp file in
//! the same directory + rename, by portolan-alloc's one writer) so a reader never sees half a
//! file.

use std::io::Write;
use std::path::Path;

use crate::error::CliError;

/// Writes `text` to stdout.
pub fn stdout(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| CliError::io("cannot write to stdout", e))
}

/// Writes `text` to `path` atomically (see [`portolan_alloc::atomic::write_atomic`]: a fresh
/// temp file that no planted symlink can redirect, the target's mode and owner kept, file and
/// directory synced; a symlinked target is written through).
pub fn atomic_write(path: &Path, text: &str) -> Result<(), CliError> {
    portolan_alloc::atomic::write_atomic(path, text.as_bytes())
        .map(drop)
        .map_err(|e| CliError::io(format!("cannot write {}", path.display()), e))
}
