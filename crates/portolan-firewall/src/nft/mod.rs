//! `nft list ruleset` output → [`crate::Ruleset`].
//!
//! Tables (`table inet NAME { … }`; `ip` tables see only IPv4, `ip6` only IPv6, `inet` both;
//! `arp`, `bridge` and `netdev` tables are read but do not filter), named sets with their
//! `elements` (addresses, networks, address ranges, ports, port ranges), and chains: the base
//! chain header (`type filter hook input priority filter; policy drop;`) and one rule per
//! line. Of a rule's expressions those reach depends on are kept: `ip saddr`/`ip6 saddr`
//! (and `daddr`) with `!=`, named (`@set`) and anonymous (`{ a, b }`) sets; `tcp`/`udp`/`th
//! dport` with single ports, ranges, sets and comparisons; `meta l4proto`, `ip protocol`,
//! `meta nfproto`; `iif`/`iifname`; `ct state`, `ct status dnat` and `ct original
//! proto-dst` (how a Docker-published port is matched after its DNAT); `comment`; and the
//! verdicts `accept`, `drop`, `reject`, `jump`, `goto`, `return`, `continue`. Statements
//! without a verdict (`counter`, `log`, `dnat`, `meta mark set`, …) continue to the next rule.
//! Anything else (`limit`, `tcp flags`, `fib`, …) is kept in [`crate::FwRule::unmodelled`] and read
//! as matching. Only `type filter` chains on the `input` and `forward` hooks are base chains
//! for the evaluator.
//!
//! Three stages: `lexer` (text → tokens with positions), `parser` (tables, sets, chains,
//! statements) and `mapping` (a statement → [`crate::FwRule`]).

mod lexer;
mod mapping;
mod parser;

