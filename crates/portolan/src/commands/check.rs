//! `portolan check`: lint plus drift on this machine — the spec's bindings for this host
//! (`--host`, or recognised by hostname) against the live listeners.

use portolan_model::error::did_you_mean;

use super::observe::{listeners, this_host};
use crate::error::CliError;
use crate::exit::Exit;
use crate::settings::{ReportSettings, Settings};

pub(crate) fn run(
    s: &Settings,
    report: ReportSettings,
    host: Option<&str>,
    probe: bool,
) -> Result<Exit, CliError> {
    let model = s.load()?;
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
    let mut r = portolan_lint::lint(&model)?;
    let human = report.format == portolan_lint::report::Format::Human;
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
