//! `portolan kill PORT...`: stop what holds ports. A process: SIGTERM (or `--signal`), wait
//! `--timeout`, SIGKILL only with `--force`. A port a container publishes (or holds on the
//! host's network): the container is stopped through its engine's API, never by killing the
//! proxy (`docker stop` semantics: SIGKILL after `--timeout`; another `--signal` is sent to
//! the container instead). Asks first unless `--yes`; `--dry-run` says what it would do.
//! Refuses pid 1, itself and its ancestors.
//!
//! What is shown is what is stopped: each process is pinned by a pidfd while it holds the
//! socket shown, and right before the signal it must still hold it (a pid reused during the
//! prompt is never signalled); each container must still run and publish the port.
//!
//! Exit codes: 0 every holder stopped (or nothing to do in `--dry-run`), 1 a holder is still
//! running or a port had no visible holder, 2 refused, unconfirmed or bad input.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use portolan_observe::kill::{self, Refusal};

use super::Subcommand;
use super::common::is_root;
use super::live::{observe, print_notes};
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
  portolan kill 8000 --yes           # a published port: stops its container (docker stop)

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
    /// Accepted for older scripts: ports a container publishes always stop the container.
    #[arg(long, hide = true)]
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
    let view = observe(true, true)?;
    let plan = kill::plan(
        &view.listeners,
        &k.ports,
        &kill::protected_pids(),
        &view.scan,
    );
    let mut exit = Exit::Ok;
    for port in &plan.free {
        say(s, &format!("port {port}: nothing listens"));
        exit = Exit::Findings;
    }
    for port in &plan.hidden {
        if is_root() {
            eprintln!(
                "port {port}: no process visible from here holds it (one of another PID namespace, or a forward no container engine claims)"
            );
        } else {
            eprintln!("port {port}: held by a process this user cannot see (run as root)");
        }
        exit = Exit::Findings;
    }
    for (port, local, o, why) in &plan.refused {
        match why {
            Refusal::Container(id) => {
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
                    "port {port}: not signalling {} (pid {}) on {local}: {why}; no container engine answered to stop it\n  run: {cmd}",
                    o.name, o.pid
                );
            }
            _ => eprintln!(
                "port {port}: refusing to signal {} (pid {}) on {local}: {why}",
                o.name, o.pid
            ),
        }
        exit = Exit::Input;
    }
    if !plan.refused.is_empty() {
        print_notes(s, &view.notes);
    }
    // pin every process while it holds the socket shown
    let mut pinned: Vec<(kill::Pinned, Vec<u16>)> = Vec::new();
    for t in &plan.targets {
        if let Some((_, ports)) = pinned.iter_mut().find(|(p, _)| p.pid == t.owner.pid) {
            ports.push(t.port);
            continue;
        }
        match kill::Pinned::pin(t.owner.pid, t.inode) {
            Ok(p) => pinned.push((p, vec![t.port])),
            Err(e) => {
                eprintln!("port {}: {e}: not signalled", t.port);
                exit = Exit::Findings;
            }
        }
    }
    for t in &plan.targets {
        if pinned.iter().any(|(p, _)| p.pid == t.owner.pid) {
            say(
                s,
                &format!(
                    "port {}: {} held by {} (pid {}, user {}): {}",
                    t.port, t.local, t.owner.name, t.owner.pid, t.owner.user, t.owner.cmdline
                ),
            );
        }
    }
    for c in &plan.containers {
        for (port, local) in &c.ports {
            say(
                s,
                &format!(
                    "port {port}: {local} {} {} container `{}` ({}, image {})",
                    if c.container.published.is_some() {
                        "published by"
                    } else {
                        "held by a process of"
                    },
                    c.container.engine.as_str(),
                    c.container.name,
                    c.container.label(),
                    c.container.image
                ),
            );
        }
    }
    if pinned.is_empty() && plan.containers.is_empty() {
        return Ok(exit);
    }
    let stop_how = if signal == kill::Signal::TERM {
        format!(
            "stop (its stop signal, SIGKILL after {} s)",
            k.timeout.as_secs().max(1)
        )
    } else {
        format!("send SIG{} to", kill::signal_name(signal))
    };
    if k.dry_run {
        if !pinned.is_empty() {
            say(
                s,
                &format!(
                    "dry run: would send SIG{} to {} process(es){}",
                    kill::signal_name(signal),
                    pinned.len(),
                    if k.force {
                        ", then SIGKILL to survivors"
                    } else {
                        ""
                    }
                ),
            );
        }
        for c in &plan.containers {
            say(
                s,
                &format!("dry run: would {stop_how} container `{}`", c.container.name),
            );
        }
        return Ok(exit);
    }
    if !k.yes && !confirm(pinned.len(), plan.containers.len())? {
        eprintln!("nothing done");
        return Ok(Exit::Input);
    }
    for c in &plan.containers {
        if let Err(e) = stop_container(s, c, signal, k.timeout) {
            eprintln!("container `{}`: {e}", c.container.name);
            exit = Exit::Findings;
        }
    }
    let mut signalled = Vec::new();
    for (p, ports) in &pinned {
        let list = ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        // the re-check right before the signal: the pidfd names the process shown, and it
        // must still hold the socket shown
        if !p.still_holds() {
            eprintln!(
                "pid {}: no longer holds port {list} (it exited or closed it; the pid may be another process's now): not signalled",
                p.pid
            );
            exit = Exit::Findings;
            continue;
        }
        match p.signal(signal) {
            Ok(()) => signalled.push(p),
            Err(e) => {
                eprintln!("pid {}: cannot signal: {e}", p.pid);
                exit = Exit::Findings;
            }
        }
    }
    for p in signalled {
        match p.wait(k.timeout) {
            Some(t) => say(
                s,
                &format!("pid {}: stopped after {} ms", p.pid, t.as_millis()),
            ),
            None if k.force => {
                let _ = p.signal(kill::Signal::KILL);
                if p.wait(Duration::from_secs(2)).is_some() {
                    say(
                        s,
                        &format!(
                            "pid {}: still running after {} s, killed with SIGKILL",
                            p.pid,
                            k.timeout.as_secs_f32()
                        ),
                    );
                } else {
                    eprintln!("pid {}: survived SIGKILL (uninterruptible sleep?)", p.pid);
                    exit = Exit::Findings;
                }
            }
            None => {
                eprintln!(
                    "pid {}: still running after {} s (use --force to send SIGKILL)",
                    p.pid,
                    k.timeout.as_secs_f32()
                );
                exit = Exit::Findings;
            }
        }
    }
    Ok(exit)
}

