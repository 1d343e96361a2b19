//! `portolan serve`: the team registry (`portolan_server`) on `SQLite` (default
//! `sqlite://portolan.db`, created on first start) or `PostgreSQL`. Logs go to stderr through
//! `tracing` (`-v` for debug, `-q` for warnings only); the URL it listens on goes to stdout.
//! A non-loopback `--listen` is refused unless `--public` says it is meant.

use std::io::Write as _;

use crate::error::CliError;
use crate::exit::Exit;
use crate::settings::{ServeSettings, Settings};

/// A database URL without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((auth, tail)) if !auth.contains('/') => match auth.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{tail}"),
            None => url.to_string(),
        },
        _ => url.to_string(),
    }
}

pub(crate) fn run(s: &Settings, o: &ServeSettings) -> Result<Exit, CliError> {
    let level = match s.verbosity {
        i8::MIN..=-1 => tracing::Level::WARN,
        0 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_ansi(s.color_stderr)
        .with_target(false)
        .try_init();
    if !o.listen.ip().is_loopback() {
        eprintln!(
            "warning: listening on {}, reachable from other machines; tokens travel in clear text unless a TLS proxy fronts it",
            o.listen
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::io("cannot start the async runtime", e))?;
    let config = portolan_server::ServeConfig {
        db: o.db.clone(),
        listen: o.listen,
        limits: portolan_server::Limits {
            max_body: o.max_body,
            rate: o.rate,
            burst: o.burst,
        },
    };
    let db = redact(&o.db);
    let json = s.json;
    runtime
        .block_on(portolan_server::serve(config, move |addr| {
            let line = if json {
                serde_json::json!({"url": format!("http://{addr}"), "db": db}).to_string()
            } else {
                format!("portolan registry listening on http://{addr} (database {db})")
            };
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }))
        .map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(Exit::Ok)
}
