//! The command line as clap sees it. Nothing below `settings` sees these types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Examples:
  portolan lint                         # check ./ports.toml (searched upward)
  portolan --spec examples/opticserp-port-reference lint --format sarif
  portolan gen markdown -o PORTS.md     # write the port reference
  portolan schema > ports.schema.json   # JSON Schema for editors

Exit codes: 0 ok, 1 findings at or above --fail-on, 2 usage error or malformed input.";

/// Network ports as code: one spec, linted, documented, checked against reality.
#[derive(Debug, Parser)]
#[command(name = "portolan", version, about, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// Spec file or directory of *.toml (default: ./ports.toml, searched upward).
    #[arg(long, global = true, env = "PORTOLAN_SPEC", value_name = "PATH")]
    pub spec: Option<PathBuf>,

    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,

    /// When to use colours.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Print less (repeat for silence on success).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "verbose")]
    pub quiet: u8,

    /// Print more (notes of every finding).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// `--color`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ColorChoice {
    /// Colours when stdout is a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a starter spec (or a draft of this machine as it is, with --from-host).
    #[command(
        after_help = "Examples:\n  portolan init                 # ./ports.toml\n  portolan init --spec infra/ports.toml --force\n  sudo portolan init --from-host --print   # this machine's interfaces and listeners as a draft"
    )]
    Init(InitArgs),
    /// Static checks of the spec.
    #[command(
        after_help = "Examples:\n  portolan lint\n  portolan lint --format json | jq '.findings[].rule'\n  portolan lint --fail-on warning        # CI: fail on warnings too\n  portolan lint --list-rules"
    )]
    Lint(LintArgs),
    /// Lint plus drift against this machine (drift arrives with live observation).
    #[command(
        after_help = "Examples:\n  portolan check\n  portolan check --host app1 --format json\n  portolan check --probe                 # and connect to every declared binding\n  sudo portolan check --firewall nftables  # the live ruleset against the spec\n  portolan check --host app1 --firewall iptables --from app1.iptables-save"
    )]
    Check(CheckArgs),
    /// Listening sockets with their owning processes (like `ss -tulpn`) and the declared service.
    #[command(
        after_help = "Examples:\n  portolan ls -p                     # with owners (root sees every process)\n  portolan ls --tcp --port 5000-5399\n  portolan ls --project dashboard    # that project's range\n  portolan ls --undeclared --json    # what the spec does not know"
    )]
    Ls(LsArgs),
    /// Which process holds a port, and which service and project own it.
    #[command(
        after_help = "Examples:\n  portolan who 8069\n  portolan who 5432 --json\n\nExit code: 0 something listens, 1 nothing does, 2 bad port."
    )]
    Who(WhoArgs),
    /// Stop the process(es) holding ports (SIGTERM, wait, SIGKILL only with --force).
    #[command(
        after_help = "Examples:\n  portolan kill 8069                 # asks first\n  portolan kill 8069 8000 5432 --yes\n  portolan kill 8069 --dry-run\n  portolan kill 8069 --timeout 10 --force --yes\n  portolan kill 8000 --container --yes   # a Docker-published port: stop its container\n\nNever signals pid 1, portolan itself or its ancestors.\nExit code: 0 all stopped, 1 something still runs or held nothing, 2 refused or unconfirmed."
    )]
    Kill(KillArgs),
    /// Reachability from here: TCP connect, UDP, HTTP status.
    #[command(
        after_help = "Examples:\n  portolan probe 127.0.0.1:1-65535          # open ports (like nmap -sT -p-)\n  portolan probe 10.0.0.5:5432 udp://10.0.0.5:53 http://10.0.0.5:8069/web/health\n  portolan probe --env production            # every declared binding, by its app protocol\n  portolan probe --host app1 --json\n  portolan probe --host app1 --sweep          # open ports the spec does not declare\n\nExit code: 0 ok, 1 a declared binding is not reachable, 2 bad target."
    )]
    Probe(ProbeArgs),
    /// Render an output from the spec.
    #[command(
        after_help = "Examples:\n  portolan gen markdown -o PORTS.md\n  portolan gen markdown --env production\n  portolan gen nftables --host app1 -o portolan.nft && nft -c -f portolan.nft\n  portolan gen iptables --host app1 > /etc/iptables/rules.v4\n  portolan gen compose --host dev -o docker-compose.override.yml\n  portolan gen terraform --env production -o security-groups.tf\n  portolan gen k8s-netpol --env production | kubectl apply -f -\n  portolan gen env --env development > .env\n\nFirewall, compose and nginx targets render one machine: pass --host when several\nhosts are in scope. What a target cannot express is written into the output as a\nWARNING comment and repeated on stderr."
    )]
    Gen(GenArgs),
    /// Per binding: declared exposure vs effective reach, and why.
    #[command(
        after_help = "Examples:\n  portolan exposure\n  portolan exposure --env production --host app1\n  portolan exposure --json | jq '.bindings[] | select(.wider)'\n\nA binding marked WIDER is reachable from more than its declared exposure\n(`portolan lint` reports it as internal-exposed). Exit code 0; 2 on bad input."
    )]
    Exposure(ExposureArgs),
    /// Print the JSON Schema of the spec format.
    #[command(
        after_help = "Examples:\n  portolan schema > ports.schema.json\n  # then, in ports.toml for taplo/Even Better TOML:\n  #:schema ./ports.schema.json"
    )]
    Schema,
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  portolan completions bash > /etc/bash_completion.d/portolan\n  portolan completions zsh > ~/.zfunc/_portolan\n  portolan completions fish > ~/.config/fish/completions/portolan.fish"
    )]
    Completions(CompletionsArgs),
    /// Pick the next free port of a project and record it (locked, atomic, logged).
    #[command(after_help = ALLOC_HELP)]
    Alloc(AllocArgs),
    /// Hold ports for a project without a service yet.
    #[command(after_help = RESERVE_HELP)]
    Reserve(ReserveArgs),
    /// Give back a service's ports, or reserved ports.
    #[command(after_help = RELEASE_HELP)]
    Release(ReleaseArgs),
    /// Remove expired leases and reservations from the spec.
    #[command(after_help = GC_HELP)]
    Gc(GcArgs),
    /// Print the allocation/change log.
    #[command(after_help = LOG_HELP)]
    Log(LogArgs),
    /// Find the ports a repository uses (compose, .env, nginx, Kubernetes, Dockerfile,
    /// systemd, Procfile, code), with evidence.
    #[command(after_help = DISCOVER_HELP)]
    Discover(DiscoverArgs),
    /// Turn a Markdown port document into a spec.
    #[command(after_help = IMPORT_HELP)]
    Import(ImportArgs),
    /// Impact of moving a service to another port: every reference in the repository;
    /// --apply rewrites the sure ones.
    #[command(name = "move", after_help = MOVE_HELP)]
    Move(MoveArgs),
    /// Run the team registry: REST API, dashboard and `/metrics` on `SQLite` or `PostgreSQL`.
    #[command(after_help = SERVE_HELP)]
    Serve(ServeArgs),
    /// Create, list and revoke the registry's API tokens (directly on its database).
    #[command(subcommand, after_help = TOKEN_HELP)]
    Token(TokenCommand),
    /// Upload the spec into the registry (replaces the registry's spec).
    #[command(after_help = PUSH_HELP)]
    Push(RemoteArgs),
    /// Download the registry's spec as ports.toml.
    #[command(after_help = PULL_HELP)]
    Pull(PullArgs),
    /// Report this host's listeners to the registry, once or every --interval.
    #[command(after_help = AGENT_HELP)]
    Agent(AgentArgs),
}

