//! `portolan move SVC[.BINDING] --to PORT [--container]`: the impact of changing one side of
//! a binding — every place its port is written in the repository, whose it is and which
//! side it is on (see `portolan_discover::moves`) — refused when the new host port is taken,
//! outside the service's project range or unsafe. `--apply` changes the spec (structurally,
//! under the lock, with a log line: `port` for a host move, plus the `target` the container
//! keeps when the spec did not say it; `target` for `--container`) and rewrites exactly the
//! places that are this binding's on the moving side, each file atomically; the rest —
//! the other side, other services' and unknown owners' — are listed and never rewritten.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use portolan_alloc::log::Action;
use portolan_alloc::policy::{self, Occupied, Request};
use portolan_alloc::txn::Transaction;
use portolan_discover::moves::{self, Plan, Side, Target, Verdict};
use portolan_discover::walk::WalkOptions;
use portolan_model::error::did_you_mean;
use portolan_model::{Model, Publisher, ServiceId};

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
  portolan move api --to 8010              # every place api's host port is written, and whose
  portolan move api.http --to 8010 --apply # rewrite this binding's host side only
  portolan move api --container --to 8080  # the container side: EXPOSE, the app's own bind
  portolan move api --to 8010 --json

A place is rewritten only when evidence ties it to the binding (its compose service, build
context, peer name, variable, unit, or the service's `evidence`) and it is on the side that
moves; the rest is listed: the other side, other services', and what needs a human.
Refuses a host port that is taken, outside the service's project range or unsafe.
Exit codes: 0 ok, 1 places left for a human, 2 refused or bad input.";

/// `portolan move`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The service (`api`) or binding (`api.http`) to move.
    #[arg(value_name = "SERVICE[.BINDING]")]
    pub service: String,
    /// The new port.
    #[arg(long, value_name = "PORT", value_parser = parse_port)]
    pub to: u16,
    /// Move the container side (the spec's `target`: `EXPOSE`, the app's own listen
    /// config, the container part of `HOST:CONTAINER`) instead of the host side (`port`).
    #[arg(long, alias = "target")]
    pub container: bool,
    /// Rewrite the places that are this binding's, on the side that moves (each file
    /// atomically), and record the move in the log.
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
    /// Move the container side (`target`) instead of the host side (`port`).
    container: bool,
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
                container: self.container,
                apply: self.apply,
                root: self.root,
                why: self.why,
            },
        )
    }
}

