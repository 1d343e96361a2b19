//! The Engine API calls portolan makes: one list of running containers per engine
//! (`GET /containers/json`, Docker's shape; Podman answers its libpod list
//! `GET /v4.0.0/libpod/containers/json` — libpod paths need a version — with the process id
//! and port ranges), and, for `kill`,
//! stopping or signalling one container. Responses are parsed with serde into the few fields
//! used; anything else the engine sends is ignored, anything malformed is a note.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use serde::Deserialize;

use super::endpoint::{Endpoint, Problem};
use super::http::{self, HttpError, Response};
use super::{Attachment, Compose, Container, Engine, EngineNote, Exposed, Publication};
use crate::listener::Transport;
use crate::procfs::printable;

/// Podman's native list (a version is required on libpod paths; 4.0.0 is the oldest API
/// Podman 4 and 5 both serve).
const LIBPOD_LIST: &str = "/v4.0.0/libpod/containers/json";

/// Most bytes of one list answer (about 40,000 containers).
const MAX_LIST: usize = 32 * 1024 * 1024;

/// Docker's `GET /containers/json` item (the fields used).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerItem {
    id: String,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    image: String,
    #[serde(default)]
    ports: Option<Vec<DockerPort>>,
    #[serde(default)]
    labels: Option<HashMap<String, String>>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    host_config: Option<DockerHostConfig>,
    #[serde(default)]
    network_settings: Option<DockerNetworkSettings>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerPort {
    #[serde(rename = "IP", default)]
    ip: Option<String>,
    private_port: u16,
    #[serde(default)]
    public_port: Option<u16>,
    #[serde(rename = "Type", default)]
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerHostConfig {
    #[serde(default)]
    network_mode: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerNetworkSettings {
    #[serde(default)]
    networks: Option<HashMap<String, DockerNetwork>>,
}

#[derive(Deserialize)]
struct DockerNetwork {
    #[serde(rename = "IPAddress", default)]
    ip: Option<String>,
    #[serde(rename = "GlobalIPv6Address", default)]
    ipv6: Option<String>,
}

/// Podman's `GET /libpod/containers/json` item (the fields used).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LibpodItem {
    id: String,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    image: String,
    #[serde(default)]
    pid: Option<i64>,
    #[serde(default)]
    ports: Option<Vec<LibpodPort>>,
    #[serde(default)]
    labels: Option<HashMap<String, String>>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    networks: Option<Vec<String>>,
    #[serde(default)]
    is_infra: Option<bool>,
    #[serde(default)]
    exposed_ports: Option<HashMap<String, Vec<String>>>,
}

#[derive(Deserialize)]
struct LibpodPort {
    #[serde(default)]
    host_ip: Option<String>,
    container_port: u16,
    host_port: u16,
    #[serde(default)]
    range: Option<u16>,
    #[serde(default)]
    protocol: Option<String>,
}

fn transport(s: Option<&str>) -> Option<Transport> {
    match s.map(str::to_ascii_lowercase).as_deref() {
        None | Some("" | "tcp") => Some(Transport::Tcp),
        Some("udp") => Some(Transport::Udp),
        _ => None, // sctp: no listener of ours to match
    }
}

/// A publication's host address: empty means every IPv4 address (what the engines bind).
fn host_ip(s: Option<&str>) -> Option<IpAddr> {
    match s.map(str::trim) {
        None | Some("") => Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        Some(a) => a.trim_matches(['[', ']']).parse().ok(),
    }
}

fn compose_of(labels: &HashMap<String, String>) -> Option<Compose> {
    // labels are free text: nothing in them may reach a terminal as a control sequence
    let get = |k: &str| {
        labels
            .get(k)
            .filter(|v| !v.is_empty())
            .map(|v| printable(v))
    };
    let project = get("com.docker.compose.project").or_else(|| get("io.podman.compose.project"))?;
    let service = get("com.docker.compose.service").or_else(|| get("io.podman.compose.service"))?;
    Some(Compose { project, service })
}

/// Docker's primary name: `/web` → `web` (link aliases `/other/alias` are skipped).
fn primary_name(names: &[String], id: &str) -> String {
    names
        .iter()
        .map(|n| n.strip_prefix('/').unwrap_or(n))
        .find(|n| !n.contains('/') && !n.is_empty())
        .map_or_else(|| id.get(..12).unwrap_or(id).to_string(), printable)
}

/// Engine ids are hex; anything else is not a container this client will name or stop.
fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn running(state: Option<&str>) -> bool {
    state.is_none_or(|s| s.eq_ignore_ascii_case("running"))
}

fn docker_container(item: DockerItem, engine: Engine, endpoint: &str) -> Option<Container> {
    if !running(item.state.as_deref()) || !valid_id(&item.id) {
        return None;
    }
    let labels = item.labels.unwrap_or_default();
    let mut publications = Vec::new();
    let mut exposed = Vec::new();
    for p in item.ports.unwrap_or_default() {
        let Some(t) = transport(p.kind.as_deref()) else {
            continue;
        };
        match p.public_port.filter(|p| *p != 0) {
            Some(hp) => {
                if let Some(ip) = host_ip(p.ip.as_deref()) {
                    publications.push(Publication {
                        host_ip: ip,
                        host_port: hp,
                        container_port: p.private_port,
                        transport: t,
                    });
                }
            }
            None => exposed.push(Exposed {
                port: p.private_port,
                transport: t,
            }),
        }
    }
    let mut networks: Vec<Attachment> = item
        .network_settings
        .and_then(|n| n.networks)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, n)| Attachment {
            network: name,
            ip: n
                .ip
                .as_deref()
                .and_then(|a| a.parse().ok())
                .or_else(|| n.ipv6.as_deref().and_then(|a| a.parse().ok())),
        })
        .collect();
    networks.sort();
    Some(finish(Container {
        engine,
        endpoint: endpoint.to_string(),
        name: primary_name(&item.names, &item.id),
        id: item.id,
        image: printable(&item.image),
        compose: compose_of(&labels),
        network_mode: item.host_config.and_then(|h| h.network_mode),
        networks,
        publications,
        exposed,
        pid: None,
        netns: None,
    }))
}

