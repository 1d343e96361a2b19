// The query code of both backends, included into `sqlite.rs` and `postgres.rs`, which
// define `Db`, `This`, `BACKEND`, `begin_write` and `retryable`.

use async_trait::async_trait;
use portolan_alloc::AllocError;
use portolan_alloc::edit::NewService;
use portolan_alloc::log::{Action, Entry};
use portolan_alloc::policy::{self, Occupied, Request};
use portolan_model::spec::Timestamp;
use portolan_model::{Model, PortSet, ServiceId};

use crate::spec::{self as specrows, BindingRow, ReservationRow};
use crate::types::{
    AllocRequest, Allocated, BindingInfo, BlockInfo, FindingRecord, HostInfo, ImportSummary, Lease,
    LogRecord, NewToken, Observation, ProjectInfo, Reservation, ReserveRequest, Role, ServiceInfo,
    StoredFinding, TokenInfo,
};
use crate::{MAX_ATTEMPTS, Store, TokenRejection};

type Conn = <Db as sqlx::Database>::Connection;

fn db(context: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    StoreError::db(context)
}

/// Runs `$body` (an expression using `$tx: &mut Conn`) in a write transaction, retrying
/// when concurrent writers conflict.
macro_rules! write_tx {
    ($self:ident, $op:literal, |$tx:ident| $body:expr) => {{
        let _queue = $self.write.lock().await;
        let mut result = None;
        for attempt in 1..=MAX_ATTEMPTS {
            if attempt > 1 {
                tokio::time::sleep(std::time::Duration::from_millis(u64::from(attempt) * 5)).await;
            }
            let mut txn = match begin_write(&$self.pool).await {
                Ok(t) => t,
                Err(e) if retryable(&e) => continue,
                Err(e) => return Err(StoreError::db(concat!("starting ", $op))(e)),
            };
            // every spec-changing write moves the generation on (see ModelCache)
            match sqlx::query(
                "UPDATE store_generation SET generation = generation + 1 WHERE id = 1",
            )
            .execute(&mut *txn)
            .await
            {
                Ok(_) => {}
                Err(e) if retryable(&e) => continue,
                Err(e) => return Err(StoreError::db(concat!("starting ", $op))(e)),
            }
            let outcome = {
                let $tx: &mut Conn = &mut *txn;
                $body.await
            };
            match outcome {
                Ok(v) => match txn.commit().await {
                    Ok(()) => {
                        result = Some((v, attempt));
                        break;
                    }
                    Err(e) if retryable(&e) => {}
                    Err(e) => return Err(StoreError::db(concat!("committing ", $op))(e)),
                },
                Err(StoreError::Database { source, .. }) if retryable(&source) => {}
                Err(e) => return Err(e),
            }
        }
        result.ok_or(StoreError::Contention {
            operation: $op,
            attempts: MAX_ATTEMPTS,
        })
    }};
}

fn port_i64(p: u16) -> i64 {
    i64::from(p)
}

fn port_u16(p: i64) -> u16 {
    u16::try_from(p).unwrap_or(0)
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}

fn action_of(s: &str) -> Result<Action, StoreError> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|e| StoreError::Corrupt(format!("log action `{s}`: {e}")))
}

fn entry_at(now: i64, who: &str, action: Action, ports: String) -> Entry {
    Entry::new(now, who, action, ports)
}

/// A log entry's text holds no NUL (PostgreSQL refuses it in `TEXT`).
fn check_log_text(e: &Entry) -> Result<(), StoreError> {
    for t in [&e.at, &e.who, &e.ports].into_iter().chain(
        [
            &e.service,
            &e.project,
            &e.block,
            &e.host,
            &e.transport,
            &e.lease_until,
            &e.why,
        ]
        .into_iter()
        .flatten(),
    ) {
        specrows::no_nul("log entry", t)?;
    }
    Ok(())
}

async fn insert_log(conn: &mut Conn, e: &Entry) -> Result<i64, StoreError> {
    check_log_text(e)?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO log (at, who, action, service, project, block, host, transport, ports, \
         lease_until, why) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(&e.at)
    .bind(&e.who)
    .bind(e.action.as_str())
    .bind(&e.service)
    .bind(&e.project)
    .bind(&e.block)
    .bind(&e.host)
    .bind(&e.transport)
    .bind(&e.ports)
    .bind(&e.lease_until)
    .bind(&e.why)
    .fetch_one(&mut *conn)
    .await
    .map_err(db("appending to the log"))?;
    Ok(id)
}

async fn insert_binding(conn: &mut Conn, b: &BindingRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO bindings (service, name, host, environment, transport, port_lo, port_hi, \
         bind, app, publisher, exposure, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&b.service)
    .bind(&b.name)
    .bind(&b.host)
    .bind(&b.environment)
    .bind(&b.transport)
    .bind(b.lo)
    .bind(b.hi)
    .bind(&b.bind)
    .bind(&b.app)
    .bind(&b.publisher)
    .bind(&b.exposure)
    .bind(&b.status)
    .execute(&mut *conn)
    .await
    .map_err(db("storing a binding"))?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_service(
    conn: &mut Conn,
    name: &str,
    project: Option<&str>,
    block: Option<&str>,
    status: &str,
    lease_until: Option<i64>,
    doc: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO services (name, project, block, status, lease_until, doc) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(name)
    .bind(project)
    .bind(block)
    .bind(status)
    .bind(lease_until)
    .bind(doc)
    .execute(&mut *conn)
    .await
    .map_err(db("storing a service"))?;
    Ok(())
}

async fn insert_reservation(conn: &mut Conn, r: &ReservationRow) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO reservations (ports, project, host, why, until_date) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(&r.ports)
    .bind(&r.project)
    .bind(&r.host)
    .bind(&r.why)
    .bind(&r.until)
    .fetch_one(&mut *conn)
    .await
    .map_err(db("storing a reservation"))?;
    Ok(id)
}

