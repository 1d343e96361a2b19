//! `portolan agent`: report this host's listeners (the same observation as `portolan ls`,
//! each with the container behind it: container publications whoever holds the host socket)
//! to the registry (`POST /api/v1/observations`), once or every `--interval`. The server
//! stores them and computes the host's drift. A failed report is printed and retried at the
//! next interval; with `--once` it is the exit status. Process command lines leave the host
//! with secret values masked (`portolan_store::redact::command_line`), or not at all with
//! `--no-cmdline`.

use std::time::Duration;

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

Reports what `portolan ls` shows; the server computes the host's drift. Needs a write token.";

/// `portolan agent`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The registry.
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Report as this host (default: this machine's short hostname).
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
                remote: Remote::required(self.remote)?,
                host: self.host,
                interval,
                once: self.once,
                no_cmdline: self.no_cmdline,
            },
        )
    }
}

/// This machine's short host name.
fn hostname() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name = name.trim();
    name.split('.').next().unwrap_or(name).to_string()
}

fn report(
    s: &Settings,
    client: &Client<'_>,
    a: &AgentSettings,
    host: &str,
    first: bool,
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
    let body = serde_json::json!({"host": host, "listeners": listeners});
    let answer = client.post_json("/api/v1/observations", &body)?;
    if s.json {
        output::stdout(&(answer.to_string() + "\n"))?;
    } else if s.verbosity >= 0 {
        let drift = answer["drift"].as_array().map_or(0, Vec::len);
        output::stdout(&format!(
            "reported {} listeners{} of host `{host}`: {drift} drift finding{}\n",
            listeners.len(),
            if publications > 0 {
                format!(
                    " ({publications} container publication{})",
                    if publications == 1 { "" } else { "s" }
                )
            } else {
                String::new()
            },
            if drift == 1 { "" } else { "s" }
        ))?;
    }
    Ok(())
}

fn run(s: &Settings, a: &AgentSettings) -> Result<Exit, CliError> {
    let client = Client::new(&a.remote);
    let host = a.host.clone().unwrap_or_else(hostname);
    if host.is_empty() {
        return Err(CliError::Usage(
            "cannot tell this machine's host name: pass --host NAME".into(),
        ));
    }
    if a.once {
        report(s, &client, a, &host, true)?;
        return Ok(Exit::Ok);
    }
    let mut first = true;
    loop {
        let result = report(s, &client, a, &host, first);
        first = false;
        if let Err(e) = result {
            if matches!(e, CliError::BrokenPipe) {
                return Ok(Exit::Ok);
            }
            eprintln!("error: {e} (retrying in {} s)", a.interval);
        }
        std::thread::sleep(Duration::from_secs(a.interval));
    }
}
