//! `public-without-tls`: a binding reachable from the public Internet in cleartext — not
//! TLS itself (`tls = "native"` or an encrypted protocol), not a redirect, not a protocol
//! that is cleartext by nature (DNS, NTP). A service behind a TLS proxy is fine through the
//! proxy, but not when it is also directly reachable.

use portolan_model::Tls;
use portolan_model::knowledge::app_traits;

use crate::Context;
use crate::finding::Finding;
use crate::rules::{Rule, listens, socket, where_};

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let model = cx.model;
    for (i, b) in model.bindings.iter().enumerate() {
        let r = &cx.analysis.reach[i];
        if !listens(b) || b.redirect || b.tls == Tls::Native || !r.direct.is_public() {
            continue;
        }
        let traits = app_traits(b.app.as_deref(), b.ports.lo);
        if traits.encrypted || traits.public_cleartext_ok {
            continue;
        }
        let app = b.app.as_deref().unwrap_or("an unencrypted protocol");
        let mut f = Finding::new(
            Rule::PublicWithoutTls,
            format!(
                "{} serves {app} in cleartext on {} and is reachable from {}",
                where_(model, b),
                socket(b),
                r.direct.describe(model)
            ),
        )
        .subject(b.qualified_name(model))
        .at(
            b.tls_loc.unwrap_or(b.port_loc),
            if b.tls == Tls::Proxy {
                "`tls = \"proxy\"`, but reachable without the proxy"
            } else {
                "no TLS"
            },
        );
        if let Some(l) = b.bind_loc {
            f = f.at(l, format!("bound to {}", b.bind));
        }
        for w in cx.analysis.explain(model, i) {
            f = f.note(w);
        }
        let help = if b.tls == Tls::Proxy {
            "the TLS proxy can be bypassed: bind the service to 127.0.0.1 (or firewall it) so only the proxy reaches it"
        } else {
            "terminate TLS (`tls = \"native\"`), or put it behind a TLS proxy route and bind it to 127.0.0.1"
        };
        out.push(f.help(help));
    }
}
