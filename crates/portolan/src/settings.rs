//! Stage two of the configuration: the validated settings every command reads. Resolves the
//! spec path (`--spec`, `$PORTOLAN_SPEC`, else `ports.toml` searched upward), the colour
//! choice and output format. Nothing here or below sees clap types.

use std::io::IsTerminal;
use std::path::PathBuf;

use portolan_lint::Severity;
use portolan_lint::report::Format;

use crate::cli::{self, Cli, ColorChoice, FailOn, FormatArg};
use crate::error::CliError;

/// Validated global settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Explicit spec path, if any.
    pub spec: Option<PathBuf>,
    /// Colours on stdout.
    pub color: bool,
    /// Colours on stderr.
    pub color_stderr: bool,
    /// `--json`.
    pub json: bool,
    /// -1 quiet, 0 normal, 1+ verbose.
    pub verbosity: i8,
    /// The command.
    pub command: Command,
}

/// Validated `probe` options.
#[derive(Debug, Clone)]
pub struct ProbeSettings {
    /// Targets as written.
    pub targets: Vec<String>,
    /// Probe declared bindings.
    pub from_spec: bool,
    /// Environment filter.
    pub env: Option<String>,
    /// Host filter.
    pub host: Option<String>,
    /// In flight.
    pub concurrency: usize,
    /// Per probe.
    pub timeout: std::time::Duration,
    /// Retries.
    pub retries: u32,
    /// Whole run.
    pub deadline: std::time::Duration,
    /// Show closed too.
    pub all: bool,
    /// Sweep every port of the host.
    pub sweep: bool,
}

/// Validated `kill` options.
#[derive(Debug, Clone)]
pub struct KillSettings {
    /// Ports.
    pub ports: Vec<u16>,
    /// First signal (name).
    pub signal: String,
    /// Wait per process.
    pub timeout: std::time::Duration,
    /// SIGKILL survivors.
    pub force: bool,
    /// No confirmation.
    pub yes: bool,
    /// Only report.
    pub dry_run: bool,
    /// Stop containers that publish the ports.
    pub container: bool,
}

/// Validated `discover` options.
#[derive(Debug, Clone)]
pub struct DiscoverSettings {
    /// Roots to walk.
    pub paths: Vec<PathBuf>,
    /// Compare with the spec.
    pub diff: bool,
    /// Merge into the spec.
    pub write: bool,
    /// With `write`: write nothing.
    pub dry_run: bool,
    /// Minimum confidence shown.
    pub min_confidence: portolan_discover::Confidence,
    /// Walk options.
    pub walk: portolan_discover::walk::WalkOptions,
}

/// Validated `move` options.
#[derive(Debug, Clone)]
pub struct MoveSettings {
    /// `service` or `service.binding`.
    pub service: String,
    /// Binding name, when given.
    pub binding: Option<String>,
    /// New port.
    pub to: u16,
    /// Move the container side (`target`) instead of the host side (`port`).
    pub container: bool,
    /// Rewrite.
    pub apply: bool,
    /// Repository root.
    pub root: Option<PathBuf>,
    /// Why.
    pub why: Option<String>,
}

/// Validated `ls` options.
#[derive(Debug, Clone)]
pub struct LsSettings {
    /// Show TCP.
    pub tcp: bool,
    /// Show UDP.
    pub udp: bool,
    /// Look up owning processes.
    pub owners: bool,
    /// Port filter.
    pub port: Option<portolan_model::PortRange>,
    /// Project filter.
    pub project: Option<String>,
    /// Only undeclared.
    pub undeclared: bool,
}

/// How to report findings.
#[derive(Debug, Clone, Copy)]
pub struct ReportSettings {
    /// Output format.
    pub format: Format,
    /// Lowest severity that fails (None: never).
    pub fail_on: Option<Severity>,
}