// ---- team registry: serve / token / push / pull / agent ----

const SERVE_HELP: &str = "\
Examples:
  portolan serve                                   # sqlite://portolan.db on 127.0.0.1:7878
  portolan serve --db postgres://portolan@db1/portolan --listen 10.0.0.5:7878 --public
  portolan token create --role admin --label me    # then use it: Authorization: Bearer ptk_…

Every /api/v1 route and /metrics needs a token; /healthz and /api/v1/openapi.json are public.
Binding a non-loopback address needs --public (put a TLS proxy in front of it).";

const TOKEN_HELP: &str = "\
Examples:
  portolan token create --role write --label ci --expires 90d
  portolan token list
  portolan token revoke 3f2a9c0d1e4b5a69
  portolan token create --role admin --db postgres://portolan@db1/portolan

The token is printed once; only its SHA-256 is stored.";

const PUSH_HELP: &str = "\
Examples:
  export PORTOLAN_SERVER=http://127.0.0.1:7878 PORTOLAN_TOKEN=ptk_…
  portolan push                      # ./ports.toml (searched upward) into the registry
  portolan --spec infra/ports.toml push --server https://ports.example.org

Needs an admin token. A spec that does not load is refused and the registry is unchanged.";

const PULL_HELP: &str = "\
Examples:
  portolan pull                      # print the registry's spec
  portolan pull -o ports.toml        # write it (atomically)
  portolan pull --server http://127.0.0.1:7878 --token ptk_… -o ports.toml";

