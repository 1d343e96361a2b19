//! SQLite: one file, WAL, busy timeout; writers start with `BEGIN IMMEDIATE`.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::error::{StoreError, redact};
use crate::types::Backend;

type Db = sqlx::Sqlite;
type This = SqliteStore;
const BACKEND: Backend = Backend::Sqlite;

/// The SQLite backend.
#[derive(Debug)]
pub struct SqliteStore {
    pool: sqlx::Pool<Db>,
    /// Writers of this instance queue here (see the crate docs).
    write: std::sync::Arc<tokio::sync::Mutex<()>>,
    cache: std::sync::Arc<std::sync::Mutex<ModelCache>>,
    /// Allocations waiting for the writer task (group commit).
    queue: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<Pending>>>,
}

impl SqliteStore {
    /// Opens `sqlite://PATH` (created when missing) or `sqlite::memory:`, and migrates it.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let open_err = |source| StoreError::Open {
            url: redact(url),
            source,
        };
        let options = SqliteConnectOptions::from_str(url)
            .map_err(open_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        // every connection to `:memory:` is a database of its own
        let max = if url.contains(":memory:") { 1 } else { 8 };
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(options)
            .await
            .map_err(open_err)?;
        let store = Self::over(pool);
        store.migrate().await?;
        Ok(store)
    }
}

async fn begin_write(pool: &sqlx::Pool<Db>) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// `SQLITE_BUSY`/`SQLITE_LOCKED` (any extended code) and unique violations.
fn retryable(e: &sqlx::Error) -> bool {
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

include!("common.rs");
