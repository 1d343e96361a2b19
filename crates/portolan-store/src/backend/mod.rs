//! The two backends. Their query code is written once (`common.rs`, included into each
//! backend module with that module's `Db` type) since both engines accept the same SQL here:
//! `$N` parameters, `RETURNING`, `ON CONFLICT … DO UPDATE`, 64-bit integers and text.
//! What differs — connecting, starting a write transaction, which errors are worth a
//! retry — is in `sqlite.rs` and `postgres.rs`.

pub mod postgres;
pub mod sqlite;
