//! What changed between two [`Snapshot`]s (`portolan diff A B`): listeners opened and closed,
//! and for one that stayed, a change of bind address (with the change of exposure it
//! means), of program or of container.
//!
//! A listener is identified by transport, port and address family, not by address: a
//! service that moves from `127.0.0.1:8080` to `0.0.0.0:8080` has *changed* (its exposure
//! widened), it has not closed one socket and opened another. Several sockets on one key
//! (a program bound to two addresses of the same family) are compared as a set of addresses.
//! Process ids are not compared: a restart is not a change of state.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use serde::Serialize;

use crate::Transport;
use crate::snapshot::{Snapshot, Socket};

/// Who can reach an address, coarsely: the order is the order of width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exposure {
    /// Loopback only.
    Localhost,
    /// One address of the host (an interface, a private network).
    Address,
    /// Every address of the host (`0.0.0.0`, `::`).
    AllInterfaces,
}

impl Exposure {
    /// The exposure of a set of bind addresses: the widest of them.
    pub fn of(addrs: &[IpAddr]) -> Exposure {
        addrs
            .iter()
            .map(|a| {
                if a.is_loopback() {
                    Exposure::Localhost
                } else if a.is_unspecified() {
                    Exposure::AllInterfaces
                } else {
                    Exposure::Address
                }
            })
            .max()
            .unwrap_or(Exposure::Localhost)
    }

    /// `localhost` / `one address` / `all interfaces`.
    pub fn as_str(self) -> &'static str {
        match self {
            Exposure::Localhost => "localhost",
            Exposure::Address => "one address",
            Exposure::AllInterfaces => "all interfaces",
        }
    }
}

/// Address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// What identifies a listener across two states. Field order is sort order: by port
/// first (as `ndiff` and `ss -n` readers scan), then transport, then family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Key {
    /// Port.
    pub port: u16,
    /// Transport.
    pub transport: Transport,
    /// Address family.
    pub family: Family,
}

/// One side of a listener: its addresses, programs, container and binding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Side {
    /// Bind addresses, sorted.
    pub addrs: Vec<IpAddr>,
    /// Programs holding it (empty: not visible, or a spec).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub programs: Vec<String>,
    /// Container, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Declared binding, for a spec side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binding: Option<String>,
    /// The exposure of `addrs`.
    pub exposure: Exposure,
}

/// One difference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Change {
    /// Listens in B, not in A.
    Added {
        /// Which listener.
        #[serde(flatten)]
        key: Key,
        /// It in B.
        after: Side,
    },
    /// Listened in A, not in B.
    Removed {
        /// Which listener.
        #[serde(flatten)]
        key: Key,
        /// It in A.
        before: Side,
    },
    /// Listens in both, differently.
    Changed {
        /// Which listener.
        #[serde(flatten)]
        key: Key,
        /// It in A.
        before: Side,
        /// It in B.
        after: Side,
        /// What differs: `bind`, `program`, `container`, `binding`.
        what: Vec<&'static str>,
        /// Whether B is reachable from more than A.
        widened: bool,
    },
}

impl Change {
    /// The listener the change is about.
    pub fn key(&self) -> Key {
        match self {
            Change::Added { key, .. }
            | Change::Removed { key, .. }
            | Change::Changed { key, .. } => *key,
        }
    }
}

/// The differences between two states, A before B.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// A's description (`live on app1`, `snapshot a.json (app1, 2026-…)`).
    pub a: String,
    /// B's description.
    pub b: String,
    /// Changes sorted by transport, port, family.
    pub changes: Vec<Change>,
}

impl Diff {
    /// Whether A and B listen alike.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Changes that widen exposure: a new listener, or one reachable from more than before.
    pub fn widened(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| {
                matches!(
                    c,
                    Change::Added { .. } | Change::Changed { widened: true, .. }
                )
            })
            .count()
    }
}

fn family(a: IpAddr) -> Family {
    match a {
        IpAddr::V4(_) => Family::V4,
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => Family::V4,
        IpAddr::V6(_) => Family::V6,
    }
}

