//! `portolan who PORT`: which process holds a port, the container whose publication it is
//! (compose project and service, the container port and what listens on it inside), which
//! service, project and block of the spec own it — and whether the live binding matches the
//! declared one. Sockets on that port inside containers are listed too.

use std::fmt::Write as _;

use super::Subcommand;
use super::live::{inside_rows, observe, owner_list, this_host};
use crate::cli::parse_port;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan who 8069
  portolan who 5432 --json

Exit code: 0 something listens on the host, 1 nothing does, 2 bad port.";

/// `portolan who`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The port (1-65535).
    #[arg(value_parser = parse_port)]
    pub port: u16,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        run(s, self.port)
    }
}

fn run(s: &Settings, port: u16) -> Result<Exit, CliError> {
    let model = s
        .spec_path()
        .ok()
        .and_then(|p| portolan_model::load(&p).ok());
    let view = observe(true, true)?;
    let list = &view.listeners;
    let live: Vec<_> = list.iter().filter(|l| l.port == port).collect();
    let mut out = String::new();
    let mut json_listeners = Vec::new();
    let mut json_declared = Vec::new();
    let mut json_project = serde_json::Value::Null;
    if live.is_empty() {
        let _ = writeln!(out, "nothing listens on port {port} on the host");
    }
    for l in &live {
        let root = super::common::is_root();
        let owners = if l.owners.is_empty() {
            if l.container.is_some() {
                "no host process (forwarded by NAT rules only)".to_string()
            } else if root {
                "no visible process (one of another PID namespace?)".to_string()
            } else {
                "owner not visible (run as root)".to_string()
            }
        } else {
            l.owners
                .iter()
                .map(|o| {
                    format!(
                        "{} (pid {}, user {}{}) {}",
                        o.name,
                        o.pid,
                        o.user,
                        o.container
                            .as_ref()
                            .map(|c| format!(", container {c}"))
                            .unwrap_or_default(),
                        o.cmdline
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        let _ = writeln!(
            out,
            "{}/{} held by {owners}",
            l.local(),
            l.transport.as_str()
        );
        if let Some(c) = &l.container {
            out.push_str(&container_lines(&view.scan, l, c));
        }
        json_listeners.push(serde_json::to_value(l).unwrap_or_default());
    }
    let inside: Vec<_> = inside_rows(&view.scan)
        .into_iter()
        .filter(|r| r.listener.port == port)
        .collect();
    for r in &inside {
        let _ = writeln!(
            out,
            "inside container {}{}: {}/{} held by {} — {}",
            r.names(),
            if r.compose() == "-" {
                String::new()
            } else {
                format!(" (compose {})", r.compose())
            },
            r.listener.local(),
            r.listener.transport.as_str(),
            if r.listener.owners.is_empty() {
                "a process not visible from here".to_string()
            } else {
                owner_list(r.listener)
            },
            if r.published.is_empty() {
                "not published on the host".to_string()
            } else {
                format!("published on {}", r.published.join(", "))
            }
        );
    }
    if let Some(m) = &model {
        let host = this_host(m);
        for b in m.bindings.iter().filter(|b| b.ports.contains(port)) {
            let here = host.is_none_or(|h| h == b.host);
            let matching = live.iter().any(|l| {
                l.transport.as_str() == b.transport.as_str()
                    && (l.addr == b.bind || b.bind.is_unspecified())
            });
            let state = match (here, live.is_empty(), matching) {
                (false, ..) => "on another host",
                (true, true, _) => "declared, not listening",
                (true, false, true) => "matches the live listener",
                (true, false, false) => "live listener differs (address or transport)",
            };
            let _ = writeln!(
                out,
                "declared: `{}` on host `{}` at {}:{}/{} — {state}",
                b.qualified_name(m),
                m.host(b.host).name,
                b.bind,
                b.ports,
                b.transport.as_str()
            );
            json_declared.push(serde_json::json!({"binding": b.qualified_name(m), "host": m.host(b.host).name, "bind": b.bind.to_string(), "state": state}));
        }
        for p in &m.projects {
            if p.range.as_ref().is_some_and(|r| r.contains(port)) {
                let block = p
                    .blocks
                    .iter()
                    .find(|b| b.ports.contains(port))
                    .map(|b| format!(", block `{}` ({})", b.name, b.ports))
                    .unwrap_or_default();
                let _ = writeln!(out, "range: project `{}`{block}", p.name);
                json_project = serde_json::json!({"name": p.name, "block": p.blocks.iter().find(|b| b.ports.contains(port)).map(|b| b.name.clone())});
            }
        }
        if let Some(w) = portolan_model::knowledge::primary_use(port) {
            let _ = writeln!(out, "well known as: {} ({})", w.name, w.description);
        }
    }
    if s.json {
        let inside: Vec<serde_json::Value> =
            inside.iter().map(super::live::InsideRow::to_json).collect();
        let json = serde_json::json!({"port": port, "listeners": json_listeners, "inside": inside, "declared": json_declared, "project": json_project});
        output::stdout(&(serde_json::to_string_pretty(&json).unwrap_or_default() + "\n"))?;
    } else {
        output::stdout(&out)?;
    }
    super::live::print_notes(s, &view.notes);
    Ok(if live.is_empty() {
        Exit::Findings
    } else {
        Exit::Ok
    })
}

/// The lines under a host socket that a container is behind: the container, and for a
/// publication where it goes and what listens there inside.
fn container_lines(
    scan: &portolan_observe::ContainerScan,
    l: &portolan_observe::Listener,
    c: &portolan_observe::ContainerLink,
) -> String {
    let mut out = String::new();
    let compose = match (&c.project, &c.service) {
        (Some(p), Some(s)) => format!(", compose project `{p}`, service `{s}`"),
        _ => String::new(),
    };
    let who = format!(
        "{} container `{}` (id {}, image {}{compose})",
        c.engine.as_str(),
        c.name,
        c.id.get(..12).unwrap_or(&c.id),
        c.image
    );
    let Some(p) = &c.published else {
        let _ = writeln!(out, "  process of {who}, on the host's network");
        return out;
    };
    let t = l.transport.as_str();
    let _ = writeln!(out, "  published by {who} → {}/{t}", p.target);
    let holders: Vec<String> = scan
        .namespace_of(&c.id)
        .map(|ns| {
            ns.listeners
                .iter()
                .filter(|x| x.port == p.target && x.transport == l.transport)
                .map(|x| {
                    if x.owners.is_empty() {
                        x.local()
                    } else {
                        format!("{} ({})", x.local(), owner_list(x))
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let inside = match p.inside {
        portolan_observe::Inside::Listening => format!("listening on {}", holders.join(", ")),
        portolan_observe::Inside::LoopbackOnly => format!(
            "only {} listens, which forwarded traffic cannot reach (publish-to-dead-port)",
            holders.join(", ")
        ),
        portolan_observe::Inside::Nothing => {
            format!("nothing listens on {}/{t} (publish-to-dead-port)", p.target)
        }
        portolan_observe::Inside::Unknown => "not visible from here (run as root)".to_string(),
    };
    let _ = writeln!(out, "  inside: {inside}");
    out
}
