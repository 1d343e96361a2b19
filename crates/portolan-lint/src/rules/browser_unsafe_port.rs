//! `browser-unsafe-port`: an HTTP(S) service on a port Chromium or Firefox refuse to open
//! (`ERR_UNSAFE_PORT`), so nobody can use it from a browser.

use portolan_model::knowledge::{app_traits, blocked_in};

use crate::Context;
use crate::finding::Finding;
use crate::rules::{Rule, distinct_defs};

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    for b in distinct_defs(cx.model) {
        let browser = b
            .browser
            .unwrap_or_else(|| app_traits(b.app.as_deref(), b.ports.lo).browser);
        if !browser {
            continue;
        }
        // a range: report the blocked ports in it (at most a few)
        let blocked: Vec<(u16, _)> = blocked_in(b.ports.lo, b.ports.hi).take(6).collect();
        let Some((port, who)) = blocked.first().copied() else {
            continue;
        };
        let browsers = match (who.chromium, who.firefox) {
            (true, true) => "Chromium and Firefox refuse",
            (true, false) => "Chromium refuses",
            _ => "Firefox refuses",
        };
        let ports: Vec<String> = blocked.iter().map(|(p, _)| p.to_string()).collect();
        out.push(
            Finding::new(Rule::BrowserUnsafePort, format!("`{}.{}` serves {} on port {}, which {browsers} to open (ERR_UNSAFE_PORT)", cx.model.service(b.service).name, b.name, b.app.as_deref().unwrap_or("http"), ports.join(", ")))
                .subject(b.qualified_name(cx.model))
                .at(b.port_loc, format!("port {port} is blocked by browsers"))
                .help("move it to a port browsers allow (e.g. 8080-8099), or set `browser = false` if no browser opens it"),
        );
    }
}