/// The registry as spec text, read through `conn` (inside a transaction: a consistent view).
async fn export_in(conn: &mut Conn) -> Result<String, StoreError> {
    let sections: Vec<(String, String)> =
        sqlx::query_as("SELECT key, doc FROM spec_sections ORDER BY key")
            .fetch_all(&mut *conn)
            .await
            .map_err(db("reading spec sections"))?;
    let mut named: Vec<(&str, String, String)> = Vec::new();
    for (kind, sql) in [
        ("networks", "SELECT name, doc FROM networks ORDER BY name"),
        ("hosts", "SELECT name, doc FROM hosts ORDER BY name"),
        ("projects", "SELECT name, doc FROM projects ORDER BY name"),
        ("services", "SELECT name, doc FROM services ORDER BY name"),
    ] {
        let rows: Vec<(String, String)> = sqlx::query_as(sql)
            .fetch_all(&mut *conn)
            .await
            .map_err(db("reading the spec"))?;
        named.extend(rows.into_iter().map(|(n, d)| (kind, n, d)));
    }
    let reservations = reservation_rows(conn)
        .await?
        .into_iter()
        .map(|(_, r)| r)
        .collect::<Vec<_>>();
    specrows::assemble(&sections, &named, &reservations)
}

async fn reservation_rows(conn: &mut Conn) -> Result<Vec<(i64, ReservationRow)>, StoreError> {
    type Row = (
        i64,
        String,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, ports, project, host, why, until_date FROM reservations ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(db("reading reservations"))?;
    Ok(rows
        .into_iter()
        .map(|(id, ports, project, host, why, until)| {
            (
                id,
                ReservationRow {
                    ports,
                    project,
                    host,
                    why,
                    until,
                },
            )
        })
        .collect())
}

/// The registry as a resolved model (what the policy reads).
async fn model_in(conn: &mut Conn) -> Result<Model, StoreError> {
    let text = export_in(conn).await?;
    portolan_model::load_str(specrows::SPEC_NAME, &text)
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

async fn import_in(
    conn: &mut Conn,
    rows: &specrows::SpecRows,
) -> Result<ImportSummary, StoreError> {
    for table in [
        "spec_sections",
        "bindings",
        "services",
        "blocks",
        "projects",
        "hosts",
        "networks",
        "reservations",
    ] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *conn)
            .await
            .map_err(db("clearing the spec"))?;
    }
    for (key, doc) in &rows.sections {
        sqlx::query("INSERT INTO spec_sections (key, doc) VALUES ($1, $2)")
            .bind(key)
            .bind(doc)
            .execute(&mut *conn)
            .await
            .map_err(db("storing a spec section"))?;
    }
    for n in &rows.networks {
        sqlx::query("INSERT INTO networks (name, cidrs, doc) VALUES ($1, $2, $3)")
            .bind(&n.name)
            .bind(&n.cidrs)
            .bind(&n.doc)
            .execute(&mut *conn)
            .await
            .map_err(db("storing a network"))?;
    }
    for h in &rows.hosts {
        sqlx::query("INSERT INTO hosts (name, environment, doc) VALUES ($1, $2, $3)")
            .bind(&h.name)
            .bind(&h.environment)
            .bind(&h.doc)
            .execute(&mut *conn)
            .await
            .map_err(db("storing a host"))?;
    }
    for p in &rows.projects {
        sqlx::query("INSERT INTO projects (name, port_range, doc) VALUES ($1, $2, $3)")
            .bind(&p.name)
            .bind(&p.range)
            .bind(&p.doc)
            .execute(&mut *conn)
            .await
            .map_err(db("storing a project"))?;
        for (name, ports, purpose) in &p.blocks {
            sqlx::query(
                "INSERT INTO blocks (project, name, ports, purpose) VALUES ($1, $2, $3, $4)",
            )
            .bind(&p.name)
            .bind(name)
            .bind(ports)
            .bind(purpose)
            .execute(&mut *conn)
            .await
            .map_err(db("storing a block"))?;
        }
    }
    for s in &rows.services {
        insert_service(
            conn,
            &s.name,
            s.project.as_deref(),
            s.block.as_deref(),
            &s.status,
            s.lease_until,
            &s.doc,
        )
        .await?;
    }
    for b in &rows.bindings {
        insert_binding(conn, b).await?;
    }
    for r in &rows.reservations {
        insert_reservation(conn, r).await?;
    }
    Ok(ImportSummary {
        networks: rows.networks.len(),
        hosts: rows.hosts.len(),
        projects: rows.projects.len(),
        services: rows.services.len(),
        bindings: rows.bindings.len(),
        reservations: rows.reservations.len(),
    })
}

/// Ports of a service's binding instances (`5021`, `5021-5023`), and its project.
async fn held_by(
    conn: &mut Conn,
    service: &str,
) -> Result<Option<(Option<String>, Vec<String>)>, StoreError> {
    let project: Option<(Option<String>,)> =
        sqlx::query_as("SELECT project FROM services WHERE name = $1")
            .bind(service)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db("reading a service"))?;
    let Some((project,)) = project else {
        return Ok(None);
    };
    let ranges: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT port_lo, port_hi FROM bindings WHERE service = $1 ORDER BY port_lo, port_hi, id",
    )
    .bind(service)
    .fetch_all(&mut *conn)
    .await
    .map_err(db("reading bindings"))?;
    let mut ports: Vec<String> = ranges
        .into_iter()
        .map(|(lo, hi)| {
            if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}-{hi}")
            }
        })
        .collect();
    ports.dedup();
    Ok(Some((project, ports)))
}

