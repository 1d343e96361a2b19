//! Allocation with group commit (see the crate docs): [`Store::allocate`](crate::Store)
//! validates a request and queues it to this store instance's writer task, which takes
//! everything pending (up to [`MAX_BATCH`](crate::MAX_BATCH)), plans the requests one after
//! another in one write transaction ([`plan`]), commits once and only then answers each.
//! Between batches it keeps the model the last one planned on ([`ModelCache`]), so a busy
//! registry does not export and re-parse its whole spec for every port it hands out.

mod plan;

use std::sync::{Arc, Mutex, PoisonError};

use portolan_alloc::AllocError;
use portolan_alloc::policy::{self, Taken};
use portolan_model::Model;
use tokio::sync::{mpsc, oneshot};

use crate::db::Db;
use crate::error::StoreError;
use crate::spec::rows::no_nul;
use crate::types::{AllocRequest, Allocated};

/// The model an allocation works on, kept between allocations.
///
/// `model` is the registry's spec at some earlier generation; `extra` are the ports the
/// allocations made by this process since then hold (all bound, so taken for every host and
/// transport, which is how the policy treats bound ports), and together they are the
/// registry at `generation`. An allocation uses the cache only when the database's
/// generation, before its own bump, is still `generation`: any other write (another
/// process, another server on the same PostgreSQL database, an import, a release) moves
/// the counter and forces a fresh export. The cache is also bypassed when a port it counts
/// may have become free (a lease of `extra` ran out), and an allocation that fails or
/// reuses an expired lease on the cached view is redone on a fresh export, so results and
/// messages are exactly those of a fresh export.
#[derive(Debug, Default)]
pub(crate) struct ModelCache {
    generation: i64,
    model: Option<Arc<Model>>,
    extra: Vec<(u16, u16)>,
    lease_min: Option<i64>,
    /// What `model` holds at the instant of the last allocation (reused within that second).
    taken: Option<Arc<Taken>>,
}

/// What an allocation leaves for the cache once it has committed.
struct CacheUpdate {
    generation: i64,
    model: Arc<Model>,
    extra: Vec<(u16, u16)>,
    lease_min: Option<i64>,
    taken: Option<Arc<Taken>>,
}

impl ModelCache {
    fn apply(&mut self, u: CacheUpdate) {
        // only forward: a later writer may already have stored a newer generation
        if u.generation > self.generation || self.model.is_none() {
            self.generation = u.generation;
            self.model = Some(u.model);
            self.extra = u.extra;
            self.lease_min = u.lease_min;
            self.taken = u.taken;
        }
    }
}

/// An allocation waiting for the store's writer task, with where to send its answer.
#[derive(Debug)]
struct Pending {
    req: AllocRequest,
    reply: oneshot::Sender<Result<Allocated, StoreError>>,
}

/// The allocation side of a store instance: the queue to its writer task (started on first
/// use, and again if it ever stopped, say with the runtime that ran it) and the model
/// cache the task keeps.
#[derive(Debug, Default)]
pub(crate) struct Allocator {
    cache: Arc<Mutex<ModelCache>>,
    queue: Mutex<Option<mpsc::UnboundedSender<Pending>>>,
}

fn valid_name(field: &'static str, name: &str) -> Result<(), StoreError> {
    if policy::valid_name(name) {
        Ok(())
    } else if field == "name" {
        Err(AllocError::InvalidName(name.to_string()).into())
    } else {
        Err(StoreError::Invalid {
            field,
            message: format!(
                "`{name}` is not a valid name: start with an ASCII letter or digit, continue with letters, digits, `-` and `_`"
            ),
        })
    }
}

