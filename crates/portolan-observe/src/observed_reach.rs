//! `[[expect]]` against what a host was seen listening on: the reach model of the spec with
//! each of the host's bindings bound where its live listener is, evaluated statically.
//!
//! This is what a registry can honestly say from an agent's report alone. The agent reports
//! sockets, not connections, so the server cannot probe (`check --probe` connects from the
//! machine it runs on, and a host never tests its own ports that way); but the bind address
//! is the one layer of the reach model that a report does show. So each declared binding
//! whose live listeners are wider or narrower than the declared bind (`127.0.0.1` declared,
//! `0.0.0.0` seen; or the reverse) is rebound to the live address, the reach model is
//! recomputed — networks, publisher, firewall rules and routes still as the spec says — and
//! the expectations about those bindings are evaluated. An expectation that holds with the
//! declared binds and fails with the live ones is an `expectation-failed` finding of the
//! host's drift, with a note naming the live bind. Failures the declared spec already has
//! are `lint`'s (the registry stores them at import), never repeated here; bindings nothing
//! listens on are `declared-not-listening`'s, not a changed reach.

use std::net::IpAddr;

use portolan_lint::expect::{evaluate_one, finding};
use portolan_lint::{Analysis, Finding};
use portolan_model::{BindingId, HostId, Model, Status};

use crate::drift::{addr_matches, same_transport, width};
use crate::listener::Listener;

/// A binding of the host whose live bind differs in width from the declared one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rebound {
    /// The binding.
    pub binding: BindingId,
    /// The declared bind.
    pub declared: IpAddr,
    /// The widest live bind of its listeners.
    pub live: IpAddr,
}

/// The host's bindings whose live listeners are bound wider or narrower than declared, in
/// binding order.
pub fn rebound(model: &Model, host: HostId, listeners: &[Listener]) -> Vec<Rebound> {
    let mut out = Vec::new();
    for (i, b) in model.binding_ids() {
        if b.host != host || !matches!(b.status, Status::Active | Status::Deprecated) {
            continue;
        }
        // the widest live address; of equal width, the declared family's
        let live = listeners
            .iter()
            .filter(|l| {
                same_transport(b, l) && b.ports.contains(l.port) && addr_matches(b.bind, l.addr)
            })
            .map(|l| l.addr)
            .max_by_key(|a| (width(*a), a.is_ipv4() == b.bind.is_ipv4()));
        if let Some(live) = live
            && width(live) != width(b.bind)
        {
            out.push(Rebound {
                binding: i,
                declared: b.bind,
                live,
            });
        }
    }
    out
}

/// The `expectation-failed` findings that the host's live binds cause: expectations about
/// a [`rebound`] binding that hold in the spec and fail with the live binds. Empty, and
/// nothing computed, when the spec has no expectation or every bind is as declared.
pub fn expectations(model: &Model, host: HostId, listeners: &[Listener]) -> Vec<Finding> {
    if model.expectations.is_empty() {
        return Vec::new();
    }
    let rebound = rebound(model, host, listeners);
    if rebound.is_empty() {
        return Vec::new();
    }
    let concerned: Vec<usize> = model
        .expectations
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            e.targets(model)
                .iter()
                .any(|t| rebound.iter().any(|r| r.binding == *t))
        })
        .map(|(k, _)| k)
        .collect();
    if concerned.is_empty() {
        return Vec::new();
    }
    let mut live = model.clone();
    for r in &rebound {
        live.bindings[r.binding.index()].bind = r.live;
    }
    let declared_analysis = Analysis::compute(model);
    let live_analysis = Analysis::compute(&live);
    let mut out = Vec::new();
    for k in concerned {
        if !evaluate_one(model, &declared_analysis, k).holds() {
            continue;
        }
        let outcome = evaluate_one(&live, &live_analysis, k);
        let Some(mut f) = finding(&live, &outcome) else {
            continue;
        };
        for r in rebound.iter().filter(|r| {
            outcome
                .failures
                .iter()
                .any(|x| x.binding == Some(r.binding))
        }) {
            let b = model.binding(r.binding);
            f = f.note(format!(
                "live on host `{}`: `{}` listens on {}, the spec declares {} (with the declared bind the expectation holds)",
                model.host(host).name,
                b.qualified_name(model),
                r.live,
                r.declared
            ));
        }
        out.push(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listener::{Owner, Transport};

    const SPEC: &str = r#"
[networks]
office = ["192.168.50.0/24"]
[hosts.db]
addresses = ["203.0.113.5", "192.168.50.5"]
networks = ["public", "office"]
[services.pg]
hosts = ["db"]
bindings.db = { port = 5432, bind = "127.0.0.1", app = "postgres", exposure = "localhost" }
[services.intranet]
hosts = ["db"]
bindings.http = { port = 8080, bind = "0.0.0.0", app = "http", exposure = "office", auth = true }

[[expect]]
from = "internet"
to = "pg.db"
reach = false
reason = "the database stays on the host"

[[expect]]
from = "office"
to = "intranet.http"
reach = true
family = "v4"
"#;

    fn listener(addr: &str, port: u16) -> Listener {
        Listener {
            transport: Transport::Tcp,
            addr: addr.parse().expect("addr"),
            port,
            inode: u64::from(port),
            uid: 0,
            owners: vec![Owner {
                pid: 10,
                name: "x".into(),
                cmdline: "x".into(),
                user: "root".into(),
                container: None,
            }],
            container: None,
        }
    }

    fn model() -> (Model, HostId) {
        let model = portolan_model::load_str("ports.toml", SPEC).expect("spec");
        let host = model.host_named("db").expect("host");
        (model, host)
    }

    #[test]
    fn binds_as_declared_fail_nothing() {
        let (model, host) = model();
        let live = [listener("127.0.0.1", 5432), listener("0.0.0.0", 8080)];
        assert!(rebound(&model, host, &live).is_empty());
        assert!(expectations(&model, host, &live).is_empty());
        // nothing listening is declared-not-listening's, not a changed reach
        assert!(expectations(&model, host, &[]).is_empty());
    }

    #[test]
    fn a_database_seen_on_every_address_breaks_its_expectation() {
        let (model, host) = model();
        let live = [listener("0.0.0.0", 5432), listener("0.0.0.0", 8080)];
        let r = rebound(&model, host, &live);
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0].live.to_string(), "0.0.0.0");
        let found = expectations(&model, host, &live);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert_eq!(f.rule.id(), "expectation-failed");
        assert!(
            f.message.starts_with("expect #1 does not hold"),
            "{}",
            f.message
        );
        assert!(f.message.contains("0.0.0.0:5432"), "{}", f.message);
        assert!(
            f.notes
                .iter()
                .any(|n| n.contains("listens on 0.0.0.0, the spec declares 127.0.0.1")),
            "{:#?}",
            f.notes
        );
    }

    #[test]
    fn a_service_seen_on_loopback_only_breaks_a_reach_true_expectation() {
        let (model, host) = model();
        let live = [listener("127.0.0.1", 5432), listener("127.0.0.1", 8080)];
        let found = expectations(&model, host, &live);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].message.starts_with("expect #2"),
            "{}",
            found[0].message
        );
    }
}
