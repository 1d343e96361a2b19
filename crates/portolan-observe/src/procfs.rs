//! The procfs implementation: sockets from `/proc/net/{tcp,tcp6,udp,udp6}` and owners from
//! one pass over `/proc/*/fd` (socket inode → pids), with process name, command line, user
//! and container (from `/proc/PID/cgroup`). Processes that exit mid-scan and those we may not
//! inspect are skipped and counted, never fatal.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use crate::ObserveError;
use crate::listener::{Listener, Owner, Transport};

/// TCP state LISTEN in `/proc/net/tcp`.
const TCP_LISTEN: u8 = 0x0A;
/// UDP sockets show `TCP_CLOSE` (7) when bound and unconnected.
const UDP_UNCONNECTED: u8 = 0x07;

fn parse_addr(hex: &str, v6: bool) -> Option<(IpAddr, u16)> {
    let (ip, port) = hex.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let addr = if v6 {
        if ip.len() != 32 {
            return None;
        }
        let mut bytes = [0u8; 16];
        for (i, chunk) in bytes.chunks_mut(4).enumerate() {
            // each 32-bit word is printed in host byte order
            let word = u32::from_str_radix(ip.get(i * 8..i * 8 + 8)?, 16).ok()?;
            chunk.copy_from_slice(&word.to_ne_bytes());
        }
        IpAddr::V6(Ipv6Addr::from(bytes))
    } else {
        let word = u32::from_str_radix(ip, 16).ok()?;
        IpAddr::V4(Ipv4Addr::from(word.to_ne_bytes()))
    };
    Some((addr, port))
}

/// Parses one `/proc/net/{tcp,udp}[6]` table, keeping listening/bound sockets.
pub fn parse_net(
    path: &str,
    text: &str,
    transport: Transport,
    v6: bool,
) -> Result<Vec<Listener>, ObserveError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 {
            continue;
        }
        let err = |message: &str| ObserveError::Parse {
            path: path.to_string(),
            line: i + 1,
            message: message.to_string(),
        };
        let state = u8::from_str_radix(f[3], 16).map_err(|_| err("bad state"))?;
        let wanted = match transport {
            Transport::Tcp => state == TCP_LISTEN,
            Transport::Udp => state == UDP_UNCONNECTED,
        };
        if !wanted {
            continue;
        }
        let (addr, port) = parse_addr(f[1], v6).ok_or_else(|| err("bad local address"))?;
        if transport == Transport::Udp && parse_addr(f[2], v6).is_some_and(|(_, p)| p != 0) {
            continue; // a connected UDP socket is a client, not a listener
        }
        let uid = f[7].parse().map_err(|_| err("bad uid"))?;
        let inode = f[9].parse().map_err(|_| err("bad inode"))?;
        out.push(Listener {
            transport,
            addr,
            port,
            inode,
            uid,
            owners: Vec::new(),
            container: None,
        });
    }
    Ok(out)
}