const AGENT_HELP: &str = "\
Examples:
  portolan agent --server http://registry:7878 --token ptk_… --once
  sudo portolan agent --interval 30s --host app1     # run under systemd; root sees every owner
  PORTOLAN_SERVER=http://registry:7878 PORTOLAN_TOKEN=ptk_… portolan agent

Reports what `portolan ls` shows; the server computes the host's drift. Needs a write token.";

/// Where the registry is: `--server`/`$PORTOLAN_SERVER` and `--token`/`$PORTOLAN_TOKEN`.
#[derive(Debug, Args)]
pub struct RemoteArgs {
    /// Registry URL (`http://127.0.0.1:7878`).
    #[arg(long, env = "PORTOLAN_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// API token (prefer `PORTOLAN_TOKEN`: arguments are visible to other users).
    #[arg(
        long,
        env = "PORTOLAN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
}

/// `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Database: `sqlite://PATH` or `postgres://USER@HOST:PORT/DB`.
    #[arg(
        long,
        env = "PORTOLAN_DB",
        value_name = "URL",
        default_value = "sqlite://portolan.db"
    )]
    pub db: String,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7878")]
    pub listen: String,
    /// Allow listening on a non-loopback address.
    #[arg(long)]
    pub public: bool,
    /// Largest request body in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub max_body: usize,
    /// Requests per second per token, on average (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 200.0)]
    pub rate_limit: f64,
    /// Burst of requests per token.
    #[arg(long, value_name = "N", default_value_t = 400.0)]
    pub burst: f64,
}

/// `token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (once).
    #[command(after_help = TOKEN_HELP)]
    Create(TokenCreateArgs),
    /// List tokens (never their secrets).
    #[command(after_help = TOKEN_HELP)]
    List(TokenDbArgs),
    /// Revoke a token by id.
    #[command(after_help = TOKEN_HELP)]
    Revoke(TokenRevokeArgs),
}

/// The registry database of `token`.
#[derive(Debug, Args)]
pub struct TokenDbArgs {
    /// Database: `sqlite://PATH` or `postgres://USER@HOST:PORT/DB`.
    #[arg(
        long,
        env = "PORTOLAN_DB",
        value_name = "URL",
        default_value = "sqlite://portolan.db"
    )]
    pub db: String,
}

/// `token create`.
#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// Role: read, write (also allocate, release, reserve, report) or admin (also push, tokens).
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// Who or what the token is for.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub label: String,
    /// Expire after DURATION (`30d`, `12h`, `1w`).
    #[arg(long, value_name = "DURATION")]
    pub expires: Option<String>,
    /// The database.
    #[command(flatten)]
    pub db: TokenDbArgs,
}

