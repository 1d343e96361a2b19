//! `privileged-port`: a port below 1024 (needs root or `CAP_NET_BIND_SERVICE`) for a
//! service that does not say `privileged = true`.

use crate::Context;
use crate::finding::Finding;
use crate::rules::{Rule, distinct_defs};

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    for b in distinct_defs(cx.model) {
        let s = cx.model.service(b.service);
        if b.ports.lo >= 1024 || s.privileged {
            continue;
        }
        out.push(
            Finding::new(
                Rule::PrivilegedPort,
                format!(
                    "`{}.{}` binds port {} (below 1024), which needs root or CAP_NET_BIND_SERVICE",
                    s.name, b.name, b.ports
                ),
            )
            .subject(format!("{}.{}", s.name, b.name))
            .at(b.port_loc, "privileged port")
            .help(format!(
                "declare `privileged = true` on service `{}` if this is intended",
                s.name
            )),
        );
    }
}
