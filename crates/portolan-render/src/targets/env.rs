//! `gen env`: a dotenv file of `SERVICE_BINDING_PORT=…` (upper snake case) so applications and
//! compose files read their ports from the spec instead of repeating them. A range adds
//! `…_PORT_RANGE=LO-HI`. A name whose port differs between instances in scope (another host
//! or environment) is commented out with a warning: narrow with `--env`/`--host`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use portolan_model::PortRange;

use crate::common;
use crate::{Generator, RenderContext, RenderError, Rendered};

/// The dotenv generator.
pub struct Env;

/// `kkt-adapter` → `KKT_ADAPTER`.
pub(crate) fn upper_snake(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The generators this file defines (collected by `build.rs` into [`crate::generators`]).
pub(crate) const GENERATORS: &[&dyn Generator] = &[&Env];

impl Generator for Env {
    fn extension(&self) -> &'static str {
        "env"
    }

    fn name(&self) -> &'static str {
        "env"
    }

    fn description(&self) -> &'static str {
        "a dotenv file of SERVICE_BINDING_PORT=… variables"
    }

    fn render(&self, cx: &RenderContext<'_>) -> Result<Rendered, RenderError> {
        let m = cx.model;
        let mut vars: BTreeMap<String, Vec<PortRange>> = BTreeMap::new();
        for (_, b) in cx.bindings() {
            let mut name = format!(
                "{}_{}_PORT",
                upper_snake(&m.service(b.service).name),
                upper_snake(&b.name)
            );
            if name.starts_with(|c: char| c.is_ascii_digit()) {
                name.insert(0, '_');
            }
            let v = vars.entry(name).or_default();
            if !v.contains(&b.ports) {
                v.push(b.ports);
            }
        }
        let mut warnings = Vec::new();
        let mut body = String::new();
        for (name, ports) in &vars {
            if let [p] = ports.as_slice() {
                let _ = writeln!(body, "{name}={}", p.lo);
                if p.lo != p.hi {
                    let _ = writeln!(body, "{name}_RANGE={p}");
                }
            } else {
                let list: Vec<String> = ports.iter().map(ToString::to_string).collect();
                warnings.push(format!(
                    "{name} differs between hosts/environments ({}); narrow with --env or --host",
                    list.join(", ")
                ));
                let _ = writeln!(body, "# {name}=  (ambiguous: {})", list.join(", "));
            }
        }
        let mut out = common::header(cx, "#", "ports as environment variables");
        out.push_str(&common::warnings_block("#", &warnings));
        out.push_str(&body);
        Ok(Rendered {
            text: out,
            warnings,
        })
    }
}
