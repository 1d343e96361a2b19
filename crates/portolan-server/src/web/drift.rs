//! Declared vs live for one host: the bindings the registry declares on it against the
//! listeners its agent last reported. A binding is *matching* when a listener of the same
//! transport holds one of its ports, *missing* when it is active and none does, *idle* when
//! it is not active (planned, reserved, deprecated) and none does; a listener no binding
//! of the host declares is *undeclared*. Agents that have not reported for
//! [`STALE_AFTER`] seconds are *stale*.

use std::fmt::Write as _;

use serde::Serialize;

use portolan_store::{BindingInfo, Observation};

/// Seconds after which an agent's last report counts as stale.
pub const STALE_AFTER: i64 = 300;

/// One listener of an observation, as much of it as the dashboard shows. Reports are JSON
/// as `portolan ls --json` prints them; fields that are missing or of the wrong type are
/// tolerated (a listener without a valid port is skipped).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Live {
    /// Port.
    pub port: u16,
    /// `tcp` / `udp` (default `tcp`).
    pub transport: String,
    /// Local address (`0.0.0.0:5000`), or the port alone when the report has no address.
    pub local: String,
    /// Owning process name, when reported.
    pub process: Option<String>,
    /// The container behind it, when reported: `shop-web-1 (shop/web) → 80`, with what
    /// listens inside when that is nothing; else the owner's container tag.
    pub container: Option<String>,
}

/// The dashboard's words for the container of a listener report.
fn container_of(l: &serde_json::Value) -> Option<String> {
    let Some(c) = l.get("container").filter(|c| c.is_object()) else {
        return l
            .get("owners")?
            .as_array()?
            .iter()
            .find_map(|o| o.get("container")?.as_str().map(str::to_string));
    };
    let name = c.get("name")?.as_str()?;
    let mut out = name.to_string();
    if let (Some(p), Some(s)) = (
        c.get("project").and_then(|v| v.as_str()),
        c.get("service").and_then(|v| v.as_str()),
    ) {
        let _ = write!(out, " ({p}/{s})");
    }
    if let Some(p) = c.get("published").filter(|p| p.is_object()) {
        if let Some(t) = p.get("target").and_then(serde_json::Value::as_u64) {
            let _ = write!(out, " → {t}");
        }
        match p.get("inside").and_then(|v| v.as_str()) {
            Some("nothing") => out.push_str(", nothing listens inside"),
            Some("loopback-only") => out.push_str(", only loopback listens inside"),
            _ => {}
        }
    }
    Some(out)
}

/// `addr:port` as a socket address is written: an IPv6 address (with or without a zone,
/// with or without brackets already) in brackets, `[::1]:8080`, so the port cannot be
/// read as one more group of the address.
pub fn address_port(addr: &str, port: u16) -> String {
    let bare = addr
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(addr);
    if bare.contains(':') {
        format!("[{bare}]:{port}")
    } else {
        format!("{bare}:{port}")
    }
}

/// A reported `local` address as [`address_port`] writes it: reports from other agents (or
/// older ones) may send `:::18080` or `fe80::1%eth0:22` unbracketed.
fn bracketed_local(local: &str, port: u16) -> String {
    if local.starts_with('[') {
        return local.to_string();
    }
    match local.strip_suffix(&format!(":{port}")) {
        Some(addr) if addr.contains(':') => address_port(addr, port),
        _ => local.to_string(),
    }
}

/// The listeners of a report.
pub fn listeners(obs: &Observation) -> Vec<Live> {
    let Some(items) = obs.listeners.as_array() else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|l| {
            let port = u16::try_from(l.get("port")?.as_u64()?).ok()?;
            let transport = l
                .get("transport")
                .and_then(|t| t.as_str())
                .unwrap_or("tcp")
                .to_ascii_lowercase();
            let local = l
                .get("local")
                .and_then(|v| v.as_str())
                .map(|local| bracketed_local(local, port))
                .or_else(|| {
                    l.get("addr")
                        .and_then(|v| v.as_str())
                        .map(|a| address_port(a, port))
                })
                .unwrap_or_else(|| format!(":{port}"));
            let process = l
                .get("owners")
                .and_then(|o| o.as_array())
                .and_then(|o| o.first())
                .and_then(|o| o.get("name"))
                .or_else(|| l.get("process"))
                .and_then(|n| n.as_str())
                .map(str::to_string);
            Some(Live {
                port,
                transport,
                local,
                process,
                container: container_of(l),
            })
        })
        .collect()
}

/// How fresh an agent's report is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Freshness {
    /// `fresh`, `stale` or `never`.
    pub state: &'static str,
    /// When last reported (RFC 3339), if ever.
    pub at: Option<String>,
    /// Seconds since then.
    pub age: Option<i64>,
}