async fn delete_service(conn: &mut Conn, service: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM services WHERE name = $1")
        .bind(service)
        .execute(&mut *conn)
        .await
        .map_err(db("removing a service"))?;
    Ok(())
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

/// The model an allocation works on, kept between allocations so that a busy registry does
/// not export and re-parse its whole spec for every port it hands out.
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
    model: Option<std::sync::Arc<Model>>,
    extra: Vec<(u16, u16)>,
    lease_min: Option<i64>,
}

/// What an allocation leaves for the cache once it has committed.
struct CacheUpdate {
    generation: i64,
    model: std::sync::Arc<Model>,
    extra: Vec<(u16, u16)>,
    lease_min: Option<i64>,
}

impl ModelCache {
    fn apply(&mut self, u: CacheUpdate) {
        // only forward: a later writer may already have stored a newer generation
        if u.generation > self.generation || self.model.is_none() {
            self.generation = u.generation;
            self.model = Some(u.model);
            self.extra = u.extra;
            self.lease_min = u.lease_min;
        }
    }
}

/// What one allocation of a batch plans against: a model of the registry plus the ports
/// handed out since it was exported (see [`ModelCache`]).
struct View {
    model: std::sync::Arc<Model>,
    extra: Vec<(u16, u16)>,
    occupied: Occupied,
    lease_min: Option<i64>,
    /// Exported inside this transaction with nothing written since: exactly the registry,
    /// so a refusal planned on it is the refusal of a fresh export.
    exact: bool,
}

impl View {
    fn cached(
        model: std::sync::Arc<Model>,
        extra: Vec<(u16, u16)>,
        lease_min: Option<i64>,
    ) -> Self {
        let occupied = extra.iter().flat_map(|(lo, hi)| *lo..=*hi).collect();
        View {
            model,
            extra,
            occupied,
            lease_min,
            exact: false,
        }
    }

    async fn export(conn: &mut Conn) -> Result<Self, StoreError> {
        Ok(View {
            model: std::sync::Arc::new(model_in(conn).await?),
            extra: Vec::new(),
            occupied: Occupied::new(),
            lease_min: None,
            exact: true,
        })
    }

    /// Whether no port counted in `extra` may have become free by `now` (a lease ran out).
    fn usable_at(&self, now: i64) -> bool {
        self.lease_min.is_none_or(|t| t > now)
    }
}

/// The names among `reqs` that services already have.
async fn existing_names(
    conn: &mut Conn,
    reqs: &[AllocRequest],
) -> Result<std::collections::HashSet<String>, StoreError> {
    if reqs.is_empty() {
        return Ok(std::collections::HashSet::new());
    }
    let mut sql = String::from("SELECT name FROM services WHERE name IN (");
    for i in 1..=reqs.len() {
        if i > 1 {
            sql.push_str(", ");
        }
        sql.push('$');
        sql.push_str(&i.to_string());
    }
    sql.push(')');
    let mut query = sqlx::query_as::<_, (String,)>(&sql);
    for r in reqs {
        query = query.bind(&r.name);
    }
    let rows = query
        .fetch_all(&mut *conn)
        .await
        .map_err(db("allocating"))?;
    Ok(rows.into_iter().map(|(n,)| n).collect())
}

