//! # portolan-model
//!
//! The spec of ports-as-code, from TOML text to a resolved [`Model`]:
//!
//! - [`spec`]: the file format (serde types with spans, JSON Schema);
//! - [`load`]: reading files/directories, located errors with "did you mean";
//! - [`model`]: the resolved model every other crate reads;
//! - [`port`], [`net`]: port ranges and IP sets;
//! - [`identity`]: host names and machine ids, by which a machine recognises its host;
//! - [`expect`]: reachability expectations (`[[expect]]`) resolved;
//! - [`knowledge`]: well-known ports, browser-blocked ports, ephemeral ranges;
//! - [`toml_out`]: writing spec TOML text (quoting, arrays, inline tables) for the drafts;
//! - [`words`]: the one span-keeping word splitter (shell commands, quoted arguments).
//!
//! Defaults chosen here (documented in `docs/spec.md`): a binding without `bind` listens on
//! `0.0.0.0`; without `exposure` it is meant for `internal`; a host without `networks` is on
//! `public`; a firewall declared without `rules` allows exactly the declared exposure.
#![deny(missing_docs)]

mod chunk;
pub mod clock;
pub mod error;
pub mod expect;
pub mod identity;
pub mod knowledge;
pub mod load;
pub mod model;
pub mod net;
pub mod port;
mod resolve;
pub mod source;
pub mod spanned;
pub mod spec;
pub mod timings;
pub mod toml_out;
pub mod words;

pub use error::{LoadError, SpecError};
pub use load::{
    LoadOptions, MAX_SPEC_BYTES, SPEC_FILE, SpecBytes, find_spec, load, load_str, load_str_with,
    load_with, read_spec_file,
};
pub use model::*;
pub use net::{IpNet, IpSet};
pub use port::{PortRange, PortSet};
pub use resolve::{DEFAULT_ENV, IMPLICIT_HOST, LINUX_EPHEMERAL, RESERVED_NAMES};
pub use source::{FileId, Loc, Position, SourceMap};

/// The JSON Schema of `ports.toml`, pretty-printed.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(spec::SpecFile);
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}
