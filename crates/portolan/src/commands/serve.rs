//! `portolan serve`: the team registry (`portolan_server`) on `SQLite` (default
//! `sqlite://portolan.db`, created on first start) or `PostgreSQL`. Logs go to stderr through
//! `tracing` (`-v` for debug, `-q` for warnings only); the URL it listens on goes to stdout
//! with the database it opened or created, and a warning goes to stderr when the database
//! holds no token (every request would be refused). A non-loopback `--listen` is refused
//! unless `--public` says it is meant. Behind a reverse proxy, `--trusted-proxy CIDR` (or
//! `trusted_proxies` in the config file) names the proxies whose forwarding headers say who
//! the client is (`portolan_server::proxy`).

use std::io::Write as _;

use super::Subcommand;
use super::registry_db::Db;
use crate::error::CliError;
use crate::exit::Exit;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan serve                                   # sqlite://portolan.db on 127.0.0.1:7878
  portolan serve --db postgres://portolan@db1/portolan --listen 10.0.0.5:7878 --public
  portolan token create --role admin --label me    # then use it: Authorization: Bearer ptk_…

It says which database it opened or created, and warns when the database has no token.
The database: --db, else PORTOLAN_DB, else `db` in ~/.config/portolan/config.toml.
Every /api/v1 route and /metrics needs a token; /healthz and /api/v1/openapi.json are public.
Binding a non-loopback address needs --public (put a TLS proxy in front of it).
Behind a reverse proxy, --trusted-proxy CIDR (repeatable; or `trusted_proxies` in the config
file) believes its Forwarded / X-Forwarded-For (the client, for throttling and the log) and
X-Forwarded-Proto (Secure cookies); --cookie-secure marks the cookies Secure always.";

/// `portolan serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Database: `sqlite://PATH` or `postgres://USER@HOST:PORT/DB` [default: the config
    /// file's `db`, else `sqlite://portolan.db`]
    #[arg(
        long,
        env = "PORTOLAN_DB",
        value_name = "URL",
        // `--help` would print the variable's value, password included
        hide_env_values = true
    )]
    pub db: Option<String>,
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
    /// How long listener history is kept (`90d`, `12h`; `forever` keeps it all); older
    /// changes are folded into one baseline per host.
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    pub history_retention: String,
    /// Mark the dashboard's cookies `Secure` on every answer: the dashboard is only reached
    /// over TLS (a TLS proxy in front of it).
    #[arg(long)]
    pub cookie_secure: bool,
    /// A reverse proxy's address or network (`10.0.0.0/8`, `127.0.0.1`, repeatable): a
    /// request from inside it is the client its `Forwarded`/`X-Forwarded-For` names (for
    /// failed-auth throttling and the log), and its `X-Forwarded-Proto: https` marks cookies
    /// `Secure`; those headers from any other peer are ignored [default: the config file's
    /// `trusted_proxies`].
    #[arg(long, value_name = "CIDR", alias = "trust-proxy")]
    pub trusted_proxy: Vec<String>,
    /// A PEM bundle of CA certificates that `https://` webhook receivers may be signed by,
    /// besides the public roots compiled in (a private CA).
    #[arg(long, value_name = "FILE")]
    pub webhook_ca: Option<std::path::PathBuf>,
}

