//! PostgreSQL: writers run in a transaction that first takes a transaction-scoped advisory
//! lock, so writers of several servers on one database serialize.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;

use crate::error::{StoreError, redact};
use crate::types::Backend;

type Db = sqlx::Postgres;
type This = PgStore;
const BACKEND: Backend = Backend::Postgres;

/// The key of the advisory lock writers hold (`portolan` in ASCII).
const WRITE_LOCK: i64 = 0x706f_7274_6f6c_616e;

/// The PostgreSQL backend.
#[derive(Debug)]
pub struct PgStore {
    pool: sqlx::Pool<Db>,
    /// Writers of this instance queue here (see the crate docs).
    write: std::sync::Arc<tokio::sync::Mutex<()>>,
    cache: std::sync::Arc<std::sync::Mutex<ModelCache>>,
    /// Allocations waiting for the writer task (group commit).
    queue: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<Pending>>>,
}

impl PgStore {
    /// Connects to `postgres://…` and migrates the database.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(60))
            .connect(url)
            .await
            .map_err(|source| StoreError::Open {
                url: redact(url),
                source,
            })?;
        let store = Self::over(pool);
        store.migrate().await?;
        Ok(store)
    }
}

async fn begin_write(pool: &sqlx::Pool<Db>) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(WRITE_LOCK)
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// Serialization failures, deadlocks and unique violations.
fn retryable(e: &sqlx::Error) -> bool {
    let Some(d) = e.as_database_error() else {
        return false;
    };
    matches!(d.kind(), sqlx::error::ErrorKind::UniqueViolation)
        || matches!(d.code().as_deref(), Some("40001" | "40P01"))
}

include!("common.rs");
