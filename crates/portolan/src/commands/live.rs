//! Shared by `ls`, `who`, `kill`, `check`, `init --from-host`, `agent`, `snapshot` and `alloc`:
//! which host of the spec this machine is; where live listeners come from — procfs/netlink
//! and the container engines (Docker Engine API over its socket, merged so each publication
//! is one listener whoever holds the host socket), or JSON fixtures named by `PORTOLAN_LISTENERS_FIXTURE` and `PORTOLAN_CONTAINERS_FIXTURE`,
//! which is how tests inject the OS — the notes about what could not be seen, and which spec
//! binding a listener is.

use portolan_model::{Binding, HostId, Model};
use portolan_observe::drift::FORWARDERS;
use portolan_observe::recognise::NotRecognised;
use portolan_observe::{
    ContainerFixture, ContainerScan, ContainerSource, Engines, Fixture, IdentitySource, Listener,
    NoContainers, System, SystemIdentity,
};

use crate::error::CliError;
use crate::settings::Settings;

/// Environment variable naming a JSON fixture of listeners to use instead of procfs.
pub(crate) const FIXTURE_ENV: &str = "PORTOLAN_LISTENERS_FIXTURE";

/// Environment variable naming a JSON fixture of containers (a scan) to use instead of the
/// engines; with a listeners fixture and without this one, there are no containers.
pub(crate) const CONTAINERS_FIXTURE_ENV: &str = "PORTOLAN_CONTAINERS_FIXTURE";

/// What was observed: host listeners (linked to containers), the containers and the sockets
/// inside them, and notes on what could not be seen.
#[derive(Debug, Default)]
pub(crate) struct LiveView {
    /// Host listeners, publications without a host socket included.
    pub listeners: Vec<Listener>,
    /// Containers and their namespaces.
    pub scan: ContainerScan,
    /// One line each: what could not be seen and why.
    pub notes: Vec<String>,
}

fn read_fixture(path: &std::ffi::OsStr) -> Result<String, CliError> {
    std::fs::read_to_string(path)
        .map_err(|e| CliError::io(format!("cannot read {}", path.to_string_lossy()), e))
}

/// Observes this machine: listeners (owners when `owners`) and, unless `containers` is
/// false, the container engines.
pub(crate) fn observe(owners: bool, containers: bool) -> Result<LiveView, CliError> {
    let containers_fixture = match std::env::var_os(CONTAINERS_FIXTURE_ENV) {
        Some(p) => Some(
            ContainerFixture::from_json(&read_fixture(&p)?)
                .map_err(|e| CliError::Usage(format!("{}: {e}", p.to_string_lossy())))?,
        ),
        None => None,
    };
    let fixture = std::env::var_os(FIXTURE_ENV);
    let engines: Box<dyn ContainerSource + Sync> = match (containers, containers_fixture) {
        (false, _) => Box::new(NoContainers),
        (true, Some(f)) => Box::new(f),
        (true, None) if fixture.is_some() => Box::new(NoContainers),
        (true, None) => Box::new(Engines::from_env()),
    };
    let (o, real) = if let Some(path) = fixture {
        let f = Fixture::from_json(&read_fixture(&path)?)
            .map_err(|e| CliError::Usage(format!("{}: {e}", path.to_string_lossy())))?;
        (
            portolan_observe::observe_all(&f, &f, engines.as_ref(), owners)?,
            false,
        )
    } else {
        let sys = System::default();
        (
            portolan_observe::observe_all(&sys, &sys, engines.as_ref(), owners)?,
            true,
        )
    };
    let mut notes = Vec::new();
    if real && owners && o.gaps.denied > 0 {
        notes.push(format!(
            "owners of sockets of {} process{} are not visible to this user (run as root to see them)",
            o.gaps.denied,
            if o.gaps.denied == 1 { "" } else { "es" }
        ));
    }
    for n in &o.scan.notes {
        notes.push(format!("{n}; containers are not shown"));
    }
    if containers && !o.scan.answered() {
        let mut held: Vec<&str> = o
            .listeners
            .iter()
            .flat_map(|l| &l.owners)
            .map(|w| w.name.as_str())
            .filter(|n| FORWARDERS.contains(n))
            .collect();
        held.sort_unstable();
        held.dedup();
        if !held.is_empty() {
            notes.push(format!(
                "ports held by {} are container publications, but no container engine answered: set DOCKER_HOST to the engine's socket{} to see their containers",
                held.join(", "),
                if super::common::is_root() {
                    " (a rootless engine's is under its user's XDG_RUNTIME_DIR, e.g. unix:///run/user/UID/podman/podman.sock)"
                } else {
                    ", or run as root"
                }
            ));
        }
    }
    let unseen: Vec<&str> = o
        .scan
        .unseen
        .iter()
        .filter_map(|id| o.scan.container(id))
        .filter(|c| !c.publications.is_empty())
        .map(|c| c.name.as_str())
        .collect();
    if !unseen.is_empty() {
        notes.push(format!(
            "what listens inside container{} {} is not known: {} not visible to this user (run as root)",
            if unseen.len() == 1 { "" } else { "s" },
            unseen.join(", "),
            if unseen.len() == 1 { "its processes are" } else { "their processes are" }
        ));
    }
    Ok(LiveView {
        listeners: o.listeners,
        scan: o.scan,
        notes,
    })
}

