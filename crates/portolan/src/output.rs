//! Writing results: stdout that stops writing (and only writing) when its reader goes away,
//! stderr that never panics, and atomic file writes (temp file in the same directory +
//! rename, by portolan-alloc's one writer) so a reader never sees half a file.
//!
//! A closed pipe is the reader's business, not the verdict's: `portolan lint | head -1`
//! must exit 1 when there are findings, exactly as without `head`. So a broken pipe on
//! stdout is remembered and later writes are dropped, while the command runs to its end and
//! returns its exit code. `eprintln!` panics when stderr is a closed pipe; [`errln!`]
//! writes there and ignores failure (`#![deny(clippy::print_stderr)]` keeps it that way).

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::CliError;

/// Writes a line to stderr, ignoring failure (a closed stderr must not panic).
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

/// Set once stdout's reader has gone away: later writes are dropped.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Whether stdout's reader has gone away.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// Writes `text` to stdout. A broken pipe is not an error: it stops further output and
/// the command goes on to its exit code.
pub fn stdout(text: &str) -> Result<(), CliError> {
    if stdout_closed() {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        r => r.map_err(|e| CliError::io("cannot write to stdout", e)),
    }
}

/// Streams to stdout through a buffer (for output too large to build as one string), with
/// the same broken-pipe rule as [`stdout`].
pub fn stdout_with(
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), CliError> {
    if stdout_closed() {
        return Ok(());
    }
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        r => r.map_err(|e| CliError::io("cannot write to stdout", e)),
    }
}

/// Writes `text` to stderr without a newline, ignoring failure.
pub fn stderr(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}

/// Writes `text` to `path` atomically (see [`portolan_alloc::atomic::write_atomic`]: a fresh
/// temp file that no planted symlink can redirect, the target's mode and owner kept, file and
/// directory synced; a symlinked target is written through).
pub fn atomic_write(path: &Path, text: &str) -> Result<(), CliError> {
    portolan_alloc::atomic::write_atomic(path, text.as_bytes())
        .map(drop)
        .map_err(|e| CliError::io(format!("cannot write {}", path.display()), e))
}