/// Groups a state's sockets by key.
fn sides(s: &Snapshot) -> BTreeMap<Key, Side> {
    let mut grouped: BTreeMap<Key, Vec<&Socket>> = BTreeMap::new();
    for sock in &s.listeners {
        let key = Key {
            transport: sock.transport,
            port: sock.port,
            family: family(sock.addr),
        };
        grouped.entry(key).or_default().push(sock);
    }
    grouped
        .into_iter()
        .map(|(k, socks)| {
            let mut addrs: Vec<IpAddr> = socks.iter().map(|s| s.addr).collect();
            addrs.sort();
            addrs.dedup();
            let mut programs: Vec<String> = socks
                .iter()
                .flat_map(|s| s.owners.iter().map(|o| o.name.clone()))
                .collect();
            programs.sort();
            programs.dedup();
            let container = socks.iter().find_map(|s| s.container.clone());
            let binding = socks.iter().find_map(|s| s.binding.clone());
            let exposure = Exposure::of(&addrs);
            (
                k,
                Side {
                    addrs,
                    programs,
                    container,
                    binding,
                    exposure,
                },
            )
        })
        .collect()
}

/// How `before` and `after` differ, as far as both sides can tell: programs are compared only
/// when both sides saw them (a spec or an unprivileged scan sees none), likewise containers
/// and bindings.
fn differences(before: &Side, after: &Side) -> Vec<&'static str> {
    let mut what = Vec::new();
    if before.addrs != after.addrs {
        what.push("bind");
    }
    if !before.programs.is_empty()
        && !after.programs.is_empty()
        && before.programs != after.programs
    {
        what.push("program");
    }
    if before.container.is_some()
        && after.container.is_some()
        && before.container != after.container
    {
        what.push("container");
    }
    if before.binding.is_some() && after.binding.is_some() && before.binding != after.binding {
        what.push("binding");
    }
    what
}

/// The differences from `a` to `b`.
pub fn diff(a: &Snapshot, b: &Snapshot) -> Diff {
    let (sa, sb) = (sides(a), sides(b));
    let mut changes = Vec::new();
    for (key, before) in &sa {
        match sb.get(key) {
            None => changes.push(Change::Removed {
                key: *key,
                before: before.clone(),
            }),
            Some(after) => {
                let what = differences(before, after);
                if !what.is_empty() {
                    changes.push(Change::Changed {
                        key: *key,
                        before: before.clone(),
                        after: after.clone(),
                        widened: after.exposure > before.exposure,
                        what,
                    });
                }
            }
        }
    }
    for (key, after) in &sb {
        if !sa.contains_key(key) {
            changes.push(Change::Added {
                key: *key,
                after: after.clone(),
            });
        }
    }
    changes.sort_by_key(Change::key);
    Diff {
        a: describe(a),
        b: describe(b),
        changes,
    }
}

/// `live on app1 at 2026-…`, `spec ports.toml (host app1)`.
pub fn describe(s: &Snapshot) -> String {
    match s.taken {
        Some(t) => format!("{} on {} at {t}", s.source, s.host),
        None => format!("{} (host {})", s.source, s.host),
    }
}

fn side_text(s: &Side) -> String {
    let addrs: Vec<String> = s
        .addrs
        .iter()
        .map(|a| match a {
            IpAddr::V6(v6) => format!("[{v6}]"),
            IpAddr::V4(v4) => v4.to_string(),
        })
        .collect();
    let mut t = addrs.join(",");
    if !s.programs.is_empty() {
        let _ = write!(t, " {}", s.programs.join(","));
    }
    if let Some(c) = &s.container {
        let _ = write!(t, " (container {c})");
    }
    if let Some(b) = &s.binding {
        let _ = write!(t, " [{b}]");
    }
    t
}

