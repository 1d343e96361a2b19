//! `portolan ls`: listening sockets with their owners, like `ss -tulpn`, plus the container
//! behind each (the publication it serves: container, compose service, container port, and
//! whether anything listens there inside) and the spec's view (which declared binding each
//! is). Filters: transport, port range, a project's range, only the undeclared ones.
//! `--containers` lists the sockets inside containers instead.

use portolan_model::PortRange;

use super::Subcommand;
use super::live::{declared, inside_rows, observe, print_notes};
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
  portolan ls --undeclared --json    # what the spec does not know
  portolan ls --containers -p        # what listens inside containers, published or not";

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
    /// List the sockets inside containers (their own network namespaces) instead.
    #[arg(long, conflicts_with_all = ["undeclared", "no_containers"])]
    pub containers: bool,
    /// Do not ask the container engines (Docker, Podman).
    #[arg(long)]
    pub no_containers: bool,
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
    /// In-container sockets instead.
    containers: bool,
    /// Ask the engines.
    engines: bool,
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
                containers: self.containers,
                engines: !self.no_containers,
            },
        )
    }
}

fn run(s: &Settings, o: &LsSettings) -> Result<Exit, CliError> {
    let needs_spec = o.project.is_some() || o.undeclared;
    let model = if needs_spec {
        Some(s.load()?)
    } else {
        s.load().ok()
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
    let view = observe(o.owners, o.engines)?;
    if o.containers {
        return containers(s, o, &view, range);
    }
    let list = &view.listeners;
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
        let mut table = vec![
            [
                "PROTO",
                "LOCAL",
                "PROCESS",
                "USER",
                "CONTAINER",
                "COMPOSE",
                "SERVICE",
            ]
            .map(str::to_string)
            .to_vec(),
        ];
        for (l, names) in &rows {
            let process = l
                .owners
                .iter()
                .map(|o| format!("{}/{}", o.pid, o.name))
                .collect::<Vec<_>>()
                .join(",");
            let user = match l.owners.first() {
                Some(o) => o.user.clone(),
                None if l.inode == 0 => "-".into(),
                None => l.uid.to_string(),
            };
            let (container, compose) = container_cells(l);
            let service = if model.is_none() {
                "-".to_string()
            } else if names.is_empty() {
                "(undeclared)".to_string()
            } else {
                names.join(",")
            };
            table.push(vec![
                l.transport.as_str().to_string(),
                l.local(),
                if process.is_empty() {
                    "-".into()
                } else {
                    process
                },
                user,
                container,
                compose,
                service,
            ]);
        }
        output::stdout(&aligned(&table))?;
    }
    print_notes(s, &view.notes);
    let hidden = rows
        .iter()
        .filter(|(l, _)| l.owners.is_empty() && l.inode != 0)
        .count();
    if o.owners && hidden > 0 && s.verbosity >= 0 {
        errln!(
            "note: the owner of {} is not visible (a process of another user without root, or of another PID namespace)",
            super::common::count(hidden as u64, "socket", None)
        );
    }
    Ok(Exit::Ok)
}

/// The CONTAINER and COMPOSE cells of a host listener: `shop-web-1:80` (the container port a
/// publication leads to, and a warning when nothing listens there inside), or the container
/// whose process holds the socket.
fn container_cells(l: &portolan_observe::Listener) -> (String, String) {
    match &l.container {
        Some(c) => {
            let name = match &c.published {
                Some(p) => {
                    let warn = match p.inside {
                        portolan_observe::Inside::Nothing => " (nothing inside)",
                        portolan_observe::Inside::LoopbackOnly => " (loopback inside)",
                        _ => "",
                    };
                    format!("{}:{}{warn}", c.name, p.target)
                }
                None => c.name.clone(),
            };
            let compose = match (&c.project, &c.service) {
                (Some(p), Some(s)) => format!("{p}/{s}"),
                _ => "-".into(),
            };
            (name, compose)
        }
        None => (
            l.owners
                .iter()
                .find_map(|o| o.container.clone())
                .unwrap_or_else(|| "-".into()),
            "-".into(),
        ),
    }
}

/// Columns padded to their widest cell (the last one not padded).
fn aligned(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut t = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                let pad = widths[i].saturating_sub(c.chars().count());
                line.push_str(c);
                line.push_str(&" ".repeat(pad + 1));
            }
        }
        t.push_str(line.trim_end());
        t.push('\n');
    }
    t
}

/// `ls --containers`: sockets inside containers' network namespaces.
fn containers(
    s: &Settings,
    o: &LsSettings,
    view: &super::live::LiveView,
    range: Option<PortRange>,
) -> Result<Exit, CliError> {
    let rows: Vec<_> = inside_rows(&view.scan)
        .into_iter()
        .filter(|r| {
            (o.tcp && r.listener.transport == portolan_observe::Transport::Tcp)
                || (o.udp && r.listener.transport == portolan_observe::Transport::Udp)
        })
        .filter(|r| range.is_none_or(|p| p.contains(r.listener.port)))
        .collect();
    if s.json {
        let v: Vec<serde_json::Value> = rows.iter().map(super::live::InsideRow::to_json).collect();
        output::stdout(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"))?;
    } else {
        let mut table = vec![
            [
                "CONTAINER",
                "COMPOSE",
                "PROTO",
                "LOCAL",
                "PROCESS",
                "PUBLISHED",
            ]
            .map(str::to_string)
            .to_vec(),
        ];
        for r in &rows {
            let process = r
                .listener
                .owners
                .iter()
                .map(|o| format!("{}/{}", o.pid, o.name))
                .collect::<Vec<_>>()
                .join(",");
            table.push(vec![
                r.names(),
                r.compose(),
                r.listener.transport.as_str().to_string(),
                r.listener.local(),
                if process.is_empty() {
                    "-".into()
                } else {
                    process
                },
                if r.published.is_empty() {
                    "-".into()
                } else {
                    r.published.join(",")
                },
            ]);
        }
        output::stdout(&aligned(&table))?;
    }
    print_notes(s, &view.notes);
    if !view.scan.answered() && view.scan.notes.is_empty() && s.verbosity >= 0 {
        errln!("note: no container engine found (set DOCKER_HOST to its socket)");
    }
    Ok(Exit::Ok)
}
