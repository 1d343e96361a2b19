//! Applying one agent report: the sequence check, the new state, the events — one
//! transaction per report, serialized per host (PostgreSQL: an advisory lock on the host's
//! name, so agents of other hosts never wait; SQLite: its one writer).

use serde_json::Value;

use super::{
    ListenerKey, Listeners, Report, ReportBody, ReportOutcome, by_key, changes, insert_merging,
};
use crate::db::{Conn, Db, during, values};
use crate::dialect::Dialect;
use crate::error::StoreError;
use crate::spec::json;
use crate::spec::rows::no_nul;
use crate::types::Backend;

/// The first key of the advisory locks ingestion takes (`hist` in ASCII); the second is
/// the hash of the host name.
const HOST_LOCK_SPACE: i32 = 0x6869_7374;

/// Events per multi-row `INSERT` (eight parameters each).
const EVENTS_PER_INSERT: usize = 256;

#[derive(sqlx::FromRow)]
struct AgentRow {
    agent: String,
    seq: i64,
    at: i64,
}

fn refuse(field: &'static str, acked: i64, message: String) -> StoreError {
    StoreError::Sequence {
        field,
        acked,
        message,
    }
}

/// A write transaction that is the only writer of `host`'s history until it ends.
pub(super) async fn begin_host(
    db: &Db,
    host: &str,
) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
    let mut tx = match db.dialect.backend() {
        Backend::Sqlite => db.dialect.begin_write(&db.pool).await,
        Backend::Postgres => db.pool.begin().await,
    }
    .map_err(during("writing history"))?;
    if db.dialect.backend() == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(HOST_LOCK_SPACE)
            .bind(host)
            .execute(&mut *tx)
            .await
            .map_err(during("writing history"))?;
    }
    Ok(tx)
}

/// Checks `r` against the host's acknowledged state and applies it; see the module docs.
pub(crate) async fn ingest(db: &Db, r: &Report, now: i64) -> Result<ReportOutcome, StoreError> {
    no_nul("host", &r.host)?;
    no_nul("agent", &r.agent)?;
    if r.host.is_empty() {
        return Err(StoreError::Invalid {
            field: "host",
            message: "the host name is empty".into(),
        });
    }
    if r.at > now + super::MAX_CLOCK_SKEW {
        return Err(StoreError::Invalid {
            field: "at",
            message: format!(
                "the report is dated {} s ahead of the server's clock (at most {} s allowed): fix the agent's clock",
                r.at - now,
                super::MAX_CLOCK_SKEW
            ),
        });
    }
    if r.agent.is_empty() != (r.seq == 0) || r.seq < 0 {
        return Err(StoreError::Invalid {
            field: "seq",
            message: "a sequenced report needs an agent id and a seq of 1 or more".into(),
        });
    }
    // validate the report before taking any lock
    // command lines are stored with their secrets masked, in events as in observations
    let masked = |l: &[Value]| {
        crate::observations::without_secrets(Value::Array(l.to_vec()))
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let prepared = match &r.body {
        ReportBody::Full { listeners } => Prepared::Full(by_key(&masked(listeners), "listeners")?),
        ReportBody::Delta {
            base,
            added,
            removed,
        } => Prepared::Delta {
            base: *base,
            added: by_key(&masked(added), "added")?,
            removed,
        },
    };
    let mut tx = begin_host(db, &r.host).await?;
    let outcome = apply(&mut tx, db.dialect, r, prepared).await?;
    tx.commit().await.map_err(during("storing a report"))?;
    Ok(outcome)
}

/// A validated report body.
enum Prepared<'r> {
    Full(Listeners),
    Delta {
        base: i64,
        added: Listeners,
        removed: &'r [ListenerKey],
    },
}

