//! `portolan alloc PROJECT --name SVC`: pick the lowest free port (or run of ports) of a
//! project's block or range with `portolan_alloc::policy`, and write the new service into the
//! spec under the lock, losslessly and atomically, with a log line. `--dry-run` only shows
//! the port; `--print` prints only the port, for scripts. With `--server` (or
//! `$PORTOLAN_SERVER`) the team registry allocates instead, and the local spec is untouched.

use std::fmt::Write as _;

use portolan_alloc::edit::NewService;
use portolan_alloc::log::Action;
use portolan_alloc::txn::Transaction;
use portolan_alloc::{AllocError, Occupied, Request};
use portolan_model::spec::Timestamp;

use super::Subcommand;
use super::common::{entry, pretty, shown};
use crate::cli::TransportArg;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan alloc dashboard --name hub --block api      # lowest free port of the block
  PORT=$(portolan alloc dev --name test-db --lease 1h --print)
  portolan alloc shop --name grpc --host app1 --transport udp --count 3 --near 8040
  portolan alloc shop --name api --env production       # on the one production host
  portolan alloc shop --name try --dry-run               # show the port, write nothing
  portolan alloc shop --name ci-db --lease 2h --server http://registry:7878   # the team registry

Skips ports bound on the host, reserved ports, well-known ports of other software,
browser-unsafe ports and the host's ephemeral range. The service goes on a host the spec
declares: --host, else the only host (of --env); with several, alloc asks which.
Exit 1 when the range is full.";

/// `portolan alloc`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Project whose range (or block) the port comes from.
    pub project: String,
    /// Name of the new service.
    #[arg(long, value_name = "SVC")]
    pub name: String,
    /// Block of the project (default: the whole range).
    #[arg(long, value_name = "BLOCK")]
    pub block: Option<String>,
    /// Host the service runs on, one the spec declares (default: the spec's only host, or
    /// the only host of --env; ports bound on any host count as taken either way).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Environment whose one host the service goes on (when the spec has several hosts).
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Transport of the binding.
    #[arg(long, value_enum, default_value_t = TransportArg::Tcp)]
    pub transport: TransportArg,
    /// Number of consecutive ports.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub count: u16,
    /// Prefer the free port nearest to PORT.
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub near: Option<u16>,
    /// Lease: the allocation expires after DURATION (`90m`, `2h`, `1d12h`, `1w`).
    #[arg(long, value_name = "DURATION")]
    pub lease: Option<String>,
    /// Why: written as the service's purpose and to the log.
    #[arg(long, value_name = "TEXT")]
    pub why: Option<String>,
    /// Name of the binding written.
    #[arg(long, value_name = "NAME", default_value = "main")]
    pub binding: String,
    /// Show the port; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print only the port (`5021`, or `5021-5023` with --count), for scripts.
    #[arg(long)]
    pub print: bool,
    /// Allocate from this registry instead of the local spec.
    #[cfg(feature = "registry")]
    #[command(flatten)]
    pub remote: crate::cli::RemoteArgs,
}

/// `alloc`, validated: the lease parsed, the name checked.
#[derive(Debug, Clone)]
struct AllocSettings {
    /// Project.
    project: String,
    /// New service name.
    name: String,
    /// Block.
    block: Option<String>,
    /// Host.
    host: Option<String>,
    /// Environment whose one host is meant.
    env: Option<String>,
    /// Transport.
    transport: portolan_model::Transport,
    /// Consecutive ports.
    count: u16,
    /// Preferred port.
    near: Option<u16>,
    /// Lease length in seconds.
    lease: Option<i64>,
    /// Why.
    why: Option<String>,
    /// Binding name.
    binding: String,
    /// Write nothing.
    dry_run: bool,
    /// Print only the port.
    print: bool,
    /// Allocate from this registry instead of the local spec.
    #[cfg(feature = "registry")]
    remote: Option<super::client::Remote>,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        for (what, n) in [("--name", &self.name), ("--binding", &self.binding)] {
            if !portolan_alloc::policy::valid_name(n) {
                return Err(CliError::Usage(format!(
                    "{what}: {}",
                    AllocError::InvalidName(n.clone())
                )));
            }
        }
        let lease = self
            .lease
            .as_deref()
            .map(portolan_alloc::lease::parse_duration)
            .transpose()
            .map_err(|e| CliError::Usage(format!("--lease: {e}")))?;
        let a = AllocSettings {
            project: self.project,
            name: self.name,
            block: self.block,
            host: self.host,
            env: self.env,
            transport: self.transport.into(),
            count: self.count,
            near: self.near,
            lease,
            why: self.why,
            binding: self.binding,
            dry_run: self.dry_run,
            print: self.print,
            #[cfg(feature = "registry")]
            remote: super::client::Remote::from_args(self.remote, &s.config)?,
        };
        #[cfg(feature = "registry")]
        if let Some(remote) = &a.remote {
            return run_remote(s, &a, remote);
        }
        run(s, &a)
    }
}