/// Listeners of this machine (owners when `owners`; container publications included), and
/// what could not be seen.
pub(crate) fn listeners(owners: bool) -> Result<(Vec<Listener>, Vec<String>), CliError> {
    let v = observe(owners, true)?;
    Ok((v.listeners, v.notes))
}

/// A socket listening inside a container's network namespace.
#[derive(Debug)]
pub(crate) struct InsideRow<'a> {
    /// The containers sharing the namespace.
    pub containers: Vec<&'a portolan_observe::container::Container>,
    /// The socket (owners as seen from here).
    pub listener: &'a Listener,
    /// Host sockets publishing to it (`127.0.0.1:8080`).
    pub published: Vec<String>,
}

impl InsideRow<'_> {
    /// Container names, joined.
    pub fn names(&self) -> String {
        self.containers
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Compose `project/service`s, joined (`-` for none).
    pub fn compose(&self) -> String {
        let v: Vec<String> = self
            .containers
            .iter()
            .filter(|c| c.compose.is_some())
            .map(|c| c.label())
            .collect();
        if v.is_empty() {
            "-".into()
        } else {
            v.join(",")
        }
    }

    /// As JSON (`ls --containers --json`, `who --json`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self.listener).unwrap_or_default();
        v["local"] = serde_json::Value::String(self.listener.local());
        v["containers"] = self
            .containers
            .iter()
            .map(|c| {
                serde_json::json!({"engine": c.engine, "id": c.id, "name": c.name, "image": c.image,
                    "project": c.compose.as_ref().map(|x| &x.project),
                    "service": c.compose.as_ref().map(|x| &x.service)})
            })
            .collect();
        v["published"] = serde_json::json!(self.published);
        v
    }
}

/// `0.0.0.0:8080`, `[::]:8080`.
pub(crate) fn socket(addr: std::net::IpAddr, port: u16) -> String {
    match addr {
        std::net::IpAddr::V6(a) => format!("[{a}]:{port}"),
        std::net::IpAddr::V4(a) => format!("{a}:{port}"),
    }
}

