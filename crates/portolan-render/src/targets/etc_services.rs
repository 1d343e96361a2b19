//! `gen etc-services`: `/etc/services` lines (`name port/proto # purpose`) for the bindings in
//! scope, named `service-binding`. An instance whose port differs from an earlier one of the
//! same name (another host or environment) is written as a comment with a warning, since
//! `/etc/services` maps a name to one port per protocol. A port range is listed port by port
//! up to 64 ports; a longer range is written as a comment only.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use portolan_model::PortRange;

use crate::common;
use crate::{Generator, RenderContext, RenderError, Rendered};

/// The `/etc/services` generator.
pub struct EtcServices;

/// The generators this file defines (collected by `build.rs` into [`crate::generators`]).
pub(crate) const GENERATORS: &[&dyn Generator] = &[&EtcServices];

impl Generator for EtcServices {
    fn extension(&self) -> &'static str {
        "txt"
    }

    fn name(&self) -> &'static str {
        "etc-services"
    }

    fn description(&self) -> &'static str {
        "/etc/services entries for the declared bindings"
    }

    fn render(&self, cx: &RenderContext<'_>) -> Result<Rendered, RenderError> {
        let m = cx.model;
        let mut warnings = Vec::new();
        // (name, transport) → (ports, purpose)
        let mut seen: BTreeMap<(String, &str), (PortRange, String)> = BTreeMap::new();
        for (_, b) in cx.bindings() {
            let name = format!("{}-{}", m.service(b.service).name, b.name);
            let key = (name.clone(), b.transport.as_str());
            let purpose = b
                .purpose
                .clone()
                .or_else(|| m.service(b.service).purpose.clone())
                .unwrap_or_default();
            match seen.get(&key) {
                Some((p, _)) if *p == b.ports => {}
                Some((p, _)) => warnings.push(format!(
                    "{name}/{}: port {} on host `{}` differs from {p} elsewhere; /etc/services holds one port per name (narrow with --env/--host)",
                    b.transport.as_str(),
                    b.ports,
                    m.host(b.host).name
                )),
                None => {
                    seen.insert(key, (b.ports, common::safe_text(&purpose)));
                }
            }
        }
        let mut rows: Vec<(u16, u16, &str, &String, &String)> = seen
            .iter()
            .map(|((n, t), (p, pu))| (p.lo, p.hi, *t, n, pu))
            .collect();
        rows.sort();
        warnings.sort();
        warnings.dedup();
        let mut out = common::header(cx, "#", "/etc/services entries");
        out.push_str(&common::warnings_block("#", &warnings));
        for (lo, hi, t, n, pu) in rows {
            let note = if pu.is_empty() {
                String::new()
            } else {
                format!("  # {pu}")
            };
            if hi - lo >= 64 {
                let _ = writeln!(
                    out,
                    "# {n:<31} {lo}-{hi}/{t} (range too long to list){note}"
                );
                continue;
            }
            for p in lo..=hi {
                let _ = writeln!(out, "{n:<32} {:<12}{note}", format!("{p}/{t}"));
            }
        }
        Ok(Rendered {
            text: out,
            warnings,
        })
    }
}