/// The `[services.NAME]` document of a new allocation, as stored.
fn service_doc(
    req: &AllocRequest,
    ports: portolan_model::PortRange,
    lease_until: Option<i64>,
) -> Result<serde_json::Value, StoreError> {
    let today = policy::date_of(req.now);
    let fragment = portolan_alloc::edit::service_fragment(&NewService {
        name: &req.name,
        project: &req.project,
        block: req.block.as_deref(),
        purpose: req.why.as_deref(),
        host: req.host.as_deref(),
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
        .map(specrows::to_json)
        .ok_or_else(|| StoreError::Corrupt("alloc wrote no service table".into()))
}

/// An allocation of a batch planned and waiting to be written with the others (see
/// [`flush`]).
struct Staged<'a> {
    req: &'a AllocRequest,
    doc: String,
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
async fn flush(conn: &mut Conn, staged: &mut Vec<Staged<'_>>) -> Result<(), StoreError> {
    for chunk in staged.chunks(ROWS_PER_INSERT) {
        for st in chunk {
            check_log_text(&st.entry)?;
        }
        sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO services (name, project, block, status, lease_until, doc) ",
        )
        .push_values(chunk, |mut row, st| {
            row.push_bind(&st.req.name)
                .push_bind(&st.req.project)
                .push_bind(&st.req.block)
                .push_bind("active")
                .push_bind(st.lease_until)
                .push_bind(&st.doc);
        })
        .build()
        .execute(&mut *conn)
        .await
        .map_err(db("storing a service"))?;
        sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO bindings (service, name, host, environment, transport, port_lo, \
             port_hi, bind, app, publisher, exposure, status) ",
        )
        .push_values(chunk, |mut row, st| {
            row.push_bind(&st.req.name)
                .push_bind(&st.req.binding)
                .push_bind(&st.host)
                .push_bind(&st.environment)
                .push_bind(st.req.transport.as_str())
                .push_bind(port_i64(st.lo))
                .push_bind(port_i64(st.hi))
                .push_bind("127.0.0.1")
                .push_bind(None::<String>)
                .push_bind("host")
                .push_bind("localhost")
                .push_bind("active");
        })
        .build()
        .execute(&mut *conn)
        .await
        .map_err(db("storing a binding"))?;
        let ids: Vec<(i64, String)> = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO allocations (service, project, block, host, transport, port_lo, \
             port_hi, lease_until, created_at, who) ",
        )
        .push_values(chunk, |mut row, st| {
            row.push_bind(&st.req.name)
                .push_bind(&st.req.project)
                .push_bind(&st.req.block)
                .push_bind(&st.req.host)
                .push_bind(st.req.transport.as_str())
                .push_bind(port_i64(st.lo))
                .push_bind(port_i64(st.hi))
                .push_bind(st.lease_until)
                .push_bind(st.req.now)
                .push_bind(&st.req.who);
        })
        .push(" RETURNING id, service")
        .build_query_as()
        .fetch_all(&mut *conn)
        .await
        .map_err(db("recording an allocation"))?;
        let ids: std::collections::HashMap<String, i64> =
            ids.into_iter().map(|(id, name)| (name, id)).collect();
        let mut claims = Vec::new();
        for st in chunk {
            let id = ids.get(&st.req.name).copied().ok_or_else(|| {
                StoreError::Corrupt(format!("no allocation id for `{}`", st.req.name))
            })?;
            let host = st.req.host.as_deref().unwrap_or("");
            claims.extend((st.lo..=st.hi).map(|p| (host, st.req.transport.as_str(), p, id)));
        }
        for part in claims.chunks(ROWS_PER_INSERT * 2) {
            sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO allocated_ports (host, transport, port, allocation) ",
            )
            .push_values(part, |mut row, (host, transport, port, id)| {
                row.push_bind(*host)
                    .push_bind(*transport)
                    .push_bind(port_i64(*port))
                    .push_bind(*id);
            })
            .build()
            .execute(&mut *conn)
            .await
            .map_err(db("claiming an allocated port"))?;
        }
        sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO log (at, who, action, service, project, block, host, transport, ports, \
             lease_until, why) ",
        )
        .push_values(chunk, |mut row, st| {
            let e = &st.entry;
            row.push_bind(&e.at)
                .push_bind(&e.who)
                .push_bind(e.action.as_str())
                .push_bind(&e.service)
                .push_bind(&e.project)
                .push_bind(&e.block)
                .push_bind(&e.host)
                .push_bind(&e.transport)
                .push_bind(&e.ports)
                .push_bind(&e.lease_until)
                .push_bind(&e.why);
        })
        .build()
        .execute(&mut *conn)
        .await
        .map_err(db("appending to the log"))?;
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
    req: &'a AllocRequest,
    view: &mut Option<View>,
    names: &mut std::collections::HashSet<String>,
    staged: &mut Vec<Staged<'a>>,
) -> Result<Result<Allocated, StoreError>, StoreError> {
    if names.contains(&req.name) {
        return Ok(Err(AllocError::ServiceExists(req.name.clone()).into()));
    }
    let request = Request {
        project: &req.project,
        block: req.block.as_deref(),
        host: req.host.as_deref(),
        transport: req.transport,
        count: req.count,
        near: req.near,
    };
    let mut v = match view.take() {
        Some(v) if v.usable_at(req.now) => v,
        _ => {
            flush(conn, staged).await?;
            View::export(conn).await?
        }
    };
    let mut planned = policy::allocate(&v.model, &request, &v.occupied, req.now);
    if !v.exact && !matches!(&planned, Ok(got) if got.displaced.is_empty()) {
        flush(conn, staged).await?;
        v = View::export(conn).await?;
        planned = policy::allocate(&v.model, &request, &v.occupied, req.now);
    }
    let lease_until = req.lease.map(|l| req.now.saturating_add(l));
    let planned = planned
        .map_err(StoreError::from)
        .and_then(|got| Ok((service_doc(req, got.ports, lease_until)?, got)));
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
        flush(conn, staged).await?;
        for sid in &got.displaced {
            let name = model.service(*sid).name.clone();
            let held = held_by(conn, &name)
                .await?
                .map(|(_, p)| p)
                .unwrap_or_default();
            delete_service(conn, &name).await?;
            let mut e = entry_at(req.now, &req.who, Action::Gc, held.join(", "));
            e.service = Some(name.clone());
            e.why = Some(format!("lease expired; ports reused by `{}`", req.name));
            insert_log(conn, &e).await?;
            displaced.push(name);
        }
    }
    let host = req
        .host
        .clone()
        .unwrap_or_else(|| portolan_model::IMPLICIT_HOST.to_string());
    let environment = model.host_named(&host).map_or_else(
        || portolan_model::DEFAULT_ENV.to_string(),
        |h| model.environment(model.host(h).environment).name.clone(),
    );
    let mut e = entry_at(req.now, &req.who, Action::Alloc, got.ports.to_string());
    e.service = Some(req.name.clone());
    e.project = Some(req.project.clone());
    e.block.clone_from(&req.block);
    e.host.clone_from(&req.host);
    e.transport = Some(req.transport.as_str().into());
    e.lease_until = lease_until.map(|t| Timestamp(t).to_string());
    e.why.clone_from(&req.why);
    staged.push(Staged {
        req,
        doc: doc.to_string(),
        host,
        environment,
        lo: got.ports.lo,
        hi: got.ports.hi,
        lease_until,
        entry: e,
    });
    if !displaced.is_empty() {
        flush(conn, staged).await?;
    }
    names.insert(req.name.clone());
    for d in &displaced {
        names.remove(d);
    }
    if displaced.is_empty() {
        v.extra.push((got.ports.lo, got.ports.hi));
        for p in got.ports.ports() {
            v.occupied.insert(p);
        }
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
        lease_until,
        displaced,
        attempts: 1,
        batch: 1,
    }))
}

