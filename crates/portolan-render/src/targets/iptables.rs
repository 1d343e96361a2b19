//! `gen iptables` and `gen ip6tables`: `iptables-restore` / `ip6tables-restore` files for one
//! host (one generator per address family; they share everything but the family).
//!
//! INPUT: policy DROP; loopback, replies (conntrack `ESTABLISHED,RELATED`) and, for IPv6,
//! neighbour discovery are accepted, `INVALID` dropped, then one ACCEPT per binding and source
//! CIDR, exactly its declared reach. Ports published by Docker/Podman/`NodePort` skip INPUT
//! (DNAT in PREROUTING, then FORWARD), so they are filtered in `DOCKER-USER`, which Docker
//! jumps to first from FORWARD and never touches: RETURN for declared sources, DROP for the
//! rest, matched on the destination port the client used (`--ctorigdstport`).
//!
//! OUTPUT: policy ACCEPT, unless the spec declares outbound flows for the host (the egress
//! rule is in `fw`): then policy DROP; loopback, replies, `INVALID` and neighbour discovery
//! as for INPUT, DNS, and one ACCEPT per declared outbound flow and destination CIDR of the
//! family. Name patterns are never resolved: widened to any address on their port, with a
//! warning.

use std::fmt::Write as _;

use crate::common;
use crate::fw::{Allow, Plan, Src, the_host};
use crate::{Generator, RenderContext, RenderError, Rendered};

/// The IPv4 generator (`iptables-restore`).
pub struct Iptables;

/// The IPv6 generator (`ip6tables-restore`).
pub struct Ip6tables;

fn ipt_ports(a: &Allow) -> String {
    if a.ports.lo == a.ports.hi {
        a.ports.lo.to_string()
    } else {
        format!("{}:{}", a.ports.lo, a.ports.hi)
    }
}

/// The OUTPUT chain's rules for family `v4`.
fn output(out: &mut String, plan: &Plan, v4: bool) {
    out.push_str("-A OUTPUT -o lo -j ACCEPT\n-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n-A OUTPUT -m conntrack --ctstate INVALID -j DROP\n");
    if !v4 {
        for t in ND {
            let _ = writeln!(
                out,
                "-A OUTPUT -p ipv6-icmp -m icmp6 --icmpv6-type {t} -m comment --comment \"IPv6 needs neighbour discovery\" -j ACCEPT"
            );
        }
    }
    let mut last = None;
    for o in &plan.outbound.allows {
        let Some(dst) = (if v4 { &o.v4 } else { &o.v6 }) else {
            continue;
        };
        if last != Some(&o.label) {
            let _ = writeln!(out, "# {}", o.label);
        }
        last = Some(&o.label);
        let proto = o.transport.as_str();
        let port = o.ports.map_or_else(String::new, |p| {
            if p.lo == p.hi {
                format!(" -m {proto} --dport {}", p.lo)
            } else {
                format!(" -m {proto} --dport {}:{}", p.lo, p.hi)
            }
        });
        let comment = common::safe_text(&o.comment());
        let dests: Vec<String> = match dst {
            Src::Any => vec![String::new()],
            Src::Nets(n) => n.iter().map(|n| format!(" -d {n}")).collect(),
        };
        for d in dests {
            let _ = writeln!(
                out,
                "-A OUTPUT -p {proto}{d}{port} -m comment --comment \"{comment}\" -j ACCEPT"
            );
        }
    }
}

/// `ICMPv6` neighbour discovery types.
const ND: [&str; 4] = [
    "neighbour-solicitation",
    "neighbour-advertisement",
    "router-solicitation",
    "router-advertisement",
];

