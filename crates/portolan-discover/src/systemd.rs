//! systemd units: `.socket` `ListenStream=`/`ListenDatagram=`, and port flags in a `.service`'s `ExecStart=`.

use crate::evidence::{Context, FileReport};

/// Reads one file.
pub fn parse(path: &str, text: &str, ctx: &Context) -> FileReport {
    let _ = (path, text, ctx);
    FileReport::default()
}
