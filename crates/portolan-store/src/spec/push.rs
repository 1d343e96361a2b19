//! Pushes: the registry's spec replaced by a file's, guarded by the store generation — the
//! counter every spec-changing write moves on (import, push, allocate, release, reserve,
//! gc). A pusher says which generation it last pulled; if the registry has moved on since,
//! the push is refused with what the registry holds that the file lacks or says
//! differently (`portolan_alloc::merge::lost`), and nothing changes. A forced push replaces
//! whatever is there and logs one `drop` entry per item lost. Every push is one `push`
//! entry in the log, naming the token.

use portolan_alloc::log::{Action, Entry};
use portolan_model::Model;

use super::rows::{self, SpecRows};
use super::{export_in, import_in};
use crate::db::{Conn, Db, during};
use crate::error::StoreError;
use crate::ledger::insert_log;
use crate::types::{LostItem, PushRequest, Pushed, VersionedSpec};

/// The store generation, read through `conn`.
pub(crate) async fn generation_in(conn: &mut Conn) -> Result<i64, StoreError> {
    let (g,): (i64,) = sqlx::query_as("SELECT generation FROM store_generation WHERE id = 1")
        .fetch_one(&mut *conn)
        .await
        .map_err(during("reading the generation"))?;
    Ok(g)
}

/// The spec and its generation, from one consistent view.
pub(crate) async fn export_versioned(db: &Db) -> Result<VersionedSpec, StoreError> {
    db.read("reading the spec", |tx| {
        Box::pin(async move {
            let text = export_in(tx).await?;
            let generation = generation_in(tx).await?;
            Ok(VersionedSpec { text, generation })
        })
    })
    .await
}

/// Replaces the spec (see the module docs). The spec is validated before the transaction.
///
/// Also returns the pushed model and the generation the push moved the registry to: the
/// registry now holds exactly that spec, so the allocator can start from it (see
/// [`crate::writer`]'s model cache) instead of exporting and re-parsing it on the first
/// allocation after a push.
pub(crate) async fn push(db: &Db, req: &PushRequest) -> Result<(Pushed, Model, i64), StoreError> {
    let (rows, model) = rows::rows(&req.toml)?;
    let done = db
        .write("pushing a spec", &(req, rows), |tx, (req, rows)| {
            Box::pin(push_in(tx, req, rows))
        })
        .await?;
    Ok((done.value, model, done.generation))
}

async fn push_in(
    conn: &mut Conn,
    req: &PushRequest,
    rows: &SpecRows,
) -> Result<Pushed, StoreError> {
    // the write transaction moved the generation on already: the registry was at one less
    let generation = generation_in(conn).await?;
    let before = generation - 1;
    let old = export_in(conn).await?;
    let lost: Vec<LostItem> = portolan_alloc::merge::lost(&old, &req.toml)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?
        .into_iter()
        .map(LostItem::from)
        .collect();
    if let Some(expected) = req.expected
        && expected != before
    {
        return Err(StoreError::Stale {
            expected,
            current: before,
            lost,
        });
    }
    let summary = import_in(conn, rows).await?;
    let forced = req.expected.is_none();
    if forced {
        for l in &lost {
            let mut e = Entry::new(req.now, &req.who, Action::Drop, l.ports.clone());
            if l.kind == "service" {
                e.service = Some(l.name.clone());
            }
            e.why = Some(format!("dropped by a forced push: {}", l.text));
            insert_log(conn, &e).await?;
        }
    }
    let mut e = Entry::new(req.now, &req.who, Action::Push, String::new());
    e.why = Some(format!(
        "{} by token id {}: {} services, {} reservations{}",
        match req.expected {
            Some(g) => format!("push on generation {g}"),
            None => "push --force".into(),
        },
        req.token,
        summary.services,
        summary.reservations,
        if forced && !lost.is_empty() {
            format!("; {} item(s) dropped", lost.len())
        } else {
            String::new()
        }
    ));
    insert_log(conn, &e).await?;
    Ok(Pushed {
        summary,
        generation,
        dropped: lost,
    })
}
