//! `portolan move SVC[.BINDING] --to PORT`: the impact of changing a port — every reference
//! in the repository with its confidence — refused when the new port is taken, outside the
//! service's project range or unsafe. `--apply` changes the spec (structurally, under the
//! lock, with a log line) and rewrites the high-confidence references, each file atomically;
//! the rest are listed for a human.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use portolan_alloc::log::Action;
use portolan_alloc::policy::{self, Occupied, Request};
use portolan_alloc::txn::{Transaction, write_atomic};
use portolan_discover::Confidence;
use portolan_discover::moves::{self, Reference, Target};
use portolan_discover::walk::WalkOptions;
use portolan_model::error::did_you_mean;

use super::Subcommand;
use super::common::{entry, shown, spec_dir};
use crate::cli::parse_port;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan move api --to 8010            # every reference to api's port, with confidence
  portolan move api.http --to 8010 --apply
  portolan move api --to 8010 --json

Refuses a port that is taken, outside the service's project range or unsafe.
Exit codes: 0 ok, 1 references left to change by hand, 2 refused or bad input.";

/// `portolan move`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The service (`api`) or binding (`api.http`) to move.
    #[arg(value_name = "SERVICE[.BINDING]")]
    pub service: String,
    /// The new port.
    #[arg(long, value_name = "PORT", value_parser = parse_port)]
    pub to: u16,
    /// Rewrite the high-confidence references (atomically) and record the move in the log.
    #[arg(long)]
    pub apply: bool,
    /// Where to look for references (default: the spec's directory).
    #[arg(long, value_name = "PATH")]
    pub root: Option<PathBuf>,
    /// Why (recorded in the log).
    #[arg(long, value_name = "TEXT")]
    pub why: Option<String>,
}

/// Validated `move` options.
#[derive(Debug, Clone)]
struct MoveSettings {
    /// `service` or `service.binding`.
    service: String,
    /// Binding name, when given.
    binding: Option<String>,
    /// New port.
    to: u16,
    /// Rewrite.
    apply: bool,
    /// Repository root.
    root: Option<PathBuf>,
    /// Why.
    why: Option<String>,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        let (service, binding) = match self.service.split_once('.') {
            Some((s, b)) => (s.to_string(), Some(b.to_string())),
            None => (self.service.clone(), None),
        };
        if service.is_empty() || binding.as_deref() == Some("") {
            return Err(CliError::Usage(format!(
                "`{}` is not SERVICE or SERVICE.BINDING",
                self.service
            )));
        }
        run(
            s,
            &MoveSettings {
                service,
                binding,
                to: self.to,
                apply: self.apply,
                root: self.root,
                why: self.why,
            },
        )
    }
}

