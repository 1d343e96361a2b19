//! `portolan who PORT`: which process holds a port, and which service, project and block of
//! the spec own it — and whether the live binding matches the declared one.

use std::fmt::Write as _;

use super::Subcommand;
use super::live::{listeners, this_host};
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

Exit code: 0 something listens, 1 nothing does, 2 bad port.";

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
    let (list, note) = listeners(true)?;
    let live: Vec<_> = list.iter().filter(|l| l.port == port).collect();
    let mut out = String::new();
    let mut json_listeners = Vec::new();
    let mut json_declared = Vec::new();
    let mut json_project = serde_json::Value::Null;
    if live.is_empty() {
        let _ = writeln!(out, "nothing listens on port {port}");
    }
    for l in &live {
        let owners = if l.owners.is_empty() {
            "owner not visible (run as root)".to_string()
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
        json_listeners.push(serde_json::to_value(l).unwrap_or_default());
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
        let json = serde_json::json!({"port": port, "listeners": json_listeners, "declared": json_declared, "project": json_project});
        output::stdout(&(serde_json::to_string_pretty(&json).unwrap_or_default() + "\n"))?;
    } else {
        output::stdout(&out)?;
    }
    if let Some(n) = note
        && s.verbosity > 0
    {
        eprintln!("note: {n}");
    }
    Ok(if live.is_empty() {
        Exit::Findings
    } else {
        Exit::Ok
    })
}
