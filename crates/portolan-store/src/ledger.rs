//! Everything but allocation that changes who holds which port, and the record of it:
//! release, reservations, leases and their garbage collection, and the change log every
//! one of them (and every allocation) appends to.

use portolan_alloc::AllocError;
use portolan_alloc::log::{Action, Entry};
use portolan_alloc::policy;
use portolan_model::spec::Timestamp;
use portolan_model::{PortSet, ServiceId};

use crate::db::{Conn, Db, during, ports_text};
use crate::error::StoreError;
use crate::spec::rows::{ReservationRow, no_nul};
use crate::spec::{insert_reservation, model_in, reservation_rows};
use crate::types::{Lease, LogEntry, LogRecord, Reservation, ReserveRequest};

/// A log entry's text holds no NUL (PostgreSQL refuses it in `TEXT`).
pub(crate) fn check_log_text(e: &Entry) -> Result<(), StoreError> {
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
        no_nul("log entry", t)?;
    }
    Ok(())
}

/// The log's columns, in the order [`bind_entry`] binds them.
pub(crate) const LOG_COLUMNS: &str =
    "at, who, action, service, project, block, host, transport, ports, lease_until, why";

/// Binds the eleven [`LOG_COLUMNS`] of `e`.
pub(crate) fn bind_entry<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    e: &'q Entry,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    q.bind(&e.at)
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
}

/// Appends `e` to the log; returns its id.
pub(crate) async fn insert_log(conn: &mut Conn, e: &Entry) -> Result<i64, StoreError> {
    check_log_text(e)?;
    let sql = format!(
        "INSERT INTO log ({LOG_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         RETURNING id"
    );
    let row = bind_entry(sqlx::query(&sql), e)
        .fetch_one(&mut *conn)
        .await
        .map_err(during("appending to the log"))?;
    sqlx::Row::try_get(&row, 0).map_err(during("appending to the log"))
}

/// Appends `e` to the log outside any other write; returns its id.
pub(crate) async fn append_log(db: &Db, e: &Entry) -> Result<i64, StoreError> {
    let mut conn = db
        .pool
        .acquire()
        .await
        .map_err(during("appending to the log"))?;
    insert_log(&mut conn, e).await
}

/// A row of `log`.
#[derive(sqlx::FromRow)]
struct LogRow {
    id: i64,
    at: String,
    who: String,
    action: String,
    service: Option<String>,
    project: Option<String>,
    block: Option<String>,
    host: Option<String>,
    transport: Option<String>,
    ports: String,
    lease_until: Option<String>,
    why: Option<String>,
}

impl TryFrom<LogRow> for LogRecord {
    type Error = StoreError;
    fn try_from(r: LogRow) -> Result<Self, StoreError> {
        let action = serde_json::from_value(serde_json::Value::String(r.action))
            .map_err(|e| StoreError::Corrupt(format!("log entry {}: {e}", r.id)))?;
        Ok(LogRecord {
            id: r.id,
            entry: LogEntry {
                at: r.at,
                who: r.who,
                action,
                service: r.service,
                project: r.project,
                block: r.block,
                host: r.host,
                transport: r.transport,
                ports: r.ports,
                lease_until: r.lease_until,
                why: r.why,
            },
        })
    }
}

/// Log entries with an id above `after`, oldest first, at most `limit`.
pub(crate) async fn log(db: &Db, after: i64, limit: u32) -> Result<Vec<LogRecord>, StoreError> {
    let rows: Vec<LogRow> = sqlx::query_as(&format!(
        "SELECT id, {LOG_COLUMNS} FROM log WHERE id > $1 ORDER BY id LIMIT $2"
    ))
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(&db.pool)
    .await
    .map_err(during("reading the log"))?;
    rows.into_iter().map(LogRecord::try_from).collect()
}

#[derive(sqlx::FromRow)]
struct HeldRange {
    port_lo: i64,
    port_hi: i64,
}

/// Ports of a service's binding instances (`5021`, `5021-5023`), and its project.
pub(crate) async fn held_by(
    conn: &mut Conn,
    service: &str,
) -> Result<Option<(Option<String>, Vec<String>)>, StoreError> {
    let project: Option<(Option<String>,)> =
        sqlx::query_as("SELECT project FROM services WHERE name = $1")
            .bind(service)
            .fetch_optional(&mut *conn)
            .await
            .map_err(during("reading a service"))?;
    let Some((project,)) = project else {
        return Ok(None);
    };
    let ranges: Vec<HeldRange> = sqlx::query_as(
        "SELECT port_lo, port_hi FROM bindings WHERE service = $1 ORDER BY port_lo, port_hi, id",
    )
    .bind(service)
    .fetch_all(&mut *conn)
    .await
    .map_err(during("reading bindings"))?;
    let mut ports: Vec<String> = ranges
        .into_iter()
        .map(|r| ports_text(r.port_lo, r.port_hi))
        .collect();
    ports.dedup();
    Ok(Some((project, ports)))
}

/// Removes a service (its bindings and allocation go with it).
pub(crate) async fn delete_service(conn: &mut Conn, service: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM services WHERE name = $1")
        .bind(service)
        .execute(&mut *conn)
        .await
        .map_err(during("removing a service"))?;
    Ok(())
}

