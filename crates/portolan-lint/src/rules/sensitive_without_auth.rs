//! `sensitive-without-auth`: a database, cache, broker, metrics or admin endpoint reachable
//! from beyond the host without `auth = true`.

use portolan_model::knowledge::app_traits;

use crate::Context;
use crate::finding::Finding;
use crate::rules::{Rule, listens, where_};

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let model = cx.model;
    for (i, b) in model.bindings.iter().enumerate() {
        let r = &cx.analysis.reach[i];
        if !listens(b) || b.auth == Some(true) || !r.total.is_remote() {
            continue;
        }
        let sensitive = b
            .sensitive
            .unwrap_or_else(|| app_traits(b.app.as_deref(), b.ports.lo).sensitive);
        if !sensitive {
            continue;
        }
        let what = b
            .app
            .clone()
            .or_else(|| {
                portolan_model::knowledge::primary_use(b.ports.lo).map(|w| w.name.to_string())
            })
            .unwrap_or_else(|| "sensitive".into());
        let declared = if b.auth == Some(false) {
            "`auth = false`"
        } else {
            "no `auth` declared"
        };
        let at = b.auth_loc.unwrap_or(b.port_loc);
        out.push(
            Finding::new(Rule::SensitiveWithoutAuth, format!("{} ({what}) is reachable from {} with {declared}", where_(model, b), r.total.describe(model)))
                .subject(b.qualified_name(model))
                .at(at, declared.trim_matches('`').to_string())
                .help("require authentication and declare `auth = true`, or narrow its reach to localhost"),
        );
    }
}
