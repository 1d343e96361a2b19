//! Rendering the example specs (and small inline specs) in unit tests.

use crate::{RenderContext, Rendered};

/// The example directories under `examples/`.
pub(crate) const EXAMPLES: &[&str] = &[
    "business-platform-network",
    "es-dashboards-port-guide",
    "opticserp-port-reference",
];

/// The model of example `name`.
pub(crate) fn example(name: &str) -> portolan_model::Model {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
        .join("ports.toml");
    portolan_model::load(&p).expect("example loads")
}

/// Renders `target` for the whole of `model`.
pub(crate) fn render(model: &portolan_model::Model, target: &str) -> Rendered {
    let analysis = portolan_lint::Analysis::compute(model);
    let report = portolan_lint::lint_with(model, &analysis).expect("lint");
    let cx = RenderContext {
        model,
        analysis: &analysis,
        report: &report,
        environment: None,
        host: None,
        change_log: None,
    };
    crate::generator(target)
        .expect("target")
        .render(&cx)
        .expect("renders")
}

/// Renders `target` for an inline spec.
pub(crate) fn render_str(toml: &str, target: &str) -> Rendered {
    let m = portolan_model::load_str("ports.toml", toml).expect("spec loads");
    render(&m, target)
}
