//! `portolan serve`: the team registry (`portolan_server`) on `SQLite` (default
//! `sqlite://portolan.db`, created on first start) or `PostgreSQL`. Logs go to stderr through
//! `tracing` (`-v` for debug, `-q` for warnings only); the URL it listens on goes to stdout.
//! A non-loopback `--listen` is refused unless `--public` says it is meant.

use std::io::Write as _;

use super::Subcommand;
use crate::error::CliError;
use crate::exit::Exit;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan serve                                   # sqlite://portolan.db on 127.0.0.1:7878
  portolan serve --db postgres://portolan@db1/portolan --listen 10.0.0.5:7878 --public
  portolan token create --role admin --label me    # then use it: Authorization: Bearer ptk_…

Every /api/v1 route and /metrics needs a token; /healthz and /api/v1/openapi.json are public.
Binding a non-loopback address needs --public (put a TLS proxy in front of it).";

/// `portolan serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Database: `sqlite://PATH` or `postgres://USER@HOST:PORT/DB`.
    #[arg(
        long,
        env = "PORTOLAN_DB",
        value_name = "URL",
        default_value = "sqlite://portolan.db",
        // `--help` would print the variable's value, password included
        hide_env_values = true
    )]
    pub db: String,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7878")]
    pub listen: String,
    /// Allow listening on a non-loopback address.
    #[arg(long)]
    pub public: bool,
    /// Largest request body in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub max_body: usize,
    /// Requests per second per token, on average (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 200.0)]
    pub rate_limit: f64,
    /// Burst of requests per token.
    #[arg(long, value_name = "N", default_value_t = 400.0)]
    pub burst: f64,
}

/// Validated `serve` options.
#[derive(Debug, Clone)]
struct ServeSettings {
    /// Database URL.
    db: String,
    /// Listen address.
    listen: std::net::SocketAddr,
    /// Limits.
    max_body: usize,
    /// Requests per second per token.
    rate: f64,
    /// Burst per token.
    burst: f64,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        let listen: std::net::SocketAddr = self.listen.parse().map_err(|_| {
            CliError::Usage(format!(
                "--listen `{}` is not an address: write IP:PORT, e.g. 127.0.0.1:7878",
                self.listen
            ))
        })?;
        if !listen.ip().is_loopback() && !self.public {
            return Err(CliError::Usage(format!(
                "--listen {listen} is reachable from other machines: pass --public to mean it (and put TLS in front)"
            )));
        }
        if !(self.rate_limit.is_finite()
            && self.rate_limit >= 0.0
            && self.burst.is_finite()
            && self.burst >= 1.0)
        {
            return Err(CliError::Usage(
                "--rate-limit must be >= 0 and --burst >= 1".into(),
            ));
        }
        if self.max_body < 1024 {
            return Err(CliError::Usage(
                "--max-body must be at least 1024 bytes".into(),
            ));
        }
        run(
            s,
            &ServeSettings {
                db: self.db,
                listen,
                max_body: self.max_body,
                rate: self.rate_limit,
                burst: self.burst,
            },
        )
    }
}

fn run(s: &Settings, o: &ServeSettings) -> Result<Exit, CliError> {
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
    let db = portolan_store::redact::dsn(&o.db);
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
