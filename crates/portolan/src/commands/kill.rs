//! `portolan kill PORT...`: stop the process(es) holding ports. SIGTERM (or `--signal`),
//! wait `--timeout`, SIGKILL only with `--force`; asks first unless `--yes`; `--dry-run`
//! says what it would do. Refuses pid 1, itself and its ancestors. A port published by a
//! container is stopped through the container (`--container`), never by killing the proxy.
//!
//! Exit codes: 0 every holder stopped (or nothing to do in `--dry-run`), 1 a holder is still
//! running or a port had no visible holder, 2 refused, unconfirmed or bad input.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use portolan_observe::kill::{self, Refusal};

use super::Subcommand;
use super::live::listeners;
use crate::cli::parse_port;
use crate::error::CliError;
use crate::exit::Exit;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan kill 8069                 # asks first
  portolan kill 8069 8000 5432 --yes
  portolan kill 8069 --dry-run
  portolan kill 8069 --timeout 10 --force --yes
  portolan kill 8000 --container --yes   # a Docker-published port: stop its container

Never signals pid 1, portolan itself or its ancestors.
Exit code: 0 all stopped, 1 something still runs or held nothing, 2 refused or unconfirmed.";

/// `portolan kill`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Ports whose holders to stop.
    #[arg(required = true, value_parser = parse_port)]
    pub ports: Vec<u16>,
    /// Signal to send first.
    #[arg(long, default_value = "TERM", value_name = "SIGNAL")]
    pub signal: String,
    /// Seconds to wait for each process to exit.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// Send SIGKILL to processes still running after the timeout.
    #[arg(long)]
    pub force: bool,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub yes: bool,
    /// Only say what would be done.
    #[arg(long)]
    pub dry_run: bool,
    /// For ports published by a container: stop the container (docker/podman stop).
    #[arg(long)]
    pub container: bool,
}

/// Validated `kill` options.
#[derive(Debug, Clone)]
struct KillSettings {
    /// Ports.
    ports: Vec<u16>,
    /// First signal (name).
    signal: String,
    /// Wait per process.
    timeout: Duration,
    /// SIGKILL survivors.
    force: bool,
    /// No confirmation.
    yes: bool,
    /// Only report.
    dry_run: bool,
    /// Stop containers that publish the ports.
    container: bool,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        if !(self.timeout.is_finite() && (0.0..=3600.0).contains(&self.timeout)) {
            return Err(CliError::Usage(format!(
                "--timeout {} is not between 0 and 3600 seconds",
                self.timeout
            )));
        }
        run(
            s,
            &KillSettings {
                ports: self.ports,
                signal: self.signal,
                timeout: Duration::from_secs_f64(self.timeout),
                force: self.force,
                yes: self.yes,
                dry_run: self.dry_run,
                container: self.container,
            },
        )
    }
}

fn say(s: &Settings, line: &str) {
    if s.verbosity >= 0 {
        println!("{line}");
    }
}