/// Ports listening right now on this machine, unless `--host` names another machine: a port
/// a process holds is not free even if the spec does not know it.
fn live_ports(
    model: &portolan_model::Model,
    host: Option<&str>,
    transport: portolan_model::Transport,
) -> Result<Occupied, CliError> {
    let here = super::live::this_host(model);
    if host.is_some_and(|h| here.is_none_or(|id| model.host(id).name != h)) {
        return Ok(Occupied::new());
    }
    let (live, _) = super::live::listeners(false)?;
    Ok(live
        .iter()
        .filter(|l| l.transport.as_str() == transport.as_str())
        .map(|l| l.port)
        .collect())
}

fn request<'a>(a: &'a AllocSettings, host: Option<&'a str>) -> Request<'a> {
    Request {
        project: &a.project,
        block: a.block.as_deref(),
        host,
        transport: a.transport,
        count: a.count,
        near: a.near,
    }
}

/// `alloc --server`: the registry allocates, with the same policy, in its database.
#[cfg(feature = "registry")]
fn run_remote(
    s: &Settings,
    a: &AllocSettings,
    remote: &super::client::Remote,
) -> Result<Exit, CliError> {
    if a.dry_run {
        return Err(CliError::Usage(
            "--dry-run works on the local spec only (unset PORTOLAN_SERVER or drop --server)"
                .into(),
        ));
    }
    let mut body = serde_json::json!({
        "project": a.project,
        "block": a.block,
        "name": a.name,
        "binding": a.binding,
        "host": a.host,
        "transport": a.transport.as_str(),
        "count": a.count,
        "near": a.near,
        "lease": a.lease,
        "why": a.why,
    });
    if let Some(env) = &a.env {
        body["environment"] = env.clone().into();
    }
    let got = super::client::Client::new(remote).post_json("/api/v1/allocate", &body)?;
    let (lo, hi) = (
        got["lo"].as_u64().unwrap_or(0),
        got["hi"].as_u64().unwrap_or(0),
    );
    let ports = if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}-{hi}")
    };
    // the server's time is RFC 3339 (older servers: unix seconds)
    let lease_until = match &got["lease_until"] {
        serde_json::Value::Number(n) => n.as_i64().map(|t| Timestamp(t).to_string()),
        serde_json::Value::String(t) => Some(t.clone()),
        _ => None,
    };
    if a.print {
        output::stdout(&format!("{ports}\n"))?;
    } else if s.json {
        let range = portolan_model::PortRange {
            lo: u16::try_from(lo).unwrap_or(0),
            hi: u16::try_from(hi).unwrap_or(0),
        };
        let v = allocation_json(a, range, lease_until.as_deref(), &[], Some(&remote.server));
        output::stdout(&pretty(&v))?;
    } else if s.verbosity >= 0 {
        let mut line = format!(
            "allocated {ports}/{} to `{}` from {} in the registry {}",
            a.transport.as_str(),
            a.name,
            match &a.block {
                Some(b) => format!("block `{b}` of project `{}`", a.project),
                None => format!("project `{}`", a.project),
            },
            remote.server
        );
        if let Some(h) = &a.host {
            let _ = write!(line, " on host `{h}`");
        }
        if let Some(l) = &lease_until {
            let _ = write!(line, ", lease until {l}");
        }
        output::stdout(&(line + "\n"))?;
    }
    Ok(Exit::Ok)
}