/// A validated command.
#[derive(Debug, Clone)]
pub enum Command {
    /// `init`.
    Init {
        /// Overwrite.
        force: bool,
        /// Draft from this machine.
        from_host: bool,
        /// Draft from a repository.
        from_discover: Option<PathBuf>,
        /// Print instead of writing.
        print: bool,
    },
    /// `lint`.
    Lint {
        /// Reporting.
        report: ReportSettings,
        /// `--list-rules`.
        list_rules: bool,
    },
    /// `check`.
    Check {
        /// Reporting.
        report: ReportSettings,
        /// `--host`.
        host: Option<String>,
        /// `--probe`.
        probe: bool,
        /// `--firewall KIND [--from FILE]`.
        firewall: Option<FirewallSettings>,
    },
    /// `ls`.
    Ls(LsSettings),
    /// `kill`.
    Kill(KillSettings),
    /// `probe`.
    Probe(ProbeSettings),
    /// `who`.
    Who {
        /// The port.
        port: u16,
    },
    /// `gen`.
    Gen {
        /// Target name.
        target: &'static str,
        /// Output file.
        output: Option<PathBuf>,
        /// Environment filter.
        env: Option<String>,
        /// Host filter.
        host: Option<String>,
    },
    /// `exposure`.
    Exposure {
        /// Environment filter.
        env: Option<String>,
        /// Host filter.
        host: Option<String>,
    },
    /// `schema`.
    Schema,
    /// `completions`.
    Completions(clap_complete::Shell),
    /// `alloc`.
    Alloc(AllocSettings),
    /// `reserve`.
    Reserve(ReserveSettings),
    /// `release`.
    Release {
        /// Service name or ports.
        target: String,
        /// Why.
        why: Option<String>,
        /// Write nothing.
        dry_run: bool,
    },
    /// `gc`.
    Gc {
        /// Write nothing.
        dry_run: bool,
    },
    /// `discover`.
    Discover(DiscoverSettings),
    /// `import`.
    Import {
        /// The document.
        file: PathBuf,
        /// Output file.
        output: Option<PathBuf>,
        /// Overwrite.
        force: bool,
    },
    /// `move`.
    Move(MoveSettings),
    /// `log`.
    Log {
        /// Only this project.
        project: Option<String>,
        /// Only this service.
        service: Option<String>,
    },
    /// `serve`.
    Serve(ServeSettings),
    /// `token create|list|revoke`.
    Token(TokenSettings),
    /// `push`.
    Push(Remote),
    /// `pull`.
    Pull {
        /// The registry.
        remote: Remote,
        /// Output file (`None`: stdout).
        output: Option<PathBuf>,
    },
    /// `agent`.
    Agent(AgentSettings),
}

/// A registry to talk to: its base URL (no trailing `/`) and a token.
#[derive(Clone)]
pub struct Remote {
    /// `http://127.0.0.1:7878`.
    pub server: String,
    /// Bearer token.
    pub token: String,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("server", &self.server)
            .field("token", &"***")
            .finish()
    }
}

impl Remote {
    /// Validates `--server`/`--token` (or their environment variables); `None` when no
    /// server is given.
    pub fn from_args(a: cli::RemoteArgs) -> Result<Option<Remote>, CliError> {
        let Some(server) = a.server.filter(|s| !s.trim().is_empty()) else {
            return Ok(None);
        };
        let server = server.trim().trim_end_matches('/').to_string();
        if !(server.starts_with("http://") || server.starts_with("https://")) {
            return Err(CliError::Usage(format!(
                "--server `{server}`: write http://HOST:PORT or https://HOST"
            )));
        }
        let token = a
            .token
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                CliError::Usage(
                    "the registry needs a token: set PORTOLAN_TOKEN (or pass --token); create one with `portolan token create`".into(),
                )
            })?;
        Ok(Some(Remote { server, token }))
    }

    fn required(a: cli::RemoteArgs) -> Result<Remote, CliError> {
        Self::from_args(a)?.ok_or_else(|| {
            CliError::Usage(
                "which registry? set PORTOLAN_SERVER (or pass --server http://HOST:7878)".into(),
            )
        })
    }
}

