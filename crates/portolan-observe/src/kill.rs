//! Stopping the process that holds a port, safely: never pid 1, never ourselves or an
//! ancestor (the shell that runs us), never a container's proxy or a containerised process
//! (stop the container instead); SIGTERM first, wait, SIGKILL only when asked.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rustix::process::Pid;
pub use rustix::process::Signal;

use crate::listener::{Listener, Owner};

/// Why a holder is not signalled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// pid 1 (init).
    Init,
    /// portolan itself.
    Itself,
    /// One of our ancestors (the shell, the test runner, …).
    Ancestor,
    /// A container's port proxy or a process inside a container: the container must be
    /// stopped instead. Holds the container id when known.
    Container(Option<String>),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Init => f.write_str("it is pid 1 (init)"),
            Refusal::Itself => f.write_str("it is portolan itself"),
            Refusal::Ancestor => f.write_str("it is an ancestor of this process (killing it would kill us)"),
            Refusal::Container(Some(c)) => write!(f, "it belongs to container {c}: stop the container instead"),
            Refusal::Container(None) => f.write_str("it is docker-proxy, which publishes a container's port: stop the container instead"),
        }
    }
}

/// What `kill` would do for a set of ports.
#[derive(Debug, Default, Clone)]
pub struct Plan {
    /// Processes to signal: (port, listener address, owner). One entry per (port, pid).
    pub targets: Vec<(u16, String, Owner)>,
    /// Holders we will not signal, and why.
    pub refused: Vec<(u16, String, Owner, Refusal)>,
    /// Ports nothing listens on.
    pub free: Vec<u16>,
    /// Ports whose holder we cannot see (another user's process, without root).
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

/// Decides, for each port, which holders to signal.
pub fn plan(listeners: &[Listener], ports: &[u16], protected: &HashSet<u32>) -> Plan {
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
                let local = format!("{}/{}", l.local(), l.transport.as_str());
                let refusal = if o.pid == 1 {
                    Some(Refusal::Init)
                } else if o.pid == me {
                    Some(Refusal::Itself)
                } else if protected.contains(&o.pid) {
                    Some(Refusal::Ancestor)
                } else if o.name == "docker-proxy" || o.name == "rootlessport" || o.name == "conmon"
                {
                    Some(Refusal::Container(None))
                } else {
                    o.container.clone().map(|c| Refusal::Container(Some(c)))
                };
                match refusal {
                    Some(r) => p.refused.push((port, local, o.clone(), r)),
                    None => p.targets.push((port, local, o.clone())),
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

/// Sends `sig` to `pid`.
pub fn send(pid: u32, sig: Signal) -> std::io::Result<()> {
    let raw =
        i32::try_from(pid).map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    let pid =
        Pid::from_raw(raw).ok_or_else(|| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    rustix::process::kill_process(pid, sig).map_err(std::io::Error::from)
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

/// Waits until `pid` is gone or `timeout` passes; returns how long it took if it exited.
pub fn wait_gone(pid: u32, timeout: Duration) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if !alive(pid) {
            return Some(start.elapsed());
        }
        if start.elapsed() >= timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listener::Transport;

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
        }
    }

    #[test]
    fn refuses_init_self_ancestors_and_containers() {
        let me = std::process::id();
        let live = [
            l(1, 1, "systemd", None),
            l(2, me, "portolan", None),
            l(3, 77, "bash", None),
            l(4, 88, "docker-proxy", None),
            l(5, 99, "python3", Some("docker:abc")),
            l(6, 100, "python3", None),
        ];
        let protected: HashSet<u32> = [77].into();
        let p = plan(&live, &[1, 2, 3, 4, 5, 6, 7], &protected);
        let refusals: Vec<_> = p.refused.iter().map(|r| (r.0, r.3.clone())).collect();
        assert_eq!(
            refusals,
            [
                (1, Refusal::Init),
                (2, Refusal::Itself),
                (3, Refusal::Ancestor),
                (4, Refusal::Container(None)),
                (5, Refusal::Container(Some("docker:abc".into())))
            ]
        );
        assert_eq!(p.targets.iter().map(|t| t.2.pid).collect::<Vec<_>>(), [100]);
        assert_eq!(p.free, [7]);
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
    }
}
