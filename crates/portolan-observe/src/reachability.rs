//! Reachability of declared bindings from where portolan runs: the probe targets a spec
//! implies (address by bind or host, protocol by app), and the `unreachable` drift findings
//! of `check --probe` for the targets that did not answer.

use portolan_lint::{Finding, Rule};
use portolan_model::{Binding, BindingId, HostId, Model, Status, Tls};

use crate::Transport;
use crate::probe::{self, Options, State, Target};

/// Probe targets for the declared bindings `keep` selects, each with its binding: at the
/// bind address, or the host's first address for a wildcard bind; by app protocol (TLS for
/// `tls = "native"`/https, an HTTP request to `health` for http). Hosts without addresses
/// give no target for wildcard binds.
pub fn spec_targets(model: &Model, keep: impl Fn(&Binding) -> bool) -> Vec<(Target, BindingId)> {
    let mut out = Vec::new();
    for (i, b) in model.bindings.iter().enumerate().filter(|(_, b)| keep(b)) {
        let host = model.host(b.host);
        let addr = if b.bind.is_unspecified() {
            host.addresses.first().copied()
        } else {
            Some(b.bind)
        };
        let Some(addr) = addr else { continue };
        let tls =
            b.tls == Tls::Native || matches!(b.app.as_deref(), Some("https" | "tls" | "grpcs"));
        let http = matches!(b.app.as_deref(), Some("http" | "https")) && !b.redirect;
        for port in b.ports.ports() {
            let t = Target {
                host: host.name.clone(),
                addr,
                port,
                transport: if b.transport == portolan_model::Transport::Udp {
                    Transport::Udp
                } else {
                    Transport::Tcp
                },
                http_path: http.then(|| b.health.clone().unwrap_or_else(|| "/".into())),
                tls,
            };
            out.push((t, BindingId::from_index(i)));
        }
    }
    out
}

/// Connects to every active declared binding of host `h` from here; each one that does not
/// accept is an `unreachable` finding located at its port.
pub fn unreachable(model: &Model, h: HostId) -> Vec<Finding> {
    let targets = spec_targets(model, |b| b.host == h && b.status == Status::Active);
    let results = probe::run(
        targets.iter().map(|(t, _)| t.clone()).collect(),
        Options {
            timeout: std::time::Duration::from_millis(500),
            ..Options::default()
        },
        &|_| {},
    );
    let mut out = Vec::new();
    for r in results {
        if matches!(r.state, State::Open | State::OpenFiltered) {
            continue;
        }
        let Some((_, id)) = targets.iter().find(|(t, _)| *t == r.target) else {
            continue;
        };
        let b = model.binding(*id);
        let name = b.qualified_name(model);
        out.push(
            Finding::new(
                Rule::Unreachable,
                format!(
                    "`{name}` at {}:{}/{} is {} from here",
                    r.target.addr,
                    r.target.port,
                    r.target.transport.as_str(),
                    r.state.as_str()
                ),
            )
            .subject(name)
            .help("start it, or check the bind address and the firewalls on the way")
            .at(b.port_loc, "declared here"),
        );
    }
    out
}
