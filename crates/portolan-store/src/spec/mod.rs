//! The spec entities in the database: import (replace them all from a `ports.toml`, in
//! one transaction), export (assemble them back into one), the resolved model the
//! allocation policy reads, and the read endpoints' lists (projects, hosts, services,
//! bindings). How a spec becomes rows and back, independent of the engine, is [`rows`].

pub(crate) mod push;
pub(crate) mod rows;

use portolan_model::Model;

use crate::db::{Conn, Db, during};
use crate::error::StoreError;
use crate::types::{BindingInfo, BlockInfo, HostInfo, ImportSummary, ProjectInfo, ServiceInfo};
use rows::{BindingRow, ReservationRow, SpecRows};

/// A stored JSON document (`doc` columns); unreadable text reads as `null`.
pub(crate) fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}

/// Imports `toml` (validated first: a spec that does not load changes nothing). Returns
/// what was stored, and the model of the spec with the generation the import moved the
/// store to (the registry's model from then on, until the next write).
pub(crate) async fn import(db: &Db, toml: &str) -> Result<(ImportSummary, Model, i64), StoreError> {
    let (rows, model) = rows::rows(toml)?;
    let done = db
        .write("importing a spec", &rows, |tx, rows| {
            Box::pin(import_in(tx, rows))
        })
        .await?;
    Ok((done.value, model, done.generation))
}

/// The registry as spec text, from one consistent view.
pub(crate) async fn export(db: &Db) -> Result<String, StoreError> {
    db.read("reading the spec", |tx| Box::pin(export_in(tx)))
        .await
}

#[derive(sqlx::FromRow)]
struct NamedDoc {
    name: String,
    doc: String,
}

/// The registry as spec text, read through `conn` (inside a transaction: a consistent view).
pub(crate) async fn export_in(conn: &mut Conn) -> Result<String, StoreError> {
    let sections: Vec<(String, String)> =
        sqlx::query_as("SELECT key, doc FROM spec_sections ORDER BY key")
            .fetch_all(&mut *conn)
            .await
            .map_err(during("reading spec sections"))?;
    let mut named: Vec<(&str, String, String)> = Vec::new();
    for (kind, sql) in [
        ("networks", "SELECT name, doc FROM networks ORDER BY name"),
        ("hosts", "SELECT name, doc FROM hosts ORDER BY name"),
        ("projects", "SELECT name, doc FROM projects ORDER BY name"),
        ("services", "SELECT name, doc FROM services ORDER BY name"),
    ] {
        let docs: Vec<NamedDoc> = sqlx::query_as(sql)
            .fetch_all(&mut *conn)
            .await
            .map_err(during("reading the spec"))?;
        named.extend(docs.into_iter().map(|d| (kind, d.name, d.doc)));
    }
    let reservations = reservation_rows(conn)
        .await?
        .into_iter()
        .map(|(_, r)| r)
        .collect::<Vec<_>>();
    rows::assemble(&sections, &named, &reservations)
}

#[derive(sqlx::FromRow)]
struct StoredReservation {
    id: i64,
    #[sqlx(flatten)]
    row: ReservationRow,
}

