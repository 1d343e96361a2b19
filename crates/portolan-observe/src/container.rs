//! Containers as the container engine reports them: running containers, their names, images,
//! compose project and service, networks and the ports they publish on the host — read from
//! the Docker Engine API (Docker, or Podman's Docker-compatible and libpod APIs) over its unix
//! socket — and the sockets listening inside each container's network namespace.
//!
//! Like the socket and process sources, the engine is injected: a [`ContainerSource`] yields
//! a [`ContainerScan`]; [`Engines`] asks the real engines (one list call per engine), the
//! [`ContainerFixture`] reads JSON, so everything built on it is snapshot-testable. A scan
//! never fails: an engine that cannot be reached (no daemon, no permission, a remote
//! `DOCKER_HOST`) is an [`EngineNote`] and its containers are simply not known — the rest of
//! the observation is unchanged.
//!
//! `expose` (an `EXPOSE`d or `--expose`d port) is recorded but publishes nothing: only
//! [`Publication`]s reach the host.

pub mod api;
pub mod endpoint;
pub mod http;
pub mod netns;

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::ObserveError;
use crate::listener::{Listener, Transport};

pub use endpoint::{Endpoint, EngineNote};

/// A container engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Docker (`dockerd`).
    Docker,
    /// Podman (its Docker-compatible or libpod API).
    Podman,
}

impl Engine {
    /// `docker` / `podman`: also the spec's `publisher` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Docker => "docker",
            Engine::Podman => "podman",
        }
    }
}

/// The compose project and service a container belongs to (labels
/// `com.docker.compose.project`/`.service`, or podman-compose's `io.podman.compose.*`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Compose {
    /// Project (`docker compose -p`, by default the directory name).
    pub project: String,
    /// Service (the key under `services:`).
    pub service: String,
}

/// A port a container publishes on the host (`-p 127.0.0.1:8080:80/tcp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Publication {
    /// Host address (`0.0.0.0` when published on every address).
    pub host_ip: IpAddr,
    /// Host port.
    pub host_port: u16,
    /// Port inside the container.
    pub container_port: u16,
    /// Transport.
    pub transport: Transport,
}

/// A port a container exposes (`EXPOSE`, `--expose`) without publishing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Exposed {
    /// Port inside the container.
    pub port: u16,
    /// Transport.
    pub transport: Transport,
}

/// A network a container is attached to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Attachment {
    /// Network name.
    pub network: String,
    /// The container's address on it, when it has one.
    pub ip: Option<IpAddr>,
}

/// A running container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
    /// Engine.
    pub engine: Engine,
    /// The engine endpoint it was listed from (`unix:///var/run/docker.sock`).
    pub endpoint: String,
    /// Full id.
    pub id: String,
    /// Name, without Docker's leading `/`.
    pub name: String,
    /// Image as the engine names it.
    pub image: String,
    /// Compose project and service, when started by compose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compose: Option<Compose>,
    /// Network mode (`bridge`, `host`, `none`, `container:<id>`, a network name), when the
    /// engine says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// Networks and addresses.
    #[serde(default)]
    pub networks: Vec<Attachment>,
    /// Ports published on the host, sorted.
    #[serde(default)]
    pub publications: Vec<Publication>,
    /// Ports exposed but not published, sorted.
    #[serde(default)]
    pub exposed: Vec<Exposed>,
    /// A process of the container (as seen from here), when found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Its network namespace (the inode of `/proc/PID/ns/net`), when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<u64>,
}

impl Container {
    /// The first 12 characters of the id, as `docker ps` shows it.
    pub fn short_id(&self) -> &str {
        self.id.get(..12).unwrap_or(&self.id)
    }

    /// `project/service` for a compose container, else the container name.
    pub fn label(&self) -> String {
        self.compose.as_ref().map_or_else(
            || self.name.clone(),
            |c| format!("{}/{}", c.project, c.service),
        )
    }
}

/// A network namespace of containers and the sockets listening in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    /// The namespace's key: the inode of `/proc/PID/ns/net`, or, where that link may not be
    /// read, a key derived from the first container's id.
    pub key: u64,
    /// Ids of the containers sharing it (a pod, `network_mode: container:…`).
    pub containers: Vec<String>,
    /// Listening TCP and bound UDP sockets in it (owners filled by the observation).
    pub listeners: Vec<Listener>,
}

/// What the container engines said.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerScan {
    /// Running containers of every engine that answered, sorted by name.
    pub containers: Vec<Container>,
    /// Network namespaces of containers (not the host's), with their listeners.
    #[serde(default)]
    pub namespaces: Vec<Namespace>,
    /// Ids of running containers whose sockets could not be read (no process found, or no
    /// permission): for them, what listens inside is unknown.
    #[serde(default)]
    pub unseen: Vec<String>,
    /// Engines that could not be asked, and why.
    #[serde(default)]
    pub notes: Vec<EngineNote>,
    /// Engines that answered (`docker at unix:///var/run/docker.sock`).
    #[serde(default)]
    pub engines: Vec<String>,
}

impl ContainerScan {
    /// The container with this id.
    pub fn container(&self, id: &str) -> Option<&Container> {
        self.containers.iter().find(|c| c.id == id)
    }

