//! The evaluator: which source addresses a [`Ruleset`] lets open a connection to one port.
//!
//! A new connection to a host port walks the base chains of its hook — `input` for the host's
//! own listeners, `forward` for ports Docker/Podman publish (their DNAT happens before, so
//! conntrack marks them `DNAT` and `ct original proto-dst` / `--ctorigdstport` still sees the
//! host port while `dport` sees the container port). In each chain the first matching rule
//! decides; `jump` comes back on `return` or at the chain's end, `goto` does not; the base
//! chain's policy takes what is left. Several base chains on one hook (nftables tables, or
//! IPv4 and IPv6 iptables tables) must each let a packet through; a chain only sees its own
//! address family. Everything is computed on address sets at once, so the answer is exact
//! for what the rules say, not sampled.
//!
//! Where the model cannot know (an interface other than `lo`, a destination address when the
//! binding listens on every address, an unmodelled match), a rule is read so the result errs
//! towards "reachable": rules that let traffic in are assumed to match, rules that drop or
//! return are assumed not to. Each decision keeps the rule's line so findings can name it.

use std::net::IpAddr;

use portolan_model::{IpSet, Transport};

use crate::index::RuleIndex;
use crate::{FwRule, Hook, Ruleset, Verdict};

/// Jumps deeper than this are not followed (their traffic is assumed accepted).
pub const MAX_DEPTH: usize = 32;

/// One new connection, minus its source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet {
    /// Which path it takes.
    pub hook: Hook,
    /// TCP or UDP.
    pub transport: Transport,
    /// Destination port as the filter sees it (for a published port in the forward path:
    /// the container port).
    pub port: u16,
    /// Destination port before DNAT (the host port).
    pub orig_port: u16,
    /// Destination address, when the binding listens on one.
    pub dest: Option<IpAddr>,
}

/// What happened to some sources, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The sources this decision applies to.
    pub sources: IpSet,
    /// Let in (`true`) or dropped.
    pub accepted: bool,
    /// Dump line of the rule or the chain policy.
    pub line: usize,
    /// Chain name.
    pub chain: String,
    /// A chain policy rather than a rule.
    pub policy: bool,
    /// `RETURN`ed to the caller (the final decision is made further on).
    pub returned: bool,
    /// The rule's comment.
    pub comment: Option<String>,
    /// What the reading of this rule assumed.
    pub assumed: Vec<String>,
}

/// The result for one packet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Sources let in (within the families the dump covers).
    pub accepted: IpSet,
    /// Every rule or policy that decided about some sources, in evaluation order.
    pub decisions: Vec<Decision>,
}

struct Flow {
    accepted: IpSet,
    returned: IpSet,
}

/// Which sources `rs` lets through for `p` (indexes `rs` first: to evaluate many packets,
/// build an [`Evaluator`] once).
pub fn evaluate(rs: &Ruleset, p: &Packet) -> Outcome {
    Evaluator::new(rs).evaluate(p)
}

/// A ruleset with its [`RuleIndex`]: evaluates packets against the rules that can match
/// their port only.
#[derive(Debug)]
pub struct Evaluator<'a> {
    rs: &'a Ruleset,
    index: RuleIndex,
}

impl<'a> Evaluator<'a> {
    /// Indexes `rs`.
    pub fn new(rs: &'a Ruleset) -> Self {
        Evaluator {
            rs,
            index: RuleIndex::new(rs),
        }
    }

    /// Without the port index: every rule is tried (the reference the index is tested
    /// against).
    pub fn unindexed(rs: &'a Ruleset) -> Self {
        Evaluator {
            rs,
            index: RuleIndex::unindexed(rs),
        }
    }