/// Validated `serve` options.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// Database URL.
    pub db: String,
    /// Listen address.
    pub listen: std::net::SocketAddr,
    /// Limits.
    pub max_body: usize,
    /// Requests per second per token.
    pub rate: f64,
    /// Burst per token.
    pub burst: f64,
}

/// Validated `token` subcommand.
#[derive(Debug, Clone)]
pub enum TokenSettings {
    /// `token create`.
    Create {
        /// Database URL.
        db: String,
        /// Role.
        role: portolan_store::Role,
        /// Label.
        label: String,
        /// Lifetime in seconds.
        expires: Option<i64>,
    },
    /// `token list`.
    List {
        /// Database URL.
        db: String,
    },
    /// `token revoke`.
    Revoke {
        /// Database URL.
        db: String,
        /// Token id.
        id: String,
    },
}

/// Validated `agent` options.
#[derive(Debug, Clone)]
pub struct AgentSettings {
    /// The registry.
    pub remote: Remote,
    /// Host name to report as.
    pub host: Option<String>,
    /// Seconds between reports.
    pub interval: u64,
    /// Report once.
    pub once: bool,
}

fn serve_settings(a: cli::ServeArgs) -> Result<ServeSettings, CliError> {
    let listen: std::net::SocketAddr = a.listen.parse().map_err(|_| {
        CliError::Usage(format!(
            "--listen `{}` is not an address: write IP:PORT, e.g. 127.0.0.1:7878",
            a.listen
        ))
    })?;
    if !listen.ip().is_loopback() && !a.public {
        return Err(CliError::Usage(format!(
            "--listen {listen} is reachable from other machines: pass --public to mean it (and put TLS in front)"
        )));
    }
    if !(a.rate_limit.is_finite() && a.rate_limit >= 0.0 && a.burst.is_finite() && a.burst >= 1.0) {
        return Err(CliError::Usage(
            "--rate-limit must be >= 0 and --burst >= 1".into(),
        ));
    }
    if a.max_body < 1024 {
        return Err(CliError::Usage(
            "--max-body must be at least 1024 bytes".into(),
        ));
    }
    Ok(ServeSettings {
        db: a.db,
        listen,
        max_body: a.max_body,
        rate: a.rate_limit,
        burst: a.burst,
    })
}

fn token_settings(t: cli::TokenCommand) -> Result<TokenSettings, CliError> {
    Ok(match t {
        cli::TokenCommand::Create(a) => TokenSettings::Create {
            db: a.db.db,
            role: match a.role {
                cli::RoleArg::Read => portolan_store::Role::Read,
                cli::RoleArg::Write => portolan_store::Role::Write,
                cli::RoleArg::Admin => portolan_store::Role::Admin,
            },
            label: a.label,
            expires: a
                .expires
                .as_deref()
                .map(portolan_alloc::lease::parse_duration)
                .transpose()
                .map_err(|e| CliError::Usage(format!("--expires: {e}")))?,
        },
        cli::TokenCommand::List(a) => TokenSettings::List { db: a.db },
        cli::TokenCommand::Revoke(a) => TokenSettings::Revoke {
            db: a.db.db,
            id: a.id,
        },
    })
}

fn agent_settings(a: cli::AgentArgs) -> Result<AgentSettings, CliError> {
    let interval = portolan_alloc::lease::parse_duration(&a.interval)
        .map_err(|e| CliError::Usage(format!("--interval: {e}")))?;
    let interval = u64::try_from(interval)
        .ok()
        .filter(|s| *s >= 1)
        .ok_or_else(|| CliError::Usage("--interval must be at least 1s".into()))?;
    Ok(AgentSettings {
        remote: Remote::required(a.remote)?,
        host: a.host,
        interval,
        once: a.once,
    })
}

fn color(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

fn report(a: &cli::ReportArgs, json: bool) -> ReportSettings {
    let format = match (a.format, json) {
        (Some(FormatArg::Sarif), _) => Format::Sarif,
        (Some(FormatArg::Json), _) | (None, true) => Format::Json,
        (Some(FormatArg::Human) | None, _) => Format::Human,
    };
    let fail_on = match a.fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Info => Some(Severity::Info),
        FailOn::Never => None,
    };
    ReportSettings { format, fail_on }
}