/// `token revoke`.
#[derive(Debug, Args)]
pub struct TokenRevokeArgs {
    /// Token id (the 16 hex digits after `ptk_`, as `token list` shows).
    pub id: String,
    /// The database.
    #[command(flatten)]
    pub db: TokenDbArgs,
}

/// `--role`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum RoleArg {
    /// Read everything.
    Read,
    /// Read, allocate, release, reserve, report observations.
    Write,
    /// Everything, including spec import and tokens.
    Admin,
}

/// `pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// The registry.
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Write the spec to FILE (atomically) instead of printing it.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `agent`.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The registry.
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Report as this host (default: this machine's short hostname).
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Time between reports (`30s`, `5m`).
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub interval: String,
    /// Report once and exit.
    #[arg(long)]
    pub once: bool,
}

/// `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite an existing spec.
    #[arg(long)]
    pub force: bool,
    /// Draft the spec from this machine: interfaces, the networks they imply, every listener.
    #[arg(long)]
    pub from_host: bool,
    /// Print the spec instead of writing it.
    #[arg(long)]
    pub print: bool,
    /// Draft the spec from the ports a repository uses (see `portolan discover`).
    #[arg(long, value_name = "PATH", conflicts_with = "from_host")]
    pub from_discover: Option<PathBuf>,
}

const DISCOVER_HELP: &str = "\
Examples:
  portolan discover                      # this repository (honours .gitignore)
  portolan discover services/ deploy/ --json
  portolan discover --diff               # code vs spec, both ways (exit 1 when they differ)
  portolan discover --write              # add what the spec lacks; never overwrites
  portolan discover --min-confidence high

Secrets (passwords in URLs, *_PASSWORD values) are never printed.
Exit codes: 0 ok, 1 --diff found differences, 2 usage error or unreadable spec.";

const IMPORT_HELP: &str = "\
Examples:
  portolan import docs/PORTS.md                  # print the spec
  portolan import docs/PORTS.md -o ports.toml    # write it (refuses to overwrite without --force)
  portolan import docs/PORTS.md -o ports.toml && portolan lint

Secrets in the document are redacted and reported on stderr.";

const MOVE_HELP: &str = "\
Examples:
  portolan move api --to 8010            # every reference to api's port, with confidence
  portolan move api.http --to 8010 --apply
  portolan move api --to 8010 --json

Refuses a port that is taken, outside the service's project range or unsafe.
Exit codes: 0 ok, 1 references left to change by hand, 2 refused or bad input.";

/// `discover`.
#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// Files or directories to read (default: the current directory).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Compare with the spec: ports the code uses that the spec lacks, declarations the code
    /// no longer uses, and disagreements.
    #[arg(long, conflicts_with = "write")]
    pub diff: bool,
    /// Add what the spec lacks to it (new services and bindings; declared values are never
    /// overwritten).
    #[arg(long)]
    pub write: bool,
    /// With --write: print what would be added and write nothing.
    #[arg(long, requires = "write")]
    pub dry_run: bool,
    /// Only evidence at least this sure.
    #[arg(long, value_enum, default_value_t = ConfidenceArg::Low, value_name = "LEVEL")]
    pub min_confidence: ConfidenceArg,
    /// Also read files .gitignore excludes.
    #[arg(long)]
    pub no_ignore: bool,
    /// Follow symbolic links.
    #[arg(short = 'L', long)]
    pub follow: bool,
    /// Skip files larger than this many bytes.
    #[arg(long, default_value_t = 8 * 1024 * 1024, value_name = "BYTES")]
    pub max_filesize: u64,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, default_value_t = 0, value_name = "N")]
    pub threads: usize,
}

/// `--min-confidence`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ConfidenceArg {
    /// Everything.
    Low,
    /// Recognised idioms and better.
    Medium,
    /// Only what the format says is a port.
    High,
}

