//! The observation types: a listening socket and, when we could see it, its owner.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Transport protocol of a socket: the model's (one `Transport` for spec and observation).
pub use portolan_model::Transport;

/// The process that holds a socket.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Owner {
    /// Process id.
    pub pid: u32,
    /// Short name (`/proc/PID/comm`).
    pub name: String,
    /// Command line, arguments joined by spaces.
    pub cmdline: String,
    /// User name (or uid when unknown).
    pub user: String,
    /// Container id or name when the process runs in one (Docker, Podman, Kubernetes).
    pub container: Option<String>,
}

/// A listening (TCP) or bound (UDP) socket.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Listener {
    /// Transport.
    pub transport: Transport,
    /// Local address.
    pub addr: IpAddr,
    /// Local port.
    pub port: u16,
    /// Socket inode (the key to find the owner).
    pub inode: u64,
    /// Owning uid.
    pub uid: u32,
    /// Owners (several when the socket is shared, e.g. pre-forked workers); empty when they
    /// could not be seen (another user's process without privileges).
    pub owners: Vec<Owner>,
}

impl Listener {
    /// `0.0.0.0:8069` / `[::]:443`.
    pub fn local(&self) -> String {
        match self.addr {
            IpAddr::V6(a) => format!("[{a}]:{}", self.port),
            IpAddr::V4(a) => format!("{a}:{}", self.port),
        }
    }
}
