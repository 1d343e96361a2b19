//! One module per subcommand. Each owns its clap `Args` (flags, help, examples in `HELP`),
//! their validation into the settings it runs with, and the run itself; `cli.rs` lists the
//! modules once. Helpers several commands share live in `common`, the live-listener source
//! in `live`, the registry's HTTP client in `client`.

pub mod alloc;
pub mod check;
pub mod completions;
pub mod diff;
pub mod discover;
pub mod exposure;
pub mod gc;
pub mod gen_;
pub mod import;
pub mod init;
pub mod kill;
pub mod lint;
pub mod log;
pub mod ls;
pub mod man;
pub mod move_;
pub mod probe;
pub mod release;
pub mod reserve;
pub mod schema;
pub mod snapshot;
pub mod who;
pub mod why;
// team registry: serve / token / push / pull / agent
#[cfg(feature = "registry")]
pub mod agent;
#[cfg(feature = "registry")]
pub mod pull;
#[cfg(feature = "registry")]
pub mod push;
#[cfg(feature = "registry")]
pub mod serve;
#[cfg(feature = "registry")]
pub mod token;

#[cfg(feature = "registry")]
pub(crate) mod client;
pub(crate) mod common;
pub(crate) mod discover_table;
pub(crate) mod live;
#[cfg(feature = "registry")]
pub(crate) mod registry_db;
#[cfg(feature = "registry")]
pub(crate) mod sync;

use crate::error::CliError;
use crate::exit::Exit;
use crate::settings::Settings;

/// A subcommand's parsed arguments: validated and run with the global settings.
pub trait Subcommand {
    /// Validates the arguments and runs the command.
    fn run(self, s: &Settings) -> Result<Exit, CliError>;
    /// Whether the command's output is JSON/SARIF on stdout (errors then go there as JSON).
    fn machine_output(&self) -> bool {
        false
    }
}
