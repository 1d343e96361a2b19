//! `portolan token create|list|revoke`: the registry's API tokens, straight on its database
//! (so the first admin token exists before any server runs). A new token is printed once;
//! the database keeps only its SHA-256.

use std::fmt::Write as _;

use portolan_store::Store;

use clap::ValueEnum;

use super::Subcommand;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan token create --role write --label ci --expires 90d
  portolan token list
  portolan token revoke 3f2a9c0d1e4b5a69
  portolan token create --role admin --db postgres://portolan@db1/portolan

The token is printed once; only its SHA-256 is stored.";

/// `portolan token`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub action: Action,
}

/// `token …`.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Create a token and print it (once).
    #[command(after_help = HELP)]
    Create(CreateArgs),
    /// List tokens (never their secrets).
    #[command(after_help = HELP)]
    List(DbArgs),
    /// Revoke a token by id.
    #[command(after_help = HELP)]
    Revoke(RevokeArgs),
}

/// The registry database of `token`.
#[derive(Debug, clap::Args)]
pub struct DbArgs {
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
}

/// `token create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// Role: read, write (also allocate, release, reserve, report) or admin (also push, tokens).
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// Who or what the token is for.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub label: String,
    /// Expire after DURATION (`30d`, `12h`, `1w`).
    #[arg(long, value_name = "DURATION")]
    pub expires: Option<String>,
    /// The database.
    #[command(flatten)]
    pub db: DbArgs,
}

/// `token revoke`.
#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    /// Token id (the 16 hex digits after `ptk_`, as `token list` shows).
    pub id: String,
    /// The database.
    #[command(flatten)]
    pub db: DbArgs,
}

/// `--role`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum RoleArg {
    /// Read everything.
    Read,
    /// Read, allocate, release, reserve, report observations.
    Write,
    /// Everything, including spec import and tokens.
    Admin,
}

/// Validated `token` subcommand.
#[derive(Debug, Clone)]
enum TokenSettings {
    /// `token create`.
    Create {
        /// Database URL.
        db: String,
        /// Role.
        role: portolan_store::Role,
        /// Label.
        label: String,
        /// Lifetime in seconds.
        expires: Option<i64>,
    },
    /// `token list`.
    List {
        /// Database URL.
        db: String,
    },
    /// `token revoke`.
    Revoke {
        /// Database URL.
        db: String,
        /// Token id.
        id: String,
    },
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        let t = match self.action {
            Action::Create(a) => TokenSettings::Create {
                db: a.db.db,
                role: match a.role {
                    RoleArg::Read => portolan_store::Role::Read,
                    RoleArg::Write => portolan_store::Role::Write,
                    RoleArg::Admin => portolan_store::Role::Admin,
                },
                label: a.label,
                expires: a
                    .expires
                    .as_deref()
                    .map(portolan_alloc::lease::parse_duration)
                    .transpose()
                    .map_err(|e| CliError::Usage(format!("--expires: {e}")))?,
            },
            Action::List(a) => TokenSettings::List { db: a.db },
            Action::Revoke(a) => TokenSettings::Revoke {
                db: a.db.db,
                id: a.id,
            },
        };
        run(s, &t)
    }
}

fn store_error(e: &portolan_store::StoreError) -> CliError {
    match e {
        portolan_store::StoreError::NotFound { .. }
        | portolan_store::StoreError::Invalid { .. } => CliError::Usage(e.to_string()),
        _ => CliError::Usage(format!("registry database: {e}")),
    }
}

fn date(t: i64) -> String {
    portolan_model::spec::Timestamp(t).to_string()
}

fn run(s: &Settings, t: &TokenSettings) -> Result<Exit, CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::io("cannot start the async runtime", e))?;
    let db = match t {
        TokenSettings::Create { db, .. }
        | TokenSettings::List { db }
        | TokenSettings::Revoke { db, .. } => db,
    };
    let now = s.clock.now();
    runtime.block_on(async {
        let store: Box<dyn Store> = portolan_store::open(db).await.map_err(|e| store_error(&e))?;
        match t {
            TokenSettings::Create {
                role,
                label,
                expires,
                ..
            } => {
                let expires = expires.map(|e| now.saturating_add(e));
                let t = store
                    .create_token(*role, label, expires, now)
                    .await
                    .map_err(|e| store_error(&e))?;
                if s.json {
                    let v = serde_json::json!({
                        "id": t.info.id, "role": role.as_str(), "label": t.info.label,
                        "expires": t.info.expires.map(date), "token": t.token,
                    });
                    output::stdout(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"))?;
                } else {
                    output::stdout(&format!("{}\n", t.token))?;
                    if s.verbosity >= 0 {
                        eprintln!(
                            "created {} token {}{}; it is shown only now",
                            role.as_str(),
                            t.info.id,
                            t.info
                                .expires
                                .map(|e| format!(", expires {}", date(e)))
                                .unwrap_or_default()
                        );
                    }
                }
            }
            TokenSettings::List { .. } => {
                let list = store.tokens().await.map_err(|e| store_error(&e))?;
                if s.json {
                    let v: Vec<serde_json::Value> = list
                        .iter()
                        .map(|t| {
                            serde_json::json!({
                                "id": t.id, "role": t.role.as_str(), "label": t.label,
                                "created": date(t.created), "expires": t.expires.map(date),
                                "revoked": t.revoked.map(date),
                            })
                        })
                        .collect();
                    output::stdout(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"))?;
                } else {
                    let mut out = String::from("ID                ROLE   STATE    CREATED               EXPIRES               LABEL\n");
                    for t in &list {
                        let state = if t.revoked.is_some() {
                            "revoked"
                        } else if t.expires.is_some_and(|e| e <= now) {
                            "expired"
                        } else {
                            "active"
                        };
                        let _ = writeln!(
                            out,
                            "{:<17} {:<6} {:<8} {:<21} {:<21} {}",
                            t.id,
                            t.role.as_str(),
                            state,
                            date(t.created),
                            t.expires.map_or_else(|| "never".into(), date),
                            t.label
                        );
                    }
                    output::stdout(&out)?;
                }
            }
            TokenSettings::Revoke { id, .. } => {
                store
                    .revoke_token(id, now)
                    .await
                    .map_err(|e| store_error(&e))?;
                if s.verbosity >= 0 {
                    output::stdout(&format!("revoked token {id}\n"))?;
                }
            }
        }
        Ok(Exit::Ok)
    })
}
