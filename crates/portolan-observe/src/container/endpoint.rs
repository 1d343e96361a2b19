//! Where the container engines of this machine listen, the way the Docker CLI finds them:
//! `DOCKER_HOST` (only that one), else `DOCKER_CONTEXT` or the CLI's current context
//! (`$DOCKER_CONFIG/config.json`, `~/.docker/contexts/meta/*/meta.json`), else the usual
//! sockets — Docker's `/var/run/docker.sock`, Podman's `/run/podman/podman.sock`, and the
//! rootless ones under `$XDG_RUNTIME_DIR` (as root, every user's under `/run/user`).
//!
//! An engine named explicitly that cannot be used is a note; a usual socket that does not
//! exist is simply no engine. Engines on other machines (`tcp://` to a non-loopback address,
//! `ssh://`) are never asked: their containers are not this machine's.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Engine;
use super::http::Target;

/// An engine endpoint to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Where.
    pub target: Target,
    /// Configured explicitly (`DOCKER_HOST`, a context): a missing socket is worth a note.
    pub explicit: bool,
    /// The engine the path suggests (a `podman.sock` is Podman's), confirmed by the answer.
    pub hint: Option<Engine>,
}

impl Endpoint {
    /// `unix:///var/run/docker.sock`, `tcp://127.0.0.1:2375`.
    pub fn display(&self) -> String {
        match &self.target {
            Target::Unix(p) => format!("unix://{}", p.display()),
            Target::Tcp(a) => format!("tcp://{a}"),
        }
    }
}

/// Why an engine could not be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Problem {
    /// The socket exists but this user may not connect.
    PermissionDenied,
    /// Nothing accepts on the socket (a stopped daemon's stale socket).
    NoDaemon,
    /// The socket does not exist.
    Missing,
    /// No answer in time.
    Timeout,
    /// An engine on another machine.
    Remote,
    /// A scheme or setting this client does not speak (`ssh://`, TLS).
    Unsupported,
    /// An answer that is not the Engine API.
    Protocol,
}

/// An engine that could not be asked, and why (printed as a note; nothing else changes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineNote {
    /// The endpoint as configured.
    pub endpoint: String,
    /// What went wrong.
    pub problem: Problem,
    /// One sentence for the user.
    pub message: String,
    /// Whether the endpoint was configured explicitly.
    #[serde(default)]
    pub explicit: bool,
}

impl EngineNote {
    /// A note.
    pub fn new(endpoint: &str, problem: Problem, message: impl Into<String>) -> EngineNote {
        EngineNote {
            endpoint: endpoint.to_string(),
            problem,
            message: message.into(),
            explicit: true,
        }
    }

    /// A usual socket that is not there: no engine, nothing to say.
    pub fn silent(&self) -> bool {
        !self.explicit && self.problem == Problem::Missing
    }
}

impl std::fmt::Display for EngineNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What discovery reads from the environment (injected for tests).
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// `DOCKER_HOST`.
    pub docker_host: Option<String>,
    /// `DOCKER_TLS_VERIFY` is set (to anything non-empty).
    pub tls_verify: bool,
    /// `DOCKER_CONTEXT`.
    pub docker_context: Option<String>,
    /// `DOCKER_CONFIG`, else `$HOME/.docker`.
    pub docker_config: Option<PathBuf>,
    /// `XDG_RUNTIME_DIR`.
    pub xdg_runtime_dir: Option<PathBuf>,
    /// Effective uid 0: every user's rootless engine is looked for too.
    pub root: bool,
    /// Prefix for the usual absolute paths (`/` normally; a temp dir in tests).
    pub fs_root: PathBuf,
}

impl Env {
    /// This process's environment.
    pub fn from_process() -> Env {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let home = var("HOME").map(PathBuf::from);
        Env {
            docker_host: var("DOCKER_HOST"),
            tls_verify: var("DOCKER_TLS_VERIFY").is_some(),
            docker_context: var("DOCKER_CONTEXT"),
            docker_config: var("DOCKER_CONFIG")
                .map(PathBuf::from)
                .or_else(|| home.map(|h| h.join(".docker"))),
            xdg_runtime_dir: var("XDG_RUNTIME_DIR").map(PathBuf::from),
            root: rustix::process::geteuid().is_root(),
            fs_root: PathBuf::from("/"),
        }
    }

    fn path(&self, abs: &str) -> PathBuf {
        self.fs_root.join(abs.trim_start_matches('/'))
    }
}

fn hint_of(path: &Path) -> Option<Engine> {
    let p = path.to_string_lossy();
    if p.contains("podman") {
        Some(Engine::Podman)
    } else if p.contains("docker") {
        Some(Engine::Docker)
    } else {
        None
    }
}

