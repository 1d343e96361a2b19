//! # portolan-testkit
//!
//! The harnesses the integration tests share (a dev-dependency only; never published):
//!
//! - [`PgServer`]: a throwaway PostgreSQL 15 server — `initdb` + `pg_ctl` in a temp
//!   directory on a free loopback port, as the `postgres` user when running as root
//!   (PostgreSQL refuses to run as root, and CI runs as root). Failing to start it fails the
//!   test: it is never skipped. [`PgServer::shared`] is one server per test binary, started
//!   on first use and stopped when the binary exits.
//! - [`engine_tests!`]: one `#[test]` per case and engine, `sqlite_<case>` and
//!   `postgres_<case>`, so one case on one engine can be run alone
//!   (`cargo test -p portolan-store postgres_tokens_verify_by_role`); each gets a
//!   [`TestDb`] of its own.
//! - [`Serve`]: a `portolan serve` child process on a free loopback port.
#![deny(missing_docs)]
#![allow(clippy::doc_markdown)]

mod pg;
mod serve;

pub use pg::PgServer;
pub use serve::Serve;

#[doc(hidden)]
pub use paste;

/// A database engine the registry runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// A SQLite file in a temp directory.
    Sqlite,
    /// A database of its own on the binary's shared [`PgServer`].
    Postgres,
}

impl Engine {
    /// `sqlite` / `postgres`.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }

    /// A fresh, empty database named after `case` (at most 63 bytes: PostgreSQL's limit).
    pub fn database(self, case: &str) -> TestDb {
        match self {
            Engine::Sqlite => {
                let dir = temp_dir();
                let url = format!(
                    "sqlite://{}",
                    dir.path().join(format!("{case}.db")).display()
                );
                TestDb {
                    url,
                    engine: self,
                    _dir: Some(dir),
                }
            }
            Engine::Postgres => TestDb {
                url: PgServer::shared().database(case),
                engine: self,
                _dir: None,
            },
        }
    }
}

/// A test's database: its URL, alive as long as this value.
#[derive(Debug)]
pub struct TestDb {
    /// `sqlite://…` or `postgres://…`.
    pub url: String,
    /// The engine.
    pub engine: Engine,
    _dir: Option<tempfile::TempDir>,
}

/// A temp directory (`portolan-test-…`), removed when dropped.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("portolan-test-")
        .tempdir()
        .expect("create a temp dir")
}

/// One `#[test]` per case and engine: `engine_tests!(run; a, b)` emits `sqlite_a`,
/// `postgres_a`, `sqlite_b`, `postgres_b`, each calling `run(Engine, "a", a)`; `run` (the
/// test binary's own) sets the case up on that engine and runs it.
#[macro_export]
macro_rules! engine_tests {
    ($runner:path; $($case:ident),* $(,)?) => {
        $crate::paste::paste! {
            $(
                #[test]
                fn [<sqlite_ $case>]() {
                    $runner($crate::Engine::Sqlite, stringify!($case), $case)
                }
                #[test]
                fn [<postgres_ $case>]() {
                    $runner($crate::Engine::Postgres, stringify!($case), $case)
                }
            )*
        }
    };
}
