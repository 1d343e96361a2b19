//! What listens inside containers: for each running container a process in it (from the
//! engine's list where it says — Podman — else the container id in `/proc/PID/cgroup`, else
//! one inspect call), its network namespace (`/proc/PID/ns/net`), and that namespace's
//! listening sockets.
//! Namespaces are read once however many containers share them (pods,
//! `network_mode: container:…`); containers on the host's network (`network_mode: host`)
//! have no sockets of their own: theirs are the host's listeners.
//!
//! As root the namespaces are read with netlink `sock_diag` from a worker thread that enters
//! each (`setns` through rustix, no unsafe code): `/proc/PID/net/*` walks the machine-wide
//! socket hash tables on every read and costs milliseconds per file, which 50 containers
//! turn into a second. Without the privilege to enter (a rootless engine's user), procfs.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use super::{ContainerScan, Namespace};
use crate::listener::Listener;

/// Most inspect calls made for containers whose process procfs did not reveal.
const MAX_INSPECTS: usize = 64;

/// `net:[4026531840]` → 4026531840.
fn ns_inode(root: &Path, pid: &str) -> Option<u64> {
    let link = std::fs::read_link(root.join(pid).join("ns").join("net")).ok()?;
    link.to_str()?
        .strip_prefix("net:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// Full container ids named by a cgroup file (`/docker/<id>`, `docker-<id>.scope`,
/// `libpod-<id>.scope`; never conmon's `libpod-conmon-<id>.scope`).
pub fn ids_in_cgroup(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter_map(|l| l.splitn(3, ':').nth(2))
        .flat_map(|path| path.split('/'))
        .filter(|seg| !seg.starts_with("libpod-conmon-"))
        .map(|seg| {
            let seg = seg.strip_suffix(".scope").unwrap_or(seg);
            seg.strip_prefix("docker-")
                .or_else(|| seg.strip_prefix("libpod-"))
                .unwrap_or(seg)
        })
        .filter(|id| id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A process of every container on this machine, by full container id (from
/// `/proc/PID/cgroup`). Run while the engine is asked, so it does not wait for the list.
pub fn pids_by_cgroup(root: &Path) -> HashMap<String, u32> {
    let mut found = HashMap::new();
    let Ok(entries) = std::fs::read_dir(root) else {
        return found;
    };
    for e in entries.filter_map(Result::ok) {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(e.path().join("cgroup")) else {
            continue;
        };
        for id in ids_in_cgroup(&text) {
            found.entry(id.to_string()).or_insert(pid);
        }
    }
    found
}

/// Fills each container's `pid` and `netns`, and the scan's namespaces and unseen list.
/// `by_cgroup` is [`pids_by_cgroup`]'s answer.
pub fn read_namespaces(
    root: &Path,
    scan: &mut ContainerScan,
    by_cgroup: &HashMap<String, u32>,
    timeout: Duration,
) {
    let host = ns_inode(root, "self");
    let mut inspects = 0;
    for c in &mut scan.containers {
        if c.pid.is_none() {
            c.pid = by_cgroup.get(&c.id).copied();
        }
        if c.pid.is_none() && inspects < MAX_INSPECTS {
            // rootless engines without cgroup delegation: ask the engine
            inspects += 1;
            if let Ok(e) = super::endpoint::parse_host(&c.endpoint, false, "endpoint") {
                c.pid = super::api::pid_of(&e, &c.id, timeout);
            }
        }
    }
    // one process per namespace: the first container seen in it
    let mut namespaces: Vec<Namespace> = Vec::new();
    let mut readers: Vec<(usize, u32, bool)> = Vec::new(); // (namespace, pid, real inode)
    let mut unseen = Vec::new();
    for c in &mut scan.containers {
        let Some(pid) = c.pid else {
            unseen.push(c.id.clone());
            continue;
        };
        let inode = ns_inode(root, &pid.to_string());
        if inode.is_some() && inode == host {
            continue; // host network: its sockets are host listeners
        }
        c.netns = inode;
        // where the link may not be read (another user's process), a key per container
        let key = inode.unwrap_or_else(|| {
            u64::from_str_radix(c.id.get(..15).unwrap_or("0"), 16).unwrap_or(0) | (1 << 63)
        });
        if let Some(n) = namespaces.iter_mut().find(|n| n.key == key) {
            n.containers.push(c.id.clone());
            continue;
        }
        readers.push((namespaces.len(), pid, inode.is_some()));
        namespaces.push(Namespace {
            key,
            containers: vec![c.id.clone()],
            listeners: Vec::new(),
        });
    }
    // netlink inside each namespace where we may enter it (root), procfs otherwise
    let files: Vec<(usize, std::fs::File)> = readers
        .iter()
        .filter(|(_, _, real)| *real)
        .filter_map(|(i, pid, _)| {
            std::fs::File::open(root.join(pid.to_string()).join("ns").join("net"))
                .ok()
                .map(|f| (*i, f))
        })
        .collect();
    let handles: Vec<std::fs::File> = files
        .iter()
        .map(|(_, f)| f.try_clone())
        .filter_map(Result::ok)
        .collect();
    let by_netlink: Vec<(usize, Result<Vec<Listener>, crate::ObserveError>)> =
        if handles.len() == files.len() && root == Path::new("/proc") {
            files
                .iter()
                .map(|(i, _)| *i)
                .zip(crate::netlink::sockets_in(&handles))
                .collect()
        } else {
            Vec::new()
        };
    let mut failed: Vec<usize> = Vec::new();
    for (i, pid, _) in &readers {
        let listeners = match by_netlink.iter().find(|(j, _)| j == i) {
            Some((_, Ok(l))) => Ok(l.clone()),
            _ => crate::procfs::sockets(&root.join(pid.to_string())),
        };
        match listeners {
            Ok(mut l) => {
                l.sort_by_key(|l| (l.transport, l.port, l.addr, l.inode));
                l.dedup();
                namespaces[*i].listeners = l;
            }
            Err(_) => failed.push(*i),
        }
    }
    // an unreadable link: the same sockets mean the same namespace
    let mut merged: Vec<Namespace> = Vec::new();
    for (i, n) in namespaces.into_iter().enumerate() {
        if failed.contains(&i) {
            unseen.extend(n.containers);
            continue;
        }
        let set = inodes(&n.listeners);
        match merged
            .iter_mut()
            .find(|m| (n.key >> 63) == 1 && !set.is_empty() && inodes(&m.listeners) == set)
        {
            Some(m) => m.containers.extend(n.containers),
            None => merged.push(n),
        }
    }
    let namespaces = merged;
    scan.namespaces = namespaces;
    scan.unseen = unseen;
}

fn inodes(l: &[Listener]) -> Vec<u64> {
    let mut v: Vec<u64> = l.iter().map(|l| l.inode).collect();
    v.sort_unstable();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_ids_from_cgroup_files() {
        let id = "eaf3d724c12409fc1c3115344c9ca1cb833135502075aaaa68a159f5d9751c0a";
        for text in [
            format!("9:name=systemd:/docker/{id}\n8:pids:/docker/{id}\n"),
            format!("0::/system.slice/docker-{id}.scope\n"),
            format!("0::/machine.slice/libpod-{id}.scope/container\n"),
            format!(
                "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{id}.scope\n"
            ),
        ] {
            assert_eq!(ids_in_cgroup(&text).next(), Some(id), "{text}");
        }
        // conmon lives beside the container, in the host's network namespace
        assert_eq!(
            ids_in_cgroup(&format!("0::/machine.slice/libpod-conmon-{id}.scope\n")).next(),
            None
        );
        assert_eq!(
            ids_in_cgroup("0::/user.slice/session-2.scope\n").next(),
            None
        );
    }

    #[test]
    fn a_namespace_of_this_process_is_the_hosts() {
        assert!(ns_inode(Path::new("/proc"), "self").is_some());
        assert_eq!(
            ns_inode(Path::new("/proc"), "self"),
            ns_inode(Path::new("/proc"), &std::process::id().to_string())
        );
    }
}
