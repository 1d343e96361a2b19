//! One batch of allocations inside one write transaction: each request planned in memory
//! with the CLI's policy ([`portolan_alloc::policy::allocate`]) on a view of the registry
//! that includes the batch's earlier allocations, its rows staged, and everything staged
//! written with one multi-row `INSERT` per table.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use portolan_alloc::AllocError;
use portolan_alloc::edit::NewService;
use portolan_alloc::log::{Action, Entry};
use portolan_alloc::policy::{self, Allocation, Occupied, Request, Taken};
use portolan_model::spec::Timestamp;
use portolan_model::{Model, PortRange};

use super::{CacheUpdate, ModelCache};
use crate::db::{Conn, during, values};
use crate::dialect::Dialect;
use crate::error::StoreError;
use crate::ledger::{LOG_COLUMNS, bind_entry, check_log_text, delete_service, held_by, insert_log};
use crate::spec::model_in;
use crate::spec::rows::to_json;
use crate::types::{AllocRequest, Allocated};

/// What one allocation of a batch plans against: a model of the registry plus the ports
/// handed out since it was exported (see [`ModelCache`]).
struct View {
    model: Arc<Model>,
    extra: Vec<(u16, u16)>,
    lease_min: Option<i64>,
    /// What `model` plus `extra` hold at one instant (`extra` counted as bound), reused by
    /// every request of that instant.
    taken: Option<Arc<Taken>>,
    /// Exported inside this transaction with nothing written since: exactly the registry,
    /// so a refusal planned on it is the refusal of a fresh export.
    exact: bool,
}

impl View {
    fn cached(
        model: Arc<Model>,
        extra: Vec<(u16, u16)>,
        lease_min: Option<i64>,
        taken: Option<Arc<Taken>>,
    ) -> Self {
        View {
            model,
            extra,
            lease_min,
            taken,
            exact: false,
        }
    }

    async fn export(conn: &mut Conn) -> Result<Self, StoreError> {
        Ok(View {
            model: Arc::new(model_in(conn).await?),
            extra: Vec::new(),
            lease_min: None,
            taken: None,
            exact: true,
        })
    }

    /// The policy's answer to `request` at `now` on this view. The ports of `extra` count
    /// as bound (which is how the policy treats the ports of a service), so the answer is
    /// the one an export including them would give — up to the wording of a refusal, which
    /// is why a refusal on an inexact view is planned again on a fresh export.
    fn plan(&mut self, request: &Request<'_>, now: i64) -> Result<Allocation, AllocError> {
        if self.taken.as_ref().is_none_or(|t| t.now() != now) {
            let mut taken = Taken::new(&self.model, now);
            for (lo, hi) in &self.extra {
                taken.bind(PortRange { lo: *lo, hi: *hi });
            }
            self.taken = Some(Arc::new(taken));
        }
        let taken = self
            .taken
            .as_deref()
            .unwrap_or_else(|| unreachable!("set above"));
        policy::allocate_with(&self.model, taken, request, &Occupied::new())
    }

    /// Counts `ports`, just handed out, as bound for the requests after this one.
    fn bind(&mut self, ports: PortRange) {
        self.extra.push((ports.lo, ports.hi));
        if let Some(t) = &mut self.taken {
            Arc::make_mut(t).bind(ports);
        }
    }

    /// Whether no port counted in `extra` may have become free by `now` (a lease ran out).
    fn usable_at(&self, now: i64) -> bool {
        self.lease_min.is_none_or(|t| t > now)
    }
}

/// The names among `reqs` that services already have.
async fn existing_names(
    conn: &mut Conn,
    dialect: &dyn Dialect,
    reqs: &[AllocRequest],
) -> Result<HashSet<String>, StoreError> {
    if reqs.is_empty() {
        return Ok(HashSet::new());
    }
    let sql = format!(
        "SELECT name FROM services WHERE name IN {}",
        values(dialect, 1, reqs.len())
    );
    let mut query = sqlx::query_as::<_, (String,)>(&sql);
    for r in reqs {
        query = query.bind(&r.name);
    }
    let rows = query
        .fetch_all(&mut *conn)
        .await
        .map_err(during("allocating"))?;
    Ok(rows.into_iter().map(|(n,)| n).collect())
}