fn render(cx: &RenderContext<'_>, v4: bool) -> Result<Rendered, RenderError> {
    let target = if v4 { "iptables" } else { "ip6tables" };
    let h = the_host(cx, target)?;
    let plan = Plan::of(cx, h);
    let mut warnings = plan.fqdn_warnings(target);
    warnings.extend(crate::fw::expectation_warnings(
        cx,
        h,
        target,
        true,
        Some(if v4 {
            portolan_lint::trace::AddrFamily::V4
        } else {
            portolan_lint::trace::AddrFamily::V6
        }),
    ));
    let mut input = String::new();
    let mut docker = String::new();
    for a in &plan.allows {
        if a.daddr.is_some_and(|d| d.is_ipv4() != v4) {
            continue;
        }
        let Some(src) = (if v4 { &a.v4 } else { &a.v6 }) else {
            continue;
        };
        let sources: Vec<String> = match src {
            Src::Any => vec![String::new()],
            Src::Nets(n) => n.iter().map(|n| format!(" -s {n}")).collect(),
        };
        let proto = a.transport.as_str();
        let comment = format!(" -m comment --comment \"{}\"", common::safe_text(&a.label));
        let what = format!(
            "# {} {}/{proto} — declared: {}",
            a.label, a.ports, a.declared
        );
        match a.published {
            None => {
                let _ = writeln!(input, "{what}");
                let d = a.daddr.map_or_else(String::new, |d| format!(" -d {d}"));
                for s in sources {
                    let _ = writeln!(
                        input,
                        "-A INPUT -p {proto}{s}{d} -m {proto} --dport {}{comment} -j ACCEPT",
                        ipt_ports(a)
                    );
                }
            }
            Some(p) => {
                let _ = writeln!(
                    docker,
                    "{what} (published by {}{})",
                    p.as_str(),
                    a.target
                        .map_or_else(String::new, |t| format!(" → container port {t}"))
                );
                let d = a
                    .daddr
                    .map_or_else(String::new, |d| format!(" --ctorigdst {d}"));
                let m = format!(
                    "-A DOCKER-USER -p {proto} -m conntrack --ctstate DNAT{d} --ctorigdstport {}",
                    ipt_ports(a)
                );
                let any = *src == Src::Any;
                for s in sources {
                    let _ = writeln!(docker, "{m}{s}{comment} -j RETURN");
                }
                if !any {
                    let _ = writeln!(
                        docker,
                        "{m} -m comment --comment \"{}: other sources\" -j DROP",
                        common::safe_text(&a.label)
                    );
                }
            }
        }
    }
    let mut out = common::header(
        cx,
        "#",
        &format!(
            "{target}-restore rules ({}) for host `{}`",
            if v4 { "IPv4" } else { "IPv6" },
            plan.host
        ),
    );
    let _ = writeln!(
        out,
        "# Load: {target}-restore < THIS_FILE (replaces the filter table). On a Docker host,\n# restart Docker afterwards (`systemctl restart docker`) so it re-creates its chains; it\n# keeps DOCKER-USER as written here. Persist with iptables-persistent\n# (/etc/iptables/rules.{}).",
        if v4 { "v4" } else { "v6" }
    );
    out.push_str("# Inbound is denied unless a binding of the spec declares it. Declare SSH (port 22)\n# in the spec before loading this on a remote machine, or you will lock yourself out.\n");
    for n in plan.egress_notes() {
        let _ = writeln!(out, "# {n}");
    }
    out.push_str(&common::warnings_block("#", &warnings));
    let filtered = plan.outbound.filtered();
    let _ = writeln!(
        out,
        "*filter\n:INPUT DROP [0:0]\n:OUTPUT {} [0:0]",
        if filtered { "DROP" } else { "ACCEPT" }
    );
    if !docker.is_empty() {
        out.push_str(":DOCKER-USER - [0:0]\n");
    }
    out.push_str("-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n-A INPUT -m conntrack --ctstate INVALID -j DROP\n");
    if !v4 {
        for t in ND {
            let _ = writeln!(
                out,
                "-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type {t} -m comment --comment \"IPv6 needs neighbour discovery\" -j ACCEPT"
            );
        }
    }
    for s in &plan.skipped {
        let _ = writeln!(out, "# {s}");
    }
    out.push_str(&input);
    if !docker.is_empty() {
        out.push_str("# Ports published by Docker/Podman/NodePort are DNATed in PREROUTING and forwarded to\n# the container: they never pass INPUT (nor ufw). Docker jumps from FORWARD to\n# DOCKER-USER before its own rules and never rewrites it, so they are filtered here, by\n# the destination port the client connected to. RETURN hands the packet on to Docker.\n");
        out.push_str("-A DOCKER-USER -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN\n");
        out.push_str(&docker);
        out.push_str("-A DOCKER-USER -j RETURN\n");
    }
    if filtered {
        out.push_str("# Outbound: only what the spec declares (see the header). Traffic forwarded for\n# containers does not pass OUTPUT.\n");
        output(&mut out, &plan, v4);
    }
    out.push_str("COMMIT\n");
    Ok(Rendered {
        text: out,
        warnings,
    })
}

/// The generators this file defines (collected by `build.rs` into [`crate::generators`]).
pub(crate) const GENERATORS: &[&dyn Generator] = &[&Iptables, &Ip6tables];

impl Generator for Iptables {
    fn extension(&self) -> &'static str {
        "rules"
    }

    fn name(&self) -> &'static str {
        "iptables"
    }

    fn description(&self) -> &'static str {
        "an iptables-restore file (IPv4) for one host, default drop, Docker-published ports in DOCKER-USER"
    }

    fn per_host(&self) -> bool {
        true
    }

    fn render(&self, cx: &RenderContext<'_>) -> Result<Rendered, RenderError> {
        render(cx, true)
    }
}

impl Generator for Ip6tables {
    fn extension(&self) -> &'static str {
        "rules"
    }

    fn name(&self) -> &'static str {
        "ip6tables"
    }

    fn description(&self) -> &'static str {
        "an ip6tables-restore file (IPv6) for one host, same rules as `iptables`"
    }

    fn per_host(&self) -> bool {
        true
    }

    fn render(&self, cx: &RenderContext<'_>) -> Result<Rendered, RenderError> {
        render(cx, false)
    }
}
