//! `portolan ls`: listening sockets with their owners, like `ss -tulpn`, plus the spec's view
//! (which declared binding each is). Filters: transport, port range, a project's range,
//! only the undeclared ones.

use std::fmt::Write as _;

use portolan_model::PortRange;

use super::Subcommand;
use super::live::{declared, listeners};
use crate::cli::parse_range;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan ls -p                     # with owners (root sees every process)
  portolan ls --tcp --port 5000-5399
  portolan ls --project dashboard    # that project's range
  portolan ls --undeclared --json    # what the spec does not know";

/// `portolan ls`.
#[derive(Debug, clap::Args)]
pub struct Args {
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
    pub port: Option<PortRange>,
    /// Only the range of this project of the spec.
    #[arg(long, value_name = "NAME")]
    pub project: Option<String>,
    /// Only listeners no binding of the spec declares.
    #[arg(long)]
    pub undeclared: bool,
}

/// Validated `ls` options.
#[derive(Debug, Clone)]
struct LsSettings {
    /// Show TCP.
    tcp: bool,
    /// Show UDP.
    udp: bool,
    /// Look up owning processes.
    owners: bool,
    /// Port filter.
    port: Option<PortRange>,
    /// Project filter.
    project: Option<String>,
    /// Only undeclared.
    undeclared: bool,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        run(
            s,
            &LsSettings {
                // neither flag means both, like ss
                tcp: self.tcp || !self.udp,
                udp: self.udp || !self.tcp,
                owners: self.processes,
                port: self.port,
                project: self.project,
                undeclared: self.undeclared,
            },
        )
    }
}

fn run(s: &Settings, o: &LsSettings) -> Result<Exit, CliError> {
    let needs_spec = o.project.is_some() || o.undeclared;
    let model = if needs_spec {
        Some(s.load()?)
    } else {
        s.spec_path()
            .ok()
            .and_then(|p| portolan_model::load(&p).ok())
    };
    let mut range: Option<PortRange> = o.port;
    if let (Some(p), Some(m)) = (&o.project, &model) {
        let pid = m
            .project_named(p)
            .ok_or_else(|| CliError::Usage(format!("project `{p}` is not in the spec")))?;
        let r = m
            .project(pid)
            .range
            .as_ref()
            .and_then(portolan_model::PortSet::bounds)
            .ok_or_else(|| CliError::Usage(format!("project `{p}` has no range")))?;
        range = Some(r);
    }
    let (list, note) = listeners(o.owners)?;
    let host = model.as_ref().and_then(super::live::this_host);
    let rows: Vec<_> = list
        .iter()
        .filter(|l| {
            (o.tcp && l.transport == portolan_observe::Transport::Tcp)
                || (o.udp && l.transport == portolan_observe::Transport::Udp)
        })
        .filter(|l| range.is_none_or(|r| r.contains(l.port)))
        .map(|l| {
            let names: Vec<String> = model
                .as_ref()
                .map(|m| {
                    declared(m, l, host)
                        .iter()
                        .map(|b| b.qualified_name(m))
                        .collect()
                })
                .unwrap_or_default();
            (l, names)
        })
        .filter(|(_, names)| !o.undeclared || names.is_empty())
        .collect();
    if s.json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|(l, names)| {
                let mut v = serde_json::to_value(l).unwrap_or_default();
                v["local"] = serde_json::Value::String(l.local());
                v["declared"] = serde_json::json!(names);
                v
            })
            .collect();
        output::stdout(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"))?;
    } else {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "{:<5} {:<40} {:<28} {:<10} {:<18} SERVICE",
            "PROTO", "LOCAL", "PROCESS", "USER", "CONTAINER"
        );
        for (l, names) in &rows {
            let process = l
                .owners
                .iter()
                .map(|o| format!("{}/{}", o.pid, o.name))
                .collect::<Vec<_>>()
                .join(",");
            let user = l
                .owners
                .first()
                .map_or_else(|| l.uid.to_string(), |o| o.user.clone());
            let container = l
                .owners
                .iter()
                .find_map(|o| o.container.clone())
                .unwrap_or_else(|| "-".into());
            let service = if model.is_none() {
                "-".to_string()
            } else if names.is_empty() {
                "(undeclared)".to_string()
            } else {
                names.join(",")
            };
            let _ = writeln!(
                t,
                "{:<5} {:<40} {:<28} {:<10} {:<18} {service}",
                l.transport.as_str(),
                l.local(),
                if process.is_empty() { "-" } else { &process },
                user,
                container
            );
        }
        output::stdout(&t)?;
    }
    if let Some(n) = note
        && s.verbosity >= 0
    {
        eprintln!("note: {n}");
    }
    let hidden = rows.iter().filter(|(l, _)| l.owners.is_empty()).count();
    if o.owners && hidden > 0 && s.verbosity >= 0 {
        eprintln!(
            "note: the owner of {hidden} socket(s) is not visible (a process of another user without root, or of another PID namespace)"
        );
    }
    Ok(Exit::Ok)
}
