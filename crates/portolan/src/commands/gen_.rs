//! `portolan gen TARGET`: render an output from the spec, to stdout or atomically to a file.

use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::Settings;

pub(crate) fn run(
    s: &Settings,
    target: &str,
    out: Option<&std::path::Path>,
    env: Option<&str>,
) -> Result<Exit, CliError> {
    let model = s.load()?;
    if let Some(e) = env
        && !model.environments.iter().any(|x| x.name == e)
    {
        let names: Vec<&str> = model.environments.iter().map(|x| x.name.as_str()).collect();
        return Err(CliError::Usage(format!(
            "environment `{e}` is not in the spec; environments: {}",
            names.join(", ")
        )));
    }
    let generator = portolan_render::generator(target)
        .ok_or_else(|| CliError::Usage(format!("unknown target `{target}`")))?;
    let analysis = portolan_lint::Analysis::compute(&model);
    let report = portolan_lint::lint_with(&model, &analysis)?;
    let cx = portolan_render::RenderContext {
        model: &model,
        analysis: &analysis,
        report: &report,
        environment: env,
    };
    let text = generator
        .render(&cx)
        .map_err(|e| CliError::Other(e.into()))?;
    match out {
        Some(p) => output::atomic_write(p, &text)?,
        None => output::stdout(&text)?,
    }
    Ok(Exit::Ok)
}