    /// The namespace a container's sockets are in.
    pub fn namespace_of(&self, id: &str) -> Option<&Namespace> {
        self.namespaces
            .iter()
            .find(|n| n.containers.iter().any(|c| c == id))
    }

    /// The container a cgroup-derived owner tag (`docker:4b1e7c0ad2f9`) names.
    pub fn by_tag(&self, tag: &str) -> Option<&Container> {
        let (_, id) = tag.split_once(':')?;
        if id.len() < 12 {
            return None;
        }
        self.containers.iter().find(|c| c.id.starts_with(id))
    }

    /// Whether any engine answered.
    pub fn answered(&self) -> bool {
        !self.engines.is_empty()
    }
}

/// Lists containers and what listens inside them.
pub trait ContainerSource {
    /// Running containers, their publications and the sockets of their namespaces. Never
    /// fails: what cannot be asked is a note.
    fn scan(&self) -> ContainerScan;
}

/// No container engine at all (`--no-containers`, fixtures without containers).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoContainers;

impl ContainerSource for NoContainers {
    fn scan(&self) -> ContainerScan {
        ContainerScan::default()
    }
}

/// The real engines: each endpoint is asked for its running containers (one list call), then
/// each container's network namespace is read through procfs.
#[derive(Debug, Clone)]
pub struct Engines {
    /// Where to ask.
    pub endpoints: Vec<Endpoint>,
    /// Notes about endpoints that were configured but cannot be used (a remote or TLS
    /// `DOCKER_HOST`, an unreadable context).
    pub config_notes: Vec<EngineNote>,
    /// procfs mount (normally `/proc`).
    pub proc_root: std::path::PathBuf,
    /// Per request.
    pub timeout: std::time::Duration,
}

impl Engines {
    /// The engines of this machine, as `DOCKER_HOST`, `DOCKER_CONTEXT`, the Docker CLI's
    /// current context or the usual socket paths name them (see [`endpoint::discover`]).
    pub fn from_env() -> Engines {
        let (endpoints, config_notes) = endpoint::discover(&endpoint::Env::from_process());
        Engines {
            endpoints,
            config_notes,
            proc_root: std::path::PathBuf::from("/proc"),
            timeout: std::time::Duration::from_secs(3),
        }
    }
}

impl ContainerSource for Engines {
    fn scan(&self) -> ContainerScan {
        let mut scan = ContainerScan {
            notes: self.config_notes.clone(),
            ..ContainerScan::default()
        };
        if self.endpoints.is_empty() {
            return scan;
        }
        // the processes' cgroups are read while the engines answer
        let (listed, by_cgroup) = std::thread::scope(|s| {
            let cgroups = s.spawn(|| netns::pids_by_cgroup(&self.proc_root));
            let listed: Vec<_> = self
                .endpoints
                .iter()
                .map(|e| (e, api::list(e, self.timeout)))
                .collect();
            portolan_model::timings::phase("containers: engine list");
            (listed, cgroups.join().unwrap_or_default())
        });
        portolan_model::timings::phase("containers: pids by cgroup");
        for (e, result) in listed {
            match result {
                Ok((engine, list)) => {
                    scan.engines
                        .push(format!("{} at {}", engine.as_str(), e.display()));
                    scan.containers.extend(list);
                }
                Err(note) => {
                    if !note.silent() {
                        scan.notes.push(note);
                    }
                }
            }
        }
        // the same container listed through two sockets (podman-docker's symlink) once
        scan.containers
            .sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        scan.containers.dedup_by(|a, b| a.id == b.id);
        if !scan.containers.is_empty() {
            netns::read_namespaces(&self.proc_root, &mut scan, &by_cgroup, self.timeout);
        }
        portolan_model::timings::phase("containers: namespaces");
        scan
    }
}

/// Containers recorded as JSON (a [`ContainerScan`]).
#[derive(Debug, Clone, Default)]
pub struct ContainerFixture {
    scan: ContainerScan,
}

impl ContainerFixture {
    /// Reads a fixture from JSON text.
    pub fn from_json(text: &str) -> Result<ContainerFixture, ObserveError> {
        serde_json::from_str(text)
            .map(|scan| ContainerFixture { scan })
            .map_err(|e| ObserveError::Fixture(e.to_string()))
    }
}

impl ContainerSource for ContainerFixture {
    fn scan(&self) -> ContainerScan {
        let mut s = self.scan.clone();
        for n in &mut s.namespaces {
            for l in &mut n.listeners {
                l.owners.clear(); // owners come from the process source, as for host sockets
            }
        }
        s
    }
}

/// Publications keyed by (transport, host port), for lookups.
pub fn publications_by_port(
    scan: &ContainerScan,
) -> BTreeMap<(Transport, u16), Vec<(&Container, &Publication)>> {
    let mut out: BTreeMap<(Transport, u16), Vec<(&Container, &Publication)>> = BTreeMap::new();
    for c in &scan.containers {
        for p in &c.publications {
            out.entry((p.transport, p.host_port))
                .or_default()
                .push((c, p));
        }
    }
    out
}