/// Reads a `/proc/net` table in large reads: every `read` walks the kernel's socket hash
/// tables (machine-wide, so milliseconds each), and small reads would repeat that walk.
fn read_table(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut f = std::fs::File::open(path)?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(out).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Every listening socket of this network namespace, read from `root` (normally `/proc`).
pub fn sockets(root: &Path) -> Result<Vec<Listener>, ObserveError> {
    let mut out = Vec::new();
    for (file, transport, v6) in [
        ("tcp", Transport::Tcp, false),
        ("tcp6", Transport::Tcp, true),
        ("udp", Transport::Udp, false),
        ("udp6", Transport::Udp, true),
    ] {
        let path = root.join("net").join(file);
        let text = match read_table(&path) {
            Ok(t) => t,
            // a kernel without IPv6 has no tcp6/udp6
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && v6 => continue,
            Err(source) => {
                return Err(ObserveError::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        out.extend(parse_net(
            &path.display().to_string(),
            &text,
            transport,
            v6,
        )?);
    }
    Ok(out)
}

/// What the owner scan could not see.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScanGaps {
    /// Processes whose fds we may not read (another user's, without privileges).
    pub denied: usize,
    /// Processes that exited during the scan.
    pub vanished: usize,
}

/// Which processes hold which sockets: socket inode → pids, and what could not be seen.
#[derive(Debug, Default, Clone)]
pub struct SocketIndex {
    /// Holders of each socket inode.
    pub pids: HashMap<u64, Vec<u32>>,
    /// Processes whose fds could not be read.
    pub gaps: ScanGaps,
}

/// One pass over `root/*/fd`, keeping the sockets `keep` accepts.
pub fn socket_index(root: &Path, keep: &dyn Fn(u64) -> bool) -> SocketIndex {
    let mut found: HashMap<u64, Vec<u32>> = HashMap::new();
    let mut gaps = ScanGaps::default();
    let Ok(entries) = std::fs::read_dir(root) else {
        return SocketIndex::default();
    };
    for e in entries.filter_map(Result::ok) {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let mut fds = match fd_dir(&e.path().join("fd")) {
            Ok(d) => d,
            Err(err) if err == rustix::io::Errno::ACCESS => {
                gaps.denied += 1;
                continue;
            }
            Err(_) => {
                gaps.vanished += 1;
                continue;
            }
        };
        // `readlinkat` relative to the open `fd` directory: the kernel resolves one name per
        // descriptor instead of walking `/proc/PID/fd/N` from the root each time (the bulk of
        // `ls -p`'s cost on a process with thousands of sockets), into a reused buffer.
        let mut link = [0u8; 64];
        while let Some(Ok(entry)) = fds.read() {
            let name = entry.file_name();
            if name.to_bytes().first() == Some(&b'.') {
                continue;
            }
            let Ok(dir) = fds.fd() else { break };
            let Ok(len) = rustix::fs::readlinkat_raw(dir, name, &mut link[..]) else {
                continue;
            };
            let Some(inode) = link.get(..len).and_then(socket_inode) else {
                continue;
            };
            if keep(inode) {
                let pids = found.entry(inode).or_default();
                if !pids.contains(&pid) {
                    pids.push(pid);
                }
            }
        }
    }
    SocketIndex { pids: found, gaps }
}

/// Opens `/proc/PID/fd` for reading its entries.
fn fd_dir(path: &Path) -> rustix::io::Result<rustix::fs::Dir> {
    use rustix::fs::{CWD, Mode, OFlags};
    let fd = rustix::fs::openat(
        CWD,
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    rustix::fs::Dir::new(fd)
}

/// The inode of a descriptor's link target `socket:[INODE]` (`None` for anything else,
/// including a target cut short by the read buffer).
fn socket_inode(target: &[u8]) -> Option<u64> {
    std::str::from_utf8(target.strip_prefix(b"socket:[")?.strip_suffix(b"]")?)
        .ok()?
        .parse()
        .ok()
}

/// The owners of the `wanted` sockets of an index (name, command line, user, container).
pub fn describe<S: std::hash::BuildHasher>(
    root: &Path,
    index: &SocketIndex,
    wanted: &HashSet<u64, S>,
) -> HashMap<u64, Vec<Owner>> {
    let users = passwd();
    let mut cache: HashMap<u32, Option<Owner>> = HashMap::new();
    let mut out = HashMap::new();
    for (inode, pids) in index.pids.iter().filter(|(i, _)| wanted.contains(i)) {
        let mut owners: Vec<Owner> = pids
            .iter()
            .filter_map(|pid| {
                cache
                    .entry(*pid)
                    .or_insert_with(|| process(root, *pid, &users))
                    .clone()
            })
            .collect();
        owners.sort();
        out.insert(*inode, owners);
    }
    out
}

/// Maps the wanted socket inodes to their owners with one pass over `root/*/fd`.
pub fn owners<S: std::hash::BuildHasher>(
    root: &Path,
    wanted: &HashSet<u64, S>,
) -> (HashMap<u64, Vec<Owner>>, ScanGaps) {
    let index = socket_index(root, &|i| wanted.contains(&i));
    (describe(root, &index, wanted), index.gaps)
}

/// uid → user name from `/etc/passwd`.
fn passwd() -> HashMap<u32, String> {
    std::fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((f.get(2)?.parse().ok()?, (*f.first()?).to_string()))
        })
        .collect()
}

fn process(root: &Path, pid: u32, users: &HashMap<u32, String>) -> Option<Owner> {
    let dir = root.join(pid.to_string());
    let name = printable(std::fs::read_to_string(dir.join("comm")).ok()?.trim_end());
    let cmdline = std::fs::read(dir.join("cmdline")).map(|b| {
        b.split(|c| *c == 0)
            .filter(|a| !a.is_empty())
            .map(|a| printable(&String::from_utf8_lossy(a)))
            .collect::<Vec<_>>()
            .join(" ")
    });
    let uid: Option<u32> = std::fs::read_to_string(dir.join("status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("Uid:")
                    .and_then(|r| r.split_whitespace().next()?.parse().ok())
            })
        });
    let user = uid.map_or_else(
        || "?".to_string(),
        |u| users.get(&u).cloned().unwrap_or_else(|| u.to_string()),
    );
    let container = std::fs::read_to_string(dir.join("cgroup"))
        .ok()
        .and_then(|c| container_of(&c));
    Some(Owner {
        pid,
        name,
        cmdline: cmdline.unwrap_or_default(),
        user,
        container,
    })
}

