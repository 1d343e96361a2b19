//! `portolan agent`: report this host's listeners (the same observation as `portolan ls`,
//! each with the container behind it: container publications whoever holds the host socket)
//! to the registry (`POST /api/v1/reports`), once or every `--interval`. The server stores
//! them, records what changed in the host's history and computes its drift. Process command
//! lines leave the host with secret values masked (`portolan_store::redact::command_line`),
//! or not at all with `--no-cmdline`.
//!
//! Reports are numbered per agent instance (a random id drawn at start): the first is the
//! full listener set, each later one a delta (added, removed) against the last report the
//! server acknowledged. When the server refuses a delta (409: it lost track, a report was
//! duplicated or went missing), the agent starts a new instance and sends everything again;
//! when a report fails on the way, the next one is again a delta against the acknowledged
//! state. A failed report is printed and retried at the next interval; with `--once` it is
//! the exit status.

use std::time::Duration;

use portolan_store::history::{self, Listeners};

use super::Subcommand;
use super::client::{Client, Remote};
use crate::cli::RemoteArgs;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan agent --server http://registry:7878 --token ptk_… --once
  sudo portolan agent --interval 30s --host app1     # run under systemd; root sees every owner
  PORTOLAN_SERVER=http://registry:7878 PORTOLAN_TOKEN=ptk_… portolan agent

Reports what `portolan ls` shows; the server computes the host's drift. Needs a write token.
Without --host (or `host` in the config file), reports as the host of the registry's spec
whose `machine-id` or `hostnames` are this machine's; -v says which rule matched.";

/// `portolan agent`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The registry.
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Report as this host (default: the config file's `host`, else the host of the
    /// registry's spec this machine is — by machine id, host name or address — else this
    /// machine's short host name).
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Time between reports (`30s`, `5m`).
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub interval: String,
    /// Report once and exit.
    #[arg(long)]
    pub once: bool,
    /// Report processes without their command lines (secrets in them are masked anyway).
    #[arg(long)]
    pub no_cmdline: bool,
}

/// Validated `agent` options.
#[derive(Debug, Clone)]
struct AgentSettings {
    /// The registry.
    remote: Remote,
    /// Host name to report as.
    host: Option<String>,
    /// Seconds between reports.
    interval: u64,
    /// Report once.
    once: bool,
    /// Leave command lines out.
    no_cmdline: bool,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        let interval = portolan_alloc::lease::parse_duration(&self.interval)
            .map_err(|e| CliError::Usage(format!("--interval: {e}")))?;
        let interval = u64::try_from(interval)
            .ok()
            .filter(|s| *s >= 1)
            .ok_or_else(|| CliError::Usage("--interval must be at least 1s".into()))?;
        run(
            s,
            &AgentSettings {
                remote: Remote::required(self.remote, &s.config)?,
                host: self.host.or_else(|| s.config.host.clone()),
                interval,
                once: self.once,
                no_cmdline: self.no_cmdline,
            },
        )
    }
}

/// The host to report as, when neither `--host` nor the config file says: the host of the
/// registry's spec this machine is (the registry refuses reports of hosts its spec lacks),
/// else of the local spec when the registry's cannot be read, else the short host name.
/// A spec that is read but names no host (or several) for this machine is an error: a
/// report under a guessed name would be refused, or land on another host.
fn which_host(s: &Settings, client: &Client<'_>, remote: &Remote) -> Result<String, CliError> {
    let (model, whose) = match super::sync::fetch(client, remote) {
        Ok(spec) => (
            portolan_model::load_str("registry spec", &spec.text)?,
            format!("the registry's spec ({})", remote.server),
        ),
        Err(e) => {
            let local = s.spec_path().ok().map(|p| (portolan_model::load(&p), p));
            match local {
                Some((Ok(m), p)) => (m, format!("the spec {}", p.display())),
                Some((Err(_), _)) | None => {
                    let name = super::live::short_hostname();
                    if s.verbosity > 0 {
                        errln!(
                            "note: reporting as host `{name}` (this machine's host name): the registry's spec could not be read ({e}) and there is no local spec"
                        );
                    }
                    return Ok(name);
                }
            }
        }
    };
    let id = super::live::recognise(s, &model).map_err(|e| {
        CliError::Usage(format!(
            "{}, in {whose}: pass --host NAME or set `host` in the config file; {}",
            e.message(),
            super::live::DECLARE
        ))
    })?;
    Ok(model.host(id).name.clone())
}

/// A random agent instance id (the kernel's UUID generator; the time and pid otherwise).
fn instance_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/uuid")
        .map(|u| u.trim().to_string())
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            format!("{t:x}-{:x}", std::process::id())
        })
}

