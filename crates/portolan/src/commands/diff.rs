//! `portolan diff A B`: what changed between two states of a host's listeners. Each side is
//! `live` (this machine now), a snapshot file (`portolan snapshot -o`, `-` for standard
//! input), or a spec (the active bindings of one host). Listeners opened, closed, and changed
//! (bind address with the change of exposure it means, program, container), human or
//! `--json`, byte-stable; `--exit-code` exits 1 on any difference, like `git diff`.

use std::path::Path;

use portolan_observe::diff::{self, Diff};
use portolan_observe::snapshot::Snapshot;

use super::Subcommand;
use super::common::pretty;
use super::live::{NotHere, listeners, recognise, short_hostname};
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan diff before.json after.json          # two snapshots
  sudo portolan diff before.json live           # since the snapshot, on this machine
  portolan diff ports.toml live --host app1     # the spec's bindings of app1 against now
  portolan diff before.json live --exit-code --json   # for a cron job or CI

`+` opened, `-` closed, `~` changed, `!` changed and now reachable from more
(e.g. 127.0.0.1 → 0.0.0.0). Process ids are not compared (a restart is no change).
Exit code: 0, or with --exit-code 1 when the sides differ; 2 on bad input.";

/// The largest snapshot or spec file read.
const MAX_FILE: u64 = 64 << 20;

/// `portolan diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The state before: `live`, a snapshot file (`-`: stdin) or a spec.
    #[arg(value_name = "A")]
    pub a: String,
    /// The state after.
    #[arg(value_name = "B")]
    pub b: String,
    /// The host of a spec side (default: the spec's host this machine is, or its only one).
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Exit 1 when the sides differ.
    #[arg(long)]
    pub exit_code: bool,
    /// The registry of `registry:HOST@TIME` sides.
    #[cfg(feature = "registry")]
    #[command(flatten)]
    pub remote: crate::cli::RemoteArgs,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        if self.a == "-" && self.b == "-" {
            return Err(CliError::Usage(
                "only one side can be standard input (`-`)".into(),
            ));
        }
        #[cfg(feature = "registry")]
        let remote = super::client::Remote::from_args(self.remote, &s.config)?;
        #[cfg(not(feature = "registry"))]
        let remote = None::<()>;
        let a = match self.a.strip_prefix("registry:") {
            Some(at) => registry_side(s, at, remote.as_ref())?,
            None => side(s, &self.a, self.host.as_deref())?,
        };
        let b = match self.b.strip_prefix("registry:") {
            Some(at) => registry_side(s, at, remote.as_ref())?,
            None => side(s, &self.b, self.host.as_deref())?,
        };
        let d: Diff = diff::diff(&a, &b);
        if s.json {
            output::stdout(&pretty(&serde_json::to_value(&d).unwrap_or_default()))?;
        } else if s.verbosity >= 0 || !d.is_empty() {
            output::stdout(&diff::human(&d))?;
        }
        Ok(if self.exit_code && !d.is_empty() {
            Exit::Findings
        } else {
            Exit::Ok
        })
    }
}

/// A `registry:HOST@TIME` side: the host's listeners at TIME (RFC 3339 or seconds since
/// the epoch; `registry:HOST` is now) as the registry's history rebuilds them.
#[cfg(feature = "registry")]
fn registry_side(
    s: &Settings,
    spec: &str,
    remote: Option<&super::client::Remote>,
) -> Result<Snapshot, CliError> {
    let remote = remote.ok_or_else(|| {
        CliError::Usage(format!(
            "registry:{spec}: name the registry with --server or PORTOLAN_SERVER (and a token)"
        ))
    })?;
    let (host, at) = match spec.split_once('@') {
        Some((h, t)) => (h, Some(t)),
        None => (spec, None),
    };
    if host.is_empty() {
        return Err(CliError::Usage(format!(
            "registry:{spec}: write registry:HOST@TIME (e.g. registry:app1@2026-12-04T12:00:00Z)"
        )));
    }
    let at = match at {
        Some(t) => match t.parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                portolan_model::spec::Timestamp::parse(t)
                    .map_err(|e| CliError::Usage(format!("registry:{spec}: {e}")))?
                    .0
            }
        },
        None => s.clock.now(),
    };
    let enc: String = host
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let text = super::client::Client::new(remote).send(
        "GET",
        &format!("/api/v1/hosts/{enc}/state?at={at}"),
        None,
    )?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("registry:{spec}: unexpected answer: {e}")))?;
    let listeners: Vec<portolan_observe::Listener> = serde_json::from_value(v["listeners"].clone())
        .map_err(|e| CliError::Usage(format!("registry:{spec}: unexpected listeners: {e}")))?;
    let mut snap = Snapshot::live(host, at, &listeners, Vec::new());
    snap.source = format!("registry {}", remote.server);
    Ok(snap)
}

#[cfg(not(feature = "registry"))]
fn registry_side(_: &Settings, spec: &str, _: Option<&()>) -> Result<Snapshot, CliError> {
    Err(CliError::Usage(format!(
        "registry:{spec}: this build of portolan has no registry support"
    )))
}

/// Reads one side.
fn side(s: &Settings, arg: &str, host: Option<&str>) -> Result<Snapshot, CliError> {
    if arg == "live" {
        let now = s.clock.now();
        let (live, note) = listeners(true)?;
        let name = host.map_or_else(short_hostname, str::to_string);
        return Ok(Snapshot::live(
            &name,
            now,
            &live,
            note.into_iter().collect(),
        ));
    }
    if arg == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut std::io::Read::take(std::io::stdin(), MAX_FILE),
            &mut text,
        )
        .map_err(|e| CliError::io("cannot read standard input", e))?;
        return Snapshot::from_json("<stdin>", &text).map_err(|e| CliError::Usage(e.to_string()));
    }
    let path = Path::new(arg);
    let meta = std::fs::metadata(path).map_err(|e| {
        CliError::Usage(format!(
            "{arg}: {e} (a side is `live`, a snapshot file, `-` or a spec)"
        ))
    })?;
    if meta.is_file() && meta.len() > MAX_FILE {
        return Err(CliError::Usage(format!(
            "{arg}: {} bytes is larger than the {} MiB a snapshot or spec may have",
            meta.len(),
            MAX_FILE >> 20
        )));
    }
    if meta.is_file() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::io(format!("cannot read {arg}"), e))?;
        if text.trim_start().starts_with('{') {
            return Snapshot::from_json(arg, &text).map_err(|e| CliError::Usage(e.to_string()));
        }
    }
    // a spec (file or directory of *.toml)
    let model = portolan_model::load(path)?;
    let h = match host {
        Some(name) => model.host_named(name).ok_or_else(|| {
            let names: Vec<&str> = model.hosts.iter().map(|h| h.name.as_str()).collect();
            CliError::Usage(format!(
                "host `{name}` is not in {arg}; hosts: {}",
                names.join(", ")
            ))
        })?,
        None => match (recognise(s, &model), model.hosts.len()) {
            (Ok(h), _) => h,
            (Err(NotHere::Unknown(_)), 1) => portolan_model::HostId::from_index(0),
            (Err(e), _) => {
                return Err(CliError::Usage(format!(
                    "which host of {arg}? {}: pass --host NAME",
                    e.message()
                )));
            }
        },
    };
    Ok(Snapshot::declared(&model, h, &format!("spec {arg}")))
}