/// The `[services.NAME]` document of a new allocation, as stored.
fn service_doc(
    req: &AllocRequest,
    host: Option<&str>,
    ports: PortRange,
    lease_until: Option<i64>,
) -> Result<serde_json::Value, StoreError> {
    let today = policy::date_of(req.now);
    let fragment = portolan_alloc::edit::service_fragment(&NewService {
        name: &req.name,
        project: &req.project,
        block: req.block.as_deref(),
        purpose: req.why.as_deref(),
        host,
        since: Some(&today),
        lease_until: lease_until.map(Timestamp),
        binding: &req.binding,
        ports,
        transport: req.transport,
    })
    .map_err(StoreError::Corrupt)?;
    let table: toml::Table =
        toml::from_str(&fragment).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    table
        .get("services")
        .and_then(|s| s.get(&req.name))
        .map(to_json)
        .ok_or_else(|| StoreError::Corrupt("alloc wrote no service table".into()))
}

/// An allocation of a batch planned and waiting to be written with the others (see
/// [`flush`]).
struct Staged<'a> {
    req: &'a AllocRequest,
    doc: String,
    /// The host picked for it (`None`: a registry without hosts).
    picked: Option<String>,
    /// The host its binding is on (the implicit one of a registry without hosts).
    host: String,
    environment: String,
    lo: u16,
    hi: u16,
    lease_until: Option<i64>,
    entry: Entry,
}

/// Rows per multi-row `INSERT` (at most 12 parameters a row: far below either engine's
/// limit on parameters).
const ROWS_PER_INSERT: usize = 256;

/// Writes the staged allocations: one multi-row `INSERT` per table (per
/// [`ROWS_PER_INSERT`] rows) instead of five statements per allocation. Rows go in in
/// staging order, so log ids follow the order the allocations were made in.
async fn flush(
    conn: &mut Conn,
    dialect: &dyn Dialect,
    staged: &mut Vec<Staged<'_>>,
) -> Result<(), StoreError> {
    for chunk in staged.chunks(ROWS_PER_INSERT) {
        for st in chunk {
            check_log_text(&st.entry)?;
        }
        let n = chunk.len();
        let sql = format!(
            "INSERT INTO services (name, project, block, status, lease_until, doc) VALUES {}",
            values(dialect, n, 6)
        );
        let mut q = sqlx::query(&sql);
        for st in chunk {
            q = q
                .bind(&st.req.name)
                .bind(&st.req.project)
                .bind(&st.req.block)
                .bind("active")
                .bind(st.lease_until)
                .bind(&st.doc);
        }
        q.execute(&mut *conn)
            .await
            .map_err(during("storing a service"))?;

        let sql = format!(
            "INSERT INTO bindings (service, name, host, environment, transport, port_lo, \
             port_hi, bind, app, publisher, exposure, status) VALUES {}",
            values(dialect, n, 12)
        );
        let mut q = sqlx::query(&sql);
        for st in chunk {
            q = q
                .bind(&st.req.name)
                .bind(&st.req.binding)
                .bind(&st.host)
                .bind(&st.environment)
                .bind(st.req.transport.as_str())
                .bind(i64::from(st.lo))
                .bind(i64::from(st.hi))
                .bind("127.0.0.1")
                .bind(None::<String>)
                .bind("host")
                .bind("localhost")
                .bind("active");
        }
        q.execute(&mut *conn)
            .await
            .map_err(during("storing a binding"))?;

        let sql = format!(
            "INSERT INTO allocations (service, project, block, host, transport, port_lo, \
             port_hi, lease_until, created_at, who) VALUES {} RETURNING id, service",
            values(dialect, n, 10)
        );
        let mut q = sqlx::query_as::<_, (i64, String)>(&sql);
        for st in chunk {
            q = q
                .bind(&st.req.name)
                .bind(&st.req.project)
                .bind(&st.req.block)
                .bind(&st.picked)
                .bind(st.req.transport.as_str())
                .bind(i64::from(st.lo))
                .bind(i64::from(st.hi))
                .bind(st.lease_until)
                .bind(st.req.now)
                .bind(&st.req.who);
        }
        let ids: HashMap<String, i64> = q
            .fetch_all(&mut *conn)
            .await
            .map_err(during("recording an allocation"))?
            .into_iter()
            .map(|(id, name)| (name, id))
            .collect();

        let mut claims = Vec::new();
        for st in chunk {
            let id = ids.get(&st.req.name).copied().ok_or_else(|| {
                StoreError::Corrupt(format!("no allocation id for `{}`", st.req.name))
            })?;
            let host = st.picked.as_deref().unwrap_or("");
            claims.extend((st.lo..=st.hi).map(|p| (host, st.req.transport.as_str(), p, id)));
        }
        for part in claims.chunks(ROWS_PER_INSERT * 2) {
            let sql = format!(
                "INSERT INTO allocated_ports (host, transport, port, allocation) VALUES {}",
                values(dialect, part.len(), 4)
            );
            let mut q = sqlx::query(&sql);
            for (host, transport, port, id) in part {
                q = q
                    .bind(*host)
                    .bind(*transport)
                    .bind(i64::from(*port))
                    .bind(*id);
            }
            q.execute(&mut *conn)
                .await
                .map_err(during("claiming an allocated port"))?;
        }

        let sql = format!(
            "INSERT INTO log ({LOG_COLUMNS}) VALUES {}",
            values(dialect, n, 11)
        );
        let mut q = sqlx::query(&sql);
        for st in chunk {
            q = bind_entry(q, &st.entry);
        }
        q.execute(&mut *conn)
            .await
            .map_err(during("appending to the log"))?;
    }
    staged.clear();
    Ok(())
}

