//! What the registry learns from outside the spec: the listeners each host's agent last
//! reported, and the findings (lint at spec import, drift at each report) stored per
//! source.

use crate::db::{Db, during, values};
use crate::error::StoreError;
use crate::spec::json;
use crate::spec::rows::no_nul;
use crate::types::{FindingRecord, Observation, StoredFinding};

/// Stores the listeners an agent reported for a host, replacing its previous report.
pub(crate) async fn put(db: &Db, o: &Observation) -> Result<(), StoreError> {
    if !o.listeners.is_array() {
        return Err(StoreError::Invalid {
            field: "listeners",
            message: "expected a JSON array of listeners".into(),
        });
    }
    no_nul("host", &o.host)?;
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
    .execute(&db.pool)
    .await
    .map_err(during("storing an observation"))?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ObservationRow {
    host: String,
    listeners: String,
    at: i64,
}

impl From<ObservationRow> for Observation {
    fn from(o: ObservationRow) -> Self {
        Observation {
            host: o.host,
            at: o.at,
            listeners: json(&o.listeners),
        }
    }
}

/// The last report of one host.
pub(crate) async fn get(db: &Db, host: &str) -> Result<Option<Observation>, StoreError> {
    let row: Option<ObservationRow> =
        sqlx::query_as("SELECT host, listeners, at FROM observations WHERE host = $1")
            .bind(host)
            .fetch_optional(&db.pool)
            .await
            .map_err(during("reading an observation"))?;
    Ok(row.map(Observation::from))
}

/// The last report of every host, by host.
pub(crate) async fn list(db: &Db) -> Result<Vec<Observation>, StoreError> {
    let rows: Vec<ObservationRow> =
        sqlx::query_as("SELECT host, listeners, at FROM observations ORDER BY host")
            .fetch_all(&db.pool)
            .await
            .map_err(during("reading observations"))?;
    Ok(rows.into_iter().map(Observation::from).collect())
}

/// Rows per multi-row `INSERT` of findings (six parameters each).
const FINDINGS_PER_INSERT: usize = 512;

/// Replaces the findings of one source.
pub(crate) async fn put_findings(
    db: &Db,
    source: &str,
    findings: &[StoredFinding],
    at: i64,
) -> Result<(), StoreError> {
    no_nul("source", source)?;
    for f in findings {
        for t in [&f.rule, &f.severity, &f.message] {
            no_nul("finding", t)?;
        }
    }
    let mut tx = db.pool.begin().await.map_err(during("storing findings"))?;
    sqlx::query("DELETE FROM findings WHERE source = $1")
        .bind(source)
        .execute(&mut *tx)
        .await
        .map_err(during("storing findings"))?;
    for chunk in findings.chunks(FINDINGS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO findings (source, rule, severity, message, doc, at) VALUES {}",
            values(chunk.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for f in chunk {
            q = q
                .bind(source)
                .bind(&f.rule)
                .bind(&f.severity)
                .bind(&f.message)
                .bind(f.doc.to_string())
                .bind(at);
        }
        q.execute(&mut *tx)
            .await
            .map_err(during("storing findings"))?;
    }
    tx.commit().await.map_err(during("storing findings"))
}

#[derive(sqlx::FromRow)]
struct FindingRow {
    source: String,
    rule: String,
    severity: String,
    message: String,
    doc: String,
    at: i64,
}

/// Every stored finding, by source then insertion order.
pub(crate) async fn findings(db: &Db) -> Result<Vec<FindingRecord>, StoreError> {
    let rows: Vec<FindingRow> = sqlx::query_as(
        "SELECT source, rule, severity, message, doc, at FROM findings ORDER BY source, id",
    )
    .fetch_all(&db.pool)
    .await
    .map_err(during("reading findings"))?;
    Ok(rows
        .into_iter()
        .map(|f| FindingRecord {
            source: f.source,
            at: f.at,
            rule: f.rule,
            severity: f.severity,
            message: f.message,
            doc: json(&f.doc),
        })
        .collect())
}
