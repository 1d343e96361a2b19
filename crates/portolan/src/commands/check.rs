//! `portolan check`: lint plus drift on this machine — the spec's bindings for this host
//! (`--host`, or recognised by hostname) against the live listeners and container
//! publications (whoever holds the host socket; `publish-to-dead-port` for a publication
//! nothing listens on inside its container), and with `--firewall`
//! against the deployed firewall ruleset (live, or a saved dump with `--from`).

use portolan_model::error::did_you_mean;

use std::path::PathBuf;

use super::Subcommand;
use super::common::{Extra, ReportSettings, load_dump, print_report, print_report_with};
use super::live::{listeners, recognise};
use crate::cli::{FirewallArg, ReportArgs};
use crate::error::CliError;
use crate::exit::Exit;
use crate::settings::Settings;

/// Examples shown after `--help`.
pub const HELP: &str = "\
Examples:
  portolan check
  portolan check --host app1 --format json
  portolan check --probe                 # and connect to every declared binding
  portolan check --probe --source 192.168.1.7   # expectations from this address
  sudo portolan check --firewall nftables  # the live ruleset against the spec
  portolan check --host app1 --firewall iptables --from app1.iptables-save";

/// `portolan check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Report options.
    #[command(flatten)]
    pub report: ReportArgs,
    /// Which host of the spec this machine is (default: the config file's `host`, else the
    /// host recognised by machine id, host name or address; -v says which).
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Only the spec checks (what `portolan lint` does): no live listeners compared.
    #[arg(long, conflicts_with_all = ["host", "probe", "firewall"])]
    pub no_drift: bool,
    /// Also probe this host's declared bindings from here (TCP, TLS, HTTP), and verify the
    /// spec's `[[expect]]` that can be tested from here (held / failed / not testable).
    #[arg(long)]
    pub probe: bool,
    /// With --probe: connect from this local address (default: the one the kernel picks
    /// for each destination), to test the expectations of the source class it is in.
    #[arg(long, value_name = "ADDR", requires = "probe")]
    pub source: Option<std::net::IpAddr>,
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

/// `check --firewall`, validated.
#[derive(Debug, Clone)]
pub(crate) struct FirewallSettings {
    /// Dump syntax.
    kind: portolan_firewall::Kind,
    /// `--from FILE` (`-`: stdin); `None`: read the live firewall.
    from: Option<PathBuf>,
}

impl Subcommand for Args {
    fn run(self, s: &Settings) -> Result<Exit, CliError> {
        let firewall = self.firewall.map(|k| FirewallSettings {
            kind: k.kind(),
            from: self.from,
        });
        run(
            s,
            &ReportSettings::new(&self.report, s.json),
            if self.no_drift {
                Scope::SpecOnly
            } else {
                self.host.as_deref().map_or(Scope::ThisMachine, Scope::Host)
            },
            self.probe.then_some(ProbeFrom {
                source: self.source,
            }),
            firewall.as_ref(),
        )
    }

    fn machine_output(&self) -> bool {
        self.report.machine_output()
    }
}

/// Which host's drift to check.
#[derive(Debug, Clone, Copy)]
enum Scope<'a> {
    /// `--host NAME`.
    Host(&'a str),
    /// The spec host this machine is (by machine id, host name or address); none is an error.
    ThisMachine,
    /// `--no-drift`: the spec checks only.
    SpecOnly,
}

/// `--probe`, with the local address to connect from (`--source`; `None`: the one the
/// kernel picks).
struct ProbeFrom {
    source: Option<std::net::IpAddr>,
}

