//! The database handle every concern module runs its queries through: the pool (sqlx's
//! `Any` driver, so each query is written and compiled once for both engines), the
//! engine's [`Dialect`], and the one way to run a write transaction — queued behind this
//! instance's other writers, started the engine's way, moving the store generation on,
//! retried when concurrent writers conflict.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sqlx::AnyPool;

use crate::dialect::{self, Dialect};
use crate::error::{StoreError, redact};
use crate::{MAX_ATTEMPTS, migrate};

/// A connection (or a transaction, which derefs to one).
pub(crate) type Conn = sqlx::AnyConnection;

/// The future a transaction body returns, borrowing the connection for `'c`.
pub(crate) type TxFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'c>>;

/// Maps a sqlx error to [`StoreError::Database`] naming what was being done.
pub(crate) fn during(context: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Database { context, source }
}

/// A port range as the log and leases show it: `5021`, or `5021-5023`.
pub(crate) fn ports_text(lo: i64, hi: i64) -> String {
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}-{hi}")
    }
}

/// `($1, $2), ($3, $4)` for `rows` rows of `columns` parameters each: the `VALUES` of a
/// multi-row `INSERT` (written out because sqlx's query builder numbers parameters the
/// `Any` way, `?`, which PostgreSQL does not read).
pub(crate) fn values(rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    let mut n = 0;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..columns {
            n += 1;
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&n.to_string());
        }
        sql.push(')');
    }
    sql
}

/// A migrated database and the writers of this store instance.
#[derive(Clone, Debug)]
pub(crate) struct Db {
    pub pool: AnyPool,
    pub dialect: &'static dyn Dialect,
    /// Writers of this instance queue here (see the crate docs), so they wait without
    /// holding a connection or spinning in the engine's busy handler.
    write: Arc<tokio::sync::Mutex<()>>,
}

impl Db {
    /// Connects to `url` and applies the migrations it lacks.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let dialect =
            dialect::of_url(url).ok_or_else(|| StoreError::BadUrl { url: redact(url) })?;
        let pool = dialect.connect(url).await?;
        let source = |source| StoreError::Migrate {
            backend: dialect.backend().as_str(),
            source,
        };
        migrate::migrator(dialect.backend())
            .await
            .map_err(source)?
            .run(&pool)
            .await
            .map_err(source)?;
        Ok(Db {
            pool,
            dialect,
            write: Arc::default(),
        })
    }

    /// Runs `body` in a write transaction — retried, up to [`MAX_ATTEMPTS`], when
    /// concurrent writers conflict — and returns its value with the attempt that committed.
    /// `arg` is what the body reads besides the connection.
    pub async fn write<A, T>(
        &self,
        op: &'static str,
        arg: &A,
        body: impl for<'c> Fn(&'c mut Conn, &'c A) -> TxFuture<'c, T>,
    ) -> Result<(T, u32), StoreError>
    where
        A: ?Sized + Sync,
    {
        let _queue = self.write.lock().await;
        let retryable = |e: &sqlx::Error| self.dialect.retryable(e);
        for attempt in 1..=MAX_ATTEMPTS {
            if attempt > 1 {
                tokio::time::sleep(std::time::Duration::from_millis(u64::from(attempt) * 5)).await;
            }
            let mut txn = match self.dialect.begin_write(&self.pool).await {
                Ok(t) => t,
                Err(e) if retryable(&e) => continue,
                Err(e) => {
                    return Err(StoreError::Database {
                        context: op,
                        source: e,
                    });
                }
            };
            // every spec-changing write moves the generation on (see `writer::ModelCache`)
            match sqlx::query(
                "UPDATE store_generation SET generation = generation + 1 WHERE id = 1",
            )
            .execute(&mut *txn)
            .await
            {
                Ok(_) => {}
                Err(e) if retryable(&e) => continue,
                Err(e) => {
                    return Err(StoreError::Database {
                        context: op,
                        source: e,
                    });
                }
            }
            match body(&mut txn, arg).await {
                Ok(v) => match txn.commit().await {
                    Ok(()) => return Ok((v, attempt)),
                    Err(e) if retryable(&e) => {}
                    Err(e) => {
                        return Err(StoreError::Database {
                            context: op,
                            source: e,
                        });
                    }
                },
                Err(StoreError::Database { source, .. }) if retryable(&source) => {}
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Contention {
            operation: op,
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Runs `body` in a read transaction (a consistent view across its queries).
    pub async fn read<T>(
        &self,
        op: &'static str,
        body: impl for<'c> FnOnce(&'c mut Conn) -> TxFuture<'c, T>,
    ) -> Result<T, StoreError> {
        let mut tx = self.pool.begin().await.map_err(during(op))?;
        let v = body(&mut tx).await?;
        tx.commit().await.map_err(during(op))?;
        Ok(v)
    }
}