    /// The ruleset.
    pub fn ruleset(&self) -> &'a Ruleset {
        self.rs
    }

    /// Its index.
    pub fn index(&self) -> &RuleIndex {
        &self.index
    }

    /// Which sources the ruleset lets through for `p`.
    pub fn evaluate(&self, p: &Packet) -> Outcome {
        let rs = self.rs;
        let universe = rs.covered.clone();
        let mut out = Outcome {
            accepted: universe.clone(),
            decisions: Vec::new(),
        };
        let mut bases: Vec<usize> = (0..rs.chains.len())
            .filter(|k| rs.chains[*k].hook == Some(p.hook))
            .collect();
        bases.sort_by_key(|k| rs.chains[*k].priority);
        for k in bases {
            let c = &rs.chains[k];
            let seen = c.scope.intersection(&universe);
            let flow = self.walk(k, seen.clone(), p, 0, &mut out.decisions);
            let mut accepted = flow.accepted;
            let rest = flow.returned;
            if !rest.is_empty() {
                let (v, line) = c.policy.clone().unwrap_or((Verdict::Accept, c.line));
                let ok = v == Verdict::Accept;
                if ok {
                    accepted = accepted.union(&rest);
                }
                out.decisions.push(Decision {
                    sources: rest,
                    accepted: ok,
                    line,
                    chain: c.name.clone(),
                    policy: true,
                    returned: false,
                    comment: None,
                    assumed: Vec::new(),
                });
            }
            // other families pass this chain untouched
            let passes = accepted.union(&universe.difference(&seen));
            out.accepted = out.accepted.intersection(&passes);
        }
        out
    }

    fn walk(
        &self,
        ck: usize,
        seen: IpSet,
        p: &Packet,
        depth: usize,
        decisions: &mut Vec<Decision>,
    ) -> Flow {
        let c = &self.rs.chains[ck];
        let mut remaining = seen;
        let mut accepted = IpSet::empty();
        let mut returned = IpSet::empty();
        for pos in self.index.candidates(ck, p.port, p.orig_port) {
            let r = &c.rules[pos];
            if remaining.is_empty() {
                break;
            }
            let lets_in = matches!(
                r.verdict,
                Verdict::Accept | Verdict::Jump(_) | Verdict::Goto(_)
            );
            let mut assumed = Vec::new();
            if matches!(r.verdict, Verdict::Continue) || !matches(r, p, lets_in, &mut assumed) {
                continue;
            }
            let matched = match &r.source {
                None => remaining.clone(),
                Some(s) => remaining.intersection(s),
            };
            if matched.is_empty() {
                continue;
            }
            let mut record = |sources: IpSet, ok: bool, ret: bool, assumed: Vec<String>| {
                decisions.push(Decision {
                    sources,
                    accepted: ok,
                    line: r.line,
                    chain: c.name.clone(),
                    policy: false,
                    returned: ret,
                    comment: r.comment.clone(),
                    assumed,
                });
            };
            remaining = remaining.difference(&matched);
            match &r.verdict {
                Verdict::Accept => {
                    accepted = accepted.union(&matched);
                    record(matched, true, false, assumed);
                }
                Verdict::Drop => record(matched, false, false, assumed),
                Verdict::Return => {
                    returned = returned.union(&matched);
                    record(matched, true, true, assumed);
                }
                Verdict::Jump(t) | Verdict::Goto(t) => match self.index.chain(c.group, t) {
                    Some(target) if depth < MAX_DEPTH => {
                        let sub = self.walk(target, matched, p, depth + 1, decisions);
                        accepted = accepted.union(&sub.accepted);
                        if matches!(r.verdict, Verdict::Jump(_)) {
                            remaining = remaining.union(&sub.returned);
                        } else {
                            returned = returned.union(&sub.returned);
                        }
                    }
                    Some(_) => {
                        accepted = accepted.union(&matched);
                        assumed.push(format!(
                            "jumps nest deeper than {MAX_DEPTH}: assumed to accept"
                        ));
                        record(matched, true, false, assumed);
                    }
                    None => {
                        // not a chain of this table: a target without a verdict
                        remaining = remaining.union(&matched);
                    }
                },
                Verdict::Continue => remaining = remaining.union(&matched),
            }
        }
        Flow {
            accepted,
            returned: returned.union(&remaining),
        }
    }
}

