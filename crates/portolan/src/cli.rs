//! The command line as clap sees it: the global options, the list of subcommands, and the
//! argument groups several subcommands share. Each subcommand's own arguments, help and
//! validation live in its module under `commands/`; nothing below the commands sees clap
//! types.

use std::path::PathBuf;

use clap::{Args, Parser, ValueEnum};

use crate::commands::{self, Subcommand as _};
use crate::error::CliError;
use crate::exit::Exit;
use crate::settings::Settings;

const AFTER_HELP: &str = "\
Examples:
  portolan lint                         # check ./ports.toml (searched upward)
  portolan --spec examples/opticserp-port-reference lint --format sarif
  portolan gen markdown -o PORTS.md     # write the port reference
  portolan schema > ports.schema.json   # JSON Schema for editors

Exit codes: 0 ok, 1 findings at or above --fail-on, 2 usage error or malformed input.";

/// The help section of the options every command takes.
const GLOBAL: &str = "Global options";

/// Network ports as code: one spec, linted, documented, checked against reality.
#[derive(Debug, Parser)]
#[command(name = "portolan", version, about, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// Spec file or directory of *.toml (default: ./ports.toml, searched upward).
    #[arg(long, global = true, env = "PORTOLAN_SPEC", value_name = "PATH", help_heading = GLOBAL)]
    pub spec: Option<PathBuf>,

    /// Machine-readable JSON output.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,

    /// When to use colours.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN", help_heading = GLOBAL)]
    pub color: ColorChoice,

    /// Print less (repeat for silence on success).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "verbose", help_heading = GLOBAL)]
    pub quiet: u8,

    /// Print more (notes of every finding).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
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

