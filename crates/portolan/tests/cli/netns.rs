//! Two network namespaces joined by a veth pair — a "server" and a "client" machine — for
//! tests that need real packets between hosts (probe, the end-to-end reach test).
//!
//! Each side gets the addresses it is given (CIDR notation, IPv4 or IPv6) and a default
//! route out of its veth (per family), so any address of one side is reachable from the
//! other whatever subnet it is in (ARP and neighbour discovery answer for every local
//! address; IPv6 addresses skip duplicate address detection, `nodad`, so they work at once). Names are unique per process and per pair, so
//! tests run in parallel; the namespaces (and with them the veth pair, the firewall rules
//! and any process still inside) are deleted on drop. Tests touch nothing else. Needs root
//! and iproute2 (`ip netns`); without them the test fails with that hint.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A server and a client namespace joined by a veth pair (deleted on drop).
pub struct Pair {
    /// Server namespace name (its veth is `v` + this name).
    pub server: String,
    /// Client namespace name.
    pub client: String,
    /// A container namespace behind the server, once [`Pair::container`] made it.
    pub container: Option<String>,
}

/// Runs a shell command, failing the test with a hint when it fails.
#[track_caller]
pub fn sh(cmd: &str) {
    let out = Command::new("sh")
        .args(["-c", cmd])
        .output()
        .unwrap_or_else(|e| panic!("`{cmd}`: {e}"));
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}\nthis test needs root and iproute2 (`ip netns`): apt-get install -y iproute2",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pair {
    /// Creates the pair; `server` and `client` are addresses with prefix (`10.0.0.1/24`,
    /// `fd00::1/128`).
    pub fn new(server: &[&str], client: &[&str]) -> Pair {
        let k = NEXT.fetch_add(1, Ordering::Relaxed);
        let id = std::process::id() % 100_000;
        let p = Pair {
            server: format!("pts{id}x{k}"),
            client: format!("ptc{id}x{k}"),
            container: None,
        };
        let (s, c) = (&p.server, &p.client);
        sh(&format!("ip netns add {s}"));
        sh(&format!("ip netns add {c}"));
        sh(&format!(
            "ip link add v{s} type veth peer name v{c} && ip link set v{s} netns {s} && ip link set v{c} netns {c}"
        ));
        for (ns, addrs) in [(s, server), (c, client)] {
            for a in addrs {
                // IPv6: no duplicate address detection, so the address is usable at once
                let nodad = if a.contains(':') { " nodad" } else { "" };
                sh(&format!("ip -n {ns} addr add {a} dev v{ns}{nodad}"));
            }
            sh(&format!(
                "ip -n {ns} link set v{ns} up && ip -n {ns} link set lo up && ip -n {ns} route add default dev v{ns}"
            ));
            if addrs.iter().any(|a| a.contains(':')) {
                sh(&format!("ip -n {ns} -6 route add default dev v{ns}"));
            }
        }
        p
    }

    /// A "container": a third namespace behind the server on `172.30.0.2/24` (the server
    /// routes to it from `172.30.0.1` and forwards), like a Docker bridge. Returns its address.
    pub fn container(&mut self) -> &'static str {
        let (s, k) = (&self.server, self.server.replacen("pts", "ptk", 1));
        sh(&format!("ip netns add {k}"));
        sh(&format!(
            "ip link add b{s} type veth peer name v{k} && ip link set b{s} netns {s} && ip link set v{k} netns {k}"
        ));
        sh(&format!(
            "ip -n {s} addr add 172.30.0.1/24 dev b{s} && ip -n {s} link set b{s} up && ip netns exec {s} sysctl -qw net.ipv4.ip_forward=1"
        ));
        sh(&format!(
            "ip -n {k} addr add 172.30.0.2/24 dev v{k} && ip -n {k} link set v{k} up && ip -n {k} link set lo up && ip -n {k} route add default via 172.30.0.1"
        ));
        self.container = Some(k);
        "172.30.0.2"
    }

    /// A command run inside namespace `ns`.
    pub fn exec(ns: &str, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, program]);
        c
    }

    /// Runs `args` inside `ns` in the background, stdout piped.
    pub fn spawn(ns: &str, args: &[&str]) -> std::process::Child {
        let (p, rest) = args.split_first().expect("a program");
        Pair::exec(ns, p)
            .args(rest)
            .stdout(Stdio::piped())
            .spawn()
            .expect("ip netns exec")
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for ns in [
            Some(&self.server),
            Some(&self.client),
            self.container.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}