/// Removes a service and frees its ports; returns the log entry.
pub(crate) async fn release(
    db: &Db,
    service: &str,
    who: &str,
    now: i64,
) -> Result<LogEntry, StoreError> {
    let done = db
        .write("releasing", &(service, who), |tx, (service, who)| {
            Box::pin(release_in(tx, service, who, now))
        })
        .await?;
    Ok(done.value.into())
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
    let mut e = Entry::new(now, who, Action::Release, ports.join(", "));
    e.service = Some(service.to_string());
    e.project = project;
    insert_log(conn, &e).await?;
    Ok(e)
}

/// Holds ports for a project (see [`Store::reserve`](crate::Store::reserve)).
pub(crate) async fn reserve(db: &Db, req: &ReserveRequest) -> Result<Reservation, StoreError> {
    let done = db
        .write("reserving", req, |tx, req| Box::pin(reserve_in(tx, req)))
        .await?;
    Ok(done.value)
}

async fn reserve_in(conn: &mut Conn, req: &ReserveRequest) -> Result<Reservation, StoreError> {
    no_nul("why", &req.why)?;
    no_nul("who", &req.who)?;
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
    let mut e = Entry::new(req.now, &req.who, Action::Reserve, shown);
    e.project = Some(req.project.clone());
    e.host.clone_from(&req.host);
    e.why = Some(req.why.clone());
    insert_log(conn, &e).await?;
    Ok(reservation(id, row))
}

fn reservation(id: i64, r: ReservationRow) -> Reservation {
    Reservation {
        id,
        ports: r.ports,
        project: r.project,
        host: r.host,
        why: r.why,
        until: r.until,
    }
}

/// Reservations, in the order they were made.
pub(crate) async fn reservations(db: &Db) -> Result<Vec<Reservation>, StoreError> {
    let mut conn = db
        .pool
        .acquire()
        .await
        .map_err(during("reading reservations"))?;
    Ok(reservation_rows(&mut conn)
        .await?
        .into_iter()
        .map(|(id, r)| reservation(id, r))
        .collect())
}

/// A leased service joined with one of its binding instances (none: `NULL` ports).
#[derive(sqlx::FromRow)]
struct LeasedBinding {
    name: String,
    project: Option<String>,
    lease_until: i64,
    port_lo: Option<i64>,
    port_hi: Option<i64>,
}

/// Services with a lease, soonest end first.
pub(crate) async fn leases(db: &Db, now: i64) -> Result<Vec<Lease>, StoreError> {
    let joined: Vec<LeasedBinding> = sqlx::query_as(
        "SELECT s.name, s.project, s.lease_until, b.port_lo, b.port_hi FROM services s \
         LEFT JOIN bindings b ON b.service = s.name \
         WHERE s.lease_until IS NOT NULL ORDER BY s.lease_until, s.name, b.port_lo, b.id",
    )
    .fetch_all(&db.pool)
    .await
    .map_err(during("reading leases"))?;
    let mut out: Vec<Lease> = Vec::new();
    for j in joined {
        if out.last().is_none_or(|l| l.service != j.name) {
            out.push(Lease {
                service: j.name,
                project: j.project,
                ports: Vec::new(),
                until: j.lease_until,
                expired: j.lease_until <= now,
            });
        }
        if let (Some(lo), Some(hi), Some(l)) = (j.port_lo, j.port_hi, out.last_mut()) {
            let p = ports_text(lo, hi);
            if !l.ports.contains(&p) {
                l.ports.push(p);
            }
        }
    }
    Ok(out)
}

/// Removes services whose lease ran out and reservations past their date; returns the log
/// entries written.
pub(crate) async fn gc(db: &Db, who: &str, now: i64) -> Result<Vec<LogEntry>, StoreError> {
    let done = db
        .write("collecting expired leases", who, |tx, who| {
            Box::pin(gc_in(tx, who, now))
        })
        .await?;
    Ok(done.value.into_iter().map(LogEntry::from).collect())
}

#[derive(sqlx::FromRow)]
struct ExpiredLease {
    name: String,
    project: Option<String>,
    lease_until: i64,
}

async fn gc_in(conn: &mut Conn, who: &str, now: i64) -> Result<Vec<Entry>, StoreError> {
    let expired: Vec<ExpiredLease> = sqlx::query_as(
        "SELECT name, project, lease_until FROM services \
         WHERE lease_until IS NOT NULL AND lease_until <= $1 ORDER BY name",
    )
    .bind(now)
    .fetch_all(&mut *conn)
    .await
    .map_err(during("reading leases"))?;
    let mut entries = Vec::new();
    for lease in expired {
        let held = held_by(conn, &lease.name)
            .await?
            .map(|(_, p)| p)
            .unwrap_or_default();
        delete_service(conn, &lease.name).await?;
        let mut e = Entry::new(now, who, Action::Gc, held.join(", "));
        e.service = Some(lease.name);
        e.project = lease.project;
        e.lease_until = Some(Timestamp(lease.lease_until).to_string());
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
            .map_err(during("removing a reservation"))?;
        let mut e = Entry::new(now, who, Action::Gc, r.ports);
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