fn libpod_container(item: LibpodItem, endpoint: &str) -> Option<Container> {
    if !running(item.state.as_deref()) || !valid_id(&item.id) {
        return None;
    }
    let labels = item.labels.unwrap_or_default();
    let mut publications = Vec::new();
    for p in item.ports.unwrap_or_default() {
        let Some(ip) = host_ip(p.host_ip.as_deref()) else {
            continue;
        };
        let span = p.range.unwrap_or(1).max(1);
        for proto in p.protocol.as_deref().unwrap_or("tcp").split(',') {
            let Some(t) = transport(Some(proto.trim())) else {
                continue;
            };
            for k in 0..span {
                let (Some(hp), Some(cp)) =
                    (p.host_port.checked_add(k), p.container_port.checked_add(k))
                else {
                    break;
                };
                publications.push(Publication {
                    host_ip: ip,
                    host_port: hp,
                    container_port: cp,
                    transport: t,
                });
            }
        }
    }
    let mut exposed = Vec::new();
    for (port, protos) in item.exposed_ports.unwrap_or_default() {
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        for proto in protos {
            if let Some(t) = transport(Some(&proto))
                && !publications
                    .iter()
                    .any(|p| p.container_port == port && p.transport == t)
            {
                exposed.push(Exposed { port, transport: t });
            }
        }
    }
    let mut networks: Vec<Attachment> = item
        .networks
        .unwrap_or_default()
        .into_iter()
        .map(|network| Attachment { network, ip: None })
        .collect();
    networks.sort();
    let name = primary_name(&item.names, &item.id);
    Some(finish(Container {
        engine: Engine::Podman,
        endpoint: endpoint.to_string(),
        id: item.id,
        name,
        image: printable(&item.image),
        compose: compose_of(&labels),
        network_mode: item
            .is_infra
            .filter(|i| *i)
            .map(|_| "pod-infra".to_string()),
        networks,
        publications,
        exposed,
        pid: item
            .pid
            .and_then(|p| u32::try_from(p).ok())
            .filter(|p| *p > 0),
        netns: None,
    }))
}