/// Plans one allocation of a batch, after those before it in the same
/// transaction. The inner result is this request's own answer: a refusal (name taken,
/// unknown project, range full…) is decided in memory before anything of it is written, so
/// it leaves the transaction intact for the others. The outer error is a failure of the
/// transaction itself (the database), which aborts the batch.
///
/// A refusal, or a reuse of an expired lease, planned on a view that is not exact is
/// planned again on a fresh export (which sees this transaction's earlier writes), so every
/// answer is the one a fresh export would give after the batch's earlier allocations.
async fn allocate_one<'a>(
    conn: &mut Conn,
    dialect: &dyn Dialect,
    req: &'a AllocRequest,
    view: &mut Option<View>,
    names: &mut HashSet<String>,
    staged: &mut Vec<Staged<'a>>,
) -> Result<Result<Allocated, StoreError>, StoreError> {
    if names.contains(&req.name) {
        return Ok(Err(AllocError::ServiceExists(req.name.clone()).into()));
    }
    let mut v = match view.take() {
        Some(v) if v.usable_at(req.now) => v,
        _ => {
            flush(conn, dialect, staged).await?;
            View::export(conn).await?
        }
    };
    // an unknown project or block is the first thing to say, before which host
    if let Err(e) = policy::pool(&v.model, &req.project, req.block.as_deref()) {
        *view = Some(v);
        return Ok(Err(e.into()));
    }
    // only ever a host the registry's spec declares: never an implicit `default`
    let picked = match policy::pick_host(&v.model, req.host.as_deref(), req.environment.as_deref())
    {
        Ok(h) => h,
        Err(e) => {
            *view = Some(v);
            return Ok(Err(e.into()));
        }
    };
    let request = Request {
        project: &req.project,
        block: req.block.as_deref(),
        host: picked.as_deref(),
        transport: req.transport,
        count: req.count,
        near: req.near,
    };
    let mut planned = v.plan(&request, req.now);
    if !v.exact && !matches!(&planned, Ok(got) if got.displaced.is_empty()) {
        flush(conn, dialect, staged).await?;
        v = View::export(conn).await?;
        planned = v.plan(&request, req.now);
    }
    let lease_until = req.lease.map(|l| req.now.saturating_add(l));
    let planned = planned.map_err(StoreError::from).and_then(|got| {
        Ok((
            service_doc(req, picked.as_deref(), got.ports, lease_until)?,
            got,
        ))
    });
    let (doc, got) = match planned {
        Ok(p) => p,
        Err(e) => {
            *view = Some(v);
            return Ok(Err(e));
        }
    };
    // from here on, a failure aborts the transaction
    let model = v.model.clone();
    let mut displaced = Vec::new();
    if !got.displaced.is_empty() {
        // the services whose expired lease this reuses go first, in the database order
        flush(conn, dialect, staged).await?;
        for sid in &got.displaced {
            let name = model.service(*sid).name.clone();
            let held = held_by(conn, &name)
                .await?
                .map(|(_, p)| p)
                .unwrap_or_default();
            delete_service(conn, &name).await?;
            let mut e = Entry::new(req.now, &req.who, Action::Gc, held.join(", "));
            e.service = Some(name.clone());
            e.why = Some(format!("lease expired; ports reused by `{}`", req.name));
            insert_log(conn, &e).await?;
            displaced.push(name);
        }
    }
    let host = picked
        .clone()
        .unwrap_or_else(|| portolan_model::IMPLICIT_HOST.to_string());
    let environment = model.host_named(&host).map_or_else(
        || portolan_model::DEFAULT_ENV.to_string(),
        |h| model.environment(model.host(h).environment).name.clone(),
    );
    let mut e = Entry::new(req.now, &req.who, Action::Alloc, got.ports.to_string());
    e.service = Some(req.name.clone());
    e.project = Some(req.project.clone());
    e.block.clone_from(&req.block);
    e.host.clone_from(&picked);
    e.transport = Some(req.transport.as_str().into());
    e.lease_until = lease_until.map(|t| Timestamp(t).to_string());
    e.why.clone_from(&req.why);
    let placed = picked.clone();
    staged.push(Staged {
        req,
        doc: doc.to_string(),
        picked,
        host,
        environment,
        lo: got.ports.lo,
        hi: got.ports.hi,
        lease_until,
        entry: e,
    });
    if !displaced.is_empty() {
        flush(conn, dialect, staged).await?;
    }
    names.insert(req.name.clone());
    for d in &displaced {
        names.remove(d);
    }
    if displaced.is_empty() {
        v.bind(got.ports);
        if let Some(l) = lease_until {
            v.lease_min = Some(v.lease_min.map_or(l, |m: i64| m.min(l)));
        }
        v.exact = false;
        *view = Some(v);
    } else {
        // the model still holds the displaced services: export again for the next one
        *view = None;
    }
    Ok(Ok(Allocated {
        service: req.name.clone(),
        lo: got.ports.lo,
        hi: got.ports.hi,
        transport: req.transport,
        host: placed,
        lease_until,
        displaced,
        attempts: 1,
        batch: 1,
    }))
}

