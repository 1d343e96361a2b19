//! `gen nftables`: an `nft -f` ruleset for one host, in its own table `inet portolan`.
//!
//! Input chain: policy drop; loopback, replies (`established,related`) and `ICMPv6` neighbour
//! discovery are accepted, invalid packets dropped, then one accept per binding and address
//! family, exactly its declared reach (source CIDRs in named interval sets when there are
//! several). Ports published by Docker/Podman/`NodePort` never reach the input chain (their
//! DNAT happens in prerouting and the packet is forwarded to the container), so they are
//! filtered in a forward-hook chain that runs before Docker's (priority `filter - 1`),
//! matching the destination port the client used (`ct original proto-dst`). Output chain
//! (only when the spec declares outbound flows for the host; see the egress rule in `fw`):
//! policy drop; loopback, replies, invalid, neighbour discovery as above, DNS, then one
//! accept per declared outbound flow and destination family. Name patterns are never
//! resolved: they are widened to any address on their port, with a warning. The file
//! creates, flushes and refills only its own table, so reloading it is idempotent and
//! leaves other tables (Docker's, iptables-nft's) alone.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use portolan_model::{IpNet, IpSet, Model};

use crate::common::{self, ident};
use crate::fw::{Allow, Plan, Src, the_host};
use crate::{Generator, RenderContext, RenderError, Rendered};

/// The nftables generator.
pub struct Nftables;

/// Named sets: CIDR list → name.
struct Sets {
    names: BTreeMap<Vec<IpNet>, String>,
    order: Vec<(String, bool, Vec<IpNet>)>,
}

impl Sets {
    fn name_for(&mut self, m: &Model, nets: &[IpNet], v4: bool, fallback: &str) -> String {
        if let Some(n) = self.names.get(nets) {
            return n.clone();
        }
        let set = IpSet::from_nets(nets);
        let fam = if v4 { "v4" } else { "v6" };
        let base = m
            .networks
            .iter()
            .filter(|n| !n.builtin)
            .find(|n| {
                let part = if v4 { n.set.ipv4() } else { n.set.ipv6() };
                part == set
            })
            .map_or_else(|| ident(fallback), |n| ident(&n.name));
        let mut name = format!("{base}_{fam}");
        let mut k = 2;
        while self.order.iter().any(|(n, _, _)| *n == name) {
            name = format!("{base}_{k}_{fam}");
            k += 1;
        }
        self.names.insert(nets.to_vec(), name.clone());
        self.order.push((name.clone(), v4, nets.to_vec()));
        name
    }
}

/// `ip saddr …` / `ip6 daddr …` / `meta nfproto …` for one family (`dir`: `saddr` or
/// `daddr`; `label` names a new set when no network matches).
fn addr(sets: &mut Sets, m: &Model, label: &str, v4: bool, src: &Src, dir: &str) -> String {
    let (kw, fam) = if v4 { ("ip", "ipv4") } else { ("ip6", "ipv6") };
    match src {
        Src::Any => format!("meta nfproto {fam}"),
        Src::Nets(n) if n.len() == 1 => format!("{kw} {dir} {}", n[0]),
        Src::Nets(n) => format!("{kw} {dir} @{}", sets.name_for(m, n, v4, label)),
    }
}

/// The output chain's rules (empty when egress is not filtered).
fn output(sets: &mut Sets, m: &Model, plan: &Plan) -> String {
    let mut out = String::new();
    let mut last = None;
    for o in &plan.outbound.allows {
        if last != Some(&o.label) {
            let _ = writeln!(out, "        # {}", o.label);
        }
        last = Some(&o.label);
        let proto = o.transport.as_str();
        let what = o.ports.map_or_else(
            || format!("meta l4proto {proto}"),
            |p| format!("{proto} dport {p}"),
        );
        let comment = common::safe_text(&o.comment());
        if o.v4 == Some(Src::Any) && o.v6 == Some(Src::Any) {
            let _ = writeln!(out, "        {what} accept comment \"{comment}\"");
            continue;
        }
        for (v4, dst) in [(true, &o.v4), (false, &o.v6)] {
            let Some(dst) = dst else { continue };
            let to = addr(sets, m, "egress", v4, dst, "daddr");
            let _ = writeln!(out, "        {to} {what} accept comment \"{comment}\"");
        }
    }
    out
}

fn ports(a: &Allow) -> String {
    a.ports.to_string()
}

/// The generators this file defines (collected by `build.rs` into [`crate::generators`]).
pub(crate) const GENERATORS: &[&dyn Generator] = &[&Nftables];

