//! Versioned migrations, one directory per backend (`migrations/sqlite`,
//! `migrations/postgres`), compiled into the binary and applied by sqlx's migrator on
//! open: each file once, in version order, recorded with its checksum in
//! `_sqlx_migrations` (so opening a database twice applies nothing the second time, and an
//! edited, already-applied migration is refused). Add a migration by adding a file
//! `NNNN_name.sql` to both directories and a line to both lists below.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

use crate::types::Backend;

/// `(version, description, SQL)`.
type Embedded = &'static [(i64, &'static str, &'static str)];

const SQLITE: Embedded = &[
    (
        1,
        "registry",
        include_str!("../migrations/sqlite/0001_registry.sql"),
    ),
    (
        2,
        "generation",
        include_str!("../migrations/sqlite/0002_generation.sql"),
    ),
    (
        3,
        "history",
        include_str!("../migrations/sqlite/0003_history.sql"),
    ),
    (
        4,
        "webhooks",
        include_str!("../migrations/sqlite/0004_webhooks.sql"),
    ),
    (
        5,
        "announcements",
        include_str!("../migrations/sqlite/0005_announcements.sql"),
    ),
    (
        6,
        "hot rows",
        include_str!("../migrations/sqlite/0006_hot_rows.sql"),
    ),
];

const POSTGRES: Embedded = &[
    (
        1,
        "registry",
        include_str!("../migrations/postgres/0001_registry.sql"),
    ),
    (
        2,
        "generation",
        include_str!("../migrations/postgres/0002_generation.sql"),
    ),
    (
        3,
        "history",
        include_str!("../migrations/postgres/0003_history.sql"),
    ),
    (
        4,
        "webhooks",
        include_str!("../migrations/postgres/0004_webhooks.sql"),
    ),
    (
        5,
        "announcements",
        include_str!("../migrations/postgres/0005_announcements.sql"),
    ),
    (
        6,
        "hot rows",
        include_str!("../migrations/postgres/0006_hot_rows.sql"),
    ),
];

#[derive(Debug)]
struct Source(Embedded);

impl<'s> MigrationSource<'s> for Source {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 's>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// The migrator of a backend.
pub(crate) async fn migrator(backend: Backend) -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(Source(match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }))
    .await
}
