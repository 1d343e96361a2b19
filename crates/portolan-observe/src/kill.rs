//! Stopping what holds a port, safely: never pid 1, never ourselves or an ancestor (the
//! shell that runs us), never a container's forwarder (`docker-proxy`, `dockerd`,
//! `rootlessport`, `conmon`) or a containerised process — a port a container publishes or
//! holds is stopped by stopping the container through its engine. SIGTERM first, wait,
//! SIGKILL only when asked.
//!
//! Between what `kill` shows and the signal lies a prompt, and a pid can be reused in that
//! time. A [`Pinned`] process closes the gap: a pidfd is opened while the process is seen
//! holding the socket inode shown, right before signalling the pid is checked to still hold
//! that inode, and the signal goes through the pidfd — which names that process and no
//! other, so a process that exited and whose pid was reused is never signalled.

use std::collections::HashSet;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

pub use rustix::process::Signal;
use rustix::process::{Pid, PidfdFlags};

use crate::container::ContainerScan;
use crate::drift::FORWARDERS;
use crate::listener::{ContainerLink, Listener, Owner};

/// Why a holder is not signalled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// pid 1 (init).
    Init,
    /// portolan itself.
    Itself,
    /// One of our ancestors (the shell, the test runner, …).
    Ancestor,
    /// A container's port forwarder or a process inside a container whose engine could not
    /// be asked: the container must be stopped instead. Holds the container tag when known.
    Container(Option<String>),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Init => f.write_str("it is pid 1 (init)"),
            Refusal::Itself => f.write_str("it is portolan itself"),
            Refusal::Ancestor => {
                f.write_str("it is an ancestor of this process (killing it would kill us)")
            }
            Refusal::Container(Some(c)) => {
                write!(f, "it belongs to container {c}: stop the container instead")
            }
            Refusal::Container(None) => {
                f.write_str("it forwards a container's published port: stop the container instead")
            }
        }
    }
}

/// A process to signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessTarget {
    /// Port.
    pub port: u16,
    /// `0.0.0.0:8080/tcp`.
    pub local: String,
    /// The process.
    pub owner: Owner,
    /// The socket inode it was seen holding.
    pub inode: u64,
}

/// A container to stop: it publishes (or, on the host's network, holds) the ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerTarget {
    /// Ports and sockets (`0.0.0.0:8080/tcp`) it serves.
    pub ports: Vec<(u16, String)>,
    /// The container.
    pub container: ContainerLink,
    /// The engine endpoint to ask (`unix:///var/run/docker.sock`).
    pub endpoint: String,
}

/// What `kill` would do for a set of ports.
#[derive(Debug, Default, Clone)]
pub struct Plan {
    /// Processes to signal: one entry per (port, pid).
    pub targets: Vec<ProcessTarget>,
    /// Containers to stop, once each.
    pub containers: Vec<ContainerTarget>,
    /// Holders we will not signal, and why.
    pub refused: Vec<(u16, String, Owner, Refusal)>,
    /// Ports nothing listens on.
    pub free: Vec<u16>,
    /// Ports whose holder we cannot see.
    pub hidden: Vec<u16>,
}

/// This process and its ancestors, from `/proc/PID/stat`.
pub fn protected_pids() -> HashSet<u32> {
    let mut set = HashSet::new();
    let mut pid = std::process::id();
    while pid > 1 && set.insert(pid) {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            break;
        };
        // the command name may contain spaces and parentheses: parse after the last ')'
        let Some(ppid) = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
        else {
            break;
        };
        pid = ppid;
    }
    set
}