/// Parses a `DOCKER_HOST`-style address (`unix:///run/docker.sock`, `tcp://127.0.0.1:2375`).
pub fn parse_host(host: &str, tls: bool, source: &str) -> Result<Endpoint, EngineNote> {
    let note = |p, m: String| Err(EngineNote::new(host, p, m));
    if let Some(path) = host.strip_prefix("unix://") {
        if path.is_empty() {
            return note(
                Problem::Unsupported,
                format!("{source}={host}: no socket path"),
            );
        }
        let path = PathBuf::from(path);
        return Ok(Endpoint {
            hint: hint_of(&path),
            target: Target::Unix(path),
            explicit: true,
        });
    }
    if let Some(rest) = host
        .strip_prefix("tcp://")
        .or_else(|| host.strip_prefix("http://"))
    {
        let hostport = rest.split('/').next().unwrap_or_default();
        let with_port = if hostport.rsplit_once(':').is_some_and(|(h, p)| {
            !h.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty()
        }) && !hostport.ends_with(']')
        {
            hostport.to_string()
        } else {
            format!("{hostport}:2375")
        };
        let addrs: Vec<SocketAddr> = with_port
            .to_socket_addrs()
            .map(Iterator::collect)
            .unwrap_or_default();
        let Some(addr) = addrs.first().copied() else {
            return note(
                Problem::Unsupported,
                format!("{source}={host}: not an address this machine can resolve"),
            );
        };
        if !addrs.iter().all(|a| is_local(a.ip())) {
            return note(
                Problem::Remote,
                format!(
                    "{source}={host} is an engine on another machine: its containers are not this machine's, so they are not shown"
                ),
            );
        }
        if tls || addr.port() == 2376 {
            return note(
                Problem::Unsupported,
                format!(
                    "{source}={host} needs TLS, which portolan does not speak to engines: expose the engine's unix socket to it instead"
                ),
            );
        }
        return Ok(Endpoint {
            target: Target::Tcp(addr),
            explicit: true,
            hint: None,
        });
    }
    let scheme = host.split("://").next().unwrap_or(host);
    note(
        Problem::Unsupported,
        format!(
            "{source}={host}: the `{scheme}` scheme is not supported (unix:// or tcp:// to this machine)"
        ),
    )
}

fn is_local(ip: IpAddr) -> bool {
    ip.is_loopback()
}

#[derive(Deserialize)]
struct CliConfig {
    #[serde(rename = "currentContext", default)]
    current_context: Option<String>,
}

#[derive(Deserialize)]
struct ContextMeta {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Endpoints", default)]
    endpoints: std::collections::HashMap<String, ContextEndpoint>,
}

#[derive(Deserialize)]
struct ContextEndpoint {
    #[serde(rename = "Host", default)]
    host: Option<String>,
}

/// Bounded read of a small configuration file.
fn read_small(path: &Path) -> Option<String> {
    use std::io::Read as _;
    let f = std::fs::File::open(path).ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut s = String::new();
    f.take(1 << 20).read_to_string(&mut s).ok()?;
    Some(s)
}

/// The `DOCKER_HOST` of the Docker CLI context `name`, from `config/contexts/meta`.
fn context_host(config: &Path, name: &str) -> Result<String, String> {
    let dir = config.join("contexts").join("meta");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for e in entries.filter_map(Result::ok) {
        let Some(text) = read_small(&e.path().join("meta.json")) else {
            continue;
        };
        let Ok(meta) = serde_json::from_str::<ContextMeta>(&text) else {
            continue;
        };
        if meta.name == name {
            return meta
                .endpoints
                .get("docker")
                .and_then(|d| d.host.clone())
                .ok_or_else(|| format!("context `{name}` has no docker endpoint"));
        }
    }
    Err(format!("no context `{name}` under {}", dir.display()))
}