fn finish(mut c: Container) -> Container {
    c.publications.sort();
    c.publications.dedup();
    c.exposed.sort();
    c.exposed.dedup();
    c
}

/// The engine that answered, from its `Server` header (`Docker/20.10`, `Libpod/4.3.1`).
fn engine_of(r: &Response, hint: Option<Engine>) -> Engine {
    let server = r.header("server").unwrap_or_default().to_ascii_lowercase();
    if server.contains("libpod") || r.header("libpod-api-version").is_some() {
        Engine::Podman
    } else if server.contains("docker") {
        Engine::Docker
    } else {
        hint.unwrap_or(Engine::Docker)
    }
}

/// Maps a failed request to a note naming the endpoint.
pub fn note_for(e: &Endpoint, err: &HttpError) -> EngineNote {
    let ep = e.display();
    let what = match e.hint {
        Some(Engine::Podman) => "the Podman API",
        Some(Engine::Docker) => "the Docker engine",
        None => "the container engine",
    };
    let (problem, message) = match err {
        HttpError::Connect(io) => match io.kind() {
            std::io::ErrorKind::PermissionDenied => (
                Problem::PermissionDenied,
                format!(
                    "cannot ask {what} at {ep}: permission denied (add this user to the socket's group, e.g. `docker`, or run as root)"
                ),
            ),
            std::io::ErrorKind::NotFound => (
                Problem::Missing,
                format!(
                    "cannot ask {what} at {ep}: the socket does not exist (is the daemon running?)"
                ),
            ),
            std::io::ErrorKind::ConnectionRefused => (
                Problem::NoDaemon,
                format!(
                    "cannot ask {what} at {ep}: no daemon answers (connection refused; a stale socket of a stopped daemon?)"
                ),
            ),
            _ => (
                Problem::NoDaemon,
                format!("cannot ask {what} at {ep}: {io}"),
            ),
        },
        HttpError::Timeout(d) => (
            Problem::Timeout,
            format!("{what} at {ep} did not answer within {} s", d.as_secs_f32()),
        ),
        other => (
            Problem::Protocol,
            format!("{what} at {ep} gave an unexpected answer: {other}"),
        ),
    };
    EngineNote {
        endpoint: ep,
        problem,
        message,
        explicit: e.explicit,
    }
}

fn protocol_note(e: &Endpoint, why: &str) -> EngineNote {
    EngineNote {
        endpoint: e.display(),
        problem: Problem::Protocol,
        message: format!(
            "{} gave an unexpected answer (is it a Docker or Podman API socket?): {why}",
            e.display()
        ),
        explicit: e.explicit,
    }
}

fn api_message(r: &Response) -> String {
    serde_json::from_slice::<serde_json::Value>(&r.body)
        .ok()
        .and_then(|v| v.get("message")?.as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&r.body).chars().take(200).collect())
}

fn get(e: &Endpoint, path: &str, timeout: Duration) -> Result<Response, EngineNote> {
    http::request(&e.target, "GET", path, timeout, MAX_LIST).map_err(|err| note_for(e, &err))
}

fn parse_libpod(e: &Endpoint, r: &Response) -> Result<Vec<Container>, EngineNote> {
    let items: Vec<LibpodItem> =
        serde_json::from_slice(&r.body).map_err(|err| protocol_note(e, &err.to_string()))?;
    Ok(items
        .into_iter()
        .filter_map(|i| libpod_container(i, &e.display()))
        .collect())
}