impl Allocator {
    /// Validates `req`, queues it and waits for its answer (after its batch committed).
    pub async fn allocate(&self, db: &Db, req: &AllocRequest) -> Result<Allocated, StoreError> {
        valid_name("name", &req.name)?;
        valid_name("binding", &req.binding)?;
        no_nul("who", &req.who)?;
        no_nul("why", req.why.as_deref().unwrap_or_default())?;
        if req.count == 0 {
            return Err(StoreError::Invalid {
                field: "count",
                message: "allocate at least one port".into(),
            });
        }
        if req.lease.is_some_and(|l| l <= 0) {
            return Err(StoreError::Invalid {
                field: "lease",
                message: "a lease lasts at least one second".into(),
            });
        }
        let interrupted = || StoreError::Interrupted {
            operation: "allocating",
        };
        let (reply, answer) = oneshot::channel();
        self.queue(db)
            .send(Pending {
                req: req.clone(),
                reply,
            })
            .map_err(|_| interrupted())?;
        answer.await.unwrap_or_else(|_| Err(interrupted()))
    }

    /// Hands the cache the registry's model as a write just left it at `generation` (an
    /// import knows it without exporting), so the next allocation need not export it.
    pub fn prime(&self, generation: i64, model: Model) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .apply(CacheUpdate {
                generation,
                model: Arc::new(model),
                extra: Vec::new(),
                lease_min: None,
                taken: None,
            });
    }

    fn queue(&self, db: &Db) -> mpsc::UnboundedSender<Pending> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(q) = queue.as_ref().filter(|q| !q.is_closed()) {
            return q.clone();
        }
        let (q, pending) = mpsc::unbounded_channel();
        let writer = Writer {
            db: db.clone(),
            cache: self.cache.clone(),
        };
        tokio::spawn(writer.run(pending));
        *queue = Some(q.clone());
        q
    }
}

/// The writer task of one store instance. It shares the store's database handle (and so
/// its write queue) and model cache.
struct Writer {
    db: Db,
    cache: Arc<Mutex<ModelCache>>,
}

impl Writer {
    async fn run(self, mut queue: mpsc::UnboundedReceiver<Pending>) {
        let mut batch = Vec::with_capacity(crate::MAX_BATCH);
        while queue.recv_many(&mut batch, crate::MAX_BATCH).await > 0 {
            // a caller that went away (its client hung up) gets nothing allocated
            batch.retain(|p: &Pending| !p.reply.is_closed());
            if batch.is_empty() {
                continue;
            }
            let (reqs, replies): (Vec<AllocRequest>, Vec<_>) =
                batch.drain(..).map(|p| (p.req, p.reply)).unzip();
            match self.commit(&reqs).await {
                Ok(results) => {
                    for (reply, result) in replies.into_iter().zip(results) {
                        let _ = reply.send(result);
                    }
                }
                Err(e) if reqs.len() == 1 => {
                    if let Some(reply) = replies.into_iter().next() {
                        let _ = reply.send(Err(e));
                    }
                }
                Err(_) => {
                    // the batch as a whole failed (a database error, or conflicts past every
                    // retry): one by one, so that each request gets its own answer
                    for (req, reply) in reqs.iter().zip(replies) {
                        let result =
                            self.commit(std::slice::from_ref(req))
                                .await
                                .and_then(|mut r| {
                                    r.pop().unwrap_or(Err(StoreError::Interrupted {
                                        operation: "allocating",
                                    }))
                                });
                        let _ = reply.send(result);
                    }
                }
            }
        }
    }

    /// Runs `reqs` in one transaction (retried on conflicts) and updates the model cache.
    async fn commit(
        &self,
        reqs: &[AllocRequest],
    ) -> Result<Vec<Result<Allocated, StoreError>>, StoreError> {
        let cache = &*self.cache;
        let dialect = self.db.dialect;
        let done = self
            .db
            .write(
                "allocating",
                &(reqs, cache, dialect),
                |tx, (reqs, cache, dialect)| Box::pin(plan::batch(tx, *dialect, reqs, cache)),
            )
            .await?;
        let (mut results, update) = done.value;
        let attempts = done.attempts;
        {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            match update {
                Some(u) => cache.apply(u),
                None => *cache = ModelCache::default(),
            }
        }
        let size = u32::try_from(reqs.len()).unwrap_or(u32::MAX);
        for got in results.iter_mut().flatten() {
            got.attempts = attempts;
            got.batch = size;
        }
        Ok(results)
    }
}