impl Settings {
    /// Validates the parsed command line.
    pub fn from_cli(cli: Cli) -> Result<Settings, CliError> {
        if let Some(p) = &cli.spec
            && p.as_os_str().is_empty()
        {
            return Err(CliError::Usage("--spec (or PORTOLAN_SPEC) is empty".into()));
        }
        let command = match cli.command {
            cli::Command::Init(a) => Command::Init {
                force: a.force,
                from_host: a.from_host,
                from_discover: a.from_discover,
                print: a.print,
            },
            cli::Command::Discover(a) => Command::Discover(DiscoverSettings {
                paths: if a.paths.is_empty() {
                    vec![PathBuf::from(".")]
                } else {
                    a.paths
                },
                diff: a.diff,
                write: a.write,
                dry_run: a.dry_run,
                min_confidence: match a.min_confidence {
                    cli::ConfidenceArg::Low => portolan_discover::Confidence::Low,
                    cli::ConfidenceArg::Medium => portolan_discover::Confidence::Medium,
                    cli::ConfidenceArg::High => portolan_discover::Confidence::High,
                },
                walk: portolan_discover::walk::WalkOptions {
                    no_ignore: a.no_ignore,
                    follow_links: a.follow,
                    max_filesize: a.max_filesize,
                    threads: a.threads,
                },
            }),
            cli::Command::Import(a) => Command::Import {
                file: a.file,
                output: a.output,
                force: a.force,
            },
            cli::Command::Move(a) => {
                let (service, binding) = match a.service.split_once('.') {
                    Some((s, b)) => (s.to_string(), Some(b.to_string())),
                    None => (a.service.clone(), None),
                };
                if service.is_empty() || binding.as_deref() == Some("") {
                    return Err(CliError::Usage(format!(
                        "`{}` is not SERVICE or SERVICE.BINDING",
                        a.service
                    )));
                }
                Command::Move(MoveSettings {
                    service,
                    binding,
                    to: a.to,
                    container: a.container,
                    apply: a.apply,
                    root: a.root,
                    why: a.why,
                })
            }
            cli::Command::Lint(a) => Command::Lint {
                report: report(&a.report, cli.json),
                list_rules: a.list_rules,
            },
            cli::Command::Check(a) => Command::Check {
                report: report(&a.report, cli.json),
                host: a.host,
                probe: a.probe,
                firewall: a.firewall.map(|k| FirewallSettings {
                    kind: match k {
                        cli::FirewallArg::Ufw => portolan_lint::firewall::Kind::Ufw,
                        cli::FirewallArg::Iptables => portolan_lint::firewall::Kind::Iptables,
                        cli::FirewallArg::Nftables => portolan_lint::firewall::Kind::Nftables,
                    },
                    from: a.from,
                }),
            },
            cli::Command::Ls(a) => Command::Ls(LsSettings {
                // neither flag means both, like ss
                tcp: a.tcp || !a.udp,
                udp: a.udp || !a.tcp,
                owners: a.processes,
                port: a.port,
                project: a.project,
                undeclared: a.undeclared,
            }),
            cli::Command::Who(a) => Command::Who { port: a.port },
            cli::Command::Probe(a) => {
                if a.concurrency == 0 || a.concurrency > 4096 {
                    return Err(CliError::Usage(
                        "--concurrency must be between 1 and 4096".into(),
                    ));
                }
                Command::Probe(ProbeSettings {
                    from_spec: a.env.is_some() || a.host.is_some(),
                    targets: a.targets,
                    env: a.env,
                    host: a.host,
                    concurrency: a.concurrency,
                    timeout: std::time::Duration::from_millis(a.timeout.max(1)),
                    retries: a.retries,
                    deadline: std::time::Duration::from_secs(a.deadline.max(1)),
                    all: a.all,
                    sweep: a.sweep,
                })
            }
            cli::Command::Kill(a) => {
                if !(a.timeout.is_finite() && (0.0..=3600.0).contains(&a.timeout)) {
                    return Err(CliError::Usage(format!(
                        "--timeout {} is not between 0 and 3600 seconds",
                        a.timeout
                    )));
                }
                Command::Kill(KillSettings {
                    ports: a.ports,
                    signal: a.signal,
                    timeout: std::time::Duration::from_secs_f64(a.timeout),
                    force: a.force,
                    yes: a.yes,
                    dry_run: a.dry_run,
                    container: a.container,
                })
            }
            cli::Command::Gen(a) => Command::Gen {
                target: match a.target {
                    cli::Target::Markdown => "markdown",
                    cli::Target::Nftables => "nftables",
                    cli::Target::Iptables => "iptables",
                    cli::Target::Ip6tables => "ip6tables",
                    cli::Target::Ufw => "ufw",
                    cli::Target::AwsSg => "aws-sg",
                    cli::Target::Terraform => "terraform",
                    cli::Target::K8sNetpol => "k8s-netpol",
                    cli::Target::Compose => "compose",
                    cli::Target::Nginx => "nginx",
                    cli::Target::EtcServices => "etc-services",
                    cli::Target::Env => "env",
                    cli::Target::Prometheus => "prometheus",
                    cli::Target::Mermaid => "mermaid",
                },
                output: a.output,
                env: a.env,
                host: a.host,
            },
            cli::Command::Exposure(a) => Command::Exposure {
                env: a.env,
                host: a.host,
            },
            cli::Command::Schema => Command::Schema,
            cli::Command::Completions(a) => Command::Completions(match a.shell {
                cli::Shell::Bash => clap_complete::Shell::Bash,
                cli::Shell::Zsh => clap_complete::Shell::Zsh,
                cli::Shell::Fish => clap_complete::Shell::Fish,
            }),
            cli::Command::Alloc(a) => Command::Alloc(AllocSettings::from_args(a)?),
            cli::Command::Reserve(a) => Command::Reserve(ReserveSettings::from_args(a)?),
            cli::Command::Release(a) => Command::Release {
                target: a.target,
                why: a.why,
                dry_run: a.dry_run,
            },
            cli::Command::Gc(a) => Command::Gc { dry_run: a.dry_run },
            cli::Command::Log(a) => Command::Log {
                project: a.project,
                service: a.service,
            },
            cli::Command::Serve(a) => Command::Serve(serve_settings(a)?),
            cli::Command::Token(t) => Command::Token(token_settings(t)?),
            cli::Command::Push(a) => Command::Push(Remote::required(a)?),
            cli::Command::Pull(a) => Command::Pull {
                remote: Remote::required(a.remote)?,
                output: a.output,
            },
            cli::Command::Agent(a) => Command::Agent(agent_settings(a)?),
        };
        let verbosity = i8::try_from(cli.verbose).unwrap_or(i8::MAX)
            - i8::try_from(cli.quiet).unwrap_or(i8::MAX);
        Ok(Settings {
            spec: cli.spec,
            color: color(cli.color, std::io::stdout().is_terminal()),
            color_stderr: color(cli.color, std::io::stderr().is_terminal()),
            json: cli.json,
            verbosity,
            command,
        })
    }