/// Decides, for each port, what to stop: containers through their engine (from the merged
/// view's links; `scan` names the engine endpoint), processes by signal.
pub fn plan(
    listeners: &[Listener],
    ports: &[u16],
    protected: &HashSet<u32>,
    scan: &ContainerScan,
) -> Plan {
    let me = std::process::id();
    let mut p = Plan::default();
    for &port in ports {
        let held: Vec<&Listener> = listeners.iter().filter(|l| l.port == port).collect();
        if held.is_empty() {
            p.free.push(port);
            continue;
        }
        let mut seen = HashSet::new();
        for l in held {
            let local = format!("{}/{}", l.local(), l.transport.as_str());
            if let Some(c) = &l.container
                && let Some(endpoint) = scan.container(&c.id).map(|x| x.endpoint.clone())
            {
                match p.containers.iter_mut().find(|t| t.container.id == c.id) {
                    Some(t) => {
                        if !t.ports.contains(&(port, local.clone())) {
                            t.ports.push((port, local));
                        }
                    }
                    None => p.containers.push(ContainerTarget {
                        ports: vec![(port, local)],
                        container: c.clone(),
                        endpoint,
                    }),
                }
                continue;
            }
            if l.owners.is_empty() {
                if !p.hidden.contains(&port) {
                    p.hidden.push(port);
                }
                continue;
            }
            for o in &l.owners {
                if !seen.insert(o.pid) {
                    continue;
                }
                let refusal = if o.pid == 1 {
                    Some(Refusal::Init)
                } else if o.pid == me {
                    Some(Refusal::Itself)
                } else if protected.contains(&o.pid) {
                    Some(Refusal::Ancestor)
                } else if FORWARDERS.contains(&o.name.as_str()) {
                    Some(Refusal::Container(None))
                } else {
                    o.container.clone().map(|c| Refusal::Container(Some(c)))
                };
                match refusal {
                    Some(r) => p.refused.push((port, local.clone(), o.clone(), r)),
                    None => p.targets.push(ProcessTarget {
                        port,
                        local: local.clone(),
                        owner: o.clone(),
                        inode: l.inode,
                    }),
                }
            }
        }
    }
    p
}

/// Parses `TERM`, `SIGTERM`, `15`, `KILL`, `HUP`, `INT`, `QUIT`, `USR1`, `USR2`.
pub fn parse_signal(s: &str) -> Option<Signal> {
    let name = s.trim().to_ascii_uppercase();
    let name = name.strip_prefix("SIG").unwrap_or(&name);
    Some(match name {
        "TERM" | "15" => Signal::TERM,
        "KILL" | "9" => Signal::KILL,
        "HUP" | "1" => Signal::HUP,
        "INT" | "2" => Signal::INT,
        "QUIT" | "3" => Signal::QUIT,
        "USR1" | "10" => Signal::USR1,
        "USR2" | "12" => Signal::USR2,
        _ => return None,
    })
}

/// The name of a signal `parse_signal` accepts (`TERM`).
pub fn signal_name(s: Signal) -> &'static str {
    match s {
        Signal::KILL => "KILL",
        Signal::HUP => "HUP",
        Signal::INT => "INT",
        Signal::QUIT => "QUIT",
        Signal::USR1 => "USR1",
        Signal::USR2 => "USR2",
        _ => "TERM",
    }
}

/// Whether process `pid` holds socket `inode` (one of its fds is `socket:[inode]`).
pub fn holds(pid: u32, inode: u64) -> bool {
    let want = format!("socket:[{inode}]");
    std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
        fds.filter_map(Result::ok)
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t.as_os_str() == want.as_str()))
    })
}

/// Why a process could not be pinned.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    /// It exited, or no longer holds the socket it was seen with.
    #[error("pid {0} no longer holds the socket it was seen with")]
    Gone(u32),
    /// The pidfd could not be opened.
    #[error("pid {0}: {1}")]
    Open(u32, std::io::Error),
}

/// A process pinned by a pidfd while it held a socket.
#[derive(Debug)]
pub struct Pinned {
    /// Process id.
    pub pid: u32,
    /// The socket inode it held.
    pub inode: u64,
    fd: OwnedFd,
}

fn pid_of(pid: u32) -> std::io::Result<Pid> {
    i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::InvalidInput))
}

impl Pinned {
    /// Opens a pidfd for `pid`, then checks the process holds `inode` — in that order, so
    /// the pidfd names the process that held it.
    pub fn pin(pid: u32, inode: u64) -> Result<Pinned, PinError> {
        let fd = rustix::process::pidfd_open(
            pid_of(pid).map_err(|e| PinError::Open(pid, e))?,
            PidfdFlags::empty(),
        )
        .map_err(|e| {
            if e == rustix::io::Errno::SRCH {
                PinError::Gone(pid)
            } else {
                PinError::Open(pid, e.into())
            }
        })?;
        if inode != 0 && !holds(pid, inode) {
            return Err(PinError::Gone(pid));
        }
        Ok(Pinned { pid, inode, fd })
    }

    /// Whether the pinned process still runs and holds its socket.
    pub fn still_holds(&self) -> bool {
        !self.exited() && (self.inode == 0 || holds(self.pid, self.inode))
    }

    /// Sends `sig` to the pinned process (never to another that reused its pid).
    pub fn signal(&self, sig: Signal) -> std::io::Result<()> {
        rustix::process::pidfd_send_signal(&self.fd, sig).map_err(std::io::Error::from)
    }

    /// Whether the process exited (a zombie counts: it holds no socket any more).
    pub fn exited(&self) -> bool {
        self.wait(Duration::ZERO).is_some()
    }

