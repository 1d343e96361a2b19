//! `public-without-tls`: a binding reachable from the public Internet in cleartext — not
//! TLS itself (`tls = "native"` or an encrypted protocol), not a redirect, not a protocol
//! that is cleartext by nature (DNS, NTP). A service behind a TLS proxy is fine through the
//! proxy, but not when it is also directly reachable.

use portolan_model::knowledge::{AppTraits, app_traits};
use portolan_model::{Publisher, Tls};

use crate::Context;
use crate::finding::Finding;
use crate::rules::{Rule, listens, socket, where_};

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let model = cx.model;
    for (id, b) in model.binding_ids() {
        let r = cx.analysis.of(id);
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
        for w in cx.analysis.explain(model, id) {
            f = f.note(w);
        }
        out.push(f.help(help(b, traits)));
    }
}

/// The fix that fits the app: a database or a cache is not for the Internet at all (an
/// HTTP proxy cannot front its protocol), a web app gets TLS, anything else TLS in the
/// server or a narrower reach.
fn help(b: &portolan_model::Binding, traits: AppTraits) -> String {
    use portolan_model::knowledge::PortCategory as C;
    let app = b
        .app
        .as_deref()
        .or_else(|| portolan_model::knowledge::primary_use(b.ports.lo).map(|w| w.name))
        .unwrap_or("database");
    let loopback = match b.publisher {
        Publisher::Docker | Publisher::Podman => {
            let target = b.target.map_or(b.ports.lo, |t| t.lo);
            format!(
                "publish it on loopback (`\"127.0.0.1:{}:{target}\"`, `bind = \"127.0.0.1\"`)",
                b.ports.lo
            )
        }
        _ => "bind it to 127.0.0.1 (`bind = \"127.0.0.1\"`)".to_string(),
    };
    if b.tls == Tls::Proxy {
        return format!(
            "the TLS proxy can be bypassed: {loopback} (or firewall it) so only the proxy reaches it"
        );
    }
    match traits.category {
        Some(C::Database | C::Cache | C::Queue) if !traits.browser => format!(
            "a {app} server does not belong on the Internet: {loopback}, or on a private address, and let other hosts reach it over a private network or a VPN (with its own TLS, `tls = \"native\"`, if that network is not trusted)"
        ),
        Some(C::Metrics | C::Admin) => format!(
            "{loopback} or a private address and reach it over a VPN; if it must be public, put it behind a TLS proxy route that authenticates"
        ),
        _ if traits.browser => format!(
            "terminate TLS (`tls = \"native\"`), or put it behind a TLS proxy route and {loopback}"
        ),
        _ => format!(
            "enable TLS in the server (`tls = \"native\"`), or narrow its reach: {loopback} or a private address"
        ),
    }
}