fn confirm(processes: usize, containers: usize) -> Result<bool, CliError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CliError::Usage(
            "refusing to stop anything without confirmation: stdin is not a terminal (pass --yes)"
                .into(),
        ));
    }
    let what = match (processes, containers) {
        (p, 0) => format!("signal {p} process(es)"),
        (0, c) => format!("stop {c} container(s)"),
        (p, c) => format!("stop {c} container(s) and signal {p} process(es)"),
    };
    eprint!("{what}? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::io("cannot read the answer", e))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "YES"))
}

/// Stops (or signals) a container through its engine, after checking it still runs and
/// still publishes the ports shown (container ids are never reused).
fn stop_container(
    s: &Settings,
    c: &kill::ContainerTarget,
    signal: kill::Signal,
    grace: Duration,
) -> Result<(), String> {
    use portolan_observe::container::{api, endpoint};
    let e = endpoint::parse_host(&c.endpoint, false, "endpoint").map_err(|n| n.message)?;
    let (_, now) = api::list(&e, Duration::from_secs(5)).map_err(|n| n.message)?;
    let Some(current) = now.iter().find(|x| x.id == c.container.id) else {
        return Err("no longer running: not stopped".into());
    };
    if c.container.published.is_some() {
        let gone: Vec<u16> = c
            .ports
            .iter()
            .map(|(p, _)| *p)
            .filter(|p| !current.publications.iter().any(|x| x.host_port == *p))
            .collect();
        if !gone.is_empty() {
            return Err(format!("no longer publishes port {gone:?}: not stopped"));
        }
    }
    let name = &c.container.name;
    if signal == kill::Signal::TERM {
        let start = std::time::Instant::now();
        api::stop(&e, &c.container.id, grace).map_err(|x| x.to_string())?;
        say(
            s,
            &format!(
                "container `{name}` ({}): stopped after {} ms",
                c.container.engine.as_str(),
                start.elapsed().as_millis()
            ),
        );
    } else {
        api::signal(&e, &c.container.id, kill::signal_name(signal)).map_err(|x| x.to_string())?;
        say(
            s,
            &format!(
                "container `{name}` ({}): sent SIG{}",
                c.container.engine.as_str(),
                kill::signal_name(signal)
            ),
        );
    }
    Ok(())
}
