//! Markdown import.

use std::path::Path;

use portolan_discover::markdown::{self, Imported};

fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/import").join(name);
    std::fs::read_to_string(p).expect("fixture")
}

fn import_fixture(name: &str) -> Imported {
    markdown::import(name, &fixture(name))
}

/// Loads the imported spec from a temporary directory, as the CLI would, and lints it:
/// `rule subject` per finding, sorted.
fn lint(spec: &str) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ports.toml");
    std::fs::write(&path, spec).expect("write");
    let model = match portolan_model::load(&path) {
        Ok(m) => m,
        Err(e) => panic!("imported spec does not load: {e}\n{spec}"),
    };
    let report = portolan_lint::lint(&model).expect("lint config");
    let mut out: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{} {}", f.rule.id(), f.subjects.join(" ")))
        .collect();
    out.sort();
    out
}

#[test]
fn dump_examples() {
    for name in ["opticserp-port-reference.md", "es-dashboards-port-guide.md", "business-platform-network.md"] {
        let imp = import_fixture(name);
        std::fs::write(format!("/tmp/imp-{name}.toml"), &imp.spec).unwrap();
        let findings = lint(&imp.spec);
        std::fs::write(format!("/tmp/imp-{name}.lint"), findings.join("\n")).unwrap();
        let probs: Vec<String> = imp.report.problems.iter().map(|p| format!("{}: {}", p.at, p.reason)).collect();
        std::fs::write(format!("/tmp/imp-{name}.notes"), probs.join("\n") + &format!("\nsecrets: {:?}", imp.report.secrets)).unwrap();
    }
}
