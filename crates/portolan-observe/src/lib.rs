//! # portolan-observe
//!
//! What is really listening on this machine, and who owns it. The OS is injected (like
//! bandwhich): a [`SocketSource`] lists sockets and a [`ProcessSource`] maps socket inodes to
//! processes; the real implementations ask the kernel through netlink `sock_diag` like `ss`
//! (falling back to `/proc/net/{tcp,tcp6,udp,udp6}`) and map owners in one pass over
//! `/proc/*/fd`; the fixture ones read JSON, so output is snapshot-testable.
#![deny(missing_docs)]

pub mod draft;
pub mod drift;
pub mod kill;
pub mod listener;
pub mod netlink;
pub mod probe;
pub mod procfs;
pub mod reachability;
pub mod source;
pub mod tls;

pub use listener::{Listener, Owner, Transport};
pub use source::{Fixture, ProcessSource, SocketSource, System, observe};

/// Why observation failed.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    /// A file of procfs could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A line of procfs did not parse.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The path.
        path: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A fixture file is malformed.
    #[error("fixture: {0}")]
    Fixture(String),
}
