//! Errors of the store. Each names the entity or field concerned, so the server can answer
//! with a 4xx naming the field (bad input, unknown name, conflict) or a 5xx (the database
//! failed). Messages never contain a token secret or a database password.

use portolan_alloc::AllocError;
use portolan_model::LoadError;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is neither `sqlite://…` nor `postgres://…`.
    #[error("unsupported database URL `{url}`: use sqlite://PATH or postgres://USER@HOST:PORT/DB")]
    BadUrl {
        /// The URL, password removed.
        url: String,
    },
    /// The database could not be opened or connected to.
    #[error("cannot open the database {url}: {source}")]
    Open {
        /// The URL, password removed.
        url: String,
        /// The cause.
        source: sqlx::Error,
    },
    /// The database server did not answer in time.
    #[error(
        "cannot reach the database {url}: no answer within {seconds} s (is the server running, and are the host and port right?)"
    )]
    Unreachable {
        /// The URL, password removed.
        url: String,
        /// How long it waited.
        seconds: f64,
    },
    /// A migration could not be applied.
    #[error("cannot migrate the {backend} database: {source}")]
    Migrate {
        /// `sqlite` or `postgres`.
        backend: &'static str,
        /// The cause.
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("database error while {context}: {source}")]
    Database {
        /// What was being done (`allocating`, `reading services`).
        context: &'static str,
        /// The cause.
        source: sqlx::Error,
    },
    /// The spec given to `import_spec` does not load; nothing was changed.
    #[error("invalid spec: {0}")]
    Spec(Box<LoadError>),
    /// The registry's content does not form a valid spec (a bug, or a hand-edited database).
    #[error("the registry does not export a valid spec: {0}")]
    Corrupt(String),
    /// The allocation policy refused (unknown project/block/host, range full, invalid name…).
    #[error(transparent)]
    Alloc(#[from] AllocError),
    /// An entity does not exist.
    #[error("{entity} `{name}` not found")]
    NotFound {
        /// `service`, `token`, `host`, …
        entity: &'static str,
        /// The name or id asked for.
        name: String,
    },
    /// A field of a request is invalid.
    #[error("invalid {field}: {message}")]
    Invalid {
        /// The field (`name`, `count`, `role`, `listeners`).
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// An agent report does not continue the host's acknowledged sequence (a duplicate, an
    /// out-of-order or unknown delta, a gap); nothing was changed, and the agent should send
    /// a full report.
    #[error("{message}")]
    Sequence {
        /// The report field at fault (`seq`, `base`, `agent`, `removed`).
        field: &'static str,
        /// The last sequence number the server acknowledged for the host.
        acked: i64,
        /// What is wrong.
        message: String,
    },
    /// Concurrent writers kept conflicting; the operation was retried and gave up.
    #[error("{operation} kept conflicting with concurrent writers after {attempts} attempts")]
    Contention {
        /// The operation.
        operation: &'static str,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The allocation writer task stopped before answering (its runtime shut down, or a
    /// bug made it panic); whether the request was committed is unknown.
    #[error("the {operation} writer stopped before answering; check the registry and retry")]
    Interrupted {
        /// The operation.
        operation: &'static str,
    },
    /// A push was based on an older generation than the registry's: nothing changed.
    #[error(
        "the registry is at generation {current}, not {expected}: it changed since that pull ({} item(s) the push would drop or replace)",
        .lost.len()
    )]
    Stale {
        /// The generation the push was based on.
        expected: i64,
        /// The registry's.
        current: i64,
        /// What the registry has that the pushed spec lacks or says differently.
        lost: Vec<crate::types::LostItem>,
    },
    /// A bearer token was refused.
    #[error("token rejected: {0}")]
    Token(TokenRejection),
    /// The operating system's random generator failed (creating a token or a webhook): a
    /// server fault, not the caller's.
    #[error(transparent)]
    Random(#[from] crate::secrets::RandomError),
}

/// Why a token does not authenticate. The server answers 401 to all of them alike; the
/// reason is for logs (it never includes the token).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    /// Not of the form `ptk_ID_SECRET`.
    #[error("malformed token")]
    Malformed,
    /// No token with that id, or the secret does not match.
    #[error("unknown token or wrong secret")]
    Unknown,
    /// Revoked.
    #[error("token revoked")]
    Revoked,
    /// Past its expiry.
    #[error("token expired")]
    Expired,
}

impl StoreError {
    /// Whether the request conflicts with the registry's state (HTTP 409): a full range,
    /// taken ports, an existing name.
    pub fn is_conflict(&self) -> bool {
        match self {
            StoreError::Alloc(e) => e.is_conflict() || matches!(e, AllocError::ServiceExists(_)),
            StoreError::Contention { .. }
            | StoreError::Sequence { .. }
            | StoreError::Stale { .. } => true,
            _ => false,
        }
    }

    /// Whether the caller sent something wrong (HTTP 4xx other than 409/401).
    pub fn is_bad_request(&self) -> bool {
        match self {
            StoreError::Spec(_) | StoreError::Invalid { .. } | StoreError::NotFound { .. } => true,
            StoreError::Alloc(e) => !self.is_conflict() && !matches!(e, AllocError::Io { .. }),
            _ => false,
        }
    }
}

/// A URL with its password replaced by `***`, for messages.
pub(crate) fn redact(url: &str) -> String {
    crate::redact::dsn(url)
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact("postgres://u:secret@h:5/db"),
            "postgres://u:***@h:5/db"
        );
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact("sqlite://a/b.db"), "sqlite://a/b.db");
    }
}