/// One batch in one transaction: every request in order, each with its own answer, and
/// what the model cache keeps afterwards (nothing when the last view is unknown).
async fn allocate_batch_in(
    conn: &mut Conn,
    reqs: &[AllocRequest],
    cache: &std::sync::Mutex<ModelCache>,
) -> Result<(Vec<Result<Allocated, StoreError>>, Option<CacheUpdate>), StoreError> {
    let outcome = async {
        let (generation,): (i64,) =
            sqlx::query_as("SELECT generation FROM store_generation WHERE id = 1")
                .fetch_one(&mut *conn)
                .await
                .map_err(db("allocating"))?;
        let mut view = {
            let c = cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match &c.model {
                Some(m) if c.generation == generation - 1 => {
                    Some(View::cached(m.clone(), c.extra.clone(), c.lease_min))
                }
                _ => None,
            }
        };
        let mut names = existing_names(conn, reqs).await?;
        let mut results = Vec::with_capacity(reqs.len());
        let mut staged = Vec::with_capacity(reqs.len());
        for req in reqs {
            results.push(allocate_one(conn, req, &mut view, &mut names, &mut staged).await?);
        }
        flush(conn, &mut staged).await?;
        let update = view.map(|v| CacheUpdate {
            generation,
            model: v.model,
            extra: v.extra,
            lease_min: v.lease_min,
        });
        Ok((results, update))
    }
    .await;
    if outcome.is_err() {
        // a retry (say, after a unique violation the cache should have prevented) starts
        // from a fresh export
        *cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = ModelCache::default();
    }
    outcome
}

/// An allocation waiting for the store's writer task, with where to send its answer.
#[derive(Debug)]
struct Pending {
    req: AllocRequest,
    reply: tokio::sync::oneshot::Sender<Result<Allocated, StoreError>>,
}

/// The allocation writer (group commit): one task per store instance takes every pending
/// allocation (up to [`MAX_BATCH`](crate::MAX_BATCH)), runs them in order in one write
/// transaction, commits once and then answers each. It shares the store's pool, write
/// lock and model cache.
struct Writer {
    pool: sqlx::Pool<Db>,
    write: std::sync::Arc<tokio::sync::Mutex<()>>,
    cache: std::sync::Arc<std::sync::Mutex<ModelCache>>,
}

impl Writer {
    async fn run(self, mut queue: tokio::sync::mpsc::UnboundedReceiver<Pending>) {
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
        let ((mut results, update), attempts) =
            write_tx!(self, "allocating", |tx| allocate_batch_in(
                tx,
                reqs,
                &self.cache
            ))?;
        {
            let mut cache = self
                .cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
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

async fn release_in(
    conn: &mut Conn,
    service: &str,
    who: &str,
    now: i64,
) -> Result<Entry, StoreError> {
    let (project, ports) = held_by(conn, service)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            entity: "service",
            name: service.to_string(),
        })?;
    delete_service(conn, service).await?;
    let mut e = entry_at(now, who, Action::Release, ports.join(", "));
    e.service = Some(service.to_string());
    e.project = project;
    insert_log(conn, &e).await?;
    Ok(e)
}

async fn reserve_in(conn: &mut Conn, req: &ReserveRequest) -> Result<Reservation, StoreError> {
    specrows::no_nul("why", &req.why)?;
    specrows::no_nul("who", &req.who)?;
    let ports: PortSet = req.ports.parse().map_err(|e| StoreError::Invalid {
        field: "ports",
        message: format!("`{}`: {e}", req.ports),
    })?;
    if req.why.trim().is_empty() {
        return Err(StoreError::Invalid {
            field: "why",
            message: "say why the ports are held".into(),
        });
    }
    if let Some(u) = &req.until {
        serde_json::from_value::<portolan_model::spec::Date>(serde_json::Value::String(u.clone()))
            .map_err(|e| StoreError::Invalid {
                field: "until",
                message: e.to_string(),
            })?;
    }
    let model = model_in(conn).await?;
    if let Err(e) = policy::pool(&model, &req.project, None)
        && !matches!(e, AllocError::NoRange { .. })
    {
        return Err(e.into());
    }
    let host = req
        .host
        .as_deref()
        .map(|h| policy::find_host(&model, h))
        .transpose()?;
    let shown = ports.to_string();
    for (i, svc) in model.services.iter().enumerate() {
        if policy::lease_expired(&model, ServiceId::from_index(i), req.now) {
            continue;
        }
        for b in &model.bindings[svc.bindings.clone()] {
            if host.is_some_and(|h| h != b.host) || !ports.overlaps(&b.ports) {
                continue;
            }
            return Err(AllocError::Overlap {
                ports: shown,
                holder: format!(
                    "service `{}` (port {}/{} on host `{}`)",
                    svc.name,
                    b.ports,
                    b.transport.as_str(),
                    model.host(b.host).name
                ),
            }
            .into());
        }
    }
    for res in &model.reservations {
        let same_host = host.is_none() || res.host.is_none() || res.host == host;
        if same_host
            && !policy::reservation_expired(res.until.as_deref(), req.now)
            && !res.ports.intersection(&ports).is_empty()
        {
            return Err(AllocError::Overlap {
                ports: shown,
                holder: format!("the reservation {} ({})", res.ports, res.why),
            }
            .into());
        }
    }
    let row = ReservationRow {
        ports: shown.clone(),
        project: Some(req.project.clone()),
        host: req.host.clone(),
        why: req.why.clone(),
        until: req.until.clone(),
    };
    let id = insert_reservation(conn, &row).await?;
    let mut e = entry_at(req.now, &req.who, Action::Reserve, shown);
    e.project = Some(req.project.clone());
    e.host.clone_from(&req.host);
    e.why = Some(req.why.clone());
    insert_log(conn, &e).await?;
    Ok(Reservation {
        id,
        ports: row.ports,
        project: row.project,
        host: row.host,
        why: row.why,
        until: row.until,
    })
}

async fn gc_in(conn: &mut Conn, who: &str, now: i64) -> Result<Vec<Entry>, StoreError> {
    let expired: Vec<(String, Option<String>, i64)> = sqlx::query_as(
        "SELECT name, project, lease_until FROM services \
         WHERE lease_until IS NOT NULL AND lease_until <= $1 ORDER BY name",
    )
    .bind(now)
    .fetch_all(&mut *conn)
    .await
    .map_err(db("reading leases"))?;
    let mut entries = Vec::new();
    for (name, project, until) in expired {
        let held = held_by(conn, &name)
            .await?
            .map(|(_, p)| p)
            .unwrap_or_default();
        delete_service(conn, &name).await?;
        let mut e = entry_at(now, who, Action::Gc, held.join(", "));
        e.service = Some(name);
        e.project = project;
        e.lease_until = Some(Timestamp(until).to_string());
        e.why = Some("lease expired".into());
        entries.push(e);
    }
    let today = policy::date_of(now);
    for (id, r) in reservation_rows(conn).await? {
        if !policy::reservation_expired(r.until.as_deref(), now) {
            continue;
        }
        sqlx::query("DELETE FROM reservations WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(db("removing a reservation"))?;
        let mut e = entry_at(now, who, Action::Gc, r.ports);
        e.project = r.project;
        e.host = r.host;
        e.why = Some(format!(
            "reservation ended {} ({}); today is {today}",
            r.until.unwrap_or_default(),
            r.why
        ));
        entries.push(e);
    }
    for e in &entries {
        insert_log(conn, e).await?;
    }
    Ok(entries)
}

fn token_info(
    (id, role, label, created, expires, revoked): (
        String,
        String,
        String,
        i64,
        Option<i64>,
        Option<i64>,
    ),
) -> Result<TokenInfo, StoreError> {
    Ok(TokenInfo {
        id,
        role: role
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("token role `{role}`")))?,
        label,
        created,
        expires,
        revoked,
    })
}

