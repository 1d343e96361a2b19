//! `portolan gen TARGET`: render an output from the spec, to stdout or atomically to a file.
//! What the target cannot express is in the output as WARNING comments and repeated on
//! stderr (unless `-q`). Per-host targets (firewalls, compose, nginx) need exactly one host
//! in scope: `--host`, or a spec/environment with one host.

use portolan_model::Model;

use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

/// Checks `--env` and `--host` against the spec (usage error naming the choices).
pub(crate) fn check_scope(
    model: &Model,
    env: Option<&str>,
    host: Option<&str>,
) -> Result<(), CliError> {
    if let Some(e) = env
        && !model.environments.iter().any(|x| x.name == e)
    {
        let names: Vec<&str> = model.environments.iter().map(|x| x.name.as_str()).collect();
        return Err(CliError::Usage(format!(
            "environment `{e}` is not in the spec; environments: {}",
            names.join(", ")
        )));
    }
    if let Some(h) = host {
        let Some(id) = model.host_named(h) else {
            let names: Vec<&str> = model.hosts.iter().map(|x| x.name.as_str()).collect();
            return Err(CliError::Usage(format!(
                "host `{h}` is not in the spec; hosts: {}",
                names.join(", ")
            )));
        };
        let he = &model.environment(model.host(id).environment).name;
        if let Some(e) = env
            && he != e
        {
            return Err(CliError::Usage(format!(
                "host `{h}` is in environment `{he}`, not `{e}`"
            )));
        }
    }
    Ok(())
}

pub(crate) fn run(
    s: &Settings,
    target: &str,
    out: Option<&std::path::Path>,
    env: Option<&str>,
    host: Option<&str>,
) -> Result<Exit, CliError> {
    let model = s.load()?;
    check_scope(&model, env, host)?;
    let generator = portolan_render::generator(target)
        .ok_or_else(|| CliError::Usage(format!("unknown target `{target}`")))?;
    let analysis = portolan_lint::Analysis::compute(&model);
    portolan_model::timings::phase("reach");
    // only targets that print findings pay for the lint rules
    let report = if generator.needs_findings() {
        portolan_lint::lint_with(&model, &analysis)?
    } else {
        portolan_lint::Report::default()
    };
    // the change log kept beside the spec by alloc/reserve/release/gc, when there is one
    let log_path = portolan_alloc::log::path_for(&s.spec_path()?);
    let change_log = match portolan_alloc::log::read(&log_path) {
        Ok((entries, _)) if !entries.is_empty() => Some(portolan_alloc::log::table(&entries)),
        _ => None,
    };
    let cx = portolan_render::RenderContext {
        model: &model,
        analysis: &analysis,
        report: &report,
        environment: env,
        host,
        change_log: change_log.as_deref(),
    };
    if generator.per_host() {
        let hosts = cx.hosts();
        if hosts.len() != 1 {
            let names: Vec<&str> = hosts.iter().map(|h| model.host(*h).name.as_str()).collect();
            return Err(CliError::Usage(if names.is_empty() {
                format!("`gen {target}` renders one host, and no host is in scope")
            } else {
                format!(
                    "`gen {target}` renders one host's configuration; pass --host (hosts in scope: {})",
                    names.join(", ")
                )
            }));
        }
    }
    let rendered = generator
        .render(&cx)
        .map_err(|e| CliError::Other(e.into()))?;
    portolan_model::timings::phase("render");
    if s.verbosity >= 0 {
        for w in &rendered.warnings {
            eprintln!("warning: {target}: {w}");
        }
    }
    match out {
        Some(p) => output::atomic_write(p, &rendered.text)?,
        None => output::stdout(&rendered.text)?,
    }
    portolan_model::timings::phase("write");
    Ok(Exit::Ok)
}