/// Validated `serve` options.
#[derive(Debug, Clone)]
struct ServeSettings {
    /// The database.
    db: Db,
    /// Listen address.
    listen: std::net::SocketAddr,
    /// Limits.
    max_body: usize,
    /// Requests per second per token.
    rate: f64,
    /// Burst per token.
    burst: f64,
    /// Seconds of history kept (`None`: forever).
    history_retention: Option<u64>,
    /// When the dashboard's cookies get `Secure`.
    cookies: portolan_server::web::CookiePolicy,
    /// Reverse proxies whose forwarding headers are believed.
    trusted_proxies: portolan_server::proxy::TrustedProxies,
    /// CA bundle for `https://` webhook receivers.
    webhook_ca: Option<std::path::PathBuf>,
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
        let history_retention = if self.history_retention == "forever" {
            None
        } else {
            let secs = portolan_alloc::lease::parse_duration(&self.history_retention)
                .map_err(|e| CliError::Usage(format!("--history-retention: {e}")))?;
            Some(
                u64::try_from(secs)
                    .ok()
                    .filter(|s| *s >= 1)
                    .ok_or_else(|| {
                        CliError::Usage(
                            "--history-retention must be at least 1s (or `forever`)".into(),
                        )
                    })?,
            )
        };
        // the flags win over the config file, as everywhere
        let trusted_proxies = if self.trusted_proxy.is_empty() {
            let from_config = s.config.trusted_proxies.as_deref().unwrap_or_default();
            portolan_server::proxy::TrustedProxies::parse(from_config).map_err(|e| {
                CliError::Usage(format!(
                    "trusted_proxies in {}: {e}",
                    s.config
                        .path
                        .as_deref()
                        .unwrap_or(std::path::Path::new("the config file"))
                        .display()
                ))
            })?
        } else {
            portolan_server::proxy::TrustedProxies::parse(&self.trusted_proxy)
                .map_err(|e| CliError::Usage(format!("--trusted-proxy {e}")))?
        };
        run(
            s,
            &ServeSettings {
                history_retention,
                cookies: portolan_server::web::CookiePolicy {
                    always_secure: self.cookie_secure,
                },
                trusted_proxies,
                db: Db::resolve(self.db, &s.config),
                listen,
                max_body: self.max_body,
                rate: self.rate_limit,
                burst: self.burst,
                webhook_ca: self.webhook_ca,
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
    if tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_ansi(s.color_stderr)
        .with_target(false)
        .try_init()
        .is_err()
    {
        // only PORTOLAN_TIMINGS installs one before
        errln!(
            "warning: {} is set: the server log is off, only phase timings are printed",
            crate::timings::ENV
        );
    }
    if !o.listen.ip().is_loopback() {
        errln!(
            "warning: listening on {}, reachable from other machines; tokens travel in clear text unless a TLS proxy fronts it",
            o.listen
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::io("cannot start the async runtime", e))?;
    // open it here first: to say whether it was created, and to warn when no token can
    // get in (the server opens it again; SQLite and PostgreSQL both allow that)
    let now = s.clock.now();
    let tokens = runtime.block_on(async {
        let store = portolan_store::open(&o.db.url)
            .await
            .map_err(|e| CliError::Usage(format!("registry database: {e}")))?;
        store
            .tokens()
            .await
            .map_err(|e| CliError::Usage(format!("registry database: {e}")))
    })?;
    let active = super::registry_db::active(&tokens, now);
    if active == 0 && s.verbosity >= -1 {
        errln!(
            "warning: {} has no usable API token: every API request will be refused (401); create one with `portolan token create --role admin --db {}`",
            o.db.shown(),
            // the password stays out of the hint too
            portolan_store::redact::dsn(&o.db.url)
        );
    }
    let config = portolan_server::ServeConfig {
        db: o.db.url.clone(),
        listen: o.listen,
        limits: portolan_server::Limits {
            max_body: o.max_body,
            rate: o.rate,
            burst: o.burst,
        },
        history_retention: o.history_retention,
        cookies: o.cookies.clone(),
        trusted_proxies: o.trusted_proxies.clone(),
        webhook_ca: o.webhook_ca.clone(),
    };
    let db = o.db.clone();
    let json = s.json;
    runtime
        .block_on(portolan_server::serve(config, move |addr| {
            let line = if json {
                serde_json::json!({
                    "url": format!("http://{addr}"),
                    "db": db.shown(),
                    "created": !db.existed,
                    "tokens": active,
                })
                .to_string()
            } else {
                format!(
                    "portolan registry listening on http://{addr} ({})",
                    db.described()
                )
            };
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }))
        .map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(Exit::Ok)
}