/// One batch in one transaction: every request in order, each with its own answer, and
/// what the model cache keeps afterwards (nothing when the last view is unknown).
pub(super) async fn batch(
    conn: &mut Conn,
    dialect: &dyn Dialect,
    reqs: &[AllocRequest],
    cache: &Mutex<ModelCache>,
) -> Result<(Vec<Result<Allocated, StoreError>>, Option<CacheUpdate>), StoreError> {
    let outcome = async {
        let (generation,): (i64,) =
            sqlx::query_as("SELECT generation FROM store_generation WHERE id = 1")
                .fetch_one(&mut *conn)
                .await
                .map_err(during("allocating"))?;
        let mut view = {
            let c = cache.lock().unwrap_or_else(PoisonError::into_inner);
            match &c.model {
                Some(m) if c.generation == generation - 1 => Some(View::cached(
                    m.clone(),
                    c.extra.clone(),
                    c.lease_min,
                    c.taken.clone(),
                )),
                _ => None,
            }
        };
        let mut names = existing_names(conn, dialect, reqs).await?;
        let mut results = Vec::with_capacity(reqs.len());
        let mut staged = Vec::with_capacity(reqs.len());
        for req in reqs {
            results
                .push(allocate_one(conn, dialect, req, &mut view, &mut names, &mut staged).await?);
        }
        flush(conn, dialect, &mut staged).await?;
        let update = view.map(|v| CacheUpdate {
            generation,
            model: v.model,
            extra: v.extra,
            lease_min: v.lease_min,
            taken: v.taken,
        });
        Ok((results, update))
    }
    .await;
    if outcome.is_err() {
        // a retry (say, after a unique violation the cache should have prevented) starts
        // from a fresh export
        *cache.lock().unwrap_or_else(PoisonError::into_inner) = ModelCache::default();
    }
    outcome
}
