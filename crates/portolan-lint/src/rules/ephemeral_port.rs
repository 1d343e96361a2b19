//! `ephemeral-port`: a fixed binding inside the host's ephemeral (client) port range, where
//! the kernel may already have handed the port to an outgoing connection.

use crate::Context;
use crate::finding::Finding;
use crate::rules::{Rule, where_};

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    for b in &cx.model.bindings {
        let host = cx.model.host(b.host);
        let Some(overlap) = b.ports.intersect(&host.ephemeral) else {
            continue;
        };
        let mut f = Finding::new(
            Rule::EphemeralPort,
            format!("{} binds {} inside host `{}`'s ephemeral range {}", where_(cx.model, b), overlap, host.name, host.ephemeral),
        )
        .subject(b.qualified_name(cx.model))
        .at(b.port_loc, "inside the ephemeral range")
        .help("outgoing connections may already hold the port: pick one below the range, or shrink the range (net.ipv4.ip_local_port_range / ip_local_reserved_ports) and set `ephemeral` on the host");
        if let Some(l) = host.ephemeral_loc {
            f = f.at(l, "ephemeral range set here");
        }
        out.push(f);
    }
}
