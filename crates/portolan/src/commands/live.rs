//! Shared by `ls`, `who` and `check`: where live listeners come from (procfs, or a JSON
//! fixture named by `PORTOLAN_LISTENERS_FIXTURE`, which is how tests inject the OS), and
//! which spec binding a listener is.

use portolan_model::{Binding, Model};
use portolan_observe::{Fixture, Listener, System};

use crate::error::CliError;

/// Environment variable naming a JSON fixture of listeners to use instead of procfs.
pub(crate) const FIXTURE_ENV: &str = "PORTOLAN_LISTENERS_FIXTURE";

/// Listeners of this machine (owners when `owners`), and a line about what could not be seen.
pub(crate) fn listeners(owners: bool) -> Result<(Vec<Listener>, Option<String>), CliError> {
    if let Some(path) = std::env::var_os(FIXTURE_ENV) {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| CliError::io(format!("cannot read {}", path.to_string_lossy()), e))?;
        let f = Fixture::from_json(&text)
            .map_err(|e| CliError::Usage(format!("{}: {e}", path.to_string_lossy())))?;
        let (list, _) = portolan_observe::observe(&f, &f, owners)
            .map_err(|e| CliError::Usage(e.to_string()))?;
        return Ok((list, None));
    }
    let sys = System::default();
    let (list, gaps) = portolan_observe::observe(&sys, &sys, owners)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let note = (owners && gaps.denied > 0).then(|| {
        format!(
            "owners of sockets of {} process{} are not visible to this user (run as root to see them)",
            gaps.denied,
            if gaps.denied == 1 { "" } else { "es" }
        )
    });
    Ok((list, note))
}

/// The spec bindings a listener can be (same transport and port, on `host` when given).
pub(crate) fn declared<'m>(
    model: &'m Model,
    l: &Listener,
    host: Option<portolan_model::HostId>,
) -> Vec<&'m Binding> {
    model
        .bindings
        .iter()
        .filter(|b| {
            host.is_none_or(|h| h == b.host)
                && b.ports.contains(l.port)
                && b.transport.as_str() == l.transport.as_str()
        })
        .collect()
}

/// Which host of the spec this machine is: by hostname (the host's `hostname`, or its
/// name), else by an address of this machine's interfaces among the host's `addresses`.
pub(crate) fn this_host(model: &Model) -> Option<portolan_model::HostId> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .to_string();
    let short = name.split('.').next().unwrap_or(&name).to_string();
    let by_name = model.hosts.iter().position(|h| {
        !name.is_empty()
            && (h
                .hostname
                .as_deref()
                .is_some_and(|x| x == name || x == short)
                || h.name == name
                || h.name == short)
    });
    if let Some(i) = by_name {
        return Some(portolan_model::HostId::from_index(i));
    }
    let mine: Vec<std::net::IpAddr> = portolan_observe::draft::interfaces()
        .iter()
        .map(|a| a.addr)
        .filter(|a| !a.is_loopback())
        .collect();
    model
        .hosts
        .iter()
        .position(|h| h.addresses.iter().any(|a| mine.contains(a)))
        .map(portolan_model::HostId::from_index)
}
