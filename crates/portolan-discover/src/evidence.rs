//! What a source file says about ports: [`PortUse`] (a port something listens on,
//! publishes, exposes or connects to), [`RouteUse`] (a reverse-proxy route), [`Problem`]
//! (input that could not be read), each with the [`Location`] it came from.

use std::collections::BTreeMap;

use portolan_model::port::PortRange;
use portolan_model::spec::{Publisher, Transport};
use serde::Serialize;

/// Where a piece of evidence is: a path as the user would type it (relative to the root
/// that was walked, `/`-separated) and a 1-based line and column (columns count chars).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Location {
    /// The file, relative to the walked root when walked.
    pub path: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column (in chars).
    pub col: u32,
}

impl Location {
    /// A location in `path`.
    pub fn new(path: impl Into<String>, line: u32, col: u32) -> Self {
        Location {
            path: path.into(),
            line,
            col,
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.path, self.line, self.col)
    }
}

/// Which kind of file the evidence came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// `docker-compose*.yml`, `compose*.yaml`.
    Compose,
    /// `.env`, `.env.example`, `*.env`.
    Env,
    /// nginx configuration.
    Nginx,
    /// Kubernetes manifests.
    Kubernetes,
    /// `Dockerfile`, `Containerfile`, `*.dockerfile`.
    Dockerfile,
    /// systemd `.socket` / `.service` units.
    Systemd,
    /// `Procfile`.
    Procfile,
    /// Python source (Flask, Django, uvicorn, …) and its config files (`gunicorn.conf.py`).
    Python,
    /// JavaScript / TypeScript source.
    Node,
    /// `package.json` scripts.
    PackageJson,
    /// Go source.
    Go,
    /// Spring `application.properties` / `application.yml`, Java sources.
    Spring,
    /// A Markdown document (import).
    Markdown,
    /// A shell script (firewall commands, `docker run -p`).
    Shell,
}

impl SourceKind {
    /// The name used in output (`compose`, `env`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Compose => "compose",
            SourceKind::Env => "env",
            SourceKind::Nginx => "nginx",
            SourceKind::Kubernetes => "kubernetes",
            SourceKind::Dockerfile => "dockerfile",
            SourceKind::Systemd => "systemd",
            SourceKind::Procfile => "procfile",
            SourceKind::Python => "python",
            SourceKind::Node => "node",
            SourceKind::PackageJson => "package-json",
            SourceKind::Go => "go",
            SourceKind::Spring => "spring",
            SourceKind::Markdown => "markdown",
            SourceKind::Shell => "shell",
        }
    }
}

/// What the evidence says happens on the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// A process listens on it (server config, application code, socket unit).
    Listen,
    /// A container runtime publishes it on the host (`ports:`, `-p`, `NodePort`); `port` is
    /// the host side, `target` the container side.
    Publish,
    /// A container or pod port declared but not published (`EXPOSE`, `expose:`,
    /// `containerPort`, a cluster-internal Service port).
    Expose,
    /// Something connects to it (`DATABASE_URL`, an nginx upstream, a client URL).
    Connect,
}

impl Role {
    /// `listen`, `publish`, `expose`, `connect`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Listen => "listen",
            Role::Publish => "publish",
            Role::Expose => "expose",
            Role::Connect => "connect",
        }
    }
}

/// How sure the parser is that this is a port (a `ports:` entry is; a bare `3000` in a
/// script is not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    /// A number in a plausible place.
    Low,
    /// A recognised idiom with some guessing (a default in `os.getenv('PORT', 5001)`).
    Medium,
    /// The format says it is a port.
    High,
}

impl Confidence {
    /// `low`, `medium`, `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// One port (or run of ports) a source file uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortUse {
    /// Where it is written (the port token itself where possible).
    pub at: Location,
    /// Which kind of file said so.
    pub source: SourceKind,
    /// Listen, publish, expose or connect.
    pub role: Role,
    /// The service this belongs to, when the format names one (compose service key,
    /// Kubernetes metadata.name, Procfile process type, `DB` from `DB_PORT`).
    pub service: Option<String>,
    /// The port(s): the host side for [`Role::Publish`], the listening port for
    /// [`Role::Listen`]/[`Role::Expose`], the remote port for [`Role::Connect`].
    pub port: PortRange,
    /// The container side of a publish (`8069` in `"18069:8069"`), or a Service's
    /// `targetPort`.
    pub target: Option<PortRange>,
    /// Where the container side is written, when the parser knows and it is not at `at`
    /// (the second `8000` of `"8010:8000"`, a Service's `targetPort`). `move` uses it to tell
    /// the two sides of one mapping apart; not part of the JSON output.
    #[serde(skip)]
    pub target_at: Option<Location>,
    /// TCP unless the source says otherwise.
    pub transport: Transport,
    /// The bind/host address exactly as written (`127.0.0.1`, `::1`, `0.0.0.0`), if any.
    pub bind: Option<String>,
    /// For [`Role::Connect`]: the host connected to (`db`, `redis`, `localhost`).
    pub peer: Option<String>,
    /// Who publishes it when not the process itself.
    pub publisher: Option<Publisher>,
    /// The environment variable the port comes from (`WEB_PORT` in `${WEB_PORT:-8000}`).
    pub variable: Option<String>,
    /// How sure the parser is.
    pub confidence: Confidence,
    /// The evidence text, trimmed and redacted (never contains a secret).
    pub snippet: String,
    /// The application protocol the evidence itself names (`http` for gunicorn or a Go
    /// `ListenAndServe`, `https` for an nginx `listen … ssl`, `grpc` for a Service's
    /// `appProtocol`), never guessed from the port number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// The listener only redirects (an nginx `server` whose every request gets `return
    /// 301 https://…`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub redirect: bool,
}