/// The endpoints to ask, and notes about configured ones that cannot be used.
pub fn discover(env: &Env) -> (Vec<Endpoint>, Vec<EngineNote>) {
    if let Some(h) = &env.docker_host {
        return match parse_host(h, env.tls_verify, "DOCKER_HOST") {
            Ok(e) => (vec![e], Vec::new()),
            Err(n) => (Vec::new(), vec![n]),
        };
    }
    let context = env.docker_context.clone().or_else(|| {
        let cfg = env.docker_config.as_ref()?.join("config.json");
        serde_json::from_str::<CliConfig>(&read_small(&cfg)?)
            .ok()?
            .current_context
    });
    if let Some(ctx) = context.filter(|c| c != "default") {
        let found = env
            .docker_config
            .as_ref()
            .ok_or_else(|| "no Docker CLI configuration directory".to_string())
            .and_then(|cfg| context_host(cfg, &ctx));
        return match found.map(|h| parse_host(&h, env.tls_verify, &format!("context `{ctx}`"))) {
            Ok(Ok(e)) => (vec![e], Vec::new()),
            Ok(Err(n)) => (Vec::new(), vec![n]),
            Err(why) => (
                Vec::new(),
                vec![EngineNote::new(
                    &ctx,
                    Problem::Unsupported,
                    format!("the Docker CLI context `{ctx}` cannot be read: {why}"),
                )],
            ),
        };
    }
    let mut paths = vec![
        env.path("/var/run/docker.sock"),
        env.path("/run/podman/podman.sock"),
    ];
    if let Some(x) = &env.xdg_runtime_dir {
        paths.push(x.join("docker.sock"));
        paths.push(x.join("podman").join("podman.sock"));
    }
    if env.root {
        // every user's rootless engine (socket-activated by their user units)
        if let Ok(users) = std::fs::read_dir(env.path("/run/user")) {
            let mut dirs: Vec<PathBuf> = users.filter_map(Result::ok).map(|e| e.path()).collect();
            dirs.sort();
            for d in dirs {
                paths.push(d.join("docker.sock"));
                paths.push(d.join("podman").join("podman.sock"));
            }
        }
    }
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for p in paths {
        if !p.exists() && std::fs::symlink_metadata(&p).is_err() {
            continue;
        }
        // podman-docker links docker.sock to podman.sock: ask it once
        let canon = std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
        if seen.contains(&canon) {
            continue;
        }
        seen.push(canon.clone());
        out.push(Endpoint {
            hint: hint_of(&canon),
            target: Target::Unix(p),
            explicit: false,
        });
    }
    (out, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(root: &Path) -> Env {
        Env {
            fs_root: root.to_path_buf(),
            ..Env::default()
        }
    }

    #[test]
    fn docker_host_is_the_only_endpoint() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = env(dir.path());
        e.docker_host = Some("unix:///tmp/x/docker.sock".into());
        let (eps, notes) = discover(&e);
        assert_eq!(eps.len(), 1);
        assert_eq!(eps[0].display(), "unix:///tmp/x/docker.sock");
        assert!(eps[0].explicit && notes.is_empty());
        e.docker_host = Some("tcp://127.0.0.1:2375".into());
        assert_eq!(
            discover(&e).0[0].target,
            Target::Tcp("127.0.0.1:2375".parse().unwrap())
        );
        e.docker_host = Some("tcp://localhost".into());
        assert!(matches!(discover(&e).0[0].target, Target::Tcp(a) if a.port() == 2375));
        for (host, problem) in [
            ("tcp://192.0.2.7:2375", Problem::Remote),
            ("tcp://127.0.0.1:2376", Problem::Unsupported),
            ("ssh://me@build-box", Problem::Unsupported),
            ("npipe:////./pipe/docker_engine", Problem::Unsupported),
            ("unix://", Problem::Unsupported),
        ] {
            e.docker_host = Some(host.into());
            let (eps, notes) = discover(&e);
            assert!(eps.is_empty(), "{host}");
            assert_eq!(notes[0].problem, problem, "{host}: {}", notes[0]);
        }
        e.docker_host = Some("tcp://127.0.0.1:2375".into());
        e.tls_verify = true;
        assert_eq!(discover(&e).1[0].problem, Problem::Unsupported);
    }

    #[test]
    fn usual_sockets_that_exist_deduplicated_through_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("run/podman")).unwrap();
        std::fs::create_dir_all(root.join("var/run")).unwrap();
        let podman = root.join("run/podman/podman.sock");
        let _l = std::os::unix::net::UnixListener::bind(&podman).unwrap();
        // podman-docker: docker.sock → podman.sock
        std::os::unix::fs::symlink(&podman, root.join("var/run/docker.sock")).unwrap();
        let (eps, notes) = discover(&env(root));
        assert!(notes.is_empty());
        assert_eq!(eps.len(), 1, "{eps:?}");
        assert_eq!(eps[0].hint, Some(Engine::Podman));
        assert!(!eps[0].explicit);
        // nothing there: no engine, no note
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(discover(&env(empty.path())), (Vec::new(), Vec::new()));
    }

    #[test]
    fn docker_cli_contexts() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join(".docker");
        let meta = cfg.join("contexts/meta/0123abcd");
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"rootless","Metadata":{},"Endpoints":{"docker":{"Host":"unix:///run/user/1000/docker.sock","SkipTLSVerify":false}}}"#,
        )
        .unwrap();
        std::fs::write(cfg.join("config.json"), r#"{"currentContext":"rootless"}"#).unwrap();
        let mut e = env(dir.path());
        e.docker_config = Some(cfg.clone());
        let (eps, _) = discover(&e);
        assert_eq!(eps[0].display(), "unix:///run/user/1000/docker.sock");
        e.docker_context = Some("gone".into());
        let (eps, notes) = discover(&e);
        assert!(eps.is_empty());
        assert!(notes[0].message.contains("context `gone`"), "{}", notes[0]);
        e.docker_context = Some("default".into());
        assert!(discover(&e).1.is_empty());
    }
}