/// The binding `m` names: its name, and its first instance.
fn binding<'m>(
    model: &'m Model,
    sid: ServiceId,
    m: &MoveSettings,
) -> Result<&'m portolan_model::model::Binding, CliError> {
    let mut by_name: BTreeMap<&str, &portolan_model::model::Binding> = BTreeMap::new();
    for b in model.bindings_of(sid) {
        by_name.entry(b.name.as_str()).or_insert(b);
    }
    match &m.binding {
        Some(b) => by_name.get(b.as_str()).copied().ok_or_else(|| {
            CliError::Usage(format!(
                "`{}` has no binding `{b}` (it has: {})",
                m.service,
                by_name.keys().copied().collect::<Vec<_>>().join(", ")
            ))
        }),
        None if by_name.len() == 1 => Ok(by_name
            .values()
            .next()
            .copied()
            .ok_or_else(|| CliError::Usage(format!("`{}` has no binding", m.service)))?),
        None => Err(CliError::Usage(format!(
            "`{}` has {} bindings; say which: {}",
            m.service,
            by_name.len(),
            by_name
                .keys()
                .map(|b| format!("{}.{b}", m.service))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Refuses a new host port that is taken, outside the project's pool, privileged or unsafe.
fn refuse_host_port(
    model: &Model,
    sid: ServiceId,
    binding: &str,
    m: &MoveSettings,
    transport: portolan_model::Transport,
    now: i64,
) -> Result<(), CliError> {
    let service = model.service(sid);
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
    Ok(())
}

/// The service's `evidence` (`file[:line[:col]]`, relative to the spec's directory) as
/// canonical files and lines.
fn evidence(model: &Model, sid: ServiceId, dir: &Path) -> Vec<(PathBuf, Option<u32>)> {
    model
        .service(sid)
        .evidence
        .iter()
        .filter_map(|e| {
            let mut parts = e.splitn(3, ':');
            let file = parts.next()?;
            let line = parts.next().and_then(|l| l.trim().parse().ok());
            let canon = std::fs::canonicalize(dir.join(file)).ok()?;
            Some((canon, line))
        })
        .collect()
}

/// The root to search, shown relative to where the user is, like every path we print.
fn search_root(m: &MoveSettings, spec: &Path) -> PathBuf {
    let root = m
        .root
        .clone()
        .unwrap_or_else(|| spec_dir(spec).to_path_buf());
    let root = match std::env::current_dir() {
        Ok(cwd) => match root.strip_prefix(&cwd) {
            Ok(rel) => rel.to_path_buf(),
            Err(_) => root,
        },
        Err(_) => root,
    };
    if root.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        root
    }
}

fn run(s: &Settings, m: &MoveSettings) -> Result<Exit, CliError> {
    let spec = s.spec_path()?;
    let mut txn = Transaction::open(&spec, !m.apply)?;
    super::common::report_recovered(s, &txn);
    let model = txn.model();
    let sid = model.service_named(&m.service).ok_or_else(|| {
        let hint = did_you_mean(&m.service, model.services.iter().map(|x| x.name.as_str()))
            .map(|h| format!(" (did you mean `{h}`?)"))
            .unwrap_or_default();
        CliError::Usage(format!("service `{}` is not in the spec{hint}", m.service))
    })?;
    let b = binding(model, sid, m)?;
    let name = b.name.clone();
    let me = format!("{}.{name}", m.service);
    let transport = b.transport;
    let single = |r: portolan_model::PortRange, what: &str| {
        if r.lo == r.hi {
            Ok(r.lo)
        } else {
            Err(CliError::Usage(format!(
                "`{me}` has the {what} range {r}; move moves one port"
            )))
        }
    };
    let host_port = single(b.ports, "port")?;
    let target = b.target.map(|t| single(t, "target")).transpose()?;
    let now = s.clock.now();
    let project_name = model
        .service(sid)
        .project
        .map(|p| model.project(p).name.clone());
    let hosts: Vec<String> = model
        .bindings_of(sid)
        .iter()
        .filter(|x| x.name == name)
        .flat_map(|x| {
            let h = model.host(x.host);
            std::iter::once(h.name.clone())
                .chain(h.hostnames.iter().map(|c| c.value.clone()))
                .chain(h.addresses.iter().map(ToString::to_string))
        })
        .collect();
    let spec_files = txn.files();
    let t = Target {
        service: m.service.clone(),
        binding: name.clone(),
        transport,
        port: host_port,
        target,
        published: b.publisher != Publisher::Host,
        container: m.container,
        hosts,
        others: model
            .services
            .iter()
            .filter(|x| x.name != m.service)
            .map(|x| x.name.clone())
            .collect(),
        evidence: evidence(model, sid, spec_dir(&spec)),
        // the spec is edited structurally; its log and cache are history, not references
        exclude: {
            let mut v = spec_files.clone();
            v.push(portolan_alloc::log::path_for(&spec));
            v
        },
    };
    let plan = moves::references(&[search_root(m, &spec)], &t, &WalkOptions::default());
    if m.container && plan.side == Side::Only {
        return Err(CliError::Usage(format!(
            "`{me}` is not published (no `publisher` in the spec, no compose entry publishes port {host_port}): it has one port; move it without --container"
        )));
    }
    if plan.from == m.to {
        return Err(CliError::Usage(format!(
            "`{me}` is already on port {}{}",
            m.to,
            if m.container { " (container side)" } else { "" }
        )));
    }
    if !m.container {
        refuse_host_port(model, sid, &name, m, transport, now)?;
    }
    // a host move of a published binding keeps the container where it is: the spec says so
    let keep_target = (!m.container && plan.side == Side::Host && target.is_none())
        .then_some(plan.container_port);
    if s.verbosity >= 0 {
        for p in &plan.problems {
            errln!("warning: {}: {}", p.at, p.reason);
        }
    }
    let for_human = plan
        .references
        .iter()
        .filter(|r| r.verdict.needs_a_human())
        .count();
    let rewrite: Vec<&moves::Reference> = plan
        .references
        .iter()
        .filter(|r| r.verdict == Verdict::Rewrite)
        .collect();
    if s.json {
        let v = serde_json::json!({
            "service": m.service,
            "binding": name,
            "side": plan.side,
            "from": plan.from,
            "to": m.to,
            "applied": m.apply,
            "published": plan.published,
            "tied": plan.tied,
            "spec": spec_changes(&me, m, keep_target),
            "references": plan.references,
        });
        output::stdout(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"))?;
    }
    let mut text = String::new();
    if !s.json {
        text = listing(&me, &plan, m, transport, &spec_files, keep_target);
    }
    if m.apply {
        let mut edited = false;
        for f in &spec_files {
            let doc = txn.doc(f)?;
            edited |= if m.container {
                doc.set_binding_target(&m.service, &name, m.to)?
            } else {
                let set = doc.set_binding_port(&m.service, &name, m.to)?;
                if set && let Some(k) = keep_target {
                    doc.set_binding_target(&m.service, &name, k)?;
                }
                set
            };
        }
        if !edited {
            return Err(CliError::Usage(format!(
                "services.{}.bindings.{name} is not written in a spec file portolan can edit",
                m.service
            )));
        }
        let mut e = entry(&spec, now, Action::Move, m.to.to_string());
        e.service = Some(m.service.clone());
        e.project = project_name;
        e.transport = Some(transport.as_str().to_string());
        let side = if m.container { " (container side)" } else { "" };
        e.why = Some(match &m.why {
            Some(w) => format!("from {}{side}: {w}", plan.from),
            None => format!("from {}{side}", plan.from),
        });
        let mut by_file: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
        for r in &rewrite {
            by_file.entry(r.file.clone()).or_default().push(r.offset);
        }
        let mut files = Vec::with_capacity(by_file.len());
        for (file, offsets) in &by_file {
            let old = std::fs::read_to_string(file)
                .map_err(|e| CliError::io(format!("cannot read {}", file.display()), e))?;
            files.push((file.clone(), moves::rewrite(&old, offsets, plan.from, m.to)));
        }
        // one journaled change: the spec is validated before anything is written, every
        // file is written in full before any is replaced, the spec is replaced last, and an
        // interruption is finished by the next run on this spec
        let what = format!("move {}.{name} {} -> {}", m.service, plan.from, m.to);
        txn.commit_with_files(&[e], files, &what)?;
        if !s.json {
            let _ = writeln!(
                text,
                "moved: the spec and {} in {} rewritten; {} left to check by hand",
                super::common::count(rewrite.len() as u64, "place", None),
                super::common::count(by_file.len() as u64, "file", None),
                for_human
            );
        }
    } else if !s.json {
        let _ = writeln!(
            text,
            "{} would be rewritten by --apply; {} to check by hand",
            super::common::count(rewrite.len() as u64, "place", None),
            for_human
        );
    }
    if !s.json {
        output::stdout(&text)?;
    }
    Ok(if for_human == 0 {
        Exit::Ok
    } else {
        Exit::Findings
    })
}

/// The spec keys the move sets, for `--json`.
fn spec_changes(me: &str, m: &MoveSettings, keep_target: Option<u16>) -> serde_json::Value {
    let (service, binding) = me.split_once('.').unwrap_or((me, ""));
    let key = |k: &str| format!("services.{service}.bindings.{binding}.{k}");
    let mut v = serde_json::Map::new();
    if m.container {
        v.insert(key("target"), m.to.into());
    } else {
        v.insert(key("port"), m.to.into());
        if let Some(k) = keep_target {
            v.insert(key("target"), k.into());
        }
    }
    serde_json::Value::Object(v)
}

/// The human listing: what moves, the spec keys, then every place with its verdict.
fn listing(
    me: &str,
    plan: &Plan,
    m: &MoveSettings,
    transport: portolan_model::Transport,
    spec_files: &[PathBuf],
    keep_target: Option<u16>,
) -> String {
    let mut text = String::new();
    let side = match plan.side {
        Side::Only => String::new(),
        s => format!(", {} side", s.as_str()),
    };
    let _ = writeln!(
        text,
        "{me}: {} -> {} ({}{side})",
        plan.from,
        m.to,
        transport.as_str()
    );
    let (service, binding) = me.split_once('.').unwrap_or((me, ""));
    for f in spec_files {
        let key = if m.container { "target" } else { "port" };
        let _ = write!(
            text,
            "  spec         {}  services.{service}.bindings.{binding}.{key}",
            shown(f)
        );
        if let Some(k) = keep_target {
            let _ = write!(
                text,
                " (and target = {k}: the container keeps listening there)"
            );
        }
        text.push('\n');
    }
    for r in &plan.references {
        let _ = writeln!(
            text,
            "  {:<11}  {:<6}  {}  {}  [{}: {}]",
            r.verdict.as_str(),
            r.confidence.as_str(),
            r.at,
            r.line,
            r.why,
            r.reason
        );
    }
    text
}
