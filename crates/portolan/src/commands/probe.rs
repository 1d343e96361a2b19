//! `portolan probe`: reachability from here — TCP connect, UDP (open|filtered when silent),
//! HTTP status — for targets on the command line (`host:port`, `host:1-65535`,
//! `udp://host:port`, `http://host:port/path`) or for every declared binding of the spec
//! (`--env`, `--host`), probed at the host's address by its app protocol.

use std::fmt::Write as _;

use portolan_observe::probe::{self, Options, State, Target};

use super::Subcommand;
use super::common::{ReportSettings, print_report};
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan probe 127.0.0.1:1-65535          # open ports (like nmap -sT -p-)
  portolan probe 10.0.0.5:5432 udp://10.0.0.5:53 http://10.0.0.5:8069/web/health
  portolan probe --env production            # every declared binding, by its app protocol
  portolan probe --host app1 --json
  portolan probe --host app1 --sweep          # open ports the spec does not declare

Exit code: 0 ok, 1 a declared binding is not reachable, 2 bad target.";

/// `portolan probe`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Targets: `HOST:PORT`, `HOST:LO-HI`, `udp://HOST:PORT`, `http://HOST[:PORT]/PATH`.
    pub targets: Vec<String>,
    /// Probe the declared bindings of this environment.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Probe the declared bindings of this host.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Probes in flight at once.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub concurrency: usize,
    /// Per-probe timeout in milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub timeout: u64,
    /// Retries after a timeout.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub retries: u32,
    /// Give up on what is left after this many seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub deadline: u64,
    /// Show closed and filtered ports too.
    #[arg(long)]
    pub all: bool,
    /// With --host: probe every TCP port of the host and report open ports no binding
    /// declares as `undeclared-listener` findings (drift seen from outside).
    #[arg(long, requires = "host")]
    pub sweep: bool,
}

/// Validated `probe` options.
#[derive(Debug, Clone)]
struct ProbeSettings {
    /// Targets as written.
    targets: Vec<String>,
    /// Probe declared bindings.
    from_spec: bool,
    /// Environment filter.
    env: Option<String>,
    /// Host filter.
    host: Option<String>,
    /// In flight.
    concurrency: usize,
    /// Per probe.
    timeout: std::time::Duration,
    /// Retries.
    retries: u32,
    /// Whole run.
    deadline: std::time::Duration,
    /// Show closed too.
    all: bool,
    /// Sweep every port of the host.
    sweep: bool,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        if self.concurrency == 0 || self.concurrency > 4096 {
            return Err(CliError::Usage(
                "--concurrency must be between 1 and 4096".into(),
            ));
        }
        run(
            s,
            &ProbeSettings {
                from_spec: self.env.is_some() || self.host.is_some(),
                targets: self.targets,
                env: self.env,
                host: self.host,
                concurrency: self.concurrency,
                timeout: std::time::Duration::from_millis(self.timeout.max(1)),
                retries: self.retries,
                deadline: std::time::Duration::from_secs(self.deadline.max(1)),
                all: self.all,
                sweep: self.sweep,
            },
        )
    }
}

fn run(s: &Settings, p: &ProbeSettings) -> Result<Exit, CliError> {
    if p.sweep {
        return sweep(s, p);
    }
    let mut targets: Vec<Target> = Vec::new();
    for t in &p.targets {
        targets.extend(probe::parse_target(t).map_err(|e| CliError::Usage(e.to_string()))?);
    }
    let mut names: Vec<(Target, String)> = Vec::new();
    if p.from_spec {
        let model = s.load()?;
        for (t, id) in portolan_observe::reachability::spec_targets(&model, |b| {
            p.env
                .as_ref()
                .is_none_or(|e| *e == model.environment(b.environment).name)
                && p.host
                    .as_ref()
                    .is_none_or(|h| *h == model.host(b.host).name)
        }) {
            targets.push(t.clone());
            names.push((t, model.binding(id).qualified_name(&model)));
        }
        if targets.is_empty() {
            return Err(CliError::Usage(
                "no declared binding matches (and hosts need `addresses` to be probed)".into(),
            ));
        }
    }
    if targets.is_empty() {
        return Err(CliError::Usage("nothing to probe: give targets (HOST:PORT, HOST:LO-HI, http://HOST:PORT/PATH) or --env/--host".into()));
    }
    let total = targets.len();
    let opts = Options {
        concurrency: p.concurrency,
        timeout: p.timeout,
        retries: p.retries,
        deadline: p.deadline,
    };
    let bar = progress(total, s);
    let results = probe::run(targets, opts, &|done| {
        bar.set_position(u64::try_from(done).unwrap_or(u64::MAX));
    });
    bar.finish_and_clear();
    let show_all = p.all || total <= 16 || p.from_spec;
    let mut open = 0;
    let mut missing = 0;
    let mut expiring = Vec::new();
    let mut rows = Vec::new();
    for r in &results {
        let service = names
            .iter()
            .find(|(t, _)| *t == r.target)
            .map(|(_, n)| n.clone());
        if let Some(info) = &r.tls
            && info.days_left < portolan_observe::tls::EXPIRY_WARNING_DAYS
        {
            expiring.push(format!(
                "{}:{}: certificate `{}` {} (not after {})",
                r.target.addr,
                r.target.port,
                info.subject,
                if info.days_left < 0 {
                    "has EXPIRED".to_string()
                } else {
                    format!("expires in {} days", info.days_left)
                },
                info.not_after
            ));
        }
        if r.state == State::Open {
            open += 1;
        } else if service.is_some() {
            missing += 1;
        }
        if show_all || matches!(r.state, State::Open | State::OpenFiltered) {
            rows.push((r, service));
        }
    }
    if s.json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|(r, svc)| serde_json::json!({"host": r.target.host, "addr": r.target.addr.to_string(), "port": r.target.port, "transport": r.target.transport, "state": r.state.as_str(), "micros": r.micros, "http_status": r.http_status, "tls": r.tls, "service": svc}))
            .collect();
        output::stdout(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"))?;
    } else {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "{:<40} {:<5} {:<14} {:>9} {:<5} SERVICE",
            "TARGET", "PROTO", "STATE", "RTT", "HTTP"
        );
        for (r, svc) in &rows {
            let addr = if r.target.addr.is_ipv6() {
                format!("[{}]:{}", r.target.addr, r.target.port)
            } else {
                format!("{}:{}", r.target.addr, r.target.port)
            };
            let state = match &r.state {
                State::Error(e) => format!("error: {e}"),
                s => s.as_str().to_string(),
            };
            let _ = writeln!(
                t,
                "{:<40} {:<5} {:<14} {:>7.1}ms {:<5} {}",
                addr,
                r.target.transport.as_str(),
                state,
                f64::from(u32::try_from(r.micros).unwrap_or(u32::MAX)) / 1000.0,
                r.http_status.map_or_else(|| "-".into(), |c| c.to_string()),
                svc.as_deref().unwrap_or("-")
            );
            if let Some(info) = &r.tls {
                let _ = writeln!(
                    t,
                    "    {} {} — {} (issuer {}){}; {} days left; SANs: {}",
                    info.version,
                    info.cipher,
                    info.subject,
                    info.issuer,
                    if info.self_signed {
                        ", self-signed"
                    } else {
                        ""
                    },
                    info.days_left,
                    if info.sans.is_empty() {
                        "none".to_string()
                    } else {
                        info.sans.join(", ")
                    }
                );
            }
        }
        if s.verbosity >= 0 {
            let _ = writeln!(
                t,
                "{open} open of {total} probed{}",
                if show_all {
                    ""
                } else {
                    " (closed ones hidden; --all shows them)"
                }
            );
        }
        output::stdout(&t)?;
    }
    for e in &expiring {
        eprintln!("warning: {e}");
    }
    Ok(if missing > 0 || !expiring.is_empty() {
        Exit::Findings
    } else {
        Exit::Ok
    })
}

