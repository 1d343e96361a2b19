//! `gen prometheus`: `scrape_configs` for the metrics bindings in scope — a binding named
//! `metrics`, or whose app protocol is `metrics`/`prometheus`, or of a service whose name
//! ends in `exporter`. One job per `service.binding`, one static config per host (labelled
//! `environment` and `host`). The target address is the bind address when it names one,
//! else the host's `hostname`, first address, or name (assumed resolvable; a comment says
//! so). Loopback-bound metrics are only reachable from their own host: such a target is
//! written as `127.0.0.1:PORT` with a warning.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use portolan_model::{Binding, Model, Status};

use crate::common;
use crate::{Generator, RenderContext, RenderError, Rendered};

/// The Prometheus generator.
pub struct Prometheus;

/// Whether a binding exposes metrics.
pub(crate) fn is_metrics(m: &Model, b: &Binding) -> bool {
    b.name == "metrics"
        || b.app
            .as_deref()
            .is_some_and(|a| matches!(a, "metrics" | "prometheus" | "openmetrics"))
        || m.service(b.service).name.ends_with("exporter")
}

/// The generators this file defines (collected by `build.rs` into [`crate::generators`]).
pub(crate) const GENERATORS: &[&dyn Generator] = &[&Prometheus];

impl Generator for Prometheus {
    fn extension(&self) -> &'static str {
        "yml"
    }

    fn name(&self) -> &'static str {
        "prometheus"
    }

    fn description(&self) -> &'static str {
        "Prometheus scrape_configs for the metrics bindings"
    }

    fn render(&self, cx: &RenderContext<'_>) -> Result<Rendered, RenderError> {
        let m = cx.model;
        let mut warnings = Vec::new();
        let mut jobs: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
        for (_, b) in cx.bindings().filter(|(_, b)| is_metrics(m, b)) {
            if b.status == Status::Reserved {
                continue;
            }
            let h = m.host(b.host);
            let addr = if b.bind.is_loopback() {
                warnings.push(format!(
                    "{} on host `{}` is bound to {}: only a Prometheus on that host can scrape it",
                    b.qualified_name(m),
                    h.name,
                    b.bind
                ));
                b.bind.to_string()
            } else if !b.bind.is_unspecified() {
                b.bind.to_string()
            } else if let Some(n) = h.hostname() {
                n.to_string()
            } else if let Some(a) = h.addresses.first() {
                a.to_string()
            } else {
                h.name.clone()
            };
            let addr = if addr.parse::<IpAddr>().is_ok_and(|a| a.is_ipv6()) {
                format!("[{addr}]")
            } else {
                addr
            };
            jobs.entry(b.qualified_name(m)).or_default().push((
                format!("{addr}:{}", b.ports.lo),
                m.environment(b.environment).name.clone(),
                h.name.clone(),
            ));
        }
        let mut out = common::header(cx, "#", "Prometheus scrape configs");
        out.push_str("# Merge into prometheus.yml. Hosts without addresses are named by their spec name,\n# which must resolve.\n");
        out.push_str(&common::warnings_block("#", &warnings));
        if jobs.is_empty() {
            out.push_str("# No metrics binding in scope (named `metrics`, app `metrics`/`prometheus`, or an *exporter service).\nscrape_configs: []\n");
        } else {
            out.push_str("scrape_configs:\n");
            for (job, mut targets) in jobs {
                targets.sort();
                let _ = writeln!(
                    out,
                    "  - job_name: \"{}\"\n    static_configs:",
                    common::safe_text(&job)
                );
                for (t, env, host) in targets {
                    let _ = writeln!(
                        out,
                        "      - targets: [\"{t}\"]\n        labels:\n          environment: \"{env}\"\n          host: \"{host}\""
                    );
                }
            }
        }
        Ok(Rendered {
            text: out,
            warnings,
        })
    }
}
