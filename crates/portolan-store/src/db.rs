//! The database handle every concern module runs its queries through: the pool (sqlx's
//! `Any` driver, so each query is written and compiled once for both engines), the
//! engine's [`Dialect`], and the one way to run a write transaction — queued behind this
//! instance's other writers, started the engine's way, moving the store generation on,
//! retried when concurrent writers conflict.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::AnyPool;

use crate::dialect::{self, Dialect};
use crate::error::{StoreError, redact};
use crate::{MAX_ATTEMPTS, OpenOptions, migrate};

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

/// `($1, $2), ($3, $4)` (PostgreSQL) or `(?, ?), (?, ?)` (SQLite) for `rows` rows of
/// `columns` parameters each: the `VALUES` of a multi-row `INSERT`, or with one row, an
/// `IN` list (written out because sqlx's query builder writes the `Any` driver's `?`, which
/// PostgreSQL does not read).
pub(crate) fn values(dialect: &dyn Dialect, rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    let mut n = 0;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..columns {
            n += 1;
            if c > 0 {
                sql.push_str(", ");
            }
            dialect.placeholder(&mut sql, n);
        }
        sql.push(')');
    }
    sql
}

/// What a committed write transaction returns.
#[derive(Debug)]
pub(crate) struct Committed<T> {
    /// The body's value.
    pub value: T,
    /// The attempt that committed (1 unless concurrent writers conflicted).
    pub attempts: u32,
    /// The store generation this write moved the registry to.
    pub generation: i64,
}

/// How long a generation read from the database is taken as current: another process's
/// write is seen by [`Db::generation`] at most this late (this process's own writes at
/// once). It spares a hot read endpoint a round trip per request.
pub(crate) const GENERATION_TTL: Duration = Duration::from_millis(25);

/// The last generation this process knows of, and when it learnt it.
#[derive(Debug)]
struct Known {
    generation: AtomicI64,
    /// Nanoseconds after `epoch` (0: never).
    at: AtomicU64,
    epoch: Instant,
}

impl Known {
    fn fresh(&self) -> Option<i64> {
        let at = self.at.load(Ordering::Acquire);
        let now = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let ttl = u64::try_from(GENERATION_TTL.as_nanos()).unwrap_or(u64::MAX);
        (at != 0 && now.saturating_sub(at) < ttl).then(|| self.generation.load(Ordering::Acquire))
    }

    fn learn(&self, generation: i64) {
        self.generation.fetch_max(generation, Ordering::AcqRel);
        let now = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.at.store(now.max(1), Ordering::Release);
    }
}

/// A migrated database and the writers of this store instance.
#[derive(Clone, Debug)]
pub(crate) struct Db {
    pub pool: AnyPool,
    pub dialect: &'static dyn Dialect,
    /// Writers of this instance queue here (see the crate docs), so they wait without
    /// holding a connection or spinning in the engine's busy handler.
    write: Arc<tokio::sync::Mutex<()>>,
    known: Arc<Known>,
}

impl Db {
    /// Connects to `url` and applies the migrations it lacks.
    pub async fn open(url: &str, options: &OpenOptions) -> Result<Self, StoreError> {
        let dialect =
            dialect::of_url(url).ok_or_else(|| StoreError::BadUrl { url: redact(url) })?;
        let pool = dialect.connect(url, options.connect_timeout).await?;
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
            known: Arc::new(Known {
                generation: AtomicI64::new(0),
                at: AtomicU64::new(0),
                epoch: Instant::now(),
            }),
        })
    }

    /// Runs `body` in a write transaction — retried, up to [`MAX_ATTEMPTS`], when
    /// concurrent writers conflict — and returns its value with the attempt that committed
    /// and the generation it moved the store to. `arg` is what the body reads besides the
    /// connection.
    pub async fn write<A, T>(
        &self,
        op: &'static str,
        arg: &A,
        body: impl for<'c> Fn(&'c mut Conn, &'c A) -> TxFuture<'c, T>,
    ) -> Result<Committed<T>, StoreError>
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
            let generation = match sqlx::query_as::<_, (i64,)>(
                "UPDATE store_generation SET generation = generation + 1 WHERE id = 1 \
                 RETURNING generation",
            )
            .fetch_one(&mut *txn)
            .await
            {
                Ok((g,)) => g,
                Err(e) if retryable(&e) => continue,
                Err(e) => {
                    return Err(StoreError::Database {
                        context: op,
                        source: e,
                    });
                }
            };
            match body(&mut txn, arg).await {
                Ok(value) => match txn.commit().await {
                    Ok(()) => {
                        self.known.learn(generation);
                        return Ok(Committed {
                            value,
                            attempts: attempt,
                            generation,
                        });
                    }
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

    /// The store generation: moved on by every write that changes the spec entities
    /// (import, allocate, release, reserve, gc), whichever process made it — this
    /// process's at once, another's within [`GENERATION_TTL`].
    pub async fn generation(&self) -> Result<i64, StoreError> {
        if let Some(g) = self.known.fresh() {
            return Ok(g);
        }
        let (g,): (i64,) = sqlx::query_as("SELECT generation FROM store_generation WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(during("reading the generation"))?;
        self.known.learn(g);
        Ok(g)
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