impl This {
    /// A store over `pool` (not yet migrated).
    fn over(pool: sqlx::Pool<Db>) -> Self {
        This {
            pool,
            write: std::sync::Arc::default(),
            cache: std::sync::Arc::default(),
            queue: std::sync::Mutex::new(None),
        }
    }

    /// Where allocations queue for this store's writer task, started on first use (and
    /// again if it ever stopped, say with the runtime that ran it).
    fn allocation_queue(&self) -> tokio::sync::mpsc::UnboundedSender<Pending> {
        let mut queue = self
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(q) = queue.as_ref().filter(|q| !q.is_closed()) {
            return q.clone();
        }
        let (q, pending) = tokio::sync::mpsc::unbounded_channel();
        let writer = Writer {
            pool: self.pool.clone(),
            write: self.write.clone(),
            cache: self.cache.clone(),
        };
        tokio::spawn(writer.run(pending));
        *queue = Some(q.clone());
        q
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let source = |source| StoreError::Migrate {
            backend: BACKEND.as_str(),
            source,
        };
        let m = crate::migrate::migrator(BACKEND).await.map_err(source)?;
        m.run(&self.pool).await.map_err(source)
    }

    /// The connection pool (for tests and tools that need raw SQL).
    pub fn pool(&self) -> &sqlx::Pool<Db> {
        &self.pool
    }
}

#[async_trait]
impl Store for This {
    fn backend(&self) -> crate::types::Backend {
        BACKEND
    }

    async fn import_spec(&self, toml: &str) -> Result<ImportSummary, StoreError> {
        let (rows, _model) = specrows::rows(toml)?;
        let (summary, _) = write_tx!(self, "importing a spec", |tx| import_in(tx, &rows))?;
        Ok(summary)
    }

