//! `portolan gc`: remove services whose lease has run out and reservations past their
//! `until` date, each logged. `--dry-run` lists them.

use portolan_alloc::log::Action;
use portolan_alloc::policy::{date_of, lease_expired};
use portolan_alloc::txn::Transaction;
use portolan_model::ServiceId;
use portolan_model::spec::Timestamp;
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
  portolan gc                # remove services whose lease ran out, and reservations past `until`
  portolan gc --dry-run      # list them only";

/// `portolan gc`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// List what would be removed; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        run(s, self.dry_run)
    }
}

fn run(s: &Settings, dry_run: bool) -> Result<Exit, CliError> {
    let spec = s.spec_path()?;
    let now = s.clock.now();
    let mut txn = Transaction::open(&spec, dry_run)?;
    super::common::report_recovered(s, &txn);
    let model = txn.model();
    let mut entries = Vec::new();
    let mut services = Vec::new();
    for (i, svc) in model.services.iter().enumerate() {
        let sid = ServiceId::from_index(i);
        if !lease_expired(model, sid, now) {
            continue;
        }
        let held: Vec<String> = model
            .bindings_of(sid)
            .iter()
            .map(|b| b.ports.to_string())
            .collect();
        let mut e = entry(&spec, now, Action::Gc, held.join(", "));
        e.service = Some(svc.name.clone());
        e.project = svc.project.map(|p| model.project(p).name.clone());
        e.lease_until = svc.lease_until.map(|t| Timestamp(t).to_string());
        e.why = Some("lease expired".into());
        entries.push(e);
        services.push((
            svc.name.clone(),
            txn.file_of(svc.loc).unwrap_or_else(|| txn.main_file()),
        ));
    }
    let today = date_of(now);
    let expired_res: Vec<(String, Option<String>, String)> = model
        .reservations
        .iter()
        .filter(|r| r.until.as_deref().is_some_and(|u| u < today.as_str()))
        .map(|r| {
            (
                r.ports.to_string(),
                r.project.map(|p| model.project(p).name.clone()),
                format!(
                    "reservation ended {} ({})",
                    r.until.as_deref().unwrap_or_default(),
                    r.why
                ),
            )
        })
        .collect();
    for (ports, project, why) in expired_res {
        let mut e = entry(&spec, now, Action::Gc, ports);
        e.project = project;
        e.why = Some(why);
        entries.push(e);
    }
    let mut written = Vec::new();
    if !dry_run && !entries.is_empty() {
        for (name, file) in &services {
            txn.doc(file)?.remove_service(name);
        }
        for f in txn.files() {
            let has_res = txn
                .model()
                .reservations
                .iter()
                .any(|r| r.until.is_some() && txn.file_of(r.loc).as_ref() == Some(&f));
            if has_res {
                txn.doc(&f)?.drop_expired_reservations(&today);
            }
        }
        written = txn.commit(&entries)?;
    }
    if s.json {
        let v = serde_json::json!({
            "removed": entries,
            "dry_run": dry_run,
            "written": written.iter().map(|p| shown(p)).collect::<Vec<_>>(),
        });
        output::stdout(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"))?;
    } else if s.verbosity >= 0 {
        let verb = if dry_run { "would remove" } else { "removed" };
        let mut text = String::new();
        if entries.is_empty() {
            text.push_str("nothing to collect: no expired lease or reservation\n");
        }
        for e in &entries {
            let _ = match &e.service {
                Some(svc) => writeln!(
                    text,
                    "{verb} service `{svc}` ({}): lease ended {}",
                    e.ports,
                    e.lease_until.as_deref().unwrap_or("?")
                ),
                None => writeln!(
                    text,
                    "{verb} reservation {}: {}",
                    e.ports,
                    e.why.as_deref().unwrap_or_default()
                ),
            };
        }
        if let Some(p) = written.first() {
            let _ = writeln!(text, "{} updated", shown(p));
        }
        output::stdout(&text)?;
    }
    Ok(Exit::Ok)
}