/// Every socket inside containers, sorted by container, transport, port, address.
pub(crate) fn inside_rows(scan: &ContainerScan) -> Vec<InsideRow<'_>> {
    let mut rows = Vec::new();
    for ns in &scan.namespaces {
        let containers: Vec<_> = ns
            .containers
            .iter()
            .filter_map(|id| scan.container(id))
            .collect();
        for l in &ns.listeners {
            let mut published: Vec<String> = containers
                .iter()
                .flat_map(|c| &c.publications)
                .filter(|p| p.container_port == l.port && p.transport == l.transport)
                .map(|p| socket(p.host_ip, p.host_port))
                .collect();
            published.sort();
            published.dedup();
            rows.push(InsideRow {
                containers: containers.clone(),
                listener: l,
                published,
            });
        }
    }
    rows.sort_by(|a, b| {
        (
            a.names(),
            a.listener.transport,
            a.listener.port,
            a.listener.addr,
        )
            .cmp(&(
                b.names(),
                b.listener.transport,
                b.listener.port,
                b.listener.addr,
            ))
    });
    rows
}

/// `httpd (pid 12), nginx (pid 13)`.
pub(crate) fn owner_list(l: &Listener) -> String {
    l.owners
        .iter()
        .map(|o| format!("{} (pid {})", o.name, o.pid))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Prints notes on standard error (not with `-q`).
pub(crate) fn print_notes(s: &Settings, notes: &[String]) {
    if s.verbosity >= 0 {
        for n in notes {
            errln!("note: {n}");
        }
    }
}

/// The spec bindings a listener can be (same transport and port, on `host` when given).
pub(crate) fn declared<'m>(
    model: &'m Model,
    l: &Listener,
    host: Option<HostId>,
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

/// Why [`recognise`] found no host: the message says what was read and the candidates,
/// without the way out, which is the caller's.
#[derive(Debug, Clone)]
pub(crate) enum NotHere {
    /// No host is this machine (or the config file names a host the spec lacks).
    Unknown(String),
    /// Several hosts claim this machine: a spec problem, never settled by a guess.
    Ambiguous(String),
}

impl NotHere {
    /// The message.
    pub(crate) fn message(&self) -> &str {
        match self {
            NotHere::Unknown(m) | NotHere::Ambiguous(m) => m,
        }
    }
}

/// Which host of the spec this machine is, for the commands that act as "this host" without
/// `--host`: the config file's `host` when it names one, else the host
/// [`portolan_observe::recognise`] finds by machine id, host name, short name or address.
/// With `-v`, says on stderr how the host was decided.
pub(crate) fn recognise(s: &Settings, model: &Model) -> Result<HostId, NotHere> {
    if let Some(h) = crate::settings::configured_host() {
        let id = model.host_named(h).ok_or_else(|| {
            NotHere::Unknown(format!(
                "the config file says this machine is host `{h}`, which is not in the spec"
            ))
        })?;
        if s.verbosity > 0 {
            errln!("note: this machine is host `{h}`, as the config file's `host` says");
        }
        return Ok(id);
    }
    match portolan_observe::recognise::recognise(model, &SystemIdentity::default()) {
        Ok(r) => {
            if s.verbosity > 0 {
                errln!("note: {}", r.explain(model));
            }
            Ok(r.host())
        }
        Err(e @ NotRecognised::Ambiguous { .. }) => Err(NotHere::Ambiguous(e.message(model))),
        Err(e @ NotRecognised::NoMatch { .. }) => Err(NotHere::Unknown(e.message(model))),
    }
}

/// The way out of [`recognise`]'s error, said by every command that needs "this host".
pub(crate) const DECLARE: &str =
    "declare the machine's `hostnames` or `machine-id` on its host to recognise it without --host";

/// [`recognise`] for the commands that only annotate with it (`ls`, `who`, `alloc`): no
/// host when none or several match, silently.
pub(crate) fn this_host(model: &Model) -> Option<HostId> {
    if let Some(h) = crate::settings::configured_host() {
        return model.host_named(h);
    }
    portolan_observe::recognise::recognise(model, &SystemIdentity::default())
        .ok()
        .map(|r| r.host())
}

/// This machine's short host name (`app1` of `app1.example.org`), `localhost` when unknown.
pub(crate) fn short_hostname() -> String {
    let name = SystemIdentity::default().identity().hostname;
    let short = portolan_model::identity::short_name(&name);
    if short.is_empty() {
        "localhost".to_string()
    } else {
        short.to_string()
    }
}