/// `--sweep`: every TCP port of one host from outside; open ports no binding declares are
/// `undeclared-listener` findings, declared TCP bindings found closed are
/// `declared-not-listening`.
fn sweep(s: &Settings, p: &ProbeSettings) -> Result<Exit, CliError> {
    use portolan_lint::{Finding, Rule};
    let model = s.load()?;
    let name = p.host.as_deref().unwrap_or_default();
    let hid = model
        .host_named(name)
        .ok_or_else(|| CliError::Usage(format!("host `{name}` is not in the spec")))?;
    let host = model.host(hid);
    let addr = host
        .addresses
        .first()
        .copied()
        .ok_or_else(|| CliError::Usage(format!("host `{name}` has no `addresses` to sweep")))?;
    let targets = probe::parse_target(&format!(
        "{}:1-65535",
        if addr.is_ipv6() {
            format!("[{addr}]")
        } else {
            addr.to_string()
        }
    ))
    .map_err(|e| CliError::Usage(e.to_string()))?;
    let opts = Options {
        concurrency: p.concurrency,
        timeout: p.timeout,
        retries: p.retries,
        deadline: p.deadline,
    };
    let bar = progress(65_535, s);
    let results = probe::run(targets, opts, &|done| {
        bar.set_position(u64::try_from(done).unwrap_or(u64::MAX));
    });
    bar.finish_and_clear();
    let open: std::collections::BTreeSet<u16> = results
        .iter()
        .filter(|r| r.state == State::Open)
        .map(|r| r.target.port)
        .collect();
    let mine: Vec<&portolan_model::Binding> = model
        .bindings
        .iter()
        .filter(|b| b.host == hid && b.transport == portolan_model::Transport::Tcp)
        .collect();
    let mut report = portolan_lint::Report::default();
    for port in &open {
        if !mine.iter().any(|b| b.ports.contains(*port)) {
            report.findings.push(
                Finding::new(Rule::UndeclaredListener, format!("{addr}:{port}/tcp of host `{name}` accepts connections from here, but no binding declares it"))
                    .subject(format!("tcp:{port}"))
                    .help("declare it in the spec, or close it"),
            );
        }
    }
    for b in mine
        .iter()
        .filter(|b| matches!(b.status, portolan_model::Status::Active) && !b.bind.is_loopback())
    {
        if !b.ports.ports().any(|port| open.contains(&port)) {
            report.findings.push(
                Finding::new(Rule::DeclaredNotListening, format!("`{}` ({}:{}/tcp) is not reachable from here", b.qualified_name(&model), addr, b.ports))
                    .subject(b.qualified_name(&model))
                    .at(b.port_loc, "declared here")
                    .note("seen from outside: a firewall between here and the host looks the same as a stopped service")
                    .help("start the service, or check the firewalls on the way"),
            );
        }
    }
    portolan_lint::sort(&model, &mut report.findings);
    let format = if s.json {
        portolan_lint::report::Format::Json
    } else {
        portolan_lint::report::Format::Human
    };
    print_report(
        s,
        &model,
        report,
        ReportSettings {
            format,
            fail_on: Some(portolan_lint::Severity::Warning),
        },
    )
}

/// A progress bar on stderr for long runs, drawn only when stderr is a terminal.
fn progress(total: usize, s: &Settings) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if total < 1000 || s.verbosity < 0 || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(u64::try_from(total).unwrap_or(u64::MAX));
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} probing {pos}/{len} [{bar:40}] {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
