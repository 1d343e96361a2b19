//! The generators, one module per target (`fw` and `common` are shared helpers).

pub mod aws_sg;
pub(crate) mod common;
pub mod compose;
pub mod env;
pub mod etc_services;
pub(crate) mod fw;
pub mod iptables;
pub mod k8s_netpol;
pub mod markdown;
pub mod mermaid;
pub mod nftables;
pub mod nginx;
pub mod prometheus;
pub mod terraform;
pub mod ufw;

#[cfg(test)]
pub(crate) mod testutil {
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
}

/// Generated firewalls read back by portolan-firewall's importers: for every host of every
/// example, the nftables and iptables output lets in exactly what the spec declares
/// (`firewall-drift` finds nothing), so generator and importer agree on every rule.
#[cfg(test)]
mod read_back {
    use portolan_firewall::Kind;
    use portolan_lint::firewall_drift::{Dump, drift};

    use super::testutil::{EXAMPLES, example};
    use crate::RenderContext;

    #[test]
    fn generated_firewalls_read_back_without_drift() {
        let mut checked = 0;
        for name in EXAMPLES {
            let model = example(name);
            let analysis = portolan_lint::Analysis::compute(&model);
            let report = portolan_lint::Report::default();
            for (h, host) in model.hosts.iter().enumerate() {
                let cx = RenderContext {
                    model: &model,
                    analysis: &analysis,
                    report: &report,
                    environment: None,
                    host: Some(&host.name),
                    change_log: None,
                };
                for (target, kind) in [("nftables", Kind::Nftables), ("iptables", Kind::Iptables)] {
                    let mut text = crate::generator(target)
                        .expect("target")
                        .render(&cx)
                        .expect("renders")
                        .text;
                    if kind == Kind::Iptables && text.contains(":DOCKER-USER") {
                        // the file fills DOCKER-USER; Docker's own FORWARD chain calls it,
                        // then accepts what it publishes
                        text = text.replacen(
                            ":DOCKER-USER - [0:0]\n",
                            ":FORWARD DROP [0:0]\n:DOCKER-USER - [0:0]\n-A FORWARD -j DOCKER-USER\n-A FORWARD -j ACCEPT\n",
                            1,
                        );
                    }
                    let ruleset = kind
                        .parse(&text)
                        .unwrap_or_else(|e| panic!("{name} {target} {}: {e}\n{text}", host.name));
                    let dump = Dump {
                        kind,
                        ruleset: &ruleset,
                        file: None,
                        text: &text,
                        name: target,
                    };
                    let findings = drift(
                        &model,
                        &analysis,
                        portolan_model::HostId::from_index(h),
                        &dump,
                    );
                    assert!(
                        findings.is_empty(),
                        "{name} {target} {}: {:#?}",
                        host.name,
                        findings.iter().map(|f| &f.message).collect::<Vec<_>>()
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked >= 10, "only {checked} hosts checked");
    }
}