impl Generator for Nftables {
    fn extension(&self) -> &'static str {
        "nft"
    }

    fn name(&self) -> &'static str {
        "nftables"
    }

    fn description(&self) -> &'static str {
        "an `nft -f` ruleset for one host (table inet portolan, default drop, Docker-aware)"
    }

    fn per_host(&self) -> bool {
        true
    }

    fn render(&self, cx: &RenderContext<'_>) -> Result<Rendered, RenderError> {
        let m = cx.model;
        let h = the_host(cx, "nftables")?;
        let plan = Plan::of(cx, h);
        let mut warnings = plan.fqdn_warnings("nftables");
        warnings.extend(crate::fw::expectation_warnings(
            cx, h, "nftables", true, None,
        ));
        let mut sets = Sets {
            names: BTreeMap::new(),
            order: Vec::new(),
        };
        let mut input = String::new();
        let mut forward = String::new();
        for a in &plan.allows {
            let proto = a.transport.as_str();
            let mut lines = Vec::new();
            let both_any = a.daddr.is_none() && a.v4 == Some(Src::Any) && a.v6 == Some(Src::Any);
            for (v4, src) in [(true, &a.v4), (false, &a.v6)] {
                let Some(src) = src else { continue };
                if both_any && !v4 {
                    continue;
                }
                if a.daddr.is_some_and(|d| d.is_ipv4() != v4) {
                    continue;
                }
                let from = if both_any {
                    String::new()
                } else {
                    format!("{} ", addr(&mut sets, m, &a.label, v4, src, "saddr"))
                };
                lines.push(from);
            }
            let comment = format!("comment \"{}\"", common::safe_text(&a.label));
            let what = format!(
                "    # {} {}/{proto} — declared: {}",
                a.label, a.ports, a.declared
            );
            match a.published {
                None => {
                    let _ = writeln!(input, "{what}");
                    let daddr = a.daddr.map_or_else(String::new, |d| {
                        format!("{} daddr {d} ", if d.is_ipv4() { "ip" } else { "ip6" })
                    });
                    for from in lines {
                        let _ = writeln!(
                            input,
                            "    {from}{daddr}{proto} dport {} accept {comment}",
                            ports(a)
                        );
                    }
                }
                Some(p) => {
                    let _ = writeln!(
                        forward,
                        "{what} (published by {}{})",
                        p.as_str(),
                        a.target
                            .map_or_else(String::new, |t| format!(" → container port {t}"))
                    );
                    let daddr = a.daddr.map_or_else(String::new, |d| {
                        format!(
                            "ct original {} daddr {d} ",
                            if d.is_ipv4() { "ip" } else { "ip6" }
                        )
                    });
                    let m4 = format!(
                        "ct status dnat meta l4proto {proto} {daddr}ct original proto-dst {}",
                        ports(a)
                    );
                    for from in &lines {
                        let _ = writeln!(forward, "    {m4} {from}accept {comment}");
                    }
                    if !both_any {
                        let _ = writeln!(
                            forward,
                            "    {m4} drop comment \"{}: other sources\"",
                            common::safe_text(&a.label)
                        );
                    }
                }
            }
        }
        let egress = output(&mut sets, m, &plan);
        let mut out = common::header(
            cx,
            "#",
            &format!("nftables ruleset for host `{}`", plan.host),
        );
        out.push_str("# Load: nft -f THIS_FILE (replaces only table inet portolan).\n");
        out.push_str("# Inbound is denied unless a binding of the spec declares it. Declare SSH (port 22)\n# in the spec before loading this on a remote machine, or you will lock yourself out.\n");
        for n in plan.egress_notes() {
            let _ = writeln!(out, "# {n}");
        }
        out.push_str(&common::warnings_block("#", &warnings));
        out.push('\n');
        out.push_str("table inet portolan\ndelete table inet portolan\n\ntable inet portolan {\n");
        for (name, v4, nets) in &sets.order {
            let _ = writeln!(out, "    set {name} {{");
            let _ = writeln!(
                out,
                "        type {}\n        flags interval",
                if *v4 { "ipv4_addr" } else { "ipv6_addr" }
            );
            let _ = writeln!(
                out,
                "        elements = {{ {} }}\n    }}\n",
                nets.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        out.push_str(
            "    chain input {\n        type filter hook input priority filter; policy drop;\n",
        );
        out.push_str("        iif \"lo\" accept\n        ct state established,related accept\n        ct state invalid drop\n");
        out.push_str("        icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } accept comment \"IPv6 needs neighbour discovery\"\n");
        for s in &plan.skipped {
            let _ = writeln!(out, "        # {s}");
        }
        for l in input.lines() {
            let _ = writeln!(out, "    {l}");
        }
        out.push_str("    }\n");
        if !forward.is_empty() {
            out.push_str("\n    # Ports published by Docker/Podman/NodePort are DNATed in prerouting and forwarded\n    # to the container: they never reach the input chain above (nor ufw, nor iptables\n    # INPUT). They are filtered here, on the forward hook, before Docker's own chains\n    # (priority filter - 1), by the destination port the client connected to. A drop\n    # here is final; an accept still passes Docker's chains. This is nftables' DOCKER-USER.\n");
            out.push_str("    chain forward {\n        type filter hook forward priority filter - 1; policy accept;\n        ct state established,related accept\n");
            for l in forward.lines() {
                let _ = writeln!(out, "    {l}");
            }
            out.push_str("    }\n");
        }
        if plan.outbound.filtered() {
            out.push_str("\n    # Outbound: only what the spec declares (see the header). Traffic forwarded for\n    # containers does not pass this chain.\n");
            out.push_str("    chain output {\n        type filter hook output priority filter; policy drop;\n");
            out.push_str("        oif \"lo\" accept\n        ct state established,related accept\n        ct state invalid drop\n");
            out.push_str("        icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } accept comment \"IPv6 needs neighbour discovery\"\n");
            out.push_str(&egress);
            out.push_str("    }\n");
        }
        out.push_str("}\n");
        Ok(Rendered {
            text: out,
            warnings,
        })
    }
}
