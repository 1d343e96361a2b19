//! # portolan-alloc
//!
//! Handing out ports safely, and recording it:
//!
//! - [`policy`]: *which* port. A pure, deterministic function of the resolved
//!   [`Model`](portolan_model::Model), a request, an extra "occupied" set (live listeners, ports
//!   a server has promised) and the current time — no I/O, so the registry server can reuse it.
//! - [`edit`]: *how the spec changes*. Lossless edits of the TOML text with `toml_edit`:
//!   comments, order and formatting of everything else stay byte for byte.
//! - [`txn`]: *safely*. An exclusive lock on a sidecar lock file, the spec re-read and
//!   re-validated after taking it, the new text validated before it is written, and an atomic
//!   write (temp file + `fsync` + rename), so parallel `portolan alloc` processes never hand
//!   out the same port and a crash never leaves a torn spec.
//! - [`log`]: *who did what and why*. One JSON line per change, appended beside the spec.
//! - [`merge`]: the three-way merge of the spec file with the registry's spec (`pull`,
//!   `push --merge`), as a lossless edit of the file.
//! - [`pulled`]: what the file last received from a registry (generation and text).
//! - [`sidecar`]: where the lock, the allocation cache and the last pulled registry spec
//!   live — never in the working tree.
//! - [`lease`]: durations (`2h`, `1d12h`) and the clock.
//!
//! Choices (also in the README and `docs/spec.md`): a port is free for a request when it is
//! in the block (or the project's range), not bound by any service (any host, either
//! transport: ports are handed out once per spec), not reserved (a reservation past its
//! `until` date no longer holds), not on the well-known
//! collision list, not refused by browsers, not in the host's ephemeral range, and not in the
//! caller's occupied set. Services whose lease has expired hold nothing; an allocation that
//! reuses their ports removes them in the same edit.
#![deny(missing_docs)]

pub mod append;
pub mod atomic;
pub mod cache;
pub mod edit;
pub mod error;
pub mod journal;
pub mod lease;
pub mod log;
pub mod merge;
pub mod policy;
pub mod pulled;
pub mod sidecar;
pub mod txn;

pub use error::AllocError;
pub use policy::{Allocation, Occupied, Request, allocate};