/// `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The Markdown document.
    #[arg(value_name = "FILE.md")]
    pub file: PathBuf,
    /// Write the spec here instead of printing it.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite --output if it exists.
    #[arg(long, requires = "output")]
    pub force: bool,
}

/// `move`.
#[derive(Debug, Args)]
pub struct MoveArgs {
    /// The service (`api`) or binding (`api.http`) to move.
    #[arg(value_name = "SERVICE[.BINDING]")]
    pub service: String,
    /// The new port.
    #[arg(long, value_name = "PORT", value_parser = parse_port)]
    pub to: u16,
    /// Move the container side (the spec's `target`: `EXPOSE`, the app's own listen
    /// config, `HOST:CONTAINER`'s container part) instead of the host side (`port`).
    #[arg(long, alias = "target")]
    pub container: bool,
    /// Rewrite the references that are this binding's, on the side that moves (each file
    /// atomically), and record the move in the log.
    #[arg(long)]
    pub apply: bool,
    /// Where to look for references (default: the spec's directory).
    #[arg(long, value_name = "PATH")]
    pub root: Option<PathBuf>,
    /// Why (recorded in the log).
    #[arg(long, value_name = "TEXT")]
    pub why: Option<String>,
}

/// `--format` of lint and check.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum FormatArg {
    /// rustc-style text with the offending lines.
    Human,
    /// JSON.
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

/// `--fail-on`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum FailOn {
    /// Exit 1 on errors.
    Error,
    /// Exit 1 on warnings or errors.
    Warning,
    /// Exit 1 on any finding.
    Info,
    /// Always exit 0 (still exit 2 on malformed input).
    Never,
}

/// Options shared by lint and check.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output format (--json is short for --format json).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<FormatArg>,
    /// Lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error, value_name = "SEVERITY")]
    pub fail_on: FailOn,
}

/// `lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// Report options.
    #[command(flatten)]
    pub report: ReportArgs,
    /// List every rule with its default severity, then exit.
    #[arg(long)]
    pub list_rules: bool,
}

/// `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Report options.
    #[command(flatten)]
    pub report: ReportArgs,
    /// Which host of the spec this machine is.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Also probe this host's declared bindings from here (TCP, TLS, HTTP).
    #[arg(long)]
    pub probe: bool,
    /// Compare the host's deployed firewall with the spec (`firewall-drift`): read live
    /// (`ufw status verbose`, `iptables-save` + `ip6tables-save`, `nft list ruleset`; needs
    /// root) or from --from.
    #[arg(long, value_enum, value_name = "KIND")]
    pub firewall: Option<FirewallArg>,
    /// Read the firewall dump from FILE (`-`: standard input) instead of the live firewall;
    /// live listeners are then not compared (the dump may come from another machine).
    #[arg(long = "from", value_name = "FILE", requires = "firewall")]
    pub from: Option<PathBuf>,
}

/// `check --firewall`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum FirewallArg {
    /// `ufw status verbose` output.
    Ufw,
    /// `iptables-save` (and `ip6tables-save`) output.
    Iptables,
    /// `nft list ruleset` output.
    Nftables,
}

/// `ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only TCP.
    #[arg(short, long)]
    pub tcp: bool,
    /// Only UDP.
    #[arg(short, long)]
    pub udp: bool,
    /// Listening sockets only (always the case; accepted for `ss` habits).
    #[arg(short, long)]
    pub listen: bool,
    /// Show owning processes.
    #[arg(short = 'p', long = "processes")]
    pub processes: bool,
    /// Only these ports (`5432` or `5000-5399`).
    #[arg(long, value_name = "PORTS", value_parser = parse_range)]
    pub port: Option<portolan_model::PortRange>,
    /// Only the range of this project of the spec.
    #[arg(long, value_name = "NAME")]
    pub project: Option<String>,
    /// Only listeners no binding of the spec declares.
    #[arg(long)]
    pub undeclared: bool,
}