/// The freshness of a host's last report at `now`.
pub fn freshness(obs: Option<&Observation>, now: i64) -> Freshness {
    freshness_at(obs.map(|o| o.at), now)
}

/// The freshness at `now` of a report made at `at` (`None`: never).
pub fn freshness_at(at: Option<i64>, now: i64) -> Freshness {
    match at {
        None => Freshness {
            state: "never",
            at: None,
            age: None,
        },
        Some(at) => {
            let age = now.saturating_sub(at).max(0);
            Freshness {
                state: if age <= STALE_AFTER { "fresh" } else { "stale" },
                at: Some(super::time(at)),
                age: Some(age),
            }
        }
    }
}

/// One declared binding on the host and what was seen of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeclaredRow {
    /// Service.
    pub service: String,
    /// Binding name.
    pub binding: String,
    /// Ports (`5000`, `5000-5009`).
    pub ports: String,
    /// Transport.
    pub transport: String,
    /// Declared bind address.
    pub bind: String,
    /// Declared exposure.
    pub exposure: String,
    /// Status in the host's environment.
    pub status: String,
    /// `matching`, `missing`, `idle`, or `unknown` (no report).
    pub state: &'static str,
    /// The listeners that match it.
    pub seen: Vec<String>,
}

/// Declared vs live for one host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HostDrift {
    /// The declared bindings.
    pub declared: Vec<DeclaredRow>,
    /// Listeners no binding declares.
    pub undeclared: Vec<Live>,
    /// Counts: matching, missing, undeclared.
    pub matching: usize,
    /// Active bindings without a listener.
    pub missing: usize,
    /// Listeners without a binding.
    pub undeclared_count: usize,
    /// Whether an agent ever reported.
    pub reported: bool,
}

impl HostDrift {
    /// The counts alone, as the overview shows them.
    pub fn counts(&self) -> DriftCounts {
        DriftCounts {
            matching: self.matching,
            missing: self.missing,
            undeclared_count: self.undeclared_count,
            reported: self.reported,
        }
    }
}

/// What the overview shows of a host's drift: counts, not rows (at 5,000 hosts the rows
/// would be 200,000 template values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DriftCounts {
    /// Bindings with a listener.
    pub matching: usize,
    /// Active bindings without a listener.
    pub missing: usize,
    /// Listeners without a binding.
    pub undeclared_count: usize,
    /// Whether an agent ever reported.
    pub reported: bool,
}

/// [`host_drift`]'s counts from a host's own bindings (`mine`) and the `(transport,
/// port)` of its reported listeners (`None`: never reported), for the overview: no
/// listener documents, no per-host scan of every binding.
pub fn drift_counts(mine: &[&BindingInfo], ports: Option<&[(String, u16)]>) -> DriftCounts {
    let Some(ports) = ports else {
        return DriftCounts {
            matching: 0,
            missing: 0,
            undeclared_count: 0,
            reported: false,
        };
    };
    let covers = |b: &BindingInfo, (transport, port): &(String, u16)| {
        b.transport.eq_ignore_ascii_case(transport) && (b.lo..=b.hi).contains(port)
    };
    let (mut matching, mut missing) = (0, 0);
    for b in mine {
        if ports.iter().any(|l| covers(b, l)) {
            matching += 1;
        } else if b.status == "active" {
            missing += 1;
        }
    }
    DriftCounts {
        matching,
        missing,
        undeclared_count: ports
            .iter()
            .filter(|l| !mine.iter().any(|b| covers(b, l)))
            .count(),
        reported: true,
    }
}

