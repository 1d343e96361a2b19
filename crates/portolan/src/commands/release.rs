//! `portolan release SVC|PORT`: remove a service (and with it its ports), or take ports out
//! of the reservations that hold them. A name that is a service wins over a port number.
//! Ports bound by a service are released by the service's name, never by number.

use portolan_alloc::AllocError;
use portolan_alloc::log::Action;
use portolan_alloc::txn::Transaction;
use portolan_model::{PortRange, PortSet};
use std::fmt::Write as _;

use super::Subcommand;
use super::common::{entry, shown};
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan release test-db                 # remove the service and free its ports
  portolan release 8012                    # take 8012 out of its reservation
  portolan release 8010-8019 --why \"search moved to its own project\"";

/// `portolan release`.
#[derive(Debug, clap::Args)]
pub struct Args {
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

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        run(s, &self.target, self.why.as_deref(), self.dry_run)
    }
}

fn run(s: &Settings, target: &str, why: Option<&str>, dry_run: bool) -> Result<Exit, CliError> {
    let spec = s.spec_path()?;
    let now = s.clock.now();
    let mut txn = Transaction::open(&spec, dry_run)?;
    super::common::report_recovered(s, &txn);
    let model = txn.model();
    let mut entries = Vec::new();
    let summary;
    if let Some(sid) = model.service_named(target) {
        let svc = model.service(sid);
        let mut held: Vec<String> = model
            .bindings_of(sid)
            .iter()
            .map(|b| format!("{}/{}", b.ports, b.transport.as_str()))
            .collect();
        held.dedup();
        let file = txn.file_of(svc.loc).unwrap_or_else(|| txn.main_file());
        let mut e = entry(&spec, now, Action::Release, held.join(", "));
        e.service = Some(svc.name.clone());
        e.project = svc.project.map(|p| model.project(p).name.clone());
        e.why = why.map(str::to_string);
        summary = format!("service `{target}` ({})", held.join(", "));
        if !dry_run {
            txn.doc(&file)?.remove_service(target);
        }
        entries.push(e);
    } else if let Ok(range) = target.parse::<PortRange>() {
        let wanted = PortSet::from_ranges([range]);
        let holders: Vec<&portolan_model::Reservation> = model
            .reservations
            .iter()
            .filter(|r| !r.ports.intersection(&wanted).is_empty())
            .collect();
        if holders.is_empty() {
            let bound: Vec<String> = model
                .bindings
                .iter()
                .filter(|b| b.ports.overlaps(&range))
                .map(|b| model.service(b.service).name.clone())
                .collect();
            return Err(AllocError::NotReleasable(match bound.first() {
                Some(name) => format!(
                    "port {range} is not reserved; it is bound by service `{name}`: release it by name (`portolan release {name}`)"
                ),
                None => format!("port {range} is neither reserved nor bound: nothing to release"),
            })
            .into());
        }
        let mut files: Vec<std::path::PathBuf> =
            holders.iter().filter_map(|r| txn.file_of(r.loc)).collect();
        files.sort();
        files.dedup();
        let mut e = entry(&spec, now, Action::Release, wanted.to_string());
        let projects: Vec<String> = holders
            .iter()
            .filter_map(|r| r.project.map(|p| model.project(p).name.clone()))
            .collect();
        e.project = projects.first().cloned();
        e.why = why.map(str::to_string);
        summary = format!("reserved ports {wanted}");
        if !dry_run {
            for f in files {
                txn.doc(&f)?.release_reserved(&wanted);
            }
        }
        entries.push(e);
    } else {
        let names: Vec<&str> = model.services.iter().map(|x| x.name.as_str()).collect();
        let hint = portolan_model::error::did_you_mean(target, names.iter().copied())
            .map(|n| format!(" (did you mean `{n}`?)"))
            .unwrap_or_default();
        return Err(CliError::Usage(format!(
            "`{target}` is neither a service of the spec nor a port or range{hint}"
        )));
    }
    let written = if dry_run {
        Vec::new()
    } else {
        txn.commit(&entries)?
    };
    if s.json {
        let v = serde_json::json!({
            "released": entries,
            "dry_run": dry_run,
            "written": written.iter().map(|p| shown(p)).collect::<Vec<_>>(),
        });
        output::stdout(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"))?;
    } else if s.verbosity >= 0 {
        let verb = if dry_run { "would release" } else { "released" };
        let mut line = format!("{verb} {summary}");
        if let Some(p) = written.first() {
            let _ = write!(line, " ({} updated)", shown(p));
        }
        output::stdout(&(line + "\n"))?;
    }
    Ok(Exit::Ok)
}
