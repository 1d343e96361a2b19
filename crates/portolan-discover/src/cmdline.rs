//! Port flags on command lines, shared by every format that carries one (Procfile,
//! Dockerfile `CMD`, compose `command:`, systemd `ExecStart=`, package.json scripts):
//! `gunicorn --bind 0.0.0.0:8000`, `uvicorn --port 8001`, `hypercorn -b`, `manage.py
//! runserver 0.0.0.0:8082`, `next dev -p 3000`, `vite --port 5173`, `docker run -p`.

use crate::evidence::{PortUse, SourceKind};
use crate::text::LineIndex;

/// The ports a command line listens on; `offset` is the byte offset of `cmd` inside the
/// text `ix` indexes, so evidence points at the port token.
pub fn scan(ix: &LineIndex<'_>, source: SourceKind, cmd: &str, offset: usize) -> Vec<PortUse> {
    let _ = (ix, source, cmd, offset);
    Vec::new()
}