/// A process name or argument as it may be printed: control characters (newlines, escape
/// sequences a hostile program could put in its own command line to forge terminal output)
/// become spaces.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The container a cgroup file places a process in: `docker:<id12>`, `podman:<id12>`,
/// `k8s:<id12>`, or `None` on the host.
pub fn container_of(cgroup: &str) -> Option<String> {
    for line in cgroup.lines() {
        let path = line.rsplit(':').next().unwrap_or("");
        for seg in path.split('/').rev() {
            let seg = seg.trim_end_matches(".scope");
            let (kind, id) = if let Some(id) = seg.strip_prefix("docker-") {
                ("docker", id)
            } else if let Some(id) = seg.strip_prefix("libpod-") {
                ("podman", id)
            } else if let Some(id) = seg
                .strip_prefix("cri-containerd-")
                .or_else(|| seg.strip_prefix("crio-"))
            {
                ("k8s", id)
            } else if path.contains("/docker/")
                && seg.len() == 64
                && seg.bytes().all(|b| b.is_ascii_hexdigit())
            {
                ("docker", seg)
            } else if path.contains("kubepods")
                && seg.len() == 64
                && seg.bytes().all(|b| b.is_ascii_hexdigit())
            {
                ("k8s", seg)
            } else {
                continue;
            };
            if id.len() >= 12 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Some(format!("{kind}:{}", &id[..12]));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v4_and_v6_addresses() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0\n   1: 0100007F:1F91 0100007F:8000 01 00000000:00000000 00:00000000 00000000  1000        0 4243 1 0 100 0 0 10 0\n";
        let l = parse_net("tcp", v4, Transport::Tcp, false).unwrap();
        assert_eq!(l.len(), 1, "established sockets are not listeners");
        assert_eq!(l[0].local(), "127.0.0.1:8080");
        assert_eq!((l[0].uid, l[0].inode), (1000, 4242));
        let v6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1 0 100 0 0 10 0\n";
        let l = parse_net("tcp6", v6, Transport::Tcp, true).unwrap();
        assert_eq!(l[0].local(), "[::1]:443");
    }

    #[test]
    fn malformed_lines_are_located() {
        let bad = "header\n   0: XYZ:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242\n";
        let e = parse_net("/proc/net/tcp", bad, Transport::Tcp, false).unwrap_err();
        assert_eq!(e.to_string(), "/proc/net/tcp:2: bad local address");
    }

    #[test]
    fn command_lines_cannot_forge_terminal_output() {
        assert_eq!(printable("x\n\u{1b}[2Jy\tz"), "x  [2Jy z");
        let mut child = std::process::Command::new("python3")
            .args(["-c", "import time; time.sleep(30)", "30\n\u{1b}[31mfake"])
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let o = process(Path::new("/proc"), child.id(), &HashMap::new());
        let _ = child.kill();
        let _ = child.wait();
        let o = o.expect("owner");
        assert!(!o.cmdline.chars().any(char::is_control), "{:?}", o.cmdline);
        assert!(o.cmdline.contains("30  [31mfake"), "{:?}", o.cmdline);
    }

    #[test]
    fn socket_link_targets() {
        assert_eq!(socket_inode(b"socket:[4026531993]"), Some(4_026_531_993));
        assert_eq!(socket_inode(b"anon_inode:[eventfd]"), None);
        assert_eq!(socket_inode(b"/dev/null"), None);
        // a target cut short by the read buffer is not a socket
        assert_eq!(socket_inode(b"socket:[40265"), None);
        assert_eq!(socket_inode(b"socket:[]"), None);
    }

    /// The real `/proc`: this test's own listening socket is found, held by this process.
    #[test]
    fn the_index_finds_this_process_socket() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let inode = rustix::fs::fstat(&listener).expect("fstat").st_ino;
        let index = socket_index(Path::new("/proc"), &|i| i == inode);
        assert_eq!(index.pids.get(&inode), Some(&vec![std::process::id()]));
        assert_eq!(
            index.pids.len(),
            1,
            "only the kept socket: {:?}",
            index.pids
        );
    }

    #[test]
    fn containers_from_cgroups() {
        let id = "4b1e7c0ad2f94f6e8c9d0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f";
        assert_eq!(
            container_of(&format!("0::/system.slice/docker-{id}.scope\n")),
            Some("docker:4b1e7c0ad2f9".into())
        );
        assert_eq!(
            container_of(&format!("12:memory:/docker/{id}\n")),
            Some("docker:4b1e7c0ad2f9".into())
        );
        assert_eq!(
            container_of(&format!("0::/machine.slice/libpod-{id}.scope\n")),
            Some("podman:4b1e7c0ad2f9".into())
        );
        assert_eq!(
            container_of(&format!(
                "0::/kubepods.slice/kubepods-burstable.slice/cri-containerd-{id}.scope\n"
            )),
            Some("k8s:4b1e7c0ad2f9".into())
        );
        assert_eq!(
            container_of("0::/user.slice/user-1000.slice/session-2.scope\n"),
            None
        );
    }
}