    async fn export_spec(&self) -> Result<String, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db("reading the spec"))?;
        let text = export_in(&mut tx).await?;
        tx.commit().await.map_err(db("reading the spec"))?;
        Ok(text)
    }

    async fn projects(&self) -> Result<Vec<ProjectInfo>, StoreError> {
        // one round trip (a hot read endpoint): projects with their blocks joined on
        #[allow(clippy::type_complexity)]
        let rows: Vec<(
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        )> = sqlx::query_as(
            "SELECT p.name, p.port_range, b.name, b.ports, b.purpose \
             FROM projects p LEFT JOIN blocks b ON b.project = p.name \
             ORDER BY p.name, b.name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("reading projects"))?;
        let mut out: Vec<ProjectInfo> = Vec::new();
        for (name, range, block, ports, purpose) in rows {
            if out.last().is_none_or(|p| p.name != name) {
                out.push(ProjectInfo {
                    name,
                    range,
                    blocks: Vec::new(),
                });
            }
            if let (Some(block), Some(ports), Some(p)) = (block, ports, out.last_mut()) {
                p.blocks.push(BlockInfo {
                    name: block,
                    ports,
                    purpose,
                });
            }
        }
        Ok(out)
    }

    async fn hosts(&self) -> Result<Vec<HostInfo>, StoreError> {
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT name, environment, doc FROM hosts ORDER BY name")
                .fetch_all(&self.pool)
                .await
                .map_err(db("reading hosts"))?;
        Ok(rows
            .into_iter()
            .map(|(name, environment, doc)| HostInfo {
                name,
                environment,
                doc: json(&doc),
            })
            .collect())
    }

    async fn services(&self) -> Result<Vec<ServiceInfo>, StoreError> {
        type Row = (
            String,
            Option<String>,
            Option<String>,
            String,
            Option<i64>,
            String,
            Option<i64>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT s.name, s.project, s.block, s.status, s.lease_until, s.doc, a.id \
             FROM services s LEFT JOIN allocations a ON a.service = s.name ORDER BY s.name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("reading services"))?;
        Ok(rows
            .into_iter()
            .map(
                |(name, project, block, status, lease_until, doc, alloc)| ServiceInfo {
                    name,
                    project,
                    block,
                    status,
                    lease_until,
                    allocated: alloc.is_some(),
                    doc: json(&doc),
                },
            )
            .collect())
    }

    async fn bindings(&self) -> Result<Vec<BindingInfo>, StoreError> {
        type Row = (
            String,
            String,
            String,
            String,
            String,
            i64,
            i64,
            String,
            Option<String>,
            String,
            String,
            String,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT service, name, host, environment, transport, port_lo, port_hi, bind, app, \
             publisher, exposure, status FROM bindings ORDER BY service, name, host, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("reading bindings"))?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    service,
                    name,
                    host,
                    environment,
                    transport,
                    lo,
                    hi,
                    bind,
                    app,
                    publisher,
                    exposure,
                    status,
                )| {
                    BindingInfo {
                        service,
                        name,
                        host,
                        environment,
                        transport,
                        lo: port_u16(lo),
                        hi: port_u16(hi),
                        bind,
                        app,
                        publisher,
                        exposure,
                        status,
                    }
                },
            )
            .collect())
    }

    async fn allocate(&self, req: &AllocRequest) -> Result<Allocated, StoreError> {
        valid_name("name", &req.name)?;
        valid_name("binding", &req.binding)?;
        specrows::no_nul("who", &req.who)?;
        specrows::no_nul("why", req.why.as_deref().unwrap_or_default())?;
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
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.allocation_queue()
            .send(Pending {
                req: req.clone(),
                reply,
            })
            .map_err(|_| StoreError::Interrupted {
                operation: "allocating",
            })?;
        answer.await.unwrap_or(Err(StoreError::Interrupted {
            operation: "allocating",
        }))
    }

    async fn release(&self, service: &str, who: &str, now: i64) -> Result<Entry, StoreError> {
        let (e, _) = write_tx!(self, "releasing", |tx| release_in(tx, service, who, now))?;
        Ok(e)
    }

    async fn reserve(&self, req: &ReserveRequest) -> Result<Reservation, StoreError> {
        let (r, _) = write_tx!(self, "reserving", |tx| reserve_in(tx, req))?;
        Ok(r)
    }

    async fn reservations(&self) -> Result<Vec<Reservation>, StoreError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(db("reading reservations"))?;
        Ok(reservation_rows(&mut conn)
            .await?
            .into_iter()
            .map(|(id, r)| Reservation {
                id,
                ports: r.ports,
                project: r.project,
                host: r.host,
                why: r.why,
                until: r.until,
            })
            .collect())
    }

    async fn leases(&self, now: i64) -> Result<Vec<Lease>, StoreError> {
        let rows: Vec<(String, Option<String>, i64, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT s.name, s.project, s.lease_until, b.port_lo, b.port_hi FROM services s \
             LEFT JOIN bindings b ON b.service = s.name \
             WHERE s.lease_until IS NOT NULL ORDER BY s.lease_until, s.name, b.port_lo, b.id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("reading leases"))?;
        let mut out: Vec<Lease> = Vec::new();
        for (service, project, until, lo, hi) in rows {
            if out.last().is_none_or(|l| l.service != service) {
                out.push(Lease {
                    service,
                    project,
                    ports: Vec::new(),
                    until,
                    expired: until <= now,
                });
            }
            if let (Some(lo), Some(hi), Some(l)) = (lo, hi, out.last_mut()) {
                let p = if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}-{hi}")
                };
                if !l.ports.contains(&p) {
                    l.ports.push(p);
                }
            }
        }
        Ok(out)
    }

    async fn gc(&self, who: &str, now: i64) -> Result<Vec<Entry>, StoreError> {
        let (entries, _) = write_tx!(self, "collecting expired leases", |tx| gc_in(tx, who, now))?;
        Ok(entries)
    }

    async fn append_log(&self, entry: &Entry) -> Result<i64, StoreError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(db("appending to the log"))?;
        insert_log(&mut conn, entry).await
    }

    async fn log(&self, after: i64, limit: u32) -> Result<Vec<LogRecord>, StoreError> {
        type Row = (
            i64,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, at, who, action, service, project, block, host, transport, ports, \
             lease_until, why FROM log WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db("reading the log"))?;
        rows.into_iter()
            .map(
                |(
                    id,
                    at,
                    who,
                    action,
                    service,
                    project,
                    block,
                    host,
                    transport,
                    ports,
                    lease_until,
                    why,
                )| {
                    Ok(LogRecord {
                        id,
                        entry: Entry {
                            at,
                            who,
                            action: action_of(&action)?,
                            service,
                            project,
                            block,
                            host,
                            transport,
                            ports,
                            lease_until,
                            why,
                        },
                    })
                },
            )
            .collect()
    }

    async fn put_observation(&self, o: &Observation) -> Result<(), StoreError> {
        if !o.listeners.is_array() {
            return Err(StoreError::Invalid {
                field: "listeners",
                message: "expected a JSON array of listeners".into(),
            });
        }
        specrows::no_nul("host", &o.host)?;
        if o.host.is_empty() {
            return Err(StoreError::Invalid {
                field: "host",
                message: "the host name is empty".into(),
            });
        }
        sqlx::query(
            "INSERT INTO observations (host, listeners, at) VALUES ($1, $2, $3) \
             ON CONFLICT (host) DO UPDATE SET listeners = excluded.listeners, at = excluded.at",
        )
        .bind(&o.host)
        .bind(o.listeners.to_string())
        .bind(o.at)
        .execute(&self.pool)
        .await
        .map_err(db("storing an observation"))?;
        Ok(())
    }

    async fn observation(&self, host: &str) -> Result<Option<Observation>, StoreError> {
        let row: Option<(String, String, i64)> =
            sqlx::query_as("SELECT host, listeners, at FROM observations WHERE host = $1")
                .bind(host)
                .fetch_optional(&self.pool)
                .await
                .map_err(db("reading an observation"))?;
        Ok(row.map(|(host, listeners, at)| Observation {
            host,
            listeners: json(&listeners),
            at,
        }))
    }

    async fn observations(&self) -> Result<Vec<Observation>, StoreError> {
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT host, listeners, at FROM observations ORDER BY host")
                .fetch_all(&self.pool)
                .await
                .map_err(db("reading observations"))?;
        Ok(rows
            .into_iter()
            .map(|(host, listeners, at)| Observation {
                host,
                listeners: json(&listeners),
                at,
            })
            .collect())
    }

    async fn put_findings(
        &self,
        source: &str,
        findings: &[StoredFinding],
        at: i64,
    ) -> Result<(), StoreError> {
        specrows::no_nul("source", source)?;
        for f in findings {
            for t in [&f.rule, &f.severity, &f.message] {
                specrows::no_nul("finding", t)?;
            }
        }
        let mut tx = self.pool.begin().await.map_err(db("storing findings"))?;
        sqlx::query("DELETE FROM findings WHERE source = $1")
            .bind(source)
            .execute(&mut *tx)
            .await
            .map_err(db("storing findings"))?;
        for f in findings {
            sqlx::query(
                "INSERT INTO findings (source, rule, severity, message, doc, at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(source)
            .bind(&f.rule)
            .bind(&f.severity)
            .bind(&f.message)
            .bind(f.doc.to_string())
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(db("storing findings"))?;
        }
        tx.commit().await.map_err(db("storing findings"))
    }

    async fn findings(&self) -> Result<Vec<FindingRecord>, StoreError> {
        let rows: Vec<(String, String, String, String, String, i64)> = sqlx::query_as(
            "SELECT source, rule, severity, message, doc, at FROM findings ORDER BY source, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("reading findings"))?;
        Ok(rows
            .into_iter()
            .map(|(source, rule, severity, message, doc, at)| FindingRecord {
                source,
                at,
                finding: StoredFinding {
                    rule,
                    severity,
                    message,
                    doc: json(&doc),
                },
            })
            .collect())
    }

    async fn create_token(
        &self,
        role: Role,
        label: &str,
        expires: Option<i64>,
        now: i64,
    ) -> Result<NewToken, StoreError> {
        if expires.is_some_and(|e| e <= now) {
            return Err(StoreError::Invalid {
                field: "expires",
                message: "the expiry lies in the past".into(),
            });
        }
        specrows::no_nul("label", label)?;
        let (id, token, hash) = crate::token::generate()?;
        sqlx::query(
            "INSERT INTO tokens (id, hash, role, label, created, expires, revoked) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL)",
        )
        .bind(&id)
        .bind(&hash)
        .bind(role.as_str())
        .bind(label)
        .bind(now)
        .bind(expires)
        .execute(&self.pool)
        .await
        .map_err(db("creating a token"))?;
        Ok(NewToken {
            info: TokenInfo {
                id,
                role,
                label: label.to_string(),
                created: now,
                expires,
                revoked: None,
            },
            token,
        })
    }

    async fn verify_token(&self, token: &str, now: i64) -> Result<TokenInfo, StoreError> {
        let id = crate::token::id_of(token).map_err(StoreError::Token)?;
        let row: Option<(
            String,
            String,
            String,
            String,
            i64,
            Option<i64>,
            Option<i64>,
        )> = sqlx::query_as(
            "SELECT hash, id, role, label, created, expires, revoked FROM tokens WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("checking a token"))?;
        let Some((stored, id, role, label, created, expires, revoked)) = row else {
            return Err(StoreError::Token(TokenRejection::Unknown));
        };
        let given = crate::token::hash(token);
        if !crate::token::constant_time_eq(given.as_bytes(), stored.as_bytes()) {
            return Err(StoreError::Token(TokenRejection::Unknown));
        }
        if revoked.is_some() {
            return Err(StoreError::Token(TokenRejection::Revoked));
        }
        if expires.is_some_and(|e| e <= now) {
            return Err(StoreError::Token(TokenRejection::Expired));
        }
        token_info((id, role, label, created, expires, revoked))
    }

    async fn revoke_token(&self, id: &str, now: i64) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE tokens SET revoked = $2 WHERE id = $1 AND revoked IS NULL")
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(db("revoking a token"))?;
        if done.rows_affected() == 0 {
            let exists: Option<(String,)> = sqlx::query_as("SELECT id FROM tokens WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db("revoking a token"))?;
            if exists.is_none() {
                return Err(StoreError::NotFound {
                    entity: "token",
                    name: id.to_string(),
                });
            }
        }
        Ok(())
    }

    async fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let rows: Vec<(String, String, String, i64, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT id, role, label, created, expires, revoked FROM tokens ORDER BY created, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("reading tokens"))?;
        rows.into_iter().map(token_info).collect()
    }
}
