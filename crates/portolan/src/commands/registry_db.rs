//! The registry database `serve` and `token` work on, resolved once: `--db`, else
//! `$PORTOLAN_DB`, else the config file's `db`, else `sqlite://portolan.db` in the current
//! directory. Both commands say which database they used and whether it was created just
//! now, so `token create` in one directory and `serve` in another cannot silently make two
//! databases; `token list`/`revoke` never create one.

use std::path::PathBuf;

use crate::config::{Config, DEFAULT_DB};
use crate::error::CliError;

/// A registry database as named, and what is known of it before opening.
#[derive(Debug, Clone)]
pub(crate) struct Db {
    /// The URL to open.
    pub url: String,
    /// The `SQLite` file, absolute (`None`: `PostgreSQL` or `:memory:`).
    pub file: Option<PathBuf>,
    /// Whether the `SQLite` file existed before this run (always true for `PostgreSQL`).
    pub existed: bool,
}

impl Db {
    /// Resolves `--db`/`$PORTOLAN_DB` (`flag`), the config file and the default.
    pub(crate) fn resolve(flag: Option<String>, config: &Config) -> Db {
        let url = flag
            .filter(|d| !d.trim().is_empty())
            .or_else(|| config.db.clone())
            .unwrap_or_else(|| DEFAULT_DB.to_string());
        let file = portolan_store::sqlite_file(&url).map(|f| {
            if f.is_absolute() {
                f
            } else {
                std::env::current_dir().map_or(f.clone(), |d| d.join(&f))
            }
        });
        let existed = file.as_ref().is_none_or(|f| f.exists());
        Db { url, file, existed }
    }

    /// How messages name it: the `SQLite` file's absolute path, or the URL without its
    /// password.
    pub(crate) fn shown(&self) -> String {
        self.file.as_ref().map_or_else(
            || portolan_store::redact::dsn(&self.url),
            |f| f.display().to_string(),
        )
    }

    /// `database /srv/portolan.db (created now)` / `(opened)`.
    pub(crate) fn described(&self) -> String {
        format!(
            "database {} ({})",
            self.shown(),
            if self.existed {
                "opened"
            } else {
                "created now"
            }
        )
    }

    /// Refuses a `SQLite` file that does not exist (`token list`/`revoke` must not create
    /// an empty database on a mistyped path).
    pub(crate) fn must_exist(&self) -> Result<(), CliError> {
        if self.existed {
            return Ok(());
        }
        Err(CliError::Usage(format!(
            "no registry database at {}: `portolan serve` or `portolan token create` makes one; --db, PORTOLAN_DB or the config file's `db` names another",
            self.shown()
        )))
    }
}

/// Tokens that would be accepted now (not revoked, not expired).
pub(crate) fn active(tokens: &[portolan_store::TokenInfo], now: i64) -> usize {
    tokens
        .iter()
        .filter(|t| t.revoked.is_none() && t.expires.is_none_or(|e| e > now))
        .count()
}