fn run(s: &Settings, a: &AllocSettings) -> Result<Exit, CliError> {
    let spec = s.spec_path()?;
    let now = s.clock.now();
    let mut txn = if a.dry_run {
        Transaction::read_only_alloc(&spec)?
    } else {
        Transaction::begin_alloc(&spec)?
    };
    super::common::report_recovered(s, &txn);
    // only ever a host the spec declares: no implicit `default` beside real hosts
    let host = portolan_alloc::policy::pick_host(txn.model(), a.host.as_deref(), a.env.as_deref())?;
    // the cached view knows ports, not the text expired leases must be removed from
    if !a.dry_run && txn.from_cache() {
        let probe = portolan_alloc::allocate(
            txn.model(),
            &request(a, host.as_deref()),
            &Occupied::new(),
            now,
        )?;
        if !probe.displaced.is_empty() {
            txn.reload_full()?;
        }
    }
    let model = txn.model();
    let req = request(a, host.as_deref());
    let got = portolan_alloc::allocate(
        model,
        &req,
        &live_ports(model, host.as_deref(), a.transport)?,
        now,
    )?;
    if txn.has_service(&a.name) {
        return Err(AllocError::ServiceExists(a.name.clone()).into());
    }
    let lease_until = a.lease.map(|l| Timestamp(now.saturating_add(l)));
    let ports = got.ports.to_string();
    let mut written = Vec::new();
    if !a.dry_run {
        // expired leases on the ports handed out go, or the spec would bind them twice
        let displaced: Vec<(String, Option<std::path::PathBuf>, String)> = got
            .displaced
            .iter()
            .map(|sid| {
                let svc = model.service(*sid);
                let held: Vec<String> = model
                    .bindings_of(*sid)
                    .iter()
                    .map(|b| b.ports.to_string())
                    .collect();
                (svc.name.clone(), txn.file_of(svc.loc), held.join(", "))
            })
            .collect();
        let project_file = model
            .project_named(&a.project)
            .and_then(|p| txn.file_of(model.project(p).loc))
            .unwrap_or_else(|| txn.main_file());
        let mut entries = Vec::new();
        for (name, file, held) in displaced {
            let file = file.unwrap_or_else(|| txn.main_file());
            txn.doc(&file)?.remove_service(&name);
            let mut e = entry(&spec, now, Action::Gc, held);
            e.service = Some(name);
            e.why = Some(format!("lease expired; ports reused by `{}`", a.name));
            entries.push(e);
        }
        let today = portolan_alloc::policy::date_of(now);
        txn.add_service(
            &project_file,
            &NewService {
                name: &a.name,
                project: &a.project,
                block: a.block.as_deref(),
                purpose: a.why.as_deref(),
                host: host.as_deref(),
                since: Some(&today),
                lease_until,
                binding: &a.binding,
                ports: got.ports,
                transport: a.transport,
            },
        )?;
        let mut e = entry(&spec, now, Action::Alloc, ports.clone());
        e.service = Some(a.name.clone());
        e.project = Some(a.project.clone());
        e.block.clone_from(&a.block);
        e.host.clone_from(&host);
        e.transport = Some(a.transport.as_str().into());
        e.lease_until = lease_until.map(|t| t.to_string());
        e.why.clone_from(&a.why);
        entries.push(e);
        written = txn.commit(&entries)?;
    }
    if a.print {
        output::stdout(&format!("{ports}\n"))?;
    } else if s.json {
        let lease = lease_until.map(|t| t.to_string());
        let v = allocation_json(a, got.ports, lease.as_deref(), &written, None);
        let mut v = v;
        // the host the allocation went on (picked from the spec when not given)
        v["host"] = serde_json::json!(host);
        output::stdout(&pretty(&v))?;
    } else if s.verbosity >= 0 {
        let verb = if a.dry_run {
            "would allocate"
        } else {
            "allocated"
        };
        let mut line = format!(
            "{verb} {ports}/{} to `{}` from {}",
            a.transport.as_str(),
            a.name,
            match &a.block {
                Some(b) => format!("block `{b}` of project `{}`", a.project),
                None => format!("project `{}`", a.project),
            }
        );
        if let Some(h) = &host {
            let _ = write!(line, " on host `{h}`");
        }
        if let Some(l) = lease_until {
            let _ = write!(line, ", lease until {l}");
        }
        if let Some(p) = written.first() {
            let _ = write!(line, " ({} updated)", shown(p));
        }
        output::stdout(&(line + "\n"))?;
    }
    Ok(Exit::Ok)
}

/// The allocation object of `alloc --json`: the same keys whether the local spec or the
/// registry (`server`: its URL) handed the ports out.
fn allocation_json(
    a: &AllocSettings,
    ports: portolan_model::PortRange,
    lease_until: Option<&str>,
    written: &[std::path::PathBuf],
    server: Option<&str>,
) -> serde_json::Value {
    serde_json::json!({
        "service": a.name,
        "binding": a.binding,
        "project": a.project,
        "block": a.block,
        "host": a.host,
        "transport": a.transport.as_str(),
        "ports": ports.ports().collect::<Vec<u16>>(),
        "lease_until": lease_until,
        "dry_run": a.dry_run,
        "written": written.iter().map(|p| shown(p)).collect::<Vec<_>>(),
        "server": server,
    })
}
