//! `portolan check`: lint plus drift on this machine — the spec's bindings for this host
//! (`--host`, or recognised by hostname) against the live listeners and container
//! publications (whoever holds the host socket; `publish-to-dead-port` for a publication
//! nothing listens on inside its container), and with `--firewall`
//! against the deployed firewall ruleset (live, or a saved dump with `--from`).

use portolan_model::error::did_you_mean;

use std::path::PathBuf;

use clap::ValueEnum;

use super::Subcommand;
use super::common::{ReportSettings, capture, is_root, print_report};
use super::live::{listeners, this_host};
use crate::cli::ReportArgs;
use crate::error::CliError;
use crate::exit::Exit;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan check
  portolan check --host app1 --format json
  portolan check --probe                 # and connect to every declared binding
  sudo portolan check --firewall nftables  # the live ruleset against the spec
  portolan check --host app1 --firewall iptables --from app1.iptables-save";

/// `portolan check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Report options.
    #[command(flatten)]
    pub report: ReportArgs,
    /// Which host of the spec this machine is.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Also probe this host's declared bindings from here (TCP, TLS, HTTP).
    #[arg(long)]
    pub probe: bool,
    /// Compare the host's deployed firewall with the spec (`firewall-drift`): read live
    /// (`ufw status verbose`, `iptables-save` + `ip6tables-save`, `nft list ruleset`; needs
    /// root) or from --from.
    #[arg(long, value_enum, value_name = "KIND")]
    pub firewall: Option<FirewallArg>,
    /// Read the firewall dump from FILE (`-`: standard input) instead of the live firewall;
    /// live listeners are then not compared (the dump may come from another machine).
    #[arg(long = "from", value_name = "FILE", requires = "firewall")]
    pub from: Option<PathBuf>,
}

/// `check --firewall`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum FirewallArg {
    /// `ufw status verbose` output.
    Ufw,
    /// `iptables-save` (and `ip6tables-save`) output.
    Iptables,
    /// `nft list ruleset` output.
    Nftables,
}

/// `check --firewall`, validated.
#[derive(Debug, Clone)]
struct FirewallSettings {
    /// Dump syntax.
    kind: portolan_firewall::Kind,
    /// `--from FILE` (`-`: stdin); `None`: read the live firewall.
    from: Option<PathBuf>,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        let firewall = self.firewall.map(|k| FirewallSettings {
            kind: match k {
                FirewallArg::Ufw => portolan_firewall::Kind::Ufw,
                FirewallArg::Iptables => portolan_firewall::Kind::Iptables,
                FirewallArg::Nftables => portolan_firewall::Kind::Nftables,
            },
            from: self.from,
        });
        run(
            s,
            ReportSettings::new(&self.report, s.json),
            self.host.as_deref(),
            self.probe,
            firewall.as_ref(),
        )
    }

    fn machine_output(&self) -> bool {
        self.report.machine_output()
    }
}

fn run(
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
            return print_report(s, &model, r, report);
        }
    }
    match host_id {
        Some(h) => {
            let (live, note) = listeners(true)?;
            r.findings
                .extend(portolan_observe::drift::drift(&model, h, &live));
            if probe {
                r.findings
                    .extend(portolan_observe::reachability::unreachable(&model, h));
            }
            portolan_lint::sort(&model, &mut r.findings);
            if human {
                super::live::print_notes(s, &note);
            }
        }
        None if s.verbosity >= 0 && human => {
            eprintln!(
                "note: this machine is none of the spec's hosts (by hostname): pass --host NAME to check drift; running the spec checks only"
            );
        }
        None => {}
    }
    print_report(s, &model, r, report)
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