/// What the agent knows the server holds: its instance, the last acknowledged report and
/// the listeners it carried.
struct Sequence {
    agent: String,
    acked: Option<(i64, Listeners)>,
}

impl Sequence {
    fn new() -> Self {
        Sequence {
            agent: instance_id(),
            acked: None,
        }
    }

    /// The next report for `now`: a delta against the acknowledged listeners, or all of them.
    fn body(&self, host: &str, at: i64, now: &Listeners) -> (i64, serde_json::Value) {
        match &self.acked {
            None => (
                1,
                serde_json::json!({"host": host, "agent": self.agent, "seq": 1, "at": at,
                    "listeners": now.values().collect::<Vec<_>>()}),
            ),
            Some((seq, before)) => {
                let mut added = Vec::new();
                let mut removed = Vec::new();
                for c in history::changes(before, now) {
                    match c.change {
                        history::Change::Closed => removed.push(c.key),
                        history::Change::Opened | history::Change::Changed => {
                            added.push(c.listener);
                        }
                    }
                }
                (
                    seq + 1,
                    serde_json::json!({"host": host, "agent": self.agent, "seq": seq + 1,
                        "base": seq, "at": at, "added": added, "removed": removed}),
                )
            }
        }
    }
}

fn report(
    s: &Settings,
    client: &Client<'_>,
    a: &AgentSettings,
    host: &str,
    (first, sequence): (bool, &mut Sequence),
) -> Result<(), CliError> {
    let (mut listeners, notes) = super::live::listeners(true)?;
    for owner in listeners.iter_mut().flat_map(|l| l.owners.iter_mut()) {
        owner.cmdline = if a.no_cmdline {
            String::new()
        } else {
            portolan_store::redact::command_line(&owner.cmdline)
        };
    }
    // what cannot be seen is said once, and again with -v
    if first || s.verbosity > 0 {
        super::live::print_notes(s, &notes);
    }
    let publications = listeners
        .iter()
        .filter(|l| l.container.as_ref().is_some_and(|c| c.published.is_some()))
        .count();
    let values = serde_json::to_value(&listeners)
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    let now = history::by_key(&values, "listeners")
        .map_err(|e| CliError::Usage(format!("cannot key this host's listeners: {e}")))?;
    let at = s.clock.now();
    let (seq, body) = sequence.body(host, at, &now);
    let answer = match client.post_json("/api/v1/reports", &body) {
        Ok(a) => a,
        // the server does not continue this sequence: start over with everything
        Err(CliError::Remote { status: 409, .. }) => {
            *sequence = Sequence::new();
            let (_, body) = sequence.body(host, at, &now);
            client.post_json("/api/v1/reports", &body)?
        }
        Err(e) => return Err(e),
    };
    sequence.acked = Some((answer["seq"].as_i64().unwrap_or(seq), now));
    if s.json {
        output::stdout(&(answer.to_string() + "\n"))?;
    } else if s.verbosity >= 0 {
        let drift = answer["drift"].as_array().map_or(0, Vec::len);
        let count = |k: &str| answer[k].as_u64().unwrap_or(0);
        output::stdout(&format!(
            "reported {}{} of host `{host}` ({} opened, {} closed, {} changed): {}\n",
            super::common::count(listeners.len() as u64, "listener", None),
            if publications > 0 {
                format!(
                    " ({})",
                    super::common::count(publications as u64, "container publication", None)
                )
            } else {
                String::new()
            },
            count("opened"),
            count("closed"),
            count("changed"),
            super::common::count(drift as u64, "drift finding", None)
        ))?;
    }
    Ok(())
}

fn run(s: &Settings, a: &AgentSettings) -> Result<Exit, CliError> {
    let client = Client::new(&a.remote);
    let mut sequence = Sequence::new();
    if a.once {
        let host = match &a.host {
            Some(h) => h.clone(),
            None => which_host(s, &client, &a.remote)?,
        };
        report(s, &client, a, &host, (true, &mut sequence))?;
        return Ok(Exit::Ok);
    }
    // decided once; until then (the registry down, its spec not naming this machine yet),
    // each interval tries again
    let mut host = a.host.clone();
    let mut first = true;
    loop {
        let result = match &host {
            Some(h) => Ok(h.clone()),
            None => which_host(s, &client, &a.remote),
        }
        .and_then(|h| {
            host = Some(h.clone());
            report(s, &client, a, &h, (first, &mut sequence))
        });
        first = false;
        if let Err(e) = result {
            if matches!(e, CliError::BrokenPipe) {
                return Ok(Exit::Ok);
            }
            errln!("error: {e} (retrying in {} s)", a.interval);
        }
        std::thread::sleep(Duration::from_secs(a.interval));
    }
}