/// Compares the bindings of `host` with its last report.
pub fn host_drift(host: &str, bindings: &[BindingInfo], obs: Option<&Observation>) -> HostDrift {
    let live = obs.map(listeners).unwrap_or_default();
    let mine: Vec<&BindingInfo> = bindings.iter().filter(|b| b.host == host).collect();
    let covers = |b: &BindingInfo, l: &Live| {
        b.transport.eq_ignore_ascii_case(&l.transport) && (b.lo..=b.hi).contains(&l.port)
    };
    let mut declared = Vec::new();
    for b in &mine {
        let seen: Vec<String> = live
            .iter()
            .filter(|l| covers(b, l))
            .map(|l| match (&l.process, &l.container) {
                (Some(p), Some(c)) => format!("{} ({p}; container {c})", l.local),
                (None, Some(c)) => format!("{} (container {c})", l.local),
                (Some(p), None) => format!("{} ({p})", l.local),
                (None, None) => l.local.clone(),
            })
            .collect();
        let state = if obs.is_none() {
            "unknown"
        } else if !seen.is_empty() {
            "matching"
        } else if b.status == "active" {
            "missing"
        } else {
            "idle"
        };
        declared.push(DeclaredRow {
            service: b.service.clone(),
            binding: b.name.clone(),
            ports: if b.lo == b.hi {
                b.lo.to_string()
            } else {
                format!("{}-{}", b.lo, b.hi)
            },
            transport: b.transport.clone(),
            bind: b.bind.clone(),
            exposure: b.exposure.clone(),
            status: b.status.clone(),
            state,
            seen,
        });
    }
    let undeclared: Vec<Live> = live
        .into_iter()
        .filter(|l| !mine.iter().any(|b| covers(b, l)))
        .collect();
    HostDrift {
        matching: declared.iter().filter(|d| d.state == "matching").count(),
        missing: declared.iter().filter(|d| d.state == "missing").count(),
        undeclared_count: undeclared.len(),
        declared,
        undeclared,
        reported: obs.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(service: &str, lo: u16, status: &str) -> BindingInfo {
        BindingInfo {
            service: service.into(),
            name: "http".into(),
            host: "h".into(),
            environment: "production".into(),
            transport: "tcp".into(),
            lo,
            hi: lo,
            bind: "0.0.0.0".into(),
            app: None,
            publisher: "host".into(),
            exposure: "internal".into(),
            status: status.into(),
        }
    }

    #[test]
    fn ipv6_addresses_are_bracketed_with_their_port() {
        assert_eq!(address_port("::1", 8080), "[::1]:8080");
        assert_eq!(address_port("[::]", 80), "[::]:80");
        assert_eq!(address_port("fe80::1%eth0", 22), "[fe80::1%eth0]:22");
        assert_eq!(address_port("10.0.0.1", 53), "10.0.0.1:53");
        assert_eq!(address_port("*", 53), "*:53");
        for (local, port, shown) in [
            (":::18080", 18080, "[::]:18080"),
            ("::ffff:127.0.0.1:5000", 5000, "[::ffff:127.0.0.1]:5000"),
            ("[::1]:8080", 8080, "[::1]:8080"),
            ("0.0.0.0:5000", 5000, "0.0.0.0:5000"),
            ("*:5000", 5000, "*:5000"),
            ("odd", 5000, "odd"),
        ] {
            assert_eq!(bracketed_local(local, port), shown, "{local}");
        }
    }

    #[test]
    fn matching_missing_idle_undeclared() {
        let bindings = [
            binding("a", 5000, "active"),
            binding("b", 5001, "active"),
            binding("c", 5002, "planned"),
        ];
        let obs = Observation {
            host: "h".into(),
            listeners: serde_json::json!([
                {"port": 5000, "transport": "tcp", "addr": "0.0.0.0",
                 "owners": [{"pid": 1, "name": "socat"}]},
                {"port": 5000, "transport": "udp"},
                {"port": 8080, "transport": "tcp", "addr": "0.0.0.0",
                 "owners": [{"pid": 2, "name": "docker-proxy"}],
                 "container": {"engine": "docker", "id": "ab", "name": "shop-web-1",
                   "image": "i", "project": "shop", "service": "web",
                   "published": {"target": 80, "inside": "nothing"}}},
                {"port": 6000, "transport": "tcp", "addr": "0.0.0.0",
                 "owners": [{"pid": 3, "name": "app", "container": "docker:0123456789ab"}]},
                {"port": 99999},
                {"transport": "tcp"},
                "junk",
            ]),
            at: 10,
        };
        let d = host_drift("h", &bindings, Some(&obs));
        let states: Vec<_> = d.declared.iter().map(|r| r.state).collect();
        assert_eq!(states, ["matching", "missing", "idle"]);
        assert_eq!(d.declared[0].seen, ["0.0.0.0:5000 (socat)"]);
        assert_eq!(d.undeclared.len(), 3);
        assert_eq!(d.undeclared[0].transport, "udp");
        assert_eq!(
            d.undeclared[1].container.as_deref(),
            Some("shop-web-1 (shop/web) → 80, nothing listens inside")
        );
        assert_eq!(
            d.undeclared[2].container.as_deref(),
            Some("docker:0123456789ab")
        );
        assert_eq!((d.matching, d.missing, d.undeclared_count), (1, 1, 3));
        // the overview's counts, from the listeners' (transport, port) alone, agree
        let ports: Vec<(String, u16)> = listeners(&obs)
            .into_iter()
            .map(|l| (l.transport, l.port))
            .collect();
        let mine: Vec<&BindingInfo> = bindings.iter().collect();
        assert_eq!(drift_counts(&mine, Some(&ports)), d.counts());
        let none = host_drift("h", &bindings, None);
        assert_eq!(drift_counts(&mine, None), none.counts());
        assert!(none.declared.iter().all(|r| r.state == "unknown"));
        assert_eq!(freshness(Some(&obs), 10 + STALE_AFTER).state, "fresh");
        assert_eq!(freshness(Some(&obs), 11 + STALE_AFTER).state, "stale");
        assert_eq!(freshness(None, 0).state, "never");
    }
}
