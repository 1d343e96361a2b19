//! Fuzz target: arbitrary bytes as a spec → load → lint → every report format → markdown.
//! Nothing may panic; errors must point inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match portolan_model::load_str("fuzz.toml", text) {
        Ok(model) => {
            let Ok(report) = portolan_lint::lint(&model) else { return };
            let _ = portolan_lint::report::human::report(&model.sources, &report, Default::default());
            let _ = portolan_lint::report::json::report(&model.sources, &report);
            let root = portolan_lint::report::sarif::SarifRoot::discover(std::path::Path::new("ports.toml"));
            let options = portolan_lint::report::sarif::SarifOptions { root: &root, version: "fuzz", exit_code: 0 };
            let _ = portolan_lint::report::sarif::to_value(&model.sources, &report, &options);
            let analysis = portolan_lint::Analysis::compute(&model);
            let cx = portolan_render::RenderContext { model: &model, analysis: &analysis, report: &report, environment: None, host: None, change_log: None };
            for g in portolan_render::generators() {
                let _ = g.render(&cx);
            }
        }
        Err(portolan_model::LoadError::Invalid { sources, errors }) => {
            for e in &errors {
                if let Some(l) = e.loc {
                    assert!(l.start as usize <= text.len());
                }
            }
            let _ = portolan_lint::report::human::spec_errors(&sources, &errors, Default::default());
        }
        Err(_) => {}
    }
});
