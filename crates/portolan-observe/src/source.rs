//! The injected OS: [`SocketSource`] and [`ProcessSource`], their real implementation
//! ([`System`], procfs) and a fixture one ([`Fixture`], JSON), and [`observe`], which joins
//! them into a sorted list of listeners.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use crate::ObserveError;
use crate::listener::{Listener, Owner};
use crate::procfs::{self, ScanGaps};

/// Lists listening sockets.
pub trait SocketSource {
    /// Every listening TCP and bound UDP socket, IPv4 and IPv6.
    fn sockets(&self) -> Result<Vec<Listener>, ObserveError>;
}

/// Finds the processes holding sockets.
pub trait ProcessSource {
    /// Owners of the given socket inodes, and what could not be seen.
    fn owners(&self, inodes: &HashSet<u64>) -> (HashMap<u64, Vec<Owner>>, ScanGaps);
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