/// The running containers of the engine at `e` (one list call; two for Podman reached
/// through a Docker-named socket).
pub fn list(e: &Endpoint, timeout: Duration) -> Result<(Engine, Vec<Container>), EngineNote> {
    if e.hint == Some(Engine::Podman) {
        let r = get(e, LIBPOD_LIST, timeout)?;
        if r.status == 200 {
            return Ok((Engine::Podman, parse_libpod(e, &r)?));
        }
    }
    let r = get(e, "/containers/json", timeout)?;
    if r.status != 200 {
        return Err(protocol_note(
            e,
            &format!("HTTP {} {}", r.status, api_message(&r)),
        ));
    }
    let engine = engine_of(&r, e.hint);
    if engine == Engine::Podman
        && e.hint != Some(Engine::Podman)
        && let Ok(lr) = get(e, LIBPOD_LIST, timeout)
        && lr.status == 200
    {
        return Ok((engine, parse_libpod(e, &lr)?));
    }
    let items: Vec<DockerItem> =
        serde_json::from_slice(&r.body).map_err(|err| protocol_note(e, &err.to_string()))?;
    Ok((
        engine,
        items
            .into_iter()
            .filter_map(|i| docker_container(i, engine, &e.display()))
            .collect(),
    ))
}

/// The process id of one container (`GET /containers/{id}/json`), for engines whose list
/// does not carry it when procfs did not tell.
pub fn pid_of(e: &Endpoint, id: &str, timeout: Duration) -> Option<u32> {
    if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let r = get(e, &format!("/containers/{id}/json"), timeout).ok()?;
    if r.status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
    u32::try_from(v.get("State")?.get("Pid")?.as_u64()?)
        .ok()
        .filter(|p| *p > 0)
}

/// Why stopping a container failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The engine could not be reached.
    #[error("{0}")]
    Unreachable(String),
    /// The engine refused (HTTP status and its message).
    #[error("the engine answered HTTP {0}: {1}")]
    Refused(u16, String),
    /// Not a container id.
    #[error("`{0}` is not a container id")]
    BadId(String),
}

fn control(e: &Endpoint, path: &str, timeout: Duration) -> Result<u16, ControlError> {
    let r = http::request(&e.target, "POST", path, timeout, 64 * 1024)
        .map_err(|err| ControlError::Unreachable(note_for(e, &err).message))?;
    match r.status {
        200..=299 | 304 => Ok(r.status),
        s => Err(ControlError::Refused(s, api_message(&r))),
    }
}

/// Stops a container the way `docker stop` does: its stop signal, then SIGKILL after
/// `grace`. Returns whether it was running (304: already stopped).
pub fn stop(e: &Endpoint, id: &str, grace: Duration) -> Result<bool, ControlError> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ControlError::BadId(id.to_string()));
    }
    let t = grace.as_secs().max(1);
    let status = control(
        e,
        &format!("/containers/{id}/stop?t={t}"),
        grace + Duration::from_secs(10),
    )?;
    Ok(status != 304)
}

