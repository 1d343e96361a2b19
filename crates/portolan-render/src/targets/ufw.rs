//! `gen ufw`: a shell script of `ufw` commands for one host: reset, default deny incoming,
//! one `ufw allow` per binding and source, then enable (last, so the SSH rule exists first).
//! Outbound: `default allow outgoing`, unless the spec declares outbound flows for the host
//! (the egress rule is in `fw`): then `default deny outgoing` and one `ufw allow out` per
//! flow and destination (DNS included; ufw's before-rules already let out loopback, replies
//! and neighbour discovery).
//!
//! ufw cannot filter ports published by Docker/Podman/`NodePort`: their DNAT happens before
//! ufw's INPUT rules. Such bindings get no `ufw` rule (it would be a lie); the script says so
//! loudly, and `gen` warns on stderr, pointing at `gen iptables` (`DOCKER-USER`) or
//! `gen nftables`, or at narrower publishing (`gen compose`).

use std::fmt::Write as _;

use crate::common;
use crate::fw::{Allow, Plan, Src, the_host};
use crate::{Generator, RenderContext, RenderError, Rendered};

/// The ufw generator.
pub struct Ufw;

fn ufw_ports(a: &Allow) -> String {
    if a.ports.lo == a.ports.hi {
        a.ports.lo.to_string()
    } else {
        format!("{}:{}", a.ports.lo, a.ports.hi)
    }
}

/// `from` arguments for one binding.
fn sources(a: &Allow) -> Vec<String> {
    let mut v = Vec::new();
    if a.daddr.is_none() && a.v4 == Some(Src::Any) && a.v6 == Some(Src::Any) {
        return vec!["any".into()];
    }
    for (src, all) in [(&a.v4, "0.0.0.0/0"), (&a.v6, "::/0")] {
        match src {
            None => {}
            Some(Src::Any) => v.push(all.to_string()),
            Some(Src::Nets(n)) => v.extend(n.iter().map(ToString::to_string)),
        }
    }
    if let Some(d) = a.daddr {
        v.retain(|s| s.contains(':') != d.is_ipv4());
    }
    v
}

/// `ufw allow out` commands for the declared outbound flows.
fn egress(plan: &Plan) -> String {
    let mut out = String::new();
    let mut last = None;
    for o in &plan.outbound.allows {
        if last != Some(&o.label) {
            let _ = writeln!(out, "# {}", o.label);
        }
        last = Some(&o.label);
        let mut to = Vec::new();
        if o.v4 == Some(Src::Any) && o.v6 == Some(Src::Any) {
            to.push("any".to_string());
        } else {
            for (dst, all) in [(&o.v4, "0.0.0.0/0"), (&o.v6, "::/0")] {
                match dst {
                    None => {}
                    Some(Src::Any) => to.push(all.to_string()),
                    Some(Src::Nets(n)) => to.extend(n.iter().map(ToString::to_string)),
                }
            }
        }
        let port = o.ports.map_or_else(String::new, |p| {
            if p.lo == p.hi {
                format!(" port {}", p.lo)
            } else {
                format!(" port {}:{}", p.lo, p.hi)
            }
        });
        for t in to {
            let _ = writeln!(
                out,
                "ufw allow out proto {} to {t}{port} comment '{}'",
                o.transport.as_str(),
                common::safe_text(&o.comment())
            );
        }
    }
    out
}

/// The generators this file defines (collected by `build.rs` into [`crate::generators`]).
pub(crate) const GENERATORS: &[&dyn Generator] = &[&Ufw];

impl Generator for Ufw {
    fn extension(&self) -> &'static str {
        "sh"
    }

    fn name(&self) -> &'static str {
        "ufw"
    }

    fn description(&self) -> &'static str {
        "a shell script of ufw commands for one host (default deny incoming)"
    }

    fn per_host(&self) -> bool {
        true
    }

    fn render(&self, cx: &RenderContext<'_>) -> Result<Rendered, RenderError> {
        let h = the_host(cx, "ufw")?;
        let plan = Plan::of(cx, h);
        let mut warnings = Vec::new();
        let mut rules = String::new();
        let mut published = String::new();
        for a in &plan.allows {
            let proto = a.transport.as_str();
            let what = format!(
                "# {} {}/{proto} — declared: {}",
                a.label, a.ports, a.declared
            );
            if let Some(p) = a.published {
                warnings.push(format!(
                    "{} {}/{proto} is published by {}: ufw cannot filter it; use `portolan gen iptables` (DOCKER-USER) or `portolan gen nftables` for this host, or publish it on a narrower address (`portolan gen compose`)",
                    a.label,
                    a.ports,
                    p.as_str()
                ));
                let _ = writeln!(
                    published,
                    "#   {} {}/{proto} (published by {}) — declared: {}",
                    a.label,
                    a.ports,
                    p.as_str(),
                    a.declared
                );
                continue;
            }
            let _ = writeln!(rules, "{what}");
            let to = a.daddr.map_or_else(|| "any".to_string(), |d| d.to_string());
            for from in sources(a) {
                let _ = writeln!(
                    rules,
                    "ufw allow proto {proto} from {from} to {to} port {} comment '{}'",
                    ufw_ports(a),
                    common::safe_text(&a.label)
                );
            }
        }
        let mut out = String::from("#!/bin/sh\n");
        out.push_str(&common::header(
            cx,
            "#",
            &format!("ufw rules for host `{}`", plan.host),
        ));
        out.push_str("# Run as root. It resets ufw (every existing rule is removed), so the spec is the\n# only source of rules; inbound is denied unless a binding declares it. Declare SSH\n# (port 22) in the spec before running this on a remote machine.\n");
        for n in plan.egress_notes() {
            let _ = writeln!(out, "# {n}");
        }
        let mut fq: Vec<String> = plan.fqdn_warnings("ufw");
        fq.extend(crate::fw::expectation_warnings(cx, h, "ufw", false, None));
        warnings.extend(fq);
        if !published.is_empty() {
            out.push_str("#\n# !!! ufw CANNOT FILTER THE PORTS BELOW. Docker/Podman/NodePort publish them with DNAT\n# !!! before ufw's INPUT rules, so `ufw allow`/`ufw deny` has no effect on them and they\n# !!! are reachable from wherever their bind address is. Instead, on this host:\n# !!!   portolan gen iptables --host HOST > /etc/iptables/rules.v4   (DOCKER-USER chain), or\n# !!!   portolan gen nftables --host HOST                              (forward hook), or\n# !!!   publish them on a narrower address: portolan gen compose --host HOST\n");
            out.push_str(&published);
        }
        out.push_str(&common::warnings_block("#", &warnings));
        let _ = write!(
            out,
            "\nset -eu\n\nufw --force reset\nufw default deny incoming\nufw default {} outgoing\n\n",
            if plan.outbound.filtered() {
                "deny"
            } else {
                "allow"
            }
        );
        for s in &plan.skipped {
            let _ = writeln!(out, "# {s}");
        }
        out.push_str(&rules);
        if plan.outbound.filtered() {
            out.push_str("\n# Outbound: only what the spec declares (see the header). ufw's own rules already let\n# out loopback, replies and IPv6 neighbour discovery.\n");
            out.push_str(&egress(&plan));
        }
        out.push_str("\nufw --force enable\n");
        Ok(Rendered {
            text: out,
            warnings,
        })
    }
}