impl PortUse {
    /// A use with the usual defaults: TCP, no bind/peer/publisher/variable/target, and
    /// `high` confidence; set the rest with struct update syntax.
    pub fn new(at: Location, source: SourceKind, role: Role, port: PortRange) -> Self {
        PortUse {
            at,
            source,
            role,
            service: None,
            port,
            target: None,
            target_at: None,
            transport: Transport::Tcp,
            bind: None,
            peer: None,
            publisher: None,
            variable: None,
            confidence: Confidence::High,
            snippet: String::new(),
            app: None,
            redirect: false,
        }
    }
}

/// How a reverse proxy passes requests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyKind {
    /// `proxy_pass`, Ingress backends.
    Http,
    /// `uwsgi_pass`.
    Uwsgi,
    /// `fastcgi_pass`.
    Fastcgi,
    /// `grpc_pass`.
    Grpc,
}

/// A reverse-proxy route: requests arriving on `listen` (for `server_names` and `path`)
/// go to `upstream:port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteUse {
    /// Where the pass directive (or Ingress backend) is.
    pub at: Location,
    /// Which kind of file said so.
    pub source: SourceKind,
    /// The port(s) the enclosing server listens on (empty when unknown).
    pub listen: Vec<u16>,
    /// `server_name`s / Ingress hosts (empty: any).
    pub server_names: Vec<String>,
    /// The `location` / Ingress path, if any.
    pub path: Option<String>,
    /// How requests are passed on.
    pub kind: ProxyKind,
    /// The host, service or upstream-group name requests go to (`127.0.0.1`, `web`).
    pub upstream: String,
    /// The upstream port when written (a unix socket or an upstream group has none).
    pub port: Option<u16>,
}

/// Input that could not be read; the run goes on without it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Problem {
    /// Where (line/col 1:1 when the whole file is the problem).
    pub at: Location,
    /// Why, in words.
    pub reason: String,
}

/// What kind of deployable thing a [`Unit`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnitKind {
    /// A compose service (its own container, network namespace and DNS name).
    ComposeService,
    /// A Kubernetes workload (`Deployment`, `StatefulSet`, …): pods with labels.
    Workload,
    /// A Kubernetes Service: a virtual address that selects pods by label.
    KubeService,
}

/// A deployable thing a file declares, and what ties other evidence to it: a compose
/// service's image, build context, `env_file`s and bind mounts; a workload's pod labels; a
/// Service's selector. Drafts use units to decide which uses belong together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    /// Where it is declared (the compose service key, the object's `kind:`).
    pub at: Location,
    /// What it is.
    pub kind: UnitKind,
    /// The compose service key or the object's `metadata.name`.
    pub name: String,
    /// The compose project (top-level `name:`, else the compose file's directory) or the
    /// Kubernetes namespace.
    pub scope: Option<String>,
    /// The image it runs, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The build context, relative to the walked root (`/`-separated, `""` for the root).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    /// `env_file`s, relative to the walked root.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env_files: Vec<String>,
    /// Host sides of bind mounts, relative to the walked root.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<String>,
    /// Pod template labels (workloads) or the selector (Services), sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<(String, String)>,
    /// Named container ports (`otlp-grpc` → 4317) of a workload.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub named_ports: Vec<(String, u16)>,
}

/// Everything one file said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// Ports used.
    pub uses: Vec<PortUse>,
    /// Proxy routes.
    pub routes: Vec<RouteUse>,
    /// What could not be read (the parser still reports what it could).
    pub problems: Vec<Problem>,
    /// Places where a secret was seen and redacted (reported by `import`).
    pub secrets: Vec<Location>,
    /// Deployable things declared (compose services, Kubernetes workloads and Services).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<Unit>,
}

impl FileReport {
    /// Appends another report.
    pub fn extend(&mut self, other: FileReport) {
        self.uses.extend(other.uses);
        self.routes.extend(other.routes);
        self.problems.extend(other.problems);
        self.secrets.extend(other.secrets);
        self.units.extend(other.units);
    }
}

/// What a parser may know beyond the file's text: the variables for interpolation (the
/// `.env` beside a compose file, merged with nothing from the real environment, so output
/// does not depend on the shell it runs in).
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Variables for `${VAR}` interpolation.
    pub vars: BTreeMap<String, String>,
}
