//! What differs between the engines, and only that: how to connect, how a write
//! transaction starts, which errors are worth a retry. Everything else — every query — is
//! written once against sqlx's `Any` driver (see [`crate::db`]), which both engines accept
//! as written here: `$N` parameters, `RETURNING`, `ON CONFLICT … DO UPDATE`, 64-bit
//! integers and text.
//!
//! - **SQLite**: one file, WAL journal, `synchronous = NORMAL`, a 10 s busy timeout,
//!   foreign keys on; writers start with `BEGIN IMMEDIATE`, so two processes on one file
//!   serialize instead of failing at commit.
//! - **PostgreSQL**: writers run in a transaction that first takes a transaction-scoped
//!   advisory lock, so writers of several servers on one database serialize.

use std::fmt::Write as _;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Any, AnyPool, Connection as _, Executor, Transaction};

use crate::error::{StoreError, redact};
use crate::types::Backend;

/// One engine's differences.
#[async_trait]
pub(crate) trait Dialect: Send + Sync + std::fmt::Debug {
    /// Which engine.
    fn backend(&self) -> Backend;

    /// A pool of connections to `url`, configured for this engine; the first connection
    /// must succeed within `timeout`.
    async fn connect(&self, url: &str, timeout: Duration) -> Result<AnyPool, StoreError>;

    /// Starts a write transaction: the only writer on the database until it ends.
    async fn begin_write(&self, pool: &AnyPool) -> Result<Transaction<'static, Any>, sqlx::Error>;

    /// Whether `e` comes from a concurrent writer (the transaction is worth running again).
    fn retryable(&self, e: &sqlx::Error) -> bool;

    /// Appends the placeholder of the `n`th parameter (from 1) of a statement.
    fn placeholder(&self, sql: &mut String, n: usize);
}

/// The dialect of a database URL, or `None` when the URL names neither engine.
pub(crate) fn of_url(url: &str) -> Option<&'static dyn Dialect> {
    if url.starts_with("sqlite:") {
        Some(&Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Some(&Postgres)
    } else {
        None
    }
}

/// How long to wait for a connection from the pool.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(60);

fn install_drivers() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(sqlx::any::install_default_drivers);
}

/// SQLite (`sqlite://PATH`, `sqlite::memory:`).
#[derive(Debug)]
pub(crate) struct Sqlite;

#[async_trait]
impl Dialect for Sqlite {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn connect(&self, url: &str, _timeout: Duration) -> Result<AnyPool, StoreError> {
        install_drivers();
        let open_err = |source| StoreError::Open {
            url: redact(url),
            source,
        };
        let options = SqliteConnectOptions::from_str(url).map_err(open_err)?;
        if !url.contains(":memory:") {
            create_private(options.get_filename()).map_err(|e| open_err(sqlx::Error::Io(e)))?;
        }
        let any =
            AnyConnectOptions::from_str(&sqlite_url(url).map_err(open_err)?).map_err(open_err)?;
        // every connection to `:memory:` is a database of its own: one, kept open
        let memory = url.contains(":memory:");
        let pool = if memory {
            AnyPoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            AnyPoolOptions::new().max_connections(8)
        };
        pool.acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                         PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect_with(any)
            .await
            .map_err(open_err)
    }

    async fn begin_write(&self, pool: &AnyPool) -> Result<Transaction<'static, Any>, sqlx::Error> {
        pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// `SQLITE_BUSY`/`SQLITE_LOCKED` (any extended code) and unique violations.
    fn retryable(&self, e: &sqlx::Error) -> bool {
        let Some(d) = e.as_database_error() else {
            return false;
        };
        if matches!(d.kind(), sqlx::error::ErrorKind::UniqueViolation) {
            return true;
        }
        d.code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| matches!(c & 0xff, 5 | 6))
    }

    /// `?`: SQLite looks a `$N` up by name, one linear search per parameter, which turns a
    /// statement of a few thousand parameters (a multi-row insert) quadratic.
    fn placeholder(&self, sql: &mut String, _n: usize) {
        sql.push('?');
    }
}

/// Creates the database file readable by its owner only (0600) when it does not exist yet:
/// it holds token hashes and the network map. SQLite gives its `-wal` and `-shm` files the
/// mode of the database file.
fn create_private(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// `url` as the `Any` driver is given it: the path as the SQLite driver reads it (so any
/// file name works, spaces and `%` included), percent-encoded into the form `sqlite:PATH`,
/// created when missing (`mode=rwc`) unless the URL sets a mode of its own.
fn sqlite_url(url: &str) -> Result<String, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?;
    if url.contains(":memory:") {
        return Ok(url.to_string());
    }
    let mut out = String::from("sqlite:");
    for b in options.get_filename().to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    let params = url
        .split_once('?')
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty());
    out.push('?');
    if let Some(p) = params {
        out.push_str(p);
        if !p.split('&').any(|kv| kv.starts_with("mode=")) {
            out.push_str("&mode=rwc");
        }
    } else {
        out.push_str("mode=rwc");
    }
    Ok(out)
}

/// PostgreSQL (`postgres://…`, `postgresql://…`).
#[derive(Debug)]
pub(crate) struct Postgres;

/// The key of the advisory lock writers hold (`portolan` in ASCII).
const WRITE_LOCK: i64 = 0x706f_7274_6f6c_616e;

#[async_trait]
impl Dialect for Postgres {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn connect(&self, url: &str, timeout: Duration) -> Result<AnyPool, StoreError> {
        install_drivers();
        let open_err = |source| StoreError::Open {
            url: redact(url),
            source,
        };
        let unreachable = || StoreError::Unreachable {
            url: redact(url),
            seconds: timeout.as_secs_f64(),
        };
        // One connection first, tried once: the pool retries a refused connection until
        // its timeout, which would turn "connection refused" into 10 s of silence and a
        // vague message. An address that swallows packets (or a server that accepts and
        // never answers) is cut off after `timeout` instead of the TCP timeout.
        match tokio::time::timeout(timeout, sqlx::AnyConnection::connect(url)).await {
            Ok(Ok(first)) => {
                let _ = first.close().await;
            }
            Ok(Err(source)) => return Err(open_err(source)),
            Err(_) => return Err(unreachable()),
        }
        let connecting = AnyPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url);
        match tokio::time::timeout(timeout, connecting).await {
            Ok(pool) => pool.map_err(open_err),
            Err(_) => Err(unreachable()),
        }
    }

    async fn begin_write(&self, pool: &AnyPool) -> Result<Transaction<'static, Any>, sqlx::Error> {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(WRITE_LOCK)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// Serialization failures, deadlocks and unique violations.
    fn retryable(&self, e: &sqlx::Error) -> bool {
        let Some(d) = e.as_database_error() else {
            return false;
        };
        matches!(d.kind(), sqlx::error::ErrorKind::UniqueViolation)
            || matches!(d.code().as_deref(), Some("40001" | "40P01"))
    }

    fn placeholder(&self, sql: &mut String, n: usize) {
        let _ = write!(sql, "${n}");
    }
}