/// Sends a signal (`HUP`, `USR1`, …) to a container's main process.
pub fn signal(e: &Endpoint, id: &str, signal: &str) -> Result<(), ControlError> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ControlError::BadId(id.to_string()));
    }
    let sig: String = signal.chars().filter(char::is_ascii_alphanumeric).collect();
    control(
        e,
        &format!("/containers/{id}/kill?signal={sig}"),
        Duration::from_secs(10),
    )
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER: &str = r#"[{"Id":"eaf3d724c12409fc1c3115344c9ca1cb833135502075aaaa68a159f5d9751c0a","Names":["/shop-web-1"],"Image":"ptl-busybox:1","Command":"httpd -f -p 80","Ports":[{"IP":"127.0.0.1","PrivatePort":80,"PublicPort":18080,"Type":"tcp"},{"IP":"0.0.0.0","PrivatePort":81,"PublicPort":18081,"Type":"tcp"},{"IP":"::","PrivatePort":81,"PublicPort":18081,"Type":"tcp"},{"PrivatePort":9000,"Type":"tcp"},{"PrivatePort":5353,"Type":"udp"},{"IP":"0.0.0.0","PrivatePort":132,"PublicPort":132,"Type":"sctp"}],"Labels":{"com.docker.compose.project":"shop","com.docker.compose.service":"web"},"State":"running","HostConfig":{"NetworkMode":"shop_default"},"NetworkSettings":{"Networks":{"shop_default":{"IPAddress":"10.213.7.2"}}}},
        {"Id":"1111111111111111111111111111111111111111111111111111111111111111","Names":["/old"],"Image":"x","State":"exited","Ports":[]},
        {"Id":"2222222222222222222222222222222222222222222222222222222222222222","Names":["/linked/alias","/plain"],"Image":"y","Labels":null,"Ports":null}]"#;

    #[test]
    fn docker_list_to_containers() {
        let items: Vec<DockerItem> = serde_json::from_str(DOCKER).unwrap();
        let cs: Vec<Container> = items
            .into_iter()
            .filter_map(|i| docker_container(i, Engine::Docker, "unix:///d.sock"))
            .collect();
        assert_eq!(cs.len(), 2, "exited containers are left out");
        let web = &cs[0];
        assert_eq!(web.name, "shop-web-1");
        assert_eq!(web.short_id(), "eaf3d724c124");
        assert_eq!(web.label(), "shop/web");
        let pubs: Vec<String> = web
            .publications
            .iter()
            .map(|p| {
                format!(
                    "{}:{}->{}/{}",
                    p.host_ip,
                    p.host_port,
                    p.container_port,
                    p.transport.as_str()
                )
            })
            .collect();
        assert_eq!(
            pubs,
            [
                "0.0.0.0:18081->81/tcp",
                "127.0.0.1:18080->80/tcp",
                ":::18081->81/tcp"
            ]
        );
        assert_eq!(web.exposed.len(), 2, "expose is not a publication");
        assert_eq!(web.networks[0].ip, Some("10.213.7.2".parse().unwrap()));
        assert_eq!(web.network_mode.as_deref(), Some("shop_default"));
        assert_eq!(cs[1].name, "plain");
        assert_eq!(cs[1].compose, None);
    }

    #[test]
    fn libpod_list_with_ranges_pids_and_podman_compose_labels() {
        let json = r#"[{"Id":"979562f003c81ac3497ed2b6107f9285303e6f4f13ddbaaf5fb2dbac9686563b","Names":["pweb"],"Image":"localhost/ptl-busybox:1","Pid":4242,"State":"running","Ports":[{"host_ip":"","container_port":8000,"host_port":18000,"range":3,"protocol":"tcp,udp"}],"Labels":{"io.podman.compose.project":"p","io.podman.compose.service":"api"},"Networks":["podman"],"ExposedPorts":{"9000":["tcp"],"8000":["tcp"]}}]"#;
        let items: Vec<LibpodItem> = serde_json::from_str(json).unwrap();
        let c = libpod_container(items.into_iter().next().unwrap(), "unix:///p.sock").unwrap();
        assert_eq!(c.pid, Some(4242));
        assert_eq!(c.publications.len(), 6);
        assert_eq!(c.publications[0].host_ip, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(
            (
                c.publications[5].host_port,
                c.publications[5].container_port
            ),
            (18002, 8002)
        );
        assert_eq!(c.label(), "p/api");
        assert_eq!(
            c.exposed,
            [Exposed {
                port: 9000,
                transport: Transport::Tcp
            }]
        );
    }

    #[test]
    fn garbage_is_a_note_not_a_panic() {
        let e = Endpoint {
            target: super::super::http::Target::Unix("/nonexistent/portolan-test.sock".into()),
            explicit: true,
            hint: None,
        };
        let n = list(&e, Duration::from_millis(200)).unwrap_err();
        assert_eq!(n.problem, Problem::Missing);
        assert!(n.message.contains("does not exist"), "{}", n.message);
        assert!(serde_json::from_str::<Vec<DockerItem>>(r#"[{"Names":[]}]"#).is_err());
        assert!(stop(&e, "../../x", Duration::from_secs(1)).is_err());
    }
}
