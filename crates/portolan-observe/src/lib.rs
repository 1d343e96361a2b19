//! # portolan-observe
//!
//! What is really listening on this machine, and who owns it. The OS is injected (like
//! bandwhich): a [`SocketSource`] lists sockets and a [`ProcessSource`] maps socket inodes to
//! processes; the real implementations ask the kernel through netlink `sock_diag` like `ss`
//! (falling back to `/proc/net/{tcp,tcp6,udp,udp6}`) and map owners in one pass over
//! `/proc/*/fd`; the fixture ones read JSON, so output is snapshot-testable. A
//! [`ContainerSource`] adds the containers (Docker Engine API over its unix socket, Docker or
//! Podman) and the sockets inside their network namespaces; [`merge`] joins each publication
//! to the host socket that serves it. An [`IdentitySource`] says who this machine is, and
//! [`recognise`] which host of the spec that makes it.
#![deny(missing_docs)]

pub mod container;
pub mod diff;
pub mod draft;
pub mod drift;
pub mod expectations;
pub mod identity;
pub mod kill;
pub mod listener;
pub mod merge;
pub mod netlink;
pub mod observed_reach;
pub mod probe;
pub mod procfs;
pub mod reachability;
pub mod recognise;
pub mod snapshot;
pub mod source;
pub mod tls;

pub use container::{ContainerFixture, ContainerScan, ContainerSource, Engines, NoContainers};
pub use identity::{Identity, IdentitySource, SystemIdentity};
pub use listener::{ContainerLink, Inside, Listener, Owner, Published, Transport};
pub use source::{Fixture, Observation, ProcessSource, SocketSource, System, observe, observe_all};

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
    /// A netlink `sock_diag` dump (or entering a namespace for one) failed; `source` keeps
    /// the kernel's errno (`raw_os_error`) when there is one.
    #[error("netlink sock_diag: {step}: {source}")]
    Netlink {
        /// What was being done (`socket`, `send`, `recv`, `setns`, `dump`…).
        step: &'static str,
        /// The cause.
        source: std::io::Error,
    },
}
