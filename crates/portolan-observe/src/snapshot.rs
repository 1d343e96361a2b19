//! A host's live state at one moment as stable JSON (`portolan snapshot`): what listens, who
//! owns it, behind which container. The same state drawn from a spec (the active bindings
//! of one host) is a [`Snapshot`] too, so any two of spec, snapshot file and live can be
//! compared by [`crate::diff`].
//!
//! Stable means byte-stable for the same state: listeners sorted by transport, port,
//! address; owners sorted by pid; no field whose value changes without the state changing
//! (socket inodes are left out).

use std::net::IpAddr;

use portolan_model::spec::Timestamp;
use portolan_model::{HostId, Model, Status};
use serde::{Deserialize, Serialize};

use crate::{Listener, Transport};

/// The format version written into every snapshot; a reader refuses newer ones.
pub const FORMAT: u32 = 1;

/// One host's listeners at one moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// [`FORMAT`].
    pub format: u32,
    /// The host (its name in the spec, or the machine's host name).
    pub host: String,
    /// When it was taken (RFC 3339, UTC), absent for a spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken: Option<Timestamp>,
    /// Where the state comes from: `live`, a snapshot file, `spec FILE`.
    pub source: String,
    /// Listening sockets, sorted.
    pub listeners: Vec<Socket>,
    /// What could not be seen (owners of other users' processes, a container engine that
    /// did not answer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A listening socket as a snapshot keeps it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Socket {
    /// Transport.
    pub transport: Transport,
    /// Port.
    pub port: u16,
    /// Local address.
    pub addr: IpAddr,
    /// Programs holding it (`name (pid N, user U)`), sorted; empty when not visible.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<SocketOwner>,
    /// The container behind it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The declared binding (`service.binding`), for a state drawn from a spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<String>,
}

/// A process holding a socket.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocketOwner {
    /// Program name.
    pub name: String,
    /// Process id.
    pub pid: u32,
    /// User.
    pub user: String,
}

impl Socket {
    /// The socket of a live listener.
    pub fn from_listener(l: &Listener) -> Self {
        let mut owners: Vec<SocketOwner> = l
            .owners
            .iter()
            .map(|o| SocketOwner {
                name: o.name.clone(),
                pid: o.pid,
                user: o.user.clone(),
            })
            .collect();
        owners.sort();
        owners.dedup();
        Socket {
            transport: l.transport,
            port: l.port,
            addr: l.addr,
            // the container by name (stable across a re-create), also for a publication
            // whose host socket a proxy or the engine holds; else the owner's own
            container: l
                .container
                .as_ref()
                .map(|c| format!("{}:{}", c.engine.as_str(), c.name))
                .or_else(|| l.owners.iter().find_map(|o| o.container.clone())),
            owners,
            binding: None,
        }
    }

    /// `127.0.0.1:8080` / `[::]:443`.
    pub fn local(&self) -> String {
        match self.addr {
            IpAddr::V6(a) => format!("[{a}]:{}", self.port),
            IpAddr::V4(a) => format!("{a}:{}", self.port),
        }
    }

    /// The programs holding it, for humans: `nginx, nginx` → `nginx`.
    pub fn programs(&self) -> String {
        let mut names: Vec<&str> = self.owners.iter().map(|o| o.name.as_str()).collect();
        names.dedup();
        names.join(",")
    }
}

impl Snapshot {
    /// The snapshot of live listeners of `host`, taken at `now` (seconds since the epoch).
    pub fn live(host: &str, now: i64, listeners: &[Listener], notes: Vec<String>) -> Self {
        let mut sockets: Vec<Socket> = listeners.iter().map(Socket::from_listener).collect();
        sockets.sort();
        sockets.dedup();
        Snapshot {
            format: FORMAT,
            host: host.to_string(),
            taken: Some(Timestamp(now)),
            source: "live".into(),
            listeners: sockets,
            notes,
        }
    }

    /// What the spec says host `h` listens on: every port of its active bindings, at the
    /// declared bind address, named by binding.
    pub fn declared(model: &Model, h: HostId, source: &str) -> Self {
        let mut sockets = Vec::new();
        for b in model
            .bindings
            .iter()
            .filter(|b| b.host == h && b.status == Status::Active)
        {
            for port in b.ports.ports() {
                sockets.push(Socket {
                    transport: b.transport,
                    port,
                    addr: b.bind,
                    owners: Vec::new(),
                    container: None,
                    binding: Some(b.qualified_name(model)),
                });
            }
        }
        sockets.sort();
        sockets.dedup();
        Snapshot {
            format: FORMAT,
            host: model.host(h).name.clone(),
            taken: None,
            source: source.to_string(),
            listeners: sockets,
            notes: Vec::new(),
        }
    }

    /// Stable JSON, ending with a newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Reads a snapshot written by [`Snapshot::to_json`]; `name` is for messages.
    pub fn from_json(name: &str, text: &str) -> Result<Self, SnapshotError> {
        let s: Snapshot = serde_json::from_str(text).map_err(|e| SnapshotError {
            name: name.to_string(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        if s.format > FORMAT {
            return Err(SnapshotError {
                name: name.to_string(),
                line: 1,
                column: 1,
                message: format!(
                    "snapshot format {} is newer than this portolan reads ({FORMAT}): upgrade portolan",
                    s.format
                ),
            });
        }
        Ok(s)
    }
}

/// A snapshot file that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("{name}:{line}:{column}: not a portolan snapshot: {message}")]
pub struct SnapshotError {
    /// File name as given.
    pub name: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Owner;

    fn listener(port: u16, addr: &str, owner: &str, pid: u32) -> Listener {
        Listener {
            transport: Transport::Tcp,
            addr: addr.parse().expect("addr"),
            port,
            inode: u64::from(pid) * 7,
            uid: 0,
            owners: vec![Owner {
                pid,
                name: owner.into(),
                cmdline: format!("{owner} --serve"),
                user: "root".into(),
                container: None,
            }],
            container: None,
        }
    }

    #[test]
    fn json_is_stable_and_round_trips() {
        let a = Snapshot::live(
            "app1",
            1_700_000_000,
            &[
                listener(8080, "0.0.0.0", "python3", 40),
                listener(22, "0.0.0.0", "sshd", 10),
            ],
            vec![],
        );
        let b = Snapshot::live(
            "app1",
            1_700_000_000,
            &[
                listener(22, "0.0.0.0", "sshd", 10),
                listener(8080, "0.0.0.0", "python3", 40),
            ],
            vec![],
        );
        assert_eq!(
            a.to_json(),
            b.to_json(),
            "order of observation does not matter"
        );
        assert!(
            !a.to_json().contains("inode"),
            "inodes change without the state changing"
        );
        let back = Snapshot::from_json("a.json", &a.to_json()).expect("parses");
        assert_eq!(back, a);
    }

    #[test]
    fn a_broken_or_newer_file_is_a_located_error() {
        let e = Snapshot::from_json("s.json", "{\n  \"format\": 1,\n  \"hots\": \"x\"\n}")
            .expect_err("unknown field");
        assert_eq!((e.line, e.name.as_str()), (3, "s.json"));
        let e = Snapshot::from_json(
            "s.json",
            r#"{"format": 9, "host": "h", "source": "live", "listeners": []}"#,
        )
        .expect_err("newer");
        assert!(e.message.contains("upgrade"), "{e}");
    }
}