fn run(
    s: &Settings,
    report: &ReportSettings,
    scope: Scope<'_>,
    probe: Option<ProbeFrom>,
    firewall: Option<&FirewallSettings>,
) -> Result<Exit, CliError> {
    let mut model = s.load()?;
    let host_id = match scope {
        Scope::Host(h) => Some(model.host_named(h).ok_or_else(|| {
            let names: Vec<&str> = model.hosts.iter().map(|h| h.name.as_str()).collect();
            let hint = did_you_mean(h, names.iter().copied())
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            CliError::Usage(format!(
                "host `{h}` is not in the spec{hint}; hosts: {}",
                names.join(", ")
            ))
        })?),
        // probing from a machine outside the spec (a client) tests the expectations from
        // there: no drift to compare, and no error
        Scope::ThisMachine => match recognise(s, &model) {
            Ok(h) => Some(h),
            Err(_) if probe.is_some() && firewall.is_none() => None,
            Err(e) => return Err(not_a_host(e.message())),
        },
        Scope::SpecOnly => None,
    };
    let analysis = portolan_lint::Analysis::compute(&model);
    // lint's findings come sorted; what is added below is sorted in with them once, at the end
    let mut r = portolan_lint::lint_with(&model, &analysis).map_err(CliError::config(&model))?;
    let linted = r.findings.len();
    let human = report.format == portolan_lint::report::Format::Human;
    if let Some(fw) = firewall {
        let Some(h) = host_id else {
            return Err(not_a_host(
                "--firewall compares this machine's firewall with its host's",
            ));
        };
        r.findings
            .extend(firewall_drift(&mut model, &analysis, h, fw)?);
        if fw.from.is_some() {
            // a saved dump may come from another machine: compare only the firewall
            sort_added(&model, &mut r.findings, linted);
            return print_report(s, &model, r, report);
        }
    }
    if let Some(h) = host_id {
        let (live, note) = listeners(true)?;
        r.findings
            .extend(portolan_observe::drift::drift(&model, h, &live));
        if probe.is_some() {
            r.findings
                .extend(portolan_observe::reachability::unreachable(&model, h));
        }
        if human {
            super::live::print_notes(s, &note);
        }
    }
    let extra = probe.map(|ProbeFrom { source }| {
        let lives = portolan_observe::expectations::verify(
            &model,
            &analysis,
            source,
            std::time::Duration::from_millis(800),
        );
        r.findings.extend(
            lives
                .iter()
                .filter_map(|l| portolan_observe::expectations::finding(&model, l)),
        );
        expectations_section(&model, &lives)
    });
    sort_added(&model, &mut r.findings, linted);
    print_report_with(s, &model, r, report, extra)
}

/// Sorts the findings once, when some were added to lint's (already sorted) `linted` first.
fn sort_added(
    model: &portolan_model::Model,
    findings: &mut [portolan_lint::Finding],
    linted: usize,
) {
    if findings.len() > linted {
        portolan_lint::sort(model, findings);
    }
}

/// A check that could not tell which host this is: a silent "no findings" would read as
/// "no drift", so it is a usage error naming the ways out.
fn not_a_host(why: &str) -> CliError {
    CliError::Usage(format!(
        "{why}: pass --host NAME to check drift as that host, or --no-drift for the spec checks only; {}",
        super::live::DECLARE
    ))
}

/// The live expectations as a section of the report.
fn expectations_section(
    model: &portolan_model::Model,
    lives: &[portolan_observe::expectations::Live],
) -> Extra {
    use portolan_observe::expectations::Status;
    use std::fmt::Write as _;
    let mut human = String::new();
    if !lives.is_empty() {
        human.push_str("Expectations, probed from here:\n");
    }
    let mut items = Vec::new();
    for l in lives {
        let e = &model.expectations[l.expectation];
        let detail = match &l.status {
            Status::NotTestable(why) => format!("not testable from here: {why}"),
            st => {
                let from: Vec<String> = l.probes.iter().map(|p| p.from.to_string()).collect();
                let mut from = from;
                from.sort();
                from.dedup();
                format!(
                    "{} ({} connect{}, from {})",
                    st.as_str(),
                    l.probes.len(),
                    if l.probes.len() == 1 { "" } else { "s" },
                    from.join(", ")
                )
            }
        };
        let _ = writeln!(human, "  {}: {detail}", e.title());
        items.push(serde_json::json!({
            "expect": e.index,
            "from": e.label.0,
            "to": e.label.1,
            "reach": e.reach,
            "status": l.status.as_str(),
            "reason": match &l.status { Status::NotTestable(w) => Some(w.clone()), _ => None },
            "probes": l.probes.iter().map(|p| serde_json::json!({
                "binding": p.binding.map(|id| model.binding(id).qualified_name(model)),
                "from": p.from.to_string(),
                "to": p.to.to_string(),
                "connected": p.connected,
            })).collect::<Vec<_>>(),
        }));
    }
    if !lives.is_empty() {
        human.push('\n');
    }
    Extra {
        human,
        key: "expectations",
        json: serde_json::Value::Array(items),
    }
}

/// `--firewall`: parses the dump (located errors exit 2) and compares it with the spec.
fn firewall_drift(
    model: &mut portolan_model::Model,
    analysis: &portolan_lint::Analysis,
    h: portolan_model::HostId,
    fw: &FirewallSettings,
) -> Result<Vec<portolan_lint::Finding>, CliError> {
    use portolan_lint::firewall_drift::{drift, shadowed_rules};
    let loaded = load_dump(model, fw.kind, fw.from.as_deref())?;
    let dump = loaded.dump();
    let mut out = drift(model, analysis, h, &dump);
    out.extend(shadowed_rules(model, h, &dump));
    Ok(out)
}