fn run(s: &Settings, k: &KillSettings) -> Result<Exit, CliError> {
    let signal = kill::parse_signal(&k.signal).ok_or_else(|| {
        CliError::Usage(format!(
            "unknown signal `{}` (TERM, KILL, HUP, INT, QUIT, USR1, USR2)",
            k.signal
        ))
    })?;
    let (live, _) = listeners(true)?;
    let plan = kill::plan(&live, &k.ports, &kill::protected_pids());
    let mut exit = Exit::Ok;
    for port in &plan.free {
        say(s, &format!("port {port}: nothing listens"));
        exit = Exit::Findings;
    }
    for port in &plan.hidden {
        eprintln!("port {port}: held by a process this user cannot see (run as root)");
        exit = Exit::Findings;
    }
    for (port, local, o, why) in &plan.refused {
        let container = match why {
            Refusal::Container(id) => Some(id.clone()),
            _ => None,
        };
        match container {
            Some(id) if k.container => stop_container(s, *port, id.as_deref(), k.dry_run)?,
            Some(id) => {
                let cmd = id.as_ref().and_then(|c| c.split_once(':')).map_or_else(
                    || format!("docker stop $(docker ps -q --filter publish={port})"),
                    |(kind, id)| {
                        format!(
                            "{} stop {id}",
                            if kind == "podman" { "podman" } else { "docker" }
                        )
                    },
                );
                eprintln!(
                    "port {port}: not signalling {} (pid {}) on {local}: {why}\n  run: {cmd}\n  or:  portolan kill {port} --container",
                    o.name, o.pid
                );
                exit = Exit::Input;
            }
            None => {
                eprintln!(
                    "port {port}: refusing to signal {} (pid {}) on {local}: {why}",
                    o.name, o.pid
                );
                exit = Exit::Input;
            }
        }
    }
    if plan.targets.is_empty() {
        return Ok(exit);
    }
    for (port, local, o) in &plan.targets {
        say(
            s,
            &format!(
                "port {port}: {local} held by {} (pid {}, user {}): {}",
                o.name, o.pid, o.user, o.cmdline
            ),
        );
    }
    if k.dry_run {
        say(
            s,
            &format!(
                "dry run: would send SIG{} to {} process(es){}",
                k.signal.trim_start_matches("SIG").to_ascii_uppercase(),
                plan.targets.len(),
                if k.force {
                    ", then SIGKILL to survivors"
                } else {
                    ""
                }
            ),
        );
        return Ok(exit);
    }
    if !k.yes && !confirm(plan.targets.len())? {
        eprintln!("nothing done");
        return Ok(Exit::Input);
    }
    let mut pids: Vec<u32> = plan.targets.iter().map(|t| t.2.pid).collect();
    pids.sort_unstable();
    pids.dedup();
    for pid in &pids {
        if let Err(e) = kill::send(*pid, signal) {
            eprintln!("pid {pid}: cannot signal: {e}");
            exit = Exit::Findings;
        }
    }
    for pid in pids {
        match kill::wait_gone(pid, k.timeout) {
            Some(t) => say(s, &format!("pid {pid}: stopped after {} ms", t.as_millis())),
            None if k.force => {
                let _ = kill::send(pid, kill::Signal::KILL);
                if kill::wait_gone(pid, Duration::from_secs(2)).is_some() {
                    say(
                        s,
                        &format!(
                            "pid {pid}: still running after {} s, killed with SIGKILL",
                            k.timeout.as_secs_f32()
                        ),
                    );
                } else {
                    eprintln!("pid {pid}: survived SIGKILL (uninterruptible sleep?)");
                    exit = Exit::Findings;
                }
            }
            None => {
                eprintln!(
                    "pid {pid}: still running after {} s (use --force to send SIGKILL)",
                    k.timeout.as_secs_f32()
                );
                exit = Exit::Findings;
            }
        }
    }
    Ok(exit)
}

fn confirm(n: usize) -> Result<bool, CliError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CliError::Usage("refusing to signal processes without confirmation: stdin is not a terminal (pass --yes)".into()));
    }
    eprint!("signal {n} process(es)? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::io("cannot read the answer", e))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "YES"))
}

fn stop_container(
    s: &Settings,
    port: u16,
    id: Option<&str>,
    dry_run: bool,
) -> Result<(), CliError> {
    let (tool, target) = match id.and_then(|c| c.split_once(':')) {
        Some(("podman", id)) => ("podman", id.to_string()),
        Some((_, id)) => ("docker", id.to_string()),
        None => {
            let out = std::process::Command::new("docker")
                .args(["ps", "-q", "--filter", &format!("publish={port}")])
                .output()
                .map_err(|e| {
                    CliError::Usage(format!(
                        "port {port}: cannot run `docker ps` to find the container: {e}"
                    ))
                })?;
            let id = String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            if !out.status.success() || id.is_empty() {
                return Err(CliError::Usage(format!(
                    "port {port}: no running container publishes it according to `docker ps` ({})",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            ("docker", id)
        }
    };
    if dry_run {
        say(
            s,
            &format!("port {port}: dry run: would run `{tool} stop {target}`"),
        );
        return Ok(());
    }
    let status = std::process::Command::new(tool)
        .args(["stop", &target])
        .status()
        .map_err(|e| CliError::Usage(format!("cannot run `{tool} stop {target}`: {e}")))?;
    if status.success() {
        say(s, &format!("port {port}: stopped container {target}"));
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "`{tool} stop {target}` failed ({status})"
        )))
    }
}
