//! What the registry learns from outside the spec: the listeners each host's agent last
//! reported, and the findings (lint at spec import, drift at each report) stored per
//! source. Process command lines in a report are stored and served with their secrets
//! masked ([`redact::command_line`]; reports stored before that are masked when read).

use crate::db::{Db, during, values};
use crate::error::StoreError;
use crate::redact;
use crate::spec::json;
use crate::spec::rows::no_nul;
use crate::types::{Backend, FindingRecord, Observation, ObservedPorts, Page, StoredFinding};

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

/// Every host's last report as [`ObservedPorts`]: the stored listener arrays are read
/// with [`PortOf`], which skips everything but `transport` and `port` — no listener
/// documents are built and no command lines masked (none are returned). At 5,000 hosts of
/// 40 listeners, building and masking them was most of the dashboard overview's time.
pub(crate) async fn observed_ports(db: &Db) -> Result<Vec<ObservedPorts>, StoreError> {
    let rows: Vec<ObservationRow> =
        sqlx::query_as("SELECT host, listeners, at FROM observations ORDER BY host")
            .fetch_all(&db.pool)
            .await
            .map_err(during("reading observations"))?;
    Ok(rows
        .into_iter()
        .map(|o| ObservedPorts {
            // a hand-edited row that is not an array counts as no listeners
            ports: serde_json::from_str::<Vec<PortOf>>(&o.listeners)
                .map(|ls| ls.into_iter().filter_map(|p| p.0).collect())
                .unwrap_or_default(),
            host: o.host,
            at: o.at,
        })
        .collect())
}

/// One element of a stored listener array, reduced to `(transport, port)` the way the
/// dashboard reads listeners: an object with an integer `port` from 0 to 65535, its
/// `transport` lowercased (`tcp` when absent or not a string); anything else is `None`.
struct PortOf(Option<(String, u16)>);

/// The keys [`PortOf`] reads.
#[derive(serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum ListenerField {
    Transport,
    Port,
    #[serde(other)]
    Other,
}

impl<'de> serde::Deserialize<'de> for PortOf {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PortOfVisitor)
    }
}

struct PortOfVisitor;

impl<'de> serde::de::Visitor<'de> for PortOfVisitor {
    type Value = PortOf;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a listener")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<PortOf, A::Error> {
        let (mut transport, mut port) = (None, None);
        while let Some(field) = map.next_key::<ListenerField>()? {
            match field {
                ListenerField::Transport => {
                    transport = map
                        .next_value::<serde_json::Value>()?
                        .as_str()
                        .map(str::to_ascii_lowercase);
                }
                ListenerField::Port => port = map.next_value::<serde_json::Value>()?.as_u64(),
                ListenerField::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(PortOf(port.and_then(|p| u16::try_from(p).ok()).map(|p| {
            (transport.unwrap_or_else(|| "tcp".to_string()), p)
        })))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<PortOf, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(PortOf(None))
    }

    fn visit_str<E>(self, _: &str) -> Result<PortOf, E> {
        Ok(PortOf(None))
    }

    fn visit_bool<E>(self, _: bool) -> Result<PortOf, E> {
        Ok(PortOf(None))
    }

    fn visit_i64<E>(self, _: i64) -> Result<PortOf, E> {
        Ok(PortOf(None))
    }

    fn visit_u64<E>(self, _: u64) -> Result<PortOf, E> {
        Ok(PortOf(None))
    }

    fn visit_f64<E>(self, _: f64) -> Result<PortOf, E> {
        Ok(PortOf(None))
    }

    fn visit_unit<E>(self) -> Result<PortOf, E> {
        Ok(PortOf(None))
    }
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
    // SQLite: a write transaction from the start, the read below must not be upgraded to
    // a write after another writer committed (SQLite refuses that); PostgreSQL: a plain
    // one (its `begin_write` lock would serialize every agent's report)
    let mut tx = match db.dialect.backend() {
        Backend::Sqlite => db.dialect.begin_write(&db.pool).await,
        Backend::Postgres => db.pool.begin().await,
    }
    .map_err(during("storing findings"))?;
    // an agent's drift is usually what it was at its last report: then only the time moves
    // (deleting and inserting the same rows on every report made a PostgreSQL registry grow
    // by gigabytes a day, issue 18's fleet benchmark)
    let stored: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT rule, severity, message, doc FROM findings WHERE source = $1 ORDER BY id",
    )
    .bind(source)
    .fetch_all(&mut *tx)
    .await
    .map_err(during("storing findings"))?;
    let same = stored.len() == findings.len()
        && stored
            .iter()
            .zip(findings)
            .all(|((rule, severity, message, doc), f)| {
                *rule == f.rule
                    && *severity == f.severity
                    && *message == f.message
                    && json(doc) == f.doc
            });
    if same {
        sqlx::query("UPDATE findings SET at = $2 WHERE source = $1 AND at <> $2")
            .bind(source)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(during("storing findings"))?;
        return tx.commit().await.map_err(during("storing findings"));
    }
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
