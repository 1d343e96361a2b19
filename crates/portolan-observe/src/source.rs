//! The injected OS: [`SocketSource`] and [`ProcessSource`], their real implementation
//! ([`System`], procfs) and a fixture one ([`Fixture`], JSON); [`observe`], which joins
//! them into a sorted list of listeners, and [`observe_all`], which adds the containers of a
//! [`ContainerSource`] (one owner scan for host and in-container sockets, then the merged
//! view of [`crate::merge`]).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use crate::ObserveError;
use crate::container::{ContainerScan, ContainerSource};
use crate::listener::{Listener, Owner};
use crate::procfs::{self, ScanGaps, SocketIndex};

/// Lists listening sockets.
pub trait SocketSource {
    /// Every listening TCP and bound UDP socket, IPv4 and IPv6.
    fn sockets(&self) -> Result<Vec<Listener>, ObserveError>;
}

/// Finds the processes holding sockets.
pub trait ProcessSource {
    /// Owners of the given socket inodes, and what could not be seen.
    fn owners(&self, inodes: &HashSet<u64>) -> (HashMap<u64, Vec<Owner>>, ScanGaps);

    /// Every socket's holders, gathered before the wanted inodes are known so the walk can
    /// run beside other work; `None` when this source only looks up by inode.
    fn index(&self) -> Option<SocketIndex> {
        None
    }

    /// Owners of `inodes` from an index made by [`ProcessSource::index`].
    fn owners_in(&self, index: &SocketIndex, inodes: &HashSet<u64>) -> HashMap<u64, Vec<Owner>> {
        let _ = index;
        self.owners(inodes).0
    }
}

/// This machine, through procfs.
#[derive(Debug, Clone)]
pub struct System {
    /// procfs mount (normally `/proc`).
    pub root: PathBuf,
}

impl Default for System {
    fn default() -> Self {
        Self {
            root: PathBuf::from("/proc"),
        }
    }
}

impl SocketSource for System {
    /// netlink `sock_diag` (like `ss`), falling back to `/proc/net` where netlink is refused
    /// (some sandboxes) or when a different procfs root is configured.
    fn sockets(&self) -> Result<Vec<Listener>, ObserveError> {
        if self.root == std::path::Path::new("/proc")
            && let Ok(list) = crate::netlink::sockets()
        {
            return Ok(list);
        }
        procfs::sockets(&self.root)
    }
}

impl ProcessSource for System {
    fn owners(&self, inodes: &HashSet<u64>) -> (HashMap<u64, Vec<Owner>>, ScanGaps) {
        procfs::owners(&self.root, inodes)
    }

    fn index(&self) -> Option<SocketIndex> {
        Some(procfs::socket_index(&self.root, &|_| true))
    }

    fn owners_in(&self, index: &SocketIndex, inodes: &HashSet<u64>) -> HashMap<u64, Vec<Owner>> {
        procfs::describe(&self.root, index, inodes)
    }
}

/// Listeners recorded as JSON (an array of [`Listener`]), owners included.
#[derive(Debug, Clone, Default)]
pub struct Fixture {
    listeners: Vec<Listener>,
}

impl Fixture {
    /// Reads a fixture from JSON text.
    pub fn from_json(text: &str) -> Result<Fixture, ObserveError> {
        serde_json::from_str(text)
            .map(|listeners| Fixture { listeners })
            .map_err(|e| ObserveError::Fixture(e.to_string()))
    }
}

impl SocketSource for Fixture {
    fn sockets(&self) -> Result<Vec<Listener>, ObserveError> {
        Ok(self
            .listeners
            .iter()
            .map(|l| Listener {
                owners: Vec::new(),
                container: None,
                ..l.clone()
            })
            .collect())
    }
}

impl ProcessSource for Fixture {
    fn owners(&self, inodes: &HashSet<u64>) -> (HashMap<u64, Vec<Owner>>, ScanGaps) {
        let map = self
            .listeners
            .iter()
            .filter(|l| inodes.contains(&l.inode))
            .map(|l| (l.inode, l.owners.clone()))
            .collect();
        (map, ScanGaps::default())
    }
}

