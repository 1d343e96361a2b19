//! Reading history back — a host's events, its listeners at an instant — and compacting it.

use serde_json::Value;

use super::{
    Change, Compaction, HistoryEvent, HistoryQuery, HostHistory, HostState, ListenerChange,
    ListenerKey, Listeners, by_key, stored,
};
use crate::db::{Conn, Db, during};
use crate::error::StoreError;
use crate::spec::json;

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    at: i64,
    change: String,
    transport: String,
    addr: String,
    port: i64,
    listener: String,
    previous: Option<String>,
}

impl From<EventRow> for HistoryEvent {
    fn from(e: EventRow) -> Self {
        let key = ListenerKey {
            transport: e.transport,
            addr: e.addr,
            port: u16::try_from(e.port).unwrap_or_default(),
        };
        let listener = stored::listener_of(&key, json(&e.listener));
        let previous = e
            .previous
            .as_deref()
            .map(|p| stored::previous_of(&listener, json(p)));
        HistoryEvent {
            id: e.id,
            at: e.at,
            change: ListenerChange {
                change: Change::parse(&e.change),
                key,
                listener,
                previous,
            },
        }
    }
}

#[derive(sqlx::FromRow)]
struct BaselineRow {
    at: i64,
    listeners: String,
}

async fn baseline(conn: &mut Conn, host: &str) -> Result<Option<BaselineRow>, StoreError> {
    sqlx::query_as("SELECT at, listeners FROM history_baselines WHERE host = $1")
        .bind(host)
        .fetch_optional(&mut *conn)
        .await
        .map_err(during("reading a history baseline"))
}

/// The events of `host` that `q` selects, oldest first.
pub(crate) async fn events(
    db: &Db,
    host: &str,
    q: HistoryQuery,
) -> Result<HostHistory, StoreError> {
    let host = host.to_string();
    db.read("reading history", move |conn| {
        Box::pin(async move {
            let retained_from = baseline(conn, &host).await?.map(|b| b.at);
            let rows: Vec<EventRow> = sqlx::query_as(
                "SELECT id, at, change, transport, addr, port, listener, previous \
                 FROM history_events WHERE host = $1 AND id > $2 AND at >= $3 AND at <= $4 \
                 ORDER BY id LIMIT $5",
            )
            .bind(&host)
            .bind(q.after)
            .bind(q.since.unwrap_or(i64::MIN))
            .bind(q.until.unwrap_or(i64::MAX))
            .bind(i64::from(q.limit))
            .fetch_all(&mut *conn)
            .await
            .map_err(during("reading history"))?;
            Ok(HostHistory {
                host,
                retained_from,
                events: rows.into_iter().map(HistoryEvent::from).collect(),
            })
        })
    })
    .await
}

/// The listeners of `host` at `at` on `conn`: its baseline, then its events up to `at` in
/// order. `None` when `at` is before the retained history.
async fn state_on(conn: &mut Conn, host: &str, at: i64) -> Result<Option<Listeners>, StoreError> {
    let mut state = match baseline(conn, host).await? {
        Some(b) if at < b.at => return Ok(None),
        Some(b) => json(&b.listeners)
            .as_array()
            .and_then(|a| by_key(a, "baseline").ok())
            .unwrap_or_default(),
        None => Listeners::new(),
    };
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT id, at, change, transport, addr, port, listener, previous \
         FROM history_events WHERE host = $1 AND at <= $2 ORDER BY id",
    )
    .bind(host)
    .bind(at)
    .fetch_all(&mut *conn)
    .await
    .map_err(during("reading history"))?;
    for e in rows.into_iter().map(HistoryEvent::from) {
        let c = e.change;
        match c.change {
            Change::Closed => {
                state.remove(&c.key);
            }
            Change::Opened | Change::Changed => {
                state.insert(c.key, c.listener);
            }
        }
    }
    Ok(Some(state))
}

/// The listeners of `host` at `at`; `None` when `at` is before the retained history.
pub(crate) async fn state_at(
    db: &Db,
    host: &str,
    at: i64,
) -> Result<Option<HostState>, StoreError> {
    let host = host.to_string();
    db.read("rebuilding a host's state", move |conn| {
        Box::pin(async move {
            Ok(state_on(conn, &host, at).await?.map(|s| HostState {
                host,
                at,
                listeners: s.into_values().collect(),
            }))
        })
    })
    .await
}

/// Folds every event at or before `cutoff` into its host's baseline and deletes it: one
/// short transaction per host, so agents reporting meanwhile wait for one host at most.
pub(crate) async fn compact(db: &Db, cutoff: i64) -> Result<Compaction, StoreError> {
    let hosts: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT host FROM history_events WHERE at <= $1 ORDER BY host")
            .bind(cutoff)
            .fetch_all(&db.pool)
            .await
            .map_err(during("compacting history"))?;
    let mut done = Compaction::default();
    for host in hosts {
        let mut tx = super::ingest::begin_host(db, &host).await?;
        let Some(state) = state_on(&mut tx, &host, cutoff).await? else {
            // compacted past this cutoff already (another server did it)
            continue;
        };
        let listeners = Value::Array(state.into_values().collect()).to_string();
        sqlx::query(
            "INSERT INTO history_baselines (host, at, listeners) VALUES ($1, $2, $3) \
             ON CONFLICT (host) DO UPDATE SET at = excluded.at, listeners = excluded.listeners",
        )
        .bind(&host)
        .bind(cutoff)
        .bind(listeners)
        .execute(&mut *tx)
        .await
        .map_err(during("compacting history"))?;
        let deleted = sqlx::query("DELETE FROM history_events WHERE host = $1 AND at <= $2")
            .bind(&host)
            .bind(cutoff)
            .execute(&mut *tx)
            .await
            .map_err(during("compacting history"))?
            .rows_affected();
        tx.commit().await.map_err(during("compacting history"))?;
        done.hosts += 1;
        done.events += deleted;
    }
    Ok(done)
}
