//! `portolan check`: lint plus drift on this machine — the spec's bindings for this host
//! (`--host`, or recognised by hostname) against the live listeners, and with `--firewall`
//! against the deployed firewall ruleset (live, or a saved dump with `--from`).

use portolan_model::error::did_you_mean;

use super::observe::{listeners, this_host};
use crate::error::CliError;
use crate::exit::Exit;
use crate::settings::{FirewallSettings, ReportSettings, Settings};

pub(crate) fn run(
    s: &Settings,
    report: ReportSettings,
    host: Option<&str>,
    probe: bool,
    firewall: Option<&FirewallSettings>,
) -> Result<Exit, CliError> {
    let mut model = s.load()?;
    let host_id = match host {
        Some(h) => Some(model.host_named(h).ok_or_else(|| {
            let names: Vec<&str> = model.hosts.iter().map(|h| h.name.as_str()).collect();
            let hint = did_you_mean(h, names.iter().copied())
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            CliError::Usage(format!(
                "host `{h}` is not in the spec{hint}; hosts: {}",
                names.join(", ")
            ))
        })?),
        None => this_host(&model),
    };
    let analysis = portolan_lint::Analysis::compute(&model);
    let mut r = portolan_lint::lint_with(&model, &analysis)?;
    let human = report.format == portolan_lint::report::Format::Human;
    if let Some(fw) = firewall {
        let Some(h) = host_id else {
            return Err(CliError::Usage(
                "this machine is none of the spec's hosts (by hostname): pass --host NAME to say whose firewall this is".into(),
            ));
        };
        r.findings
            .extend(firewall_drift(&mut model, &analysis, h, fw)?);
        if fw.from.is_some() {
            // a saved dump may come from another machine: compare only the firewall
            portolan_lint::sort(&model, &mut r.findings);
            return super::print_report(s, &model, r, report);
        }
    }
    match host_id {
        Some(h) => {
            let (live, note) = listeners(true)?;
            r.findings
                .extend(portolan_observe::drift::drift(&model, h, &live));
            if probe {
                r.findings.extend(reachability(&model, h));
            }
            portolan_lint::sort(&model, &mut r.findings);
            if let Some(n) = note
                && s.verbosity >= 0
                && human
            {
                eprintln!("note: {n}");
            }
        }
        None if s.verbosity >= 0 && human => {
            eprintln!(
                "note: this machine is none of the spec's hosts (by hostname): pass --host NAME to check drift; running the spec checks only"
            );
        }
        None => {}
    }
    super::print_report(s, &model, r, report)
}

/// Whether this process runs as root (effective uid 0).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|st| {
            st.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// Runs `prog args` and returns its standard output.
fn capture(prog: &str, args: &[&str]) -> Result<String, CliError> {
    let out = std::process::Command::new(prog)
        .args(args)
        .output()
        .map_err(|e| CliError::Usage(format!("cannot run `{prog}`: {e} (is it installed?)")))?;
    if !out.status.success() {
        return Err(CliError::Usage(format!(
            "`{prog} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The dump (from `--from`, standard input or the live firewall) and how to name it.
fn read_dump(fw: &FirewallSettings) -> Result<(String, String), CliError> {
    use portolan_firewall::Kind;
    match &fw.from {
        Some(p) if p.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .map_err(|e| CliError::io("reading the firewall dump from standard input", e))?;
            Ok(("<stdin>".into(), text))
        }
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| CliError::Usage(format!("{}: {e}", p.display())))?;
            Ok((p.display().to_string(), text))
        }
        None => {
            let (what, cmd) = match fw.kind {
                Kind::Ufw => ("ufw status verbose", "ufw status verbose"),
                Kind::Iptables => ("iptables-save", "iptables-save; ip6tables-save"),
                Kind::Nftables => ("nft list ruleset", "nft list ruleset"),
            };
            if !is_root() {
                return Err(CliError::Usage(format!(
                    "reading the live {} firewall needs root: run as root, or save `{cmd}` to a file and pass --from FILE",
                    fw.kind.as_str()
                )));
            }
            let text = match fw.kind {
                Kind::Ufw => capture("ufw", &["status", "verbose"])?,
                Kind::Nftables => capture("nft", &["list", "ruleset"])?,
                Kind::Iptables => {
                    let mut t = capture("iptables-save", &[])?;
                    // IPv6 too, when the host has it
                    if let Ok(v6) = capture("ip6tables-save", &[]) {
                        t.push_str(&v6);
                    }
                    t
                }
            };
            Ok((format!("<{what}>"), text))
        }
    }
}

/// `--firewall`: parses the dump (located errors exit 2) and compares it with the spec.
fn firewall_drift(
    model: &mut portolan_model::Model,
    analysis: &portolan_lint::Analysis,
    h: portolan_model::HostId,
    fw: &FirewallSettings,
) -> Result<Vec<portolan_lint::Finding>, CliError> {
    use portolan_lint::firewall_drift::{Dump, drift};
    let (name, text) = read_dump(fw)?;
    let ruleset = fw.kind.parse(&text).map_err(|e| {
        CliError::Usage(format!(
            "{name}:{}:{}: not {} output: {}",
            e.line,
            e.column,
            match fw.kind {
                portolan_firewall::Kind::Ufw => "`ufw status verbose`",
                portolan_firewall::Kind::Iptables => "`iptables-save`",
                portolan_firewall::Kind::Nftables => "`nft list ruleset`",
            },
            e.reason
        ))
    })?;
    let file = model
        .sources
        .add(std::path::Path::new(&name), name.clone(), text.clone());
    let dump = Dump {
        kind: fw.kind,
        ruleset: &ruleset,
        file: Some(file),
        text: &text,
        name: &name,
    };
    Ok(drift(model, analysis, h, &dump))
}

/// `--probe`: connect to every active declared binding of host `h` from here; what does not
/// accept is `unreachable`.
fn reachability(
    model: &portolan_model::Model,
    h: portolan_model::HostId,
) -> Vec<portolan_lint::Finding> {
    use portolan_observe::probe::{self, Options, State};
    let targets = super::probe::spec_targets(model, |b| {
        b.host == h && b.status == portolan_model::Status::Active
    });
    let results = probe::run(
        targets.iter().map(|(t, _)| t.clone()).collect(),
        Options {
            timeout: std::time::Duration::from_millis(500),
            ..Options::default()
        },
        &|_| {},
    );
    let mut out = Vec::new();
    for r in results {
        if matches!(r.state, State::Open | State::OpenFiltered) {
            continue;
        }
        let Some((_, name)) = targets.iter().find(|(t, _)| *t == r.target) else {
            continue;
        };
        let loc = model
            .service_named(name.split('.').next().unwrap_or_default())
            .and_then(|sid| {
                model
                    .bindings_of(sid)
                    .iter()
                    .find(|b| b.qualified_name(model) == *name)
                    .map(|b| b.port_loc)
            });
        let mut f = portolan_lint::Finding::new(
            portolan_lint::Rule::Unreachable,
            format!(
                "`{name}` at {}:{}/{} is {} from here",
                r.target.addr,
                r.target.port,
                r.target.transport.as_str(),
                r.state.as_str()
            ),
        )
        .subject(name.clone())
        .help("start it, or check the bind address and the firewalls on the way");
        if let Some(l) = loc {
            f = f.at(l, "declared here");
        }
        out.push(f);
    }
    out
}