/// `probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Targets: `HOST:PORT`, `HOST:LO-HI`, `udp://HOST:PORT`, `http://HOST[:PORT]/PATH`.
    pub targets: Vec<String>,
    /// Probe the declared bindings of this environment.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Probe the declared bindings of this host.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Probes in flight at once.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub concurrency: usize,
    /// Per-probe timeout in milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub timeout: u64,
    /// Retries after a timeout.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub retries: u32,
    /// Give up on what is left after this many seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub deadline: u64,
    /// Show closed and filtered ports too.
    #[arg(long)]
    pub all: bool,
    /// With --host: probe every TCP port of the host and report open ports no binding
    /// declares as `undeclared-listener` findings (drift seen from outside).
    #[arg(long, requires = "host")]
    pub sweep: bool,
}

/// `kill`.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// Ports whose holders to stop.
    #[arg(required = true, value_parser = parse_port)]
    pub ports: Vec<u16>,
    /// Signal to send first.
    #[arg(long, default_value = "TERM", value_name = "SIGNAL")]
    pub signal: String,
    /// Seconds to wait for each process to exit.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// Send SIGKILL to processes still running after the timeout.
    #[arg(long)]
    pub force: bool,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub yes: bool,
    /// Only say what would be done.
    #[arg(long)]
    pub dry_run: bool,
    /// For ports published by a container: stop the container (docker/podman stop).
    #[arg(long)]
    pub container: bool,
}

/// `who`.
#[derive(Debug, Args)]
pub struct WhoArgs {
    /// The port (1-65535).
    #[arg(value_parser = parse_port)]
    pub port: u16,
}

fn parse_range(s: &str) -> Result<portolan_model::PortRange, String> {
    s.parse()
        .map_err(|e: portolan_model::port::PortError| e.to_string())
}

fn parse_port(s: &str) -> Result<u16, String> {
    match parse_range(s)? {
        r if r.lo == r.hi => Ok(r.lo),
        r => Err(format!("expected one port, not the range {r}")),
    }
}

/// Generator targets.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Target {
    /// A Markdown port reference.
    Markdown,
    /// An `nft -f` ruleset for one host (default drop, Docker-aware).
    Nftables,
    /// An iptables-restore file (IPv4) for one host; Docker ports in DOCKER-USER.
    Iptables,
    /// An ip6tables-restore file (IPv6) for one host.
    Ip6tables,
    /// A shell script of ufw commands for one host.
    Ufw,
    /// AWS security groups as JSON, one per host (describe-security-groups shape).
    AwsSg,
    /// Terraform: `aws_security_group` per host plus one rule resource per CIDR x port range.
    Terraform,
    /// Kubernetes `NetworkPolicy` per service (namespace per environment, default deny).
    K8sNetpol,
    /// A docker-compose.override.yml `ports:` section honouring declared exposure.
    Compose,
    /// nginx upstreams and server blocks from the routes of one host.
    Nginx,
    /// /etc/services entries.
    EtcServices,
    /// A dotenv file: one `SERVICE_BINDING_PORT` variable per binding.
    Env,
    /// Prometheus scrape configs for metrics bindings.
    Prometheus,
    /// A Mermaid topology diagram.
    Mermaid,
}

/// `gen`.
#[derive(Debug, Args)]
pub struct GenArgs {
    /// What to render.
    #[arg(value_enum)]
    pub target: Target,
    /// Write to FILE (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only this environment.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Only this host (firewall, compose and nginx targets render one host).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
}

/// `exposure`.
#[derive(Debug, Args)]
pub struct ExposureArgs {
    /// Only this environment.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Only this host.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
}

/// Shells.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Shell {
    /// bash
    Bash,
    /// zsh
    Zsh,
    /// fish
    Fish,
}

/// `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

// ---- alloc / reserve / release / gc / log ----