/// The diff for humans: one line per change (`+` opened, `-` closed, `~` changed, `!` when
/// exposure widened), then a summary.
pub fn human(d: &Diff) -> String {
    let mut out = format!("--- {}\n+++ {}\n", d.a, d.b);
    for c in &d.changes {
        let k = c.key();
        let id = format!(
            "{}/{} {}",
            k.port,
            k.transport.as_str(),
            match k.family {
                Family::V4 => "v4",
                Family::V6 => "v6",
            }
        );
        let _ = match c {
            Change::Added { after, .. } => writeln!(
                out,
                "+ {id:<14} {} — exposed to {}",
                side_text(after),
                after.exposure.as_str()
            ),
            Change::Removed { before, .. } => writeln!(out, "- {id:<14} {}", side_text(before)),
            Change::Changed {
                before,
                after,
                what,
                widened,
                ..
            } => {
                let mark = if *widened { '!' } else { '~' };
                let mut line = format!(
                    "{mark} {id:<14} {} → {} ({} changed)",
                    side_text(before),
                    side_text(after),
                    what.join(", ")
                );
                if before.exposure != after.exposure {
                    let _ = write!(
                        line,
                        "; exposure {} → {}",
                        before.exposure.as_str(),
                        after.exposure.as_str()
                    );
                }
                writeln!(out, "{line}")
            }
        };
    }
    let count = |f: fn(&Change) -> bool| d.changes.iter().filter(|c| f(c)).count();
    let added = count(|c| matches!(c, Change::Added { .. }));
    let removed = count(|c| matches!(c, Change::Removed { .. }));
    let changed = count(|c| matches!(c, Change::Changed { .. }));
    if d.is_empty() {
        out.push_str("no differences\n");
    } else {
        let _ = writeln!(
            out,
            "{added} opened, {removed} closed, {changed} changed; {} widen{} exposure",
            d.widened(),
            if d.widened() == 1 { "s" } else { "" }
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{FORMAT, SocketOwner};

    fn sock(port: u16, addr: &str, program: &str) -> Socket {
        Socket {
            transport: Transport::Tcp,
            port,
            addr: addr.parse().expect("addr"),
            owners: if program.is_empty() {
                vec![]
            } else {
                vec![SocketOwner {
                    name: program.into(),
                    pid: 1000 + u32::from(port),
                    user: "app".into(),
                }]
            },
            container: None,
            binding: None,
        }
    }

    fn snap(source: &str, listeners: Vec<Socket>) -> Snapshot {
        Snapshot {
            format: FORMAT,
            host: "app1".into(),
            taken: None,
            source: source.into(),
            listeners,
            notes: vec![],
        }
    }

    #[test]
    fn opened_closed_and_widened_listeners() {
        let a = snap(
            "a.json",
            vec![
                sock(22, "0.0.0.0", "sshd"),
                sock(5432, "127.0.0.1", "postgres"),
                sock(6379, "127.0.0.1", "redis-server"),
            ],
        );
        let b = snap(
            "b.json",
            vec![
                sock(22, "0.0.0.0", "sshd"),
                sock(5432, "0.0.0.0", "postgres"),
                sock(8030, "0.0.0.0", "python3"),
            ],
        );
        let d = diff(&a, &b);
        let kinds: Vec<(u16, &str)> = d
            .changes
            .iter()
            .map(|c| {
                (
                    c.key().port,
                    match c {
                        Change::Added { .. } => "added",
                        Change::Removed { .. } => "removed",
                        Change::Changed { widened: true, .. } => "widened",
                        Change::Changed { .. } => "changed",
                    },
                )
            })
            .collect();
        assert_eq!(
            kinds,
            vec![(5432, "widened"), (6379, "removed"), (8030, "added")]
        );
        assert_eq!(d.widened(), 2);
        let text = human(&d);
        assert!(
            text.contains("! 5432/tcp v4    127.0.0.1 postgres → 0.0.0.0 postgres (bind changed); exposure localhost → all interfaces"),
            "{text}"
        );
        assert!(
            text.ends_with("1 opened, 1 closed, 1 changed; 2 widen exposure\n"),
            "{text}"
        );
    }

    #[test]
    fn a_restart_or_an_unseen_owner_is_no_change() {
        let a = snap("a", vec![sock(8080, "0.0.0.0", "gunicorn")]);
        let mut restarted = sock(8080, "0.0.0.0", "gunicorn");
        restarted.owners[0].pid = 99_999;
        let b = snap("b", vec![restarted]);
        assert!(diff(&a, &b).is_empty());
        // a spec (or a scan without root) sees no program: nothing to compare
        let spec = snap("spec", vec![sock(8080, "0.0.0.0", "")]);
        assert!(diff(&spec, &a).is_empty());
        assert!(human(&diff(&a, &b)).ends_with("no differences\n"));
    }

    #[test]
    fn families_are_separate_listeners() {
        let a = snap("a", vec![sock(443, "0.0.0.0", "nginx")]);
        let b = snap(
            "b",
            vec![sock(443, "0.0.0.0", "nginx"), sock(443, "::", "nginx")],
        );
        let d = diff(&a, &b);
        assert_eq!(d.changes.len(), 1);
        assert!(matches!(
            d.changes[0],
            Change::Added {
                key: Key {
                    family: Family::V6,
                    ..
                },
                ..
            }
        ));
    }

    #[test]
    fn json_names_the_change_and_is_sorted() {
        let a = snap("a", vec![sock(9000, "127.0.0.1", "x")]);
        let b = snap("b", vec![sock(80, "0.0.0.0", "nginx")]);
        let v = serde_json::to_value(diff(&a, &b)).expect("json");
        assert_eq!(v["changes"][0]["change"], "added");
        assert_eq!(v["changes"][0]["port"], 80);
        assert_eq!(v["changes"][1]["change"], "removed");
        assert_eq!(v["changes"][1]["before"]["exposure"], "localhost");
    }
}