/// Reservations with their ids, in the order they were made.
pub(crate) async fn reservation_rows(
    conn: &mut Conn,
) -> Result<Vec<(i64, ReservationRow)>, StoreError> {
    let stored: Vec<StoredReservation> = sqlx::query_as(
        "SELECT id, ports, project, host, why, until_date FROM reservations ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(during("reading reservations"))?;
    Ok(stored.into_iter().map(|r| (r.id, r.row)).collect())
}

/// The registry as a resolved model (what the policy reads).
pub(crate) async fn model_in(conn: &mut Conn) -> Result<Model, StoreError> {
    let text = export_in(conn).await?;
    portolan_model::load_str(rows::SPEC_NAME, &text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) async fn import_in(
    conn: &mut Conn,
    rows: &SpecRows,
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
            .map_err(during("clearing the spec"))?;
    }
    for (key, doc) in &rows.sections {
        sqlx::query("INSERT INTO spec_sections (key, doc) VALUES ($1, $2)")
            .bind(key)
            .bind(doc)
            .execute(&mut *conn)
            .await
            .map_err(during("storing a spec section"))?;
    }
    for n in &rows.networks {
        sqlx::query("INSERT INTO networks (name, cidrs, doc) VALUES ($1, $2, $3)")
            .bind(&n.name)
            .bind(&n.cidrs)
            .bind(&n.doc)
            .execute(&mut *conn)
            .await
            .map_err(during("storing a network"))?;
    }
    for h in &rows.hosts {
        sqlx::query("INSERT INTO hosts (name, environment, doc) VALUES ($1, $2, $3)")
            .bind(&h.name)
            .bind(&h.environment)
            .bind(&h.doc)
            .execute(&mut *conn)
            .await
            .map_err(during("storing a host"))?;
    }
    for p in &rows.projects {
        sqlx::query("INSERT INTO projects (name, port_range, doc) VALUES ($1, $2, $3)")
            .bind(&p.name)
            .bind(&p.range)
            .bind(&p.doc)
            .execute(&mut *conn)
            .await
            .map_err(during("storing a project"))?;
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
            .map_err(during("storing a block"))?;
        }
    }
    for s in &rows.services {
        sqlx::query(
            "INSERT INTO services (name, project, block, status, lease_until, doc) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&s.name)
        .bind(&s.project)
        .bind(&s.block)
        .bind(&s.status)
        .bind(s.lease_until)
        .bind(&s.doc)
        .execute(&mut *conn)
        .await
        .map_err(during("storing a service"))?;
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
    .map_err(during("storing a binding"))?;
    Ok(())
}

/// Stores a reservation; returns its id.
pub(crate) async fn insert_reservation(
    conn: &mut Conn,
    r: &ReservationRow,
) -> Result<i64, StoreError> {
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
    .map_err(during("storing a reservation"))?;
    Ok(id)
}

/// A project joined with one of its blocks (none: the block columns are `NULL`).
#[derive(sqlx::FromRow)]
struct ProjectBlock {
    name: String,
    port_range: Option<String>,
    block: Option<String>,
    ports: Option<String>,
    purpose: Option<String>,
}

/// Projects with their blocks, by name.
pub(crate) async fn projects(db: &Db) -> Result<Vec<ProjectInfo>, StoreError> {
    // one round trip (a hot read endpoint): projects with their blocks joined on
    let joined: Vec<ProjectBlock> = sqlx::query_as(
        "SELECT p.name, p.port_range, b.name AS block, b.ports, b.purpose \
         FROM projects p LEFT JOIN blocks b ON b.project = p.name \
         ORDER BY p.name, b.name",
    )
    .fetch_all(&db.pool)
    .await
    .map_err(during("reading projects"))?;
    let mut out: Vec<ProjectInfo> = Vec::new();
    for j in joined {
        if out.last().is_none_or(|p| p.name != j.name) {
            out.push(ProjectInfo {
                name: j.name,
                range: j.port_range,
                blocks: Vec::new(),
            });
        }
        if let (Some(name), Some(ports), Some(p)) = (j.block, j.ports, out.last_mut()) {
            p.blocks.push(BlockInfo {
                name,
                ports,
                purpose: j.purpose,
            });
        }
    }
    Ok(out)
}

#[derive(sqlx::FromRow)]
struct HostRow {
    name: String,
    environment: String,
    doc: String,
}

/// Hosts, by name.
pub(crate) async fn hosts(db: &Db) -> Result<Vec<HostInfo>, StoreError> {
    let stored: Vec<HostRow> =
        sqlx::query_as("SELECT name, environment, doc FROM hosts ORDER BY name")
            .fetch_all(&db.pool)
            .await
            .map_err(during("reading hosts"))?;
    Ok(stored
        .into_iter()
        .map(|h| HostInfo {
            name: h.name,
            environment: h.environment,
            doc: json(&h.doc),
        })
        .collect())
}

/// A service with the id of its allocation, if the registry allocated it.
#[derive(sqlx::FromRow)]
struct ServiceRow {
    name: String,
    project: Option<String>,
    block: Option<String>,
    status: String,
    lease_until: Option<i64>,
    doc: String,
    allocation: Option<i64>,
}

/// Services, by name.
pub(crate) async fn services(db: &Db) -> Result<Vec<ServiceInfo>, StoreError> {
    let stored: Vec<ServiceRow> = sqlx::query_as(
        "SELECT s.name, s.project, s.block, s.status, s.lease_until, s.doc, a.id AS allocation \
         FROM services s LEFT JOIN allocations a ON a.service = s.name ORDER BY s.name",
    )
    .fetch_all(&db.pool)
    .await
    .map_err(during("reading services"))?;
    Ok(stored
        .into_iter()
        .map(|s| ServiceInfo {
            name: s.name,
            project: s.project,
            block: s.block,
            status: s.status,
            lease_until: s.lease_until,
            allocated: s.allocation.is_some(),
            doc: json(&s.doc),
        })
        .collect())
}

/// Binding instances, by service, binding name and host.
pub(crate) async fn bindings(db: &Db) -> Result<Vec<BindingInfo>, StoreError> {
    let stored: Vec<BindingRow> = sqlx::query_as(
        "SELECT service, name, host, environment, transport, port_lo, port_hi, bind, app, \
         publisher, exposure, status FROM bindings ORDER BY service, name, host, id",
    )
    .fetch_all(&db.pool)
    .await
    .map_err(during("reading bindings"))?;
    stored.into_iter().map(BindingInfo::try_from).collect()
}

impl TryFrom<BindingRow> for BindingInfo {
    type Error = StoreError;
    fn try_from(b: BindingRow) -> Result<Self, StoreError> {
        let port = |p: i64| {
            u16::try_from(p).map_err(|_| {
                StoreError::Corrupt(format!("binding `{}.{}`: port {p}", b.service, b.name))
            })
        };
        Ok(BindingInfo {
            lo: port(b.lo)?,
            hi: port(b.hi)?,
            service: b.service,
            name: b.name,
            host: b.host,
            environment: b.environment,
            transport: b.transport,
            bind: b.bind,
            app: b.app,
            publisher: b.publisher,
            exposure: b.exposure,
            status: b.status,
        })
    }
}
