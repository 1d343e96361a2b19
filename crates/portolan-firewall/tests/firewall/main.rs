//! Integration tests of portolan-firewall (one test binary): the importers never panic
//! (property tests on arbitrary and near-miss text, the fuzz corpora replayed), and the
//! command parsers read what documents write ([`commands`]).

mod commands;

use std::fmt::Write as _;
use std::path::Path;

use portolan_firewall::eval;
use portolan_firewall::{Hook, Kind, Ruleset};
use proptest::prelude::*;

fn evaluate_everywhere(rs: &Ruleset) {
    for hook in [Hook::Input, Hook::Forward] {
        for port in [0, 22, 80, 8000, 65535] {
            let _ = eval::evaluate(
                rs,
                &eval::Packet {
                    hook,
                    transport: portolan_model::Transport::Tcp,
                    port,
                    orig_port: port,
                    dest: None,
                },
            );
        }
    }
}

#[test]
fn firewall_fuzz_corpora_replay_through_the_importers() {
    for (target, kind) in [
        ("firewall_iptables", Kind::Iptables),
        ("firewall_nft", Kind::Nftables),
        ("firewall_ufw", Kind::Ufw),
    ] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus")
            .join(target);
        let mut parsed = 0;
        for entry in std::fs::read_dir(&dir).expect("corpus") {
            let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
            let Ok(text) = std::str::from_utf8(&bytes) else {
                continue;
            };
            match kind.parse(text) {
                Ok(rs) => {
                    evaluate_everywhere(&rs);
                    parsed += 1;
                }
                Err(e) => assert!(e.line >= 1 && e.column >= 1, "{target}: {e}"),
            }
        }
        assert!(parsed >= 3, "{target}: only {parsed} corpus inputs parsed");
    }
}

/// Words the importers know, so random input gets past the first token.
const FW_WORDS: &[&str] = &[
    "*filter",
    "COMMIT",
    ":INPUT",
    "DROP",
    "ACCEPT",
    "-A",
    "INPUT",
    "-s",
    "10.0.0.0/8",
    "!",
    "-p",
    "tcp",
    "--dport",
    "22",
    "-j",
    "RETURN",
    "table",
    "inet",
    "t",
    "{",
    "}",
    "chain",
    "c",
    "type",
    "filter",
    "hook",
    "input",
    "priority",
    "policy",
    "drop;",
    "accept",
    "ip",
    "saddr",
    "@s",
    "set",
    "elements",
    "=",
    ",",
    "dport",
    "th",
    "ct",
    "state",
    "jump",
    "goto",
    "\"lo\"",
    "iifname",
    "!=",
    "Status:",
    "active",
    "Default:",
    "deny",
    "(incoming)",
    "ALLOW",
    "IN",
    "Anywhere",
    "(v6)",
    "8000/tcp",
    "6000:6007/udp",
    "on",
    "eth0",
    "LIMIT",
    "#",
    "::1",
    "1-2",
    "1.2.3.4-1.2.3.9",
    "\n",
    "\n",
    "\t",
    ";",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn firewall_importers_never_panic_on_arbitrary_text(text in "\\PC{0,300}") {
        for kind in [
            Kind::Iptables,
            Kind::Nftables,
            Kind::Ufw,
        ] {
            match kind.parse(&text) {
                Ok(rs) => evaluate_everywhere(&rs),
                Err(e) => prop_assert!(e.line >= 1 && e.line <= text.lines().count().max(1) && e.column >= 1),
            }
        }
    }

    #[test]
    fn firewall_importers_never_panic_on_near_miss_text(
        words in proptest::collection::vec(0..FW_WORDS.len(), 0..80)
    ) {
        let text = words.iter().map(|i| FW_WORDS[*i]).collect::<Vec<_>>().join(" ");
        for kind in [
            Kind::Iptables,
            Kind::Nftables,
            Kind::Ufw,
        ] {
            match kind.parse(&text) {
                Ok(rs) => evaluate_everywhere(&rs),
                Err(e) => prop_assert!(e.line >= 1 && e.line <= text.lines().count().max(1) && e.column >= 1, "{e}"),
            }
        }
    }
}

/// A random `iptables-save` dump: rules with single ports, ranges, port lists, negated
/// ports, pre-DNAT ports, sources, and jumps to a user chain.
fn random_dump(rules: &[(u8, u16, u16, u8, u8)]) -> String {
    let mut t = String::from("*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:USER - [0:0]\n");
    for (k, &(kind, a, b, src, verdict)) in rules.iter().enumerate() {
        let chain = if k % 5 == 4 {
            "USER"
        } else if k % 7 == 6 {
            "FORWARD"
        } else {
            "INPUT"
        };
        let (lo, hi) = (a.min(b), a.max(b));
        let ports = match kind % 6 {
            0 => format!("-p tcp --dport {lo}"),
            1 => format!("-p tcp --dport {lo}:{hi}"),
            2 => format!("-p tcp -m multiport --dports {lo},{hi}"),
            3 => format!("-p tcp ! --dport {lo}"),
            4 => format!("-p tcp -m conntrack --ctorigdstport {lo}"),
            _ => "-p tcp".to_string(),
        };
        let source = if src % 3 == 0 {
            String::new()
        } else {
            format!("-s 10.{}.0.0/16 ", src % 8)
        };
        let target = match verdict % 4 {
            0 => "ACCEPT",
            1 => "DROP",
            2 => "RETURN",
            _ if chain == "INPUT" => "USER",
            _ => "ACCEPT",
        };
        let _ = writeln!(t, "-A {chain} {source}{ports} -j {target}");
    }
    t.push_str("COMMIT\n");
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The port index changes which rules are tried, never the outcome; and a rule the
    /// shadow analysis calls unreachable never decides.
    #[test]
    fn indexed_evaluation_equals_the_plain_walk(
        rules in proptest::collection::vec((0u8..6, 1u16..40, 1u16..40, 0u8..16, 0u8..4), 0..60),
        ports in proptest::collection::vec(1u16..45, 1..8),
    ) {
        let text = random_dump(&rules);
        let rs = Kind::Iptables.parse(&text).expect("generated dumps parse");
        let (fast, plain) = (eval::Evaluator::new(&rs), eval::Evaluator::unindexed(&rs));
        // a shadowed rule never decides anything
        let dead: Vec<usize> = portolan_firewall::shadow::shadowed(&rs)
            .iter()
            .map(|s| rs.chains[s.chain].rules[s.rule].line)
            .collect();
        for hook in [Hook::Input, Hook::Forward] {
            for &port in &ports {
                let p = eval::Packet {
                    hook,
                    transport: portolan_model::Transport::Tcp,
                    port,
                    orig_port: port.wrapping_add(1),
                    dest: None,
                };
                let o = fast.evaluate(&p);
                prop_assert!(
                    o.decisions.iter().all(|d| d.policy || !dead.contains(&d.line)),
                    "a shadowed rule decided: {:?}\n{}", dead, text
                );
                prop_assert_eq!(o, plain.evaluate(&p), "{}", text);
            }
        }
    }
}