    /// The spec path: explicit, or `ports.toml` in the current directory or a parent.
    pub fn spec_path(&self) -> Result<PathBuf, CliError> {
        if let Some(p) = &self.spec {
            return Ok(p.clone());
        }
        let cwd = std::env::current_dir()
            .map_err(|e| CliError::io("cannot read the current directory", e))?;
        portolan_model::find_spec(&cwd).ok_or_else(|| {
            CliError::Usage(format!(
                "no {} found in {} or any parent directory\n  hint: pass --spec PATH, set PORTOLAN_SPEC, or run `portolan init`",
                portolan_model::SPEC_FILE,
                cwd.display()
            ))
        })
    }

    /// Loads the spec.
    pub fn load(&self) -> Result<portolan_model::Model, CliError> {
        Ok(portolan_model::load(&self.spec_path()?)?)
    }
}

/// `check --firewall`.
#[derive(Debug, Clone)]
pub struct FirewallSettings {
    /// Dump syntax.
    pub kind: portolan_lint::firewall::Kind,
    /// `--from FILE` (`-`: stdin); `None`: read the live firewall.
    pub from: Option<PathBuf>,
}

/// `alloc`, validated: the lease parsed, the name checked.
#[derive(Debug, Clone)]
pub struct AllocSettings {
    /// Project.
    pub project: String,
    /// New service name.
    pub name: String,
    /// Block.
    pub block: Option<String>,
    /// Host.
    pub host: Option<String>,
    /// Transport.
    pub transport: portolan_model::Transport,
    /// Consecutive ports.
    pub count: u16,
    /// Preferred port.
    pub near: Option<u16>,
    /// Lease length in seconds.
    pub lease: Option<i64>,
    /// Why.
    pub why: Option<String>,
    /// Binding name.
    pub binding: String,
    /// Write nothing.
    pub dry_run: bool,
    /// Print only the port.
    pub print: bool,
    /// Allocate from this registry instead of the local spec.
    pub remote: Option<Remote>,
}

