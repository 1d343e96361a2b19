//! Integration tests of portolan-firewall (one test binary): the importers never panic
//! (property tests on arbitrary and near-miss text, the fuzz corpora replayed), and the
//! command parsers read what documents write ([`commands`]).

mod commands;

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