    /// Waits until the process exits or `timeout` passes; returns how long it took.
    pub fn wait(&self, timeout: Duration) -> Option<Duration> {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        let start = Instant::now();
        loop {
            let left = timeout.saturating_sub(start.elapsed());
            let ts = Timespec::try_from(left).unwrap_or_default();
            let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
            match poll(&mut fds, Some(&ts)) {
                Ok(n) if n > 0 => return Some(start.elapsed()),
                Ok(_) => return None,
                Err(rustix::io::Errno::INTR) => {}
                Err(_) => return (!alive(self.pid)).then(|| start.elapsed()),
            }
        }
    }
}

/// Whether `pid` still runs (a zombie counts as gone: it holds no socket any more).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::{Container, Engine};
    use crate::listener::{Inside, Published, Transport};

    fn l(port: u16, pid: u32, name: &str, container: Option<&str>) -> Listener {
        Listener {
            transport: Transport::Tcp,
            addr: "0.0.0.0".parse().unwrap(),
            port,
            inode: u64::from(port),
            uid: 0,
            owners: vec![Owner {
                pid,
                name: name.into(),
                cmdline: name.into(),
                user: "root".into(),
                container: container.map(str::to_string),
            }],
            container: None,
        }
    }

    #[test]
    fn refuses_init_self_ancestors_and_containers_without_an_engine() {
        let me = std::process::id();
        let live = [
            l(1, 1, "systemd", None),
            l(2, me, "portolan", None),
            l(3, 77, "bash", None),
            l(4, 88, "docker-proxy", None),
            l(5, 99, "python3", Some("docker:abc")),
            l(6, 100, "python3", None),
            l(8, 101, "dockerd", None),
        ];
        let protected: HashSet<u32> = [77].into();
        let p = plan(
            &live,
            &[1, 2, 3, 4, 5, 6, 7, 8],
            &protected,
            &ContainerScan::default(),
        );
        let refusals: Vec<_> = p.refused.iter().map(|r| (r.0, r.3.clone())).collect();
        assert_eq!(
            refusals,
            [
                (1, Refusal::Init),
                (2, Refusal::Itself),
                (3, Refusal::Ancestor),
                (4, Refusal::Container(None)),
                (5, Refusal::Container(Some("docker:abc".into()))),
                (8, Refusal::Container(None)),
            ]
        );
        assert_eq!(
            p.targets.iter().map(|t| t.owner.pid).collect::<Vec<_>>(),
            [100]
        );
        assert_eq!(p.targets[0].inode, 6);
        assert_eq!(p.free, [7]);
    }

    #[test]
    fn a_published_port_stops_its_container_once() {
        let id = "c".repeat(64);
        let link = ContainerLink {
            engine: Engine::Docker,
            id: id.clone(),
            name: "web".into(),
            image: "img".into(),
            project: None,
            service: None,
            published: Some(Published {
                target: 80,
                inside: Inside::Listening,
                inside_local: Vec::new(),
            }),
        };
        let mut v4 = l(8080, 50, "docker-proxy", None);
        v4.container = Some(link.clone());
        let mut v6 = l(8080, 51, "docker-proxy", None);
        v6.addr = "::".parse().unwrap();
        v6.container = Some(link);
        let scan = ContainerScan {
            containers: vec![Container {
                engine: Engine::Docker,
                endpoint: "unix:///d.sock".into(),
                id,
                name: "web".into(),
                image: "img".into(),
                compose: None,
                network_mode: None,
                networks: Vec::new(),
                publications: Vec::new(),
                exposed: Vec::new(),
                pid: None,
                netns: None,
            }],
            ..ContainerScan::default()
        };
        let p = plan(&[v4, v6], &[8080], &HashSet::new(), &scan);
        assert!(p.targets.is_empty() && p.refused.is_empty());
        assert_eq!(p.containers.len(), 1);
        assert_eq!(p.containers[0].ports.len(), 2);
        assert_eq!(p.containers[0].endpoint, "unix:///d.sock");
    }

    #[test]
    fn our_ancestry_is_protected() {
        let set = protected_pids();
        assert!(set.contains(&std::process::id()));
        assert!(set.len() >= 2, "{set:?}");
    }

    #[test]
    fn signals_parse() {
        assert_eq!(parse_signal("term"), Some(Signal::TERM));
        assert_eq!(parse_signal("SIGKILL"), Some(Signal::KILL));
        assert_eq!(parse_signal("9"), Some(Signal::KILL));
        assert_eq!(parse_signal("SIGFOO"), None);
        assert_eq!(signal_name(Signal::USR1), "USR1");
    }
}