impl AllocSettings {
    fn from_args(a: cli::AllocArgs) -> Result<Self, CliError> {
        for (what, n) in [("--name", &a.name), ("--binding", &a.binding)] {
            if !portolan_alloc::policy::valid_name(n) {
                return Err(CliError::Usage(format!(
                    "{what}: {}",
                    portolan_alloc::AllocError::InvalidName(n.clone())
                )));
            }
        }
        let lease = a
            .lease
            .as_deref()
            .map(portolan_alloc::lease::parse_duration)
            .transpose()
            .map_err(|e| CliError::Usage(format!("--lease: {e}")))?;
        Ok(Self {
            project: a.project,
            name: a.name,
            block: a.block,
            host: a.host,
            transport: match a.transport {
                cli::TransportArg::Tcp => portolan_model::Transport::Tcp,
                cli::TransportArg::Udp => portolan_model::Transport::Udp,
            },
            count: a.count,
            near: a.near,
            lease,
            why: a.why,
            binding: a.binding,
            dry_run: a.dry_run,
            print: a.print,
            remote: Remote::from_args(a.remote)?,
        })
    }
}

/// `reserve`, validated: the ports and date parsed.
#[derive(Debug, Clone)]
pub struct ReserveSettings {
    /// Ports.
    pub ports: portolan_model::PortSet,
    /// Project.
    pub project: String,
    /// Why.
    pub why: String,
    /// Host.
    pub host: Option<String>,
    /// Until (`YYYY-MM-DD`).
    pub until: Option<String>,
    /// Write nothing.
    pub dry_run: bool,
}

impl ReserveSettings {
    fn from_args(a: cli::ReserveArgs) -> Result<Self, CliError> {
        let range: portolan_model::PortRange = a
            .ports
            .parse()
            .map_err(|e| CliError::Usage(format!("reserve: {e} (write `8010` or `8010-8019`)")))?;
        if a.why.trim().is_empty() {
            return Err(CliError::Usage(
                "reserve: --why must say why the ports are held".into(),
            ));
        }
        if let Some(d) = &a.until {
            let ok = portolan_model::spec::Timestamp::parse(&format!("{d}T00:00:00Z"))
                .is_ok_and(|t| t.to_string().starts_with(d.as_str()));
            if !ok {
                return Err(CliError::Usage(format!(
                    "--until: `{d}` is not a date YYYY-MM-DD"
                )));
            }
        }
        Ok(Self {
            ports: portolan_model::PortSet::from_ranges([range]),
            project: a.project,
            why: a.why,
            host: a.host,
            until: a.until,
            dry_run: a.dry_run,
        })
    }
}