/// Whether `r` can match `p` (sources aside); `lets_in` tells the direction to err in.
fn matches(r: &FwRule, p: &Packet, lets_in: bool, assumed: &mut Vec<String>) -> bool {
    if r.other_protocol.is_some() || r.transport.is_some_and(|t| t != p.transport) {
        return false;
    }
    if let Some(d) = &r.dports
        && !d.contains(p.port)
    {
        return false;
    }
    if let Some(d) = &r.orig_dports
        && !d.contains(p.orig_port)
    {
        return false;
    }
    if !r.ct_states.is_empty() {
        let dnat = p.hook == Hook::Forward;
        if !r
            .ct_states
            .iter()
            .any(|s| s == "NEW" || (dnat && s == "DNAT"))
        {
            return false;
        }
    }
    if let Some(i) = &r.in_iface {
        if i.loopback_only() {
            return false;
        }
        if !i.all_remote() {
            let neg = if i.negated { "not " } else { "" };
            assumed.push(format!(
                "interface {neg}{}: assumed to carry every source",
                i.names.join(", ")
            ));
            if !lets_in {
                return false;
            }
        }
    }
    if let Some(d) = &r.destination {
        match p.dest {
            Some(ip) if !ip.is_unspecified() => {
                if !d.contains(ip) {
                    return false;
                }
            }
            _ => {
                assumed.push("destination address: assumed to be this binding's".into());
                if !lets_in {
                    return false;
                }
            }
        }
    }
    assumed.extend(
        r.unmodelled
            .iter()
            .map(|u| format!("`{u}` read as always matching")),
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{fixture, set};
    use crate::{all_v4, all_v6, iptables, nft, ufw};

    fn input(port: u16) -> Packet {
        Packet {
            hook: Hook::Input,
            transport: Transport::Tcp,
            port,
            orig_port: port,
            dest: None,
        }
    }

    fn forward(port: u16) -> Packet {
        Packet {
            hook: Hook::Forward,
            ..input(port)
        }
    }

    #[test]
    fn input_chain_first_match_and_policy() {
        for f in [
            "opticserp-port-reference-dev.nft",
            "opticserp-port-reference-dev.iptables-save",
        ] {
            let text = fixture(f);
            let rs = if std::path::Path::new(f)
                .extension()
                .is_some_and(|x| x == "nft")
            {
                nft::parse(&text)
            } else {
                iptables::parse(&text)
            }
            .unwrap();
            let o = evaluate(&rs, &input(22));
            assert_eq!(o.accepted, set(&["10.8.0.0/24"]), "{f}");
            let d = o.decisions.iter().find(|d| d.accepted).unwrap();
            assert_eq!(d.comment.as_deref(), Some("ssh.ssh"), "{f}");
            assert!(o.decisions.iter().any(|d| d.policy && !d.accepted), "{f}");
            assert!(evaluate(&rs, &input(23)).accepted.is_empty(), "{f}");
            // udp/22 is not let in
            let udp = Packet {
                transport: Transport::Udp,
                ..input(22)
            };
            assert!(evaluate(&rs, &udp).accepted.is_empty(), "{f}");
        }
    }

    #[test]
    fn published_ports_take_the_forward_path() {
        let nft = nft::parse(&fixture("opticserp-port-reference-dev.nft")).unwrap();
        let ipt = iptables::parse(&fixture("opticserp-port-reference-dev.iptables-save")).unwrap();
        let lan = set(&["192.168.1.0/24", "192.168.10.0/24"]);
        assert_eq!(evaluate(&nft, &forward(8000)).accepted, lan);
        assert_eq!(evaluate(&ipt, &forward(8000)).accepted, lan);
        assert_eq!(evaluate(&nft, &forward(8069)).accepted, all_v4());
        assert_eq!(evaluate(&ipt, &forward(8069)).accepted, all_v4());
        // the INPUT chain would have dropped them
        assert!(evaluate(&ipt, &input(8069)).accepted.is_empty());
        // an unfiltered forward port: nftables' forward policy accepts both families
        assert_eq!(evaluate(&nft, &forward(9999)).accepted, IpSet::everything());
    }

    #[test]
    fn jumps_returns_gotos_and_several_base_chains() {
        let text = "table inet a {
	chain input {
		type filter hook input priority 0; policy drop;
		ip saddr 10.0.0.0/8 jump allowlist
		tcp dport 80 accept
	}
	chain allowlist {
		ip saddr 10.1.0.0/16 return
		tcp dport 22 accept
		goto deeper
	}
	chain deeper {
		ip saddr 10.2.0.0/16 accept
	}
}
table ip b {
	chain input {
		type filter hook input priority 10; policy accept;
		ip saddr 10.2.3.0/24 drop
	}
}
";
        let rs = nft::parse(text).unwrap();
        // port 22: 10/8 minus 10.1/16 (returned, then dropped by policy), minus 10.2.3/24
        // (table b), all v6 dropped by a's policy
        let want = set(&["10.0.0.0/8"]).difference(&set(&["10.1.0.0/16", "10.2.3.0/24"]));
        assert_eq!(evaluate(&rs, &input(22)).accepted, want);
        // port 80: within 10/8, 10.2/16 is accepted in `deeper`; the rest comes back to
        // `input` (a `goto` returns to the caller of the chain that took it), which accepts
        // port 80 for everyone; table b still drops 10.2.3/24
        let want80 = IpSet::everything().difference(&set(&["10.2.3.0/24"]));
        assert_eq!(evaluate(&rs, &input(80)).accepted, want80);
    }

    #[test]
    fn jump_loops_stop_at_the_depth_limit() {
        let text = "table inet a {\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t\tjump loop\n\t}\n\tchain loop {\n\t\tjump loop\n\t}\n}\n";
        let rs = nft::parse(text).unwrap();
        let o = evaluate(&rs, &input(1));
        assert_eq!(o.accepted, IpSet::everything());
        assert!(
            o.decisions
                .iter()
                .any(|d| d.assumed.iter().any(|a| a.contains("deeper")))
        );
    }

    #[test]
    fn ufw_families_and_interfaces() {
        let rs = ufw::parse("Status: active\nDefault: deny (incoming), allow (outgoing)\n22/tcp ALLOW IN 10.0.0.0/8\n22/tcp (v6) ALLOW IN Anywhere (v6)\n80 DENY IN Anywhere\n80 ALLOW IN Anywhere\n8080/tcp on eth1 ALLOW IN Anywhere\n").unwrap();
        assert_eq!(
            evaluate(&rs, &input(22)).accepted,
            set(&["10.0.0.0/8"]).union(&all_v6())
        );
        // port 80: IPv4 is denied first; no rule for IPv6, so the policy drops it
        assert!(evaluate(&rs, &input(80)).accepted.is_empty());
        let o = evaluate(&rs, &input(8080));
        assert_eq!(o.accepted, all_v4());
        assert!(
            o.decisions
                .iter()
                .any(|d| d.assumed.iter().any(|a| a.contains("eth1")))
        );
        // Docker-published ports skip ufw
        assert_eq!(evaluate(&rs, &forward(22)).accepted, IpSet::everything());
        let off = ufw::parse("Status: inactive\n").unwrap();
        assert_eq!(evaluate(&off, &input(22)).accepted, IpSet::everything());
    }
}
