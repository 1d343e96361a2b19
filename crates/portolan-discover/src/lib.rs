//! # portolan-discover
//!
//! The ports a repository really uses, and where it says so. One module per source format
//! (compose, `.env`, nginx, Kubernetes, Dockerfile, systemd, Procfile, application code)
//! turns a file's text into [`PortUse`]s and [`RouteUse`]s with evidence (`file:line:col`,
//! confidence); [`walk`] finds and classifies the files of a tree in parallel; [`draft`]
//! turns what was found into a starter spec; [`markdown`] imports a hand-written port
//! document; [`moves`] finds every reference to a port before it changes.
//!
//! Parsers never panic and never abort a run: malformed input becomes a [`Problem`] naming
//! `file:line` and the reason, and the rest of the tree is still read. Secrets seen on the way
//! (passwords in URLs) are never copied into the output: snippets are redacted first.
#![deny(missing_docs)]

pub mod cmdline;
pub mod code;
pub mod compose;
pub mod dockerfile;
pub mod draft;
pub mod env;
pub mod evidence;
pub mod kubernetes;
pub mod markdown;
pub mod moves;
pub mod nginx;
pub mod procfile;
pub mod redact;
pub mod systemd;
pub mod text;
pub mod walk;
mod yaml;

pub use evidence::{
    Confidence, Context, FileReport, Location, PortUse, Problem, ProxyKind, Role, RouteUse,
    SourceKind, Unit, UnitKind,
};