async fn apply(
    tx: &mut Conn,
    dialect: &dyn Dialect,
    r: &Report,
    body: Prepared<'_>,
) -> Result<ReportOutcome, StoreError> {
    let acked: Option<AgentRow> =
        sqlx::query_as("SELECT agent, seq, at FROM history_agents WHERE host = $1")
            .bind(&r.host)
            .fetch_optional(&mut *tx)
            .await
            .map_err(during("reading the agent's sequence"))?;
    let acked_seq = acked.as_ref().map_or(0, |a| a.seq);
    let same_agent = acked.as_ref().is_some_and(|a| a.agent == r.agent);
    if r.seq > 0 && same_agent && r.seq <= acked_seq {
        return Err(refuse(
            "seq",
            acked_seq,
            format!(
                "report {} of this agent was already acknowledged (last acknowledged: {acked_seq}): a duplicate or out-of-order report; nothing was changed",
                r.seq
            ),
        ));
    }
    let before: Listeners = if acked.is_some() {
        let text: Option<String> =
            sqlx::query_scalar("SELECT listeners FROM observations WHERE host = $1")
                .bind(&r.host)
                .fetch_optional(&mut *tx)
                .await
                .map_err(during("reading the host's last report"))?;
        let value = text.as_deref().map_or(Value::Null, json);
        // stored by this module, so it parses; a hand-edited row counts as empty
        value
            .as_array()
            .and_then(|a| by_key(a, "stored").ok())
            .unwrap_or_default()
    } else {
        Listeners::new()
    };
    let after = match body {
        Prepared::Full(full) => full,
        Prepared::Delta {
            base,
            added,
            removed,
        } => {
            if !same_agent {
                return Err(refuse(
                    "agent",
                    acked_seq,
                    "no acknowledged report from this agent instance (the server or the agent restarted): send a full report".into(),
                ));
            }
            if base != acked_seq || r.seq != base + 1 {
                return Err(refuse(
                    "base",
                    acked_seq,
                    format!(
                        "sequence gap: report {} is a delta against {base}, but the last acknowledged report is {acked_seq}: send a full report",
                        r.seq
                    ),
                ));
            }
            let mut state = before.clone();
            for key in removed {
                if state.remove(key).is_none() {
                    return Err(refuse(
                        "removed",
                        acked_seq,
                        format!(
                            "the delta removes {key}, which the acknowledged state does not hold: send a full report"
                        ),
                    ));
                }
            }
            for (key, l) in added {
                state.remove(&key);
                insert_merging(&mut state, key, l);
            }
            state
        }
    };
    // times never go backwards within a host, so events replay in id order
    let at = r.at.max(acked.as_ref().map_or(i64::MIN, |a| a.at));
    let changed = changes(&before, &after);
    for chunk in changed.chunks(EVENTS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO history_events (host, at, change, transport, addr, port, listener, previous) VALUES {}",
            values(dialect, chunk.len(), 8)
        );
        let mut q = sqlx::query(&sql);
        for c in chunk {
            q = q
                .bind(&r.host)
                .bind(at)
                .bind(c.change.as_str())
                .bind(&c.key.transport)
                .bind(&c.key.addr)
                .bind(i64::from(c.key.port))
                .bind(super::stored::listener_text(&c.key, &c.listener))
                .bind(
                    c.previous
                        .as_ref()
                        .map(|p| super::stored::previous_text(&c.listener, p)),
                );
        }
        q.execute(&mut *tx)
            .await
            .map_err(during("recording history"))?;
    }
    let listeners: Vec<Value> = after.into_values().collect();
    // most reports change nothing: then only the report's time moves, and the listeners
    // (kilobytes per host) are not written again — rewriting them on every report made a
    // PostgreSQL registry grow by gigabytes a day (issue 18's fleet benchmark)
    let touched = if changed.is_empty() && acked.is_some() {
        sqlx::query("UPDATE observations SET at = $2 WHERE host = $1")
            .bind(&r.host)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(during("storing an observation"))?
            .rows_affected()
    } else {
        0
    };
    if touched == 0 {
        sqlx::query(
            "INSERT INTO observations (host, listeners, at) VALUES ($1, $2, $3) \
             ON CONFLICT (host) DO UPDATE SET listeners = excluded.listeners, at = excluded.at",
        )
        .bind(&r.host)
        .bind(Value::Array(listeners.clone()).to_string())
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(during("storing an observation"))?;
    }
    sqlx::query(
        "INSERT INTO history_agents (host, agent, seq, at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (host) DO UPDATE SET agent = excluded.agent, seq = excluded.seq, at = excluded.at",
    )
    .bind(&r.host)
    .bind(&r.agent)
    .bind(r.seq)
    .bind(at)
    .execute(&mut *tx)
    .await
    .map_err(during("acknowledging a report"))?;
    let count = |c| changed.iter().filter(|x| x.change == c).count();
    Ok(ReportOutcome {
        host: r.host.clone(),
        seq: r.seq,
        at,
        opened: count(super::Change::Opened),
        closed: count(super::Change::Closed),
        changed: count(super::Change::Changed),
        listeners,
    })
}
