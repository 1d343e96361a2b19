//! `portolan reserve PORT[-PORT] --project P --why TEXT`: hold ports for a project. Refused
//! (exit 1) when a service binds one of them or another reservation holds it.

use portolan_alloc::AllocError;
use portolan_alloc::edit::NewReservation;
use portolan_alloc::log::Action;
use portolan_alloc::policy::{find_host, lease_expired, pool, reservation_expired};
use portolan_alloc::txn::Transaction;
use portolan_model::ServiceId;
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
  portolan reserve 8010-8019 --project shop --why \"search service, Q1\"
  portolan reserve 5050 --project dashboard --why \"vendor demo\" --host app1 --until 2026-03-31

Exit 1 when the ports are bound by a service or already reserved.";

/// `portolan reserve`.
#[derive(Debug, clap::Args)]
pub struct Args {
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

/// `reserve`, validated: the ports and date parsed.
#[derive(Debug, Clone)]
struct ReserveSettings {
    /// Ports.
    ports: portolan_model::PortSet,
    /// Project.
    project: String,
    /// Why.
    why: String,
    /// Host.
    host: Option<String>,
    /// Until (`YYYY-MM-DD`).
    until: Option<String>,
    /// Write nothing.
    dry_run: bool,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        let range: portolan_model::PortRange = self
            .ports
            .parse()
            .map_err(|e| CliError::Usage(format!("reserve: {e} (write `8010` or `8010-8019`)")))?;
        if self.why.trim().is_empty() {
            return Err(CliError::Usage(
                "reserve: --why must say why the ports are held".into(),
            ));
        }
        if let Some(d) = &self.until {
            let ok = portolan_model::spec::Timestamp::parse(&format!("{d}T00:00:00Z"))
                .is_ok_and(|t| t.to_string().starts_with(d.as_str()));
            if !ok {
                return Err(CliError::Usage(format!(
                    "--until: `{d}` is not a date YYYY-MM-DD"
                )));
            }
        }
        run(
            s,
            &ReserveSettings {
                ports: portolan_model::PortSet::from_ranges([range]),
                project: self.project,
                why: self.why,
                host: self.host,
                until: self.until,
                dry_run: self.dry_run,
            },
        )
    }
}

fn run(s: &Settings, r: &ReserveSettings) -> Result<Exit, CliError> {
    let spec = s.spec_path()?;
    let now = s.clock.now();
    let mut txn = Transaction::open(&spec, r.dry_run)?;
    super::common::report_recovered(s, &txn);
    let model = txn.model();
    // the project must exist (its range need not: a reservation may lie outside it)
    if let Err(e) = pool(model, &r.project, None)
        && !matches!(e, AllocError::NoRange { .. })
    {
        return Err(e.into());
    }
    let host = r.host.as_deref().map(|h| find_host(model, h)).transpose()?;
    let ports = r.ports.to_string();
    for (i, svc) in model.services.iter().enumerate() {
        if lease_expired(model, ServiceId::from_index(i), now) {
            continue;
        }
        for b in &model.bindings[svc.bindings.clone()] {
            if host.is_some_and(|h| h != b.host) || !r.ports.overlaps(&b.ports) {
                continue;
            }
            return Err(AllocError::Overlap {
                ports,
                holder: format!(
                    "service `{}` (port {}/{} on host `{}`); release it first: `portolan release {}`",
                    svc.name,
                    b.ports,
                    b.transport.as_str(),
                    model.host(b.host).name,
                    svc.name
                ),
            }
            .into());
        }
    }
    for res in &model.reservations {
        let same_host = host.is_none() || res.host.is_none() || res.host == host;
        if same_host
            && !reservation_expired(res.until.as_deref(), now)
            && !res.ports.intersection(&r.ports).is_empty()
        {
            let pos = model.sources.position(res.loc);
            return Err(AllocError::Overlap {
                ports,
                holder: format!(
                    "the reservation {} ({}) at {}:{}",
                    res.ports, res.why, pos.file, pos.line
                ),
            }
            .into());
        }
    }
    let project_file = model
        .project_named(&r.project)
        .and_then(|p| txn.file_of(model.project(p).loc))
        .unwrap_or_else(|| txn.main_file());
    let mut written = Vec::new();
    if !r.dry_run {
        txn.doc(&project_file)?.add_reservation(&NewReservation {
            ports: &r.ports,
            project: Some(&r.project),
            why: &r.why,
            host: r.host.as_deref(),
            until: r.until.as_deref(),
        })?;
        let mut e = entry(&spec, now, Action::Reserve, ports.clone());
        e.project = Some(r.project.clone());
        e.host.clone_from(&r.host);
        e.why = Some(r.why.clone());
        written = txn.commit(&[e])?;
    }
    if s.json {
        let v = serde_json::json!({
            "ports": ports,
            "project": r.project,
            "host": r.host,
            "until": r.until,
            "why": r.why,
            "dry_run": r.dry_run,
            "written": written.iter().map(|p| shown(p)).collect::<Vec<_>>(),
        });
        output::stdout(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"))?;
    } else if s.verbosity >= 0 {
        let verb = if r.dry_run {
            "would reserve"
        } else {
            "reserved"
        };
        let mut line = format!("{verb} {ports} for project `{}`", r.project);
        if let Some(h) = &r.host {
            let _ = write!(line, " on host `{h}`");
        }
        if let Some(p) = written.first() {
            let _ = write!(line, " ({} updated)", shown(p));
        }
        output::stdout(&(line + "\n"))?;
    }
    Ok(Exit::Ok)
}
