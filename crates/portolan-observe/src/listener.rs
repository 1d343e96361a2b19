//! The observation types: a listening socket and, when we could see it, its owner.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::container::Engine;

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
    /// could not be seen (another user's process without privileges) or when no process
    /// holds the port (a publication forwarded by NAT rules only).
    pub owners: Vec<Owner>,
    /// The container behind the socket, when a container engine answered: the one whose
    /// publication this is (whoever holds the host socket: `docker-proxy`, `dockerd`,
    /// `rootlessport`, `conmon`, nobody), or the one whose process holds it (host network).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerLink>,
}

/// The container behind a host socket.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ContainerLink {
    /// Engine.
    pub engine: Engine,
    /// Full container id.
    pub id: String,
    /// Container name.
    pub name: String,
    /// Image.
    pub image: String,
    /// Compose project, when started by compose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Compose service, when started by compose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The publication this socket serves; absent when the container's own process holds
    /// the socket on the host's network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<Published>,
}

impl ContainerLink {
    /// `project/service` for a compose container, else the container name.
    pub fn label(&self) -> String {
        match (&self.project, &self.service) {
            (Some(p), Some(s)) => format!("{p}/{s}"),
            _ => self.name.clone(),
        }
    }
}

/// Where a published port goes inside the container.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Published {
    /// The container port.
    pub target: u16,
    /// Whether anything listens on it inside.
    pub inside: Inside,
    /// The in-container sockets on the target port (`[::]:80`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inside_local: Vec<String>,
}

/// What listens on a published port's target inside the container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Inside {
    /// A socket on a wildcard or the container's address: the publication works.
    Listening,
    /// Only on loopback inside: forwarded traffic arrives on the container's address, so
    /// the publication leads nowhere.
    LoopbackOnly,
    /// Nothing: the publication leads nowhere.
    Nothing,
    /// The container's sockets could not be read.
    Unknown,
}

impl Inside {
    /// `listening`, `loopback-only`, `nothing`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Inside::Listening => "listening",
            Inside::LoopbackOnly => "loopback-only",
            Inside::Nothing => "nothing",
            Inside::Unknown => "unknown",
        }
    }

    /// Whether the publication leads nowhere.
    pub fn dead(self) -> bool {
        matches!(self, Inside::LoopbackOnly | Inside::Nothing)
    }
}

#[cfg(test)]
impl Listener {
    /// A TCP socket on `addr:port` held by `owners`, outside any container (for tests).
    pub(crate) fn tcp(addr: &str, port: u16, owners: Vec<Owner>) -> Self {
        Self {
            transport: Transport::Tcp,
            addr: addr.parse().expect("a test address"),
            port,
            inode: u64::from(port),
            uid: 0,
            owners,
            container: None,
        }
    }
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