/// Declares the subcommands once: the clap enum (variant doc = one-line help, `after_help`
/// = the module's `HELP`) and the dispatch to each module's [`commands::Subcommand`] impl.
macro_rules! subcommands {
    ($(
        $(#[doc = $doc:literal])*
        $(#[cfg($cfg:meta)])?
        $variant:ident => $module:ident $(as $name:literal)?
    ),+ $(,)?) => {
        /// Subcommands.
        #[derive(Debug, clap::Subcommand)]
        pub enum Command {
            $(
                $(#[doc = $doc])*
                $(#[cfg($cfg)])?
                #[command($(name = $name,)? after_help = commands::$module::HELP)]
                $variant(commands::$module::Args),
            )+
        }

        impl Command {
            /// Validates the arguments into the command's settings and runs it.
            pub fn run(self, s: &Settings) -> Result<Exit, CliError> {
                match self {
                    $( $(#[cfg($cfg)])? Command::$variant(a) => a.run(s), )+
                }
            }

            /// Whether the command writes machine output (JSON, SARIF) on stdout, so
            /// errors are reported there as JSON too.
            pub fn machine_output(&self) -> bool {
                match self {
                    $( $(#[cfg($cfg)])? Command::$variant(a) => a.machine_output(), )+
                }
            }
        }
    };
}

subcommands! {
    /// Write a starter spec (or a draft of this machine as it is, with --from-host).
    Init => init,
    /// Static checks of the spec.
    Lint => lint,
    /// Lint plus drift: the spec against this machine's listeners, firewall and reachability.
    Check => check,
    /// Listening sockets with their owning processes (like `ss -tulpn`) and the declared service.
    Ls => ls,
    /// Which process holds a port, and which service and project own it.
    Who => who,
    /// Stop the process(es) holding ports (SIGTERM, wait, SIGKILL only with --force).
    Kill => kill,
    /// Reachability from here: TCP connect, UDP, HTTP status.
    Probe => probe,
    /// Render an output from the spec.
    Gen => gen_,
    /// Per binding: declared exposure vs effective reach, and why.
    Exposure => exposure,
    /// Who reaches a binding, layer by layer and per address family (bind, networks,
    /// publish, firewall rule, routes).
    Why => why,
    /// This host's live listeners (owners, containers) as stable JSON.
    Snapshot => snapshot,
    /// What changed between two states: specs, snapshot files or `live`.
    Diff => diff,
    /// Print the JSON Schema of the spec format.
    Schema => schema,
    /// Print a shell completion script.
    Completions => completions,
    /// Pick the next free port of a project and record it (locked, atomic, logged).
    Alloc => alloc,
    /// Hold ports for a project without a service yet.
    Reserve => reserve,
    /// Give back a service's ports, or reserved ports.
    Release => release,
    /// Remove expired leases and reservations from the spec.
    Gc => gc,
    /// Print the allocation/change log.
    Log => log,
    /// Find the ports a repository uses (compose, .env, nginx, Kubernetes, Dockerfile,
    /// systemd, Procfile, code), with evidence.
    Discover => discover,
    /// Turn a Markdown port document into a spec.
    Import => import,
    /// Impact of moving a service to another port: every reference in the repository;
    /// --apply rewrites the sure ones.
    Move => move_ as "move",
    /// Run the team registry: REST API, dashboard and `/metrics` on `SQLite` or `PostgreSQL`.
    #[cfg(feature = "registry")]
    Serve => serve,
    /// Create, list and revoke the registry's API tokens (directly on its database).
    #[cfg(feature = "registry")]
    Token => token,
    /// Upload the spec into the registry (replaces the registry's spec).
    #[cfg(feature = "registry")]
    Push => push,
    /// Download the registry's spec as ports.toml.
    #[cfg(feature = "registry")]
    Pull => pull,
    /// Report this host's listeners to the registry, once or every --interval.
    #[cfg(feature = "registry")]
    Agent => agent,
}

/// Where the registry is: `--server`/`$PORTOLAN_SERVER` and `--token`/`$PORTOLAN_TOKEN`.
#[derive(Debug, Args)]
pub struct RemoteArgs {
    /// Registry URL (`http://127.0.0.1:7878`).
    #[arg(
        long,
        env = "PORTOLAN_SERVER",
        value_name = "URL",
        hide_env_values = true
    )]
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

/// `--firewall` of check and why: which dump syntax.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum FirewallArg {
    /// `ufw status verbose` output.
    Ufw,
    /// `iptables-save` (and `ip6tables-save`) output.
    Iptables,
    /// `nft list ruleset` output.
    Nftables,
}

impl FirewallArg {
    /// The importer's kind.
    pub fn kind(self) -> portolan_firewall::Kind {
        match self {
            FirewallArg::Ufw => portolan_firewall::Kind::Ufw,
            FirewallArg::Iptables => portolan_firewall::Kind::Iptables,
            FirewallArg::Nftables => portolan_firewall::Kind::Nftables,
        }
    }
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

/// Options shared by the commands that report findings (lint, check).
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output format (--json is short for --format json).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<FormatArg>,
    /// Lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error, value_name = "SEVERITY")]
    pub fail_on: FailOn,
}

impl ReportArgs {
    /// Whether the report goes to stdout as JSON or SARIF.
    pub fn machine_output(&self) -> bool {
        matches!(self.format, Some(FormatArg::Json | FormatArg::Sarif))
    }
}

/// `--transport`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TransportArg {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl From<TransportArg> for portolan_model::Transport {
    fn from(t: TransportArg) -> Self {
        match t {
            TransportArg::Tcp => portolan_model::Transport::Tcp,
            TransportArg::Udp => portolan_model::Transport::Udp,
        }
    }
}

/// Parses `5432` or `5000-5399` (clap value parser).
pub fn parse_range(s: &str) -> Result<portolan_model::PortRange, String> {
    s.parse()
        .map_err(|e: portolan_model::port::PortError| e.to_string())
}

/// Parses one port (clap value parser).
pub fn parse_port(s: &str) -> Result<u16, String> {
    match parse_range(s)? {
        r if r.lo == r.hi => Ok(r.lo),
        r => Err(format!("expected one port, not the range {r}")),
    }
}