const ALLOC_HELP: &str = "\
Examples:
  portolan alloc dashboard --name hub --block api      # lowest free port of the block
  PORT=$(portolan alloc dev --name test-db --lease 1h --print)
  portolan alloc shop --name grpc --host app1 --transport udp --count 3 --near 8040
  portolan alloc shop --name try --dry-run               # show the port, write nothing
  portolan alloc shop --name ci-db --lease 2h --server http://registry:7878   # the team registry

Skips ports bound on the host, reserved ports, well-known ports of other software,
browser-unsafe ports and the host's ephemeral range. Exit 1 when the range is full.";

const RESERVE_HELP: &str = "\
Examples:
  portolan reserve 8010-8019 --project shop --why \"search service, Q1\"
  portolan reserve 5050 --project dashboard --why \"vendor demo\" --host app1 --until 2026-03-31

Exit 1 when the ports are bound by a service or already reserved.";

const RELEASE_HELP: &str = "\
Examples:
  portolan release test-db                 # remove the service and free its ports
  portolan release 8012                    # take 8012 out of its reservation
  portolan release 8010-8019 --why \"search moved to its own project\"";

const GC_HELP: &str = "\
Examples:
  portolan gc                # remove services whose lease ran out, and reservations past `until`
  portolan gc --dry-run      # list them only";

const LOG_HELP: &str = "\
Examples:
  portolan log                       # Markdown table, like a Port Assignment Log
  portolan log --project dashboard
  portolan log --json | jq '.[] | select(.action == \"alloc\")'";

/// `--transport`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TransportArg {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// `alloc`.
#[derive(Debug, Args)]
pub struct AllocArgs {
    /// Project whose range (or block) the port comes from.
    pub project: String,
    /// Name of the new service.
    #[arg(long, value_name = "SVC")]
    pub name: String,
    /// Block of the project (default: the whole range).
    #[arg(long, value_name = "BLOCK")]
    pub block: Option<String>,
    /// Host the service runs on (default: ports bound on any host count as taken).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Transport of the binding.
    #[arg(long, value_enum, default_value_t = TransportArg::Tcp)]
    pub transport: TransportArg,
    /// Number of consecutive ports.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub count: u16,
    /// Prefer the free port nearest to PORT.
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub near: Option<u16>,
    /// Lease: the allocation expires after DURATION (`90m`, `2h`, `1d12h`, `1w`).
    #[arg(long, value_name = "DURATION")]
    pub lease: Option<String>,
    /// Why: written as the service's purpose and to the log.
    #[arg(long, value_name = "TEXT")]
    pub why: Option<String>,
    /// Name of the binding written.
    #[arg(long, value_name = "NAME", default_value = "main")]
    pub binding: String,
    /// Show the port; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print only the port (`5021`, or `5021-5023` with --count), for scripts.
    #[arg(long)]
    pub print: bool,
    /// Allocate from this registry instead of the local spec.
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// `reserve`.
#[derive(Debug, Args)]
pub struct ReserveArgs {
    /// Port or range: `8010` or `8010-8019`.
    #[arg(value_name = "PORT[-PORT]")]
    pub ports: String,
    /// Project holding them.
    #[arg(long, value_name = "P")]
    pub project: String,
    /// Why they are held.
    #[arg(long, value_name = "TEXT")]
    pub why: String,
    /// Only on this host.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Held until this date (YYYY-MM-DD); `portolan gc` removes it afterwards.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Check only; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `release`.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// A service name, or reserved ports (`8012`, `8010-8019`).
    #[arg(value_name = "SVC|PORT")]
    pub target: String,
    /// Why (for the log).
    #[arg(long, value_name = "TEXT")]
    pub why: Option<String>,
    /// Show what would be released; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// List what would be removed; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only entries of this project.
    #[arg(long, value_name = "P")]
    pub project: Option<String>,
    /// Only entries of this service.
    #[arg(long, value_name = "SVC")]
    pub service: Option<String>,
}