/// Listeners with owners (when `with_owners`), sorted by transport, port, address.
pub fn observe(
    sockets: &dyn SocketSource,
    processes: &dyn ProcessSource,
    with_owners: bool,
) -> Result<(Vec<Listener>, ScanGaps), ObserveError> {
    let mut list = sockets.sockets()?;
    let mut gaps = ScanGaps::default();
    if with_owners {
        let wanted: HashSet<u64> = list.iter().map(|l| l.inode).filter(|i| *i != 0).collect();
        let (owners, g) = processes.owners(&wanted);
        gaps = g;
        for l in &mut list {
            if let Some(o) = owners.get(&l.inode) {
                l.owners.clone_from(o);
            }
        }
    }
    list.sort_by_key(|l| (l.transport, l.port, l.addr, l.inode));
    list.dedup();
    Ok((list, gaps))
}

/// Everything observed on this machine: host listeners (linked to containers, publications
/// without a host socket included) and the container scan (in-container listeners with
/// their owners).
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// Host listeners, sorted by transport, port, address.
    pub listeners: Vec<Listener>,
    /// Containers and their namespaces' sockets.
    pub scan: ContainerScan,
    /// What the owner scan could not see.
    pub gaps: ScanGaps,
}

/// Host sockets, their owners and the containers, merged. The engine is asked while the
/// kernel lists the host's sockets.
pub fn observe_all(
    sockets: &(dyn SocketSource + Sync),
    processes: &(dyn ProcessSource + Sync),
    containers: &(dyn ContainerSource + Sync),
    with_owners: bool,
) -> Result<Observation, ObserveError> {
    // the engines, the walk over every process's fds and the kernel's socket list at once
    let (host, mut scan, index) = std::thread::scope(|s| {
        let engines = s.spawn(|| containers.scan());
        let index = with_owners.then(|| s.spawn(|| processes.index()));
        let host = sockets.sockets();
        portolan_model::timings::phase("host sockets");
        let index = index.and_then(|h| h.join().ok().flatten());
        portolan_model::timings::phase("socket holders");
        let scan = engines.join().unwrap_or_default();
        (host, scan, index)
    });
    let mut list = host?;
    let mut gaps = ScanGaps::default();
    if with_owners {
        let wanted: HashSet<u64> = list
            .iter()
            .chain(scan.namespaces.iter().flat_map(|n| n.listeners.iter()))
            .map(|l| l.inode)
            .filter(|i| *i != 0)
            .collect();
        let owners = if let Some(ix) = &index {
            gaps = ix.gaps;
            processes.owners_in(ix, &wanted)
        } else {
            let (o, g) = processes.owners(&wanted);
            gaps = g;
            o
        };
        portolan_model::timings::phase("owners");
        for l in list.iter_mut().chain(
            scan.namespaces
                .iter_mut()
                .flat_map(|n| n.listeners.iter_mut()),
        ) {
            if let Some(o) = owners.get(&l.inode) {
                l.owners.clone_from(o);
            }
        }
    }
    list.sort_by_key(|l| (l.transport, l.port, l.addr, l.inode));
    list.dedup();
    crate::merge::merge(&mut list, &scan);
    Ok(Observation {
        listeners: list,
        scan,
        gaps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Transport;

    #[test]
    fn finds_a_real_listener_and_its_owner() {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        let udp = std::net::UdpSocket::bind("[::1]:0").unwrap();
        let uport = udp.local_addr().unwrap().port();
        let sys = System::default();
        let (list, _) = observe(&sys, &sys, true).unwrap();
        let me = std::process::id();
        let t = list
            .iter()
            .find(|l| l.transport == Transport::Tcp && l.port == port)
            .expect("our TCP listener");
        assert_eq!(t.local(), format!("127.0.0.1:{port}"));
        assert!(
            t.owners.iter().any(|o| o.pid == me),
            "owner: {:?}",
            t.owners
        );
        let u = list
            .iter()
            .find(|l| l.transport == Transport::Udp && l.port == uport)
            .expect("our UDP socket");
        assert_eq!(u.local(), format!("[::1]:{uport}"));
        drop((tcp, udp));
    }

    #[test]
    fn fixtures_round_trip() {
        let json = r#"[{"transport":"tcp","addr":"0.0.0.0","port":8069,"inode":7,"uid":0,
            "owners":[{"pid":42,"name":"python3","cmdline":"python3 odoo-bin","user":"odoo","container":null}]}]"#;
        let f = Fixture::from_json(json).unwrap();
        let (list, gaps) = observe(&f, &f, true).unwrap();
        assert_eq!(gaps, ScanGaps::default());
        assert_eq!(list[0].owners[0].name, "python3");
        assert!(Fixture::from_json("[{").is_err());
    }
}