fn run(s: &Settings, m: &MoveSettings) -> Result<Exit, CliError> {
    let spec = s.spec_path()?;
    let mut txn = Transaction::open(&spec, !m.apply)?;
    let model = txn.model();
    let sid = model.service_named(&m.service).ok_or_else(|| {
        let hint = did_you_mean(&m.service, model.services.iter().map(|x| x.name.as_str()))
            .map(|h| format!(" (did you mean `{h}`?)"))
            .unwrap_or_default();
        CliError::Usage(format!("service `{}` is not in the spec{hint}", m.service))
    })?;
    let service = model.service(sid);
    // the binding: named, or the only one
    let mut ports: BTreeMap<String, (portolan_model::PortRange, portolan_model::Transport)> =
        BTreeMap::new();
    for b in model.bindings_of(sid) {
        ports
            .entry(b.name.clone())
            .or_insert((b.ports, b.transport));
    }
    let binding = match &m.binding {
        Some(b) if ports.contains_key(b) => b.clone(),
        Some(b) => {
            return Err(CliError::Usage(format!(
                "`{}` has no binding `{b}` (it has: {})",
                m.service,
                ports.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        None if ports.len() == 1 => ports.keys().next().cloned().unwrap_or_default(),
        None => {
            return Err(CliError::Usage(format!(
                "`{}` has {} bindings; say which: {}",
                m.service,
                ports.len(),
                ports
                    .keys()
                    .map(|b| format!("{}.{b}", m.service))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    };
    let (range, transport) = ports[&binding];
    if range.lo != range.hi {
        return Err(CliError::Usage(format!(
            "`{}.{binding}` binds the range {range}; move moves one port",
            m.service
        )));
    }
    let from = range.lo;
    if from == m.to {
        return Err(CliError::Usage(format!(
            "`{}.{binding}` is already on port {from}",
            m.service
        )));
    }
    // refusals: taken, out of range, unsafe
    if m.to < 1024 && !service.privileged {
        return Err(CliError::Usage(format!(
            "port {} is privileged (below 1024) and `{}` is not marked `privileged = true`",
            m.to, m.service
        )));
    }
    let project = service.project.map(|p| model.project(p));
    if let Some(p) = project {
        let block = service.block.and_then(|i| p.blocks.get(i));
        let pool = block.map(|b| &b.ports).or(p.range.as_ref());
        if let Some(pool) = pool
            && !pool.contains(m.to)
        {
            return Err(CliError::Usage(format!(
                "port {} is outside {} ({pool}) of `{}`",
                m.to,
                block.map_or_else(
                    || format!("the range of project `{}`", p.name),
                    |b| format!("block `{}` of project `{}`", b.name, p.name)
                ),
                m.service
            )));
        }
    }
    if let Some(other) = model
        .bindings
        .iter()
        .find(|b| b.ports.contains(m.to) && !(b.service == sid && b.name == binding))
    {
        return Err(CliError::Usage(format!(
            "port {} is taken by `{}`",
            m.to,
            other.qualified_name(model)
        )));
    }
    let now = s.clock.now();
    let project_name = project.map(|p| p.name.clone());
    let req = Request {
        project: project_name.as_deref().unwrap_or(""),
        block: None,
        host: None,
        transport,
        count: 1,
        near: None,
    };
    if let Some(why) = policy::unavailable(model, &req, &Occupied::new(), now, m.to)? {
        return Err(CliError::Usage(format!(
            "port {} is not safe to use: {}",
            m.to,
            why.label()
        )));
    }
    // references in the repository
    let root = m
        .root
        .clone()
        .unwrap_or_else(|| spec_dir(&spec).to_path_buf());
    // shown relative to where the user is, like every other path we print
    let root = match std::env::current_dir() {
        Ok(cwd) => match root.strip_prefix(&cwd) {
            Ok(rel) => rel.to_path_buf(),
            Err(_) => root,
        },
        Err(_) => root,
    };
    let root = if root.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        root
    };
    let spec_files = txn.files();
    let target = Target {
        port: from,
        names: vec![m.service.clone(), binding.clone()],
        // the spec is edited structurally; its log and cache are history, not references
        exclude: {
            let mut v = spec_files.clone();
            v.push(portolan_alloc::log::path_for(&spec));
            v.push(portolan_alloc::cache::path_for(&spec));
            v
        },
    };
    let plan = moves::references(&[root], &target, &WalkOptions::default());
    if s.verbosity >= 0 {
        for p in &plan.problems {
            eprintln!("warning: {}: {}", p.at, p.reason);
        }
    }
    let (sure, unsure): (Vec<&Reference>, Vec<&Reference>) = plan
        .references
        .iter()
        .partition(|r| r.confidence == Confidence::High);
    if s.json {
        let v = serde_json::json!({
            "service": m.service,
            "binding": binding,
            "from": from,
            "to": m.to,
            "applied": m.apply,
            "references": plan.references,
        });
        output::stdout(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"))?;
    }
    let mut text = String::new();
    if !s.json {
        let _ = writeln!(
            text,
            "{}.{binding}: {from} -> {} ({})",
            m.service,
            m.to,
            transport.as_str()
        );
        for f in &spec_files {
            let _ = writeln!(
                text,
                "  spec    {}  services.{}.bindings.{binding}.port",
                shown(f),
                m.service
            );
        }
        for r in &plan.references {
            let _ = writeln!(
                text,
                "  {:<6}  {}  {}  [{}]",
                r.confidence.as_str(),
                r.at,
                r.line,
                r.why
            );
        }
    }
    if m.apply {
        let mut edited = false;
        for f in &spec_files {
            edited |= txn.doc(f)?.set_binding_port(&m.service, &binding, m.to)?;
        }
        if !edited {
            return Err(CliError::Usage(format!(
                "services.{}.bindings.{binding} is not written in a spec file portolan can edit",
                m.service
            )));
        }
        let mut e = entry(&spec, now, Action::Move, m.to.to_string());
        e.service = Some(m.service.clone());
        e.project = project_name;
        e.transport = Some(transport.as_str().to_string());
        e.why = Some(match &m.why {
            Some(w) => format!("from {from}: {w}"),
            None => format!("from {from}"),
        });
        // the spec first: it is validated before anything is written
        txn.commit(&[e])?;
        let mut by_file: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
        for r in &sure {
            by_file.entry(r.file.clone()).or_default().push(r.offset);
        }
        for (file, offsets) in &by_file {
            let old = std::fs::read_to_string(file)
                .map_err(|e| CliError::io(format!("cannot read {}", file.display()), e))?;
            let new = moves::rewrite(&old, offsets, from, m.to);
            write_atomic(file, &new)?;
        }
        if !s.json {
            let _ = writeln!(
                text,
                "moved: the spec and {} reference(s) in {} file(s) rewritten; {} left to check by hand",
                sure.len(),
                by_file.len(),
                unsure.len()
            );
        }
    } else if !s.json {
        let _ = writeln!(
            text,
            "{} sure reference(s) would be rewritten by --apply; {} to check by hand",
            sure.len(),
            unsure.len()
        );
    }
    if !s.json {
        output::stdout(&text)?;
    }
    Ok(if unsure.is_empty() {
        Exit::Ok
    } else {
        Exit::Findings
    })
}
