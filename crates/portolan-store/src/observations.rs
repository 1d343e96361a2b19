//! What the registry learns from outside the spec: the listeners each host's agent last
//! reported, and the findings (lint at spec import, drift at each report) stored per
//! source. Process command lines in a report are stored and served with their secrets
//! masked ([`redact::command_line`]; reports stored before that are masked when read).

use crate::db::{Db, during, values};
use crate::error::StoreError;
use crate::redact;
use crate::spec::json;
use crate::spec::rows::no_nul;
use crate::types::{FindingRecord, Observation, Page, StoredFinding};

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
    .bind(without_secrets(o.listeners.clone()).to_string())
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
            listeners: without_secrets(json(&o.listeners)),
        }
    }
}

/// `listeners` (`[{…, "owners": [{"cmdline": …}]}]`) with each owner's command line
/// passed through [`redact::command_line`].
pub(crate) fn without_secrets(mut listeners: serde_json::Value) -> serde_json::Value {
    for listener in listeners.as_array_mut().into_iter().flatten() {
        let owners = listener.get_mut("owners").and_then(|o| o.as_array_mut());
        for owner in owners.into_iter().flatten() {
            if let Some(cmd) = owner.get_mut("cmdline") {
                if let Some(text) = cmd.as_str() {
                    *cmd = serde_json::Value::String(redact::command_line(text));
                }
            }
        }
    }
    listeners
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

/// A page cursor: the key of the last record of the page, hex-encoded (opaque to clients).
pub(crate) fn cursor_of(key: &str) -> String {
    use std::fmt::Write as _;
    key.bytes().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The key a cursor holds.
pub(crate) fn key_of(cursor: &str) -> Result<String, StoreError> {
    let bad = || StoreError::Invalid {
        field: "cursor",
        message: format!(
            "`{}` is not a cursor this server gave out",
            cursor.escape_default()
        ),
    };
    if !cursor.len().is_multiple_of(2) || cursor.len() > 4096 {
        return Err(bad());
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| {
            cursor
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(bad)?;
    String::from_utf8(bytes).map_err(|_| bad())
}

/// The last report of up to `limit` hosts after the cursor's host, by host.
pub(crate) async fn page(
    db: &Db,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<Observation>, StoreError> {
    let after = cursor.map(key_of).transpose()?;
    let rows: Vec<ObservationRow> = sqlx::query_as(
        "SELECT host, listeners, at FROM observations WHERE $1 = 0 OR host > $2 \
         ORDER BY host LIMIT $3",
    )
    .bind(i64::from(after.is_some()))
    .bind(after.as_deref().unwrap_or_default())
    .bind(i64::from(limit))
    .fetch_all(&db.pool)
    .await
    .map_err(during("reading observations"))?;
    let full = rows.len() == limit as usize;
    let items: Vec<Observation> = rows.into_iter().map(Observation::from).collect();
    let next = items.last().filter(|_| full).map(|o| cursor_of(&o.host));
    Ok(Page { items, next })
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
            values(db.dialect, chunk.len(), 6)
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
    id: i64,
    source: String,
    rule: String,
    severity: String,
    message: String,
    doc: String,
    at: i64,
}

impl From<FindingRow> for FindingRecord {
    fn from(f: FindingRow) -> Self {
        FindingRecord {
            source: f.source,
            at: f.at,
            rule: f.rule,
            severity: f.severity,
            message: f.message,
            doc: json(&f.doc),
        }
    }
}

/// Every stored finding, by source then insertion order.
pub(crate) async fn findings(db: &Db) -> Result<Vec<FindingRecord>, StoreError> {
    let rows: Vec<FindingRow> = sqlx::query_as(
        "SELECT id, source, rule, severity, message, doc, at FROM findings ORDER BY source, id",
    )
    .fetch_all(&db.pool)
    .await
    .map_err(during("reading findings"))?;
    Ok(rows.into_iter().map(FindingRecord::from).collect())
}

/// The findings of one source, in insertion order.
pub(crate) async fn findings_of(db: &Db, source: &str) -> Result<Vec<FindingRecord>, StoreError> {
    let rows: Vec<FindingRow> = sqlx::query_as(
        "SELECT id, source, rule, severity, message, doc, at FROM findings WHERE source = $1 \
         ORDER BY id",
    )
    .bind(source)
    .fetch_all(&db.pool)
    .await
    .map_err(during("reading findings"))?;
    Ok(rows.into_iter().map(FindingRecord::from).collect())
}

/// Up to `limit` findings (of one severity, if given) after the cursor's, by source then
/// insertion order. The cursor holds the last finding's source and id.
pub(crate) async fn findings_page(
    db: &Db,
    severity: Option<&str>,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<FindingRecord>, StoreError> {
    let after = cursor
        .map(|c| {
            let key = key_of(c)?;
            let (id, source) = key.split_once('\n').unwrap_or_default();
            id.parse::<i64>()
                .map(|id| (source.to_string(), id))
                .map_err(|_| StoreError::Invalid {
                    field: "cursor",
                    message: format!(
                        "`{}` is not a cursor this server gave out",
                        c.escape_default()
                    ),
                })
        })
        .transpose()?;
    let (source, id) = after.clone().unwrap_or_default();
    let rows: Vec<FindingRow> = sqlx::query_as(
        "SELECT id, source, rule, severity, message, doc, at FROM findings \
         WHERE ($1 = 0 OR source > $2 OR (source = $3 AND id > $4)) \
         AND ($5 = 0 OR severity = $6) ORDER BY source, id LIMIT $7",
    )
    .bind(i64::from(after.is_some()))
    .bind(&source)
    .bind(&source)
    .bind(id)
    .bind(i64::from(severity.is_some()))
    .bind(severity.unwrap_or_default())
    .bind(i64::from(limit))
    .fetch_all(&db.pool)
    .await
    .map_err(during("reading findings"))?;
    let full = rows.len() == limit as usize;
    let next = rows
        .last()
        .filter(|_| full)
        .map(|f| cursor_of(&format!("{}\n{}", f.id, f.source)));
    Ok(Page {
        items: rows.into_iter().map(FindingRecord::from).collect(),
        next,
    })
}

/// How many findings are stored per severity, by severity.
pub(crate) async fn finding_counts(db: &Db) -> Result<Vec<(String, u64)>, StoreError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT severity, COUNT(*) FROM findings GROUP BY severity ORDER BY severity",
    )
    .fetch_all(&db.pool)
    .await
    .map_err(during("counting findings"))?;
    Ok(rows
        .into_iter()
        .map(|(s, n)| (s, u64::try_from(n).unwrap_or(0)))
        .collect())
}