pub use parser::parse;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{fixture, set};
    use crate::{Hook, Verdict, all_v4};
    use portolan_model::{PortRange, PortSet, Transport};

    fn ports(p: &[u16]) -> PortSet {
        PortSet::from_ranges(p.iter().map(|p| PortRange::single(*p)))
    }

    #[test]
    fn reads_the_captured_docker_dump() {
        let rs = parse(&fixture("opticserp-port-reference-dev.nft")).unwrap();
        assert_eq!(rs.chains.len(), 3);
        let pre = &rs.chains[0];
        assert_eq!(
            (pre.table.as_str(), pre.hook, pre.priority),
            ("ip dockersim", None, -100)
        );
        assert_eq!(pre.scope, all_v4());
        let input = &rs.chains[1];
        assert_eq!(input.hook, Some(Hook::Input));
        assert_eq!(input.policy, Some((Verdict::Drop, 15)));
        assert!(input.rules[0].in_iface.as_ref().unwrap().loopback_only());
        assert_eq!(input.rules[1].ct_states, ["ESTABLISHED", "RELATED"]);
        assert_eq!(input.rules[3].other_protocol.as_deref(), Some("icmpv6"));
        let ssh = &input.rules[4];
        assert_eq!(ssh.line, 20);
        assert_eq!(ssh.source, Some(set(&["10.8.0.0/24"])));
        assert_eq!(
            (ssh.transport, ssh.dports.clone()),
            (Some(Transport::Tcp), Some(ports(&[22])))
        );
        assert_eq!(ssh.comment.as_deref(), Some("ssh.ssh"));
        let fwd = &rs.chains[2];
        assert_eq!((fwd.hook, fwd.priority), (Some(Hook::Forward), -1));
        let kkt = &fwd.rules[1];
        assert_eq!(
            kkt.source,
            Some(set(&["192.168.1.0/24", "192.168.10.0/24"]))
        );
        assert_eq!(kkt.orig_dports, Some(ports(&[8000])));
        assert_eq!(kkt.ct_states, ["DNAT"]);
        assert_eq!(kkt.transport, Some(Transport::Tcp));
        assert_eq!(fwd.rules[3].source, Some(all_v4()));
        assert_eq!(fwd.rules[2].verdict, Verdict::Drop);
    }

    #[test]
    fn reads_every_captured_dump() {
        for f in [
            "business-platform-network-server.nft",
            "es-dashboards-port-guide-es-host.nft",
            "opticserp-port-reference-db1.nft",
            "opticserp-port-reference-dev.nft",
        ] {
            let rs = parse(&fixture(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert!(rs.rules().any(|(_, r)| r.verdict == Verdict::Accept), "{f}");
            assert!(
                rs.rules().all(|(_, r)| r.unmodelled.is_empty()),
                "{f}: {rs:?}"
            );
        }
    }

    #[test]
    fn reads_sets_ranges_negation_jumps_and_unknown_expressions() {
        let text = r#"table ip filter {
	set ports {
		type inet_service
		flags interval
		elements = { 22, 8000-8010 }
	}
	chain INPUT {
		type filter hook input priority filter; policy accept;
		iifname != "lo" ip saddr != { 10.0.0.0/8, 192.168.1.1-192.168.1.3 } tcp dport @ports counter packets 3 bytes 180 drop
		th dport >= 1024 meta l4proto { tcp, udp } limit rate 10/second accept comment "hi"
		tcp flags syn / fin,syn,rst,ack jump extra # handle 4
		reject with icmp port-unreachable
	}
	chain extra {
		ct state new log prefix "new: " level info return
		goto other
	}
}
"#;
        let rs = parse(text).unwrap();
        let input = &rs.chains[0];
        let r0 = &input.rules[0];
        assert!(r0.in_iface.as_ref().unwrap().all_remote());
        let src = r0.source.as_ref().unwrap();
        assert!(!src.contains("10.1.1.1".parse().unwrap()));
        assert!(!src.contains("192.168.1.2".parse().unwrap()));
        assert!(src.contains("192.168.1.4".parse().unwrap()));
        assert!(!src.contains("::1".parse().unwrap()));
        let dp = r0.dports.as_ref().unwrap();
        assert!(dp.contains(22) && dp.contains(8005) && !dp.contains(8011));
        assert_eq!(r0.verdict, Verdict::Drop);
        let r1 = &input.rules[1];
        assert_eq!(r1.transport, None);
        assert!(
            r1.dports.as_ref().unwrap().contains(1024)
                && !r1.dports.as_ref().unwrap().contains(1023)
        );
        assert_eq!(r1.unmodelled, ["limit rate 10/second"]);
        assert_eq!(r1.comment.as_deref(), Some("hi"));
        assert_eq!(input.rules[2].verdict, Verdict::Jump("extra".into()));
        assert_eq!(input.rules[3].verdict, Verdict::Drop);
        assert_eq!(rs.chains[1].rules[0].ct_states, ["NEW"]);
        assert_eq!(rs.chains[1].rules[0].verdict, Verdict::Return);
        assert_eq!(rs.chains[1].rules[1].verdict, Verdict::Goto("other".into()));
    }

    #[test]
    fn errors_name_the_line_column_and_reason() {
        let e = parse("table inet t {\n\tchain c {\n\t\tip saddr 10.0.0.300 accept\n\t}\n}\n")
            .unwrap_err();
        assert_eq!((e.line, e.column), (3, 12));
        assert!(e.reason.contains("10.0.0.300"), "{e}");
        let e =
            parse("table inet t {\n\tchain c {\n\t\tip saddr @nope accept\n\t}\n}\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 12));
        assert!(e.reason.contains("@nope"), "{e}");
        let e = parse("table inet t {\n\tchain c {\n\t\ttcp dport 70000 accept\n").unwrap_err();
        assert_eq!(e.line, 3);
        let e = parse("table inet t {\n\tchain c {\n\t\taccept\n").unwrap_err();
        assert!(e.reason.contains("not closed"), "{e}");
        let e = parse("hello\n").unwrap_err();
        assert_eq!(
            (e.line, e.column, e.reason.as_str()),
            (1, 1, "expected `table`")
        );
        let e = parse("table inet t {\n\tchain c {\n\t\tcomment \"open\n").unwrap_err();
        assert!(e.reason.contains("unterminated"), "{e}");
        let e = parse("table foo t {\n}\n").unwrap_err();
        assert!(e.reason.contains("family"), "{e}");
    }
}
